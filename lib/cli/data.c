/*
 * cli/data.c: the commands about service data and the desired fleet,
 * served by mcp-master only ([master] address, no --direct):
 *
 *   snapshot SERVICE                      take one now (through its node)
 *   snapshot list [SERVICE]               what the master stores
 *   migrate SERVICE --to NODE [--force]   move it with its data
 *   migrate --all --from NODE --to NODE   every non-core service of a node
 *   sync [--dry-run]                      [services] dir = the fleet
 *
 * sync reads every *.toml of the services directory and parses each one
 * here first, so that a bad file is named before the master is asked;
 * the master checks them all again and changes nothing if one fails.
 */
#include "cli/cli_int.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/service.h"
#include "util/buf.h"
#include "util/file.h"

#define T_SNAPSHOT 3600000
#define T_MIGRATE 3600000
#define T_SYNC 3600000
#define T_LIST 30000

#define USAGE_SNAPSHOT "snapshot SERVICE | snapshot list [SERVICE]"
#define USAGE_MIGRATE "migrate SERVICE --to NODE [--force] | " \
	"migrate --all --from NODE --to NODE [--force]"
#define USAGE_SYNC "sync [--dry-run] [--json]"

static int
usage(const char *u)
{
	fprintf(stderr, "usage: mcp %s\n", u);
	return 2;
}

/* These commands exist only through the master. */
static int
need_master(struct cli *c)
{
	struct mcp_err err = MCP_ERR_INIT;

	if (c->cfg.master[0] && !c->direct)
		return 0;
	mcp_err_set(&err, MCP_E_PRECONDITION, "%s is done by mcp-master: %s",
	    c->cmd, c->direct ? "drop --direct" : "set [master] address in the CLI "
	    "config");
	return cli_fail(c, &err);
}

static void
utc(char *out, size_t outsz, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%Y-%m-%d %H:%M:%S", &tm);
}

static json_t *
snapshot_json(const Mcp__V1__SnapshotRecord *r)
{
	json_t *j = json_object();

	json_object_set_new(j, "id", json_integer(r->id));
	json_object_set_new(j, "service", cli_json_str(r->service));
	json_object_set_new(j, "node", cli_json_str(r->node));
	json_object_set_new(j, "path", cli_json_str(r->path));
	json_object_set_new(j, "size", json_integer((json_int_t)r->size));
	json_object_set_new(j, "sha256", cli_json_str(r->sha256));
	json_object_set_new(j, "created_at", json_integer(r->created_at));
	if (r->method[0])
		json_object_set_new(j, "method", cli_json_str(r->method));
	return j;
}

static int
snapshot_list(struct cli *c, const char *service)
{
	Mcp__V1__ListSnapshotsRequest req = MCP__V1__LIST_SNAPSHOTS_REQUEST__INIT;
	Mcp__V1__ListSnapshotsResponse *resp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	json_t *arr = json_array();

	req.service = (char *)(service ? service : "");
	if (cli_master_call(c, "/mcp.v1.Master/ListSnapshots", &req.base,
	    &mcp__v1__list_snapshots_response__descriptor, (ProtobufCMessage **)&resp,
	    T_LIST, &err) == -1) {
		json_decref(arr);
		return cli_fail(c, &err);
	}
	if (!c->json)
		cli_printf(stdout, "%-20s %-19s %12s %-10s %-16s %s\n", "SERVICE", "CREATED (UTC)",
		    "SIZE", "NODE", "SHA256", "PATH");
	for (size_t i = 0; i < resp->n_snapshots; i++) {
		const Mcp__V1__SnapshotRecord *r = resp->snapshots[i];
		char when[32];

		json_array_append_new(arr, snapshot_json(r));
		if (c->json)
			continue;
		utc(when, sizeof(when), r->created_at);
		cli_printf(stdout, "%-20s %-19s %12llu %-10s %-16.16s %s\n", r->service, when,
		    (unsigned long long)r->size, r->node, r->sha256, r->path);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	cli_json_done(c, arr);
	return 0;
}

int
cli_cmd_snapshot(struct cli *c, int argc, char **argv)
{
	Mcp__V1__ServiceRequest req = MCP__V1__SERVICE_REQUEST__INIT;
	Mcp__V1__SnapshotRecord *r = NULL;
	struct mcp_err err = MCP_ERR_INIT;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[1], "list") != 0))
		return usage(USAGE_SNAPSHOT);
	if (need_master(c))
		return 1;
	if (strcmp(argv[1], "list") == 0)
		return snapshot_list(c, argc == 3 ? argv[2] : NULL);
	req.service = argv[1];
	req.component = "";
	if (cli_master_call(c, "/mcp.v1.Master/CreateSnapshot", &req.base,
	    &mcp__v1__snapshot_record__descriptor, (ProtobufCMessage **)&r,
	    T_SNAPSHOT, &err) == -1)
		return cli_fail(c, &err);
	if (c->json)
		cli_json_print(snapshot_json(r));
	else
		cli_printf(stdout, "snapshot %s from %s: %s (%llu bytes, sha256 %s%s%s)\n",
		    r->service, r->node, r->path, (unsigned long long)r->size,
		    r->sha256, r->method[0] ? ", method " : "", r->method);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return 0;
}

int
cli_cmd_migrate(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	Mcp__V1__MigrateRequest req = MCP__V1__MIGRATE_REQUEST__INIT;
	Mcp__V1__MigrateResponse *resp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	json_t *j, *arr;
	int ch, rc = 0;

	req.service = "";
	req.to = "";
	req.from = "";
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 't')
			req.to = optarg;
		else if (ch == 'f')
			req.from = optarg;
		else if (ch == 'a')
			req.all = 1;
		else if (ch == 'F')
			req.force = 1;
		else
			return usage(USAGE_MIGRATE);
	}
	if (req.to[0] == '\0' ||
	    (req.all && (optind != argc || req.from[0] == '\0')) ||
	    (!req.all && (optind != argc - 1 || req.from[0])))
		return usage(USAGE_MIGRATE);
	if (!req.all)
		req.service = argv[optind];
	if (need_master(c))
		return 1;
	if (cli_master_call(c, "/mcp.v1.Master/Migrate", &req.base,
	    &mcp__v1__migrate_response__descriptor, (ProtobufCMessage **)&resp,
	    T_MIGRATE, &err) == -1)
		return cli_fail(c, &err);
	if (c->json) {
		j = json_object();
		arr = json_array();
		for (size_t i = 0; i < resp->n_services; i++)
			json_array_append_new(arr, cli_steps_json(resp->services[i]));
		json_object_set_new(j, "services", arr);
		json_object_set_new(j, "success", json_boolean(resp->success));
		json_object_set_new(j, "failed", cli_json_str(resp->failed));
		arr = json_array();
		for (size_t i = 0; i < resp->n_skipped; i++)
			json_array_append_new(arr, cli_json_str(resp->skipped[i]));
		json_object_set_new(j, "skipped", arr);
		cli_json_print(j);
		for (size_t i = 0; i < resp->n_services; i++)
			if (!resp->services[i]->success)
				rc = 1;
	} else
		for (size_t i = 0; i < resp->n_services; i++)
			if (cli_steps_report(c, "migrate", resp->services[i]) != 0)
				rc = 1;
	if (!c->json && req.all) {
		for (size_t i = 0; i < resp->n_skipped; i++)
			cli_printf(stdout, "skipped %s: a core service stays on its node\n",
			    resp->skipped[i]);
		if (resp->n_services == 0)
			cli_printf(stdout, "migrate --all: no service to move from %s\n", req.from);
	}
	if (resp->failed[0])
		cli_printf(stderr, "mcp migrate: --all stopped at %s (services after it "
		    "were not moved)\n", resp->failed);
	if (!resp->success)
		rc = 1;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return rc;
}

static int
toml_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".toml") == 0;
}

int
cli_cmd_sync(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	Mcp__V1__SyncRequest req = MCP__V1__SYNC_REQUEST__INIT;
	Mcp__V1__SyncResponse *resp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	struct dirent **ents = NULL;
	struct buf *texts = NULL;
	char **paths = NULL;
	int ch, n = 0, i, rc = 1;
	json_t *j, *arr;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'n')
			req.dry_run = 1;
		else if (ch == 'j')
			c->json = 1;
		else
			return usage(USAGE_SYNC);
	}
	if (optind != argc)
		return usage(USAGE_SYNC);
	if (need_master(c))
		return 1;
	if ((n = scandir(c->cfg.services_dir, &ents, toml_name, alphasort)) < 0) {
		mcp_err_errno(&err, errno, "sync: the services directory %s ([services] "
		    "dir)", c->cfg.services_dir);
		return cli_fail(c, &err);
	}
	texts = xcalloc((size_t)n + 1, sizeof(*texts));
	paths = xcalloc((size_t)n + 1, sizeof(char *));
	req.definitions = xcalloc((size_t)n + 1, sizeof(*req.definitions));
	for (i = 0; i < n; i++) {
		Mcp__V1__SyncDefinition *d;
		struct svc_def *def = NULL;
		struct buf path = BUF_INIT;

		buf_printf(&path, "%s/%s", c->cfg.services_dir, ents[i]->d_name);
		paths[i] = buf_steal(&path);
		if (file_read(paths[i], &texts[i], SVC_MAX_DEFINITION_BYTES, &err) == -1)
			goto fail;
		if (svc_parse(texts[i].data, texts[i].len, paths[i], &def, &err) == -1) {
			mcp_err_prefix(&err, "sync aborted, nothing changed");
			goto fail;
		}
		svc_free(def);
		d = xcalloc(1, sizeof(*d));
		mcp__v1__sync_definition__init(d);
		d->source = paths[i];
		d->definition = texts[i].data;
		req.definitions[req.n_definitions++] = d;
	}
	if (cli_master_call(c, "/mcp.v1.Master/Sync", &req.base,
	    &mcp__v1__sync_response__descriptor, (ProtobufCMessage **)&resp, T_SYNC,
	    &err) == -1)
		goto fail;
	rc = resp->success ? 0 : 1;
	if (c->json) {
		j = json_object();
		arr = json_array();
		for (size_t k = 0; k < resp->n_actions; k++) {
			const Mcp__V1__SyncAction *a = resp->actions[k];
			json_t *ja = json_object();

			json_object_set_new(ja, "service", cli_json_str(a->service));
			json_object_set_new(ja, "action", cli_json_str(a->action));
			json_object_set_new(ja, "node", cli_json_str(a->node));
			json_object_set_new(ja, "source", cli_json_str(a->source));
			json_object_set_new(ja, "result", a->result ?
			    cli_steps_json(a->result) : json_null());
			json_array_append_new(arr, ja);
		}
		json_object_set_new(j, "dry_run", json_boolean(resp->dry_run));
		json_object_set_new(j, "success", json_boolean(resp->success));
		json_object_set_new(j, "actions", arr);
		cli_json_print(j);
	} else {
		cli_printf(stdout, "%-10s %-20s %-10s %s\n", "ACTION", "SERVICE", "NODE", "SOURCE");
		for (size_t k = 0; k < resp->n_actions; k++) {
			const Mcp__V1__SyncAction *a = resp->actions[k];

			cli_printf(stdout, "%-10s %-20s %-10s %s\n", a->action, a->service,
			    a->node[0] ? a->node : "-", a->source[0] ? a->source : "-");
		}
		for (size_t k = 0; k < resp->n_actions; k++)
			if (resp->actions[k]->result)
				(void)cli_steps_report(c, resp->actions[k]->action,
				    resp->actions[k]->result);
		cli_printf(stdout, "sync%s: %s\n", resp->dry_run ? " --dry-run (nothing changed)" : "",
		    resp->success ? "done" : "incomplete");
	}
	if (!resp->success)
		cli_printf(stderr, "mcp sync: not every action succeeded\n");
	goto out;
fail:
	rc = cli_fail(c, &err);
out:
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	for (i = 0; i < n; i++) {
		buf_free(&texts[i]);
		free(paths[i]);
		free(ents[i]);
	}
	for (size_t k = 0; k < req.n_definitions; k++)
		free(req.definitions[k]);
	free(req.definitions);
	free(texts);
	free(paths);
	free(ents);
	return rc;
}

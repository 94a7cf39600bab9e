/*
 * master/data.c: snapshots of a service's data (/srv/<service>/ on its
 * node), kept by the master.
 *
 * A snapshot is the tar.zst the placed node's agent streams from
 * ExportServiceData.  It is written to a temporary file beside its final
 * name (".<stamp>.tar.zst.partial"), hashed while it arrives, compared
 * with the SHA-256 and size the agent sends last, fsync'ed, recorded in
 * the snapshots table, and only then renamed to <dir>/<service>/<UTC
 * stamp>.tar.zst: a master that dies mid-snapshot leaves no file that
 * looks complete (start-up removes the temporary files, and any row whose
 * file never got its name).
 *
 * The schedule (one thread) snapshots every placed service whose newest
 * snapshot (or, without one, its placement) is [snapshots] interval old,
 * under the service's lock, skipping a service another operation holds
 * (a deploy, a migrate) until the next round; then keeps the newest
 * `retain`, removing older files and their rows together.
 */
#include "master/ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "master/db.h"
#include "service/service.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/hash.h"
#include "util/log.h"
#include "wire/wire.h"

#define PARTIAL_SUFFIX ".tar.zst.partial"
/* Chunks sent to ImportServiceData. */
#define IMPORT_CHUNK (1u << 20)

/* ---- pure ---- */

void
master_snapshot_path(char *out, size_t outsz, const char *dir,
    const char *service, long long ms, int partial)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char stamp[32];

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	if (partial)
		snprintf(out, outsz, "%s/%s/.%s.%03lldZ" PARTIAL_SUFFIX, dir, service,
		    stamp, ms % 1000);
	else
		snprintf(out, outsz, "%s/%s/%s.%03lldZ.tar.zst", dir, service, stamp,
		    ms % 1000);
}

int
master_snapshot_overdue(int64_t now, int64_t newest, int64_t placed_at,
    int interval_s)
{
	int64_t since = newest > 0 ? newest : placed_at;

	return now - since > 2 * (int64_t)interval_s;
}

/* ---- taking one ---- */

struct export_sink {
	int fd;
	EVP_MD_CTX *md;
	uint64_t size;
	int final;
	char sha256[HASH_HEX_LEN + 1];
	uint64_t agent_size;
	char method[64];
	int werrno;		/* a write failed */
	int late;		/* data after the final message */
	struct snapshot_tee *tee;	/* NULL, or a copy to a node's import */
	struct wire_upload *up;
	const char *service;
	int first_sent;
};

/* The chunk to the tee's import; on a failure the tee is marked and the
 * export stops (the snapshot itself would still be complete, but a migrate
 * that cannot import has no use for the rest). */
static int
tee_send(struct export_sink *k, const Mcp__V1__DataChunk *c)
{
	Mcp__V1__ImportChunk ic = MCP__V1__IMPORT_CHUNK__INIT;

	if (k->tee == NULL || k->tee->failed)
		return 0;
	if (!k->first_sent) {
		ic.service = (char *)k->service;
		ic.force = k->tee->force;
	}
	ic.data = c->data;
	if (c->final) {
		ic.final = 1;
		ic.sha256 = c->sha256;
		ic.size = c->size;
	}
	if (wire_upload_send(k->up, &ic.base, &k->tee->err) == -1) {
		k->tee->failed = 1;
		return -1;
	}
	k->first_sent = 1;
	return 0;
}

static int
export_chunk(const ProtobufCMessage *msg, void *arg)
{
	const Mcp__V1__DataChunk *c = (const Mcp__V1__DataChunk *)msg;
	struct export_sink *k = arg;
	const uint8_t *p = c->data.data;
	size_t left = c->data.len;

	if (k->final) {
		k->late = 1;
		return 1;
	}
	while (left > 0) {
		ssize_t w = write(k->fd, p, left);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			k->werrno = errno;
			return 1;	/* cancel the stream */
		}
		p += w;
		left -= (size_t)w;
	}
	EVP_DigestUpdate(k->md, c->data.data, c->data.len);
	k->size += c->data.len;
	if (c->final) {
		k->final = 1;
		mcp_strlcpy(k->sha256, c->sha256, sizeof(k->sha256));
		k->agent_size = c->size;
		mcp_strlcpy(k->method, c->method, sizeof(k->method));
	}
	return tee_send(k, c) == -1 ? 1 : 0;
}

static void
fsync_dir(const char *path)
{
	char dir[MASTER_PATH_MAX + 64], *slash;
	int fd;

	mcp_strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL)
		return;
	*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

int
master_snapshot_take(struct master *m, const char *service, const char *node,
    int direct, struct mdb_snapshot *rec, char *method, size_t methodsz,
    struct snapshot_tee *tee, struct mcp_err *err)
{
	Mcp__V1__ExportRequest req = MCP__V1__EXPORT_REQUEST__INIT;
	struct export_sink k;
	struct wire_client *wc;
	char dir[MASTER_PATH_MAX + 80], tmp[MASTER_PATH_MAX + 128];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char got[HASH_HEX_LEN + 1];
	long long ms = (long long)time(NULL) * 1000;
	struct timespec ts;
	int rc = -1, recorded = 0;

	memset(&k, 0, sizeof(k));
	k.fd = -1;
	memset(rec, 0, sizeof(*rec));
	/* the name becomes a directory under snapshots_dir: never "..", "/" */
	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "snapshot: \"%.80s\" is not "
		    "a service name", service);
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
		ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	snprintf(dir, sizeof(dir), "%s/%s", m->cfg.snapshots_dir, service);
	if (file_mkdirs(dir, 0700, err) == -1)
		return mcp_err_prefix(err, "snapshot %s", service);
	master_snapshot_path(tmp, sizeof(tmp), m->cfg.snapshots_dir, service, ms, 1);
	master_snapshot_path(rec->path, sizeof(rec->path), m->cfg.snapshots_dir,
	    service, ms, 0);
	if ((wc = master_node_handle(m, node, NULL, 0, err)) == NULL)
		return mcp_err_prefix(err, "snapshot %s", service);
	if ((k.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1)
		return mcp_err_errno(err, errno, "snapshot %s: create %s", service, tmp);
	if (tee) {
		struct wire_client *tc;

		k.tee = tee;
		k.service = service;
		mcp_err_clear(&tee->err);
		if ((tc = master_node_handle(m, tee->node, NULL, 0, &tee->err)) == NULL ||
		    (k.up = wire_upload_start(tc, "/mcp.v1.Agent/ImportServiceData",
		    m->cfg.snapshot_timeout_s * 1000, &tee->err)) == NULL) {
			tee->failed = 1;
			mcp_err_prefix(&tee->err, "import into node %s", tee->node);
			mcp_err_set(err, MCP_E_UNAVAILABLE, "snapshot %s: not taken, the "
			    "import could not start", service);
			goto out;
		}
	}
	if ((k.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(k.md, EVP_sha256(), NULL) != 1) {
		mcp_err_set(err, MCP_E_INTERNAL, "snapshot %s: SHA-256 context", service);
		goto out;
	}
	req.service = (char *)service;
	req.direct = direct;
	if (wire_call_stream(wc, "/mcp.v1.Agent/ExportServiceData", &req.base,
	    &mcp__v1__data_chunk__descriptor, export_chunk, &k,
	    m->cfg.snapshot_timeout_s * 1000, err) == -1) {
		mcp_err_prefix(err, "snapshot %s: export from node %s", service, node);
		goto out;
	}
	if (k.tee && k.tee->failed) {
		mcp_err_set(err, MCP_E_ABORTED, "snapshot %s: stopped, the import into "
		    "node %s failed", service, k.tee->node);
		goto out;
	}
	if (k.werrno) {
		mcp_err_errno(err, k.werrno, "snapshot %s: write %s", service, tmp);
		goto out;
	}
	if (!k.final || k.late) {
		mcp_err_set(err, MCP_E_INTERNAL, "snapshot %s: node %s's export %s",
		    service, node, k.late ? "sent data after its final message" :
		    "ended without its final message (truncated)");
		goto out;
	}
	EVP_DigestFinal_ex(k.md, md, &mdlen);
	hash_hex(md, mdlen, got);
	if (k.agent_size != k.size || strcmp(got, k.sha256) != 0) {
		mcp_err_set(err, MCP_E_INTERNAL, "snapshot %s: received %llu bytes "
		    "sha256 %s, node %s announced %llu bytes sha256 %s", service,
		    (unsigned long long)k.size, got, node,
		    (unsigned long long)k.agent_size, k.sha256);
		goto out;
	}
	if (fsync(k.fd) == -1) {
		mcp_err_errno(err, errno, "snapshot %s: fsync %s", service, tmp);
		goto out;
	}
	if (close(k.fd) == -1) {
		k.fd = -1;
		mcp_err_errno(err, errno, "snapshot %s: close %s", service, tmp);
		goto out;
	}
	k.fd = -1;
	mcp_strlcpy(rec->service, service, sizeof(rec->service));
	mcp_strlcpy(rec->node, node, sizeof(rec->node));
	rec->size = (int64_t)k.size;
	mcp_strlcpy(rec->sha256, got, sizeof(rec->sha256));
	rec->created_at = (int64_t)(ms / 1000);
	/* the hash is recorded first, then the file gets its name */
	if (mdb_snapshot_add(m->db, rec, err) == -1)
		goto out;
	recorded = 1;
	if (rename(tmp, rec->path) == -1) {
		mcp_err_errno(err, errno, "snapshot %s: rename %s", service, tmp);
		goto out;
	}
	fsync_dir(rec->path);
	if (method)
		mcp_strlcpy(method, k.method, methodsz);
	if (k.up) {
		Mcp__V1__ImportResponse *ir = NULL;
		struct wire_upload *u = k.up;

		k.up = NULL;
		if (wire_upload_finish(u, &mcp__v1__import_response__descriptor,
		    (ProtobufCMessage **)&ir, &tee->err) == -1) {
			tee->failed = 1;
			mcp_err_prefix(&tee->err, "import into node %s", tee->node);
		} else {
			tee->bytes = ir->bytes_written;
			protobuf_c_message_free_unpacked(&ir->base, NULL);
		}
	}
	log_info("snapshot %s from %s: %s (%llu bytes, sha256 %s, method %s)",
	    service, node, rec->path, (unsigned long long)k.size, got,
	    k.method[0] ? k.method : "?");
	rc = 0;
out:
	if (k.up) {
		/* the import's own refusal, if it gave one, beats "cancelled" */
		if (k.tee->failed) {
			Mcp__V1__ImportResponse *ir = NULL;

			if (wire_upload_finish(k.up, &mcp__v1__import_response__descriptor,
			    (ProtobufCMessage **)&ir, &k.tee->err) == 0 && ir)
				protobuf_c_message_free_unpacked(&ir->base, NULL);
			mcp_err_prefix(&k.tee->err, "import into node %s", k.tee->node);
		} else {
			wire_upload_cancel(k.up);
			k.tee->failed = 1;
			mcp_err_set(&k.tee->err, MCP_E_ABORTED, "import into node %s: "
			    "abandoned, the export failed", k.tee->node);
		}
	}
	if (k.fd != -1)
		close(k.fd);
	EVP_MD_CTX_free(k.md);
	if (rc == -1) {
		struct mcp_err e2 = MCP_ERR_INIT;

		unlink(tmp);
		if (recorded && mdb_snapshot_delete(m->db, rec->id, &e2) == -1)
			log_warnx("snapshot %s: %s", service, e2.msg);
	}
	return rc;
}

int
master_snapshot_prune(struct master *m, const char *service, struct mcp_err *err)
{
	struct mdb_snapshot *s = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (mdb_snapshot_list(m->db, service, &s, &n, err) == -1)
		return -1;
	for (i = (size_t)m->cfg.snapshot_retain; i < n; i++) {
		/* the file first: a row never points at a file that went away
		 * unnoticed, and a file that cannot go keeps its row */
		if (unlink(s[i].path) == -1 && errno != ENOENT) {
			rc = mcp_err_errno(err, errno, "prune snapshot %s: %s", service,
			    s[i].path);
			continue;
		}
		if (mdb_snapshot_delete(m->db, s[i].id, err) == -1) {
			rc = -1;
			continue;
		}
		log_info("snapshot %s: pruned %s (retain %d)", service, s[i].path,
		    m->cfg.snapshot_retain);
	}
	free(s);
	return rc;
}

/* ---- import from a stored snapshot ---- */

int
master_snapshot_import(struct master *m, const struct mdb_snapshot *snap,
    const char *node, const char *service, int force, uint64_t *bytes,
    struct mcp_err *err)
{
	EVP_MD_CTX *ctx;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char got[HASH_HEX_LEN + 1];
	uint64_t size = 0, sent = 0;
	Mcp__V1__ImportChunk chunk = MCP__V1__IMPORT_CHUNK__INIT;
	Mcp__V1__ImportResponse *resp = NULL;
	struct wire_client *wc;
	struct wire_upload *u;
	uint8_t *data = NULL;
	int fd, rc = -1;

	/* the stored file must still be what was recorded */
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return mcp_err_set(err, MCP_E_INTERNAL, "SHA-256 context");
	}
	if (hash_file_update(ctx, snap->path, 0, &size, err) == -1) {
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	hash_hex(md, mdlen, got);
	if (size != (uint64_t)snap->size || strcmp(got, snap->sha256) != 0)
		return mcp_err_set(err, MCP_E_INTERNAL, "snapshot %s is damaged: %llu "
		    "bytes sha256 %s, recorded %lld bytes sha256 %s", snap->path,
		    (unsigned long long)size, got, (long long)snap->size, snap->sha256);
	if ((wc = master_node_handle(m, node, NULL, 0, err)) == NULL)
		return -1;
	if ((fd = open(snap->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return mcp_err_errno(err, errno, "import: open %s", snap->path);
	if ((u = wire_upload_start(wc, "/mcp.v1.Agent/ImportServiceData",
	    m->cfg.snapshot_timeout_s * 1000, err)) == NULL) {
		close(fd);
		return mcp_err_prefix(err, "import into node %s", node);
	}
	data = malloc(IMPORT_CHUNK);
	if (data == NULL)
		abort();
	chunk.service = (char *)service;
	chunk.force = force;
	for (;;) {
		ssize_t r = read(fd, data, IMPORT_CHUNK);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			mcp_err_errno(err, errno, "import: read %s", snap->path);
			wire_upload_cancel(u);
			goto out;
		}
		sent += (uint64_t)r;
		chunk.data.data = data;
		chunk.data.len = (size_t)r;
		if (r == 0 || sent == size) {
			chunk.final = 1;
			chunk.sha256 = got;
			chunk.size = size;
		}
		if (r == 0 && sent != size) {
			mcp_err_set(err, MCP_E_INTERNAL, "import: %s changed while read",
			    snap->path);
			wire_upload_cancel(u);
			goto out;
		}
		if (wire_upload_send(u, &chunk.base, err) == -1) {
			/* the agent refused or ended the call: its status */
			(void)wire_upload_finish(u, &mcp__v1__import_response__descriptor,
			    (ProtobufCMessage **)&resp, err);
			mcp_err_prefix(err, "import into node %s", node);
			goto out;
		}
		/* only the first message names the service */
		chunk.service = (char *)"";
		chunk.force = 0;
		if (chunk.final)
			break;
	}
	if (wire_upload_finish(u, &mcp__v1__import_response__descriptor,
	    (ProtobufCMessage **)&resp, err) == -1) {
		mcp_err_prefix(err, "import into node %s", node);
		goto out;
	}
	if (bytes)
		*bytes = resp->bytes_written;
	log_info("import %s into %s from %s: %llu bytes of files", service, node,
	    snap->path, (unsigned long long)resp->bytes_written);
	rc = 0;
out:
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	free(data);
	close(fd);
	return rc;
}

/* ---- RPCs ---- */

static void
record_to_pb(Mcp__V1__SnapshotRecord *r, const struct mdb_snapshot *s)
{
	r->id = s->id;
	r->service = xstrdup(s->service);
	r->node = xstrdup(s->node);
	r->path = xstrdup(s->path);
	r->size = (uint64_t)s->size;
	r->sha256 = xstrdup(s->sha256);
	r->created_at = s->created_at;
}

int
master_create_snapshot(struct master *m, const char *service,
    Mcp__V1__SnapshotRecord *out, struct mcp_err *err)
{
	struct mdb_placement p;
	struct mdb_snapshot rec;
	struct mcp_err perr = MCP_ERR_INIT;
	char method[64] = "";
	int found = 0, rc = -1;

	memset(&p, 0, sizeof(p));
	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "snapshot: \"%s\" is not a "
		    "service name", service);
	master_lock_service(m, service);
	if (mdb_placement_get(m->db, service, &p, &found, err) == -1)
		goto out;
	if (!found) {
		mcp_err_set(err, MCP_E_NOTFOUND, "snapshot %s: the master has no "
		    "placement for it", service);
		goto out;
	}
	if (!master_node_usable(m, p.node, err)) {
		mcp_err_prefix(err, "snapshot %s", service);
		goto out;
	}
	if (master_snapshot_take(m, service, p.node, 0, &rec, method, sizeof(method),
	    NULL, err) == -1)
		goto out;
	if (master_snapshot_prune(m, service, &perr) == -1)
		log_warnx("%s", perr.msg);
	record_to_pb(out, &rec);
	out->method = xstrdup(method);
	rc = 0;
out:
	free(p.definition);
	master_unlock_service(m, service);
	return rc;
}

int
master_list_snapshots(struct master *m, const char *service,
    Mcp__V1__ListSnapshotsResponse *out, struct mcp_err *err)
{
	struct mdb_snapshot *s = NULL;
	size_t n = 0, i;

	if (service && service[0] == '\0')
		service = NULL;
	if (service && !svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "snapshot list: \"%s\" is not "
		    "a service name", service);
	if (mdb_snapshot_list(m->db, service, &s, &n, err) == -1)
		return -1;
	out->snapshots = xcalloc(n + 1, sizeof(*out->snapshots));
	for (i = 0; i < n; i++) {
		Mcp__V1__SnapshotRecord *r = (Mcp__V1__SnapshotRecord *)wire_msg_new(
		    &mcp__v1__snapshot_record__descriptor);

		record_to_pb(r, &s[i]);
		out->snapshots[out->n_snapshots++] = r;
	}
	free(s);
	return 0;
}

void
master_snapshot_warning(struct master *m, const struct mdb_snapshot *snaps,
    size_t nsnaps, const char *unknown, const char *service, int64_t placed_at,
    int64_t *newest, char *out, size_t outsz)
{
	int64_t now = (int64_t)time(NULL);
	size_t i;

	out[0] = '\0';
	*newest = 0;
	if (unknown) {
		snprintf(out, outsz, "snapshots unknown: %s", unknown);
		return;
	}
	/* newest first within each service (mdb_snapshot_list) */
	for (i = 0; i < nsnaps; i++)
		if (strcmp(snaps[i].service, service) == 0) {
			*newest = snaps[i].created_at;
			break;
		}
	if (!master_snapshot_overdue(now, *newest, placed_at,
	    m->cfg.snapshot_interval_s))
		return;
	if (*newest)
		snprintf(out, outsz, "newest snapshot is %llds old (more than 2 x "
		    "[snapshots] interval = %ds)", (long long)(now - *newest),
		    2 * m->cfg.snapshot_interval_s);
	else
		snprintf(out, outsz, "no snapshot in %llds since it was placed (more "
		    "than 2 x [snapshots] interval = %ds)", (long long)(now - placed_at),
		    2 * m->cfg.snapshot_interval_s);
}

/* ---- start-up and the schedule ---- */

/* Remove the temporary files of interrupted snapshots; drop rows whose
 * file is missing (the master died between the row and the rename). */
static void
snapshots_recover(struct master *m)
{
	struct mdb_snapshot *s = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	struct dirent *de, *fe;
	size_t n = 0, i, sl = strlen(PARTIAL_SUFFIX);
	DIR *top, *d;
	char path[MASTER_PATH_MAX * 2 + 300];
	struct stat st;

	if ((top = opendir(m->cfg.snapshots_dir)) != NULL) {
		while ((de = readdir(top)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", m->cfg.snapshots_dir,
			    de->d_name);
			if ((d = opendir(path)) == NULL)
				continue;
			while ((fe = readdir(d)) != NULL) {
				size_t l = strlen(fe->d_name);
				char f[sizeof(path) + 300];

				if (l <= sl || strcmp(fe->d_name + l - sl, PARTIAL_SUFFIX) != 0)
					continue;
				snprintf(f, sizeof(f), "%s/%s", path, fe->d_name);
				if (unlink(f) == 0)
					log_warnx("snapshots: removed %s (an interrupted "
					    "snapshot)", f);
			}
			closedir(d);
		}
		closedir(top);
	}
	if (mdb_snapshot_list(m->db, NULL, &s, &n, &err) == -1) {
		log_warnx("snapshots: %s", err.msg);
		return;
	}
	for (i = 0; i < n; i++) {
		if (stat(s[i].path, &st) == 0)
			continue;
		log_warnx("snapshots: %s of %s is recorded but missing: row dropped",
		    s[i].path, s[i].service);
		if (mdb_snapshot_delete(m->db, s[i].id, &err) == -1)
			log_warnx("snapshots: %s", err.msg);
	}
	free(s);
}

/*
 * Nodes the schedule found down, one entry per outage: the first round
 * that skips a node's services logs one warning with how many; later
 * rounds only count; the round that finds it usable again logs one line
 * with the total and forgets it.  Owned by the schedule's thread.
 */
struct snap_outage {
	char node[64];
	char why[160];
	unsigned skipped;	/* due snapshots skipped during the outage */
	unsigned this_round;
	int reported;
};
struct snap_outages {
	struct snap_outage *v;
	size_t n;
};

static struct snap_outage *
outage_get(struct snap_outages *os, const char *node)
{
	struct snap_outage *o;
	size_t i;

	for (i = 0; i < os->n; i++)
		if (strcmp(os->v[i].node, node) == 0)
			return &os->v[i];
	os->v = realloc(os->v, (os->n + 1) * sizeof(*os->v));
	if (os->v == NULL)
		abort();
	o = &os->v[os->n++];
	memset(o, 0, sizeof(*o));
	mcp_strlcpy(o->node, node, sizeof(o->node));
	return o;
}

/* After a round: a new outage reported once, a recovered node once. */
static void
outages_report(struct master *m, struct snap_outages *os)
{
	size_t i = 0;

	while (i < os->n) {
		struct snap_outage *o = &os->v[i];
		struct mcp_err e = MCP_ERR_INIT;

		if (!o->reported) {
			log_warnx("snapshot schedule: %s: %u due snapshot%s skipped; "
			    "its services are not snapshotted until it recovers",
			    o->why, o->this_round, o->this_round == 1 ? "" : "s");
			o->reported = 1;
		} else if (o->this_round == 0 && master_node_usable(m, o->node, &e)) {
			log_info("snapshot schedule: node %s is back: %u due snapshot%s "
			    "skipped while it was down", o->node, o->skipped,
			    o->skipped == 1 ? " was" : "s were");
			os->v[i] = os->v[--os->n];
			continue;
		}
		o->this_round = 0;
		i++;
	}
}

/* One round: every placed service whose snapshot is due. */
static void
snapshots_round(struct master *m, struct snap_outages *os)
{
	struct mdb_placement *pl = NULL;
	struct mdb_snapshot *s = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	size_t npl = 0, ns = 0, i, j;
	int64_t now = (int64_t)time(NULL);

	if (mdb_placement_list(m->db, 0, &pl, &npl, &err) == -1 ||
	    mdb_snapshot_list(m->db, NULL, &s, &ns, &err) == -1) {
		log_warnx("snapshot schedule: %s", err.msg);
		goto out;
	}
	for (i = 0; i < npl; i++) {
		struct mdb_snapshot rec;
		struct mdb_placement cur;
		int64_t newest = 0;
		int found = 0;

		pthread_mutex_lock(&m->mu);
		if (m->stopping) {
			pthread_mutex_unlock(&m->mu);
			break;
		}
		pthread_mutex_unlock(&m->mu);
		for (j = 0; j < ns; j++)
			if (strcmp(s[j].service, pl[i].service) == 0) {
				newest = s[j].created_at;	/* newest first */
				break;
			}
		if (now - (newest ? newest : pl[i].created_at) < m->cfg.snapshot_interval_s)
			continue;
		if (!master_trylock_service(m, pl[i].service)) {
			log_info("snapshot schedule: %s is busy (deploy or migrate): "
			    "skipped this round", pl[i].service);
			continue;
		}
		mcp_err_clear(&err);
		/* where it is now: a migrate may have moved it since the list */
		if (mdb_placement_get(m->db, pl[i].service, &cur, &found, &err) == 0 &&
		    found && !master_node_usable(m, cur.node, &err)) {
			/* a down node: counted, reported once per outage */
			struct snap_outage *o = outage_get(os, cur.node);

			mcp_strlcpy(o->why, err.msg, sizeof(o->why));
			o->skipped++;
			o->this_round++;
			mcp_err_clear(&err);
		} else if (found && err.msg[0] == '\0' &&
		    master_snapshot_take(m, pl[i].service, cur.node, 0, &rec, NULL, 0,
		    NULL, &err) == 0)
			(void)master_snapshot_prune(m, pl[i].service, &err);
		if (err.msg[0])
			log_warnx("snapshot schedule: %s: %s", pl[i].service, err.msg);
		if (found)
			free(cur.definition);
		master_unlock_service(m, pl[i].service);
	}
	outages_report(m, os);
out:
	mdb_placements_free(pl, npl);
	free(s);
}

static void *
snapshots_loop(void *arg)
{
	struct master *m = arg;
	struct snap_outages os = { NULL, 0 };
	struct timespec ts, next;
	int tick = m->cfg.snapshot_interval_s / 4;

	if (tick < 1)
		tick = 1;
	if (tick > 60)
		tick = 60;
	clock_gettime(CLOCK_REALTIME, &next);
	next.tv_sec += tick;
	pthread_mutex_lock(&m->mu);
	while (!m->stopping) {
		/* m->cv also signals lock releases: wait out the whole tick */
		pthread_cond_timedwait(&m->cv, &m->mu, &next);
		if (m->stopping)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		if (ts.tv_sec < next.tv_sec ||
		    (ts.tv_sec == next.tv_sec && ts.tv_nsec < next.tv_nsec))
			continue;
		pthread_mutex_unlock(&m->mu);
		snapshots_round(m, &os);
		clock_gettime(CLOCK_REALTIME, &next);
		next.tv_sec += tick;
		pthread_mutex_lock(&m->mu);
	}
	pthread_mutex_unlock(&m->mu);
	free(os.v);
	return NULL;
}

int
master_snapshots_start(struct master *m, struct mcp_err *err)
{
	if (file_mkdirs(m->cfg.snapshots_dir, 0700, err) == -1)
		return mcp_err_prefix(err, "[snapshots] dir");
	snapshots_recover(m);
	if (pthread_create(&m->snapshots, NULL, snapshots_loop, m) != 0)
		return mcp_err_set(err, MCP_E_INTERNAL, "start the snapshot schedule");
	m->snapshots_running = 1;
	return 0;
}

void
master_snapshots_stop(struct master *m)
{
	if (!m->snapshots_running)
		return;
	pthread_mutex_lock(&m->mu);
	m->stopping = 1;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->snapshots, NULL);
	m->snapshots_running = 0;
}

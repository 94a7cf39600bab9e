/*
 * master/master.c: set-up and tear-down of mcp-master, in the order of
 * SPEC §5: configuration, database (state_dir/master.db), bootstrap
 * [[nodes]] merged with the nodes the database remembers, the agent client
 * pool, the DNS client, TLS and authorisation (both checked by the wire
 * layer when the server is added), the gRPC server, then signals.  Each
 * failure says which step failed; master_free undoes whatever was done.
 */
#include "master/master.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/agent.h"
#include "master/db.h"
#include "master/ops.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"
#include "util/sdnotify.h"
#include "wire/wire.h"

/* Nodes the database remembers, then the bootstrap list (whose address
 * and role win), recorded back. */
static int
master_load_nodes(struct master *m, struct mcp_err *err)
{
	struct master_node *saved = NULL, *n;
	size_t nsaved = 0, i;
	int rc = -1;

	if (mdb_node_list(m->db, &saved, &nsaved, err) == -1)
		return -1;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < nsaved; i++) {
		if ((n = master_node_put(m, saved[i].name, saved[i].role,
		    saved[i].address, err)) == NULL)
			goto out;
		mcp_strlcpy(n->advertise, saved[i].advertise, sizeof(n->advertise));
		mcp_strlcpy(n->version, saved[i].version, sizeof(n->version));
		n->res = saved[i].res;
		n->last_heartbeat = saved[i].last_heartbeat;
		n->bootstrap = 0;
	}
	for (i = 0; i < m->cfg.nboot; i++) {
		const struct master_boot_node *b = &m->cfg.boot[i];

		if ((n = master_node_put(m, b->name, b->role, b->address, err)) == NULL)
			goto out;
		n->bootstrap = 1;
		if (mdb_node_put(m->db, n, err) == -1)
			goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&m->mu);
	free(saved);
	return rc;
}

/* One client per node with an address, made now so a bad [tls] shows at
 * start-up rather than at the first deploy. */
static int
master_pool_init(struct master *m, struct mcp_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->nnodes && rc == 0; i++)
		if (m->nodes[i].address[0] &&
		    master_node_client(m, &m->nodes[i], err) == NULL)
			rc = -1;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int
master_init(struct master *m, const char *config_path, struct mcp_err *err)
{
	char path[MASTER_PATH_MAX + 16];

	/* before any thread exists, so that every thread inherits the mask */
	agent_signals_block();
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	pthread_mutex_init(&m->place_mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	m->nodes = xcalloc(MASTER_NODES_MAX, sizeof(*m->nodes));
	if (master_config_load(config_path, &m->cfg, err) == -1)
		return -1;
	umask(077);
	if (file_mkdirs(m->cfg.state_dir, 0700, err) == -1)
		return mcp_err_prefix(err, "start-up: state directory");
	snprintf(path, sizeof(path), "%s/master.db", m->cfg.state_dir);
	if ((m->db = mdb_open(path, err)) == NULL)
		return mcp_err_prefix(err, "start-up: database");
	if (master_load_nodes(m, err) == -1)
		return mcp_err_prefix(err, "start-up: nodes");
	if (master_pool_init(m, err) == -1)
		return mcp_err_prefix(err, "start-up: agent client pool");
	if (master_dns_init(m, err) == -1)
		return mcp_err_prefix(err, "start-up: DNS client");
	return 0;
}

int
master_run(struct master *m, struct mcp_err *err)
{
	if (master_snapshots_start(m, err) == -1)
		return mcp_err_prefix(err, "start-up: snapshots");
	/* TLS and authorisation are set up with the server (wire layer) */
	if (master_rpc_start(m, err) == -1)
		return mcp_err_prefix(err, "start-up: gRPC server");
	if (master_health_start(m, err) == -1)
		return mcp_err_prefix(err, "start-up");
	log_info("master of node %s ready: listen %s, %zu node(s) known%s",
	    m->cfg.node, m->cfg.listen, m->nnodes,
	    master_dns_skipped(m) ? "; DNS step skipped" : "");
	/* systemd (Type=notify): the gRPC listener accepts calls now */
	if (sdnotify_send(m->notify_socket, "READY=1", err) == -1) {
		log_warnx("%s", err->msg);
		mcp_err_clear(err);
	}
	agent_signals_wait();
	return 0;
}

void
master_free(struct master *m)
{
	size_t i;

	/* stop accepting and finish (or cancel) calls in flight first */
	if (m->server) {
		wire_server_free(m->server);
		m->server = NULL;
	}
	master_snapshots_stop(m);
	master_health_stop(m);
	master_dns_free(m);
	for (i = 0; m->nodes && i < m->nnodes; i++) {
		wire_client_free(m->nodes[i].client);
		free(m->nodes[i].vms_pb);
	}
	for (i = 0; i < m->nretired; i++)
		wire_client_free(m->retired[i]);
	free(m->retired);
	free(m->nodes);
	m->nodes = NULL;
	while (m->locks) {
		struct master_lock *l = m->locks;

		m->locks = l->next;
		free(l);
	}
	free(m->holds.v);
	free(m->edge_holds.v);
	memset(&m->holds, 0, sizeof(m->holds));
	memset(&m->edge_holds, 0, sizeof(m->edge_holds));
	mdb_close(m->db);
	m->db = NULL;
	master_config_free(&m->cfg);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->place_mu);
	pthread_mutex_destroy(&m->mu);
}

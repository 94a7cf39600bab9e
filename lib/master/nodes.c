/*
 * master/nodes.c: the node table, the agent client pool and node health.
 *
 * Each node has one wire_client (one gRPC channel, mutual TLS as the
 * master's identity), created on first use and reused by every call; a
 * client replaced because the node re-registered at a new address is kept
 * until the master ends, since a call in flight may still hold it.
 *
 * Health: a heartbeat (or an answered probe) makes a node healthy.  When
 * none came for missed x heartbeat_interval, the health thread probes the
 * agent's HealthCheck with probe_timeout; a failed probe marks the node
 * unhealthy (no new placements; its services are not touched).  At
 * start-up every known node is probed at once (NodeStatus, which also
 * brings its runtimes and resources) instead of waiting for heartbeats.
 * Each tick also takes down edge routes left on an edge node that was
 * away when they moved, once that node is back (master_edge_retry).
 */
#include "master/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.pb-c.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "wire/wire.h"

const char *
master_health_name(enum master_health h)
{
	return h == HEALTH_HEALTHY ? "healthy" : h == HEALTH_UNHEALTHY ?
	    "unhealthy" : "unknown";
}

struct master_node *
master_node_find(struct master *m, const char *name)
{
	for (size_t i = 0; i < m->nnodes; i++)
		if (strcmp(m->nodes[i].name, name) == 0)
			return &m->nodes[i];
	return NULL;
}

struct master_node *
master_node_put(struct master *m, const char *name, const char *role,
    const char *address, struct mcp_err *err)
{
	struct master_node *n = master_node_find(m, name);

	if (n == NULL) {
		if (m->nnodes >= MASTER_NODES_MAX) {
			mcp_err_set(err, MCP_E_RESOURCE, "node %s: the node table is full",
			    name);
			return NULL;
		}
		n = &m->nodes[m->nnodes++];
		memset(n, 0, sizeof(*n));
		mcp_strlcpy(n->name, name, sizeof(n->name));
	}
	if (role && role[0])
		mcp_strlcpy(n->role, role, sizeof(n->role));
	if (address && address[0] && strcmp(address, n->address) != 0) {
		if (n->client) {
			m->retired = realloc(m->retired, (m->nretired + 1) *
			    sizeof(*m->retired));
			if (m->retired == NULL)
				abort();
			m->retired[m->nretired++] = n->client;
			n->client = NULL;
		}
		mcp_strlcpy(n->address, address, sizeof(n->address));
	}
	return n;
}

struct wire_client *
master_node_client(struct master *m, struct master_node *n, struct mcp_err *err)
{
	struct wire_tls tls = { m->cfg.tls_ca, m->cfg.tls_cert, m->cfg.tls_key };

	if (n->client)
		return n->client;
	if (n->address[0] == '\0') {
		mcp_err_set(err, MCP_E_UNAVAILABLE, "node %s: no address known (it "
		    "has not registered)", n->name);
		return NULL;
	}
	n->client = wire_client_new(n->address, &tls, err);
	if (n->client == NULL)
		mcp_err_prefix(err, "node %s", n->name);
	return n->client;
}

void
master_node_ip(const struct master_node *n, char *out, size_t outsz)
{
	char *colon;

	mcp_strlcpy(out, n->advertise[0] ? n->advertise : n->address, outsz);
	if (n->advertise[0] == '\0' && (colon = strrchr(out, ':')) != NULL)
		*colon = '\0';
}

/* ---- probes ---- */

struct probe {
	struct master *m;
	char name[64];
	struct wire_client *client;
	int full;		/* NodeStatus (start-up) rather than HealthCheck */
	pthread_t th;
	int started;
};

static void
probe_apply_status(struct master_node *n, const Mcp__V1__NodeStatusResponse *r)
{
	n->res.nruntimes = 0;
	for (size_t i = 0; i < r->n_runtimes && i < 4; i++)
		mcp_strlcpy(n->res.runtimes[n->res.nruntimes++], r->runtimes[i],
		    sizeof(n->res.runtimes[0]));
	n->res.memory_total_mb = (int64_t)r->memory_total_mb;
	n->res.memory_free_mb = r->memory_total_mb > r->memory_committed_mb ?
	    (int64_t)(r->memory_total_mb - r->memory_committed_mb) : 0;
	n->res.vcpus_total = (int)r->vcpus_total;
	n->res.vcpus_free = r->vcpus_total > r->vcpus_committed ?
	    (int)(r->vcpus_total - r->vcpus_committed) : 0;
	if (r->version && r->version[0])
		mcp_strlcpy(n->version, r->version, sizeof(n->version));
}

static void *
probe_run(void *arg)
{
	struct probe *p = arg;
	struct master *m = p->m;
	Mcp__V1__HealthCheckRequest hreq = MCP__V1__HEALTH_CHECK_REQUEST__INIT;
	Mcp__V1__NodeStatusRequest nreq = MCP__V1__NODE_STATUS_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	struct master_node *n;
	int rc;

	if (p->full)
		rc = wire_call(p->client, "/mcp.v1.Agent/NodeStatus", &nreq.base,
		    &mcp__v1__node_status_response__descriptor, &resp,
		    m->cfg.probe_timeout_s * 1000, &err);
	else
		rc = wire_call(p->client, "/mcp.v1.Agent/HealthCheck", &hreq.base,
		    &mcp__v1__health_check_response__descriptor, &resp,
		    m->cfg.probe_timeout_s * 1000, &err);
	pthread_mutex_lock(&m->mu);
	if ((n = master_node_find(m, p->name)) != NULL) {
		n->probing = 0;
		if (rc == 0) {
			if (n->health != HEALTH_HEALTHY) {
				log_info("node %s: healthy (probe answered)", n->name);
				m->healthy_gen++;
			}
			n->health = HEALTH_HEALTHY;
			n->last_seen_ms = mcp_now_ms();
			if (p->full)
				probe_apply_status(n, (const Mcp__V1__NodeStatusResponse *)resp);
		} else {
			if (n->health != HEALTH_UNHEALTHY)
				log_warnx("node %s: unhealthy: %s probe: %s", n->name,
				    p->full ? "NodeStatus" : "HealthCheck", err.msg);
			n->health = HEALTH_UNHEALTHY;
		}
	}
	pthread_mutex_unlock(&m->mu);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return NULL;
}

/*
 * Probe the nodes due (all when all is set), in parallel; returns when
 * every probe answered or timed out.
 */
static void
probe_nodes(struct master *m, int all)
{
	struct probe *ps = xcalloc(MASTER_NODES_MAX, sizeof(*ps));
	long long now = mcp_now_ms();
	long long silent = (long long)m->cfg.missed * m->cfg.heartbeat_interval_s * 1000;
	size_t i, np = 0;

	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->nnodes; i++) {
		struct master_node *n = &m->nodes[i];
		struct mcp_err err = MCP_ERR_INIT;
		struct wire_client *c;

		if (n->probing || n->address[0] == '\0')
			continue;
		if (!all && now - n->last_seen_ms <= silent)
			continue;
		if (!all && now - n->last_probe_ms < m->cfg.heartbeat_interval_s * 1000LL)
			continue;
		if ((c = master_node_client(m, n, &err)) == NULL) {
			n->health = HEALTH_UNHEALTHY;
			continue;
		}
		n->probing = 1;
		n->last_probe_ms = now;
		ps[np].m = m;
		ps[np].client = c;
		ps[np].full = all;
		mcp_strlcpy(ps[np].name, n->name, sizeof(ps[np].name));
		np++;
	}
	pthread_mutex_unlock(&m->mu);
	for (i = 0; i < np; i++)
		ps[i].started = pthread_create(&ps[i].th, NULL, probe_run, &ps[i]) == 0;
	for (i = 0; i < np; i++) {
		if (ps[i].started)
			pthread_join(ps[i].th, NULL);
		else
			probe_run(&ps[i]);
	}
	free(ps);
}

void
master_probe_all(struct master *m)
{
	probe_nodes(m, 1);
}

static void *
health_loop(void *arg)
{
	struct master *m = arg;
	struct timespec ts;

	master_probe_all(m);
	master_reconcile_log(m);
	pthread_mutex_lock(&m->mu);
	m->removals_pending = 1;	/* any left from before the restart */
	pthread_mutex_unlock(&m->mu);
	pthread_mutex_lock(&m->mu);
	while (!m->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&m->cv, &m->mu, &ts);
		if (m->stopping)
			break;
		pthread_mutex_unlock(&m->mu);
		probe_nodes(m, 0);
		master_edge_retry(m);
		pthread_mutex_lock(&m->mu);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

int
master_health_start(struct master *m, struct mcp_err *err)
{
	if (pthread_create(&m->health, NULL, health_loop, m) != 0)
		return mcp_err_set(err, MCP_E_INTERNAL, "start the health thread");
	m->health_running = 1;
	return 0;
}

void
master_health_stop(struct master *m)
{
	if (!m->health_running)
		return;
	pthread_mutex_lock(&m->mu);
	m->stopping = 1;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->health, NULL);
	m->health_running = 0;
}

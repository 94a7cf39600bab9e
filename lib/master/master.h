/*
 * master/master.h: mcp-master, the fleet coordinator (SPEC §5).  One
 * `struct master` context; master_init / master_run / master_free in the
 * start-up order of SPEC §5: database -> bootstrap nodes -> agent client
 * pool -> DNS client -> TLS -> authorisation -> gRPC server -> signals.
 *
 * Files: config.c (master.toml), db.c (SQLite, numbered migrations),
 * placement.c (the pure placement function), nodes.c (the node table, the
 * client pool, health), locks.c (per-service locks), rpc.c (the Master
 * service), ops.c (deploy / undeploy / status), dns_step.c (the DNS
 * client, optional).
 *
 * Concurrency: RPC handlers run on their own threads.  m->mu guards the
 * node table; the database serialises itself; operations on one service
 * are serialised by master_lock_service, different services proceed in
 * parallel; m->place_mu makes choosing a node and holding it (m->holds,
 * m->edge_holds) one step, so concurrent deploys never choose from stale
 * counts.  The health thread probes nodes whose heartbeats stopped.
 */
#ifndef MCP_MASTER_MASTER_H
#define MCP_MASTER_MASTER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define MASTER_VERSION "0.1.0"
#define MASTER_PATH_MAX 512
#define MASTER_NODES_MAX 256		/* hard bound on max_nodes */

struct wire_client;
struct wire_server;
struct dns_client;
struct mdb;

/* ---- configuration (config.c) ---- */

struct master_boot_node {
	char name[64];
	char address[256];	/* the agent's gRPC address, host:port */
	char role[16];		/* "master" | "worker" | "edge" */
};

struct master_config {
	char node[64];			/* [master] node: the master's own node */
	char listen[128];		/* [master] listen, host:port (mutual TLS) */
	char state_dir[MASTER_PATH_MAX];
	char tls_ca[MASTER_PATH_MAX], tls_cert[MASTER_PATH_MAX], tls_key[MASTER_PATH_MAX];
	char **operators;		/* [auth] operators */
	char **allowed_agents;		/* [registration] allowed_agents */
	int max_nodes;			/* [registration] max_nodes (16) */
	struct {
		int configured;		/* a [dns] table with a server was given */
		char server[64];
		int port;		/* 53 */
		char zone[256];
		char key_name[256];
		char algorithm[32];	/* "hmac-sha256" */
		char secret_file[MASTER_PATH_MAX];
		int ttl;		/* 60 */
	} dns;
	char **allowed_domains;		/* [edge] allowed_domains */
	int deploy_timeout_s;		/* [timeouts] deploy (300) */
	int undeploy_timeout_s;		/* [timeouts] undeploy (120) */
	int edge_timeout_s;		/* [timeouts] edge_route (30) */
	int health_timeout_s;		/* [timeouts] health_check (5): Status calls */
	int heartbeat_interval_s;	/* [health] heartbeat_interval (30) */
	int missed;			/* [health] missed (3) */
	int probe_timeout_s;		/* [health] probe_timeout (5) */
	int snapshot_timeout_s;		/* [timeouts] snapshot (1800): export/import */
	char snapshots_dir[MASTER_PATH_MAX];	/* [snapshots] dir (<state_dir>/snapshots) */
	int snapshot_interval_s;	/* [snapshots] interval (24h) */
	int snapshot_retain;		/* [snapshots] retain (7) */
	struct master_boot_node *boot;	/* [[nodes]] */
	size_t nboot;
};

int master_config_load(const char *path, struct master_config *cfg,
    struct mcp_err *err);
/* A duration: "90s", "30m", "24h", "7d" or plain seconds; -1 if bad. */
long long master_parse_duration(const char *s);
void master_config_free(struct master_config *cfg);

/* ---- placement (placement.c, pure) ---- */

struct place_node {
	const char *name;
	const char *role;		/* "master" | "worker" | "edge" */
	int healthy;
	const char *const *runtimes;	/* NULL-terminated; NULL: none known */
	long memory_free_mb;		/* for new VMs */
	int vcpus_free;
	int placed;			/* services placed on it */
};

struct place_request {
	const char *service;
	const char *pin;		/* definition's node, "" or NULL: none */
	const char *tier;		/* "worker" | "core" */
	const char *current;		/* where it is placed now, NULL: nowhere */
	int needs_container;
	int needs_unikernel;
	long memory_mb;			/* the unikernel components' sum */
	int vcpus;
};

/*
 * Choose a node for req among nodes[0..n) (the master's own node is
 * master_node).  Rules, in order: an existing placement is kept (a pin
 * that differs is refused); a pin wins unless the node is unknown or
 * unhealthy; tier core goes to the master's node; else the healthy
 * worker (never edge) that offers every runtime needed and has the VM
 * memory / vCPUs, with the fewest placed services, ties broken by name.
 * Returns the index, or -1 with err saying why no node fits.
 */
int master_place(const struct place_node *nodes, size_t n, const char *master_node,
    const struct place_request *req, struct mcp_err *err);
/* A service and the node it is on: a recorded placement, or a hold (a
 * placement chosen for a deploy still in flight, not recorded yet). */
struct place_ref {
	const char *service;
	const char *node;
};

/*
 * Set nodes[i].placed to the number of services on each node: the
 * recorded placements (one per service, the table's key) plus the holds,
 * each service counted once (a service both recorded and held counts
 * where it is recorded).  Counting
 * the holds is what keeps two concurrent deploys of different services
 * from both choosing the same least-loaded node.
 */
void master_place_count(struct place_node *nodes, size_t n,
    const struct place_ref *recorded, size_t nrecorded,
    const struct place_ref *held, size_t nheld);
/* The edge node for a new edge route: healthy, role edge, fewest routes
 * (routes[i] for nodes[i]), ties by name.  -1 if none. */
int master_place_edge(const struct place_node *nodes, const int *routes, size_t n);

/* Token bucket (pure): 1 if a call at now_ms is allowed. */
struct master_rate {
	double tokens;
	long long last_ms;
};
int master_rate_allow(struct master_rate *r, long long now_ms, double burst,
    double per_s);

/* ---- nodes ---- */

enum master_health { HEALTH_UNKNOWN, HEALTH_HEALTHY, HEALTH_UNHEALTHY };

struct master_resources {
	char runtimes[4][16];
	size_t nruntimes;
	int64_t memory_total_mb, memory_free_mb, disk_free_mb;
	int vcpus_total, vcpus_free;
	int containers, vms;
};

struct master_node {
	char name[64];
	char role[16];
	char address[256];
	char advertise[64];
	char version[32];
	int bootstrap;
	enum master_health health;
	int64_t last_heartbeat;		/* unix s, 0 none */
	long long last_seen_ms;		/* heartbeat or answered probe (monotonic) */
	long long last_probe_ms;
	int probing;
	struct master_resources res;
	struct wire_client *client;	/* NULL until an address is known */
	struct master_rate rate;
	/* the VMs of the last heartbeat: a packed HeartbeatRequest holding
	 * only its vms (NULL: none reported) */
	uint8_t *vms_pb;
	size_t vms_pb_len;
};

struct master_lock {
	char service[64];
	struct master_lock *next;
};

/* A node held for a deploy in flight (ops.c, under place_mu): a
 * service's placement, or a public hostname's edge node. */
struct master_hold {
	char key[256];		/* service, or hostname */
	char node[64];
};

struct master_holds {
	struct master_hold *v;
	size_t n;
};

struct master {
	struct master_config cfg;
	struct mdb *db;
	struct dns_client *dns;
	struct wire_server *server;
	char notify_socket[128];	/* $NOTIFY_SOCKET taken by the main; "" = none */

	pthread_mutex_t mu;		/* nodes, retired clients, locks, stopping */
	pthread_cond_t cv;
	struct master_node *nodes;	/* MASTER_NODES_MAX slots */
	size_t nnodes;
	struct wire_client **retired;	/* replaced clients, freed at the end */
	size_t nretired;
	struct master_lock *locks;	/* services being operated on */
	/* place_mu: choosing a node and holding it, and recording a held
	 * placement or edge route, are each atomic against other deploys'
	 * choices */
	pthread_mutex_t place_mu;
	struct master_holds holds;	/* service -> node */
	struct master_holds edge_holds;	/* public hostname -> edge node */
	int stopping;
	unsigned healthy_gen;		/* bumped when a node turns healthy */
	unsigned removals_pending;	/* nonzero: edge removals may wait (ops.c) */
	unsigned removals_gen;
	long long removals_next_ms;
	long long removals_backoff_ms;	/* after failed attempts */
	pthread_t health;
	int health_running;
	pthread_t snapshots;		/* the snapshot schedule (data.c) */
	int snapshots_running;
};

int master_init(struct master *m, const char *config_path, struct mcp_err *err);
/* Serve until SIGTERM/SIGINT/SIGQUIT. */
int master_run(struct master *m, struct mcp_err *err);
void master_free(struct master *m);

/* nodes.c */
/* Add or update a node from the database or the bootstrap list (m->mu held). */
struct master_node *master_node_put(struct master *m, const char *name,
    const char *role, const char *address, struct mcp_err *err);
struct master_node *master_node_find(struct master *m, const char *name);
/* The node's client, created on first use (m->mu held); NULL with err. */
struct wire_client *master_node_client(struct master *m, struct master_node *n,
    struct mcp_err *err);
const char *master_health_name(enum master_health h);
/* Probe every known node at once (start-up). */
void master_probe_all(struct master *m);
int master_health_start(struct master *m, struct mcp_err *err);
void master_health_stop(struct master *m);
/* The advertised IPv4 of a node: advertise, else the host of address. */
void master_node_ip(const struct master_node *n, char *out, size_t outsz);

/* locks.c */
void master_lock_service(struct master *m, const char *service);
void master_unlock_service(struct master *m, const char *service);
/* 1 and held if nobody operates on service now, else 0 (the schedule
 * skips a service in a deploy or migrate). */
int master_trylock_service(struct master *m, const char *service);

/* rpc.c */
int master_rpc_start(struct master *m, struct mcp_err *err);
/* identity must be "agent-<name>" and listed in allowed_agents. */
int master_check_agent(const struct master_config *cfg, const char *identity,
    const char *name, struct mcp_err *err);

/* dns_step.c: NULL client when [dns] is absent */
int master_dns_init(struct master *m, struct mcp_err *err);
void master_dns_free(struct master *m);
/* "<instance>.<zone>" -> ip; a skipped step returns 0 with *skipped set. */
int master_dns_set(struct master *m, const char *name, const char *ip,
    struct mcp_err *err);
int master_dns_delete(struct master *m, const char *name, struct mcp_err *err);
/* Why the DNS step is skipped, or NULL when a client exists. */
const char *master_dns_skipped(struct master *m);

#endif

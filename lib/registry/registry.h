/*
 * registry/registry.h: the agent's registry (SPEC §4), the node's desired
 * state, in SQLite (WAL).  Services with their definition text, components
 * (runtime, resources, desired and last observed state, VM attestation and
 * address), routes with their allocated host ports, and events.
 *
 * The schema is brought forward by numbered migrations (PRAGMA
 * user_version), in place, in one transaction each, so an old database
 * keeps its data.  One connection shared by the agent's threads, serialised
 * by a mutex inside struct reg; every multi-row change is one transaction.
 *
 * Opening runs PRAGMA quick_check and refuses a damaged database.  Every
 * read error is returned to the caller (a message naming the database
 * file), never taken for the end of the rows.
 */
#ifndef MCP_REGISTRY_REGISTRY_H
#define MCP_REGISTRY_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "service/service.h"
#include "util/err.h"

#define REG_PORT_MIN 10000
#define REG_PORT_MAX 60000

struct reg;

struct reg_route {
	char name[64];
	int port;
	int host_port;
	char mode[8];
	char hostname[256];
	int public;
	char vm_addr[64];
};

struct reg_component {
	char service[64];
	char name[64];
	char runtime[16];
	char image[512];
	char desired[16];	/* "running" | "stopped" */
	char network[16];
	char image_hash[80];
	char vm_ip[48];
	char spec_hash[72];	/* hash of the spec last started */
	char instance_id[80];	/* identity of the instance last started ("" none) */
	char last_observed[32];	/* monitor's last view */
	int64_t last_change;
	int memory_mb;
	int vcpus;
	struct reg_route *routes;
	size_t nroutes;
};

struct reg_service {
	char name[64];
	char node[64];
	char tier[16];
	char source[256];
	int active;
	char *definition;	/* TOML text as deployed */
	int64_t created_at, updated_at;
	struct reg_component *components;
	size_t ncomponents;
};

struct reg_event {
	int64_t id;
	int64_t time;
	char service[64];
	char component[64];
	char kind[32];
	char from_state[32];
	char to_state[32];
	char detail[512];
};

/* An edge route: a public hostname this (edge) node terminates and
 * re-encrypts to another node's proxy. */
struct reg_edge {
	char hostname[256];
	char backend_hostname[256];
	int backend_port;
	int64_t created_at, updated_at;
};

/* Returns 1 if host port is free to use (e.g. bindable), 0 if not. */
typedef int (*reg_port_probe)(int port, void *arg);

/* Open (creating) and migrate to the current schema. */
struct reg *reg_open(const char *path, struct mcp_err *err);
void reg_close(struct reg *r);
int reg_schema_version(struct reg *r);
int reg_latest_version(void);
/* Migration SQL for version v (1-based), for tests that build old databases. */
const char *reg_migration_sql(int v);

struct reg_put_opts {
	reg_port_probe probe;		/* may veto a port in use elsewhere; NULL = none */
	void *probe_arg;
	/* 0 when a component's routes get no host port (bridged VMs); NULL = all do */
	int (*wants_host_ports)(const struct svc_component *c, void *arg);
	void *wants_arg;
};

/*
 * -1 (MCP_E_INVALID, naming SVC_MAX_HOST_PORTS) when def's routes that
 * want a host port (opts->wants_host_ports) are more than a service may
 * hold.  reg_service_put checks it before allocating any; callers may ask
 * earlier, before costly work.
 */
int reg_host_ports_check(const struct svc_def *def,
    const struct reg_put_opts *opts, struct mcp_err *err);

/*
 * Record a service definition as the desired state, in one transaction:
 * upsert the service and its components (desired = running), drop
 * components and routes no longer defined, keep the host port of a route
 * that still exists (same component and route name), allocate a free one
 * in [REG_PORT_MIN, REG_PORT_MAX] for each new route that wants one.
 */
int reg_service_put(struct reg *r, const struct svc_def *def,
    const char *definition, const char *source, const struct reg_put_opts *opts,
    struct mcp_err *err);
/* -1 with MCP_E_NOTFOUND when absent. *out freed with reg_service_free. */
int reg_service_get(struct reg *r, const char *name, struct reg_service **out,
    struct mcp_err *err);
int reg_service_list(struct reg *r, struct reg_service **out, size_t *n,
    struct mcp_err *err);
void reg_service_free(struct reg_service *s);
void reg_services_free(struct reg_service *s, size_t n);
/* Delete the service, its components, routes and events. */
int reg_service_delete(struct reg *r, const char *name, struct mcp_err *err);

/* component NULL or "": every component of the service. */
int reg_component_set_desired(struct reg *r, const char *service,
    const char *component, const char *desired, struct mcp_err *err);
int reg_component_set_observed(struct reg *r, const char *service,
    const char *component, const char *observed, int64_t when,
    struct mcp_err *err);
/* What was just started: its spec hash, VM attestation and identity. */
int reg_component_set_started(struct reg *r, const char *service,
    const char *component, const char *spec_hash, const char *image_hash,
    const char *instance_id, struct mcp_err *err);
/* Set the VM address ("" releases it) and every route's vm_addr (ip:port).
 * An address held by another component fails with MCP_E_EXISTS. */
int reg_component_set_vm_ip(struct reg *r, const char *service,
    const char *component, const char *vm_ip, struct mcp_err *err);
/* Every VM address in use on this node (malloc'ed array of strings). */
int reg_vm_ips(struct reg *r, char (**ips)[48], size_t *n, struct mcp_err *err);

int reg_event_add(struct reg *r, const char *service, const char *component,
    const char *kind, const char *from, const char *to, const char *detail,
    struct mcp_err *err);
/* Newest first, at most limit (service NULL = all). */
int reg_events_list(struct reg *r, const char *service, int limit,
    struct reg_event **out, size_t *n, struct mcp_err *err);
/* Edge routes: upsert by hostname (*changed: 1 if anything differs), delete
 * (MCP_E_NOTFOUND when absent), list (by hostname). */
int reg_edge_put(struct reg *r, const struct reg_edge *e, int *changed,
    struct mcp_err *err);
int reg_edge_delete(struct reg *r, const char *hostname, struct mcp_err *err);
int reg_edge_list(struct reg *r, struct reg_edge **out, size_t *n,
    struct mcp_err *err);

/* Count events of a kind for a component since a time. */
int reg_events_count(struct reg *r, const char *service, const char *component,
    const char *kind, int64_t since, struct mcp_err *err /* -1 on a read error */);
/* The same count for every component with at least one such event, in one
 * query (for views over many components). */
struct reg_event_count {
	char service[64];
	char component[64];
	int count;
};
int reg_events_counts(struct reg *r, const char *kind, int64_t since,
    struct reg_event_count **out, size_t *n, struct mcp_err *err);
/* The database file's path, for messages. */
const char *reg_path(const struct reg *r);

#endif

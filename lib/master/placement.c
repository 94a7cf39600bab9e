/*
 * master/placement.c: where a service goes (SPEC §5), as pure functions
 * over plain structs, in the shape of Nomad's scheduler: filter the nodes
 * that can run it (healthy, a worker, every runtime it needs, VM memory and
 * vCPUs), then rank what is left (fewest placed services, ties by name).
 * The RPC handler gathers the inputs and applies the result; nothing here
 * touches the network or the database.  Also the edge-node choice and the
 * token bucket that rate-limits agents.
 */
#include "master/master.h"

#include <stdio.h>
#include <string.h>

static int
place_find(const struct place_node *nodes, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(nodes[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
place_offers(const struct place_node *nd, const char *runtime)
{
	for (size_t i = 0; nd->runtimes && nd->runtimes[i]; i++)
		if (strcmp(nd->runtimes[i], runtime) == 0)
			return 1;
	return 0;
}

/* Why nd cannot take req as a worker placement, or NULL if it can. */
static const char *
place_unfit(const struct place_node *nd, const struct place_request *req)
{
	if (strcmp(nd->role, "worker") != 0)
		return "not a worker";
	if (!nd->healthy)
		return "unhealthy";
	if (req->needs_container && !place_offers(nd, "container"))
		return "no container runtime";
	if (req->needs_unikernel && !place_offers(nd, "unikernel"))
		return "no unikernel runtime";
	if (req->needs_unikernel && (nd->memory_free_mb < req->memory_mb ||
	    nd->vcpus_free < req->vcpus))
		return "not enough VM memory or vCPUs";
	return NULL;
}

/* A pinned or core node must exist and be healthy. */
static int
place_named(const struct place_node *nodes, size_t n, const char *name,
    const char *why, const struct place_request *req, struct mcp_err *err)
{
	int i = place_find(nodes, n, name);

	if (i < 0)
		return mcp_err_set(err, MCP_E_NOTFOUND, "place %s: %s node %s is not "
		    "a known node", req->service, why, name);
	if (!nodes[i].healthy)
		return mcp_err_set(err, MCP_E_UNAVAILABLE, "place %s: %s node %s is "
		    "unhealthy", req->service, why, name);
	return i;
}

int
master_place(const struct place_node *nodes, size_t n, const char *master_node,
    const struct place_request *req, struct mcp_err *err)
{
	int best = -1, cur;
	size_t i;
	char why[512] = "";
	const char *pin = req->pin && req->pin[0] ? req->pin : NULL;

	if (req->current && req->current[0]) {
		if (pin && strcmp(pin, req->current) != 0)
			return mcp_err_set(err, MCP_E_PRECONDITION, "place %s: the "
			    "definition pins node %s but the service is placed on %s "
			    "(undeploy it first to move it)", req->service, pin,
			    req->current);
		if ((cur = place_find(nodes, n, req->current)) < 0)
			return mcp_err_set(err, MCP_E_NOTFOUND, "place %s: placed on %s, "
			    "which is no longer a known node", req->service, req->current);
		return cur;
	}
	if (pin)
		return place_named(nodes, n, pin, "pinned", req, err);
	if (req->tier && strcmp(req->tier, "core") == 0)
		return place_named(nodes, n, master_node, "core services go to the "
		    "master's", req, err);
	for (i = 0; i < n; i++) {
		const char *no = place_unfit(&nodes[i], req);

		if (no != NULL) {
			size_t l = strlen(why);

			if (strcmp(nodes[i].role, "worker") == 0 && l + 80 < sizeof(why))
				snprintf(why + l, sizeof(why) - l, "%s%s: %s", l ? "; " : "",
				    nodes[i].name, no);
			continue;
		}
		if (best < 0 || nodes[i].placed < nodes[best].placed ||
		    (nodes[i].placed == nodes[best].placed &&
		    strcmp(nodes[i].name, nodes[best].name) < 0))
			best = (int)i;
	}
	if (best < 0)
		return mcp_err_set(err, MCP_E_RESOURCE, "place %s: no worker can take "
		    "it%s%s", req->service, why[0] ? " (" : "", why[0] ? why : "");
	return best;
}

static int
place_ref_has(const struct place_ref *refs, size_t n, const char *service)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(refs[i].service, service) == 0)
			return 1;
	return 0;
}

void
master_place_count(struct place_node *nodes, size_t n,
    const struct place_ref *recorded, size_t nrecorded,
    const struct place_ref *held, size_t nheld)
{
	size_t i;
	int j;

	for (i = 0; i < n; i++)
		nodes[i].placed = 0;
	for (i = 0; i < nrecorded; i++)
		if ((j = place_find(nodes, n, recorded[i].node)) >= 0)
			nodes[j].placed++;
	for (i = 0; i < nheld; i++)
		if ((j = place_find(nodes, n, held[i].node)) >= 0 &&
		    !place_ref_has(recorded, nrecorded, held[i].service) &&
		    !place_ref_has(held, i, held[i].service))
			nodes[j].placed++;
}

int
master_place_edge(const struct place_node *nodes, const int *routes, size_t n)
{
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(nodes[i].role, "edge") != 0 || !nodes[i].healthy)
			continue;
		if (best < 0 || routes[i] < routes[best] || (routes[i] == routes[best] &&
		    strcmp(nodes[i].name, nodes[best].name) < 0))
			best = (int)i;
	}
	return best;
}

int
master_rate_allow(struct master_rate *r, long long now_ms, double burst, double per_s)
{
	if (r->last_ms == 0) {
		r->tokens = burst;
		r->last_ms = now_ms;
	}
	if (now_ms > r->last_ms) {
		r->tokens += (double)(now_ms - r->last_ms) * per_s / 1000.0;
		if (r->tokens > burst)
			r->tokens = burst;
		r->last_ms = now_ms;
	}
	if (r->tokens < 1.0)
		return 0;
	r->tokens -= 1.0;
	return 1;
}

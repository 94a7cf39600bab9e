/*
 * agent/live.h: the agent's live view of its containers (agent/live.c).
 *
 * `mcp ps` / `status` and the monitor answer from this in-memory listing
 * instead of asking podman each time.  It is kept current by `podman
 * events` (each event re-inspects that one container), refreshed by a full
 * listing every [podman] resync seconds, at once after any gap in the event
 * stream, and on the next look after any lifecycle operation; every podman
 * call it makes is bounded by [podman] list_timeout, so a podman that hangs
 * (storage locks held by another process) makes the containers "unknown",
 * with the reason, within that bound.  VMs are not cached: their listing
 * reads state files and costs no podman call (agent_observe adds them).
 *
 * Consistency: every read of podman's state (a listing or one inspect) takes
 * a sequence number when it starts; what it found replaces only what older
 * reads found (struct live_cache below), so reads that finish out of order
 * never put an older state over a newer one.
 */
#ifndef MCP_AGENT_LIVE_H
#define MCP_AGENT_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/runtime.h"
#include "util/err.h"

struct agent;
struct live;

struct live *live_new(struct agent *a, struct mcp_err *err);
/* Start / stop the thread that follows podman events and resynchronises. */
int live_start(struct live *l, struct mcp_err *err);
void live_stop(struct live *l);
void live_free(struct live *l);	/* NULL-safe; stops first */

/*
 * The managed containers as last known (*out malloc'ed), refreshed first when the view is not known to be current
 * (never listed, the last read failed, an operation ended since).  -1 with
 * why filled when podman could not be read within the bound.
 */
int live_containers(struct live *l, struct rt_info **out, size_t *n,
    char *why, size_t whysz);
/* A full listing through rt now (the caller's deadline), recorded in the
 * view; *out as from rt->ops->list. */
int live_list_now(struct live *l, struct runtime *rt, struct rt_info **out,
    size_t *n, struct mcp_err *err);
/* A lifecycle operation on a service ended: the next look lists again. */
void live_touch(struct live *l);

/* ---- the cache itself (pure; tests/unit/test_live.c) ---- */

struct live_entry {
	struct rt_info info;
	int present;		/* 0: seen gone (kept until a listing supersedes it) */
	uint64_t seq;		/* the read that found this */
};

struct live_cache {
	struct live_entry *e;
	size_t n, cap;
	uint64_t floor;		/* seq of the newest full listing applied */
};

/* A full listing started at seq: replaces everything read before it. */
void live_cache_apply_list(struct live_cache *c, const struct rt_info *infos,
    size_t n, uint64_t seq);
/* One container read at seq: info, or NULL when there is none of that name. */
void live_cache_apply_one(struct live_cache *c, const char *name,
    const struct rt_info *info, uint64_t seq);
/* The present entries (*out malloc'ed, NULL when none). */
void live_cache_copy(const struct live_cache *c, struct rt_info **out, size_t *n);
void live_cache_free(struct live_cache *c);

#endif

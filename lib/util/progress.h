/*
 * util/progress.h: where a long operation (a deploy) reports its steps as
 * it goes, e.g. into a DeployStream RPC.  The sink is passed down
 * explicitly (NULL: nobody listens) and called on the operation's own
 * thread, one call per step, with the time elapsed since progress_init.
 */
#ifndef MCP_UTIL_PROGRESS_H
#define MCP_UTIL_PROGRESS_H

#include <stdint.h>

typedef void (*progress_fn)(void *arg, const char *component, const char *step,
    const char *detail, int64_t elapsed_ms);

struct progress {
	progress_fn fn;
	void *arg;
	long long t0_ms;	/* mcp_now_ms() at progress_init */
};

void progress_init(struct progress *p, progress_fn fn, void *arg);
/* Report one step (printf-style detail); nothing when p is NULL. */
void progress_step(const struct progress *p, const char *component,
    const char *step, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif

/*
 * util/progress.c: step reports of long operations (progress.h).
 */
#include "util/progress.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/clock.h"

void
progress_init(struct progress *p, progress_fn fn, void *arg)
{
	p->fn = fn;
	p->arg = arg;
	p->t0_ms = mcp_now_ms();
}

void
progress_step(const struct progress *p, const char *component, const char *step,
    const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	if (p == NULL || p->fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	p->fn(p->arg, component ? component : "", step, detail,
	    (int64_t)(mcp_now_ms() - p->t0_ms));
}

/*
 * agent/live.c: the live view of the agent's containers (see live.h).
 *
 * One thread follows `podman events` for MCP-managed containers through
 * podman_events() and, after each batch of events read, re-inspects the
 * containers they name (a burst of create/init/start costs one inspect);
 * on its ticks it lists everything again when the resync interval is up, and
 * writes the events child's pid to <state_dir>/podman-events.pid.  When the
 * stream ends or cannot be read (a gap: events may be lost), it lists
 * again and restarts the stream from just before that listing, so nothing
 * that happened meanwhile is missed.
 *
 * Readers (ListServices, Status, NodeStatus, the monitor) copy the cache
 * under the mutex; a reader that finds it not current lists first, or
 * waits for a listing already under way, so an answer never costs more
 * than one bounded podman call.
 */
#include "agent/live.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/log.h"

#define LIVE_PENDING_MAX	64	/* containers re-inspected per tick; more: list */
#define LIVE_RETRY_MS		2000	/* after a failed read, list again this soon */
#define LIVE_RESTART_MS		2000	/* a stream that ended this early waits this long */

struct live {
	struct agent *a;		/* borrowed: config, state dir */
	struct runtime *podman;		/* own: every call bounded by list_timeout */
	int list_timeout_s;
	int resync_ms;
	char pidfile[CFG_PATH_MAX + 32];

	pthread_mutex_t mu;		/* guards everything down to stopping */
	pthread_cond_t cv;		/* a listing finished; stopping */
	struct live_cache cache;
	uint64_t seq;			/* last sequence number handed to a read */
	uint64_t status_seq;		/* the read that decided valid / why */
	int valid;			/* the cache is podman's state as of status_seq */
	char why[256];			/* when not valid: why containers are unknown */
	int nlisting;			/* full listings under way */
	uint64_t listing_seq;		/* the newest of them */
	uint64_t touched;		/* seq when an operation last ended */
	long long next_resync_ms;
	int stopping;

	/* the thread's own */
	pthread_t thread;
	int running;
	int events_pid;			/* set by spawn_stream while the child runs */
	int pid_written;
	char pending[LIVE_PENDING_MAX][RT_NAME_MAX];
	size_t npending;
	int pending_overflow;
};

/* ---- the cache ---- */

static struct live_entry *
cache_find(const struct live_cache *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].info.name, name) == 0)
			return &c->e[i];
	return NULL;
}

static struct live_entry *
cache_add(struct live_cache *c)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct live_entry *e = realloc(c->e, cap * sizeof(*e));

		if (e == NULL)
			abort();
		c->e = e;
		c->cap = cap;
	}
	memset(&c->e[c->n], 0, sizeof(c->e[0]));
	return &c->e[c->n++];
}

static void
entry_set(struct live_entry *e, const char *name, const struct rt_info *info,
    uint64_t seq)
{
	if (info != NULL) {
		e->info = *info;
		e->present = 1;
	} else {
		memset(&e->info, 0, sizeof(e->info));
		mcp_strlcpy(e->info.name, name, sizeof(e->info.name));
		e->present = 0;
	}
	e->seq = seq;
}

void
live_cache_apply_list(struct live_cache *c, const struct rt_info *infos,
    size_t n, uint64_t seq)
{
	size_t i, k = 0;

	if (seq < c->floor)
		return;		/* a newer listing already landed */
	/* what older reads found goes; what newer reads found stays */
	for (i = 0; i < c->n; i++)
		if (c->e[i].seq > seq)
			c->e[k++] = c->e[i];
	c->n = k;
	for (i = 0; i < n; i++)
		if (cache_find(c, infos[i].name) == NULL)
			entry_set(cache_add(c), infos[i].name, &infos[i], seq);
	c->floor = seq;
}

void
live_cache_apply_one(struct live_cache *c, const char *name,
    const struct rt_info *info, uint64_t seq)
{
	struct live_entry *e = cache_find(c, name);

	if (e != NULL && e->seq > seq)
		return;
	if (e == NULL && seq < c->floor)
		return;		/* the listing after this read knows better */
	entry_set(e ? e : cache_add(c), name, info, seq);
}

void
live_cache_copy(const struct live_cache *c, struct rt_info **out, size_t *n)
{
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	for (i = 0; i < c->n; i++)
		k += c->e[i].present;
	if (k == 0)
		return;
	*out = xcalloc(k, sizeof(**out));
	for (i = 0; i < c->n; i++)
		if (c->e[i].present)
			(*out)[(*n)++] = c->e[i].info;
}

void
live_cache_free(struct live_cache *c)
{
	free(c->e);
	memset(c, 0, sizeof(*c));
}

/* ---- reads of podman's state ---- */

static uint64_t
live_read_begin(struct live *l)
{
	uint64_t seq;

	pthread_mutex_lock(&l->mu);
	seq = ++l->seq;
	pthread_mutex_unlock(&l->mu);
	return seq;
}

/* Record whether the read at seq, bounded by bound_s, succeeded (l->mu held). */
static void
live_status(struct live *l, uint64_t seq, const struct mcp_err *err, int bound_s)
{
	char why[sizeof(l->why)];

	if (seq < l->status_seq)
		return;		/* a newer read already decided */
	l->status_seq = seq;
	if (err == NULL) {
		if (!l->valid && l->why[0])
			log_info("live view: containers observed again");
		l->valid = 1;
		l->why[0] = '\0';
		return;
	}
	if (err->code == MCP_E_TIMEOUT)
		snprintf(why, sizeof(why), "containers: podman did not answer "
		    "within %d s (storage locked by another podman process?)",
		    bound_s);
	else
		snprintf(why, sizeof(why), "containers: %s", err->msg);
	if (l->valid || strcmp(why, l->why) != 0)
		log_warnx("live view: %s", why);
	l->valid = 0;
	mcp_strlcpy(l->why, why, sizeof(l->why));
	l->next_resync_ms = mcp_now_ms() + LIVE_RETRY_MS;
}

/* A full listing through rt, recorded; the listing goes to the caller. */
static int
live_list_with(struct live *l, struct runtime *rt, int bound_s,
    struct rt_info **out, size_t *n, struct mcp_err *err)
{
	uint64_t seq;
	int rc;

	pthread_mutex_lock(&l->mu);
	seq = ++l->seq;
	l->nlisting++;
	if (seq > l->listing_seq)
		l->listing_seq = seq;
	pthread_mutex_unlock(&l->mu);

	rc = rt->ops->list(rt, out, n, err);

	pthread_mutex_lock(&l->mu);
	if (rc == 0)
		live_cache_apply_list(&l->cache, *out, *n, seq);
	live_status(l, seq, rc == 0 ? NULL : err, bound_s);
	l->nlisting--;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

int
live_list_now(struct live *l, struct runtime *rt, struct rt_info **out,
    size_t *n, struct mcp_err *err)
{
	return live_list_with(l, rt, l->a->podman_cfg.timeout_s, out, n, err);
}

/*
 * Bring the cache up to a listing that started after `after`: wait for one
 * under way if it qualifies, else list (bounded).  Either way at most one
 * podman call's time.
 */
static void
live_resync(struct live *l, uint64_t after)
{
	struct rt_info *infos = NULL;
	struct mcp_err err = MCP_ERR_INIT;
	size_t n = 0;

	pthread_mutex_lock(&l->mu);
	if (l->nlisting > 0 && l->listing_seq > after) {
		uint64_t want = l->listing_seq;
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += l->list_timeout_s + 1;
		while (l->status_seq < want && !l->stopping &&
		    pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&l->mu);
		return;
	}
	pthread_mutex_unlock(&l->mu);
	live_list_with(l, l->podman, l->list_timeout_s, &infos, &n, &err);
	free(infos);
}

int
live_containers(struct live *l, struct rt_info **out, size_t *n, char *why,
    size_t whysz)
{
	uint64_t touched;
	int need;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&l->mu);
	need = !l->valid || l->cache.floor <= l->touched;
	touched = l->touched;
	pthread_mutex_unlock(&l->mu);
	if (need)
		live_resync(l, touched);

	pthread_mutex_lock(&l->mu);
	if (!l->valid) {
		mcp_strlcpy(why, l->why[0] ? l->why : "containers: not listed yet", whysz);
		pthread_mutex_unlock(&l->mu);
		return -1;
	}
	if (l->cache.floor <= touched) {
		/* waited for a listing (an operation's, with its long deadline)
		 * that is still under way: what we hold predates the operation */
		snprintf(why, whysz, "containers: podman did not answer within %d s",
		    l->list_timeout_s + 1);
		pthread_mutex_unlock(&l->mu);
		return -1;
	}
	live_cache_copy(&l->cache, out, n);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

void
live_touch(struct live *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->touched = l->seq;
	pthread_mutex_unlock(&l->mu);
}

/* ---- the events thread ---- */

/* Events after which a container's state may differ (not init, exec, ...). */
static int
live_event_matters(const char *status)
{
	static const char *const words[] = { "create", "start", "restart", "died",
		"stop", "kill", "pause", "unpause", "remove", "cleanup", NULL };

	for (size_t i = 0; words[i]; i++)
		if (strcmp(status, words[i]) == 0)
			return 1;
	return 0;
}

static int
live_stopping(struct live *l)
{
	int s;

	pthread_mutex_lock(&l->mu);
	s = l->stopping;
	pthread_mutex_unlock(&l->mu);
	return s;
}

/* Re-inspect the containers events named since the last tick. */
static void
live_inspect_pending(struct live *l)
{
	for (size_t i = 0; i < l->npending; i++) {
		struct mcp_err err = MCP_ERR_INIT;
		struct rt_info info;
		uint64_t seq = live_read_begin(l);
		int rc = l->podman->ops->inspect(l->podman, l->pending[i], &info, &err);

		pthread_mutex_lock(&l->mu);
		if (rc == 0)
			live_cache_apply_one(&l->cache, l->pending[i], &info, seq);
		else if (err.code == MCP_E_NOTFOUND)
			live_cache_apply_one(&l->cache, l->pending[i], NULL, seq);
		else
			live_status(l, seq, &err, l->list_timeout_s);
		pthread_mutex_unlock(&l->mu);
		if (rc == -1 && err.code != MCP_E_NOTFOUND)
			break;	/* podman is not answering: the retry lists it all */
	}
	l->npending = 0;
}

static void
live_write_pid(struct live *l)
{
	struct mcp_err err = MCP_ERR_INIT;
	char text[32];
	int len;

	if (l->events_pid == l->pid_written)
		return;
	len = snprintf(text, sizeof(text), "%d\n", l->events_pid);
	if (file_write_atomic(l->pidfile, text, (size_t)len, 0600, &err) == -1)
		log_warnx("live view: %s", err.msg);
	log_info("live view: following podman events (pid %d)", l->events_pid);
	l->pid_written = l->events_pid;
}

static int
live_on_event(const struct podman_event *ev, void *arg)
{
	struct live *l = arg;
	long long now;
	int due;

	if (ev != NULL) {
		size_t i;

		if (!live_event_matters(ev->status))
			return 0;
		for (i = 0; i < l->npending; i++)
			if (strcmp(l->pending[i], ev->name) == 0)
				return 0;
		if (l->npending == LIVE_PENDING_MAX) {
			l->pending_overflow = 1;
			return 0;
		}
		mcp_strlcpy(l->pending[l->npending++], ev->name, RT_NAME_MAX);
		return 0;
	}
	/* a tick */
	live_write_pid(l);
	if (l->pending_overflow) {
		l->npending = 0;
		l->pending_overflow = 0;
		pthread_mutex_lock(&l->mu);
		l->next_resync_ms = 0;
		pthread_mutex_unlock(&l->mu);
	}
	if (l->npending)
		live_inspect_pending(l);
	now = mcp_now_ms();
	pthread_mutex_lock(&l->mu);
	due = now >= l->next_resync_ms;
	if (due)
		l->next_resync_ms = now + l->resync_ms;
	pthread_mutex_unlock(&l->mu);
	if (due)
		live_resync(l, 0);
	return live_stopping(l);
}

/* Sleep ms unless stopping. */
static void
live_nap(struct live *l, long long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->mu);
	while (!l->stopping &&
	    pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&l->mu);
}

static void *
live_main(void *arg)
{
	struct live *l = arg;
	char last_gap[MCP_ERR_MAX] = "";

	while (!live_stopping(l)) {
		struct mcp_err err = MCP_ERR_INIT;
		/* events from just before the listing on: none falls in between */
		int64_t since = (int64_t)time(NULL) - 1;
		long long began = mcp_now_ms();

		pthread_mutex_lock(&l->mu);
		l->next_resync_ms = began + l->resync_ms;
		pthread_mutex_unlock(&l->mu);
		live_resync(l, 0);
		l->npending = 0;
		l->pending_overflow = 0;
		if (live_stopping(l))
			break;
		if (podman_events(l->podman, since, live_on_event, l, &l->events_pid,
		    &err) == 0)
			break;	/* stopped by us */
		unlink(l->pidfile);
		l->pid_written = 0;
		if (live_stopping(l))
			break;
		/* a stream that keeps failing the same way is logged once */
		if (mcp_now_ms() - began >= LIVE_RESTART_MS ||
		    strcmp(err.msg, last_gap) != 0)
			log_warnx("live view: %s; listing again and restarting it",
			    err.msg);
		mcp_strlcpy(last_gap, err.msg, sizeof(last_gap));
		if (mcp_now_ms() - began < LIVE_RESTART_MS)
			live_nap(l, LIVE_RESTART_MS);
	}
	unlink(l->pidfile);
	return NULL;
}

/* ---- life ---- */

struct live *
live_new(struct agent *a, struct mcp_err *err)
{
	struct podman_config pc = a->podman_cfg;
	struct live *l = xcalloc(1, sizeof(*l));

	l->a = a;
	l->list_timeout_s = a->cfg.list_timeout_s;
	l->resync_ms = a->cfg.resync_s * 1000;
	snprintf(l->pidfile, sizeof(l->pidfile), "%s/podman-events.pid",
	    a->cfg.state_dir);
	pc.timeout_s = l->list_timeout_s;
	if ((l->podman = podman_runtime_new(&pc, err)) == NULL) {
		free(l);
		mcp_err_prefix(err, "live view");
		return NULL;
	}
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	return l;	/* not valid until the first listing ("not listed yet") */
}

int
live_start(struct live *l, struct mcp_err *err)
{
	int rc = pthread_create(&l->thread, NULL, live_main, l);

	if (rc != 0)
		return mcp_err_errno(err, rc, "live view: start thread");
	l->running = 1;
	return 0;
}

void
live_stop(struct live *l)
{
	if (l == NULL || !l->running)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	l->running = 0;
}

void
live_free(struct live *l)
{
	if (l == NULL)
		return;
	live_stop(l);
	runtime_free(l->podman);
	live_cache_free(&l->cache);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/*
 * master/locks.c: per-service serialisation in the master, so two
 * operations on one service (a deploy and an undeploy, two deploys) never
 * interleave, while different services proceed in parallel.  The held
 * names form a short list under m->mu; a waiter sleeps on m->cv.
 */
#include "master/master.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static int
lock_held(struct master *m, const char *service)
{
	for (struct master_lock *l = m->locks; l; l = l->next)
		if (strcmp(l->service, service) == 0)
			return 1;
	return 0;
}

void
master_lock_service(struct master *m, const char *service)
{
	struct master_lock *l = xcalloc(1, sizeof(*l));

	mcp_strlcpy(l->service, service, sizeof(l->service));
	pthread_mutex_lock(&m->mu);
	while (lock_held(m, service))
		pthread_cond_wait(&m->cv, &m->mu);
	l->next = m->locks;
	m->locks = l;
	pthread_mutex_unlock(&m->mu);
}

void
master_unlock_service(struct master *m, const char *service)
{
	struct master_lock **pp, *l;

	pthread_mutex_lock(&m->mu);
	for (pp = &m->locks; (l = *pp) != NULL; pp = &l->next)
		if (strcmp(l->service, service) == 0) {
			*pp = l->next;
			free(l);
			break;
		}
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

int
master_trylock_service(struct master *m, const char *service)
{
	struct master_lock *l;
	int got = 0;

	pthread_mutex_lock(&m->mu);
	if (!lock_held(m, service)) {
		l = xcalloc(1, sizeof(*l));
		mcp_strlcpy(l->service, service, sizeof(l->service));
		l->next = m->locks;
		m->locks = l;
		got = 1;
	}
	pthread_mutex_unlock(&m->mu);
	return got;
}

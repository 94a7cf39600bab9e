/*
 * agent/defs.c: the stored definitions, parsed once.  A status view needs
 * the spec each component should run with, which comes from the service's
 * stored definition; parsing that TOML for every service on every `ps` was
 * most of what ListServices cost.  The cache keeps, per service, the exact
 * text (and source name) it parsed and the result; a lookup whose text
 * differs in any byte parses again, so a changed definition can never be
 * answered with the old parse.  The spec hash itself is computed on every
 * lookup (it also depends on the registry's host ports, and is cheap).
 */
#include "agent/agent.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct def_entry {
	char name[64];
	char *source;		/* in full: a source of up to SVC_MAX_SOURCE_BYTES
				   cut short would never compare equal */
	char *text;		/* the definition as parsed */
	struct svc_def *def;	/* NULL: the text did not parse */
};

struct agent_defs {
	pthread_mutex_t mu;
	struct def_entry *e;
	size_t n, cap;
};

struct agent_defs *
agent_defs_new(void)
{
	struct agent_defs *d = xcalloc(1, sizeof(*d));

	pthread_mutex_init(&d->mu, NULL);
	return d;
}

static void
entry_clear(struct def_entry *e)
{
	free(e->text);
	free(e->source);
	svc_free(e->def);
	e->text = NULL;
	e->source = NULL;
	e->def = NULL;
}

void
agent_defs_free(struct agent_defs *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		entry_clear(&d->e[i]);
	free(d->e);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* The entry for s, (re)parsed when its text or source changed (d->mu). */
static struct def_entry *
defs_entry(struct agent_defs *d, const struct reg_service *s)
{
	struct mcp_err perr = MCP_ERR_INIT;
	struct def_entry *e = NULL;
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->e[i].name, s->name) == 0) {
			e = &d->e[i];
			break;
		}
	if (e && strcmp(e->text, s->definition) == 0 &&
	    strcmp(e->source, s->source) == 0)
		return e;
	if (e == NULL) {
		if (d->n == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 16;
			d->e = realloc(d->e, d->cap * sizeof(*d->e));
			if (d->e == NULL)
				abort();
		}
		e = &d->e[d->n++];
		memset(e, 0, sizeof(*e));
		mcp_strlcpy(e->name, s->name, sizeof(e->name));
	}
	entry_clear(e);
	e->source = xstrdup(s->source);
	e->text = xstrdup(s->definition);
	if (svc_parse(s->definition, strlen(s->definition), s->source, &e->def,
	    &perr) == -1) {
		log_warnx("status %s: stored definition: %s", s->name, perr.msg);
		e->def = NULL;
	}
	return e;
}

void
agent_defs_hash(struct agent_defs *d, const struct reg_service *s,
    const struct reg_component *rc, char *want)
{
	struct def_entry *e;
	size_t k;

	want[0] = '\0';
	pthread_mutex_lock(&d->mu);
	e = defs_entry(d, s);
	for (k = 0; e->def && k < e->def->ncomponents; k++)
		if (strcmp(e->def->components[k].name, rc->name) == 0)
			agent_spec_hash(e->def, &e->def->components[k], rc, want);
	pthread_mutex_unlock(&d->mu);
}

void
agent_defs_prune(struct agent_defs *d, const struct reg_service *svcs,
    size_t n)
{
	size_t i, j, kept = 0;

	pthread_mutex_lock(&d->mu);
	for (i = 0; i < d->n; i++) {
		for (j = 0; j < n && strcmp(svcs[j].name, d->e[i].name) != 0; j++)
			;
		if (j == n)
			entry_clear(&d->e[i]);
		else
			d->e[kept++] = d->e[i];
	}
	d->n = kept;
	pthread_mutex_unlock(&d->mu);
}

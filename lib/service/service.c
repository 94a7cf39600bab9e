/*
 * service/service.c: load a service definition (SPEC §2) from the TOML tree
 * into struct svc_def, refusing anything the agent should not act on.
 *
 * Before anything is loaded, svc_check_tree() (limits.c) refuses a tree
 * over the SVC_MAX_* limits or with a NUL byte in any key or string.  Then
 * the walk is table by table: first the set of allowed keys (an unknown key
 * is an error naming file, line and key), then each field with its type,
 * default and value check (the string checks live in check.c), then the
 * rules that span fields (unikernel needs memory, containers refuse
 * network = "user", snapshot methods a VM cannot serve).  Every error is
 * "FILE:LINE:COL: KEY in SECTION: what is wrong", positioned on the value
 * (or the key, or the table header when a key is missing), code
 * MCP_E_INVALID.  Strings are copied out of the tree, so the tree is freed
 * before svc_parse returns.  Duplicate checks (component and route names,
 * guest paths, env keys) sort instead of comparing every pair, so no step
 * is quadratic in the size of a definition.
 */
#include "service/service.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/check.h"
#include "toml/toml.h"
#include "util/buf.h"
#include "util/file.h"


#define SECT_TOP	""
#define SECT_COMP	"[[components]]"
#define SECT_ROUTE	"[[components.routes]]"
#define SECT_SNAP	"[snapshot]"

static const char *const top_keys[] = {
	"name", "node", "tier", "active", "runtime", "components", "snapshot",
	NULL
};
static const char *const comp_keys[] = {
	"name", "image", "runtime", "memory_mb", "vcpus", "network", "volumes",
	"cmd", "env", "user", "restart", "routes", NULL
};
static const char *const route_keys[] = {
	"name", "port", "mode", "hostname", "public", NULL
};
static const char *const snap_keys[] = { "method", "exclude", NULL };

static const char *const tiers[] = { "worker", "core", NULL };
static const char *const runtimes[] = { "container", "unikernel", NULL };
static const char *const networks[] = { "", "user", NULL };
static const char *const restarts[] = {
	"no", "on-failure", "always", "unless-stopped", NULL
};
static const char *const modes[] = { "l4", "l7", NULL };

/* One load: where errors go and what file they name. */
struct loader {
	const char *file;
	struct mcp_err *err;
};

/*
 * A value quoted for an error message: control and non-ASCII bytes as
 * \xNN, long values cut, so a hostile definition cannot forge log lines.
 */
struct quoted {
	char s[96];
};

static const char *
quote(struct quoted *q, const char *v)
{
	size_t o = 0;
	const unsigned char *p;

	q->s[o++] = '"';
	for (p = (const unsigned char *)v; *p; p++) {
		if (o + 8 >= sizeof(q->s)) {
			memcpy(q->s + o, "...", 3);
			o += 3;
			break;
		}
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			o += (size_t)snprintf(q->s + o, sizeof(q->s) - o,
			    "\\x%02x", *p);
		else
			q->s[o++] = (char)*p;
	}
	q->s[o++] = '"';
	q->s[o] = '\0';
	return q->s;
}

/* "FILE:LINE:COL: msg" */
static int __attribute__((format(printf, 4, 5)))
fail_at(struct loader *ld, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	svc_verr_at(ld->err, ld->file, line, col, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

/* "FILE:LINE:COL: KEY in SECTION: msg", positioned on v. */
static int __attribute__((format(printf, 5, 6)))
bad(struct loader *ld, const struct toml_value *v, const char *sect,
    const char *key, const char *fmt, ...)
{
	char msg[MCP_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fail_at(ld, v ? v->line : 1, v ? v->col : 1, "%s%s%s: %s", key,
	    *sect ? " in " : "", sect, msg);
}

static int
missing(struct loader *ld, const struct toml_value *tab, const char *sect,
    const char *key)
{
	return fail_at(ld, tab->line, tab->col, "%s%smissing required key \"%s\"",
	    sect, *sect ? ": " : "", key);
}

static int
in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

static int
check_keys(struct loader *ld, const struct toml_value *tab, const char *sect,
    const char *const *allowed)
{
	size_t i;

	for (i = 0; i < tab->u.tab.n; i++) {
		const struct toml_kv *kv = &tab->u.tab.kv[i];

		if (!in_list(kv->key, allowed)) {
			struct quoted q;

			return fail_at(ld, kv->line, kv->col,
			    "unknown key %s %s%s", quote(&q, kv->key),
			    *sect ? "in " : "", *sect ? sect : "at top level");
		}
	}
	return 0;
}

static int
type_error(struct loader *ld, const struct toml_value *v, const char *sect,
    const char *key, const char *want)
{
	return bad(ld, v, sect, key, "expected %s, got %s", want,
	    toml_type_name(v->type));
}

/*
 * A string value without NUL bytes (they would silently cut the value;
 * svc_check_tree refused them already, this keeps each read safe alone).
 */
static int
check_string(struct loader *ld, const struct toml_value *v, const char *sect,
    const char *key)
{
	if (v->type != TOML_STRING)
		return type_error(ld, v, sect, key, "a string");
	if (toml_get_string(v) == NULL)
		return bad(ld, v, sect, key, "contains a NUL byte");
	return 0;
}

/* Optional string: *out = copy of the value, or of dflt when absent. */
static int
get_str(struct loader *ld, const struct toml_value *tab, const char *sect,
    const char *key, const char *dflt, char **out)
{
	const struct toml_value *v = toml_get(tab, key);

	if (v == NULL) {
		*out = xstrdup(dflt);
		return 0;
	}
	if (check_string(ld, v, sect, key) == -1)
		return -1;
	*out = xstrdup(v->u.s.ptr);
	return 0;
}

static int
get_enum(struct loader *ld, const struct toml_value *tab, const char *sect,
    const char *key, const char *dflt, const char *const *allowed, char **out)
{
	char list[256] = "";
	size_t i;

	if (get_str(ld, tab, sect, key, dflt, out) == -1)
		return -1;
	if (in_list(*out, allowed))
		return 0;
	for (i = 0; allowed[i]; i++) {
		size_t n = strlen(list);

		snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
		    i == 0 ? "" : allowed[i + 1] ? ", " : " or ", allowed[i]);
	}
	struct quoted q;
	return bad(ld, toml_get(tab, key), sect, key, "%s is not one of %s",
	    quote(&q, *out), list);
}

static int
get_int(struct loader *ld, const struct toml_value *tab, const char *sect,
    const char *key, int dflt, int min, int max, int *out)
{
	const struct toml_value *v = toml_get(tab, key);

	if (v == NULL) {
		*out = dflt;
		return 0;
	}
	if (v->type != TOML_INTEGER)
		return type_error(ld, v, sect, key, "an integer");
	if (v->u.i < min || v->u.i > max)
		return bad(ld, v, sect, key, "%" PRId64 " is out of range %d..%d",
		    v->u.i, min, max);
	*out = (int)v->u.i;
	return 0;
}

static int
get_bool(struct loader *ld, const struct toml_value *tab, const char *sect,
    const char *key, int dflt, int *out)
{
	const struct toml_value *v = toml_get(tab, key);

	if (v == NULL) {
		*out = dflt;
		return 0;
	}
	if (v->type != TOML_BOOL)
		return type_error(ld, v, sect, key, "a boolean");
	*out = v->u.b != 0;
	return 0;
}

/* Optional array of strings: NULL-terminated copy in *out, count in *n. */
static int
get_str_array(struct loader *ld, const struct toml_value *tab,
    const char *sect, const char *key, char ***out, size_t *n)
{
	const struct toml_value *v = toml_get(tab, key);
	size_t i;

	*n = 0;
	if (v == NULL) {
		*out = xcalloc(1, sizeof(char *));
		return 0;
	}
	if (v->type != TOML_ARRAY)
		return type_error(ld, v, sect, key, "an array of strings");
	*out = xcalloc(v->u.arr.n + 1, sizeof(char *));
	for (i = 0; i < v->u.arr.n; i++) {
		const struct toml_value *e = v->u.arr.items[i];

		if (e->type != TOML_STRING)
			return bad(ld, e, sect, key,
			    "expected an array of strings, element %zu is %s",
			    i + 1, toml_type_name(e->type));
		if (check_string(ld, e, sect, key) == -1)
			return -1;
		(*out)[i] = xstrdup(e->u.s.ptr);
		(*n)++;
	}
	return 0;
}

/* The i-th element of array key in tab (for error positions). */
static const struct toml_value *
elem(const struct toml_value *tab, const char *key, size_t i)
{
	const struct toml_value *v = toml_get(tab, key);

	if (v == NULL || v->type != TOML_ARRAY || i >= v->u.arr.n)
		return v;
	return v->u.arr.items[i];
}

/* An array of tables ([[key]] or key = [{...}]); NULL when absent. */
static int
get_table_array(struct loader *ld, const struct toml_value *tab,
    const char *sect, const char *key, const char *want,
    const struct toml_value **out)
{
	const struct toml_value *v = toml_get(tab, key);
	size_t i;

	*out = v;
	if (v == NULL)
		return 0;
	if (v->type != TOML_ARRAY)
		return type_error(ld, v, sect, key, want);
	for (i = 0; i < v->u.arr.n; i++)
		if (v->u.arr.items[i]->type != TOML_TABLE)
			return type_error(ld, v->u.arr.items[i], sect, key, want);
	return 0;
}

/* "host:guest[:opts]" into vol. */
static int
load_volume(struct loader *ld, const struct toml_value *v, const char *spec,
    struct svc_volume *vol)
{
	const char *c1 = strchr(spec, ':'), *c2, *why;
	struct quoted q;

	if (c1 == NULL)
		return bad(ld, v, SECT_COMP, "volumes",
		    "%s must be host:guest[:opts]", quote(&q, spec));
	c2 = strchr(c1 + 1, ':');
	vol->host = strndup(spec, (size_t)(c1 - spec));
	vol->guest = c2 ? strndup(c1 + 1, (size_t)(c2 - c1 - 1)) :
	    xstrdup(c1 + 1);
	vol->opts = xstrdup(c2 ? c2 + 1 : "");
	if (vol->host == NULL || vol->guest == NULL)
		return mcp_err_errno(ld->err, ENOMEM, "%s: volume", ld->file);
	if ((why = svc_check_abs_path(vol->host)) != NULL)
		return bad(ld, v, SECT_COMP, "volumes", "%s: host path %s",
		    quote(&q, spec), why);
	if ((why = svc_check_abs_path(vol->guest)) != NULL)
		return bad(ld, v, SECT_COMP, "volumes", "%s: guest path %s",
		    quote(&q, spec), why);
	if ((why = svc_check_volume_opts(vol->opts)) != NULL)
		return bad(ld, v, SECT_COMP, "volumes", "%s: options %s",
		    quote(&q, spec), why);
	return 0;
}

static int
load_volumes(struct loader *ld, const struct toml_value *t,
    struct svc_component *c)
{
	struct svc_dup_key *keys = NULL;
	char **specs = NULL;
	size_t n = 0, i, first, dup;
	struct quoted q;
	int rc = -1;

	if (get_str_array(ld, t, SECT_COMP, "volumes", &specs, &n) == -1)
		goto out;
	c->volumes = xcalloc(n + 1, sizeof(*c->volumes));
	keys = xcalloc(n + 1, sizeof(*keys));
	for (i = 0; i < n; i++) {
		c->nvolumes++;
		if (load_volume(ld, elem(t, "volumes", i), specs[i],
		    &c->volumes[i]) == -1)
			goto out;
		keys[i] = (struct svc_dup_key){ c->volumes[i].guest,
		    strlen(c->volumes[i].guest), i };
	}
	if (svc_find_duplicate(keys, n, &first, &dup)) {
		bad(ld, elem(t, "volumes", dup), SECT_COMP, "volumes",
		    "guest path %s is mounted twice",
		    quote(&q, c->volumes[dup].guest));
		goto out;
	}
	rc = 0;
out:
	for (i = 0; specs && specs[i]; i++)
		free(specs[i]);
	free(specs);
	free(keys);
	return rc;
}

static int
load_route(struct loader *ld, const struct toml_value *t, struct svc_route *r)
{
	const char *why;
	struct quoted q;

	if (check_keys(ld, t, SECT_ROUTE, route_keys) == -1)
		return -1;
	if (get_str(ld, t, SECT_ROUTE, "name", "", &r->name) == -1)
		return -1;
	if ((why = svc_check_route_name(r->name)) != NULL)
		return bad(ld, toml_get(t, "name"), SECT_ROUTE, "name",
		    "%s %s", quote(&q, r->name), why);
	if (toml_get(t, "port") == NULL)
		return missing(ld, t, SECT_ROUTE, "port");
	if (get_int(ld, t, SECT_ROUTE, "port", 0, 1, 65535, &r->port) == -1)
		return -1;
	if (get_enum(ld, t, SECT_ROUTE, "mode", "l4", modes, &r->mode) == -1)
		return -1;
	if (get_str(ld, t, SECT_ROUTE, "hostname", "", &r->hostname) == -1)
		return -1;
	if (r->hostname[0] && (why = svc_check_hostname(r->hostname)) != NULL)
		return bad(ld, toml_get(t, "hostname"), SECT_ROUTE, "hostname",
		    "%s %s", quote(&q, r->hostname), why);
	return get_bool(ld, t, SECT_ROUTE, "public", 0, &r->public);
}

static int
load_routes(struct loader *ld, const struct toml_value *t,
    struct svc_component *c)
{
	const struct toml_value *arr, *rt;
	struct svc_dup_key *keys;
	size_t i, first, dup;
	int rc = -1;

	if (get_table_array(ld, t, SECT_COMP, "routes",
	    "an array of tables ([[components.routes]])", &arr) == -1)
		return -1;
	if (arr == NULL)
		return 0;
	c->routes = xcalloc(arr->u.arr.n + 1, sizeof(*c->routes));
	keys = xcalloc(arr->u.arr.n + 1, sizeof(*keys));
	for (i = 0; i < arr->u.arr.n; i++) {
		struct svc_route *r = &c->routes[i];

		c->nroutes++;
		if (load_route(ld, arr->u.arr.items[i], r) == -1)
			goto out;
		keys[i] = (struct svc_dup_key){ r->name, strlen(r->name), i };
	}
	if (svc_find_duplicate(keys, c->nroutes, &first, &dup)) {
		rt = arr->u.arr.items[dup];
		if (c->routes[dup].name[0] == '\0')
			fail_at(ld, rt->line, rt->col, "%s: component \"%s\" "
			    "has more than one unnamed route (name them: each "
			    "gets $PORT_<NAME>)", SECT_ROUTE, c->name);
		else
			bad(ld, toml_get(rt, "name"), SECT_ROUTE, "name",
			    "duplicate route \"%s\" in component \"%s\"",
			    c->routes[dup].name, c->name);
		goto out;
	}
	rc = 0;
out:
	free(keys);
	return rc;
}

/*
 * env entries must not set what the agent sets from the routes, nor one
 * variable twice: the port variables (items 0..nroutes-1) and the env keys
 * (items nroutes..) go through one duplicate search, routes first, so an
 * env key equal to a port variable is found as the later item.
 */
static int
check_env_vs_routes(struct loader *ld, const struct toml_value *t,
    const struct svc_component *c)
{
	size_t n = c->nroutes + c->nenv, i, first, dup, k;
	struct svc_dup_key *keys = xcalloc(n + 1, sizeof(*keys));
	char (*port_env)[64] = xcalloc(c->nroutes + 1, sizeof(*port_env));
	int rc = 0;

	for (i = 0; i < c->nroutes; i++) {
		svc_port_env_name(port_env[i], sizeof(port_env[i]), c,
		    &c->routes[i]);
		keys[i] = (struct svc_dup_key){ port_env[i],
		    strlen(port_env[i]), i };
	}
	for (i = 0; i < c->nenv; i++)
		keys[c->nroutes + i] = (struct svc_dup_key){ c->env[i],
		    strcspn(c->env[i], "="), c->nroutes + i };
	/* Route names are unique, so their variables are: dup is an env. */
	if (svc_find_duplicate(keys, n, &first, &dup) && dup >= c->nroutes) {
		k = dup - c->nroutes;
		if (first < c->nroutes)
			rc = bad(ld, elem(t, "env", k), SECT_COMP, "env",
			    "%s is set by the agent from the component's "
			    "route", port_env[first]);
		else
			rc = bad(ld, elem(t, "env", k), SECT_COMP, "env",
			    "%.*s is set twice", (int)strcspn(c->env[k], "="),
			    c->env[k]);
	}
	free(port_env);
	free(keys);
	return rc;
}

static int
load_component(struct loader *ld, const struct toml_value *t,
    const char *svc_runtime, struct svc_component *c)
{
	const char *why;
	struct quoted q;
	size_t i;

	if (check_keys(ld, t, SECT_COMP, comp_keys) == -1)
		return -1;

	if (toml_get(t, "name") == NULL)
		return missing(ld, t, SECT_COMP, "name");
	if (get_str(ld, t, SECT_COMP, "name", "", &c->name) == -1)
		return -1;
	if (!svc_name_valid(c->name))
		return bad(ld, toml_get(t, "name"), SECT_COMP, "name",
		    "%s must match [a-z0-9][a-z0-9-]{0,62}", quote(&q, c->name));

	if (toml_get(t, "image") == NULL)
		return missing(ld, t, SECT_COMP, "image");
	if (get_str(ld, t, SECT_COMP, "image", "", &c->image) == -1)
		return -1;
	if ((why = svc_check_image(c->image)) != NULL)
		return bad(ld, toml_get(t, "image"), SECT_COMP, "image",
		    "%s %s", quote(&q, c->image), why);

	if (get_enum(ld, t, SECT_COMP, "runtime", svc_runtime, runtimes,
	    &c->runtime) == -1)
		return -1;
	if (get_int(ld, t, SECT_COMP, "memory_mb", 0, 0, SVC_MEMORY_MB_MAX,
	    &c->memory_mb) == -1)
		return -1;
	if (get_int(ld, t, SECT_COMP, "vcpus", 1, 1, SVC_VCPUS_MAX,
	    &c->vcpus) == -1)
		return -1;
	if (get_enum(ld, t, SECT_COMP, "network", "", networks,
	    &c->network) == -1)
		return -1;
	if (load_volumes(ld, t, c) == -1)
		return -1;
	if (get_str_array(ld, t, SECT_COMP, "cmd", &c->cmd, &c->ncmd) == -1)
		return -1;
	if (get_str_array(ld, t, SECT_COMP, "env", &c->env, &c->nenv) == -1)
		return -1;
	for (i = 0; i < c->nenv; i++)
		if ((why = svc_check_env(c->env[i])) != NULL)
			return bad(ld, elem(t, "env", i), SECT_COMP, "env",
			    "%s %s", quote(&q, c->env[i]), why);
	if (get_str(ld, t, SECT_COMP, "user", "", &c->user) == -1)
		return -1;
	if (c->user[0] && (why = svc_check_user(c->user)) != NULL)
		return bad(ld, toml_get(t, "user"), SECT_COMP, "user",
		    "%s %s", quote(&q, c->user), why);
	if (get_enum(ld, t, SECT_COMP, "restart", "unless-stopped", restarts,
	    &c->restart) == -1)
		return -1;
	if (load_routes(ld, t, c) == -1)
		return -1;
	if (check_env_vs_routes(ld, t, c) == -1)
		return -1;

	/* Rules that depend on the runtime. */
	if (strcmp(c->runtime, "unikernel") == 0) {
		if (c->memory_mb <= 0)
			return bad(ld, toml_get(t, "memory_mb") ?
			    toml_get(t, "memory_mb") : t, SECT_COMP,
			    "memory_mb", "component \"%s\" runs as a "
			    "unikernel and needs memory_mb > 0", c->name);
		if (c->user[0])
			return bad(ld, toml_get(t, "user"), SECT_COMP, "user",
			    "component \"%s\" runs as a unikernel; user is "
			    "for containers only", c->name);
	} else if (c->network[0]) {
		return bad(ld, toml_get(t, "network"), SECT_COMP, "network",
		    "component \"%s\" runs as a container; network is for "
		    "unikernels only", c->name);
	}
	return 0;
}

static int
load_components(struct loader *ld, const struct toml_value *root,
    struct svc_def *def)
{
	const struct toml_value *arr;
	struct svc_dup_key *keys;
	size_t i, first, dup;
	int rc = -1;

	if (get_table_array(ld, root, SECT_TOP, "components",
	    "an array of tables ([[components]])", &arr) == -1)
		return -1;
	if (arr == NULL)
		return fail_at(ld, root->line, root->col, "missing required "
		    "key \"components\" (at least one [[components]])");
	if (arr->u.arr.n == 0)
		return bad(ld, arr, SECT_TOP, "components",
		    "at least one component is required");
	def->components = xcalloc(arr->u.arr.n, sizeof(*def->components));
	keys = xcalloc(arr->u.arr.n, sizeof(*keys));
	for (i = 0; i < arr->u.arr.n; i++) {
		struct svc_component *c = &def->components[i];

		def->ncomponents++;
		if (load_component(ld, arr->u.arr.items[i], def->runtime,
		    c) == -1)
			goto out;
		keys[i] = (struct svc_dup_key){ c->name, strlen(c->name), i };
	}
	if (svc_find_duplicate(keys, def->ncomponents, &first, &dup)) {
		bad(ld, toml_get(arr->u.arr.items[dup], "name"), SECT_COMP,
		    "name", "duplicate component \"%s\"",
		    def->components[dup].name);
		goto out;
	}
	rc = 0;
out:
	free(keys);
	return rc;
}

static int
load_snapshot(struct loader *ld, const struct toml_value *root,
    struct svc_def *def)
{
	const struct toml_value *t = toml_get(root, "snapshot");
	const char *why;
	struct quoted q;
	size_t i;

	if (t == NULL) {
		def->snapshot_method = xstrdup("");
		def->snapshot_exclude = xcalloc(1, sizeof(char *));
		return 0;
	}
	if (t->type != TOML_TABLE)
		return type_error(ld, t, SECT_TOP, "snapshot", "a table ([snapshot])");
	if (check_keys(ld, t, SECT_SNAP, snap_keys) == -1)
		return -1;
	if (get_str(ld, t, SECT_SNAP, "method", "", &def->snapshot_method) == -1)
		return -1;
	if ((why = svc_check_snapshot_method(def->snapshot_method)) != NULL)
		return bad(ld, toml_get(t, "method"), SECT_SNAP, "method",
		    "%s %s", quote(&q, def->snapshot_method), why);
	if (get_str_array(ld, t, SECT_SNAP, "exclude", &def->snapshot_exclude,
	    &def->nexclude) == -1)
		return -1;
	for (i = 0; i < def->nexclude; i++)
		if ((why = svc_check_rel_path(def->snapshot_exclude[i])) != NULL)
			return bad(ld, elem(t, "exclude", i), SECT_SNAP,
			    "exclude", "%s %s",
			    quote(&q, def->snapshot_exclude[i]), why);

	/* A VM has no shell to exec into and no podman to run a CLI in. */
	if (strcmp(def->snapshot_method, "cli") == 0 ||
	    strncmp(def->snapshot_method, "exec:", 5) == 0) {
		for (i = 0; i < def->ncomponents; i++)
			if (strcmp(def->components[i].runtime, "unikernel") == 0)
				return bad(ld, toml_get(t, "method"), SECT_SNAP,
				    "method", "%s is not available: component "
				    "\"%s\" runs as a unikernel (use \"grpc\" "
				    "or \"full\")", quote(&q, def->snapshot_method),
				    def->components[i].name);
	}
	return 0;
}

static int
load_def(struct loader *ld, const struct toml_value *root, struct svc_def *def)
{
	struct quoted q;

	if (check_keys(ld, root, SECT_TOP, top_keys) == -1)
		return -1;
	if (toml_get(root, "name") == NULL)
		return missing(ld, root, SECT_TOP, "name");
	if (get_str(ld, root, SECT_TOP, "name", "", &def->name) == -1)
		return -1;
	if (!svc_name_valid(def->name))
		return bad(ld, toml_get(root, "name"), SECT_TOP, "name",
		    "%s must match [a-z0-9][a-z0-9-]{0,62}", quote(&q, def->name));
	if (get_str(ld, root, SECT_TOP, "node", "", &def->node) == -1)
		return -1;
	if (def->node[0] && !svc_name_valid(def->node))
		return bad(ld, toml_get(root, "node"), SECT_TOP, "node",
		    "%s must match [a-z0-9][a-z0-9-]{0,62}", quote(&q, def->node));
	if (get_enum(ld, root, SECT_TOP, "tier", "worker", tiers, &def->tier) == -1)
		return -1;
	if (get_bool(ld, root, SECT_TOP, "active", 1, &def->active) == -1)
		return -1;
	if (get_enum(ld, root, SECT_TOP, "runtime", "container", runtimes,
	    &def->runtime) == -1)
		return -1;
	if (load_components(ld, root, def) == -1)
		return -1;
	return load_snapshot(ld, root, def);
}

int
svc_parse(const char *text, size_t len, const char *filename,
    struct svc_def **out, struct mcp_err *err)
{
	struct loader ld = { filename ? filename : "<input>", err };
	struct toml_value *root;
	struct svc_def *def;

	*out = NULL;
	if (len > SVC_MAX_DEFINITION_BYTES)
		return mcp_err_set(err, MCP_E_INVALID, "%s: definition of %zu bytes "
		    "is larger than the limit of %u bytes (SVC_MAX_DEFINITION_BYTES)",
		    ld.file, len, SVC_MAX_DEFINITION_BYTES);
	root = toml_parse(text, len, ld.file, err);
	if (root == NULL) {
		if (err && err->code == 0)
			err->code = MCP_E_INVALID;
		return -1;
	}
	if (svc_check_tree(root, ld.file, err) == -1) {
		toml_free(root);
		return -1;
	}
	def = xcalloc(1, sizeof(*def));
	if (load_def(&ld, root, def) == -1) {
		toml_free(root);
		svc_free(def);
		return -1;
	}
	toml_free(root);
	*out = def;
	return 0;
}

int
svc_load_file(const char *path, struct svc_def **out, struct mcp_err *err)
{
	struct buf b = BUF_INIT;
	int rc;

	*out = NULL;
	if (file_read(path, &b, SVC_MAX_DEFINITION_BYTES, err) == -1) {
		buf_free(&b);
		return mcp_err_prefix(err, "service definition");
	}
	rc = svc_parse(b.data, b.len, path, out, err);
	buf_free(&b);
	return rc;
}

static void
free_strv(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void
free_component(struct svc_component *c)
{
	size_t i;

	free(c->name);
	free(c->image);
	free(c->runtime);
	free(c->network);
	for (i = 0; i < c->nvolumes; i++) {
		free(c->volumes[i].host);
		free(c->volumes[i].guest);
		free(c->volumes[i].opts);
	}
	free(c->volumes);
	free_strv(c->cmd);
	free_strv(c->env);
	free(c->user);
	free(c->restart);
	for (i = 0; i < c->nroutes; i++) {
		free(c->routes[i].name);
		free(c->routes[i].mode);
		free(c->routes[i].hostname);
	}
	free(c->routes);
}

void
svc_free(struct svc_def *def)
{
	size_t i;

	if (def == NULL)
		return;
	free(def->name);
	free(def->node);
	free(def->tier);
	free(def->runtime);
	for (i = 0; i < def->ncomponents; i++)
		free_component(&def->components[i]);
	free(def->components);
	free(def->snapshot_method);
	free_strv(def->snapshot_exclude);
	free(def);
}

/*
 * mcp-init/config.c: parser for /mcp/config (format in config.h).  Pure
 * libc, no I/O, so the host unit tests exercise exactly what the guest runs.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cfg_fail(char *errbuf, size_t errsz, size_t line, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(errbuf, errsz, "line %zu: ", line);
	if (n < 0 || (size_t)n >= errsz)
		return -1;
	va_start(ap, fmt);
	vsnprintf(errbuf + n, errsz - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Append s (owned) to a NULL-terminated vector; -1 on ENOMEM. */
static int
vec_push(char ***vec, size_t *n, char *s)
{
	char **nv = realloc(*vec, (*n + 2) * sizeof(char *));

	if (nv == NULL)
		return -1;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*vec = nv;
	return 0;
}

static void
vec_free(char **vec)
{
	for (size_t i = 0; vec && vec[i]; i++)
		free(vec[i]);
	free(vec);
}

/* Decode the escapes of a value; NULL with *bad set on a bad escape. */
static char *
unescape(const char *p, size_t n, int *bad)
{
	char *out = malloc(n + 1), *q = out;

	*bad = 0;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\\') {
			*q++ = p[i];
			continue;
		}
		if (i + 1 < n && p[i + 1] == '\\')
			*q++ = '\\';
		else if (i + 1 < n && p[i + 1] == 'n')
			*q++ = '\n';
		else {
			*bad = 1;
			free(out);
			return NULL;
		}
		i++;
	}
	*q = '\0';
	return out;
}

static int
ipv4_valid(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

void
initcfg_free(struct initcfg *cfg)
{
	vec_free(cfg->argv);
	vec_free(cfg->env);
	vec_free(cfg->modules);
	free(cfg->ifname);
	free(cfg->ip);
	free(cfg->netmask);
	free(cfg->gateway);
	free(cfg->hostname);
	free(cfg->workdir);
	memset(cfg, 0, sizeof(*cfg));
}

/* Handle one "key=value" line; val is owned and consumed in every case. */
static int
cfg_set(struct initcfg *cfg, const char *key, size_t klen, char *val,
    size_t line, char *errbuf, size_t errsz)
{
	static const struct {
		const char *key;
		size_t off;
		int ipv4;
	} single[] = {
		{ "ifname", offsetof(struct initcfg, ifname), 0 },
		{ "ip", offsetof(struct initcfg, ip), 1 },
		{ "netmask", offsetof(struct initcfg, netmask), 1 },
		{ "gateway", offsetof(struct initcfg, gateway), 1 },
		{ "hostname", offsetof(struct initcfg, hostname), 0 },
		{ "workdir", offsetof(struct initcfg, workdir), 0 },
	};
	char ***vec = NULL;
	size_t *cnt = NULL;

#define KEY_IS(k) (klen == strlen(k) && memcmp(key, k, klen) == 0)
	if (KEY_IS("version")) {
		int ok = strcmp(val, "1") == 0;

		free(val);
		return ok ? 0 : cfg_fail(errbuf, errsz, line, "unsupported version");
	}
	if (KEY_IS("arg")) {
		if (cfg->argc == 0 && val[0] != '/') {
			free(val);
			return cfg_fail(errbuf, errsz, line,
			    "arg 0 must be an absolute path");
		}
		vec = &cfg->argv, cnt = &cfg->argc;
	} else if (KEY_IS("env")) {
		if (val[0] == '=' || strchr(val, '=') == NULL) {
			free(val);
			return cfg_fail(errbuf, errsz, line, "env wants KEY=VALUE");
		}
		vec = &cfg->env, cnt = &cfg->nenv;
	} else if (KEY_IS("module")) {
		if (val[0] == '\0') {
			free(val);
			return cfg_fail(errbuf, errsz, line, "empty module path");
		}
		vec = &cfg->modules, cnt = &cfg->nmodules;
	}
	if (vec) {
		if (vec_push(vec, cnt, val) == -1) {
			free(val);
			return cfg_fail(errbuf, errsz, line, "out of memory");
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		char **slot;

		if (!KEY_IS(single[i].key))
			continue;
		slot = (char **)((char *)cfg + single[i].off);
		if (*slot) {
			free(val);
			return cfg_fail(errbuf, errsz, line, "%s given twice",
			    single[i].key);
		}
		if (val[0] == '\0' || (single[i].ipv4 && !ipv4_valid(val))) {
			free(val);
			return cfg_fail(errbuf, errsz, line, "bad %s value",
			    single[i].key);
		}
		*slot = val;
		return 0;
	}
#undef KEY_IS
	free(val);
	return cfg_fail(errbuf, errsz, line, "unknown key \"%.*s\"", (int)klen, key);
}

int
initcfg_parse(const char *text, size_t len, struct initcfg *cfg,
    char *errbuf, size_t errsz)
{
	size_t pos = 0, line = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (errsz)
		errbuf[0] = '\0';
	while (pos < len) {
		const char *p = text + pos, *nl, *eq;
		size_t n;
		char *val;
		int bad;

		nl = memchr(p, '\n', len - pos);
		n = nl ? (size_t)(nl - p) : len - pos;
		pos += n + (nl ? 1 : 0);
		line++;
		if (n == 0 || p[0] == '#')
			continue;
		if (memchr(p, '\0', n)) {
			cfg_fail(errbuf, errsz, line, "NUL byte");
			goto fail;
		}
		eq = memchr(p, '=', n);
		if (eq == NULL || eq == p) {
			cfg_fail(errbuf, errsz, line, "expected key=value");
			goto fail;
		}
		val = unescape(eq + 1, n - (size_t)(eq + 1 - p), &bad);
		if (val == NULL) {
			cfg_fail(errbuf, errsz, line, bad ? "bad escape" : "out of memory");
			goto fail;
		}
		if (cfg_set(cfg, p, (size_t)(eq - p), val, line, errbuf, errsz) == -1)
			goto fail;
	}
	if (cfg->argc == 0) {
		snprintf(errbuf, errsz, "no arg lines (nothing to run)");
		goto fail;
	}
	if ((cfg->ip == NULL) != (cfg->netmask == NULL)) {
		snprintf(errbuf, errsz, "ip and netmask go together");
		goto fail;
	}
	if (cfg->gateway && cfg->ip == NULL) {
		snprintf(errbuf, errsz, "gateway without ip");
		goto fail;
	}
	if (cfg->ifname && strlen(cfg->ifname) > 15) {
		snprintf(errbuf, errsz, "ifname longer than 15 bytes");
		goto fail;
	}
	if (cfg->ifname == NULL && (cfg->ifname = strdup("eth0")) == NULL) {
		snprintf(errbuf, errsz, "out of memory");
		goto fail;
	}
	return 0;
fail:
	initcfg_free(cfg);
	return -1;
}

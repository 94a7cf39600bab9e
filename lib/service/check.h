/*
 * service/check.h: the string checks behind service definitions (SPEC §2).
 *
 * Each svc_check_* looks at one value that will end up in a path, an argv
 * element, an environment or a DNS record, and returns NULL when it is
 * acceptable or a short static reason ("has no explicit tag") when it is
 * not.  service.c turns the reason into a FILE:LINE:COL error; other modules
 * (master, CLI) may call the same checks on values they receive.
 */
#ifndef MCP_SERVICE_CHECK_H
#define MCP_SERVICE_CHECK_H

#include <stdarg.h>
#include <stddef.h>

#include "util/err.h"

#define SVC_IMAGE_MAX 255
#define SVC_ROUTE_NAME_MAX 32
#define SVC_HOSTNAME_MAX 253
#define SVC_MEMORY_MB_MAX (1024 * 1024)	/* 1 TiB: anything above is a typo */
#define SVC_VCPUS_MAX 64

/* OCI image reference with an explicit tag that is not "latest". */
const char *svc_check_image(const char *image);
/* Route name: "" or [a-z0-9][a-z0-9-]{0,31}. */
const char *svc_check_route_name(const char *name);
/* DNS name: lowercase labels [a-z0-9-]{1,63}, no '-' at label ends, <= 253. */
const char *svc_check_hostname(const char *name);
/* A DNS subtree (certificate name constraint, allowed domain): a hostname as
 * above, or one with a leading '.' (".example.net": strictly below it). */
const char *svc_check_domain(const char *domain);
/*
 * 1 if hostname lies in the DNS subtree domain, 0 if not, with the
 * semantics OpenSSL gives a permitted dNSName name constraint, so a name
 * this accepts is one a verifier accepts too: "example.net" covers
 * example.net itself and every name ending in ".example.net" (label
 * boundary: "evilexample.net" is not under it), ".example.net" only the
 * names strictly below it.  ASCII case-insensitive.  An empty hostname or
 * domain matches nothing (OpenSSL would let "" match everything: we never
 * do).  The one matching function for certificates, edge allowed_domains
 * and the master.
 */
int svc_domain_under(const char *hostname, const char *domain);
/* Absolute path, no empty, "." or ".." component, no ':' ',' or control chars. */
const char *svc_check_abs_path(const char *path);
/* Relative path (snapshot exclude): no leading '/', no ".." component. */
const char *svc_check_rel_path(const char *path);
/* Volume options: "" or a comma-separated set of ro|rw, z|Z. */
const char *svc_check_volume_opts(const char *opts);
/* "KEY=VALUE", KEY [A-Za-z_][A-Za-z0-9_]*, no newline in VALUE. */
const char *svc_check_env(const char *kv);
/* "uid[:gid]" where each part is a number or a name [a-z_][a-z0-9_-]*. */
const char *svc_check_user(const char *user);
/* Snapshot method: "" | "grpc" | "cli" | "full" | "exec: <cmd>". */
const char *svc_check_snapshot_method(const char *method);

struct toml_value;

/*
 * The one form of a definition error: "FILE:LINE:COL: [WHAT: ]message"
 * into err, code MCP_E_INVALID (lines and columns below 1 read as 1);
 * what may be NULL.  Returns -1.
 */
int svc_verr_at(struct mcp_err *err, const char *file, int line, int col,
    const char *what, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

/*
 * limits.c: the checks on a parsed definition's whole tree that come
 * before it is loaded: the counts of service.h's SVC_MAX_* (components,
 * routes, env, volumes, cmd, exclude) and, for every key and string
 * anywhere in it, no NUL byte (TOML allows \u0000; a C string would cut the
 * value there) and at most SVC_MAX_STRING bytes.  Linear in the size of the
 * tree.  0, or -1 with "FILE:LINE:COL: PATH: what" (PATH as
 * components[0].image), code MCP_E_INVALID.
 */
int svc_check_tree(const struct toml_value *root, const char *file,
    struct mcp_err *err);

/* One of several strings checked for duplicates: s[0..len), item idx. */
struct svc_dup_key {
	const char *s;
	size_t len;
	size_t idx;
};

/*
 * The duplicate that comes first in item order among keys[0..n): 1 with
 * *later the smallest idx whose key equals that of an earlier item, and
 * *earlier the first such item; 0 if all keys differ.  Sorts keys (so
 * O(n log n), never a comparison of every pair).
 */
int svc_find_duplicate(struct svc_dup_key *keys, size_t n, size_t *earlier,
    size_t *later);

#endif

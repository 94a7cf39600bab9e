/*
 * service/check.c: the string checks behind service definitions (see
 * check.h).  Every check is pure: it looks at one C string and returns NULL
 * (fine) or a static reason.  Values that pass are safe to use as a podman
 * argv element, a path below a state directory, an environment entry or a
 * DNS name.
 */
#include "service/check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/service.h"

static int
is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_alnum(int c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_ctl(int c)
{
	return (unsigned char)c < 0x20 || c == 0x7f;
}

/* The repository part of an image ref: [host[:port]/]path, path segments non-empty. */
static const char *
check_image_repo(const char *s, size_t len)
{
	const char *slash = memchr(s, '/', len);
	size_t i, first = slash ? (size_t)(slash - s) : len;

	if (len == 0)
		return "has no repository before the tag";
	if (s[0] == '/' || s[len - 1] == '/')
		return "has an empty path component";
	for (i = 0; i + 1 < len; i++)
		if (s[i] == '/' && s[i + 1] == '/')
			return "has an empty path component";
	for (i = 0; i < len; i++) {
		if (s[i] != ':')
			continue;
		if (i > first || slash == NULL)
			return "has a ':' that is neither a registry port nor the tag";
		/* registry host:port: the port is 1..5 digits */
		size_t p = i + 1, nd = 0;
		while (p < first && is_digit(s[p]))
			p++, nd++;
		if (p != first || nd == 0 || nd > 5 || i == 0)
			return "has an invalid registry port";
		break;
	}
	return NULL;
}

const char *
svc_check_image(const char *image)
{
	size_t len = strlen(image), i;
	const char *tag, *p;

	if (len == 0)
		return "is empty";
	if (len > SVC_IMAGE_MAX)
		return "is longer than 255 bytes";
	if (image[0] == '-')
		return "starts with '-'";
	for (p = image; *p; p++) {
		if (is_ctl(*p) || *p == ' ')
			return "contains whitespace or control characters";
		if (*p == '@')
			return "is a digest reference (pin an explicit tag instead)";
		if (!is_alnum(*p) && !strchr("._-/:", *p))
			return "contains a character not allowed in an image reference";
	}
	tag = svc_image_tag(image);
	if (*tag == '\0')
		return "has no explicit tag (write repository:tag)";
	if (strcmp(tag, "latest") == 0)
		return "uses the tag \"latest\" (pin a version)";
	/* OCI tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
	if (!(is_alnum(tag[0]) || tag[0] == '_') || strlen(tag) > 128)
		return "has an invalid tag";
	for (i = 1; tag[i]; i++)
		if (!is_alnum(tag[i]) && !strchr("_.-", tag[i]))
			return "has an invalid tag";
	return check_image_repo(image, (size_t)(tag - 1 - image));
}

const char *
svc_check_route_name(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0)
		return NULL;
	if (n > SVC_ROUTE_NAME_MAX)
		return "is longer than 32 characters";
	if (!is_lower_alnum(name[0]))
		return "must start with [a-z0-9]";
	for (i = 1; i < n; i++)
		if (!is_lower_alnum(name[i]) && name[i] != '-')
			return "may only contain [a-z0-9-]";
	return NULL;
}

const char *
svc_check_hostname(const char *name)
{
	size_t n = strlen(name), i, lab = 0;
	int all_digits = 1;

	if (n == 0)
		return "is empty";
	if (n > SVC_HOSTNAME_MAX)
		return "is longer than 253 characters";
	for (i = 0; i <= n; i++) {
		char c = name[i];

		if (c == '.' || c == '\0') {
			if (lab == 0)
				return "has an empty label";
			if (name[i - 1] == '-')
				return "has a label ending in '-'";
			if (c == '\0' && all_digits)
				return "ends in a numeric label (an address, not a name)";
			lab = 0;
			all_digits = 1;
			continue;
		}
		if (!is_lower_alnum(c) && c != '-')
			return "may only contain lowercase [a-z0-9-] labels separated by '.'";
		if (lab == 0 && c == '-')
			return "has a label starting with '-'";
		if (!is_digit(c))
			all_digits = 0;
		if (++lab > 63)
			return "has a label longer than 63 characters";
	}
	return NULL;
}

const char *
svc_check_domain(const char *domain)
{
	if (domain[0] == '.' && domain[1] == '\0')
		return "is only \".\" (name a domain)";
	return svc_check_hostname(domain[0] == '.' ? domain + 1 : domain);
}

int
svc_domain_under(const char *hostname, const char *domain)
{
	size_t hn = strlen(hostname), dn = strlen(domain);
	const char *tail;

	if (hn == 0 || dn == 0 || hn < dn)
		return 0;
	tail = hostname + (hn - dn);
	if (strcasecmp(tail, domain) != 0)
		return 0;
	/* ".example.net": the match itself ends at a label boundary */
	if (domain[0] == '.')
		return hn > dn;
	/* "example.net": the name itself, or a label boundary before the tail */
	return hn == dn || tail[-1] == '.';
}

const char *
svc_check_abs_path(const char *path)
{
	const char *p, *comp;
	size_t n;

	if (path[0] != '/')
		return "is not an absolute path";
	if (strlen(path) > 4095)
		return "is too long";
	for (p = path; *p; p++) {
		if (is_ctl(*p))
			return "contains control characters";
		if (*p == ',')
			return "contains ','";
		if (*p == ':')
			return "contains ':'";
	}
	for (comp = path + 1;; comp += n + 1) {
		n = strcspn(comp, "/");
		if (n == 0)
			return "has an empty component (\"//\", a trailing '/' or \"/\")";
		if ((n == 1 && comp[0] == '.') ||
		    (n == 2 && comp[0] == '.' && comp[1] == '.'))
			return "has a \".\" or \"..\" component";
		if (comp[n] == '\0')
			break;
	}
	return NULL;
}

const char *
svc_check_rel_path(const char *path)
{
	const char *p, *comp;
	size_t n;

	if (path[0] == '\0')
		return "is empty";
	if (path[0] == '/')
		return "is absolute (exclude paths are relative to the data directory)";
	for (p = path; *p; p++)
		if (is_ctl(*p))
			return "contains control characters";
	for (comp = path;; comp += n + 1) {
		n = strcspn(comp, "/");
		if (n == 2 && comp[0] == '.' && comp[1] == '.')
			return "has a \"..\" component";
		if (comp[n] == '\0')
			break;
	}
	return NULL;
}

const char *
svc_check_volume_opts(const char *opts)
{
	const char *p = opts;
	int mode = 0, label = 0;
	size_t n;

	if (*opts == '\0')
		return NULL;
	for (;; p += n + 1) {
		n = strcspn(p, ",");
		if (n == 2 && (strncmp(p, "ro", 2) == 0 || strncmp(p, "rw", 2) == 0)) {
			if (mode++)
				return "repeats or combines ro/rw";
		} else if (n == 1 && (*p == 'z' || *p == 'Z')) {
			if (label++)
				return "repeats or combines z/Z";
		} else
			return "must be a comma-separated set of ro|rw and z|Z";
		if (p[n] == '\0')
			break;
	}
	return NULL;
}

const char *
svc_check_env(const char *kv)
{
	const char *p = kv;

	if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
		return "must be KEY=VALUE with KEY matching [A-Za-z_][A-Za-z0-9_]*";
	for (p++; *p && *p != '='; p++)
		if (!is_alnum(*p) && *p != '_')
			return "must be KEY=VALUE with KEY matching [A-Za-z_][A-Za-z0-9_]*";
	if (*p != '=')
		return "has no '=' (write KEY=VALUE)";
	if (strpbrk(p, "\n\r"))
		return "has a newline in its value";
	return NULL;
}

/* One side of user: a number (uid/gid) or a name. */
static int
user_part_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	if (is_digit(s[0])) {
		uint64_t v = 0;

		if (n > 10)
			return 0;
		for (i = 0; i < n; i++) {
			if (!is_digit(s[i]))
				return 0;
			v = v * 10 + (uint64_t)(s[i] - '0');
		}
		return v < UINT32_MAX;
	}
	if (n > 32 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

const char *
svc_check_user(const char *user)
{
	const char *colon = strchr(user, ':');
	size_t n = colon ? (size_t)(colon - user) : strlen(user);

	if (!user_part_valid(user, n) ||
	    (colon && !user_part_valid(colon + 1, strlen(colon + 1))))
		return "must be uid[:gid] (numbers) or a user name [a-z_][a-z0-9_-]*";
	return NULL;
}

const char *
svc_check_snapshot_method(const char *method)
{
	const char *p;

	if (strcmp(method, "") == 0 || strcmp(method, "grpc") == 0 ||
	    strcmp(method, "cli") == 0 || strcmp(method, "full") == 0)
		return NULL;
	if (strncmp(method, "exec:", 5) != 0)
		return "must be \"grpc\", \"cli\", \"full\" or \"exec: <command>\"";
	for (p = method + 5; *p == ' '; p++)
		;
	if (*p == '\0')
		return "has no command after \"exec:\"";
	for (; *p; p++)
		if (is_ctl(*p))
			return "contains control characters";
	return NULL;
}

int
svc_verr_at(struct mcp_err *err, const char *file, int line, int col,
    const char *what, const char *fmt, va_list ap)
{
	char msg[MCP_ERR_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return mcp_err_set(err, MCP_E_INVALID, "%s:%d:%d: %s%s%s", file,
	    line > 0 ? line : 1, col > 0 ? col : 1, what ? what : "",
	    what ? ": " : "", msg);
}

static int
dup_key_same(const struct svc_dup_key *x, const struct svc_dup_key *y)
{
	return x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}

/* By bytes, then length, then item order. */
static int
dup_key_cmp(const void *a, const void *b)
{
	const struct svc_dup_key *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int
svc_find_duplicate(struct svc_dup_key *keys, size_t n, size_t *earlier,
    size_t *later)
{
	size_t i;
	int found = 0;

	if (n < 2)
		return 0;
	qsort(keys, n, sizeof(*keys), dup_key_cmp);
	/*
	 * Equal keys are now adjacent and in item order: in each run, the
	 * second item is the first duplicate of the run's first.
	 */
	for (i = 1; i < n; i++) {
		if (!dup_key_same(&keys[i - 1], &keys[i]) ||
		    (i >= 2 && dup_key_same(&keys[i - 2], &keys[i])))
			continue;
		if (!found || keys[i].idx < *later) {
			*earlier = keys[i - 1].idx;
			*later = keys[i].idx;
			found = 1;
		}
	}
	return found;
}

/*
 * dns/dns.c: the RFC 2136 client (see dns.h) over libldns.
 *
 * The client only holds the validated configuration; every call builds
 * its own ldns resolver, UPDATE packet and socket, so calls from several
 * threads never share ldns state (ldns marks a server that failed once as
 * unreachable for the rest of a resolver's life: one resolver per call
 * also keeps one timeout from poisoning the next call).
 *
 * One UPDATE per call, TSIG-signed: dns_set_a sends "delete the A RRset of
 * NAME" (class ANY, TTL 0, no rdata) followed by "add NAME TTL IN A ADDR",
 * which the server applies atomically; dns_delete_a sends the delete only.
 * The answer is matched to the query (ID), its TSIG verified by ldns, and
 * its rcode mapped to the project's codes (dns_rcode_code).  A refusal by
 * the server's ACL comes back from knot as NOTAUTH with an unsigned TSIG
 * whose error is BADKEY; ldns reports that as LDNS_STATUS_CRYPTO_TSIG_BOGUS
 * and still hands over the packet (ldns_send), so we read the rcode and the
 * TSIG error from it and say "not authorised".
 */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <openssl/evp.h>

#include "service/check.h"
#include "util/buf.h"

#define DNS_TRIES 2		/* sends per call; each gets timeout / DNS_TRIES */
#define DNS_SECRET_MIN 16	/* bytes of key material, decoded */
#define DNS_SECRET_FILE_MAX 4096

struct dns_client {
	char server[INET6_ADDRSTRLEN];
	int family;
	int port;
	char where[INET6_ADDRSTRLEN + 8];	/* "a.b.c.d:port" or "[v6]:port" */
	char zone[SVC_HOSTNAME_MAX + 2];	/* with the trailing dot */
	char zone_plain[SVC_HOSTNAME_MAX + 1];	/* for messages */
	char key[SVC_HOSTNAME_MAX + 2];		/* with the trailing dot */
	char algorithm[16];			/* "hmac-sha256." */
	char key_plain[SVC_HOSTNAME_MAX + 1];	/* for messages */
	char *secret;
	int ttl;
	int timeout_ms;
};

/* name without one trailing dot into out[len]; -1 if it does not fit. */
static int
strip_dot(const char *name, char *out, size_t len)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n >= len)
		return -1;
	memcpy(out, name, n);
	out[n] = '\0';
	return 0;
}

int
dns_name_in_zone(const char *name, const char *zone)
{
	char n[SVC_HOSTNAME_MAX + 2], z[SVC_HOSTNAME_MAX + 2];

	if (!name || !zone || strip_dot(name, n, sizeof(n)) == -1 ||
	    strip_dot(zone, z, sizeof(z)) == -1)
		return 0;
	/* a zone is a name, not svc_domain_under's ".domain" pattern */
	if (z[0] == '.')
		return 0;
	return svc_domain_under(n, z);
}

const char *
dns_check_secret(const char *b64)
{
	unsigned char *raw;
	size_t n = strlen(b64), i, pad = 0;
	int got;

	if (n == 0)
		return "is empty";
	for (i = 0; i < n; i++) {
		char ch = b64[i];

		if (ch == '=') {
			pad++;
			continue;
		}
		if (pad || !((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
			return "is not base64";
	}
	if (n % 4 != 0 || pad > 2)
		return "is not base64 (its length is not a multiple of 4)";
	raw = malloc(n);
	if (!raw)
		return "cannot be decoded (out of memory)";
	got = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
	OPENSSL_cleanse(raw, n);
	free(raw);
	if (got < 0)
		return "is not base64";
	if ((size_t)got - pad < DNS_SECRET_MIN)
		return "is shorter than 16 bytes (make one with keymgr -t NAME hmac-sha256)";
	return NULL;
}

/* Copy a name without its trailing dot, check it is a hostname, then store
 * it with the dot.  what names the field in the message. */
static int
config_name(const char *what, const char *v, char *plain, size_t plen,
    char *dotted, size_t dlen, struct mcp_err *err)
{
	char tmp[SVC_HOSTNAME_MAX + 2];
	const char *why;

	if (!v || !*v)
		return mcp_err_set(err, MCP_E_INVALID, "dns: %s is not set", what);
	if (strip_dot(v, tmp, sizeof(tmp)) == -1)
		return mcp_err_set(err, MCP_E_INVALID,
		    "dns: %s is longer than 253 characters", what);
	why = svc_check_hostname(tmp);
	if (why)
		return mcp_err_set(err, MCP_E_INVALID, "dns: %s \"%s\" %s", what, v,
		    why);
	snprintf(plain, plen, "%s", tmp);
	snprintf(dotted, dlen, "%s.", tmp);
	return 0;
}

struct dns_client *
dns_client_new(const struct dns_config *cfg, struct mcp_err *err)
{
	struct dns_client *c;
	unsigned char addr[sizeof(struct in6_addr)];
	const char *alg, *why;

	c = xcalloc(1, sizeof(*c));
	if (!cfg->server || !*cfg->server) {
		mcp_err_set(err, MCP_E_INVALID, "dns: server is not set");
		goto fail;
	}
	if (inet_pton(AF_INET, cfg->server, addr) == 1) {
		c->family = AF_INET;
	} else if (inet_pton(AF_INET6, cfg->server, addr) == 1) {
		c->family = AF_INET6;
	} else {
		mcp_err_set(err, MCP_E_INVALID,
		    "dns: server \"%s\" is not an IP address", cfg->server);
		goto fail;
	}
	snprintf(c->server, sizeof(c->server), "%s", cfg->server);
	c->port = cfg->port ? cfg->port : 53;
	if (c->port < 1 || c->port > 65535) {
		mcp_err_set(err, MCP_E_INVALID, "dns: port %d is not in 1..65535",
		    cfg->port);
		goto fail;
	}
	snprintf(c->where, sizeof(c->where),
	    c->family == AF_INET6 ? "[%s]:%d" : "%s:%d", c->server, c->port);
	if (config_name("zone", cfg->zone, c->zone_plain,
	    sizeof(c->zone_plain), c->zone, sizeof(c->zone),
	    err) == -1 ||
	    config_name("TSIG key name", cfg->key_name, c->key_plain,
	    sizeof(c->key_plain), c->key, sizeof(c->key), err) == -1)
		goto fail;
	alg = cfg->algorithm && *cfg->algorithm ? cfg->algorithm : "hmac-sha256";
	if (strcasecmp(alg, "hmac-sha256") != 0 &&
	    strcasecmp(alg, "hmac-sha512") != 0) {
		mcp_err_set(err, MCP_E_INVALID,
		    "dns: TSIG algorithm \"%s\" is not supported "
		    "(hmac-sha256 or hmac-sha512)", alg);
		goto fail;
	}
	snprintf(c->algorithm, sizeof(c->algorithm), "%s.",
	    strcasecmp(alg, "hmac-sha256") == 0 ? "hmac-sha256" : "hmac-sha512");
	if (!cfg->secret) {
		mcp_err_set(err, MCP_E_INVALID, "dns: TSIG secret is not set");
		goto fail;
	}
	why = dns_check_secret(cfg->secret);
	if (why) {
		/* never print the secret itself */
		mcp_err_set(err, MCP_E_INVALID, "dns: TSIG secret of key %s %s",
		    c->key_plain, why);
		goto fail;
	}
	c->secret = xstrdup(cfg->secret);
	c->ttl = cfg->ttl ? cfg->ttl : 60;
	if (c->ttl < 1 || c->ttl > 86400) {
		mcp_err_set(err, MCP_E_INVALID, "dns: ttl %d is not in 1..86400",
		    cfg->ttl);
		goto fail;
	}
	c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 2000;
	if (c->timeout_ms < 10 || c->timeout_ms > 60000) {
		mcp_err_set(err, MCP_E_INVALID,
		    "dns: timeout %d ms is not in 10..60000", cfg->timeout_ms);
		goto fail;
	}
	return c;
fail:
	dns_client_free(c);
	return NULL;
}

void
dns_client_free(struct dns_client *c)
{
	if (!c)
		return;
	if (c->secret) {
		OPENSSL_cleanse(c->secret, strlen(c->secret));
		free(c->secret);
	}
	free(c);
}

const char *
dns_client_server(const struct dns_client *c)
{
	return c->where;
}

int
dns_rcode_code(int rcode)
{
	switch (rcode) {
	case LDNS_RCODE_NOERROR:
		return MCP_OK;
	case LDNS_RCODE_NOTAUTH:
	case LDNS_RCODE_REFUSED:
		return MCP_E_PERM;
	case LDNS_RCODE_NOTZONE:
		return MCP_E_INVALID;
	default:
		return MCP_E_INTERNAL;
	}
}

/* "NOTAUTH", or "RCODE 12" for one ldns has no name for. */
static const char *
rcode_name(int rcode, char *buf, size_t len)
{
	ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, rcode);

	if (lt && lt->name)
		return lt->name;
	snprintf(buf, len, "RCODE %d", rcode);
	return buf;
}

/* The TSIG error of an answer ("BADKEY"), or NULL if it has none. */
static const char *
tsig_error_name(const ldns_pkt *a, char *buf, size_t len)
{
	ldns_rr *t = ldns_pkt_tsig(a);
	ldns_rdf *e;
	uint16_t v;

	if (!t || ldns_rr_rd_count(t) < 6)
		return NULL;
	e = ldns_rr_rdf(t, 5);
	if (!e || ldns_rdf_size(e) != 2)
		return NULL;
	v = ldns_rdf2native_int16(e);
	switch (v) {
	case 0:
		return NULL;
	case 16:
		return "BADSIG";
	case 17:
		return "BADKEY";
	case 18:
		return "BADTIME";
	case 22:
		return "BADTRUNC";
	default:
		snprintf(buf, len, "TSIG error %u", (unsigned)v);
		return buf;
	}
}

/* Map a server's answer (rcode != NOERROR) to err; returns -1. */
static int
answer_error(const struct dns_client *c, const char *name, const ldns_pkt *a,
    struct mcp_err *err)
{
	int rcode = ldns_pkt_get_rcode(a);
	char rbuf[32], tbuf[32];
	const char *rn = rcode_name(rcode, rbuf, sizeof(rbuf));
	const char *te = tsig_error_name(a, tbuf, sizeof(tbuf));

	switch (rcode) {
	case LDNS_RCODE_NOTAUTH:
		/* without a TSIG error: RFC 2136's "not authoritative" (knot
		 * says so for a zone it does not serve) */
		if (!te)
			return mcp_err_set(err, MCP_E_PERM,
			    "DNS server %s refused the update for %s: NOTAUTH "
			    "(not authoritative for zone %s, or key %s not "
			    "authorised)", c->where, name, c->zone_plain,
			    c->key_plain);
		return mcp_err_set(err, MCP_E_PERM,
		    "DNS server %s refused the update for %s: not authorised "
		    "(TSIG key %s or the ACL; NOTAUTH, %s)", c->where, name,
		    c->key_plain, te);
	case LDNS_RCODE_REFUSED:
		return mcp_err_set(err, MCP_E_PERM,
		    "DNS server %s refused the update for %s: REFUSED (its policy "
		    "for key %s)", c->where, name, c->key_plain);
	case LDNS_RCODE_NOTZONE:
		return mcp_err_set(err, MCP_E_INVALID,
		    "DNS server %s refused the update for %s: NOTZONE (not in "
		    "zone %s there)", c->where, name, c->zone_plain);
	default:
		return mcp_err_set(err, dns_rcode_code(rcode),
		    "DNS server %s failed the update for %s: %s%s%s", c->where,
		    name, rn, te ? ", " : "", te ? te : "");
	}
}

/* A resolver for one call: the server, its port, the deadline, the key. */
static ldns_resolver *
call_resolver(const struct dns_client *c, struct mcp_err *err)
{
	ldns_resolver *r = ldns_resolver_new();
	ldns_rdf *ns = ldns_rdf_new_frm_str(c->family == AF_INET ?
	    LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, c->server);
	struct timeval tv;
	int per = c->timeout_ms / DNS_TRIES;

	if (!r || !ns || ldns_resolver_push_nameserver(r, ns) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(ns);
		ldns_resolver_deep_free(r);
		mcp_err_set(err, MCP_E_INTERNAL, "dns: cannot set up a resolver "
		    "for %s (out of memory)", c->where);
		return NULL;
	}
	ldns_rdf_deep_free(ns);	/* pushed as a copy */
	ldns_resolver_set_port(r, (uint16_t)c->port);
	ldns_resolver_set_random(r, false);
	ldns_resolver_set_retry(r, DNS_TRIES);
	ldns_resolver_set_retrans(r, 0);
	tv.tv_sec = per / 1000;
	tv.tv_usec = (per % 1000) * 1000;
	ldns_resolver_set_timeout(r, tv);
	ldns_resolver_set_tsig_keyname(r, c->key);
	ldns_resolver_set_tsig_algorithm(r, c->algorithm);
	ldns_resolver_set_tsig_keydata(r, c->secret);
	return r;
}

/*
 * Send one UPDATE of zone c->zone with the update section up (copied),
 * signed, and wait for the answer.  name is for messages.
 */
static int
send_update(struct dns_client *c, const char *name, const ldns_rr_list *up,
    struct mcp_err *err)
{
	ldns_resolver *r;
	ldns_rdf *zone;
	ldns_pkt *q = NULL, *a = NULL;
	ldns_status st;
	int rc = -1;

	r = call_resolver(c, err);
	if (!r)
		return -1;
	zone = ldns_dname_new_frm_str(c->zone);
	if (!zone) {
		mcp_err_set(err, MCP_E_INTERNAL, "dns: zone %s: cannot build its "
		    "name", c->zone);
		goto out;
	}
	q = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, NULL, up, NULL);
	if (!q) {
		ldns_rdf_deep_free(zone);
		mcp_err_set(err, MCP_E_INTERNAL, "dns: update for %s: cannot "
		    "build the packet", name);
		goto out;
	}
	/* ldns_update_pkt_new sets RD and ID 0: an UPDATE wants neither */
	ldns_pkt_set_rd(q, false);
	ldns_pkt_set_random_id(q);
	st = ldns_update_pkt_tsig_add(q, r);
	if (st != LDNS_STATUS_OK) {
		mcp_err_set(err, MCP_E_INTERNAL, "dns: update for %s: signing "
		    "with TSIG key %s: %s", name, c->key_plain,
		    ldns_get_errorstr_by_id(st));
		goto out;
	}
	st = ldns_send(&a, r, q);
	if (st == LDNS_STATUS_NETWORK_ERR || st == LDNS_STATUS_SOCKET_ERROR ||
	    st == LDNS_STATUS_RES_NO_NS) {
		mcp_err_set(err, MCP_E_UNAVAILABLE, "DNS server %s did not answer "
		    "the update for %s within %d ms (%d tries)", c->where, name,
		    c->timeout_ms, DNS_TRIES);
		goto out;
	}
	if (a && ldns_pkt_id(a) != ldns_pkt_id(q)) {
		mcp_err_set(err, MCP_E_INTERNAL, "DNS server %s answered the "
		    "update for %s with another message's ID", c->where, name);
		goto out;
	}
	if (a && ldns_pkt_get_rcode(a) != LDNS_RCODE_NOERROR) {
		/* also the unsigned NOTAUTH/BADKEY ldns calls TSIG_BOGUS */
		answer_error(c, name, a, err);
		goto out;
	}
	if (st == LDNS_STATUS_CRYPTO_TSIG_BOGUS) {
		if (!a) {
			mcp_err_set(err, MCP_E_PERM, "DNS server %s refused the "
			    "update for %s: not authorised (TSIG key %s or the "
			    "ACL)", c->where, name, c->key_plain);
		} else {
			/* NOERROR, but not signed with our key: not to be
			 * trusted either way */
			mcp_err_set(err, MCP_E_INTERNAL, "DNS server %s answered "
			    "the update for %s without a valid TSIG signature "
			    "of key %s", c->where, name, c->key_plain);
		}
		goto out;
	}
	if (st != LDNS_STATUS_OK || !a) {
		mcp_err_set(err, MCP_E_INTERNAL, "DNS server %s: update for %s: "
		    "%s", c->where, name, ldns_get_errorstr_by_id(st));
		goto out;
	}
	rc = 0;
out:
	ldns_pkt_free(a);
	ldns_pkt_free(q);
	ldns_resolver_deep_free(r);
	return rc;
}

/* Check name (in the zone, a hostname) into plain (no dot) and owner
 * (a dname for it). */
static int
update_owner(const struct dns_client *c, const char *name, char *plain,
    size_t len, ldns_rdf **owner, struct mcp_err *err)
{
	char dotted[SVC_HOSTNAME_MAX + 2];
	const char *why;

	*owner = NULL;
	if (!name || strip_dot(name, plain, len) == -1)
		return mcp_err_set(err, MCP_E_INVALID, "dns: name %s is not a "
		    "hostname (longer than 253 characters)", name ? name : "(null)");
	why = svc_check_hostname(plain);
	if (why)
		return mcp_err_set(err, MCP_E_INVALID, "dns: name \"%s\" %s",
		    name, why);
	if (!dns_name_in_zone(plain, c->zone))
		return mcp_err_set(err, MCP_E_INVALID, "dns: name %s is not in "
		    "zone %s", plain, c->zone_plain);
	snprintf(dotted, sizeof(dotted), "%s.", plain);
	*owner = ldns_dname_new_frm_str(dotted);
	if (!*owner)
		return mcp_err_set(err, MCP_E_INTERNAL, "dns: name %s: cannot "
		    "build it", plain);
	return 0;
}

/* Append "delete every A record of owner" (RFC 2136 2.5.2: class ANY,
 * TTL 0, no rdata) to list; takes ownership of owner. */
static int
push_delete_rrset(ldns_rr_list *list, ldns_rdf *owner)
{
	ldns_rr *rr = ldns_rr_new();

	if (!rr) {
		ldns_rdf_deep_free(owner);
		return -1;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_A);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_ANY);
	ldns_rr_set_ttl(rr, 0);
	if (!ldns_rr_list_push_rr(list, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

/* "owner TTL IN A addr" (clones owner), or NULL when out of memory. */
static ldns_rr *
a_record(const ldns_rdf *owner, int ttl, const struct in_addr *in)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *o = ldns_rdf_clone(owner);
	ldns_rdf *addr = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, sizeof(*in), in);

	if (!rr || !o || !addr) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(o);
		ldns_rdf_deep_free(addr);
		return NULL;
	}
	ldns_rr_set_owner(rr, o);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_A);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, (uint32_t)ttl);
	if (!ldns_rr_push_rdf(rr, addr)) {
		ldns_rdf_deep_free(addr);
		ldns_rr_free(rr);
		return NULL;
	}
	return rr;
}

/*
 * One UPDATE for name's A RRset: delete it, then (ipv4 not NULL) add
 * "name TTL IN A ipv4".  The checks come first: nothing is sent for a name
 * outside the zone or an address that is not a dotted quad.
 */
static int
update_a(struct dns_client *c, const char *name, const char *ipv4,
    struct mcp_err *err)
{
	char plain[SVC_HOSTNAME_MAX + 2];
	struct in_addr in;
	ldns_rdf *owner;
	ldns_rr_list *up = NULL;
	ldns_rr *add = NULL;
	int ok, rc = -1;

	if (update_owner(c, name, plain, sizeof(plain), &owner, err) == -1)
		return -1;
	if (ipv4 && inet_pton(AF_INET, ipv4, &in) != 1) {
		mcp_err_set(err, MCP_E_INVALID, "dns: address \"%s\" for %s is "
		    "not an IPv4 address (a.b.c.d)", ipv4, plain);
		goto out;
	}
	up = ldns_rr_list_new();
	if (up && ipv4)
		add = a_record(owner, c->ttl, &in);
	ok = up && (!ipv4 || add);
	if (ok) {
		ok = push_delete_rrset(up, owner) == 0;
		owner = NULL;	/* taken either way */
	}
	if (ok && add) {
		ok = ldns_rr_list_push_rr(up, add);
		if (ok)
			add = NULL;
	}
	if (!ok) {
		mcp_err_set(err, MCP_E_INTERNAL, "dns: update for %s: out of "
		    "memory", plain);
		goto out;
	}
	rc = send_update(c, plain, up, err);
out:
	ldns_rdf_deep_free(owner);
	ldns_rr_free(add);
	ldns_rr_list_deep_free(up);
	return rc;
}

int
dns_set_a(struct dns_client *c, const char *name, const char *ipv4,
    struct mcp_err *err)
{
	if (!ipv4)
		return mcp_err_set(err, MCP_E_INVALID, "dns: no address for %s",
		    name ? name : "(null)");
	return update_a(c, name, ipv4, err);
}

int
dns_delete_a(struct dns_client *c, const char *name, struct mcp_err *err)
{
	return update_a(c, name, NULL, err);
}

/* Trim spaces, tabs and one pair of double quotes around s, in place. */
static char *
trim_value(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

const char *
dns_secret_parse(char *text)
{
	char *line, *save = NULL, *only = NULL;
	int lines = 0;

	for (line = strtok_r(text, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		char *v = trim_value(line);

		if (*v == '\0' || *v == '#')
			continue;
		/* keymgr -t: "    secret: BASE64" (after "- id:" lines) */
		if (strncmp(v, "secret:", 7) == 0)
			return trim_value(v + 7);
		lines++;
		only = v;
	}
	return lines == 1 ? only : NULL;
}

int
dns_secret_read(const char *path, char *out, size_t len, struct mcp_err *err)
{
	struct stat st;
	char *text = NULL;
	const char *s, *why;
	ssize_t got;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return mcp_err_errno(err, errno, "dns: TSIG secret file %s", path);
	if (fstat(fd, &st) == -1) {
		mcp_err_errno(err, errno, "dns: TSIG secret file %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		mcp_err_set(err, MCP_E_INVALID, "dns: TSIG secret file %s is not "
		    "a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		mcp_err_set(err, MCP_E_PERM, "dns: TSIG secret file %s is "
		    "readable or writable by others (mode %04o; chmod 600 it)",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > DNS_SECRET_FILE_MAX) {
		mcp_err_set(err, MCP_E_INVALID, "dns: TSIG secret file %s is "
		    "larger than %d bytes", path, DNS_SECRET_FILE_MAX);
		goto out;
	}
	text = xcalloc(1, DNS_SECRET_FILE_MAX + 1);
	got = read(fd, text, DNS_SECRET_FILE_MAX);
	if (got < 0) {
		mcp_err_errno(err, errno, "dns: TSIG secret file %s", path);
		goto out;
	}
	s = dns_secret_parse(text);
	if (!s) {
		mcp_err_set(err, MCP_E_INVALID, "dns: TSIG secret file %s holds "
		    "neither a \"secret:\" line (keymgr -t) nor one base64 line",
		    path);
		goto out;
	}
	why = dns_check_secret(s);
	if (why) {
		mcp_err_set(err, MCP_E_INVALID, "dns: TSIG secret in %s %s", path,
		    why);
		goto out;
	}
	if (strlen(s) >= len) {
		mcp_err_set(err, MCP_E_RANGE, "dns: TSIG secret in %s is longer "
		    "than %zu characters", path, len - 1);
		goto out;
	}
	memcpy(out, s, strlen(s) + 1);
	rc = 0;
out:
	if (text) {
		OPENSSL_cleanse(text, DNS_SECRET_FILE_MAX + 1);
		free(text);
	}
	close(fd);
	return rc;
}

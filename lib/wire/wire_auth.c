/*
 * wire/wire_auth.c: the edge check of every RPC (SPEC §6).  Who is calling
 * comes from the transport, never from anything the caller sends:
 *
 *   - TLS (transport_security_type "ssl"): the handshake already verified
 *     the client certificate against the platform CA; the identity is its
 *     common name.  A certificate without a CN is not an identity.
 *   - Unix socket (no security, peer "fd:N": wire_unix.c accepted the
 *     connection and handed it to gRPC by descriptor): a local caller,
 *     identity "local"; wire_unix_peer() then gives its uid, gid and pid,
 *     and only root and the socket group ever reach the server proper.
 *
 * Anything else (an insecure TCP peer cannot happen with the listeners
 * wire_server.c creates, but is refused anyway) is UNAUTHENTICATED.
 * wire_allowed() then matches the identity against a method's patterns.
 */
#include "wire/wire_int.h"

#include <stdio.h>
#include <string.h>

#include <grpc/support/alloc.h>

#include "util/buf.h"

/* Copy the first value of property name into out; 0 if absent or unusable. */
static int
wire_auth_prop(grpc_auth_context *ac, const char *name, char *out, size_t size)
{
	grpc_auth_property_iterator it;
	const grpc_auth_property *p;

	if (ac == NULL)
		return 0;
	it = grpc_auth_context_find_properties_by_name(ac, name);
	if ((p = grpc_auth_property_iterator_next(&it)) == NULL)
		return 0;
	if (p->value == NULL || p->value_length == 0 || p->value_length >= size ||
	    memchr(p->value, '\0', p->value_length) != NULL)
		return 0;
	memcpy(out, p->value, p->value_length);
	out[p->value_length] = '\0';
	return 1;
}

/* A CN we are willing to treat as an identity: printable, no spaces. */
static int
wire_identity_ok(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

int
wire_caller_identify(grpc_call *call, struct wire_caller *caller,
    struct mcp_err *err)
{
	grpc_auth_context *ac;
	char type[32] = "", *peer;
	int rc = 0;

	memset(caller, 0, sizeof(*caller));
	if ((peer = grpc_call_get_peer(call)) != NULL) {
		mcp_strlcpy(caller->peer, peer, sizeof(caller->peer));
		gpr_free(peer);
	}
	ac = grpc_call_auth_context(call);
	wire_auth_prop(ac, GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME, type,
	    sizeof(type));
	if (strcmp(type, GRPC_SSL_TRANSPORT_SECURITY_TYPE) == 0) {
		if (!wire_auth_prop(ac, GRPC_X509_CN_PROPERTY_NAME,
		    caller->identity, sizeof(caller->identity)) ||
		    !wire_identity_ok(caller->identity))
			rc = mcp_err_set(err, MCP_E_UNAUTHENTICATED,
			    "unauthenticated: client certificate of %s has no "
			    "usable common name", caller->peer);
	} else if ((type[0] == '\0' || strcmp(type, "insecure") == 0) &&
	    strncmp(caller->peer, "fd:", 3) == 0) {
		caller->local = 1;
		mcp_strlcpy(caller->identity, "local", sizeof(caller->identity));
	} else {
		rc = mcp_err_set(err, MCP_E_UNAUTHENTICATED,
		    "unauthenticated: %s has no client certificate", caller->peer);
	}
	grpc_auth_context_release(ac);
	if (rc == -1)
		caller->identity[0] = '\0';
	return rc;
}

void
wire_caller_set_who(struct wire_caller *c)
{
	if (c->local)
		snprintf(c->who, sizeof(c->who), "uid %ld (local)", (long)c->uid);
	else
		mcp_strlcpy(c->who, c->identity, sizeof(c->who));
}

int
wire_local_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
    int has_group, gid_t group)
{
	if (uid == 0)
		return 1;
	if (!has_group)
		return 0;
	if (gid == group)
		return 1;
	for (size_t i = 0; i < ngroups; i++)
		if (groups[i] == group)
			return 1;
	return 0;
}

int
wire_pattern_match(const char *pattern, const char *identity)
{
	size_t n = strlen(pattern);

	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, identity, n - 1) == 0;
	return strcmp(pattern, identity) == 0;
}

static int
wire_is_operator(const char *const *operators, const struct wire_caller *c)
{
	if (c->local)
		return 1;
	for (; operators && *operators; operators++)
		if (wire_pattern_match(*operators, c->identity))
			return 1;
	return 0;
}

int
wire_allowed(const char *const *allow, const char *const *operators,
    const struct wire_caller *c)
{
	for (; allow && *allow; allow++) {
		if (strcmp(*allow, "@operator") == 0) {
			if (wire_is_operator(operators, c))
				return 1;
		} else if (strcmp(*allow, "*") == 0) {
			return 1;
		} else if (!c->local && wire_pattern_match(*allow, c->identity)) {
			return 1;
		}
	}
	return 0;
}

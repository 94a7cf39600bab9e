/*
 * wire/wire.h: gRPC transport for MCP (SPEC §6) on the gRPC C core, with
 * protobuf-c messages.
 *
 * Server: a table of methods (full path, request descriptor, handler,
 * who may call it) served on a Unix socket and/or a TCP address with mutual
 * TLS 1.3 (identity = client certificate CN).  On the Unix socket the
 * server accepts connections itself and reads the peer's SO_PEERCRED:
 * root and members of the socket group count as operators, anybody else
 * gets PERMISSION_DENIED naming their uid (wire_unix.c).  Each call runs on its own
 * thread, so a slow Deploy never blocks Status.  Authorisation happens here,
 * before a handler runs: a refused caller gets PERMISSION_DENIED.
 *
 * Client: unary and server-streaming calls to "unix:PATH" or "host:port".
 */
#ifndef MCP_WIRE_WIRE_H
#define MCP_WIRE_WIRE_H

#include <stddef.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "util/err.h"

/* Largest payload either way (PushFile/PullFile carry file contents)... */
#define WIRE_MAX_MESSAGE (64u << 20)
/* ... and room for the rest of the message: no message is larger than
 * WIRE_MAX_MESSAGE + WIRE_ENVELOPE (refused with RESOURCE_EXHAUSTED). */
#define WIRE_ENVELOPE (1u << 20)

/*
 * Each field is a path to a PEM file, or the PEM text itself when it starts
 * with "-----BEGIN".  TLS 1.3 is required on both sides.
 */
struct wire_tls {
	const char *ca;		/* CA certificate (PEM) that signs peers */
	const char *cert;	/* our certificate (PEM) */
	const char *key;	/* our private key (PEM) */
};

struct wire_caller {
	char identity[256];	/* certificate CN; "local" on the Unix socket */
	int local;		/* came over the Unix socket */
	char peer[256];		/* transport peer address */
	/* local callers: the peer's credentials when it connected (SO_PEERCRED) */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char who[272];		/* for logs: "uid 0 (local)" or the identity */
};

struct wire_stream;

/* Unary handler: fill *resp (allocated with the response descriptor's
 * init, freed by the server with protobuf_c_message_free_unpacked-compatible
 * free: use wire_msg_new() to allocate). Return 0 or -1 with err. */
typedef int (*wire_unary_fn)(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, ProtobufCMessage **resp, struct mcp_err *err);
/* Server-streaming handler: send with wire_stream_send(). */
typedef int (*wire_stream_fn)(void *ctx, const struct wire_caller *caller,
    const ProtobufCMessage *req, struct wire_stream *stream, struct mcp_err *err);

struct wire_method {
	const char *path;	/* "/mcp.v1.Agent/Deploy" */
	const ProtobufCMessageDescriptor *req_desc;
	const ProtobufCMessageDescriptor *resp_desc;
	wire_unary_fn unary;	/* exactly one of unary / stream */
	wire_stream_fn stream;
	/*
	 * Who may call: NULL-terminated patterns matched against the caller
	 * identity; "@operator" stands for the server's operator patterns
	 * (and local Unix-socket callers); a trailing '*' is a prefix match.
	 * Local callers match only "@operator" and "*".  NULL: nobody.
	 */
	const char *const *allow;
};

struct wire_server;

/* The method table is copied; its strings and descriptors must outlive s. */
struct wire_server *wire_server_new(const struct wire_method *methods,
    size_t nmethods, void *ctx, struct mcp_err *err);
/* Identities that count as operators (NULL-terminated, '*' suffix ok). */
void wire_server_set_operators(struct wire_server *s, const char *const *patterns);
/*
 * Local callers other than root must be in this group (name, resolved now;
 * NULL or "": root only).  Call before wire_server_add_unix: the socket is
 * then created with mode 0660 and this group, else 0600.
 */
int wire_server_set_socket_group(struct wire_server *s, const char *group,
    struct mcp_err *err);
/* Listen on a Unix socket (a stale socket is replaced, a live one refused). */
int wire_server_add_unix(struct wire_server *s, const char *path, struct mcp_err *err);
/* Listen on host:port with mutual TLS 1.3; returns the bound port or -1. */
int wire_server_add_tls(struct wire_server *s, const char *addr,
    const struct wire_tls *tls, struct mcp_err *err);
int wire_server_start(struct wire_server *s, struct mcp_err *err);
/* Stop accepting, cancel streams, wait (bounded) for handlers; then free. */
void wire_server_free(struct wire_server *s);

/* Send one message on a stream; -1 when the client went away. */
int wire_stream_send(struct wire_stream *st, const ProtobufCMessage *msg);
/* 1 once the client cancelled / disconnected or the server is shutting down. */
int wire_stream_cancelled(struct wire_stream *st);

/* Allocate a zeroed, initialised message of a descriptor (malloc). */
ProtobufCMessage *wire_msg_new(const ProtobufCMessageDescriptor *desc);

/* ---- client ---- */

struct wire_client;

/* address: "unix:/path" or "host:port"; tls required for TCP. */
struct wire_client *wire_client_new(const char *address,
    const struct wire_tls *tls, struct mcp_err *err);
void wire_client_free(struct wire_client *c);
/* *resp is unpacked with resp_desc; free with protobuf_c_message_free_unpacked(*resp, NULL).
 * On a non-OK status err carries the server's code and message. */
int wire_call(struct wire_client *c, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
    ProtobufCMessage **resp, int timeout_ms, struct mcp_err *err);
/* Server stream: on_msg for each message (return non-zero to cancel; the
 * call then returns 0).  msg is valid only during on_msg.  timeout_ms <= 0:
 * no deadline (both calls). */
int wire_call_stream(struct wire_client *c, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
    int (*on_msg)(const ProtobufCMessage *msg, void *arg), void *arg,
    int timeout_ms, struct mcp_err *err);

#endif

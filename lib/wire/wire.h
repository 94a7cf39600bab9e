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
 * Client: unary, server-streaming and client-streaming ("upload") calls
 * to "unix:PATH" or "host:port".
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
/* Client-streaming handler: read the request messages with
 * wire_stream_recv() until it returns 0, then fill *resp as a unary
 * handler does.  Returning early (an error) ends the call: the client's
 * further sends fail and it gets the handler's status. */
typedef int (*wire_upload_fn)(void *ctx, const struct wire_caller *caller,
    struct wire_stream *stream, ProtobufCMessage **resp, struct mcp_err *err);

struct wire_method {
	const char *path;	/* "/mcp.v1.Agent/Deploy" */
	const ProtobufCMessageDescriptor *req_desc;
	const ProtobufCMessageDescriptor *resp_desc;
	wire_unary_fn unary;	/* exactly one of unary / stream / upload */
	wire_stream_fn stream;
	/*
	 * Who may call: NULL-terminated patterns matched against the caller
	 * identity; "@operator" stands for the server's operator patterns
	 * (and local Unix-socket callers); a trailing '*' is a prefix match.
	 * Local callers match only "@operator" and "*".  NULL: nobody.
	 */
	const char *const *allow;
	wire_upload_fn upload;	/* client stream: req_desc is each message's */
};

struct wire_server;

/* The method table is copied; its strings and descriptors must outlive s. */
struct wire_server *wire_server_new(const struct wire_method *methods,
    size_t nmethods, void *ctx, struct mcp_err *err);
/*
 * The longest a call waits for each message of an upload, whatever
 * deadline the client set (default 10 min; <= 0 restores it; any time);
 * a unary request waits at most the lesser of it and 5 min.  Past it the
 * call ends with DEADLINE_EXCEEDED (MCP_E_TIMEOUT for the handler's
 * wire_stream_recv): a client that stalls cannot hold a call thread.
 */
void wire_server_set_recv_idle(struct wire_server *s, int ms);
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
/*
 * Send one message waiting at most ms for the client to take it (progress
 * reports sent while a lock is held).  -1 when the client went away or did
 * not take it in time; after a timeout every further bounded send on the
 * call returns -1 at once, while wire_stream_send (the result) first waits
 * for that message to go, bounded by the call's deadline.
 */
int wire_stream_send_within(struct wire_stream *st, const ProtobufCMessage *msg,
    int ms);
/* 1 once the client cancelled / disconnected or the server is shutting down. */
int wire_stream_cancelled(struct wire_stream *st);
/*
 * Upload handlers: the client's next message.  1 with *msg (free with
 * protobuf_c_message_free_unpacked), 0 when the client closed its side
 * cleanly, -1 with err: the stream broke off (client cancelled or gone,
 * deadline, server stopping: MCP_E_CANCELLED) or the message was bad
 * (too large: MCP_E_RESOURCE; bad text or encoding: MCP_E_INVALID).
 */
int wire_stream_recv(struct wire_stream *st, ProtobufCMessage **msg,
    struct mcp_err *err);

/* Allocate a zeroed, initialised message of a descriptor (malloc). */
ProtobufCMessage *wire_msg_new(const ProtobufCMessageDescriptor *desc);

/* ---- client ---- */

struct wire_client;

/* address: "unix:/path" or "host:port"; tls required for TCP. */
struct wire_client *wire_client_new(const char *address,
    const struct wire_tls *tls, struct mcp_err *err);
/* Plaintext HTTP/2 to "host:port": only for a service's own gRPC on this
 * node (the Snapshot RPC), never for MCP's own calls. */
struct wire_client *wire_client_new_plain(const char *address,
    struct mcp_err *err);
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

/*
 * Client stream ("upload"): start the call, send messages one at a time
 * (each send waits for flow control, so a slow server slows the sender),
 * then finish: close our side and read the one response.  A send that
 * fails returns -1 with the server's status in err (the server refused
 * or ended the call); the upload must still be released with
 * wire_upload_finish (which returns the same error) or wire_upload_cancel.
 * Both free u.  timeout_ms <= 0: no deadline for the whole call.
 */
struct wire_upload;
struct wire_upload *wire_upload_start(struct wire_client *c, const char *method,
    int timeout_ms, struct mcp_err *err);
int wire_upload_send(struct wire_upload *u, const ProtobufCMessage *msg,
    struct mcp_err *err);
int wire_upload_finish(struct wire_upload *u,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
    struct mcp_err *err);
/* Abandon the call (the server sees the stream break off) and free u. */
void wire_upload_cancel(struct wire_upload *u);

#endif

/*
 * wire/wire_int.h: internals shared by the files of lib/wire/ (not for
 * users of wire.h):
 *   wire_common.c  gRPC library lifetime and log routing, protobuf <->
 *                  byte buffer, channel arguments, TLS credentials
 *   wire_auth.c    who is calling (identity from the transport) and
 *                  whether a method's allow patterns admit them
 *   wire_server.c  acceptor thread, one thread per call, shutdown
 *   wire_unix.c    the Unix socket: our own accept loop, the peer's
 *                  SO_PEERCRED, each connection handed to gRPC by fd
 *   wire_client.c  channels, unary, server- and client-streaming calls
 *   wire_check.c   every string field of a received message is UTF-8
 *                  without NUL (checked on the raw bytes, before unpacking)
 */
#ifndef MCP_WIRE_WIRE_INT_H
#define MCP_WIRE_WIRE_INT_H

#include <stdint.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "wire/wire.h"

/* grpc_init()/grpc_shutdown() for each server and client, gRPC's own log
 * lines routed to util/log. */
void wire_grpc_ref(void);
void wire_grpc_unref(void);

/* Channel/server arguments: message size limits, keepalive.  args points
 * into storage, which must hold WIRE_NARGS entries. */
#define WIRE_NARGS 5
void wire_args_init(grpc_channel_args *args, grpc_arg storage[WIRE_NARGS],
    int server);

/* Serialise a message into a new byte buffer (grpc_byte_buffer_destroy). */
grpc_byte_buffer *wire_encode(const ProtobufCMessage *msg);
/*
 * Unpack a received buffer, after checking its size (WIRE_MAX_MESSAGE plus
 * WIRE_ENVELOPE: RESOURCE_EXHAUSTED) and its text (wire_check_strings:
 * INVALID_ARGUMENT).  NULL with err, whose message starts with "what: ".
 */
ProtobufCMessage *wire_decode(const ProtobufCMessageDescriptor *desc,
    grpc_byte_buffer *bb, const char *what, struct mcp_err *err);

/*
 * wire_check.c: 0 when every string field of the desc message encoded in
 * data[0..len), nested messages included, is UTF-8 without a NUL byte;
 * -1 with INVALID_ARGUMENT naming the field path and the offset (or where
 * the encoding is malformed).  bytes fields and unknown fields are skipped.
 */
int wire_check_strings(const ProtobufCMessageDescriptor *desc,
    const uint8_t *data, size_t len, struct mcp_err *err);
/* Offset of the first byte of s[0..n) that is not well-formed UTF-8 or is
 * a NUL (then *nul = 1); n when there is none. */
size_t wire_utf8_bad(const uint8_t *s, size_t n, int *nul);

/* gRPC deadline timeout_ms from now; <= 0: none. */
gpr_timespec wire_deadline(int timeout_ms);

/*
 * The three PEM blobs of a struct wire_tls, each read from its file or taken
 * as is (see wire.h).  wire_pem_free wipes the key.
 */
struct wire_pem {
	char *ca, *cert, *key;
};
int wire_pem_load(const struct wire_tls *tls, struct wire_pem *pem,
    struct mcp_err *err);
void wire_pem_free(struct wire_pem *pem);

/* Mutual-TLS credentials pinned to TLS 1.3 (NULL + err on failure). */
grpc_server_credentials *wire_tls_server_creds(const struct wire_tls *tls,
    struct mcp_err *err);
grpc_channel_credentials *wire_tls_channel_creds(const struct wire_tls *tls,
    struct mcp_err *err);

/*
 * Who is on the other end of a server call: a TLS peer named by its
 * certificate CN, or a local caller on the Unix socket.  -1 with
 * UNAUTHENTICATED when neither can be established.
 */
int wire_caller_identify(grpc_call *call, struct wire_caller *caller,
    struct mcp_err *err);
/*
 * The local allow decision (pure): root, or the socket group is configured
 * (has_group) and it is the peer's primary gid or one of its supplementary
 * groups.  1: allowed.
 */
int wire_local_allowed(uid_t uid, gid_t gid, const gid_t *groups,
    size_t ngroups, int has_group, gid_t group);
/* 1 when a trailing-'*' pattern or exact pattern matches identity. */
int wire_pattern_match(const char *pattern, const char *identity);
/* 1 when the allow list admits caller (operators: see wire.h). */
int wire_allowed(const char *const *allow, const char *const *operators,
    const struct wire_caller *caller);

/* caller->who from identity, local and uid. */
void wire_caller_set_who(struct wire_caller *caller);

/*
 * The Unix-socket listeners of a server (wire_unix.c).  Connections are
 * accepted by a thread of ours, their SO_PEERCRED read and decided on, and
 * each is handed to gRPC with grpc_server_add_channel_from_fd: an allowed
 * peer to the server proper, a refused one to the deny server, which
 * answers every call PERMISSION_DENIED.  gRPC names such a connection
 * "fd:N" (grpc_call_get_peer); wire_unix_peer maps that back to the
 * credentials recorded when fd N was accepted.
 */
struct wire_unix;
struct wire_unix *wire_unix_new(void);
/* Resolve the group by name (getgrnam_r); NULL or "": none. */
int wire_unix_set_group(struct wire_unix *u, const char *group,
    struct mcp_err *err);
/* Create, bind and chmod/chown the socket at path (not yet accepting). */
int wire_unix_listen(struct wire_unix *u, const char *path, struct mcp_err *err);
/* Start accepting: allowed peers to srv, refused ones to deny. */
int wire_unix_start(struct wire_unix *u, grpc_server *srv, grpc_server *deny,
    struct mcp_err *err);
/* Stop accepting and close the listeners (before the servers shut down). */
void wire_unix_stop(struct wire_unix *u);
/*
 * Fill caller->uid/gid/pid for a call whose peer is "fd:N" from the
 * connection accepted as fd N; why gets the refusal for a denied peer.
 * -1 when the peer is not one of ours.  Returns whether it was allowed.
 */
int wire_unix_peer(struct wire_unix *u, const char *peer,
    struct wire_caller *caller, char *why, size_t whysz);
/* Stop, remove the socket files, free. */
void wire_unix_free(struct wire_unix *u);

#endif

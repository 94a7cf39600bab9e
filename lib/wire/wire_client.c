/*
 * wire/wire_client.c: the gRPC client used by the CLI and the master.
 *
 * A client is one channel: insecure on "unix:PATH" (the node-local socket),
 * mutual TLS 1.3 on "host:port" (the server certificate must name the host
 * in a subjectAltName, as pki_issue() certificates do for their name,
 * localhost and 127.0.0.1).  Every call gets its own pluck completion
 * queue, so one client may be used from several threads at once.
 *
 * Errors: a non-OK status becomes the mcp_err code with the server's
 * message; when the channel never got a connection, the message says so and
 * names the address ("connect unix:/run/mcp/agent.sock: ...").
 */
#include "wire/wire_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/support/alloc.h>

#include "util/buf.h"

struct wire_client {
	char *address;
	grpc_channel *ch;
};

struct wire_client *
wire_client_new(const char *address, const struct wire_tls *tls,
    struct mcp_err *err)
{
	grpc_channel_credentials *creds;
	grpc_arg storage[WIRE_NARGS];
	grpc_channel_args args;
	struct wire_client *c;

	if (address == NULL || address[0] == '\0') {
		mcp_err_set(err, MCP_E_INVALID, "connect: no address");
		return NULL;
	}
	if (strncmp(address, "unix:", 5) == 0) {
		if (address[5] != '/') {
			mcp_err_set(err, MCP_E_INVALID,
			    "connect %s: want unix:/absolute/path", address);
			return NULL;
		}
	} else if (strrchr(address, ':') == NULL) {
		mcp_err_set(err, MCP_E_INVALID, "connect %s: want host:port or "
		    "unix:/path", address);
		return NULL;
	}
	wire_grpc_ref();
	if (strncmp(address, "unix:", 5) == 0)
		creds = grpc_insecure_credentials_create();
	else if ((creds = wire_tls_channel_creds(tls, err)) == NULL) {
		mcp_err_prefix(err, "connect %s", address);
		wire_grpc_unref();
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->address = xstrdup(address);
	wire_args_init(&args, storage, 0);
	c->ch = grpc_channel_create(address, creds, &args);
	grpc_channel_credentials_release(creds);
	return c;
}

struct wire_client *
wire_client_new_plain(const char *address, struct mcp_err *err)
{
	grpc_channel_credentials *creds;
	grpc_arg storage[WIRE_NARGS];
	grpc_channel_args args;
	struct wire_client *c;

	if (address == NULL || strncmp(address, "unix:", 5) == 0 ||
	    strrchr(address, ':') == NULL) {
		mcp_err_set(err, MCP_E_INVALID, "connect %s: want host:port",
		    address ? address : "");
		return NULL;
	}
	wire_grpc_ref();
	creds = grpc_insecure_credentials_create();
	c = xcalloc(1, sizeof(*c));
	c->address = xstrdup(address);
	wire_args_init(&args, storage, 0);
	c->ch = grpc_channel_create(address, creds, &args);
	grpc_channel_credentials_release(creds);
	return c;
}

void
wire_client_free(struct wire_client *c)
{
	if (c == NULL)
		return;
	grpc_channel_destroy(c->ch);
	free(c->address);
	free(c);
	wire_grpc_unref();
}

/* A call on its own pluck queue; *cqp must go to wire_call_free(). */
static grpc_call *
wire_call_new(struct wire_client *c, const char *method, int timeout_ms,
    grpc_completion_queue **cqp)
{
	grpc_slice m = grpc_slice_from_copied_string(method);
	grpc_call *call;

	*cqp = grpc_completion_queue_create_for_pluck(NULL);
	call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS,
	    *cqp, m, NULL, wire_deadline(timeout_ms), NULL);
	grpc_slice_unref(m);
	return call;
}

static void
wire_call_free(grpc_call *call, grpc_completion_queue *cq)
{
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
}

static int
wire_pluck(grpc_completion_queue *cq, void *tag)
{
	grpc_event ev = grpc_completion_queue_pluck(cq, tag,
	    gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);

	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static int
wire_ready(struct wire_client *c)
{
	return grpc_channel_check_connectivity_state(c->ch, 0) ==
	    GRPC_CHANNEL_READY;
}

/*
 * Turn a final status into err (-1), or return 0 for OK.  A status the
 * server sent (gRPC's debug string says "Error received from peer") is
 * passed on as is; one made up locally by the channel is a transport
 * failure and names the address: "connect ADDR: ..." when the call never
 * had a connection (was_ready: the channel was connected when it started).
 */
static int
wire_status_err(struct wire_client *c, const char *method, int was_ready,
    grpc_status_code status, grpc_slice details, const char *debug,
    int timeout_ms, struct mcp_err *err)
{
	char msg[MCP_ERR_MAX];
	size_t n = GRPC_SLICE_LENGTH(details);
	int from_peer = debug && strstr(debug, "Error received from peer");

	if (status == GRPC_STATUS_OK)
		return 0;
	if (n >= sizeof(msg))
		n = sizeof(msg) - 1;
	memcpy(msg, GRPC_SLICE_START_PTR(details), n);
	msg[n] = '\0';
	if (status < 0 || status > GRPC_STATUS_UNAUTHENTICATED)
		status = GRPC_STATUS_UNKNOWN;
	if (from_peer && msg[0])
		return mcp_err_set(err, (int)status, "%s", msg);
	if (status == GRPC_STATUS_DEADLINE_EXCEEDED && !was_ready && !wire_ready(c))
		return mcp_err_set(err, MCP_E_TIMEOUT,
		    "connect %s: no connection within %d ms", c->address,
		    timeout_ms);
	if (status == GRPC_STATUS_DEADLINE_EXCEEDED)
		return mcp_err_set(err, MCP_E_TIMEOUT, "%s %s: no answer within %d ms",
		    c->address, method, timeout_ms);
	if (status == GRPC_STATUS_UNAVAILABLE && !was_ready && !wire_ready(c))
		return mcp_err_set(err, MCP_E_UNAVAILABLE,
		    "connect %s: not reachable: %s", c->address,
		    msg[0] ? msg : "unavailable");
	if (status == GRPC_STATUS_UNAVAILABLE)
		return mcp_err_set(err, MCP_E_UNAVAILABLE,
		    "%s %s: connection lost: %s", c->address, method,
		    msg[0] ? msg : "unavailable");
	return mcp_err_set(err, (int)status, "%s %s: %s", c->address, method,
	    msg[0] ? msg : mcp_code_name((int)status));
}

int
wire_call(struct wire_client *c, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
    ProtobufCMessage **resp, int timeout_ms, struct mcp_err *err)
{
	grpc_metadata_array md_init, md_trail;
	grpc_byte_buffer *out, *in = NULL;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_op ops[6];
	const char *debug = NULL;
	char tag;
	int was_ready, rc = -1;

	*resp = NULL;
	was_ready = wire_ready(c);
	grpc_metadata_array_init(&md_init);
	grpc_metadata_array_init(&md_trail);
	call = wire_call_new(c, method, timeout_ms, &cq);
	out = wire_encode(req);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_init;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &in;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &md_trail;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;
	ops[5].data.recv_status_on_client.error_string = &debug;
	if (grpc_call_start_batch(call, ops, 6, &tag, NULL) != GRPC_CALL_OK) {
		mcp_err_set(err, MCP_E_INTERNAL, "%s %s: cannot start call",
		    c->address, method);
		goto out;
	}
	wire_pluck(cq, &tag);
	if (wire_status_err(c, method, was_ready, status, details, debug,
	    timeout_ms, err) == -1)
		goto out;
	if (in == NULL) {
		mcp_err_set(err, MCP_E_INTERNAL, "%s %s: no response message",
		    c->address, method);
		goto out;
	}
	if ((*resp = wire_decode(resp_desc, in, "response", err)) == NULL) {
		mcp_err_prefix(err, "%s %s", c->address, method);
		goto out;
	}
	rc = 0;
out:
	gpr_free((void *)debug);
	grpc_byte_buffer_destroy(out);
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&md_init);
	grpc_metadata_array_destroy(&md_trail);
	wire_call_free(call, cq);
	return rc;
}

int
wire_call_stream(struct wire_client *c, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
    int (*on_msg)(const ProtobufCMessage *msg, void *arg), void *arg,
    int timeout_ms, struct mcp_err *err)
{
	grpc_metadata_array md_init, md_trail;
	grpc_byte_buffer *out, *in;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_op ops[4];
	const char *debug = NULL;
	char tag_send, tag_status, tag_recv;
	int started_status = 0, stopped = 0, bad = 0, rc = -1;
	int was_ready = wire_ready(c);

	grpc_metadata_array_init(&md_init);
	grpc_metadata_array_init(&md_trail);
	call = wire_call_new(c, method, timeout_ms, &cq);
	out = wire_encode(req);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_init;
	if (grpc_call_start_batch(call, ops, 4, &tag_send, NULL) != GRPC_CALL_OK) {
		mcp_err_set(err, MCP_E_INTERNAL, "%s %s: cannot start call",
		    c->address, method);
		goto out;
	}
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &md_trail;
	ops[0].data.recv_status_on_client.status = &status;
	ops[0].data.recv_status_on_client.status_details = &details;
	ops[0].data.recv_status_on_client.error_string = &debug;
	if (grpc_call_start_batch(call, ops, 1, &tag_status, NULL) == GRPC_CALL_OK)
		started_status = 1;

	for (;;) {
		ProtobufCMessage *msg;
		int ok;

		in = NULL;
		memset(ops, 0, sizeof(ops));
		ops[0].op = GRPC_OP_RECV_MESSAGE;
		ops[0].data.recv_message.recv_message = &in;
		if (grpc_call_start_batch(call, ops, 1, &tag_recv, NULL) !=
		    GRPC_CALL_OK)
			break;
		ok = wire_pluck(cq, &tag_recv);
		if (!ok || in == NULL)
			break;	/* end of stream or failure: the status says */
		msg = wire_decode(resp_desc, in, "message", err);
		grpc_byte_buffer_destroy(in);
		if (msg == NULL) {
			bad = 1;
			grpc_call_cancel(call, NULL);
			break;
		}
		stopped = on_msg(msg, arg) != 0;
		protobuf_c_message_free_unpacked(msg, NULL);
		if (stopped) {
			grpc_call_cancel(call, NULL);
			break;
		}
	}
	wire_pluck(cq, &tag_send);
	if (started_status)
		wire_pluck(cq, &tag_status);
	if (bad)
		mcp_err_prefix(err, "%s %s", c->address, method);
	else if (stopped)
		rc = 0;
	else if (!started_status)
		mcp_err_set(err, MCP_E_INTERNAL, "%s %s: cannot wait for status",
		    c->address, method);
	else if (wire_status_err(c, method, was_ready, status, details, debug,
	    timeout_ms, err) == 0)
		rc = 0;
out:
	gpr_free((void *)debug);
	grpc_byte_buffer_destroy(out);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&md_init);
	grpc_metadata_array_destroy(&md_trail);
	wire_call_free(call, cq);
	return rc;
}

/* ---- client stream ---- */

struct wire_upload {
	struct wire_client *c;
	char method[256];
	grpc_call *call;
	grpc_completion_queue *cq;
	grpc_metadata_array md_init, md_trail;
	grpc_status_code status;
	grpc_slice details;
	const char *debug;
	int timeout_ms, was_ready;
	int md_started, status_started, status_done;
	int failed;			/* a send failed: err holds why */
	struct mcp_err err;
	char tag_md, tag_status, tag_send, tag_close;
};

struct wire_upload *
wire_upload_start(struct wire_client *c, const char *method, int timeout_ms,
    struct mcp_err *err)
{
	struct wire_upload *u = xcalloc(1, sizeof(*u));
	grpc_op ops[2];

	u->c = c;
	snprintf(u->method, sizeof(u->method), "%s", method);
	u->timeout_ms = timeout_ms;
	u->was_ready = wire_ready(c);
	u->status = GRPC_STATUS_UNKNOWN;
	u->details = grpc_empty_slice();
	u->err = (struct mcp_err)MCP_ERR_INIT;
	grpc_metadata_array_init(&u->md_init);
	grpc_metadata_array_init(&u->md_trail);
	u->call = wire_call_new(c, method, timeout_ms, &u->cq);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[1].data.recv_initial_metadata.recv_initial_metadata = &u->md_init;
	if (grpc_call_start_batch(u->call, ops, 2, &u->tag_md, NULL) == GRPC_CALL_OK)
		u->md_started = 1;
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &u->md_trail;
	ops[0].data.recv_status_on_client.status = &u->status;
	ops[0].data.recv_status_on_client.status_details = &u->details;
	ops[0].data.recv_status_on_client.error_string = &u->debug;
	if (grpc_call_start_batch(u->call, ops, 1, &u->tag_status, NULL) ==
	    GRPC_CALL_OK)
		u->status_started = 1;
	if (!u->md_started || !u->status_started) {
		mcp_err_set(err, MCP_E_INTERNAL, "%s %s: cannot start call",
		    c->address, method);
		wire_upload_cancel(u);
		return NULL;
	}
	return u;
}

/* Wait for the final status and turn it into err (-1) or 0. */
static int
wire_upload_status(struct wire_upload *u, struct mcp_err *err)
{
	if (!u->status_done) {
		wire_pluck(u->cq, &u->tag_status);
		u->status_done = 1;
	}
	return wire_status_err(u->c, u->method, u->was_ready, u->status,
	    u->details, u->debug, u->timeout_ms, err);
}

int
wire_upload_send(struct wire_upload *u, const ProtobufCMessage *msg,
    struct mcp_err *err)
{
	grpc_byte_buffer *bb;
	grpc_op op;
	int ok;

	if (u->failed) {
		*err = u->err;
		return -1;
	}
	bb = wire_encode(msg);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = bb;
	ok = grpc_call_start_batch(u->call, &op, 1, &u->tag_send, NULL) ==
	    GRPC_CALL_OK && wire_pluck(u->cq, &u->tag_send);
	grpc_byte_buffer_destroy(bb);
	if (ok)
		return 0;
	/* the call is over: the status says why (the server's refusal, a
	 * message too large for the channel, a lost connection) */
	u->failed = 1;
	if (wire_upload_status(u, &u->err) == 0)
		mcp_err_set(&u->err, MCP_E_UNAVAILABLE,
		    "%s %s: the server ended the call before the upload was "
		    "complete", u->c->address, u->method);
	*err = u->err;
	return -1;
}

static void
wire_upload_free(struct wire_upload *u)
{
	if (u->md_started)
		wire_pluck(u->cq, &u->tag_md);
	if (u->status_started && !u->status_done)
		wire_pluck(u->cq, &u->tag_status);
	gpr_free((void *)u->debug);
	grpc_slice_unref(u->details);
	grpc_metadata_array_destroy(&u->md_init);
	grpc_metadata_array_destroy(&u->md_trail);
	wire_call_free(u->call, u->cq);
	free(u);
}

int
wire_upload_finish(struct wire_upload *u,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
    struct mcp_err *err)
{
	grpc_byte_buffer *in = NULL;
	grpc_op ops[2];
	int rc = -1;

	*resp = NULL;
	if (u->failed) {
		*err = u->err;
		grpc_call_cancel(u->call, NULL);
		wire_upload_free(u);
		return -1;
	}
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[1].op = GRPC_OP_RECV_MESSAGE;
	ops[1].data.recv_message.recv_message = &in;
	if (grpc_call_start_batch(u->call, ops, 2, &u->tag_close, NULL) ==
	    GRPC_CALL_OK)
		wire_pluck(u->cq, &u->tag_close);
	if (wire_upload_status(u, err) == -1)
		goto out;
	if (in == NULL) {
		mcp_err_set(err, MCP_E_INTERNAL, "%s %s: no response message",
		    u->c->address, u->method);
		goto out;
	}
	if ((*resp = wire_decode(resp_desc, in, "response", err)) == NULL) {
		mcp_err_prefix(err, "%s %s", u->c->address, u->method);
		goto out;
	}
	rc = 0;
out:
	if (in)
		grpc_byte_buffer_destroy(in);
	wire_upload_free(u);
	return rc;
}

void
wire_upload_cancel(struct wire_upload *u)
{
	if (u == NULL)
		return;
	grpc_call_cancel(u->call, NULL);
	wire_upload_free(u);
}

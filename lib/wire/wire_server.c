/*
 * wire/wire_server.c: the gRPC server of an MCP daemon (SPEC §6).
 *
 * Threads.  One acceptor thread waits on the server's completion queue and
 * keeps WIRE_PENDING grpc_server_request_call()s outstanding.  Each request
 * carries its own pluck completion queue, bound to the call it receives, so
 * when a call arrives the acceptor hands it to a new detached thread that
 * drives it alone: a slow Deploy never blocks Status.  The server counts
 * live call threads so that shutdown can wait for them.
 *
 * One call.  The call thread first starts RECV_CLOSE_ON_SERVER; that op
 * completes only when the call ends, so before we have sent a status its
 * completion means the client cancelled, hit its deadline or disconnected
 * (wire_stream_cancelled() checks it with a non-blocking pluck).  Then:
 * identify the caller (wire_auth.c; a local caller's uid from
 * wire_unix.c) -> UNAUTHENTICATED, look the method up -> UNIMPLEMENTED,
 * check its allow patterns -> PERMISSION_DENIED, read the request, check
 * its text (wire_check.c: no NUL, UTF-8) and unpack it -> INVALID_ARGUMENT
 * naming the field, run the handler -> its mcp_err
 * code and message as the status, or OK with the response.  An upload
 * (client-streaming) method skips reading the request: its handler reads
 * each message itself with wire_stream_recv(), which applies the same
 * checks, and tells a clean end of the client's stream from one that broke
 * off (the call was cancelled: RECV_CLOSE_ON_SERVER completed).  Every
 * wait for a request message is bounded by the server's idle limit
 * (wire_rpc_recv), whatever deadline the client chose.
 *
 * Local callers.  wire_unix.c accepts Unix-socket connections itself and
 * hands allowed peers to srv, refused ones to deny: a second gRPC server
 * on the same completion queue whose calls the acceptor answers at once
 * with PERMISSION_DENIED naming the peer's uid.  No handler ever runs for
 * them.
 *
 * Shutdown.  Stop accepting on the Unix sockets, then in gRPC
 * (grpc_server_shutdown_and_notify, both servers), give calls
 * WIRE_GRACE_MS to finish (streams see wire_stream_cancelled() == 1), then
 * cancel the rest with UNAVAILABLE "server shutting down" and wait for
 * their threads, then grpc_server_cancel_all_calls() for whatever is left
 * (idle connections included), wait (bounded) for the acceptor, and destroy
 * everything.  If a handler is stuck past the bound the server
 * is deliberately leaked rather than freed under a running thread.
 */
#include "wire/wire_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "util/buf.h"
#include "util/log.h"

#define WIRE_PENDING	4	/* outstanding grpc_server_request_call()s */
#define WIRE_MAX_CALLS	256	/* concurrent calls; beyond: RESOURCE_EXHAUSTED */
#define WIRE_GRACE_MS	500	/* shutdown: let calls finish by themselves */
#define WIRE_DRAIN_MS	5000	/* shutdown: wait for cancelled calls */
#define WIRE_CLOSE_WAIT_MS 20	/* upload: clean end or cancelled? */
#define WIRE_RECV_IDLE_MS 600000 /* default: longest wait for an upload's next
				   message (an export's exec step or VACUUM may
				   come first) */
#define WIRE_REQUEST_MS	300000	/* ... and for a unary request (sent at once;
				   up to 64 MiB on a slow link) */

struct wire_stream {
	struct wire_rpc *rpc;
};

/* One call, from the request that awaits it to its last completion. */
struct wire_rpc {
	struct wire_server *s;
	grpc_completion_queue *cq;	/* pluck queue bound to the call */
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
	char method[256];
	const struct wire_method *m;
	struct wire_caller caller;
	struct wire_stream stream;
	int close_cancelled;		/* out of RECV_CLOSE_ON_SERVER */
	int close_started;
	int closed;			/* ... and it completed */
	int sent_md;			/* initial metadata sent */
	int broken;			/* a send or receive failed */
	int recv_done;			/* upload: the client closed its side */
	int deny;			/* on the deny server: refuse it */
	char tag_close, tag_op;		/* addresses are the pluck tags */
	char tag_send;			/* a bounded send still under way */
	grpc_byte_buffer *send_bb;	/* ... its message, kept until then */
	int send_pending;
	int send_slow;			/* a bounded send timed out */
	struct wire_rpc *prev, *next;	/* the server's live list */
};

struct wire_server {
	struct wire_method *methods;	/* copy of the table */
	size_t nmethods;
	void *ctx;
	grpc_server *srv;
	grpc_server *deny;		/* refused local peers (wire_unix.c) */
	grpc_completion_queue *cq;	/* acceptor's queue, for both */
	char tag_shutdown, tag_deny_shutdown;
	struct wire_unix *unix;		/* Unix-socket listeners */
	pthread_t acceptor;
	int started;
	atomic_int stopping;
	atomic_int recv_idle_ms;	/* wire_server_set_recv_idle */
	pthread_mutex_t mu;		/* guards what follows */
	pthread_cond_t cv;		/* ncalls changed */
	int ncalls;			/* live call threads */
	struct wire_rpc *live;		/* their calls, for shutdown */
	char **operators;		/* NULL-terminated copy */
};

static char **
wire_strv_dup(const char *const *v)
{
	size_t n = 0, i;
	char **out;

	while (v && v[n])
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void
wire_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static gpr_timespec
wire_forever(void)
{
	return gpr_inf_future(GPR_CLOCK_MONOTONIC);
}

/* ---- one call ---- */

static void
wire_rpc_free(struct wire_rpc *rpc)
{
	if (rpc->send_bb)
		grpc_byte_buffer_destroy(rpc->send_bb);
	if (rpc->call)
		grpc_call_unref(rpc->call);
	grpc_call_details_destroy(&rpc->details);
	grpc_metadata_array_destroy(&rpc->md);
	grpc_completion_queue_shutdown(rpc->cq);
	grpc_completion_queue_destroy(rpc->cq);
	free(rpc);
}

/*
 * Wait until deadline for a bounded send that timed out to complete; 1
 * once none is under way (rpc->broken if it failed), 0 if still pending.
 */
static int
wire_rpc_reap_send(struct wire_rpc *rpc, gpr_timespec deadline)
{
	grpc_event ev;

	if (!rpc->send_pending)
		return 1;
	ev = grpc_completion_queue_pluck(rpc->cq, &rpc->tag_send, deadline, NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT)
		return 0;
	if (!(ev.type == GRPC_OP_COMPLETE && ev.success))
		rpc->broken = 1;
	grpc_byte_buffer_destroy(rpc->send_bb);
	rpc->send_bb = NULL;
	rpc->send_pending = 0;
	return 1;
}

/* Run one batch on the call and wait for it; 1 if it succeeded. */
static int
wire_rpc_batch(struct wire_rpc *rpc, const grpc_op *ops, size_t n)
{
	grpc_event ev;

	if (grpc_call_start_batch(rpc->call, ops, n, &rpc->tag_op, NULL) !=
	    GRPC_CALL_OK)
		return 0;
	ev = grpc_completion_queue_pluck(rpc->cq, &rpc->tag_op, wire_forever(),
	    NULL);
	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

/*
 * Receive one request message, waiting at most the server's idle bound
 * for it whatever deadline the client chose: a client that sends nothing
 * (a slow-loris, a stalled upload) must not hold a call thread, nor the
 * locks its handler holds, for ever.  Past the bound the call is
 * cancelled with DEADLINE_EXCEEDED; 1 if the receive succeeded (*bb NULL
 * at the end of the client's stream), 0 if it failed, -1 if it timed out.
 */
static int
wire_rpc_recv(struct wire_rpc *rpc, grpc_byte_buffer **bb, int ms)
{
	grpc_event ev;
	grpc_op op;

	*bb = NULL;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = bb;
	if (grpc_call_start_batch(rpc->call, &op, 1, &rpc->tag_op, NULL) !=
	    GRPC_CALL_OK)
		return 0;
	ev = grpc_completion_queue_pluck(rpc->cq, &rpc->tag_op,
	    ms > 0 ? wire_deadline(ms) : wire_forever(), NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		grpc_call_cancel_with_status(rpc->call,
		    GRPC_STATUS_DEADLINE_EXCEEDED, "no request message within the "
		    "server's idle limit", NULL);
		/* the receive completes now (failed); its buffer is ours */
		grpc_completion_queue_pluck(rpc->cq, &rpc->tag_op, wire_forever(),
		    NULL);
		if (*bb) {
			grpc_byte_buffer_destroy(*bb);
			*bb = NULL;
		}
		rpc->broken = 1;
		return -1;
	}
	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static void
wire_rpc_watch_close(struct wire_rpc *rpc)
{
	grpc_op op;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &rpc->close_cancelled;
	if (grpc_call_start_batch(rpc->call, &op, 1, &rpc->tag_close, NULL) ==
	    GRPC_CALL_OK)
		rpc->close_started = 1;
}

/* Has the call ended (before our status: been cancelled)?  Waits up to
 * ms for it (0: just looks). */
static int
wire_rpc_closed_within(struct wire_rpc *rpc, int ms)
{
	grpc_event ev;

	if (rpc->closed || !rpc->close_started)
		return rpc->closed;
	ev = grpc_completion_queue_pluck(rpc->cq, &rpc->tag_close,
	    ms > 0 ? wire_deadline(ms) : gpr_inf_past(GPR_CLOCK_MONOTONIC), NULL);
	if (ev.type == GRPC_OP_COMPLETE)
		rpc->closed = 1;
	return rpc->closed;
}

static int
wire_rpc_closed(struct wire_rpc *rpc)
{
	return wire_rpc_closed_within(rpc, 0);
}

static const struct wire_method *
wire_lookup(struct wire_server *s, const char *path)
{
	for (size_t i = 0; i < s->nmethods; i++)
		if (strcmp(s->methods[i].path, path) == 0)
			return &s->methods[i];
	return NULL;
}

/* Who is calling, which method, and may they call it. */
static int
wire_rpc_admit(struct wire_rpc *rpc, struct mcp_err *err)
{
	struct wire_server *s = rpc->s;
	int ok;

	if (wire_caller_identify(rpc->call, &rpc->caller, err) == -1) {
		log_warnx("%s: %s: %s", __func__, rpc->method, err->msg);
		return -1;
	}
	/* 0: fd N now belongs to a refused peer, so ours was closed */
	if (rpc->caller.local &&
	    wire_unix_peer(s->unix, rpc->caller.peer, &rpc->caller, NULL, 0) != 1)
		return mcp_err_set(err, MCP_E_UNAVAILABLE,
		    "%s: local connection %s is gone", rpc->method,
		    rpc->caller.peer);
	wire_caller_set_who(&rpc->caller);
	if ((rpc->m = wire_lookup(s, rpc->method)) == NULL)
		return mcp_err_set(err, MCP_E_UNIMPLEMENTED,
		    "unknown method %s", rpc->method);
	pthread_mutex_lock(&s->mu);
	ok = wire_allowed(rpc->m->allow, (const char *const *)s->operators,
	    &rpc->caller);
	pthread_mutex_unlock(&s->mu);
	if (!ok) {
		mcp_err_set(err, MCP_E_PERM, "permission denied: %s may not call %s",
		    rpc->caller.who, rpc->method);
		log_warnx("%s: %s (peer %s)", __func__, err->msg, rpc->caller.peer);
		return -1;
	}
	return 0;
}

/* "Deploy" of "/mcp.v1.Agent/Deploy": how errors name the method. */
static const char *
wire_short_method(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int
wire_rpc_read(struct wire_rpc *rpc, ProtobufCMessage **req, struct mcp_err *err)
{
	grpc_byte_buffer *bb = NULL;
	int ms = atomic_load(&rpc->s->recv_idle_ms), ok;

	if (ms > WIRE_REQUEST_MS)
		ms = WIRE_REQUEST_MS;
	if ((ok = wire_rpc_recv(rpc, &bb, ms)) == -1)
		return mcp_err_set(err, MCP_E_TIMEOUT, "%s: no request from %s "
		    "within %d ms", rpc->method, rpc->caller.who, ms);
	if (!ok) {
		if (bb)
			grpc_byte_buffer_destroy(bb);
		return mcp_err_set(err, MCP_E_CANCELLED,
		    "%s: cancelled before the request arrived", rpc->method);
	}
	if (bb == NULL)
		return mcp_err_set(err, MCP_E_INVALID, "%s: no request message",
		    rpc->method);
	*req = wire_decode(rpc->m->req_desc, bb, wire_short_method(rpc->method),
	    err);
	grpc_byte_buffer_destroy(bb);
	if (*req == NULL) {
		log_warnx("%s: %s from %s: %s", __func__, rpc->method,
		    rpc->caller.identity, err->msg);
		return -1;
	}
	return 0;
}

static int
wire_rpc_run(struct wire_rpc *rpc, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	const struct wire_method *m = rpc->m;
	int rc;

	if (m->unary || m->upload) {
		rc = m->unary ? m->unary(rpc->s->ctx, &rpc->caller, req, resp, err) :
		    m->upload(rpc->s->ctx, &rpc->caller, &rpc->stream, resp, err);
		if (rc == 0 && (*resp == NULL || (*resp)->descriptor != m->resp_desc)) {
			if (*resp)
				protobuf_c_message_free_unpacked(*resp, NULL);
			*resp = NULL;
			return mcp_err_set(err, MCP_E_INTERNAL,
			    "%s: handler returned no %s", rpc->method,
			    m->resp_desc->name);
		}
	} else {
		rc = m->stream(rpc->s->ctx, &rpc->caller, req, &rpc->stream, err);
	}
	if (rc == 0)
		return 0;
	if (err->code <= 0 || err->code > MCP_E_UNAUTHENTICATED)
		err->code = MCP_E_UNKNOWN;
	if (err->msg[0] == '\0')
		snprintf(err->msg, sizeof(err->msg), "%s: failed", rpc->method);
	log_debug("%s: %s by %s: %s: %s", __func__, rpc->method,
	    rpc->caller.who, mcp_code_name(err->code), err->msg);
	return -1;
}

/* Send the response (if any) and the status: err NULL means OK. */
static void
wire_rpc_finish(struct wire_rpc *rpc, const struct mcp_err *err,
    const ProtobufCMessage *resp)
{
	grpc_byte_buffer *bb = NULL;
	grpc_slice details;
	grpc_op ops[3];
	size_t n = 0;

	/* one send at a time: a bounded one still under way ends first (the
	 * call's deadline or cancellation bounds it) */
	wire_rpc_reap_send(rpc, wire_forever());
	memset(ops, 0, sizeof(ops));
	if (!rpc->sent_md) {
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
		rpc->sent_md = 1;
	}
	if (resp) {
		bb = wire_encode(resp);
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = bb;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	if (err) {
		details = grpc_slice_from_copied_string(err->msg);
		ops[n].data.send_status_from_server.status =
		    (grpc_status_code)err->code;
		ops[n].data.send_status_from_server.status_details = &details;
	} else {
		details = grpc_empty_slice();
		ops[n].data.send_status_from_server.status = GRPC_STATUS_OK;
	}
	n++;
	wire_rpc_batch(rpc, ops, n);
	grpc_slice_unref(details);
	if (bb)
		grpc_byte_buffer_destroy(bb);
}

static void
wire_live_add(struct wire_server *s, struct wire_rpc *rpc)
{
	rpc->prev = NULL;
	rpc->next = s->live;
	if (s->live)
		s->live->prev = rpc;
	s->live = rpc;
}

static void
wire_live_remove(struct wire_server *s, struct wire_rpc *rpc)
{
	if (rpc->prev)
		rpc->prev->next = rpc->next;
	else
		s->live = rpc->next;
	if (rpc->next)
		rpc->next->prev = rpc->prev;
	rpc->prev = rpc->next = NULL;
}

/* Wait for the call to be over on the transport, then free it. */
static void
wire_rpc_end(struct wire_rpc *rpc)
{
	struct wire_server *s = rpc->s;

	if (rpc->close_started && !rpc->closed)
		grpc_completion_queue_pluck(rpc->cq, &rpc->tag_close,
		    wire_forever(), NULL);
	pthread_mutex_lock(&s->mu);
	wire_live_remove(s, rpc);
	pthread_mutex_unlock(&s->mu);
	wire_rpc_free(rpc);
}

static void
wire_call_done(struct wire_server *s)
{
	pthread_mutex_lock(&s->mu);
	s->ncalls--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void *
wire_rpc_main(void *arg)
{
	struct wire_rpc *rpc = arg;
	struct wire_server *s = rpc->s;
	struct mcp_err err = MCP_ERR_INIT;
	ProtobufCMessage *req = NULL, *resp = NULL;
	int rc;

	wire_rpc_watch_close(rpc);
	rc = wire_rpc_admit(rpc, &err);
	if (rc == 0 && rpc->m->upload == NULL)
		rc = wire_rpc_read(rpc, &req, &err);
	if (rc == 0)
		rc = wire_rpc_run(rpc, req, &resp, &err);
	wire_rpc_finish(rpc, rc == 0 ? NULL : &err, resp);
	if (req)
		protobuf_c_message_free_unpacked(req, NULL);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	wire_rpc_end(rpc);
	wire_call_done(s);
	return NULL;
}

/* Answer a call without a thread of its own (overload). */
static void
wire_rpc_reject(struct wire_rpc *rpc, const char *why)
{
	struct mcp_err err = MCP_ERR_INIT;

	mcp_err_set(&err, MCP_E_RESOURCE, "%s: %s", rpc->method, why);
	log_warnx("%s: %s", __func__, err.msg);
	wire_rpc_finish(rpc, &err, NULL);
	wire_rpc_free(rpc);
}

int
wire_stream_send(struct wire_stream *st, const ProtobufCMessage *msg)
{
	struct wire_rpc *rpc = st->rpc;
	grpc_byte_buffer *bb;
	grpc_op ops[2];
	size_t n = 0;
	int ok;

	if (msg->descriptor != rpc->m->resp_desc) {
		log_warnx("%s: %s: message is a %s, not a %s", __func__,
		    rpc->method, msg->descriptor->name, rpc->m->resp_desc->name);
		return -1;
	}
	if (wire_stream_cancelled(st))
		return -1;
	/* a bounded send that timed out completes first */
	wire_rpc_reap_send(rpc, wire_forever());
	if (rpc->broken)
		return -1;
	memset(ops, 0, sizeof(ops));
	if (!rpc->sent_md) {
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
		rpc->sent_md = 1;
	}
	bb = wire_encode(msg);
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n++].data.send_message.send_message = bb;
	ok = wire_rpc_batch(rpc, ops, n);
	grpc_byte_buffer_destroy(bb);
	if (!ok) {
		rpc->broken = 1;
		return -1;
	}
	return 0;
}

int
wire_stream_send_within(struct wire_stream *st, const ProtobufCMessage *msg,
    int ms)
{
	struct wire_rpc *rpc = st->rpc;
	grpc_byte_buffer *bb;
	grpc_event ev;
	grpc_op ops[2];
	size_t n = 0;

	if (msg->descriptor != rpc->m->resp_desc) {
		log_warnx("%s: %s: message is a %s, not a %s", __func__,
		    rpc->method, msg->descriptor->name, rpc->m->resp_desc->name);
		return -1;
	}
	if (rpc->send_slow || rpc->broken || wire_stream_cancelled(st))
		return -1;
	memset(ops, 0, sizeof(ops));
	if (!rpc->sent_md) {
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
		rpc->sent_md = 1;
	}
	bb = wire_encode(msg);
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n++].data.send_message.send_message = bb;
	if (grpc_call_start_batch(rpc->call, ops, n, &rpc->tag_send, NULL) !=
	    GRPC_CALL_OK) {
		grpc_byte_buffer_destroy(bb);
		rpc->broken = 1;
		return -1;
	}
	ev = grpc_completion_queue_pluck(rpc->cq, &rpc->tag_send,
	    wire_deadline(ms), NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		/* left under way: the next unbounded send or the status waits */
		rpc->send_bb = bb;
		rpc->send_pending = 1;
		rpc->send_slow = 1;
		log_warnx("%s: %s: %s took no message for %d ms; dropping further "
		    "bounded sends on this call", __func__, rpc->method,
		    rpc->caller.who, ms);
		return -1;
	}
	grpc_byte_buffer_destroy(bb);
	if (!(ev.type == GRPC_OP_COMPLETE && ev.success)) {
		rpc->broken = 1;
		return -1;
	}
	return 0;
}

int
wire_stream_recv(struct wire_stream *st, ProtobufCMessage **msg,
    struct mcp_err *err)
{
	struct wire_rpc *rpc = st->rpc;
	grpc_byte_buffer *bb = NULL;
	int ok;

	*msg = NULL;
	if (rpc->m->upload == NULL)
		return mcp_err_set(err, MCP_E_INTERNAL,
		    "%s: not a client-streaming method", rpc->method);
	if (rpc->recv_done)
		return 0;
	if (rpc->broken || atomic_load(&rpc->s->stopping))
		return mcp_err_set(err, MCP_E_CANCELLED,
		    "%s: the request stream broke off", rpc->method);
	ok = wire_rpc_recv(rpc, &bb, atomic_load(&rpc->s->recv_idle_ms));
	if (ok == -1)
		return mcp_err_set(err, MCP_E_TIMEOUT, "%s: nothing more from %s "
		    "within %d ms; the upload was dropped", rpc->method,
		    rpc->caller.who, atomic_load(&rpc->s->recv_idle_ms));
	/*
	 * A cancelled call (client gone, deadline) also ends with no message,
	 * and its RECV_CLOSE_ON_SERVER may complete a moment later: only a
	 * call still open, within its deadline, after WIRE_CLOSE_WAIT_MS was
	 * a clean close of the client's side.
	 */
	if (!ok || (bb == NULL && (gpr_time_cmp(gpr_now(GPR_CLOCK_REALTIME),
	    gpr_convert_clock_type(rpc->details.deadline, GPR_CLOCK_REALTIME)) >= 0 ||
	    wire_rpc_closed_within(rpc, WIRE_CLOSE_WAIT_MS)))) {
		if (bb)
			grpc_byte_buffer_destroy(bb);
		rpc->broken = 1;
		return mcp_err_set(err, MCP_E_CANCELLED,
		    "%s: the request stream from %s broke off", rpc->method,
		    rpc->caller.who);
	}
	if (bb == NULL) {
		rpc->recv_done = 1;
		return 0;
	}
	*msg = wire_decode(rpc->m->req_desc, bb, wire_short_method(rpc->method),
	    err);
	grpc_byte_buffer_destroy(bb);
	if (*msg == NULL) {
		log_warnx("%s: %s from %s: %s", __func__, rpc->method,
		    rpc->caller.identity, err->msg);
		return -1;
	}
	return 1;
}

int
wire_stream_cancelled(struct wire_stream *st)
{
	struct wire_rpc *rpc = st->rpc;

	return rpc->broken || atomic_load(&rpc->s->stopping) || wire_rpc_closed(rpc);
}

/* ---- acceptor ---- */

static void
wire_request(struct wire_server *s, int deny)
{
	struct wire_rpc *rpc = xcalloc(1, sizeof(*rpc));
	grpc_call_error e;

	rpc->s = s;
	rpc->deny = deny;
	rpc->stream.rpc = rpc;
	rpc->cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_call_details_init(&rpc->details);
	grpc_metadata_array_init(&rpc->md);
	e = grpc_server_request_call(deny ? s->deny : s->srv, &rpc->call,
	    &rpc->details,
	    &rpc->md, rpc->cq, s->cq, rpc);
	if (e != GRPC_CALL_OK) {
		log_warnx("%s: grpc_server_request_call: error %d", __func__, e);
		wire_rpc_free(rpc);
	}
}

/*
 * A call on the deny server: PERMISSION_DENIED naming the peer's uid.
 * Cancelling with a status sends it without waiting for the write, so a
 * refused peer that never reads cannot hold up the acceptor.
 */
static void
wire_rpc_refuse(struct wire_server *s, struct wire_rpc *rpc)
{
	struct wire_caller c;
	char why[160] = "", msg[400];
	char *peer = grpc_call_get_peer(rpc->call);

	memset(&c, 0, sizeof(c));
	if (peer == NULL || wire_unix_peer(s->unix, peer, &c, why, sizeof(why)) != 0)
		snprintf(why, sizeof(why), "local peer %s is not allowed",
		    peer ? peer : "?");
	gpr_free(peer);
	snprintf(msg, sizeof(msg), "permission denied: %s (may not call %s)", why,
	    rpc->method);
	log_warnx("%s: %s", __func__, msg);
	grpc_call_cancel_with_status(rpc->call, GRPC_STATUS_PERMISSION_DENIED, msg,
	    NULL);
	wire_rpc_free(rpc);
}

static void
wire_dispatch(struct wire_server *s, struct wire_rpc *rpc)
{
	size_t n = GRPC_SLICE_LENGTH(rpc->details.method);
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (n >= sizeof(rpc->method))
		n = sizeof(rpc->method) - 1;
	memcpy(rpc->method, GRPC_SLICE_START_PTR(rpc->details.method), n);
	rpc->method[n] = '\0';

	if (rpc->deny) {
		wire_rpc_refuse(s, rpc);
		return;
	}
	pthread_mutex_lock(&s->mu);
	if (s->ncalls >= WIRE_MAX_CALLS) {
		pthread_mutex_unlock(&s->mu);
		wire_rpc_reject(rpc, "too many concurrent calls");
		return;
	}
	s->ncalls++;
	wire_live_add(s, rpc);
	pthread_mutex_unlock(&s->mu);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, wire_rpc_main, rpc);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		char eb[MCP_STRERROR_MAX];

		pthread_mutex_lock(&s->mu);
		wire_live_remove(s, rpc);
		pthread_mutex_unlock(&s->mu);
		wire_call_done(s);
		wire_rpc_reject(rpc, mcp_strerror(rc, eb, sizeof(eb)));
	}
}

static void *
wire_acceptor(void *arg)
{
	struct wire_server *s = arg;
	grpc_event ev;
	int shut = 0;

	for (int i = 0; i < WIRE_PENDING; i++) {
		wire_request(s, 0);
		wire_request(s, 1);
	}
	for (;;) {
		ev = grpc_completion_queue_next(s->cq, wire_forever(), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		if (ev.tag == &s->tag_shutdown || ev.tag == &s->tag_deny_shutdown) {
			if (++shut == 2)	/* both servers are done */
				grpc_completion_queue_shutdown(s->cq);
			continue;
		}
		if (!ev.success) {	/* request failed: shutting down */
			wire_rpc_free(ev.tag);
			continue;
		}
		if (!atomic_load(&s->stopping))
			wire_request(s, ((struct wire_rpc *)ev.tag)->deny);
		wire_dispatch(s, ev.tag);
	}
	return NULL;
}

/* ---- server ---- */

struct wire_server *
wire_server_new(const struct wire_method *methods, size_t nmethods, void *ctx,
    struct mcp_err *err)
{
	grpc_arg storage[WIRE_NARGS];
	grpc_channel_args args;
	pthread_condattr_t ca;
	struct wire_server *s;

	for (size_t i = 0; i < nmethods; i++) {
		const struct wire_method *m = &methods[i];

		if (m->path == NULL || m->path[0] != '/' || m->req_desc == NULL ||
		    m->resp_desc == NULL || (m->unary != NULL) + (m->stream != NULL) +
		    (m->upload != NULL) != 1) {
			mcp_err_set(err, MCP_E_INVALID, "wire server: method %zu (%s): "
			    "needs a /path, both descriptors and one handler", i,
			    m->path ? m->path : "no path");
			return NULL;
		}
	}
	s = xcalloc(1, sizeof(*s));
	s->methods = xcalloc(nmethods ? nmethods : 1, sizeof(*s->methods));
	if (nmethods)
		memcpy(s->methods, methods, nmethods * sizeof(*methods));
	s->nmethods = nmethods;
	s->ctx = ctx;
	s->operators = wire_strv_dup(NULL);
	s->unix = wire_unix_new();
	pthread_mutex_init(&s->mu, NULL);
	atomic_init(&s->recv_idle_ms, WIRE_RECV_IDLE_MS);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);

	wire_grpc_ref();
	wire_args_init(&args, storage, 1);
	s->srv = grpc_server_create(&args, NULL);
	s->deny = grpc_server_create(&args, NULL);
	s->cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(s->srv, s->cq, NULL);
	grpc_server_register_completion_queue(s->deny, s->cq, NULL);
	return s;
}

void
wire_server_set_recv_idle(struct wire_server *s, int ms)
{
	atomic_store(&s->recv_idle_ms, ms > 0 ? ms : WIRE_RECV_IDLE_MS);
}

void
wire_server_set_operators(struct wire_server *s, const char *const *patterns)
{
	char **v = wire_strv_dup(patterns), **old;

	pthread_mutex_lock(&s->mu);
	old = s->operators;
	s->operators = v;
	pthread_mutex_unlock(&s->mu);
	wire_strv_free(old);
}

int
wire_server_set_socket_group(struct wire_server *s, const char *group,
    struct mcp_err *err)
{
	if (s->started)
		return mcp_err_set(err, MCP_E_PRECONDITION,
		    "socket group: server already started");
	return wire_unix_set_group(s->unix, group, err);
}

int
wire_server_add_unix(struct wire_server *s, const char *path, struct mcp_err *err)
{
	if (s->started)
		return mcp_err_set(err, MCP_E_PRECONDITION,
		    "listen unix:%s: server already started", path ? path : "");
	return wire_unix_listen(s->unix, path, err);
}

int
wire_server_add_tls(struct wire_server *s, const char *addr,
    const struct wire_tls *tls, struct mcp_err *err)
{
	grpc_server_credentials *creds;
	int port;

	if (s->started)
		return mcp_err_set(err, MCP_E_PRECONDITION,
		    "listen %s: server already started", addr);
	if (addr == NULL || strchr(addr, ':') == NULL)
		return mcp_err_set(err, MCP_E_INVALID,
		    "listen %s: want host:port", addr ? addr : "");
	if ((creds = wire_tls_server_creds(tls, err)) == NULL)
		return mcp_err_prefix(err, "listen %s", addr);
	port = grpc_server_add_http2_port(s->srv, addr, creds);
	grpc_server_credentials_release(creds);
	if (port == 0)
		return mcp_err_set(err, MCP_E_UNAVAILABLE,
		    "listen %s: cannot bind it or load the certificate/key "
		    "(see the log)", addr);
	return port;
}

int
wire_server_start(struct wire_server *s, struct mcp_err *err)
{
	int rc;

	if (s->started)
		return mcp_err_set(err, MCP_E_PRECONDITION, "wire server: already started");
	grpc_server_start(s->srv);
	grpc_server_start(s->deny);
	if ((rc = pthread_create(&s->acceptor, NULL, wire_acceptor, s)) != 0)
		return mcp_err_errno(err, rc, "wire server: start acceptor thread");
	s->started = 1;
	/* after grpc_server_start: fds handed over need its pollsets */
	return wire_unix_start(s->unix, s->srv, s->deny, err);
}

/* Wait until no call thread is left, at most ms; 1 if none is. */
static int
wire_wait_calls(struct wire_server *s, int ms)
{
	struct timespec ts;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->mu);
	while (s->ncalls > 0)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
			break;
	n = s->ncalls;
	pthread_mutex_unlock(&s->mu);
	return n == 0;
}

/* Cancel the calls still running, with a status that says why. */
static void
wire_cancel_live(struct wire_server *s)
{
	pthread_mutex_lock(&s->mu);
	for (struct wire_rpc *r = s->live; r; r = r->next)
		grpc_call_cancel_with_status(r->call, GRPC_STATUS_UNAVAILABLE,
		    "server shutting down", NULL);
	pthread_mutex_unlock(&s->mu);
}

static int
wire_join_acceptor(struct wire_server *s, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000 + 1;
	return pthread_timedjoin_np(s->acceptor, NULL, &ts) == 0;
}

/* Shutdown of a server that never started: collect its tag ourselves. */
static void
wire_drain_unstarted(struct wire_server *s)
{
	grpc_event ev;
	int shut = 0;

	grpc_server_shutdown_and_notify(s->srv, s->cq, &s->tag_shutdown);
	grpc_server_shutdown_and_notify(s->deny, s->cq, &s->tag_deny_shutdown);
	for (;;) {
		ev = grpc_completion_queue_next(s->cq, wire_forever(), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE && (ev.tag == &s->tag_shutdown ||
		    ev.tag == &s->tag_deny_shutdown) && ++shut == 2)
			grpc_completion_queue_shutdown(s->cq);
	}
}

void
wire_server_free(struct wire_server *s)
{
	if (s == NULL)
		return;
	wire_unix_stop(s->unix);	/* no new connections from here on */
	if (s->started) {
		atomic_store(&s->stopping, 1);
		grpc_server_shutdown_and_notify(s->srv, s->cq, &s->tag_shutdown);
		grpc_server_shutdown_and_notify(s->deny, s->cq,
		    &s->tag_deny_shutdown);
		if (!wire_wait_calls(s, WIRE_GRACE_MS)) {
			/* cancelled with a status the client can read, while
			 * the connection is still up */
			wire_cancel_live(s);
			wire_wait_calls(s, WIRE_DRAIN_MS);
		}
		/* the rest: calls not yet dispatched, idle connections */
		grpc_server_cancel_all_calls(s->srv);
		grpc_server_cancel_all_calls(s->deny);
		if (!wire_join_acceptor(s, WIRE_DRAIN_MS) ||
		    !wire_wait_calls(s, WIRE_DRAIN_MS)) {
			log_warnx("%s: %d calls still running after shutdown; "
			    "leaving the server allocated", __func__, s->ncalls);
			return;
		}
	} else {
		wire_drain_unstarted(s);
	}
	grpc_server_destroy(s->srv);
	grpc_server_destroy(s->deny);
	grpc_completion_queue_destroy(s->cq);
	wire_unix_free(s->unix);
	wire_strv_free(s->operators);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->methods);
	free(s);
	wire_grpc_unref();
}

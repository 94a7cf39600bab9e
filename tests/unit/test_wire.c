/*
 * tests/unit/test_wire.c: the gRPC transport (lib/wire) end to end, in one
 * process: a real server with a few mcp.v1.Agent methods on a Unix socket
 * in a temp dir and on 127.0.0.1:0 with mutual TLS, certificates made with
 * the openssl CLI, and real clients (wire_client, and the Python interop
 * client when /usr/bin/python3 has grpcio).
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.pb-c.h"
#include "util/buf.h"
#include "util/spawn.h"
#include "wire/wire.h"
#include "wire/wire_int.h"

#define M_HEALTH "/mcp.v1.Agent/HealthCheck"
#define M_STATUS "/mcp.v1.Agent/Status"
#define M_DEPLOY "/mcp.v1.Agent/Deploy"
#define M_LOGS "/mcp.v1.Agent/Logs"
#define M_PUSH "/mcp.v1.Agent/PushFile"
#define M_PULL "/mcp.v1.Agent/PullFile"
#define M_IMPORT "/mcp.v1.Agent/ImportServiceData"

#define INTEROP_CLIENT "tests/interop/agent_client.py"

/* What the handlers saw, for the tests to check. */
struct seen {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stream_started;
	int stream_cancel_seen;
	long long cancel_seen_ms;	/* when a follow stream noticed */
	int stubborn_done;
	int upload_ended;		/* the upload handler returned */
	int upload_rc;			/* ... with this */
	int upload_code;		/* ... and this error code */
	int upload_msgs;		/* messages it read */
};

static struct {
	char dir[64];
	char pki[128];
	char sock[160];
	int port;
	char addr[64];
	struct wire_server *srv;
	struct seen seen;
} fx;

static const char *const allow_any[] = { "*", NULL };
static const char *const allow_ops[] = { "@operator", NULL };
static const char *const allow_master[] = { "mcp-master", NULL };
static const char *const operators[] = { "operator-*", NULL };

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- handlers ---- */

static int
h_health(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	Mcp__V1__HealthCheckResponse *r = (void *)wire_msg_new(
	    &mcp__v1__health_check_response__descriptor);

	(void)ctx;
	(void)req;
	(void)err;
	r->status = xstrdup("ok");
	r->node = xstrdup(c->identity);
	r->version = xstrdup(c->local ? c->who : "tls");
	*resp = &r->base;
	return 0;
}

static int
h_status(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__StatusRequest *q = (const void *)req;
	Mcp__V1__StatusResponse *r;

	(void)ctx;
	if (strcmp(q->service, "missing") == 0)
		return mcp_err_set(err, MCP_E_NOTFOUND, "service %s: not found",
		    q->service);
	if (strcmp(q->service, "silent") == 0)
		return -1;
	if (strcmp(q->service, "noresp") == 0)
		return 0;
	if (strcmp(q->service, "slow") == 0)
		usleep(1000 * 1000);
	r = (void *)wire_msg_new(&mcp__v1__status_response__descriptor);
	/* "badtext": a response a client must not take for text */
	r->node = xstrdup(strcmp(q->service, "badtext") == 0 ? "n\xff" "de" :
	    c->identity);
	*resp = &r->base;
	return 0;
}

static int
h_deploy(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	Mcp__V1__DeployResponse *r = (void *)wire_msg_new(
	    &mcp__v1__deploy_response__descriptor);

	(void)ctx;
	(void)c;
	(void)req;
	(void)err;
	r->n_actions = 1;
	r->actions = xcalloc(1, sizeof(char *));
	r->actions[0] = xstrdup("deployed");
	*resp = &r->base;
	return 0;
}

static int
send_chunk(struct wire_stream *st, int i)
{
	Mcp__V1__LogChunk ch = MCP__V1__LOG_CHUNK__INIT;
	char line[32];

	snprintf(line, sizeof(line), "line %d\n", i);
	ch.data.data = (uint8_t *)line;
	ch.data.len = strlen(line);
	return wire_stream_send(st, &ch.base);
}

static void
seen_update(void (*fn)(struct seen *))
{
	pthread_mutex_lock(&fx.seen.mu);
	fn(&fx.seen);
	pthread_cond_broadcast(&fx.seen.cv);
	pthread_mutex_unlock(&fx.seen.mu);
}

static void mark_started(struct seen *s) { s->stream_started = 1; }
static void mark_cancel(struct seen *s)
{
	s->stream_cancel_seen = 1;
	s->cancel_seen_ms = now_ms();
}
static void mark_stubborn(struct seen *s) { s->stubborn_done = 1; }

/* What the "slowclient" Logs handler saw (bounded sends to a stalled client). */
static struct {
	int ok;			/* bounded sends that went */
	int timed_out;		/* one did not, within SLOW_SEND_MS */
	long long waited_ms;	/* how long that one took to give up */
	int after;		/* a bounded send after it: its rc */
	int final_rc;		/* the unbounded final send: its rc */
	int done;
} slow_out;

#define SLOW_SEND_MS 300
#define SLOW_CHUNK (4u << 20)

static void mark_slow(struct seen *s) { (void)s; slow_out.done = 1; }

/* Bounded 4 MiB sends until one times out (the client stalls), one more
 * bounded send (dropped at once), then the final one, unbounded. */
static int
h_logs_slow(struct wire_stream *st)
{
	Mcp__V1__LogChunk ch = MCP__V1__LOG_CHUNK__INIT;
	long long t0;
	int i;

	ch.data.data = malloc(SLOW_CHUNK);
	memset(ch.data.data, 'z', SLOW_CHUNK);
	ch.data.len = SLOW_CHUNK;
	for (i = 0; i < 64; i++) {
		t0 = now_ms();
		if (wire_stream_send_within(st, &ch.base, SLOW_SEND_MS) == -1) {
			slow_out.timed_out = 1;
			slow_out.waited_ms = now_ms() - t0;
			break;
		}
		slow_out.ok++;
	}
	slow_out.after = wire_stream_send_within(st, &ch.base, SLOW_SEND_MS);
	free(ch.data.data);
	ch.data.data = (uint8_t *)"final\n";
	ch.data.len = 6;
	slow_out.final_rc = wire_stream_send(st, &ch.base);
	seen_update(mark_slow);
	return 0;
}

/* Logs: tail chunks; follow: then idle until cancelled; "stubborn": send
 * every 20 ms until a send fails, never looking at wire_stream_cancelled. */
static int
h_logs(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    struct wire_stream *st, struct mcp_err *err)
{
	const Mcp__V1__LogsRequest *q = (const void *)req;
	int i;

	(void)ctx;
	(void)c;
	if (strcmp(q->component, "slowclient") == 0)
		return h_logs_slow(st);
	if (strcmp(q->component, "stubborn") == 0) {
		seen_update(mark_started);
		for (i = 0; send_chunk(st, i) == 0; i++)
			usleep(20000);
		seen_update(mark_stubborn);
		return mcp_err_set(err, MCP_E_CANCELLED, "stubborn: stopped");
	}
	for (i = 0; i < q->tail; i++)
		if (send_chunk(st, i) == -1)
			return mcp_err_set(err, MCP_E_CANCELLED, "logs: client gone");
	if (!q->follow)
		return 0;
	seen_update(mark_started);
	while (!wire_stream_cancelled(st))
		usleep(10000);
	seen_update(mark_cancel);
	return mcp_err_set(err, MCP_E_CANCELLED, "logs: cancelled");
}

static int
h_push(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__PushFileRequest *q = (const void *)req;
	Mcp__V1__PushFileResponse *r = (void *)wire_msg_new(
	    &mcp__v1__push_file_response__descriptor);

	(void)ctx;
	(void)c;
	(void)err;
	r->size = q->content.len;
	*resp = &r->base;
	return 0;
}

static int
h_pull(void *ctx, const struct wire_caller *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	const Mcp__V1__PullFileRequest *q = (const void *)req;
	Mcp__V1__PullFileResponse *r = (void *)wire_msg_new(
	    &mcp__v1__pull_file_response__descriptor);
	size_t n = strtoul(q->path, NULL, 10);

	(void)ctx;
	(void)c;
	(void)err;
	r->content.data = malloc(n ? n : 1);
	memset(r->content.data, 'x', n);
	r->content.len = n;
	r->mode = 0640;
	*resp = &r->base;
	return 0;
}

static struct {
	int rc, code, msgs;
} upload_out;

static void
mark_upload(struct seen *s)
{
	s->upload_ended = 1;
	s->upload_rc = upload_out.rc;
	s->upload_code = upload_out.code;
	s->upload_msgs = upload_out.msgs;
}

/* Upload: count the chunks and their bytes; the stream must end with a
 * final chunk; a first chunk for service "refuse" is refused at once. */
static int
h_import_run(const struct wire_caller *c, struct wire_stream *st,
    ProtobufCMessage **resp, int *msgs, struct mcp_err *err)
{
	Mcp__V1__ImportResponse *r;
	ProtobufCMessage *m;
	uint64_t bytes = 0;
	int rc, final = 0;

	(void)c;
	while ((rc = wire_stream_recv(st, &m, err)) == 1) {
		const Mcp__V1__ImportChunk *ch = (const void *)m;

		if (*msgs == 0 && strcmp(ch->service, "refuse") == 0) {
			protobuf_c_message_free_unpacked(m, NULL);
			return mcp_err_set(err, MCP_E_PRECONDITION,
			    "import refuse: refused");
		}
		(*msgs)++;
		bytes += ch->data.len;
		final = ch->final;
		protobuf_c_message_free_unpacked(m, NULL);
	}
	if (rc == -1)
		return -1;
	if (!final)
		return mcp_err_set(err, MCP_E_INVALID, "import: no final chunk");
	r = (void *)wire_msg_new(&mcp__v1__import_response__descriptor);
	r->bytes_written = bytes;
	r->files = (uint32_t)*msgs;
	*resp = &r->base;
	return 0;
}

static int
h_import(void *ctx, const struct wire_caller *c, struct wire_stream *st,
    ProtobufCMessage **resp, struct mcp_err *err)
{
	int msgs = 0, rc;

	(void)ctx;
	rc = h_import_run(c, st, resp, &msgs, err);
	upload_out.rc = rc;
	upload_out.code = rc == 0 ? 0 : err->code;
	upload_out.msgs = msgs;
	seen_update(mark_upload);
	return rc;
}

static const struct wire_method methods[] = {
	{ M_HEALTH, &mcp__v1__health_check_request__descriptor,
	  &mcp__v1__health_check_response__descriptor, h_health, NULL, allow_any },
	{ M_STATUS, &mcp__v1__status_request__descriptor,
	  &mcp__v1__status_response__descriptor, h_status, NULL, allow_ops },
	{ M_DEPLOY, &mcp__v1__deploy_request__descriptor,
	  &mcp__v1__deploy_response__descriptor, h_deploy, NULL, allow_master },
	{ M_LOGS, &mcp__v1__logs_request__descriptor,
	  &mcp__v1__log_chunk__descriptor, NULL, h_logs, allow_ops },
	{ M_PUSH, &mcp__v1__push_file_request__descriptor,
	  &mcp__v1__push_file_response__descriptor, h_push, NULL, allow_ops },
	{ M_PULL, &mcp__v1__pull_file_request__descriptor,
	  &mcp__v1__pull_file_response__descriptor, h_pull, NULL, allow_ops },
	{ M_IMPORT, &mcp__v1__import_chunk__descriptor,
	  &mcp__v1__import_response__descriptor, NULL, NULL, allow_master,
	  h_import },
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* ---- certificates (openssl CLI) ---- */

static int
run(const char *const argv[])
{
	struct spawn_result res;
	struct mcp_err err = MCP_ERR_INIT;
	int rc;

	if (spawn_run(argv, NULL, &res, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	rc = res.status;
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", argv[0], spawn_errline(&res));
	spawn_result_free(&res);
	return rc == 0 ? 0 : -1;
}

static int
make_ca(const char *name)
{
	char key[256], crt[256], subj[128];
	const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec",
		"-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
		"-out", crt, "-days", "2", "-subj", subj, "-addext",
		"basicConstraints=critical,CA:TRUE", "-addext",
		"keyUsage=critical,keyCertSign,cRLSign", NULL };

	snprintf(key, sizeof(key), "%s/%s.key", fx.pki, name);
	snprintf(crt, sizeof(crt), "%s/%s.crt", fx.pki, name);
	snprintf(subj, sizeof(subj), "/CN=%s", name);
	return run(argv);
}

/* Issue pki/<name>.crt/.key from CA ca; subject "/CN=name" unless subj. */
static int
issue(const char *ca, const char *name, const char *subj_override)
{
	char key[256], csr[256], crt[256], cakey[256], cacrt[256], ext[256],
	    subj[128];
	const char *req[] = { "openssl", "req", "-new", "-newkey", "ec",
		"-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
		"-out", csr, "-subj", subj, NULL };
	const char *sign[] = { "openssl", "x509", "-req", "-in", csr, "-CA",
		cacrt, "-CAkey", cakey, "-CAcreateserial", "-out", crt, "-days",
		"2", "-extfile", ext, NULL };
	FILE *f;

	snprintf(key, sizeof(key), "%s/%s.key", fx.pki, name);
	snprintf(csr, sizeof(csr), "%s/%s.csr", fx.pki, name);
	snprintf(crt, sizeof(crt), "%s/%s.crt", fx.pki, name);
	snprintf(cakey, sizeof(cakey), "%s/%s.key", fx.pki, ca);
	snprintf(cacrt, sizeof(cacrt), "%s/%s.crt", fx.pki, ca);
	snprintf(ext, sizeof(ext), "%s/ext.cnf", fx.pki);
	if (subj_override)
		snprintf(subj, sizeof(subj), "%s", subj_override);
	else
		snprintf(subj, sizeof(subj), "/CN=%s", name);
	if ((f = fopen(ext, "w")) == NULL)
		return -1;
	fprintf(f, "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
	    "extendedKeyUsage=serverAuth,clientAuth\n"
	    "basicConstraints=CA:FALSE\n");
	fclose(f);
	if (run(req) == -1 || run(sign) == -1)
		return -1;
	return 0;
}

/* TLS material of pki/<name> trusting CA ca. */
struct tlsfiles {
	char ca[256], cert[256], key[256];
	struct wire_tls tls;
};

static void
tls_of(struct tlsfiles *t, const char *ca, const char *name)
{
	snprintf(t->ca, sizeof(t->ca), "%s/%s.crt", fx.pki, ca);
	snprintf(t->cert, sizeof(t->cert), "%s/%s.crt", fx.pki, name);
	snprintf(t->key, sizeof(t->key), "%s/%s.key", fx.pki, name);
	t->tls.ca = t->ca;
	t->tls.cert = t->cert;
	t->tls.key = t->key;
}

static struct wire_client *
tls_client(const char *name, const char *ca)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct tlsfiles t;
	struct wire_client *c;

	tls_of(&t, ca ? ca : "ca", name);
	c = wire_client_new(fx.addr, &t.tls, &err);
	if (c == NULL)
		fail_msg("client %s: %s", name, err.msg);
	return c;
}

static struct wire_client *
unix_client(void)
{
	struct mcp_err err = MCP_ERR_INIT;
	char addr[200];
	struct wire_client *c;

	snprintf(addr, sizeof(addr), "unix:%s", fx.sock);
	c = wire_client_new(addr, NULL, &err);
	if (c == NULL)
		fail_msg("unix client: %s", err.msg);
	return c;
}

/* ---- fixture ---- */

static struct wire_server *
server_new(const char *sock, int *port)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct wire_server *s;
	struct tlsfiles t;

	tls_of(&t, "ca", "agent-test");
	s = wire_server_new(methods, NMETHODS, NULL, &err);
	if (s == NULL)
		return NULL;
	wire_server_set_operators(s, operators);
	if (sock && wire_server_add_unix(s, sock, &err) == -1)
		goto fail;
	if (port && (*port = wire_server_add_tls(s, "127.0.0.1:0", &t.tls,
	    &err)) == -1)
		goto fail;
	if (wire_server_start(s, &err) == -1)
		goto fail;
	return s;
fail:
	fprintf(stderr, "server_new: %s\n", err.msg);
	wire_server_free(s);
	return NULL;
}

static int
group_setup(void **state)
{
	(void)state;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_wire.XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	snprintf(fx.pki, sizeof(fx.pki), "%s/pki", fx.dir);
	if (mkdir(fx.pki, 0700) == -1)
		return -1;
	if (make_ca("ca") || make_ca("evil-ca") ||
	    issue("ca", "agent-test", NULL) || issue("ca", "operator-alice", NULL) ||
	    issue("ca", "mcp-master", NULL) || issue("ca", "mallory", NULL) ||
	    issue("ca", "nocn", "/O=no common name") ||
	    issue("evil-ca", "operator-eve", NULL))
		return -1;
	pthread_mutex_init(&fx.seen.mu, NULL);
	pthread_cond_init(&fx.seen.cv, NULL);
	/* a directory that does not exist yet: add_unix creates it 0700 */
	snprintf(fx.sock, sizeof(fx.sock), "%s/run/mcp/agent.sock", fx.dir);
	if ((fx.srv = server_new(fx.sock, &fx.port)) == NULL)
		return -1;
	snprintf(fx.addr, sizeof(fx.addr), "127.0.0.1:%d", fx.port);
	return 0;
}

static int
group_teardown(void **state)
{
	const char *argv[] = { "rm", "-rf", fx.dir, NULL };

	(void)state;
	wire_server_free(fx.srv);
	pthread_mutex_destroy(&fx.seen.mu);
	pthread_cond_destroy(&fx.seen.cv);
	return run(argv);
}

static void
seen_reset(void)
{
	pthread_mutex_lock(&fx.seen.mu);
	fx.seen.stream_started = fx.seen.stream_cancel_seen = 0;
	fx.seen.stubborn_done = 0;
	fx.seen.cancel_seen_ms = 0;
	fx.seen.upload_ended = fx.seen.upload_rc = fx.seen.upload_code = 0;
	fx.seen.upload_msgs = 0;
	pthread_mutex_unlock(&fx.seen.mu);
}

/* Wait up to ms for *flag (in fx.seen) to be set; returns it. */
static int
seen_wait(int *flag, int ms)
{
	long long end = now_ms() + ms;
	int v;

	pthread_mutex_lock(&fx.seen.mu);
	while (!*flag && now_ms() < end) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&fx.seen.cv, &fx.seen.mu, &ts);
	}
	v = *flag;
	pthread_mutex_unlock(&fx.seen.mu);
	return v;
}

/* ---- calls ---- */

static int
health(struct wire_client *c, Mcp__V1__HealthCheckResponse **out,
    struct mcp_err *err)
{
	Mcp__V1__HealthCheckRequest q = MCP__V1__HEALTH_CHECK_REQUEST__INIT;

	return wire_call(c, M_HEALTH, &q.base,
	    &mcp__v1__health_check_response__descriptor,
	    (ProtobufCMessage **)out, 5000, err);
}

static int
status(struct wire_client *c, const char *service, char *node, size_t nodesz,
    struct mcp_err *err)
{
	Mcp__V1__StatusRequest q = MCP__V1__STATUS_REQUEST__INIT;
	Mcp__V1__StatusResponse *r = NULL;

	q.service = (char *)service;
	if (wire_call(c, M_STATUS, &q.base, &mcp__v1__status_response__descriptor,
	    (ProtobufCMessage **)&r, 5000, err) == -1)
		return -1;
	if (node)
		snprintf(node, nodesz, "%s", r->node);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return 0;
}

static int
deploy(struct wire_client *c, struct mcp_err *err)
{
	Mcp__V1__DeployRequest q = MCP__V1__DEPLOY_REQUEST__INIT;
	Mcp__V1__DeployResponse *r = NULL;

	q.definition = "[service]\nname = \"x\"\n";
	if (wire_call(c, M_DEPLOY, &q.base, &mcp__v1__deploy_response__descriptor,
	    (ProtobufCMessage **)&r, 5000, err) == -1)
		return -1;
	assert_int_equal(r->n_actions, 1);
	assert_string_equal(r->actions[0], "deployed");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return 0;
}

struct stream_acc {
	int n;
	int stop_after;		/* > 0: cancel after that many */
	long long stopped_ms;
	char last[64];
};

static int
on_chunk(const ProtobufCMessage *msg, void *arg)
{
	const Mcp__V1__LogChunk *ch = (const void *)msg;
	struct stream_acc *a = arg;

	a->n++;
	snprintf(a->last, sizeof(a->last), "%.*s", (int)ch->data.len,
	    (const char *)ch->data.data);
	if (a->stop_after > 0 && a->n >= a->stop_after) {
		a->stopped_ms = now_ms();
		return 1;
	}
	return 0;
}

static int
logs(struct wire_client *c, const char *component, int tail, int follow,
    struct stream_acc *acc, int timeout_ms, struct mcp_err *err)
{
	Mcp__V1__LogsRequest q = MCP__V1__LOGS_REQUEST__INIT;

	q.service = "svc";
	q.component = (char *)component;
	q.tail = tail;
	q.follow = follow;
	return wire_call_stream(c, M_LOGS, &q.base, &mcp__v1__log_chunk__descriptor,
	    on_chunk, acc, timeout_ms, err);
}

/* ---- tests ---- */

static void
test_patterns(void **state)
{
	const char *const allow[] = { "@operator", "agent-*", NULL };
	const char *const ops[] = { "alice", "ops-*", NULL };
	struct wire_caller local = { "local", 1, "unix:" };
	struct wire_caller c = { "", 0, "ipv4:127.0.0.1:1" };

	(void)state;
	assert_true(wire_pattern_match("agent-*", "agent-node1"));
	assert_true(wire_pattern_match("agent-*", "agent-"));
	assert_false(wire_pattern_match("agent-*", "agent"));
	assert_true(wire_pattern_match("mcp-master", "mcp-master"));
	assert_false(wire_pattern_match("mcp-master", "mcp-master2"));
	assert_true(wire_pattern_match("*", "anything"));

	assert_true(wire_allowed(allow, ops, &local));
	strcpy(c.identity, "alice");
	assert_true(wire_allowed(allow, ops, &c));
	strcpy(c.identity, "ops-bob");
	assert_true(wire_allowed(allow, ops, &c));
	strcpy(c.identity, "agent-n1");
	assert_true(wire_allowed(allow, ops, &c));
	strcpy(c.identity, "mallory");
	assert_false(wire_allowed(allow, ops, &c));
	assert_false(wire_allowed(NULL, ops, &c));
	assert_false(wire_allowed(allow_master, ops, &local));
	assert_true(wire_allowed(allow_any, NULL, &local));
	/* a TLS caller whose CN is "local" is not local */
	strcpy(c.identity, "local");
	assert_false(wire_allowed(allow_ops, NULL, &c));
	{
		const char *const allow_local[] = { "local", NULL };

		assert_false(wire_allowed(allow_local, NULL, &local));
	}
}

static void
test_unary_unix(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	Mcp__V1__HealthCheckResponse *r = NULL;
	struct wire_client *c = unix_client();
	char node[64];

	(void)state;
	assert_int_equal(health(c, &r, &err), 0);
	assert_string_equal(r->status, "ok");
	assert_string_equal(r->node, "local");
	assert_string_equal(r->version, "uid 0 (local)");	/* SO_PEERCRED */
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* local callers are operators */
	assert_int_equal(status(c, "web", node, sizeof(node), &err), 0);
	assert_string_equal(node, "local");
	/* ... but not mcp-master */
	assert_int_equal(deploy(c, &err), -1);
	assert_int_equal(err.code, MCP_E_PERM);
	assert_non_null(strstr(err.msg, "uid 0 (local) may not call " M_DEPLOY));
	wire_client_free(c);
}

static void
test_unary_tls(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	Mcp__V1__HealthCheckResponse *r = NULL;
	struct wire_client *c = tls_client("operator-alice", NULL);
	char node[64];

	(void)state;
	assert_int_equal(health(c, &r, &err), 0);
	assert_string_equal(r->node, "operator-alice");
	assert_string_equal(r->version, "tls");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(status(c, "web", node, sizeof(node), &err), 0);
	assert_string_equal(node, "operator-alice");
	assert_int_equal(deploy(c, &err), -1);
	assert_int_equal(err.code, MCP_E_PERM);
	assert_non_null(strstr(err.msg, "operator-alice"));
	assert_non_null(strstr(err.msg, M_DEPLOY));
	wire_client_free(c);

	c = tls_client("mcp-master", NULL);
	assert_int_equal(deploy(c, &err), 0);
	/* mcp-master is no operator */
	assert_int_equal(status(c, "web", NULL, 0, &err), -1);
	assert_int_equal(err.code, MCP_E_PERM);
	wire_client_free(c);
}

static void
test_disallowed_cn(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	Mcp__V1__HealthCheckResponse *r = NULL;
	struct wire_client *c = tls_client("mallory", NULL);

	(void)state;
	assert_int_equal(status(c, "web", NULL, 0, &err), -1);
	assert_int_equal(err.code, MCP_E_PERM);
	assert_string_equal(err.msg,
	    "permission denied: mallory may not call " M_STATUS);
	/* "*" lets any authenticated caller in */
	assert_int_equal(health(c, &r, &err), 0);
	assert_string_equal(r->node, "mallory");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	wire_client_free(c);
}

static void
test_no_cn(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	Mcp__V1__HealthCheckResponse *r = NULL;
	struct wire_client *c = tls_client("nocn", NULL);

	(void)state;
	assert_int_equal(health(c, &r, &err), -1);
	assert_int_equal(err.code, MCP_E_UNAUTHENTICATED);
	assert_non_null(strstr(err.msg, "common name"));
	wire_client_free(c);
}

static void
test_other_ca(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	Mcp__V1__HealthCheckResponse *r = NULL;
	/* operator-eve: right name, certificate from another CA */
	struct wire_client *c = tls_client("operator-eve", "ca");
	char want[96];

	(void)state;
	assert_int_equal(health(c, &r, &err), -1);
	assert_int_equal(err.code, MCP_E_UNAVAILABLE);
	snprintf(want, sizeof(want), "connect %s: ", fx.addr);
	assert_non_null(strstr(err.msg, want));
	wire_client_free(c);

	/* and a client that does not trust the server's CA */
	c = tls_client("operator-alice", "evil-ca");
	assert_int_equal(health(c, &r, &err), -1);
	assert_int_equal(err.code, MCP_E_UNAVAILABLE);
	wire_client_free(c);
}

static void
test_unknown_method(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	Mcp__V1__HealthCheckRequest q = MCP__V1__HEALTH_CHECK_REQUEST__INIT;
	ProtobufCMessage *r = NULL;
	struct wire_client *c = unix_client();

	(void)state;
	assert_int_equal(wire_call(c, "/mcp.v1.Agent/Nope", &q.base,
	    &mcp__v1__health_check_response__descriptor, &r, 5000, &err), -1);
	assert_int_equal(err.code, MCP_E_UNIMPLEMENTED);
	assert_non_null(strstr(err.msg, "/mcp.v1.Agent/Nope"));
	wire_client_free(c);
}

static void
test_bad_request(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	Mcp__V1__PushFileRequest q = MCP__V1__PUSH_FILE_REQUEST__INIT;
	struct wire_client *c = unix_client();
	ProtobufCMessage *r = NULL;

	(void)state;
	/* field 3 is bytes here, int32 in LogsRequest: not a LogsRequest */
	q.content.data = (uint8_t *)"abc";
	q.content.len = 3;
	assert_int_equal(wire_call(c, M_LOGS, &q.base,
	    &mcp__v1__log_chunk__descriptor, &r, 5000, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_non_null(strstr(err.msg, "mcp.v1.LogsRequest"));
	wire_client_free(c);
}

/*
 * A string field with a NUL byte never reaches a handler (protobuf-c would
 * hand it the prefix): a LogChunk's bytes field 1 is StatusRequest's
 * string field 1.  And the client refuses a response that is not text.
 */
static void
test_text_check(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	Mcp__V1__LogChunk q = MCP__V1__LOG_CHUNK__INIT;
	struct wire_client *c = tls_client("operator-alice", NULL);
	ProtobufCMessage *r = NULL;

	(void)state;
	q.data.data = (uint8_t *)"ab\0c";
	q.data.len = 4;
	assert_int_equal(wire_call(c, M_STATUS, &q.base,
	    &mcp__v1__status_response__descriptor, &r, 5000, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_string_equal(err.msg,
	    "Status: field \"service\": embedded NUL byte at offset 2");
	q.data.data = (uint8_t *)"ab\xc0\xaf";	/* overlong '/' */
	assert_int_equal(wire_call(c, M_STATUS, &q.base,
	    &mcp__v1__status_response__descriptor, &r, 5000, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_string_equal(err.msg,
	    "Status: field \"service\": invalid UTF-8 (byte 0xC0) at offset 2");
	assert_null(r);

	assert_int_equal(status(c, "badtext", NULL, 0, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_non_null(strstr(err.msg, M_STATUS ": response: field \"node\": "
	    "invalid UTF-8 (byte 0xFF) at offset 1"));
	wire_client_free(c);
}

static void
test_error_mapping(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct wire_client *c = tls_client("operator-alice", NULL);

	(void)state;
	assert_int_equal(status(c, "missing", NULL, 0, &err), -1);
	assert_int_equal(err.code, MCP_E_NOTFOUND);
	assert_string_equal(err.msg, "service missing: not found");
	assert_int_equal(status(c, "silent", NULL, 0, &err), -1);
	assert_int_equal(err.code, MCP_E_UNKNOWN);
	assert_string_equal(err.msg, M_STATUS ": failed");
	assert_int_equal(status(c, "noresp", NULL, 0, &err), -1);
	assert_int_equal(err.code, MCP_E_INTERNAL);
	wire_client_free(c);
}

struct slow_arg {
	struct wire_client *c;
	int rc;
	long long ms;
};

static void *
slow_thread(void *p)
{
	struct slow_arg *a = p;
	struct mcp_err err = MCP_ERR_INIT;
	long long t0 = now_ms();

	a->rc = status(a->c, "slow", NULL, 0, &err);
	a->ms = now_ms() - t0;
	return NULL;
}

static void
test_concurrency(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct slow_arg a = { tls_client("operator-alice", NULL), -1, 0 };
	Mcp__V1__HealthCheckResponse *r = NULL;
	pthread_t t;
	long long t0, fast;

	(void)state;
	assert_int_equal(health(a.c, &r, &err), 0);	/* connected */
	protobuf_c_message_free_unpacked(&r->base, NULL);
	pthread_create(&t, NULL, slow_thread, &a);
	usleep(100 * 1000);
	t0 = now_ms();
	for (int i = 0; i < 5; i++) {	/* same channel, while slow runs */
		assert_int_equal(health(a.c, &r, &err), 0);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	fast = now_ms() - t0;
	pthread_join(t, NULL);
	assert_int_equal(a.rc, 0);
	assert_true(a.ms >= 900);
	assert_true(fast < 300);
	wire_client_free(a.c);
}

static void
test_stream(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct stream_acc acc = { 0 };
	struct wire_client *c = unix_client();

	(void)state;
	assert_int_equal(logs(c, "", 5, 0, &acc, 5000, &err), 0);
	assert_int_equal(acc.n, 5);
	assert_string_equal(acc.last, "line 4\n");
	wire_client_free(c);

	memset(&acc, 0, sizeof(acc));
	c = tls_client("mallory", NULL);
	assert_int_equal(logs(c, "", 5, 0, &acc, 5000, &err), -1);
	assert_int_equal(err.code, MCP_E_PERM);
	assert_int_equal(acc.n, 0);
	wire_client_free(c);
}

static void
test_stream_cancel(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct stream_acc acc = { 0 };
	struct wire_client *c = tls_client("operator-alice", NULL);
	long long lag;

	(void)state;
	seen_reset();
	acc.stop_after = 3;
	assert_int_equal(logs(c, "", 3, 1, &acc, 0, &err), 0);
	assert_int_equal(acc.n, 3);
	assert_true(seen_wait(&fx.seen.stream_cancel_seen, 2000));
	lag = fx.seen.cancel_seen_ms - acc.stopped_ms;
	print_message("      cancel seen by the idle handler after %lld ms\n", lag);
	assert_true(lag < 500);
	wire_client_free(c);
}

static void
test_stream_deadline(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct stream_acc acc = { 0 };
	struct wire_client *c = unix_client();
	long long t0 = now_ms(), lag;

	(void)state;
	seen_reset();
	assert_int_equal(logs(c, "", 2, 1, &acc, 300, &err), -1);
	assert_int_equal(err.code, MCP_E_TIMEOUT);
	assert_int_equal(acc.n, 2);
	assert_true(seen_wait(&fx.seen.stream_cancel_seen, 2000));
	lag = fx.seen.cancel_seen_ms - (t0 + 300);
	assert_true(lag < 500);
	wire_client_free(c);
}

/* A client that stalls on the first message for 2 s, then reads on. */
static int
on_chunk_stall(const ProtobufCMessage *msg, void *arg)
{
	struct stream_acc *a = arg;

	if (a->n == 0)
		usleep(2000 * 1000);
	return on_chunk(msg, arg);
}

/*
 * wire_stream_send_within: to a client that takes nothing, a send gives up
 * after its bound (not the call's 20 s deadline), later bounded sends are
 * dropped at once, and the final unbounded send still reaches the client
 * once it reads again, after the message that timed out.
 */
static void
test_stream_send_within(void **state)
{
	Mcp__V1__LogsRequest q = MCP__V1__LOGS_REQUEST__INIT;
	struct mcp_err err = MCP_ERR_INIT;
	struct stream_acc acc = { 0 };
	struct wire_client *c = unix_client();

	(void)state;
	memset(&slow_out, 0, sizeof(slow_out));
	q.service = "svc";
	q.component = "slowclient";
	assert_int_equal(wire_call_stream(c, M_LOGS, &q.base,
	    &mcp__v1__log_chunk__descriptor, on_chunk_stall, &acc, 20000, &err), 0);
	assert_true(seen_wait(&slow_out.done, 5000));
	print_message("      %d bounded send(s) went, the next gave up after "
	    "%lld ms; the client got %d message(s)\n", slow_out.ok,
	    slow_out.waited_ms, acc.n);
	assert_true(slow_out.timed_out);
	assert_true(slow_out.waited_ms >= SLOW_SEND_MS - 50);
	assert_true(slow_out.waited_ms < 1500);
	assert_int_equal(slow_out.after, -1);
	assert_int_equal(slow_out.final_rc, 0);
	/* those that went, the one that timed out (delivered late), the final */
	assert_int_equal(acc.n, slow_out.ok + 2);
	assert_string_equal(acc.last, "final\n");
	wire_client_free(c);
}

static void
test_big_messages(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	Mcp__V1__PushFileRequest q = MCP__V1__PUSH_FILE_REQUEST__INIT;
	Mcp__V1__PullFileRequest pq = MCP__V1__PULL_FILE_REQUEST__INIT;
	Mcp__V1__PushFileResponse *r = NULL;
	Mcp__V1__PullFileResponse *pr = NULL;
	struct wire_client *c = tls_client("operator-alice", NULL);
	size_t n = 20u << 20;

	(void)state;
	q.content.data = malloc(n);
	memset(q.content.data, 'y', n);
	q.content.len = n;
	assert_int_equal(wire_call(c, M_PUSH, &q.base,
	    &mcp__v1__push_file_response__descriptor, (ProtobufCMessage **)&r,
	    30000, &err), 0);
	assert_int_equal(r->size, n);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	free(q.content.data);

	pq.path = "20971520";
	assert_int_equal(wire_call(c, M_PULL, &pq.base,
	    &mcp__v1__pull_file_response__descriptor, (ProtobufCMessage **)&pr,
	    30000, &err), 0);
	assert_int_equal(pr->content.len, n);
	assert_int_equal(pr->content.data[n - 1], 'x');
	assert_int_equal(pr->mode, 0640);
	protobuf_c_message_free_unpacked(&pr->base, NULL);
	wire_client_free(c);
}

/* Send n chunks of sz bytes (the first naming service), the last one final
 * unless nofinal; stop at the first failed send. */
static int
upload_send(struct wire_upload *u, const char *service, int n, size_t sz,
    int nofinal, struct mcp_err *err)
{
	Mcp__V1__ImportChunk ch = MCP__V1__IMPORT_CHUNK__INIT;
	uint8_t *data = malloc(sz ? sz : 1);
	int i, rc = 0;

	memset(data, 'z', sz);
	for (i = 0; i < n && rc == 0; i++) {
		ch.service = i == 0 ? (char *)service : "";
		ch.data.data = data;
		ch.data.len = sz;
		ch.final = !nofinal && i == n - 1;
		rc = wire_upload_send(u, &ch.base, err);
	}
	free(data);
	return rc;
}

static void
test_upload(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct wire_client *c = tls_client("mcp-master", NULL);
	Mcp__V1__ImportResponse *r = NULL;
	struct wire_upload *u;

	(void)state;
	seen_reset();
	u = wire_upload_start(c, M_IMPORT, 30000, &err);
	assert_non_null(u);
	assert_int_equal(upload_send(u, "svc", 8, 1u << 20, 0, &err), 0);
	assert_int_equal(wire_upload_finish(u, &mcp__v1__import_response__descriptor,
	    (ProtobufCMessage **)&r, &err), 0);
	assert_int_equal(r->bytes_written, 8u << 20);
	assert_int_equal(r->files, 8);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	/* an empty upload: the handler sees the end at once and says why */
	u = wire_upload_start(c, M_IMPORT, 30000, &err);
	assert_int_equal(wire_upload_finish(u, &mcp__v1__import_response__descriptor,
	    (ProtobufCMessage **)&r, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_string_equal(err.msg, "import: no final chunk");
	wire_client_free(c);
}

/* Authorisation happens before the handler reads anything. */
static void
test_upload_denied(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct wire_client *c = tls_client("operator-alice", NULL);
	Mcp__V1__ImportResponse *r = NULL;
	struct wire_upload *u;
	int rc;

	(void)state;
	seen_reset();
	u = wire_upload_start(c, M_IMPORT, 30000, &err);
	assert_non_null(u);
	rc = upload_send(u, "svc", 4, 1u << 20, 0, &err);
	rc = wire_upload_finish(u, &mcp__v1__import_response__descriptor,
	    (ProtobufCMessage **)&r, &err);
	assert_int_equal(rc, -1);
	assert_int_equal(err.code, MCP_E_PERM);
	assert_non_null(strstr(err.msg, "operator-alice may not call " M_IMPORT));
	assert_false(fx.seen.upload_ended);
	wire_client_free(c);
}

/* The handler refuses after the first message: the sender's next sends
 * fail (flow control stops them once nobody reads) with its status. */
static void
test_upload_refused(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct wire_client *c = tls_client("mcp-master", NULL);
	Mcp__V1__ImportResponse *r = NULL;
	struct wire_upload *u;
	int rc;

	(void)state;
	seen_reset();
	u = wire_upload_start(c, M_IMPORT, 30000, &err);
	rc = upload_send(u, "refuse", 200, 1u << 20, 0, &err);
	if (rc == -1) {
		assert_int_equal(err.code, MCP_E_PRECONDITION);
		assert_string_equal(err.msg, "import refuse: refused");
	}
	assert_int_equal(wire_upload_finish(u, &mcp__v1__import_response__descriptor,
	    (ProtobufCMessage **)&r, &err), -1);
	assert_int_equal(err.code, MCP_E_PRECONDITION);
	assert_string_equal(err.msg, "import refuse: refused");
	assert_true(seen_wait(&fx.seen.upload_ended, 5000));
	assert_int_equal(fx.seen.upload_msgs, 0);
	wire_client_free(c);
}

/* One message over the limit ends the call with RESOURCE_EXHAUSTED; the
 * handler never gets it. */
static void
test_upload_oversized(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct wire_client *c = tls_client("mcp-master", NULL);
	Mcp__V1__ImportResponse *r = NULL;
	struct wire_upload *u;
	int rc;

	(void)state;
	seen_reset();
	u = wire_upload_start(c, M_IMPORT, 60000, &err);
	assert_int_equal(upload_send(u, "svc", 1, 1024, 1, &err), 0);
	rc = upload_send(u, "", 1, WIRE_MAX_MESSAGE + WIRE_ENVELOPE + 1, 0, &err);
	if (rc == 0)
		rc = wire_upload_finish(u, &mcp__v1__import_response__descriptor,
		    (ProtobufCMessage **)&r, &err);
	else
		wire_upload_cancel(u);
	assert_int_equal(rc, -1);
	assert_int_equal(err.code, MCP_E_RESOURCE);
	/* and the server's handler did not take it for a complete upload */
	assert_true(seen_wait(&fx.seen.upload_ended, 5000));
	assert_int_equal(fx.seen.upload_rc, -1);
	assert_int_equal(fx.seen.upload_msgs, 1);
	wire_client_free(c);
}

/* A client that gives up mid-stream: the handler's next read says the
 * stream broke off (not a clean end). */
static void
test_upload_broken(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct wire_client *c = tls_client("mcp-master", NULL);
	struct wire_upload *u;

	(void)state;
	seen_reset();
	u = wire_upload_start(c, M_IMPORT, 30000, &err);
	assert_int_equal(upload_send(u, "svc", 3, 4096, 1, &err), 0);
	usleep(200 * 1000);	/* let the server read them */
	wire_upload_cancel(u);
	assert_true(seen_wait(&fx.seen.upload_ended, 5000));
	assert_int_equal(fx.seen.upload_rc, -1);
	assert_int_equal(fx.seen.upload_code, MCP_E_CANCELLED);
	assert_int_equal(fx.seen.upload_msgs, 3);

	/* the same with a deadline that passes mid-stream */
	seen_reset();
	u = wire_upload_start(c, M_IMPORT, 300, &err);
	assert_int_equal(upload_send(u, "svc", 2, 4096, 1, &err), 0);
	usleep(600 * 1000);
	assert_int_equal(upload_send(u, "", 1, 4096, 0, &err), -1);
	assert_int_equal(err.code, MCP_E_TIMEOUT);
	wire_upload_cancel(u);
	assert_true(seen_wait(&fx.seen.upload_ended, 5000));
	assert_int_equal(fx.seen.upload_code, MCP_E_CANCELLED);
	wire_client_free(c);
}

/* A client that stops sending but keeps its call (and a long deadline)
 * open: past the server's idle bound the handler's read fails with
 * MCP_E_TIMEOUT and the call ends; a unary call whose request never
 * comes ends the same way. */
static void
test_upload_idle(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct wire_client *c = tls_client("mcp-master", NULL);
	Mcp__V1__ImportResponse *r = NULL;
	ProtobufCMessage *hr = NULL;
	struct wire_upload *u;

	(void)state;
	seen_reset();
	wire_server_set_recv_idle(fx.srv, 400);
	u = wire_upload_start(c, M_IMPORT, 60000, &err);
	assert_non_null(u);
	assert_int_equal(upload_send(u, "svc", 2, 4096, 1, &err), 0);
	assert_true(seen_wait(&fx.seen.upload_ended, 10000));
	assert_int_equal(fx.seen.upload_rc, -1);
	assert_int_equal(fx.seen.upload_code, MCP_E_TIMEOUT);
	assert_int_equal(fx.seen.upload_msgs, 2);
	assert_int_equal(wire_upload_finish(u, &mcp__v1__import_response__descriptor,
	    (ProtobufCMessage **)&r, &err), -1);
	assert_int_equal(err.code, MCP_E_TIMEOUT);

	/* a unary method: the call opened, its request never sent */
	u = wire_upload_start(c, M_HEALTH, 60000, &err);
	assert_non_null(u);
	usleep(1200 * 1000);
	assert_int_equal(wire_upload_finish(u, &mcp__v1__health_check_response__descriptor,
	    &hr, &err), -1);
	assert_int_equal(err.code, MCP_E_TIMEOUT);
	wire_server_set_recv_idle(fx.srv, 0);
	wire_client_free(c);
}

static void
test_unix_socket_mode(void **state)
{
	struct stat st;
	char dir[200];

	(void)state;
	assert_int_equal(lstat(fx.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(dir, sizeof(dir), "%s/run/mcp", fx.dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void
test_unix_refusals(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct wire_server *s;
	struct wire_client *c;
	Mcp__V1__HealthCheckResponse *r = NULL;
	char path[200], addr[210];
	int fd;

	(void)state;
	/* a live socket is not taken over */
	s = wire_server_new(methods, NMETHODS, NULL, &err);
	assert_non_null(s);
	assert_int_equal(wire_server_add_unix(s, fx.sock, &err), -1);
	assert_int_equal(err.code, MCP_E_EXISTS);
	/* a world-writable directory is refused */
	snprintf(path, sizeof(path), "%s/ww", fx.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chmod(path, 0777), 0);
	snprintf(path, sizeof(path), "%s/ww/a.sock", fx.dir);
	assert_int_equal(wire_server_add_unix(s, path, &err), -1);
	assert_non_null(strstr(err.msg, "world-writable"));
	/* a regular file is not removed */
	snprintf(path, sizeof(path), "%s/plain", fx.dir);
	fclose(fopen(path, "w"));
	assert_int_equal(wire_server_add_unix(s, path, &err), -1);
	assert_int_equal(access(path, F_OK), 0);
	/* bound but never started: freed cleanly, socket removed */
	snprintf(path, sizeof(path), "%s/unstarted.sock", fx.dir);
	assert_int_equal(wire_server_add_unix(s, path, &err), 0);
	assert_int_equal(access(path, F_OK), 0);
	wire_server_free(s);
	assert_int_equal(access(path, F_OK), -1);

	/* a stale socket (nobody listening) is replaced */
	snprintf(path, sizeof(path), "%s/stale.sock", fx.dir);
	mcp_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	s = server_new(path, NULL);
	assert_non_null(s);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	c = wire_client_new(addr, NULL, &err);
	assert_int_equal(health(c, &r, &err), 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	wire_client_free(c);
	wire_server_free(s);
	assert_int_equal(access(path, F_OK), -1);	/* removed at the end */
}

static int have_python_grpc(void);

/* Run a client command (30 s at most); its exit status, output in res. */
static int
py_run(const char *const *argv, struct spawn_result *res)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct spawn_opts o = { .timeout_ms = 30000, .stdout_fd = -1 };

	if (spawn_run(argv, &o, res, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return res->status;
}

/* The local allow decision: root, or the socket group by primary gid or
 * a supplementary group; nobody else, and no group configured = root only. */
static void
test_local_allowed(void **state)
{
	static const gid_t sup[] = { 100, 27, 998 };
	static const struct {
		uid_t uid;
		gid_t gid;
		const gid_t *groups;
		size_t ngroups;
		int has_group;
		gid_t group;
		int want;
	} t[] = {
		{ 0, 0, NULL, 0, 0, 0, 1 },		/* root, no group */
		{ 0, 0, NULL, 0, 1, 998, 1 },		/* root, group */
		{ 1000, 1000, NULL, 0, 0, 0, 0 },	/* no group: root only */
		{ 1000, 1000, sup, 3, 0, 998, 0 },	/* ... even if "in" it */
		{ 1000, 998, NULL, 0, 1, 998, 1 },	/* primary gid */
		{ 1000, 1000, sup, 3, 1, 998, 1 },	/* supplementary */
		{ 1000, 1000, sup, 3, 1, 999, 0 },	/* other group */
		{ 65534, 65534, NULL, 0, 1, 998, 0 },
		{ 1000, 0, NULL, 0, 1, 998, 0 },	/* gid 0 is not uid 0 */
		{ 1000, 1000, sup, 2, 1, 998, 0 },	/* only ngroups count */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(wire_local_allowed(t[i].uid, t[i].gid,
		    t[i].groups, t[i].ngroups, t[i].has_group, t[i].group),
		    t[i].want);
}

/* HealthCheck over a Unix socket as another uid/gid (setpriv + the Python
 * client); 0 or the client's exit status, its stderr in res. */
static int
py_unix_as(const char *sock, const char *uid, const char *gid,
    struct spawn_result *res)
{
	char addr[200], reuid[32], regid[32];
	const char *argv[] = { "/usr/bin/setpriv", reuid, regid,
		"--clear-groups", "/usr/bin/python3", INTEROP_CLIENT, "--address",
		addr, "--method", "HealthCheck", NULL };

	snprintf(addr, sizeof(addr), "unix:%s", sock);
	snprintf(reuid, sizeof(reuid), "--reuid=%s", uid);
	snprintf(regid, sizeof(regid), "--regid=%s", gid);
	return py_run(argv, res);
}

/*
 * SO_PEERCRED on the Unix socket: with socket group "daemon" the socket is
 * 0660 root:daemon; uid 65534 (made able to open it, so that only the peer
 * check stands in the way) is refused with PERMISSION_DENIED naming the
 * uid, and allowed once its gid is the group's.
 */
static void
test_unix_peer_uid(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct spawn_result res;
	struct wire_server *s;
	struct group *gr = getgrnam("daemon");
	struct stat st;
	char dir[200], path[220], gid[16];

	(void)state;
	if (!have_python_grpc() || access("/usr/bin/setpriv", X_OK) != 0 ||
	    gr == NULL)
		skip();
	snprintf(dir, sizeof(dir), "%s/peer", fx.dir);
	snprintf(path, sizeof(path), "%s/agent.sock", dir);
	s = wire_server_new(methods, NMETHODS, NULL, &err);
	assert_non_null(s);
	assert_int_equal(wire_server_set_socket_group(s, "no-such-group-mcp", &err),
	    -1);
	assert_non_null(strstr(err.msg, "no-such-group-mcp"));
	assert_int_equal(wire_server_set_socket_group(s, "daemon", &err), 0);
	assert_int_equal(wire_server_add_unix(s, path, &err), 0);
	assert_int_equal(wire_server_start(s, &err), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, gr->gr_gid);
	assert_int_equal(stat(dir, &st), 0);	/* created for the group */
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_gid, gr->gr_gid);
	/* let everyone reach and open the socket: the peer check decides */
	assert_int_equal(chmod(fx.dir, 0711), 0);
	assert_int_equal(chmod(dir, 0711), 0);
	assert_int_equal(chmod(path, 0666), 0);

	assert_int_equal(py_unix_as(path, "65534", "65534", &res), 2);
	assert_non_null(strstr(res.errout.data, "PERMISSION_DENIED"));
	assert_non_null(strstr(res.errout.data,
	    "uid 65534 is not root and not in group daemon"));
	spawn_result_free(&res);

	snprintf(gid, sizeof(gid), "%ld", (long)gr->gr_gid);
	assert_int_equal(py_unix_as(path, "65534", gid, &res), 0);
	assert_non_null(strstr(res.out.data, "uid 65534 (local)"));
	spawn_result_free(&res);

	assert_int_equal(chmod(fx.dir, 0700), 0);
	wire_server_free(s);
	assert_int_equal(access(path, F_OK), -1);
}

static void
test_connect_fail(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	Mcp__V1__HealthCheckResponse *r = NULL;
	struct wire_client *c;
	char addr[200];

	(void)state;
	snprintf(addr, sizeof(addr), "unix:%s/nothing.sock", fx.dir);
	c = wire_client_new(addr, NULL, &err);
	assert_non_null(c);
	assert_int_equal(health(c, &r, &err), -1);
	assert_int_equal(err.code, MCP_E_UNAVAILABLE);
	assert_true(strncmp(err.msg, "connect unix:", 13) == 0);
	print_message("      %s\n", err.msg);
	wire_client_free(c);

	assert_null(wire_client_new("127.0.0.1:1", NULL, &err));
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_null(wire_client_new("nowhere", NULL, &err));
}

/* openssl s_client against the TLS port: 1.3 handshakes, 1.2 does not.
 * (gRPC may close the connection right after the handshake, so judge by
 * what s_client printed, not by its exit status.) */
static int
s_client(const char *version, const char *who, char *out, size_t outsz)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct spawn_result res;
	struct tlsfiles t;
	char connect[64];
	const char *argv[] = { "openssl", "s_client", "-connect", connect,
		version, "-alpn", "h2", "-CAfile", t.ca, "-cert", t.cert,
		"-key", t.key, NULL };

	tls_of(&t, "ca", who);
	snprintf(connect, sizeof(connect), "127.0.0.1:%d", fx.port);
	if (spawn_run(argv, NULL, &res, &err) == -1)
		return -1;
	snprintf(out, outsz, "%s", res.out.data ? res.out.data : "");
	spawn_result_free(&res);
	return 0;
}

static void
test_tls_version(void **state)
{
	char out[16384];

	(void)state;
	assert_int_equal(s_client("-tls1_3", "operator-alice", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "New, TLSv1.3, Cipher is"));
	assert_int_equal(s_client("-tls1_2", "operator-alice", out, sizeof(out)), 0);
	assert_null(strstr(out, "New, TLSv1.2, Cipher is"));
	assert_non_null(strstr(out, "New, (NONE), Cipher is (NONE)"));
}

struct inflight {
	struct wire_client *c;
	const char *component;
	int rc;
	struct mcp_err err;
	struct stream_acc acc;
};

static void *
inflight_thread(void *p)
{
	struct inflight *a = p;

	a->rc = logs(a->c, a->component, 1, 1, &a->acc, 20000, &a->err);
	return NULL;
}

static void *
inflight_slow(void *p)
{
	struct inflight *a = p;

	a->rc = status(a->c, "slow", NULL, 0, &a->err);
	return NULL;
}

/*
 * Server shutdown with three calls in flight: a follow stream that watches
 * wire_stream_cancelled() (ends in the grace period), a stream that only
 * sends (its next send fails), and a 1 s unary handler that outlives the
 * grace period (its call is cancelled; free waits for its thread).
 */
static void
test_shutdown_inflight(void **state)
{
	char path[200], addr[210];
	struct wire_server *s;
	struct inflight follow = { 0 }, stubborn = { 0 }, slow = { 0 };
	struct mcp_err err = MCP_ERR_INIT;
	pthread_t t1, t2, t3;
	long long t0, took;

	(void)state;
	snprintf(path, sizeof(path), "%s/shut/agent.sock", fx.dir);
	s = server_new(path, NULL);
	assert_non_null(s);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	follow.c = wire_client_new(addr, NULL, &err);
	stubborn.c = wire_client_new(addr, NULL, &err);
	follow.component = "";
	stubborn.component = "stubborn";
	seen_reset();
	pthread_create(&t1, NULL, inflight_thread, &follow);
	assert_true(seen_wait(&fx.seen.stream_started, 3000));
	seen_reset();
	pthread_create(&t2, NULL, inflight_thread, &stubborn);
	assert_true(seen_wait(&fx.seen.stream_started, 3000));
	slow.c = wire_client_new(addr, NULL, &err);
	pthread_create(&t3, NULL, inflight_slow, &slow);
	usleep(100 * 1000);

	t0 = now_ms();
	wire_server_free(s);
	took = now_ms() - t0;
	print_message("      shutdown with 3 calls in flight took %lld ms\n", took);
	assert_true(took >= 500 && took < 3000);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	pthread_join(t3, NULL);
	assert_int_equal(slow.rc, -1);
	print_message("      slow call: %s: %s\n", mcp_code_name(slow.err.code),
	    slow.err.msg);
	/* "server shutting down", or "Socket closed" when gRPC drops the
	 * last stream's trailers as it closes the connection after GOAWAY */
	assert_int_equal(slow.err.code, MCP_E_UNAVAILABLE);
	assert_true(fx.seen.stubborn_done);
	/* the polite stream ended in the grace period, the other was cut */
	assert_int_equal(follow.rc, -1);
	assert_int_equal(follow.err.code, MCP_E_CANCELLED);
	assert_int_equal(stubborn.rc, -1);
	assert_true(stubborn.acc.n >= 2);
	wire_client_free(follow.c);
	wire_client_free(stubborn.c);
	wire_client_free(slow.c);
}

static void
test_latency(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	Mcp__V1__HealthCheckResponse *r = NULL;
	struct wire_client *cs[2] = { unix_client(),
		tls_client("operator-alice", NULL) };
	const char *names[2] = { "unix", "tls" };
	const int n = 300;

	(void)state;
	for (int k = 0; k < 2; k++) {
		long long t0;

		assert_int_equal(health(cs[k], &r, &err), 0);	/* warm up */
		protobuf_c_message_free_unpacked(&r->base, NULL);
		t0 = now_ms();
		for (int i = 0; i < n; i++) {
			assert_int_equal(health(cs[k], &r, &err), 0);
			protobuf_c_message_free_unpacked(&r->base, NULL);
		}
		print_message("      %s: %d unary calls, %.0f us each\n", names[k], n,
		    (double)(now_ms() - t0) * 1000.0 / n);
		wire_client_free(cs[k]);
	}
}

/* ---- the Python interop client ---- */

static int
have_python_grpc(void)
{
	const char *argv[] = { "/usr/bin/python3", "-c", "import grpc, grpc_tools",
		NULL };

	return access(INTEROP_CLIENT, R_OK) == 0 && run(argv) == 0;
}

static int
py_call(const char *who, const char *method, const char *request,
    struct spawn_result *res)
{
	struct tlsfiles t;
	const char *argv[] = { "/usr/bin/python3", INTEROP_CLIENT, "--address",
		fx.addr, "--ca", t.ca, "--cert", t.cert, "--key", t.key,
		"--method", method, "--request", request, NULL };

	tls_of(&t, "ca", who);
	return py_run(argv, res);
}

static void
test_interop_python(void **state)
{
	struct spawn_result res;

	(void)state;
	if (!have_python_grpc())
		skip();
	assert_int_equal(py_call("operator-alice", "HealthCheck", "{}", &res), 0);
	assert_non_null(strstr(res.out.data, "\"node\": \"operator-alice\""));
	spawn_result_free(&res);

	assert_int_equal(py_call("mallory", "Status", "{\"service\": \"web\"}",
	    &res), 2);
	assert_non_null(strstr(res.errout.data, "PERMISSION_DENIED"));
	assert_non_null(strstr(res.errout.data, "mallory may not call"));
	spawn_result_free(&res);

	assert_int_equal(py_call("operator-alice", "Status",
	    "{\"service\": \"missing\"}", &res), 2);
	assert_non_null(strstr(res.errout.data, "NOT_FOUND: service missing"));
	spawn_result_free(&res);

	assert_int_equal(py_call("operator-alice", "Logs", "{\"tail\": 3}", &res), 0);
	assert_non_null(strstr(res.out.data, "\"data\""));
	spawn_result_free(&res);

	/* over the Unix socket, with --service */
	{
		struct mcp_err err = MCP_ERR_INIT;
		char addr[200];
		const char *argv[] = { "/usr/bin/python3", INTEROP_CLIENT,
			"--address", addr, "--method", "Status", "--service",
			"missing", NULL };

		snprintf(addr, sizeof(addr), "unix:%s", fx.sock);
		assert_int_equal(spawn_run(argv, NULL, &res, &err), 0);
		assert_int_equal(res.status, 2);
		assert_non_null(strstr(res.errout.data, "NOT_FOUND: service missing"));
		spawn_result_free(&res);
	}
}

struct kill_arg {
	long long killed_ms;
};

static int
kill_on_output(const char *data, size_t len, void *arg)
{
	struct kill_arg *k = arg;

	(void)data;
	if (len > 0 && memmem(data, len, "\"data\"", 6)) {
		k->killed_ms = now_ms();
		return 1;	/* SIGTERM the client mid-stream */
	}
	return 0;
}

static void
test_interop_python_killed(void **state)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct spawn_result res;
	struct kill_arg k = { 0 };
	struct tlsfiles t;
	const char *argv[] = { "/usr/bin/python3", INTEROP_CLIENT, "--address",
		fx.addr, "--ca", t.ca, "--cert", t.cert, "--key", t.key,
		"--method", "Logs", "--request", "{\"tail\": 1, \"follow\": true}",
		"--timeout", "0", NULL };
	struct spawn_opts o = { .timeout_ms = 30000, .stdout_fd = -1 };
	long long lag;

	(void)state;
	if (!have_python_grpc())
		skip();
	tls_of(&t, "ca", "operator-alice");
	seen_reset();
	assert_int_equal(spawn_stream(argv, &o, kill_on_output, &k, &res, &err), 0);
	spawn_result_free(&res);
	assert_true(k.killed_ms > 0);
	assert_true(seen_wait(&fx.seen.stream_cancel_seen, 3000));
	lag = fx.seen.cancel_seen_ms - k.killed_ms;
	print_message("      killed client noticed after %lld ms\n", lag);
	assert_true(lag < 500);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_unary_unix),
		cmocka_unit_test(test_unary_tls),
		cmocka_unit_test(test_disallowed_cn),
		cmocka_unit_test(test_no_cn),
		cmocka_unit_test(test_other_ca),
		cmocka_unit_test(test_unknown_method),
		cmocka_unit_test(test_bad_request),
		cmocka_unit_test(test_text_check),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_concurrency),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_cancel),
		cmocka_unit_test(test_stream_deadline),
		cmocka_unit_test(test_stream_send_within),
		cmocka_unit_test(test_big_messages),
		cmocka_unit_test(test_upload),
		cmocka_unit_test(test_upload_denied),
		cmocka_unit_test(test_upload_refused),
		cmocka_unit_test(test_upload_oversized),
		cmocka_unit_test(test_upload_broken),
		cmocka_unit_test(test_upload_idle),
		cmocka_unit_test(test_unix_socket_mode),
		cmocka_unit_test(test_unix_refusals),
		cmocka_unit_test(test_local_allowed),
		cmocka_unit_test(test_unix_peer_uid),
		cmocka_unit_test(test_connect_fail),
		cmocka_unit_test(test_tls_version),
		cmocka_unit_test(test_shutdown_inflight),
		cmocka_unit_test(test_latency),
		cmocka_unit_test(test_interop_python),
		cmocka_unit_test(test_interop_python_killed),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

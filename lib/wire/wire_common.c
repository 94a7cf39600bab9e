/*
 * wire/wire_common.c: what the server and the client of lib/wire/ share:
 * gRPC library lifetime (with gRPC's log lines going to util/log), the
 * protobuf-c <-> grpc_byte_buffer conversion, channel arguments, and mutual
 * TLS credentials pinned to TLS 1.3.
 *
 * TLS 1.3: the 1.51 C core has no C function to set the minimum TLS version
 * of grpc_ssl_*_credentials, but exports the C++ members that do it
 * (grpc_ssl_server_credentials::set_min_tls_version and the channel-side
 * twin, plain non-virtual members on a single-inheritance class, so the
 * object pointer the C API returns is their `this`).  They are bound below
 * by their mangled names, weakly, so a library without them makes
 * credential creation fail loudly instead of silently allowing TLS 1.2.
 */
#include "wire/wire_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"

void wire_ssl_server_set_min_tls(grpc_server_credentials *creds,
    grpc_tls_version v)
    __asm__("_ZN27grpc_ssl_server_credentials19set_min_tls_versionE16grpc_tls_version")
    __attribute__((weak));
void wire_ssl_channel_set_min_tls(grpc_channel_credentials *creds,
    grpc_tls_version v)
    __asm__("_ZN20grpc_ssl_credentials19set_min_tls_versionE16grpc_tls_version")
    __attribute__((weak));

static pthread_once_t wire_log_once = PTHREAD_ONCE_INIT;

static void
wire_log(gpr_log_func_args *a)
{
	if (a->severity == GPR_LOG_SEVERITY_ERROR)
		log_warnx("grpc: %s", a->message);
	else
		log_debug("grpc: %s", a->message);
}

static void
wire_log_setup(void)
{
	gpr_set_log_function(wire_log);
}

void
wire_grpc_ref(void)
{
	pthread_once(&wire_log_once, wire_log_setup);
	grpc_init();
}

void
wire_grpc_unref(void)
{
	grpc_shutdown();
}

static void
wire_arg_int(grpc_arg *a, const char *key, int value)
{
	a->type = GRPC_ARG_INTEGER;
	a->key = (char *)key;
	a->value.integer = value;
}

void
wire_args_init(grpc_channel_args *args, grpc_arg storage[WIRE_NARGS], int server)
{
	size_t n = 0;

	wire_arg_int(&storage[n++], GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
	    (int)(WIRE_MAX_MESSAGE + WIRE_ENVELOPE));
	wire_arg_int(&storage[n++], GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
	    (int)(WIRE_MAX_MESSAGE + WIRE_ENVELOPE));
	if (server) {
		/* Find dead peers of long streams (logs -f) within ~80 s. */
		wire_arg_int(&storage[n++], GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
		wire_arg_int(&storage[n++], GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
		/* keep pinging an idle follow stream */
		wire_arg_int(&storage[n++], GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
	}
	args->num_args = n;
	args->args = storage;
}

grpc_byte_buffer *
wire_encode(const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	grpc_slice sl = grpc_slice_malloc(n);
	grpc_byte_buffer *bb;

	protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(sl));
	bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	return bb;
}

ProtobufCMessage *
wire_decode(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb,
    const char *what, struct mcp_err *err)
{
	grpc_byte_buffer_reader r;
	ProtobufCMessage *msg = NULL;
	grpc_slice sl;
	size_t len;

	if (bb == NULL || !grpc_byte_buffer_reader_init(&r, bb)) {
		mcp_err_set(err, MCP_E_INVALID, "%s: unreadable message", what);
		return NULL;
	}
	sl = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	len = GRPC_SLICE_LENGTH(sl);
	if (len > WIRE_MAX_MESSAGE + WIRE_ENVELOPE)
		mcp_err_set(err, MCP_E_RESOURCE, "%s: message of %zu bytes is larger "
		    "than the limit of %u bytes (%u MiB of content + %u MiB)", what,
		    len, WIRE_MAX_MESSAGE + WIRE_ENVELOPE, WIRE_MAX_MESSAGE >> 20,
		    WIRE_ENVELOPE >> 20);
	else if (wire_check_strings(desc, GRPC_SLICE_START_PTR(sl), len, err) == -1)
		mcp_err_prefix(err, "%s", what);
	else if ((msg = protobuf_c_message_unpack(desc, NULL, len,
	    GRPC_SLICE_START_PTR(sl))) == NULL)
		mcp_err_set(err, MCP_E_INVALID, "%s: not a valid %s message", what,
		    desc->name);
	grpc_slice_unref(sl);
	return msg;
}

gpr_timespec
wire_deadline(int timeout_ms)
{
	if (timeout_ms <= 0)
		return gpr_inf_future(GPR_CLOCK_MONOTONIC);
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
	    gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

ProtobufCMessage *
wire_msg_new(const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m = xcalloc(1, desc->sizeof_message);

	desc->message_init(m);
	return m;
}

/* One PEM blob: the text itself, or the contents of the file it names. */
static int
wire_pem_one(const char *what, const char *src, char **out, struct mcp_err *err)
{
	struct buf b = BUF_INIT;

	if (src == NULL || *src == '\0')
		return mcp_err_set(err, MCP_E_INVALID, "TLS %s: not configured", what);
	if (strncmp(src, "-----BEGIN", 10) == 0) {
		*out = xstrdup(src);
		return 0;
	}
	if (file_read(src, &b, 1 << 20, err) == -1) {
		buf_free(&b);
		return mcp_err_prefix(err, "TLS %s", what);
	}
	*out = buf_steal(&b);
	return 0;
}

int
wire_pem_load(const struct wire_tls *tls, struct wire_pem *pem,
    struct mcp_err *err)
{
	memset(pem, 0, sizeof(*pem));
	if (tls == NULL)
		return mcp_err_set(err, MCP_E_INVALID,
		    "TLS: no CA, certificate and key configured");
	if (wire_pem_one("CA certificate", tls->ca, &pem->ca, err) == -1 ||
	    wire_pem_one("certificate", tls->cert, &pem->cert, err) == -1 ||
	    wire_pem_one("key", tls->key, &pem->key, err) == -1) {
		wire_pem_free(pem);
		return -1;
	}
	return 0;
}

void
wire_pem_free(struct wire_pem *pem)
{
	if (pem->key)
		explicit_bzero(pem->key, strlen(pem->key));
	free(pem->ca);
	free(pem->cert);
	free(pem->key);
	memset(pem, 0, sizeof(*pem));
}

/* A TLS input for messages: its path, or "(inline PEM)". */
static const char *
pem_name(const char *v)
{
	return v && strncmp(v, "-----BEGIN", 10) == 0 ? "(inline PEM)" : v ? v : "(none)";
}

grpc_server_credentials *
wire_tls_server_creds(const struct wire_tls *tls, struct mcp_err *err)
{
	grpc_ssl_pem_key_cert_pair pair;
	grpc_server_credentials *creds;
	struct wire_pem pem;

	if (wire_ssl_server_set_min_tls == NULL) {
		mcp_err_set(err, MCP_E_PRECONDITION,
		    "TLS: this libgrpc cannot be limited to TLS 1.3");
		return NULL;
	}
	if (wire_pem_load(tls, &pem, err) == -1)
		return NULL;
	pair.private_key = pem.key;
	pair.cert_chain = pem.cert;
	creds = grpc_ssl_server_credentials_create_ex(pem.ca, &pair, 1,
	    GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
	wire_pem_free(&pem);
	if (creds == NULL) {
		mcp_err_set(err, MCP_E_INVALID,
		    "TLS: cannot make server credentials from ca %s, cert %s, key %s "
		    "(does the key match the certificate?)", pem_name(tls->ca),
		    pem_name(tls->cert), pem_name(tls->key));
		return NULL;
	}
	wire_ssl_server_set_min_tls(creds, TLS1_3);
	return creds;
}

grpc_channel_credentials *
wire_tls_channel_creds(const struct wire_tls *tls, struct mcp_err *err)
{
	grpc_ssl_pem_key_cert_pair pair;
	grpc_channel_credentials *creds;
	struct wire_pem pem;

	if (wire_ssl_channel_set_min_tls == NULL) {
		mcp_err_set(err, MCP_E_PRECONDITION,
		    "TLS: this libgrpc cannot be limited to TLS 1.3");
		return NULL;
	}
	if (wire_pem_load(tls, &pem, err) == -1)
		return NULL;
	pair.private_key = pem.key;
	pair.cert_chain = pem.cert;
	creds = grpc_ssl_credentials_create_ex(pem.ca, &pair, NULL, NULL);
	wire_pem_free(&pem);
	if (creds == NULL) {
		mcp_err_set(err, MCP_E_INVALID,
		    "TLS: cannot make client credentials from ca %s, cert %s, key %s "
		    "(does the key match the certificate?)", pem_name(tls->ca),
		    pem_name(tls->cert), pem_name(tls->key));
		return NULL;
	}
	wire_ssl_channel_set_min_tls(creds, TLS1_3);
	return creds;
}

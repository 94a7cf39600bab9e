/*
 * service/service.h: service definitions (SPEC §2) loaded from TOML and
 * validated, and the one naming function for containers/VMs (SPEC §3).
 *
 * A definition that loads is safe to act on: names match
 * [a-z0-9][a-z0-9-]{0,62}, volumes are absolute host paths without "..",
 * images carry a tag that is not "latest", unknown keys were refused with
 * file, line and key, defaults are filled in.
 */
#ifndef MCP_SERVICE_SERVICE_H
#define MCP_SERVICE_SERVICE_H

#include <stddef.h>

#include "util/err.h"

#define SVC_NAME_MAX 63
#define SVC_INSTANCE_MAX 128	/* service-component + NUL */

/*
 * Limits on the shape of one definition, checked by svc_check_tree() right
 * after the TOML is parsed and before anything is loaded; each refusal
 * names the limit.  They bound the work (and host resources) a single
 * definition can ask for.
 */
#define SVC_MAX_COMPONENTS	64	/* [[components]] per service */
#define SVC_MAX_ROUTES		32	/* [[components.routes]] per component */
#define SVC_MAX_ENV		1024	/* env entries per component */
#define SVC_MAX_VOLUMES		64	/* volumes per component */
#define SVC_MAX_CMD_ARGS	1024	/* cmd arguments per component */
#define SVC_MAX_EXCLUDE		1024	/* [snapshot] exclude paths */
#define SVC_MAX_STRING		8192	/* bytes in any key or string value */

/*
 * Limits on what one caller may ask of a node (issue 7, RPC edge): each is
 * refused with a message that names it.
 *   SVC_MAX_DEFINITION_BYTES  a definition's TOML text (svc_parse, Deploy)
 *   SVC_MAX_SOURCE_BYTES      Deploy's "source" (where the text came from)
 *   SVC_MAX_HOST_PORTS        host ports one service holds (reg_service_put)
 */
#define SVC_MAX_DEFINITION_BYTES (1u << 20)
#define SVC_MAX_SOURCE_BYTES 1024u
#define SVC_MAX_HOST_PORTS 64u

struct svc_route {
	char *name;		/* "" when unnamed (then $PORT) */
	int port;		/* 1..65535, the port the component listens on */
	char *mode;		/* "l4" (default) | "l7" */
	char *hostname;		/* "" when absent */
	int public;
};

struct svc_volume {
	char *host;		/* absolute, no ".." */
	char *guest;		/* absolute, no ".." */
	char *opts;		/* "" or e.g. "ro", "Z" */
};

struct svc_component {
	char *name;
	char *image;		/* registry/repo:tag */
	char *runtime;		/* "container" | "unikernel" (inherits service default) */
	int memory_mb;		/* 0 = unset (containers: no limit) */
	int vcpus;		/* default 1 */
	char *network;		/* "" (default) | "user" (unikernel only) */
	struct svc_volume *volumes;
	size_t nvolumes;
	char **cmd;		/* NULL-terminated copy also available as ncmd */
	size_t ncmd;
	char **env;		/* "K=V", NULL-terminated */
	size_t nenv;
	char *user;		/* "" when absent */
	char *restart;		/* "no" | "on-failure" | "always" | "unless-stopped" (default) */
	struct svc_route *routes;
	size_t nroutes;
};

struct svc_def {
	char *name;
	char *node;		/* "" when absent */
	char *tier;		/* "worker" (default) | "core" */
	int active;		/* default 1 */
	char *runtime;		/* service default, "container" */
	struct svc_component *components;
	size_t ncomponents;
	char *snapshot_method;	/* "" when absent */
	char **snapshot_exclude;	/* NULL-terminated */
	size_t nexclude;
};

/* Parse and validate a definition from text; *out owned by the caller. */
int svc_parse(const char *text, size_t len, const char *filename,
    struct svc_def **out, struct mcp_err *err);
/* Read a file and svc_parse it. */
int svc_load_file(const char *path, struct svc_def **out, struct mcp_err *err);
void svc_free(struct svc_def *def);

/* 1 if name matches [a-z0-9][a-z0-9-]{0,62}. */
int svc_name_valid(const char *name);

/* The image tag ("v1.0.0" of "host:5000/hello:v1.0.0"), "" if none. */
const char *svc_image_tag(const char *image);

/*
 * SPEC §3: the container / VM name of (service, component): the service
 * name when both are equal, else "service-component".  Writes into out
 * (size >= SVC_INSTANCE_MAX); returns out.  The only place such names are
 * built.
 */
char *svc_instance_name(char *out, size_t outsz, const char *service,
    const char *component);

/*
 * The environment variable that carries route r's port: "PORT" for an
 * unnamed route, else "PORT_<NAME>" (upper-cased, '-' -> '_'): "grpc-web"
 * gives "PORT_GRPC_WEB".  c is not consulted.
 */
void svc_port_env_name(char *out, size_t outsz, const struct svc_component *c,
    const struct svc_route *r);

#endif

/*
 * cli/cli.h: the operator CLI (SPEC §7) as a library: configuration,
 * connections to agents, and one function per command.  cmd/mcp/main.c
 * parses global options and dispatches here.
 *
 * Output: human tables by default, --json for scripts; errors are one line
 * on stderr saying what and where; exit status 0 only on success.
 */
#ifndef MCP_CLI_CLI_H
#define MCP_CLI_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

#include "util/err.h"

struct cli_node {
	char name[64];
	char address[512];	/* "unix:/path" or "host:port" */
};

struct cli_config {
	char path[512];		/* where it was loaded from ("" = built-in default) */
	char master[256];
	struct cli_node *nodes;
	size_t nnodes;
	char services_dir[512];
	char tls_ca[512], tls_cert[512], tls_key[512];
};

struct cli {
	struct cli_config cfg;
	int json;
	/*
	 * stdout is a terminal (and not --json): long operations print their
	 * steps as the agent reports them (deploy through DeployStream).
	 */
	int progress;
	int width;		/* columns for tables: the terminal's, else 80 */
	int wide;		/* ps / status --wide: never truncate */
	const char *cmd;	/* the command, for error messages ("ps") */
	int direct;		/* --direct: to the agents even with [master] */
	struct cli_node placed;	/* where the master placed the service at hand */
};

/*
 * Load the CLI configuration: path if given, else $MCP_CONFIG, else
 * ~/.config/mcp/mcp.toml if it exists, else CLI_CONFIG_SYSTEM if it exists,
 * else a single node "local" at unix:/var/lib/mcp/agent.sock.
 */
#define CLI_CONFIG_SYSTEM "/etc/mcp/mcp.toml"
int cli_config_load(const char *path, struct cli_config *cfg, struct mcp_err *err);
void cli_config_free(struct cli_config *cfg);

/* Commands: argv[0] is the command name.  Return the exit status. */
int cli_cmd_deploy(struct cli *c, int argc, char **argv);
int cli_cmd_lifecycle(struct cli *c, int argc, char **argv);	/* stop/start/restart/undeploy */
int cli_cmd_ps(struct cli *c, int argc, char **argv);
int cli_cmd_status(struct cli *c, int argc, char **argv);
int cli_cmd_logs(struct cli *c, int argc, char **argv);
int cli_cmd_node(struct cli *c, int argc, char **argv);
int cli_cmd_ca(struct cli *c, int argc, char **argv);
int cli_cmd_push(struct cli *c, int argc, char **argv);
int cli_cmd_pull(struct cli *c, int argc, char **argv);
int cli_cmd_route(struct cli *c, int argc, char **argv);	/* route list */
/* cli/master.c: with [master] address (and no --direct), ps, status and
 * node list go through mcp-master (deploy and undeploy too, from their
 * commands); returns -1 when cmd is not one of them. */
int cli_master_cmd(struct cli *c, int argc, char **argv);
/* cli/data.c, through mcp-master only: snapshot SERVICE | snapshot list
 * [SERVICE]; migrate SERVICE --to NODE [--force] | migrate --all --from
 * NODE --to NODE; sync [--dry-run] (every *.toml of [services] dir). */
int cli_cmd_snapshot(struct cli *c, int argc, char **argv);
int cli_cmd_migrate(struct cli *c, int argc, char **argv);
int cli_cmd_sync(struct cli *c, int argc, char **argv);
/* `edge list` without a master: says it needs one. */
int cli_cmd_edge(struct cli *c, int argc, char **argv);

/*
 * The likely cause when the agent at address ("unix:/path" or "host:port")
 * cannot be reached, as a sentence for the operator in out; returns 1 if
 * there is one, 0 if the address looks fine (then say nothing more).
 */
int cli_unreachable_hint(const char *address, char *out, size_t outsz);

/* Columns of the terminal on fd (TIOCGWINSZ), or 80 when fd is not one. */
int cli_term_width(int fd);

/*
 * Tables and lines that fit the terminal (cli/term.c).  mcp ps and status
 * fit c->width columns: a value too long for its column ends in "…"
 * (U+2026); --wide (c->wide) and --json print everything.  Widths count
 * UTF-8 code points.
 */
size_t cli_text_width(const char *s);
/* Pure: append s cut to w columns ("…" as the last when cut), padded with
 * blanks to w when pad. */
struct buf;
void cli_fit(struct buf *out, const char *s, size_t w, int pad);
/* Pure: column widths that fit width (one blank between columns): start
 * from natural[i], take one column at a time from the widest column still
 * above minw[i]; when every column is at its minimum the row overflows. */
void cli_table_widths(const size_t *natural, const size_t *minw, size_t ncols,
    size_t width, size_t *out);
struct cli_table {
	size_t ncols, nrows, cap;
	char **cells;		/* nrows x ncols, row 0 the header */
	size_t *minw;
};
/* minw may be NULL (every column may shrink to nothing). */
struct cli_table *cli_table_new(size_t ncols, const char *const *head,
    const size_t *minw);
void cli_table_add(struct cli_table *t, const char *const *cells);
void cli_table_print(struct cli_table *t, FILE *f, size_t width, int wide);
void cli_table_free(struct cli_table *t);
/*
 * Text from a peer (an agent's or the master's errors, names, actions,
 * event details) is escaped before it reaches the terminal, so a hostile
 * or broken peer cannot move the cursor, retitle the window or hide a
 * line.  cli_escape is the CLI's one entry to it, util/escape.h's
 * mcp_escape_append (the escaping the logs use): pure, append s's len bytes
 * to out with every control character written visibly: newline, CR, tab
 * and backslash as \n \r \t \\, other C0 bytes (ESC as \x1b) and DEL as
 * \xNN, C1 controls encoded in UTF-8 (U+0080..U+009F, e.g. CSI) as \u00NN,
 * a byte that is not well-formed UTF-8 as \xNN; printable ASCII and valid
 * UTF-8 pass unchanged.  cli_table_add, cli_line, cli_printf and cli_fail apply it; --json output
 * is escaped by jansson (JSON_ENSURE_ASCII: controls become \u00NN).
 * `mcp logs` and `mcp pull` are the exceptions: they print the service's
 * own output and file bytes as they are, like cat.
 */
void cli_escape(struct buf *out, const char *s, size_t len);
/*
 * A JSON string of s for --json output.  jansson refuses text that is not
 * UTF-8 (json_string gives NULL, and the key would silently go missing):
 * such text from a peer is given escaped (mcp_escape_append) instead.
 * NULL gives "".
 */
json_t *cli_json_str(const char *s);
/* fprintf, the whole text escaped (cli_escape) but a final newline. */
int cli_printf(FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* printf one line on stdout, escaped (cli_escape), cut to c->width unless
 * --wide or --json. */
void cli_line(const struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "mcp CMD: <msg>" on stderr, msg escaped (cli_escape; msg already
 * starting with CMD is not prefixed twice); returns 1. */
int cli_fail(const struct cli *c, const struct mcp_err *err);

#endif

/*
 * bench/parse_definition.c: times the loading of service definitions, for
 * bench/parse_definition.sh (which builds it against libmcp.a).
 *
 *   parse_definition FILE...
 * For each file, one line "FILE TOML_US LOAD_US RC": the fastest of
 * several runs of toml_parse() alone and of svc_parse() (parse, checks,
 * load: all the agent does with a definition before acting on it), in
 * microseconds of this thread's CPU time (CLOCK_THREAD_CPUTIME_ID: what
 * other work on a shared machine takes does not count), and svc_parse's
 * result (0 loaded, -1 refused).  The files take turns within each round,
 * so that a small one does not run in a cache kept warm by its own
 * previous run while a large one cannot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "service/service.h"
#include "toml/toml.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/file.h"

/* Rounds: at least this many, and for at least this much CPU time. */
#define MIN_ROUNDS 5
#define MIN_NS 500000000LL

struct item {
	const char *path;
	struct buf text;
	long long toml_ns, load_ns;	/* best so far, -1 before the first */
	int rc;
};

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
best(long long *b, long long d)
{
	if (*b < 0 || d < *b)
		*b = d;
}

static void
measure(struct item *it)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct toml_value *root;
	struct svc_def *def = NULL;
	long long t0;

	t0 = now_ns();
	root = toml_parse(it->text.data, it->text.len, it->path, &err);
	best(&it->toml_ns, now_ns() - t0);
	toml_free(root);
	t0 = now_ns();
	it->rc = svc_parse(it->text.data, it->text.len, it->path, &def, &err);
	best(&it->load_ns, now_ns() - t0);
	svc_free(def);
}

int
main(int argc, char **argv)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct item *items = calloc((size_t)argc, sizeof(*items));
	long long start;
	int i, rounds, rc = 1;

	if (items == NULL)
		return 1;
	for (i = 1; i < argc; i++) {
		items[i] = (struct item){ argv[i], BUF_INIT, -1, -1, 0 };
		if (file_read(argv[i], &items[i].text, 256 << 20, &err) == -1) {
			fprintf(stderr, "parse_definition: %s\n", err.msg);
			goto out;
		}
	}
	start = now_ns();
	for (rounds = 0; rounds < MIN_ROUNDS || now_ns() - start < MIN_NS;
	    rounds++)
		for (i = 1; i < argc; i++)
			measure(&items[i]);
	for (i = 1; i < argc; i++)
		printf("%s %lld %lld %d\n", items[i].path,
		    items[i].toml_ns / 1000, items[i].load_ns / 1000,
		    items[i].rc);
	rc = 0;
out:
	for (i = 1; i < argc; i++)
		buf_free(&items[i].text);
	free(items);
	return rc;
}

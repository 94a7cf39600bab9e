/*
 * tests/tools/dns-update.c: drive lib/dns from a shell test (not installed;
 * built into build/<variant>/tools/).  The same client the master uses,
 * against a real server:
 *
 *   dns-update [-t TIMEOUT_MS] [-l TTL] [-a ALG] [-n REPEAT] [-j THREADS]
 *              SERVER PORT ZONE KEY SECRET_FILE set NAME IPV4 | delete NAME
 *
 * Exit 0 on success; else prints "dns-update: CODE: message" (CODE as
 * mcp_code_name) on stderr and exits 1.  With -n REPEAT the call is made
 * REPEAT times, on "r0.NAME" ... "rN.NAME" (so each set adds a record, a
 * real change of the zone), and the mean wall time per call is printed on
 * stdout as "per-call-ms N.NN".  With -j THREADS, THREADS threads share one
 * client, thread I working on "tI.NAME" (or "tI.rK.NAME").
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"

static void
usage(void)
{
	fprintf(stderr, "usage: dns-update [-t TIMEOUT_MS] [-l TTL] [-a ALG] "
	    "[-n REPEAT] [-j THREADS] SERVER PORT ZONE KEY SECRET_FILE "
	    "set NAME IPV4 | delete NAME\n");
	exit(2);
}

struct job {
	struct dns_client *c;
	const char *name, *ipv4;	/* ipv4 NULL: delete */
	int thread;			/* -1: none */
	int repeat;
	struct mcp_err err;
	int rc;
};

static void *
job_run(void *arg)
{
	struct job *j = arg;
	char name[320], t[16] = "", r[16] = "";
	int i;

	if (j->thread >= 0)
		snprintf(t, sizeof(t), "t%d.", j->thread);
	for (i = 0; i < j->repeat; i++) {
		/* a new name per repeat: each update really changes the zone */
		if (j->repeat > 1)
			snprintf(r, sizeof(r), "r%d.", i);
		snprintf(name, sizeof(name), "%s%s%s", t, r, j->name);
		j->rc = j->ipv4 ? dns_set_a(j->c, name, j->ipv4, &j->err) :
		    dns_delete_a(j->c, name, &j->err);
		if (j->rc == -1)
			break;
	}
	return NULL;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	struct mcp_err err = MCP_ERR_INIT;
	struct dns_config cfg = { 0 };
	struct dns_client *c = NULL;
	char secret[512];
	struct job jobs[64];
	pthread_t tid[64];
	int opt, repeat = 1, threads = 0, i, rc = 1, set;
	double t0;

	while ((opt = getopt(argc, argv, "t:l:a:n:j:")) != -1) {
		switch (opt) {
		case 't': cfg.timeout_ms = atoi(optarg); break;
		case 'l': cfg.ttl = atoi(optarg); break;
		case 'a': cfg.algorithm = optarg; break;
		case 'n': repeat = atoi(optarg); break;
		case 'j': threads = atoi(optarg); break;
		default: usage();
		}
	}
	argv += optind;
	argc -= optind;
	if (argc < 7 || repeat < 1 || threads < 0 || threads > 64)
		usage();
	set = strcmp(argv[5], "set") == 0;
	if ((set && argc != 8) || (!set && (strcmp(argv[5], "delete") != 0 ||
	    argc != 7)))
		usage();
	cfg.server = argv[0];
	cfg.port = atoi(argv[1]);
	cfg.zone = argv[2];
	cfg.key_name = argv[3];
	if (dns_secret_read(argv[4], secret, sizeof(secret), &err) == -1)
		goto out;
	cfg.secret = secret;
	c = dns_client_new(&cfg, &err);
	if (!c)
		goto out;
	t0 = now_ms();
	for (i = 0; i < (threads ? threads : 1); i++) {
		jobs[i] = (struct job){ .c = c, .name = argv[6],
		    .ipv4 = set ? argv[7] : NULL, .thread = threads ? i : -1,
		    .repeat = repeat };
		if (!threads)
			break;
		if (pthread_create(&tid[i], NULL, job_run, &jobs[i]) != 0) {
			fprintf(stderr, "dns-update: pthread_create failed\n");
			exit(1);
		}
	}
	if (!threads)
		job_run(&jobs[0]);
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	for (i = 0; i < (threads ? threads : 1); i++) {
		if (jobs[i].rc == -1) {
			err = jobs[i].err;
			goto out;
		}
	}
	if (repeat > 1 || threads)
		printf("per-call-ms %.2f\n", (now_ms() - t0) / repeat /
		    (threads ? threads : 1));
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "dns-update: %s: %s\n", mcp_code_name(err.code),
		    err.msg);
	dns_client_free(c);
	return rc;
}

/*
 * agent/signals.c: what mcp-agent does with each signal.  A daemon can be
 * sent any signal; none may end it silently.
 *
 *   SIGTERM, SIGINT, SIGQUIT     shut down, logged ("terminating on SIGTERM
 *                                from pid 123"); containers and VMs keep
 *                                running.
 *   SIGHUP, SIGUSR1, SIGUSR2,    logged and ignored: they kill by default,
 *   SIGALRM, SIGVTALRM, SIGPROF, and nothing in the agent uses them (there
 *   SIGIO, SIGPWR, SIGSTKFLT,    is no configuration reload: SIGHUP says
 *   SIGXCPU, SIGRTMIN..SIGRTMAX  so).
 *   SIGPIPE, SIGXFSZ             ignored: the failing write returns EPIPE
 *                                or EFBIG to the code that made it.
 *   SIGSEGV, SIGBUS, SIGFPE,     left at their default: they report a bug
 *   SIGILL, SIGTRAP, SIGSYS,     in the agent (a core, a sanitizer report)
 *   SIGABRT                      or serve a debugger.
 *   SIGCHLD, SIGURG, SIGWINCH,   default (ignored, or stop/continue as
 *   SIGCONT, SIGTSTP, SIGTTIN,   job control means); SIGKILL and SIGSTOP
 *   SIGTTOU                      cannot be caught.
 *
 * The signals of the first two groups are blocked before any thread
 * exists (every thread inherits the mask), and the main thread takes them
 * with sigwaitinfo, so the sender is known and logging is safe.  Children
 * start with a clean mask and dispositions (util/spawn.c).
 */
#include "agent/agent.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

static const int agent_sig_stop[] = { SIGTERM, SIGINT, SIGQUIT };
static const int agent_sig_ignore[] = {
	SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR,
	SIGSTKFLT, SIGXCPU,
};

static void
agent_sig_set(sigset_t *set)
{
	size_t i;

	sigemptyset(set);
	for (i = 0; i < sizeof(agent_sig_stop) / sizeof(agent_sig_stop[0]); i++)
		sigaddset(set, agent_sig_stop[i]);
	for (i = 0; i < sizeof(agent_sig_ignore) / sizeof(agent_sig_ignore[0]); i++)
		sigaddset(set, agent_sig_ignore[i]);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaddset(set, sig);
}

static int
agent_sig_stops(int sig)
{
	for (size_t i = 0; i < sizeof(agent_sig_stop) / sizeof(agent_sig_stop[0]); i++)
		if (agent_sig_stop[i] == sig)
			return 1;
	return 0;
}

void
agent_signals_block(void)
{
	struct sigaction dfl, ign;
	sigset_t set;

	agent_sig_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* a signal ignored on entry (a shell's `agent &` ignores SIGINT and
	 * SIGQUIT, nohup SIGHUP) would be discarded, never waited for: the
	 * table above holds however the agent was started */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1)
			sigaction(sig, &dfl, NULL);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, NULL);
	sigaction(SIGXFSZ, &ign, NULL);
}

/* "SIGUSR1", "SIGRTMIN+3" */
static const char *
agent_sig_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

int
agent_signals_wait(void)
{
	sigset_t set;
	siginfo_t si;
	char name[32], from[64];
	int sig;

	agent_sig_set(&set);
	for (;;) {
		if ((sig = sigwaitinfo(&set, &si)) == -1)
			continue;	/* EINTR: a signal outside the set */
		from[0] = '\0';
		if (si.si_code == SI_USER || si.si_code == SI_QUEUE ||
		    si.si_code == SI_TKILL)
			snprintf(from, sizeof(from), " from pid %d (uid %u)",
			    (int)si.si_pid, (unsigned)si.si_uid);
		agent_sig_name(sig, name, sizeof(name));
		if (agent_sig_stops(sig)) {
			log_info("terminating on %s%s: shutting down (containers and "
			    "VMs keep running)", name, from);
			return sig;
		}
		log_info("%s%s: ignored%s", name, from, sig == SIGHUP ?
		    " (mcp-agent has no configuration reload: restart it to apply "
		    "a changed configuration)" : "");
	}
}

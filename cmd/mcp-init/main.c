/*
 * mcp-init: PID 1 of a unikernel VM (SPEC §4.1).  Static, libc only, no
 * shell anywhere in the image.
 *
 * Boot: mount proc, sys, devtmpfs (/dev), devpts, tmpfs (/dev/shm, /tmp,
 * /run); point fds 0-2 at the console; read /mcp/config (config.h); load
 * the listed kernel modules in order (finit_module); set the hostname; bring
 * up lo and the configured interface (net.c); replace the environment;
 * fork and exec the app with its argv, its stdout/stderr on the serial
 * console.
 *
 * Run: one poll loop over a signalfd (SIGCHLD, SIGTERM, SIGINT, SIGHUP) and
 * the /dev/input/event* devices.  A KEY_POWER press (QMP system_powerdown
 * -> ACPI power button -> button.ko -> evdev) or a SIGTERM/SIGINT to init
 * becomes SIGTERM for the app.  Every child is reaped.
 *
 * End: when the app exits, print "mcp-init: app exited with status N" on
 * the console (N = exit code, or 128+signal), terminate what is left,
 * sync, and power off; QEMU then exits.  Any fatal boot error is printed
 * and also ends in power-off (PID 1 must never return).
 */
#include "config.h"
#include "net.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_INPUTS 16
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void
say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "mcp-init: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	if (write(2, line, (size_t)n) < 0) {
		/* nowhere else to report it */
	}
}

static void
reap_all(int wait_ms)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	for (int t = 0; t <= wait_ms; t += 20) {
		pid_t p;

		while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		if (p == -1 && errno == ECHILD)
			return;
		nanosleep(&ts, NULL);
	}
}

static void __attribute__((noreturn))
power_off(void)
{
	kill(-1, SIGTERM);
	reap_all(1000);
	kill(-1, SIGKILL);
	reap_all(200);
	sync();
	reboot(RB_POWER_OFF);
	say("reboot(RB_POWER_OFF): %s", strerror(errno));
	for (;;)
		pause();
}

static void
mount_one(const char *src, const char *dir, const char *type,
    unsigned long flags, const char *data)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, flags, data) == -1 && errno != EBUSY)
		say("mount %s on %s: %s", type, dir, strerror(errno));
}

static void
console_setup(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd == -1)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static int
config_load(struct initcfg *cfg)
{
	char buf[65536], err[256];
	ssize_t n;
	size_t len = 0;
	int fd = open(INITCFG_PATH, O_RDONLY | O_CLOEXEC);

	if (fd == -1) {
		say("open %s: %s", INITCFG_PATH, strerror(errno));
		return -1;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len == sizeof(buf)) {
		say("%s: larger than %zu bytes", INITCFG_PATH, sizeof(buf) - 1);
		return -1;
	}
	if (initcfg_parse(buf, len, cfg, err, sizeof(err)) == -1) {
		say("%s: %s", INITCFG_PATH, err);
		return -1;
	}
	return 0;
}

static void
modules_load(const struct initcfg *cfg)
{
	for (size_t i = 0; i < cfg->nmodules; i++) {
		int fd = open(cfg->modules[i], O_RDONLY | O_CLOEXEC);

		if (fd == -1) {
			say("module %s: %s", cfg->modules[i], strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) == -1 && errno != EEXIST)
			say("module %s: finit_module: %s", cfg->modules[i], strerror(errno));
		close(fd);
	}
}

static void
network_setup(const struct initcfg *cfg)
{
	char err[256];

	if (net_loopback_up(err, sizeof(err)) == -1)
		say("lo: %s", err);
	if (cfg->ip && net_iface_up(cfg->ifname, cfg->ip, cfg->netmask,
	    cfg->gateway, 3000, err, sizeof(err)) == -1)
		say("network: %s", err);
}

static void
env_setup(const struct initcfg *cfg)
{
	clearenv();
	for (size_t i = 0; i < cfg->nenv; i++)
		putenv(cfg->env[i]);
	if (getenv("PATH") == NULL)
		setenv("PATH", DEFAULT_PATH, 1);
}

static pid_t
app_start(const struct initcfg *cfg, const sigset_t *blocked)
{
	pid_t pid = fork();

	if (pid == -1) {
		say("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		return pid;
	/* child: a clean signal mask, its own session, stdin from /dev/null */
	sigprocmask(SIG_UNBLOCK, blocked, NULL);
	setsid();
	int fd = open("/dev/null", O_RDONLY);
	if (fd > 0) {
		dup2(fd, 0);
		close(fd);
	}
	if (chdir(cfg->workdir ? cfg->workdir : "/") == -1)
		say("chdir %s: %s", cfg->workdir, strerror(errno));
	execv(cfg->argv[0], cfg->argv);
	say("exec %s: %s", cfg->argv[0], strerror(errno));
	_exit(127);
}

/* Open the input event devices not yet open; returns how many are open. */
static int
inputs_scan(int *fds, char names[][32], int n)
{
	DIR *d = opendir("/dev/input");
	struct dirent *de;

	if (d == NULL)
		return n;
	while ((de = readdir(d)) != NULL && n < MAX_INPUTS) {
		char path[300];
		int seen = 0, fd;

		if (strncmp(de->d_name, "event", 5) != 0 || strlen(de->d_name) >= 32)
			continue;
		for (int i = 0; i < n; i++)
			if (strcmp(names[i], de->d_name) == 0)
				seen = 1;
		if (seen)
			continue;
		snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd == -1)
			continue;
		snprintf(names[n], 32, "%s", de->d_name);
		fds[n++] = fd;
	}
	closedir(d);
	return n;
}

/* 1 when the device reported a KEY_POWER press. */
static int
input_power_pressed(int fd)
{
	struct input_event ev[16];
	ssize_t n;
	int pressed = 0;

	while ((n = read(fd, ev, sizeof(ev))) > 0)
		for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++)
			if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER &&
			    ev[i].value == 1)
				pressed = 1;
	return pressed;
}

/* Report how the app ended; returns the status number printed. */
static int
app_report(int wstatus)
{
	if (WIFSIGNALED(wstatus)) {
		say("app exited with status %d (signal %d)", 128 + WTERMSIG(wstatus),
		    WTERMSIG(wstatus));
		return 128 + WTERMSIG(wstatus);
	}
	say("app exited with status %d", WEXITSTATUS(wstatus));
	return WEXITSTATUS(wstatus);
}

/* The supervision loop; returns when the app has exited. */
static void
supervise(pid_t app, int sfd)
{
	int fds[MAX_INPUTS], ninputs = 0;
	char names[MAX_INPUTS][32];
	time_t last_scan = 0;

	for (;;) {
		struct pollfd pfd[MAX_INPUTS + 1];
		time_t now = time(NULL);
		int rc;

		if (now != last_scan) {	/* input devices may appear late */
			ninputs = inputs_scan(fds, names, ninputs);
			last_scan = now;
		}
		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (int i = 0; i < ninputs; i++)
			pfd[i + 1] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		rc = poll(pfd, (nfds_t)ninputs + 1, 1000);
		if (rc == -1 && errno != EINTR) {
			say("poll: %s", strerror(errno));
			return;
		}
		for (int i = 0; rc > 0 && i < ninputs; i++) {
			if (!(pfd[i + 1].revents & POLLIN) || !input_power_pressed(fds[i]))
				continue;
			say("power button: sending SIGTERM to the app (pid %d)", (int)app);
			kill(app, SIGTERM);
		}
		if (rc > 0 && (pfd[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				say("signal %d: sending SIGTERM to the app", (int)si.ssi_signo);
				kill(app, SIGTERM);
			}
			for (;;) {
				int wstatus;
				pid_t p = waitpid(-1, &wstatus, WNOHANG);

				if (p <= 0)
					break;
				if (p == app) {
					app_report(wstatus);
					return;
				}
			}
		}
	}
}

int
main(void)
{
	struct initcfg cfg;
	sigset_t set;
	pid_t app;
	int sfd;

	if (getpid() != 1) {
		fprintf(stderr, "mcp-init: must run as PID 1 inside a VM\n");
		return 1;
	}
	mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	console_setup();
	mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");
	mount_one("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_one("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");

	if (config_load(&cfg) == -1)
		power_off();
	modules_load(&cfg);
	if (cfg.hostname && sethostname(cfg.hostname, strlen(cfg.hostname)) == -1)
		say("sethostname %s: %s", cfg.hostname, strerror(errno));
	network_setup(&cfg);
	env_setup(&cfg);

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd == -1) {
		say("signalfd: %s", strerror(errno));
		power_off();
	}
	/* ctrl-alt-del becomes SIGINT to init instead of an immediate reboot */
	reboot(RB_DISABLE_CAD);

	app = app_start(&cfg, &set);
	if (app == -1)
		power_off();
	say("started %s (pid %d)", cfg.argv[0], (int)app);
	supervise(app, sfd);
	power_off();
}

/*
 * runtime/qemu_state.c: the per-VM state directory (layout in qemu.h):
 * naming, PID trust, reading spec.json back into struct rt_info (with the
 * VM's identity and the spec hash it was created from), the exit
 * status from the console, and removal.  Everything the runtime knows
 * about a VM is derived from here, so a restarted agent sees what the old
 * one saw.
 */
#include "runtime/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/proc.h"

int
qemu_vm_dir(const char *state_dir, const char *name, char *out, size_t outsz,
    struct mcp_err *err)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= RT_NAME_MAX || name[0] == '.' || name[0] == '-')
		return mcp_err_set(err, MCP_E_INVALID, "vm name \"%s\": invalid",
		    name ? name : "");
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_' ||
		    name[i] == '.'))
			return mcp_err_set(err, MCP_E_INVALID,
			    "vm name \"%s\": only letters, digits, '.', '-', '_' allowed", name);
	if ((size_t)snprintf(out, outsz, "%s/%s", state_dir, name) >= outsz)
		return mcp_err_set(err, MCP_E_INVALID, "vm %s: state path too long", name);
	return 0;
}

int
qemu_pid_trusted(pid_t pid, const char *vmdir)
{
	char want[4200];

	snprintf(want, sizeof(want), "%s/", vmdir);
	return proc_pid_trusted(pid, want);
}

pid_t
qemu_pid_read(const char *vmdir)
{
	char path[4200], want[4200];

	snprintf(path, sizeof(path), "%s/qemu.pid", vmdir);
	snprintf(want, sizeof(want), "%s/", vmdir);
	return proc_pidfile_read(path, want);
}

int
qemu_console_exit_status(const char *vmdir)
{
	static const char mark[] = "mcp-init: app exited with status ";
	char path[4200], tail[8192];
	const char *p, *last = NULL;
	ssize_t n;
	off_t size;
	int fd;

	snprintf(path, sizeof(path), "%s/console.log", vmdir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	size = lseek(fd, 0, SEEK_END);
	n = pread(fd, tail, sizeof(tail) - 1, size > (off_t)sizeof(tail) - 1 ?
	    size - (off_t)sizeof(tail) + 1 : 0);
	close(fd);
	if (n <= 0)
		return -1;
	tail[n] = '\0';
	for (p = tail; (p = strstr(p, mark)) != NULL; p += sizeof(mark) - 1)
		last = p + sizeof(mark) - 1;
	return last ? atoi(last) : -1;
}

int
qemu_vm_inspect(const char *vmdir, struct rt_info *out, struct mcp_err *err)
{
	char path[4200];
	json_error_t jerr;
	json_t *j;
	const char *s;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/spec.json", vmdir);
	if ((j = json_load_file(path, 0, &jerr)) == NULL) {
		if (access(path, F_OK) == -1)
			return mcp_err_set(err, MCP_E_NOTFOUND, "vm %s: no such VM", vmdir);
		return mcp_err_set(err, MCP_E_DATALOSS, "vm %s: spec.json: %s", vmdir, jerr.text);
	}
#define GETS(field, key) do { \
	s = json_string_value(json_object_get(j, key)); \
	mcp_strlcpy(out->field, s ? s : "", sizeof(out->field)); \
} while (0)
	GETS(name, "name");
	GETS(service, "service");
	GETS(component, "component");
	GETS(image, "image");
	GETS(image_hash, "hash");
	GETS(image_id, "image_id");
	GETS(vm_ip, "vm_ip");
	GETS(spec_hash, "spec_hash");
	GETS(id, "instance_id");
	GETS(machine, "machine");
	GETS(kernel, "kernel_desc");
	/* VMs started before these were recorded: -M pc, the kernel's path */
	if (out->machine[0] == '\0')
		mcp_strlcpy(out->machine, "pc", sizeof(out->machine));
	if (out->kernel[0] == '\0')
		GETS(kernel, "kernel");
#undef GETS
	/* a VM started before instance ids: its state dir's name */
	if (out->id[0] == '\0') {
		s = strrchr(vmdir, '/');
		mcp_strlcpy(out->id, s ? s + 1 : vmdir, sizeof(out->id));
	}
	out->memory_mb = (int)json_integer_value(json_object_get(j, "memory_mb"));
	out->vcpus = (int)json_integer_value(json_object_get(j, "vcpus"));
	out->started_at = (int64_t)json_integer_value(json_object_get(j, "started_at"));
	json_decref(j);
	pid = qemu_pid_read(vmdir);
	out->pid = (int)pid;
	mcp_strlcpy(out->state, pid > 0 ? "running" : "stopped", sizeof(out->state));
	out->exit_code = pid > 0 ? 0 : qemu_console_exit_status(vmdir);
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

int
qemu_vm_dir_remove(const char *vmdir, struct mcp_err *err)
{
	if (access(vmdir, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (nftw(vmdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == -1)
		return mcp_err_errno(err, errno, "remove %s", vmdir);
	return 0;
}

/*
 * agent/data_remove.c: RemoveServiceData (mcp-master only): the last step
 * of a migrate, once the service runs on its new node, removes its data
 * directory <srv_root>/<service>/ here.  Refused while the service is
 * still deployed on this node (its registry entry exists): only data
 * nothing here uses any more goes.  The tree is removed without following
 * symlinks or crossing into other file systems.
 */
#include "agent/agent.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "registry/registry.h"
#include "service/service.h"
#include "util/buf.h"
#include "util/log.h"

static pthread_mutex_t rm_mu = PTHREAD_MUTEX_INITIALIZER;	/* nftw state */
static int rm_errno;
static char rm_path[1024];
static unsigned info_entries;
static unsigned long long info_bytes;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) == -1 && errno != ENOENT) {
		rm_errno = errno;
		mcp_strlcpy(rm_path, path, sizeof(rm_path));
		return 1;
	}
	return 0;
}

int
agent_remove_data(struct agent *a, const char *service, struct buf *actions,
    struct mcp_err *err)
{
	struct reg_service *rs = NULL;
	struct mcp_err e = MCP_ERR_INIT;
	char dir[1024];
	struct stat st;
	int rc = -1;

	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "remove data: \"%s\" is not a "
		    "valid service name", service);
	agent_lock_service(a, service);
	if (reg_service_get(a->reg, service, &rs, &e) == 0) {
		mcp_err_set(err, MCP_E_PRECONDITION, "remove data of %s: it is still "
		    "deployed on this node (undeploy it first)", service);
		goto out;
	}
	if (e.code != MCP_E_NOTFOUND) {
		*err = e;
		goto out;
	}
	agent_srv_dir(a, service, dir, sizeof(dir));
	if (lstat(dir, &st) == -1 && errno == ENOENT) {
		buf_printf(actions, "%s: no data directory here\n", dir);
		rc = 0;
		goto out;
	}
	pthread_mutex_lock(&rm_mu);
	rm_errno = 0;
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == -1 && !rm_errno) {
		rm_errno = errno;
		mcp_strlcpy(rm_path, dir, sizeof(rm_path));
	}
	if (rm_errno)
		mcp_err_errno(err, rm_errno, "remove data of %s: %s", service, rm_path);
	else {
		buf_printf(actions, "%s: removed\n", dir);
		log_info("data of %s removed (%s)", service, dir);
		rc = 0;
	}
	pthread_mutex_unlock(&rm_mu);
out:
	reg_service_free(rs);
	agent_unlock_service(a, service);
	return rc;
}

static int
info_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	if (ftw->level == 0)
		return 0;
	info_entries++;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		info_bytes += (unsigned long long)st->st_size;
	return 0;
}

int
agent_data_info(struct agent *a, const char *service, int *exists,
    unsigned *entries, unsigned long long *bytes, char *path, size_t pathsz,
    struct mcp_err *err)
{
	struct stat st;
	int rc = 0;

	*exists = 0;
	*entries = 0;
	*bytes = 0;
	if (!svc_name_valid(service))
		return mcp_err_set(err, MCP_E_INVALID, "data info: \"%s\" is not a "
		    "valid service name", service);
	snprintf(path, pathsz, "%s/%s", a->cfg.srv_root, service);
	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		return mcp_err_errno(err, errno, "data info of %s: %s", service, path);
	}
	*exists = 1;
	if (!S_ISDIR(st.st_mode)) {
		*entries = 1;	/* something that is not a directory: occupied */
		return 0;
	}
	pthread_mutex_lock(&rm_mu);
	info_entries = 0;
	info_bytes = 0;
	if (nftw(path, info_one, 16, FTW_PHYS | FTW_MOUNT) == -1)
		rc = mcp_err_errno(err, errno, "data info of %s: %s", service, path);
	*entries = info_entries;
	*bytes = info_bytes;
	pthread_mutex_unlock(&rm_mu);
	return rc;
}

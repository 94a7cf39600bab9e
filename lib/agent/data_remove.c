/*
 * agent/data_remove.c: RemoveServiceData (mcp-master only): the last step
 * of a migrate, once the service runs on its new node, removes its data
 * directory <srv_root>/<service>/ here.  Refused while the service is
 * still deployed on this node (its registry entry exists): only data
 * nothing here uses any more goes.  The directory is first renamed to a
 * hidden <srv_root>/.<service>.removed-XXXXXX (one atomic step: from then
 * on /srv/<service>/ is gone), the call answers, and the tree is removed
 * on a thread of its own without following symlinks or crossing into
 * other file systems: tens of thousands of files take tens of seconds to
 * unlink, which a migrate need not wait for.  A removal cut short (the
 * agent stopped) is finished at the next start (agent_remove_leftovers).
 * Where the rename cannot be done (the directory is a mount point), the
 * tree is removed before the answer, as before.
 */
#include "agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdlib.h>
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

/* Remove the tree at path; 0, or -1 with rm_errno/rm_path.  Under rm_mu. */
static int
rm_tree(const char *path)
{
	rm_errno = 0;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == -1 &&
	    !rm_errno) {
		rm_errno = errno;
		mcp_strlcpy(rm_path, path, sizeof(rm_path));
	}
	return rm_errno ? -1 : 0;
}

static void *
rm_thread(void *arg)
{
	char *path = arg;

	pthread_mutex_lock(&rm_mu);
	if (rm_tree(path) == -1)
		log_warnx("remove %s: %s: %s", path, rm_path, strerror(rm_errno));
	else
		log_info("%s removed", path);
	pthread_mutex_unlock(&rm_mu);
	free(path);
	return NULL;
}

/* Remove path on a detached thread; 0, or -1 when no thread started. */
static int
rm_background(const char *path)
{
	pthread_attr_t at;
	pthread_t th;
	char *copy = strdup(path);
	int e;

	if (copy == NULL)
		return -1;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&th, &at, rm_thread, copy);
	pthread_attr_destroy(&at);
	if (e != 0) {
		free(copy);
		return -1;
	}
	return 0;
}

/* A hidden name beside <srv_root>/<service> holding an old tree. */
static int
rm_trash_name(const char *srv_root, const char *service, char *out,
    size_t outsz)
{
	return (size_t)snprintf(out, outsz, "%s/.%s.removed-XXXXXX", srv_root,
	    service) >= outsz ? -1 : 0;
}

void
agent_remove_leftovers(struct agent *a)
{
	DIR *d = opendir(a->cfg.srv_root);
	struct dirent *de;
	char path[1024];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strstr(de->d_name, ".removed-") == NULL)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", a->cfg.srv_root,
		    de->d_name) >= sizeof(path))
			continue;
		log_info("removing %s (left by an earlier RemoveServiceData)", path);
		if (rm_background(path) == -1)
			log_warnx("remove %s: no thread for it", path);
	}
	closedir(d);
}

int
agent_remove_data(struct agent *a, const char *service, struct buf *actions,
    struct mcp_err *err)
{
	struct reg_service *rs = NULL;
	struct mcp_err e = MCP_ERR_INIT;
	char dir[1024], trash[1024];
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
	/* out of the way in one step, removed after the answer */
	if (rm_trash_name(a->cfg.srv_root, service, trash, sizeof(trash)) == 0 &&
	    mkdtemp(trash) != NULL) {
		if (rename(dir, trash) == 0) {
			if (rm_background(trash) == -1) {
				pthread_mutex_lock(&rm_mu);
				if (rm_tree(trash) == -1)
					log_warnx("remove %s: %s: %s", trash, rm_path,
					    strerror(rm_errno));
				pthread_mutex_unlock(&rm_mu);
			}
			buf_printf(actions, "%s: removed (its files are unlinked in "
			    "the background)\n", dir);
			log_info("data of %s removed (%s, moved to %s to be unlinked)",
			    service, dir, trash);
			rc = 0;
			goto out;
		}
		log_warnx("rename %s to %s: %s; removing it in place", dir, trash,
		    strerror(errno));
		rmdir(trash);
	}
	pthread_mutex_lock(&rm_mu);
	if (rm_tree(dir) == -1)
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

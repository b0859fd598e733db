/*
 * apid_landlock.c — the filesystem apid may touch after start-up, enforced
 * by the kernel (Landlock): api_files_dir (read, write, create, truncate
 * files and read directories there), the node's run directory (its own
 * IPC socket: create and remove) and peernet.conf (read, for SIGHUP).  Nothing else: not the warehouse, not the
 * node's keys, not /etc.  Stored files reach apid only as read-only
 * descriptors storaged opens and passes over its bulk channel (IPC_FILE_FD):
 * Landlock checks opens, so those need no rule here.  The seccomp filter cannot see openat2's
 * RESOLVE_BENEATH (it is in memory); this can.
 *
 * Landlock restricts the calling thread and the threads it creates later,
 * so this runs while apid is still single-threaded (daemon.c's bind step,
 * before nng and libmicrohttpd start theirs).  A kernel without Landlock
 * (ENOSYS, EOPNOTSUPP) leaves apid with openat2 and seccomp only, logged.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/landlock.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apid.h"
#include "log.h"
#include "sandbox.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)
#endif

/* The rights of ABI 1, then what ABI 2, 3 and 5 added. */
#define LL_FS_V1 (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
	LANDLOCK_ACCESS_FS_MAKE_SYM)

static int
apid_ll_rule(int ruleset, const char *path, uint64_t access, uint64_t handled,
    char *err, size_t errlen)
{
	struct landlock_path_beneath_attr pb;
	struct stat st;
	int fd, rc;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "landlock: %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* A directory covers what is beneath it; a file takes only file rights. */
	if (!S_ISDIR(st.st_mode))
		access &= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_TRUNCATE;
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = access & handled;
	pb.parent_fd = fd;
	rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0);
	close(fd);
	if (rc != 0) {
		snprintf(err, errlen, "landlock rule for %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
apid_landlock(struct apid *api, const char *dir, char *err, size_t errlen)
{
	struct landlock_ruleset_attr ra;
	char run[PATH_MAX];
	const char *www;
	uint64_t handled = LL_FS_V1;
	int abi, ruleset;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		log_info("Landlock unavailable (%s): files confined by openat2 and "
		    "seccomp only", strerror(errno));
		return 0;
	}
	if (abi >= 2)
		handled |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		handled |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = handled;
	if ((ruleset = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0)) < 0) {
		snprintf(err, errlen, "landlock ruleset: %s", strerror(errno));
		return -1;
	}
	snprintf(run, sizeof(run), "%s/run", dir);
	/*
	 * Sanitizer builds (as sbx_restrict): LeakSanitizer reads
	 * /proc/PID/task at exit.
	 */
	if (sbx_san_mode() && apid_ll_rule(ruleset, "/proc", LANDLOCK_ACCESS_FS_READ_FILE |
	    LANDLOCK_ACCESS_FS_READ_DIR, handled, err, errlen) != 0)
		goto fail;
	/* The configuration, read again on SIGHUP (the log level). */
	if (api->conf->path[0] != '\0' && apid_ll_rule(ruleset, api->conf->path,
	    LANDLOCK_ACCESS_FS_READ_FILE, handled, err, errlen) != 0)
		goto fail;
	/* The IPC socket (nng replaces a stale one) and nothing else there. */
	if (apid_ll_rule(ruleset, run, LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_REMOVE_FILE, handled, err, errlen) != 0)
		goto fail;
	if (api->files_fd != -1 && apid_ll_rule(ruleset, api->files_dir,
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
	    LANDLOCK_ACCESS_FS_TRUNCATE, handled, err, errlen) != 0)
		goto fail;
	/* The web interface's files, read on each request (api_static.c). */
	if ((www = api_static_dir()) != NULL && apid_ll_rule(ruleset, www,
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR, handled,
	    err, errlen) != 0)
		goto fail;
	/* landlock_restrict_self wants no_new_privs (sbx_restrict sets it again). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
		snprintf(err, errlen, "landlock: %s", strerror(errno));
		goto fail;
	}
	close(ruleset);
	log_info("Landlock ABI %d: files only in %s/run%s%s", abi, dir,
	    api->files_fd != -1 ? " and " : "", api->files_fd != -1 ?
	    api->files_dir : "");
	return 0;
fail:
	close(ruleset);
	return -1;
}

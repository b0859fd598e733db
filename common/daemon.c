/*
 * daemon.c — start-up, IPC plumbing and the main loop shared by the three
 * daemons (see daemon.h).
 */
#define _GNU_SOURCE	/* pipe2 */
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"
#include "version.h"

/* The daemons each one keeps a link to (reachability in `status`). */
static const char *const daemon_peers[][3] = {
	/* self, peer 1, peer 2 */
	{ "netd", "storaged", "searchd" },
	{ "storaged", "netd", "searchd" },
	{ "searchd", "storaged", "netd" },
};

/* Asked for (--help): to stdout; after a bad argument: to stderr. */
static void
daemon_usage(const struct daemon *d, FILE *f)
{
	fprintf(f,
	    "usage: %s [-fhv] [-d DIR]\n"
	    "  -d, --dir DIR  node directory (default: $PEERNET_DIR or /var/lib/peernet)\n"
	    "  -f             stay in the foreground, log to stderr\n"
	    "  -v             more verbose logging (debug)\n"
	    "  -h, --help     this help\n"
	    "  --version      print the version\n"
	    "Started as root it drops to the user in DIR/peernet.conf.\n"
	    "Usually started by 'peernetctl -d DIR up' or by systemd.\n",
	    d->procname);
}

int
daemon_sock_path(const struct daemon *d, const char *name, char *out, size_t cap)
{
	return ipc_path(out, cap, d->dir, name);
}

int
daemon_call(const struct daemon *d, const char *name, const void *req, size_t len,
    uint8_t **rep, size_t *replen, int timeout_ms, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (daemon_sock_path(d, name, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s/run: path too long for a unix socket", d->dir);
		return IPC_CALL_ERROR;
	}
	return ipc_call(path, req, len, rep, replen, timeout_ms, err, errlen);
}

int
daemon_netd_id(struct daemon *d, struct ipc_id *id, int timeout_ms)
{
	uint8_t req[IPC_HDR_LEN], *rep;
	char err[256];
	size_t len;
	int rc;

	ipc_empty_encode(req, sizeof(req), IPC_ID, IPC_OK);
	if (daemon_call(d, "netd", req, sizeof(req), &rep, &len, timeout_ms, err,
	    sizeof(err)) != 0)
		return -1;
	rc = ipc_id_decode(rep, len, id);
	free(rep);
	if (rc != 0) {
		log_warnx("netd's id reply: %s", ipc_decode_strerror(rc));
		return -1;
	}
	return 0;
}

int
daemon_make_dir(struct daemon *d, const char *sub, int mode, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	struct passwd *pw;
	struct group *gr;
	struct stat sb;

	if (snprintf(path, sizeof(path), "%s/%s", d->dir, sub) >= (int)sizeof(path)) {
		snprintf(err, errlen, "%s/%s: path too long", d->dir, sub);
		return -1;
	}
	if (mkdir(path, (mode_t)mode) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	if (stat(path, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return -1;
	}
	/* As root the directory must belong to the user we are about to become. */
	if (geteuid() == 0) {
		if ((pw = getpwnam(d->conf.user)) == NULL) {
			snprintf(err, errlen, "user '%s' does not exist: create it "
			    "with 'make deps' or systemd-sysusers", d->conf.user);
			return -1;
		}
		if ((gr = getgrnam(d->conf.group)) == NULL) {
			snprintf(err, errlen, "group '%s' does not exist: create it "
			    "with 'make deps' or systemd-sysusers", d->conf.group);
			return -1;
		}
		if (chown(path, pw->pw_uid, gr->gr_gid) == -1 ||
		    chmod(path, (mode_t)mode) == -1) {
			snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
daemon_lock(struct daemon *d, char *err, size_t errlen)
{
	char path[PATH_MAX], pid[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/run/%s.lock", d->dir, d->name);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* flock dies with its process, so a lock file left by a crash is no obstacle. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen, "%s is already running for %s (pid %s)",
		    d->name, d->dir, pid[0] ? pid : "?");
		close(fd);
		return -1;
	}
	if (ftruncate(fd, 0) == 0) {
		n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (pwrite(fd, pid, (size_t)n, 0) != n)
			log_warn("%s: write pid", path);
	}
	d->lockfd = fd;
	return 0;
}

/*
 * Without -f: fork, and let the parent wait until the child is ready, so that
 * whoever started us gets an exit status that means something.
 */
static void
daemon_detach(struct daemon *d)
{
	int p[2], status = 1;
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1)
			status = 0;
		_exit(status);
	}
	close(p[0]);
	d->readyfd = p[1];
	if (setsid() == -1)
		fatal("setsid");
}

static void
daemon_ready(struct daemon *d)
{
	int fd;

	sd_notify(0, "READY=1");
	if (d->readyfd == -1)
		return;
	if (write(d->readyfd, "R", 1) != 1)
		log_warn("ready pipe");
	close(d->readyfd);
	d->readyfd = -1;
	/* Detached: from now on only syslog/journald. */
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	log_init(d->procname, 0, d->conf.log_level);
}

void
daemon_status(struct daemon *d, struct ipc_status *st)
{
	uint64_t now = loop_now_ms();
	int i;

	memset(st, 0, sizeof(*st));
	strlcpy(st->name, d->name, sizeof(st->name));
	strlcpy(st->version, PEERNET_VERSION, sizeof(st->version));
	st->pid = (uint32_t)getpid();
	st->uid = (uint32_t)geteuid();
	st->uptime_ms = now - d->start_ms;
	strlcpy(st->sandbox, sbx_summary(&d->sbx), sizeof(st->sandbox));
	strlcpy(st->dir, d->dir, sizeof(st->dir));
	st->nlinks = (uint8_t)d->nlinks;
	for (i = 0; i < d->nlinks; i++) {
		strlcpy(st->links[i].name, d->links[i].name, sizeof(st->links[i].name));
		st->links[i].state = (uint8_t)ipc_link_state(&d->links[i], now,
		    DAEMON_LINK_STALE_MS);
		st->links[i].last_ok_ms_ago = d->links[i].last_ok_ms ?
		    now - d->links[i].last_ok_ms : UINT64_MAX;
	}
}

static void
daemon_reload(struct daemon *d)
{
	struct conf c;
	char err[512];

	/* Only what needs no privilege can change at run time: the log level. */
	if (conf_load(&c, d->dir, err, sizeof(err)) == -1) {
		log_warnx("reload: %s (keeping the old configuration)", err);
		return;
	}
	d->conf.log_level = c.log_level;
	log_setlevel(d->verbose ? LOG_LVL_DEBUG : c.log_level);
	log_info("configuration reloaded");
	if (d->ops->reload != NULL)
		d->ops->reload(d);
}

static void
daemon_serve(void *arg, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct daemon *d = arg;
	uint8_t buf[4096];
	struct ipc_status st;
	struct ipc_probe pr;
	uint16_t type = ipc_req_type(req);
	long n;
	int s;

	switch (type) {
	case IPC_STATUS:
		if (ipc_empty_decode(msg, len, type) != 0)
			break;
		daemon_status(d, &st);
		if ((n = ipc_status_encode(buf, sizeof(buf), IPC_STATUS, &st)) < 0) {
			ipc_reply_error(req, IPC_ERR_FAILED, "status too large");
			return;
		}
		ipc_reply(req, buf, (size_t)n);
		return;
	case IPC_SHUTDOWN:
		if (ipc_empty_decode(msg, len, type) != 0)
			break;
		log_info("shutdown requested over IPC by uid %u",
		    (unsigned)ipc_req_uid(req));
		n = ipc_empty_encode(buf, sizeof(buf), IPC_SHUTDOWN, IPC_OK);
		ipc_reply(req, buf, (size_t)n);
		loop_stop(&d->loop);
		return;
	case IPC_RELOAD:
		if (ipc_empty_decode(msg, len, type) != 0)
			break;
		daemon_reload(d);
		n = ipc_empty_encode(buf, sizeof(buf), IPC_RELOAD, IPC_OK);
		ipc_reply(req, buf, (size_t)n);
		return;
	case IPC_SANDBOX_PROBE:
		if (ipc_empty_decode(msg, len, type) != 0)
			break;
		/* Shows from inside the process what its sandbox allows. */
		pr.inet_errno = pr.unix_errno = 0;
		if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
			pr.inet_errno = errno;
		else
			close(s);
		if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
			pr.unix_errno = errno;
		else
			close(s);
		n = ipc_probe_encode(buf, sizeof(buf), &pr);
		ipc_reply(req, buf, (size_t)n);
		return;
	default:
		if (d->ops->request != NULL) {
			d->ops->request(d, req, type, msg, len);
			return;
		}
		ipc_reply_error(req, IPC_ERR_UNKNOWN, "%s does not serve %s requests",
		    d->name, ipc_type_name(type));
		return;
	}
	ipc_reply_error(req, IPC_ERR_BADMSG, "malformed %s request",
	    ipc_type_name(type));
}

static void
daemon_on_ipc(int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)events;
	ipc_server_dispatch(&d->srv);
}

static void
daemon_on_link(int fd, uint32_t events, void *arg)
{
	struct ipc_link *l = arg;

	(void)fd;
	(void)events;
	ipc_link_readable(l, loop_now_ms());
}

static void
daemon_on_tick(void *arg)
{
	struct daemon *d = arg;
	uint64_t now = loop_now_ms();
	int i, before;

	for (i = 0; i < d->nlinks; i++) {
		before = ipc_link_state(&d->links[i], now, DAEMON_LINK_STALE_MS);
		ipc_link_ping(&d->links[i], now);
		if (before == IPC_LINK_DOWN && d->links[i].last_ok_ms != 0 &&
		    now - d->links[i].last_ok_ms < DAEMON_LINK_STALE_MS + DAEMON_LINK_TICK_MS)
			log_warnx("%s is not answering", d->links[i].name);
	}
}

static void
daemon_on_watchdog(void *arg)
{
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

static void
daemon_on_signal(int signo, void *arg)
{
	struct daemon *d = arg;

	if (signo == SIGHUP) {
		daemon_reload(d);
		return;
	}
	log_info("%s received, exiting", strsignal(signo));
	loop_stop(&d->loop);
}

/* root, ourselves, the owner of the node directory, and the configured extras. */
static int
daemon_allowed_uids(struct daemon *d, uid_t *uids)
{
	struct stat sb;
	int n = 0, i;

	uids[n++] = 0;
	uids[n++] = geteuid();
	if (stat(d->dir, &sb) == 0)
		uids[n++] = sb.st_uid;
	for (i = 0; i < d->conf.nallow_uid && n < IPC_MAX_ALLOWED; i++)
		uids[n++] = (uid_t)d->conf.allow_uid[i];
	return n;
}

static int
daemon_open_ipc(struct daemon *d, char *err, size_t errlen)
{
	uid_t uids[IPC_MAX_ALLOWED];
	char path[PATH_MAX];
	int i, j;

	if (daemon_sock_path(d, d->name, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s/run: path too long for a unix socket", d->dir);
		return -1;
	}
	if (ipc_server_open(&d->srv, path, uids, daemon_allowed_uids(d, uids),
	    daemon_serve, d, err, errlen) == -1)
		return -1;
	if (loop_add_fd(&d->loop, d->srv.fd, EPOLLIN, daemon_on_ipc, d) == -1) {
		snprintf(err, errlen, "loop: %s", strerror(errno));
		return -1;
	}
	if (d->ops->nbulk_types > 0) {
		char bulk[64];

		snprintf(bulk, sizeof(bulk), "%s-bulk", d->name);
		if (daemon_sock_path(d, bulk, path, sizeof(path)) == -1 ||
		    ipc_server_bulk_open(&d->srv, &d->loop, path, d->ops->bulk_types,
		    d->ops->nbulk_types, err, errlen) == -1)
			return -1;
	}
	for (i = 0; i < 3; i++) {
		if (strcmp(daemon_peers[i][0], d->name) != 0)
			continue;
		for (j = 1; j < 3; j++) {
			struct ipc_link *l = &d->links[d->nlinks];

			daemon_sock_path(d, daemon_peers[i][j], path, sizeof(path));
			if (ipc_link_open(l, daemon_peers[i][j], path) == -1) {
				snprintf(err, errlen, "link to %s failed", daemon_peers[i][j]);
				return -1;
			}
			if (loop_add_fd(&d->loop, l->fd, EPOLLIN, daemon_on_link, l) == -1) {
				snprintf(err, errlen, "loop: %s", strerror(errno));
				return -1;
			}
			d->nlinks++;
		}
	}
	if (loop_timer_add(&d->loop, 50, DAEMON_LINK_TICK_MS, daemon_on_tick, d) == NULL) {
		snprintf(err, errlen, "timer: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
daemon_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static int
daemon_args(struct daemon *d, int argc, char **argv)
{
	/* Long forms too: operators try --help and --version first. */
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = getenv("PEERNET_DIR");
	int ch;

	while ((ch = getopt_long(argc, argv, "d:fhv", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'f':
			d->foreground = 1;
			break;
		case 'v':
			d->verbose++;
			break;
		case 'h':
			daemon_usage(d, stdout);
			exit(0);
		case 'V':
			printf("%s %s\n", d->procname, PEERNET_VERSION);
			exit(0);
		default:
			daemon_usage(d, stderr);
			return -1;
		}
	}
	if (optind != argc) {
		daemon_usage(d, stderr);
		return -1;
	}
	if (dir == NULL || *dir == '\0')
		dir = "/var/lib/peernet";
	if (realpath(dir, d->dir) == NULL) {
		fprintf(stderr, "%s: node directory %s: %s\n", d->procname, dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
daemon_main(struct daemon *d, int argc, char **argv)
{
	char err[1024];

	d->readyfd = -1;
	d->lockfd = -1;
	d->start_ms = loop_now_ms();
	log_init(d->procname, 1, LOG_LVL_INFO);
	if (daemon_args(d, argc, argv) == -1)
		return 1;
	if (conf_load(&d->conf, d->dir, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	log_setlevel(d->verbose ? LOG_LVL_DEBUG : d->conf.log_level);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Block the signals the loop takes through its signalfd now, before any
	 * thread exists (nng's, the sync threads): threads inherit the mask.  A
	 * thread without them blocked would take SIGTERM or SIGHUP with the
	 * default action and end the process on the spot: no clean shutdown,
	 * and `systemctl reload` killing the daemon instead of reloading it.
	 */
	daemon_block_signals();
	if (!d->foreground)
		daemon_detach(d);

	/* 1. What needs privilege: run dir, lock, the daemon's own resources. */
	if (daemon_make_dir(d, "run", 0770, err, sizeof(err)) == -1 ||
	    daemon_lock(d, err, sizeof(err)) == -1)
		goto fail;
	if (d->ops->privileged != NULL && d->ops->privileged(d, err, sizeof(err)) == -1)
		goto fail;

	/* 2. Become the unprivileged user (netd keeps only the bind capability). */
	if (sbx_drop_privileges(d->conf.user, d->conf.group, d->role == SBX_NETD,
	    &d->sbx, err, sizeof(err)) != 0)
		goto fail;

	/* 3. Bind while single-threaded, then drop the last capability. */
	if (loop_init(&d->loop) == -1) {
		snprintf(err, sizeof(err), "event loop: %s", strerror(errno));
		goto fail;
	}
	if (d->ops->bind != NULL && d->ops->bind(d, err, sizeof(err)) == -1)
		goto fail;
	if (sbx_drop_bind_cap(&d->sbx, err, sizeof(err)) != 0)
		goto fail;

	/* 4. IPC (nng starts threads here), the rest, then restrict syscalls. */
	if (daemon_open_ipc(d, err, sizeof(err)) == -1)
		goto fail;
	if (d->ops->setup != NULL && d->ops->setup(d, err, sizeof(err)) == -1)
		goto fail;
	if (sbx_restrict(d->role, &d->sbx, err, sizeof(err)) != 0)
		goto fail;

	if (loop_add_signal(&d->loop, SIGTERM, daemon_on_signal, d) == -1 ||
	    loop_add_signal(&d->loop, SIGINT, daemon_on_signal, d) == -1 ||
	    loop_add_signal(&d->loop, SIGHUP, daemon_on_signal, d) == -1) {
		snprintf(err, sizeof(err), "signals: %s", strerror(errno));
		goto fail;
	}
	if (sd_watchdog_enabled(0, &d->watchdog_usec) > 0 &&
	    loop_timer_add(&d->loop, d->watchdog_usec / 2000,
	    d->watchdog_usec / 2000, daemon_on_watchdog, d) == NULL) {
		snprintf(err, sizeof(err), "watchdog timer: %s", strerror(errno));
		goto fail;
	}
	log_info("started for %s (%s)", d->dir, sbx_summary(&d->sbx));
	daemon_ready(d);

	if (loop_run(&d->loop) == -1) {
		log_warn("event loop");
		d->exit_code = 1;
	}
	sd_notify(0, "STOPPING=1");
	if (d->ops->shutdown != NULL)
		d->ops->shutdown(d);
	for (int i = 0; i < d->nlinks; i++)
		ipc_link_close(&d->links[i]);
	ipc_server_close(&d->srv);
	log_info("stopped");
	return d->exit_code;
fail:
	log_warnx("%s", err);
	return 1;
}

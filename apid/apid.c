/*
 * apid.c — peernet-apid's start-up: the daemon checklist of common/daemon.c
 * with apid's hooks.  As root (privileged hook) it reads the TLS files and
 * binds the TCP listen sockets, so that a port below 1024 needs no
 * capability afterwards; then the user drop, the IPC socket, libmicrohttpd's
 * threads on the bound sockets (setup hook), the seccomp allowlist of the
 * apid role, and the loop (signals, IPC status, /shutdown).
 */
#define _GNU_SOURCE	/* pipe2 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apid.h"
#include "daemon.h"
#include "log.h"

static struct apid apid;

static int
apid_is_loopback(const struct conf_listen *l)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (l->family == AF_INET)
		return l->addr[0] == 127;
	return memcmp(l->addr, v6lo, 16) == 0;
}

/* A PEM file into a malloc'd NUL-terminated string (as root: it may be 0600). */
static char *
apid_read_pem(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	char *buf;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    sb.st_size > 1024 * 1024) {
		snprintf(err, errlen, "%s: not a PEM file of at most 1 MiB", path);
		close(fd);
		return NULL;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = read(fd, buf, (size_t)sb.st_size);
	close(fd);
	if (n != sb.st_size) {
		snprintf(err, errlen, "%s: short read", path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int
apid_bind_one(struct apid_listener *ls, const struct conf_listen *l, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	int fd, one = 1;

	slen = conf_listen_sockaddr(l, &ss);
	if ((fd = socket(l->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1) {
		snprintf(err, errlen, "socket for %s: %s", l->text, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/*
	 * A backlog for a burst of clients (1,000 connecting at once in
	 * bench/apid.sh): with 128, the rest were SYN-retried for seconds and
	 * new clients queued behind them while MHD accepted.
	 */
	if (bind(fd, (struct sockaddr *)&ss, slen) == -1 || listen(fd, 1024) == -1) {
		snprintf(err, errlen, "listen on %s: %s", l->text, strerror(errno));
		close(fd);
		return -1;
	}
	ls->fd = fd;
	ls->mhd = NULL;
	strlcpy(ls->text, l->text, sizeof(ls->text));
	return 0;
}

/*
 * Each HTTP connection is a descriptor, and the default soft limit (1,024)
 * is below APID_MAX_CONNS: raised towards the hard limit while setrlimit is
 * still callable (the seccomp allowlist forbids it later).
 */
static void
apid_raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)APID_MAX_CONNS * CONF_MAX_API_LISTEN + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("setrlimit RLIMIT_NOFILE");
	else if (rl.rlim_cur < (rlim_t)APID_MAX_CONNS)
		log_warnx("only %llu descriptors allowed (hard limit): fewer "
		    "than %d HTTP connections at once", (unsigned long long)rl.rlim_cur,
		    APID_MAX_CONNS);
}

/* Root: checks the [apid] keys together, reads TLS files, binds. */
static int
apid_privileged(struct daemon *d, char *err, size_t errlen)
{
	const struct conf *c = &d->conf;
	struct stat sb;
	int i;

	apid.d = d;
	apid.conf = &d->conf;
	apid_raise_nofile();
	apid.stop_pipe[0] = apid.stop_pipe[1] = -1;
	for (i = 0; i < c->napi_listen; i++)
		if (c->api_key[0] == '\0' && !apid_is_loopback(&c->api_listen[i])) {
			snprintf(err, errlen, "api_listen = %s is not a loopback "
			    "address: set api_key (a UUID) to serve it",
			    c->api_listen[i].text);
			return -1;
		}
	if (c->api_key[0] != '\0' && stat(c->path, &sb) == 0 && (sb.st_mode & S_IROTH))
		log_warnx("%s holds api_key and is readable by every user: "
		    "chmod o-r it", c->path);
	if ((c->api_tls_cert[0] != '\0') != (c->api_tls_key[0] != '\0')) {
		snprintf(err, errlen, "api_tls_cert and api_tls_key go together");
		return -1;
	}
	if (c->api_tls_cert[0] != '\0' &&
	    ((apid.tls_cert = apid_read_pem(c->api_tls_cert, err, errlen)) == NULL ||
	    (apid.tls_key = apid_read_pem(c->api_tls_key, err, errlen)) == NULL))
		return -1;
	/* As root: api_files_dir may be the operator's, readable by the group. */
	if (api_local_init(&apid, err, errlen) == -1)
		return -1;
	for (i = 0; i < c->napi_listen; i++) {
		if (apid_bind_one(&apid.ls[i], &c->api_listen[i], err, errlen) == -1)
			return -1;
		apid.nls++;
	}
	return 0;
}

void
apid_request_stop(struct apid *api)
{
	char c = 'S';

	if (write(api->stop_pipe[1], &c, 1) != 1)
		log_warn("stop pipe");
}

static void
apid_stop_now(void *arg)
{
	struct daemon *d = arg;

	loop_stop(&d->loop);
}

/* Stops a moment later, so that /shutdown's answer reaches its client. */
static void
apid_on_stop(int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	char c;

	(void)events;
	if (read(fd, &c, 1) == 1) {
		log_info("shutdown requested over the web API");
		if (loop_timer_add(&d->loop, 300, 0, apid_stop_now, d) == NULL)
			loop_stop(&d->loop);
	}
}

static int
apid_setup(struct daemon *d, char *err, size_t errlen)
{
	if (pipe2(apid.stop_pipe, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    loop_add_fd(&d->loop, apid.stop_pipe[0], EPOLLIN, apid_on_stop, d) == -1) {
		snprintf(err, errlen, "stop pipe: %s", strerror(errno));
		return -1;
	}
	if (apid.nls == 0)
		log_info("no api_listen in the configuration: serving nothing");
	return api_http_start(&apid, err, errlen);
}

static void
apid_shutdown(struct daemon *d)
{
	(void)d;
	api_http_stop(&apid);
	api_net_status_stop();
	api_ipc_close_all();
	free(apid.tls_cert);
	free(apid.tls_key);
}

/* Still single-threaded: Landlock then binds every thread apid will have. */
static int
apid_bind(struct daemon *d, char *err, size_t errlen)
{
	return apid_landlock(&apid, d->dir, err, errlen);
}

static const struct daemon_ops apid_ops = {
	.privileged = apid_privileged,
	.bind = apid_bind,
	.setup = apid_setup,
	.shutdown = apid_shutdown,
};

int
main(int argc, char **argv)
{
	static struct daemon d = {
		.name = "apid",
		.procname = "peernet-apid",
		.role = SBX_APID,
		.ops = &apid_ops,
		.ctx = &apid,
	};

	return daemon_main(&d, argc, argv);
}

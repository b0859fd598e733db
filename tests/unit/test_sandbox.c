/*
 * test_sandbox.c — common/sandbox: every restriction is applied in a forked
 * child, so this process stays unrestricted.  A child reports a failure
 * through a pipe and exits 1, a skip with exit 77; death by a signal (SIGSYS
 * from a seccomp kill, say) is a failure too.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <linux/netlink.h>

#include <arpa/inet.h>
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "sandbox.h"
#include "t.h"

#define CHILD_SKIP	77
#define PRIV_PORT	112	/* Peernet's default UDP port, privileged */

static int	 c_fd = -1;	/* the child's end of the report pipe */
static char	 tmpdir[64];	/* a fresh directory per case */

static void
c_report(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3),
    noreturn));

static void
c_report(int code, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(c_fd, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
	_exit(code);
}

#define C_ASSERT(c) do {						\
	if (!(c))							\
		c_report(1, "%s:%d: %s (errno %d: %s)", __FILE__, __LINE__, \
		    #c, errno, strerror(errno));			\
} while (0)
#define C_EQ(a, b) do {							\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b)							\
		c_report(1, "%s:%d: %s == %lld, expected %lld (errno %d: %s)", \
		    __FILE__, __LINE__, #a, _a, _b, errno, strerror(errno)); \
} while (0)
#define C_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (strcmp(_a, _b) != 0)					\
		c_report(1, "%s:%d: %s == \"%s\", expected \"%s\"",	\
		    __FILE__, __LINE__, #a, _a, _b);			\
} while (0)

/* Runs fn in a child; returns 0 if it exited 0, else records FAIL/SKIP. */
static int
t_child(const char *what, void (*fn)(void))
{
	char buf[401];
	ssize_t n;
	size_t len = 0;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0) {
		t_fail(__FILE__, __LINE__, "pipe2: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		t_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		c_fd = p[1];
		fn();
		_exit(0);
	}
	close(p[1]);
	while (len < sizeof(buf) - 1 &&
	    (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid) {
		t_fail(__FILE__, __LINE__, "waitpid: %s", strerror(errno));
		return -1;
	}
	if (WIFSIGNALED(status)) {
		t_fail(__FILE__, __LINE__, "%s: child killed by signal %d (%s)",
		    what, WTERMSIG(status), strsignal(WTERMSIG(status)));
		return -1;
	}
	if (WEXITSTATUS(status) == CHILD_SKIP) {
		t_skip("%s", buf);
		return -1;
	}
	if (WEXITSTATUS(status) != 0) {
		t_fail(__FILE__, __LINE__, "%s: %s", what,
		    len ? buf : "child failed without a reason");
		return -1;
	}
	return 0;
}

#define T_CHILD(fn) do { if (t_child(#fn, fn) != 0) return; } while (0)

/* A field of /proc/self/status, read as a number in the given base. */
static long long
status_field(const char *name, int base)
{
	char line[256];
	size_t n = strlen(name);
	long long v = -1;
	FILE *f;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return -2;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtoll(line + n + 1, NULL, base);
			break;
		}
	}
	fclose(f);
	return v;
}

static void
c_restrict(enum sbx_role role)
{
	struct sbx_state st;
	char err[256] = "";
	char want[64];
	int rc;

	memset(&st, 0, sizeof(st));
	rc = sbx_restrict(role, &st, err, sizeof(err));
	if (rc != 0)
		c_report(1, "sbx_restrict(%s) = %d: %s", sbx_role_name(role), rc,
		    err);
	C_EQ(st.no_new_privs, 1);
	C_EQ(st.seccomp, 1 + (int)role);
	snprintf(want, sizeof(want), "nnp=1 seccomp=%s", sbx_role_name(role));
	if (strstr(sbx_summary(&st), want) == NULL)
		c_report(1, "summary \"%s\" lacks \"%s\"", sbx_summary(&st), want);
}

static void
mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/peernet-sbx.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		tmpdir[0] = '\0';
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
rm_tmpdir(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

/* --- checks run inside children ------------------------------------------ */

static void
c_inet_denied_unix_allowed(void)
{
	int fd, sv[2];

	errno = 0;
	C_EQ(socket(AF_INET, SOCK_DGRAM, 0), -1);
	C_EQ(errno, EPERM);
	errno = 0;
	C_EQ(socket(AF_INET6, SOCK_DGRAM, 0), -1);
	C_EQ(errno, EPERM);
	errno = 0;
	C_EQ(socket(AF_INET, SOCK_STREAM, 0), -1);
	C_EQ(errno, EPERM);
	errno = 0;
	C_EQ(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), -1);
	C_EQ(errno, EPERM);
	C_ASSERT((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	close(fd);
	C_ASSERT((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	close(fd);
	C_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	C_EQ(write(sv[0], "x", 1), 1);
	close(sv[0]);
	close(sv[1]);
}

static void
c_file_io(void)
{
	char a[128], b[128], d[128], buf[16];
	int fd;

	snprintf(a, sizeof(a), "%s/a.tmp", tmpdir);
	snprintf(b, sizeof(b), "%s/b", tmpdir);
	snprintf(d, sizeof(d), "%s/sub", tmpdir);
	C_ASSERT((fd = open(a, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0);
	C_EQ(pwrite(fd, "peernet", 7, 0), 7);
	C_EQ(fsync(fd), 0);
	C_EQ(ftruncate(fd, 4), 0);
	C_EQ(close(fd), 0);
	C_EQ(rename(a, b), 0);
	C_ASSERT((fd = open(b, O_RDONLY | O_CLOEXEC)) >= 0);
	C_EQ(read(fd, buf, sizeof(buf)), 4);
	C_EQ(memcmp(buf, "peer", 4), 0);
	close(fd);
	C_EQ(mkdir(d, 0700), 0);
	C_EQ(rmdir(d), 0);
	C_EQ(unlink(b), 0);
}

static void
c_status_shows_filter(void)
{
	C_EQ(status_field("NoNewPrivs", 10), 1);
	C_EQ(status_field("Seccomp", 10), 2);
}

/* SQLite in WAL mode: fcntl locks, the shared -shm mapping, fsync, unlink. */
static void
c_sqlite_wal(int fts)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *q;
	char *msg = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/node.db", tmpdir);
	C_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	C_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &q, NULL),
	    SQLITE_OK);
	C_EQ(sqlite3_step(q), SQLITE_ROW);
	C_STR((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	rc = sqlite3_exec(db, "CREATE TABLE f(k INTEGER PRIMARY KEY, v BLOB);"
	    "INSERT INTO f(v) VALUES (randomblob(5000)), (randomblob(70000));"
	    "PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		c_report(1, "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
	if (fts) {
		rc = sqlite3_exec(db, "CREATE VIRTUAL TABLE kw USING "
		    "fts5(name); INSERT INTO kw VALUES ('peernet sandbox test');",
		    NULL, NULL, &msg);
		if (rc != SQLITE_OK)
			c_report(1, "sqlite fts5: %s",
			    msg ? msg : sqlite3_errstr(rc));
	}
	C_EQ(sqlite3_close(db), SQLITE_OK);
	/* Reopen: the rows are really on disk. */
	C_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	C_EQ(sqlite3_prepare_v2(db, fts ?
	    "SELECT count(*) FROM kw WHERE kw MATCH 'sandbox'" :
	    "SELECT sum(length(v)) FROM f", -1, &q, NULL), SQLITE_OK);
	C_EQ(sqlite3_step(q), SQLITE_ROW);
	C_EQ(sqlite3_column_int(q, 0), fts ? 1 : 75000);
	sqlite3_finalize(q);
	C_EQ(sqlite3_close(db), SQLITE_OK);
}

/*
 * nng started after the filter: its worker threads (clone3 -> ENOSYS ->
 * clone), pollers, IPC listen/dial/accept and a request round trip.
 */
static void
c_nng_ipc(void)
{
	nng_socket rep, req;
	char url[160], *buf = NULL;
	size_t sz = 0;
	int rc;

	snprintf(url, sizeof(url), "ipc://%s/t.ipc", tmpdir);
	if ((rc = nng_rep0_open(&rep)) != 0 || (rc = nng_listen(rep, url, NULL,
	    0)) != 0 || (rc = nng_req0_open(&req)) != 0 ||
	    (rc = nng_dial(req, url, NULL, 0)) != 0)
		c_report(1, "nng setup: %s", nng_strerror(rc));
	C_EQ(nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 5000), 0);
	C_EQ(nng_socket_set_ms(rep, NNG_OPT_RECVTIMEO, 5000), 0);
	if ((rc = nng_send(req, "ping", 5, 0)) != 0)
		c_report(1, "nng_send: %s", nng_strerror(rc));
	if ((rc = nng_recv(rep, &buf, &sz, NNG_FLAG_ALLOC)) != 0)
		c_report(1, "nng_recv (rep): %s", nng_strerror(rc));
	C_EQ(sz, 5);
	C_STR(buf, "ping");
	nng_free(buf, sz);
	C_EQ(nng_send(rep, "pong", 5, 0), 0);
	if ((rc = nng_recv(req, &buf, &sz, NNG_FLAG_ALLOC)) != 0)
		c_report(1, "nng_recv (req): %s", nng_strerror(rc));
	C_STR(buf, "pong");
	nng_free(buf, sz);
	nng_close(req);
	nng_close(rep);
}

static int
notify_listen(char *path, size_t len)
{
	struct sockaddr_un sun;
	int fd;

	snprintf(path, len, "%s/notify", tmpdir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
c_sd_notify(void)
{
	C_EQ(sd_notify(0, "READY=1\nSTATUS=sandboxed"), 1);
}

/* Things no daemon does after start-up. */
static void
c_process_limits(void)
{
	void *p;
	pid_t pid;

	errno = 0;
	C_EQ(unshare(CLONE_NEWUSER), -1);
	C_EQ(errno, EPERM);
	/* W^X: no writable+executable mapping, nothing made executable. */
	errno = 0;
	C_ASSERT(mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
	C_EQ(errno, EPERM);
	C_ASSERT((p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) != MAP_FAILED);
	errno = 0;
	C_EQ(mprotect(p, 4096, PROT_READ | PROT_EXEC), -1);
	C_EQ(errno, EPERM);
	C_EQ(mprotect(p, 4096, PROT_READ), 0);
	C_EQ(munmap(p, 4096), 0);
	C_EQ(prctl(PR_SET_NAME, "sbx-test", 0, 0, 0), 0);
	/* sanitizer builds allow what LSan needs */
	if (sbx_san_mode())
		return;	/* LSan forks, ptraces and sets prctls */
	errno = 0;
	pid = fork();
	if (pid == 0)
		_exit(0);
	C_EQ(pid, -1);
	C_EQ(errno, EPERM);
	errno = 0;
	C_EQ(ptrace(PTRACE_TRACEME, 0, NULL, NULL), -1);
	C_EQ(errno, EPERM);
	errno = 0;
	C_EQ(execl("/bin/true", "true", (char *)NULL), -1);
	C_EQ(errno, EPERM);
	/* prctl may name a thread, not make the process dumpable again. */
	errno = 0;
	C_EQ(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), -1);
	C_EQ(errno, EPERM);
}

static void *
thread_fn(void *arg)
{
	*(int *)arg = 42;
	return NULL;
}

static void
c_threads(void)
{
	pthread_t th;
	int v = 0;

	C_EQ(pthread_create(&th, NULL, thread_fn, &v), 0);
	C_EQ(pthread_join(th, NULL), 0);
	C_EQ(v, 42);
}

static void
ch_storaged_inet(void)
{
	c_restrict(SBX_STORAGED);
	c_inet_denied_unix_allowed();
	c_status_shows_filter();
}

static void
ch_storaged_files(void)
{
	c_restrict(SBX_STORAGED);
	c_file_io();
	c_sqlite_wal(0);
}

static void
ch_storaged_services(void)
{
	c_restrict(SBX_STORAGED);
	c_threads();
	c_nng_ipc();
	c_sd_notify();
}

static void
ch_storaged_limits(void)
{
	c_restrict(SBX_STORAGED);
	c_process_limits();
}

static void
ch_searchd(void)
{
	c_restrict(SBX_SEARCHD);
	c_inet_denied_unix_allowed();
	c_status_shows_filter();
	c_file_io();
	c_sqlite_wal(1);
	c_nng_ipc();
}

static void
ch_netd_udp(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char buf[8];
	int fd, nl;

	c_restrict(SBX_NETD);
	c_status_shows_filter();
	C_ASSERT((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	C_EQ(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	C_EQ(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	C_ASSERT(ntohs(sin.sin_port) != 0);
	/* A datagram to ourselves over loopback. */
	C_EQ(sendto(fd, "hello", 5, 0, (struct sockaddr *)&sin, sizeof(sin)), 5);
	C_EQ(recv(fd, buf, sizeof(buf), 0), 5);
	C_EQ(memcmp(buf, "hello", 5), 0);
	close(fd);
	C_ASSERT((fd = socket(AF_INET6, SOCK_DGRAM, 0)) >= 0 ||
	    errno == EAFNOSUPPORT);
	if (fd >= 0)
		close(fd);
	C_ASSERT((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	close(fd);
	C_ASSERT((nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) >= 0);
	close(nl);
	/* Raw packets and other netlink families stay out of reach. */
	errno = 0;
	C_EQ(socket(AF_PACKET, SOCK_DGRAM, 0), -1);
	C_EQ(errno, EPERM);
	errno = 0;
	C_EQ(socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT), -1);
	C_EQ(errno, EPERM);
}

static void
ch_netd_readonly(void)
{
	char path[128];

	c_restrict(SBX_NETD);
	snprintf(path, sizeof(path), "%s/written", tmpdir);
	errno = 0;
	C_EQ(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600), -1);
	C_EQ(errno, EPERM);
	C_EQ(access(path, F_OK), -1);
	C_ASSERT(status_field("Seccomp", 10) == 2);	/* reading works */
	c_threads();
	c_nng_ipc();
	c_process_limits();
}

static void
ch_restrict_twice(void)
{
	struct sbx_state st;
	char err[128];

	memset(&st, 0, sizeof(st));
	C_EQ(sbx_restrict(SBX_SEARCHD, &st, err, sizeof(err)), 0);
	C_EQ(sbx_restrict(SBX_NETD, &st, err, sizeof(err)), SBX_ERR_AGAIN);
	C_EQ(st.seccomp, 1 + SBX_SEARCHD);
}

static void *
sleeper(void *arg)
{
	pause();
	return NULL;
}

static void
ch_caps_refuse_threads(void)
{
	struct sbx_state st;
	pthread_t th;
	char err[256] = "";

	if (status_field("CapEff", 16) == 0)
		c_report(CHILD_SKIP, "needs capabilities to hold (run as root)");
	memset(&st, 0, sizeof(st));
	C_EQ(pthread_create(&th, NULL, sleeper, NULL), 0);
	C_EQ(sbx_drop_bind_cap(&st, err, sizeof(err)), SBX_ERR_THREADS);
	C_ASSERT(strstr(err, "2 threads") != NULL);
	if (geteuid() == 0) {
		C_EQ(sbx_drop_privileges("nobody", NULL, 0, &st, err,
		    sizeof(err)), SBX_ERR_THREADS);
		C_EQ(getuid(), 0);
	}
	C_ASSERT(status_field("CapEff", 16) != 0);
}

static long long
unpriv_port_start(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
	long long v = 1024;

	if (f != NULL) {
		if (fscanf(f, "%lld", &v) != 1)
			v = 1024;
		fclose(f);
	}
	return v;
}

static int
bind_udp(int port)
{
	struct sockaddr_in sin;
	int fd, rc, e;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	e = errno;
	close(fd);
	return rc == 0 ? 0 : -e;
}

static void
ch_root_drop_keep_bind(void)
{
	struct sbx_state st;
	char err[256] = "";
	int rc;

	memset(&st, 0, sizeof(st));
	rc = sbx_drop_privileges("nobody", "nogroup", 1, &st, err, sizeof(err));
	if (rc != 0)
		c_report(1, "sbx_drop_privileges = %d: %s", rc, err);
	C_EQ(st.dropped_user, 1);
	C_EQ(getuid(), 65534);
	C_EQ(geteuid(), 65534);
	C_EQ(getgid(), 65534);
	C_EQ(getgroups(0, NULL), 0);
	C_EQ(st.uid, 65534);
	C_EQ(st.caps_cleared, 0);
	C_EQ(status_field("CapEff", 16), 1LL << 10);	/* CAP_NET_BIND_SERVICE */
	C_EQ(status_field("CapPrm", 16), 1LL << 10);
	C_EQ(status_field("CapBnd", 16), 0);
	C_EQ(status_field("CapAmb", 16), 0);
	C_STR(sbx_summary(&st), "uid=65534 caps=net_bind_service nnp=0 "
	    "seccomp=none");
	rc = bind_udp(PRIV_PORT);
	if (rc != 0)
		c_report(1, "bind 127.0.0.1:%d with CAP_NET_BIND_SERVICE: %s",
		    PRIV_PORT, strerror(-rc));
	rc = sbx_drop_bind_cap(&st, err, sizeof(err));
	if (rc != 0)
		c_report(1, "sbx_drop_bind_cap = %d: %s", rc, err);
	C_EQ(st.caps_cleared, 1);
	C_EQ(status_field("CapEff", 16), 0);
	C_EQ(status_field("CapPrm", 16), 0);
	C_EQ(status_field("CapInh", 16), 0);
	C_EQ(bind_udp(PRIV_PORT + 1), -EACCES);
	C_STR(sbx_summary(&st), "uid=65534 caps=none nnp=0 seccomp=none");
	/* And the whole sandbox on top, as netd does. */
	if ((rc = sbx_restrict(SBX_NETD, &st, err, sizeof(err))) != 0)
		c_report(1, "sbx_restrict = %d: %s", rc, err);
	C_STR(sbx_summary(&st), "uid=65534 caps=none nnp=1 seccomp=netd");
}

static void
ch_root_drop_storaged(void)
{
	struct sbx_state st;
	char err[256] = "";
	int rc;

	memset(&st, 0, sizeof(st));
	rc = sbx_drop_privileges("nobody", NULL, 0, &st, err, sizeof(err));
	if (rc != 0)
		c_report(1, "sbx_drop_privileges = %d: %s", rc, err);
	C_EQ(getgid(), 65534);	/* nobody's primary group */
	C_EQ(status_field("CapEff", 16), 0);
	C_EQ(status_field("CapPrm", 16), 0);
	C_EQ(st.caps_cleared, 1);
	C_EQ(bind_udp(PRIV_PORT + 2), -EACCES);
	/* No way back to root. */
	C_EQ(setuid(0), -1);
	C_EQ(errno, EPERM);
}

static void
ch_root_missing_user(void)
{
	struct sbx_state st;
	char err[256] = "";
	long long eff = status_field("CapEff", 16);

	memset(&st, 0, sizeof(st));
	C_EQ(sbx_drop_privileges("peernet-sbx-nouser", "peernet", 0, &st, err,
	    sizeof(err)), SBX_ERR_NOUSER);
	C_STR(err, "user 'peernet-sbx-nouser' does not exist: create it with "
	    "'make deps' or systemd-sysusers");
	C_EQ(getuid(), 0);
	C_EQ(geteuid(), 0);
	C_EQ(st.dropped_user, 0);
	C_EQ(status_field("CapEff", 16), eff);
	C_EQ(sbx_drop_privileges("nobody", "peernet-sbx-nogroup", 0, &st, err,
	    sizeof(err)), SBX_ERR_NOGROUP);
	C_ASSERT(strstr(err, "group 'peernet-sbx-nogroup' does not exist") !=
	    NULL);
	C_EQ(sbx_drop_privileges("root", NULL, 0, &st, err, sizeof(err)),
	    SBX_ERR_ROOTUSER);
	C_EQ(getuid(), 0);
}

/*
 * The systemd case: started as the service user with CAP_NET_BIND_SERVICE
 * ambient (and, here, CAP_NET_RAW too, which must go).
 */
static void
ch_ambient_bind(void)
{
	struct sbx_state st;
	char err[256] = "";
	int rc;

	capng_clear(CAPNG_SELECT_BOTH);
	C_EQ(capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED |
	    CAPNG_INHERITABLE, CAP_NET_BIND_SERVICE, CAP_NET_RAW, -1), 0);
	C_EQ(capng_change_id(65534, 65534, CAPNG_DROP_SUPP_GRP), 0);
	C_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE,
	    0, 0), 0);
	C_EQ(status_field("CapAmb", 16), 1LL << CAP_NET_BIND_SERVICE);
	C_EQ(status_field("CapEff", 16), (1LL << CAP_NET_BIND_SERVICE) |
	    (1LL << CAP_NET_RAW));

	memset(&st, 0, sizeof(st));
	rc = sbx_drop_privileges("peernet-sbx-nouser", NULL, 1, &st, err,
	    sizeof(err));
	if (rc != 0)
		c_report(1, "sbx_drop_privileges = %d: %s", rc, err);
	C_EQ(st.dropped_user, 0);
	C_EQ(status_field("CapEff", 16), 1LL << CAP_NET_BIND_SERVICE);
	C_EQ(status_field("CapPrm", 16), 1LL << CAP_NET_BIND_SERVICE);
	C_EQ(status_field("CapInh", 16), 0);
	C_EQ(status_field("CapAmb", 16), 0);
	C_EQ(bind_udp(PRIV_PORT), 0);
	C_EQ(sbx_drop_bind_cap(&st, err, sizeof(err)), 0);
	C_EQ(status_field("CapEff", 16), 0);
	C_EQ(status_field("CapPrm", 16), 0);
	C_EQ(bind_udp(PRIV_PORT + 1), -EACCES);
	C_STR(sbx_summary(&st), "uid=65534 caps=none nnp=0 seccomp=none");
}

/* Not root: nothing is looked up, nothing changes, the state is recorded. */
static void
ch_nonroot_records_only(void)
{
	struct sbx_state st;
	char err[256] = "";
	uid_t uid;

	if (geteuid() == 0) {
		/* Become an ordinary user first (this also clears all caps). */
		C_EQ(setgroups(0, NULL), 0);
		C_EQ(setresgid(65534, 65534, 65534), 0);
		C_EQ(setresuid(65534, 65534, 65534), 0);
	}
	uid = getuid();
	if (uid != 65534)
		c_report(CHILD_SKIP, "runs as uid 65534 or as root only");
	memset(&st, 0, sizeof(st));
	C_EQ(sbx_drop_privileges("peernet-sbx-nouser", NULL, 1, &st, err,
	    sizeof(err)), 0);
	C_EQ(st.dropped_user, 0);
	C_EQ(st.uid, uid);
	C_EQ(getuid(), uid);
	C_EQ(st.caps_cleared, 1);
	C_EQ(sbx_drop_bind_cap(&st, err, sizeof(err)), 0);
	C_EQ(st.caps_cleared, 1);
	/*
	 * The daemons call both again under a filter without capset (as
	 * systemd's ~@privileged): with nothing to drop they must not need it.
	 */
	C_EQ(sbx_restrict(SBX_STORAGED, &st, err, sizeof(err)), 0);
	errno = 0;
	C_EQ(syscall(SYS_capset, NULL, NULL), -1);
	C_EQ(errno, EPERM);
	C_EQ(sbx_drop_privileges("peernet", NULL, 0, &st, err, sizeof(err)), 0);
	C_EQ(sbx_drop_bind_cap(&st, err, sizeof(err)), 0);
	C_STR(sbx_summary(&st), "uid=65534 caps=none nnp=1 seccomp=storaged");
}

/* --- cases ---------------------------------------------------------------- */

static void
test_storaged_denies_inet_socket_with_eperm(void)
{
	T_CHILD(ch_storaged_inet);
}

static void
test_storaged_file_io_and_sqlite_wal_work(void)
{
	mk_tmpdir();
	T_ASSERT(tmpdir[0] != '\0');
	if (t_child("ch_storaged_files", ch_storaged_files) != 0) {
		rm_tmpdir();
		return;
	}
	rm_tmpdir();
}

static void
test_storaged_threads_nng_ipc_and_sd_notify_work(void)
{
	char path[128], buf[64];
	ssize_t n;
	int fd, rc;

	mk_tmpdir();
	T_ASSERT(tmpdir[0] != '\0');
	fd = notify_listen(path, sizeof(path));
	if (fd < 0) {
		rm_tmpdir();
		T_FAIL("notify socket: %s", strerror(errno));
	}
	setenv("NOTIFY_SOCKET", path, 1);
	rc = t_child("ch_storaged_services", ch_storaged_services);
	unsetenv("NOTIFY_SOCKET");
	n = rc == 0 ? recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT) : 0;
	close(fd);
	rm_tmpdir();
	if (rc != 0)
		return;
	T_ASSERT(n > 0);
	buf[n] = '\0';
	T_EQ_STR(buf, "READY=1\nSTATUS=sandboxed");
}

static void
test_storaged_denies_fork_exec_ptrace_wx_memory(void)
{
	T_CHILD(ch_storaged_limits);
}

static void
test_searchd_denies_inet_and_runs_sqlite_fts(void)
{
	int rc;

	mk_tmpdir();
	T_ASSERT(tmpdir[0] != '\0');
	rc = t_child("ch_searchd", ch_searchd);
	rm_tmpdir();
	(void)rc;
}

static void
test_netd_binds_udp_on_loopback(void)
{
	T_CHILD(ch_netd_udp);
}

static void
test_netd_opens_no_file_for_writing(void)
{
	mk_tmpdir();
	T_ASSERT(tmpdir[0] != '\0');
	(void)t_child("ch_netd_readonly", ch_netd_readonly);
	rm_tmpdir();
}

static void
test_restrict_twice_is_refused(void)
{
	T_CHILD(ch_restrict_twice);
}

static void
test_capability_calls_refuse_a_threaded_process(void)
{
	T_CHILD(ch_caps_refuse_threads);
}

static void
test_nonroot_drop_only_records_state(void)
{
	T_CHILD(ch_nonroot_records_only);
}

static void
test_root_drop_keeps_bind_until_dropped(void)
{
	long long start = unpriv_port_start();

	if (geteuid() != 0)
		T_SKIP("needs root (run as root to test the uid and "
		    "capability drop)");
	if (start <= PRIV_PORT + 2)
		T_SKIP("net.ipv4.ip_unprivileged_port_start is %lld: ports "
		    "%d-%d are not privileged here", start, PRIV_PORT,
		    PRIV_PORT + 2);
	T_CHILD(ch_root_drop_keep_bind);
}

static void
test_root_drop_without_bind_clears_all_caps(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root (run as root to test the uid and "
		    "capability drop)");
	if (unpriv_port_start() <= PRIV_PORT + 2)
		T_SKIP("net.ipv4.ip_unprivileged_port_start is too low");
	T_CHILD(ch_root_drop_storaged);
}

static void
test_service_user_with_ambient_bind_keeps_only_bind(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root (to set up the ambient capability)");
	if (unpriv_port_start() <= PRIV_PORT + 2)
		T_SKIP("net.ipv4.ip_unprivileged_port_start is too low");
	T_CHILD(ch_ambient_bind);
}

static void
test_root_missing_user_gives_clear_error_and_no_drop(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root (as another user the call looks nothing up)");
	T_CHILD(ch_root_missing_user);
}

static void
test_strerror_and_role_names(void)
{
	T_EQ_STR(sbx_role_name(SBX_NETD), "netd");
	T_EQ_STR(sbx_role_name(SBX_STORAGED), "storaged");
	T_EQ_STR(sbx_role_name(SBX_SEARCHD), "searchd");
	T_ASSERT(sbx_role_name((enum sbx_role)7) == NULL);
	T_EQ_STR(sbx_strerror(SBX_ERR_NOUSER), "service user does not exist");
	T_EQ_STR(sbx_strerror(SBX_ERR_THREADS),
	    "process has more than one thread");
	T_EQ_STR(sbx_strerror(-99), "unknown sandbox error");
	T_EQ_STR(sbx_summary(NULL), "sandbox not applied");
}

int
main(int argc, char **argv)
{
	t_set_suite(argv[0]);
	T_RUN(test_storaged_denies_inet_socket_with_eperm);
	T_RUN(test_storaged_file_io_and_sqlite_wal_work);
	T_RUN(test_storaged_threads_nng_ipc_and_sd_notify_work);
	T_RUN(test_storaged_denies_fork_exec_ptrace_wx_memory);
	T_RUN(test_searchd_denies_inet_and_runs_sqlite_fts);
	T_RUN(test_netd_binds_udp_on_loopback);
	T_RUN(test_netd_opens_no_file_for_writing);
	T_RUN(test_restrict_twice_is_refused);
	T_RUN(test_capability_calls_refuse_a_threaded_process);
	T_RUN(test_nonroot_drop_only_records_state);
	T_RUN(test_root_drop_keeps_bind_until_dropped);
	T_RUN(test_root_drop_without_bind_clears_all_caps);
	T_RUN(test_service_user_with_ambient_bind_keeps_only_bind);
	T_RUN(test_root_missing_user_gives_clear_error_and_no_drop);
	T_RUN(test_strerror_and_role_names);
	return t_done();
}

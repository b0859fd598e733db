/*
 * test_ipc_stream.c — apid's streaming messages of the IPC catalogue
 * (ipc_msg_xfer.h: IPC_STREAM_OPEN/READ/CLOSE, IPC_FILE_FD): round trips,
 * truncation and trailing bytes, out-of-range fields; and the descriptor
 * passing of the bulk channel (ipc_bulk_call_fd) against a small server
 * that answers one frame with SCM_RIGHTS, as storaged's ipc_reply_fd does.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ipc.h"
#include "t.h"

static uint8_t buf[512];

static int
dec_info(const uint8_t *p, size_t n)
{
	struct ipc_stream_info i;

	return ipc_stream_info_decode(p, n, &i);
}

static int
dec_read(const uint8_t *p, size_t n)
{
	struct ipc_stream_read r;

	return ipc_stream_read_decode(p, n, &r);
}

static int
dec_fd_rep(const uint8_t *p, size_t n)
{
	uint64_t size;

	return ipc_file_fd_rep_decode(p, n, &size);
}

static void
test_stream_open_round_trip(void)
{
	struct ipc_get_req q, g;
	struct ipc_stream_info i, o;
	long n;

	memset(&q, 0xab, sizeof(q));
	T_EQ_INT(T_TRIP(ipc_stream_open, buf, &q, &g, n), 0);
	T_EQ_MEM(g.hash, q.hash, 32);
	T_EQ_MEM(g.node_id, q.node_id, 32);
	/* Not an IPC_GET: the type decides. */
	T_EQ_INT(ipc_get_req_decode(buf, (size_t)n, &g), IPC_DEC_TYPE);
	i = (struct ipc_stream_info){ .number = 7, .size = 1073741824,
	    .fragment_size = 524288, .flags = IPC_STREAM_F_VERIFIED };
	T_TRIP_KEEPS(ipc_stream_info, buf, &i, &o, n, dec_info, IPC_DEC_TRAILING);
}

static void
test_stream_info_refuses_bad_fields(void)
{
	static const struct ipc_stream_info bad[] = {
		/* no fragment size: runs could not be aligned */
		{ .number = 1, .size = 10, .fragment_size = 0 },
		{ .number = 0, .size = 10, .fragment_size = 262144 },
		{ .number = 1, .size = 10, .fragment_size = 262144, .flags = 0x80 },
		{ .number = 1, .size = (1ULL << 40) + 1, .fragment_size = 262144 },
	};
	struct ipc_stream_info o;
	size_t k;
	long n;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		if (T_TRIP(ipc_stream_info, buf, &bad[k], &o, n) != IPC_DEC_RANGE)
			T_FAIL("bad info %zu not refused as out of range", k);
}

static void
test_stream_read_round_trip_and_range(void)
{
	struct ipc_stream_read r, o;
	long n;

	r = (struct ipc_stream_read){ .number = 3, .offset = 966367641,
	    .end = 1073741824, .max = IPC_STREAM_READ_MAX };
	T_TRIP_KEEPS(ipc_stream_read, buf, &r, &o, n, dec_read, IPC_DEC_TRAILING);
	/* An end not past the offset, no bytes, too many bytes: refused. */
	r.end = r.offset;
	T_EQ_INT(T_TRIP(ipc_stream_read, buf, &r, &o, n), IPC_DEC_RANGE);
	r.end = r.offset + 1;
	r.max = 0;
	T_EQ_INT(T_TRIP(ipc_stream_read, buf, &r, &o, n), IPC_DEC_RANGE);
	r.max = IPC_STREAM_READ_MAX + 1;
	T_EQ_INT(T_TRIP(ipc_stream_read, buf, &r, &o, n), IPC_DEC_RANGE);
}

static void
test_file_fd_messages(void)
{
	struct ipc_file_fd_req q, o;
	uint64_t size;
	long n;

	memset(q.hash, 0x5a, 32);
	n = ipc_file_fd_req_encode(buf, sizeof(buf), &q);
	T_EQ_INT(ipc_file_fd_req_decode(buf, (size_t)n, &o), 0);
	T_EQ_MEM(o.hash, q.hash, 32);
	n = ipc_file_fd_rep_encode(buf, sizeof(buf), 12345);
	T_EQ_INT(ipc_file_fd_rep_decode(buf, (size_t)n, &size), 0);
	T_EQ_U64(size, 12345);
	T_TRUNCATIONS_FAIL(buf, n, dec_fd_rep, IPC_DEC_TRAILING);
	n = ipc_file_fd_rep_encode(buf, sizeof(buf), (1ULL << 40) + 1);
	T_EQ_INT(ipc_file_fd_rep_decode(buf, (size_t)n, &size), IPC_DEC_RANGE);
	T_EQ_STR(ipc_type_name(IPC_STREAM_OPEN), "stream-open");
	T_EQ_STR(ipc_type_name(IPC_FILE_FD), "file-fd");
}

/* ---- descriptor passing ------------------------------------------------- */

struct srv {
	int	 lfd;
	int	 pass;		/* the descriptor to pass */
	int	 nfds;		/* how many copies of it to attach */
	int	 silent;	/* answer nothing */
};

static void *
srv_main(void *arg)
{
	struct srv *s = arg;
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	uint8_t in[64], out[64];
	struct cmsghdr *ch;
	struct msghdr mh;
	struct iovec iov;
	int c, fds[2];
	long n;

	if ((c = accept(s->lfd, NULL, NULL)) == -1)
		return NULL;
	if (recv(c, in, sizeof(in), 0) <= 8 || s->silent) {
		sleep(1);
		close(c);
		return NULL;
	}
	n = ipc_file_fd_rep_encode(out + 8, sizeof(out) - 8, 42);
	buf_put_le32(out, (uint32_t)n);
	memcpy(out + 4, in + 4, 4);		/* the request's ID */
	iov.iov_base = out;
	iov.iov_len = 8 + (size_t)n;
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = CMSG_SPACE((size_t)s->nfds * sizeof(int));
	ch = CMSG_FIRSTHDR(&mh);
	ch->cmsg_level = SOL_SOCKET;
	ch->cmsg_type = SCM_RIGHTS;
	ch->cmsg_len = CMSG_LEN((size_t)s->nfds * sizeof(int));
	fds[0] = fds[1] = s->pass;
	memcpy(CMSG_DATA(ch), fds, (size_t)s->nfds * sizeof(int));
	(void)sendmsg(c, &mh, 0);
	close(c);
	return NULL;
}

static int
srv_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	unlink(path);
	if (ipc_unix_addr(&sun, path) != 0 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(fd, 4) == -1)
		return -1;
	return fd;
}

static void
test_bulk_call_receives_one_descriptor(void)
{
	char dir[64], path[128], file[128], err[256];
	struct srv s;
	struct stat a, b;
	pthread_t th;
	uint8_t req[64], *rep;
	size_t len;
	uint64_t size;
	int fd, rc;
	long n;
	struct ipc_file_fd_req q;

	T_ASSERT(t_tmpdir(dir, sizeof(dir), "peernet-tfd") == 0);
	snprintf(path, sizeof(path), "%s/bulk.sock", dir);
	snprintf(file, sizeof(file), "%s/data", dir);
	memset(&s, 0, sizeof(s));
	T_ASSERT((s.pass = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0);
	T_ASSERT((s.lfd = srv_listen(path)) >= 0);
	memset(&q, 0, sizeof(q));
	n = ipc_file_fd_req_encode(req, sizeof(req), &q);
	/* Two descriptors attached: one is kept, the other closed. */
	s.nfds = 2;
	pthread_create(&th, NULL, srv_main, &s);
	rc = ipc_bulk_call_fd(path, req, (size_t)n, &rep, &len, &fd, 2000, err, sizeof(err));
	pthread_join(th, NULL);
	T_EQ_INT(rc, 0);
	T_EQ_INT(ipc_file_fd_rep_decode(rep, len, &size), 0);
	T_EQ_U64(size, 42);
	free(rep);
	T_ASSERT(fd >= 0);
	T_ASSERT(fstat(fd, &a) == 0 && fstat(s.pass, &b) == 0);
	T_ASSERT(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	T_ASSERT((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	close(fd);
	/* A server that says nothing: the call ends by its deadline, no descriptor. */
	s.silent = 1;
	pthread_create(&th, NULL, srv_main, &s);
	rc = ipc_bulk_call_fd(path, req, (size_t)n, &rep, &len, &fd, 200, err, sizeof(err));
	pthread_join(th, NULL);
	T_EQ_INT(rc, -1);
	T_EQ_INT(fd, -1);
	T_ASSERT(strstr(err, "no reply") != NULL);
	/* Nobody listening. */
	close(s.lfd);
	unlink(path);
	T_EQ_INT(ipc_bulk_call_fd(path, req, (size_t)n, &rep, &len, &fd, 200, err,
	    sizeof(err)), -1);
	close(s.pass);
	unlink(file);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_stream_open_round_trip);
	T_RUN(test_stream_info_refuses_bad_fields);
	T_RUN(test_stream_read_round_trip_and_range);
	T_RUN(test_file_fd_messages);
	T_RUN(test_bulk_call_receives_one_descriptor);
	return t_done();
}

/*
 * ipc_bulk.c — the bulk channel beside a daemon's nng server (see ipc.h):
 * file data between netd and storaged on a plain unix stream socket served
 * by the daemons' own event loops.
 *
 * Why not nng for this: an nng message crosses two of nng's threads on each
 * side, and a 512 KiB message through a unix socket whose buffer is ~200 KiB
 * is read and written in pieces, each piece one more hand-off between them.
 * Measured on a 300 MB download (2 cores): ~60,000 context switches in nng's
 * threads and about a quarter of all the CPU the transfer used.  Here a
 * piece costs one read or write in the loop that wants the data.
 *
 * Frames: length (4, LE) | request ID (4, LE) | an IPC message (ipc_msg.h).
 * The server answers with the request's ID; the client matches replies to
 * its ipc_client slots by ID, exactly as nng replies are matched.  A frame
 * longer than IPC_MSG_MAX ends the connection.  The peer's uid is checked
 * (SO_PEERCRED) against the nng server's allowed uids when it connects.
 * Only the request types the daemon lists are served (handlers that answer
 * at once: the request's bytes live in the read buffer only during the
 * handler).  A client whose bulk connection is down sends over nng instead;
 * requests in flight on a connection that breaks fail like a lost reply.
 */
#define _GNU_SOURCE	/* accept4, struct ucred */
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ipc.h"
#include "log.h"
#include "loop.h"

#define BULK_HDR	8
#define BULK_FRAME_MAX	(BULK_HDR + IPC_MSG_MAX)
#define BULK_CONNS	8		/* netd, room for a restarting one, apid's descriptor calls */
#define BULK_OUT_MAX	(32u << 20)	/* unsent bytes before the peer counts as stuck */
#define BULK_TYPES_MAX	8
#define BULK_RETRY_MS	1000		/* client: reconnect attempts apart */
#define BULK_SNDBUF	(2 << 20)	/* client: socket send buffer, bytes */
#define BULK_FDS	4		/* client: descriptors received ahead of their reply */

/* One connection, either role. */
struct bulk_conn {
	int		 fd;		/* -1: none */
	uid_t		 uid;
	uint32_t	 gen;		/* bumped on close: stale replies are dropped */
	uint8_t		*rbuf;		/* BULK_FRAME_MAX */
	size_t		 rlen;
	uint8_t		*out;		/* unsent bytes: out[ohead, ohead + olen) */
	size_t		 ohead, olen, ocap;
	int		 pollout;
	struct loop	*loop;
	loop_fd_cb	 cb;		/* the loop calls cb(fd, events, conn) */
	void		*owner;		/* struct ipc_bulk or ipc_bulk_client */
	/*
	 * Descriptors received and not yet handed to their reply, oldest
	 * first (a client's only: a server closes what a client sends).
	 * One rides on the first byte of its reply's frame, so it is here
	 * by the time that frame is parsed.
	 */
	int		 take_fds;
	int		 fds[BULK_FDS];
	int		 nfds;
	/*
	 * Descriptors of replies queued behind other bytes (a server's):
	 * ofd[i] leaves with the queued byte at stream position ofd_at[i]
	 * (oflushed counts the queued bytes written so far).
	 */
	int		 ofd[BULK_FDS];
	uint64_t	 ofd_at[BULK_FDS];
	int		 nofd;
	uint64_t	 oflushed;
};

struct ipc_bulk {
	struct loop		*loop;
	struct ipc_server	*srv;
	int			 lfd;
	char			 path[108];
	uint16_t		 types[BULK_TYPES_MAX];
	int			 ntypes;
	struct bulk_conn	 c[BULK_CONNS];
};

struct ipc_bulk_client {
	struct ipc_client	*cl;
	char			 path[108];
	uint64_t		 retry_at;
	struct bulk_conn	 c;
};

/* The oldest descriptor received, or -1. */
static int
bulk_fd_pop(struct bulk_conn *c)
{
	int fd;

	if (c->nfds == 0)
		return -1;
	fd = c->fds[0];
	memmove(c->fds, c->fds + 1, (size_t)(c->nfds - 1) * sizeof(int));
	c->nfds--;
	return fd;
}

/* Keeps the descriptors of a received control message (or closes them). */
static void
bulk_fd_keep(struct bulk_conn *c, struct msghdr *mh)
{
	struct cmsghdr *ch;
	size_t i, n;
	int fd;

	for (ch = CMSG_FIRSTHDR(mh); ch != NULL; ch = CMSG_NXTHDR(mh, ch)) {
		if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS)
			continue;
		n = (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(ch) + i * sizeof(int), sizeof(int));
			if (c->take_fds && c->nfds < BULK_FDS)
				c->fds[c->nfds++] = fd;
			else
				close(fd);
		}
	}
}

static void
bulk_close(struct bulk_conn *c)
{
	while (c->nfds > 0)
		close(bulk_fd_pop(c));
	while (c->nofd > 0)
		close(c->ofd[--c->nofd]);
	if (c->fd >= 0) {
		loop_del_fd(c->loop, c->fd);
		close(c->fd);
	}
	c->fd = -1;
	c->gen++;
	free(c->rbuf);
	free(c->out);
	c->rbuf = c->out = NULL;
	c->rlen = c->ohead = c->olen = c->ocap = 0;
	c->pollout = 0;
}

static int
bulk_adopt(struct bulk_conn *c, struct loop *loop, int fd, loop_fd_cb cb, void *owner)
{
	c->loop = loop;
	c->cb = cb;
	c->owner = owner;
	if ((c->rbuf = malloc(BULK_FRAME_MAX)) == NULL ||
	    loop_add_fd(loop, fd, EPOLLIN, cb, c) == -1) {
		free(c->rbuf);
		c->rbuf = NULL;
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->rlen = 0;
	return 0;
}

static void
bulk_want_out(struct bulk_conn *c, int on)
{
	if (c->pollout == on)
		return;
	c->pollout = on;
	loop_mod_fd(c->loop, c->fd, EPOLLIN | (on ? EPOLLOUT : 0), c->cb, c);
}

/* One non-blocking write: bytes taken, 0 when the socket is full, -1. */
static ssize_t
bulk_write(int fd, struct iovec *iov, size_t iovcnt)
{
	struct msghdr mh;
	ssize_t k;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = iovcnt;
	do
		k = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (k == -1 && errno == EINTR);
	if (k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return k == 0 ? -1 : k;
}

/* sendmsg of iov with fd attached (SCM_RIGHTS), else as bulk_write. */
static ssize_t
bulk_write_fd(int sock, struct iovec *iov, size_t iovcnt, int fd)
{
	union {
		struct cmsghdr	h;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *ch;
	struct msghdr mh;
	ssize_t k;

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	mh.msg_iov = iov;
	mh.msg_iovlen = iovcnt;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	ch = CMSG_FIRSTHDR(&mh);
	ch->cmsg_level = SOL_SOCKET;
	ch->cmsg_type = SCM_RIGHTS;
	ch->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(ch), &fd, sizeof(int));
	do
		k = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (k == -1 && errno == EINTR);
	if (k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return k == 0 ? -1 : k;
}

/* Writes what is queued; -1 when the connection failed. */
static int
bulk_flush(struct bulk_conn *c)
{
	struct iovec iov;
	ssize_t k;
	int with_fd;

	while (c->olen > 0) {
		iov.iov_base = c->out + c->ohead;
		iov.iov_len = c->olen;
		/* A queued descriptor rides on its frame's first byte: the
		 * write before it stops there, the write from it carries it. */
		with_fd = c->nofd > 0 && c->ofd_at[0] == c->oflushed;
		if (c->nofd > 0 && !with_fd && c->ofd_at[0] - c->oflushed < iov.iov_len)
			iov.iov_len = (size_t)(c->ofd_at[0] - c->oflushed);
		k = with_fd ? bulk_write_fd(c->fd, &iov, 1, c->ofd[0]) :
		    bulk_write(c->fd, &iov, 1);
		if (k == -1)
			return -1;
		if (k == 0)
			break;
		if (with_fd) {
			close(c->ofd[0]);	/* the peer has its own now */
			memmove(c->ofd, c->ofd + 1, (size_t)(c->nofd - 1) * sizeof(int));
			memmove(c->ofd_at, c->ofd_at + 1,
			    (size_t)(c->nofd - 1) * sizeof(uint64_t));
			c->nofd--;
		}
		c->ohead += (size_t)k;
		c->olen -= (size_t)k;
		c->oflushed += (uint64_t)k;
	}
	if (c->olen == 0)
		c->ohead = 0;
	bulk_want_out(c, c->olen > 0);
	return 0;
}

/*
 * Sends one frame: straight from the caller's buffer when nothing is
 * queued, whatever the socket does not take is copied into the queue.
 * -1: the connection failed or its queue is over BULK_OUT_MAX.
 */
static int
bulk_send(struct bulk_conn *c, uint32_t id, const void *msg, size_t len)
{
	uint8_t hdr[BULK_HDR];
	struct iovec iov[2];
	size_t done = 0, total = BULK_HDR + len, need, n;
	ssize_t k;

	if (c->fd < 0 || len > IPC_MSG_MAX)
		return -1;
	buf_put_le32(hdr, (uint32_t)len);
	buf_put_le32(hdr + 4, id);
	while (c->olen == 0 && done < total) {
		if (done < BULK_HDR) {
			iov[0].iov_base = hdr + done;
			iov[0].iov_len = BULK_HDR - done;
			iov[1].iov_base = (void *)msg;
			iov[1].iov_len = len;
			n = len > 0 ? 2 : 1;
		} else {
			iov[0].iov_base = (uint8_t *)msg + (done - BULK_HDR);
			iov[0].iov_len = total - done;
			n = 1;
		}
		if ((k = bulk_write(c->fd, iov, n)) == -1)
			return -1;
		if (k == 0)
			break;
		done += (size_t)k;
	}
	if (done == total)
		return 0;
	need = c->ohead + c->olen + (total - done);
	if (c->olen + (total - done) > BULK_OUT_MAX)
		return -1;
	if (need > c->ocap) {
		uint8_t *p;

		if (c->ohead > 0) {
			memmove(c->out, c->out + c->ohead, c->olen);
			c->ohead = 0;
			need = c->olen + (total - done);
		}
		if (need > c->ocap) {
			size_t cap = c->ocap ? c->ocap : 1 << 20;

			while (cap < need)
				cap *= 2;
			if ((p = realloc(c->out, cap)) == NULL)
				return -1;
			c->out = p;
			c->ocap = cap;
		}
	}
	if (done < BULK_HDR) {
		memcpy(c->out + c->ohead + c->olen, hdr + done, BULK_HDR - done);
		c->olen += BULK_HDR - done;
		done = BULK_HDR;
	}
	memcpy(c->out + c->ohead + c->olen, (const uint8_t *)msg + (done - BULK_HDR),
	    total - done);
	c->olen += total - done;
	bulk_want_out(c, 1);
	return 0;
}

/* Queues bytes that are the continuation of a frame already begun. */
static int
bulk_send_raw(struct bulk_conn *c, const uint8_t *p, size_t n)
{
	size_t need = c->ohead + c->olen + n;

	if (c->olen + n > BULK_OUT_MAX)
		return -1;
	if (need > c->ocap) {
		size_t cap = c->ocap ? c->ocap : 1 << 20;
		uint8_t *q;

		while (cap < need)
			cap *= 2;
		if ((q = realloc(c->out, cap)) == NULL)
			return -1;
		c->out = q;
		c->ocap = cap;
	}
	memcpy(c->out + c->ohead + c->olen, p, n);
	c->olen += n;
	bulk_want_out(c, 1);
	return 0;
}

/*
 * The frame parser (pure, fuzzed: tests/fuzz/fuzz_bulk.c): calls fn for
 * each complete frame at the start of buf[0, len) while fn returns 0, and
 * returns the bytes those frames took; -1 when a frame announces more
 * than IPC_MSG_MAX (the peer is broken or hostile: drop the connection).
 * A frame's body is at most IPC_MSG_MAX bytes and lies inside buf.
 */
long
ipc_bulk_frames(const uint8_t *buf, size_t len,
    int (*fn)(void *ctx, uint32_t id, const uint8_t *msg, size_t len), void *ctx)
{
	uint32_t n;
	size_t at = 0;

	while (len - at >= BULK_HDR) {
		n = buf_le32(buf + at);
		if (n > IPC_MSG_MAX)
			return -1;
		if (len - at < BULK_HDR + (size_t)n)
			break;
		at += BULK_HDR + n;
		if (fn(ctx, buf_le32(buf + at - n - 4), buf + at - n, n) != 0)
			break;
	}
	return (long)at;
}

struct bulk_read_ctx {
	struct bulk_conn	*c;
	uint32_t		 gen;
	void			(*fn)(void *, uint32_t, const uint8_t *, size_t);
	void			*arg;
};

static int
bulk_read_one(void *arg, uint32_t id, const uint8_t *msg, size_t len)
{
	struct bulk_read_ctx *x = arg;

	x->fn(x->arg, id, msg, len);
	return x->c->gen != x->gen;	/* closed by fn: stop */
}

/*
 * Reads what arrived and calls fn for every complete frame; stops early
 * when fn closed the connection.  -1: the connection ended or broke the
 * framing (the caller closes it).
 */
static int
bulk_read(struct bulk_conn *c,
    void (*fn)(void *ctx, uint32_t id, const uint8_t *msg, size_t len), void *ctx)
{
	struct bulk_read_ctx x = { c, c->gen, fn, ctx };
	union {
		struct cmsghdr	h;
		char		buf[CMSG_SPACE(BULK_FDS * sizeof(int))];
	} cm;
	struct msghdr mh;
	struct iovec iov;
	ssize_t k;
	long at;

	for (;;) {
		/* recvmsg, not recv: a reply may carry a descriptor (SCM_RIGHTS). */
		iov.iov_base = c->rbuf + c->rlen;
		iov.iov_len = BULK_FRAME_MAX - c->rlen;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		k = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (k > 0 && mh.msg_controllen > 0)
			bulk_fd_keep(c, &mh);
		if (k == 0)
			return -1;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		c->rlen += (size_t)k;
		if ((at = ipc_bulk_frames(c->rbuf, c->rlen, bulk_read_one, &x)) < 0)
			return -1;
		if (c->gen != x.gen)
			return 0;	/* closed by fn: its buffers are gone */
		if (at > 0) {
			memmove(c->rbuf, c->rbuf + at, c->rlen - (size_t)at);
			c->rlen -= (size_t)at;
		}
	}
}

/* ---- server ------------------------------------------------------------ */

static void
bulk_srv_frame(void *arg, uint32_t id, const uint8_t *msg, size_t len)
{
	struct bulk_conn *c = arg;
	struct ipc_bulk *b = c->owner;
	struct ipc_req *req;

	if ((req = ipc_req_bulk(b->srv, c, c->gen, id)) == NULL)
		return;		/* the client times out, as with a lost reply */
	ipc_server_serve(b->srv, req, c->uid, msg, len, b->types, b->ntypes);
}

static void
bulk_srv_conn_cb(int fd, uint32_t events, void *arg)
{
	struct bulk_conn *c = arg;

	(void)fd;
	if ((events & EPOLLOUT) && bulk_flush(c) == -1) {
		bulk_close(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    bulk_read(c, bulk_srv_frame, c) == -1)
		bulk_close(c);
}

/* Called from ipc_reply for a request that came on the bulk channel. */
int
ipc_bulk_reply(void *conn, uint32_t gen, uint32_t id, const void *msg, size_t len)
{
	struct bulk_conn *c = conn;

	if (c->fd < 0 || c->gen != gen)
		return -1;	/* the client went away meanwhile */
	if (bulk_send(c, id, msg, len) == -1) {
		log_warnx("bulk channel: cannot queue a reply of %zu bytes: "
		    "connection dropped", len);
		bulk_close(c);
		return -1;
	}
	return 0;
}

/*
 * A reply with a descriptor (ipc_reply_fd): SCM_RIGHTS rides on the first
 * byte of the frame.  On an empty queue it goes at once and whatever the
 * socket does not take is queued as usual (the descriptor has gone with
 * the first byte); behind queued bytes, a duplicate of the descriptor is
 * queued with the frame's position and bulk_flush sends it with that byte.
 * -1: the client gets no reply (it times out).
 */
int
ipc_bulk_reply_fd(void *conn, uint32_t gen, uint32_t id, const void *msg, size_t len,
    int fd)
{
	struct bulk_conn *c = conn;
	struct iovec iov[2];
	uint8_t hdr[BULK_HDR];
	ssize_t k;
	size_t done;
	int dfd;

	if (c->fd < 0 || c->gen != gen || len > IPC_MSG_MAX)
		return -1;
	buf_put_le32(hdr, (uint32_t)len);
	buf_put_le32(hdr + 4, id);
	iov[0].iov_base = hdr;
	iov[0].iov_len = BULK_HDR;
	iov[1].iov_base = (void *)msg;
	iov[1].iov_len = len;
	k = 0;
	if (c->olen == 0 &&
	    (k = bulk_write_fd(c->fd, iov, len > 0 ? 2 : 1, fd)) == -1)
		return -1;
	if (k == 0) {		/* queued bytes ahead of it, or the socket full */
		if (c->nofd == BULK_FDS ||
		    (dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
			return -1;
		c->ofd[c->nofd] = dfd;
		c->ofd_at[c->nofd] = c->oflushed + c->olen;
		c->nofd++;
		if (bulk_send(c, id, msg, len) != 0) {
			close(c->ofd[--c->nofd]);
			return -1;
		}
		return 0;
	}
	done = (size_t)k;
	if (done == BULK_HDR + len)
		return 0;
	/* The rest like any frame's rest: queued, flushed by the loop. */
	if (done < BULK_HDR) {
		if (bulk_send_raw(c, hdr + done, BULK_HDR - done) != 0)
			return -1;
		done = BULK_HDR;
	}
	return bulk_send_raw(c, (const uint8_t *)msg + (done - BULK_HDR),
	    BULK_HDR + len - done);
}

static void
bulk_srv_accept_cb(int fd, uint32_t events, void *arg)
{
	struct ipc_bulk *b = arg;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int cfd, i, k;

	(void)events;
	for (k = 0; k < 16; k++) {
		if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
			return;
		clen = sizeof(cred);
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1 ||
		    !ipc_server_allows(b->srv, cred.uid)) {
			b->srv->denied++;
			log_warnx("bulk channel: refused a connection from uid %ld",
			    clen == sizeof(cred) ? (long)cred.uid : -1L);
			close(cfd);
			continue;
		}
		for (i = 0; i < BULK_CONNS && b->c[i].fd >= 0; i++)
			;
		if (i == BULK_CONNS) {
			log_warnx("bulk channel: %d connections already, refused one",
			    BULK_CONNS);
			close(cfd);
			continue;
		}
		b->c[i].uid = cred.uid;
		if (bulk_adopt(&b->c[i], b->loop, cfd, bulk_srv_conn_cb, b) == -1)
			log_warnx("bulk channel: cannot take a connection: %s",
			    strerror(errno));
	}
}

int
ipc_server_bulk_open(struct ipc_server *s, struct loop *loop, const char *path,
    const uint16_t *types, int ntypes, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct ipc_bulk *b;
	int i;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->loop = loop;
	b->srv = s;
	b->lfd = -1;
	for (i = 0; i < BULK_CONNS; i++)
		b->c[i].fd = -1;
	for (i = 0; i < ntypes && i < BULK_TYPES_MAX; i++)
		b->types[b->ntypes++] = types[i];
	if (ipc_unix_addr(&sun, path) != 0 ||
	    strlcpy(b->path, path, sizeof(b->path)) >= sizeof(b->path)) {
		snprintf(err, errlen, "%s: path too long for a unix socket", path);
		free(b);
		return -1;
	}
	/* A stale socket file from a crashed daemon: we hold the lock, so it is ours. */
	if ((unlink(path) == -1 && errno != ENOENT) ||
	    (b->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(b->lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1 || listen(b->lfd, 8) == -1 ||
	    loop_add_fd(loop, b->lfd, EPOLLIN, bulk_srv_accept_cb, b) == -1) {
		snprintf(err, errlen, "bulk channel %s: %s", path, strerror(errno));
		if (b->lfd >= 0)
			close(b->lfd);
		unlink(path);
		free(b);
		return -1;
	}
	s->bulk = b;
	return 0;
}

void
ipc_server_bulk_close(struct ipc_server *s)
{
	struct ipc_bulk *b = s->bulk;
	int i;

	if (b == NULL)
		return;
	for (i = 0; i < BULK_CONNS; i++)
		bulk_close(&b->c[i]);
	loop_del_fd(b->loop, b->lfd);
	close(b->lfd);
	unlink(b->path);
	free(b);
	s->bulk = NULL;
}

/* ---- client ------------------------------------------------------------ */

static void
bulk_cl_frame(void *arg, uint32_t id, const uint8_t *msg, size_t len)
{
	struct bulk_conn *c = arg;
	struct ipc_bulk_client *bc = c->owner;

	ipc_client_deliver_fd(bc->cl, id, msg, len,
	    ipc_client_wants_fd(bc->cl, id) ? bulk_fd_pop(c) : -1);
}

/* defer: called inside a send (ipc_client_fail_bulk says why that matters). */
static void
bulk_cl_down(struct ipc_bulk_client *bc, const char *why, int defer)
{
	if (bc->c.fd >= 0)
		log_warnx("bulk channel to %s: %s; using its nng socket", bc->cl->name, why);
	bulk_close(&bc->c);
	bc->retry_at = loop_now_ms() + BULK_RETRY_MS;
	ipc_client_fail_bulk(bc->cl, "the bulk channel closed", defer);
}

static void
bulk_cl_cb(int fd, uint32_t events, void *arg)
{
	struct bulk_conn *c = arg;
	struct ipc_bulk_client *bc = c->owner;

	(void)fd;
	if ((events & EPOLLOUT) && bulk_flush(c) == -1) {
		bulk_cl_down(bc, strerror(errno), 0);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    bulk_read(c, bulk_cl_frame, c) == -1)
		bulk_cl_down(bc, "connection ended", 0);
}

/* Connects now (unix sockets connect at once or not at all): 0 or -1. */
static int
bulk_cl_connect(struct ipc_bulk_client *bc)
{
	struct sockaddr_un sun;
	int fd;

	/* bc->path was checked to fit when the channel was opened. */
	if (ipc_unix_addr(&sun, bc->path) != 0 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	/*
	 * Room for a whole 512 KiB data chunk and the next in the socket: else
	 * the part the socket does not take is copied into our queue and
	 * written on the next wake-up (the kernel caps this at
	 * net.core.wmem_max; a smaller buffer only costs that copy).
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){ BULK_SNDBUF },
	    sizeof(int));
	if (bulk_adopt(&bc->c, bc->c.loop, fd, bulk_cl_cb, bc) != 0)
		return -1;
	bc->c.take_fds = 1;
	return 0;
}

int
ipc_client_bulk_open(struct ipc_client *cl, struct loop *loop, const char *path)
{
	struct ipc_bulk_client *bc;

	if ((bc = calloc(1, sizeof(*bc))) == NULL)
		return -1;
	bc->cl = cl;
	bc->c.fd = -1;
	bc->c.loop = loop;
	if (strlcpy(bc->path, path, sizeof(bc->path)) >= sizeof(bc->path)) {
		free(bc);
		return -1;
	}
	/* storaged may not be up yet: the first bulk request connects. */
	(void)bulk_cl_connect(bc);
	cl->bulk = bc;
	return 0;
}

int
ipc_client_bulk_up(const struct ipc_client *cl)
{
	return cl->bulk != NULL && cl->bulk->c.fd >= 0;
}

static int
bulk_cl_fallback_inflight(const struct ipc_client *cl)
{
	int i;

	for (i = 0; i < IPC_CLIENT_MAX_INFLIGHT; i++)
		if (cl->slots[i].id != 0 && cl->slots[i].bulk == IPC_SLOT_NNG_FALLBACK)
			return 1;
	return 0;
}

/*
 * A request on the channel; want_fd: its reply brings a descriptor, so it
 * cannot fall back to nng (-1 instead when the channel is not up).
 */
static int
bulk_cl_send(struct ipc_client *cl, const void *msg, size_t len,
    uint32_t timeout_ms, ipc_client_cb cb, void *arg, uint64_t now_ms, int want_fd)
{
	struct ipc_bulk_client *bc = cl->bulk;
	struct ipc_client_slot *s;
	uint32_t id;

	/*
	 * Back on the channel only once nothing sent over nng in its stead is
	 * in flight: a download's chunks must reach storaged in order, and
	 * two sockets do not keep an order between them.
	 */
	if (bc != NULL && bc->c.fd < 0 && now_ms >= bc->retry_at &&
	    !bulk_cl_fallback_inflight(cl) && bulk_cl_connect(bc) == -1)
		bc->retry_at = now_ms + BULK_RETRY_MS;
	if (bc == NULL || bc->c.fd < 0 || !cl->open)
		goto fallback;
	if ((s = ipc_client_slot_take(cl, &id)) == NULL)
		return -1;
	if (bulk_send(&bc->c, id, msg, len) == -1) {
		/* msg (and its caller) must outlive the fallback below. */
		bulk_cl_down(bc, "cannot send", 1);
		goto fallback;
	}
	ipc_client_slot_set(s, id, IPC_SLOT_BULK, now_ms + timeout_ms, cb, arg);
	s->want_fd = want_fd;
	return 0;
fallback:
	return want_fd ? -1 : ipc_client_send_nng(cl, msg, len, timeout_ms, cb,
	    arg, now_ms, IPC_SLOT_NNG_FALLBACK);
}

int
ipc_client_send_bulk(struct ipc_client *cl, const void *msg, size_t len,
    uint32_t timeout_ms, ipc_client_cb cb, void *arg, uint64_t now_ms)
{
	return bulk_cl_send(cl, msg, len, timeout_ms, cb, arg, now_ms, 0);
}

int
ipc_client_send_bulk_fd(struct ipc_client *cl, const void *msg, size_t len,
    uint32_t timeout_ms, ipc_client_cb cb, void *arg, uint64_t now_ms)
{
	return bulk_cl_send(cl, msg, len, timeout_ms, cb, arg, now_ms, 1);
}

void
ipc_client_bulk_close(struct ipc_client *cl)
{
	if (cl->bulk == NULL)
		return;
	bulk_close(&cl->bulk->c);
	free(cl->bulk);
	cl->bulk = NULL;
}

/* ---- a synchronous call that may bring back a descriptor ----------------- */

/* Reads exactly n bytes by deadline; keeps the first descriptor that comes. */
static int
bulk_call_recv(int s, uint8_t *p, size_t n, int *fd, uint64_t deadline)
{
	union {
		struct cmsghdr	h;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct cmsghdr *ch;
	struct msghdr mh;
	struct iovec iov;
	struct pollfd pfd;
	size_t got = 0, i, nfd;
	uint64_t now;
	ssize_t k;
	int extra;

	while (got < n) {
		if ((now = loop_now_ms()) >= deadline)
			return -1;
		pfd.fd = s;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		iov.iov_base = p + got;
		iov.iov_len = n - got;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		k = recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (k == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		for (ch = CMSG_FIRSTHDR(&mh); ch != NULL; ch = CMSG_NXTHDR(&mh, ch)) {
			if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < nfd; i++) {
				memcpy(&extra, CMSG_DATA(ch) + i * sizeof(int), sizeof(int));
				if (*fd < 0)
					*fd = extra;
				else
					close(extra);	/* one descriptor per reply */
			}
		}
		got += (size_t)k;
	}
	return 0;
}

int
ipc_bulk_call_fd(const char *path, const void *req, size_t len, uint8_t **rep,
    size_t *replen, int *fd, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct iovec iov[2];
	struct msghdr mh;
	uint8_t hdr[BULK_HDR];
	uint64_t deadline = loop_now_ms() + (uint64_t)timeout_ms;
	uint32_t n;
	ssize_t k;
	int s;

	*rep = NULL;
	*replen = 0;
	*fd = -1;
	if (len > IPC_MSG_MAX || ipc_unix_addr(&sun, path) != 0) {
		snprintf(err, errlen, "%s: bad request or path", path);
		return -1;
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "bulk channel %s: %s", path, strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	/* One request, ID 1: small, the socket takes it whole. */
	buf_put_le32(hdr, (uint32_t)len);
	buf_put_le32(hdr + 4, 1);
	iov[0].iov_base = hdr;
	iov[0].iov_len = BULK_HDR;
	iov[1].iov_base = (void *)req;
	iov[1].iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	do
		k = sendmsg(s, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (k == -1 && errno == EINTR);
	if (k != (ssize_t)(BULK_HDR + len)) {
		snprintf(err, errlen, "bulk channel %s: cannot send", path);
		goto fail;
	}
	if (bulk_call_recv(s, hdr, BULK_HDR, fd, deadline) != 0) {
		snprintf(err, errlen, "bulk channel %s: no reply within %d ms", path,
		    timeout_ms);
		goto fail;
	}
	n = buf_le32(hdr);
	if (n > IPC_MSG_MAX || buf_le32(hdr + 4) != 1 || n < IPC_HDR_LEN) {
		snprintf(err, errlen, "bulk channel %s: malformed reply", path);
		goto fail;
	}
	if ((*rep = malloc(n)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (bulk_call_recv(s, *rep, n, fd, deadline) != 0) {
		snprintf(err, errlen, "bulk channel %s: reply cut short", path);
		goto fail;
	}
	*replen = n;
	close(s);
	return 0;
fail:
	free(*rep);
	*rep = NULL;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	close(s);
	return -1;
}

/*
 * ipc.c — nng plumbing for the IPC layer (see ipc.h).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "ipc.h"
#include "log.h"

struct ipc_req {
	struct ipc_server	*srv;
	nng_msg			*msg;	/* the request; its header routes the reply */
	uint16_t		 type;
	uid_t			 uid;
	void			*bulk;	/* or the bulk connection it came on (ipc_bulk.c) */
	uint32_t		 bulk_gen, bulk_id;
};

int
ipc_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/run/%s.sock", dir, name);

	if (n < 0 || (size_t)n >= cap || (size_t)n >= 108)
		return -1;
	return 0;
}

int
ipc_unix_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	return strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path) ? -1 : 0;
}

static void
ipc_url(char *url, size_t cap, const char *path)
{
	snprintf(url, cap, "ipc://%s", path);
}

int
ipc_server_open(struct ipc_server *s, const char *path, const uid_t *allowed,
    int nallowed, ipc_serve_fn fn, void *arg, char *err, size_t errlen)
{
	char url[128];
	nng_listener l;
	int rv;

	memset(s, 0, sizeof(*s));
	if (strlen(path) >= sizeof(s->path)) {
		snprintf(err, errlen, "%s: path too long for a unix socket", path);
		return -1;
	}
	if (nallowed > IPC_MAX_ALLOWED)
		nallowed = IPC_MAX_ALLOWED;
	strlcpy(s->path, path, sizeof(s->path));
	memcpy(s->allowed, allowed, sizeof(uid_t) * (size_t)nallowed);
	s->nallowed = nallowed;
	s->fn = fn;
	s->arg = arg;
	s->fd = -1;

	if ((rv = nng_rep0_open_raw(&s->sock)) != 0) {
		snprintf(err, errlen, "nng_rep0_open_raw: %s", nng_strerror(rv));
		return -1;
	}
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, IPC_MSG_MAX);
	/*
	 * Replies queue per socket; a full queue must not drop a reply (the
	 * client would wait for nothing), so sends may block briefly.
	 */
	nng_socket_set_int(s->sock, NNG_OPT_SENDBUF, 256);
	nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, 256);
	nng_socket_set_ms(s->sock, NNG_OPT_SENDTIMEO, 1000);
	/* A stale socket file from a crashed daemon: we hold the lock, so it is ours. */
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	ipc_url(url, sizeof(url), path);
	if ((rv = nng_listener_create(&l, s->sock, url)) != 0 ||
	    (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0660)) != 0 ||
	    (rv = nng_listener_start(l, 0)) != 0) {
		snprintf(err, errlen, "listen on %s: %s", path, nng_strerror(rv));
		goto fail;
	}
	if ((rv = nng_socket_get_int(s->sock, NNG_OPT_RECVFD, &s->fd)) != 0) {
		snprintf(err, errlen, "nng recv fd: %s", nng_strerror(rv));
		goto fail;
	}
	return 0;
fail:
	nng_close(s->sock);
	return -1;
}

int
ipc_server_allows(const struct ipc_server *s, uid_t uid)
{
	int i;

	for (i = 0; i < s->nallowed; i++)
		if (s->allowed[i] == uid)
			return 1;
	return 0;
}

void
ipc_server_dispatch(struct ipc_server *s)
{
	struct ipc_req *req;
	uint64_t uid;
	nng_msg *msg;
	nng_pipe p;

	while (nng_recvmsg(s->sock, &msg, NNG_FLAG_NONBLOCK) == 0) {
		p = nng_msg_get_pipe(msg);
		if ((req = calloc(1, sizeof(*req))) == NULL) {
			nng_msg_free(msg);
			continue;
		}
		req->srv = s;
		req->msg = msg;
		if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) != 0)
			uid = UINT64_MAX;
		ipc_server_serve(s, req, uid, nng_msg_body(msg), nng_msg_len(msg), NULL, 0);
	}
}

/*
 * Checks a request that arrived (nng or the bulk channel) and hands it to
 * the server's handler: a valid header, an allowed uid (UINT64_MAX: not
 * known), and when types is not NULL one of those ntypes types; anything
 * else is answered with an error here and counted.
 */
void
ipc_server_serve(struct ipc_server *s, struct ipc_req *req, uint64_t uid,
    const uint8_t *msg, size_t len, const uint16_t *types, int ntypes)
{
	struct ipc_hdr h;
	int i;

	req->uid = (uid_t)uid;
	if (ipc_hdr_decode(msg, len, &h) != 0 || h.status != IPC_OK) {
		s->malformed++;
		req->type = IPC_STATUS;
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed request header");
		return;
	}
	req->type = h.type;
	/* Checked before anything of the request is looked at. */
	if (uid == UINT64_MAX || !ipc_server_allows(s, req->uid)) {
		s->denied++;
		log_warnx("refused %s request from uid %llu",
		    ipc_type_name(h.type), (unsigned long long)uid);
		ipc_reply_error(req, IPC_ERR_DENIED, "uid %llu is not allowed",
		    (unsigned long long)uid);
		return;
	}
	for (i = 0; types != NULL && i < ntypes && types[i] != h.type; i++)
		;
	if (types != NULL && i == ntypes) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "%s is not served on the bulk channel",
		    ipc_type_name(h.type));
		return;
	}
	s->fn(s->arg, req, msg, len);
}

void
ipc_server_close(struct ipc_server *s)
{
	ipc_server_bulk_close(s);
	if (s->fd == -1 && s->path[0] == '\0')
		return;
	nng_close(s->sock);
	unlink(s->path);
	s->fd = -1;
	s->path[0] = '\0';
}

uint16_t
ipc_req_type(const struct ipc_req *req)
{
	return req->type;
}

uid_t
ipc_req_uid(const struct ipc_req *req)
{
	return req->uid;
}

struct ipc_req *
ipc_req_bulk(struct ipc_server *srv, void *conn, uint32_t gen, uint32_t id)
{
	struct ipc_req *req;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->srv = srv;
	req->bulk = conn;
	req->bulk_gen = gen;
	req->bulk_id = id;
	return req;
}

int
ipc_req_on_bulk(const struct ipc_req *req)
{
	return req->bulk != NULL;
}

int
ipc_reply(struct ipc_req *req, const void *msg, size_t len)
{
	int rv;

	if (req->bulk != NULL) {
		rv = ipc_bulk_reply(req->bulk, req->bulk_gen, req->bulk_id, msg, len);
		free(req);
		return rv;
	}
	/* Clearing the body keeps the backtrace header that routes the reply. */
	nng_msg_clear(req->msg);
	if ((rv = nng_msg_append(req->msg, msg, len)) == 0)
		rv = nng_sendmsg(req->srv->sock, req->msg, 0);
	if (rv != 0) {
		log_warnx("reply to %s request: %s", ipc_type_name(req->type),
		    nng_strerror(rv));
		nng_msg_free(req->msg);
	}
	free(req);
	return rv == 0 ? 0 : -1;
}

int
ipc_reply_fd(struct ipc_req *req, const void *msg, size_t len, int fd)
{
	int rv;

	if (req->bulk == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "descriptors go on the bulk channel only");
		return -1;
	}
	rv = ipc_bulk_reply_fd(req->bulk, req->bulk_gen, req->bulk_id, msg, len, fd);
	free(req);
	return rv;
}

void
ipc_reply_error(struct ipc_req *req, uint16_t status, const char *fmt, ...)
{
	uint8_t buf[IPC_HDR_LEN + 2 + IPC_STR_MAX];
	char reason[IPC_STR_MAX];
	va_list ap;
	long n;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	n = ipc_error_encode(buf, sizeof(buf), req->type, status, reason);
	if (n < 0)
		n = ipc_empty_encode(buf, sizeof(buf), req->type, status);
	ipc_reply(req, buf, (size_t)n);
}

int
ipc_req_bad(struct ipc_req *req, int decoded, const char *what)
{
	if (decoded == 0)
		return 0;
	ipc_reply_error(req, IPC_ERR_BADMSG, "malformed %s", what);
	return 1;
}

/*
 * A kept connection: a connected req0 socket and the one aio its replies
 * are waited on.  A waiting client must notice at once when its connection
 * goes away (the daemon was killed): the pipe callback, on nng's thread,
 * marks it lost and cancels the wait (req0 would otherwise resend the
 * request on the next connection, and a request is never served twice).
 * A receive timeout on a cooked req socket would abandon the request, so
 * the whole wait is one aio with the caller's timeout.
 */
struct ipc_conn {
	nng_socket	 sock;
	nng_aio		*aio;
	atomic_int	 lost;	/* its pipe was removed */
};

static void
ipc_conn_gone(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct ipc_conn *c = arg;

	(void)p;
	if (ev != NNG_PIPE_EV_REM_POST)
		return;
	atomic_store(&c->lost, 1);
	/* Harmless when no receive is pending on it. */
	nng_aio_cancel(c->aio);
}

void
ipc_conn_close(struct ipc_conn *c)
{
	/*
	 * Closing removes the pipe, which fires the callback: it must not
	 * cancel an aio from inside nng_close (seen to hang nng 1.5.2's close
	 * after a daemon was killed mid-request), so it is detached first.
	 */
	nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, NULL, NULL);
	nng_close(c->sock);
	nng_aio_free(c->aio);
	free(c);
}

int
ipc_conn_lost(struct ipc_conn *c)
{
	return atomic_load(&c->lost);
}

struct ipc_conn *
ipc_conn_dial(const char *path, int timeout_ms, int *ret, char *err, size_t errlen)
{
	struct ipc_conn *c;
	char url[128];
	int rv;

	*ret = IPC_CALL_ERROR;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((rv = nng_aio_alloc(&c->aio, NULL, NULL)) != 0) {
		snprintf(err, errlen, "nng_aio_alloc: %s", nng_strerror(rv));
		free(c);
		return NULL;
	}
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		snprintf(err, errlen, "nng_req0_open: %s", nng_strerror(rv));
		nng_aio_free(c->aio);
		free(c);
		return NULL;
	}
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, IPC_MSG_MAX);
	nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, timeout_ms);
	/* Never resend: a request must not be served twice. */
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, ipc_conn_gone, c);
	ipc_url(url, sizeof(url), path);
	if ((rv = nng_dial(c->sock, url, NULL, 0)) != 0) {
		if (rv == NNG_ECONNREFUSED || rv == NNG_ENOENT) {
			snprintf(err, errlen, "not running (no listener on %s)", path);
			*ret = IPC_CALL_NOT_RUNNING;
		} else
			snprintf(err, errlen, "connect to %s: %s", path, nng_strerror(rv));
		ipc_conn_close(c);
		return NULL;
	}
	return c;
}

int
ipc_conn_call(struct ipc_conn *c, const char *path, const void *req, size_t len,
    uint8_t **rep, size_t *replen, int timeout_ms, char *err, size_t errlen)
{
	nng_msg *msg;
	int rv;

	*rep = NULL;
	*replen = 0;
	if ((rv = nng_send(c->sock, (void *)req, len, 0)) != 0) {
		snprintf(err, errlen, "send to %s: %s", path, nng_strerror(rv));
		return IPC_CALL_ERROR;
	}
	nng_aio_set_timeout(c->aio, timeout_ms);
	nng_recv_aio(c->sock, c->aio);
	/* The connection may have gone before the wait began. */
	if (atomic_load(&c->lost))
		nng_aio_cancel(c->aio);
	nng_aio_wait(c->aio);
	rv = nng_aio_result(c->aio);
	if (rv != 0) {
		if (atomic_load(&c->lost) || rv == NNG_ECANCELED || rv == NNG_ESTATE ||
		    rv == NNG_ECONNRESET || rv == NNG_ECONNSHUT || rv == NNG_ECLOSED) {
			snprintf(err, errlen, "connection lost while waiting for the reply");
			return IPC_CALL_LOST;
		}
		if (rv == NNG_ETIMEDOUT) {
			snprintf(err, errlen, "no reply within %d ms", timeout_ms);
			return IPC_CALL_TIMEOUT;
		}
		snprintf(err, errlen, "receive from %s: %s", path, nng_strerror(rv));
		return IPC_CALL_ERROR;
	}
	msg = nng_aio_get_msg(c->aio);
	*replen = nng_msg_len(msg);
	if ((*rep = malloc(*replen ? *replen : 1)) == NULL) {
		nng_msg_free(msg);
		*replen = 0;
		snprintf(err, errlen, "out of memory");
		return IPC_CALL_ERROR;
	}
	memcpy(*rep, nng_msg_body(msg), *replen);
	nng_msg_free(msg);
	return 0;
}

int
ipc_call(const char *path, const void *req, size_t len, uint8_t **rep,
    size_t *replen, int timeout_ms, char *err, size_t errlen)
{
	struct ipc_conn *c;
	int ret;

	*rep = NULL;
	*replen = 0;
	if ((c = ipc_conn_dial(path, timeout_ms, &ret, err, errlen)) == NULL)
		return ret;
	ret = ipc_conn_call(c, path, req, len, rep, replen, timeout_ms, err, errlen);
	ipc_conn_close(c);
	return ret;
}

int
ipc_link_open(struct ipc_link *l, const char *name, const char *path)
{
	char url[128];
	int rv;

	memset(l, 0, sizeof(*l));
	strlcpy(l->name, name, sizeof(l->name));
	strlcpy(l->path, path, sizeof(l->path));
	l->fd = -1;
	if ((rv = nng_req0_open(&l->sock)) != 0)
		return -1;
	nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ, IPC_MSG_MAX);
	nng_socket_set_ms(l->sock, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(l->sock, NNG_OPT_RECONNMAXT, 1000);
	nng_socket_set_ms(l->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	ipc_url(url, sizeof(url), path);
	/* Non-blocking dial: the other daemon may start later; nng retries. */
	if ((rv = nng_dial(l->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0 ||
	    (rv = nng_socket_get_int(l->sock, NNG_OPT_RECVFD, &l->fd)) != 0) {
		nng_close(l->sock);
		return -1;
	}
	l->open = 1;
	return 0;
}

void
ipc_link_ping(struct ipc_link *l, uint64_t now_ms)
{
	uint8_t buf[IPC_HDR_LEN];

	(void)now_ms;
	if (!l->open)
		return;
	ipc_empty_encode(buf, sizeof(buf), IPC_STATUS, IPC_OK);
	/* A new request on a cooked req socket abandons the previous one. */
	(void)nng_send(l->sock, buf, sizeof(buf), NNG_FLAG_NONBLOCK);
}

void
ipc_link_readable(struct ipc_link *l, uint64_t now_ms)
{
	struct ipc_status st;
	nng_msg *msg;

	while (nng_recvmsg(l->sock, &msg, NNG_FLAG_NONBLOCK) == 0) {
		if (ipc_status_decode(nng_msg_body(msg), nng_msg_len(msg),
		    IPC_STATUS, &st) == 0) {
			l->peer = st;
			l->last_ok_ms = now_ms;
		} else
			log_warnx("%s: malformed status reply", l->name);
		nng_msg_free(msg);
	}
}

int
ipc_link_state(const struct ipc_link *l, uint64_t now_ms, uint64_t stale_ms)
{
	if (l->last_ok_ms == 0)
		return IPC_LINK_UNKNOWN;
	return now_ms - l->last_ok_ms <= stale_ms ? IPC_LINK_UP : IPC_LINK_DOWN;
}

void
ipc_link_close(struct ipc_link *l)
{
	if (l->open)
		nng_close(l->sock);
	l->open = 0;
	l->fd = -1;
}

int
ipc_client_open(struct ipc_client *cl, const char *name, const char *path)
{
	char url[128];

	memset(cl, 0, sizeof(*cl));
	strlcpy(cl->name, name, sizeof(cl->name));
	cl->fd = -1;
	cl->reply_fd = -1;
	cl->next_id = 1;
	if (nng_req0_open_raw(&cl->sock) != 0)
		return -1;
	nng_socket_set_size(cl->sock, NNG_OPT_RECVMAXSZ, IPC_MSG_MAX);
	nng_socket_set_int(cl->sock, NNG_OPT_SENDBUF, 64);
	nng_socket_set_int(cl->sock, NNG_OPT_RECVBUF, 64);
	nng_socket_set_ms(cl->sock, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(cl->sock, NNG_OPT_RECONNMAXT, 1000);
	ipc_url(url, sizeof(url), path);
	if (nng_dial(cl->sock, url, NULL, NNG_FLAG_NONBLOCK) != 0 ||
	    nng_socket_get_int(cl->sock, NNG_OPT_RECVFD, &cl->fd) != 0) {
		nng_close(cl->sock);
		return -1;
	}
	cl->open = 1;
	return 0;
}

/* A free slot and a fresh request ID for it (the caller fills the slot). */
struct ipc_client_slot *
ipc_client_slot_take(struct ipc_client *cl, uint32_t *idp)
{
	uint32_t id;
	int i;

	for (i = 0; i < IPC_CLIENT_MAX_INFLIGHT; i++)
		if (cl->slots[i].id == 0)
			break;
	if (i == IPC_CLIENT_MAX_INFLIGHT)
		return NULL;
	/* Raw req: the request ID is ours to write, with its high bit set. */
	id = (cl->next_id++ & 0x7fffffffu);
	if (id == 0)
		id = cl->next_id++ & 0x7fffffffu;
	*idp = id;
	return &cl->slots[i];
}

/* Fills a slot taken with ipc_client_slot_take once its request is sent. */
void
ipc_client_slot_set(struct ipc_client_slot *s, uint32_t id, int bulk, uint64_t deadline,
    ipc_client_cb cb, void *arg)
{
	s->id = id;
	s->bulk = bulk;
	s->deadline = deadline;
	s->cb = cb;
	s->arg = arg;
}

/* A reply for request id: its callback runs (unknown IDs are dropped). */
void
ipc_client_deliver(struct ipc_client *cl, uint32_t id, const uint8_t *rep, size_t len)
{
	ipc_client_deliver_fd(cl, id, rep, len, -1);
}

static struct ipc_client_slot *
ipc_client_slot_of(const struct ipc_client *cl, uint32_t id)
{
	int i;

	id &= 0x7fffffffu;
	for (i = 0; i < IPC_CLIENT_MAX_INFLIGHT; i++)
		if (cl->slots[i].id == id)
			return (struct ipc_client_slot *)&cl->slots[i];
	return NULL;
}

int
ipc_client_wants_fd(const struct ipc_client *cl, uint32_t id)
{
	const struct ipc_client_slot *s = ipc_client_slot_of(cl, id);

	return s != NULL && s->want_fd;
}

/* The same with the descriptor that came with it (-1: none), see take_fd. */
void
ipc_client_deliver_fd(struct ipc_client *cl, uint32_t id, const uint8_t *rep,
    size_t len, int fd)
{
	struct ipc_client_slot *s = ipc_client_slot_of(cl, id), done;

	if (s == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	/* Free the slot first: the callback may send the next request. */
	done = *s;
	memset(s, 0, sizeof(*s));
	cl->reply_fd = fd;
	done.cb(done.arg, rep, len, NULL);
	if (cl->reply_fd >= 0)
		close(cl->reply_fd);	/* not taken */
	cl->reply_fd = -1;
}

int
ipc_client_take_fd(struct ipc_client *cl)
{
	int fd = cl->reply_fd;

	cl->reply_fd = -1;
	return fd;
}

/*
 * The requests sent on the bulk channel fail (it closed).  defer: the
 * channel broke inside a send, whose caller still holds what a callback
 * may free (the session, the buffer being sent): the callbacks run at the
 * next ipc_client_tick instead, with why (a string literal).
 */
void
ipc_client_fail_bulk(struct ipc_client *cl, const char *why, int defer)
{
	struct ipc_client_slot done;
	int i;

	for (i = 0; i < IPC_CLIENT_MAX_INFLIGHT; i++) {
		if (cl->slots[i].id == 0 || cl->slots[i].bulk != IPC_SLOT_BULK)
			continue;
		if (defer) {
			cl->slots[i].deadline = 0;
			cl->slots[i].why = why;
			continue;
		}
		done = cl->slots[i];
		memset(&cl->slots[i], 0, sizeof(cl->slots[i]));
		cl->failed++;
		done.cb(done.arg, NULL, 0, why);
	}
}

int
ipc_client_send(struct ipc_client *cl, const void *msg, size_t len,
    uint32_t timeout_ms, ipc_client_cb cb, void *arg, uint64_t now_ms)
{
	return ipc_client_send_nng(cl, msg, len, timeout_ms, cb, arg, now_ms, 0);
}

/* ipc_client_send; the slot is marked with `bulk` (ipc_bulk.c's fallback). */
int
ipc_client_send_nng(struct ipc_client *cl, const void *msg, size_t len,
    uint32_t timeout_ms, ipc_client_cb cb, void *arg, uint64_t now_ms, int bulk)
{
	struct ipc_client_slot *s;
	nng_msg *m;
	uint32_t id;

	if (!cl->open || (s = ipc_client_slot_take(cl, &id)) == NULL)
		return -1;
	if (nng_msg_alloc(&m, 0) != 0)
		return -1;
	if (nng_msg_header_append_u32(m, id | 0x80000000u) != 0 ||
	    nng_msg_append(m, msg, len) != 0 ||
	    nng_sendmsg(cl->sock, m, NNG_FLAG_NONBLOCK) != 0) {
		nng_msg_free(m);
		cl->failed++;
		return -1;
	}
	ipc_client_slot_set(s, id, bulk, now_ms + timeout_ms, cb, arg);
	return 0;
}

void
ipc_client_readable(struct ipc_client *cl)
{
	nng_msg *m;
	uint32_t id;

	while (nng_recvmsg(cl->sock, &m, NNG_FLAG_NONBLOCK) == 0) {
		if (nng_msg_header_len(m) < 4 || nng_msg_header_trim_u32(m, &id) != 0) {
			nng_msg_free(m);
			continue;
		}
		ipc_client_deliver(cl, id, nng_msg_body(m), nng_msg_len(m));
		nng_msg_free(m);
	}
}

void
ipc_client_tick(struct ipc_client *cl, uint64_t now_ms)
{
	struct ipc_client_slot done;
	char err[96];
	int i;

	for (i = 0; i < IPC_CLIENT_MAX_INFLIGHT; i++) {
		if (cl->slots[i].id == 0 || now_ms < cl->slots[i].deadline)
			continue;
		done = cl->slots[i];
		memset(&cl->slots[i], 0, sizeof(cl->slots[i]));
		cl->failed++;
		snprintf(err, sizeof(err), "%s did not answer in time", cl->name);
		done.cb(done.arg, NULL, 0, done.why != NULL ? done.why : err);
	}
}

int
ipc_client_inflight(const struct ipc_client *cl)
{
	int i, n = 0;

	for (i = 0; i < IPC_CLIENT_MAX_INFLIGHT; i++)
		n += cl->slots[i].id != 0;
	return n;
}

void
ipc_client_close(struct ipc_client *cl)
{
	int i;

	if (!cl->open)
		return;
	ipc_client_bulk_close(cl);
	nng_close(cl->sock);
	cl->open = 0;
	for (i = 0; i < IPC_CLIENT_MAX_INFLIGHT; i++)
		if (cl->slots[i].id != 0) {
			struct ipc_client_slot done = cl->slots[i];

			memset(&cl->slots[i], 0, sizeof(cl->slots[i]));
			done.cb(done.arg, NULL, 0, "closed");
		}
}

int
ipc_pub_open(struct ipc_pub *p, const char *path, char *err, size_t errlen)
{
	char url[128];
	nng_listener l;
	int rv;

	memset(p, 0, sizeof(*p));
	strlcpy(p->path, path, sizeof(p->path));
	if ((rv = nng_pub0_open(&p->sock)) != 0) {
		snprintf(err, errlen, "nng_pub0_open: %s", nng_strerror(rv));
		return -1;
	}
	/* pub drops what a slow subscriber cannot take: a burst must fit. */
	nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, 8192);
	unlink(path);
	ipc_url(url, sizeof(url), path);
	if ((rv = nng_listener_create(&l, p->sock, url)) != 0 ||
	    (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0660)) != 0 ||
	    (rv = nng_listener_start(l, 0)) != 0) {
		snprintf(err, errlen, "listen on %s: %s", path, nng_strerror(rv));
		nng_close(p->sock);
		return -1;
	}
	return 0;
}

int
ipc_publish(struct ipc_pub *p, const void *msg, size_t len)
{
	return nng_send(p->sock, (void *)msg, len, NNG_FLAG_NONBLOCK) == 0 ? 0 : -1;
}

void
ipc_pub_close(struct ipc_pub *p)
{
	if (p->path[0] == '\0')
		return;
	nng_close(p->sock);
	unlink(p->path);
	p->path[0] = '\0';
}

int
ipc_sub_open(struct ipc_sub *s, const char *path)
{
	char url[128];

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (nng_sub0_open(&s->sock) != 0)
		return -1;
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, IPC_MSG_MAX);
	nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 1000);
	nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	ipc_url(url, sizeof(url), path);
	if (nng_dial(s->sock, url, NULL, NNG_FLAG_NONBLOCK) != 0 ||
	    nng_socket_get_int(s->sock, NNG_OPT_RECVFD, &s->fd) != 0) {
		nng_close(s->sock);
		return -1;
	}
	return 0;
}

int
ipc_sub_recv(struct ipc_sub *s, uint8_t **msg, size_t *len)
{
	nng_msg *m;

	if (nng_recvmsg(s->sock, &m, NNG_FLAG_NONBLOCK) != 0)
		return -1;
	*len = nng_msg_len(m);
	if ((*msg = malloc(*len ? *len : 1)) == NULL) {
		nng_msg_free(m);
		return -1;
	}
	memcpy(*msg, nng_msg_body(m), *len);
	nng_msg_free(m);
	return 0;
}

void
ipc_sub_close(struct ipc_sub *s)
{
	if (s->fd == -1)
		return;
	nng_close(s->sock);
	s->fd = -1;
}

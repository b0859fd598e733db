/*
 * env_real.c — struct net_env for the running peernet-netd: the monotonic
 * clock and timers of common/loop.c, libsodium's random bytes, and net.c's
 * sockets.  The only place in netd's core where these are named.
 */
#include <stdlib.h>

#include <sodium.h>
#include <time.h>

#include "env.h"
#include "ipc.h"
#include "loop.h"
#include "netd.h"

static uint64_t
env_real_now_us(void *ctx)
{
	(void)ctx;
	return loop_now_us();
}

static uint64_t
env_real_unix_s(void *ctx)
{
	(void)ctx;
	return (uint64_t)time(NULL);
}

static void
env_real_random(void *ctx, void *buf, size_t n)
{
	(void)ctx;
	randombytes_buf(buf, n);
}

static int
env_real_send(void *ctx, int sock, const struct peer_addr *local,
    const struct peer_addr *remote, const uint8_t *buf, size_t len)
{
	return net_send_raw(ctx, sock, local, remote, buf, len);
}

static int
env_real_sendv(void *ctx, int sock, const struct peer_addr *local,
    const struct peer_addr *remote, const struct iovec *iov, int iovcnt)
{
	return net_send_rawv(ctx, sock, local, remote, iov, iovcnt);
}

static void *
env_real_timer_add(void *ctx, uint64_t after_ms, uint64_t interval_ms,
    net_env_timer_cb cb, void *arg)
{
	struct netd *n = ctx;

	return loop_timer_add(&n->d->loop, after_ms, interval_ms, cb, arg);
}

static void
env_real_timer_del(void *ctx, void *timer)
{
	struct netd *n = ctx;

	loop_timer_del(&n->d->loop, timer);
}

static int
env_real_store_send(void *ctx, const void *msg, size_t len, uint32_t timeout_ms,
    void (*cb)(void *arg, const uint8_t *rep, size_t len, const char *err),
    void *arg, int bulk)
{
	struct netd *n = ctx;

	if (!n->store_open)	/* before node_ipc, or after node_ipc_close */
		return -1;
	return bulk ? ipc_client_send_bulk(&n->store, msg, len, timeout_ms, cb,
	    arg, loop_now_ms()) : ipc_client_send(&n->store, msg, len, timeout_ms,
	    cb, arg, loop_now_ms());
}

/* A descriptor request's callback and its argument, between the two calls. */
struct env_real_fdq {
	struct netd	*n;
	void		(*cb)(void *arg, const uint8_t *rep, size_t len, int fd,
			    const char *err);
	void		*arg;
};

static void
env_real_fd_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct env_real_fdq q = *(struct env_real_fdq *)arg;

	free(arg);
	q.cb(q.arg, rep, len, rep != NULL ? ipc_client_take_fd(&q.n->store) : -1, err);
}

static int
env_real_store_fd(void *ctx, const void *msg, size_t len, uint32_t timeout_ms,
    void (*cb)(void *arg, const uint8_t *rep, size_t len, int fd, const char *err),
    void *arg)
{
	struct netd *n = ctx;
	struct env_real_fdq *q;

	if (!n->store_open || (q = malloc(sizeof(*q))) == NULL)
		return -1;
	q->n = n;
	q->cb = cb;
	q->arg = arg;
	if (ipc_client_send_bulk_fd(&n->store, msg, len, timeout_ms, env_real_fd_done,
	    q, loop_now_ms()) != 0) {
		free(q);
		return -1;
	}
	return 0;
}

void
env_real_init(struct net_env *e, struct netd *n)
{
	e->now_us = env_real_now_us;
	e->unix_s = env_real_unix_s;
	e->random = env_real_random;
	e->send = env_real_send;
	e->sendv = env_real_sendv;
	e->timer_add = env_real_timer_add;
	e->timer_del = env_real_timer_del;
	e->store_send = env_real_store_send;
	e->store_fd = env_real_store_fd;
	e->ctx = n;
}

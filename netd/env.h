/*
 * env.h — what netd's core takes from the world: the clock, randomness,
 * datagrams out and timers.  Everything above net.c reaches these only
 * through struct net_env (c-toxcore's "system" struct), so the same code
 * runs in peernet-netd, where env_real.c wires them to the monotonic
 * clock, libsodium, net.c's sockets and the event loop, and in tests/sim,
 * where whole nodes share one process on a fake clock and a simulated
 * network.  One clock convention in netd: monotonic microseconds from
 * env->now_us; milliseconds are derived from it (env_now_ms).
 * now_us, unix_s and random are also called from portmap.c's worker
 * thread: the real ones are thread-safe (portmap never runs in tests/sim).
 */
#ifndef PEERNET_NETD_ENV_H
#define PEERNET_NETD_ENV_H

#include <stddef.h>
#include <stdint.h>

struct peer_addr;
struct iovec;

typedef void (*net_env_timer_cb)(void *arg);

struct net_env {
	/* Monotonic microseconds; never goes back. */
	uint64_t (*now_us)(void *ctx);
	/*
	 * Wall-clock seconds since 1970, for the few wire fields that carry
	 * it (Traverse expiry, §3.7); never for intervals.
	 */
	uint64_t (*unix_s)(void *ctx);
	/* Cryptographically strong random bytes in real use. */
	void	 (*random)(void *ctx, void *buf, size_t n);
	/* One datagram out of socket slot sock; 0 = handed to the network. */
	int	 (*send)(void *ctx, int sock, const struct peer_addr *local,
		    const struct peer_addr *remote, const uint8_t *buf,
		    size_t len);
	/*
	 * Optional (NULL: callers join the pieces and use send): the same
	 * with the datagram in iovcnt (<= 8) pieces, a lite header and the
	 * UDT packet it carries, gathered without a copy of the caller's own.
	 */
	int	 (*sendv)(void *ctx, int sock, const struct peer_addr *local,
		    const struct peer_addr *remote, const struct iovec *iov,
		    int iovcnt);
	/*
	 * First run after after_ms, then every interval_ms (0: once, and the
	 * timer is gone after it ran).  NULL on failure.
	 */
	void	*(*timer_add)(void *ctx, uint64_t after_ms, uint64_t interval_ms,
		    net_env_timer_cb cb, void *arg);
	void	 (*timer_del)(void *ctx, void *timer);
	/*
	 * One request to storaged (an IPC catalogue message); cb gets the
	 * reply, or rep NULL and err, exactly once — never from inside this
	 * call.  bulk: file data, which rides the bulk channel when it is up.
	 * -1: not sent (cb will not run).
	 */
	int	 (*store_send)(void *ctx, const void *msg, size_t len,
		    uint32_t timeout_ms, void (*cb)(void *arg, const uint8_t *rep,
		    size_t len, const char *err), void *arg, int bulk);
	/*
	 * The same for a request whose reply brings a descriptor (IPC_FILE_FD,
	 * bulk channel only): cb gets it in fd (the callee owns it; -1 when
	 * none came).  NULL, or -1 from the call: not available (an
	 * environment without descriptors, the channel down) — callers fall
	 * back to their IPC_CAT path.
	 */
	int	 (*store_fd)(void *ctx, const void *msg, size_t len,
		    uint32_t timeout_ms, void (*cb)(void *arg, const uint8_t *rep,
		    size_t len, int fd, const char *err), void *arg);
	void	 *ctx;
};

static inline uint64_t
env_now_us(const struct net_env *e)
{
	return e->now_us(e->ctx);
}

static inline uint64_t
env_now_ms(const struct net_env *e)
{
	return e->now_us(e->ctx) / 1000;	/* floors nest: same as from ns */
}

static inline uint64_t
env_unix_s(const struct net_env *e)
{
	return e->unix_s(e->ctx);
}

static inline void
env_random(const struct net_env *e, void *buf, size_t n)
{
	e->random(e->ctx, buf, n);
}

static inline uint32_t
env_random32(const struct net_env *e)
{
	uint32_t v;

	e->random(e->ctx, &v, sizeof(v));
	return v;
}

struct netd;
/* env_real.c: the environment of the running daemon (clock, libsodium, net.c, loop). */
void	env_real_init(struct net_env *e, struct netd *n);

#endif

/*
 * loop.h — the single-threaded event loop every daemon runs: epoll over
 * file descriptors (sockets, nng's pollable fds), signals through a
 * signalfd, and timers each backed by a timerfd.  Callbacks run one at a
 * time; nothing here allocates after loop_init except loop_timer_add.
 */
#ifndef PEERNET_LOOP_H
#define PEERNET_LOOP_H

#include <stdint.h>

#define LOOP_MAX_SIGNALS 8

typedef void (*loop_fd_cb)(int fd, uint32_t events, void *arg);
typedef void (*loop_sig_cb)(int signo, void *arg);
typedef void (*loop_timer_cb)(void *arg);

struct loop_sig {
	int		 signo;
	loop_sig_cb	 cb;
	void		*arg;
};

struct loop_timer;

struct loop {
	int		 epfd;
	int		 sigfd;
	int		 running;
	int		 nsigs;
	struct loop_sig	 sigs[LOOP_MAX_SIGNALS];
};

int	loop_init(struct loop *l);
/* events: EPOLLIN / EPOLLOUT; the callback gets what happened. */
int	loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int	loop_mod_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int	loop_del_fd(struct loop *l, int fd);
/* Blocks the signal and delivers it through the loop. */
int	loop_add_signal(struct loop *l, int signo, loop_sig_cb cb, void *arg);
/*
 * First run after after_ms, then every interval_ms.  With interval 0 the
 * timer runs once and then frees itself: do not use the pointer after it
 * fired.  loop_close frees the timers still alive.
 */
struct loop_timer *loop_timer_add(struct loop *l, uint64_t after_ms,
	    uint64_t interval_ms, loop_timer_cb cb, void *arg);
void	loop_timer_del(struct loop *l, struct loop_timer *t);
/* Runs until loop_stop; returns 0, or -1 on an epoll failure. */
/*
 * Runs cb(arg) once, after the callbacks of the current wake-up and before
 * the loop waits again: output they batched (netd's datagrams) leaves in
 * one go.  The same cb and arg deferred twice run once.  -1 when the loop
 * is not running (the caller then acts at once) or LOOP_MAX_DEFER wait.
 */
#define LOOP_MAX_DEFER 8
int	loop_defer(struct loop *l, loop_timer_cb cb, void *arg);
int	loop_run(struct loop *l);
void	loop_stop(struct loop *l);
void	loop_close(struct loop *l);
/* Monotonic milliseconds, microseconds. */
uint64_t loop_now_ms(void);
uint64_t loop_now_us(void);

#endif

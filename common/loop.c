/*
 * loop.c — epoll/signalfd/timerfd event loop (see loop.h).
 */
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

/* What an epoll entry points at: an fd callback, the signalfd, or a timer. */
struct loop_src {
	int		 fd;
	loop_fd_cb	 cb;
	void		*arg;
};

struct loop_timer {
	int		 fd;
	struct loop	*loop;
	loop_timer_cb	 cb;
	void		*arg;
	int		 oneshot;
	struct loop_timer *next;	/* every live timer, freed by loop_close */
};

static struct loop_timer *loop_timers;
/* The timer whose callback runs, and whether that callback deleted it. */
static struct loop_timer *loop_firing;
static int loop_firing_deleted;

#define LOOP_MAX_FDS 256
static struct loop_src *loop_srcs[LOOP_MAX_FDS];
/*
 * Bumped whenever an fd's source is removed.  epoll reports carry fd and
 * generation (not a pointer), so an event for a source that an earlier
 * callback of the same batch removed is recognised without touching freed
 * memory.
 */
static uint32_t loop_gens[LOOP_MAX_FDS];

/* Callbacks due once the current wake-up's events are handled (loop_defer). */
static struct {
	loop_timer_cb	 cb;
	void		*arg;
}		 loop_deferred[LOOP_MAX_DEFER];
static int	 loop_ndeferred;

uint64_t
loop_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
loop_now_ms(void)
{
	return loop_now_us() / 1000;	/* the same as from nanoseconds: floors nest */
}

static void
loop_on_signal(int fd, uint32_t events, void *arg)
{
	struct loop *l = arg;
	struct signalfd_siginfo si;
	int i;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (i = 0; i < l->nsigs; i++)
			if (l->sigs[i].signo == (int)si.ssi_signo)
				l->sigs[i].cb((int)si.ssi_signo, l->sigs[i].arg);
	}
}

int
loop_init(struct loop *l)
{
	sigset_t none;

	memset(l, 0, sizeof(*l));
	sigemptyset(&none);
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if ((l->sigfd = signalfd(-1, &none, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		close(l->epfd);
		return -1;
	}
	return loop_add_fd(l, l->sigfd, EPOLLIN, loop_on_signal, l);
}

static int
loop_ctl(struct loop *l, int op, int fd, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = (uint64_t)loop_gens[fd] << 32 | (uint32_t)fd;
	return epoll_ctl(l->epfd, op, fd, &ev);
}

int
loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct loop_src *src;

	if (fd < 0 || fd >= LOOP_MAX_FDS || loop_srcs[fd] != NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((src = calloc(1, sizeof(*src))) == NULL)
		return -1;
	src->fd = fd;
	src->cb = cb;
	src->arg = arg;
	loop_srcs[fd] = src;
	if (loop_ctl(l, EPOLL_CTL_ADD, fd, events) == -1) {
		loop_srcs[fd] = NULL;
		free(src);
		return -1;
	}
	return 0;
}

int
loop_mod_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct loop_src *src;

	if (fd < 0 || fd >= LOOP_MAX_FDS || (src = loop_srcs[fd]) == NULL) {
		errno = EINVAL;
		return -1;
	}
	src->cb = cb;
	src->arg = arg;
	return loop_ctl(l, EPOLL_CTL_MOD, fd, events);
}

int
loop_del_fd(struct loop *l, int fd)
{
	if (fd < 0 || fd >= LOOP_MAX_FDS || loop_srcs[fd] == NULL) {
		errno = EINVAL;
		return -1;
	}
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	free(loop_srcs[fd]);
	loop_srcs[fd] = NULL;
	loop_gens[fd]++;
	return 0;
}

int
loop_add_signal(struct loop *l, int signo, loop_sig_cb cb, void *arg)
{
	sigset_t set;
	int i;

	if (l->nsigs == LOOP_MAX_SIGNALS) {
		errno = ENOSPC;
		return -1;
	}
	l->sigs[l->nsigs].signo = signo;
	l->sigs[l->nsigs].cb = cb;
	l->sigs[l->nsigs].arg = arg;
	l->nsigs++;
	sigemptyset(&set);
	for (i = 0; i < l->nsigs; i++)
		sigaddset(&set, l->sigs[i].signo);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	return signalfd(l->sigfd, &set, SFD_NONBLOCK | SFD_CLOEXEC) == -1 ? -1 : 0;
}

static void
loop_on_timer(int fd, uint32_t events, void *arg)
{
	struct loop_timer *t = arg;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	loop_firing = t;
	loop_firing_deleted = 0;
	t->cb(t->arg);
	loop_firing = NULL;
	/* The callback may have deleted its own timer: t is gone then. */
	if (loop_firing_deleted)
		return;
	/* A one-shot timer is done: it frees itself (see loop.h). */
	if (t->oneshot)
		loop_timer_del(t->loop, t);
}

static void
loop_ms_to_ts(struct timespec *ts, uint64_t ms)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

struct loop_timer *
loop_timer_add(struct loop *l, uint64_t after_ms, uint64_t interval_ms,
    loop_timer_cb cb, void *arg)
{
	struct itimerspec its;
	struct loop_timer *t;
	int fd;

	if ((fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		return NULL;
	memset(&its, 0, sizeof(its));
	/* An all-zero it_value would disarm the timer: fire after 1 ms instead. */
	loop_ms_to_ts(&its.it_value, after_ms ? after_ms : 1);
	loop_ms_to_ts(&its.it_interval, interval_ms);
	if (timerfd_settime(fd, 0, &its, NULL) == -1 ||
	    (t = calloc(1, sizeof(*t))) == NULL) {
		close(fd);
		return NULL;
	}
	t->cb = cb;
	t->arg = arg;
	t->oneshot = interval_ms == 0;
	t->fd = fd;
	t->loop = l;
	if (loop_add_fd(l, fd, EPOLLIN, loop_on_timer, t) == -1) {
		close(fd);
		free(t);
		return NULL;
	}
	t->next = loop_timers;
	loop_timers = t;
	return t;
}

void
loop_timer_del(struct loop *l, struct loop_timer *t)
{
	struct loop_timer **pp;

	if (t == NULL)
		return;
	if (t == loop_firing)
		loop_firing_deleted = 1;
	for (pp = &loop_timers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	loop_del_fd(l, t->fd);
	close(t->fd);
	free(t);
}

int
loop_defer(struct loop *l, loop_timer_cb cb, void *arg)
{
	int i;

	if (!l->running)
		return -1;
	for (i = 0; i < loop_ndeferred; i++)
		if (loop_deferred[i].cb == cb && loop_deferred[i].arg == arg)
			return 0;
	if (loop_ndeferred == LOOP_MAX_DEFER)
		return -1;
	loop_deferred[loop_ndeferred].cb = cb;
	loop_deferred[loop_ndeferred].arg = arg;
	loop_ndeferred++;
	return 0;
}

/*
 * Runs what loop_defer queued before this call; what those callbacks defer
 * in turn waits for the next round, which then does not block (loop_run).
 */
static void
loop_run_deferred(void)
{
	loop_timer_cb cb;
	void *arg;
	int n = loop_ndeferred;

	while (n-- > 0 && loop_ndeferred > 0) {
		cb = loop_deferred[0].cb;
		arg = loop_deferred[0].arg;
		memmove(&loop_deferred[0], &loop_deferred[1],
		    (size_t)--loop_ndeferred * sizeof(loop_deferred[0]));
		cb(arg);
	}
}

int
loop_run(struct loop *l)
{
	struct epoll_event evs[32];
	struct loop_src *src;
	int i, n;

	l->running = 1;
	while (l->running) {
		n = epoll_wait(l->epfd, evs, 32, loop_ndeferred > 0 ? 0 : -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < n && l->running; i++) {
			int fd = (int)(uint32_t)evs[i].data.u64;
			uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);

			/* An earlier callback in this batch may have removed it. */
			if (fd < 0 || fd >= LOOP_MAX_FDS || loop_gens[fd] != gen ||
			    (src = loop_srcs[fd]) == NULL)
				continue;
			src->cb(fd, evs[i].events, src->arg);
		}
		loop_run_deferred();
	}
	return 0;
}

void
loop_stop(struct loop *l)
{
	l->running = 0;
}

void
loop_close(struct loop *l)
{
	int fd;

	loop_ndeferred = 0;
	while (loop_timers != NULL)
		loop_timer_del(l, loop_timers);
	for (fd = 0; fd < LOOP_MAX_FDS; fd++)
		if (loop_srcs[fd] != NULL)
			loop_del_fd(l, fd);
	close(l->sigfd);
	close(l->epfd);
}

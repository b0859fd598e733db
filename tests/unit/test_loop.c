/*
 * test_loop.c — the event loop: fd readiness, periodic and one-shot timers,
 * signals through the signalfd, removal during a batch, stop.
 */
#include <sys/epoll.h>

#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "loop.h"
#include "t.h"

static struct loop L;
static int ticks, once, reads, sigs;
static int pipefd[2];
static struct loop_timer *tick_timer;

static void on_tick(void *arg) { (void)arg; ticks++; }
static void on_once(void *arg) { (void)arg; once++; }
static void on_stop(void *arg) { (void)arg; loop_stop(&L); }

static void
on_read(int fd, uint32_t ev, void *arg)
{
	char c;

	(void)arg;
	if ((ev & EPOLLIN) && read(fd, &c, 1) == 1 && c == 'x')
		reads++;
}

static void
on_sig(int signo, void *arg)
{
	(void)arg;
	if (signo == SIGUSR1)
		sigs++;
}

static void
test_timers_fds_and_signals_are_delivered(void)
{
	uint64_t t0, dt;

	T_EQ_INT(loop_init(&L), 0);
	T_EQ_INT(pipe(pipefd), 0);
	T_EQ_INT(loop_add_fd(&L, pipefd[0], EPOLLIN, on_read, NULL), 0);
	T_EQ_INT(loop_add_signal(&L, SIGUSR1, on_sig, NULL), 0);
	tick_timer = loop_timer_add(&L, 10, 10, on_tick, NULL);
	T_ASSERT(tick_timer != NULL);
	T_ASSERT(loop_timer_add(&L, 5, 0, on_once, NULL) != NULL);
	T_ASSERT(loop_timer_add(&L, 200, 0, on_stop, NULL) != NULL);
	T_EQ_INT(write(pipefd[1], "x", 1), 1);
	T_EQ_INT(write(pipefd[1], "x", 1), 1);
	kill(getpid(), SIGUSR1);
	t0 = loop_now_ms();
	T_EQ_INT(loop_run(&L), 0);
	dt = loop_now_ms() - t0;
	/* A timer never fires early; how late depends on the machine's load. */
	T_ASSERT(dt >= 195);
	T_EQ_INT(once, 1);
	T_EQ_INT(reads, 2);
	T_EQ_INT(sigs, 1);
	/*
	 * A 10 ms period fires at least once before the 200 ms stop and never
	 * more often than its period allows; how many times depends on load.
	 */
	if (ticks < 1 || (uint64_t)ticks > dt / 10 + 1)
		T_FAIL("ticks = %d over %llu ms", ticks, (unsigned long long)dt);
}

static void
test_removed_fd_is_not_called(void)
{
	int before = reads;

	T_EQ_INT(loop_del_fd(&L, pipefd[0]), 0);
	T_EQ_INT(loop_del_fd(&L, pipefd[0]), -1);
	loop_timer_del(&L, tick_timer);
	T_EQ_INT(write(pipefd[1], "x", 1), 1);
	T_ASSERT(loop_timer_add(&L, 50, 0, on_stop, NULL) != NULL);
	T_EQ_INT(loop_run(&L), 0);
	T_EQ_INT(reads, before);
	loop_close(&L);
}

static struct loop_timer *self_del;
static int self_del_runs;

static void
on_self_delete(void *arg)
{
	(void)arg;
	self_del_runs++;
	loop_timer_del(&L, self_del);
}

/* A repeating timer that deletes itself from its callback (no use after free). */
static void
test_timer_may_delete_itself(void)
{
	T_EQ_INT(loop_init(&L), 0);
	self_del = loop_timer_add(&L, 5, 5, on_self_delete, NULL);
	T_ASSERT(self_del != NULL);
	T_ASSERT(loop_timer_add(&L, 60, 0, on_stop, NULL) != NULL);
	T_EQ_INT(loop_run(&L), 0);
	T_EQ_INT(self_del_runs, 1);
	loop_close(&L);
}

/* loop_defer: what the callbacks of one wake-up queue runs once after them. */
static int defer_runs, defer_rearm, defer_order[4], defer_n, defer_reads_at;

static void
on_deferred(void *arg)
{
	int id = (int)(intptr_t)arg;

	defer_runs++;
	if (defer_n < 4)
		defer_order[defer_n++] = id;
	if (id == 1)
		defer_reads_at = reads;
	/* deferring from a deferred callback: the next round, without a wait */
	if (id == 2 && defer_rearm-- > 0)
		T_EQ_INT(loop_defer(&L, on_deferred, (void *)(intptr_t)3), 0);
	if (id == 3)
		loop_stop(&L);
}

static void
on_read_defer(int fd, uint32_t ev, void *arg)
{
	on_read(fd, ev, arg);
	/* the same callback and argument twice: runs once */
	T_EQ_INT(loop_defer(&L, on_deferred, (void *)(intptr_t)1), 0);
	T_EQ_INT(loop_defer(&L, on_deferred, (void *)(intptr_t)1), 0);
	T_EQ_INT(loop_defer(&L, on_deferred, (void *)(intptr_t)2), 0);
}

static void
test_deferred_callbacks_run_after_the_wake_up(void)
{
	T_EQ_INT(loop_init(&L), 0);
	/* not running: the caller must act itself */
	T_EQ_INT(loop_defer(&L, on_deferred, NULL), -1);
	T_EQ_INT(pipe(pipefd), 0);
	reads = 0;
	defer_rearm = 1;
	T_EQ_INT(loop_add_fd(&L, pipefd[0], EPOLLIN, on_read_defer, NULL), 0);
	T_EQ_INT((int)write(pipefd[1], "x", 1), 1);
	/* a fallback stop, should the deferred chain never end the loop */
	T_ASSERT(loop_timer_add(&L, 2000, 0, on_stop, NULL) != NULL);
	T_EQ_INT(loop_run(&L), 0);
	T_EQ_INT(defer_runs, 3);
	T_EQ_INT(defer_order[0], 1);
	T_EQ_INT(defer_order[1], 2);
	T_EQ_INT(defer_order[2], 3);
	T_ASSERT(defer_reads_at >= 1);	/* after the fd callback */
	loop_del_fd(&L, pipefd[0]);
	close(pipefd[0]);
	close(pipefd[1]);
	loop_close(&L);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_timers_fds_and_signals_are_delivered);
	T_RUN(test_removed_fd_is_not_called);
	T_RUN(test_timer_may_delete_itself);
	T_RUN(test_deferred_callbacks_run_after_the_wake_up);
	return t_done();
}

/*
 * test_diskq.c — storaged's disk thread (storaged/diskq.h): jobs run in
 * the order queued, the newest waiting job can be updated in place, limits
 * per kind, a drain waits for all, and every descriptor a flush duplicates
 * is closed again (a leak would keep deleted temp files on disk).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diskq.h"
#include "t.h"

#define MIB	(1024ULL * 1024)

struct rec {
	struct diskq_job job;
	int		 value;
};

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static int ran[16], nran;

/* Holds the thread until the test lets go of gate_mu. */
static void
rec_run(struct diskq_job *job)
{
	struct rec *r = (struct rec *)job;

	pthread_mutex_lock(&gate_mu);
	ran[nran++] = r->value;
	pthread_mutex_unlock(&gate_mu);
	free(r);
}

static struct rec *
rec_new(int kind, int value)
{
	struct rec *r = calloc(1, sizeof(*r));

	r->job.run = rec_run;
	r->job.kind = kind;
	r->value = value;
	return r;
}

static int
rec_set(struct diskq_job *newest, void *arg)
{
	((struct rec *)newest)->value = *(int *)arg;
	return 0;
}

/* Changes nothing: 0 while a job of the kind waits. */
static int
rec_probe(struct diskq_job *newest, void *arg)
{
	(void)newest;
	(void)arg;
	return 0;
}

static void
test_order_update_limits_and_drain(void)
{
	struct rec *r;
	int v, i;

	nran = 0;
	T_ASSERT(diskq_available());
	pthread_mutex_lock(&gate_mu);
	/* 1 is taken out and held in rec_run; 2, 3 and 4 wait. */
	T_EQ_INT(diskq_push(&rec_new(5, 1)->job, 0), 0);
	for (i = 0; i < 2000 && diskq_update(5, rec_probe, NULL) == 0; i++)
		usleep(1000);		/* until the thread took job 1 out */
	T_ASSERT(i < 2000);
	T_EQ_INT(diskq_push(&rec_new(5, 2)->job, 0), 0);
	T_EQ_INT(diskq_push(&rec_new(6, 3)->job, 0), 0);
	/* Kind 6 may have one waiting: a second is refused, not taken. */
	r = rec_new(6, 99);
	T_EQ_INT(diskq_push(&r->job, 1), -1);
	free(r);
	/* The newest waiting is of kind 6: kind 5's update does not apply. */
	v = 50;
	T_EQ_INT(diskq_update(5, rec_set, &v), -1);
	v = 30;
	T_EQ_INT(diskq_update(6, rec_set, &v), 0);
	pthread_mutex_unlock(&gate_mu);
	diskq_drain();
	T_EQ_INT(nran, 3);
	T_EQ_INT(ran[0], 1);
	T_EQ_INT(ran[1], 2);
	T_EQ_INT(ran[2], 30);
	/* Nothing waits: nothing to update. */
	T_EQ_INT(diskq_update(6, rec_set, &v), -1);
	diskq_shutdown();
}

static void
test_flush_due_when_a_multiple_of_the_step_is_crossed(void)
{
	T_EQ_INT(diskq_flush_due(0, DISKQ_FLUSH_EVERY - 1), 0);
	T_EQ_INT(diskq_flush_due(0, DISKQ_FLUSH_EVERY), 1);
	T_EQ_INT(diskq_flush_due(DISKQ_FLUSH_EVERY - 1, DISKQ_FLUSH_EVERY + 1), 1);
	T_EQ_INT(diskq_flush_due(DISKQ_FLUSH_EVERY, 2 * DISKQ_FLUSH_EVERY - 1), 0);
	T_EQ_INT(diskq_flush_due(DISKQ_FLUSH_EVERY + 5, 3 * DISKQ_FLUSH_EVERY), 1);
	T_EQ_INT(DISKQ_FLUSH_EVERY, 32 * MIB);
}

static void
test_flush_closes_every_duplicate(void)
{
	char dir[256], path[300];
	static uint8_t buf[MIB];
	int fd, i, before;

	T_ASSERT(t_tmpdir(dir, sizeof(dir), "diskq") == 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	T_ASSERT((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) != -1);
	memset(buf, 0x5a, sizeof(buf));
	before = t_count_entries("/proc/self/fd");
	/* Two rounds: the thread starts again after a shutdown. */
	for (i = 0; i < 2; i++) {
		int k;

		for (k = 0; k < 5; k++) {
			T_ASSERT(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
			diskq_flush_behind(fd);
		}
		diskq_shutdown();
		T_EQ_INT(t_count_entries("/proc/self/fd"), before);
	}
	/* The caller's descriptor is its own: still open, the data all there. */
	T_EQ_INT((int)lseek(fd, 0, SEEK_END), (int)(10 * MIB));
	close(fd);
	t_rmtree(dir);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_order_update_limits_and_drain);
	T_RUN(test_flush_due_when_a_multiple_of_the_step_is_crossed);
	T_RUN(test_flush_closes_every_duplicate);
	return t_done();
}

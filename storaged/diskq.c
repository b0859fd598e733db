/*
 * diskq.c — storaged's waits for the disk on one thread (diskq.h): a ring
 * of job pointers, run in order; the loop only ever takes the lock for
 * a queue operation, never for a job's own work.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diskq.h"
#include "log.h"

#define DISKQ_MAX	8
#define DISKQ_FLUSH	(-1)	/* kind of diskq_flush_behind's jobs */

static struct {
	pthread_mutex_t	  mu;
	pthread_cond_t	  work, idle;
	pthread_t	  th;
	int		  started, failed, stop, busy;
	unsigned	  head, n;
	struct diskq_job *q[DISKQ_MAX];
} dq = { .mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,
    .idle = PTHREAD_COND_INITIALIZER };

static void *
diskq_main(void *arg)
{
	struct diskq_job *j;

	(void)arg;
	pthread_mutex_lock(&dq.mu);
	for (;;) {
		while (dq.n == 0 && !dq.stop)
			pthread_cond_wait(&dq.work, &dq.mu);
		if (dq.n == 0)
			break;
		j = dq.q[dq.head];
		dq.head = (dq.head + 1) % DISKQ_MAX;
		dq.n--;
		dq.busy = 1;
		pthread_mutex_unlock(&dq.mu);
		j->run(j);
		pthread_mutex_lock(&dq.mu);
		dq.busy = 0;
		pthread_cond_broadcast(&dq.idle);
	}
	pthread_mutex_unlock(&dq.mu);
	return NULL;
}

/* With the lock held. */
static int
diskq_start(void)
{
	int e;

	if (!dq.started && !dq.failed) {
		if ((e = pthread_create(&dq.th, NULL, diskq_main, NULL)) == 0)
			dq.started = 1;
		else {
			/* Said once: checkpoints then go on the loop, unsynced. */
			dq.failed = 1;
			log_warnx("no disk thread (%s): partial downloads are synced only "
			    "when closed, added files at the end only", strerror(e));
		}
	}
	return dq.started && !dq.stop;
}

int
diskq_available(void)
{
	int ok;

	pthread_mutex_lock(&dq.mu);
	ok = diskq_start();
	pthread_mutex_unlock(&dq.mu);
	return ok;
}

int
diskq_push(struct diskq_job *job, unsigned max_kind)
{
	unsigned i, same = 0;
	int rc = -1;

	pthread_mutex_lock(&dq.mu);
	for (i = 0; i < dq.n; i++)
		same += dq.q[(dq.head + i) % DISKQ_MAX]->kind == job->kind;
	if (diskq_start() && dq.n < DISKQ_MAX && (max_kind == 0 || same < max_kind)) {
		dq.q[(dq.head + dq.n) % DISKQ_MAX] = job;
		dq.n++;
		pthread_cond_signal(&dq.work);
		rc = 0;
	}
	pthread_mutex_unlock(&dq.mu);
	return rc;
}

int
diskq_update(int kind, int (*update)(struct diskq_job *newest, void *arg), void *arg)
{
	struct diskq_job *j;
	int rc = -1;

	pthread_mutex_lock(&dq.mu);
	/* The thread takes a job out of the ring before running it. */
	if (dq.n > 0 && (j = dq.q[(dq.head + dq.n - 1) % DISKQ_MAX])->kind == kind)
		rc = update(j, arg);
	pthread_mutex_unlock(&dq.mu);
	return rc;
}

void
diskq_drain(void)
{
	pthread_mutex_lock(&dq.mu);
	while (dq.n > 0 || dq.busy)
		pthread_cond_wait(&dq.idle, &dq.mu);
	pthread_mutex_unlock(&dq.mu);
}

void
diskq_shutdown(void)
{
	pthread_mutex_lock(&dq.mu);
	dq.stop = 1;
	pthread_cond_signal(&dq.work);
	pthread_mutex_unlock(&dq.mu);
	if (dq.started)
		pthread_join(dq.th, NULL);
	dq.started = 0;
	dq.stop = 0;
}

struct diskq_flush {
	struct diskq_job  job;
	int		  fd;
};

static void
diskq_flush_run(struct diskq_job *job)
{
	struct diskq_flush *f = (struct diskq_flush *)job;

	/* A failure here is the writer's final fsync's to report. */
	(void)fdatasync(f->fd);
	close(f->fd);
	free(f);
}

void
diskq_flush_behind(int fd)
{
	struct diskq_flush *f;

	if ((f = malloc(sizeof(*f))) == NULL)
		return;
	f->job.run = diskq_flush_run;
	f->job.kind = DISKQ_FLUSH;
	if ((f->fd = dup(fd)) == -1) {
		free(f);
		return;
	}
	if (diskq_push(&f->job, DISKQ_FLUSH_WAIT) != 0) {
		close(f->fd);
		free(f);
	}
}

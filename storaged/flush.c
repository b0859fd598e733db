/*
 * flush.c — fdatasync behind a writer (flush.h).  One thread, a queue of
 * two duplicated descriptors: a third request while two wait is dropped,
 * the writer's own fsync at the end covers it.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "flush.h"
#include "log.h"

#define FLUSH_Q		2

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;
	pthread_t	 th;
	int		 started, failed, stop;
	unsigned	 head, n;
	int		 q[FLUSH_Q];
} fl = { .mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER };

static void *
flush_run(void *arg)
{
	int fd;

	(void)arg;
	pthread_mutex_lock(&fl.mu);
	for (;;) {
		while (fl.n == 0 && !fl.stop)
			pthread_cond_wait(&fl.work, &fl.mu);
		if (fl.n == 0)
			break;
		fd = fl.q[fl.head];
		fl.head = (fl.head + 1) % FLUSH_Q;
		fl.n--;
		pthread_mutex_unlock(&fl.mu);
		/* A failure here is the final fsync's to report. */
		(void)fdatasync(fd);
		close(fd);
		pthread_mutex_lock(&fl.mu);
	}
	pthread_mutex_unlock(&fl.mu);
	return NULL;
}

void
flush_behind(int fd)
{
	int d, e;

	pthread_mutex_lock(&fl.mu);
	if (!fl.started && !fl.failed) {
		if ((e = pthread_create(&fl.th, NULL, flush_run, NULL)) == 0)
			fl.started = 1;
		else {
			fl.failed = 1;
			log_warnx("no flush thread (%s): large files are synced at the "
			    "end only", strerror(e));
		}
	}
	if (fl.started && !fl.stop && fl.n < FLUSH_Q && (d = dup(fd)) != -1) {
		fl.q[(fl.head + fl.n) % FLUSH_Q] = d;
		fl.n++;
		pthread_cond_signal(&fl.work);
	}
	pthread_mutex_unlock(&fl.mu);
}

void
flush_shutdown(void)
{
	pthread_mutex_lock(&fl.mu);
	fl.stop = 1;
	pthread_cond_signal(&fl.work);
	pthread_mutex_unlock(&fl.mu);
	if (fl.started)
		pthread_join(fl.th, NULL);
	fl.started = 0;
	fl.stop = 0;
}

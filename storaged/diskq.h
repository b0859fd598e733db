/*
 * diskq.h — storaged's waits for the disk, on one thread of their own.
 *
 * The loop must not wait for the disk: a rename or an fsync that meets a
 * journal commit blocked it 12-18 ms at a time, and every download and add
 * behind it.  Jobs queued here run one after another, in order, on one
 * thread started the first time: a download's checkpoints (serve_dl.c) and
 * the fdatasync behind a file being written (diskq_flush_behind).
 *
 * Why the flush: a virtual machine's disk caches what it is given, so an
 * fsync waits for all of it (300 MB: ~0.2 s here, whether the pages were
 * written back before or not, O_DIRECT included) — as long as hashing the
 * file took.  Syncing every DISKQ_FLUSH_EVERY bytes while the loop goes on
 * writing leaves the final fsync only the tail (a 300 MB write + hash +
 * fsync: 0.46 -> 0.28 s in a test program).  The final fsync stays the
 * writer's: a flush only moves work earlier, it promises nothing.
 */
#ifndef PEERNET_DISKQ_H
#define PEERNET_DISKQ_H

#include <stdint.h>

/* A job: run(job) on the thread, which then owns it (frees it). */
struct diskq_job {
	void	(*run)(struct diskq_job *job);
	int	  kind;		/* the caller's (>= 0; diskq's own are < 0): what
				 * diskq_update and limits match */
};

/* Whether the thread runs (started now if need be); 0 when it cannot. */
int	diskq_available(void);
/*
 * Queues job: 0; -1 when there is no thread, the queue is full, or
 * max_kind jobs of its kind (0: no limit) wait already (job not taken).
 */
int	diskq_push(struct diskq_job *job, unsigned max_kind);
/*
 * Calls update(newest, arg) on the newest waiting job (not begun) when it
 * is of this kind, under the queue's lock: its result (0: updated), or -1
 * when the newest is not of this kind or nothing waits.
 */
int	diskq_update(int kind, int (*update)(struct diskq_job *newest, void *arg),
	    void *arg);
/* Waits until every queued job has run (any kind: a download's drain
 * may wait for an add's flushes too, at most DISKQ_FLUSH_WAIT of them). */
void	diskq_drain(void);
/* Runs what is queued and ends the thread (storaged's exit; restartable). */
void	diskq_shutdown(void);

#define DISKQ_FLUSH_EVERY	(32ULL << 20)
#define DISKQ_FLUSH_WAIT	2	/* flushes waiting at most */

/* Whether a writer that has written `before` and now `after` bytes should
 * call diskq_flush_behind: it crossed a multiple of DISKQ_FLUSH_EVERY. */
static inline int
diskq_flush_due(uint64_t before, uint64_t after)
{
	return before / DISKQ_FLUSH_EVERY != after / DISKQ_FLUSH_EVERY;
}

/*
 * An fdatasync of fd (duplicated: the caller may close it) on the thread.
 * Nothing is done when two wait already or there is no thread: the
 * writer's fsync does it.
 */
void	diskq_flush_behind(int fd);

#endif /* PEERNET_DISKQ_H */

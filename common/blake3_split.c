/*
 * blake3_split.c — a file's BLAKE3 hash and its fragment leaves (docs/data.md
 * §4.2) from one read of its bytes: each byte after fragment 0 goes to two
 * hashers, the file's and its fragment's (their chunk counters differ, so
 * no leaf after the first can be read off the file's tree).
 *
 * The two passes are independent: with a helper thread started
 * (blake3_split_par_start, storaged) an update of SPLIT_PAR_MIN bytes or
 * more hashes the leaves on it while the caller hashes the file, so two
 * cores take about the time of one pass.  One helper per process, one
 * update at a time on it; any other update hashes both passes itself.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "blake3.h"

/*
 * Pieces handed to both hashers in turn: small enough that the second
 * finds the bytes in the cache, large enough that an update ending on a
 * chunk boundary (whose last chunk is kept back, and later compressed by
 * the portable code) is rare.
 */
#define SPLIT_PIECE	(256 * 1024)
/* Updates worth the hand-over to the helper (two wake-ups). */
#define SPLIT_PAR_MIN	(256 * 1024)

static struct {
	pthread_mutex_t	 use;		/* held by the update using the helper */
	pthread_mutex_t	 mu;		/* the job fields */
	pthread_cond_t	 cv;		/* job posted, job done */
	pthread_t	 th;
	atomic_int	 started;	/* read by updates without mu */
	int		 job;		/* 1: posted, not done yet */
	blake3_split_hasher *h;
	const uint8_t	*in;
	size_t		 len;
	blake3_leaf_fn	*fn;
	void		*arg;
} split_par = {
	.use = PTHREAD_MUTEX_INITIALIZER,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

int
blake3_split_init(blake3_split_hasher *h, uint64_t frag_len)
{
	if (frag_len == 0)
		return -1;
	blake3_hasher_init(&h->whole);
	blake3_hasher_init(&h->frag);
	h->frag_len = frag_len;
	h->frag_fill = 0;
	h->index = 0;
	return 0;
}

/*
 * Feeds in to the fragment hashers, and to the file's when whole (else the
 * caller hashes the file: past fragment 0 only), a piece at a time so the
 * second pass finds the bytes in the cache; each fragment's leaf goes to
 * fn as it completes (fragment 0's is the file hasher's state after it).
 */
static void
split_feed(blake3_split_hasher *h, const uint8_t *in, size_t len, int whole,
    blake3_leaf_fn *fn, void *arg)
{
	uint8_t leaf[BLAKE3_OUT_LEN];
	uint64_t take;

	while (len > 0) {
		take = h->frag_len - h->frag_fill;
		if (take > len)
			take = len;
		if (whole && take > SPLIT_PIECE)
			take = SPLIT_PIECE;
		if (whole)
			blake3_hasher_update(&h->whole, in, (size_t)take);
		if (h->index > 0)
			blake3_hasher_update(&h->frag, in, (size_t)take);
		in += take;
		len -= (size_t)take;
		h->frag_fill += take;
		if (h->frag_fill < h->frag_len)
			continue;
		if (h->index == 0)
			blake3_hasher_finalize(&h->whole, leaf, sizeof(leaf));
		else {
			blake3_hasher_finalize(&h->frag, leaf, sizeof(leaf));
			blake3_hasher_init(&h->frag);
		}
		if (fn != NULL)
			fn(arg, h->index, leaf);
		h->index++;
		h->frag_fill = 0;
	}
}

static void *
split_par_run(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&split_par.mu);
	for (;;) {
		while (!split_par.job)
			pthread_cond_wait(&split_par.cv, &split_par.mu);
		pthread_mutex_unlock(&split_par.mu);
		split_feed(split_par.h, split_par.in, split_par.len, 0, split_par.fn,
		    split_par.arg);
		pthread_mutex_lock(&split_par.mu);
		split_par.job = 0;
		pthread_cond_broadcast(&split_par.cv);
	}
	return NULL;
}

int
blake3_split_par_start(void)
{
	sigset_t all, old;
	int e;

	pthread_mutex_lock(&split_par.mu);
	if (!atomic_load(&split_par.started)) {
		/* The helper takes no signal: the daemon's loop handles them. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if ((e = pthread_create(&split_par.th, NULL, split_par_run, NULL)) == 0)
			atomic_store(&split_par.started, 1);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	e = atomic_load(&split_par.started) ? 0 : -1;
	pthread_mutex_unlock(&split_par.mu);
	return e;
}

/*
 * The leaves of in on the helper thread while this one hashes the file:
 * 0, or -1 when there is no helper or another update has it (the caller
 * then hashes both itself).
 */
static int
split_par_update(blake3_split_hasher *h, const uint8_t *in, size_t len, blake3_leaf_fn *fn,
    void *arg)
{
	if (!atomic_load(&split_par.started) || pthread_mutex_trylock(&split_par.use) != 0)
		return -1;
	pthread_mutex_lock(&split_par.mu);
	split_par.h = h;
	split_par.in = in;
	split_par.len = len;
	split_par.fn = fn;
	split_par.arg = arg;
	split_par.job = 1;
	pthread_cond_broadcast(&split_par.cv);
	pthread_mutex_unlock(&split_par.mu);
	blake3_hasher_update(&h->whole, in, len);
	pthread_mutex_lock(&split_par.mu);
	while (split_par.job)
		pthread_cond_wait(&split_par.cv, &split_par.mu);
	pthread_mutex_unlock(&split_par.mu);
	pthread_mutex_unlock(&split_par.use);
	return 0;
}

void
blake3_split_update(blake3_split_hasher *h, const void *input, size_t len,
    blake3_leaf_fn *fn, void *arg)
{
	/* Past fragment 0 the two passes are independent. */
	if (h->index > 0 && len >= SPLIT_PAR_MIN && split_par_update(h, input, len, fn, arg) == 0)
		return;
	split_feed(h, input, len, 1, fn, arg);
}

void
blake3_split_final(blake3_split_hasher *h, uint8_t out[BLAKE3_OUT_LEN],
    blake3_leaf_fn *fn, void *arg)
{
	uint8_t leaf[BLAKE3_OUT_LEN];

	blake3_hasher_finalize(&h->whole, out, BLAKE3_OUT_LEN);
	if (h->frag_fill == 0)
		return;
	if (h->index == 0)
		memcpy(leaf, out, sizeof(leaf));
	else
		blake3_hasher_finalize(&h->frag, leaf, sizeof(leaf));
	if (fn != NULL)
		fn(arg, h->index, leaf);
	/* Reported: a second final gives the file hash only. */
	h->frag_fill = 0;
	h->index++;
}

/*
 * job.h — search jobs (docs/data.md §6.7): a job has a random 16-byte ID, runs
 * the local query (index.h) at start, keeps its results merged by content
 * hash with the list of owners sharing that content, and serves them in
 * pages with the reference's semantics: three lists, *all* results (grows
 * only; statistics), the *queue* (filtered, sorted lazily, not delivered
 * yet) and the *frozen* list (delivered; its order never changes again).
 *
 * Only hits whose owner is this node or a peer the is_connected callback
 * accepts are kept (reference behaviour, Appendix B.4: files of offline
 * owners are useless because nobody can serve them).  A content whose
 * every owner is offline is dropped; a content shared by several owners
 * lists only the ones kept.
 *
 * Differences from the reference, on purpose (Appendix B.3):
 *  - the filters given at start are applied to the queue at once, not only
 *    after a "reset";
 *  - max_results is enforced (default 200, at most JOB_MAX_RESULTS);
 *  - results are merged by content hash across owners (the reference keeps
 *    one per hash *and* owner), so SharedByCount is the number of owners;
 *  - jobs are capped (JOB_MAX_JOBS live at once) and so is each job's
 *    memory (JOB_MAX_BYTES of result text).
 *
 * Remote results later: a future remote search step (through netd) adds
 * its hits with job_add_hit() while the job is live, exactly as the local
 * query does; start the job with `remote = 1` so it stays live until
 * job_finish() or the timeout.  Nothing else changes: the hit goes through
 * the same owner check, dedup, filter and lazy sort, and fetches already
 * delivered (frozen) keep their order.
 *
 * The table has no thread and no timer: the daemon's loop calls
 * job_table_tick() (e.g. once a second) to end and delete jobs; time comes
 * from a clock callback so tests can move it.
 */
#ifndef PEERNET_SEARCHD_JOB_H
#define PEERNET_SEARCHD_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "index.h"

#define JOB_ID_LEN		16
#define JOB_MAX_JOBS		32	/* live + lingering jobs per table */
#define JOB_MAX_RESULTS		10000	/* merged results per job */
#define JOB_DEFAULT_RESULTS	200	/* max_results <= 0 (reference) */
#define JOB_MAX_SHARERS		64	/* owners listed per result (count goes on) */
#define JOB_MAX_BYTES		(8u << 20)	/* name/folder/desc bytes per job */
#define JOB_DEFAULT_TIMEOUT_MS	20000	/* timeout <= 0 (reference) */
#define JOB_LINGER_MS		(10 * 60 * 1000)	/* kept after the timeout */

enum job_err {
	JOB_OK		=   0,
	JOB_E_ARG	= -20,	/* bad parameter */
	JOB_E_NOMEM	= -21,
	JOB_E_TOOMANY	= -22,	/* JOB_MAX_JOBS reached */
	JOB_E_NOTFOUND	= -23,	/* unknown job ID */
	JOB_E_ENDED	= -24,	/* job_add_hit on a terminated job */
	JOB_E_FULL	= -25,	/* max results or memory reached: dropped */
	JOB_E_INDEX	= -26	/* the local query failed (idx error kept) */
};

enum job_state {
	JOB_LIVE	= 0,	/* results may still arrive */
	JOB_TERMINATED	= 1	/* done: timeout, finish or stop */
};

/* Status of a fetch, as the reference's /search/result reports it. */
enum job_fetch_status {
	JOB_FETCH_MORE		= 0,	/* results returned, more may come */
	JOB_FETCH_DONE		= 1,	/* nothing more will come */
	JOB_FETCH_WAIT		= 3	/* nothing yet, job still live */
};

/* One merged result.  Strings are owned by the job (not NUL-terminated). */
struct job_result {
	struct idx_file	 file;		/* first owner's record */
	uint8_t		 node_id[IDX_NODE_ID_LEN];	/* of file.owner */
	int		 exact;
	unsigned	 matched;
	int		 local;		/* one sharer is this node */
	size_t		 shared_by;	/* owners sharing (SharedByCount) */
	size_t		 nsharers;	/* listed: min(shared_by, MAX) */
	struct idx_sharer sharers[JOB_MAX_SHARERS];
	uint64_t	 seq;		/* arrival order */
};

struct job_params {
	const char	*term;
	size_t		 term_len;
	int64_t		 timeout_ms;	/* <= 0: JOB_DEFAULT_TIMEOUT_MS */
	int64_t		 max_results;	/* <= 0: JOB_DEFAULT_RESULTS */
	struct idx_filter filter;	/* idx_filter_none() for none */
	int		 sort;		/* enum idx_sort */
	int		 remote;	/* stay live for remote results */
	/* Called once per new result (streaming); may be NULL. */
	void		(*on_result)(const uint8_t id[JOB_ID_LEN],
			    const struct job_result *r, void *arg);
	void		*on_result_arg;
};

struct job_stats {
	uint64_t	scanned;	/* index postings read */
	uint64_t	hits;		/* rows offered to the job */
	uint64_t	results;	/* merged results kept (all list) */
	uint64_t	dropped_offline;	/* owner not this node, not connected */
	uint64_t	merged;		/* hits merged into an existing result */
	uint64_t	dropped_full;	/* max results / memory reached */
	uint64_t	elapsed_us;	/* local query time */
	uint64_t	age_ms;		/* since start */
	int		state;		/* enum job_state */
	int		truncated;	/* the index query was truncated */
	uint64_t	by_type[IDX_TYPE_COUNT + 1];	/* last = other */
	uint64_t	by_format[IDX_FORMAT_COUNT + 1];
};

/* Results per day (date shared truncated to 00:00 UTC). */
struct job_day {
	int64_t		day;		/* Unix seconds of 00:00 UTC; 0 = no date */
	uint64_t	count;
};

struct job_table_cfg {
	struct idx	*idx;
	uint8_t		 self[IDX_OWNER_LEN];	/* this node's key: always kept */
	/* Non-zero when the owner is a peer with an active connection. */
	int		(*is_connected)(const uint8_t owner[IDX_OWNER_LEN],
			    void *arg);
	void		*conn_arg;
	/* Monotonic milliseconds; NULL = CLOCK_MONOTONIC. */
	uint64_t	(*now_ms)(void *arg);
	void		*clock_arg;
};

struct job_table;
struct job;

int	job_table_new(struct job_table **out, const struct job_table_cfg *cfg);
/*
 * Both can change under a live table: searchd swaps in a rebuilt index
 * (jobs keep their copied results), and learns its own key from netd
 * after start-up.
 */
void	job_table_set_index(struct job_table *t, struct idx *idx);
void	job_table_set_self(struct job_table *t, const uint8_t self[IDX_OWNER_LEN]);
void	job_table_free(struct job_table *t);
/* Ends timed-out jobs and deletes jobs past timeout + JOB_LINGER_MS. */
void	job_table_tick(struct job_table *t);
size_t	job_table_count(const struct job_table *t);

/*
 * Creates a job, runs the local query and returns its ID.  Errors: ARG
 * (bad sort, NULL term with length), TOOMANY, NOMEM, INDEX.  An empty or
 * too short term makes a job with no results (as the reference).
 */
int	job_start(struct job_table *t, const struct job_params *p,
	    uint8_t id[JOB_ID_LEN]);
struct job *job_find(struct job_table *t, const uint8_t id[JOB_ID_LEN]);
/* Terminates and deletes the job now. */
int	job_stop(struct job_table *t, const uint8_t id[JOB_ID_LEN]);

/*
 * Offers one more hit (remote step, or the local query).  The owner check
 * applies to each sharer of the hit.  0 when kept or merged, JOB_E_ENDED,
 * JOB_E_FULL, or 1 when dropped as offline.
 */
int	job_add_hit(struct job *j, const struct idx_hit *hit);
/* The remote step is done: the job terminates. */
void	job_finish(struct job *j);

/*
 * Returns up to max results starting at `offset` over frozen + queue
 * (offset < 0: continue after the job's cursor, which then advances).
 * out[] (room for max pointers) receives pointers valid until the job
 * is deleted.
 * *status is an enum job_fetch_status.
 */
int	job_fetch(struct job *j, long offset, size_t max,
	    const struct job_result **out, size_t *n, int *status);
/*
 * Replaces the runtime filter and sort, clears the frozen list and the
 * cursor, and rebuilds the queue from all results (reference reset=1).
 */
int	job_set_filter(struct job *j, const struct idx_filter *f, int sort);

void	job_get_stats(struct job *j, struct job_stats *st);
/* Per-day counts over all results, ascending; returns how many days exist. */
size_t	job_stat_days(struct job *j, struct job_day *out, size_t max);
int	job_state(struct job *j);
void	job_id(const struct job *j, uint8_t id[JOB_ID_LEN]);
/* The index error of a JOB_E_INDEX start, for logs. */
int	job_table_last_idx_error(const struct job_table *t);

const char *job_strerror(int err);

#endif

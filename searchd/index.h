/*
 * index.h — searchd's keyword index: one SQLite database (WAL) holding
 * the file records the node can search (its own chain and the chains it
 * cached from peers), their keywords, and the query engine over them
 * (docs/data.md §6.1-6.5).  No IPC here: the daemon feeds it from storaged's
 * events and answers peernetctl through job.h.
 *
 * Matching is the reference's, hash for hash: the keywords of a record and
 * of a query come from common/keywords.h (kw_index_file, kw_query_parse),
 * and a query finds a record when one of its keyword hashes equals one of
 * the record's (exact keyword first, then the other keywords unless the
 * query was quoted).  No stemming, prefixes or fuzzy matching.
 *
 * Why plain tables and not FTS5 (measured in one run on this machine, 2
 * cores shared with other builds; 300,000 generated records, 6.8 keywords
 * per record, the same rows in each variant; 1,000 lookups of one
 * vocabulary word, 165 hits each):
 *
 *   keyword postings stored as            ingest rec/s  lookup ms  DB MB
 *   table (int64 hash prefix, file row)   52,000        0.040      181
 *   table (32-byte hash blob, file row)   12,200        0.093      282
 *   FTS5, hash prefixes as base32 tokens  35,600        0.059      123
 *
 * FTS5's own tokeniser cannot be used at all: it splits and folds text by
 * its own rules ("PDFLoader" is one token, "über" is folded by the
 * unicode61 tokeniser's diacritic removal), so it would find what the
 * reference does not and miss what it finds.  Feeding FTS5 our keyword
 * hashes as tokens keeps the semantics but costs a text encoding of every
 * hash and the lookups were slower; a WITHOUT ROWID table keyed by the
 * first 8 bytes of the keyword hash (as a signed 64-bit integer) plus the
 * file row is the smallest and fastest.
 *
 * 64-bit keys: two different keywords share a key with probability 2^-64;
 * with 10^8 distinct keywords in an index, a query keyword falsely matches
 * with probability < 10^-11, and an attacker who wants his file found under
 * a popular word needs a 64-bit second preimage of BLAKE3 (2^64 work).
 *
 * Ingest is batched: idx_begin() opens a transaction, idx_add_file() stores
 * the row (with its keyword keys, column kws) and buffers its postings.
 * Postings of rows added since the last merge are the delta: sorted runs
 * in memory only, never written as postings, and rebuilt from the rows'
 * kws when the index is opened or a transaction rolls back, so a crash
 * loses nothing that the WAL committed.  Once the delta holds
 * IDX_DELTA_MAX postings it is merged into the main table in key order
 * (one INSERT ... SELECT from a virtual table over the runs) and the merge
 * mark (largest merged row id) is raised in the same transaction; lookups
 * read the main table, then the delta (the same virtual table joined with
 * the rows).  Writing straight into the main table made every commit dirty
 * nearly all of its leaf pages (keyword keys are random): 11,300 rec/s at
 * 1,000,000 records; a delta table in SQLite (posting_new) cost every
 * posting two B-tree inserts: 33,400 rec/s.
 *
 * Rows are per (owner, file ID): unlike the reference, whose keyword lists
 * hold a file ID once across all owners (§6.1), two owners sharing a
 * record with the same file ID are two rows, and re-adding the same
 * (owner, file ID) replaces the row (new version / block / metadata).
 * Query results can be merged by content hash (IDX_Q_DEDUP) with the list
 * of owners ("sharers") of that content.
 *
 * The database is opened with locking_mode=EXCLUSIVE (searchd is its only
 * user), and each query runs in one read transaction.
 *
 * Queries: each keyword's postings are read (main table, then delta);
 * the filter/sort/merge columns of each candidate row (owner, hash, size,
 * type, format, date) come from a row cache in memory (index.c, struct
 * rmeta: 56 bytes per row, ~56 MB at 1,000,000 rows), kept up to date by
 * every add and removal, dropped by a rollback and (re)built by one scan
 * of the file table at the next query.  Only the results delivered read
 * their rows (texts, file ID, version, block; sharers' IDs).  The name
 * sorts need every candidate's name and read the rows joined with the
 * postings in one statement, as every query did before the cache
 * (IDX_Q_ROWS forces that path; the results are the same).
 *
 * Measured with bench/bench_search (1,000,000 records, 6.8 postings each,
 * 2 cores shared with other builds): ingest with the SQLite delta table
 * 30,800-41,900 rec/s (3 runs), with the in-memory delta 66,900-76,800
 * rec/s (3 runs); CPU time of the ingest under the same load 23.2 s ->
 * 13.0 s (keyword derivation ~3.4 s and row inserts ~4.4 s of it; the
 * rest is merges and commits).  Queries of 1-3 vocabulary words touching
 * ~1,100 rows each: p50 2.4-3.2 ms both ways; p99 3.8-11 ms, set by the
 * machine's load more than by the code (3.9-16 ms before), most of a
 * query being random row lookups in the file table (sqlite3 B-tree
 * descents: ~50% of the query profile).  The row cache removed those
 * lookups: 3 runs each, same load, p50 2.5-4.3 -> 0.8-1.3 ms, p99
 * 5.0-6.9 -> 1.5-2.1 ms, ingest unchanged (50-74k rec/s both).  The
 * first query after idx_open builds the cache: ~0.3 s at 1,000,000 rows.
 *
 * Not thread-safe: one struct idx per thread (searchd has one loop).
 */
#ifndef PEERNET_SEARCHD_INDEX_H
#define PEERNET_SEARCHD_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define IDX_OWNER_LEN	33	/* compressed secp256k1 public key */
#define IDX_FILE_ID_LEN	16	/* UUID of the file record */
#define IDX_HASH_LEN	32	/* blake3 of the content */
#define IDX_NODE_ID_LEN	32	/* blake3 of the owner key */
/*
 * Most rows one query looks at (after the keyword union, before filters).
 * The reference has no limit; a query over a common word in a large index
 * stops here and reports truncated = 1 (results are then a subset).
 */
#define IDX_MAX_CANDIDATES	200000
/* Name bytes compared by the name sort (longer names tie on this prefix). */
#define IDX_SORT_NAME_PREFIX	128
/* Postings buffered before they are sorted and written (idx_begin). */
#define IDX_POST_BUF	(1 << 18)
/*
 * Postings kept in the delta (memory: 16 bytes each, twice that while
 * two runs merge) before a merge into the main table.  Fewer merges
 * rewrite the main table fewer times; 2^20 = 16 MiB.
 */
#define IDX_DELTA_MAX	(1 << 20)

/* File types (docs/data.md §3.2) and formats (§3.3) used by filters. */
#define IDX_TYPE_COUNT		11	/* 0..10 */
#define IDX_FORMAT_COUNT	22	/* 0..21 */

enum idx_err {
	IDX_OK		=   0,
	IDX_E_ARG	=  -1,	/* NULL pointer, bad length or bad option */
	IDX_E_DB	=  -2,	/* SQLite error (idx_errmsg() has the text) */
	IDX_E_NOMEM	=  -3,
	IDX_E_TOOLONG	=  -4,	/* name, folder, description or term > 64 KiB */
	IDX_E_NOTFOUND	=  -5,	/* remove: no such row */
	IDX_E_SCHEMA	=  -6,	/* database written by an incompatible version */
	IDX_E_STATE	=  -7	/* begin inside a batch, commit outside one */
};

/* One file record as the index sees it (docs/data.md §3.1). */
struct idx_file {
	uint8_t		 owner[IDX_OWNER_LEN];
	uint8_t		 file_id[IDX_FILE_ID_LEN];
	uint8_t		 hash[IDX_HASH_LEN];
	uint64_t	 size;
	uint8_t		 type;
	uint16_t	 format;
	int64_t		 date;		/* date shared, Unix seconds; 0 = none */
	const char	*name;		/* any bytes (not NUL-terminated) */
	size_t		 name_len;
	const char	*folder;
	size_t		 folder_len;
	const char	*desc;
	size_t		 desc_len;
	uint64_t	 version;	/* blockchain version */
	uint64_t	 block;		/* block number holding the record */
};

/*
 * Result filters (reference SearchFilter + §6.7).  -1 = unused for the
 * integers; the date range applies only when date_from < date_to (both
 * inclusive; rows without a date are then excluded).  idx_filter_none()
 * makes a filter that keeps everything.
 */
struct idx_filter {
	int		 type;		/* file type, or -1 */
	int		 format;	/* file format, or -1 */
	int64_t		 date_from;	/* Unix seconds */
	int64_t		 date_to;
	int64_t		 size_min;	/* or -1 */
	int64_t		 size_max;	/* or -1 */
	int		 has_node;
	uint8_t		 node_id[IDX_NODE_ID_LEN];	/* blake3(owner) */
};

/*
 * Sort orders: the codes of the reference's web API (§6.7).  Relevance is
 * what the reference computes: its relevance sorts are placeholders that
 * sort by date, so 1/2 equal 3/4.  IDX_SORT_MATCH is ours: rows found by
 * the exact keyword first, then by more keywords, then newer first.
 * Every sort is stable over the arrival order (exact-keyword hits first,
 * then per keyword in keyword text order, each by insertion order).
 */
enum idx_sort {
	IDX_SORT_NONE		= 0,
	IDX_SORT_RELEVANCE_ASC	= 1,
	IDX_SORT_RELEVANCE_DESC	= 2,
	IDX_SORT_DATE_ASC	= 3,
	IDX_SORT_DATE_DESC	= 4,
	IDX_SORT_NAME_ASC	= 5,	/* bytewise, folder ignored */
	IDX_SORT_NAME_DESC	= 6,
	IDX_SORT_SIZE_ASC	= 7,
	IDX_SORT_SIZE_DESC	= 8,
	IDX_SORT_SHARED_ASC	= 9,	/* number of sharers */
	IDX_SORT_SHARED_DESC	= 10,
	IDX_SORT_MATCH		= 11,
	IDX_SORT_COUNT
};

/* Query options (flags). */
#define IDX_Q_DEDUP	0x1	/* one result per content hash, with sharers */
/*
 * Read every candidate's row from the file table instead of the row
 * cache (index.c, struct rmeta): the same results, slower; the tests
 * compare the two paths.
 */
#define IDX_Q_ROWS	0x2

/* Returns non-zero to keep rows of this owner (e.g. "is connected"). */
typedef int	(*idx_owner_fn)(const uint8_t owner[IDX_OWNER_LEN], void *arg);

struct idx_query {
	const char	*term;		/* the user's search term, any bytes */
	size_t		 term_len;
	struct idx_filter filter;
	int		 sort;		/* enum idx_sort */
	size_t		 offset;	/* results skipped (after sort) */
	size_t		 limit;		/* 0 = all */
	unsigned	 flags;		/* IDX_Q_* */
	idx_owner_fn	 owner_ok;	/* NULL = every owner kept */
	void		*owner_arg;
	uint64_t	 timeout_ms;	/* 0 = none; scanning stops at it */
};

/* An owner that shares a result's content (IDX_Q_DEDUP). */
struct idx_sharer {
	uint8_t		 owner[IDX_OWNER_LEN];
	uint8_t		 file_id[IDX_FILE_ID_LEN];
	uint64_t	 version;
	uint64_t	 block;
};

/*
 * One result.  `file` is the first row (in arrival order) of the content;
 * its strings and `sharers` live until the callback returns.  Without
 * IDX_Q_DEDUP every row is its own result with one sharer.
 */
struct idx_hit {
	const struct idx_file	*file;
	uint8_t			 node_id[IDX_NODE_ID_LEN];
	int			 exact;		/* found by the exact keyword */
	unsigned		 matched;	/* keywords that found it */
	size_t			 nsharers;
	const struct idx_sharer	*sharers;
	size_t			 position;	/* index in the sorted list */
};

/* Returns 0 to go on, non-zero to stop (idx_query then returns 0). */
typedef int	(*idx_hit_fn)(const struct idx_hit *hit, void *arg);

struct idx_query_stats {
	uint64_t	scanned;	/* posting rows read */
	uint64_t	candidates;	/* distinct rows after the union */
	uint64_t	dropped_owner;	/* rows of owners owner_ok refused */
	uint64_t	filtered;	/* rows the filter removed */
	uint64_t	merged;		/* rows merged into another (dedup) */
	uint64_t	results;	/* results before offset/limit */
	uint64_t	delivered;	/* results passed to the callback */
	uint64_t	elapsed_us;
	int		truncated;	/* IDX_MAX_CANDIDATES reached */
	int		timed_out;	/* timeout_ms reached while scanning */
	int		exact_mode;	/* the term was quoted */
};

struct idx_counts {
	uint64_t	files;
	uint64_t	postings;	/* main + delta */
	uint64_t	delta;		/* not merged yet */
	uint64_t	owners;
};

struct idx;

/* Opens (creating if needed) the index database at path (":memory:" ok). */
int	idx_open(struct idx **out, const char *path);
void	idx_close(struct idx *idx);
const char *idx_errmsg(const struct idx *idx);

/*
 * Batches: between idx_begin and idx_commit every change is one
 * transaction; idx_rollback drops it.  Outside a batch each call is its
 * own transaction.
 */
int	idx_begin(struct idx *idx);
int	idx_commit(struct idx *idx);
void	idx_rollback(struct idx *idx);

/*
 * Adds a file record (or replaces the row with the same owner and file
 * ID).  A record whose keyword set was truncated at KW_MAX_KEYWORDS is
 * indexed under the keywords kept.
 */
int	idx_add_file(struct idx *idx, const struct idx_file *f);
int	idx_add_many(struct idx *idx, const struct idx_file *f, size_t n);
int	idx_remove_file(struct idx *idx, const uint8_t owner[IDX_OWNER_LEN],
	    const uint8_t file_id[IDX_FILE_ID_LEN]);
/* Removes every row of one chain; *removed (may be NULL) gets the count. */
int	idx_remove_owner(struct idx *idx, const uint8_t owner[IDX_OWNER_LEN],
	    uint64_t *removed);
/* Empties the index (before a full re-index). */
int	idx_clear(struct idx *idx);
int	idx_count(struct idx *idx, struct idx_counts *c);
/*
 * Merges the delta postings into the main table now (normally done at a
 * commit once IDX_DELTA_MAX postings are waiting), e.g. after a re-index
 * or when the daemon is idle.
 */
int	idx_compact(struct idx *idx);

void	idx_filter_none(struct idx_filter *f);
/* Whether f keeps the row (type, format, date, size, node). */
int	idx_filter_match(const struct idx_filter *flt, const struct idx_file *f,
	    const uint8_t node_id[IDX_NODE_ID_LEN]);
/* blake3(owner): the node ID of the chain's owner. */
void	idx_node_id(const uint8_t owner[IDX_OWNER_LEN],
	    uint8_t node_id[IDX_NODE_ID_LEN]);

/*
 * Runs a query: keyword lookups, union, owner check, filter, optional
 * merge by content hash, sort, then offset/limit; calls cb per result in
 * order.  An empty or too short term gives no results and returns 0.
 * `st` may be NULL.
 */
int	idx_query(struct idx *idx, const struct idx_query *q, idx_hit_fn cb,
	    void *arg, struct idx_query_stats *st);

/*
 * The owners of a content hash (who can serve `get HASH`), found through
 * each row's content posting (index.c): what one record of it says (size,
 * name) and which chains hold a record with it, self apart.
 */
#define IDX_HASH_NAME_MAX	1024	/* name bytes returned (IPC_STR_MAX) */

struct idx_hash_owners {
	int		 found;		/* some row (self's too) has the hash */
	int		 local;		/* a row of `self` has it */
	uint64_t	 total;		/* other owners, counted up to
					   IDX_MAX_CANDIDATES */
	size_t		 n;		/* owners written (<= max) */
	uint64_t	 size;		/* of the oldest row with the hash */
	char		 name[IDX_HASH_NAME_MAX + 1];	/* its name, cut, NUL-ended */
};

/*
 * Fills out and owners[0..max) with the owners other than self (NULL: no
 * self) of rows whose content hash is `hash`, each once, in the order
 * they were first indexed.  0 rows is not an error (found = 0).
 */
int	idx_hash_owners(struct idx *idx, const uint8_t hash[IDX_HASH_LEN],
	    const uint8_t *self, uint8_t (*owners)[IDX_OWNER_LEN], size_t max,
	    struct idx_hash_owners *out);

const char *idx_strerror(int err);

#endif

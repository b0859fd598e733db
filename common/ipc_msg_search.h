/*
 * ipc_msg_search.h — the search area of the IPC catalogue (types
 * IPC_SEARCH_*, IPC_REINDEX, IPC_FILES_ALL in ipc_msg.h): structs and codecs.
 *
 *	IPC_SEARCH_START  ctl -> searchd   ipc_search_req -> ipc_search_id
 *	IPC_SEARCH_FETCH  ctl -> searchd   ipc_search_fetch -> ipc_search_page
 *	IPC_SEARCH_STOP   ctl -> searchd   ipc_search_id -> empty
 *	IPC_REINDEX       ctl -> searchd   empty -> empty (the rebuild runs on)
 *	IPC_FILES_ALL     searchd -> storaged  ipc_files_req -> ipc_files_page
 *	                  (a page of the file stream from a cursor)
 *	IPC_SHARERS       ctl -> searchd   ipc_sharers_req -> ipc_sharers
 *	                  (the owners whose records carry a content hash)
 *
 * Bounds are chosen so that the largest page of each kind fits one IPC
 * message (checked at compile time in ipc_msg_search.c): a reply is never
 * cut short after the sender has committed to its contents.
 */
#ifndef PEERNET_IPC_MSG_SEARCH_H
#define PEERNET_IPC_MSG_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "ipc_msg_decl.h"

#define IPC_SEARCH_TERM_MAX	IPC_STR_MAX	/* bytes of a search term */
#define IPC_SEARCH_TYPE_ANY	0xff
#define IPC_SEARCH_TYPE_MAX	10		/* docs/data.md §3.2 */
#define IPC_SEARCH_FORMAT_ANY	0xffff
#define IPC_SEARCH_FORMAT_MAX	21		/* docs/data.md §3.3 */
#define IPC_SEARCH_SORT_MAX	11		/* enum idx_sort of searchd/index.h */
#define IPC_SEARCH_RESULTS_MAX	10000		/* results kept per job */
#define IPC_SEARCH_TIMEOUT_MAX	600000		/* ms a job stays live */
#define IPC_SEARCH_FETCH_MAX	200		/* results per fetch */
#define IPC_SEARCH_SHARERS_MAX	16		/* owners listed per result */
#define IPC_FILES_PAGE_MAX	4096		/* files per IPC_FILES_ALL page */
#define IPC_SHARERS_MAX		64		/* owners per IPC_SHARERS reply */

/* Fetch status (the reference's /search/result codes, docs/data.md §6.7). */
enum ipc_search_status {
	IPC_SEARCH_MORE = 0,	/* results returned, more may come */
	IPC_SEARCH_DONE = 1,	/* nothing more will come */
	IPC_SEARCH_WAIT = 3	/* nothing yet, the job is still live */
};

/* IPC_SEARCH_START: a query with its filters. */
struct ipc_search_req {
	char		term[IPC_SEARCH_TERM_MAX + 1];
	uint8_t		type;		/* IPC_SEARCH_TYPE_ANY or 0..10 */
	uint16_t	format;		/* IPC_SEARCH_FORMAT_ANY or 0..21 */
	int64_t		date_from;	/* Unix seconds, inclusive; the range */
	int64_t		date_to;	/* applies only when from < to */
	int64_t		size_min;	/* -1: unused */
	int64_t		size_max;	/* -1: unused */
	uint8_t		has_node;	/* only files of this owner node ID */
	uint8_t		node_id[32];
	uint8_t		sort;		/* 0..IPC_SEARCH_SORT_MAX */
	uint32_t	limit;		/* most results; 0: searchd's default */
	uint32_t	timeout_ms;	/* job lifetime; 0: searchd's default */
};

/* A job ID: IPC_SEARCH_START reply, IPC_SEARCH_STOP request. */
struct ipc_search_id {
	uint8_t		id[16];
};

struct ipc_search_fetch {
	uint8_t		id[16];
	int32_t		offset;		/* -1: after the job's cursor */
	uint32_t	max;		/* 1..IPC_SEARCH_FETCH_MAX */
};

/* One result: a file, how many owners share its content, which ones. */
struct ipc_search_hit {
	struct ipc_file	file;		/* first owner's record */
	uint8_t		local;		/* this node shares it */
	uint32_t	shared_by;	/* owners (may exceed nsharers) */
	uint8_t		nsharers;	/* 0..IPC_SEARCH_SHARERS_MAX */
	uint8_t		sharers[IPC_SEARCH_SHARERS_MAX][33];
};

/* Reply header of IPC_SEARCH_FETCH; the hits follow (iterate with _next). */
struct ipc_search_page {
	uint8_t		status;		/* enum ipc_search_status */
	uint8_t		truncated;	/* the index query stopped early */
	uint64_t	scanned;	/* index postings read */
	uint64_t	results;	/* results the job holds */
	uint64_t	dropped_offline;	/* owner neither us nor connected */
	uint64_t	elapsed_ms;	/* since the job started */
	uint32_t	count;		/* hits in this page */
	/* iterator */
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
};

/*
 * A position in storaged's file stream: the own chain's file records by
 * (block, record index), then the cache's by (owner, block, record
 * index), then the end.  A cursor names the first record a page starts
 * at (whether or not that record still exists): records added or removed
 * elsewhere in the stream between two pages do not shift it, unlike an
 * offset.  The start is all zeros.
 */
enum ipc_files_phase {
	IPC_FILES_OWN = 0,
	IPC_FILES_CACHE = 1,
	IPC_FILES_END = 2
};

struct ipc_files_cursor {
	uint8_t		phase;		/* enum ipc_files_phase */
	uint8_t		owner[33];	/* IPC_FILES_CACHE; else zero */
	uint64_t	block;		/* zero at IPC_FILES_END */
	uint32_t	record;
};

/* IPC_FILES_ALL request: at most `limit` records from `from` on. */
struct ipc_files_req {
	struct ipc_files_cursor from;
	uint32_t	limit;		/* 1..IPC_FILES_PAGE_MAX */
};

/*
 * IPC_FILES_ALL reply: the records from `from` (echoed) up to `next`, the
 * cursor of the following page (after `from`, unless done); done = 1 on
 * the last page.  The files follow (iterate with _next).
 */
struct ipc_files_page {
	struct ipc_files_cursor from;
	struct ipc_files_cursor next;
	uint8_t		done;
	uint32_t	count;
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
};

/* IPC_SHARERS request: who shares this content? */
struct ipc_sharers_req {
	uint8_t		hash[32];
};

/* An owner of a record with the hash: node ID = blake3(public key). */
struct ipc_sharer {
	uint8_t		pubkey[33];
	uint8_t		node_id[32];
};

/*
 * IPC_SHARERS reply: the owners other than this node (oldest record
 * first), at most IPC_SHARERS_MAX of `total`; whether this node's own
 * chain holds the hash; the size and name of one record (both empty when
 * nobody is known to share it).
 */
struct ipc_sharers {
	uint8_t		hash[32];	/* echoed */
	uint8_t		local;		/* the own chain has a record of it */
	uint32_t	total;		/* other owners (may exceed count) */
	uint64_t	size;
	char		name[IPC_STR_MAX + 1];
	uint8_t		count;		/* 0..IPC_SHARERS_MAX */
	struct ipc_sharer sharers[IPC_SHARERS_MAX];
};

IPC_CODEC_DECL(search_req, struct ipc_search_req);
/* type: IPC_SEARCH_START (reply) or IPC_SEARCH_STOP (request). */
long	ipc_search_id_encode(uint8_t *out, size_t cap, uint16_t type,
	    const struct ipc_search_id *id);
int	ipc_search_id_decode(const uint8_t *p, size_t len, uint16_t type,
	    struct ipc_search_id *id);
IPC_CODEC_DECL(search_fetch, struct ipc_search_fetch);

/*
 * A fetch reply is built in place: _begin writes the header with count 0,
 * _add appends one hit (and bumps the count; -1 if it does not fit).
 * The decoder validates every hit; _next then cannot fail.
 */
long	ipc_search_page_begin(uint8_t *out, size_t cap, const struct ipc_search_page *pg);
int	ipc_search_page_add(uint8_t *out, size_t cap, size_t *off,
	    const struct ipc_search_hit *h);
int	ipc_search_page_decode(const uint8_t *p, size_t len, struct ipc_search_page *pg);
/* 1 and the next hit, 0 at the end, or a negative decode error. */
int	ipc_search_page_next(struct ipc_search_page *pg, struct ipc_search_hit *h);

IPC_CODEC_DECL(files_req, struct ipc_files_req);
/* Stream order: < 0, 0 or > 0 as a is before, at or after b. */
int	ipc_files_cursor_cmp(const struct ipc_files_cursor *a,
	    const struct ipc_files_cursor *b);
long	ipc_files_page_begin(uint8_t *out, size_t cap,
	    const struct ipc_files_cursor *from);
int	ipc_files_page_add(uint8_t *out, size_t cap, size_t *off, const struct ipc_file *f);
/* Sets next and done once the page is complete. */
void	ipc_files_page_end(uint8_t *out, const struct ipc_files_cursor *next,
	    int done);
int	ipc_files_page_decode(const uint8_t *p, size_t len, struct ipc_files_page *pg);
int	ipc_files_page_next(struct ipc_files_page *pg, struct ipc_file *f);

IPC_CODEC_DECL(sharers_req, struct ipc_sharers_req);
/*
 * The decoder checks that count <= total and <= IPC_SHARERS_MAX, that
 * each public key is a compressed one whose blake3 is its node ID, that no
 * owner is listed twice, and that an unknown hash carries no size or name.
 */
IPC_CODEC_DECL(sharers, struct ipc_sharers);

#endif

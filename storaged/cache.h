/*
 * cache.h — the global cache of other peers' blockchains (docs/data.md §2.11),
 * stored in SQLite (DIR/storage/cache.db).
 *
 * Per peer (compressed public key) a header: the version and height it
 * advertised, the blocks we hold, statistics, when it was last seen.  Blocks
 * are kept only for the peer's current version: a new version drops them.
 *
 * Unlike the reference, every block is checked before it is stored (the
 * list in §2.11 "does not validate"): signer == the chain's owner, embedded
 * number and version == the expected ones, the previous-hash link to the
 * neighbouring stored blocks, records decodable (§2.12), and the limits:
 * CacheMaxBlockSize, CacheMaxBlockCount (block numbers >= it are refused),
 * a total byte limit and a total record limit (headers + blocks, the
 * reference's LimitTotalRecords).  Instead of the reference's "read-only
 * forever" when full, whole peers are evicted, least recently seen first.
 *
 * WAL with synchronous=NORMAL: a crash keeps the database consistent, and
 * a lost last commit only means refetching blocks from their owner.
 *
 * Events (for searchd) are delivered after the commit.  Not thread-safe.
 */
#ifndef PEERNET_CACHE_H
#define PEERNET_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "chain.h"
#include "ident.h"

#define CACHE_SCHEMA_VERSION	1

/*
 * Errors.  cache_ingest_block returns a block_err code (-1 .. -31, see
 * block.h) when the block itself is malformed or does not validate
 * (BLOCK_ERR_OWNER: signed by someone else; BLOCK_ERR_NUMBER /
 * BLOCK_ERR_VERSION: not the block that was asked for; BLOCK_ERR_PREV_HASH:
 * does not link to a stored neighbour; ...), and one of these otherwise.
 * cache_strerror names both kinds.
 */
enum cache_err {
	CACHE_OK = 0,
	CACHE_ERR_ARG = -100,		/* NULL or unusable argument, invalid key */
	CACHE_ERR_NOMEM = -101,
	CACHE_ERR_DB = -102,		/* SQLite failed */
	CACHE_ERR_SCHEMA = -103,	/* database of an unknown schema */
	CACHE_ERR_UNKNOWN_PEER = -104,	/* no header: cache_peer_seen first */
	CACHE_ERR_STALE = -105,		/* block for a version that is not the cached one */
	CACHE_ERR_RANGE = -106,		/* block number >= advertised height */
	CACHE_ERR_TOO_MANY_BLOCKS = -107, /* block number >= CacheMaxBlockCount */
	CACHE_ERR_TOO_LARGE = -108,	/* block larger than CacheMaxBlockSize */
	CACHE_ERR_FULL = -109,		/* this one chain alone exceeds the byte/record limit */
	CACHE_ERR_NOT_FOUND = -110,	/* no such peer/block */
	CACHE_ERR_NOSPACE = -111,	/* caller's buffer too small (*len set) */
	CACHE_ERR_CORRUPT = -112,	/* a stored block does not decode */
};

const char *cache_strerror(int err);

/*
 * What became of the blocks offered to cache_ingest_block since
 * cache_open (in memory only): for `peernetctl status`, to see a peer
 * sending garbage.  cache_reject_kind maps a return code to its counter.
 */
enum cache_counter {
	CACHE_CNT_ACCEPTED = 0,		/* stored, or already stored */
	CACHE_CNT_BAD_SIGNATURE,	/* the signature recovers no key */
	CACHE_CNT_WRONG_SIGNER,		/* signed by another key than the chain's owner */
	CACHE_CNT_NUMBERING,		/* number, version or previous hash not the
					   block asked for; beyond the advertised height */
	CACHE_CNT_OVERSIZE,		/* > CacheMaxBlockSize, number >= CacheMaxBlockCount */
	CACHE_CNT_RECORD_LIMITS,	/* > 65535 records, a record >= 4 GiB, or the
					   chain alone exceeds the byte/record limits */
	CACHE_CNT_MALFORMED,		/* block layout: size field, record bounds, trailing bytes */
	CACHE_CNT_BAD_RECORDS,		/* file/profile records: tags (names, folders...)
					   or references outside the record/block */
	CACHE_CNT_OTHER,		/* unknown peer, invalid key, database errors */
	CACHE_CNT_MAX
};

const char *cache_counter_name(int counter);
int	cache_reject_kind(int err);

struct cache_limits {
	uint64_t	 max_block_size;	/* CacheMaxBlockSize, 0 = BLOCK_CACHE_MAX_SIZE */
	uint64_t	 max_block_count;	/* CacheMaxBlockCount, 0 = BLOCK_CACHE_MAX_COUNT */
	uint64_t	 max_bytes;		/* cache_max_bytes (block bytes), 0 = no limit */
	uint64_t	 max_records;		/* LimitTotalRecords (headers + blocks), 0 = no limit */
};

/* Outcome of cache_peer_seen (the reference's classification, §2.11). */
enum cache_seen {
	CACHE_SEEN_IGNORED = 0,	/* height 0 and version 0: nothing to cache */
	CACHE_SEEN_NEW,		/* no header yet: created; fetch [from, to) */
	CACHE_SEEN_EQUAL,	/* same version and height; fetch only holes */
	CACHE_SEEN_NEW_BLOCKS,	/* same version, higher height */
	CACHE_SEEN_NEW_VERSION,	/* higher version: old blocks dropped */
	CACHE_SEEN_INVALID,	/* lower version, or same version and lower height:
				   cached chain dropped, nothing to fetch */
};

struct cache_peer {
	uint8_t		 owner[PEERNET_PUBKEY_BYTES];
	uint64_t	 version;
	uint64_t	 height;	/* as advertised */
	uint64_t	 nblocks;	/* blocks stored */
	uint64_t	 bytes;		/* their total size */
	uint64_t	 nfiles;	/* file records in them */
	uint64_t	 file_bytes;	/* sum of those files' sizes */
	int64_t		 created;
	int64_t		 last_seen;
};

struct cache_stats {
	uint64_t	 peers;
	uint64_t	 blocks;
	uint64_t	 bytes;
	uint64_t	 nfiles;
};

enum cache_event_kind {
	CACHE_EV_FILE_ADDED = 1,	/* f: a record of a newly stored block */
	CACHE_EV_FILE_REMOVED = 2,	/* f: a record of a dropped block */
	CACHE_EV_PEER_DROPPED = 3,	/* all blocks of owner dropped (new version,
					   invalid, evicted, cache_drop_peer); f NULL */
};

struct cache;
/* version: the chain version the block belongs to. */
typedef void (*cache_event_fn)(void *arg, int kind,
    const uint8_t owner[PEERNET_PUBKEY_BYTES], uint64_t version,
    const struct chain_file *f);
typedef int64_t (*cache_clock_fn)(void *arg);

int	cache_open(struct cache **cp, const char *path,
	    const struct cache_limits *lim, char *err, size_t errlen);
void	cache_close(struct cache *c);
void	cache_set_event_cb(struct cache *c, cache_event_fn cb, void *arg);
void	cache_set_clock(struct cache *c, cache_clock_fn now, void *arg);
const char *cache_last_db_error(struct cache *c);
void	cache_counters(struct cache *c, uint64_t out[CACHE_CNT_MAX]);

/*
 * A peer advertised (version, height) in an Announcement/Response/Local
 * Discovery.  Updates its header (created if new) and last-seen time, drops
 * what the advertisement invalidates, and says which block numbers to fetch:
 * [*fetch_from, *fetch_to) (empty when from == to), where to is capped at
 * CacheMaxBlockCount and from is the first block not stored yet (so holes
 * left by a failed transfer are retried, unlike the reference).
 */
int	cache_peer_seen(struct cache *c, const uint8_t owner[PEERNET_PUBKEY_BYTES],
	    uint64_t version, uint64_t height, int *status, uint64_t *fetch_from,
	    uint64_t *fetch_to);
/*
 * Validates and stores block `number` of owner's chain, fetched for
 * `version`.  0 also when that block is already stored (the reference
 * skips it).  May evict other peers (least recently seen first) to stay
 * within max_bytes / max_records.
 */
int	cache_ingest_block(struct cache *c, const uint8_t owner[PEERNET_PUBKEY_BYTES],
	    uint64_t version, uint64_t number, const uint8_t *raw, size_t len);
/* Drops a peer's header and blocks (CACHE_ERR_NOT_FOUND if unknown). */
int	cache_drop_peer(struct cache *c, const uint8_t owner[PEERNET_PUBKEY_BYTES]);

int	cache_stats(struct cache *c, struct cache_stats *st);
int	cache_peer_info(struct cache *c, const uint8_t owner[PEERNET_PUBKEY_BYTES],
	    struct cache_peer *p);
/* ReadBlock(key, version, number): only for exactly the cached version. */
int	cache_get_block(struct cache *c, const uint8_t owner[PEERNET_PUBKEY_BYTES],
	    uint64_t version, uint64_t number, uint8_t *buf, size_t cap,
	    size_t *len);
/*
 * Every file record of every cached block, ordered by owner then block.
 * fn must not modify the cache; a non-zero return stops and is returned.
 */
int	cache_foreach_file(struct cache *c,
	    int (*fn)(void *arg, const uint8_t owner[PEERNET_PUBKEY_BYTES],
	    uint64_t version, const struct chain_file *f), void *arg);
/* The same walk from block (from_owner, from_number) on: a resumable cursor. */
int	cache_foreach_file_from(struct cache *c, const uint8_t *from_owner,
	    uint64_t from_number,
	    int (*fn)(void *arg, const uint8_t owner[PEERNET_PUBKEY_BYTES],
	    uint64_t version, const struct chain_file *f), void *arg);

#endif /* PEERNET_CACHE_H */

/*
 * kad.h — the Kademlia DHT of peernet-netd (docs/protocol.md §7) as a pure module.
 *
 * No I/O, no global state, no clock of its own: the network, the clock and
 * randomness come in through struct kad_env (the c-toxcore way), so the same
 * code runs inside netd and inside tests/sim, a universe of thousands of
 * nodes in one process with a fake clock.
 *
 * Pieces:
 *  - routing table: 256 buckets by common-prefix length with the own node ID,
 *    k = 20 contacts each, least recently seen first (§7.2);
 *  - closest selection: exact XOR order, with a caller filter (§7.3);
 *  - iterative lookups for nodes and values: alpha = 5 queries per round,
 *    "levels" like the reference's search client (§7.4);
 *  - value store: key -> data with expiry (§7.5), in kad_store.c;
 *  - bucket refresh scheduling, bootstrap refreshes (§6.6, §7.6).
 *
 * The module emits "send FIND_x for key K to contact C as part of lookup L"
 * through env->send_find and is fed the answers with kad_lookup_on_reply()
 * and kad_lookup_on_failure(); kad_tick() drives timeouts and refreshes at
 * the time kad_next_deadline() names.  netd's glue maps these calls to
 * Announcements (FIND_SELF / FIND_PEER / FIND_VALUE) and Responses.
 *
 * Where we differ from the reference on purpose (no wire impact, §13.4):
 *  - closest lists are sorted by XOR distance to the target, not by raw ID;
 *  - a lookup seeds its candidate list with k contacts (reference: alpha), so
 *    a few dead seeds do not end it; it still queries alpha at a time;
 *  - a lookup also succeeds when the target node itself answers;
 *  - a lookup does not end while one of the k closest candidates it knows
 *    is uncontacted (the reference may stop with closer nodes unasked);
 *  - the eviction tie-break keeps the closer node as the README intends
 *    (KAD_F_EVICT_REFERENCE restores the reference's inverted choice);
 *  - a table contact that leaves KAD_STALE_FAILS queries in a row
 *    unanswered is removed, and a full bucket replaces a failing contact
 *    before it applies the RTT/distance rule;
 *  - refresh IDs are proper random IDs inside each bucket, and the buckets
 *    closer than the closest non-empty one are covered by the one self
 *    lookup (they would all end at the same nodes).
 *
 * Re-entrancy: env->send_find must not call back into this module (queue the
 * packet and return).  env->lookup_done may call any kad_* function.
 * Not thread-safe: one instance belongs to one event loop.
 */
#ifndef PEERNET_KAD_H
#define PEERNET_KAD_H

#include <stddef.h>
#include <stdint.h>

#define KAD_ID_BYTES		32	/* node ID = BLAKE3(peer ID); value keys */
#define KAD_ID_BITS		256
#define KAD_PEER_ID_BYTES	33	/* compressed secp256k1 public key */

/* §7.2, §7.3, §7.4, §10.2 */
#define KAD_BUCKETS		256
#define KAD_K			20	/* bucket size; results per lookup */
#define KAD_ALPHA		5	/* queries per round; refresh fill target */
#define KAD_ANSWER_COUNT	5	/* contacts in a FIND_SELF/FIND_PEER answer */
#define KAD_MAX_CLOSEST		3	/* new closest contacts taken per answer */
#define KAD_MAX_KNOWN_STORE	10	/* storing contacts queried per value lookup */
#define KAD_MAX_LEVEL		10	/* nesting depth of lookup levels */
#define KAD_TIMEOUT_IR_MS	6000	/* one round (information request) */
#define KAD_TIMEOUT_SEARCH_MS	10000	/* a whole lookup */
#define KAD_REFRESH_MS		(5 * 60 * 1000)
#define KAD_REFRESH_FULL_EVERY	12	/* every 12th refresh (hourly) is full */
#define KAD_BOOT_REFRESHES	3	/* refreshes once the table has >= 2 nodes */
#define KAD_BOOT_PAUSE_MS	1000	/* pause between those */
#define KAD_BOOT_MIN_NODES	2
/* Largest value embeddable in a Response (EmbeddedFileSizeMax, §3.3). */
#define KAD_VALUE_EMBED_MAX	65349

/*
 * Caps: everything a remote peer can make this module hold is bounded.
 *  - routing table: KAD_BUCKETS * KAD_K contacts (5120, ~600 KiB); a
 *    bucket's array is allocated on its first contact;
 *  - concurrent lookups: KAD_MAX_LOOKUPS, each a fixed-size record
 *    (candidates + storing contacts + rounds, ~13 KiB), allocated per lookup;
 *    so an instance holds at most ~1.4 MiB besides the value store;
 *  - candidates per lookup: KAD_LOOKUP_CANDIDATES, the closest seen so far;
 *    farther contacts are dropped;
 *  - queries per lookup: KAD_LOOKUP_MAX_QUERIES (contacts examined);
 *  - rounds running at once per lookup: KAD_LOOKUP_MAX_ROUNDS;
 *  - refresh lookups running at once: KAD_REFRESH_PARALLEL;
 *  - value store: KAD_STORE_MAX_ENTRIES entries, KAD_STORE_MAX_BYTES bytes
 *    of data, KAD_STORE_VALUE_MAX bytes per value.
 */
#define KAD_MAX_LOOKUPS		64
#define KAD_LOOKUP_CANDIDATES	64
#define KAD_LOOKUP_MAX_QUERIES	128
#define KAD_LOOKUP_MAX_ROUNDS	8
#define KAD_REFRESH_PARALLEL	2
#define KAD_STALE_FAILS		2
#define KAD_STORE_MAX_ENTRIES	4096
#define KAD_STORE_MAX_BYTES	(16u * 1024 * 1024)
#define KAD_STORE_VALUE_MAX	(1024u * 1024)

/* Query kinds: the Announcement action bit numbers (§3.2). */
#define KAD_FIND_SELF		0
#define KAD_FIND_PEER		1
#define KAD_FIND_VALUE		2

/* Lookup types. */
#define KAD_LOOKUP_NODE		0
#define KAD_LOOKUP_VALUE	1

/* Lookup outcomes (struct kad_result.status). */
#define KAD_LOOKUP_FOUND	0	/* node or value found */
#define KAD_LOOKUP_NOT_FOUND	1	/* every close candidate asked, no luck */
#define KAD_LOOKUP_TIMEOUT	2	/* KAD_TIMEOUT_SEARCH_MS passed */
#define KAD_LOOKUP_EXHAUSTED	3	/* KAD_LOOKUP_MAX_QUERIES sent */

/* kad_new() flags. */
#define KAD_F_EVICT_REFERENCE	0x1	/* reference tie-break: keep the farther */
#define KAD_F_NO_REFRESH	0x2	/* no automatic bucket refresh */

/* kad_table_insert() outcomes. */
#define KAD_INS_ADDED		0	/* appended, the bucket had room */
#define KAD_INS_UPDATED		1	/* was present: updated, moved to the tail */
#define KAD_INS_EVICTED		2	/* replaced a contact of a full bucket */
#define KAD_INS_DROPPED		3	/* bucket full, the newcomer lost */

enum kad_err {
	KAD_OK = 0,
	KAD_ERR_ARG = -1,		/* NULL or unusable argument */
	KAD_ERR_NOMEM = -2,		/* allocation failed */
	KAD_ERR_SELF = -3,		/* the own node ID */
	KAD_ERR_NOTFOUND = -4,		/* no such contact or value */
	KAD_ERR_BUSY = -5,		/* KAD_MAX_LOOKUPS lookups running */
	KAD_ERR_NOLOOKUP = -6,		/* no running lookup has this ID */
	KAD_ERR_NOTQUERIED = -7,	/* reply from a node not waited for */
	KAD_ERR_EMPTY = -8,		/* no usable contact to start from */
	KAD_ERR_FULL = -9,		/* value store full */
	KAD_ERR_TOOBIG = -10,		/* value larger than allowed */
};

const char *kad_strerror(int err);

/*
 * A contact: what a peer record (§3.4) says about a node, plus what the
 * table learns itself.  Ports: observed by whoever reported the node,
 * internal and external as reported by the node itself.
 */
struct kad_contact {
	uint8_t		id[KAD_ID_BYTES];
	uint8_t		peer_id[KAD_PEER_ID_BYTES];
	uint8_t		features;		/* §3.1 feature bits */
	uint8_t		ip4[4];			/* all zero = none */
	uint16_t	port4;
	uint16_t	port4_int;
	uint16_t	port4_ext;
	uint8_t		ip6[16];		/* all zero = none */
	uint16_t	port6;
	uint16_t	port6_int;
	uint16_t	port6_ext;
	uint32_t	rtt_ms;			/* 0 = unknown (§5.6) */
	uint64_t	last_seen_ms;		/* table: last insert or reply */
	uint8_t		fails;			/* table: queries unanswered in a row */
};

/* One query the lookup machinery wants sent. */
struct kad_query {
	const struct kad_contact *to;
	/* Node ID of the peer whose answer named `to` (the relay for a possible
	 * Traverse, §8), or NULL if `to` came from the own table. */
	const uint8_t	*via;
	uint8_t		 kind;			/* KAD_FIND_* */
	const uint8_t	*key;			/* KAD_ID_BYTES */
	uint32_t	 lookup_id;
};

/* An answer to a query, as decoded from a Response. */
struct kad_reply {
	const struct kad_contact *closest;	/* Hash2Peer closest peers */
	int		 n_closest;
	const struct kad_contact *storing;	/* Hash2Peer storing peers */
	int		 n_storing;
	const uint8_t	*value;			/* embedded file, or NULL */
	size_t		 value_len;
};

/* A finished lookup, handed to env->lookup_done. */
struct kad_result {
	uint32_t	 lookup_id;
	int		 type;			/* KAD_LOOKUP_NODE / _VALUE */
	int		 status;		/* KAD_LOOKUP_* */
	uint8_t		 key[KAD_ID_BYTES];
	/* FOUND: the target node (node lookup) or the node that sent the value. */
	struct kad_contact found;
	/* FOUND value lookup: the data; valid only during the callback. */
	const uint8_t	*value;
	size_t		 value_len;
	/* Nodes that answered, closest to the key first (for STORE, §7.4). */
	struct kad_contact closest[KAD_K];
	int		 n_closest;
	int		 rounds;	/* round in which it ended; the seed round is 1 */
	int		 queries;	/* FIND_x sent */
	int		 replies;	/* answers accepted */
	int		 failures;	/* queries that timed out or failed */
	uint64_t	 elapsed_ms;
};

struct kad_env {
	uint64_t (*now_ms)(void *ctx);		/* monotonic milliseconds */
	void	(*random)(void *ctx, void *buf, size_t n);
	/* Send one query; non-zero = could not send (counted as a failure). */
	int	(*send_find)(void *ctx, const struct kad_query *q);
	/* A lookup started with kad_lookup_start() ended.  May be NULL. */
	void	(*lookup_done)(void *ctx, const struct kad_result *r);
	/* Whether a table contact is worth querying (e.g. it has an active
	 * connection); used to seed lookups.  NULL = all are. */
	int	(*usable)(void *ctx, const struct kad_contact *c);
	void	 *ctx;
};

struct kad;

/* Counters since kad_new(). */
struct kad_stats {
	uint64_t	lookups_started;	/* by the caller */
	uint64_t	lookups_found;
	uint64_t	refresh_lookups;
	uint64_t	refresh_rounds;
	uint64_t	queries_sent;
	uint64_t	replies;
	uint64_t	failures;
	uint64_t	bad_values;		/* value whose BLAKE3 != key */
	uint64_t	evictions;
	uint64_t	stale_removed;
};

/* ---- IDs and distance (§7.1) ---- */

void	kad_xor(const uint8_t a[KAD_ID_BYTES], const uint8_t b[KAD_ID_BYTES],
	    uint8_t out[KAD_ID_BYTES]);
/* <0 if a is closer to target than b, 0 if equal, >0 if farther. */
int	kad_distance_cmp(const uint8_t target[KAD_ID_BYTES],
	    const uint8_t a[KAD_ID_BYTES], const uint8_t b[KAD_ID_BYTES]);
/* 255 - (first differing bit, MSB of byte 0 = bit 0); equal IDs -> 0. */
int	kad_bucket_index(const uint8_t self[KAD_ID_BYTES],
	    const uint8_t id[KAD_ID_BYTES]);

/* ---- instance ---- */

/* The env is copied.  NULL on allocation failure or bad arguments. */
struct kad *kad_new(const uint8_t self[KAD_ID_BYTES], const struct kad_env *env,
	    unsigned flags);
void	kad_free(struct kad *kad);		/* no callbacks are made */
const uint8_t *kad_self(const struct kad *kad);
void	kad_get_stats(const struct kad *kad, struct kad_stats *out);

/* ---- routing table (§7.2) ---- */

/*
 * Offers a contact (a peer was added, or a packet came from it).  Present:
 * addresses refreshed, moved to the tail, failures cleared, RTT kept unless
 * the offer has one.  Absent: appended if the bucket has room, else the
 * eviction rule decides.  *outcome (may be NULL) gets KAD_INS_*.
 */
int	kad_table_insert(struct kad *kad, const struct kad_contact *c,
	    int *outcome);
int	kad_table_remove(struct kad *kad, const uint8_t id[KAD_ID_BYTES]);
int	kad_table_get(const struct kad *kad, const uint8_t id[KAD_ID_BYTES],
	    struct kad_contact *out);
int	kad_table_set_rtt(struct kad *kad, const uint8_t id[KAD_ID_BYTES],
	    uint32_t rtt_ms);
int	kad_table_count(const struct kad *kad);
int	kad_bucket_count(const struct kad *kad, int bucket);

typedef int (*kad_filter_fn)(void *fctx, const struct kad_contact *c);

/*
 * §7.3: up to `count` table contacts closest to `target`, closest first,
 * skipping `exclude` (may be NULL) and those `filter` (may be NULL) rejects.
 * Returns how many were written to out[].
 */
int	kad_closest(const struct kad *kad, const uint8_t target[KAD_ID_BYTES],
	    int count, kad_filter_fn filter, void *fctx,
	    const uint8_t *exclude, struct kad_contact *out);

/* ---- lookups (§7.4) ---- */

/*
 * Starts a lookup (KAD_LOOKUP_NODE or _VALUE) for key; node lookups for the
 * own ID send FIND_SELF, others FIND_PEER; value lookups FIND_VALUE.  The
 * first queries are sent before this returns.  *lookup_id (never 0)
 * identifies the lookup in replies and in the result.
 */
int	kad_lookup_start(struct kad *kad, int type,
	    const uint8_t key[KAD_ID_BYTES], uint32_t *lookup_id);
/* An answer from node `from` to a query of lookup `lookup_id`. */
int	kad_lookup_on_reply(struct kad *kad, uint32_t lookup_id,
	    const uint8_t from[KAD_ID_BYTES], const struct kad_reply *r);
/* The query to `from` will not be answered (send error, expired sequence). */
int	kad_lookup_on_failure(struct kad *kad, uint32_t lookup_id,
	    const uint8_t from[KAD_ID_BYTES]);
/* Ends a lookup without calling lookup_done. */
int	kad_lookup_cancel(struct kad *kad, uint32_t lookup_id);
int	kad_lookup_count(const struct kad *kad);

/* ---- timers (§7.6) ---- */

/* Runs due work: round and lookup timeouts, refreshes, value expiry. */
void	kad_tick(struct kad *kad);
/* Absolute time (env clock) at which kad_tick has work; UINT64_MAX = none. */
uint64_t kad_next_deadline(const struct kad *kad);
/* Schedules a refresh now (e.g. after an adapter change: full = 1). */
void	kad_refresh(struct kad *kad, int full);

/* ---- value store (§7.5), in kad_store.c ---- */

/*
 * Stores data under key (which should be BLAKE3(data): lookups drop values
 * whose hash is not the key).  ttl_ms 0 = never expires.  Replaces an older
 * value under the same key.
 */
int	kad_value_put(struct kad *kad, const uint8_t key[KAD_ID_BYTES],
	    const void *data, size_t len, uint64_t ttl_ms);
/* *data stays valid until the next kad_value_* or kad_tick call. */
int	kad_value_get(struct kad *kad, const uint8_t key[KAD_ID_BYTES],
	    const uint8_t **data, size_t *len);
int	kad_value_del(struct kad *kad, const uint8_t key[KAD_ID_BYTES]);
/* Counts include expired values that kad_tick has not dropped yet. */
int	kad_value_count(const struct kad *kad);
size_t	kad_value_bytes(const struct kad *kad);

/* The store on its own (pure: the caller passes the time). */
struct kad_store;
struct kad_store *kad_store_new(void);
void	kad_store_free(struct kad_store *s);
int	kad_store_put(struct kad_store *s, const uint8_t key[KAD_ID_BYTES],
	    const void *data, size_t len, uint64_t now_ms, uint64_t ttl_ms);
int	kad_store_get(struct kad_store *s, const uint8_t key[KAD_ID_BYTES],
	    uint64_t now_ms, const uint8_t **data, size_t *len);
int	kad_store_del(struct kad_store *s, const uint8_t key[KAD_ID_BYTES]);
/* Drops expired values; returns how many. */
int	kad_store_expire(struct kad_store *s, uint64_t now_ms);
/* Earliest expiry of a stored value; UINT64_MAX = none. */
uint64_t kad_store_next_expiry(const struct kad_store *s);
int	kad_store_count(const struct kad_store *s);
size_t	kad_store_bytes(const struct kad_store *s);

#endif

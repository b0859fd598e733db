/*
 * cache.c — the global cache of other peers' blockchains in SQLite (see
 * cache.h).
 *
 * Schema (user_version 1):
 *   peers(owner, version, height, nblocks, bytes, nfiles, file_bytes,
 *         created, last_seen, seen_seq)      the cache header of §2.11
 *   blocks(owner, number, raw)                blocks of the peer's current version
 * seen_seq orders peers by their last advertisement (a counter, because
 * several peers are seen within one second); eviction takes the lowest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "block.h"
#include "cache.h"
#include "chain.h"
#include "db.h"
#include "ident.h"

enum {
	CS_PEER_GET, CS_PEER_INS, CS_PEER_SEEN, CS_PEER_STATS_ADD,
	CS_PEER_STATS_ZERO, CS_PEER_DEL, CS_PEER_OLDEST, CS_BLK_GET, CS_BLK_PUT,
	CS_BLK_DEL_PEER, CS_BLK_OF_PEER, CS_BLK_NUMS, CS_TOTALS, CS_ALL_BLOCKS, CS_BLOCKS_FROM,
	CS_MAX_SEQ,
	CS_COUNT
};

static const char *const cache_sql[CS_COUNT] = {
	[CS_PEER_GET] = "SELECT version, height, nblocks, bytes, nfiles, "
	    "file_bytes, created, last_seen FROM peers WHERE owner = ?1",
	[CS_PEER_INS] = "INSERT INTO peers(owner, version, height, nblocks, "
	    "bytes, nfiles, file_bytes, created, last_seen, seen_seq) "
	    "VALUES (?1, ?2, ?3, 0, 0, 0, 0, ?4, ?4, ?5)",
	[CS_PEER_SEEN] = "UPDATE peers SET version = ?2, height = ?3, "
	    "last_seen = ?4, seen_seq = ?5 WHERE owner = ?1",
	[CS_PEER_STATS_ADD] = "UPDATE peers SET nblocks = nblocks + 1, "
	    "bytes = bytes + ?2, nfiles = nfiles + ?3, "
	    "file_bytes = file_bytes + ?4 WHERE owner = ?1",
	[CS_PEER_STATS_ZERO] = "UPDATE peers SET nblocks = 0, bytes = 0, "
	    "nfiles = 0, file_bytes = 0 WHERE owner = ?1",
	[CS_PEER_DEL] = "DELETE FROM peers WHERE owner = ?1",
	[CS_PEER_OLDEST] = "SELECT owner FROM peers WHERE owner != ?1 "
	    "ORDER BY seen_seq LIMIT 1",
	[CS_BLK_GET] = "SELECT raw FROM blocks WHERE owner = ?1 AND number = ?2",
	[CS_BLK_PUT] = "INSERT INTO blocks(owner, number, raw) VALUES (?1, ?2, ?3)",
	[CS_BLK_DEL_PEER] = "DELETE FROM blocks WHERE owner = ?1",
	[CS_BLK_OF_PEER] = "SELECT number, raw FROM blocks WHERE owner = ?1 "
	    "ORDER BY number",
	[CS_BLK_NUMS] = "SELECT number FROM blocks WHERE owner = ?1 ORDER BY number",
	[CS_TOTALS] = "SELECT COUNT(*), COALESCE(SUM(nblocks), 0), "
	    "COALESCE(SUM(bytes), 0), COALESCE(SUM(nfiles), 0) FROM peers",
	[CS_ALL_BLOCKS] = "SELECT b.owner, p.version, b.raw FROM blocks b "
	    "JOIN peers p ON p.owner = b.owner ORDER BY b.owner, b.number",
	/* the same walk resumed at (owner, number): blobs compare like memcmp */
	[CS_BLOCKS_FROM] = "SELECT b.owner, p.version, b.raw FROM blocks b "
	    "JOIN peers p ON p.owner = b.owner WHERE (b.owner, b.number) >= (?1, ?2) "
	    "ORDER BY b.owner, b.number",
	[CS_MAX_SEQ] = "SELECT COALESCE(MAX(seen_seq), 0) FROM peers",
};

static const char cache_schema[] =
	"CREATE TABLE peers ("
	"  owner BLOB PRIMARY KEY,"
	"  version INTEGER NOT NULL,"
	"  height INTEGER NOT NULL,"
	"  nblocks INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  nfiles INTEGER NOT NULL,"
	"  file_bytes INTEGER NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  seen_seq INTEGER NOT NULL);"
	"CREATE INDEX peers_seen ON peers(seen_seq);"
	"CREATE TABLE blocks ("
	"  owner BLOB NOT NULL,"
	"  number INTEGER NOT NULL,"
	"  raw BLOB NOT NULL,"
	"  PRIMARY KEY (owner, number));"
	"PRAGMA user_version = 1;";

/* NORMAL: consistent after a crash; a lost commit is refetched. */
static const struct db_conf cache_db_conf = {
	.synchronous = "NORMAL",
	.busy_ms = 5000,
	.wal_required = 1,
};

struct cache_ev {
	int		 kind;
	uint8_t		 owner[PEERNET_PUBKEY_BYTES];
	uint64_t	 version;
	struct chain_file *f;
};

struct cache {
	struct db	 db;
	struct cache_limits lim;
	cache_event_fn	 ev_cb;
	void		*ev_arg;
	cache_clock_fn	 clock;
	void		*clock_arg;
	int64_t		 seq;		/* last seen_seq handed out */
	struct chain_scratch scratch;
	uint64_t	 counters[CACHE_CNT_MAX];
};

const char *
cache_strerror(int err)
{
	switch (err) {
	case CACHE_OK:			return "ok";
	case CACHE_ERR_ARG:		return "invalid argument";
	case CACHE_ERR_NOMEM:		return "out of memory";
	case CACHE_ERR_DB:		return "database error";
	case CACHE_ERR_SCHEMA:		return "unknown database schema version";
	case CACHE_ERR_UNKNOWN_PEER:	return "peer has no cache header";
	case CACHE_ERR_STALE:		return "block of a version that is not cached";
	case CACHE_ERR_RANGE:		return "block number beyond the advertised height";
	case CACHE_ERR_TOO_MANY_BLOCKS:	return "block number beyond CacheMaxBlockCount";
	case CACHE_ERR_TOO_LARGE:	return "block larger than CacheMaxBlockSize";
	case CACHE_ERR_FULL:		return "chain alone exceeds the cache limits";
	case CACHE_ERR_NOT_FOUND:	return "not cached";
	case CACHE_ERR_NOSPACE:		return "buffer too small";
	case CACHE_ERR_CORRUPT:		return "stored block is corrupt";
	}
	if (err < 0 && err > CACHE_ERR_ARG)
		return block_strerror(err);
	return "unknown cache error";
}

static const char *const cache_counter_names[CACHE_CNT_MAX] = {
	[CACHE_CNT_ACCEPTED] = "cache_blocks_accepted",
	[CACHE_CNT_BAD_SIGNATURE] = "cache_rejected_signature",
	[CACHE_CNT_WRONG_SIGNER] = "cache_rejected_signer",
	[CACHE_CNT_NUMBERING] = "cache_rejected_numbering",
	[CACHE_CNT_OVERSIZE] = "cache_rejected_oversize",
	[CACHE_CNT_RECORD_LIMITS] = "cache_rejected_record_limits",
	[CACHE_CNT_MALFORMED] = "cache_rejected_malformed",
	[CACHE_CNT_BAD_RECORDS] = "cache_rejected_bad_records",
	[CACHE_CNT_OTHER] = "cache_rejected_other",
};

const char *
cache_counter_name(int counter)
{
	if (counter < 0 || counter >= CACHE_CNT_MAX)
		return "unknown";
	return cache_counter_names[counter];
}

int
cache_reject_kind(int err)
{
	switch (err) {
	case CACHE_OK:
		return CACHE_CNT_ACCEPTED;
	case BLOCK_ERR_SIGNATURE:
		return CACHE_CNT_BAD_SIGNATURE;
	case BLOCK_ERR_OWNER:
		return CACHE_CNT_WRONG_SIGNER;
	case BLOCK_ERR_NUMBER:
	case BLOCK_ERR_VERSION:
	case BLOCK_ERR_PREV_HASH:
	case CACHE_ERR_STALE:
	case CACHE_ERR_RANGE:
		return CACHE_CNT_NUMBERING;
	case BLOCK_ERR_TOO_LARGE:
	case CACHE_ERR_TOO_LARGE:
	case CACHE_ERR_TOO_MANY_BLOCKS:
		return CACHE_CNT_OVERSIZE;
	case BLOCK_ERR_TOO_MANY_RECORDS:
	case BLOCK_ERR_RECORD_TOO_LARGE:
	case CACHE_ERR_FULL:
		return CACHE_CNT_RECORD_LIMITS;
	case BLOCK_ERR_SHORT:
	case BLOCK_ERR_SIZE_FIELD:
	case BLOCK_ERR_RECORD_HEADER:
	case BLOCK_ERR_RECORD_DATA:
	case BLOCK_ERR_TRAILING:
		return CACHE_CNT_MALFORMED;
	case BLOCK_ERR_FILE_SHORT:
	case BLOCK_ERR_TAG_HEADER:
	case BLOCK_ERR_TAG_DATA:
	case BLOCK_ERR_REF_WIDTH:
	case BLOCK_ERR_REF_RANGE:
	case BLOCK_ERR_REF_TYPE:
	case BLOCK_ERR_PROFILE_SHORT:
	case BLOCK_ERR_FILE_TRAILING:
	case BLOCK_ERR_TAG_FORMAT:
		return CACHE_CNT_BAD_RECORDS;
	}
	return CACHE_CNT_OTHER;
}

void
cache_counters(struct cache *c, uint64_t out[CACHE_CNT_MAX])
{
	memcpy(out, c->counters, sizeof(c->counters));
}

/* ---- helpers --------------------------------------------------------- */

static int
cache_dbfail(struct cache *c)
{
	(void)db_fail(&c->db);
	return CACHE_ERR_DB;
}

const char *
cache_last_db_error(struct cache *c)
{
	return c->db.err;
}

static sqlite3_stmt *
stmt(struct cache *c, int i)
{
	return db_stmt(&c->db, i);
}

static sqlite3_stmt *
stmt_owner(struct cache *c, int i, const uint8_t *owner)
{
	sqlite3_stmt *s = stmt(c, i);

	sqlite3_bind_blob(s, 1, owner, PEERNET_PUBKEY_BYTES, SQLITE_STATIC);
	return s;
}

static int
step_done(struct cache *c, sqlite3_stmt *s)
{
	return db_step_done(&c->db, s) == 0 ? CACHE_OK : CACHE_ERR_DB;
}

static int64_t
now(struct cache *c)
{
	return c->clock != NULL ? c->clock(c->clock_arg) : (int64_t)time(NULL);
}

/* An event of the open transaction (db_event_push), delivered after COMMIT. */
static void
ev_deliver(void *arg, void *ev)
{
	struct cache *c = arg;
	struct cache_ev *e = ev;

	c->ev_cb(c->ev_arg, e->kind, e->owner, e->version, e->f);
}

static void
ev_drop(void *ev)
{
	free(((struct cache_ev *)ev)->f);
}

static int
ev_push(struct cache *c, int kind, const uint8_t *owner, uint64_t version,
    const struct chain_file *f)
{
	struct cache_ev e;

	if (c->ev_cb == NULL)
		return CACHE_OK;
	e.kind = kind;
	memcpy(e.owner, owner, PEERNET_PUBKEY_BYTES);
	e.version = version;
	e.f = NULL;
	if (f != NULL && (e.f = chain_file_dup(f)) == NULL)
		return CACHE_ERR_NOMEM;
	if (db_event_push(&c->db, &e) != 0) {
		free(e.f);
		return CACHE_ERR_NOMEM;
	}
	return CACHE_OK;
}

static int
tx_begin(struct cache *c)
{
	return db_begin(&c->db) == 0 ? CACHE_OK : CACHE_ERR_DB;
}

/* Commits (rc == 0) or rolls back; a commit delivers its events. */
static int
tx_end(struct cache *c, int rc)
{
	if (rc == CACHE_OK && db_commit(&c->db) != 0)
		rc = CACHE_ERR_DB;
	if (rc != CACHE_OK)
		db_rollback(&c->db);
	return rc;
}

static int
peer_get(struct cache *c, const uint8_t *owner, struct cache_peer *p)
{
	sqlite3_stmt *s = stmt_owner(c, CS_PEER_GET, owner);
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return CACHE_ERR_NOT_FOUND;
	}
	if (rc != SQLITE_ROW) {
		rc = cache_dbfail(c);
		sqlite3_reset(s);
		return rc;
	}
	memcpy(p->owner, owner, PEERNET_PUBKEY_BYTES);
	p->version = (uint64_t)sqlite3_column_int64(s, 0);
	p->height = (uint64_t)sqlite3_column_int64(s, 1);
	p->nblocks = (uint64_t)sqlite3_column_int64(s, 2);
	p->bytes = (uint64_t)sqlite3_column_int64(s, 3);
	p->nfiles = (uint64_t)sqlite3_column_int64(s, 4);
	p->file_bytes = (uint64_t)sqlite3_column_int64(s, 5);
	p->created = sqlite3_column_int64(s, 6);
	p->last_seen = sqlite3_column_int64(s, 7);
	sqlite3_reset(s);
	return CACHE_OK;
}

/* Block (owner, number) into a malloc'd buffer; CACHE_ERR_NOT_FOUND. */
static int
blk_get(struct cache *c, const uint8_t *owner, uint64_t number, uint8_t **raw,
    size_t *len)
{
	sqlite3_stmt *s = stmt_owner(c, CS_BLK_GET, owner);
	int rc, n;

	*raw = NULL;
	*len = 0;
	sqlite3_bind_int64(s, 2, (sqlite3_int64)number);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? CACHE_ERR_NOT_FOUND : cache_dbfail(c);
		sqlite3_reset(s);
		return rc;
	}
	n = sqlite3_column_bytes(s, 0);
	if ((*raw = malloc(n > 0 ? (size_t)n : 1)) == NULL) {
		sqlite3_reset(s);
		return CACHE_ERR_NOMEM;
	}
	if (n > 0)
		memcpy(*raw, sqlite3_column_blob(s, 0), (size_t)n);
	*len = (size_t)n;
	sqlite3_reset(s);
	return CACHE_OK;
}

/*
 * Drops every block of owner (FILE_REMOVED events for their records, then
 * PEER_DROPPED), and the header too if `header`.
 */
static int
drop_chain(struct cache *c, const uint8_t *owner, uint64_t version, int header)
{
	sqlite3_stmt *s;
	struct block b;
	struct block_iter it;
	struct block_record r;
	struct chain_file f;
	uint32_t i;
	int rc;

	if (c->ev_cb != NULL) {
		s = stmt_owner(c, CS_BLK_OF_PEER, owner);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			/* Stored blocks were validated; skip one that is not. */
			if (block_decode(sqlite3_column_blob(s, 1),
			    (size_t)sqlite3_column_bytes(s, 1), &b) != BLOCK_OK)
				continue;
			block_iter_init(&it, &b);
			for (i = 0; block_iter_next(&it, &r) == 1; i++) {
				if (r.type != BLOCK_REC_FILE ||
				    chain_file_decode(&b, i, &f, &c->scratch) !=
				    BLOCK_OK)
					continue;
				if ((rc = ev_push(c, CACHE_EV_FILE_REMOVED, owner,
				    version, &f)) != CACHE_OK) {
					sqlite3_reset(s);
					return rc;
				}
			}
		}
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return cache_dbfail(c);
	}
	if ((rc = step_done(c, stmt_owner(c, CS_BLK_DEL_PEER, owner))) != CACHE_OK)
		return rc;
	rc = step_done(c, stmt_owner(c, header ? CS_PEER_DEL : CS_PEER_STATS_ZERO,
	    owner));
	if (rc != CACHE_OK)
		return rc;
	return ev_push(c, CACHE_EV_PEER_DROPPED, owner, version, NULL);
}

static int
totals(struct cache *c, struct cache_stats *st)
{
	sqlite3_stmt *s = stmt(c, CS_TOTALS);
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		st->peers = (uint64_t)sqlite3_column_int64(s, 0);
		st->blocks = (uint64_t)sqlite3_column_int64(s, 1);
		st->bytes = (uint64_t)sqlite3_column_int64(s, 2);
		st->nfiles = (uint64_t)sqlite3_column_int64(s, 3);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? CACHE_OK : cache_dbfail(c);
}

/*
 * Evicts whole peers other than keep, least recently seen first, until
 * add_bytes and add_records fit the limits.  CACHE_ERR_FULL when keep alone
 * is too big (the caller's transaction is then rolled back, evictions too).
 */
static int
make_room(struct cache *c, const uint8_t *keep, uint64_t add_bytes,
    uint64_t add_records)
{
	struct cache_stats st;
	struct cache_peer p;
	sqlite3_stmt *s;
	uint8_t victim[PEERNET_PUBKEY_BYTES];
	int rc;

	for (;;) {
		if ((rc = totals(c, &st)) != CACHE_OK)
			return rc;
		if ((c->lim.max_bytes == 0 ||
		    st.bytes + add_bytes <= c->lim.max_bytes) &&
		    (c->lim.max_records == 0 ||
		    st.peers + st.blocks + add_records <= c->lim.max_records))
			return CACHE_OK;
		s = stmt_owner(c, CS_PEER_OLDEST, keep);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) ==
		    PEERNET_PUBKEY_BYTES)
			memcpy(victim, sqlite3_column_blob(s, 0),
			    PEERNET_PUBKEY_BYTES);
		sqlite3_reset(s);
		if (rc == SQLITE_DONE)
			return CACHE_ERR_FULL;
		if (rc != SQLITE_ROW)
			return cache_dbfail(c);
		if ((rc = peer_get(c, victim, &p)) != CACHE_OK)
			return rc;
		if ((rc = drop_chain(c, victim, p.version, 1)) != CACHE_OK)
			return rc;
	}
}

/* ---- open / close ---------------------------------------------------- */

static int
schema_init(struct cache *c)
{
	switch (db_schema_init(&c->db, cache_schema, CACHE_SCHEMA_VERSION,
	    NULL, NULL)) {
	case 0:		return CACHE_OK;
	case -2:	return CACHE_ERR_SCHEMA;
	default:	return CACHE_ERR_DB;
	}
}

static int
open_fail(struct cache *c, int rc, char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0) {
		if (rc == CACHE_ERR_DB)
			snprintf(err, errlen, "%s: %s", what, c->db.err);
		else
			snprintf(err, errlen, "%s: %s", what, cache_strerror(rc));
	}
	cache_close(c);
	return rc;
}

int
cache_open(struct cache **cp, const char *path, const struct cache_limits *lim,
    char *err, size_t errlen)
{
	struct cache *c;
	sqlite3_stmt *s;
	const char *what;
	int rc;

	if (cp == NULL || path == NULL)
		return CACHE_ERR_ARG;
	*cp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CACHE_ERR_NOMEM;
	if (lim != NULL)
		c->lim = *lim;
	if (c->lim.max_block_size == 0)
		c->lim.max_block_size = BLOCK_CACHE_MAX_SIZE;
	if (c->lim.max_block_count == 0)
		c->lim.max_block_count = BLOCK_CACHE_MAX_COUNT;
	if (db_open(&c->db, path, &cache_db_conf, &what) != 0)
		return open_fail(c, CACHE_ERR_DB, err, errlen, what);
	db_events_init(&c->db, sizeof(struct cache_ev), ev_deliver, ev_drop, c);
	if ((rc = schema_init(c)) != CACHE_OK)
		return open_fail(c, rc, err, errlen, path);
	if (db_prepare(&c->db, cache_sql, CS_COUNT, &what) != 0)
		return open_fail(c, CACHE_ERR_DB, err, errlen, what);
	s = stmt(c, CS_MAX_SEQ);
	if (sqlite3_step(s) == SQLITE_ROW)
		c->seq = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	*cp = c;
	return CACHE_OK;
}

void
cache_close(struct cache *c)
{
	if (c == NULL)
		return;
	db_close(&c->db);
	chain_scratch_free(&c->scratch);
	free(c);
}

void
cache_set_event_cb(struct cache *c, cache_event_fn cb, void *arg)
{
	c->ev_cb = cb;
	c->ev_arg = arg;
}

void
cache_set_clock(struct cache *c, cache_clock_fn clk, void *arg)
{
	c->clock = clk;
	c->clock_arg = arg;
}

/* ---- advertisements -------------------------------------------------- */

/* First block number in [0, to) that is not stored. */
static int
first_missing(struct cache *c, const uint8_t *owner, uint64_t to,
    uint64_t *from)
{
	sqlite3_stmt *s = stmt_owner(c, CS_BLK_NUMS, owner);
	uint64_t want = 0, n;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		n = (uint64_t)sqlite3_column_int64(s, 0);
		if (n != want)
			break;
		want++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cache_dbfail(c);
	*from = want < to ? want : to;
	return CACHE_OK;
}

/* Inserts (CS_PEER_INS) or updates (CS_PEER_SEEN) the peer's header row. */
static int
peer_write(struct cache *c, int st, const uint8_t *owner, uint64_t version,
    uint64_t height, int64_t t)
{
	sqlite3_stmt *s = stmt_owner(c, st, owner);

	sqlite3_bind_int64(s, 2, (sqlite3_int64)version);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)height);
	sqlite3_bind_int64(s, 4, t);
	sqlite3_bind_int64(s, 5, ++c->seq);
	return step_done(c, s);
}

static int
peer_seen_locked(struct cache *c, const uint8_t *owner, uint64_t version,
    uint64_t height, int *status, uint64_t *from, uint64_t *to)
{
	struct cache_peer p;
	int64_t t = now(c);
	int rc, known;

	*from = *to = 0;
	rc = peer_get(c, owner, &p);
	if (rc != CACHE_OK && rc != CACHE_ERR_NOT_FOUND)
		return rc;
	known = rc == CACHE_OK;
	if (version == 0 && height == 0) {
		/* The reference never caches (0, 0); the peer is only freshened. */
		*status = CACHE_SEEN_IGNORED;
		if (!known)
			return CACHE_OK;
		return peer_write(c, CS_PEER_SEEN, owner, p.version, p.height, t);
	}
	if (!known) {
		if ((rc = make_room(c, owner, 0, 1)) != CACHE_OK)
			return rc;
		if ((rc = peer_write(c, CS_PEER_INS, owner, version, height,
		    t)) != CACHE_OK)
			return rc;
		*status = CACHE_SEEN_NEW;
	} else {
		if (p.version == version && p.height == height)
			*status = CACHE_SEEN_EQUAL;
		else if (p.version > version ||
		    (p.version == version && p.height > height))
			*status = CACHE_SEEN_INVALID;
		else if (version > p.version)
			*status = CACHE_SEEN_NEW_VERSION;
		else
			*status = CACHE_SEEN_NEW_BLOCKS;
		if (*status == CACHE_SEEN_INVALID)
			/* A chain never shrinks without a new version: drop it. */
			return drop_chain(c, owner, p.version, 1);
		if (*status == CACHE_SEEN_NEW_VERSION &&
		    (rc = drop_chain(c, owner, p.version, 0)) != CACHE_OK)
			return rc;
		if ((rc = peer_write(c, CS_PEER_SEEN, owner, version, height,
		    t)) != CACHE_OK)
			return rc;
	}
	*to = height < c->lim.max_block_count ? height : c->lim.max_block_count;
	return first_missing(c, owner, *to, from);
}

int
cache_peer_seen(struct cache *c, const uint8_t owner[PEERNET_PUBKEY_BYTES],
    uint64_t version, uint64_t height, int *status, uint64_t *fetch_from,
    uint64_t *fetch_to)
{
	uint64_t from, to;
	int st = CACHE_SEEN_IGNORED, rc;

	if (c == NULL || owner == NULL || ident_pubkey_valid(owner) != 1)
		return CACHE_ERR_ARG;
	if (version > INT64_MAX || height > INT64_MAX)
		return CACHE_ERR_ARG;
	if ((rc = tx_begin(c)) != CACHE_OK)
		return rc;
	rc = tx_end(c, peer_seen_locked(c, owner, version, height, &st, &from,
	    &to));
	if (rc != CACHE_OK)
		return rc;
	if (status != NULL)
		*status = st;
	if (fetch_from != NULL)
		*fetch_from = from;
	if (fetch_to != NULL)
		*fetch_to = to;
	return CACHE_OK;
}

/* ---- ingestion ------------------------------------------------------- */

static int
ingest_locked(struct cache *c, const uint8_t *owner, uint64_t version,
    uint64_t number, const uint8_t *raw, size_t len)
{
	static const uint8_t zeros[BLOCK_HASH_BYTES];
	struct cache_peer p;
	struct block_expect e;
	struct block b, nb;
	struct block_iter it;
	struct block_record r;
	struct record_file rf;
	struct chain_file f;
	sqlite3_stmt *s;
	uint8_t prev[BLOCK_HASH_BYTES], h[BLOCK_HASH_BYTES], *nraw;
	uint64_t nfiles = 0, fbytes = 0;
	size_t nlen;
	uint32_t i;
	int rc;

	if ((rc = peer_get(c, owner, &p)) != CACHE_OK)
		return rc == CACHE_ERR_NOT_FOUND ? CACHE_ERR_UNKNOWN_PEER : rc;
	if (version != p.version)
		return CACHE_ERR_STALE;
	if (number >= p.height)
		return CACHE_ERR_RANGE;
	rc = blk_get(c, owner, number, &nraw, &nlen);
	free(nraw);
	if (rc == CACHE_OK)
		return CACHE_OK;	/* already stored: skipped, as the reference does */
	if (rc != CACHE_ERR_NOT_FOUND)
		return rc;

	memset(&e, 0, sizeof(e));
	e.checks = BLOCK_CHECK_OWNER | BLOCK_CHECK_NUMBER | BLOCK_CHECK_VERSION |
	    BLOCK_CHECK_RECORDS;
	e.owner = owner;
	e.number = number;
	e.version = version;
	e.max_size = c->lim.max_block_size;
	/* The link to the stored predecessor (block 0: zeros, as encoded). */
	if (number == 0) {
		e.checks |= BLOCK_CHECK_PREV;
		e.prev_hash = zeros;
	} else if ((rc = blk_get(c, owner, number - 1, &nraw, &nlen)) == CACHE_OK) {
		block_hash(nraw, nlen, prev);
		free(nraw);
		e.checks |= BLOCK_CHECK_PREV;
		e.prev_hash = prev;
	} else if (rc != CACHE_ERR_NOT_FOUND)
		return rc;
	if ((rc = block_validate(raw, len, &e, &b, NULL)) != BLOCK_OK)
		return rc;
	/* ... and from the stored successor. */
	if ((rc = blk_get(c, owner, number + 1, &nraw, &nlen)) == CACHE_OK) {
		block_hash(raw, len, h);
		rc = block_decode(nraw, nlen, &nb) == BLOCK_OK &&
		    memcmp(nb.prev_hash, h, BLOCK_HASH_BYTES) == 0 ?
		    CACHE_OK : BLOCK_ERR_PREV_HASH;
		free(nraw);
		if (rc != CACHE_OK)
			return rc;
	} else if (rc != CACHE_ERR_NOT_FOUND)
		return rc;

	block_iter_init(&it, &b);
	for (i = 0; block_iter_next(&it, &r) == 1; i++) {
		if (r.type != BLOCK_REC_FILE)
			continue;
		if ((rc = record_file_decode(&b, i, &rf)) != BLOCK_OK)
			return rc;
		nfiles++;
		fbytes += rf.size;
	}
	/* A chain alone larger than the cache: refuse without evicting. */
	if (c->lim.max_bytes != 0 && p.bytes + len > c->lim.max_bytes)
		return CACHE_ERR_FULL;
	if ((rc = make_room(c, owner, len, 1)) != CACHE_OK)
		return rc;
	s = stmt_owner(c, CS_BLK_PUT, owner);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)number);
	sqlite3_bind_blob(s, 3, raw, (int)len, SQLITE_STATIC);
	if ((rc = step_done(c, s)) != CACHE_OK)
		return rc;
	s = stmt_owner(c, CS_PEER_STATS_ADD, owner);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)len);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)nfiles);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)fbytes);
	if ((rc = step_done(c, s)) != CACHE_OK)
		return rc;
	if (c->ev_cb == NULL)
		return CACHE_OK;
	block_iter_init(&it, &b);
	for (i = 0; block_iter_next(&it, &r) == 1; i++) {
		if (r.type != BLOCK_REC_FILE)
			continue;
		if ((rc = chain_file_decode(&b, i, &f, &c->scratch)) != BLOCK_OK)
			return rc;
		if ((rc = ev_push(c, CACHE_EV_FILE_ADDED, owner, version, &f)) !=
		    CACHE_OK)
			return rc;
	}
	return CACHE_OK;
}

int
cache_ingest_block(struct cache *c, const uint8_t owner[PEERNET_PUBKEY_BYTES],
    uint64_t version, uint64_t number, const uint8_t *raw, size_t len)
{
	int rc;

	if (c == NULL)
		return CACHE_ERR_ARG;
	/* Cheap limits first: no database work for what cannot be stored. */
	if (owner == NULL || raw == NULL)
		rc = CACHE_ERR_ARG;
	else if (len > c->lim.max_block_size)
		rc = CACHE_ERR_TOO_LARGE;
	else if (number >= c->lim.max_block_count)
		rc = CACHE_ERR_TOO_MANY_BLOCKS;
	else if (version > INT64_MAX)
		rc = CACHE_ERR_STALE;
	else if ((rc = tx_begin(c)) == CACHE_OK)
		rc = tx_end(c, ingest_locked(c, owner, version, number, raw, len));
	c->counters[cache_reject_kind(rc)]++;
	return rc;
}

int
cache_drop_peer(struct cache *c, const uint8_t owner[PEERNET_PUBKEY_BYTES])
{
	struct cache_peer p;
	int rc;

	if (c == NULL || owner == NULL)
		return CACHE_ERR_ARG;
	if ((rc = tx_begin(c)) != CACHE_OK)
		return rc;
	if ((rc = peer_get(c, owner, &p)) == CACHE_OK)
		rc = drop_chain(c, owner, p.version, 1);
	return tx_end(c, rc);
}

/* ---- queries --------------------------------------------------------- */

int
cache_stats(struct cache *c, struct cache_stats *st)
{
	if (c == NULL || st == NULL)
		return CACHE_ERR_ARG;
	memset(st, 0, sizeof(*st));
	return totals(c, st);
}

int
cache_peer_info(struct cache *c, const uint8_t owner[PEERNET_PUBKEY_BYTES],
    struct cache_peer *p)
{
	if (c == NULL || owner == NULL || p == NULL)
		return CACHE_ERR_ARG;
	memset(p, 0, sizeof(*p));
	return peer_get(c, owner, p);
}

int
cache_get_block(struct cache *c, const uint8_t owner[PEERNET_PUBKEY_BYTES],
    uint64_t version, uint64_t number, uint8_t *buf, size_t cap, size_t *len)
{
	struct cache_peer p;
	uint8_t *raw;
	size_t n;
	int rc;

	if (c == NULL || owner == NULL || len == NULL || (buf == NULL && cap > 0))
		return CACHE_ERR_ARG;
	*len = 0;
	if ((rc = peer_get(c, owner, &p)) != CACHE_OK)
		return rc;
	if (p.version != version)
		return CACHE_ERR_NOT_FOUND;
	if ((rc = blk_get(c, owner, number, &raw, &n)) != CACHE_OK)
		return rc;
	*len = n;
	if (n > cap)
		rc = CACHE_ERR_NOSPACE;
	else
		memcpy(buf, raw, n);
	free(raw);
	return rc;
}

int
cache_foreach_file(struct cache *c,
    int (*fn)(void *arg, const uint8_t owner[PEERNET_PUBKEY_BYTES],
    uint64_t version, const struct chain_file *f), void *arg)
{
	return cache_foreach_file_from(c, NULL, 0, fn, arg);
}

int
cache_foreach_file_from(struct cache *c, const uint8_t *from_owner,
    uint64_t from_number,
    int (*fn)(void *arg, const uint8_t owner[PEERNET_PUBKEY_BYTES],
    uint64_t version, const struct chain_file *f), void *arg)
{
	sqlite3_stmt *s;
	struct block b;
	struct block_iter it;
	struct block_record r;
	struct chain_file f;
	uint8_t owner[PEERNET_PUBKEY_BYTES];
	uint64_t version;
	uint32_t i;
	int rc;

	if (c == NULL || fn == NULL || from_number > INT64_MAX)
		return CACHE_ERR_ARG;
	if (from_owner == NULL)
		s = stmt(c, CS_ALL_BLOCKS);
	else {
		s = stmt(c, CS_BLOCKS_FROM);
		sqlite3_bind_blob(s, 1, from_owner, PEERNET_PUBKEY_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)from_number);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 0) != PEERNET_PUBKEY_BYTES ||
		    block_decode(sqlite3_column_blob(s, 2),
		    (size_t)sqlite3_column_bytes(s, 2), &b) != BLOCK_OK) {
			sqlite3_reset(s);
			return CACHE_ERR_CORRUPT;
		}
		memcpy(owner, sqlite3_column_blob(s, 0), PEERNET_PUBKEY_BYTES);
		version = (uint64_t)sqlite3_column_int64(s, 1);
		block_iter_init(&it, &b);
		for (i = 0; block_iter_next(&it, &r) == 1; i++) {
			if (r.type != BLOCK_REC_FILE)
				continue;
			if (chain_file_decode(&b, i, &f, &c->scratch) != BLOCK_OK) {
				sqlite3_reset(s);
				return CACHE_ERR_CORRUPT;
			}
			if ((rc = fn(arg, owner, version, &f)) != 0) {
				sqlite3_reset(s);
				return rc;
			}
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? CACHE_OK : cache_dbfail(c);
}

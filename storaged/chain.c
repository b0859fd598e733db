/*
 * chain.c — the node's own blockchain in SQLite (see chain.h).
 *
 * Schema (user_version 1):
 *   header(id = 0, owner, height, version)        the local header of §2.7
 *   blocks(number, raw, size)                      block number -> raw block
 *   files(id, block, rec, hash, size)              index of the file records
 * The files table is derived from the blocks and rewritten with them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "blake3.h"
#include "block.h"
#include "buf.h"
#include "chain.h"
#include "db.h"
#include "ident.h"
#include "loop.h"

enum {
	ST_HDR_GET, ST_HDR_SET, ST_BLK_GET, ST_BLK_PUT, ST_BLK_DEL_FROM,
	ST_BLK_DEL_ALL, ST_BLK_ALL, ST_BLK_STATS, ST_FILE_PUT, ST_FILE_DEL_ALL,
	ST_FILE_GET, ST_FILE_BY_HASH, ST_FILE_STATS,
	ST_COUNT
};

static const char *const chain_sql[ST_COUNT] = {
	[ST_HDR_GET] = "SELECT owner, height, version FROM header WHERE id = 0",
	[ST_HDR_SET] = "UPDATE header SET height = ?1, version = ?2 WHERE id = 0",
	[ST_BLK_GET] = "SELECT raw FROM blocks WHERE number = ?1",
	[ST_BLK_PUT] = "INSERT OR REPLACE INTO blocks(number, raw, size) VALUES (?1, ?2, ?3)",
	[ST_BLK_DEL_FROM] = "DELETE FROM blocks WHERE number >= ?1",
	[ST_BLK_DEL_ALL] = "DELETE FROM blocks",
	[ST_BLK_ALL] = "SELECT number, raw FROM blocks ORDER BY number",
	[ST_BLK_STATS] = "SELECT COUNT(*), COALESCE(MAX(number), -1), "
	    "COALESCE(SUM(size), 0) FROM blocks",
	[ST_FILE_PUT] = "INSERT INTO files(id, block, rec, hash, size) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_FILE_DEL_ALL] = "DELETE FROM files",
	[ST_FILE_GET] = "SELECT block, rec FROM files WHERE id = ?1",
	[ST_FILE_BY_HASH] = "SELECT block, rec FROM files WHERE hash = ?1 "
	    "ORDER BY block, rec",
	[ST_FILE_STATS] = "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files",
};

static const char chain_schema[] =
	"CREATE TABLE header ("
	"  id INTEGER PRIMARY KEY CHECK (id = 0),"
	"  owner BLOB NOT NULL,"
	"  height INTEGER NOT NULL,"
	"  version INTEGER NOT NULL);"
	"CREATE TABLE blocks ("
	"  number INTEGER PRIMARY KEY,"
	"  raw BLOB NOT NULL,"
	"  size INTEGER NOT NULL);"
	"CREATE TABLE files ("
	"  id BLOB PRIMARY KEY,"
	"  block INTEGER NOT NULL,"
	"  rec INTEGER NOT NULL,"
	"  hash BLOB NOT NULL,"
	"  size INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX files_hash ON files(hash);"
	"PRAGMA user_version = 1;";

/* FULL: a commit is advertised at once, so it must survive power loss. */
static const struct db_conf chain_db_conf = {
	.synchronous = "FULL",
	.busy_ms = 5000,
	.wal_required = 1,
};

struct chain_ev {
	int		 kind;
	struct chain_file *f;
};

struct chain {
	struct db	 db;
	uint8_t		 owner[PEERNET_PUBKEY_BYTES];
	chain_sign_fn	 sign;
	void		*sign_arg;
	chain_event_fn	 ev_cb;
	void		*ev_arg;
	chain_clock_fn	 clock;
	void		*clock_arg;
	char		*genesis_name;
	uint64_t	 max_blocks;	/* compaction bound, 0 = none */
	int		 tail_pack;	/* fill the last block across calls */
	/* Committed state; reloaded from the database after a rollback. */
	uint64_t	 height;
	uint64_t	 version;
	uint8_t		 last_hash[BLOCK_HASH_BYTES];
	size_t		 tail_len;	/* size of block height - 1 */
	/*
	 * Block height - 1 may have been read by someone (chain_block): its
	 * bytes must not change under the same (number, version) any more.
	 */
	int		 tail_served;
	/* Block height - 1 is not announced yet (chain_seal); since tail_ms. */
	int		 tail_open;
	uint64_t	 tail_ms;
	int		 announce_grew;	/* announce_height grew outside chain_seal */
	/*
	 * A chain too large for max_blocks even packed: no compaction can pay
	 * before the height reaches skip_height (at version skip_version).
	 */
	uint64_t	 skip_version;
	uint64_t	 skip_height;	/* 0: no such knowledge */
	struct chain_scratch scratch;
};

const char *
chain_strerror(int err)
{
	switch (err) {
	case CHAIN_OK:			return "ok";
	case CHAIN_ERR_ARG:		return "invalid argument";
	case CHAIN_ERR_NOMEM:		return "out of memory";
	case CHAIN_ERR_DB:		return "database error";
	case CHAIN_ERR_SCHEMA:		return "unknown database schema version";
	case CHAIN_ERR_OWNER:		return "database belongs to another key";
	case CHAIN_ERR_CORRUPT:		return "stored blockchain is corrupt";
	case CHAIN_ERR_NOT_FOUND:	return "not found";
	case CHAIN_ERR_NOSPACE:		return "buffer too small";
	case CHAIN_ERR_SIGN:		return "signing failed";
	case CHAIN_ERR_BAD_SIGNATURE:	return "signature does not match the owner key";
	case CHAIN_ERR_TOO_LARGE:	return "record too large for a block";
	case CHAIN_ERR_EXISTS:		return "file ID already exists";
	case CHAIN_ERR_TAG:		return "invalid tag type";
	case CHAIN_ERR_ENCODE:		return "record encoding failed";
	case CHAIN_ERR_CALLBACK:	return "callback failed";
	}
	return "unknown chain error";
}

/* ---- small helpers --------------------------------------------------- */

static int
chain_dbfail(struct chain *c)
{
	(void)db_fail(&c->db);
	return CHAIN_ERR_DB;
}

const char *
chain_last_db_error(struct chain *c)
{
	return c->db.err;
}

static sqlite3_stmt *
stmt(struct chain *c, int i)
{
	return db_stmt(&c->db, i);
}

/* Runs a statement that returns no rows. */
static int
step_done(struct chain *c, sqlite3_stmt *s)
{
	return db_step_done(&c->db, s) == 0 ? CHAIN_OK : CHAIN_ERR_DB;
}

static int64_t
now(struct chain *c)
{
	return c->clock != NULL ? c->clock(c->clock_arg) : (int64_t)time(NULL);
}

void
chain_uuid_v4(uint8_t id[RECORD_FILE_ID_BYTES])
{
	arc4random_buf(id, RECORD_FILE_ID_BYTES);
	id[6] = (id[6] & 0x0f) | 0x40;	/* version 4 */
	id[8] = (id[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
}

static int
id_is_zero(const uint8_t id[RECORD_FILE_ID_BYTES])
{
	static const uint8_t zero[RECORD_FILE_ID_BYTES];

	return memcmp(id, zero, sizeof(zero)) == 0;
}

/* ---- struct chain_file views ----------------------------------------- */

void
chain_scratch_free(struct chain_scratch *s)
{
	free(s->p);
	s->p = NULL;
	s->cap = 0;
}

static int
scratch_reserve(struct chain_scratch *s, size_t n)
{
	uint8_t *p;

	if (n <= s->cap)
		return 0;
	if ((p = realloc(s->p, n)) == NULL)
		return -1;
	s->p = p;
	s->cap = n;
	return 0;
}

#define ALIGN8(n)	(((n) + 7) & ~(size_t)7)

/* Which field a stored tag fills in a view; -1: it goes to tags[]. */
enum { SLOT_NAME, SLOT_FOLDER, SLOT_DESC, SLOT_DATE, SLOT_NONE = -1 };

static int
tag_slot(const struct record_file_tag *t, const int taken[4])
{
	int64_t d;

	switch (t->type) {
	case RECORD_TAG_NAME:
		return taken[SLOT_NAME] ? SLOT_NONE : SLOT_NAME;
	case RECORD_TAG_FOLDER:
		return taken[SLOT_FOLDER] ? SLOT_NONE : SLOT_FOLDER;
	case RECORD_TAG_DESCRIPTION:
		return taken[SLOT_DESC] ? SLOT_NONE : SLOT_DESC;
	case RECORD_TAG_DATE_CREATED:
		/* Only an 8-byte value is a date; anything else is kept raw. */
		if (taken[SLOT_DATE] || record_tag_date(t->data, t->len, &d) != 0)
			return SLOT_NONE;
		return SLOT_DATE;
	}
	return SLOT_NONE;
}

/*
 * The next stored tag (virtual ones are not) and its slot, which is then
 * taken: 1, or 0 after the last.
 */
static int
tag_next_slot(struct record_file_tag_iter *it, struct record_file_tag *t,
    int taken[4], int *slot)
{
	while (record_file_tag_next(it, t) == 1) {
		if (t->is_virtual)
			continue;
		if ((*slot = tag_slot(t, taken)) != SLOT_NONE)
			taken[*slot] = 1;
		return 1;
	}
	return 0;
}

int
chain_file_decode(const struct block *b, uint32_t index, struct chain_file *out,
    struct chain_scratch *s)
{
	struct record_file rf;
	struct record_file_tag_iter it;
	struct record_file_tag t;
	struct chain_tag *tags;
	size_t need, ntags = 0, off;
	uint8_t *p;
	char *str;
	int taken[4] = { 0 }, slot, rc;

	if ((rc = record_file_decode(b, index, &rf)) != BLOCK_OK)
		return rc;
	/* Pass 1: sizes. */
	need = 0;
	record_file_tag_iter_init(&it, &rf);
	while (tag_next_slot(&it, &t, taken, &slot)) {
		if (slot == SLOT_DATE)
			continue;
		if (slot == SLOT_NONE)
			ntags++;
		need += t.len + 1;
	}
	off = ALIGN8(ntags * sizeof(struct chain_tag));
	if (scratch_reserve(s, off + need + 1) != 0)
		return BLOCK_ERR_NOSPACE;

	memset(out, 0, sizeof(*out));
	memcpy(out->id, rf.id, sizeof(out->id));
	memcpy(out->hash, rf.hash, sizeof(out->hash));
	memcpy(out->merkle_root, rf.merkle_root, sizeof(out->merkle_root));
	out->size = rf.size;
	out->fragment_size = rf.fragment_size;
	out->type = rf.type;
	out->format = rf.format;
	out->date_shared = rf.date_shared;
	out->record = index;
	out->block = b->number;

	/* Pass 2: copies. */
	tags = (struct chain_tag *)(void *)s->p;
	p = s->p + off;
	memset(taken, 0, sizeof(taken));
	ntags = 0;
	record_file_tag_iter_init(&it, &rf);
	while (tag_next_slot(&it, &t, taken, &slot)) {
		if (slot == SLOT_DATE) {
			(void)record_tag_date(t.data, t.len, &out->date_created);
			continue;
		}
		if (t.len > 0)
			memcpy(p, t.data, t.len);
		p[t.len] = '\0';
		str = (char *)p;
		p += t.len + 1;
		switch (slot) {
		case SLOT_NAME:
			out->name = str;
			out->name_len = t.len;
			break;
		case SLOT_FOLDER:
			out->folder = str;
			out->folder_len = t.len;
			break;
		case SLOT_DESC:
			out->description = str;
			out->description_len = t.len;
			break;
		default:
			tags[ntags].type = t.type;
			tags[ntags].data = (const uint8_t *)str;
			tags[ntags].len = t.len;
			ntags++;
			break;
		}
	}
	out->tags = ntags > 0 ? tags : NULL;
	out->ntags = ntags;
	return BLOCK_OK;
}

static size_t
str_len(const char *s, size_t len)
{
	if (s == NULL)
		return 0;
	return len != 0 ? len : strlen(s);
}

struct chain_file *
chain_file_dup(const struct chain_file *f)
{
	struct chain_file *d;
	struct chain_tag *tags;
	size_t need, off, i, nl, fl, dl;
	uint8_t *p;

	nl = str_len(f->name, f->name_len);
	fl = str_len(f->folder, f->folder_len);
	dl = str_len(f->description, f->description_len);
	off = ALIGN8(sizeof(*d));
	need = off + ALIGN8(f->ntags * sizeof(struct chain_tag)) + nl + fl + dl + 3;
	for (i = 0; i < f->ntags; i++)
		need += f->tags[i].len + 1;
	if ((d = malloc(need)) == NULL)
		return NULL;
	*d = *f;
	tags = (struct chain_tag *)(void *)((uint8_t *)d + off);
	p = (uint8_t *)tags + ALIGN8(f->ntags * sizeof(struct chain_tag));
#define DUPSTR(field, len) do {						\
	if (f->field != NULL) {						\
		memcpy(p, f->field, len);				\
		p[len] = '\0';						\
		d->field = (const char *)p;				\
		d->field##_len = len;					\
		p += len + 1;						\
	}								\
} while (0)
	DUPSTR(name, nl);
	DUPSTR(folder, fl);
	DUPSTR(description, dl);
#undef DUPSTR
	for (i = 0; i < f->ntags; i++) {
		tags[i].type = f->tags[i].type;
		tags[i].len = f->tags[i].len;
		if (f->tags[i].len > 0)
			memcpy(p, f->tags[i].data, f->tags[i].len);
		p[f->tags[i].len] = '\0';
		tags[i].data = p;
		p += f->tags[i].len + 1;
	}
	d->tags = f->ntags > 0 ? tags : NULL;
	return d;
}

/* ---- transactions and events ----------------------------------------- */

/* An event of the open transaction (db_event_push), delivered after COMMIT. */
static void
ev_deliver(void *arg, void *ev)
{
	struct chain *c = arg;
	struct chain_ev *e = ev;

	c->ev_cb(c->ev_arg, e->kind, e->f);
}

static void
ev_drop(void *ev)
{
	free(((struct chain_ev *)ev)->f);
}

static int
ev_push(struct chain *c, int kind, const struct chain_file *f)
{
	struct chain_ev e = { kind, NULL };

	if (c->ev_cb == NULL)
		return CHAIN_OK;
	if (f != NULL && (e.f = chain_file_dup(f)) == NULL)
		return CHAIN_ERR_NOMEM;
	if (db_event_push(&c->db, &e) != 0) {
		free(e.f);
		return CHAIN_ERR_NOMEM;
	}
	return CHAIN_OK;
}

static int load_state(struct chain *c);

static int
tx_begin(struct chain *c)
{
	return db_begin(&c->db) == 0 ? CHAIN_OK : CHAIN_ERR_DB;
}

static void
tx_rollback(struct chain *c)
{
	db_rollback(&c->db);
	/* The in-memory copy may have moved on; the database has not. */
	(void)load_state(c);
}

/* Commits (rc == 0) or rolls back; a commit delivers its events. */
static int
tx_end(struct chain *c, int rc)
{
	if (rc == CHAIN_OK && db_commit(&c->db) != 0)
		rc = CHAIN_ERR_DB;
	if (rc != CHAIN_OK)
		tx_rollback(c);
	return rc;
}

/*
 * Before a write of n items: 1 with the transaction begun, else what the
 * call returns (CHAIN_ERR_ARG for no items array, CHAIN_OK for nothing to
 * write, or BEGIN's failure).
 */
static int
tx_open(struct chain *c, const void *items, size_t n)
{
	int rc;

	if (c == NULL || (items == NULL && n > 0))
		return CHAIN_ERR_ARG;
	if (n == 0)
		return CHAIN_OK;
	if ((rc = tx_begin(c)) != CHAIN_OK)
		return rc;
	return 1;
}

/* A write of n files as one transaction: fn does it with the lock held. */
static int
tx_files(struct chain *c, struct chain_file *files, size_t n,
    int (*fn)(struct chain *, struct chain_file *, size_t))
{
	int rc;

	if ((rc = tx_open(c, files, n)) != 1)
		return rc;
	return tx_end(c, fn(c, files, n));
}

/* ---- storage primitives ---------------------------------------------- */

/* Block `number` into a malloc'd buffer. */
static int
blk_get(struct chain *c, uint64_t number, uint8_t **raw, size_t *len)
{
	sqlite3_stmt *s = stmt(c, ST_BLK_GET);
	const void *p;
	int rc, n;

	*raw = NULL;
	*len = 0;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)number);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return CHAIN_ERR_NOT_FOUND;
	}
	if (rc != SQLITE_ROW) {
		rc = chain_dbfail(c);
		sqlite3_reset(s);
		return rc;
	}
	p = sqlite3_column_blob(s, 0);
	n = sqlite3_column_bytes(s, 0);
	if ((*raw = malloc(n > 0 ? (size_t)n : 1)) == NULL) {
		sqlite3_reset(s);
		return CHAIN_ERR_NOMEM;
	}
	if (n > 0)
		memcpy(*raw, p, (size_t)n);
	*len = (size_t)n;
	sqlite3_reset(s);
	return CHAIN_OK;
}

static int
hdr_write(struct chain *c)
{
	sqlite3_stmt *s = stmt(c, ST_HDR_SET);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)c->height);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)c->version);
	return step_done(c, s);
}

static int
load_state(struct chain *c)
{
	sqlite3_stmt *s = stmt(c, ST_HDR_GET);
	uint8_t *raw;
	size_t len;
	int rc;

	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = chain_dbfail(c);
		sqlite3_reset(s);
		return rc;
	}
	if (sqlite3_column_bytes(s, 0) != PEERNET_PUBKEY_BYTES ||
	    memcmp(sqlite3_column_blob(s, 0), c->owner, PEERNET_PUBKEY_BYTES) != 0) {
		sqlite3_reset(s);
		return CHAIN_ERR_OWNER;
	}
	c->height = (uint64_t)sqlite3_column_int64(s, 1);
	c->version = (uint64_t)sqlite3_column_int64(s, 2);
	sqlite3_reset(s);
	memset(c->last_hash, 0, sizeof(c->last_hash));
	c->tail_len = 0;
	/* Whoever ran before us may have served it: never rewrite it in place. */
	c->tail_served = 1;
	if (c->tail_open)
		c->announce_grew = 1;	/* a rollback: announce what is stored */
	c->tail_open = 0;
	if (c->height == 0)
		return CHAIN_OK;
	if ((rc = blk_get(c, c->height - 1, &raw, &len)) != CHAIN_OK)
		return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_CORRUPT : rc;
	block_hash(raw, len, c->last_hash);
	c->tail_len = len;
	free(raw);
	return CHAIN_OK;
}

/*
 * Adds the file records of a stored block, from record `from` on, to the
 * index (and events).
 */
static int
index_block(struct chain *c, uint64_t number, const uint8_t *raw, size_t len,
    int ev_kind, uint32_t from)
{
	struct block b;
	struct block_iter it;
	struct block_record r;
	struct record_file rf;
	struct chain_file f;
	sqlite3_stmt *s;
	uint32_t i;
	int rc;

	if (block_decode(raw, len, &b) != BLOCK_OK)
		return CHAIN_ERR_CORRUPT;
	block_iter_init(&it, &b);
	for (i = 0; block_iter_next(&it, &r) == 1; i++) {
		if (r.type != BLOCK_REC_FILE || i < from)
			continue;
		if (record_file_decode(&b, i, &rf) != BLOCK_OK)
			return CHAIN_ERR_CORRUPT;
		s = stmt(c, ST_FILE_PUT);
		sqlite3_bind_blob(s, 1, rf.id, sizeof(rf.id), SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)number);
		sqlite3_bind_int(s, 3, (int)i);
		sqlite3_bind_blob(s, 4, rf.hash, sizeof(rf.hash), SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)rf.size);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc == SQLITE_CONSTRAINT)
			return CHAIN_ERR_EXISTS;
		if (rc != SQLITE_DONE)
			return chain_dbfail(c);
		if (ev_kind == 0 || c->ev_cb == NULL)
			continue;
		if (chain_file_decode(&b, i, &f, &c->scratch) != BLOCK_OK)
			return CHAIN_ERR_CORRUPT;
		if ((rc = ev_push(c, ev_kind, &f)) != CHAIN_OK)
			return rc;
	}
	return CHAIN_OK;
}

/*
 * Encodes records as block `number` (previous hash prev, NULL for zeros)
 * with the current version, has it signed, checks the signature, stores it
 * (replacing a stored block of that number) and indexes its file records
 * from record `from` on.  It becomes the last block: last_hash, tail_len.
 * limit: refuse a block larger than CHAIN_MAX_BLOCK_SIZE (new content only;
 * a rewrite may grow a block by an orphan TagData record and must not fail
 * for it).
 */
static int
store_block(struct chain *c, uint64_t number, const uint8_t *prev,
    const struct block_record *recs, size_t n, int limit, int ev_kind,
    uint32_t from)
{
	sqlite3_stmt *s;
	uint8_t *raw, h[BLOCK_HASH_BYTES], sig[PEERNET_SIG_BYTES];
	size_t size, len;
	int rc;

	if ((rc = block_encoded_size(recs, n, &size)) != BLOCK_OK)
		return rc == BLOCK_ERR_RECORD_TOO_LARGE ? CHAIN_ERR_TOO_LARGE :
		    CHAIN_ERR_ENCODE;
	if (limit && size > CHAIN_MAX_BLOCK_SIZE)
		return CHAIN_ERR_TOO_LARGE;
	if ((raw = malloc(size)) == NULL)
		return CHAIN_ERR_NOMEM;
	if (block_encode(prev, c->version, number, recs, n, raw, size,
	    &len) != BLOCK_OK) {
		free(raw);
		return CHAIN_ERR_ENCODE;
	}
	(void)block_signing_hash(raw, len, h);
	if (c->sign(c->sign_arg, h, sig) != 0) {
		free(raw);
		return CHAIN_ERR_SIGN;
	}
	(void)block_set_signature(raw, len, sig);
	/* A wrong key or a broken signer must not put a foreign block on disk. */
	if (block_verify_owner(raw, len, c->owner) != BLOCK_OK) {
		free(raw);
		return CHAIN_ERR_BAD_SIGNATURE;
	}
	s = stmt(c, ST_BLK_PUT);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)number);
	sqlite3_bind_blob(s, 2, raw, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)len);
	if ((rc = step_done(c, s)) != CHAIN_OK) {
		free(raw);
		return rc;
	}
	rc = index_block(c, number, raw, len, ev_kind, from);
	if (rc == CHAIN_OK) {
		block_hash(raw, len, c->last_hash);
		c->tail_len = len;
	}
	free(raw);
	return rc;
}

/* Records as the new block c->height; a new last block nobody has read. */
static int
append_records(struct chain *c, const struct block_record *recs, size_t n,
    int limit, int ev_kind)
{
	int rc;

	if (n == 0)
		return CHAIN_OK;
	if ((rc = store_block(c, c->height, c->height > 0 ? c->last_hash : NULL,
	    recs, n, limit, ev_kind, 0)) != CHAIN_OK)
		return rc;
	c->height++;
	c->tail_served = 0;
	/* The previous last block is announced now; this one when sealed. */
	c->tail_open = c->tail_pack;
	/* The quiet period of an open last block: monotonic, not the record clock. */
	c->tail_ms = loop_now_ms();
	return hdr_write(c);
}

/*
 * Tail packing (chain.h): block height - 1 again, its records unchanged
 * (dates included) followed by recs, same number, version and previous
 * hash.  Only while nobody has read it (tail_served == 0).
 */
static int
tail_append(struct chain *c, const struct block_record *recs, size_t n,
    int limit, int ev_kind)
{
	struct block b;
	struct block_iter it;
	struct block_record *all;
	uint8_t *raw, prev[BLOCK_HASH_BYTES];
	size_t len, i;
	int rc;

	if (n == 0)
		return CHAIN_OK;
	if (c->height == 0 || c->tail_served)
		return CHAIN_ERR_ARG;
	if ((rc = blk_get(c, c->height - 1, &raw, &len)) != CHAIN_OK)
		return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_CORRUPT : rc;
	if (block_decode(raw, len, &b) != BLOCK_OK || b.version != c->version) {
		free(raw);
		return CHAIN_ERR_CORRUPT;
	}
	if ((size_t)b.record_count + n > BLOCK_MAX_RECORDS) {
		free(raw);
		return CHAIN_ERR_TOO_LARGE;
	}
	if ((all = calloc(b.record_count + n, sizeof(*all))) == NULL) {
		free(raw);
		return CHAIN_ERR_NOMEM;
	}
	block_iter_init(&it, &b);
	for (i = 0; i < b.record_count && block_iter_next(&it, &all[i]) == 1; i++)
		;
	memcpy(all + i, recs, n * sizeof(*recs));
	memcpy(prev, b.prev_hash, sizeof(prev));
	rc = store_block(c, c->height - 1, c->height > 1 ? prev : NULL, all,
	    i + n, limit, ev_kind, (uint32_t)i);
	if (rc == CHAIN_OK && c->tail_open)
		c->tail_ms = loop_now_ms();	/* the quiet period starts again */
	free(all);
	free(raw);
	return rc;
}

/* ---- open / close ---------------------------------------------------- */

static int
open_fail(struct chain *c, int rc, char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0) {
		if (rc == CHAIN_ERR_DB)
			snprintf(err, errlen, "%s: %s", what, c->db.err);
		else
			snprintf(err, errlen, "%s: %s", what, chain_strerror(rc));
	}
	chain_close(c);
	return rc;
}

/* The local header of a new database: height 0, version 0 (§2.7). */
static int
header_init(void *arg, struct db *d)
{
	struct chain *c = arg;
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(d->h, "INSERT INTO header(id, owner, height, "
	    "version) VALUES (0, ?1, 0, 0)", -1, &s, NULL) != SQLITE_OK)
		return db_fail(d);
	sqlite3_bind_blob(s, 1, c->owner, PEERNET_PUBKEY_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_fail(d);
}

/* Creates the schema if the file is new; refuses a newer schema. */
static int
schema_init(struct chain *c)
{
	switch (db_schema_init(&c->db, chain_schema, CHAIN_SCHEMA_VERSION,
	    header_init, c)) {
	case 0:		return CHAIN_OK;
	case -2:	return CHAIN_ERR_SCHEMA;
	default:	return CHAIN_ERR_DB;
	}
}

/* The header, the block rows and the last block agree. */
static int
check_consistency(struct chain *c)
{
	sqlite3_stmt *s = stmt(c, ST_BLK_STATS);
	struct block b;
	uint8_t *raw, pub[PEERNET_PUBKEY_BYTES];
	size_t len;
	int64_t count, max;
	int rc;

	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = chain_dbfail(c);
		sqlite3_reset(s);
		return rc;
	}
	count = sqlite3_column_int64(s, 0);
	max = sqlite3_column_int64(s, 1);
	sqlite3_reset(s);
	if ((uint64_t)count != c->height || max != (int64_t)c->height - 1)
		return CHAIN_ERR_CORRUPT;
	if (c->height == 0)
		return CHAIN_OK;
	if ((rc = blk_get(c, c->height - 1, &raw, &len)) != CHAIN_OK)
		return rc;
	rc = block_verify(raw, len, &b, pub);
	if (rc == BLOCK_OK && (b.number != c->height - 1 ||
	    b.version != c->version ||
	    memcmp(pub, c->owner, PEERNET_PUBKEY_BYTES) != 0))
		rc = BLOCK_ERR_OWNER;
	free(raw);
	return rc == BLOCK_OK ? CHAIN_OK : CHAIN_ERR_CORRUPT;
}

int
chain_open(struct chain **cp, const char *dbpath,
    const uint8_t owner_pub[PEERNET_PUBKEY_BYTES], chain_sign_fn sign,
    void *sign_arg, char *err, size_t errlen)
{
	struct chain *c;
	const char *what;
	int rc;

	if (cp == NULL || dbpath == NULL || owner_pub == NULL || sign == NULL)
		return CHAIN_ERR_ARG;
	*cp = NULL;
	if (ident_pubkey_valid(owner_pub) != 1)
		return CHAIN_ERR_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CHAIN_ERR_NOMEM;
	memcpy(c->owner, owner_pub, PEERNET_PUBKEY_BYTES);
	c->sign = sign;
	c->sign_arg = sign_arg;
	c->max_blocks = CHAIN_DEFAULT_MAX_BLOCKS;
	c->tail_pack = 1;
	if ((c->genesis_name = strdup(CHAIN_GENESIS_NAME)) == NULL)
		return open_fail(c, CHAIN_ERR_NOMEM, err, errlen, dbpath);
	if (db_open(&c->db, dbpath, &chain_db_conf, &what) != 0)
		return open_fail(c, CHAIN_ERR_DB, err, errlen, what);
	db_events_init(&c->db, sizeof(struct chain_ev), ev_deliver, ev_drop, c);
	if ((rc = schema_init(c)) != CHAIN_OK)
		return open_fail(c, rc, err, errlen, dbpath);
	if (db_prepare(&c->db, chain_sql, ST_COUNT, &what) != 0)
		return open_fail(c, CHAIN_ERR_DB, err, errlen, what);
	if ((rc = load_state(c)) != CHAIN_OK)
		return open_fail(c, rc, err, errlen, dbpath);
	if ((rc = check_consistency(c)) != CHAIN_OK)
		return open_fail(c, rc, err, errlen, dbpath);
	*cp = c;
	return CHAIN_OK;
}

void
chain_close(struct chain *c)
{
	if (c == NULL)
		return;
	db_close(&c->db);
	chain_scratch_free(&c->scratch);
	free(c->genesis_name);
	free(c);
}

void
chain_set_event_cb(struct chain *c, chain_event_fn cb, void *arg)
{
	c->ev_cb = cb;
	c->ev_arg = arg;
}

int
chain_set_genesis_name(struct chain *c, const char *name)
{
	char *n;

	if (name == NULL)
		return CHAIN_ERR_ARG;
	if ((n = strdup(name)) == NULL)
		return CHAIN_ERR_NOMEM;
	free(c->genesis_name);
	c->genesis_name = n;
	return CHAIN_OK;
}

void
chain_set_clock(struct chain *c, chain_clock_fn clk, void *arg)
{
	c->clock = clk;
	c->clock_arg = arg;
}

void
chain_set_max_blocks(struct chain *c, uint64_t max)
{
	c->max_blocks = max;
	c->skip_height = 0;
}

void
chain_set_tail_packing(struct chain *c, int on)
{
	c->tail_pack = on != 0;
}

/* ---- file input ------------------------------------------------------ */

/* The encoder's view of caller files: tag arrays and date bytes. */
struct prep {
	struct record_file_in	*in;
	struct record_tag_in	*tags;
	uint8_t			(*dates)[8];
	size_t			 n;
};

static void
prep_free(struct prep *p)
{
	free(p->in);
	free(p->tags);
	free(p->dates);
	memset(p, 0, sizeof(*p));
}

static void
put_tag(struct record_tag_in *t, size_t *k, uint16_t type, const void *data,
    size_t len)
{
	t[*k].type = type;
	t[*k].data = data;
	t[*k].len = len;
	(*k)++;
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, RECORD_FILE_ID_BYTES);
}

static int
file_id_exists(struct chain *c, const uint8_t id[RECORD_FILE_ID_BYTES])
{
	sqlite3_stmt *s = stmt(c, ST_FILE_GET);
	int rc;

	sqlite3_bind_blob(s, 1, id, RECORD_FILE_ID_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return chain_dbfail(c);
}

/*
 * The fixed fields of a file record's encoder input, from a struct
 * chain_file or a decoded struct record_file (their fields share names).
 */
#define FILE_IN_FIXED(in, f) do {					\
	memcpy((in)->hash, (f)->hash, sizeof((in)->hash));		\
	memcpy((in)->id, (f)->id, sizeof((in)->id));			\
	memcpy((in)->merkle_root, (f)->merkle_root, sizeof((in)->merkle_root)); \
	(in)->fragment_size = (f)->fragment_size;			\
	(in)->type = (f)->type;						\
	(in)->format = (f)->format;					\
	(in)->size = (f)->size;						\
} while (0)

/*
 * Checks the input, assigns IDs, refuses duplicates and records that cannot
 * fit a block, and builds the encoder input.
 */
static int
prep_files(struct chain *c, struct chain_file *files, size_t n, struct prep *p)
{
	uint8_t (*ids)[RECORD_FILE_ID_BYTES] = NULL;
	size_t i, j, k, total = 0, l;
	uint64_t sz;
	int rc;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < n; i++) {
		if (files[i].tags == NULL && files[i].ntags > 0)
			return CHAIN_ERR_ARG;
		for (j = 0; j < files[i].ntags; j++) {
			if (files[i].tags[j].type & RECORD_TAG_REF_BIT)
				return CHAIN_ERR_TAG;
			if (files[i].tags[j].data == NULL && files[i].tags[j].len > 0)
				return CHAIN_ERR_ARG;
		}
		total += 4 + files[i].ntags;
	}
	p->n = n;
	p->in = calloc(n ? n : 1, sizeof(*p->in));
	p->tags = calloc(total ? total : 1, sizeof(*p->tags));
	p->dates = calloc(n ? n : 1, sizeof(*p->dates));
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (p->in == NULL || p->tags == NULL || p->dates == NULL || ids == NULL) {
		rc = CHAIN_ERR_NOMEM;
		goto fail;
	}

	for (i = 0; i < n; i++)
		if (id_is_zero(files[i].id))
			chain_uuid_v4(files[i].id);
	for (i = 0; i < n; i++)
		memcpy(ids[i], files[i].id, RECORD_FILE_ID_BYTES);
	qsort(ids, n, sizeof(*ids), id_cmp);
	for (i = 1; i < n; i++)
		if (memcmp(ids[i - 1], ids[i], RECORD_FILE_ID_BYTES) == 0) {
			rc = CHAIN_ERR_EXISTS;
			goto fail;
		}
	for (i = 0; i < n; i++) {
		if ((rc = file_id_exists(c, files[i].id)) != 0) {
			rc = rc == 1 ? CHAIN_ERR_EXISTS : rc;
			goto fail;
		}
	}

	for (i = 0, total = 0; i < n; i++) {
		struct record_file_in *in = &p->in[i];
		struct record_tag_in *t = p->tags + total;
		const struct chain_file *f = &files[i];

		FILE_IN_FIXED(in, f);
		k = 0;
		/* Empty strings are not written (§3.1). */
		if ((l = str_len(f->name, f->name_len)) > 0)
			put_tag(t, &k, RECORD_TAG_NAME, f->name, l);
		if ((l = str_len(f->folder, f->folder_len)) > 0)
			put_tag(t, &k, RECORD_TAG_FOLDER, f->folder, l);
		if ((l = str_len(f->description, f->description_len)) > 0)
			put_tag(t, &k, RECORD_TAG_DESCRIPTION, f->description, l);
		if (f->date_created != 0) {
			buf_put_le64(p->dates[i], (uint64_t)f->date_created);
			put_tag(t, &k, RECORD_TAG_DATE_CREATED, p->dates[i], 8);
		}
		for (j = 0; j < f->ntags; j++) {
			/* The reference drops virtual tags a writer supplies. */
			if (record_tag_is_virtual(f->tags[j].type))
				continue;
			put_tag(t, &k, f->tags[j].type, f->tags[j].data,
			    f->tags[j].len);
		}
		in->tags = t;
		in->ntags = k;
		total += k;
		sz = record_file_size_in_block(in);
		if (sz > CHAIN_MAX_BLOCK_SIZE - BLOCK_HEADER_SIZE) {
			rc = CHAIN_ERR_TOO_LARGE;
			goto fail;
		}
	}
	free(ids);
	return CHAIN_OK;
fail:
	free(ids);
	prep_free(p);
	return rc;
}

/*
 * The greedy packing of §2.8 (AddFiles, ProfileWrite) over record sizes
 * sz[0..n): a record starts a new block when it would take the running size
 * over BLOCK_TARGET_SIZE and the block already holds a record; a record
 * larger than the target gets a block of its own.  The running size starts
 * at the block header (119), or at running0 when the first group may go
 * into the last block of the chain (tail packing; 0: it may not).
 * starts[g] = first record of group g (starts may be NULL); returns the
 * number of groups (n > 0).
 * *grow: group 0 goes into the last block.  *end: running size of the last
 * group.
 */
static size_t
pack_plan(const uint64_t *sz, size_t n, uint64_t running0, size_t *starts,
    int *grow, uint64_t *end)
{
	uint64_t running;
	size_t i, g = 0;
	int used;

	*grow = running0 > 0;
	running = *grow ? running0 : BLOCK_HEADER_SIZE;
	used = *grow;
	if (starts != NULL)
		starts[0] = 0;
	for (i = 0; i < n; i++) {
		if (used && running + sz[i] > BLOCK_TARGET_SIZE) {
			if (i == 0)
				*grow = 0;	/* the last block is full */
			else if (++g, starts != NULL)
				starts[g] = i;
			running = BLOCK_HEADER_SIZE;
		}
		running += sz[i];
		used = 1;
	}
	if (end != NULL)
		*end = running;
	return g + 1;
}

/*
 * Running size to start a packing from: the size of the last block when new
 * records may still go into it, else 0.  Files never go into block 0.
 */
static uint64_t
tail_room(const struct chain *c, int files)
{
	if (!c->tail_pack || c->tail_served || c->height == 0 ||
	    (files && c->height == 1))
		return 0;
	return c->tail_len;
}

/*
 * One block: prefix records (profile), then the file encoder's output for
 * in[0..k) with `date`; file i gets dates[i] instead when dates is given
 * (a compaction keeps them).  grow: into the last block (tail_append).
 */
static int
append_files_block(struct chain *c, const struct block_record *prefix,
    size_t nprefix, const struct record_file_in *in, size_t k, int64_t date,
    const int64_t *dates, int limit, int grow, int ev_kind)
{
	struct block_record *recs;
	uint8_t *buf;
	size_t i, ntags = 0, cap = 0, nrecs, used;
	int rc;

	for (i = 0; i < k; i++) {
		ntags += in[i].ntags;
		cap += (size_t)record_file_size_in_block(&in[i]);
	}
	recs = calloc(nprefix + ntags + k + 1, sizeof(*recs));
	buf = malloc(cap ? cap : 1);
	if (recs == NULL || buf == NULL) {
		free(recs);
		free(buf);
		return CHAIN_ERR_NOMEM;
	}
	if (nprefix > 0)
		memcpy(recs, prefix, nprefix * sizeof(*recs));
	rc = record_files_encode(in, k, date, recs + nprefix, ntags + k, &nrecs,
	    buf, cap, &used);
	/* The encoder puts the k File records last, in input order. */
	for (i = 0; rc == BLOCK_OK && dates != NULL && i < k; i++)
		recs[nprefix + nrecs - k + i].date = dates[i];
	if (rc == BLOCK_OK)
		rc = grow ? tail_append(c, recs, nprefix + nrecs, limit, ev_kind) :
		    append_records(c, recs, nprefix + nrecs, limit, ev_kind);
	else
		rc = rc == BLOCK_ERR_RECORD_TOO_LARGE ? CHAIN_ERR_TOO_LARGE :
		    CHAIN_ERR_ENCODE;
	free(recs);
	free(buf);
	return rc;
}

/* Profile records for fields (data in *bufp, free it). */
static int
profile_records(const struct chain_profile_field *f, size_t n, int64_t date,
    struct block_record *recs, uint8_t **bufp)
{
	size_t i, total = 0, off = 0, len;
	uint8_t *buf;

	for (i = 0; i < n; i++) {
		if (f[i].data == NULL && f[i].len > 0)
			return CHAIN_ERR_ARG;
		if (f[i].len > CHAIN_MAX_BLOCK_SIZE)
			return CHAIN_ERR_TOO_LARGE;
		total += 2 + f[i].len;
	}
	if ((buf = malloc(total ? total : 1)) == NULL)
		return CHAIN_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if (record_profile_encode(f[i].field, f[i].data, f[i].len,
		    buf + off, total - off, &len) != BLOCK_OK) {
			free(buf);
			return CHAIN_ERR_ENCODE;
		}
		recs[i].type = BLOCK_REC_PROFILE;
		recs[i].date = date;
		recs[i].data = buf + off;
		recs[i].len = (uint32_t)len;
		off += len;
	}
	*bufp = buf;
	return CHAIN_OK;
}

/* A new chain starts with a profile block (interoperability note). */
static int
ensure_genesis(struct chain *c, int64_t date)
{
	struct chain_profile_field f;
	struct block_record r;
	uint8_t *buf;
	int rc;

	if (c->height > 0)
		return CHAIN_OK;
	f.field = RECORD_PROFILE_NAME;
	f.data = c->genesis_name;
	f.len = strlen(c->genesis_name);
	if ((rc = profile_records(&f, 1, date, &r, &buf)) != CHAIN_OK)
		return rc;
	rc = append_records(c, &r, 1, 1, 0);
	free(buf);
	return rc;
}

static int compact_if_needed(struct chain *c, const uint64_t *sz, size_t n,
    int files);

static int
add_files_locked(struct chain *c, struct chain_file *files, size_t n)
{
	struct prep p;
	uint64_t *sz = NULL;
	size_t *starts = NULL, i, g, ng, end;
	int64_t date;
	int rc, grow;

	if (n == 0)
		return CHAIN_OK;
	if ((rc = prep_files(c, files, n, &p)) != CHAIN_OK)
		return rc;
	sz = calloc(n, sizeof(*sz));
	starts = calloc(n, sizeof(*starts));
	if (sz == NULL || starts == NULL) {
		rc = CHAIN_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		sz[i] = record_file_size_in_block(&p.in[i]);
	date = now(c);
	if ((rc = compact_if_needed(c, sz, n, 1)) != CHAIN_OK)
		goto out;
	if ((rc = ensure_genesis(c, date)) != CHAIN_OK)
		goto out;
	/* Greedy packing of §2.8 AddFiles, in input order. */
	ng = pack_plan(sz, n, tail_room(c, 1), starts, &grow, NULL);
	for (g = 0; g < ng && rc == CHAIN_OK; g++) {
		end = g + 1 < ng ? starts[g + 1] : n;
		rc = append_files_block(c, NULL, 0, p.in + starts[g],
		    end - starts[g], date, NULL, 1, g == 0 && grow,
		    CHAIN_EV_FILE_ADDED);
	}
	for (i = 0; rc == CHAIN_OK && i < n; i++)
		files[i].date_shared = date;
out:
	free(sz);
	free(starts);
	prep_free(&p);
	return rc;
}

int
chain_add_files(struct chain *c, struct chain_file *files, size_t n)
{
	return tx_files(c, files, n, add_files_locked);
}

int
chain_append_block(struct chain *c, const struct chain_profile_field *prof,
    size_t nprof, struct chain_file *files, size_t nfiles)
{
	struct block_record *precs = NULL;
	struct prep p;
	uint8_t *pbuf = NULL;
	int64_t date;
	size_t i;
	int rc;

	if (c == NULL || (prof == NULL && nprof > 0) ||
	    (files == NULL && nfiles > 0))
		return CHAIN_ERR_ARG;
	if (nprof + nfiles == 0)
		return CHAIN_OK;
	if ((rc = tx_begin(c)) != CHAIN_OK)
		return rc;
	memset(&p, 0, sizeof(p));
	date = now(c);
	if ((precs = calloc(nprof + 1, sizeof(*precs))) == NULL) {
		rc = CHAIN_ERR_NOMEM;
		goto out;
	}
	if ((rc = profile_records(prof, nprof, date, precs, &pbuf)) != CHAIN_OK)
		goto out;
	if (nfiles > 0 && (rc = prep_files(c, files, nfiles, &p)) != CHAIN_OK)
		goto out;
	if (nprof == 0 && (rc = ensure_genesis(c, date)) != CHAIN_OK)
		goto out;
	rc = append_files_block(c, precs, nprof, p.in, nfiles, date, NULL, 1, 0,
	    CHAIN_EV_FILE_ADDED);
	for (i = 0; rc == CHAIN_OK && i < nfiles; i++)
		files[i].date_shared = date;
out:
	prep_free(&p);
	free(pbuf);
	free(precs);
	return tx_end(c, rc);
}

/*
 * The reference's low-level Append (/blockchain/append): records as given,
 * dated now, as one new block.  Not blind: a profile record needs its
 * field number, file records must decode (index_block) and a file record
 * never goes into block 0 (a genesis profile block comes first).
 */
int
chain_append_raw(struct chain *c, struct block_record *recs, size_t n)
{
	int64_t date;
	size_t i;
	int rc, files = 0;

	if (c == NULL || recs == NULL || n == 0 || n > BLOCK_MAX_RECORDS)
		return CHAIN_ERR_ARG;
	for (i = 0; i < n; i++) {
		if (recs[i].type == BLOCK_REC_PROFILE && recs[i].len < 2)
			return CHAIN_ERR_ENCODE;
		files |= recs[i].type == BLOCK_REC_FILE;
	}
	if ((rc = tx_begin(c)) != CHAIN_OK)
		return rc;
	date = now(c);
	for (i = 0; i < n; i++)
		recs[i].date = date;
	if (files)
		rc = ensure_genesis(c, date);
	if (rc == CHAIN_OK)
		rc = append_records(c, recs, n, 1, CHAIN_EV_FILE_ADDED);
	return tx_end(c, rc);
}

/* ---- rewrite ("refactor", §2.8) --------------------------------------- */

/* Predicates: 1 = delete the record, 0 = keep it. */
struct refactor {
	int	(*file)(void *arg, const struct record_file *f);
	int	(*other)(void *arg, const struct block_record *r);
	void	*arg;
};

static int
rec_deleted(const struct refactor *rf, const struct block *b, uint32_t i,
    const struct block_record *r, struct record_file *f)
{
	if (r->type == BLOCK_REC_FILE) {
		if (record_file_decode(b, i, f) != BLOCK_OK)
			return -1;
		return rf->file != NULL && rf->file(rf->arg, f);
	}
	if (r->type == BLOCK_REC_TAG_DATA)
		return 0;
	return rf->other != NULL && rf->other(rf->arg, r);
}

/* Pass 1: how many records the predicates delete. */
static int
refactor_count(struct chain *c, const struct refactor *rf, size_t *matched)
{
	struct block b;
	struct block_iter it;
	struct block_record r;
	struct record_file f;
	uint8_t *raw;
	size_t len;
	uint64_t n;
	uint32_t i;
	int rc, d;

	*matched = 0;
	for (n = 0; n < c->height; n++) {
		if ((rc = blk_get(c, n, &raw, &len)) != CHAIN_OK)
			return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_CORRUPT : rc;
		if (block_decode(raw, len, &b) != BLOCK_OK) {
			free(raw);
			return CHAIN_ERR_CORRUPT;
		}
		block_iter_init(&it, &b);
		for (i = 0; block_iter_next(&it, &r) == 1; i++) {
			if ((d = rec_deleted(rf, &b, i, &r, &f)) < 0) {
				free(raw);
				return CHAIN_ERR_CORRUPT;
			}
			*matched += (size_t)d;
		}
		free(raw);
	}
	return CHAIN_OK;
}

/* The encoder input for a decoded file record: its tags, the virtual one included. */
static int
file_in_from_record(const struct record_file *f, struct record_file_in *in,
    struct record_tag_in **tagsp)
{
	struct record_file_tag_iter it;
	struct record_file_tag t;
	struct record_tag_in *tags;
	size_t n = 0;

	record_file_tag_iter_init(&it, f);
	while (record_file_tag_next(&it, &t) == 1)
		n++;
	if ((tags = calloc(n ? n : 1, sizeof(*tags))) == NULL)
		return CHAIN_ERR_NOMEM;
	n = 0;
	record_file_tag_iter_init(&it, f);
	while (record_file_tag_next(&it, &t) == 1) {
		tags[n].type = t.type;
		tags[n].data = t.data;
		tags[n].len = t.len;
		n++;
	}
	memset(in, 0, sizeof(*in));
	FILE_IN_FIXED(in, f);
	/*
	 * The virtual DateShared tag stays in: the reference passes decoded
	 * files, virtual tag included, to its encoder, where it takes part in
	 * TagData dedup (docs/data.md Appendix B.7).  Kept for identical bytes.
	 */
	in->tags = tags;
	in->ntags = n;
	*tagsp = tags;
	return CHAIN_OK;
}

/* Rewrites block `raw` as the next block of the new chain (or drops it). */
static int
refactor_block(struct chain *c, const struct refactor *rf, const uint8_t *raw,
    size_t len, int64_t date)
{
	struct block b;
	struct block_iter it;
	struct block_record r, *keep = NULL;
	struct record_file f;
	struct record_file_in *fin = NULL;
	struct record_tag_in **ftags = NULL;
	struct chain_file view;
	size_t nkeep = 0, nfin = 0, i, all = 0;
	uint32_t idx;
	int rc = CHAIN_OK, d, changed = 0;

	if (block_decode(raw, len, &b) != BLOCK_OK)
		return CHAIN_ERR_CORRUPT;
	keep = calloc(b.record_count + 1, sizeof(*keep));
	fin = calloc(b.record_count + 1, sizeof(*fin));
	ftags = calloc(b.record_count + 1, sizeof(*ftags));
	if (keep == NULL || fin == NULL || ftags == NULL) {
		rc = CHAIN_ERR_NOMEM;
		goto out;
	}
	/* Kept records other than File/TagData, in order; then the files. */
	block_iter_init(&it, &b);
	for (idx = 0; block_iter_next(&it, &r) == 1; idx++) {
		all++;
		if ((d = rec_deleted(rf, &b, idx, &r, &f)) < 0) {
			rc = CHAIN_ERR_CORRUPT;
			goto out;
		}
		if (d) {
			changed = 1;
			if (r.type == BLOCK_REC_FILE) {
				if (chain_file_decode(&b, idx, &view,
				    &c->scratch) != BLOCK_OK) {
					rc = CHAIN_ERR_CORRUPT;
					goto out;
				}
				if ((rc = ev_push(c, CHAIN_EV_FILE_REMOVED,
				    &view)) != CHAIN_OK)
					goto out;
			}
			continue;
		}
		if (r.type == BLOCK_REC_FILE) {
			if ((rc = file_in_from_record(&f, &fin[nfin],
			    &ftags[nfin])) != CHAIN_OK)
				goto out;
			nfin++;
		} else if (r.type != BLOCK_REC_TAG_DATA)
			keep[nkeep++] = r;
	}
	if (!changed) {
		/* Untouched block: its records exactly, dates included. */
		block_iter_init(&it, &b);
		for (i = 0; i < all && block_iter_next(&it, &keep[i]) == 1; i++)
			;
		rc = append_records(c, keep, all, 0, 0);
	} else if (nkeep + nfin > 0) {
		/* Rebuilt file records get the rewrite's date (§2.8 step 3). */
		rc = append_files_block(c, keep, nkeep, fin, nfin, date, NULL, 0,
		    0, CHAIN_EV_FILE_UPDATED);
	}
out:
	for (i = 0; ftags != NULL && i < nfin; i++)
		free(ftags[i]);
	free(ftags);
	free(fin);
	free(keep);
	return rc;
}

static int
refactor_locked(struct chain *c, const struct refactor *rf, size_t *matched)
{
	uint64_t old_height = c->height, n;
	uint8_t *raw;
	size_t len;
	int64_t date;
	sqlite3_stmt *s;
	int rc;

	if ((rc = refactor_count(c, rf, matched)) != CHAIN_OK || *matched == 0)
		return rc;
	date = now(c);
	/* Every surviving block is re-encoded with version + 1 (§2.8 step 4). */
	c->version++;
	c->height = 0;
	memset(c->last_hash, 0, sizeof(c->last_hash));
	if ((rc = step_done(c, stmt(c, ST_FILE_DEL_ALL))) != CHAIN_OK)
		return rc;
	for (n = 0; n < old_height; n++) {
		/* New block numbers never exceed old ones: n is still unread. */
		if ((rc = blk_get(c, n, &raw, &len)) != CHAIN_OK)
			return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_CORRUPT : rc;
		rc = refactor_block(c, rf, raw, len, date);
		free(raw);
		if (rc != CHAIN_OK)
			return rc;
	}
	s = stmt(c, ST_BLK_DEL_FROM);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)c->height);
	if ((rc = step_done(c, s)) != CHAIN_OK)
		return rc;
	/* Blocks of the new version: nobody can have read them yet. */
	c->tail_served = 0;
	c->tail_open = 0;	/* announce the rewrite whole, at once */
	return hdr_write(c);
}

/* ---- compaction (chain.h, docs/chain.md) ------------------------------ */

/* The records of the whole chain, gathered for a packed rewrite. */
struct compact {
	uint8_t			**raw;		/* old blocks; the views below point into them */
	size_t			*rawlen;
	size_t			 nraw;
	struct block_record	*other;		/* kept records other than File/TagData */
	size_t			 nother;
	struct record_file_in	*fin;		/* the files, in chain order */
	int64_t			*fdate;		/* their record dates (DateShared) */
	size_t			 nfin;
	struct record_tag_in	*tags;		/* the stored tags of all files */
	size_t			 ntags;
};

static void
compact_free(struct compact *k)
{
	size_t i;

	for (i = 0; i < k->nraw; i++)
		free(k->raw[i]);
	free(k->raw);
	free(k->rawlen);
	free(k->other);
	free(k->fin);
	free(k->fdate);
	free(k->tags);
	memset(k, 0, sizeof(*k));
}

/* 1 if the profile record other[i] is superseded by a later one of its field. */
static int
profile_superseded(const struct compact *k, size_t i)
{
	struct record_profile p, q;
	size_t j;

	if (k->other[i].type != BLOCK_REC_PROFILE ||
	    record_profile_decode(&k->other[i], &p) != BLOCK_OK)
		return 0;
	for (j = i + 1; j < k->nother; j++)
		if (k->other[j].type == BLOCK_REC_PROFILE &&
		    record_profile_decode(&k->other[j], &q) == BLOCK_OK &&
		    q.field == p.field)
			return 1;
	return 0;
}

/*
 * One block's records for compact_gather: pass 0 counts them into *nother,
 * *nfin and *ntags; pass 1 fills k (*ntags: the tags pass 0 counted).
 */
static int
compact_block(struct compact *k, const uint8_t *raw, size_t len, int pass,
    size_t *nother, size_t *nfin, size_t *ntags)
{
	struct block b;
	struct block_iter it;
	struct block_record r;
	struct record_file rf;
	struct record_file_tag_iter ti;
	struct record_file_tag t;
	struct record_file_in *in;
	uint32_t idx;

	if (block_decode(raw, len, &b) != BLOCK_OK)
		return CHAIN_ERR_CORRUPT;
	block_iter_init(&it, &b);
	for (idx = 0; block_iter_next(&it, &r) == 1; idx++) {
		if (r.type == BLOCK_REC_TAG_DATA)
			continue;
		if (r.type != BLOCK_REC_FILE) {
			if (pass == 0)
				(*nother)++;
			else
				k->other[k->nother++] = r;
			continue;
		}
		if (record_file_decode(&b, idx, &rf) != BLOCK_OK)
			return CHAIN_ERR_CORRUPT;
		if (pass == 0) {
			(*nfin)++;
			*ntags += rf.tag_count;
			continue;
		}
		in = &k->fin[k->nfin];
		FILE_IN_FIXED(in, &rf);
		in->tags = NULL;
		in->ntags = k->ntags;	/* first tag, fixed up by compact_gather */
		record_file_tag_iter_init(&ti, &rf);
		while (record_file_tag_next(&ti, &t) == 1) {
			if (t.is_virtual || k->ntags == *ntags)
				continue;
			k->tags[k->ntags].type = t.type;
			k->tags[k->ntags].data = t.data;
			k->tags[k->ntags].len = t.len;
			k->ntags++;
		}
		k->fdate[k->nfin] = rf.date_shared;
		k->nfin++;
	}
	return CHAIN_OK;
}

/*
 * Reads every block and collects its records: pass 0 counts, pass 1 fills.
 * Tags are the stored ones with references resolved (the virtual
 * DateShared is not a tag to write: the record date carries it).
 */
static int
compact_gather(struct chain *c, struct compact *k)
{
	size_t nother = 0, nfin = 0, ntags = 0, i, j;
	uint64_t n;
	int pass, rc;

	memset(k, 0, sizeof(*k));
	k->raw = calloc(c->height, sizeof(*k->raw));
	k->rawlen = calloc(c->height, sizeof(*k->rawlen));
	if (k->raw == NULL || k->rawlen == NULL)
		return CHAIN_ERR_NOMEM;
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			k->other = calloc(nother + 1, sizeof(*k->other));
			k->fin = calloc(nfin + 1, sizeof(*k->fin));
			k->fdate = calloc(nfin + 1, sizeof(*k->fdate));
			k->tags = calloc(ntags + 1, sizeof(*k->tags));
			if (k->other == NULL || k->fin == NULL || k->fdate == NULL ||
			    k->tags == NULL)
				return CHAIN_ERR_NOMEM;
		}
		for (n = 0; n < c->height; n++) {
			/* Pass 0 reads each block once. */
			if (pass == 0) {
				if ((rc = blk_get(c, n, &k->raw[n], &k->rawlen[n])) != CHAIN_OK)
					return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_CORRUPT : rc;
				k->nraw++;
			}
			if ((rc = compact_block(k, k->raw[n], k->rawlen[n], pass, &nother,
			    &nfin, &ntags)) != CHAIN_OK)
				return rc;
		}
	}
	/* tags[] is final now: offsets become pointers. */
	for (i = 0; i < k->nfin; i++) {
		size_t first = k->fin[i].ntags;
		size_t last = i + 1 < k->nfin ? k->fin[i + 1].ntags : k->ntags;

		k->fin[i].tags = k->tags + first;
		k->fin[i].ntags = last - first;
	}
	/* Readers take the newest value of a profile field: older ones go. */
	for (i = j = 0; i < k->nother; i++)
		if (!profile_superseded(k, i))
			k->other[j++] = k->other[i];
	k->nother = j;
	return CHAIN_OK;
}

/* Blocks that appending records of sizes sz would add (no compaction). */
static uint64_t
blocks_needed(const struct chain *c, const uint64_t *sz, size_t n, int files)
{
	size_t ng;
	int grow;

	if (n == 0)
		return 0;
	ng = pack_plan(sz, n, tail_room(c, files), NULL, &grow, NULL);
	return (files && c->height == 0) + ng - (size_t)grow;
}

/*
 * Rewrites the chain packed, if that is worth it: with force, whenever the
 * chain gets shorter; else (records of sizes sz about to be appended) when
 * the result, those records included, fits the bound, or at least saves an
 * eighth of it (a chain too large for the bound is not rewritten for every
 * append).
 */
static int
compact_locked(struct chain *c, const uint64_t *sz, size_t n, int files,
    int force, int *done)
{
	struct compact k;
	uint64_t *osz = NULL, *fsz = NULL, oend = 0, fend = 0, before, planned;
	uint64_t tail, gain, min_gain;
	size_t *ostarts = NULL, *fstarts = NULL, nog = 0, nfg = 0, g, s, e, i;
	int64_t date;
	int grow, rc;

	*done = 0;
	if (c->height == 0)
		return CHAIN_OK;
	if ((rc = compact_gather(c, &k)) != CHAIN_OK)
		goto out;
	osz = calloc(k.nother + 1, sizeof(*osz));
	ostarts = calloc(k.nother + 1, sizeof(*ostarts));
	fsz = calloc(k.nfin + 1, sizeof(*fsz));
	fstarts = calloc(k.nfin + 1, sizeof(*fstarts));
	if (osz == NULL || ostarts == NULL || fsz == NULL || fstarts == NULL) {
		rc = CHAIN_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < k.nother; i++)
		osz[i] = BLOCK_RECORD_HEADER_SIZE + (uint64_t)k.other[i].len;
	for (i = 0; i < k.nfin; i++)
		fsz[i] = record_file_size_in_block(&k.fin[i]);
	if (k.nother > 0)
		nog = pack_plan(osz, k.nother, 0, ostarts, &grow, &oend);
	else {
		/* Block 0 must hold a profile record (chain.h). */
		nog = 1;
		oend = BLOCK_HEADER_SIZE + BLOCK_RECORD_HEADER_SIZE + 2 +
		    strlen(c->genesis_name);
	}
	if (k.nfin > 0)
		nfg = pack_plan(fsz, k.nfin, 0, fstarts, &grow, &fend);
	planned = nog + nfg;
	if (force) {
		if (planned >= c->height)
			goto out;
	} else {
		before = c->height + blocks_needed(c, sz, n, files);
		/* The last block after the rewrite takes new records. */
		tail = nfg > 0 ? fend : (files && nog == 1) ? 0 : oend;
		if (n > 0 && c->tail_pack) {
			size_t ng = pack_plan(sz, n, tail, NULL, &grow, NULL);

			planned += ng - (size_t)grow;
		} else if (n > 0)
			planned += pack_plan(sz, n, 0, NULL, &grow, NULL);
		gain = before > planned ? before - planned : 0;
		min_gain = c->max_blocks / 8 > 0 ? c->max_blocks / 8 : 1;
		if (gain == 0 || (planned > c->max_blocks && gain < min_gain)) {
			/*
			 * (before > max_blocks here, so planned > max_blocks.)
			 * Each block appended adds at most 1 to the gain:
			 * do not read the whole chain again before that.
			 */
			c->skip_version = c->version;
			c->skip_height = c->height + (min_gain - gain);
			goto out;
		}
	}

	/* The rewrite (as refactor_locked): new version, blocks from 0. */
	date = now(c);
	c->version++;
	c->height = 0;
	memset(c->last_hash, 0, sizeof(c->last_hash));
	if ((rc = step_done(c, stmt(c, ST_FILE_DEL_ALL))) != CHAIN_OK)
		goto out;
	if (k.nother == 0)
		rc = ensure_genesis(c, date);
	for (g = 0; rc == CHAIN_OK && g < nog && k.nother > 0; g++) {
		s = ostarts[g];
		e = g + 1 < nog ? ostarts[g + 1] : k.nother;
		rc = append_records(c, k.other + s, e - s, 0, 0);
	}
	for (g = 0; rc == CHAIN_OK && g < nfg; g++) {
		s = fstarts[g];
		e = g + 1 < nfg ? fstarts[g + 1] : k.nfin;
		rc = append_files_block(c, NULL, 0, k.fin + s, e - s, date,
		    k.fdate + s, 0, 0, CHAIN_EV_FILE_UPDATED);
	}
	if (rc == CHAIN_OK) {
		sqlite3_stmt *st = stmt(c, ST_BLK_DEL_FROM);

		sqlite3_bind_int64(st, 1, (sqlite3_int64)c->height);
		if ((rc = step_done(c, st)) == CHAIN_OK &&
		    (rc = hdr_write(c)) == CHAIN_OK)
			*done = 1;
		c->tail_open = 0;	/* announce the rewrite whole, at once */
	}
out:
	free(osz);
	free(ostarts);
	free(fsz);
	free(fstarts);
	compact_free(&k);
	return rc;
}

/* Before appending records of sizes sz: compact if the bound would be passed. */
static int
compact_if_needed(struct chain *c, const uint64_t *sz, size_t n, int files)
{
	int done;

	if (c->max_blocks == 0 ||
	    c->height + blocks_needed(c, sz, n, files) <= c->max_blocks)
		return CHAIN_OK;
	if (c->skip_height != 0 && c->skip_version == c->version &&
	    c->height < c->skip_height)
		return CHAIN_OK;
	return compact_locked(c, sz, n, files, 0, &done);
}

int
chain_seal(struct chain *c, int force)
{
	int grew;

	if (c == NULL)
		return 0;
	grew = c->announce_grew;
	c->announce_grew = 0;
	if (c->tail_open && (force || loop_now_ms() - c->tail_ms >= CHAIN_SEAL_MS)) {
		c->tail_open = 0;
		grew = 1;
	}
	return grew;
}

int
chain_compact(struct chain *c, int *done)
{
	int rc, d = 0;

	if (done != NULL)
		*done = 0;
	if (c == NULL)
		return CHAIN_ERR_ARG;
	if ((rc = tx_begin(c)) != CHAIN_OK)
		return rc;
	rc = tx_end(c, compact_locked(c, NULL, 0, 0, 1, &d));
	if (rc == CHAIN_OK && done != NULL)
		*done = d;
	return rc;
}

/*
 * Deletes, in one transaction, the records rf matches out of the n keys;
 * *deleted is how many.
 */
static int
refactor_delete(struct chain *c, const struct refactor *rf, const void *keys,
    size_t n, size_t *deleted)
{
	size_t matched = 0;
	int rc;

	if (deleted != NULL)
		*deleted = 0;
	if ((rc = tx_open(c, keys, n)) != 1)
		return rc;
	rc = tx_end(c, refactor_locked(c, rf, &matched));
	if (rc == CHAIN_OK && deleted != NULL)
		*deleted = matched;
	return rc;
}

struct id_set {
	const uint8_t	(*ids)[RECORD_FILE_ID_BYTES];
	size_t		 n;
};

static int
pred_file_id(void *arg, const struct record_file *f)
{
	const struct id_set *s = arg;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (memcmp(s->ids[i], f->id, RECORD_FILE_ID_BYTES) == 0)
			return 1;
	return 0;
}

int
chain_delete_files(struct chain *c, const uint8_t (*ids)[RECORD_FILE_ID_BYTES],
    size_t n, size_t *deleted)
{
	struct id_set set = { ids, n };
	struct refactor rf = { pred_file_id, NULL, &set };

	return refactor_delete(c, &rf, ids, n, deleted);
}

static int
replace_locked(struct chain *c, struct chain_file *files, size_t n)
{
	uint8_t (*ids)[RECORD_FILE_ID_BYTES];
	struct id_set set;
	struct refactor rf = { pred_file_id, NULL, &set };
	size_t i, k = 0, matched;
	int rc;

	if ((ids = calloc(n ? n : 1, sizeof(*ids))) == NULL)
		return CHAIN_ERR_NOMEM;
	for (i = 0; i < n; i++)
		if (!id_is_zero(files[i].id))
			memcpy(ids[k++], files[i].id, RECORD_FILE_ID_BYTES);
	set.ids = (const uint8_t (*)[RECORD_FILE_ID_BYTES])ids;
	set.n = k;
	rc = k > 0 ? refactor_locked(c, &rf, &matched) : CHAIN_OK;
	free(ids);
	if (rc != CHAIN_OK)
		return rc;
	return add_files_locked(c, files, n);
}

int
chain_replace_files(struct chain *c, struct chain_file *files, size_t n)
{
	return tx_files(c, files, n, replace_locked);
}

int
chain_rename_file(struct chain *c, const uint8_t id[RECORD_FILE_ID_BYTES],
    const char *name)
{
	struct chain_file *f;
	int rc;

	if (c == NULL || id == NULL || name == NULL)
		return CHAIN_ERR_ARG;
	if ((rc = tx_begin(c)) != CHAIN_OK)
		return rc;
	if ((rc = chain_get_file(c, id, &f)) != CHAIN_OK)
		return tx_end(c, rc);
	f->name = name;
	f->name_len = 0;
	rc = replace_locked(c, f, 1);
	free(f);
	return tx_end(c, rc);
}

int
chain_nuke(struct chain *c)
{
	int rc;

	if (c == NULL)
		return CHAIN_ERR_ARG;
	if ((rc = tx_begin(c)) != CHAIN_OK)
		return rc;
	if ((rc = step_done(c, stmt(c, ST_BLK_DEL_ALL))) == CHAIN_OK &&
	    (rc = step_done(c, stmt(c, ST_FILE_DEL_ALL))) == CHAIN_OK) {
		c->height = 0;
		c->version++;
		c->tail_open = 0;
		memset(c->last_hash, 0, sizeof(c->last_hash));
		if ((rc = hdr_write(c)) == CHAIN_OK)
			rc = ev_push(c, CHAIN_EV_CHAIN_RESET, NULL);
	}
	return tx_end(c, rc);
}

/* ---- profile --------------------------------------------------------- */

static int
profile_write_locked(struct chain *c, const struct chain_profile_field *f,
    size_t n)
{
	struct block_record *recs;
	uint8_t *buf = NULL;
	uint64_t *sz;
	size_t i, g, ng, end, *starts;
	int64_t date = now(c);
	int rc, grow;

	for (i = 0; i < n; i++)
		if (BLOCK_HEADER_SIZE + BLOCK_RECORD_HEADER_SIZE + 2 + (uint64_t)f[i].len >
		    CHAIN_MAX_BLOCK_SIZE)
			return CHAIN_ERR_TOO_LARGE;
	recs = calloc(n, sizeof(*recs));
	sz = calloc(n, sizeof(*sz));
	starts = calloc(n, sizeof(*starts));
	if (recs == NULL || sz == NULL || starts == NULL) {
		rc = CHAIN_ERR_NOMEM;
		goto out;
	}
	if ((rc = profile_records(f, n, date, recs, &buf)) != CHAIN_OK)
		goto out;
	/* Same greedy packing as AddFiles, record size 13 + 2 + len. */
	for (i = 0; i < n; i++)
		sz[i] = BLOCK_RECORD_HEADER_SIZE + (uint64_t)recs[i].len;
	if ((rc = compact_if_needed(c, sz, n, 0)) != CHAIN_OK)
		goto out;
	ng = pack_plan(sz, n, tail_room(c, 0), starts, &grow, NULL);
	for (g = 0; g < ng && rc == CHAIN_OK; g++) {
		end = g + 1 < ng ? starts[g + 1] : n;
		rc = g == 0 && grow ?
		    tail_append(c, recs + starts[g], end - starts[g], 1, 0) :
		    append_records(c, recs + starts[g], end - starts[g], 1, 0);
	}
out:
	free(buf);
	free(recs);
	free(sz);
	free(starts);
	return rc;
}

int
chain_profile_write(struct chain *c, const struct chain_profile_field *f,
    size_t n)
{
	int rc;

	if ((rc = tx_open(c, f, n)) != 1)
		return rc;
	return tx_end(c, profile_write_locked(c, f, n));
}

int
chain_profile_set(struct chain *c, uint16_t field, const void *val, size_t len)
{
	struct chain_profile_field f = { field, val, len };

	return chain_profile_write(c, &f, 1);
}

/*
 * Calls fn with every record of type BLOCK_REC_PROFILE (a struct
 * record_profile) or BLOCK_REC_FILE (a struct chain_file) of the own chain,
 * in chain order; stops at the first non-zero return.
 */
static int
record_walk(struct chain *c, uint8_t type, int (*fn)(void *arg, const void *rec),
    void *arg)
{
	sqlite3_stmt *s = stmt(c, ST_BLK_ALL);
	struct record_profile p;
	struct block_iter it;
	struct block_record r;
	struct chain_file f;
	struct block b;
	uint32_t i;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (block_decode(sqlite3_column_blob(s, 1),
		    (size_t)sqlite3_column_bytes(s, 1), &b) != BLOCK_OK) {
			sqlite3_reset(s);
			return CHAIN_ERR_CORRUPT;
		}
		block_iter_init(&it, &b);
		for (i = 0; block_iter_next(&it, &r) == 1; i++) {
			if (r.type != type)
				continue;
			if (type == BLOCK_REC_FILE ?
			    chain_file_decode(&b, i, &f, &c->scratch) != BLOCK_OK :
			    record_profile_decode(&r, &p) != BLOCK_OK)
				rc = CHAIN_ERR_CORRUPT;
			else
				rc = fn(arg, type == BLOCK_REC_FILE ? (const void *)&f :
				    (const void *)&p);
			if (rc != 0) {
				sqlite3_reset(s);
				return rc;
			}
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? CHAIN_OK : chain_dbfail(c);
}

/* Newest value per field, kept sorted by field. */
struct profile_all {
	struct { uint16_t field; uint8_t *val; size_t len; } *v;
	size_t		 n;
};

static int
profile_all_cb(void *arg, const void *rec)
{
	const struct record_profile *p = rec;
	struct profile_all *a = arg;
	uint8_t *val;
	size_t i;
	void *nv;

	if ((val = malloc(p->len ? p->len : 1)) == NULL)
		return CHAIN_ERR_NOMEM;
	if (p->len > 0)
		memcpy(val, p->data, p->len);
	for (i = 0; i < a->n && a->v[i].field < p->field; i++)
		;
	if (i < a->n && a->v[i].field == p->field) {
		free(a->v[i].val);
	} else {
		if ((nv = reallocarray(a->v, a->n + 1, sizeof(*a->v))) == NULL) {
			free(val);
			return CHAIN_ERR_NOMEM;
		}
		a->v = nv;
		memmove(&a->v[i + 1], &a->v[i], (a->n - i) * sizeof(*a->v));
		a->n++;
		a->v[i].field = p->field;
	}
	a->v[i].val = val;
	a->v[i].len = p->len;
	return 0;
}

static void
profile_all_free(struct profile_all *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i].val);
	free(a->v);
}

int
chain_profile_get(struct chain *c, uint16_t field, void *buf, size_t cap,
    size_t *len)
{
	struct profile_all a = { NULL, 0 };
	size_t i;
	int rc;

	if (c == NULL || len == NULL || (buf == NULL && cap > 0))
		return CHAIN_ERR_ARG;
	*len = 0;
	if ((rc = record_walk(c, BLOCK_REC_PROFILE, profile_all_cb, &a)) != CHAIN_OK)
		goto out;
	for (i = 0; i < a.n && a.v[i].field != field; i++)
		;
	if (i == a.n) {
		rc = CHAIN_ERR_NOT_FOUND;
		goto out;
	}
	*len = a.v[i].len;
	if (a.v[i].len > cap) {
		rc = CHAIN_ERR_NOSPACE;
		goto out;
	}
	if (a.v[i].len > 0)
		memcpy(buf, a.v[i].val, a.v[i].len);
out:
	profile_all_free(&a);
	return rc;
}

int
chain_profile_foreach(struct chain *c,
    int (*fn)(void *arg, uint16_t field, const uint8_t *data, size_t len),
    void *arg)
{
	struct profile_all a = { NULL, 0 };
	size_t i;
	int rc;

	if (c == NULL || fn == NULL)
		return CHAIN_ERR_ARG;
	rc = record_walk(c, BLOCK_REC_PROFILE, profile_all_cb, &a);
	for (i = 0; rc == CHAIN_OK && i < a.n; i++)
		rc = fn(arg, a.v[i].field, a.v[i].val, a.v[i].len);
	profile_all_free(&a);
	return rc;
}

struct field_set {
	const uint16_t	*fields;
	size_t		 n;
};

static int
pred_profile_field(void *arg, const struct block_record *r)
{
	const struct field_set *s = arg;
	struct record_profile p;
	size_t i;

	if (r->type != BLOCK_REC_PROFILE ||
	    record_profile_decode(r, &p) != BLOCK_OK)
		return 0;
	for (i = 0; i < s->n; i++)
		if (s->fields[i] == p.field)
			return 1;
	return 0;
}

int
chain_profile_delete(struct chain *c, const uint16_t *fields, size_t n,
    size_t *deleted)
{
	struct field_set set = { fields, n };
	struct refactor rf = { NULL, pred_profile_field, &set };

	return refactor_delete(c, &rf, fields, n, deleted);
}

/* ---- queries --------------------------------------------------------- */

int
chain_info(struct chain *c, struct chain_info *info)
{
	sqlite3_stmt *s;
	int rc;

	if (c == NULL || info == NULL)
		return CHAIN_ERR_ARG;
	memset(info, 0, sizeof(*info));
	info->version = c->version;
	info->height = c->height;
	info->announce_height = c->height - (c->tail_open && c->height > 0);
	s = stmt(c, ST_FILE_STATS);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		info->nfiles = (uint64_t)sqlite3_column_int64(s, 0);
		info->file_bytes = (uint64_t)sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return chain_dbfail(c);
	s = stmt(c, ST_BLK_STATS);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		info->block_bytes = (uint64_t)sqlite3_column_int64(s, 2);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? CHAIN_OK : chain_dbfail(c);
}

struct file_fn {
	int	(*fn)(void *arg, const struct chain_file *f);
	void	*arg;
};

static int
file_cb(void *arg, const void *rec)
{
	const struct file_fn *w = arg;

	return w->fn(w->arg, rec);
}

int
chain_foreach_file(struct chain *c,
    int (*fn)(void *arg, const struct chain_file *f), void *arg)
{
	struct file_fn w = { fn, arg };

	if (c == NULL || fn == NULL)
		return CHAIN_ERR_ARG;
	return record_walk(c, BLOCK_REC_FILE, file_cb, &w);
}

/* The file record at (block, rec) as a malloc'd copy. */
static int
file_at(struct chain *c, uint64_t number, uint32_t rec, struct chain_file **out)
{
	struct block b;
	struct chain_file f;
	uint8_t *raw;
	size_t len;
	int rc;

	if ((rc = blk_get(c, number, &raw, &len)) != CHAIN_OK)
		return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_CORRUPT : rc;
	if (block_decode(raw, len, &b) != BLOCK_OK ||
	    chain_file_decode(&b, rec, &f, &c->scratch) != BLOCK_OK) {
		free(raw);
		return CHAIN_ERR_CORRUPT;
	}
	*out = chain_file_dup(&f);
	free(raw);
	return *out != NULL ? CHAIN_OK : CHAIN_ERR_NOMEM;
}

int
chain_get_file(struct chain *c, const uint8_t id[RECORD_FILE_ID_BYTES],
    struct chain_file **out)
{
	sqlite3_stmt *s;
	uint64_t number;
	uint32_t rec;
	int rc;

	if (c == NULL || id == NULL || out == NULL)
		return CHAIN_ERR_ARG;
	*out = NULL;
	s = stmt(c, ST_FILE_GET);
	sqlite3_bind_blob(s, 1, id, RECORD_FILE_ID_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? CHAIN_ERR_NOT_FOUND : chain_dbfail(c);
	}
	number = (uint64_t)sqlite3_column_int64(s, 0);
	rec = (uint32_t)sqlite3_column_int64(s, 1);
	sqlite3_reset(s);
	return file_at(c, number, rec, out);
}

int
chain_block(struct chain *c, uint64_t number, uint8_t *buf, size_t cap,
    size_t *len)
{
	uint8_t *raw;
	size_t n;
	int rc;

	if (c == NULL || len == NULL || (buf == NULL && cap > 0))
		return CHAIN_ERR_ARG;
	*len = 0;
	if (number >= c->height)
		return CHAIN_ERR_NOT_FOUND;
	if ((rc = blk_get(c, number, &raw, &n)) != CHAIN_OK)
		return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_CORRUPT : rc;
	*len = n;
	if (n > cap)
		rc = CHAIN_ERR_NOSPACE;
	else {
		memcpy(buf, raw, n);
		/* Someone may now hold these bytes: no more tail packing. */
		if (number == c->height - 1) {
			c->tail_served = 1;
			if (c->tail_open) {
				c->tail_open = 0;
				c->announce_grew = 1;
			}
		}
	}
	free(raw);
	return rc;
}

int
chain_find_hash(struct chain *c, const uint8_t hash[BLOCK_HASH_BYTES],
    int (*fn)(void *arg, const struct chain_file *f), void *arg)
{
	struct chain_file *f;
	uint64_t *pos = NULL, *np;
	size_t n = 0, i;
	sqlite3_stmt *s;
	int rc;

	if (c == NULL || hash == NULL || fn == NULL)
		return CHAIN_ERR_ARG;
	/* Collect the positions first: fn may call back into the chain. */
	s = stmt(c, ST_FILE_BY_HASH);
	sqlite3_bind_blob(s, 1, hash, BLOCK_HASH_BYTES, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((np = reallocarray(pos, 2 * (n + 1), sizeof(*pos))) == NULL) {
			sqlite3_reset(s);
			free(pos);
			return CHAIN_ERR_NOMEM;
		}
		pos = np;
		pos[2 * n] = (uint64_t)sqlite3_column_int64(s, 0);
		pos[2 * n + 1] = (uint64_t)sqlite3_column_int64(s, 1);
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(pos);
		return chain_dbfail(c);
	}
	for (i = 0, rc = CHAIN_OK; i < n && rc == CHAIN_OK; i++) {
		if ((rc = file_at(c, pos[2 * i], (uint32_t)pos[2 * i + 1], &f)) !=
		    CHAIN_OK)
			break;
		rc = fn(arg, f);
		free(f);
	}
	free(pos);
	return rc;
}

int
chain_hash_referenced(struct chain *c, const uint8_t hash[BLOCK_HASH_BYTES])
{
	sqlite3_stmt *s;
	int rc;

	if (c == NULL || hash == NULL)
		return CHAIN_ERR_ARG;
	s = stmt(c, ST_FILE_BY_HASH);
	sqlite3_bind_blob(s, 1, hash, BLOCK_HASH_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : chain_dbfail(c);
}

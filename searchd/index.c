/*
 * index.c — the keyword index over SQLite (see index.h for the design and
 * the measurements behind it).
 *
 * Schema:
 *   owner(id, key)            chain owners, so file rows carry a small int
 *   file(id, owner, fid, ...) one row per (owner, file ID); kws holds the
 *                             row's 8-byte keyword keys (the reference's
 *                             "reverse records") so removal needs no
 *                             second index over the postings, then the
 *                             key of its content hash (see below)
 *   posting(k, file)          WITHOUT ROWID, primary key (k, file): the
 *                             postings of rows id <= meta 'merged'
 *   meta('merged')            the merge mark: the postings of rows with a
 *                             larger id are the delta, kept in memory only
 *                             (sorted runs) and rebuilt from their rows'
 *                             kws at open and after a rollback
 *
 * Row ids are handed out here, in increasing order and never twice in one
 * process, so every delta row is newer than every merged one and a stale
 * delta posting (its row deleted) can never point at another row.
 *
 * The content hash is one more posting of its row (key: the hash's first
 * 8 bytes, last in kws), so that the owners of a content are found like
 * a keyword's rows (idx_hash_owners) and the lookup costs no index of its
 * own: an SQLite index on file(hash, owner) is written at random places
 * (the reason the postings have a delta): bench_search ingest fell to
 * 39,100 rec/s in the one run tried (77,200 before; shared machine).  The
 * lookup compares the whole hash, and a
 * keyword query meets a content key only if 64 bits of two BLAKE3 hashes
 * agree (index.h).  idx_count() leaves these postings out.
 *
 * Every value reaches SQLite through a bound parameter: terms never become
 * SQL text, so SQL or FTS metacharacters in a query are plain bytes.
 */
#define _GNU_SOURCE	/* qsort_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "blake3.h"
#include "db.h"
#include "index.h"
#include "keywords.h"
#include "loop.h"

#define IDX_SCHEMA_VERSION	3	/* 3: content-hash postings */
/*
 * Bytes of the database file read through mmap (SQLite clamps it to its
 * compile-time maximum, 2 GB on Debian).  A query reads ~1,100 rows at
 * random rowids; through read() each missing page is a system call and a
 * copy (a quarter of a query's time at 1,000,000 records), through the
 * map it is a memory access to the kernel's page cache.  searchd is the
 * file's only user, so nobody truncates it under the map.
 */
#define IDX_MMAP_SIZE		"4294967296"

enum {
	ST_OWNER_GET,
	ST_OWNER_ADD,
	ST_OWNER_KEY,
	ST_OWNER_DEL,
	ST_FILE_FIND,
	ST_FILE_ADD,
	ST_FILE_DEL,
	ST_OWNER_FILES,
	ST_OWNER_DEL_FILES,
	ST_POST_DEL,
	ST_MERGED_GET,
	ST_MERGED_SET,
	ST_DELTA_ROWS,
	ST_MAX_ID,
	ST_LOOKUP_MAIN,
	ST_LOOKUP_MAIN_NAME,
	ST_LOOKUP_DELTA,
	ST_LOOKUP_DELTA_NAME,
	ST_MERGE,
	ST_ROW_META,
	ST_POST_MAIN,
	ST_POST_DELTA,
	ST_ROW_EMIT,
	ST_ROW_IDS,
	ST_ROW_SCAN,
	ST_DELTA_COUNT,
	ST_COUNT
};

static const char *const sql_text[ST_COUNT] = {
	[ST_OWNER_GET] = "SELECT id FROM owner WHERE key = ?1",
	[ST_OWNER_ADD] = "INSERT INTO owner(key) VALUES (?1)",
	[ST_OWNER_KEY] = "SELECT key FROM owner WHERE id = ?1",
	[ST_OWNER_DEL] = "DELETE FROM owner WHERE id = ?1",
	[ST_FILE_FIND] = "SELECT id, kws FROM file WHERE owner = ?1 AND fid = ?2",
	[ST_FILE_ADD] = "INSERT INTO file(owner, fid, hash, size, type, format,"
	    " date, version, block, kws, name, folder, description, id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14)",
	[ST_FILE_DEL] = "DELETE FROM file WHERE id = ?1",
	[ST_OWNER_FILES] = "SELECT id, kws FROM file WHERE owner = ?1",
	[ST_OWNER_DEL_FILES] = "DELETE FROM file WHERE owner = ?1",
	[ST_POST_DEL] = "DELETE FROM posting WHERE k = ?1 AND file = ?2",
	[ST_MERGED_GET] = "SELECT v FROM meta WHERE k = 'merged'",
	[ST_MERGED_SET] = "INSERT OR REPLACE INTO meta(k, v) VALUES ('merged', ?1)",
	[ST_DELTA_ROWS] = "SELECT id, kws FROM file WHERE id > ?1 ORDER BY id",
	[ST_MAX_ID] = "SELECT max(id) FROM file",
	/* the delta's runs are sorted: one ordered pass into the B-tree */
	[ST_MERGE] = "INSERT OR IGNORE INTO posting(k, file)"
	    " SELECT k, file FROM idx_delta",
	/*
	 * A keyword's postings joined with the columns that filters, merging
	 * and sorting need, in one statement: one B-tree walk per keyword
	 * instead of one statement per candidate row.  LEFT JOIN: a posting
	 * without its row still counts as a candidate (and is then dropped).
	 * The main table's rows come first, in file order, then the delta's
	 * (newer rows, also in file order): the arrival order the sorts are
	 * stable over.
	 */
#define LOOKUP_COLS " f.owner, f.fid, f.hash, f.size, f.type," \
	    " f.format, f.date, f.version, f.block"
	[ST_LOOKUP_MAIN] = "SELECT p.file," LOOKUP_COLS " FROM posting p"
	    " LEFT JOIN file f ON f.id = p.file WHERE p.k = ?1 ORDER BY p.file",
	[ST_LOOKUP_MAIN_NAME] = "SELECT p.file," LOOKUP_COLS
	    ", substr(f.name, 1, 128) FROM posting p LEFT JOIN file f"
	    " ON f.id = p.file WHERE p.k = ?1 ORDER BY p.file",
	/* the same columns for one row of the delta */
	[ST_LOOKUP_DELTA] = "SELECT d.file," LOOKUP_COLS " FROM idx_delta d"
	    " LEFT JOIN file f ON f.id = d.file WHERE d.k = ?1",
	[ST_LOOKUP_DELTA_NAME] = "SELECT d.file," LOOKUP_COLS
	    ", substr(f.name, 1, 128) FROM idx_delta d LEFT JOIN file f"
	    " ON f.id = d.file WHERE d.k = ?1",
#undef LOOKUP_COLS
	[ST_DELTA_COUNT] = "SELECT count(*) FROM file WHERE id > ?1",
	/*
	 * The row-cache query path (struct rmeta): a keyword's postings
	 * without their rows, in the same order as ST_LOOKUP_*; the rows'
	 * other columns are read only for the results delivered.
	 */
	[ST_POST_MAIN] = "SELECT file FROM posting WHERE k = ?1 ORDER BY file",
	[ST_POST_DELTA] = "SELECT file FROM idx_delta WHERE k = ?1",
	[ST_ROW_EMIT] = "SELECT name, folder, description, fid, version, block"
	    " FROM file WHERE id = ?1",
	[ST_ROW_IDS] = "SELECT fid, version, block FROM file WHERE id = ?1",
	[ST_ROW_SCAN] = "SELECT id, owner, hash, size, type, format, date"
	    " FROM file ORDER BY id",
	[ST_ROW_META] = "SELECT size, substr(name, 1, ?2) FROM file WHERE id = ?1",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS owner(id INTEGER PRIMARY KEY,"
	" key BLOB NOT NULL UNIQUE);"
	"CREATE TABLE IF NOT EXISTS file(id INTEGER PRIMARY KEY,"
	" owner INTEGER NOT NULL, fid BLOB NOT NULL, hash BLOB NOT NULL,"
	" size INTEGER NOT NULL, type INTEGER NOT NULL, format INTEGER NOT NULL,"
	" date INTEGER NOT NULL, version INTEGER NOT NULL, block INTEGER NOT NULL,"
	" kws BLOB NOT NULL, name BLOB NOT NULL, folder BLOB NOT NULL,"
	" description BLOB NOT NULL);"
	/* (owner, fid) clusters per chain: inserts stay local to an owner */
	"CREATE INDEX IF NOT EXISTS file_owner ON file(owner, fid);"
	"CREATE TABLE IF NOT EXISTS posting(k INTEGER NOT NULL,"
	" file INTEGER NOT NULL, PRIMARY KEY (k, file)) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO meta(k, v) VALUES ('schema', 3);";

_Static_assert(IDX_SCHEMA_VERSION == 3, "schema_sql writes version 3");

/*
 * A posting.  In the delta runs `file` is (row id << 1) | dead: a removed
 * row's delta postings are marked, not moved, so the run stays sorted by
 * (k, row id) and binary searches still find them.
 */
struct post {
	int64_t	k;
	int64_t	file;
};

#define POST_ID(p)	((p)->file >> 1)
#define POST_DEAD(p)	((p)->file & 1)

/* One sorted run of delta postings; later runs hold newer rows only. */
struct run {
	struct post	*p;
	size_t		 n;
};

#define IDX_MAX_RUNS	64

#define OWNER_CACHE	4096	/* direct-mapped owner id -> key (queries) */

struct owner_slot {
	int64_t	id;
	uint8_t	key[IDX_OWNER_LEN];
};

struct idx {
	struct db	 db;
	int		 in_batch;
	/* ingest */
	struct kw_set	 set;
	char		*arena;
	size_t		 arena_cap;
	struct post	*post;
	size_t		 npost;
	struct run	 runs[IDX_MAX_RUNS];
	int		 nruns;
	uint64_t	 ndelta;	/* live postings in the runs */
	int64_t		 merged;	/* rows id <= merged: postings in main */
	int64_t		 next_id;	/* id of the next row added */
	int		 last_owner_valid;
	int64_t		 last_owner_id;
	uint8_t		 last_owner[IDX_OWNER_LEN];
	/* queries */
	struct owner_slot ocache[OWNER_CACHE];
	/*
	 * Row cache: the columns that filters, merging and sorts (all but
	 * the name sorts) need, per row id from meta_base on, so that a
	 * query reads only postings and then the rows it delivers (rmeta).
	 */
	struct rmeta	*meta;
	size_t		 meta_n, meta_cap;
	int64_t		 meta_base;
	int		 meta_ok;
	int		 meta_nobuild;	/* a build failed: not per query */
};

/*
 * One row in the row cache.  A query of ~1,100 candidate rows spent most
 * of its time in the rowid lookup of each candidate (B-tree descents
 * into a 1,000,000-row file table); the cache costs 56 bytes per row of
 * memory and one table scan at the first query after idx_open (an index
 * created empty keeps it up to date from the start).  Any rollback drops
 * it (it is rebuilt at the next query); a failed allocation drops it and
 * queries then read the rows as before.
 */
struct rmeta {
	uint8_t		hash[IDX_HASH_LEN];
	int64_t		date;
	uint64_t	size;
	uint32_t	oid;
	uint16_t	format;
	uint8_t		type;
	uint8_t		live;
};

/* ---- helpers ---------------------------------------------------------- */

static int
idx_dbfail(struct idx *idx)
{
	(void)db_fail(&idx->db);
	return IDX_E_DB;
}

static sqlite3_stmt *
stmt(struct idx *idx, int i)
{
	return db_stmt(&idx->db, i);
}

static int
step_done(struct idx *idx, sqlite3_stmt *s)
{
	return db_step_done(&idx->db, s) == 0 ? IDX_OK : IDX_E_DB;
}

static int64_t
key_of(const uint8_t hash[KW_HASH_LEN])
{
	uint64_t v = 0;
	int i;

	/* big-endian, so the key order is the hash order */
	for (i = 0; i < 8; i++)
		v = (v << 8) | hash[i];
	return (int64_t)v;
}

const char *
idx_errmsg(const struct idx *idx)
{
	return idx != NULL ? idx->db.err : "no index";
}

const char *
idx_strerror(int err)
{
	switch (err) {
	case IDX_OK:		return "ok";
	case IDX_E_ARG:		return "invalid argument";
	case IDX_E_DB:		return "database error";
	case IDX_E_NOMEM:	return "out of memory";
	case IDX_E_TOOLONG:	return "input too long";
	case IDX_E_NOTFOUND:	return "not found";
	case IDX_E_SCHEMA:	return "incompatible index schema";
	case IDX_E_STATE:	return "not allowed in this state";
	}
	return "unknown error";
}

/*
 * idx_delta: the delta runs as a virtual table (k, file), so that a
 * keyword's delta postings are joined with their rows in one statement,
 * like the main table's, and the merge is one INSERT ... SELECT: one
 * sqlite3_step per posting cost 2 us, twice the insert itself.  With
 * "k = ?" it visits that key's range in each run (oldest run first, so
 * row ids ascend); without, every live posting run by run (the merge
 * joins the runs into one first, so then in key order).
 */
struct dvtab {
	sqlite3_vtab	 base;
	struct idx	*idx;
};

struct dcur {
	sqlite3_vtab_cursor base;
	struct idx	*idx;
	int		 keyed;
	int64_t		 k;
	int		 run;
	size_t		 pos;
	int64_t		 rowid;
};

static size_t	run_lower(const struct run *r, int64_t k);

static int
dv_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
    sqlite3_vtab **out, char **err)
{
	struct dvtab *t;
	int rc;

	(void)argc;
	(void)argv;
	(void)err;
	if ((rc = sqlite3_declare_vtab(db,
	    "CREATE TABLE x(k INTEGER, file INTEGER)")) != SQLITE_OK)
		return rc;
	if ((t = sqlite3_malloc(sizeof(*t))) == NULL)
		return SQLITE_NOMEM;
	memset(t, 0, sizeof(*t));
	t->idx = aux;
	*out = &t->base;
	return SQLITE_OK;
}

static int
dv_disconnect(sqlite3_vtab *vt)
{
	sqlite3_free(vt);
	return SQLITE_OK;
}

static int
dv_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	int i;

	(void)vt;
	info->idxNum = 0;
	info->estimatedCost = 1e6;
	for (i = 0; i < info->nConstraint; i++)
		if (info->aConstraint[i].usable &&
		    info->aConstraint[i].iColumn == 0 &&
		    info->aConstraint[i].op == SQLITE_INDEX_CONSTRAINT_EQ) {
			info->aConstraintUsage[i].argvIndex = 1;
			info->aConstraintUsage[i].omit = 1;
			info->idxNum = 1;
			info->estimatedCost = 10;
			break;
		}
	return SQLITE_OK;
}

static int
dv_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	struct dcur *c;

	if ((c = sqlite3_malloc(sizeof(*c))) == NULL)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	c->idx = ((struct dvtab *)vt)->idx;
	*out = &c->base;
	return SQLITE_OK;
}

static int
dv_close(sqlite3_vtab_cursor *cur)
{
	sqlite3_free(cur);
	return SQLITE_OK;
}

/* Moves to the first live posting at or after (run, pos). */
static void
dv_settle(struct dcur *c)
{
	const struct run *r;

	while (c->run < c->idx->nruns) {
		r = &c->idx->runs[c->run];
		while (c->pos < r->n && (!c->keyed || r->p[c->pos].k == c->k)) {
			if (!POST_DEAD(&r->p[c->pos]))
				return;
			c->pos++;
		}
		if (++c->run < c->idx->nruns)
			c->pos = c->keyed ? run_lower(&c->idx->runs[c->run],
			    c->k) : 0;
	}
}

static int
dv_filter(sqlite3_vtab_cursor *cur, int num, const char *str, int argc,
    sqlite3_value **argv)
{
	struct dcur *c = (struct dcur *)cur;

	(void)str;
	c->keyed = num == 1 && argc == 1;
	c->k = c->keyed ? sqlite3_value_int64(argv[0]) : 0;
	c->run = 0;
	c->rowid = 0;
	c->pos = 0;
	if (c->keyed && c->idx->nruns > 0)
		c->pos = run_lower(&c->idx->runs[0], c->k);
	dv_settle(c);
	return SQLITE_OK;
}

static int
dv_next(sqlite3_vtab_cursor *cur)
{
	struct dcur *c = (struct dcur *)cur;

	c->pos++;
	c->rowid++;
	dv_settle(c);
	return SQLITE_OK;
}

static int
dv_eof(sqlite3_vtab_cursor *cur)
{
	struct dcur *c = (struct dcur *)cur;

	return c->run >= c->idx->nruns;
}

static int
dv_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct dcur *c = (struct dcur *)cur;
	const struct post *p = &c->idx->runs[c->run].p[c->pos];

	sqlite3_result_int64(ctx, col == 0 ? p->k : POST_ID(p));
	return SQLITE_OK;
}

static int
dv_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = ((struct dcur *)cur)->rowid;
	return SQLITE_OK;
}

static const sqlite3_module delta_module = {
	.iVersion = 0,
	.xCreate = NULL,	/* eponymous only: "FROM idx_delta" */
	.xConnect = dv_connect,
	.xBestIndex = dv_best_index,
	.xDisconnect = dv_disconnect,
	.xDestroy = dv_disconnect,
	.xOpen = dv_open,
	.xClose = dv_close,
	.xFilter = dv_filter,
	.xNext = dv_next,
	.xEof = dv_eof,
	.xColumn = dv_column,
	.xRowid = dv_rowid,
};

static int	delta_load(struct idx *);
static void	runs_free(struct idx *);

/* ---- the row cache (struct rmeta) ---------------------------------------- */

static void
meta_drop(struct idx *idx)
{
	free(idx->meta);
	idx->meta = NULL;
	idx->meta_n = idx->meta_cap = 0;
	idx->meta_ok = 0;
}

/* An empty, valid cache whose first row will be `base`. */
static void
meta_reset(struct idx *idx, int64_t base)
{
	idx->meta_n = 0;
	idx->meta_base = base;
	idx->meta_ok = 1;
	idx->meta_nobuild = 0;
}

/* Records row `rowid`; drops the cache when it cannot hold it. */
static void
meta_set(struct idx *idx, int64_t rowid, int64_t oid, const uint8_t *hash,
    uint64_t size, int type, int format, int64_t date)
{
	struct rmeta *m;
	size_t i, ncap;

	if (!idx->meta_ok)
		return;
	if (rowid < idx->meta_base || oid <= 0 || oid > (int64_t)UINT32_MAX ||
	    rowid - idx->meta_base >= (int64_t)(UINT32_MAX / 2)) {
		meta_drop(idx);
		return;
	}
	i = (size_t)(rowid - idx->meta_base);
	if (i >= idx->meta_cap) {
		ncap = idx->meta_cap ? idx->meta_cap : 4096;
		while (ncap <= i)
			ncap *= 2;
		if ((m = reallocarray(idx->meta, ncap, sizeof(*m))) == NULL) {
			meta_drop(idx);
			return;
		}
		idx->meta = m;
		idx->meta_cap = ncap;
	}
	if (i >= idx->meta_n) {
		memset(&idx->meta[idx->meta_n], 0,
		    (i + 1 - idx->meta_n) * sizeof(*idx->meta));
		idx->meta_n = i + 1;
	}
	m = &idx->meta[i];
	memcpy(m->hash, hash, IDX_HASH_LEN);
	m->date = date;
	m->size = size;
	m->oid = (uint32_t)oid;
	m->format = (uint16_t)format;
	m->type = (uint8_t)type;
	m->live = 1;
}

static void
meta_kill(struct idx *idx, int64_t rowid)
{
	if (idx->meta_ok && rowid >= idx->meta_base &&
	    rowid - idx->meta_base < (int64_t)idx->meta_n)
		idx->meta[rowid - idx->meta_base].live = 0;
}

/* The cached row, or NULL when there is no such row. */
static const struct rmeta *
meta_get(const struct idx *idx, int64_t rowid)
{
	const struct rmeta *m;

	if (rowid < idx->meta_base ||
	    rowid - idx->meta_base >= (int64_t)idx->meta_n)
		return NULL;
	m = &idx->meta[rowid - idx->meta_base];
	return m->live ? m : NULL;
}

/*
 * Fills the cache from the file table (inside the caller's transaction).
 * A failure leaves it dropped: queries then read the rows.
 */
static int
meta_build(struct idx *idx)
{
	sqlite3_stmt *s = stmt(idx, ST_ROW_SCAN);
	int rc, first = 1;

	meta_drop(idx);
	meta_reset(idx, idx->next_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		uint8_t h[IDX_HASH_LEN];

		if (first) {
			idx->meta_base = id;
			first = 0;
		}
		if ((size_t)sqlite3_column_bytes(s, 2) == IDX_HASH_LEN)
			memcpy(h, sqlite3_column_blob(s, 2), IDX_HASH_LEN);
		else
			memset(h, 0, IDX_HASH_LEN);
		meta_set(idx, id, sqlite3_column_int64(s, 1), h,
		    (uint64_t)sqlite3_column_int64(s, 3),
		    sqlite3_column_int(s, 4), sqlite3_column_int(s, 5),
		    sqlite3_column_int64(s, 6));
		if (!idx->meta_ok)
			break;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		meta_drop(idx);
		rc = idx_dbfail(idx);
	} else
		rc = idx->meta_ok ? IDX_OK : IDX_E_NOMEM;
	/* until idx_clear or idx_open: not one table scan per query */
	idx->meta_nobuild = !idx->meta_ok;
	return rc;
}

/* ---- open / close ---------------------------------------------------- */

/*
 * WAL + NORMAL: a crash loses at most the last transactions, never
 * consistency, and the index can be rebuilt from storaged anyway.  A
 * larger autocheckpoint keeps bulk ingest from fsyncing every 4 MB.
 *
 * Exclusive locking: searchd is the only process that opens its index
 * (one owner per piece of state), so SQLite can skip the per-statement
 * file locks and keep the WAL index in heap memory instead of -shm (and
 * no busy timeout: nobody else takes the lock).
 *
 * page_size applies to a new database only (before WAL and the first
 * table): 16 KiB pages made 1,000,000-record ingest ~7% less CPU than
 * 4 KiB (fewer, fuller B-tree pages per merge).  A 256 MiB cache keeps
 * the delta and the upper main-table pages resident across batches
 * (64 MiB: 30,500 rec/s, 256 MiB: 42,700 in one run).
 *
 * WAL is not required: ":memory:" stays in its own journal mode.
 */
static const struct db_conf idx_db_conf = {
	.synchronous = "NORMAL",
	.before_wal = "PRAGMA page_size=16384; PRAGMA locking_mode=EXCLUSIVE;",
	.after = "PRAGMA cache_size=-262144; PRAGMA temp_store=MEMORY;"
	    " PRAGMA wal_autocheckpoint=16384;"
	    " PRAGMA mmap_size=" IDX_MMAP_SIZE ";",
};

int
idx_open(struct idx **out, const char *path)
{
	struct idx *idx;
	sqlite3_stmt *s;
	sqlite3_int64 ver = -1;
	const char *what;
	int rc = IDX_E_DB;

	if (out == NULL || path == NULL)
		return IDX_E_ARG;
	*out = NULL;
	if ((idx = calloc(1, sizeof(*idx))) == NULL)
		return IDX_E_NOMEM;
	idx->arena_cap = KW_INDEX_ARENA_SIZE(256, 256, 1024);
	idx->arena = malloc(idx->arena_cap);
	idx->post = malloc(IDX_POST_BUF * sizeof(*idx->post));
	if (idx->arena == NULL || idx->post == NULL) {
		rc = IDX_E_NOMEM;
		goto fail;
	}
	kw_set_init(&idx->set, idx->arena, idx->arena_cap);
	if (db_open(&idx->db, path, &idx_db_conf, NULL) != 0 ||
	    db_exec(&idx->db, schema_sql) != 0 ||
	    db_query_int64(&idx->db, "SELECT v FROM meta WHERE k='schema'",
	    &ver) != 0)
		goto dbfail;
	if (ver != IDX_SCHEMA_VERSION) {
		snprintf(idx->db.err, sizeof(idx->db.err), "schema version %lld",
		    (long long)ver);
		rc = IDX_E_SCHEMA;
		goto fail;
	}
	if (sqlite3_create_module(idx->db.h, "idx_delta", &delta_module, idx) !=
	    SQLITE_OK || db_prepare(&idx->db, sql_text, ST_COUNT, &what) != 0)
		goto dbfail;
	if ((rc = delta_load(idx)) != IDX_OK)
		goto fail;
	/* a new index keeps its row cache from the first row on */
	if ((s = stmt(idx, ST_MAX_ID)) != NULL &&
	    sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) == SQLITE_NULL)
		meta_reset(idx, idx->next_id);
	sqlite3_reset(s);
	*out = idx;
	return IDX_OK;
dbfail:
	rc = IDX_E_DB;
	if (idx->db.h != NULL)
		idx_dbfail(idx);
fail:
	idx_close(idx);
	return rc;
}

void
idx_close(struct idx *idx)
{
	if (idx == NULL)
		return;
	if (idx->in_batch)
		idx_rollback(idx);
	db_close(&idx->db);
	runs_free(idx);
	meta_drop(idx);
	free(idx->arena);
	free(idx->post);
	free(idx);
}

/* ---- the delta: postings of rows not merged yet ----------------------- */

static int
post_cmp(const void *a, const void *b)
{
	const struct post *x = a, *y = b;

	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return (x->file > y->file) - (x->file < y->file);
}

/*
 * Sorts the buffer a (n postings, appended in row id order) by key into
 * out: an LSD radix sort, stable, so equal keys keep their row order and
 * the result is in (k, file) order: 8 passes of 8 bits, linear in n and
 * without qsort's comparison callback.  a is clobbered.
 */
static void
post_sort(struct post *a, struct post *out, size_t n)
{
	size_t cnt[256], i, sum, t;
	struct post *src = a, *dst = out, *tmp;
	uint64_t u;
	int shift;

	for (shift = 0; shift < 64; shift += 8) {
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < n; i++) {
			u = (uint64_t)src[i].k ^ (1ULL << 63);	/* signed order */
			cnt[(u >> shift) & 0xff]++;
		}
		for (i = 0, sum = 0; i < 256; i++) {
			t = cnt[i];
			cnt[i] = sum;
			sum += t;
		}
		for (i = 0; i < n; i++) {
			u = (uint64_t)src[i].k ^ (1ULL << 63);
			dst[cnt[(u >> shift) & 0xff]++] = src[i];
		}
		tmp = src;
		src = dst;
		dst = tmp;
	}
	/* an even number of passes: the result is back in a */
	memcpy(out, a, n * sizeof(*out));
}

static void
runs_free(struct idx *idx)
{
	int i;

	for (i = 0; i < idx->nruns; i++)
		free(idx->runs[i].p);
	idx->nruns = 0;
	idx->ndelta = 0;
}

/* Merges the last two runs into one (both sorted; ids of b > ids of a). */
static int
runs_merge_last(struct idx *idx)
{
	struct run *a = &idx->runs[idx->nruns - 2], *b = a + 1;
	struct post *m;
	size_t i = 0, j = 0, n = 0;

	if ((m = reallocarray(NULL, a->n + b->n, sizeof(*m))) == NULL)
		return IDX_E_NOMEM;
	while (i < a->n && j < b->n)
		m[n++] = post_cmp(&a->p[i], &b->p[j]) <= 0 ? a->p[i++] :
		    b->p[j++];
	while (i < a->n)
		m[n++] = a->p[i++];
	while (j < b->n)
		m[n++] = b->p[j++];
	free(a->p);
	free(b->p);
	a->p = m;
	a->n = n;
	idx->nruns--;
	return IDX_OK;
}

/*
 * Sorts the buffered postings into a new run.  Runs are merged like a
 * binary counter (a run at most half as big as the one before it), so
 * there are O(log n) of them and each posting is copied O(log n) times:
 * a commit of one file does not rewrite a delta of a million postings.
 * Memory only: the rows (with their kws) are what the transaction writes.
 */
static int
post_flush(struct idx *idx)
{
	struct run *r;
	size_t i;
	int rc;

	if (idx->npost == 0)
		return IDX_OK;
	if (idx->nruns == IDX_MAX_RUNS &&
	    (rc = runs_merge_last(idx)) != IDX_OK)
		return rc;
	r = &idx->runs[idx->nruns];
	if ((r->p = reallocarray(NULL, idx->npost, sizeof(*r->p))) == NULL)
		return IDX_E_NOMEM;
	for (i = 0; i < idx->npost; i++)
		idx->post[i].file <<= 1;
	r->n = idx->npost;
	post_sort(idx->post, r->p, r->n);
	idx->nruns++;
	idx->ndelta += idx->npost;
	idx->npost = 0;
	while (idx->nruns >= 2 && idx->runs[idx->nruns - 1].n * 2 >
	    idx->runs[idx->nruns - 2].n)
		if ((rc = runs_merge_last(idx)) != IDX_OK)
			return rc;
	return IDX_OK;
}

/* First position in r with key >= k. */
static size_t
run_lower(const struct run *r, int64_t k)
{
	size_t lo = 0, hi = r->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (r->p[mid].k < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Marks the delta posting (k, rowid) dead; 1 if it was there. */
static int
delta_kill(struct idx *idx, int64_t k, int64_t rowid)
{
	struct run *r;
	size_t lo, hi, mid;
	int i;

	for (i = 0; i < idx->nruns; i++) {
		r = &idx->runs[i];
		lo = run_lower(r, k);
		hi = r->n;
		/* then by row id inside the key's range */
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (r->p[mid].k > k || POST_ID(&r->p[mid]) >= rowid)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (lo < r->n && r->p[lo].k == k &&
		    POST_ID(&r->p[lo]) == rowid) {
			if (!POST_DEAD(&r->p[lo])) {
				r->p[lo].file |= 1;
				idx->ndelta--;
			}
			return 1;
		}
	}
	return 0;
}

/* Appends row `rowid`'s keys to the buffer (flushed when full). */
static int
post_add_row(struct idx *idx, int64_t rowid, const void *kws, size_t kwlen)
{
	const uint8_t *p = kws;
	size_t i, n = kwlen / 8;
	int rc;

	if (idx->npost + n > IDX_POST_BUF && (rc = post_flush(idx)) != IDX_OK)
		return rc;
	for (i = 0; i < n; i++) {
		memcpy(&idx->post[idx->npost].k, p + i * 8, 8);
		idx->post[idx->npost].file = rowid;
		idx->npost++;
	}
	return IDX_OK;
}

/*
 * Rebuilds the delta from the database: the merge mark, the next row id
 * and the runs from the kws of the rows above the mark.  At open, and
 * after a rollback (the runs may hold postings the database dropped).
 */
static int
delta_load(struct idx *idx)
{
	sqlite3_stmt *s;
	int64_t id, max = 0;
	int rc;

	runs_free(idx);
	idx->npost = 0;
	idx->merged = 0;
	s = stmt(idx, ST_MERGED_GET);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		idx->merged = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return idx_dbfail(idx);
	s = stmt(idx, ST_MAX_ID);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		max = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return idx_dbfail(idx);
	/* never below an id handed out before (a rollback) or merged */
	if (max < idx->merged)
		max = idx->merged;
	if (idx->next_id <= max)
		idx->next_id = max + 1;
	s = stmt(idx, ST_DELTA_ROWS);
	sqlite3_bind_int64(s, 1, idx->merged);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		if ((rc = post_add_row(idx, id, sqlite3_column_blob(s, 1),
		    (size_t)sqlite3_column_bytes(s, 1))) != IDX_OK) {
			sqlite3_reset(s);
			return rc;
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return idx_dbfail(idx);
	return post_flush(idx);
}

/*
 * Moves the delta into the main posting table and raises the merge mark
 * (inside the caller's transaction).  Why a delta: keyword keys are
 * random, so a batch of postings written straight into a large B-tree
 * dirties nearly every leaf page of it, and each commit rewrites them all
 * (measured: 11,300 rec/s and 15 s of system time for 1,000,000 records).
 * Collecting postings and merging them in key order once per
 * IDX_DELTA_MAX rewrites the big tree far less often.  The delta used to
 * be a SQLite table too (posting_new): writing each posting there and
 * then again into the main table was half of the ingest time (33,400
 * rec/s); kept in memory and derived from the rows' kws, it costs no
 * write at all until the merge.
 */
static int
delta_merge(struct idx *idx)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = post_flush(idx)) != IDX_OK)
		return rc;
	while (idx->nruns >= 2)
		if ((rc = runs_merge_last(idx)) != IDX_OK)
			return rc;
	if ((rc = step_done(idx, stmt(idx, ST_MERGE))) != IDX_OK)
		return rc;
	s = stmt(idx, ST_MERGED_SET);
	sqlite3_bind_int64(s, 1, idx->next_id - 1);
	if ((rc = step_done(idx, s)) != IDX_OK)
		return rc;
	idx->merged = idx->next_id - 1;
	runs_free(idx);
	return IDX_OK;
}

/* ---- transactions ------------------------------------------------------ */

static int
tx_begin(struct idx *idx)
{
	return db_begin_deferred(&idx->db) == 0 ? IDX_OK : IDX_E_DB;
}

static int
tx_commit(struct idx *idx)
{
	int rc;

	if ((rc = post_flush(idx)) != IDX_OK)
		return rc;
	if (idx->ndelta >= IDX_DELTA_MAX && (rc = delta_merge(idx)) != IDX_OK)
		return rc;
	return db_commit(&idx->db) == 0 ? IDX_OK : IDX_E_DB;
}

static void
tx_rollback(struct idx *idx)
{
	idx->npost = 0;
	idx->last_owner_valid = 0;	/* the owner row may be gone */
	db_rollback(&idx->db);
	meta_drop(idx);		/* rows of the batch gone, old ones back */
	if (delta_load(idx) != IDX_OK)	/* memory: searches miss the delta */
		runs_free(idx);
}

int
idx_begin(struct idx *idx)
{
	int rc;

	if (idx == NULL)
		return IDX_E_ARG;
	if (idx->in_batch)
		return IDX_E_STATE;
	if ((rc = tx_begin(idx)) == IDX_OK)
		idx->in_batch = 1;
	return rc;
}

int
idx_commit(struct idx *idx)
{
	int rc;

	if (idx == NULL)
		return IDX_E_ARG;
	if (!idx->in_batch)
		return IDX_E_STATE;
	if ((rc = tx_commit(idx)) != IDX_OK) {
		tx_rollback(idx);
		idx->in_batch = 0;
		return rc;
	}
	idx->in_batch = 0;
	return IDX_OK;
}

void
idx_rollback(struct idx *idx)
{
	if (idx == NULL || !idx->in_batch)
		return;
	tx_rollback(idx);
	idx->in_batch = 0;
}

/*
 * Runs fn inside the open batch, or inside its own transaction.  A failure
 * inside a batch leaves the batch open for the caller to roll back.
 */
#define IN_TX(idx, expr) do {						\
	int _rc;							\
	if ((idx)->in_batch)						\
		return (expr);						\
	if ((_rc = tx_begin(idx)) != IDX_OK)				\
		return _rc;						\
	if ((_rc = (expr)) != IDX_OK) {					\
		tx_rollback(idx);					\
		return _rc;						\
	}								\
	if ((_rc = tx_commit(idx)) != IDX_OK) {				\
		tx_rollback(idx);					\
		return _rc;						\
	}								\
	return IDX_OK;							\
} while (0)

/* ---- owners ------------------------------------------------------------ */

/* The owner's row id; created when `create`, else 0 when absent. */
static int
owner_id(struct idx *idx, const uint8_t owner[IDX_OWNER_LEN], int create,
    int64_t *id)
{
	sqlite3_stmt *s;
	int rc;

	if (idx->last_owner_valid &&
	    memcmp(idx->last_owner, owner, IDX_OWNER_LEN) == 0) {
		*id = idx->last_owner_id;
		return IDX_OK;
	}
	s = stmt(idx, ST_OWNER_GET);
	sqlite3_bind_blob(s, 1, owner, IDX_OWNER_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	} else {
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return idx_dbfail(idx);
		if (!create) {
			*id = 0;
			return IDX_OK;
		}
		s = stmt(idx, ST_OWNER_ADD);
		sqlite3_bind_blob(s, 1, owner, IDX_OWNER_LEN, SQLITE_STATIC);
		if ((rc = step_done(idx, s)) != IDX_OK)
			return rc;
		*id = sqlite3_last_insert_rowid(idx->db.h);
	}
	memcpy(idx->last_owner, owner, IDX_OWNER_LEN);
	idx->last_owner_id = *id;
	idx->last_owner_valid = 1;
	return IDX_OK;
}

/* ---- add / remove ------------------------------------------------------ */

/*
 * A merged row's posting is deleted from the main table; a newer row's is
 * marked dead in the delta (the buffer was flushed by the caller).
 */
static int
post_del(struct idx *idx, int64_t k, int64_t rowid)
{
	sqlite3_stmt *s;

	if (rowid > idx->merged) {
		delta_kill(idx, k, rowid);
		return IDX_OK;
	}
	s = stmt(idx, ST_POST_DEL);
	sqlite3_bind_int64(s, 1, k);
	sqlite3_bind_int64(s, 2, rowid);
	return step_done(idx, s);
}

/* Deletes one file row and its postings, from the row's key list. */
static int
drop_row(struct idx *idx, int64_t rowid, const void *kws, size_t kwlen)
{
	const uint8_t *p = kws;
	sqlite3_stmt *s;
	int64_t k;
	size_t i;
	int rc;

	for (i = 0; i + 8 <= kwlen; i += 8) {
		memcpy(&k, p + i, 8);
		if ((rc = post_del(idx, k, rowid)) != IDX_OK)
			return rc;
	}
	meta_kill(idx, rowid);
	s = stmt(idx, ST_FILE_DEL);
	sqlite3_bind_int64(s, 1, rowid);
	return step_done(idx, s);
}

/* Finds the row of (owner id, file id) and drops it; *found set. */
static int
drop_existing(struct idx *idx, int64_t oid, const uint8_t *fid, int *found)
{
	sqlite3_stmt *s;
	int64_t rowid;
	void *kws;
	size_t kwlen;
	int rc;

	*found = 0;
	s = stmt(idx, ST_FILE_FIND);
	sqlite3_bind_int64(s, 1, oid);
	sqlite3_bind_blob(s, 2, fid, IDX_FILE_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return IDX_OK;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return idx_dbfail(idx);
	}
	rowid = sqlite3_column_int64(s, 0);
	kwlen = (size_t)sqlite3_column_bytes(s, 1);
	if ((kws = malloc(kwlen + 1)) == NULL) {
		sqlite3_reset(s);
		return IDX_E_NOMEM;
	}
	if (kwlen > 0)
		memcpy(kws, sqlite3_column_blob(s, 1), kwlen);
	sqlite3_reset(s);
	*found = 1;
	/* its postings may still sit in the buffer: write them first */
	if ((rc = post_flush(idx)) == IDX_OK)
		rc = drop_row(idx, rowid, kws, kwlen);
	free(kws);
	return rc;
}

static int
ensure_arena(struct idx *idx, const struct idx_file *f)
{
	size_t need = KW_INDEX_ARENA_SIZE(f->name_len, f->folder_len,
	    f->desc_len);
	char *a;

	if (need <= idx->arena_cap)
		return IDX_OK;
	if ((a = realloc(idx->arena, need)) == NULL)
		return IDX_E_NOMEM;
	idx->arena = a;
	idx->arena_cap = need;
	kw_set_init(&idx->set, a, need);
	return IDX_OK;
}

static int
add_one(struct idx *idx, const struct idx_file *f)
{
	int64_t keys[KW_MAX_KEYWORDS + 1], oid, rowid;
	sqlite3_stmt *s;
	size_t i, nkeys;
	int rc, found;

	if ((f->name == NULL && f->name_len > 0) ||
	    (f->folder == NULL && f->folder_len > 0) ||
	    (f->desc == NULL && f->desc_len > 0))
		return IDX_E_ARG;
	if (f->name_len > KW_MAX_INPUT || f->folder_len > KW_MAX_INPUT ||
	    f->desc_len > KW_MAX_INPUT)
		return IDX_E_TOOLONG;
	if ((rc = ensure_arena(idx, f)) != IDX_OK)
		return rc;
	rc = kw_index_file(f->name, f->name_len, f->folder, f->folder_len,
	    f->desc, f->desc_len, &idx->set);
	if (rc != KW_OK && rc != KW_E_TRUNCATED)
		return rc == KW_E_TOOLONG ? IDX_E_TOOLONG : IDX_E_ARG;
	for (i = 0; i < idx->set.n; i++)
		keys[i] = key_of(idx->set.kw[i].hash);
	/* the content's posting, last (idx_hash_owners) */
	keys[i] = key_of(f->hash);
	nkeys = i + 1;

	if ((rc = owner_id(idx, f->owner, 1, &oid)) != IDX_OK)
		return rc;
	if ((rc = drop_existing(idx, oid, f->file_id, &found)) != IDX_OK)
		return rc;

	s = stmt(idx, ST_FILE_ADD);
	sqlite3_bind_int64(s, 1, oid);
	sqlite3_bind_blob(s, 2, f->file_id, IDX_FILE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, f->hash, IDX_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (int64_t)f->size);
	sqlite3_bind_int(s, 5, f->type);
	sqlite3_bind_int(s, 6, f->format);
	sqlite3_bind_int64(s, 7, f->date);
	sqlite3_bind_int64(s, 8, (int64_t)f->version);
	sqlite3_bind_int64(s, 9, (int64_t)f->block);
	sqlite3_bind_blob(s, 10, keys, (int)(nkeys * 8), SQLITE_STATIC);
	sqlite3_bind_blob(s, 11, f->name_len ? f->name : "", (int)f->name_len,
	    SQLITE_STATIC);
	sqlite3_bind_blob(s, 12, f->folder_len ? f->folder : "",
	    (int)f->folder_len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 13, f->desc_len ? f->desc : "", (int)f->desc_len,
	    SQLITE_STATIC);
	rowid = idx->next_id;
	sqlite3_bind_int64(s, 14, rowid);
	if ((rc = step_done(idx, s)) != IDX_OK)
		return rc;
	meta_set(idx, rowid, oid, f->hash, f->size, f->type, f->format,
	    f->date);
	idx->next_id++;
	return post_add_row(idx, rowid, keys, nkeys * 8);
}

int
idx_add_file(struct idx *idx, const struct idx_file *f)
{
	if (idx == NULL || f == NULL)
		return IDX_E_ARG;
	IN_TX(idx, add_one(idx, f));
}

static int
add_many(struct idx *idx, const struct idx_file *f, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = add_one(idx, &f[i])) != IDX_OK)
			return rc;
	return IDX_OK;
}

int
idx_add_many(struct idx *idx, const struct idx_file *f, size_t n)
{
	if (idx == NULL || (f == NULL && n > 0))
		return IDX_E_ARG;
	IN_TX(idx, add_many(idx, f, n));
}

static int
remove_one(struct idx *idx, const uint8_t *owner, const uint8_t *fid)
{
	int64_t oid;
	int rc, found;

	if ((rc = owner_id(idx, owner, 0, &oid)) != IDX_OK)
		return rc;
	if (oid == 0)
		return IDX_E_NOTFOUND;
	if ((rc = drop_existing(idx, oid, fid, &found)) != IDX_OK)
		return rc;
	return found ? IDX_OK : IDX_E_NOTFOUND;
}

int
idx_remove_file(struct idx *idx, const uint8_t owner[IDX_OWNER_LEN],
    const uint8_t file_id[IDX_FILE_ID_LEN])
{
	if (idx == NULL || owner == NULL || file_id == NULL)
		return IDX_E_ARG;
	IN_TX(idx, remove_one(idx, owner, file_id));
}

static int
remove_owner(struct idx *idx, const uint8_t *owner, uint64_t *removed)
{
	sqlite3_stmt *s;
	const uint8_t *p;
	int64_t oid, rowid, k;
	size_t kwlen, i;
	int rc;

	if ((rc = owner_id(idx, owner, 0, &oid)) != IDX_OK)
		return rc;
	if (oid == 0)
		return IDX_OK;
	if ((rc = post_flush(idx)) != IDX_OK)
		return rc;
	/* postings first, read from the rows' key lists */
	s = stmt(idx, ST_OWNER_FILES);
	sqlite3_bind_int64(s, 1, oid);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		rowid = sqlite3_column_int64(s, 0);
		kwlen = (size_t)sqlite3_column_bytes(s, 1);
		p = sqlite3_column_blob(s, 1);
		for (i = 0; i + 8 <= kwlen; i += 8) {
			memcpy(&k, p + i, 8);
			if ((rc = post_del(idx, k, rowid)) != IDX_OK) {
				sqlite3_reset(s);
				return rc;
			}
		}
		meta_kill(idx, rowid);
		if (removed != NULL)
			(*removed)++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return idx_dbfail(idx);
	s = stmt(idx, ST_OWNER_DEL_FILES);
	sqlite3_bind_int64(s, 1, oid);
	if ((rc = step_done(idx, s)) != IDX_OK)
		return rc;
	s = stmt(idx, ST_OWNER_DEL);
	sqlite3_bind_int64(s, 1, oid);
	idx->last_owner_valid = 0;
	memset(idx->ocache, 0, sizeof(idx->ocache));
	return step_done(idx, s);
}

int
idx_remove_owner(struct idx *idx, const uint8_t owner[IDX_OWNER_LEN],
    uint64_t *removed)
{
	if (idx == NULL || owner == NULL)
		return IDX_E_ARG;
	if (removed != NULL)
		*removed = 0;
	IN_TX(idx, remove_owner(idx, owner, removed));
}

static int
clear_all(struct idx *idx)
{
	idx->npost = 0;
	idx->last_owner_valid = 0;
	memset(idx->ocache, 0, sizeof(idx->ocache));
	runs_free(idx);
	meta_drop(idx);
	meta_reset(idx, idx->next_id);
	/* the merge mark stays: ids above it are still never reused */
	if (db_exec(&idx->db, "DELETE FROM posting;"
	    " DELETE FROM file;"
	    " DELETE FROM owner;") != 0)
		return IDX_E_DB;
	return IDX_OK;
}

int
idx_clear(struct idx *idx)
{
	if (idx == NULL)
		return IDX_E_ARG;
	IN_TX(idx, clear_all(idx));
}

static int
compact(struct idx *idx)
{
	return delta_merge(idx);
}

int
idx_compact(struct idx *idx)
{
	if (idx == NULL)
		return IDX_E_ARG;
	IN_TX(idx, compact(idx));
}

static int
count_of(struct idx *idx, const char *sql, uint64_t *n)
{
	sqlite3_int64 v = 0;

	if (db_query_int64(&idx->db, sql, &v) != 0)
		return IDX_E_DB;
	*n = (uint64_t)v;
	return IDX_OK;
}

int
idx_count(struct idx *idx, struct idx_counts *c)
{
	sqlite3_stmt *s;
	uint64_t above;
	int rc;

	if (idx == NULL || c == NULL)
		return IDX_E_ARG;
	if ((rc = post_flush(idx)) != IDX_OK)
		return rc;
	if ((rc = count_of(idx, "SELECT count(*) FROM file", &c->files)) != 0 ||
	    (rc = count_of(idx, "SELECT count(*) FROM posting",
	    &c->postings)) != 0)
		return rc;
	/*
	 * Keyword postings only: every row has exactly one content posting,
	 * in the main table up to the merge mark, in the delta above it.
	 */
	s = stmt(idx, ST_DELTA_COUNT);
	sqlite3_bind_int64(s, 1, idx->merged);
	rc = sqlite3_step(s);
	above = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return idx_dbfail(idx);
	c->postings += idx->ndelta - c->files;
	c->delta = idx->ndelta - above;
	return count_of(idx, "SELECT count(*) FROM owner", &c->owners);
}

/* ---- filters ----------------------------------------------------------- */

void
idx_filter_none(struct idx_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->type = -1;
	f->format = -1;
	f->size_min = -1;
	f->size_max = -1;
}

void
idx_node_id(const uint8_t owner[IDX_OWNER_LEN],
    uint8_t node_id[IDX_NODE_ID_LEN])
{
	blake3_hash(owner, IDX_OWNER_LEN, node_id);
}

int
idx_filter_match(const struct idx_filter *flt, const struct idx_file *f,
    const uint8_t node_id[IDX_NODE_ID_LEN])
{
	uint8_t nid[IDX_NODE_ID_LEN];

	if (flt->type >= 0 && f->type != flt->type)
		return 0;
	if (flt->format >= 0 && f->format != flt->format)
		return 0;
	if (flt->date_from < flt->date_to && (f->date == 0 ||
	    f->date < flt->date_from || f->date > flt->date_to))
		return 0;
	if (flt->size_min >= 0 && f->size < (uint64_t)flt->size_min)
		return 0;
	if (flt->size_max >= 0 && f->size > (uint64_t)flt->size_max)
		return 0;
	if (flt->has_node) {
		if (node_id == NULL) {
			idx_node_id(f->owner, nid);
			node_id = nid;
		}
		if (memcmp(node_id, flt->node_id, IDX_NODE_ID_LEN) != 0)
			return 0;
	}
	return 1;
}

/* ---- queries ----------------------------------------------------------- */

/* A candidate row; after the filter also a result or a sharer. */
struct cand {
	int64_t		rowid;
	uint32_t	matched;
	uint8_t		exact;
	uint8_t		gone;		/* posting without a row */
	uint8_t		lazy;		/* fid, version, block not read yet */
	uint8_t		type;
	uint16_t	format;
	uint64_t	size;
	int64_t		date;
	uint64_t	version;
	uint64_t	block;
	uint8_t		owner[IDX_OWNER_LEN];
	uint8_t		fid[IDX_FILE_ID_LEN];
	uint8_t		hash[IDX_HASH_LEN];
	uint32_t	seq;		/* arrival order (stable sorts) */
	uint32_t	nsharers;
	int32_t		next;		/* next sharer of the same content */
	uint16_t	name_len;
	char		*name;		/* prefix, name sorts only */
};

struct qstate {
	struct idx		*idx;
	const struct idx_query	*q;
	struct idx_query_stats	*st;
	struct cand		*c;
	size_t			 n, cap;
	uint32_t		*map;	/* rowid -> c index + 1 */
	size_t			 mapcap;
	uint64_t		 deadline;
	char			*names;	/* arena of name prefixes */
	size_t			 names_len, names_cap;
	int			 cached;	/* rows from the row cache */
};

static size_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static int
map_grow(struct qstate *qs)
{
	size_t ncap = qs->mapcap ? qs->mapcap * 2 : 1024, i, h;
	uint32_t *m = calloc(ncap, sizeof(*m));

	if (m == NULL)
		return IDX_E_NOMEM;
	for (i = 0; i < qs->n; i++) {
		h = mix64((uint64_t)qs->c[i].rowid) & (ncap - 1);
		while (m[h] != 0)
			h = (h + 1) & (ncap - 1);
		m[h] = (uint32_t)i + 1;
	}
	free(qs->map);
	qs->map = m;
	qs->mapcap = ncap;
	return IDX_OK;
}

/*
 * Records that keyword lookup `exact` found rowid; *isnew is set (and the
 * candidate returned through *out) when the row was not seen before.
 */
static int
cand_hit(struct qstate *qs, int64_t rowid, int exact, struct cand **out)
{
	struct cand *c;
	size_t h;
	int rc;

	*out = NULL;
	if ((qs->n + 1) * 2 > qs->mapcap && (rc = map_grow(qs)) != IDX_OK)
		return rc;
	h = mix64((uint64_t)rowid) & (qs->mapcap - 1);
	while (qs->map[h] != 0) {
		c = &qs->c[qs->map[h] - 1];
		if (c->rowid == rowid) {
			c->matched++;
			c->exact |= exact;
			return IDX_OK;
		}
		h = (h + 1) & (qs->mapcap - 1);
	}
	if (qs->n >= IDX_MAX_CANDIDATES) {
		qs->st->truncated = 1;
		return IDX_OK;
	}
	if (qs->n == qs->cap) {
		size_t ncap = qs->cap ? qs->cap * 2 : 256;

		if (ncap > IDX_MAX_CANDIDATES)
			ncap = IDX_MAX_CANDIDATES;
		if ((c = reallocarray(qs->c, ncap, sizeof(*c))) == NULL)
			return IDX_E_NOMEM;
		qs->c = c;
		qs->cap = ncap;
	}
	c = &qs->c[qs->n];
	memset(c, 0, sizeof(*c));
	c->rowid = rowid;
	c->matched = 1;
	c->exact = (uint8_t)exact;
	c->seq = (uint32_t)qs->n;
	c->next = -1;
	c->nsharers = 1;
	qs->map[h] = (uint32_t)++qs->n;
	*out = c;
	return IDX_OK;
}

static int
owner_key(struct idx *idx, int64_t oid, uint8_t key[IDX_OWNER_LEN])
{
	struct owner_slot *o = &idx->ocache[(uint64_t)oid % OWNER_CACHE];
	sqlite3_stmt *s;
	int rc;

	if (o->id == oid && oid != 0) {
		memcpy(key, o->key, IDX_OWNER_LEN);
		return IDX_OK;
	}
	s = stmt(idx, ST_OWNER_KEY);
	sqlite3_bind_int64(s, 1, oid);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW || sqlite3_column_bytes(s, 0) != IDX_OWNER_LEN) {
		sqlite3_reset(s);
		return rc == SQLITE_ROW || rc == SQLITE_DONE ? IDX_E_NOTFOUND :
		    idx_dbfail(idx);
	}
	memcpy(key, sqlite3_column_blob(s, 0), IDX_OWNER_LEN);
	sqlite3_reset(s);
	o->id = oid;
	memcpy(o->key, key, IDX_OWNER_LEN);
	return IDX_OK;
}

static void
copy_col(sqlite3_stmt *s, int col, uint8_t *dst, size_t len)
{
	if ((size_t)sqlite3_column_bytes(s, col) == len)
		memcpy(dst, sqlite3_column_blob(s, col), len);
	else
		memset(dst, 0, len);
}

static int
want_names(int sort)
{
	return sort == IDX_SORT_NAME_ASC || sort == IDX_SORT_NAME_DESC;
}

/*
 * Copies a new candidate's columns from the lookup's current row (column
 * 0 is the file row id); c->gone when the posting has no row (any more).
 */
static int
load_row(struct qstate *qs, sqlite3_stmt *s, struct cand *c)
{
	struct idx *idx = qs->idx;
	size_t nl;
	char *nn;
	int rc;

	if (sqlite3_column_type(s, 1) == SQLITE_NULL) {
		c->gone = 1;
		return IDX_OK;
	}
	if ((rc = owner_key(idx, sqlite3_column_int64(s, 1), c->owner)) !=
	    IDX_OK) {
		if (rc == IDX_E_NOTFOUND) {
			c->gone = 1;
			return IDX_OK;
		}
		return rc;
	}
	copy_col(s, 2, c->fid, IDX_FILE_ID_LEN);
	copy_col(s, 3, c->hash, IDX_HASH_LEN);
	c->size = (uint64_t)sqlite3_column_int64(s, 4);
	c->type = (uint8_t)sqlite3_column_int(s, 5);
	c->format = (uint16_t)sqlite3_column_int(s, 6);
	c->date = sqlite3_column_int64(s, 7);
	c->version = (uint64_t)sqlite3_column_int64(s, 8);
	c->block = (uint64_t)sqlite3_column_int64(s, 9);
	if (want_names(qs->q->sort)) {
		nl = (size_t)sqlite3_column_bytes(s, 10);
		if (nl > IDX_SORT_NAME_PREFIX)
			nl = IDX_SORT_NAME_PREFIX;
		if (qs->names_len + nl > qs->names_cap) {
			size_t ncap = qs->names_cap ? qs->names_cap * 2 :
			    64 * IDX_SORT_NAME_PREFIX;

			if ((nn = realloc(qs->names, ncap)) == NULL)
				return IDX_E_NOMEM;
			qs->names = nn;
			qs->names_cap = ncap;
		}
		/* offsets into the arena, turned into pointers after loading */
		c->name = (char *)(uintptr_t)qs->names_len;
		c->name_len = (uint16_t)nl;
		if (nl > 0)
			memcpy(qs->names + qs->names_len,
			    sqlite3_column_blob(s, 10), nl);
		qs->names_len += nl;
	}
	return IDX_OK;
}

/* Counts a scanned posting; 1 when the query's time is up. */
static int
scan_tick(struct qstate *qs)
{
	qs->st->scanned++;
	if (qs->deadline != 0 && (qs->st->scanned & 255) == 0 &&
	    loop_now_us() >= qs->deadline) {
		qs->st->timed_out = 1;
		return 1;
	}
	return 0;
}

/*
 * A new candidate's columns from the row cache (c->gone when the posting
 * has no row); fid, version and block are read when it is delivered.
 */
static int
load_cached(struct qstate *qs, struct cand *c)
{
	const struct rmeta *m = meta_get(qs->idx, c->rowid);
	int rc;

	if (m == NULL) {
		c->gone = 1;
		return IDX_OK;
	}
	if ((rc = owner_key(qs->idx, m->oid, c->owner)) != IDX_OK) {
		if (rc == IDX_E_NOTFOUND) {
			c->gone = 1;
			return IDX_OK;
		}
		return rc;
	}
	memcpy(c->hash, m->hash, IDX_HASH_LEN);
	c->size = m->size;
	c->type = m->type;
	c->format = m->format;
	c->date = m->date;
	c->lazy = 1;
	return IDX_OK;
}

/*
 * One keyword: its postings in the main table (joined with their rows),
 * then in the delta runs, oldest run first (row ids ascending), each new
 * candidate's row read by id.
 */
static int
lookup(struct qstate *qs, const uint8_t hash[KW_HASH_LEN], int exact)
{
	static const int main_delta[3][2] = {
		{ ST_LOOKUP_MAIN, ST_LOOKUP_DELTA },
		{ ST_LOOKUP_MAIN_NAME, ST_LOOKUP_DELTA_NAME },
		{ ST_POST_MAIN, ST_POST_DELTA },
	};
	struct idx *idx = qs->idx;
	struct cand *c;
	sqlite3_stmt *s;
	int t, rc, names = qs->cached ? 2 : want_names(qs->q->sort);

	for (t = 0; t < 2; t++) {
	if (qs->st->timed_out)
		return IDX_OK;
	s = stmt(idx, main_delta[names][t]);
	sqlite3_bind_int64(s, 1, key_of(hash));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = cand_hit(qs, sqlite3_column_int64(s, 0), exact,
		    &c)) != IDX_OK ||
		    (c != NULL && (rc = qs->cached ? load_cached(qs, c) :
		    load_row(qs, s, c)) != IDX_OK)) {
			sqlite3_reset(s);
			return rc;
		}
		if (scan_tick(qs))
			break;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return idx_dbfail(idx);
	}
	return IDX_OK;
}

/* Hash table over content hashes -> index of the result row. */
static int
dedup(struct qstate *qs, uint32_t *res, size_t *nres)
{
	size_t cap = 1024, i, h, n = 0;
	uint32_t *m, *tail;
	struct cand *head, *c;

	while (cap < *nres * 2)
		cap *= 2;
	if ((m = calloc(cap, sizeof(*m))) == NULL)
		return IDX_E_NOMEM;
	if ((tail = malloc((*nres + 1) * sizeof(*tail))) == NULL) {
		free(m);
		return IDX_E_NOMEM;
	}
	for (i = 0; i < *nres; i++) {
		c = &qs->c[res[i]];
		memcpy(&h, c->hash, sizeof(h));
		h &= cap - 1;
		while (m[h] != 0 &&
		    memcmp(qs->c[res[m[h] - 1]].hash, c->hash, IDX_HASH_LEN) != 0)
			h = (h + 1) & (cap - 1);
		if (m[h] == 0) {
			m[h] = (uint32_t)n + 1;
			tail[n] = res[i];
			res[n++] = res[i];
			continue;
		}
		/* same content: one more sharer unless the owner is listed */
		qs->st->merged++;
		head = &qs->c[res[m[h] - 1]];
		{
			int32_t j;
			int dup = 0;

			for (j = (int32_t)(head - qs->c); j >= 0;
			    j = qs->c[j].next)
				if (memcmp(qs->c[j].owner, c->owner,
				    IDX_OWNER_LEN) == 0) {
					dup = 1;
					break;
				}
			if (dup)
				continue;
		}
		head->nsharers++;
		head->matched = c->matched > head->matched ? c->matched :
		    head->matched;
		head->exact |= c->exact;
		qs->c[tail[m[h] - 1]].next = (int32_t)(c - qs->c);
		tail[m[h] - 1] = (uint32_t)(c - qs->c);
	}
	free(m);
	free(tail);
	*nres = n;
	return IDX_OK;
}

/* qsort context (glibc qsort_r) */
static int
cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

static int
cand_cmp(const void *pa, const void *pb, void *arg)
{
	const struct qstate *qs = arg;
	const struct cand *a = &qs->c[*(const uint32_t *)pa];
	const struct cand *b = &qs->c[*(const uint32_t *)pb];
	int r = 0;
	size_t l;

	switch (qs->q->sort) {
	case IDX_SORT_RELEVANCE_ASC:
	case IDX_SORT_DATE_ASC:
		r = cmp_i64(a->date, b->date);
		break;
	case IDX_SORT_RELEVANCE_DESC:
	case IDX_SORT_DATE_DESC:
		r = cmp_i64(b->date, a->date);
		break;
	case IDX_SORT_NAME_ASC:
	case IDX_SORT_NAME_DESC:
		l = a->name_len < b->name_len ? a->name_len : b->name_len;
		r = l ? memcmp(a->name, b->name, l) : 0;
		if (r == 0)
			r = (a->name_len > b->name_len) -
			    (a->name_len < b->name_len);
		if (qs->q->sort == IDX_SORT_NAME_DESC)
			r = -r;
		break;
	case IDX_SORT_SIZE_ASC:
		r = (a->size > b->size) - (a->size < b->size);
		break;
	case IDX_SORT_SIZE_DESC:
		r = (a->size < b->size) - (a->size > b->size);
		break;
	case IDX_SORT_SHARED_ASC:
		r = (a->nsharers > b->nsharers) - (a->nsharers < b->nsharers);
		break;
	case IDX_SORT_SHARED_DESC:
		r = (a->nsharers < b->nsharers) - (a->nsharers > b->nsharers);
		break;
	case IDX_SORT_MATCH:
		r = (int)b->exact - (int)a->exact;
		if (r == 0)
			r = (a->matched < b->matched) - (a->matched > b->matched);
		if (r == 0)
			r = cmp_i64(b->date, a->date);
		break;
	default:
		break;
	}
	if (r == 0)	/* stable: arrival order breaks ties */
		r = (a->seq > b->seq) - (a->seq < b->seq);
	return r;
}

/* fid, version and block of a row the row cache does not hold. */
static int
row_ids(struct idx *idx, int64_t rowid, struct idx_sharer *sh)
{
	sqlite3_stmt *s = stmt(idx, ST_ROW_IDS);
	int rc;

	sqlite3_bind_int64(s, 1, rowid);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		copy_col(s, 0, sh->file_id, IDX_FILE_ID_LEN);
		sh->version = (uint64_t)sqlite3_column_int64(s, 1);
		sh->block = (uint64_t)sqlite3_column_int64(s, 2);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? IDX_OK : idx_dbfail(idx);
}

/* Fetches texts of one result and calls the user's callback. */
static int
emit(struct qstate *qs, const struct cand *c, size_t pos, idx_hit_fn cb,
    void *arg, int *stop)
{
	struct idx *idx = qs->idx;
	struct idx_sharer one, *sh = &one;
	struct idx_file f;
	struct idx_hit hit;
	sqlite3_stmt *s;
	int32_t j;
	size_t k;
	int rc;

	s = stmt(idx, ST_ROW_EMIT);
	sqlite3_bind_int64(s, 1, c->rowid);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? IDX_OK : idx_dbfail(idx);
	}
	memset(&f, 0, sizeof(f));
	memcpy(f.owner, c->owner, IDX_OWNER_LEN);
	memcpy(f.hash, c->hash, IDX_HASH_LEN);
	f.size = c->size;
	f.type = c->type;
	f.format = c->format;
	f.date = c->date;
	if (c->lazy) {
		copy_col(s, 3, f.file_id, IDX_FILE_ID_LEN);
		f.version = (uint64_t)sqlite3_column_int64(s, 4);
		f.block = (uint64_t)sqlite3_column_int64(s, 5);
	} else {
		memcpy(f.file_id, c->fid, IDX_FILE_ID_LEN);
		f.version = c->version;
		f.block = c->block;
	}
	if (c->nsharers > 1 &&
	    (sh = calloc(c->nsharers, sizeof(*sh))) == NULL) {
		sqlite3_reset(s);
		return IDX_E_NOMEM;
	}
	for (j = (int32_t)(c - qs->c), k = 0; j >= 0 && k < c->nsharers;
	    j = qs->c[j].next, k++) {
		const struct cand *o = &qs->c[j];

		memcpy(sh[k].owner, o->owner, IDX_OWNER_LEN);
		if (o == c) {
			memcpy(sh[k].file_id, f.file_id, IDX_FILE_ID_LEN);
			sh[k].version = f.version;
			sh[k].block = f.block;
		} else if (o->lazy) {
			if ((rc = row_ids(idx, o->rowid, &sh[k])) != IDX_OK) {
				sqlite3_reset(s);
				if (sh != &one)
					free(sh);
				return rc;
			}
		} else {
			memcpy(sh[k].file_id, o->fid, IDX_FILE_ID_LEN);
			sh[k].version = o->version;
			sh[k].block = o->block;
		}
	}
	f.name = sqlite3_column_blob(s, 0);
	f.name_len = (size_t)sqlite3_column_bytes(s, 0);
	f.folder = sqlite3_column_blob(s, 1);
	f.folder_len = (size_t)sqlite3_column_bytes(s, 1);
	f.desc = sqlite3_column_blob(s, 2);
	f.desc_len = (size_t)sqlite3_column_bytes(s, 2);
	memset(&hit, 0, sizeof(hit));
	hit.file = &f;
	idx_node_id(f.owner, hit.node_id);
	hit.exact = c->exact;
	hit.matched = c->matched;
	hit.nsharers = k;
	hit.sharers = sh;
	hit.position = pos;
	qs->st->delivered++;
	*stop = cb(&hit, arg) != 0;
	sqlite3_reset(s);
	if (sh != &one)
		free(sh);
	return IDX_OK;
}

static int
run_query(struct qstate *qs, idx_hit_fn cb, void *arg)
{
	const struct idx_query *q = qs->q;
	struct idx_query_stats *st = qs->st;
	struct kw_query kq;
	struct idx_file f;
	uint32_t *res = NULL;
	size_t i, nres = 0, end;
	char *arena;
	int rc, stop = 0;

	if ((arena = malloc(KW_QUERY_ARENA_SIZE(q->term_len))) == NULL)
		return IDX_E_NOMEM;
	rc = kw_query_parse(q->term, q->term_len, &kq, arena,
	    KW_QUERY_ARENA_SIZE(q->term_len));
	if (rc != KW_OK && rc != KW_E_TRUNCATED) {
		free(arena);
		return rc == KW_E_TOOLONG ? IDX_E_TOOLONG : IDX_E_ARG;
	}
	st->exact_mode = kq.exact;
	rc = IDX_OK;
	if (kq.searched && kq.has_exact)
		rc = lookup(qs, kq.exact_hash, 1);
	if (kq.searched && !kq.exact)
		for (i = 0; rc == IDX_OK && i < kq.other.n; i++)
			rc = lookup(qs, kq.other.kw[i].hash, 0);
	free(arena);
	if (rc != IDX_OK)
		return rc;
	st->candidates = qs->n;
	if (qs->n == 0)
		return IDX_OK;

	if ((res = malloc(qs->n * sizeof(*res))) == NULL)
		return IDX_E_NOMEM;
	for (i = 0; i < qs->n; i++) {
		struct cand *c = &qs->c[i];

		if (c->gone)
			continue;
		if (q->owner_ok != NULL && !q->owner_ok(c->owner,
		    q->owner_arg)) {
			st->dropped_owner++;
			continue;
		}
		memset(&f, 0, sizeof(f));
		memcpy(f.owner, c->owner, IDX_OWNER_LEN);
		f.size = c->size;
		f.type = c->type;
		f.format = c->format;
		f.date = c->date;
		if (!idx_filter_match(&q->filter, &f, NULL)) {
			st->filtered++;
			continue;
		}
		res[nres++] = (uint32_t)i;
	}
	if (qs->names != NULL)
		for (i = 0; i < nres; i++)
			qs->c[res[i]].name = qs->names +
			    (uintptr_t)qs->c[res[i]].name;
	if ((q->flags & IDX_Q_DEDUP) && (rc = dedup(qs, res, &nres)) != IDX_OK)
		goto out;
	st->results = nres;
	if (q->sort != IDX_SORT_NONE)
		qsort_r(res, nres, sizeof(*res), cand_cmp, qs);
	end = nres;
	if (q->limit > 0 && q->offset < nres && nres - q->offset > q->limit)
		end = q->offset + q->limit;
	for (i = q->offset; i < end && !stop; i++)
		if ((rc = emit(qs, &qs->c[res[i]], i, cb, arg, &stop)) !=
		    IDX_OK)
			goto out;
	rc = IDX_OK;
out:
	free(res);
	return rc;
}

int
idx_query(struct idx *idx, const struct idx_query *q, idx_hit_fn cb,
    void *arg, struct idx_query_stats *st)
{
	struct idx_query_stats dummy;
	struct qstate qs;
	uint64_t t0 = loop_now_us();
	int rc;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (idx == NULL || q == NULL || cb == NULL ||
	    (q->term == NULL && q->term_len > 0) || q->sort < 0 ||
	    q->sort >= IDX_SORT_COUNT)
		return IDX_E_ARG;
	if (q->term_len > KW_MAX_INPUT)
		return IDX_E_TOOLONG;
	/* a batch's buffered postings must be visible to the query */
	if ((rc = post_flush(idx)) != IDX_OK)
		return rc;
	memset(&qs, 0, sizeof(qs));
	qs.idx = idx;
	qs.q = q;
	qs.st = st;
	if (q->timeout_ms > 0)
		qs.deadline = t0 + q->timeout_ms * 1000;
	/* one read transaction for all lookups and row reads */
	if (!idx->in_batch && (rc = tx_begin(idx)) != IDX_OK)
		return rc;
	/*
	 * Name sorts need every candidate's name: they read the rows.  A
	 * cache that cannot be built (memory, I/O) falls back to the rows.
	 */
	if (!want_names(q->sort) && !(q->flags & IDX_Q_ROWS)) {
		if (!idx->meta_ok && !idx->meta_nobuild)
			(void)meta_build(idx);
		qs.cached = idx->meta_ok;
	}
	rc = run_query(&qs, cb, arg);
	if (!idx->in_batch)
		(void)db_commit(&idx->db);
	free(qs.c);
	free(qs.map);
	free(qs.names);
	st->elapsed_us = loop_now_us() - t0;
	return rc;
}

/* ---- owners of a content hash -------------------------------------------- */

/* A row of the content: its owner and row id (arrival order). */
struct hrow {
	int64_t	oid;
	int64_t	id;
};

static int
hrow_cmp(const void *pa, const void *pb)
{
	const struct hrow *a = pa, *b = pb;

	if (a->oid != b->oid)
		return a->oid < b->oid ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

static int
hrow_id_cmp(const void *pa, const void *pb)
{
	const struct hrow *a = pa, *b = pb;

	return (a->id > b->id) - (a->id < b->id);
}

/*
 * The content's rows (main postings, then the delta's), checked against
 * the whole hash; cut at IDX_MAX_CANDIDATES rows.  *out is malloc'ed.
 */
static int
hash_rows(struct idx *idx, const uint8_t *hash, struct hrow **out, size_t *n)
{
	static const int main_delta[2] = { ST_LOOKUP_MAIN, ST_LOOKUP_DELTA };
	struct hrow *r = NULL, *grown;
	sqlite3_stmt *s;
	size_t cap = 0;
	int t, rc = SQLITE_DONE;

	*n = 0;
	for (t = 0; t < 2 && *n < IDX_MAX_CANDIDATES; t++) {
		s = stmt(idx, main_delta[t]);
		sqlite3_bind_int64(s, 1, key_of(hash));
		while (*n < IDX_MAX_CANDIDATES &&
		    (rc = sqlite3_step(s)) == SQLITE_ROW) {
			/* col 1 owner (NULL: posting without row), col 3 hash */
			if (sqlite3_column_type(s, 1) == SQLITE_NULL ||
			    sqlite3_column_bytes(s, 3) != IDX_HASH_LEN ||
			    memcmp(sqlite3_column_blob(s, 3), hash,
			    IDX_HASH_LEN) != 0)
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				if ((grown = reallocarray(r, cap,
				    sizeof(*r))) == NULL) {
					sqlite3_reset(s);
					free(r);
					return IDX_E_NOMEM;
				}
				r = grown;
			}
			r[*n].oid = sqlite3_column_int64(s, 1);
			r[*n].id = sqlite3_column_int64(s, 0);
			(*n)++;
		}
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			free(r);
			return idx_dbfail(idx);
		}
	}
	*out = r;
	return IDX_OK;
}

static int
hash_owners(struct idx *idx, const uint8_t *hash, int64_t self_oid,
    uint8_t (*owners)[IDX_OWNER_LEN], size_t max, struct idx_hash_owners *out)
{
	struct hrow *r = NULL;
	sqlite3_stmt *s;
	size_t n, i, k, nl;
	int rc;

	if ((rc = hash_rows(idx, hash, &r, &n)) != IDX_OK || n == 0)
		return rc;
	out->found = 1;
	/* each owner once, by its oldest row; then owners by that row */
	qsort(r, n, sizeof(*r), hrow_cmp);
	for (i = k = 0; i < n; i++)
		if (i == 0 || r[i].oid != r[i - 1].oid)
			r[k++] = r[i];
	qsort(r, k, sizeof(*r), hrow_id_cmp);
	for (i = 0; i < k; i++) {
		if (r[i].oid == self_oid) {
			out->local = 1;
			continue;
		}
		out->total++;
		if (out->n < max) {
			if ((rc = owner_key(idx, r[i].oid,
			    owners[out->n])) != IDX_OK) {
				free(r);
				return rc;
			}
			out->n++;
		}
	}
	/* size and name of the oldest row */
	s = stmt(idx, ST_ROW_META);
	sqlite3_bind_int64(s, 1, r[0].id);
	sqlite3_bind_int(s, 2, IDX_HASH_NAME_MAX);
	free(r);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? IDX_OK : idx_dbfail(idx);
	}
	out->size = (uint64_t)sqlite3_column_int64(s, 0);
	nl = (size_t)sqlite3_column_bytes(s, 1);
	if (nl > IDX_HASH_NAME_MAX)
		nl = IDX_HASH_NAME_MAX;
	if (nl > 0)
		memcpy(out->name, sqlite3_column_blob(s, 1), nl);
	out->name[nl] = '\0';
	sqlite3_reset(s);
	return IDX_OK;
}

int
idx_hash_owners(struct idx *idx, const uint8_t hash[IDX_HASH_LEN],
    const uint8_t *self, uint8_t (*owners)[IDX_OWNER_LEN], size_t max,
    struct idx_hash_owners *out)
{
	int64_t self_oid = 0;
	int rc;

	if (idx == NULL || hash == NULL || out == NULL ||
	    (owners == NULL && max > 0))
		return IDX_E_ARG;
	memset(out, 0, sizeof(*out));
	/* owner ids start at 1: 0 matches no row */
	if (self != NULL && (rc = owner_id(idx, self, 0, &self_oid)) != IDX_OK)
		return rc;
	/* a batch's buffered postings must be visible */
	if ((rc = post_flush(idx)) != IDX_OK)
		return rc;
	/* one read transaction: the owners and the row agree */
	if (!idx->in_batch && (rc = tx_begin(idx)) != IDX_OK)
		return rc;
	rc = hash_owners(idx, hash, self_oid, owners, max, out);
	if (!idx->in_batch)
		(void)db_commit(&idx->db);
	return rc;
}

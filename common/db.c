/*
 * db.c — SQLite plumbing shared by storaged's chain and cache and searchd's
 * index (see db.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/*
 * Prepared once: a search runs in its own read transaction, so BEGIN and
 * COMMIT are not parsed again for every query.
 */
static const char *const db_tx_sql[DB_TX_COUNT] = {
	[DB_TX_BEGIN] = "BEGIN",
	[DB_TX_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[DB_TX_COMMIT] = "COMMIT",
	[DB_TX_ROLLBACK] = "ROLLBACK",
};

int
db_fail(struct db *d)
{
	snprintf(d->err, sizeof(d->err), "%s", d->h != NULL ?
	    sqlite3_errmsg(d->h) : "no database");
	return -1;
}

int
db_exec(struct db *d, const char *sql)
{
	return sqlite3_exec(d->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 :
	    db_fail(d);
}

sqlite3_stmt *
db_stmt(struct db *d, int i)
{
	sqlite3_reset(d->st[i]);
	sqlite3_clear_bindings(d->st[i]);
	return d->st[i];
}

int
db_step_done(struct db *d, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_fail(d);
}

int
db_query_int64(struct db *d, const char *sql, sqlite3_int64 *v)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(d->h, sql, -1, &s, NULL) != SQLITE_OK)
		return db_fail(d);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(d);
}

/* ---- transactions and their events ----------------------------------- */

static void
db_events_clear(struct db_events *q)
{
	size_t i;

	if (q->drop != NULL)
		for (i = 0; i < q->n; i++)
			q->drop(q->ev + i * q->size);
	q->n = 0;
}

static void
db_events_free(struct db_events *q)
{
	db_events_clear(q);
	free(q->ev);
	q->ev = NULL;
	q->cap = 0;
}

void
db_events_init(struct db *d, size_t size,
    void (*deliver)(void *arg, void *ev), void (*drop)(void *ev), void *arg)
{
	db_events_free(&d->evq);
	d->evq.size = size;
	d->evq.deliver = deliver;
	d->evq.drop = drop;
	d->evq.arg = arg;
}

int
db_event_push(struct db *d, const void *ev)
{
	struct db_events *q = &d->evq;
	unsigned char *n;
	size_t cap;

	if (q->n == q->cap) {
		cap = q->cap ? q->cap * 2 : 16;
		if ((n = reallocarray(q->ev, cap, q->size)) == NULL)
			return -1;
		q->ev = n;
		q->cap = cap;
	}
	memcpy(q->ev + q->n * q->size, ev, q->size);
	q->n++;
	return 0;
}

/* Hands the committed events to deliver, then drops them. */
static void
db_events_flush(struct db_events *q)
{
	unsigned char *ev = q->ev;
	size_t i, n = q->n;

	/*
	 * Detach the list first: a callback may start another transaction,
	 * which would clear it under our feet.
	 */
	q->ev = NULL;
	q->n = q->cap = 0;
	for (i = 0; i < n; i++) {
		q->deliver(q->arg, ev + i * q->size);
		if (q->drop != NULL)
			q->drop(ev + i * q->size);
	}
	free(ev);
}

static int
db_tx(struct db *d, int which)
{
	return db_step_done(d, d->tx[which]);
}

int
db_begin(struct db *d)
{
	db_events_clear(&d->evq);
	return db_tx(d, DB_TX_BEGIN_IMMEDIATE);
}

int
db_begin_deferred(struct db *d)
{
	db_events_clear(&d->evq);
	return db_tx(d, DB_TX_BEGIN);
}

int
db_commit(struct db *d)
{
	if (db_tx(d, DB_TX_COMMIT) != 0)
		return -1;
	if (d->evq.n > 0)
		db_events_flush(&d->evq);
	return 0;
}

void
db_rollback(struct db *d)
{
	/* Fails only when SQLite has already rolled back (or never began). */
	(void)db_tx(d, DB_TX_ROLLBACK);
	db_events_clear(&d->evq);
}

/* ---- open / close ---------------------------------------------------- */

/* The first column of a one-row PRAGMA, as text into out. */
static int
db_pragma_text(struct db *d, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *s;
	const unsigned char *v;
	int rc = -1;

	if (sqlite3_prepare_v2(d->h, sql, -1, &s, NULL) != SQLITE_OK)
		return db_fail(d);
	if (sqlite3_step(s) == SQLITE_ROW && (v = sqlite3_column_text(s, 0)) != NULL) {
		snprintf(out, cap, "%s", (const char *)v);
		rc = 0;
	} else
		db_fail(d);
	sqlite3_finalize(s);
	return rc;
}

int
db_open(struct db *d, const char *path, const struct db_conf *conf,
    const char **what)
{
	const char *step;
	char mode[16], sql[64];
	int i;

	if (what == NULL)
		what = &step;
	memset(d, 0, sizeof(*d));
	*what = path;
	if (sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return db_fail(d);
	if (conf->busy_ms > 0)
		sqlite3_busy_timeout(d->h, conf->busy_ms);
	*what = "pragmas";
	if (conf->before_wal != NULL && db_exec(d, conf->before_wal) != 0)
		return -1;
	*what = "journal_mode=WAL";
	if (db_pragma_text(d, "PRAGMA journal_mode = WAL", mode, sizeof(mode)) != 0)
		return -1;
	if (conf->wal_required && strcmp(mode, "wal") != 0) {
		snprintf(d->err, sizeof(d->err), "journal mode is %s", mode);
		return -1;
	}
	*what = "synchronous";
	snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s", conf->synchronous);
	if (db_exec(d, sql) != 0)
		return -1;
	*what = "pragmas";
	if (conf->after != NULL && db_exec(d, conf->after) != 0)
		return -1;
	for (i = 0; i < DB_TX_COUNT; i++) {
		*what = db_tx_sql[i];
		if (sqlite3_prepare_v3(d->h, db_tx_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &d->tx[i], NULL) != SQLITE_OK)
			return db_fail(d);
	}
	return 0;
}

void
db_close(struct db *d)
{
	int i;

	for (i = 0; i < d->nst; i++)
		sqlite3_finalize(d->st[i]);
	d->nst = 0;
	for (i = 0; i < DB_TX_COUNT; i++) {
		sqlite3_finalize(d->tx[i]);
		d->tx[i] = NULL;
	}
	db_events_free(&d->evq);
	if (d->h != NULL)
		sqlite3_close(d->h);
	d->h = NULL;
}

int
db_schema_init(struct db *d, const char *schema, int version,
    int (*init)(void *arg, struct db *d), void *arg)
{
	sqlite3_int64 v = -1;
	int rc;

	if (db_begin(d) != 0)
		return -1;
	if (db_query_int64(d, "PRAGMA user_version", &v) != 0)
		rc = -1;
	else if (v < 0)
		rc = db_fail(d);
	else if (v == version)
		rc = 0;
	else if (v != 0)
		rc = -2;
	else if ((rc = db_exec(d, schema)) == 0 && init != NULL)
		rc = init(arg, d);
	if (rc == 0 && db_commit(d) == 0)
		return 0;
	db_rollback(d);
	return rc == -2 ? -2 : -1;
}

int
db_prepare(struct db *d, const char *const *sql, int n, const char **failed)
{
	int i;

	if (n > DB_MAX_STMT) {
		*failed = "statement table";
		snprintf(d->err, sizeof(d->err), "more than %d statements", DB_MAX_STMT);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (sqlite3_prepare_v3(d->h, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &d->st[i], NULL) != SQLITE_OK) {
			*failed = sql[i];
			d->nst = i;
			return db_fail(d);
		}
	}
	d->nst = n;
	return 0;
}

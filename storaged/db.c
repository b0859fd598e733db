/*
 * db.c — SQLite plumbing shared by the chain and the cache (see db.h).
 */
#include <stdio.h>
#include <string.h>

#include "db.h"

int
db_fail(struct db *d)
{
	snprintf(d->err, sizeof(d->err), "%s", d->h != NULL ?
	    sqlite3_errmsg(d->h) : "no database");
	return -1;
}

static int
db_exec(struct db *d, const char *sql)
{
	return sqlite3_exec(d->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 :
	    db_fail(d);
}

int
db_begin(struct db *d)
{
	return db_exec(d, "BEGIN IMMEDIATE");
}

int
db_commit(struct db *d)
{
	return db_exec(d, "COMMIT");
}

void
db_rollback(struct db *d)
{
	(void)sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
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
db_open(struct db *d, const char *path, const char *synchronous,
    const char **what)
{
	char mode[16], sql[64];

	memset(d, 0, sizeof(*d));
	*what = path;
	if (sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return db_fail(d);
	sqlite3_busy_timeout(d->h, 5000);
	*what = "journal_mode=WAL";
	if (db_pragma_text(d, "PRAGMA journal_mode = WAL", mode, sizeof(mode)) != 0)
		return -1;
	if (strcmp(mode, "wal") != 0) {
		snprintf(d->err, sizeof(d->err), "journal mode is %s", mode);
		return -1;
	}
	*what = "synchronous";
	snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s", synchronous);
	return db_exec(d, sql);
}

void
db_close(struct db *d)
{
	int i;

	for (i = 0; i < d->nst; i++)
		sqlite3_finalize(d->st[i]);
	d->nst = 0;
	if (d->h != NULL)
		sqlite3_close(d->h);
	d->h = NULL;
}

int
db_schema_init(struct db *d, const char *schema, int version,
    int (*init)(void *arg, struct db *d), void *arg)
{
	sqlite3_stmt *s;
	int v = -1, rc;

	if (db_begin(d) != 0)
		return -1;
	if (sqlite3_prepare_v2(d->h, "PRAGMA user_version", -1, &s, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	if (v < 0)
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

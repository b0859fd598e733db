/*
 * db.h — the SQLite plumbing shared by chain.c and cache.c: opening a
 * database in WAL mode, the schema check, prepared statements, and
 * transactions.  Each function returns 0 or -1; on -1 the handle keeps
 * SQLite's message in d->err, which the modules turn into their own
 * *_ERR_DB code.  Not thread-safe: one thread owns a struct db.
 */
#ifndef PEERNET_DB_H
#define PEERNET_DB_H

#include <stddef.h>

#include <sqlite3.h>

#define DB_MAX_STMT	32

struct db {
	sqlite3		*h;
	sqlite3_stmt	*st[DB_MAX_STMT];
	int		 nst;
	char		 err[256];	/* SQLite's message for the last failure */
};

/*
 * Opens (creating) path with journal_mode=WAL, which is required (the
 * modules rely on readers not blocking the writer), and the given
 * synchronous level ("FULL", "NORMAL").  On failure *what names the step
 * and d->err holds the reason; the caller still calls db_close.
 */
int	db_open(struct db *d, const char *path, const char *synchronous,
	    const char **what);
void	db_close(struct db *d);
/*
 * Creates the schema (SQL ending in PRAGMA user_version = version) in a
 * new database, running init (e.g. a first row) in the same transaction.
 * Returns 0, -1 (SQLite failed), or -2 if the file holds another schema.
 */
int	db_schema_init(struct db *d, const char *schema, int version,
	    int (*init)(void *arg, struct db *d), void *arg);
/* Prepares sql[0..n) as d->st[0..n); on failure *failed is the statement. */
int	db_prepare(struct db *d, const char *const *sql, int n,
	    const char **failed);
/* Statement i, reset and with its bindings cleared. */
sqlite3_stmt *db_stmt(struct db *d, int i);
/* Runs a statement that returns no rows, then resets it. */
int	db_step_done(struct db *d, sqlite3_stmt *s);
/* Records SQLite's current message in d->err; always -1. */
int	db_fail(struct db *d);
int	db_begin(struct db *d);		/* BEGIN IMMEDIATE */
int	db_commit(struct db *d);
void	db_rollback(struct db *d);

#endif /* PEERNET_DB_H */

/*
 * db.h — the SQLite plumbing shared by storaged's chain and cache and
 * searchd's index: opening a database with its pragmas, the schema check,
 * prepared statements, transactions, and the events of a transaction,
 * which are delivered only once it has committed.  Each function returns
 * 0 or -1; on -1 the handle keeps SQLite's message in d->err, which the
 * modules turn into their own *_ERR_DB code.  Not thread-safe: one thread
 * owns a struct db.
 */
#ifndef PEERNET_DB_H
#define PEERNET_DB_H

#include <stddef.h>

#include <sqlite3.h>

#define DB_MAX_STMT	32

/* The transaction statements, prepared once by db_open. */
enum { DB_TX_BEGIN, DB_TX_BEGIN_IMMEDIATE, DB_TX_COMMIT, DB_TX_ROLLBACK,
	DB_TX_COUNT };

/*
 * Events of the open transaction: fixed-size records queued by the module
 * while it writes, handed to deliver in order after COMMIT, dropped on
 * ROLLBACK (or by the next BEGIN).  drop frees what a record owns; deliver
 * does not.
 */
struct db_events {
	unsigned char	*ev;
	size_t		 n, cap, size;
	void		(*deliver)(void *arg, void *ev);
	void		(*drop)(void *ev);
	void		*arg;
};

struct db {
	sqlite3		*h;
	sqlite3_stmt	*st[DB_MAX_STMT];
	int		 nst;
	sqlite3_stmt	*tx[DB_TX_COUNT];
	struct db_events evq;
	char		 err[256];	/* SQLite's message for the last failure */
};

/* How db_open sets a database up. */
struct db_conf {
	const char	*synchronous;	/* "FULL", "NORMAL" */
	int		 busy_ms;	/* wait for another connection's lock; 0: none */
	/*
	 * Fail unless journal_mode became WAL (the storaged modules rely on
	 * readers not blocking the writer); without it ":memory:" works.
	 */
	int		 wal_required;
	const char	*before_wal;	/* pragmas that must precede WAL (page_size) */
	const char	*after;		/* further pragmas (cache, mmap); NULL: none */
};

/*
 * Opens (creating) path as conf says: busy timeout, before_wal,
 * journal_mode=WAL, synchronous, after.  On failure *what (if what is not
 * NULL) names the step and d->err holds the reason; the caller still
 * calls db_close.
 */
int	db_open(struct db *d, const char *path, const struct db_conf *conf,
	    const char **what);
/* Finalizes the statements, drops pending events, closes the handle. */
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
/* Runs SQL text (no parameters, no rows wanted). */
int	db_exec(struct db *d, const char *sql);
/*
 * The first column of sql's first row as an integer (0 if NULL) into *v;
 * *v is left as it was when there is no row.
 */
int	db_query_int64(struct db *d, const char *sql, sqlite3_int64 *v);
/* Records SQLite's current message in d->err; always -1. */
int	db_fail(struct db *d);

/* BEGIN IMMEDIATE: a writer that must not meet SQLITE_BUSY at COMMIT. */
int	db_begin(struct db *d);
/* BEGIN (deferred): the lock is taken by the first read or write. */
int	db_begin_deferred(struct db *d);
/* COMMIT, then the transaction's events are delivered. */
int	db_commit(struct db *d);
/* ROLLBACK; the transaction's events are dropped. */
void	db_rollback(struct db *d);

/* Sets up the event queue: records of `size` bytes (see struct db_events). */
void	db_events_init(struct db *d, size_t size,
	    void (*deliver)(void *arg, void *ev), void (*drop)(void *ev),
	    void *arg);
/* Queues a copy of ev; on -1 (out of memory) nothing is queued. */
int	db_event_push(struct db *d, const void *ev);

#endif /* PEERNET_DB_H */

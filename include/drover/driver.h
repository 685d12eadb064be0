/*
 * driver.h — one interface over PostgreSQL (libpq), MySQL/MariaDB (libmariadb) and SQLite.
 * A DrvConn belongs to one thread at a time and is never shared. Every failure fills a
 * DroverError with the server's own message and code (SQLSTATE, errno, SQLite result code).
 * Knows nothing of migrations or reports.
 */
#ifndef DROVER_DRIVER_H
#define DROVER_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/error.h"
#include "drover/url.h"
#include "drover/util.h"

typedef struct DrvConn DrvConn;

typedef struct DrvConnectOptions {
    const char *application_name; /* PostgreSQL application_name / MariaDB program_name */
    bool create;                  /* SQLite: create a missing database file (migrate only) */
    int connect_timeout_s;        /* 0: 10 seconds */
    /* 0: none. The server ends any statement running longer (PostgreSQL statement_timeout,
     * MariaDB max_statement_time), and the client waits at most this plus
     * DRV_ANSWER_GRACE_S for any answer: past that the network path is taken as frozen and the
     * connection as lost. SQLite has no network and ignores it. */
    int statement_timeout_ms;
} DrvConnectOptions;

#define DRV_ANSWER_GRACE_S 10

/*
 * drv_connect opens a connection. PostgreSQL: client_encoding UTF8, notices silenced, and
 * search_path set to the URL's schema when it has one. MariaDB: utf8mb4, multi-statements on.
 * SQLite: foreign keys on, busy timeout. On failure returns NULL with ERR_CONNECT; the
 * message never contains the password.
 */
DrvConn *drv_connect(const DbUrl *url, const DrvConnectOptions *opts, DroverError *err);
void drv_close(DrvConn *c); /* drv_close(NULL) is a no-op */
DbDialect drv_conn_dialect(const DrvConn *c);

/* Runs one statement and discards any result. */
bool drv_exec(DrvConn *c, const char *sql, DroverError *err);

/*
 * drv_exec_script runs a migration section as written, statement by statement, in order:
 * PostgreSQL splits it like psql (dollar quotes, E'' strings, nested comments), SQLite with
 * its own parser (sqlite3_prepare tail), MariaDB as one multi-statement query so that the
 * server parses compound bodies. *completed receives the number of statements that finished
 * (all of them on success). On failure err->statement holds the failing statement's text.
 */
bool drv_exec_script(DrvConn *c, const char *script, size_t *completed, DroverError *err);

/* Runs a query and appends the first column of every row, as text (NULL as ""), to out. */
bool drv_query_strings(DrvConn *c, const char *sql, StrList *out, DroverError *err);
/* Runs a query and appends the names of its result's columns to out, in order (rows are
 * discarded: "SELECT * FROM t LIMIT 0" lists t's columns without reading the catalogs). */
bool drv_query_columns(DrvConn *c, const char *sql, StrList *out, DroverError *err);

/* A query's whole result as text: column names, then nrows rows of columns.n cells each,
 * row after row (NULL as ""). */
typedef struct DrvTable {
    StrList columns; /* first: the MariaDB driver fills it through a StrList pointer */
    StrList cells;
    size_t nrows;
} DrvTable;
#define DRV_TABLE_INIT {STRLIST_INIT, STRLIST_INIT, 0}
bool drv_query_table(DrvConn *c, const char *sql, DrvTable *out, DroverError *err);
void drv_table_free(DrvTable *t);

bool drv_begin(DrvConn *c, DroverError *err);
/* drv_in_transaction: whether the transaction drv_begin opened is still open (a migration that
 * ran COMMIT itself ended it). Always true on MariaDB/MySQL, where drover opens none. */
bool drv_in_transaction(DrvConn *c);
bool drv_commit(DrvConn *c, DroverError *err);
/* Rolls back; a rollback that fails is ignored when err is NULL. */
bool drv_rollback(DrvConn *c, DroverError *err);

/* Quoting, caller frees: identifiers "x" (postgres, with "" doubled) or `x` (mysql, sqlite);
 * literals escaped by the client library (PQescapeLiteral, mysql_real_escape_string, %Q).
 * drv_quote_literal returns NULL when the library rejects the string (PostgreSQL: invalid
 * UTF-8). */
char *drv_quote_ident(DbDialect d, const char *ident);
char *drv_quote_literal(DrvConn *c, const char *s);

/*
 * Cross-process locks, held by the connection's session so that a crashed holder releases
 * them. key identifies what is locked inside this database (schema + meta table); the driver
 * derives the server-side name: PostgreSQL a 64-bit advisory key (pg_try_advisory_lock, polled),
 * MariaDB a GET_LOCK name "drover:..." of at most 64 characters (long keys hashed; the name
 * includes the database, since MariaDB lock names are server-wide), SQLite an exclusive flock on
 * "<database file>-drover.lock" holding a description of the holder (one lock per file, whatever
 * the key). docs/locks.md gives the exact derivations, so that other tools can take the same
 * locks.
 *
 * drv_lock waits up to wait_ms; *acquired is false when another holder kept the lock all that
 * time (not an error). holder describes this process for others (written to the SQLite lock
 * file; PostgreSQL shows application_name). On PostgreSQL drv_lock then checks that the lock
 * is visible from the next statement: if it is not, the connection goes through a
 * transaction-pooling proxy (PgBouncer) and drv_lock fails with a hint to connect directly.
 */
bool drv_lock(DrvConn *c, const char *key, const char *holder, int wait_ms, bool *acquired,
              DroverError *err);
/* drv_unlock releases key; it fails (ERR_INTERNAL) when this connection does not hold it.
 * drv_close releases every lock the connection holds. */
bool drv_unlock(DrvConn *c, const char *key, DroverError *err);
/* drv_lock_holder describes who holds key now (PostgreSQL: pid, application_name, client
 * address and since when its session started; MariaDB: connection id, user and host; SQLite:
 * the lock file's text), or sets *holder to NULL when nobody does. Caller frees *holder. */
bool drv_lock_holder(DrvConn *c, const char *key, char **holder, DroverError *err);
/* drv_set_lock_timeout bounds how long any later statement waits for a table lock:
 * PostgreSQL lock_timeout (ms), MariaDB lock_wait_timeout and innodb_lock_wait_timeout
 * (seconds, at least 1), SQLite the busy timeout. 0 restores the server default. */
bool drv_set_lock_timeout(DrvConn *c, int ms, DroverError *err);

/*
 * A canceller stops the statement a connection is running, from another thread: PostgreSQL
 * PQcancel, MariaDB "KILL QUERY <id>" over a second connection, SQLite sqlite3_interrupt. The
 * interrupted statement fails on its own connection (PostgreSQL SQLSTATE 57014, MariaDB 1317,
 * SQLite SQLITE_INTERRUPT), so a transaction rolls back as on any error. The caller must free
 * the canceller before closing its connection; drv_cancel and drv_close must not overlap.
 */
typedef struct DrvCanceller DrvCanceller;
DrvCanceller *drv_canceller_new(DrvConn *c); /* NULL when the library cannot make one */
bool drv_cancel(DrvCanceller *k);            /* true when the cancel request was sent */
void drv_canceller_free(DrvCanceller *k);    /* drv_canceller_free(NULL) is a no-op */

/* True when err is a transient fault worth retrying (connection lost or refused, too many
 * connections, deadlock, serialization failure, lock timeout, admin shutdown, SQLITE_BUSY). */
bool drv_error_is_transient(DbDialect d, const DroverError *err);

/* True when err says the connection itself was lost or closed under a statement (PostgreSQL
 * class 08, MariaDB 2006/2013/2055): what the server did with that statement is unknown. */
bool drv_error_is_connection_lost(DbDialect d, const DroverError *err);

#endif

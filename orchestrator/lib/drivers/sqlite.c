/*
 * sqlite.c — the SQLite driver. Scripts are cut by SQLite's own parser (the tail pointer of
 * sqlite3_prepare_v2), so trigger bodies and every quoting form are handled exactly as the
 * sqlite3 shell would.
 */
#include "driver_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

enum { BUSY_TIMEOUT_MS = 5000 };

/*
 * The cross-process lock is an flock on "<database file>-drover.lock", one per database file
 * whatever the key (a SQLite file has one schema). flock belongs to the open file description,
 * so two connections of one process exclude each other too, and it dies with the descriptor
 * when the process does.
 */
typedef struct LiteConn {
    DrvConn base;
    sqlite3 *db;
    char *lock_path;
    int lock_fd; /* -1 when this connection holds no lock */
    char *lock_key;
} LiteConn;

static LiteConn *lite_of(DrvConn *c)
{
    return (LiteConn *)c;
}

static sqlite3 *db_of(DrvConn *c)
{
    return ((LiteConn *)c)->db;
}

static void lite_set_error(sqlite3 *db, const char *sql, size_t len, DroverError *err)
{
    drvi_sql_error(err, DB_SQLITE, sqlite3_errmsg(db), "", sqlite3_extended_errcode(db), sql,
                   len);
}

static bool lite_exec(DrvConn *c, const char *sql, DroverError *err);

static bool file_missing(const char *path)
{
    struct stat st;
    return stat(path, &st) != 0 && errno == ENOENT;
}

/* The connection is used by one thread at a time (driver.h), so SQLite's own mutexes
 * per-connection mutexes are left out (SQLITE_OPEN_NOMUTEX). */
static DrvConn *lite_connect(const DbUrl *url, const DrvConnectOptions *opts, char *where,
                             DroverError *err)
{
    const char *path = url->database ? url->database : "";
    if (!opts->create && file_missing(path)) {
        error_set(err, ERR_CONNECT, "database file '%s' does not exist", path);
        err->code = SQLITE_CANTOPEN;
        memset(err->sqlstate, 0, sizeof err->sqlstate);
        free(where);
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (opts->create ? SQLITE_OPEN_CREATE : 0);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        drvi_connect_error(err, DB_SQLITE, where, NULL, 0, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        err->code = db ? sqlite3_extended_errcode(db) : rc;
        char *dir = path_dirname(path);
        if (file_missing(dir))
            error_set_hint(err, "the directory '%s' does not exist; drover creates database "
                                    "files, not directories",
                               dir);
        free(dir);
        sqlite3_close(db);
        free(where);
        return NULL;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    LiteConn *c = xcalloc(1, sizeof *c);
    drvi_conn_init(&c->base, &drvi_sqlite_ops, where);
    c->db = db;
    c->lock_path = xasprintf("%s-drover.lock", path);
    c->lock_fd = -1;
    if (!lite_exec(&c->base, "PRAGMA foreign_keys=ON", err)) {
        err->kind = ERR_CONNECT;
        drv_close(&c->base);
        return NULL;
    }
    return &c->base;
}

static void release_lock_file(LiteConn *lc);

static void lite_close(DrvConn *c)
{
    release_lock_file(lite_of(c));
    free(lite_of(c)->lock_path);
    sqlite3_close(db_of(c));
    drvi_conn_release(c);
    free(c);
}

/* step_all runs a prepared statement to completion, discarding rows. */
static int step_all(sqlite3_stmt *stmt)
{
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    return rc;
}

static bool lite_exec_script(DrvConn *c, const char *script, size_t *completed, DroverError *err)
{
    sqlite3 *db = db_of(c);
    const char *cur = script;
    while (*cur) {
        sqlite3_stmt *stmt = NULL;
        const char *tail = NULL;
        if (sqlite3_prepare_v2(db, cur, -1, &stmt, &tail) != SQLITE_OK) {
            lite_set_error(db, cur, strlen(cur), err);
            return false;
        }
        if (!stmt) { /* only blanks, comments or a lone ';' */
            if (!tail || tail == cur)
                break;
            cur = tail;
            continue;
        }
        int rc = step_all(stmt);
        if (rc != SQLITE_DONE)
            lite_set_error(db, cur, (size_t)(tail - cur), err);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE)
            return false;
        (*completed)++;
        cur = tail;
    }
    return true;
}

static bool lite_exec(DrvConn *c, const char *sql, DroverError *err)
{
    size_t done = 0;
    return lite_exec_script(c, sql, &done, err);
}

static bool lite_query_table(DrvConn *c, const char *sql, DrvTable *out, DroverError *err)
{
    sqlite3 *db = db_of(c);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        lite_set_error(db, sql, strlen(sql), err);
        return false;
    }
    if (!stmt)
        return true;
    int cols = sqlite3_column_count(stmt);
    for (int col = 0; col < cols; col++)
        sl_push(&out->columns, sqlite3_column_name(stmt, col));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        for (int col = 0; col < cols; col++) {
            const unsigned char *text = sqlite3_column_text(stmt, col);
            int len = sqlite3_column_bytes(stmt, col);
            sl_push_owned(&out->cells, text ? xstrndup((const char *)text, (size_t)len)
                                            : xstrdup(""));
        }
        out->nrows++;
    }
    if (rc != SQLITE_DONE)
        lite_set_error(db, sql, strlen(sql), err);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE;
}

/* lite_query_strings keeps the first column of lite_query_table's result. */
static bool lite_query_strings(DrvConn *c, const char *sql, StrList *out, DroverError *err)
{
    DrvTable t = DRV_TABLE_INIT;
    bool ok = lite_query_table(c, sql, &t, err);
    for (size_t row = 0; ok && t.columns.n && row < t.nrows; row++)
        sl_push(out, t.cells.items[row * t.columns.n]);
    drv_table_free(&t);
    return ok;
}

/* Column names come from the prepared statement; it is never stepped. */
static bool lite_query_columns(DrvConn *c, const char *sql, StrList *out, DroverError *err)
{
    sqlite3 *db = db_of(c);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        lite_set_error(db, sql, strlen(sql), err);
        return false;
    }
    for (int col = 0; stmt && col < sqlite3_column_count(stmt); col++)
        sl_push(out, sqlite3_column_name(stmt, col));
    sqlite3_finalize(stmt);
    return true;
}

static char *lite_quote_literal(DrvConn *c, const char *s)
{
    (void)c;
    char *quoted = sqlite3_mprintf("%Q", s);
    char *copy = xstrdup(quoted);
    sqlite3_free(quoted);
    return copy;
}

/* ---- the lock file ---------------------------------------------------------------------- */

static void io_error(DroverError *err, const char *what, const char *path)
{
    error_set(err, ERR_IO, "cannot %s the lock file '%s': %s", what, path,
                  strerror(errno));
}

/* release_lock_file empties the file and lets the lock go; a no-op when nothing is held. A
 * failed truncate is harmless: the text is only read while someone holds the lock, and the
 * next holder rewrites it. */
static void release_lock_file(LiteConn *lc)
{
    if (lc->lock_fd < 0)
        return;
    bool emptied = ftruncate(lc->lock_fd, 0) == 0;
    (void)emptied;
    flock(lc->lock_fd, LOCK_UN);
    close(lc->lock_fd);
    lc->lock_fd = -1;
    free(lc->lock_key);
    lc->lock_key = NULL;
}

static DrviTry lite_try_lock(DrvConn *c, const void *arg, DroverError *err)
{
    (void)arg;
    LiteConn *lc = lite_of(c);
    if (flock(lc->lock_fd, LOCK_EX | LOCK_NB) == 0)
        return DRVI_TRY_TAKEN;
    if (errno == EWOULDBLOCK || errno == EINTR)
        return DRVI_TRY_BUSY;
    io_error(err, "lock", lc->lock_path);
    return DRVI_TRY_FAILED;
}

/* write_holder replaces the file's text by holder, written in full. */
static bool write_holder(LiteConn *lc, const char *holder, DroverError *err)
{
    if (ftruncate(lc->lock_fd, 0) != 0) {
        io_error(err, "truncate", lc->lock_path);
        return false;
    }
    size_t len = strlen(holder);
    for (size_t done = 0; done < len;) {
        ssize_t n = pwrite(lc->lock_fd, holder + done, len - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            io_error(err, "write", lc->lock_path);
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

static bool lite_lock(DrvConn *c, const char *key, const char *holder, int wait_ms,
                      bool *acquired, DroverError *err)
{
    LiteConn *lc = lite_of(c);
    if (lc->lock_fd >= 0) {
        error_set(err, ERR_INTERNAL,
                      "this connection already holds the lock file '%s' (for '%s')",
                      lc->lock_path, lc->lock_key);
        return false;
    }
    lc->lock_fd = open(lc->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lc->lock_fd < 0) {
        io_error(err, "open", lc->lock_path);
        return false;
    }
    lc->lock_key = xstrdup(key);
    bool ok = drvi_poll_lock(c, NULL, lite_try_lock, wait_ms, acquired, err);
    if (ok && *acquired && !write_holder(lc, holder, err)) {
        ok = false;
        *acquired = false;
    }
    if (!ok || !*acquired) {
        close(lc->lock_fd); /* never truncate a file another holder has written */
        lc->lock_fd = -1;
        free(lc->lock_key);
        lc->lock_key = NULL;
    }
    return ok;
}

static bool lite_unlock(DrvConn *c, const char *key, DroverError *err)
{
    LiteConn *lc = lite_of(c);
    if (lc->lock_fd < 0) {
        error_set(err, ERR_INTERNAL,
                      "cannot release the lock for '%s': this connection does not hold it", key);
        return false;
    }
    release_lock_file(lc);
    return true;
}

/* read_holder reads the holder's text from fd, as the holder last wrote it. */
static bool read_holder(int fd, const char *path, char **holder, DroverError *err)
{
    StrBuf sb;
    sb_init(&sb);
    char chunk[512];
    for (;;) {
        ssize_t n = pread(fd, chunk, sizeof chunk, (off_t)sb.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            io_error(err, "read", path);
            sb_free(&sb);
            return false;
        }
        if (n == 0)
            break;
        sb_appendn(&sb, chunk, (size_t)n);
    }
    *holder = sb_detach(&sb);
    return true;
}

/* lite_lock_holder probes with a shared lock on a descriptor of its own: it is refused
 * exactly while someone (this connection included) holds the exclusive lock. */
static bool lite_lock_holder(DrvConn *c, const char *key, char **holder, DroverError *err)
{
    (void)key;
    LiteConn *lc = lite_of(c);
    int fd = open(lc->lock_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return true;
    if (fd < 0) {
        io_error(err, "open", lc->lock_path);
        return false;
    }
    bool ok = true;
    if (flock(fd, LOCK_SH | LOCK_NB) == 0)
        flock(fd, LOCK_UN);
    else if (errno == EWOULDBLOCK)
        ok = read_holder(fd, lc->lock_path, holder, err);
    else {
        io_error(err, "lock", lc->lock_path);
        ok = false;
    }
    close(fd);
    return ok;
}

static bool lite_in_transaction(DrvConn *c)
{
    return sqlite3_get_autocommit(db_of(c)) == 0;
}

/* lite_set_lock_timeout: SQLite waits for its locks through the busy handler. */
static bool lite_set_lock_timeout(DrvConn *c, int ms, DroverError *err)
{
    (void)err;
    sqlite3_busy_timeout(db_of(c), ms == 0 ? BUSY_TIMEOUT_MS : ms);
    return true;
}

/* sqlite3_interrupt may be called from another thread while the connection is open. */
typedef struct LiteCanceller {
    DrvCanceller base;
    sqlite3 *db;
} LiteCanceller;

static bool lite_cancel(DrvCanceller *k)
{
    sqlite3_interrupt(((LiteCanceller *)k)->db);
    return true;
}

static void lite_canceller_free(DrvCanceller *k)
{
    free(k);
}

static DrvCanceller *lite_canceller(DrvConn *c)
{
    LiteCanceller *k = xcalloc(1, sizeof *k);
    k->base = (DrvCanceller){.cancel = lite_cancel, .free = lite_canceller_free};
    k->db = db_of(c);
    return &k->base;
}

const DrvOps drvi_sqlite_ops = {
    .dialect = DB_SQLITE,
    .begin_sql = "BEGIN",
    .connect = lite_connect,
    .close = lite_close,
    .exec = lite_exec,
    .exec_script = lite_exec_script,
    .query_strings = lite_query_strings,
    .query_columns = lite_query_columns,
    .query_table = lite_query_table,
    .quote_literal = lite_quote_literal,
    .lock = lite_lock,
    .unlock = lite_unlock,
    .lock_holder = lite_lock_holder,
    .set_lock_timeout = lite_set_lock_timeout,
    .in_transaction = lite_in_transaction,
    .canceller = lite_canceller,
};

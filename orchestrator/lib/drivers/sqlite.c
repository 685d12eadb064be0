/*
 * sqlite.c — the SQLite driver. Scripts are cut by SQLite's own parser (the tail pointer of
 * sqlite3_prepare_v2), so trigger bodies and every quoting form are handled exactly as the
 * sqlite3 shell would.
 */
#include "driver_impl.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { BUSY_TIMEOUT_MS = 5000 };

typedef struct LiteConn {
    DrvConn base;
    sqlite3 *db;
} LiteConn;

static sqlite3 *db_of(DrvConn *c)
{
    return ((LiteConn *)c)->db;
}

static void lite_set_error(sqlite3 *db, const char *sql, size_t len, DrvError *err)
{
    drvi_sql_error(err, DRV_SQLITE, sqlite3_errmsg(db), "", sqlite3_extended_errcode(db), sql,
                   len);
}

static bool lite_exec(DrvConn *c, const char *sql, DrvError *err);

static bool file_missing(const char *path)
{
    struct stat st;
    return stat(path, &st) != 0 && errno == ENOENT;
}

/* The connection is used by one thread at a time (driver.h), so SQLite's own mutexes
 * per-connection mutexes are left out (SQLITE_OPEN_NOMUTEX). */
static DrvConn *lite_connect(const InvUrl *url, const DrvConnectOptions *opts, char *where,
                             DrvError *err)
{
    const char *path = url->database ? url->database : "";
    if (!opts->create && file_missing(path)) {
        drv_error_set(err, DRV_ERR_CONNECT, "database file '%s' does not exist", path);
        err->code = SQLITE_CANTOPEN;
        memset(err->sqlstate, 0, sizeof err->sqlstate);
        free(where);
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (opts->create ? SQLITE_OPEN_CREATE : 0);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        drvi_connect_error(err, DRV_SQLITE, where, NULL, 0, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        err->code = db ? sqlite3_extended_errcode(db) : rc;
        char *dir = path_dirname(path);
        if (file_missing(dir))
            drv_error_set_hint(err, "the directory '%s' does not exist; drover creates database "
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
    if (!lite_exec(&c->base, "PRAGMA foreign_keys=ON", err)) {
        err->kind = DRV_ERR_CONNECT;
        drv_close(&c->base);
        return NULL;
    }
    return &c->base;
}

static void lite_close(DrvConn *c)
{
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

static bool lite_exec_script(DrvConn *c, const char *script, size_t *completed, DrvError *err)
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

static bool lite_exec(DrvConn *c, const char *sql, DrvError *err)
{
    size_t done = 0;
    return lite_exec_script(c, sql, &done, err);
}

static bool lite_query_strings(DrvConn *c, const char *sql, StrList *out, DrvError *err)
{
    sqlite3 *db = db_of(c);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        lite_set_error(db, sql, strlen(sql), err);
        return false;
    }
    if (!stmt)
        return true;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(stmt, 0);
        int len = sqlite3_column_bytes(stmt, 0);
        sl_push_owned(out, text ? xstrndup((const char *)text, (size_t)len) : xstrdup(""));
    }
    if (rc != SQLITE_DONE)
        lite_set_error(db, sql, strlen(sql), err);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE;
}

static char *lite_quote_literal(DrvConn *c, const char *s)
{
    (void)c;
    char *quoted = sqlite3_mprintf("%Q", s);
    char *copy = xstrdup(quoted);
    sqlite3_free(quoted);
    return copy;
}

const DrvOps drvi_sqlite_ops = {
    .dialect = DRV_SQLITE,
    .begin_sql = "BEGIN",
    .connect = lite_connect,
    .close = lite_close,
    .exec = lite_exec,
    .exec_script = lite_exec_script,
    .query_strings = lite_query_strings,
    .quote_literal = lite_quote_literal,
};

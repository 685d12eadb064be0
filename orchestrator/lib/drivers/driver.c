/*
 * driver.c — the public driver API: dispatch to the dialect's vtable, the pure helpers
 * (identifier quoting, transient-error classification) and the error and lock-polling
 * helpers the three client-library files share.
 */
#include "driver_impl.h"

#include "sqlsplit_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* MySQL/MariaDB errnos worth a retry: too many connections, lock wait timeout, deadlock,
 * can't connect (socket, TCP), server gone away, lost connection during query. */
static const int mysql_transient_errnos[] = {1040, 1205, 1213, 2002, 2003, 2006, 2013};

/* PostgreSQL SQLSTATEs worth a retry besides class 08 (connection exceptions):
 * serialization failure, deadlock, lock not available, admin shutdown, too many connections. */
static const char *const pg_transient_sqlstates[] = {"40001", "40P01", "55P03", "57P01", "53300"};

enum { SQLITE_BUSY_CODE = 5, SQLITE_LOCKED_CODE = 6 }; /* sqlite3.h's values, kept pure */

static const DrvOps *ops_for(DbDialect d)
{
    switch (d) {
    case DB_POSTGRES:
        return &drvi_pg_ops;
    case DB_MYSQL:
        return &drvi_mysql_ops;
    case DB_SQLITE:
        return &drvi_sqlite_ops;
    }
    return NULL;
}

/* describe_target names what a connection reaches, for messages: "host:port/db" with the
 * library defaults spelled out, or the SQLite file path. */
static char *describe_target(const DbUrl *url)
{
    if (url->dialect == DB_SQLITE)
        return xstrdup(url->database ? url->database : "");
    int port = url->port ? url->port : (url->dialect == DB_POSTGRES ? 5432 : 3306);
    const char *host = url->host && url->host[0] ? url->host : "localhost";
    const char *db = url->database ? url->database : "";
    return xasprintf("%s:%d/%s", host, port, db);
}

DrvConn *drv_connect(const DbUrl *url, const DrvConnectOptions *opts, DroverError *err)
{
    const DrvOps *ops = ops_for(url->dialect);
    if (!ops) {
        error_set(err, ERR_INTERNAL, "unknown dialect %d", (int)url->dialect);
        return NULL;
    }
    DrvConnectOptions effective = opts ? *opts : (DrvConnectOptions){0};
    if (effective.connect_timeout_s <= 0)
        effective.connect_timeout_s = 10;
    if (!effective.application_name)
        effective.application_name = "drover";
    return ops->connect(url, &effective, describe_target(url), err);
}

void drv_close(DrvConn *c)
{
    if (c)
        c->ops->close(c);
}

DbDialect drv_conn_dialect(const DrvConn *c)
{
    return c->ops->dialect;
}

bool drv_exec(DrvConn *c, const char *sql, DroverError *err)
{
    return c->ops->exec(c, sql, err);
}

bool drv_exec_script(DrvConn *c, const char *script, size_t *completed, DroverError *err)
{
    size_t done = 0;
    bool ok = c->ops->exec_script(c, script, &done, err);
    if (completed)
        *completed = done;
    return ok;
}

bool drv_query_strings(DrvConn *c, const char *sql, StrList *out, DroverError *err)
{
    return c->ops->query_strings(c, sql, out, err);
}

bool drv_query_table(DrvConn *c, const char *sql, DrvTable *out, DroverError *err)
{
    return c->ops->query_table(c, sql, out, err);
}

void drv_table_free(DrvTable *t)
{
    sl_free(&t->columns);
    sl_free(&t->cells);
    t->nrows = 0;
}

bool drv_query_columns(DrvConn *c, const char *sql, StrList *out, DroverError *err)
{
    return c->ops->query_columns(c, sql, out, err);
}

bool drv_begin(DrvConn *c, DroverError *err)
{
    return c->ops->exec(c, c->ops->begin_sql, err);
}

bool drv_commit(DrvConn *c, DroverError *err)
{
    return c->ops->exec(c, "COMMIT", err);
}

bool drv_rollback(DrvConn *c, DroverError *err)
{
    DroverError ignored = DROVER_ERROR_INIT;
    bool ok = c->ops->exec(c, "ROLLBACK", err ? err : &ignored);
    error_clear(&ignored);
    return ok || !err;
}

char *drv_quote_ident(DbDialect d, const char *ident)
{
    char q = d == DB_POSTGRES ? '"' : '`';
    StrBuf sb;
    sb_init(&sb);
    sb_appendc(&sb, q);
    for (const char *p = ident; *p; p++) {
        if (*p == q)
            sb_appendc(&sb, q);
        sb_appendc(&sb, *p);
    }
    sb_appendc(&sb, q);
    return sb_detach(&sb);
}

char *drv_quote_literal(DrvConn *c, const char *s)
{
    return c->ops->quote_literal(c, s);
}

bool drv_lock(DrvConn *c, const char *key, const char *holder, int wait_ms, bool *acquired,
              DroverError *err)
{
    *acquired = false;
    if (wait_ms < 0) {
        error_set(err, ERR_INTERNAL, "negative lock wait %d ms for '%s'", wait_ms, key);
        return false;
    }
    return c->ops->lock(c, key, holder ? holder : "", wait_ms, acquired, err);
}

bool drv_unlock(DrvConn *c, const char *key, DroverError *err)
{
    return c->ops->unlock(c, key, err);
}

bool drv_lock_holder(DrvConn *c, const char *key, char **holder, DroverError *err)
{
    *holder = NULL;
    return c->ops->lock_holder(c, key, holder, err);
}

bool drv_in_transaction(DrvConn *c)
{
    return !c->ops->in_transaction || c->ops->in_transaction(c);
}

bool drv_set_lock_timeout(DrvConn *c, int ms, DroverError *err)
{
    if (ms < 0) {
        error_set(err, ERR_INTERNAL, "negative lock timeout %d ms", ms);
        return false;
    }
    return c->ops->set_lock_timeout(c, ms, err);
}

static bool pg_sqlstate_is_transient(const char *sqlstate)
{
    if (strncmp(sqlstate, "08", 2) == 0)
        return true;
    for (size_t k = 0; k < sizeof pg_transient_sqlstates / sizeof *pg_transient_sqlstates; k++)
        if (strcmp(sqlstate, pg_transient_sqlstates[k]) == 0)
            return true;
    return false;
}

bool drv_error_is_transient(DbDialect d, const DroverError *err)
{
    switch (d) {
    case DB_POSTGRES:
        return pg_sqlstate_is_transient(err->sqlstate);
    case DB_MYSQL:
        for (size_t k = 0; k < sizeof mysql_transient_errnos / sizeof *mysql_transient_errnos; k++)
            if (err->code == mysql_transient_errnos[k])
                return true;
        return false;
    case DB_SQLITE: {
        int primary = err->code & 0xff; /* extended codes keep the primary in the low byte */
        return primary == SQLITE_BUSY_CODE || primary == SQLITE_LOCKED_CODE;
    }
    }
    return false;
}

bool drv_error_is_connection_lost(DbDialect d, const DroverError *err)
{
    switch (d) {
    case DB_POSTGRES:
        return strncmp(err->sqlstate, "08", 2) == 0;
    case DB_MYSQL:
        return err->code == 2006 || err->code == 2013 || err->code == 2055;
    case DB_SQLITE:
        return false;
    }
    return false;
}

void drvi_conn_init(DrvConn *c, const DrvOps *ops, char *where)
{
    c->ops = ops;
    c->where = where;
}

void drvi_conn_release(DrvConn *c)
{
    free(c->where);
    c->where = NULL;
}

/* fold_lines turns a client library's multi-line message into one line: runs of blanks
 * (newlines, tabs) become one space, and the ends are trimmed. */
static void fold_lines(StrBuf *sb, const char *msg)
{
    bool pending_space = false;
    for (const char *p = msg; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            pending_space = sb->len > 0;
            continue;
        }
        if (pending_space)
            sb_appendc(sb, ' ');
        pending_space = false;
        sb_appendc(sb, *p);
    }
}

/* mask_secret replaces every occurrence of secret in text (a fresh string). */
static char *mask_secret(const char *text, const char *secret)
{
    if (!secret || !secret[0])
        return xstrdup(text);
    StrBuf sb;
    sb_init(&sb);
    size_t slen = strlen(secret);
    const char *p = text;
    for (const char *hit; (hit = strstr(p, secret)) != NULL; p = hit + slen) {
        sb_appendn(&sb, p, (size_t)(hit - p));
        sb_append(&sb, "***");
    }
    sb_append(&sb, p);
    return sb_detach(&sb);
}

void drvi_connect_error(DroverError *err, DbDialect d, const char *where,
                        const char *const *secrets, size_t nsecrets, const char *libmsg)
{
    StrBuf folded;
    sb_init(&folded);
    fold_lines(&folded, libmsg && libmsg[0] ? libmsg : "unknown error");
    char *raw = xasprintf("cannot connect to %s '%s': %s", db_dialect_name(d), where, folded.data);
    for (size_t k = 0; k < nsecrets; k++) {
        char *masked = mask_secret(raw, secrets[k]);
        free(raw);
        raw = masked;
    }
    error_set(err, ERR_CONNECT, "%s", raw);
    err->code = 0;
    memset(err->sqlstate, 0, sizeof err->sqlstate);
    free(raw);
    sb_free(&folded);
}

char *drvi_statement_text(DbDialect d, const char *sql, size_t len)
{
    char *copy = xstrndup(sql, len);
    SqlStatement *stmts = NULL;
    size_t n = sql_split(copy, d, &stmts);
    char *text = n > 0 ? xstrndup(copy + stmts[0].offset, stmts[0].len) : xstrdup("");
    free(stmts);
    free(copy);
    return text;
}

void drvi_sql_error(DroverError *err, DbDialect d, const char *message, const char *sqlstate,
                    int code, const char *sql, size_t len)
{
    error_set(err, ERR_SQL, "%s", message && message[0] ? message : "unknown error");
    err->code = code;
    memset(err->sqlstate, 0, sizeof err->sqlstate);
    if (sqlstate)
        memcpy(err->sqlstate, sqlstate, strnlen(sqlstate, sizeof err->sqlstate - 1));
    if (sql) {
        char *text = drvi_statement_text(d, sql, len);
        error_set_context(err, NULL, NULL, text);
        free(text);
    }
}

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t drvi_now_ms(void)
{
    return (int64_t)monotonic_ms();
}

int drvi_answer_wait_ms(const DrvConnectOptions *opts)
{
    if (opts->statement_timeout_ms <= 0)
        return -1;
    return opts->statement_timeout_ms + DRV_ANSWER_GRACE_S * 1000;
}

static void sleep_ms(long long ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* poll_pause_ms is 50 to 100 ms. The jitter comes from the clock's nanoseconds, which differ
 * between processes and threads without any shared random state. */
static long long poll_pause_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 50 + ts.tv_nsec % 51;
}

bool drvi_poll_lock(DrvConn *c, const void *arg,
                    DrviTry (*try_once)(DrvConn *c, const void *arg, DroverError *err), int wait_ms,
                    bool *acquired, DroverError *err)
{
    long long deadline = monotonic_ms() + wait_ms;
    for (;;) {
        switch (try_once(c, arg, err)) {
        case DRVI_TRY_TAKEN:
            *acquired = true;
            return true;
        case DRVI_TRY_FAILED:
            return false;
        case DRVI_TRY_BUSY:
            break;
        }
        long long left = deadline - monotonic_ms();
        if (left <= 0)
            return true;
        long long pause = poll_pause_ms();
        sleep_ms(pause < left ? pause : left);
    }
}

DrvCanceller *drv_canceller_new(DrvConn *c)
{
    return c->ops->canceller(c);
}

bool drv_cancel(DrvCanceller *k)
{
    return k->cancel(k);
}

void drv_canceller_free(DrvCanceller *k)
{
    if (k)
        k->free(k);
}

/*
 * pg.c — the PostgreSQL driver over libpq. Scripts run one statement per PQexec, split
 * like psql, so that statements that refuse a transaction block or a multi-statement
 * query (CREATE INDEX CONCURRENTLY, VACUUM) work as they do in psql.
 */
#include "driver_impl.h"

#include "sqlsplit_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct PgConn {
    DrvConn base;
    PGconn *pg;
    int answer_wait_ms; /* how long to wait for any answer; -1: no bound (drv_answer_wait_ms) */
    int64_t *held; /* advisory keys this session holds (pg_lock_holder must not probe them) */
    size_t nheld;
} PgConn;

static PGconn *pg_of(DrvConn *c)
{
    return ((PgConn *)c)->pg;
}

/* Notices (e.g. "table does not exist, skipping") would go to stderr from worker threads. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* The keyword/value arrays handed to PQconnectdbParams; values point into url and into the
 * two number buffers. */
typedef struct PgParams {
    const char **keys;
    const char **values;
    size_t n;
    char port[16];
    char timeout[16];
} PgParams;

static void param_add(PgParams *p, const char *key, const char *value)
{
    if (!value)
        return;
    p->keys[p->n] = key;
    p->values[p->n] = value;
    p->n++;
}

/* build_params lists the fixed keywords first and the URL's own parameters after them, so
 * that libpq (where a later keyword wins) lets an explicit URL parameter override them. */
static void build_params(PgParams *p, const DbUrl *url, const DrvConnectOptions *opts)
{
    size_t cap = 15 + url->nparams;
    p->keys = xcalloc(cap, sizeof *p->keys);
    p->values = xcalloc(cap, sizeof *p->values);
    p->n = 0;
    snprintf(p->port, sizeof p->port, "%d", url->port);
    snprintf(p->timeout, sizeof p->timeout, "%d", opts->connect_timeout_s);
    param_add(p, "host", url->host);
    param_add(p, "port", url->port > 0 ? p->port : NULL);
    param_add(p, "user", url->user);
    param_add(p, "password", url->password);
    param_add(p, "dbname", url->database);
    param_add(p, "application_name", opts->application_name);
    param_add(p, "connect_timeout", p->timeout);
    param_add(p, "client_encoding", "UTF8");
    /* A peer that vanished (host down, NAT entry gone, cable cut) is noticed within about a
     * minute instead of the kernel's two hours; the URL may override each of these. */
    param_add(p, "keepalives", "1");
    param_add(p, "keepalives_idle", "30");
    param_add(p, "keepalives_interval", "10");
    param_add(p, "keepalives_count", "3");
    param_add(p, "tcp_user_timeout", "60000");
    for (size_t k = 0; k < url->nparams; k++)
        param_add(p, url->params[k].key, url->params[k].value);
    p->keys[p->n] = NULL;
    p->values[p->n] = NULL;
}

static void free_params(PgParams *p)
{
    free(p->keys);
    free(p->values);
}

static const char *url_param(const DbUrl *url, const char *key)
{
    for (size_t k = 0; k < url->nparams; k++)
        if (strcmp(url->params[k].key, key) == 0)
            return url->params[k].value;
    return NULL;
}

/*
 * connect_sqlstate classifies a failed connection, for which libpq exposes no SQLSTATE.
 * When the server never answered (refused, unreachable, timeout) it is 08001, a transient
 * fault. When the server answered, libpq shows its error as "SEVERITY:  message" (two
 * spaces); such a rejection (bad password, unknown database) is permanent, except "too many
 * clients", recognised by its English text: libpq keeps the server's SQLSTATE to itself.
 */
static const char *connect_sqlstate(const char *libmsg)
{
    if (!strstr(libmsg, ":  "))
        return "08001";
    if (strstr(libmsg, "too many clients"))
        return "53300";
    return "";
}

static void set_sqlstate(DroverError *err, const char *sqlstate)
{
    memset(err->sqlstate, 0, sizeof err->sqlstate);
    memcpy(err->sqlstate, sqlstate, strnlen(sqlstate, sizeof err->sqlstate - 1));
}

static bool pg_exec(DrvConn *c, const char *sql, DroverError *err);

/* The server ends a statement running past the environment's statement_timeout (57014). */
static bool pg_set_statement_timeout(DrvConn *c, const DrvConnectOptions *opts,
                                     DroverError *err)
{
    char *sql = xasprintf("SET statement_timeout = '%dms'", opts->statement_timeout_ms);
    bool ok = pg_exec(c, sql, err);
    free(sql);
    if (!ok)
        err->kind = ERR_CONNECT;
    return ok;
}

static DrvConn *pg_connect(const DbUrl *url, const DrvConnectOptions *opts, char *where,
                           DroverError *err)
{
    PgParams params;
    build_params(&params, url, opts);
    PGconn *pg = PQconnectdbParams(params.keys, params.values, 0);
    free_params(&params);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        const char *libmsg = pg ? PQerrorMessage(pg) : "out of memory";
        const char *secrets[] = {url->password, url_param(url, "password")};
        drvi_connect_error(err, DB_POSTGRES, where, secrets, 2, libmsg);
        set_sqlstate(err, connect_sqlstate(libmsg));
        PQfinish(pg);
        free(where);
        return NULL;
    }
    PQsetNoticeProcessor(pg, ignore_notice, NULL);
    PgConn *c = xcalloc(1, sizeof *c);
    drvi_conn_init(&c->base, &drvi_pg_ops, where);
    c->pg = pg;
    c->answer_wait_ms = drvi_answer_wait_ms(opts);
    if (opts->statement_timeout_ms > 0 && !pg_set_statement_timeout(&c->base, opts, err)) {
        drv_close(&c->base);
        return NULL;
    }
    if (url->schema) {
        char *schema = drv_quote_ident(DB_POSTGRES, url->schema);
        char *sql = xasprintf("SET search_path TO %s", schema);
        bool ok = pg_exec(&c->base, sql, err);
        free(sql);
        free(schema);
        if (!ok) {
            err->kind = ERR_CONNECT;
            drv_close(&c->base);
            return NULL;
        }
    }
    return &c->base;
}

static void pg_close(DrvConn *c)
{
    PQfinish(pg_of(c));
    free(((PgConn *)c)->held);
    drvi_conn_release(c);
    free(c);
}

/* pg_set_error reports a failed result (or a NULL one): the server's primary message with
 * its detail, SQLSTATE and hint; libpq's own message when the server sent none. A lost
 * connection without a SQLSTATE is reported as 08006 so that it is retried. */
static void pg_set_error(PGconn *pg, const PGresult *res, const char *sql, size_t len,
                         DroverError *err)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    StrBuf msg;
    sb_init(&msg);
    if (primary) {
        sb_append(&msg, primary);
    } else {
        const char *libmsg = res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
                                                                 : PQerrorMessage(pg);
        sb_appendn(&msg, libmsg, strcspn(libmsg, "\n"));
    }
    if (detail)
        sb_appendf(&msg, " (detail: %s)", detail);
    if ((!sqlstate || !sqlstate[0]) && PQstatus(pg) == CONNECTION_BAD)
        sqlstate = "08006";
    drvi_sql_error(err, DB_POSTGRES, msg.data, sqlstate, 0, sql, len);
    if (hint)
        error_set_hint(err, "%s", hint);
    sb_free(&msg);
}

/* finish_copy leaves a COPY that a migration started through stdin/stdout, which a
 * migration cannot feed, and drains the results so the connection is usable again. */
static void finish_copy(PGconn *pg, ExecStatusType status)
{
    if (status == PGRES_COPY_IN || status == PGRES_COPY_BOTH)
        PQputCopyEnd(pg, "copy from stdin is not supported in migrations");
    if (status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
        char *buf = NULL;
        while (PQgetCopyData(pg, &buf, 0) > 0)
            PQfreemem(buf);
    }
    for (PGresult *r; (r = PQgetResult(pg)) != NULL;)
        PQclear(r);
}

/* wait_readable waits until the socket has data or deadline_ms (a monotonic time, -1: none)
 * passes; false when it passed. */
static bool wait_readable(int fd, int64_t deadline_ms)
{
    for (;;) {
        int left = -1;
        if (deadline_ms >= 0) {
            int64_t now = drvi_now_ms();
            if (now >= deadline_ms)
                return false;
            left = (int)(deadline_ms - now);
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, left);
        if (n > 0 || (n < 0 && errno != EINTR))
            return true; /* readable, or an error that PQconsumeInput will report */
    }
}

/*
 * pg_exec_bounded is PQexec with a bound on the wait for the server's answer: the first error
 * result, else the last result. When no answer comes within the connection's answer wait
 * (statement_timeout plus a grace: the server would have cancelled the statement by then, so
 * silence means the path to it is frozen), the socket is shut down, so that every later call
 * on this connection fails at once as a lost connection, and NULL is returned.
 */
static PGresult *pg_exec_bounded(PgConn *c, const char *sql, bool *timed_out)
{
    PGconn *pg = c->pg;
    *timed_out = false;
    if (c->answer_wait_ms < 0 || PQstatus(pg) != CONNECTION_OK)
        return PQexec(pg, sql);
    if (!PQsendQuery(pg, sql))
        return NULL;
    int64_t deadline = drvi_now_ms() + c->answer_wait_ms;
    PGresult *keep = NULL;
    for (;;) {
        while (PQisBusy(pg)) {
            if (!wait_readable(PQsocket(pg), deadline)) {
                *timed_out = true;
                shutdown(PQsocket(pg), SHUT_RDWR);
                PQclear(keep);
                return NULL;
            }
            if (!PQconsumeInput(pg))
                break;
        }
        PGresult *r = PQgetResult(pg);
        if (!r)
            return keep;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            PQclear(keep);
            return r;
        }
        bool failed = st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE;
        if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR && !failed) {
            PQclear(r);
            continue;
        }
        PQclear(keep);
        keep = r;
    }
}

/* pg_run executes sql (one or more statements) and checks the last result; text/len name
 * the statement for an error. Returns the result on success (caller clears), else NULL. */
static PGresult *pg_run(PgConn *c, const char *sql, const char *text, size_t len,
                        DroverError *err)
{
    PGconn *pg = c->pg;
    bool timed_out = false;
    PGresult *res = pg_exec_bounded(c, sql, &timed_out);
    if (timed_out) {
        char *why = xasprintf("no answer from the server within %d s (statement_timeout and a "
                              "%d s grace): the network path to it is frozen; the connection was "
                              "closed", c->answer_wait_ms / 1000, DRV_ANSWER_GRACE_S);
        drvi_sql_error(err, DB_POSTGRES, why, "08006", 0, text, len);
        free(why);
        return NULL;
    }
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    switch (status) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
        return res;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
        PQclear(res);
        finish_copy(pg, status);
        drvi_sql_error(err, DB_POSTGRES, "copy from stdin or to stdout is not supported", "",
                       0, text, len);
        return NULL;
    default:
        pg_set_error(pg, res, text, len, err);
        PQclear(res);
        return NULL;
    }
}

static bool pg_exec(DrvConn *c, const char *sql, DroverError *err)
{
    PGresult *res = pg_run((PgConn *)c, sql, sql, strlen(sql), err);
    PQclear(res);
    return res != NULL;
}

static bool pg_exec_script(DrvConn *c, const char *script, size_t *completed, DroverError *err)
{
    SqlStatement *stmts = NULL;
    size_t n = sql_split(script, DB_POSTGRES, &stmts);
    bool ok = true;
    for (size_t k = 0; k < n && ok; k++) {
        char *sql = xstrndup(script + stmts[k].offset, stmts[k].len);
        PGresult *res = pg_run((PgConn *)c, sql, sql, stmts[k].len, err);
        ok = res != NULL;
        PQclear(res);
        free(sql);
        if (ok)
            (*completed)++;
    }
    free(stmts);
    return ok;
}

static bool pg_query_strings(DrvConn *c, const char *sql, StrList *out, DroverError *err)
{
    PGresult *res = pg_run((PgConn *)c, sql, sql, strlen(sql), err);
    if (!res)
        return false;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQnfields(res) > 0) {
        for (int row = 0; row < PQntuples(res); row++)
            sl_push(out, PQgetisnull(res, row, 0) ? "" : PQgetvalue(res, row, 0));
    }
    PQclear(res);
    return true;
}

static bool pg_query_columns(DrvConn *c, const char *sql, StrList *out, DroverError *err)
{
    PGresult *res = pg_run((PgConn *)c, sql, sql, strlen(sql), err);
    if (!res)
        return false;
    for (int col = 0; col < PQnfields(res); col++)
        sl_push(out, PQfname(res, col));
    PQclear(res);
    return true;
}

static bool pg_query_table(DrvConn *c, const char *sql, DrvTable *out, DroverError *err)
{
    PGresult *res = pg_run((PgConn *)c, sql, sql, strlen(sql), err);
    if (!res)
        return false;
    int cols = PQnfields(res);
    for (int col = 0; col < cols; col++)
        sl_push(&out->columns, PQfname(res, col));
    for (int row = 0; PQresultStatus(res) == PGRES_TUPLES_OK && row < PQntuples(res); row++) {
        for (int col = 0; col < cols; col++)
            sl_push(&out->cells, PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
        out->nrows++;
    }
    PQclear(res);
    return true;
}

/* Returns NULL when libpq rejects the string (invalid UTF-8). */
static char *pg_quote_literal(DrvConn *c, const char *s)
{
    char *escaped = PQescapeLiteral(pg_of(c), s, strlen(s));
    if (!escaped)
        return NULL;
    char *copy = xstrdup(escaped);
    PQfreemem(escaped);
    return copy;
}

/* query_value runs sql and hands back the first column of its first row, or NULL when there
 * is no row or the value is NULL. Caller frees *value. */
static bool query_value(DrvConn *c, const char *sql, char **value, DroverError *err)
{
    *value = NULL;
    PGresult *res = pg_run((PgConn *)c, sql, sql, strlen(sql), err);
    if (!res)
        return false;
    if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
        *value = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return true;
}

/* ---- advisory locks --------------------------------------------------------------------- */

/*
 * An advisory key as PostgreSQL stores it. The key is FNV-1a 64 of the key string's bytes
 * (offset basis 0xcbf29ce484222325, prime 0x100000001b3), its 64 bits read as a signed bigint
 * (docs/locks.md); pg_locks shows the high 32 bits as classid, the low 32 as objid, and
 * objsubid 1 for a bigint key.
 */
typedef struct AdvisoryKey {
    const char *key;
    int64_t id;
    uint32_t classid;
    uint32_t objid;
} AdvisoryKey;

static AdvisoryKey advisory_key(const char *key)
{
    uint64_t h = fnv1a64(key, strlen(key));
    /* two's complement without relying on the implementation-defined unsigned→signed cast */
    int64_t id = h <= INT64_MAX ? (int64_t)h : -(int64_t)(~h) - 1;
    return (AdvisoryKey){.key = key, .id = id, .classid = (uint32_t)(h >> 32),
                         .objid = (uint32_t)(h & UINT32_C(0xffffffff))};
}

/* The pg_locks condition for a granted advisory lock on k in the current database. */
static char *advisory_lock_filter(const AdvisoryKey *k)
{
    return xasprintf("l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
                     " AND l.classid = %" PRIu32 " AND l.objid = %" PRIu32
                     " AND l.database = (SELECT oid FROM pg_database"
                     " WHERE datname = current_database())",
                     k->classid, k->objid);
}

/* run_bool runs a query that yields one boolean and reports whether it was true. */
static bool run_bool(DrvConn *c, const char *sql, bool *truth, DroverError *err)
{
    char *value = NULL;
    if (!query_value(c, sql, &value, err))
        return false;
    *truth = value && strcmp(value, "t") == 0;
    free(value);
    return true;
}

static DrviTry pg_try_lock(DrvConn *c, const void *arg, DroverError *err)
{
    const AdvisoryKey *k = arg;
    char *sql = xasprintf("SELECT pg_try_advisory_lock(%" PRId64 ")", k->id);
    bool taken = false;
    bool ok = run_bool(c, sql, &taken, err);
    free(sql);
    return !ok ? DRVI_TRY_FAILED : taken ? DRVI_TRY_TAKEN : DRVI_TRY_BUSY;
}

/*
 * take_and_release takes k (exclusive, or shared when shared is true) without waiting and
 * releases that hold in the same statement (CASE keeps the order: it releases only what it
 * took). *taken tells whether the lock could be taken. It reads no catalog: a pg_locks query
 * costs a fresh backend more than the rest of a small migration's bookkeeping
 * (bench/profile-status).
 */
static bool take_and_release(DrvConn *c, const AdvisoryKey *k, bool shared, bool *taken,
                             DroverError *err)
{
    const char *mode = shared ? "_shared" : "";
    char *sql = xasprintf("SELECT CASE WHEN pg_try_advisory_lock%s(%" PRId64 ")"
                          " THEN pg_advisory_unlock%s(%" PRId64 ") ELSE false END",
                          mode, k->id, mode, k->id);
    bool ok = run_bool(c, sql, taken, err);
    free(sql);
    return ok;
}

/*
 * lock_is_ours asks, in a second statement, whether this backend holds the lock. Behind a
 * transaction-pooling proxy (PgBouncer pool_mode=transaction) the next statement may run in
 * another backend, where a session lock is worthless: it neither excludes nor survives. Session
 * advisory locks are re-entrant, so taking k again succeeds only in the backend that holds it;
 * any other backend finds it held.
 */
static bool lock_is_ours(DrvConn *c, const AdvisoryKey *k, bool *ours, DroverError *err)
{
    return take_and_release(c, k, false, ours, err);
}

static void unlock_quietly(DrvConn *c, const AdvisoryKey *k)
{
    DroverError ignored = DROVER_ERROR_INIT;
    char *sql = xasprintf("SELECT pg_advisory_unlock(%" PRId64 ")", k->id);
    bool released = false;
    run_bool(c, sql, &released, &ignored);
    free(sql);
    error_clear(&ignored);
}

static void remember_held(DrvConn *c, int64_t id)
{
    PgConn *pc = (PgConn *)c;
    pc->held = xrealloc(pc->held, (pc->nheld + 1) * sizeof *pc->held);
    pc->held[pc->nheld++] = id;
}

static void forget_held(DrvConn *c, int64_t id)
{
    PgConn *pc = (PgConn *)c;
    for (size_t i = 0; i < pc->nheld; i++) {
        if (pc->held[i] == id) {
            pc->held[i] = pc->held[--pc->nheld];
            return;
        }
    }
}

static bool holds(const DrvConn *c, int64_t id)
{
    const PgConn *pc = (const PgConn *)c;
    for (size_t i = 0; i < pc->nheld; i++)
        if (pc->held[i] == id)
            return true;
    return false;
}

/* pg_lock: holder is not stored; the session's application_name identifies the process. */
static bool pg_lock(DrvConn *c, const char *key, const char *holder, int wait_ms, bool *acquired,
                    DroverError *err)
{
    (void)holder;
    AdvisoryKey k = advisory_key(key);
    if (!drvi_poll_lock(c, &k, pg_try_lock, wait_ms, acquired, err))
        return false;
    if (!*acquired)
        return true;
    bool ours = false;
    if (!lock_is_ours(c, &k, &ours, err)) {
        unlock_quietly(c, &k);
        *acquired = false;
        return false;
    }
    if (ours) {
        remember_held(c, k.id);
        return true;
    }
    unlock_quietly(c, &k);
    *acquired = false;
    error_set(err, ERR_CONNECT, "the advisory lock for '%s' is not held by this session",
                  key);
    error_set_hint(err, "the connection goes through a transaction-pooling proxy (PgBouncer "
                            "pool_mode=transaction), where each statement may run in another "
                            "session; connect to PostgreSQL directly or through session pooling");
    return false;
}

static bool pg_unlock(DrvConn *c, const char *key, DroverError *err)
{
    AdvisoryKey k = advisory_key(key);
    char *sql = xasprintf("SELECT pg_advisory_unlock(%" PRId64 ")", k.id);
    bool released = false;
    bool ok = run_bool(c, sql, &released, err);
    free(sql);
    if (ok && !released) {
        error_set(err, ERR_INTERNAL,
                      "cannot release the advisory lock for '%s': this session does not hold it",
                      key);
        return false;
    }
    if (ok)
        forget_held(c, k.id);
    return ok;
}

/*
 * lock_is_free probes k with a shared lock held for one statement: it conflicts only with an
 * exclusive holder and waits for nothing. Reading pg_locks joined to pg_stat_activity costs a
 * fresh backend about a third of its connection time, and status probes every tenant, so the
 * holder is described only when there is one. A drover migrate that tries the lock during those
 * microseconds polls again (drv_lock).
 */
static bool lock_is_free(DrvConn *c, const AdvisoryKey *k, bool *is_free, DroverError *err)
{
    return take_and_release(c, k, true, is_free, err);
}

/* pg_lock_holder: PostgreSQL does not record when a lock was granted, so "since" is when the
 * holder's session started; fields the server hides from this role show as "unknown". */
static bool pg_lock_holder(DrvConn *c, const char *key, char **holder, DroverError *err)
{
    AdvisoryKey k = advisory_key(key);
    bool is_free = false;
    *holder = NULL;
    if (!holds(c, k.id)) {
        if (!lock_is_free(c, &k, &is_free, err))
            return false;
        if (is_free)
            return true;
    }
    char *filter = advisory_lock_filter(&k);
    char *sql = xasprintf(
        "SELECT format('pid %%s, application_name %%L, client %%s, since %%s', l.pid,"
        " coalesce(a.application_name, ''),"
        " CASE WHEN a.client_addr IS NOT NULL THEN host(a.client_addr)"
        " WHEN a.client_port = -1 THEN 'local' ELSE 'unknown' END,"
        " coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00',"
        " 'unknown'))"
        " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE %s",
        filter);
    bool ok = query_value(c, sql, holder, err);
    free(sql);
    free(filter);
    return ok;
}

/* pg_set_lock_timeout sets the session's lock_timeout; like any SET it is undone when the
 * surrounding transaction rolls back. RESET returns to the server's (or role's) setting. */
/* pg_in_transaction: libpq's own view, no round trip. Only "idle" means the transaction
 * ended; a connection that broke (unknown) had it rolled back by the server, which is no
 * COMMIT of the migration's. */
static bool pg_in_transaction(DrvConn *c)
{
    return PQtransactionStatus(pg_of(c)) != PQTRANS_IDLE;
}

static bool pg_set_lock_timeout(DrvConn *c, int ms, DroverError *err)
{
    if (ms == 0)
        return pg_exec(c, "RESET lock_timeout", err);
    char *sql = xasprintf("SET lock_timeout = '%dms'", ms);
    bool ok = pg_exec(c, sql, err);
    free(sql);
    return ok;
}

/* PQcancel is safe from any thread; the PGcancel object lives apart from the connection. */
typedef struct PgCanceller {
    DrvCanceller base;
    PGcancel *cancel;
} PgCanceller;

static bool pg_cancel(DrvCanceller *k)
{
    char errbuf[256];
    return PQcancel(((PgCanceller *)k)->cancel, errbuf, (int)sizeof errbuf) == 1;
}

static void pg_canceller_free(DrvCanceller *k)
{
    PQfreeCancel(((PgCanceller *)k)->cancel);
    free(k);
}

static DrvCanceller *pg_canceller(DrvConn *c)
{
    PGcancel *cancel = PQgetCancel(pg_of(c));
    if (!cancel)
        return NULL;
    PgCanceller *k = xcalloc(1, sizeof *k);
    k->base = (DrvCanceller){.cancel = pg_cancel, .free = pg_canceller_free};
    k->cancel = cancel;
    return &k->base;
}

const DrvOps drvi_pg_ops = {
    .dialect = DB_POSTGRES,
    .begin_sql = "BEGIN",
    .connect = pg_connect,
    .close = pg_close,
    .exec = pg_exec,
    .exec_script = pg_exec_script,
    .query_strings = pg_query_strings,
    .query_columns = pg_query_columns,
    .query_table = pg_query_table,
    .quote_literal = pg_quote_literal,
    .lock = pg_lock,
    .unlock = pg_unlock,
    .lock_holder = pg_lock_holder,
    .set_lock_timeout = pg_set_lock_timeout,
    .in_transaction = pg_in_transaction,
    .canceller = pg_canceller,
};

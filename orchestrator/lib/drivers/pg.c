/*
 * pg.c — the PostgreSQL driver over libpq. Scripts run one statement per PQexec, split
 * like psql, so that statements that refuse a transaction block or a multi-statement
 * query (CREATE INDEX CONCURRENTLY, VACUUM) work as they do in psql.
 */
#include "driver_impl.h"

#include "sqlsplit.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct PgConn {
    DrvConn base;
    PGconn *pg;
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
static void build_params(PgParams *p, const InvUrl *url, const DrvConnectOptions *opts)
{
    size_t cap = 9 + url->nparams;
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

static const char *url_param(const InvUrl *url, const char *key)
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

static void set_sqlstate(DrvError *err, const char *sqlstate)
{
    memset(err->sqlstate, 0, sizeof err->sqlstate);
    memcpy(err->sqlstate, sqlstate, strnlen(sqlstate, sizeof err->sqlstate - 1));
}

static bool pg_exec(DrvConn *c, const char *sql, DrvError *err);

static DrvConn *pg_connect(const InvUrl *url, const DrvConnectOptions *opts, char *where,
                           DrvError *err)
{
    PgParams params;
    build_params(&params, url, opts);
    PGconn *pg = PQconnectdbParams(params.keys, params.values, 0);
    free_params(&params);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        const char *libmsg = pg ? PQerrorMessage(pg) : "out of memory";
        const char *secrets[] = {url->password, url_param(url, "password")};
        drvi_connect_error(err, DRV_POSTGRES, where, secrets, 2, libmsg);
        set_sqlstate(err, connect_sqlstate(libmsg));
        PQfinish(pg);
        free(where);
        return NULL;
    }
    PQsetNoticeProcessor(pg, ignore_notice, NULL);
    PgConn *c = xcalloc(1, sizeof *c);
    drvi_conn_init(&c->base, &drvi_pg_ops, where);
    c->pg = pg;
    if (url->schema) {
        char *schema = drv_quote_ident(DRV_POSTGRES, url->schema);
        char *sql = xasprintf("SET search_path TO %s", schema);
        bool ok = pg_exec(&c->base, sql, err);
        free(sql);
        free(schema);
        if (!ok) {
            err->kind = DRV_ERR_CONNECT;
            drv_close(&c->base);
            return NULL;
        }
    }
    return &c->base;
}

static void pg_close(DrvConn *c)
{
    PQfinish(pg_of(c));
    drvi_conn_release(c);
    free(c);
}

/* pg_set_error reports a failed result (or a NULL one): the server's primary message with
 * its detail, SQLSTATE and hint; libpq's own message when the server sent none. A lost
 * connection without a SQLSTATE is reported as 08006 so that it is retried. */
static void pg_set_error(PGconn *pg, const PGresult *res, const char *sql, size_t len,
                         DrvError *err)
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
    drvi_sql_error(err, DRV_POSTGRES, msg.data, sqlstate, 0, sql, len);
    if (hint)
        drv_error_set_hint(err, "%s", hint);
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

/* pg_run executes sql (one or more statements) and checks the last result; text/len name
 * the statement for an error. Returns the result on success (caller clears), else NULL. */
static PGresult *pg_run(PGconn *pg, const char *sql, const char *text, size_t len,
                        DrvError *err)
{
    PGresult *res = PQexec(pg, sql);
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
        drvi_sql_error(err, DRV_POSTGRES, "copy from stdin or to stdout is not supported", "",
                       0, text, len);
        return NULL;
    default:
        pg_set_error(pg, res, text, len, err);
        PQclear(res);
        return NULL;
    }
}

static bool pg_exec(DrvConn *c, const char *sql, DrvError *err)
{
    PGresult *res = pg_run(pg_of(c), sql, sql, strlen(sql), err);
    PQclear(res);
    return res != NULL;
}

static bool pg_exec_script(DrvConn *c, const char *script, size_t *completed, DrvError *err)
{
    SqlStatement *stmts = NULL;
    size_t n = sql_split(script, DRV_POSTGRES, &stmts);
    bool ok = true;
    for (size_t k = 0; k < n && ok; k++) {
        char *sql = xstrndup(script + stmts[k].offset, stmts[k].len);
        PGresult *res = pg_run(pg_of(c), sql, sql, stmts[k].len, err);
        ok = res != NULL;
        PQclear(res);
        free(sql);
        if (ok)
            (*completed)++;
    }
    free(stmts);
    return ok;
}

static bool pg_query_strings(DrvConn *c, const char *sql, StrList *out, DrvError *err)
{
    PGresult *res = pg_run(pg_of(c), sql, sql, strlen(sql), err);
    if (!res)
        return false;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQnfields(res) > 0) {
        for (int row = 0; row < PQntuples(res); row++)
            sl_push(out, PQgetisnull(res, row, 0) ? "" : PQgetvalue(res, row, 0));
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

const DrvOps drvi_pg_ops = {
    .dialect = DRV_POSTGRES,
    .begin_sql = "BEGIN",
    .connect = pg_connect,
    .close = pg_close,
    .exec = pg_exec,
    .exec_script = pg_exec_script,
    .query_strings = pg_query_strings,
    .quote_literal = pg_quote_literal,
};

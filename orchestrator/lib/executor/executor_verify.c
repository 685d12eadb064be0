/*
 * executor_verify.c — drover verify: for one tenant, apply each pending migration, revert it,
 * compare the schema with what it was, apply it again, and leave the tenant as it was.
 *
 * Where that happens depends on what can be undone for certain:
 * - PostgreSQL: on the tenant itself, under its lock, inside ONE transaction that is always
 *   rolled back (on drover's session; or, when .js migrations are pending, in the node runner's
 *   session, which holds a guarded transaction that cannot commit, as plan --sql does). The
 *   migrations meet the tenant's real data.
 * - SQLite: on a copy of the file (VACUUM INTO, a consistent snapshot) in a private temporary
 *   folder, removed afterwards; real data too.
 * - MariaDB/MySQL: DDL commits implicitly, so on a scratch database built from the tenant's
 *   tables (SHOW CREATE TABLE, no rows) and dropped afterwards: the schema is checked, data
 *   problems are not (said in the tenant's note).
 * Nothing is recorded in SequelizeMeta anywhere.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor_impl.h"
#include "schema_impl.h"
#include "sqlsplit_impl.h"

/* The place verify runs the migrations, and how it reaches it. */
typedef struct VerifyTarget {
    TenantRun *r;
    DbDialect dialect;
    DrvConn *conn;      /* PostgreSQL: the tenant's session (in a transaction); else the copy's */
    bool own_conn;      /* conn is the copy's, closed here */
    NrRunner *runner;   /* .js: a session on the same place (PostgreSQL: holding the
                           transaction); NULL until a .js migration needs it */
    bool in_runner;     /* PostgreSQL with .js pending: everything runs in the runner's
                           transaction, which drover's own session cannot see */
    bool in_tx;         /* a transaction is open that must be rolled back */
    DbUrl url;          /* a shallow copy of the tenant's URL, pointing at the copy */
    char *scratch;      /* SQLite: the copy's folder; MariaDB: the scratch database */
    char *scratch_path; /* SQLite: the copy's file */
    char *catalog;      /* in_runner: the query schema_read runs */
} VerifyTarget;

static const Migration *mig_at(const TenantRun *r, size_t i)
{
    return &r->job->migrations->items[i];
}

void exec_verifies_free(ExecResult *res)
{
    for (size_t i = 0; i < res->nverifies; i++) {
        free(res->verifies[i].migration);
        free(res->verifies[i].problem);
    }
    free(res->verifies);
    res->verifies = NULL;
    res->nverifies = 0;
    free(res->verify_note);
    res->verify_note = NULL;
}

static bool any_js(const TenantRun *r, const size_t *idx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (mig_at(r, idx[i])->kind == MIG_JS)
            return true;
    return false;
}

static DrvConnectOptions copy_connect_options(const TenantRun *r, bool create)
{
    return (DrvConnectOptions){.application_name = r->job->options->application_name,
                               .create = create,
                               .statement_timeout_ms = (int)r->job->statement_timeout_ms};
}

/* ---- the three places ------------------------------------------------------------------- */

/* sqlite_copy snapshots the tenant's file into a private folder (an empty database when the
 * tenant's file does not exist yet) and connects to the copy. */
static bool sqlite_copy(VerifyTarget *t, DroverError *err)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = xasprintf("%s/drover-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        error_set(err, ERR_IO, "cannot create a folder for the tenant's copy in '%s'",
                  tmp && *tmp ? tmp : "/tmp");
        free(dir);
        return false;
    }
    t->scratch = dir;
    t->scratch_path = xasprintf("%s/tenant.db", dir);
    if (t->r->conn) {
        char *q = drv_quote_literal(t->r->conn, t->scratch_path);
        char *sql = xasprintf("VACUUM INTO %s", q);
        bool ok = drv_exec(t->r->conn, sql, err);
        free(sql);
        free(q);
        if (!ok)
            return false;
    }
    t->url.database = t->scratch_path;
    DrvConnectOptions o = copy_connect_options(t->r, true);
    t->conn = drv_connect(&t->url, &o, err);
    t->own_conn = t->conn != NULL;
    return t->conn != NULL;
}

/* mysql_tables lists the tenant's base tables (views, triggers and routines are not copied). */
static bool mysql_tables(DrvConn *c, StrList *out, DroverError *err)
{
    return drv_query_strings(c, "SELECT table_name FROM information_schema.tables WHERE "
                                "table_schema = DATABASE() AND table_type = 'BASE TABLE' "
                                "ORDER BY table_name",
                             out, err);
}

/* mysql_copy_table creates one table of the tenant in the scratch database, as SHOW CREATE
 * TABLE gives it. */
static bool mysql_copy_table(VerifyTarget *t, const char *table, DroverError *err)
{
    char *q = drv_quote_ident(DB_MYSQL, table);
    char *sql = xasprintf("SHOW CREATE TABLE %s", q);
    free(q);
    DrvTable shown = DRV_TABLE_INIT;
    bool ok = drv_query_table(t->r->conn, sql, &shown, err);
    free(sql);
    if (ok && (shown.nrows != 1 || shown.columns.n < 2)) {
        error_set(err, ERR_INTERNAL, "SHOW CREATE TABLE gave no definition for '%s'", table);
        ok = false;
    }
    ok = ok && drv_exec(t->conn, shown.cells.items[1], err);
    drv_table_free(&shown);
    return ok;
}

/* mysql_scratch builds the scratch database from the tenant's tables and connects to it. */
static bool mysql_scratch(VerifyTarget *t, DroverError *err)
{
    char name[64];
    snprintf(name, sizeof name, "drover_verify_%ld_%lx", (long)getpid(),
             (unsigned long)(exec_wall_clock() * 1000.0));
    char *q = drv_quote_ident(DB_MYSQL, name);
    char *sql = xasprintf("CREATE DATABASE %s", q);
    free(q);
    bool ok = drv_exec(t->r->conn, sql, err);
    free(sql);
    if (!ok) {
        error_set_hint(err, "verify builds a scratch database on MariaDB/MySQL (the tenant "
                            "itself is never changed): drover's user needs CREATE and DROP "
                            "there");
        return false;
    }
    t->scratch = xstrdup(name);
    t->url.database = t->scratch;
    DrvConnectOptions o = copy_connect_options(t->r, false);
    t->conn = drv_connect(&t->url, &o, err);
    t->own_conn = t->conn != NULL;
    StrList tables = STRLIST_INIT;
    ok = t->conn && drv_exec(t->conn, "SET SESSION foreign_key_checks = 0", err) &&
         mysql_tables(t->r->conn, &tables, err);
    for (size_t i = 0; ok && i < tables.n; i++)
        ok = mysql_copy_table(t, tables.items[i], err);
    sl_free(&tables);
    return ok && drv_exec(t->conn, "SET SESSION foreign_key_checks = 1", err);
}

/* pg_begin opens the transaction everything runs in, on drover's session or, with .js
 * pending, in the runner's (opened read-only but for that transaction, as previews are). */
static bool pg_begin(VerifyTarget *t, DroverError *err)
{
    t->conn = t->r->conn;
    if (!t->in_runner) {
        t->in_tx = drv_begin(t->conn, err);
        return t->in_tx;
    }
    t->catalog = schema_catalog_query(t->conn, &t->r->table, err);
    if (!t->catalog || !exec_open_runner(t->r, true, err))
        return false;
    t->runner = t->r->runner;
    t->in_tx = nr_begin(t->runner, err);
    return t->in_tx;
}

static bool target_open(VerifyTarget *t, bool js, DroverError *err)
{
    t->url = t->r->job->tenant->url;
    switch (t->dialect) {
    case DB_POSTGRES:
        t->in_runner = js;
        return pg_begin(t, err);
    case DB_SQLITE:
        return sqlite_copy(t, err);
    case DB_MYSQL:
        return mysql_scratch(t, err);
    }
    return false;
}

/* target_close rolls back or removes whatever verify made; nothing of it stays. */
static void target_close(VerifyTarget *t)
{
    if (t->in_tx && t->in_runner)
        nr_rollback(t->runner, NULL);
    else if (t->in_tx)
        drv_rollback(t->conn, NULL);
    if (t->runner && t->runner != t->r->runner)
        nr_release(t->runner);
    if (t->own_conn)
        drv_close(t->conn);
    if (t->dialect == DB_MYSQL && t->scratch) {
        char *q = drv_quote_ident(DB_MYSQL, t->scratch);
        char *sql = xasprintf("DROP DATABASE IF EXISTS %s", q);
        DroverError ignored = DROVER_ERROR_INIT;
        drv_exec(t->r->conn, sql, &ignored);
        error_clear(&ignored);
        free(sql);
        free(q);
    }
    if (t->dialect == DB_SQLITE && t->scratch) {
        const char *suffixes[] = {"", "-journal", "-wal", "-shm"};
        for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
            char *p = xasprintf("%s%s", t->scratch_path, suffixes[i]);
            unlink(p);
            free(p);
        }
        rmdir(t->scratch);
    }
    free(t->scratch);
    free(t->scratch_path);
    free(t->catalog);
}

/* ---- the steps --------------------------------------------------------------------------- */

static bool target_schema(VerifyTarget *t, StrList *lines, DroverError *err)
{
    if (!t->in_runner)
        return schema_read(t->conn, &t->r->table, lines, err);
    sl_free(lines);
    if (!nr_query(t->runner, t->catalog, lines, err))
        return false;
    schema_canonical(t->dialect, lines);
    return true;
}

/* target_runner: a runner session on the copy (SQLite, MariaDB), opened when first needed. */
static NrRunner *target_runner(VerifyTarget *t, DroverError *err)
{
    if (t->runner)
        return t->runner;
    NrRunner *n = nr_acquire(err);
    NrOpenRequest o = {.url = &t->url, .tenant = t->r->job->tenant->id,
                       .lock_timeout_ms = t->r->job->lock_timeout_ms,
                       .statement_timeout_ms = t->r->job->statement_timeout_ms};
    if (n && nr_open(n, &o, err))
        return t->runner = n;
    nr_release(n);
    return NULL;
}

static bool run_sql_section(VerifyTarget *t, const MigSection *s, DroverError *err)
{
    const char *sql = s->sql ? s->sql : "";
    if (!t->in_runner) {
        size_t completed = 0;
        return drv_exec_script(t->conn, sql, &completed, err);
    }
    SqlStatement *st = NULL;
    size_t n = sql_split(sql, t->dialect, &st);
    StrList statements = STRLIST_INIT;
    for (size_t i = 0; i < n; i++)
        sl_push_owned(&statements, xstrndup(sql + st[i].offset, st[i].len));
    free(st);
    bool ok = nr_sql(t->runner, &statements, err);
    sl_free(&statements);
    return ok;
}

static bool run_js_section(VerifyTarget *t, const Migration *m, bool up, DroverError *err)
{
    NrRunner *n = target_runner(t, err);
    NrRunRequest req = {.file = m->path, .up = up, .in_session = t->in_runner};
    NrRunEnd end;
    return n && nr_run(n, &req, NULL, &end, err);
}

static bool target_section(VerifyTarget *t, const Migration *m, bool up, DroverError *err)
{
    return m->kind == MIG_JS ? run_js_section(t, m, up, err)
                             : run_sql_section(t, up ? &m->up : &m->down, err);
}

/* outside_transaction: a migration PostgreSQL cannot run inside the verify transaction. */
static bool outside_transaction(const TenantRun *r, const Migration *m)
{
    if (m->kind == MIG_SQL)
        return !m->up.transaction || (m->down.sql && !m->down.transaction);
    return r->job->no_transaction && sl_contains(r->job->no_transaction, m->name);
}

/* ---- one migration ------------------------------------------------------------------------ */

static void problem(ExecVerify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(ExecVerify *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = xvasprintf(fmt, ap);
    va_end(ap);
    if (v->problem) {
        char *both = xasprintf("%s; %s", v->problem, text);
        free(text);
        text = both;
    }
    free(v->problem);
    v->problem = text;
    v->ok = false;
}

static void step_failed(ExecVerify *v, const char *what, DroverError *err)
{
    char *summary = error_summary(err);
    problem(v, "%s failed: %s", what, summary);
    free(summary);
    error_clear(err);
}

/*
 * verify_one runs up, down and up again, comparing the schema after down with *schema (what it
 * was before) and after the second up with what the first gave; *schema ends as the schema
 * after it. False when verify cannot go on to the next migration.
 */
static bool verify_one(VerifyTarget *t, const Migration *m, ExecVerify *v, StrList *schema)
{
    DroverError err = DROVER_ERROR_INIT;
    StrList after_up = STRLIST_INIT, now = STRLIST_INIT;
    StrList *next = NULL; /* the schema the next migration starts from */
    char *diff = NULL;
    v->ok = true;
    const char *no_down = exec_down_problem(m);
    if (!target_section(t, m, true, &err) || !target_schema(t, &after_up, &err)) {
        step_failed(v, "up", &err);
    } else if (no_down) {
        problem(v, "it cannot be reverted: it %s", no_down);
        next = &after_up;
    } else if (!target_section(t, m, false, &err) || !target_schema(t, &now, &err)) {
        step_failed(v, "down", &err);
    } else {
        if ((diff = exec_schema_diff(schema, &now)))
            problem(v, "down does not bring the schema back: %s", diff);
        free(diff);
        diff = NULL;
        if (!target_section(t, m, true, &err) || !target_schema(t, &now, &err)) {
            step_failed(v, "up after down", &err);
        } else {
            if ((diff = exec_schema_diff(&after_up, &now)))
                problem(v, "up after down gives another schema than the first up: %s", diff);
            next = &now;
        }
    }
    free(diff);
    if (next) {
        sl_free(schema);
        *schema = *next;
        *next = (StrList)STRLIST_INIT;
    }
    sl_free(&after_up);
    sl_free(&now);
    return next != NULL;
}

/* ---- the tenant ---------------------------------------------------------------------------- */

static const char *verify_note(DbDialect d)
{
    switch (d) {
    case DB_POSTGRES:
        return "on the tenant, in one transaction that was rolled back";
    case DB_SQLITE:
        return "on a copy of the tenant's file, removed afterwards";
    case DB_MYSQL:
        break;
    }
    return "on a scratch database built from the tenant's tables (no rows: data problems are "
           "not caught), dropped afterwards";
}

/* verify_all walks the pending migrations in order; stops at the first that leaves verify no
 * state to go on from. */
static void verify_all(VerifyTarget *t, const size_t *idx, size_t n)
{
    ExecResult *res = t->r->res;
    StrList schema = STRLIST_INIT;
    DroverError err = DROVER_ERROR_INIT;
    bool go_on = target_schema(t, &schema, &err);
    if (!go_on) {
        error_move(&res->error, &err);
        return;
    }
    for (size_t i = 0; i < n && go_on; i++) {
        if (exec_stop_requested(t->r)) {
            error_set(&res->error, ERR_REFUSED, "verify was interrupted after %zu of %zu "
                      "migrations; the tenant was left as it was", i, n);
            error_set_context(&res->error, res->tenant->id, NULL, NULL);
            break;
        }
        const Migration *m = mig_at(t->r, idx[i]);
        ExecVerify *v = &res->verifies[res->nverifies++];
        v->migration = xstrdup(m->name);
        if (t->dialect == DB_POSTGRES && outside_transaction(t->r, m)) {
            problem(v, "not verified: it runs outside a transaction (transaction:false), and "
                       "verify runs everything in one that is rolled back; nor are the "
                       "migrations after it");
            break;
        }
        go_on = verify_one(t, m, v, &schema);
    }
    sl_free(&schema);
}

/* first_problem puts the first migration's problem in res->error, so that every report names
 * the tenant, the migration and what went wrong. */
static bool first_problem(ExecResult *res)
{
    for (size_t i = 0; i < res->nverifies; i++) {
        const ExecVerify *v = &res->verifies[i];
        if (v->ok)
            continue;
        error_set(&res->error, ERR_REFUSED, "%s", v->problem);
        error_set_context(&res->error, res->tenant->id, v->migration, NULL);
        error_set_hint(&res->error, "fix the migration (or its down) and verify again; the "
                                    "tenant was left as it was");
        return true;
    }
    return false;
}

StepEnd exec_verify(TenantRun *r)
{
    ExecResult *res = r->res;
    size_t *idx = NULL;
    size_t n = plan_up(&r->plan, r->job->options->to, &idx);
    exec_verifies_free(res);
    sl_free(&res->planned);
    for (size_t i = 0; i < n; i++)
        sl_push(&res->planned, mig_at(r, idx[i])->name);
    res->verifies = xcalloc(n ? n : 1, sizeof *res->verifies);
    res->outcome = EXEC_OUT_OK;
    if (n == 0) {
        free(idx);
        return STEP_OK;
    }
    VerifyTarget t = {.r = r, .dialect = r->job->tenant->url.dialect};
    res->verify_note = xstrdup(verify_note(t.dialect));
    if (target_open(&t, any_js(r, idx, n), &res->error))
        verify_all(&t, idx, n);
    target_close(&t);
    free(idx);
    if (error_is_set(&res->error) || first_problem(res)) {
        res->outcome = EXEC_OUT_FAILED;
        return STEP_FAILED;
    }
    return STEP_OK;
}

/*
 * executor_preview.c — plan --sql (and migrate --dry-run --sql): the exact statements each
 * pending migration of a tenant would run. On PostgreSQL, when .js migrations are pending,
 * every pending migration runs in the node runner inside ONE transaction that is always rolled
 * back, under the tenant's lock, so that each sees what the earlier ones did; elsewhere the .sql
 * statements are listed as split and the .js ones are said to be unknowable, with the reason.
 */
#include <stdlib.h>
#include <string.h>

#include "executor_impl.h"
#include "sqlsplit_impl.h"

static const Migration *mig_at(const TenantRun *r, size_t i)
{
    return &r->job->migrations->items[i];
}

void exec_previews_free(ExecResult *res)
{
    for (size_t i = 0; i < res->npreviews; i++) {
        ExecPreview *p = &res->previews[i];
        free(p->migration);
        sl_free(&p->statements);
        free(p->note);
        free(p->error);
    }
    free(res->previews);
    res->previews = NULL;
    res->npreviews = 0;
    sl_free(&res->preview_setup);
    free(res->preview_note);
    res->preview_note = NULL;
    res->preview_executed = false;
    res->sql_previewed = false;
}

/* js_blocker says why .js statements cannot be previewed on this tenant, or NULL when they
 * can. */
static const char *js_blocker(const TenantRun *r)
{
    switch (r->job->tenant->url.dialect) {
    case DB_MYSQL:
        return "MariaDB/MySQL commit DDL implicitly, so a .js migration cannot run inside a "
               "transaction that is rolled back: its statements cannot be previewed";
    case DB_SQLITE:
        return "drover previews .js migrations on PostgreSQL only, where it can make sure the "
               "preview transaction never commits: on SQLite their statements cannot be "
               "previewed";
    case DB_POSTGRES:
        break;
    }
    if (!r->conn)
        return "the tenant was not read";
    return nr_is_ready() ? NULL : "the node runner was not started (a library caller must call "
                                  "nr_setup): .js statements cannot be previewed";
}

static void split_up_section(const Migration *m, DbDialect d, StrList *out)
{
    const char *sql = m->up.sql ? m->up.sql : "";
    SqlStatement *st = NULL;
    size_t n = sql_split(sql, d, &st);
    for (size_t i = 0; i < n; i++)
        sl_push_owned(out, xstrndup(sql + st[i].offset, st[i].len));
    free(st);
}

/* listed_statements: a .sql migration's statements as it would send them, the SequelizeMeta
 * INSERT last (unknown without a session: a SQLite file that does not exist yet). */
static void listed_statements(const TenantRun *r, const Migration *m, StrList *out)
{
    split_up_section(m, r->job->tenant->url.dialect, out);
    if (r->conn)
        sl_push_owned(out, meta_insert_sql(r->conn, &r->table, &r->meta, m->name));
}

/* list_only fills the previews without running anything. */
static void list_only(TenantRun *r, const size_t *idx, const char *js_note)
{
    ExecResult *res = r->res;
    for (size_t i = 0; i < res->npreviews; i++) {
        ExecPreview *p = &res->previews[i];
        const Migration *m = mig_at(r, idx[i]);
        if (p->js) {
            p->note = xstrdup("not previewed");
            continue;
        }
        listed_statements(r, m, &p->statements);
        p->statements_known = true;
    }
    if (js_note)
        res->preview_note = xstrdup(js_note);
}

/* The batch sent to the runner: the migrations that run in the preview, and where each result
 * goes. A .sql section marked transaction:false cannot run in a transaction; it is listed. */
typedef struct PreviewBatch {
    NrPreviewItem *items;
    size_t *slot;   /* items[k] fills res->previews[slot[k]] */
    StrList *sqls;  /* per preview: the .sql statements */
    char **metas;   /* per preview: the SequelizeMeta INSERT */
    size_t n;
    StrList *logged; /* per item: what the runner logged */
} PreviewBatch;

static void batch_build(TenantRun *r, const size_t *idx, size_t n, PreviewBatch *b)
{
    ExecResult *res = r->res;
    b->items = xcalloc(n, sizeof *b->items);
    b->slot = xcalloc(n, sizeof *b->slot);
    b->sqls = xcalloc(n, sizeof *b->sqls);
    b->metas = xcalloc(n, sizeof *b->metas);
    b->logged = xcalloc(n, sizeof *b->logged);
    b->n = 0;
    for (size_t i = 0; i < n; i++) {
        const Migration *m = mig_at(r, idx[i]);
        ExecPreview *p = &res->previews[i];
        if (m->kind == MIG_SQL && !m->up.transaction) {
            listed_statements(r, m, &p->statements);
            p->statements_known = true;
            p->note = xstrdup("not run in the preview: its up section is marked "
                              "transaction:false; the migrations after it were previewed "
                              "without its changes");
            continue;
        }
        if (m->kind == MIG_SQL)
            split_up_section(m, DB_POSTGRES, &b->sqls[i]);
        b->metas[i] = meta_insert_sql(r->conn, &r->table, &r->meta, m->name);
        b->items[b->n] = (NrPreviewItem){.file = m->kind == MIG_JS ? m->path : NULL,
                                         .sql = &b->sqls[i], .meta_sql = b->metas[i]};
        b->slot[b->n++] = i;
    }
}

static void batch_free(PreviewBatch *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sl_free(&b->sqls[i]);
        free(b->metas[i]);
        sl_free(&b->logged[i]);
    }
    free(b->items);
    free(b->slot);
    free(b->sqls);
    free(b->metas);
    free(b->logged);
}

/* take_results moves what the runner logged into the previews; the item that failed gets the
 * error, and those after it are marked not reached. */
static void take_results(TenantRun *r, PreviewBatch *b, size_t nran, bool ok)
{
    ExecResult *res = r->res;
    for (size_t k = 0; k < nran; k++) {
        ExecPreview *p = &res->previews[b->slot[k]];
        p->statements = b->logged[k];
        b->logged[k] = (StrList)STRLIST_INIT;
        p->executed = p->statements_known = true;
    }
    if (ok || nran == 0)
        return;
    ExecPreview *failed = &res->previews[b->slot[nran - 1]];
    failed->error = error_summary(&res->error); /* before the context: it names it */
    error_set_context(&res->error, NULL, failed->migration, NULL);
    for (size_t k = nran; k < b->n; k++)
        res->previews[b->slot[k]].note =
            xstrdup("not previewed: an earlier migration failed in the preview");
}

/* run_in_rollback runs the pending migrations in the runner's rolled-back transaction. A
 * migration that fails there fails the tenant, which stays as it was. */
static StepEnd run_in_rollback(TenantRun *r, const size_t *idx, size_t n)
{
    ExecResult *res = r->res;
    PreviewBatch b;
    batch_build(r, idx, n, &b);
    size_t nran = 0;
    bool ok = exec_open_runner(r, true, &res->error) &&
              nr_preview(r->runner, &res->preview_setup, b.items, b.n, b.logged, &nran,
                         &res->error);
    res->preview_executed = ok || nran > 0;
    take_results(r, &b, nran, ok);
    batch_free(&b, n);
    if (ok)
        return STEP_OK;
    res->outcome = EXEC_OUT_FAILED;
    /* Nothing ran when the runner or the connection failed first: that may be retried. */
    return nran == 0 ? exec_retry_or_fail(r, DB_POSTGRES) : STEP_FAILED;
}

StepEnd exec_preview(TenantRun *r, const size_t *idx, size_t n)
{
    ExecResult *res = r->res;
    exec_previews_free(res); /* a retry starts over */
    res->sql_previewed = true;
    if (!n)
        return STEP_OK;
    bool any_js = false;
    res->previews = xcalloc(n, sizeof *res->previews);
    res->npreviews = n;
    for (size_t i = 0; i < n; i++) {
        const Migration *m = mig_at(r, idx[i]);
        res->previews[i].migration = xstrdup(m->name);
        res->previews[i].js = m->kind == MIG_JS;
        any_js = any_js || m->kind == MIG_JS;
    }
    if (!r->meta.exists)
        meta_create_statements(r->job->tenant->url.dialect, &r->table,
                               r->job->tenant->url.schema, &res->preview_setup);
    const char *blocker = any_js ? js_blocker(r) : NULL;
    if (any_js && !blocker)
        return run_in_rollback(r, idx, n);
    list_only(r, idx, blocker);
    return STEP_OK;
}

/*
 * executor_steps.c — applying and reverting migrations on one tenant, one step at a time, and
 * deciding after a failure whether the step may be retried. The rule: a step is retried only
 * when it is known not to have half-applied — its transaction rolled back, or it failed before
 * its first statement — and the fault is transient. Anything else that stopped half-way makes
 * the tenant dirty: it is reported, never replayed blindly.
 */
#include <stdlib.h>
#include <string.h>

#include "schema_impl.h"
#include "executor_impl.h"

static const Migration *mig_at(const TenantRun *r, size_t i)
{
    return &r->job->migrations->items[i];
}

/* step_begin opens the record of one step; a step retried after a transient fault keeps one
 * record with its attempts counted. */
static ExecStep *step_begin(TenantRun *r, const char *migration, bool up)
{
    ExecResult *res = r->res;
    if (res->nsteps) {
        ExecStep *last = &res->steps[res->nsteps - 1];
        if (!last->ok && last->up == up && strcmp(last->migration, migration) == 0) {
            last->attempts++;
            free(last->error);
            last->error = NULL;
            last->started_at = exec_wall_clock();
            return last;
        }
    }
    res->steps = xrealloc(res->steps, (res->nsteps + 1) * sizeof *res->steps);
    ExecStep *s = &res->steps[res->nsteps++];
    *s = (ExecStep){.migration = xstrdup(migration), .up = up, .attempts = 1,
                    .started_at = exec_wall_clock()};
    return s;
}

static void step_end(ExecStep *s, bool ok, const DroverError *err)
{
    s->ended_at = exec_wall_clock();
    s->ok = ok;
    if (!ok)
        s->error = error_summary(err);
}

/* refuse_js guards the runs that would execute .js files without the node runner set up (a
 * library caller that skipped nr_setup); listing them in a plan or dry run needs no runner. */
static bool refuse_js(TenantRun *r, const size_t *idx, size_t n, bool via_applied)
{
    for (size_t i = 0; i < n; i++) {
        size_t m = via_applied ? r->plan.applied[idx[i]].mig : idx[i];
        if (mig_at(r, m)->kind != MIG_JS || nr_is_ready())
            continue;
        error_set(&r->res->error, ERR_REFUSED,
                      "JavaScript migrations cannot run in this version of drover");
        error_set_context(&r->res->error, NULL, mig_at(r, m)->name, NULL);
        error_set_hint(&r->res->error, "this command does not start the node runner; "
                                           "nothing was applied to this tenant");
        return false;
    }
    return true;
}

/* mark_partial rewrites the error of a step that stopped after changing the tenant outside a
 * transaction, so nobody mistakes it for a clean failure: the tenant is dirty. */
static void mark_partial(TenantRun *r, const Migration *m, const char *what, bool is_mysql)
{
    DroverError *e = &r->res->error;
    r->res->partial = true;
    free(r->res->dirty_migration);
    r->res->dirty_migration = xstrdup(m->name);
    char *msg = xasprintf("%s — %s", e->message ? e->message : "error", what);
    free(e->message);
    e->message = msg;
    error_set_hint(e, "%sthe tenant is dirty: inspect it, finish or undo those statements by "
                          "hand, then run 'drover resolve --tenant %s'",
                       is_mysql ? "MariaDB/MySQL commit DDL implicitly; " : "", r->job->tenant->id);
}

static char *partial_text(size_t completed)
{
    return xasprintf("statement %zu failed after %zu statement%s of this migration had been "
                     "applied without a transaction; they are not recorded in SequelizeMeta",
                     completed + 1, completed, completed == 1 ? "" : "s");
}

/*
 * run_js_section runs a .js migration's up or down in the node runner, which also runs the
 * SequelizeMeta statement built here: on PostgreSQL and SQLite both in one transaction, on
 * MariaDB as they come. A runner that failed is given back (and replaced if it crashed or hung)
 * so that a retry starts from a fresh one.
 */
static StepEnd run_js_section(TenantRun *r, const Migration *m, bool up, const char *row)
{
    DbDialect d = drv_conn_dialect(r->conn);
    DroverError *err = &r->res->error;
    ExecStep *step = step_begin(r, m->name, up);
    bool ran = false, ok = exec_open_runner(r, false, err);
    if (ok) {
        char *meta = up ? meta_insert_sql(r->conn, &r->table, &r->meta, m->name)
                        : meta_delete_sql(r->conn, &r->table, row);
        NrRunRequest req = {.file = m->path, .up = up, .meta_sql = meta};
        ok = nr_run(r->runner, &req, NULL, &ran, err);
        free(meta);
    }
    if (ok) {
        step_end(step, true, err);
        return STEP_OK;
    }
    error_set_context(err, NULL, m->name, NULL);
    step_end(step, false, err);
    nr_release(r->runner);
    r->runner = NULL;
    if (d == DB_MYSQL && ran) {
        mark_partial(r, m, "the migration stopped after some of its statements had run without "
                           "a transaction; it is not recorded in SequelizeMeta", true);
        return STEP_FAILED;
    }
    return exec_retry_or_fail(r, d);
}

/*
 * run_section runs one section (up or down) and records the change in SequelizeMeta.
 * Transactional on PostgreSQL and SQLite unless the section opted out; MariaDB commits DDL
 * implicitly, so there the statements run as they come.
 */
static StepEnd run_section(TenantRun *r, const Migration *m, const MigSection *s, bool up,
                           const char *row)
{
    if (m->kind == MIG_JS)
        return run_js_section(r, m, up, row);
    DbDialect d = drv_conn_dialect(r->conn);
    DroverError *err = &r->res->error;
    bool tx = s->transaction && d != DB_MYSQL;
    size_t completed = 0;
    ExecStep *step = step_begin(r, m->name, up);
    bool ran = false, ok = !tx || drv_begin(r->conn, err);
    if (ok) {
        ok = drv_exec_script(r->conn, s->sql ? s->sql : "", &completed, err);
        ran = ok;
    }
    if (ok)
        ok = up ? meta_insert(r->conn, &r->table, &r->meta, m->name, err)
                : meta_delete(r->conn, &r->table, row, err);
    if (ok && tx)
        ok = drv_commit(r->conn, err);
    if (!ok && tx)
        drv_rollback(r->conn, NULL);
    if (!ok)
        error_set_context(err, NULL, m->name, NULL);
    step_end(step, ok, err);
    if (ok)
        return STEP_OK;
    if (!tx && (completed > 0 || ran)) {
        char *what = ran ? xstrdup("the migration ran but could not be recorded in SequelizeMeta")
                         : partial_text(completed);
        mark_partial(r, m, what, d == DB_MYSQL);
        free(what);
        return STEP_FAILED;
    }
    return exec_retry_or_fail(r, d);
}

static void names_of(const TenantRun *r, const size_t *idx, size_t n, StrList *out)
{
    for (size_t i = 0; i < n; i++)
        sl_push(out, mig_at(r, idx[i])->name);
}

static bool check_before_migrate(TenantRun *r, const size_t *idx, size_t n)
{
    StrList names = STRLIST_INIT;
    names_of(r, idx, n, &names);
    bool preview = r->job->options->command == EXEC_PLAN || r->job->options->dry_run;
    bool ok = (preview || refuse_js(r, idx, n, false)) &&
              (!r->conn ||
               meta_check_storable(r->conn, &r->table, &r->meta, &names, &r->res->error));
    if (ok && preview)
        for (size_t i = 0; i < names.n; i++)
            sl_push(&r->res->planned, names.items[i]);
    sl_free(&names);
    return ok;
}

static StepEnd run_migrate(TenantRun *r)
{
    ExecResult *res = r->res;
    size_t *idx = NULL;
    size_t n = plan_up(&r->plan, r->job->options->to, &idx);
    StepEnd end = STEP_OK;
    if (!check_before_migrate(r, idx, n)) {
        end = STEP_FAILED;
    } else if (r->job->options->command == EXEC_PLAN || r->job->options->dry_run) {
        res->outcome = n ? EXEC_OUT_PENDING : EXEC_OUT_UP_TO_DATE;
        if (r->job->options->sql_preview)
            end = exec_preview(r, idx, n);
    } else {
        for (size_t i = 0; i < n && end == STEP_OK && !exec_stop_requested(r); i++) {
            const Migration *m = mig_at(r, idx[i]);
            end = run_section(r, m, &m->up, true, NULL);
            if (end == STEP_OK)
                sl_push(&res->applied, m->name);
        }
        res->outcome = res->applied.n           ? EXEC_OUT_MIGRATED
                       : n && end == STEP_OK ? EXEC_OUT_SKIPPED /* stopped before the first */
                                             : EXEC_OUT_UP_TO_DATE;
    }
    free(idx);
    return end;
}

static StepEnd run_undo(TenantRun *r)
{
    ExecResult *res = r->res;
    const ExecOptions *o = r->job->options;
    size_t *idx = NULL, n = 0;
    StepEnd end = STEP_OK;
    if (r->job->revert_only) {
        end = exec_revert_list(r, r->job->revert_only);
        res->outcome = res->reverted.n ? EXEC_OUT_REVERTED : EXEC_OUT_UP_TO_DATE;
        return end;
    }
    if (!plan_down(&r->plan, r->job->migrations, o->undo_mode, o->steps, o->to, &idx, &n,
                   &res->error) ||
        (!o->dry_run && !refuse_js(r, idx, n, true))) {
        end = STEP_FAILED;
    } else if (o->dry_run) {
        for (size_t i = 0; i < n; i++)
            sl_push(&res->planned, mig_at(r, r->plan.applied[idx[i]].mig)->name);
        res->outcome = n ? EXEC_OUT_PENDING : EXEC_OUT_UP_TO_DATE;
    } else {
        for (size_t i = 0; i < n && end == STEP_OK && !exec_stop_requested(r); i++) {
            const PlanApplied *a = &r->plan.applied[idx[i]];
            const Migration *m = mig_at(r, a->mig);
            end = run_section(r, m, &m->down, false, a->row);
            if (end == STEP_OK)
                sl_push(&res->reverted, m->name);
        }
        res->outcome = res->reverted.n          ? EXEC_OUT_REVERTED
                       : n && end == STEP_OK ? EXEC_OUT_SKIPPED
                                             : EXEC_OUT_UP_TO_DATE;
    }
    free(idx);
    return end;
}

/* read_status_extras adds what only status shows: who holds the tenant's lock right now and,
 * with --schema, the tenant's schema and its fingerprint. */
static StepEnd read_status_extras(TenantRun *r)
{
    ExecResult *res = r->res;
    if (!drv_lock_holder(r->conn, r->db_lock_key, &res->lock_holder, &res->error)) {
        res->outcome = EXEC_OUT_FAILED;
        return STEP_FAILED;
    }
    if (res->lock_holder && res->state != EXEC_STATE_UNREACHABLE)
        res->state = EXEC_STATE_LOCKED;
    if (!r->job->options->schema)
        return STEP_OK;
    if (!schema_read(r->conn, &r->table, &res->schema_lines, &res->error)) {
        res->outcome = EXEC_OUT_FAILED;
        return STEP_FAILED;
    }
    free(res->fingerprint);
    res->fingerprint = schema_fingerprint(&res->schema_lines);
    return STEP_OK;
}

StepEnd exec_dispatch(TenantRun *r)
{
    switch (r->job->options->command) {
    case EXEC_PLAN:
    case EXEC_MIGRATE:
        return run_migrate(r);
    case EXEC_UNDO:
        return run_undo(r);
    case EXEC_STATUS:
        r->res->outcome = EXEC_OUT_OK;
        return r->conn ? read_status_extras(r) : STEP_OK;
    case EXEC_CHECK:
        r->res->outcome = EXEC_OUT_OK;
        return STEP_OK;
    }
    return STEP_FAILED;
}

/* still_recorded finds the plan entry of a migration this job applied, if SequelizeMeta still
 * has it (another process may have reverted it meanwhile). */
static const PlanApplied *still_recorded(const TenantRun *r, const char *name)
{
    for (size_t i = 0; i < r->plan.napplied; i++)
        if (strcmp(mig_at(r, r->plan.applied[i].mig)->name, name) == 0)
            return &r->plan.applied[i];
    return NULL;
}

StepEnd exec_revert_list(TenantRun *r, const StrList *names)
{
    ExecResult *res = r->res;
    for (size_t i = names->n; i-- > 0;) {
        const PlanApplied *a = still_recorded(r, names->items[i]);
        if (!a)
            continue;
        const Migration *m = mig_at(r, a->mig);
        if (m->kind == MIG_SQL && mig_section_is_empty(&m->down)) {
            error_set(&res->error, ERR_REFUSED, "the migration has no down section");
            error_set_context(&res->error, NULL, m->name, NULL);
            return STEP_FAILED;
        }
        StepEnd end = run_section(r, m, &m->down, false, a->row);
        if (end != STEP_OK)
            return end;
        sl_push(&res->reverted, m->name);
    }
    return STEP_OK;
}

/*
 * executor_steps.c — applying and reverting migrations on one tenant, one step at a time, and
 * deciding after a failure whether the step may be retried. The rule: a step is retried only
 * when it is known not to have half-applied — its transaction rolled back, or it failed before
 * its first statement — and the fault is transient. Anything else that stopped half-way makes
 * the tenant dirty: it is reported, never replayed blindly.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* no_transaction: the inventory names the migration in migrations.no_transaction. */
static bool no_transaction(const TenantRun *r, const Migration *m)
{
    const StrList *names = r->job->no_transaction;
    for (size_t i = 0; names && i < names->n; i++)
        if (strcmp(names->items[i], m->name) == 0)
            return true;
    return false;
}

/* mark_started records, before a section without a transaction is sent, that it started
 * (ExecOptions.mark_started); false (err set) when the mark cannot be written, and then the
 * section must not run: a kill would leave no trace of it. */
static bool mark_started(TenantRun *r, const Migration *m, DroverError *err)
{
    const ExecOptions *o = r->job->options;
    if (!o->mark_started || o->dry_run)
        return true;
    char *dirty = NULL;
    if (o->mark_started(o->marks_ctx, r->job->tenant->id, m->name, &dirty, err))
        return true;
    if (dirty) {
        r->res->partial = true;
        free(r->res->dirty_migration);
        r->res->dirty_migration = dirty;
    } else {
        error_set_context(err, NULL, m->name, NULL);
    }
    return false;
}

/* mark_ended clears that mark once the section ended without leaving the tenant half-done. */
static void mark_ended(TenantRun *r, const Migration *m)
{
    const ExecOptions *o = r->job->options;
    if (o->mark_ended && !o->dry_run && !r->res->partial)
        o->mark_ended(o->marks_ctx, r->job->tenant->id, m->name);
}

/* lost_while_sent: a section without a transaction lost its connection while its statements
 * were on their way; the server may have run some, all or none of them (MariaDB goes on
 * with a multi-statement query its client left), so a retry could replay them. */
static bool lost_while_sent(DbDialect d, const DroverError *err)
{
    return drv_error_is_connection_lost(d, err);
}

/* refused_in_transaction: PostgreSQL refused a statement because it ran inside a transaction
 * block (SQLSTATE 25001: CREATE INDEX CONCURRENTLY, its DROP, ALTER TYPE ... ADD VALUE on old
 * servers). The transaction was rolled back, so nothing of the migration stayed. */
static bool refused_in_transaction(const DroverError *err, const NrRunEnd *end)
{
    return strcmp(err->sqlstate, "25001") == 0 && !end->transaction_ended;
}

/*
 * run_js_section runs a .js migration's up or down in the node runner, which also runs the
 * SequelizeMeta statement built here: on PostgreSQL and SQLite both in one transaction, on
 * MariaDB as they come. A migration PostgreSQL refuses to run in a transaction block runs again
 * outside one, as sequelize-cli runs it (and as the inventory may say up front); outside a
 * transaction a failure after a statement finished leaves the tenant dirty, as for
 * transaction:false SQL. A runner that failed is given back (and replaced if it crashed or
 * hung) so that a retry starts from a fresh one.
 */
static StepEnd run_js_section(TenantRun *r, const Migration *m, bool up, const char *row)
{
    DbDialect d = drv_conn_dialect(r->conn);
    DroverError *err = &r->res->error;
    ExecStep *step = step_begin(r, m->name, up);
    bool tx = d != DB_MYSQL && !no_transaction(r, m);
    NrRunEnd end = {0};
    bool ok = exec_open_runner(r, false, err);
    if (ok) {
        char *meta = up ? meta_insert_sql(r->conn, &r->table, &r->meta, m->name)
                        : meta_delete_sql(r->conn, &r->table, row);
        NrRunRequest req = {.file = m->path, .up = up, .meta_sql = meta, .no_transaction = !tx};
        ok = (tx || mark_started(r, m, err)) && nr_run(r->runner, &req, NULL, &end, err);
        if (!ok && tx && d == DB_POSTGRES && refused_in_transaction(err, &end)) {
            error_clear(err);
            tx = false;
            req.no_transaction = true;
            ok = mark_started(r, m, err) && nr_run(r->runner, &req, NULL, &end, err);
        }
        free(meta);
    }
    if (ok) {
        step_end(step, true, err);
        if (!tx)
            mark_ended(r, m);
        return STEP_OK;
    }
    error_set_context(err, NULL, m->name, NULL);
    step_end(step, false, err);
    nr_release(r->runner);
    r->runner = NULL;
    if (end.transaction_ended || (!tx && end.ran_any)) {
        mark_partial(r, m, end.transaction_ended
                               ? "the migration committed part of its work itself; the rest was "
                                 "rolled back and it is not recorded in SequelizeMeta"
                               : "the migration stopped after some of its statements had run "
                                 "without a transaction; it is not recorded in SequelizeMeta",
                     d == DB_MYSQL);
        return STEP_FAILED;
    }
    if (!tx)
        mark_ended(r, m);
    /* Its transaction died with the runner, which another tenant's hung request had stopped:
     * nothing of it stayed, and a fresh runner is worth a retry whatever the error says. */
    if (end.runner_stopped_for_other)
        return r->may_retry ? STEP_RETRY : STEP_FAILED;
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
    bool ran = false, sent = false;
    bool ok = tx ? drv_begin(r->conn, err) : mark_started(r, m, err);
    if (ok) {
        sent = true;
        ok = drv_exec_script(r->conn, s->sql ? s->sql : "", &completed, err);
        ran = ok;
    }
    /* After a failure only PostgreSQL tells exactly: SQLite rolls a transaction back by itself
     * on some errors (busy, full, I/O), which is no COMMIT of the migration's. */
    bool ended = tx && (ok || (completed > 0 && d == DB_POSTGRES)) &&
                 !drv_in_transaction(r->conn);
    if (ended) {
        /* A COMMIT or ROLLBACK of the section's own (in a procedure it called, say): what ran
         * before it is committed, what came after ran without a transaction. */
        if (ok)
            error_set(err, ERR_REFUSED, "the section ended the transaction drover opened for it");
        ok = false;
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
    if (ok) {
        if (!tx)
            mark_ended(r, m);
        return STEP_OK;
    }
    if (ended) {
        mark_partial(r, m, "a COMMIT or ROLLBACK inside the migration ended drover's transaction: "
                           "what ran before it is committed and not recorded in SequelizeMeta",
                     false);
        return STEP_FAILED;
    }
    if (!tx && (completed > 0 || ran)) {
        char *what = ran ? xstrdup("the migration ran but could not be recorded in SequelizeMeta")
                         : partial_text(completed);
        mark_partial(r, m, what, d == DB_MYSQL);
        free(what);
        return STEP_FAILED;
    }
    if (!tx && sent && lost_while_sent(d, err)) {
        mark_partial(r, m, "the connection was lost while the migration ran without a "
                           "transaction: the server may have run some, all or none of it",
                     d == DB_MYSQL);
        return STEP_FAILED;
    }
    if (!tx && sent)
        mark_ended(r, m);
    return exec_retry_or_fail(r, d);
}

/* stop_between: no further migration starts after a stop request, or once the environment's
 * maintenance window closed; the one running finishes. */
static bool stop_between(const TenantRun *r)
{
    return exec_stop_requested(r) || exec_window_closed(r);
}

/* stop_before_up: stop_between for migrate, whose window was checked before its first write
 * (read_state): the first migration is the one a started tenant finishes. */
static bool stop_before_up(const TenantRun *r, size_t i)
{
    return i == 0 ? exec_stop_requested(r) : stop_between(r);
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

const Migration *exec_irreversible(const TenantRun *r, const StrList *names, const char **why)
{
    for (size_t i = 0; i < names->n; i++) {
        ssize_t k = mig_find(r->job->migrations, names->items[i]);
        const Migration *m = k >= 0 ? mig_at(r, (size_t)k) : NULL;
        if (m && (*why = exec_down_problem(m)))
            return m;
    }
    return NULL;
}

const char *exec_down_problem(const Migration *m)
{
    if (m->kind == MIG_SQL)
        return mig_section_is_empty(&m->down) ? "has no down section" : NULL;
    switch (nr_down_kind(m->path)) {
    case NR_DOWN_MISSING: return "exports no down function";
    case NR_DOWN_EMPTY: return "has a down that does nothing";
    default: return NULL;
    }
}

/*
 * read_schema_before keeps the tenant's schema from before a batch that rollback = "batch" may
 * have to take back (one that applies at least two migrations: a failure of the first leaves
 * nothing to revert), so that a revert is proven after it ran.
 */
static StepEnd read_schema_before(TenantRun *r, size_t n)
{
    if (!r->engine->rollback_batch || n < 2 || r->schema_read)
        return STEP_OK;
    sl_free(&r->schema_before);
    if (!schema_read(r->conn, &r->table, &r->schema_before, &r->res->error))
        return exec_retry_or_fail(r, drv_conn_dialect(r->conn));
    r->schema_read = true;
    return STEP_OK;
}

/* first_missing: the first line of a that b lacks (both byte-sorted), or NULL. */
static const char *first_missing(const StrList *a, const StrList *b)
{
    size_t j = 0;
    for (size_t i = 0; i < a->n; i++) {
        while (j < b->n && strcmp(b->items[j], a->items[i]) < 0)
            j++;
        if (j == b->n || strcmp(b->items[j], a->items[i]) != 0)
            return a->items[i];
    }
    return NULL;
}

bool exec_schema_unchanged(TenantRun *r, DroverError *err)
{
    StrList now = STRLIST_INIT;
    if (!schema_read(r->conn, &r->table, &now, err)) {
        sl_free(&now);
        return false;
    }
    char *diff = exec_schema_diff(&r->schema_before, &now);
    if (diff) {
        error_set(err, ERR_REFUSED, "the reverts did not bring the schema back to what it was "
                  "before the run: %s", diff);
        error_set_hint(err, "a down of this run's migrations does not undo all its up did; "
                            "repair the tenant by hand (compare 'drover status --schema' with a "
                            "peer), then run 'drover resolve --tenant %s'",
                       r->job->tenant->id);
    }
    sl_free(&now);
    bool same = diff == NULL;
    free(diff);
    return same;
}

char *exec_schema_diff(const StrList *before, const StrList *now)
{
    const char *added = first_missing(now, before);
    const char *lost = first_missing(before, now);
    if (!added && !lost)
        return NULL;
    return xasprintf("%s '%s'%s", added ? "it still has" : "it lacks", added ? added : lost,
                     added && lost ? " (and lacks more)" : "");
}

/* check_passed: no rows, or one row of one true value (t, true, 1). */
static bool check_passed(const DrvTable *t)
{
    if (t->nrows == 0)
        return true;
    if (t->nrows != 1 || t->columns.n != 1 || !t->cells.items[0])
        return false;
    const char *v = t->cells.items[0];
    return strcmp(v, "t") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

/*
 * run_precheck runs a migration's pre-check (-- migrate:check) on the tenant, under its lock,
 * just before the migration. A check that does not pass sets *skip and the reason (rows found,
 * the query) in res->error: the tenant is skipped, not failed. A check the server refuses is a
 * failure like any statement's.
 */
static StepEnd run_precheck(TenantRun *r, const Migration *m, bool *skip)
{
    DroverError *err = &r->res->error;
    DrvTable t = DRV_TABLE_INIT;
    *skip = false;
    if (!drv_query_table(r->conn, m->check.sql, &t, err)) {
        error_set_context(err, NULL, m->name, m->check.sql);
        drv_table_free(&t);
        return exec_retry_or_fail(r, drv_conn_dialect(r->conn));
    }
    if (!check_passed(&t)) {
        *skip = true;
        if (t.nrows == 1 && t.columns.n == 1)
            error_set(err, ERR_REFUSED, "its pre-check did not pass: it returned %s",
                      t.cells.items[0] ? t.cells.items[0] : "NULL");
        else
            error_set(err, ERR_REFUSED, "its pre-check did not pass: it returned %zu row%s",
                      t.nrows, t.nrows == 1 ? "" : "s");
        error_set_context(err, r->job->tenant->id, m->name, m->check.sql);
        error_set_hint(err, "the migration was not run on this tenant (skipped, not failed); "
                            "fix the data the check names, then run migrate again");
    }
    drv_table_free(&t);
    return STEP_OK;
}

static StepEnd run_migrate(TenantRun *r)
{
    ExecResult *res = r->res;
    size_t *idx = NULL;
    size_t n = plan_up(&r->plan, r->job->options->to, &idx);
    StepEnd end = STEP_OK;
    bool preview = r->job->options->command == EXEC_PLAN || r->job->options->dry_run;
    if (!check_before_migrate(r, idx, n)) {
        end = STEP_FAILED;
    } else if (!preview && r->window_shut) {
        res->outcome = n ? EXEC_OUT_SKIPPED : EXEC_OUT_UP_TO_DATE; /* nothing was written */
    } else if (!preview && (end = read_schema_before(r, n)) != STEP_OK) {
        /* the schema could not be read: nothing was applied */
    } else if (preview) {
        res->outcome = n ? EXEC_OUT_PENDING : EXEC_OUT_UP_TO_DATE;
        if (r->job->options->sql_preview)
            end = exec_preview(r, idx, n);
    } else {
        bool skip = false;
        for (size_t i = 0; i < n && end == STEP_OK && !skip && !stop_before_up(r, i); i++) {
            const Migration *m = mig_at(r, idx[i]);
            if (m->check.sql && ((end = run_precheck(r, m, &skip)) != STEP_OK || skip))
                break;
            end = run_section(r, m, &m->up, true, NULL);
            if (end == STEP_OK)
                sl_push(&res->applied, m->name);
        }
        res->skipped_by_check = skip;
        res->outcome = skip                     ? EXEC_OUT_SKIPPED
                       : res->applied.n         ? EXEC_OUT_MIGRATED
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
        for (size_t i = 0; i < n && end == STEP_OK && !stop_between(r); i++) {
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
    case EXEC_VERIFY:
        return exec_verify(r);
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

/* refuse_revert: before reverting anything, a migration whose down cannot revert it stops the
 * whole revert; reverting the others would leave a tenant that matches no point of history. */
static bool refuse_revert(TenantRun *r, const StrList *names)
{
    for (size_t i = names->n; i-- > 0;) {
        const PlanApplied *a = still_recorded(r, names->items[i]);
        const Migration *m = a ? mig_at(r, a->mig) : NULL;
        const char *why = m ? exec_down_problem(m) : NULL;
        if (!why)
            continue;
        error_set(&r->res->error, ERR_REFUSED, "nothing was reverted: '%s' %s, so reverting "
                  "would not bring the tenant back; every applied migration stays applied and "
                  "recorded", m->name, why);
        error_set_context(&r->res->error, NULL, m->name, NULL);
        return true;
    }
    return false;
}

StepEnd exec_revert_list(TenantRun *r, const StrList *names)
{
    ExecResult *res = r->res;
    if (refuse_revert(r, names))
        return STEP_FAILED;
    for (size_t i = names->n; i-- > 0;) {
        const PlanApplied *a = still_recorded(r, names->items[i]);
        if (!a)
            continue;
        const Migration *m = mig_at(r, a->mig);
        StepEnd end = run_section(r, m, &m->down, false, a->row);
        if (end != STEP_OK)
            return end;
        sl_push(&res->reverted, m->name);
    }
    return STEP_OK;
}

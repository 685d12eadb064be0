/*
 * executor.c — one tenant's job (see executor.h). The order of operations is the safety
 * argument: read SequelizeMeta, plan, refuse what cannot be done cleanly (JavaScript migrations,
 * names the table cannot store, reverts past rows with no file) before the first statement runs,
 * then apply one migration at a time — on PostgreSQL and SQLite the migration and its
 * SequelizeMeta row commit in one transaction, so a failure leaves neither.
 */
#include "drover/executor.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drover/driver.h"
#include "drover/meta.h"

typedef struct TenantRun {
    const ExecJob *job;
    ExecResult *res;
    DrvConn *conn;
    MetaTable table;
    MetaState meta;
    Plan plan;
    bool planned;
} TenantRun;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool writes(const ExecOptions *o)
{
    return (o->command == EXEC_MIGRATE || o->command == EXEC_UNDO) && !o->dry_run;
}

static const Migration *mig_at(const TenantRun *r, size_t i)
{
    return &r->job->migrations->items[i];
}

/* A SQLite tenant that was never migrated has no file yet; reading it must not create one. */
static bool sqlite_file_missing(const TenantRun *r)
{
    const InvUrl *u = &r->job->tenant->url;
    return u->dialect == DRV_SQLITE && !writes(r->job->options) && access(u->database, F_OK) != 0;
}

static bool connect_tenant(TenantRun *r)
{
    DrvConnectOptions opts = {
        .application_name = r->job->options->application_name,
        .create = writes(r->job->options) && r->job->options->command == EXEC_MIGRATE,
    };
    r->conn = drv_connect(&r->job->tenant->url, &opts, &r->res->error);
    return r->conn != NULL;
}

static void fill_lists(TenantRun *r)
{
    const MigSet *set = r->job->migrations;
    ExecResult *res = r->res;
    for (size_t i = 0; i < r->plan.napplied; i++) {
        const PlanApplied *a = &r->plan.applied[i];
        sl_push(&res->have, set->items[a->mig].name);
        if (a->renamed) {
            sl_push(&res->renamed_rows, a->row);
            sl_push(&res->renamed_files, set->items[a->mig].name);
        }
    }
    for (size_t i = 0; i < r->plan.npending; i++)
        sl_push(&res->pending, set->items[r->plan.pending[i]].name);
    for (size_t i = 0; i < r->plan.unknown.n; i++)
        sl_push(&res->unknown, r->plan.unknown.items[i]);
    if (res->unknown.n)
        res->state = EXEC_STATE_DRIFTED;
    else if (res->pending.n)
        res->state = EXEC_STATE_BEHIND;
    else
        res->state = EXEC_STATE_CURRENT;
}

/* read_state reads SequelizeMeta (creating it first when migrating, as the CLI does) and
 * builds the plan. */
static bool read_state(TenantRun *r)
{
    bool ok;
    if (r->conn && r->job->options->command == EXEC_MIGRATE && !r->job->options->dry_run)
        ok = meta_ensure(r->conn, &r->table, r->job->tenant->url.schema, &r->meta,
                         &r->res->error);
    else if (r->conn)
        ok = meta_read(r->conn, &r->table, &r->meta, &r->res->error);
    else
        ok = true; /* SQLite file not created yet: an empty tenant */
    if (!ok)
        return false;
    r->res->meta_missing = !r->meta.exists;
    plan_build(r->job->migrations, &r->meta.rows, &r->plan);
    r->planned = true;
    fill_lists(r);
    return true;
}

static bool refuse_js(TenantRun *r, const size_t *idx, size_t n, bool via_applied)
{
    for (size_t i = 0; i < n; i++) {
        size_t m = via_applied ? r->plan.applied[idx[i]].mig : idx[i];
        if (mig_at(r, m)->kind != MIG_JS)
            continue;
        drv_error_set(&r->res->error, DRV_ERR_REFUSED,
                      "JavaScript migrations cannot run in this version of drover");
        drv_error_set_context(&r->res->error, NULL, mig_at(r, m)->name, NULL);
        drv_error_set_hint(&r->res->error, "run it with sequelize-cli, or write it as a .sql "
                                           "migration; nothing was applied to this tenant");
        return false;
    }
    return true;
}

/* describe_partial rewrites the error of a migration that stopped after some of its
 * statements were applied outside a transaction, so nobody mistakes it for a clean failure. */
static void describe_partial(TenantRun *r, size_t completed, bool is_mysql)
{
    DrvError *e = &r->res->error;
    r->res->partial = true;
    char *msg = xasprintf("%s — statement %zu failed after %zu statement%s of this migration had "
                          "been applied without a transaction; they are not recorded in "
                          "SequelizeMeta",
                          e->message ? e->message : "error", completed + 1, completed,
                          completed == 1 ? "" : "s");
    free(e->message);
    e->message = msg;
    drv_error_set_hint(e, "%sinspect the tenant, then finish or undo those statements by hand "
                          "before re-running",
                       is_mysql ? "MariaDB/MySQL commit DDL implicitly; " : "");
}

/*
 * run_section runs one section (up or down) and records the change in SequelizeMeta with
 * `record`. Transactional on PostgreSQL and SQLite unless the section opted out; MariaDB
 * commits DDL implicitly, so there the statements run as they come.
 */
static bool run_section(TenantRun *r, const Migration *m, const MigSection *s, bool up,
                        const char *row)
{
    DrvDialect d = drv_conn_dialect(r->conn);
    DrvError *err = &r->res->error;
    bool tx = s->transaction && d != DRV_MYSQL;
    size_t completed = 0;
    if (tx && !drv_begin(r->conn, err))
        return false;
    bool ok = drv_exec_script(r->conn, s->sql ? s->sql : "", &completed, err);
    if (!ok && !tx && completed > 0)
        describe_partial(r, completed, d == DRV_MYSQL);
    if (ok)
        ok = up ? meta_insert(r->conn, &r->table, &r->meta, m->name, err)
                : meta_delete(r->conn, &r->table, row, err);
    if (ok && tx)
        ok = drv_commit(r->conn, err);
    if (!ok && tx)
        drv_rollback(r->conn, NULL);
    if (!ok)
        drv_error_set_context(err, NULL, m->name, NULL);
    return ok;
}

static void names_of(const TenantRun *r, const size_t *idx, size_t n, StrList *out)
{
    for (size_t i = 0; i < n; i++)
        sl_push(out, mig_at(r, idx[i])->name);
}

static void run_migrate(TenantRun *r)
{
    ExecResult *res = r->res;
    size_t *idx = NULL;
    size_t n = plan_up(&r->plan, r->job->options->to, &idx);
    StrList names = STRLIST_INIT;
    names_of(r, idx, n, &names);
    if (!refuse_js(r, idx, n, false) ||
        (r->conn && !meta_check_storable(r->conn, &r->table, &r->meta, &names, &res->error))) {
        res->outcome = EXEC_OUT_FAILED;
        goto out;
    }
    if (r->job->options->command == EXEC_PLAN || r->job->options->dry_run) {
        for (size_t i = 0; i < names.n; i++)
            sl_push(&res->planned, names.items[i]);
        res->outcome = n ? EXEC_OUT_PENDING : EXEC_OUT_UP_TO_DATE;
        goto out;
    }
    res->outcome = n ? EXEC_OUT_MIGRATED : EXEC_OUT_UP_TO_DATE;
    for (size_t i = 0; i < n; i++) {
        const Migration *m = mig_at(r, idx[i]);
        if (!run_section(r, m, &m->up, true, NULL)) {
            res->outcome = EXEC_OUT_FAILED;
            break;
        }
        sl_push(&res->applied, m->name);
    }
out:
    sl_free(&names);
    free(idx);
}

static void run_undo(TenantRun *r)
{
    ExecResult *res = r->res;
    const ExecOptions *o = r->job->options;
    size_t *idx = NULL, n = 0;
    if (!plan_down(&r->plan, r->job->migrations, o->undo_mode, o->steps, o->to, &idx, &n,
                   &res->error) ||
        !refuse_js(r, idx, n, true)) {
        res->outcome = EXEC_OUT_FAILED;
        goto out;
    }
    if (o->dry_run) {
        for (size_t i = 0; i < n; i++)
            sl_push(&res->planned, mig_at(r, r->plan.applied[idx[i]].mig)->name);
        res->outcome = n ? EXEC_OUT_PENDING : EXEC_OUT_UP_TO_DATE;
        goto out;
    }
    res->outcome = n ? EXEC_OUT_REVERTED : EXEC_OUT_UP_TO_DATE;
    for (size_t i = 0; i < n; i++) {
        const PlanApplied *a = &r->plan.applied[idx[i]];
        const Migration *m = mig_at(r, a->mig);
        if (!run_section(r, m, &m->down, false, a->row)) {
            res->outcome = EXEC_OUT_FAILED;
            break;
        }
        sl_push(&res->reverted, m->name);
    }
out:
    free(idx);
}

static void dispatch(TenantRun *r)
{
    switch (r->job->options->command) {
    case EXEC_PLAN:
    case EXEC_MIGRATE:
        run_migrate(r);
        break;
    case EXEC_UNDO:
        run_undo(r);
        break;
    case EXEC_STATUS:
    case EXEC_CHECK:
        r->res->outcome = EXEC_OUT_OK;
        break;
    }
}

void exec_run_tenant(const ExecJob *job, ExecResult *res)
{
    memset(res, 0, sizeof *res);
    res->tenant = job->tenant;
    double start = now_seconds();
    TenantRun r = {
        .job = job,
        .res = res,
        .table = {.table = job->meta_table, .schema = job->meta_schema},
    };
    if (!sqlite_file_missing(&r) && !connect_tenant(&r)) {
        res->outcome = EXEC_OUT_UNREACHABLE;
        res->state = EXEC_STATE_UNREACHABLE;
    } else if (!read_state(&r)) {
        /* SequelizeMeta could not be read: the tenant's state is unknown, not "current". */
        res->outcome = EXEC_OUT_FAILED;
        res->state = EXEC_STATE_UNREACHABLE;
    } else {
        dispatch(&r);
    }
    if (drv_error_is_set(&res->error))
        drv_error_set_context(&res->error, job->tenant->id, NULL, NULL);
    if (r.planned)
        plan_free(&r.plan);
    meta_state_free(&r.meta);
    drv_close(r.conn);
    res->seconds = now_seconds() - start;
}

void exec_result_free(ExecResult *res)
{
    StrList *lists[] = {&res->applied, &res->reverted, &res->planned, &res->have,
                        &res->pending, &res->unknown, &res->renamed_rows, &res->renamed_files};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
        sl_free(lists[i]);
    for (size_t i = 0; i < res->nsteps; i++) {
        free(res->steps[i].migration);
        free(res->steps[i].error);
    }
    free(res->steps);
    free(res->dirty_migration);
    drv_error_clear(&res->error);
    drv_error_clear(&res->rollback_error);
}

const char *exec_outcome_name(ExecOutcome o)
{
    static const char *const names[] = {
        [EXEC_OUT_UP_TO_DATE] = "up_to_date", [EXEC_OUT_PENDING] = "pending",
        [EXEC_OUT_MIGRATED] = "migrated",     [EXEC_OUT_REVERTED] = "reverted",
        [EXEC_OUT_OK] = "ok",                 [EXEC_OUT_FAILED] = "failed",
        [EXEC_OUT_UNREACHABLE] = "unreachable", [EXEC_OUT_ROLLED_BACK] = "rolled_back",
        [EXEC_OUT_LOCKED] = "locked",           [EXEC_OUT_DIRTY] = "dirty",
        [EXEC_OUT_SKIPPED] = "skipped",
    };
    return names[o];
}

bool exec_outcome_is_failure(ExecOutcome o)
{
    return o == EXEC_OUT_FAILED || o == EXEC_OUT_UNREACHABLE || o == EXEC_OUT_ROLLED_BACK ||
           o == EXEC_OUT_DIRTY;
}

const char *exec_state_name(ExecState s)
{
    static const char *const names[] = {
        [EXEC_STATE_CURRENT] = "current",
        [EXEC_STATE_BEHIND] = "behind",
        [EXEC_STATE_DRIFTED] = "drifted",
        [EXEC_STATE_UNREACHABLE] = "unreachable",
    };
    return names[s];
}

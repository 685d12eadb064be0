/*
 * executor.c — one tenant's job from start to end (see executor.h):
 *
 *   connect → take the database's own lock → read SequelizeMeta → plan → refuse what cannot be
 *   done cleanly → apply one migration at a time → release.
 *
 * Every attempt starts from a fresh session and re-reads SequelizeMeta after taking the lock,
 * so a retry after a transient fault, or a job that waited for another process, never redoes
 * work that was done meanwhile. When a migration fails for good, the migrations this job
 * applied are reverted (rollback = "batch") from yet another fresh session, so the tenant ends
 * where it started; a tenant that cannot be brought back is reported dirty.
 */
#include "drover/executor.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "executor_impl.h"

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool writes(const ExecOptions *o)
{
    return (o->command == EXEC_MIGRATE || o->command == EXEC_UNDO) && !o->dry_run;
}

/* takes_lock: writers, and SQL previews on PostgreSQL, which run the migrations (rolled back)
 * and must not interleave with another process migrating the tenant. */
static bool takes_lock(const ExecOptions *o, DbDialect d)
{
    return writes(o) || (o->sql_preview && d == DB_POSTGRES) ||
           (o->command == EXEC_VERIFY && d != DB_SQLITE);
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

char *exec_lock_key(const ExecJob *job)
{
    const DbUrl *u = &job->tenant->url;
    if (job->tenant->agent)
        return xasprintf("agent:%s/%s", job->tenant->agent->name, job->tenant->id);
    return xasprintf("%s://%s:%d/%s/%s/%s.%s", db_dialect_name(u->dialect), or_empty(u->host),
                     u->port, or_empty(u->database), or_empty(u->schema),
                     or_empty(job->meta_schema), job->meta_table);
}

char *exec_server_key(const ExecJob *job)
{
    const DbUrl *u = &job->tenant->url;
    if (job->tenant->agent)
        return xasprintf("agent:%s", job->tenant->agent->name);
    if (u->dialect == DB_SQLITE)
        return NULL;
    return xasprintf("%s://%s:%d", db_dialect_name(u->dialect), or_empty(u->host), u->port);
}

char *exec_database_lock_key(const ExecJob *job)
{
    return xasprintf("%s/%s.%s", or_empty(job->tenant->url.schema), or_empty(job->meta_schema),
                     job->meta_table);
}

/* A SQLite tenant that was never migrated has no file yet; reading it must not create one, nor
 * may a migrate whose maintenance window closed since the tenant was dispatched. */
static bool sqlite_file_missing(const TenantRun *r)
{
    const DbUrl *u = &r->job->tenant->url;
    if (u->dialect != DB_SQLITE || access(u->database, F_OK) == 0)
        return false;
    return !writes(r->job->options) || exec_window_closed(r);
}

static void describe_lock_holder(TenantRun *r)
{
    char *holder = NULL;
    DroverError ignored = DROVER_ERROR_INIT;
    drv_lock_holder(r->conn, r->db_lock_key, &holder, &ignored);
    error_set(&r->res->error, ERR_REFUSED,
                  "another process held the tenant's lock for %.1f s%s%s",
                  (double)r->engine->lock_wait_ms / 1000.0, holder ? "; holder: " : "",
                  holder ? holder : "");
    error_set_hint(&r->res->error, "nothing was changed; run again when the other migration "
                                       "is done ('drover locks' shows who holds what)");
    free(holder);
    error_clear(&ignored);
}

/* take_lock guards the tenant against other drover processes (writes only: reads are
 * lock-free). Not getting it in lock_wait is the outcome "locked", not a failure. */
static StepEnd take_lock(TenantRun *r)
{
    bool acquired = false;
    if (!drv_lock(r->conn, r->db_lock_key, r->job->options->application_name,
                  (int)r->engine->lock_wait_ms, &acquired, &r->res->error))
        return exec_retry_or_fail(r, drv_conn_dialect(r->conn));
    if (!acquired) {
        describe_lock_holder(r);
        r->res->outcome = EXEC_OUT_LOCKED;
        return STEP_FAILED;
    }
    r->locked = true;
    return STEP_OK;
}

static StepEnd open_session(TenantRun *r)
{
    const ExecOptions *o = r->job->options;
    DrvConnectOptions copts = {
        .application_name = o->application_name,
        .create = writes(o) && o->command == EXEC_MIGRATE,
        .statement_timeout_ms = (int)r->job->statement_timeout_ms,
    };
    r->res->attempts++;
    if (!r->conn && !writes(o)) /* a write may have its fast path's session handed over */
        r->conn = exec_sessions_take(o->sessions, &r->job->tenant->url);
    if (!r->conn)
        r->conn = drv_connect(&r->job->tenant->url, &copts, &r->res->error);
    if (!r->conn) {
        r->res->outcome = EXEC_OUT_UNREACHABLE;
        r->res->state = EXEC_STATE_UNREACHABLE;
        return exec_retry_or_fail(r, r->job->tenant->url.dialect);
    }
    if (o->cancels)
        r->cancel_id = exec_cancels_add(o->cancels, drv_canceller_new(r->conn));
    if (!takes_lock(o, drv_conn_dialect(r->conn)))
        return STEP_OK;
    if (writes(o) && r->job->lock_timeout_ms > 0 &&
        !drv_set_lock_timeout(r->conn, (int)r->job->lock_timeout_ms, &r->res->error))
        return exec_retry_or_fail(r, drv_conn_dialect(r->conn));
    return take_lock(r);
}

/* close_session: an unlock that fails (the session was lost, taking its lock with it) is of no
 * consequence, as drv_close releases whatever the session still holds. */
static void close_session(TenantRun *r)
{
    DroverError ignored = DROVER_ERROR_INIT;
    if (r->locked)
        drv_unlock(r->conn, r->db_lock_key, &ignored);
    error_clear(&ignored);
    r->locked = false;
    exec_cancels_remove(r->job->options->cancels, r->cancel_id); /* before the close */
    r->cancel_id = 0;
    nr_release(r->runner);
    r->runner = NULL;
    const ExecOptions *o = r->job->options;
    if (!writes(o) && r->conn && !error_is_set(&r->res->error))
        exec_sessions_give(o->sessions, &r->job->tenant->url, r->conn);
    else
        drv_close(r->conn);
    r->conn = NULL;
    if (r->planned)
        plan_free(&r->plan);
    r->planned = false;
    meta_state_free(&r->meta);
}

static void fill_lists(TenantRun *r)
{
    const MigSet *set = r->job->migrations;
    ExecResult *res = r->res;
    StrList *lists[] = {&res->have, &res->pending, &res->unknown, &res->renamed_rows,
                        &res->renamed_files};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
        sl_free(lists[i]);
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
    /* A gap: a pending migration sorts before an applied one (out-of-order history). */
    res->gap = r->plan.npending && r->plan.napplied &&
               r->plan.pending[0] < r->plan.applied[r->plan.napplied - 1].mig;
    for (size_t i = 0; i < r->plan.unknown.n; i++)
        sl_push(&res->unknown, r->plan.unknown.items[i]);
    res->state = res->unknown.n    ? EXEC_STATE_DRIFTED
                 : res->pending.n ? EXEC_STATE_BEHIND
                                  : EXEC_STATE_CURRENT;
}

/* read_state reads SequelizeMeta (creating it first when migrating, as the CLI does) and
 * builds the plan. The first successful read is the state "before" reported by status/plan.
 * The maintenance window is checked here, before the first write: a tenant whose window
 * closed while it connected or waited for its lock is left untouched (SequelizeMeta not
 * created); past this point its first migration is the one it finishes. */
static StepEnd read_state(TenantRun *r)
{
    const ExecOptions *o = r->job->options;
    bool ok = true;
    bool migrating = o->command == EXEC_MIGRATE && !o->dry_run;
    r->window_shut = migrating && exec_window_closed(r);
    if (r->conn && migrating && !r->window_shut)
        ok = meta_ensure(r->conn, &r->table, r->job->tenant->url.schema, &r->meta,
                         &r->res->error);
    else if (r->conn)
        ok = meta_read(r->conn, &r->table, &r->meta, &r->res->error);
    if (!ok) {
        /* SequelizeMeta could not be read: the tenant's state is unknown, not "current". */
        r->res->state = EXEC_STATE_UNREACHABLE;
        return exec_retry_or_fail(r, drv_conn_dialect(r->conn));
    }
    r->res->meta_missing = !r->meta.exists;
    plan_build(r->job->migrations, &r->meta.rows, &r->plan);
    r->planned = true;
    if (!r->state_reported)
        fill_lists(r);
    r->state_reported = true;
    return STEP_OK;
}

/* peek_connection: a session to read SequelizeMeta with, shared across schemas as status
 * shares them (ExecSessions), else a fresh one. */
static DrvConn *peek_connection(const TenantRun *r, DroverError *err)
{
    const ExecOptions *o = r->job->options;
    DrvConn *conn = exec_sessions_take(o->sessions, &r->job->tenant->url);
    if (conn)
        return conn;
    DrvConnectOptions copts = {.application_name = o->application_name,
                               .statement_timeout_ms = (int)r->job->statement_timeout_ms};
    return drv_connect(&r->job->tenant->url, &copts, err);
}

/*
 * peek_up_to_date is migrate's fast path for the tenants with nothing to do, which on most
 * deploys are most of them: SequelizeMeta read without the tenant's lock (the journal's dirty
 * mark was read before dispatch). When nothing is pending the job ends there, up to date;
 * anything else — work to do, no SequelizeMeta yet, a failed read — takes the normal path,
 * where the locked re-read decides, so a state that changes after this read is handled as
 * before. A tenant with work keeps the session the read used (r->conn): it becomes the job's
 * own, locked session, so the fast path costs no extra connection. Only the first attempt
 * peeks.
 */
static bool peek_up_to_date(TenantRun *r)
{
    const ExecOptions *o = r->job->options;
    const DbUrl *url = &r->job->tenant->url;
    if (o->command != EXEC_MIGRATE || o->dry_run || r->job->revert_only ||
        (url->dialect == DB_SQLITE && access(url->database, F_OK) != 0))
        return false;
    DroverError err = DROVER_ERROR_INIT;
    DrvConn *conn = peek_connection(r, &err);
    MetaState meta = {0};
    bool read = conn && meta_read(conn, &r->table, &meta, &err);
    bool none = false;
    if (read && meta.exists) {
        plan_build(r->job->migrations, &meta.rows, &r->plan);
        size_t *idx = NULL;
        none = plan_up(&r->plan, o->to, &idx) == 0;
        free(idx);
        r->planned = true; /* freed by close_session, whichever way this ends */
    }
    error_clear(&err);
    if (!none) {
        if (read)
            r->conn = conn;
        else
            drv_close(conn);
        meta_state_free(&meta);
        return false;
    }
    exec_sessions_give(o->sessions, url, conn);
    r->meta = meta;
    r->res->attempts++;
    r->res->meta_missing = false;
    fill_lists(r);
    r->state_reported = true;
    r->res->outcome = EXEC_OUT_UP_TO_DATE;
    return true;
}

static StepEnd run_attempt(TenantRun *r)
{
    if (!r->peeked) {
        r->peeked = true;
        if (peek_up_to_date(r))
            return STEP_OK;
        if (r->planned)
            plan_free(&r->plan);
        r->planned = false;
    }
    StepEnd end = sqlite_file_missing(r) ? STEP_OK : open_session(r);
    if (end == STEP_OK)
        end = read_state(r);
    if (end == STEP_OK)
        end = exec_dispatch(r);
    return end;
}

/* backoff sleeps with exponential backoff and full jitter, waking early on a stop request. */
static void backoff(TenantRun *r, int retry, unsigned *seed)
{
    long cap = r->engine->backoff_ms;
    for (int i = 0; i < retry && cap < r->engine->backoff_max_ms; i++)
        cap *= 2;
    if (cap > r->engine->backoff_max_ms)
        cap = r->engine->backoff_max_ms;
    long ms = cap > 0 ? (long)(rand_r(seed) % (unsigned)(cap + 1)) : 0;
    for (; ms > 0 && !exec_stop_requested(r); ms -= 50) {
        struct timespec ts = {0, (ms < 50 ? ms : 50) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static unsigned job_seed(const ExecJob *job)
{
    unsigned h = (unsigned)time(NULL) ^ (unsigned)getpid();
    for (const char *p = job->tenant->id; *p; p++)
        h = h * 31u + (unsigned char)*p;
    return h;
}

/* run_with_retries runs attempts until one ends for good or retries are used up. */
static StepEnd run_with_retries(TenantRun *r)
{
    unsigned seed = job_seed(r->job);
    StepEnd end = STEP_FAILED;
    for (int retry = 0;; retry++) {
        r->may_retry = retry < r->engine->retries && !exec_stop_requested(r);
        end = run_attempt(r);
        close_session(r);
        if (end != STEP_RETRY)
            break;
        error_clear(&r->res->error);
        backoff(r, retry, &seed);
    }
    return end;
}

/* roll_back brings a tenant whose migration failed for good back to where the job found it,
 * from a fresh session, and proves it: the schema must be the one read before the batch. A
 * revert that fails, or leaves another schema, leaves the tenant dirty with both errors; one
 * refused before anything was reverted leaves it failed, every applied migration recorded. */
static void roll_back(TenantRun *r)
{
    ExecResult *res = r->res;
    DroverError first = DROVER_ERROR_INIT;
    error_move(&first, &res->error);
    r->may_retry = false;
    StepEnd end = open_session(r);
    if (end == STEP_OK)
        end = read_state(r);
    if (end == STEP_OK)
        end = exec_revert_list(r, &res->applied);
    if (end == STEP_OK && r->schema_read && !exec_schema_unchanged(r, &res->error))
        end = STEP_FAILED;
    close_session(r);
    error_move(&res->rollback_error, &res->error);
    error_move(&res->error, &first);
    if (end == STEP_OK) {
        error_clear(&res->rollback_error);
        res->outcome = EXEC_OUT_ROLLED_BACK;
        return;
    }
    if (res->reverted.n == 0 && res->rollback_error.kind == ERR_REFUSED &&
        !r->schema_read) {
        res->outcome = EXEC_OUT_FAILED;
        return;
    }
    res->outcome = EXEC_OUT_DIRTY;
    if (!res->dirty_migration)
        res->dirty_migration = xstrdup(res->rollback_error.migration
                                           ? res->rollback_error.migration
                                           : res->applied.items[res->applied.n - 1]);
}

/* keep_applied: the batch cannot be reverted (a down that is missing or does nothing), so the
 * tenant keeps what this run applied, each migration whole and recorded, as sequelize-cli
 * leaves it; the error says so and where the next run resumes. */
static void keep_applied(TenantRun *r, const Migration *irreversible, const char *why)
{
    DroverError *e = &r->res->error;
    char *hint = xasprintf("not rolled back: '%s' %s, so reverting this run's %zu applied "
                           "migration(s) could not restore the tenant; they stay applied and "
                           "recorded (as sequelize-cli leaves them), and the next run resumes at "
                           "'%s'%s%s", irreversible->name, why,
                           r->res->applied.n, e->migration ? e->migration : "the failed one",
                           e->hint ? "; " : "", e->hint ? e->hint : "");
    free(e->hint);
    e->hint = hint;
}

static void finish_failure(TenantRun *r)
{
    ExecResult *res = r->res;
    if (res->outcome != EXEC_OUT_UNREACHABLE && res->outcome != EXEC_OUT_LOCKED)
        res->outcome = EXEC_OUT_FAILED;
    if (res->partial) {
        res->outcome = EXEC_OUT_DIRTY;
        return;
    }
    /* After a stop request the tenant stays at the migration boundary it reached: every
     * applied migration is whole and recorded, and the operator asked drover to end. */
    if (res->outcome == EXEC_OUT_FAILED && r->job->options->command == EXEC_MIGRATE &&
        r->engine->rollback_batch && res->applied.n > 0 && !exec_stop_requested(r)) {
        const char *why = NULL;
        const Migration *irreversible = exec_irreversible(r, &res->applied, &why);
        if (irreversible)
            keep_applied(r, irreversible, why);
        else
            roll_back(r);
    }
}

void exec_run_tenant(const ExecJob *job, ExecResult *res)
{
    memset(res, 0, sizeof *res);
    res->tenant = job->tenant;
    res->started_at = exec_wall_clock();
    double start = monotonic_seconds();
    TenantRun r = {
        .job = job,
        .res = res,
        .engine = job->options->engine ? job->options->engine : inv_engine_defaults(),
        .db_lock_key = exec_database_lock_key(job),
        .table = {.table = job->meta_table, .schema = job->meta_schema},
    };
    if (exec_stop_requested(&r) || exec_window_closed(&r)) {
        res->outcome = EXEC_OUT_SKIPPED; /* dispatched just before the stop request */
    } else if (job->tenant->agent) {
        res->outcome = EXEC_OUT_FAILED;
        error_set(&res->error, ERR_INTERNAL, "the tenant is served by agent '%s', "
                      "which this command does not reach", job->tenant->agent->name);
    } else if (run_with_retries(&r) != STEP_OK)
        finish_failure(&r);
    if (error_is_set(&res->error))
        error_set_context(&res->error, job->tenant->id, NULL, NULL);
    if (error_is_set(&res->rollback_error))
        error_set_context(&res->rollback_error, job->tenant->id, NULL, NULL);
    free(r.db_lock_key);
    sl_free(&r.schema_before);
    res->ended_at = exec_wall_clock();
    res->seconds = monotonic_seconds() - start;
}

const char *exec_result_dialect(const ExecResult *r)
{
    if (r->tenant->agent)
        return r->agent_dialect ? r->agent_dialect : "agent";
    return db_dialect_name(r->tenant->url.dialect);
}

const char *exec_result_url(const ExecResult *r)
{
    if (r->tenant->agent && r->agent_url)
        return r->agent_url;
    return r->tenant->url.masked;
}

void exec_result_free(ExecResult *res)
{
    StrList *lists[] = {&res->applied,      &res->reverted,     &res->planned,
                        &res->have,         &res->pending,      &res->unknown,
                        &res->renamed_rows, &res->renamed_files, &res->schema_lines,
                        &res->drift_added,  &res->drift_missing};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
        sl_free(lists[i]);
    free(res->lock_holder);
    free(res->fingerprint);
    free(res->last_run_outcome);
    for (size_t i = 0; i < res->nsteps; i++) {
        free(res->steps[i].migration);
        free(res->steps[i].error);
    }
    free(res->steps);
    exec_previews_free(res);
    exec_verifies_free(res);
    free(res->dirty_migration);
    free(res->agent_dialect);
    free(res->agent_url);
    error_clear(&res->error);
    error_clear(&res->rollback_error);
}

const char *exec_outcome_name(ExecOutcome o)
{
    static const char *const names[] = {
        [EXEC_OUT_UP_TO_DATE] = "up_to_date",   [EXEC_OUT_PENDING] = "pending",
        [EXEC_OUT_MIGRATED] = "migrated",       [EXEC_OUT_REVERTED] = "reverted",
        [EXEC_OUT_OK] = "ok",                   [EXEC_OUT_FAILED] = "failed",
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
        [EXEC_STATE_DIRTY] = "dirty",
        [EXEC_STATE_LOCKED] = "locked",
        [EXEC_STATE_UNREACHABLE] = "unreachable",
    };
    return names[s];
}

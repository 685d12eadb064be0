/*
 * fleetrun.c — one run of a fleet command (fleetrun.h): everything between "the inventory,
 * the migration set and the selection are loaded" and "every tenant has a final result", for
 * both faces. The order of fleetrun_new is the order in which a run may still refuse with
 * nothing touched: the node runner, the agents' preflight, then the journal.
 *
 * DESIGN: the rollout's coordinator thread calls the hooks here (journal first, the face's
 * hooks after), so the journal needs no lock; `stop` is the one stop flag of the run, an
 * atomic that a signal thread or an HTTP handler sets and the workers read.
 */
#include "drover/fleetrun.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentclient_impl.h"
#include "drover/control.h"
#include "drover/fleetview.h"
#include "fleetrun_shared_impl.h"
#include "noderunner_impl.h"

struct FleetRun {
    const Inventory *inv;
    const MigSet *set;
    const size_t *selected;
    size_t n;
    FleetRunOptions o;      /* o.exec.stop/cancels/sessions point into this run */
    atomic_int stop;
    ExecCancels *cancels;   /* writes only: what a second signal cancels */
    ExecSessions *sessions; /* reads only: connections shared across tenant schemas */
    AgentClient *agents;    /* NULL when no selected tenant is served by an agent */
    bool owns_runners;      /* this run started the node runner pool */
    Journal *journal;
    /* A second handle on the journal for the workers' started marks (ExecOptions.mark_started):
     * the coordinator's handle is its alone, so the workers share this one under marks_mu. */
    Journal *marks;
    pthread_mutex_t marks_mu;
    int64_t run_id;
    atomic_bool journal_failed; /* also set by workers (mark_ended) */
    ExecResult *results;
    FleetChanges changes;
    /* The control database (inventory `control`): dirty marks for every process, and the
     * queue of a shared run (o.shared_run) or the record of a local one (local_name). */
    Control *control;
    SharedRun shared;
    char *local_name;
    RolloutQueue queue;
    bool joined_finished;
    char *finished_outcome;
};

static bool writes(const ExecOptions *o)
{
    return (o->command == EXEC_MIGRATE || o->command == EXEC_UNDO) && !o->dry_run;
}

/* dialects_of: NR_DIALECT bits of the local tenants among selected (all when selected is
 * NULL); agent tenants run their .js on the agent. */
static unsigned dialects_of(const Inventory *inv, const size_t *selected, size_t n)
{
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        const InvTenant *t = &inv->tenants[selected ? selected[i] : i];
        if (!t->agent)
            bits |= NR_DIALECT(t->url.dialect);
    }
    return bits;
}

static bool js_setup(const Inventory *inv, const MigSet *set, unsigned dialects,
                     DroverError *err)
{
    long ms = inv->engine.js_timeout_ms;
    NrLimits limits = {.timeout_ms = ms > INT_MAX ? INT_MAX : (int)ms,
                       .max_procs = (size_t)inv->engine.js_runners};
    return nr_setup(set, inv->node_modules, dialects, &limits, err);
}

bool fleetrun_js_prepare(const Inventory *inv, const MigSet *set, DroverError *err)
{
    unsigned dialects = dialects_of(inv, NULL, inv->ntenants);
    return !mig_set_has_js(set) || !dialects || js_setup(inv, set, dialects, err);
}

void fleetrun_js_shutdown(void)
{
    nr_shutdown();
}

void fleetrun_set_output(void (*fn)(const ExecOutput *out, void *ctx), void *ctx)
{
    nr_set_output(fn, ctx);
}

/* setup_js starts the node runner pool before any tenant is touched, so that a missing node,
 * sequelize or a broken .js file stops the run up front. --sql needs it only where .js
 * migrations can be previewed: PostgreSQL. */
static bool setup_js(FleetRun *r, DroverError *err)
{
    unsigned dialects = dialects_of(r->inv, r->selected, r->n);
    if (!writes(&r->o.exec) && r->o.exec.command != EXEC_VERIFY)
        dialects = r->o.exec.sql_preview ? dialects & NR_DIALECT(DB_POSTGRES) : 0;
    if (!dialects || !mig_set_has_js(r->set) || nr_is_ready())
        return true;
    r->owns_runners = true;
    return js_setup(r->inv, r->set, dialects, err);
}

/* default_run_base: what makes this run's batch ids unique on every agent, e.g.
 * "ci-7-4711-1700000000123456789" (host, pid, start in ns). */
static char *default_run_base(void)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return xasprintf("%s-%ld-%lld%09ld", host, (long)getpid(), (long long)ts.tv_sec, ts.tv_nsec);
}

/* setup_agents starts the agent client when a selected tenant needs one, and checks every
 * agent's migration set, token and (for writes and verify of a set with .js) its node runner
 * before anything runs. An agent that does not answer is only a warning: its tenants end
 * unreachable, never missing. */
static bool setup_agents(FleetRun *r, DroverError *err)
{
    if (!agent_client_needed(r->inv, r->selected, r->n))
        return true;
    char *base = r->o.agent_run_base ? xstrdup(r->o.agent_run_base) : default_run_base();
    r->agents = agent_client_new(r->inv, r->set, base, err);
    free(base);
    StrList warnings = STRLIST_INIT;
    bool runs_js = writes(&r->o.exec) || r->o.exec.command == EXEC_VERIFY;
    bool needs_js = runs_js && mig_set_has_js(r->set);
    bool ok = r->agents && agent_client_preflight(r->agents, r->selected, r->n, needs_js,
                                                  &warnings, err);
    for (size_t i = 0; i < warnings.n && r->o.warn; i++)
        r->o.warn(warnings.items[i], r->o.hooks.ctx);
    sl_free(&warnings);
    return ok;
}

/* check_no_transaction: every name in migrations.no_transaction is a .js file of the set. */
static bool check_no_transaction(const FleetRun *r, DroverError *err)
{
    const StrList *names = &r->inv->no_transaction;
    for (size_t i = 0; i < names->n; i++) {
        ssize_t k = mig_find(r->set, names->items[i]);
        if (k >= 0 && r->set->items[k].kind == MIG_JS &&
            strcmp(r->set->items[k].name, names->items[i]) == 0)
            continue;
        error_set(err, ERR_CONFIG, "migrations.no_transaction names '%s', which is no .js "
                  "migration in '%s'", names->items[i], r->set->dir);
        error_set_hint(err, "list .js file names as they are in the folder (.sql migrations say "
                            "'-- migrate:up transaction:false' themselves)");
        error_set_location(err, r->inv->config_path, 0);
        return false;
    }
    return true;
}

static bool mark_started(void *ctx, const char *tenant_id, const char *migration,
                         char **dirty_migration, DroverError *err)
{
    FleetRun *r = ctx;
    bool ok;
    if (r->control) {
        ok = control_mark_started(r->control, r->shared.name ? r->shared.name : "", tenant_id,
                                  migration, dirty_migration, err);
    } else {
        pthread_mutex_lock(&r->marks_mu);
        ok = journal_mark_started(r->marks, r->run_id, tenant_id, migration, dirty_migration,
                                  err);
        pthread_mutex_unlock(&r->marks_mu);
    }
    if (!ok && *dirty_migration)
        error_set_hint(err, "repair the tenant by hand, then run 'drover resolve --tenant %s'; "
                            "nothing was run", tenant_id);
    else if (!ok)
        error_set_hint(err, "nothing of the migration was sent; fix the journal '%s' and run "
                            "again", r->inv->journal_path);
    return ok;
}

/* mark_ended: a mark that cannot be cleared stays, and only makes the next run refuse the
 * tenant until 'drover resolve'; the run itself is reported as failing the journal. */
static void mark_ended(void *ctx, const char *tenant_id, const char *migration)
{
    FleetRun *r = ctx;
    DroverError err = DROVER_ERROR_INIT;
    bool ok;
    if (r->control) {
        ok = control_clear_started(r->control, tenant_id, migration, &err);
    } else {
        pthread_mutex_lock(&r->marks_mu);
        ok = journal_clear_started(r->marks, r->run_id, tenant_id, migration, &err);
        pthread_mutex_unlock(&r->marks_mu);
    }
    if (!ok)
        r->journal_failed = true;
    error_clear(&err);
}

/* inventory_ids: every tenant the inventory declares (caller frees the array). */
static const char **inventory_ids(const Inventory *inv)
{
    const char **ids = xcalloc(inv->ntenants ? inv->ntenants : 1, sizeof *ids);
    for (size_t i = 0; i < inv->ntenants; i++)
        ids[i] = inv->tenants[i].id;
    return ids;
}

/* open_journal records the run and the whole fleet it saw (selected or not), so that a later
 * status can tell which tenants appeared or disappeared since. */
static bool open_journal(FleetRun *r, DroverError *err)
{
    if (!r->o.journal || !writes(&r->o.exec))
        return true;
    r->journal = journal_open(r->inv->journal_path, err);
    if (!r->journal || !journal_begin_run(r->journal, &r->o.journal_info, &r->run_id, err))
        return false;
    const char **ids = inventory_ids(r->inv);
    bool recorded = journal_record_fleet(r->journal, r->run_id, ids, r->inv->ntenants, err);
    free(ids);
    if (!recorded)
        return false;
    r->marks = journal_open(r->inv->journal_path, err);
    if (!r->marks)
        return false;
    r->o.exec.mark_started = mark_started;
    r->o.exec.mark_ended = mark_ended;
    r->o.exec.marks_ctx = r;
    return true;
}

/* open_control connects to the control database when the inventory names one and the run
 * writes (dirty marks) or reads status (which shows them), and joins the shared run. */
static bool open_control(FleetRun *r, DroverError *err)
{
    bool w = writes(&r->o.exec);
    if (r->o.shared_run && (!w || !r->inv->control_url)) {
        error_set(err, ERR_USAGE, "%s", !w ? "--run goes with migrate and undo (not --dry-run)"
                                           : "--run needs a control database");
        if (w)
            error_set_hint(err, "name one in drover.cfg: control = { url = \"postgres://...\"; "
                                "}; every process of the run uses it (docs/deploy.md)");
        return false;
    }
    bool status = r->o.exec.command == EXEC_STATUS && r->o.status_from_journal;
    /* A write opens it with or without a journal: a drover-agent whose inventory names the
     * control database keeps dirty marks there and records its batches as runs of its own. */
    if (!r->inv->control_url || (!w && !status))
        return true;
    r->control = control_open(r->inv->control_url, r->inv->control_url_masked,
                              r->inv->control_lease_ms, r->o.exec.application_name
                                  ? r->o.exec.application_name : "drover", err);
    if (!r->control)
        return false;
    r->o.exec.mark_started = mark_started;
    r->o.exec.mark_ended = mark_ended;
    r->o.exec.marks_ctx = r;
    if (!w)
        return true;
    const char *command = r->o.exec.command == EXEC_UNDO ? "undo" : "migrate";
    if (!r->o.shared_run)
        r->local_name = xasprintf("%s@%s", command, control_worker(r->control));
    r->shared = (SharedRun){.control = r->control,
                            .name = r->o.shared_run ? r->o.shared_run : r->local_name,
                            .command = command, .inv = r->inv, .selected = r->selected,
                            .n = r->n, .stop = &r->stop, .error = r->o.error,
                            .ctx = r->o.hooks.ctx, .local = !r->o.shared_run};
    if (r->shared.local)
        return shared_record_begin(&r->shared, r->set, &r->o.exec, r->o.continue_on_error, err);
    shared_queue(&r->shared, &r->queue);
    return shared_join(&r->shared, r->set, &r->o.exec, r->o.continue_on_error,
                       &r->joined_finished, &r->finished_outcome, err);
}

FleetRun *fleetrun_new(const Inventory *inv, const MigSet *set, const size_t *selected,
                       size_t n, const FleetRunOptions *opts, DroverError *err)
{
    FleetRun *r = xcalloc(1, sizeof *r);
    r->inv = inv;
    r->set = set;
    r->selected = selected;
    r->n = n;
    r->o = *opts;
    r->o.exec.engine = &inv->engine;
    r->o.exec.stop = &r->stop;
    pthread_mutex_init(&r->marks_mu, NULL);
    /* Reads share sessions across schemas; so does migrate's no-op fast path, whose reads
     * take no lock (a write never shares its session). */
    if (writes(&r->o.exec))
        r->o.exec.cancels = r->cancels = exec_cancels_new();
    r->o.exec.sessions = r->sessions = exec_sessions_new();
    r->results = xcalloc(n ? n : 1, sizeof *r->results);
    if (!check_no_transaction(r, err) || !setup_js(r, err) || !setup_agents(r, err) ||
        !open_journal(r, err) || !open_control(r, err)) {
        fleetrun_free(r);
        return NULL;
    }
    return r;
}

void fleetrun_free(FleetRun *r)
{
    if (!r)
        return;
    agent_client_free(r->agents);
    if (r->owns_runners)
        nr_shutdown();
    journal_close(r->journal);
    journal_close(r->marks);
    control_close(r->control);
    shared_free(&r->shared);
    free(r->local_name);
    free(r->finished_outcome);
    sl_free(&r->changes.appeared);
    sl_free(&r->changes.disappeared);
    pthread_mutex_destroy(&r->marks_mu);
    exec_sessions_free(r->sessions);
    exec_cancels_free(r->cancels);
    for (size_t i = 0; i < r->n; i++)
        exec_result_free(&r->results[i]);
    free(r->results);
    free(r);
}

ExecResult *fleetrun_results(FleetRun *r)
{
    return r->results;
}

size_t fleetrun_count(const FleetRun *r)
{
    return r->n;
}

bool fleetrun_announces(FleetRun *r, const char *event)
{
    if (!r->o.shared_run)
        return true;
    if (r->joined_finished)
        return false;
    return shared_announces(&r->shared, event);
}

int64_t fleetrun_journal_run_id(const FleetRun *r)
{
    return r->run_id;
}

bool fleetrun_journal_failed(const FleetRun *r)
{
    return r->journal_failed || r->shared.failed;
}

bool fleetrun_joined_finished(const FleetRun *r)
{
    return r->joined_finished;
}

const FleetChanges *fleetrun_fleet_changes(const FleetRun *r)
{
    return &r->changes;
}

void fleetrun_stop(FleetRun *r)
{
    atomic_store(&r->stop, 1);
}

size_t fleetrun_cancel_statements(FleetRun *r)
{
    return exec_cancels_fire(r->cancels);
}

/* ---- the journal's hooks, then the face's ------------------------------------------------ */

static void journal_error(FleetRun *r, DroverError *err)
{
    r->journal_failed = true;
    if (r->o.error)
        r->o.error(err, r->o.hooks.ctx);
    error_clear(err);
}

/* admit keeps a dirty tenant out of migrate/undo until an operator resolves it. A dirty mark
 * that cannot be read keeps the tenant out too (fail closed): running it might replay a
 * migration that a person must look at first. */
static bool admit(const InvTenant *t, ExecResult *res, void *ctx)
{
    FleetRun *r = ctx;
    char *migration = NULL, *why = NULL;
    DroverError err = DROVER_ERROR_INIT;
    bool read = r->control ? control_dirty(r->control, t->id, &migration, &why, &err)
                           : !r->journal || journal_dirty(r->journal, t->id, &migration, &why,
                                                          &err);
    if (read && !migration) {
        if (r->o.hooks.admit && !r->o.hooks.admit(t, res, r->o.hooks.ctx))
            return false;
        if (r->shared.local)
            shared_record_start(&r->shared, t);
        return true;
    }
    memset(res, 0, sizeof *res);
    res->tenant = t;
    res->outcome = read ? EXEC_OUT_DIRTY : EXEC_OUT_FAILED;
    if (read) {
        res->dirty_migration = migration;
        error_set(&res->error, ERR_REFUSED,
                  "the tenant is dirty: migration '%s' may be half-applied (%s)", migration,
                  why ? why : "no detail recorded");
        error_set_hint(&res->error, "repair the tenant by hand, then run 'drover resolve "
                                    "--tenant %s'; nothing was run", t->id);
    } else {
        error_set(&res->error, ERR_REFUSED, "cannot read the tenant's dirty mark from the "
                  "%s: %s", r->control ? "control database" : "journal",
                  err.message ? err.message : "unknown error");
        error_set_hint(&res->error, "nothing was run; fix the %s '%s' and run again",
                       r->control ? "control database" : "journal",
                       r->control ? r->inv->control_url_masked : r->inv->journal_path);
    }
    error_set_context(&res->error, t->id, NULL, NULL);
    free(why);
    error_clear(&err);
    return false;
}

/* record writes (or rewrites) a tenant's result in the journal; a failure is reported and
 * makes the run fail, but does not stop it. */
/* record_control keeps the control database's dirty marks as journal_record_tenant keeps the
 * journal's: a dirty result marks the tenant, a clean one that applied or reverted the marked
 * migration clears it. */
static bool record_control(FleetRun *r, const ExecResult *res, DroverError *err)
{
    const char *run = r->shared.name ? r->shared.name : "";
    if (res->outcome == EXEC_OUT_DIRTY)
        return control_record_dirty(r->control, run, res->tenant->id,
                                    res->dirty_migration ? res->dirty_migration : "",
                                    res->error.message ? res->error.message
                                                       : res->rollback_error.message,
                                    err);
    if (exec_outcome_is_failure(res->outcome) && res->outcome != EXEC_OUT_ROLLED_BACK)
        return true;
    StrList names = STRLIST_INIT;
    for (size_t i = 0; i < res->applied.n; i++)
        sl_push(&names, res->applied.items[i]);
    for (size_t i = 0; i < res->reverted.n; i++)
        sl_push(&names, res->reverted.items[i]);
    bool ok = control_clear_dirty(r->control, res->tenant->id, (const char *const *)names.items,
                                  names.n, err);
    sl_free(&names);
    return ok;
}

static void record(FleetRun *r, const ExecResult *res, bool revision)
{
    DroverError err = DROVER_ERROR_INIT;
    if (r->journal && !journal_record_tenant(r->journal, r->run_id, res, &err))
        journal_error(r, &err);
    if (r->control && res->outcome != EXEC_OUT_SKIPPED && !record_control(r, res, &err))
        journal_error(r, &err);
    if (r->shared.local)
        shared_record_result(&r->shared, res, revision);
}

static void finished(const ExecResult *res, const RolloutProgress *p, void *ctx)
{
    FleetRun *r = ctx;
    record(r, res, false);
    if (r->o.hooks.finished)
        r->o.hooks.finished(res, p, r->o.hooks.ctx);
}

/* revised: compensation reverted a tenant already recorded as migrated; the journal must not
 * keep saying "migrated". */
static void revised(const ExecResult *res, size_t first_new_step, void *ctx)
{
    FleetRun *r = ctx;
    record(r, res, true);
    if (r->o.hooks.revised)
        r->o.hooks.revised(res, first_new_step, r->o.hooks.ctx);
}

static void halted(const char *reason, void *ctx)
{
    FleetRun *r = ctx;
    if (r->o.hooks.halted)
        r->o.hooks.halted(reason, r->o.hooks.ctx);
}

static void env_started(const InvEnvironment *env, size_t ntenants, void *ctx)
{
    FleetRun *r = ctx;
    if (r->o.hooks.env_started)
        r->o.hooks.env_started(env, ntenants, r->o.hooks.ctx);
}

static void run_on_agent(const ExecJob *job, ExecResult *res, void *ctx)
{
    agent_client_run_tenant(ctx, job, res);
}

static void env_finished(const InvEnvironment *env, const ExecResult *const *results, size_t n,
                         void *ctx)
{
    FleetRun *r = ctx;
    if (r->o.hooks.env_finished)
        r->o.hooks.env_finished(env, results, n, r->o.hooks.ctx);
}


/* ---- status enrichment ------------------------------------------------------------------- */

/* add_journal_states adds to status what only the journal knows, in one pass: the tenants it
 * marks dirty, and each tenant's last recorded run. No journal yet: nothing to add. */
static void add_journal_states(FleetRun *r)
{
    if (access(r->inv->journal_path, F_OK) != 0)
        return;
    DroverError err = DROVER_ERROR_INIT;
    Journal *j = journal_open(r->inv->journal_path, &err);
    bool ok = j != NULL;
    for (size_t i = 0; ok && i < r->n; i++) {
        ExecResult *res = &r->results[i];
        char *migration = NULL, *why = NULL;
        ok = res->state == EXEC_STATE_UNREACHABLE ||
             (r->control ? control_dirty(r->control, res->tenant->id, &migration, &why, &err)
                         : journal_dirty(j, res->tenant->id, &migration, &why, &err));
        if (ok && migration) {
            res->state = EXEC_STATE_DIRTY;
            free(res->dirty_migration);
            res->dirty_migration = xstrdup(migration);
        }
        free(migration);
        free(why);
        ok = ok && journal_last_run(j, res->tenant->id, &res->last_run_outcome,
                                    &res->last_run_id, &res->last_run_at, &err);
    }
    const char **ids = inventory_ids(r->inv);
    ok = ok && journal_fleet_changes(j, ids, r->inv->ntenants, &r->changes.since_run,
                                     &r->changes.appeared, &r->changes.disappeared, &err);
    free(ids);
    if (!ok && r->o.error)
        r->o.error(&err, r->o.hooks.ctx);
    journal_close(j);
    error_clear(&err);
}

static void end_journal(FleetRun *r, RolloutOutcome outcome)
{
    DroverError err = DROVER_ERROR_INIT;
    if (r->journal &&
        !journal_end_run(r->journal, r->run_id, rollout_outcome_name(outcome), &err))
        journal_error(r, &err);
}

/* joined_outcome: a shared run that had ended before this process joined: its results and
 * outcome, as recorded. */
static RolloutOutcome joined_outcome(FleetRun *r)
{
    shared_fill_all(&r->shared, r->results);
    for (int o = ROLLOUT_SUCCEEDED; o <= ROLLOUT_INTERRUPTED; o++)
        if (r->finished_outcome && strcmp(r->finished_outcome, rollout_outcome_name(o)) == 0)
            return (RolloutOutcome)o;
    return ROLLOUT_FAILED;
}

RolloutOutcome fleetrun_run(FleetRun *r, char **reason)
{
    bool w = writes(&r->o.exec);
    RolloutOptions ro = {
        .exec = &r->o.exec,
        .parallel = r->o.parallel ? r->o.parallel : (size_t)r->inv->engine.parallel,
        .max_per_server = (size_t)r->inv->engine.max_per_server,
        /* Reads have no budget to exceed and nothing to halt. */
        .continue_on_error = r->o.continue_on_error || !w,
        .windows = w && !r->o.ignore_window,
        .stop = &r->stop,
        .hooks = {.admit = r->journal || r->control || r->o.hooks.admit ? admit : NULL, .finished = finished,
                  .revised = revised, .halted = halted, .env_started = env_started,
                  .env_finished = env_finished, .ctx = r},
        .run_remote = run_on_agent,
        .remote_ctx = r->agents,
        .queue = r->o.shared_run ? &r->queue : NULL,
    };
    char *why = NULL;
    RolloutOutcome outcome;
    if (r->joined_finished)
        outcome = joined_outcome(r);
    else
        outcome = rollout_run(r->inv, r->set, r->selected, r->n, &ro, r->results, &why);
    if (r->o.shared_run && !r->joined_finished && outcome != ROLLOUT_INTERRUPTED &&
        !control_lost(r->control, NULL))
        shared_end(&r->shared);
    if (r->shared.local && !control_lost(r->control, NULL))
        shared_record_end(&r->shared, rollout_outcome_name(outcome));
    exec_sessions_free(r->sessions);
    r->sessions = NULL;
    end_journal(r, outcome);
    if (r->o.exec.command == EXEC_STATUS && r->o.status_from_journal)
        add_journal_states(r);
    if (r->o.exec.command == EXEC_STATUS && r->o.exec.schema && r->o.mark_drift)
        fleetview_mark_drift(r->results, r->n);
    if (reason)
        *reason = why;
    else
        free(why);
    return outcome;
}

/*
 * rollout.c — the coordinator loop (see rollout.h). One Slot per selected tenant owns the
 * pool task, the job and a pointer to the tenant's result; the pool hands finished slots back
 * to this thread, which alone reads and writes results, counts failures against the budget,
 * halts, and runs compensation. Workers only ever touch their own slot's job and result.
 */
#include "drover/rollout.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "pool_impl.h"

typedef struct Slot {
    PoolTask task;
    const RolloutOptions *o;
    ExecJob job;
    ExecResult *res;
    char *lock_key;
    char *server_key;
    bool claimed; /* a shared run: this process took the tenant from the queue */
} Slot;

typedef struct Run {
    const Inventory *inv;
    const RolloutOptions *o;
    Pool *pool;
    Slot *slots;
    size_t n;
    size_t parallel;
    size_t done;
    size_t failed;
    bool halted;
    bool window_halt; /* halted by a closed maintenance window: no failure, nothing to revert */
    bool interrupted;
    char *reason;
    size_t inflight;   /* a shared run: slots in the pool, not collected yet */
    Slot *halt_slot;   /* a shared run: the tenant whose failure halted it */
    bool queue_lost;   /* a shared run: the queue went away; nothing may be compensated */
    /* A shared run, per inventory environment: its tenants in the run, and whether this
     * process has called env_started / env_finished for it. */
    size_t *env_count;
    bool *env_started;
    bool *env_finished;
} Run;

const char *rollout_outcome_name(RolloutOutcome o)
{
    static const char *const names[] = {"succeeded", "failed", "incomplete", "halted",
                                        "interrupted"};
    return names[o];
}

static void run_slot(PoolTask *task)
{
    Slot *s = task->data;
    if (s->job.tenant->agent && s->o->run_remote)
        s->o->run_remote(&s->job, s->res, s->o->remote_ctx);
    else
        exec_run_tenant(&s->job, s->res);
}

static bool stop_requested(const Run *run)
{
    return run->o->stop && atomic_load(run->o->stop);
}

static void halt(Run *run, char *reason)
{
    if (run->halted || run->interrupted) {
        free(reason);
        return;
    }
    run->halted = true;
    run->reason = reason;
    pool_cancel_queued(run->pool);
    if (run->o->hooks.halted)
        run->o->hooks.halted(reason, run->o->hooks.ctx);
}

static void interrupt(Run *run)
{
    if (run->interrupted || run->halted)
        return;
    run->interrupted = true;
    run->reason = xstrdup("interrupted by a signal: dispatching stopped, running jobs finished");
    pool_cancel_queued(run->pool);
    if (run->o->hooks.halted)
        run->o->hooks.halted(run->reason, run->o->hooks.ctx);
}

static void mark_skipped(Slot *s)
{
    memset(s->res, 0, sizeof *s->res);
    s->res->tenant = s->job.tenant;
    s->res->outcome = EXEC_OUT_SKIPPED;
}

static void report_finished(Run *run, Slot *s)
{
    run->done++;
    run->failed += exec_outcome_is_failure(s->res->outcome);
    RolloutProgress p = {.done = run->done, .total = run->n, .failed = run->failed,
                         .running = pool_running(run->pool)};
    if (run->o->hooks.finished)
        run->o->hooks.finished(s->res, &p, run->o->hooks.ctx);
}

/* submit hands the slot to the pool, or ends it at once (skipped, or refused by admit);
 * true when it went to the pool. */
static bool submit(Run *run, Slot *s)
{
    if (run->halted || run->interrupted || stop_requested(run)) {
        mark_skipped(s);
        report_finished(run, s);
        return false;
    }
    if (run->o->hooks.admit && !run->o->hooks.admit(s->job.tenant, s->res, run->o->hooks.ctx)) {
        report_finished(run, s);
        return false;
    }
    s->task = (PoolTask){.run = run_slot, .server_key = s->server_key,
                         .lock_key = s->lock_key, .data = s};
    pool_submit(run->pool, &s->task);
    return true;
}

/* EnvState counts one environment's failures against its budget. */
typedef struct EnvState {
    const InvEnvironment *env;
    bool windowed; /* its maintenance windows apply (RolloutOptions.windows) */
    size_t total;
    size_t budget;
    size_t failures;
    bool limited;
} EnvState;

/* collect takes one task back from the pool, counts it against the budget and halts past it;
 * false when nothing was in the pool. */
static bool collect(Run *run, EnvState *es)
{
    PoolTask *t = pool_next(run->pool);
    if (!t)
        return false;
    Slot *s = t->data;
    if (!t->ran)
        mark_skipped(s);
    report_finished(run, s);
    if (exec_outcome_is_failure(s->res->outcome))
        es->failures++;
    if (stop_requested(run))
        interrupt(run);
    time_t next = 0;
    if (es->windowed && !run->halted &&
        !inv_window_schedule_open(&es->env->schedule, time(NULL), &next))
    {
        run->window_halt = true;
        halt(run, xasprintf("environment '%s': its maintenance window closed; tenants not "
                            "started yet were skipped (running ones stopped after their "
                            "current migration)",
                            es->env->name));
    }
    if (es->limited && es->failures > es->budget && !run->o->continue_on_error)
        halt(run, xasprintf("environment '%s': %zu of %zu tenants failed, more than "
                            "max_failures allows (%zu)",
                            es->env->name, es->failures, es->total, es->budget));
    return true;
}

/*
 * dispatch queues the slots in order and collects them as they finish. The pool starts a new
 * task in a worker's slot only after this loop collected the previous one, so a halt decided
 * here stops everything still queued (it comes back skipped) and nothing more starts.
 */
static void dispatch(Run *run, EnvState *es, Slot **slots, size_t n)
{
    for (size_t i = 0; i < n; i++)
        submit(run, slots[i]);
    while (collect(run, es))
        ;
}

/*
 * canaries_of marks which of an environment's tenants go first: those tagged "canary" when
 * there are any, else the first ones in rollout order, at most `count` of them.
 */
static size_t canaries_of(const InvTenant *const *tenants, size_t n, size_t count,
                          bool *is_canary)
{
    bool tagged = false;
    for (size_t i = 0; i < n; i++)
        tagged = tagged || inv_tenant_has_tag(tenants[i], "canary");
    size_t picked = 0;
    for (size_t i = 0; i < n && picked < count; i++) {
        is_canary[i] = !tagged || inv_tenant_has_tag(tenants[i], "canary");
        picked += is_canary[i];
    }
    return picked;
}

static size_t pick_canaries(Slot **env_slots, size_t n, size_t count, bool *is_canary)
{
    const InvTenant **tenants = xcalloc(n ? n : 1, sizeof *tenants);
    for (size_t i = 0; i < n; i++)
        tenants[i] = env_slots[i]->job.tenant;
    size_t picked = canaries_of(tenants, n, count, is_canary);
    free(tenants);
    return picked;
}

void rollout_canaries(const Inventory *inv, const size_t *selected, size_t n, bool *is_canary)
{
    const InvTenant **tenants = xcalloc(n ? n : 1, sizeof *tenants);
    size_t *at = xcalloc(n ? n : 1, sizeof *at);
    bool *mark = xcalloc(n ? n : 1, sizeof *mark);
    for (size_t e = 0; e < inv->nenvs; e++) {
        const InvEnvironment *env = &inv->envs[e];
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(inv->tenants[selected[i]].env, env->name) == 0) {
                tenants[k] = &inv->tenants[selected[i]];
                at[k++] = i;
            }
        memset(mark, 0, k * sizeof *mark);
        canaries_of(tenants, k, inv_count_resolve(&env->canary, k), mark);
        for (size_t i = 0; i < k; i++)
            is_canary[at[i]] = mark[i];
    }
    free(mark);
    free(at);
    free(tenants);
}

static const char *first_failed(Slot **env_slots, size_t n, const bool *is_canary)
{
    for (size_t i = 0; i < n; i++)
        if (is_canary[i] && exec_outcome_is_failure(env_slots[i]->res->outcome))
            return env_slots[i]->job.tenant->id;
    return NULL;
}

/* absorb_compensation makes the revert part of the tenant's result: its reverted list, steps,
 * attempts and time, and an outcome of reverted, or dirty with the error of the revert. */
static void absorb_compensation(ExecResult *orig, ExecResult *comp)
{
    for (size_t k = 0; k < comp->reverted.n; k++)
        sl_push(&orig->reverted, comp->reverted.items[k]);
    orig->steps = xrealloc(orig->steps, (orig->nsteps + comp->nsteps) * sizeof *orig->steps);
    memcpy(orig->steps + orig->nsteps, comp->steps, comp->nsteps * sizeof *comp->steps);
    orig->nsteps += comp->nsteps;
    free(comp->steps); /* the steps' strings now belong to orig */
    comp->steps = NULL;
    comp->nsteps = 0;
    orig->attempts += comp->attempts;
    orig->ended_at = comp->ended_at;
    orig->seconds += comp->seconds;
    orig->outcome = error_is_set(&comp->error) ? EXEC_OUT_DIRTY : EXEC_OUT_REVERTED;
    /* A revert refused before it ran anything (a down that is missing or does nothing) leaves
     * the tenant as migrated, every migration recorded: not dirty. */
    if (comp->reverted.n == 0 && comp->error.kind == ERR_REFUSED)
        orig->outcome = EXEC_OUT_MIGRATED;
    error_move(&orig->rollback_error, &comp->error);
    if (orig->outcome == EXEC_OUT_DIRTY && !orig->dirty_migration && orig->rollback_error.migration)
        orig->dirty_migration = xstrdup(orig->rollback_error.migration);
}

/*
 * compensate reverts, on a halted environment with on_failure = "revert", what this run
 * migrated there, so the environment is again "all old" instead of half new.
 */
static void compensate(Run *run, Slot **env_slots, size_t n)
{
    ExecOptions undo = *run->o->exec;
    undo.command = EXEC_UNDO;
    undo.stop = NULL; /* compensation must finish even when a signal arrives */
    size_t count = 0;
    ExecResult *tmp = xcalloc(n, sizeof *tmp);
    Slot *comp = xcalloc(n, sizeof *comp);
    for (size_t i = 0; i < n; i++) {
        Slot *s = env_slots[i];
        if (s->res->outcome != EXEC_OUT_MIGRATED)
            continue;
        comp[count] = (Slot){.o = s->o, .job = s->job, .res = &tmp[i], .lock_key = s->lock_key,
                             .server_key = s->server_key};
        comp[count].job.options = &undo;
        comp[count].job.revert_only = &s->res->applied;
        comp[count].task = (PoolTask){.run = run_slot, .server_key = s->server_key,
                                      .lock_key = s->lock_key, .data = &comp[count]};
        pool_submit(run->pool, &comp[count].task);
        count++;
    }
    PoolTask *t;
    while ((t = pool_next(run->pool)))
        ;
    for (size_t i = 0; i < n; i++) {
        ExecResult *orig = env_slots[i]->res;
        if (orig->outcome != EXEC_OUT_MIGRATED)
            continue;
        size_t first_new_step = orig->nsteps;
        absorb_compensation(orig, &tmp[i]);
        exec_result_free(&tmp[i]);
        if (run->o->hooks.revised)
            run->o->hooks.revised(orig, first_new_step, run->o->hooks.ctx);
        if (run->o->queue && run->o->queue->revised)
            run->o->queue->revised(run->o->queue->ctx, (size_t)(env_slots[i] - run->slots), orig);
    }
    free(comp);
    free(tmp);
}

/* report_env_finished hands the environment's final results to the env_finished hook. */
static void report_env_finished(Run *run, const InvEnvironment *env, Slot **env_slots, size_t n)
{
    if (!run->o->hooks.env_finished)
        return;
    const ExecResult **results = xcalloc(n, sizeof *results);
    for (size_t i = 0; i < n; i++)
        results[i] = env_slots[i]->res;
    run->o->hooks.env_finished(env, results, n, run->o->hooks.ctx);
    free(results);
}

/* window_reason says when an environment whose windows are all closed opens next. */
static char *window_reason(const InvEnvironment *env, time_t now, time_t next)
{
    StrBuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < env->nwindows; i++)
        sb_appendf(&sb, "%s%s", i ? "; " : "", env->windows[i].text);
    char when[128] = "not within 8 days";
    struct tm tm;
    if (next && gmtime_r(&next, &tm)) {
        long mins = (long)(next - now + 59) / 60;
        snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02dZ, in %ld h %02ld min",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, mins / 60,
                 mins % 60);
    }
    char *why = xasprintf("environment '%s' is outside its maintenance window (%s); it next "
                          "opens %s; nothing of it was started (--ignore-window overrides)",
                          env->name, sb.data ? sb.data : "", when);
    sb_free(&sb);
    return why;
}

static void run_environment(Run *run, const InvEnvironment *env)
{
    Slot **env_slots = xcalloc(run->n, sizeof *env_slots);
    size_t n = 0;
    for (size_t i = 0; i < run->n; i++)
        if (strcmp(run->slots[i].job.tenant->env, env->name) == 0)
            env_slots[n++] = &run->slots[i];
    bool windowed = run->o->windows && env->nwindows > 0;
    time_t now = time(NULL), next = 0;
    if (n > 0 && windowed && !run->halted && !run->interrupted &&
        !inv_window_schedule_open(&env->schedule, now, &next)) {
        run->window_halt = true;
        halt(run, window_reason(env, now, next));
    }
    /* An environment the run never reaches (halted or stopped before it) is not "started":
     * its tenants only come back as skipped. */
    bool announced = n > 0 && !run->halted && !run->interrupted && !stop_requested(run);
    if (announced && run->o->hooks.env_started)
        run->o->hooks.env_started(env, n, run->o->hooks.ctx);
    EnvState es = {.env = env, .windowed = windowed, .total = n, .limited = env->max_failures.set,
                   .budget = inv_count_resolve(&env->max_failures, n)};
    bool *is_canary = xcalloc(n ? n : 1, sizeof *is_canary);
    size_t canaries = pick_canaries(env_slots, n, inv_count_resolve(&env->canary, n), is_canary);
    Slot **wave = xcalloc(n ? n : 1, sizeof *wave);
    size_t nwave = 0;
    for (size_t i = 0; i < n; i++)
        if (is_canary[i])
            wave[nwave++] = env_slots[i];
    dispatch(run, &es, wave, nwave);
    const char *bad = canaries ? first_failed(env_slots, n, is_canary) : NULL;
    if (bad && !run->o->continue_on_error)
        halt(run, xasprintf("environment '%s': canary '%s' failed; the other tenants were not "
                            "started",
                            env->name, bad));
    nwave = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_canary[i])
            wave[nwave++] = env_slots[i];
    dispatch(run, &es, wave, nwave);
    free(wave);
    if (run->halted && !run->window_halt && env->revert_on_failure &&
        run->o->exec->command == EXEC_MIGRATE)
        compensate(run, env_slots, n);
    if (announced)
        report_env_finished(run, env, env_slots, n);
    free(is_canary);
    free(env_slots);
}

/* ---- a shared run ------------------------------------------------------------------------ */

/* How long a process that may claim nothing yet (an earlier environment or the canaries still
 * run elsewhere) waits before it asks the queue again. */
#define SHARED_POLL_MS 200

/* shared_done gives a claimed tenant's result back to the queue, which may halt the run. */
static void shared_done(Run *run, Slot *s)
{
    char *why = NULL;
    run->o->queue->done(run->o->queue->ctx, (size_t)(s - run->slots), s->res, &why);
    if (why && !run->halted)
        run->halt_slot = s;
    if (why)
        halt(run, why);
}

/* shared_window: a claimed tenant whose environment's windows are all closed is not started,
 * and this process stops claiming. */
static void shared_window(Run *run, Slot *s)
{
    const InvEnvironment *env = inv_environment(run->inv, s->job.tenant->env);
    time_t now = time(NULL), next = 0;
    if (!run->o->windows || !env || !env->nwindows || run->halted ||
        inv_window_schedule_open(&env->schedule, now, &next))
        return;
    run->window_halt = true;
    halt(run, window_reason(env, now, next));
}

/*
 * A shared run's environments span processes. This process sees one start when it first claims
 * a tenant of it, and the earlier ones end when it claims a tenant of a later one: the queue
 * opens an environment only once every tenant of the earlier ones has ended, wherever it ran.
 * What is left ends with this process's part of the run. The hooks' owner decides which
 * process announces each (once per run: fleetrun_announces).
 */
static size_t env_index(const Run *run, const Slot *s)
{
    size_t e = 0;
    while (e < run->inv->nenvs && strcmp(run->inv->envs[e].name, s->job.tenant->env) != 0)
        e++;
    return e;
}

static void shared_envs_new(Run *run)
{
    size_t ne = run->inv->nenvs ? run->inv->nenvs : 1;
    run->env_count = xcalloc(ne, sizeof *run->env_count);
    run->env_started = xcalloc(ne, sizeof *run->env_started);
    run->env_finished = xcalloc(ne, sizeof *run->env_finished);
    for (size_t i = 0; i < run->n; i++) {
        size_t e = env_index(run, &run->slots[i]);
        if (e < run->inv->nenvs)
            run->env_count[e]++;
    }
}

static void shared_envs_free(Run *run)
{
    free(run->env_count);
    free(run->env_started);
    free(run->env_finished);
}

/* shared_env_finished hands environment e's results (results[i] for slot i) to the hook. */
static void shared_env_finished(Run *run, size_t e, const ExecResult *results)
{
    const InvEnvironment *env = &run->inv->envs[e];
    run->env_finished[e] = true;
    if (!run->o->hooks.env_finished)
        return;
    const ExecResult **rs = xcalloc(run->env_count[e], sizeof *rs);
    size_t k = 0;
    for (size_t i = 0; i < run->n && k < run->env_count[e]; i++)
        if (strcmp(run->slots[i].job.tenant->env, env->name) == 0)
            rs[k++] = &results[i];
    run->o->hooks.env_finished(env, rs, k, run->o->hooks.ctx);
    free(rs);
}

/* shared_env_reached: this process claimed a tenant of environment e; the earlier ones have
 * ended everywhere, with the results the queue recorded. */
static void shared_env_reached(Run *run, size_t e)
{
    bool pending = false;
    for (size_t k = 0; k < e; k++)
        pending = pending || (run->env_count[k] && !run->env_finished[k]);
    if (pending && run->o->hooks.env_finished) {
        ExecResult *recorded = xcalloc(run->n, sizeof *recorded);
        run->o->queue->fill(run->o->queue->ctx, recorded, NULL, run->n);
        for (size_t k = 0; k < e; k++)
            if (run->env_count[k] && !run->env_finished[k])
                shared_env_finished(run, k, recorded);
        for (size_t i = 0; i < run->n; i++)
            exec_result_free(&recorded[i]);
        free(recorded);
    }
    for (size_t k = 0; k < e; k++)
        run->env_finished[k] = true;
    if (e < run->inv->nenvs && !run->env_started[e]) {
        run->env_started[e] = true;
        if (run->o->hooks.env_started)
            run->o->hooks.env_started(&run->inv->envs[e], run->env_count[e],
                                      run->o->hooks.ctx);
    }
}

/* shared_envs_end: once the run's results are filled in, every environment the run reached
 * (a tenant started, here or elsewhere) and not yet seen ending here ends. */
static void shared_envs_end(Run *run)
{
    for (size_t e = 0; e < run->inv->nenvs; e++) {
        if (!run->env_count[e] || run->env_finished[e])
            continue;
        bool reached = run->env_started[e];
        for (size_t i = 0; i < run->n && !reached; i++)
            reached = run->slots[i].res->outcome != EXEC_OUT_SKIPPED &&
                      env_index(run, &run->slots[i]) == e;
        if (reached)
            shared_env_finished(run, e, run->slots[0].res);
    }
}

/* shared_claim asks the queue for tenants while this process has free workers; false when
 * there is nothing more to claim, ever. */
static bool shared_claim(Run *run)
{
    const RolloutQueue *q = run->o->queue;
    while (!run->halted && !run->interrupted && run->inflight < run->parallel) {
        size_t i = SIZE_MAX;
        char *why = NULL;
        RolloutClaim c = q->claim(q->ctx, &i, &why);
        if (c == ROLLOUT_CLAIM_GOT && i < run->n) {
            Slot *s = &run->slots[i];
            s->claimed = true;
            shared_env_reached(run, env_index(run, s));
            shared_window(run, s);
            if (submit(run, s))
                run->inflight++;
            else
                shared_done(run, s);
            continue;
        }
        if (c == ROLLOUT_CLAIM_WAIT) {
            free(why);
            return true;
        }
        if (c == ROLLOUT_CLAIM_DONE) {
            free(why);
            return false;
        }
        run->queue_lost = c != ROLLOUT_CLAIM_HALTED;
        if (c == ROLLOUT_CLAIM_HALTED && i < run->n)
            run->halt_slot = &run->slots[i];
        halt(run, why ? why : xstrdup("the run's queue did not answer"));
        return false;
    }
    return !run->halted && !run->interrupted;
}

static void shared_sleep(void)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = SHARED_POLL_MS * 1000000L};
    nanosleep(&ts, NULL);
}

/* shared_adopt: what a process gone from the run migrated in the halted environment is
 * reverted by one still there, once it is gone for good (left, or unseen for a lease); until
 * nothing of that environment is left migrated and unreverted in other processes' hands. A
 * signal ends the waiting, not a revert this process has taken on. */
static void shared_adopt(Run *run)
{
    const RolloutQueue *q = run->o->queue;
    size_t *taken = xcalloc(run->parallel, sizeof *taken);
    Slot **slots = xcalloc(run->parallel, sizeof *slots);
    bool more = true;
    while (more && q->adopt) {
        size_t got = q->adopt(q->ctx, run->slots[0].res, run->n, run->parallel, taken, &more);
        size_t n = 0;
        for (size_t k = 0; k < got; k++)
            if (taken[k] < run->n) {
                slots[n] = &run->slots[taken[k]];
                slots[n++]->claimed = true;
            }
        if (n > 0)
            compensate(run, slots, n);
        else if (more && stop_requested(run))
            break;
        else if (more)
            shared_sleep();
    }
    free(slots);
    free(taken);
}

/* shared_compensate: on_failure = "revert" in the environment that halted the run undoes what
 * this process migrated there, then what processes gone from the run migrated there. */
static void shared_compensate(Run *run)
{
    if (!run->halted || run->window_halt || run->queue_lost || !run->halt_slot ||
        run->o->exec->command != EXEC_MIGRATE)
        return;
    const char *name = run->halt_slot->job.tenant->env;
    const InvEnvironment *env = inv_environment(run->inv, name);
    if (!env || !env->revert_on_failure)
        return;
    Slot **env_slots = xcalloc(run->n, sizeof *env_slots);
    size_t n = 0;
    for (size_t i = 0; i < run->n; i++)
        if (run->slots[i].claimed && strcmp(run->slots[i].job.tenant->env, name) == 0)
            env_slots[n++] = &run->slots[i];
    compensate(run, env_slots, n);
    free(env_slots);
    shared_adopt(run);
}

/* shared_settle: after a halt, the tenants other processes were running end before this
 * process reports the run, lest they show as skipped; a signal ends the wait. */
static void shared_settle(Run *run)
{
    const RolloutQueue *q = run->o->queue;
    if (!run->halted || run->queue_lost || !q->settled)
        return;
    while (!q->settled(q->ctx) && !stop_requested(run))
        shared_sleep();
}

/*
 * run_shared: claim, run, give back, until the queue has nothing more for this process. While
 * the pool runs this process's tenants it waits for one to end before it claims again; while
 * it runs none and the queue has nothing claimable yet, it asks again every SHARED_POLL_MS.
 */
static void run_shared(Run *run)
{
    bool more = true;
    for (;;) {
        if (stop_requested(run))
            interrupt(run);
        more = more && shared_claim(run);
        if (run->inflight == 0) {
            if (!more || run->halted || run->interrupted)
                break;
            shared_sleep();
            continue;
        }
        PoolTask *t = pool_next(run->pool);
        if (!t)
            break;
        run->inflight--;
        Slot *s = t->data;
        if (!t->ran)
            mark_skipped(s);
        report_finished(run, s);
        shared_done(run, s);
    }
    shared_compensate(run);
    shared_settle(run);
    bool *ran = xcalloc(run->n ? run->n : 1, sizeof *ran);
    for (size_t i = 0; i < run->n; i++)
        ran[i] = run->slots[i].claimed;
    run->o->queue->fill(run->o->queue->ctx, run->slots[0].res, ran, run->n);
    free(ran);
    shared_envs_end(run);
}

static void job_for(const Inventory *inv, const MigSet *set, const RolloutOptions *o,
                    const InvTenant *t, Slot *s)
{
    const InvEngine *engine = o->exec->engine ? o->exec->engine : inv_engine_defaults();
    long lock_timeout = engine->lock_timeout_ms;
    long statement_timeout = engine->statement_timeout_ms;
    const InvEnvironment *env = inv_environment(inv, t->env);
    if (env && env->lock_timeout_ms >= 0)
        lock_timeout = env->lock_timeout_ms;
    if (env && env->statement_timeout_ms >= 0)
        statement_timeout = env->statement_timeout_ms;
    s->o = o;
    s->job = (ExecJob){.tenant = t, .migrations = set, .meta_table = inv->meta_table,
                       .meta_schema = inv->meta_schema, .lock_timeout_ms = lock_timeout,
                       .statement_timeout_ms = statement_timeout,
                       .no_transaction = &inv->no_transaction,
                       .window = o->windows && env && env->nwindows ? &env->schedule : NULL,
                       .options = o->exec};
    s->lock_key = exec_lock_key(&s->job);
    s->server_key = exec_server_key(&s->job);
}

static RolloutOutcome outcome_of(const Run *run)
{
    if (run->interrupted)
        return ROLLOUT_INTERRUPTED;
    if (run->halted)
        return ROLLOUT_HALTED;
    bool locked = false;
    for (size_t i = 0; i < run->n; i++) {
        if (exec_outcome_is_failure(run->slots[i].res->outcome))
            return ROLLOUT_FAILED;
        /* a tenant its own pre-check held back has work left, as a locked one has */
        locked = locked || run->slots[i].res->outcome == EXEC_OUT_LOCKED ||
                 run->slots[i].res->skipped_by_check;
    }
    return locked ? ROLLOUT_INCOMPLETE : ROLLOUT_SUCCEEDED;
}

RolloutOutcome rollout_run(const Inventory *inv, const MigSet *set, const size_t *selected,
                           size_t n, const RolloutOptions *opts, ExecResult *results,
                           char **reason)
{
    Run run = {.inv = inv, .o = opts, .n = n, .parallel = opts->parallel ? opts->parallel : 1};
    run.pool = pool_new(run.parallel,
                        opts->max_per_server ? opts->max_per_server : 1);
    run.slots = xcalloc(n ? n : 1, sizeof *run.slots);
    for (size_t i = 0; i < n; i++) {
        run.slots[i].res = &results[i];
        job_for(inv, set, opts, &inv->tenants[selected[i]], &run.slots[i]);
    }
    if (opts->queue && n > 0) {
        shared_envs_new(&run);
        run_shared(&run);
        shared_envs_free(&run);
    }
    for (size_t e = 0; !opts->queue && e < inv->nenvs; e++)
        run_environment(&run, &inv->envs[e]);
    RolloutOutcome outcome = outcome_of(&run);
    pool_free(run.pool);
    for (size_t i = 0; i < n; i++) {
        free(run.slots[i].lock_key);
        free(run.slots[i].server_key);
    }
    free(run.slots);
    *reason = run.reason;
    return outcome;
}

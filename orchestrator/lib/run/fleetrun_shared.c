/*
 * fleetrun_shared.c — a FleetRun's side of a shared run (fleetrun_shared_impl.h): what every
 * joining process must agree on, and the rollout's queue over the control database.
 *
 * DESIGN: the spec every process sends when it joins is the command, its target, the migration
 * set's digest and the selection in rollout order with each tenant's environment and canary
 * mark; the control database keeps its md5, so two processes with different drover.cfg files,
 * options or migrations folders cannot share a run. A tenant another process ran comes back
 * as that process recorded it (the report's tenant JSON), so every process reports the whole run.
 *
 * A run without --run is recorded the same way, as a run of its own that no other process can
 * join (its name, COMMAND@WORKER, is not one --run accepts): its rollout stays local and
 * decides, and the record lets `drover runs` on any machine show it, live.
 */
#include "fleetrun_shared_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drover/report.h"

static void shared_error(SharedRun *sr, DroverError *err)
{
    sr->failed = true;
    if (sr->error)
        sr->error(err, sr->ctx);
    error_clear(err);
}

/* spec_text: what the joining processes must agree on (see DESIGN). */
static char *spec_text(const SharedRun *sr, const MigSet *set, const ExecOptions *exec,
                       const bool *canary, DroverError *err)
{
    char *digest = mig_set_digest(set, err);
    if (!digest)
        return NULL;
    StrBuf sb;
    sb_init(&sb);
    sb_appendf(&sb, "%s\tto=%zd\tundo=%d\tsteps=%zu\tset=%s\n", sr->command, exec->to,
               (int)exec->undo_mode, exec->steps, digest);
    for (size_t i = 0; i < sr->n; i++) {
        const InvTenant *t = &sr->inv->tenants[sr->selected[i]];
        sb_appendf(&sb, "%s\t%s\t%d\n", t->id, t->env, canary[i]);
    }
    free(digest);
    return sb_detach(&sb);
}

bool shared_join(SharedRun *sr, const MigSet *set, const ExecOptions *exec,
                 bool continue_on_error, bool *finished, char **outcome, DroverError *err)
{
    const Inventory *inv = sr->inv;
    bool *canary = xcalloc(sr->n ? sr->n : 1, sizeof *canary);
    rollout_canaries(inv, sr->selected, sr->n, canary);
    ControlEnv *envs = xcalloc(inv->nenvs ? inv->nenvs : 1, sizeof *envs);
    ControlTenant *tenants = xcalloc(sr->n ? sr->n : 1, sizeof *tenants);
    for (size_t e = 0; e < inv->nenvs; e++) {
        size_t count = 0;
        for (size_t i = 0; i < sr->n; i++)
            count += strcmp(inv->tenants[sr->selected[i]].env, inv->envs[e].name) == 0;
        envs[e].name = inv->envs[e].name;
        envs[e].budget = inv->envs[e].max_failures.set
                             ? (long)inv_count_resolve(&inv->envs[e].max_failures, count)
                             : -1;
    }
    for (size_t i = 0; i < sr->n; i++) {
        const InvTenant *t = &inv->tenants[sr->selected[i]];
        tenants[i] = (ControlTenant){.id = t->id, .canary = canary[i]};
        for (size_t e = 0; e < inv->nenvs; e++)
            if (strcmp(inv->envs[e].name, t->env) == 0)
                tenants[i].env = e;
    }
    char *spec = spec_text(sr, set, exec, canary, err);
    ControlRun run = {.name = sr->name, .command = sr->command, .spec = spec,
                      .continue_on_error = continue_on_error, .envs = envs,
                      .nenvs = inv->nenvs, .tenants = tenants, .ntenants = sr->n};
    bool ok = spec && control_join(sr->control, &run, finished, outcome, err);
    free(spec);
    free(tenants);
    free(envs);
    free(canary);
    return ok;
}

static RolloutClaim claim(void *ctx, size_t *index, char **why)
{
    SharedRun *sr = ctx;
    switch (control_claim(sr->control, sr->name, index, why)) {
    case CONTROL_GOT: return ROLLOUT_CLAIM_GOT;
    case CONTROL_WAIT: return ROLLOUT_CLAIM_WAIT;
    case CONTROL_DONE: return ROLLOUT_CLAIM_DONE;
    case CONTROL_HALTED: return ROLLOUT_CLAIM_HALTED;
    case CONTROL_LOST: break;
    }
    sr->failed = true;
    if (sr->stop)
        atomic_store(sr->stop, 1);
    return ROLLOUT_CLAIM_LOST;
}

/* result_of: a result as the control database keeps it; *json (caller frees) is its report. */
static ControlResult result_of(const SharedRun *sr, const ExecResult *res, char **json)
{
    json_t *doc = report_tenant_json(sr->command, res);
    *json = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return (ControlResult){
        .outcome = exec_outcome_name(res->outcome),
        .failure = exec_outcome_is_failure(res->outcome),
        .incomplete = res->outcome == EXEC_OUT_LOCKED || res->skipped_by_check,
        /* A skipped tenant of a shared run goes back to the queue for another process; a local
         * run's record keeps it as the rollout decided. */
        .release = !sr->local && res->outcome == EXEC_OUT_SKIPPED && !res->skipped_by_check,
        .error = res->error.message,
        .json = *json,
    };
}

static void done(void *ctx, size_t index, const ExecResult *res, char **halt)
{
    SharedRun *sr = ctx;
    char *json = NULL;
    ControlResult cr = result_of(sr, res, &json);
    DroverError err = DROVER_ERROR_INIT;
    if (!control_finish(sr->control, sr->name, index, &cr, halt, &err)) {
        error_set_context(&err, res->tenant->id, NULL, NULL);
        shared_error(sr, &err);
    }
    free(json);
}

static void revised(void *ctx, size_t index, const ExecResult *res)
{
    SharedRun *sr = ctx;
    char *json = NULL;
    ControlResult cr = result_of(sr, res, &json);
    DroverError err = DROVER_ERROR_INIT;
    if (!control_revise(sr->control, sr->name, index, &cr, &err))
        shared_error(sr, &err);
    free(json);
}

/* fill_one: the result another process recorded for tenant i, or skipped when there is none
 * (the run halted before it, or it is still pending). */
static void fill_one(SharedRun *sr, ExecResult *res, const char *text)
{
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    DroverError err = DROVER_ERROR_INIT;
    if (doc && !report_tenant_from_json(doc, res, &err)) {
        exec_result_free(res);
        memset(res, 0, sizeof *res);
        shared_error(sr, &err);
    }
    if (!doc)
        res->outcome = EXEC_OUT_SKIPPED;
    json_decref(doc);
}

static void fill(void *ctx, ExecResult *results, const bool *ran, size_t n)
{
    SharedRun *sr = ctx;
    DroverError err = DROVER_ERROR_INIT;
    char **texts = control_results(sr->control, sr->name, n, &err);
    if (!texts)
        shared_error(sr, &err);
    for (size_t i = 0; i < n; i++) {
        if (ran && ran[i])
            continue;
        results[i].tenant = &sr->inv->tenants[sr->selected[i]];
        fill_one(sr, &results[i], texts ? texts[i] : NULL);
        results[i].tenant = &sr->inv->tenants[sr->selected[i]];
    }
    for (size_t i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
}

static size_t adopt(void *ctx, ExecResult *results, size_t n, size_t max, size_t *taken,
                    bool *more)
{
    SharedRun *sr = ctx;
    DroverError err = DROVER_ERROR_INIT;
    size_t got = control_adopt(sr->control, sr->name, max, taken, more, &err);
    if (error_is_set(&err)) {
        *more = false;
        shared_error(sr, &err);
        return 0;
    }
    if (got == 0)
        return 0; /* nothing to read back: this is polled while others still revert */
    bool *ran = xcalloc(n ? n : 1, sizeof *ran);
    for (size_t i = 0; i < n; i++)
        ran[i] = true;
    for (size_t k = 0; k < got; k++)
        if (taken[k] < n)
            ran[taken[k]] = false;
    fill(sr, results, ran, n);
    free(ran);
    return got;
}

static bool settled(void *ctx)
{
    SharedRun *sr = ctx;
    bool yes = true;
    DroverError err = DROVER_ERROR_INIT;
    if (!control_settled(sr->control, sr->name, &yes, &err))
        shared_error(sr, &err);
    return yes;
}

void shared_queue(SharedRun *sr, RolloutQueue *q)
{
    *q = (RolloutQueue){.claim = claim, .done = done, .revised = revised, .fill = fill,
                        .adopt = adopt, .settled = settled, .ctx = sr};
}

void shared_fill_all(SharedRun *sr, ExecResult *results)
{
    fill(sr, results, NULL, sr->n);
}

void shared_end(SharedRun *sr)
{
    DroverError err = DROVER_ERROR_INIT;
    if (!control_end_run(sr->control, sr->name, &sr->ended, &err))
        shared_error(sr, &err);
}

bool shared_announces(SharedRun *sr, const char *event)
{
    if (strcmp(event, "run.finished") == 0)
        return sr->ended;
    bool first = false;
    DroverError err = DROVER_ERROR_INIT;
    if (control_event_once(sr->control, sr->name, event, &first, &err))
        return first;
    error_clear(&err);
    return true; /* the control database did not answer: better twice than never */
}

bool shared_record_begin(SharedRun *sr, const MigSet *set, const ExecOptions *exec,
                         bool continue_on_error, DroverError *err)
{
    sr->position_of = xcalloc(sr->inv->ntenants ? sr->inv->ntenants : 1,
                              sizeof *sr->position_of);
    for (size_t i = 0; i < sr->inv->ntenants; i++)
        sr->position_of[i] = SIZE_MAX;
    for (size_t i = 0; i < sr->n; i++)
        sr->position_of[sr->selected[i]] = i;
    bool finished = false;
    char *outcome = NULL;
    bool ok = shared_join(sr, set, exec, continue_on_error, &finished, &outcome, err);
    free(outcome);
    return ok;
}

static bool position_of(const SharedRun *sr, const InvTenant *t, size_t *pos)
{
    size_t at = (size_t)(t - sr->inv->tenants);
    *pos = at < sr->inv->ntenants ? sr->position_of[at] : SIZE_MAX;
    return *pos != SIZE_MAX;
}

void shared_record_start(SharedRun *sr, const InvTenant *t)
{
    size_t pos;
    DroverError err = DROVER_ERROR_INIT;
    if (position_of(sr, t, &pos) && !control_take(sr->control, sr->name, pos, &err))
        shared_error(sr, &err);
}

void shared_record_result(SharedRun *sr, const ExecResult *res, bool revision)
{
    size_t pos;
    if (!position_of(sr, res->tenant, &pos))
        return;
    if (revision) {
        revised(sr, pos, res);
        return;
    }
    /* A tenant refused before it started (dirty, locked) was never taken. */
    shared_record_start(sr, res->tenant);
    char *halt = NULL;
    done(sr, pos, res, &halt);
    free(halt); /* the local rollout made the same decision */
}

void shared_record_end(SharedRun *sr, const char *outcome)
{
    DroverError err = DROVER_ERROR_INIT;
    if (!control_end_run_as(sr->control, sr->name, outcome, &err))
        shared_error(sr, &err);
}

void shared_free(SharedRun *sr)
{
    free(sr->position_of);
    sr->position_of = NULL;
}

/*
 * rollout.h — a run across the fleet: environments in their declared order, canaries first,
 * a failure budget per environment, halting, compensation (on_failure = "revert"), and the
 * stop request of a signal. Jobs run on the pool; every policy is checked in this one
 * coordinator loop, never in a worker. Knows nothing of SQL or output formats: it hands each
 * finished result to a callback (progress, journal) and returns them all.
 */
#ifndef DROVER_ROLLOUT_H
#define DROVER_ROLLOUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "drover/executor.h"
#include "drover/inventory.h"
#include "drover/migration.h"

typedef enum RolloutOutcome {
    ROLLOUT_SUCCEEDED = 0, /* every tenant ended fine */
    ROLLOUT_FAILED,        /* some tenant failed, within budgets (or --continue-on-error) */
    ROLLOUT_INCOMPLETE,    /* nothing failed, but some tenant was locked by another process, or
                              held back by a migration's pre-check */
    ROLLOUT_HALTED,        /* a canary failed or a failure budget was exceeded */
    ROLLOUT_INTERRUPTED,   /* a signal stopped dispatching */
} RolloutOutcome;

const char *rollout_outcome_name(RolloutOutcome o); /* "succeeded", "failed", ... */

typedef struct RolloutProgress {
    size_t done;
    size_t total;
    size_t running;
    size_t failed;
} RolloutProgress;

typedef struct RolloutHooks {
    /* Before a tenant is dispatched: return false to not run it, with res filled (e.g.
     * outcome dirty from the journal). May be NULL. */
    bool (*admit)(const InvTenant *t, ExecResult *res, void *ctx);
    /* After each tenant's result is final (coordinator thread). May be NULL. */
    void (*finished)(const ExecResult *res, const RolloutProgress *progress, void *ctx);
    /* After compensation (on_failure = "revert") changed a result already handed to finished:
     * its outcome is now reverted or dirty, and the steps from first_new_step on are the
     * reverts. May be NULL. */
    void (*revised)(const ExecResult *res, size_t first_new_step, void *ctx);
    /* When dispatching stops early (halt or signal), once, with the reason. May be NULL. */
    void (*halted)(const char *reason, void *ctx);
    /* Around each environment that has selected tenants (coordinator thread): before its
     * first tenant is dispatched, and once its results are final (compensation included),
     * with those results in rollout order. Either may be NULL. */
    void (*env_started)(const InvEnvironment *env, size_t ntenants, void *ctx);
    void (*env_finished)(const InvEnvironment *env, const ExecResult *const *results,
                         size_t n, void *ctx);
    void *ctx;
} RolloutHooks;

/*
 * A shared run (control.h): many processes take the run's tenants from one queue, which also
 * decides the environments' order, the canaries and the failure budgets for all of them.
 * claim answers the next tenant for this process (an index into the selection) or why there is
 * none; done hands back the final result of a claimed tenant (a tenant this process did not
 * attempt goes back to the queue) and sets *halt when that result halts the whole run;
 * revised a result compensation changed; fill, once dispatching ended, the results of the
 * tenants other processes ran (ran[i] false); adopt, after a halt with on_failure = "revert",
 * takes over (up to max, indexes into taken, the count returned) tenants of the halting
 * environment that a process gone from the run migrated and cannot revert, their recorded
 * results filled into results, with *more true while others remain in live processes' hands;
 * settled, after a halt, lets the process wait for the tenants other processes were running,
 * so that its report and env.finished hold their real outcomes. Called on the coordinator
 * thread.
 */
typedef enum RolloutClaim {
    ROLLOUT_CLAIM_GOT,
    ROLLOUT_CLAIM_WAIT,   /* nothing claimable yet: ask again soon */
    ROLLOUT_CLAIM_DONE,   /* nothing left */
    ROLLOUT_CLAIM_HALTED, /* the run halted (*index: the tenant that halted it) */
    ROLLOUT_CLAIM_LOST,   /* the queue is gone: stop claiming, nothing to compensate */
} RolloutClaim;

typedef struct RolloutQueue {
    RolloutClaim (*claim)(void *ctx, size_t *index, char **why);
    void (*done)(void *ctx, size_t index, const ExecResult *res, char **halt);
    void (*revised)(void *ctx, size_t index, const ExecResult *res);
    void (*fill)(void *ctx, ExecResult *results, const bool *ran, size_t n);
    size_t (*adopt)(void *ctx, ExecResult *results, size_t n, size_t max, size_t *taken,
                    bool *more);
    /* settled: no other process still runs a tenant of the run (a dead one's claims expire);
     * true as well when the queue cannot tell. */
    bool (*settled)(void *ctx);
    void *ctx;
} RolloutQueue;

typedef struct RolloutOptions {
    const ExecOptions *exec;
    size_t parallel;
    size_t max_per_server;
    bool continue_on_error; /* ignore failure budgets and canary failures */
    /* Start an environment's tenants only inside one of its maintenance windows (writes):
     * outside, the run halts before the environment; when a window closes, no further tenant of
     * it starts. False: windows are ignored (reads, --ignore-window). */
    bool windows;
    const atomic_int *stop; /* as ExecOptions.stop */
    RolloutHooks hooks;
    /* Runs a tenant served by an agent (InvTenant.agent) in place of exec_run_tenant, on a
     * worker thread, with the same contract (agent_client_run_tenant). NULL: such tenants
     * fail, as exec_run_tenant cannot reach them. */
    void (*run_remote)(const ExecJob *job, ExecResult *res, void *ctx);
    void *remote_ctx;
    /* A shared run: tenants come from this queue, not in rollout order. An environment spans
     * processes: env_started is called when this process first claims a tenant of it,
     * env_finished (with every tenant's recorded result) when it claims one of a later
     * environment or its part of the run ends. NULL: a run of this process alone. */
    const RolloutQueue *queue;
} RolloutOptions;

/*
 * rollout_run runs the selected tenants (indexes into inv->tenants, in rollout order) and
 * fills results[i] for selected[i]: every tenant ends with a result, those never attempted
 * with outcome skipped. *reason (caller frees) explains a halt or interruption, else NULL.
 */
/* rollout_canaries marks, for the selected tenants, the ones rollout_run starts first in their
 * environment (as a shared run's queue needs to know). */
void rollout_canaries(const Inventory *inv, const size_t *selected, size_t n, bool *is_canary);

RolloutOutcome rollout_run(const Inventory *inv, const MigSet *set, const size_t *selected,
                           size_t n, const RolloutOptions *opts, ExecResult *results,
                           char **reason);

#endif

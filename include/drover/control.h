/*
 * control.h — the fleet's shared state in a PostgreSQL control database (drover.cfg
 * `control = { url = "postgres://..."; }`), so that many coordinators act as one:
 *   - dirty marks (and the started marks of sections without a transaction) that every
 *     process honours and `drover resolve` clears from any machine;
 *   - shared runs (`drover migrate --run NAME`): one queue of tenants per run, claimed a row
 *     at a time with FOR UPDATE SKIP LOCKED; a claim is a lease this process renews from a
 *     thread of its own, so a process that dies loses its tenants to the others; environments,
 *     canaries and failure budgets are decided on the rows, for the whole run;
 *   - the live view of a run (`drover runs show NAME`), and the record of every run without
 *     --run, as a run of one process named COMMAND@WORKER, so that `drover runs` on any
 *     machine shows the whole fleet's history.
 * drover creates its schema ("drover") on first use under an advisory lock and refuses a
 * database whose schema version is newer than it knows. Every wait is bounded: connect_timeout,
 * statement_timeout, lock_timeout and tcp_user_timeout on both connections.
 *
 * Threads: one handle serves the coordinator and the workers (a mutex around its connection);
 * the lease thread has a connection of its own. Knows nothing of drivers or reports: results
 * arrive as JSON text.
 */
#ifndef DROVER_CONTROL_H
#define DROVER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "drover/error.h"

typedef struct Control Control;

/* control_open connects (url holds the password; masked is what errors show), creates or
 * checks the schema and registers this process as a worker, whose heartbeat and leases a
 * thread renews every lease_ms / 3. ERR_IO naming the masked URL when the database cannot be
 * reached; ERR_CONFIG for a schema from a newer drover. */
Control *control_open(const char *url, const char *masked, long lease_ms, const char *app,
                      DroverError *err);
void control_close(Control *c); /* NULL is a no-op; releases this worker's unfinished claims */
const char *control_worker(const Control *c); /* "host:pid:nonce" */
/* True once this process lost the control database (a query or the heartbeat failed): it
 * stops claiming; *why (static to the handle) says what failed. */
bool control_lost(Control *c, const char **why);

/* ---- dirty marks ------------------------------------------------------------------------ */

/* control_dirty: as journal_dirty, for the whole fleet. A started mark of a worker that is
 * still alive (its heartbeat within the lease) is a migration in progress, not dirt. */
bool control_dirty(Control *c, const char *tenant, char **migration, char **error,
                   DroverError *err);
/* control_mark_started / control_clear_started: as journal_mark_started and
 * journal_clear_started (called with the tenant's lock held). */
bool control_mark_started(Control *c, const char *run, const char *tenant,
                          const char *migration, char **existing, DroverError *err);
bool control_clear_started(Control *c, const char *tenant, const char *migration,
                           DroverError *err);
/* control_record_dirty marks tenant dirty with migration and why (a result that ended dirty). */
bool control_record_dirty(Control *c, const char *run, const char *tenant,
                          const char *migration, const char *why, DroverError *err);
/* control_clear_dirty clears tenant's mark when it names one of the migrations a clean result
 * applied or reverted (names, n). */
bool control_clear_dirty(Control *c, const char *tenant, const char *const *names, size_t n,
                         DroverError *err);
bool control_resolve(Control *c, const char *tenant, bool *was_dirty, DroverError *err);

/* ---- shared runs ------------------------------------------------------------------------ */

typedef struct ControlEnv {
    const char *name;
    long budget; /* failures the environment tolerates; -1: no limit */
} ControlEnv;

typedef struct ControlTenant {
    const char *id;
    size_t env;  /* index into ControlRun.envs */
    bool canary;
} ControlTenant;

typedef struct ControlRun {
    const char *name;
    const char *command; /* "migrate", "undo" */
    /* Everything the joining processes must agree on (command, target, selection in order,
     * migration set digest): the server keeps its md5. */
    const char *spec;
    bool continue_on_error;
    const ControlEnv *envs;
    size_t nenvs;
    const ControlTenant *tenants; /* rollout order; a claim answers an index into this */
    size_t ntenants;
} ControlRun;

/* control_join joins run->name, creating it (with its queue) when it does not exist. A run of
 * another command or spec is refused with ERR_USAGE, nothing touched. *finished is set when
 * the run has ended (outcome in *outcome, caller frees). */
bool control_join(Control *c, const ControlRun *run, bool *finished, char **outcome,
                  DroverError *err);

typedef enum ControlClaim {
    CONTROL_GOT,    /* *index is this process's now */
    CONTROL_WAIT,   /* nothing claimable yet: an earlier environment or the canaries go on */
    CONTROL_DONE,   /* nothing left to claim */
    CONTROL_HALTED, /* the run halted: *why says why, *index is the tenant that halted it */
    CONTROL_LOST,   /* the control database is gone: *why says what failed */
} ControlClaim;

ControlClaim control_claim(Control *c, const char *run, size_t *index, char **why);

/* control_take: this process starts tenant index of a run it records alone (a run without
 * --run, see control_end_run_as); a no-op when the tenant is no longer pending. */
bool control_take(Control *c, const char *run, size_t index, DroverError *err);
typedef struct ControlResult {
    const char *outcome;  /* exec_outcome_name */
    bool failure;         /* counts against the budget */
    bool incomplete;      /* locked, or held back by a pre-check: the run is not succeeded */
    bool release;         /* never attempted here: back to the queue for another process */
    const char *error;    /* one line, or NULL */
    const char *json;     /* the tenant as the report shows it (report_tenant_json), or NULL */
} ControlResult;

/* control_finish ends this process's claim on tenant index; when its failure halts the run
 * (a canary, the environment's budget), *halt (caller frees) says why. */
bool control_finish(Control *c, const char *run, size_t index, const ControlResult *r,
                     char **halt, DroverError *err);

/* control_revise replaces a finished tenant's outcome and result (compensation reverted it). */
bool control_revise(Control *c, const char *run, size_t index, const ControlResult *r,
                    DroverError *err);
/* control_adopt: on_failure = "revert" after a halt covers the whole run. This process takes
 * over up to max tenants of the halting environment that another process migrated and can no
 * longer revert (it left, or has not been seen for a lease): their indexes go to taken, and the
 * count is returned. *more is true while some remain to revert, held by processes still alive
 * (ask again later). 0 with an error set when the control database did not answer. */
size_t control_adopt(Control *c, const char *run, size_t max, size_t *taken, bool *more,
                     DroverError *err);
/* control_settled: *settled is false while another live process holds a tenant of the run. */
bool control_settled(Control *c, const char *run, bool *settled, DroverError *err);
/* control_results: the tenants' recorded results: an array of ntenants JSON texts (NULL where
 * none is recorded yet); caller frees each and the array. */
char **control_results(Control *c, const char *run, size_t ntenants, DroverError *err);
/* control_end_run records the run's outcome once nothing of it is pending or running; *ended
 * says that this call ended it (of all the processes that try, one does). */
bool control_end_run(Control *c, const char *run, bool *ended, DroverError *err);
/* control_event_once: *first when this process is the first of the run to announce event (a
 * webhook that must go out once per run, not once per process). */
bool control_event_once(Control *c, const char *run, const char *event, bool *first,
                        DroverError *err);

/* control_end_run_as ends a run this process recorded alone with the outcome it decided;
 * its tenants never started stay pending in the view. */
bool control_end_run_as(Control *c, const char *run, const char *outcome, DroverError *err);
/* The live view: one run with every tenant (state, worker, outcome, error), its workers and
 * counts; NULL with ERR_USAGE when there is no run NAME. control_runs_json: the newest runs. */
json_t *control_run_json(Control *c, const char *run, DroverError *err);
json_t *control_runs_json(Control *c, int limit, DroverError *err);

#endif

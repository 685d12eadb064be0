/*
 * fleetrun.h — one run of a fleet command (plan, migrate, undo, status, check) over selected
 * tenants: the one entry point both faces drive. `drover` builds a FleetRun from its command
 * line, `drover-agent` from a batch request; either way the run owns everything that makes a
 * run work: the executor and rollout options (with one stop flag), the connections read-only
 * jobs share, the cancellers of running statements, the node runner for .js migrations, the
 * agent client for tenants behind a drover-agent, the journal (records, dirty marks) and the
 * status enrichment (dirty marks, last runs, schema drift).
 *
 * A face keeps what is its own: arguments, signals, progress lines, webhooks, writing the
 * report and choosing the exit code. It hears about the run through RolloutHooks, called on
 * the run's coordinator thread after the FleetRun's own bookkeeping for the same event.
 */
#ifndef DROVER_FLEETRUN_H
#define DROVER_FLEETRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/error.h"
#include "drover/executor.h"
#include "drover/inventory.h"
#include "drover/journal.h"
#include "drover/migration.h"
#include "drover/rollout.h"

typedef struct FleetRun FleetRun;

typedef struct FleetRunOptions {
    /* What to run: command, to, undo mode and steps, dry_run, schema, sql_preview and the
     * application name. The run fills in engine, stop, cancels and sessions itself. */
    ExecOptions exec;
    size_t parallel;           /* worker threads; 0: the inventory's defaults.parallel */
    bool continue_on_error;    /* ignore failure budgets and canary failures (reads always do) */
    bool ignore_window;        /* start tenants outside their environment's maintenance window */
    /* Writes (migrate/undo, not dry): record the run in the inventory's journal and keep
     * tenants it marks dirty out. False for a face that keeps no journal (drover-agent: the
     * coordinator journals the results it gets back). */
    bool journal;
    JournalRunInfo journal_info; /* with journal: what the run record shows */
    /* migrate/undo --run NAME: join (or create) the shared run NAME in the inventory's control
     * database and take its tenants from the run's queue (control.h). NULL: this process runs
     * its selection alone. With a control database, dirty marks live there either way, and a
     * write without shared_run is recorded there as a run of its own (journal or not). */
    const char *shared_run;
    /* status: what only the journal knows (dirty marks, each tenant's last run), and schema
     * drift across the selected tenants when exec.schema is set. An agent, whose tenants are
     * compared by the coordinator across the whole fleet, sets neither. */
    bool status_from_journal;
    bool mark_drift;
    /* Agent tenants: what makes this run's batch ids unique on every agent (copied); NULL:
     * host, pid and start time. */
    const char *agent_run_base;
    RolloutHooks hooks;        /* the face's own; any may be NULL */
    /* A problem that does not stop the run (an agent that does not answer the preflight, a
     * journal write that failed): one line, or an error; may be NULL. */
    void (*warn)(const char *line, void *ctx);
    void (*error)(const DroverError *err, void *ctx);
} FleetRunOptions;

/*
 * fleetrun_new loads everything a run needs before any tenant is touched: the node runner when
 * .js migrations will run (a missing node, sequelize or driver fails here), the agent client
 * and its preflight (a different migration set, a refused token or an agent that cannot run the
 * set's .js files fails here), the journal. False (NULL) with err, and nothing touched. The
 * inventory, set and selection must outlive the run.
 */
FleetRun *fleetrun_new(const Inventory *inv, const MigSet *set, const size_t *selected,
                       size_t n, const FleetRunOptions *opts, DroverError *err);
/* fleetrun_free waits for nothing (the run has ended), closes what the run opened and frees
 * the results; NULL is a no-op. */
void fleetrun_free(FleetRun *r);

/* fleetrun_run runs the tenants through the rollout and then adds the status enrichment.
 * *reason (caller frees; may be NULL) explains a halt or an interruption. */
RolloutOutcome fleetrun_run(FleetRun *r, char **reason);

/* The run's results, one per selected tenant in rollout order: allocated by fleetrun_new (so a
 * face may hand the array to its hooks' context before the run), final once fleetrun_run has
 * returned. Owned by the run. */
ExecResult *fleetrun_results(FleetRun *r);
size_t fleetrun_count(const FleetRun *r);
/* fleetrun_announces: whether this process sends the webhook event (a NOTIFY_* name, with
 * ":ENV" for env.*). Always for a run of its own; in a shared run each run- and
 * environment-level event goes out once for the whole run, from the first process that gets
 * to it, and run.finished from the process that ended the run. Call from one thread. */
bool fleetrun_announces(FleetRun *r, const char *event);
/* The journal's id of this run, 0 without a journal. */
int64_t fleetrun_journal_run_id(const FleetRun *r);
/* A shared run that had already ended when this process joined it: nothing was run, the
 * results are the run's. */
bool fleetrun_joined_finished(const FleetRun *r);
/* True when a journal write failed: the run must not look successful. */
bool fleetrun_journal_failed(const FleetRun *r);

/* What changed in the fleet since the journal's newest run (status with status_from_journal):
 * since_run is that run (0: none recorded); appeared and disappeared hold tenant ids, sorted.
 * Owned by the run; final once fleetrun_run has returned. */
typedef struct FleetChanges {
    int64_t since_run;
    StrList appeared;
    StrList disappeared;
} FleetChanges;
const FleetChanges *fleetrun_fleet_changes(const FleetRun *r);

/* fleetrun_stop: stop dispatching; running jobs finish their current migration (or roll it
 * back) and release their locks. Any thread, any time, more than once. */
void fleetrun_stop(FleetRun *r);
/* fleetrun_cancel_statements also cancels the statements running now (their transactions
 * roll back); returns how many cancel requests were sent. Any thread. */
size_t fleetrun_cancel_statements(FleetRun *r);

/*
 * The node runner pool is one per process. fleetrun_new starts it when the run needs it and
 * stops it when it frees the run; a long-lived face (drover-agent) prepares it once for every
 * tenant it serves, so that it can say up front whether it can run the set's .js files, and
 * shuts it down when it exits. fleetrun_js_prepare is a no-op (true) for a set without .js.
 */
bool fleetrun_js_prepare(const Inventory *inv, const MigSet *set, DroverError *err);
void fleetrun_js_shutdown(void);
/* fleetrun_set_output: where what .js migrations print goes, for the whole process (one line
 * per call, from any worker thread: fn must be thread-safe). Unset, it is dropped. */
void fleetrun_set_output(void (*fn)(const ExecOutput *out, void *ctx), void *ctx);

#endif

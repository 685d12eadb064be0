/*
 * fleet_notify.h — the events of one migrate/undo run, built from its results and handed to
 * the inventory's webhooks (notify.h): run.started, env.started, tenant.failed, run.halted,
 * env.finished, run.finished. Every function is a no-op when the inventory has no webhook.
 */
#ifndef DROVER_CLI_FLEET_NOTIFY_H
#define DROVER_CLI_FLEET_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/executor.h"
#include "drover/fleetrun.h"
#include "drover/inventory.h"
#include "drover/notify.h"

typedef struct FleetNotify {
    Notifier *notifier;
    int64_t run_id;
    const char *command;
    const ExecResult *results; /* the run's result array, n long */
    size_t n;
    bool *failure_sent; /* per result: tenant.failed already went out */
    FleetRun *run;      /* asked whether this process announces a run-level event */
    const char *shared_name; /* the shared run's name (--run), or NULL */
} FleetNotify;

/* fleet_notify_begin starts the webhooks' sender and sends run.started. The run's results are
 * read only once final. In a shared run (shared_name) the run- and environment-level events go
 * out once per run (fleetrun_announces) and carry the run's name. */
void fleet_notify_begin(FleetNotify *fn, const Inventory *inv, FleetRun *run,
                        const char *command, const char *shared_name);
void fleet_notify_env_started(FleetNotify *fn, const InvEnvironment *env, size_t ntenants);
/* fleet_notify_tenant sends tenant.failed once for a result with a failure outcome. */
void fleet_notify_tenant(FleetNotify *fn, const ExecResult *res);
/* fleet_notify_env_finished also sends tenant.failed for a tenant that compensation left
 * dirty after its own result was reported. */
void fleet_notify_env_finished(FleetNotify *fn, const InvEnvironment *env,
                               const ExecResult *const *results, size_t n);
void fleet_notify_halted(FleetNotify *fn, const char *reason);
void fleet_notify_finished(FleetNotify *fn, const char *outcome);
/* fleet_notify_end waits for the last events (at most one delivery's worst case), stops the
 * sender and frees what fn holds. */
void fleet_notify_end(FleetNotify *fn);

#endif

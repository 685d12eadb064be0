/*
 * fleetrun_shared_impl.h — the shared-run half of a FleetRun (fleetrun_shared.c): joining a
 * run in the control database, the rollout's queue over it, and the results of tenants other
 * processes ran. For fleetrun.c only.
 */
#ifndef DROVER_FLEETRUN_SHARED_IMPL_H
#define DROVER_FLEETRUN_SHARED_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "drover/control.h"
#include "drover/executor.h"
#include "drover/inventory.h"
#include "drover/migration.h"
#include "drover/rollout.h"

typedef struct SharedRun {
    Control *control;
    const char *name;    /* the run's name (--run, or COMMAND@WORKER when local) */
    const char *command; /* "migrate", "undo" */
    const Inventory *inv;
    const size_t *selected;
    size_t n;
    /* The run's stop flag: set when the control database is lost, so that running tenants
     * end after their current migration. */
    atomic_int *stop;
    bool failed;         /* a control database write failed: the run must not look clean */
    bool ended;          /* shared_end ended the run: this process announces run.finished */
    /* A run without --run, recorded in the control database as a run of this process alone:
     * the local rollout decides, the record follows (shared_record_*). */
    bool local;
    size_t *position_of; /* local: inventory index -> position in selected, SIZE_MAX if none */
    void (*error)(const DroverError *err, void *ctx);
    void *ctx;
} SharedRun;

/* shared_join joins (or creates) the run; ERR_USAGE when it holds another spec. */
bool shared_join(SharedRun *sr, const MigSet *set, const ExecOptions *exec,
                 bool continue_on_error, bool *finished, char **outcome, DroverError *err);
void shared_queue(SharedRun *sr, RolloutQueue *q);
/* shared_fill_all: every tenant's result as the run recorded it (a run that had ended). */
void shared_fill_all(SharedRun *sr, ExecResult *results);
/* shared_end records the run's outcome when nothing of it is left (sr->ended when this process
 * did). */
void shared_end(SharedRun *sr);
/* shared_announces: whether this process sends event (see fleetrun_announces). */
bool shared_announces(SharedRun *sr, const char *event);

/* The record of a local run: begin creates it (every selected tenant pending), start marks a
 * tenant running, result records (or, revised, rewrites) its result, end sets the outcome the
 * rollout decided. Failures make sr->failed and are reported; the run itself goes on. */
bool shared_record_begin(SharedRun *sr, const MigSet *set, const ExecOptions *exec,
                         bool continue_on_error, DroverError *err);
void shared_record_start(SharedRun *sr, const InvTenant *t);
void shared_record_result(SharedRun *sr, const ExecResult *res, bool revised);
void shared_record_end(SharedRun *sr, const char *outcome);
void shared_free(SharedRun *sr);

#endif

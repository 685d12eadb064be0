/*
 * fleetview.h — the fleet at a glance, computed once from the status results so that every
 * format shows the same numbers: counts by state per environment, each migration's coverage
 * (applied on X of Y tenants, per environment), version skew (the distinct last-applied heads)
 * and gaps (out-of-order histories).
 */
#ifndef DROVER_FLEETVIEW_H
#define DROVER_FLEETVIEW_H

#include <stddef.h>

#include "drover/executor.h"
#include "drover/inventory.h"
#include "drover/migration.h"

typedef struct ViewEnv {
    const char *name;                 /* points into the inventory */
    size_t tenants;
    size_t by_state[EXEC_STATE_COUNT];
} ViewEnv;

typedef struct ViewMigration {
    const char *name;   /* points into the migration set */
    size_t applied;     /* tenants that have it, among those whose state is known */
    size_t known;       /* tenants whose SequelizeMeta could be read */
    size_t *applied_by_env; /* [nenvs] */
    size_t *known_by_env;   /* [nenvs] */
} ViewMigration;

typedef struct ViewHead {
    const char *head;   /* last applied migration (file order), NULL for "none applied" */
    size_t tenants;
} ViewHead;

typedef struct FleetView {
    ViewEnv *envs;       /* every environment with a selected tenant, in rollout order */
    size_t nenvs;
    ViewMigration *migrations; /* file order */
    size_t nmigrations;
    ViewHead *heads;     /* most tenants first, then file order */
    size_t nheads;
    size_t *gaps;        /* indexes into the results of tenants with out-of-order history */
    size_t ngaps;
    size_t by_state[EXEC_STATE_COUNT];
} FleetView;

void fleetview_build(const Inventory *inv, const MigSet *set, const ExecResult *res, size_t n,
                     FleetView *out);
void fleetview_free(FleetView *view);

/* fleetview_name_flags sets flags[m] (set->n of them) when names holds migration m's name:
 * one binary search per name, as the set is sorted by name. */
void fleetview_name_flags(const MigSet *set, const StrList *names, bool *flags);

/*
 * fleetview_mark_drift groups results that have a fingerprint by (dialect, applied set); in each
 * group of two or more, the fingerprint most tenants share is the reference (ties: the one that
 * comes first in the results). Every tenant that differs gets schema_drift, drift_added and
 * drift_missing, and state drifted unless its state is worse (dirty, locked, unreachable).
 */
void fleetview_mark_drift(ExecResult *res, size_t n);

#endif

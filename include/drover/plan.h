/*
 * plan.h — what a tenant has and lacks, from its SequelizeMeta rows and the migration set.
 * Pure logic, no I/O: the executor reads the rows, the plan decides.
 */
#ifndef DROVER_PLAN_H
#define DROVER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "drover/error.h"
#include "drover/migration.h"
#include "drover/util.h"

typedef struct PlanApplied {
    size_t mig;      /* index in the MigSet */
    const char *row; /* the stored name (points into the rows list given to plan_build) */
    bool renamed;    /* row differs from the file name by its extension only */
} PlanApplied;

typedef struct Plan {
    PlanApplied *applied; /* file order */
    size_t napplied;
    size_t *pending;      /* MigSet indexes, file order */
    size_t npending;
    StrList unknown;      /* rows matching no file, byte order */
} Plan;

/*
 * plan_build matches rows to files: an exact name match first; then a row that differs from a
 * still-unmatched file only by its extension (.js .cjs .ts .cts .sql) is that file, renamed —
 * never re-applied. Everything else is unknown. rows must outlive the plan.
 */
void plan_build(const MigSet *set, const StrList *rows, Plan *out);
void plan_free(Plan *p);

/* The pending migrations to apply, in file order, up to and including index to (-1: all).
 * Returns the count; *out is malloc'd (NULL when zero). */
size_t plan_up(const Plan *p, ssize_t to, size_t **out);

typedef enum PlanUndoMode {
    PLAN_UNDO_STEPS = 0,
    PLAN_UNDO_TO,
    PLAN_UNDO_ALL,
} PlanUndoMode;

/*
 * plan_down chooses what to revert, newest first. Applied migrations and unknown rows are
 * ordered together by name (file names for applied ones): STEPS takes the last `steps`
 * entries, TO every entry at or after migration `to` (inclusive), ALL every entry. If the
 * range holds an unknown row (no file, so no down) or a migration whose down section is empty,
 * nothing is chosen and it fails with ERR_REFUSED naming it. *out holds indexes into
 * p->applied (malloc'd, NULL when zero).
 */
bool plan_down(const Plan *p, const MigSet *set, PlanUndoMode mode, size_t steps, ssize_t to,
               size_t **out, size_t *nout, DroverError *err);

#endif

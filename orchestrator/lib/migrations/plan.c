/*
 * plan.c — matching a tenant's SequelizeMeta rows to the migration set, and choosing what to
 * apply or revert. Pure logic: no I/O, every outcome is decided from the rows and the files.
 */
#include "drover/plan.h"

#include <stdlib.h>
#include <string.h>

#define NO_FILE ((size_t)-1)

static size_t find_exact(const MigSet *set, const char *name)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(set->items[mid].name, name);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NO_FILE;
}

/*
 * find_renamed returns the first file, in file order, that no row matched yet and whose name
 * differs from row only by its extension. A row without a known extension never matches:
 * sequelize-cli only ever stores names with one.
 */
static size_t find_renamed(const MigSet *set, const size_t *file_row, const char *row)
{
    size_t stem = mig_stem_len(row);
    if (stem == strlen(row))
        return NO_FILE;
    for (size_t i = 0; i < set->n; i++) {
        const char *file = set->items[i].name;
        if (file_row[i] == NO_FILE && mig_stem_len(file) == stem &&
            memcmp(file, row, stem) == 0)
            return i;
    }
    return NO_FILE;
}

void plan_build(const MigSet *set, const StrList *rows, Plan *out)
{
    memset(out, 0, sizeof *out);
    size_t *file_row = xmalloc(set->n * sizeof *file_row);
    bool *row_matched = xcalloc(rows->n, sizeof *row_matched);
    bool *row_renamed = xcalloc(rows->n, sizeof *row_renamed);
    for (size_t i = 0; i < set->n; i++)
        file_row[i] = NO_FILE;

    for (size_t r = 0; r < rows->n; r++) {
        size_t f = find_exact(set, rows->items[r]);
        if (f != NO_FILE && file_row[f] == NO_FILE) {
            file_row[f] = r;
            row_matched[r] = true;
        }
    }
    /* Renames only after every exact match, so an exact row always keeps its own file. */
    for (size_t r = 0; r < rows->n; r++) {
        if (row_matched[r])
            continue;
        size_t f = find_renamed(set, file_row, rows->items[r]);
        if (f != NO_FILE) {
            file_row[f] = r;
            row_matched[r] = true;
            row_renamed[r] = true;
        }
    }

    out->applied = xmalloc(set->n * sizeof *out->applied);
    out->pending = xmalloc(set->n * sizeof *out->pending);
    for (size_t i = 0; i < set->n; i++) {
        size_t r = file_row[i];
        if (r == NO_FILE) {
            out->pending[out->npending++] = i;
            continue;
        }
        out->applied[out->napplied++] =
            (PlanApplied){.mig = i, .row = rows->items[r], .renamed = row_renamed[r]};
    }
    for (size_t r = 0; r < rows->n; r++)
        if (!row_matched[r])
            sl_push(&out->unknown, rows->items[r]);
    sl_sort(&out->unknown);

    free(file_row);
    free(row_matched);
    free(row_renamed);
}

void plan_free(Plan *p)
{
    if (!p)
        return;
    free(p->applied);
    free(p->pending);
    sl_free(&p->unknown);
    memset(p, 0, sizeof *p);
}

size_t plan_up(const Plan *p, ssize_t to, size_t **out)
{
    *out = NULL;
    size_t n = 0;
    for (size_t i = 0; i < p->npending; i++) {
        if (to >= 0 && p->pending[i] > (size_t)to)
            break;
        if (!*out)
            *out = xmalloc(p->npending * sizeof **out);
        (*out)[n++] = p->pending[i];
    }
    return n;
}

/* One entry of the undo order: an applied migration or an unknown row. */
typedef struct UndoEntry {
    const char *name;   /* file name for applied migrations, the row for unknown ones */
    size_t applied;     /* index in p->applied, or NO_FILE for an unknown row */
} UndoEntry;

static int cmp_undo_entry(const void *a, const void *b)
{
    return strcmp(((const UndoEntry *)a)->name, ((const UndoEntry *)b)->name);
}

/* undo_order merges applied migrations and unknown rows, sorted by name. Caller frees. */
static UndoEntry *undo_order(const Plan *p, const MigSet *set, size_t *n)
{
    *n = p->napplied + p->unknown.n;
    UndoEntry *e = xmalloc(*n * sizeof *e);
    for (size_t i = 0; i < p->napplied; i++)
        e[i] = (UndoEntry){.name = set->items[p->applied[i].mig].name, .applied = i};
    for (size_t i = 0; i < p->unknown.n; i++)
        e[p->napplied + i] = (UndoEntry){.name = p->unknown.items[i], .applied = NO_FILE};
    if (*n > 1)
        qsort(e, *n, sizeof *e, cmp_undo_entry);
    return e;
}

/* range_start returns the index in the undo order of the oldest entry to revert. */
static bool range_start(const UndoEntry *e, size_t n, const MigSet *set, PlanUndoMode mode,
                        size_t steps, ssize_t to, size_t *start, DroverError *err)
{
    switch (mode) {
    case PLAN_UNDO_STEPS:
        *start = steps >= n ? 0 : n - steps;
        return true;
    case PLAN_UNDO_ALL:
        *start = 0;
        return true;
    case PLAN_UNDO_TO:
        if (to < 0 || (size_t)to >= set->n) {
            error_set(err, ERR_INTERNAL, "undo target %zd is not in the migration set",
                          to);
            return false;
        }
        *start = n;
        while (*start > 0 && strcmp(e[*start - 1].name, set->items[to].name) >= 0)
            (*start)--;
        return true;
    }
    error_set(err, ERR_INTERNAL, "unknown undo mode %d", (int)mode);
    return false;
}

/* check_revertible refuses an entry that cannot be reverted: no file, or an empty SQL down. */
static bool check_revertible(const Plan *p, const MigSet *set, const UndoEntry *e,
                             DroverError *err)
{
    if (e->applied == NO_FILE) {
        error_set(err, ERR_REFUSED,
                      "this SequelizeMeta row has no migration file; cannot revert past it");
        error_set_hint(err, "restore the file into the migrations directory, or revert "
                                "fewer migrations");
        error_set_context(err, NULL, e->name, NULL);
        return false;
    }
    const Migration *m = &set->items[p->applied[e->applied].mig];
    if (m->kind == MIG_SQL && mig_section_is_empty(&m->down)) {
        error_set(err, ERR_REFUSED, "the migration has no down section");
        error_set_hint(err, "write a '-- migrate:down' section, or revert fewer "
                                "migrations");
        error_set_context(err, NULL, m->name, NULL);
        return false;
    }
    return true;
}

bool plan_down(const Plan *p, const MigSet *set, PlanUndoMode mode, size_t steps, ssize_t to,
               size_t **out, size_t *nout, DroverError *err)
{
    *out = NULL;
    *nout = 0;
    size_t n;
    UndoEntry *e = undo_order(p, set, &n);
    size_t start;
    bool ok = range_start(e, n, set, mode, steps, to, &start, err);
    for (size_t i = n; ok && i > start; i--)
        ok = check_revertible(p, set, &e[i - 1], err);
    if (ok && start < n) {
        *out = xmalloc((n - start) * sizeof **out);
        for (size_t i = n; i > start; i--)
            (*out)[(*nout)++] = e[i - 1].applied;
    }
    free(e);
    return ok;
}

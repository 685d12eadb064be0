/*
 * fleetview_drift.c — schema drift, a view across the fleet (fleetview.h): tenants whose
 * SequelizeMeta says they are alike are compared with the schema most of them share, and those
 * that differ get the lines they add and lack. Pure logic over result records.
 */
#include "drover/fleetview.h"

#include <stdlib.h>
#include <string.h>

static bool same_list(const StrList *a, const StrList *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return false;
    return true;
}

/* peers: same dialect and the same SequelizeMeta rows (applied files and unknown rows), so
 * their schemas are expected to be equal. */
static bool peers(const ExecResult *a, const ExecResult *b)
{
    return strcmp(exec_result_dialect(a), exec_result_dialect(b)) == 0 &&
           same_list(&a->have, &b->have) &&
           same_list(&a->unknown, &b->unknown);
}

/* reference_of picks the fingerprint most members share; on a tie the one met first wins,
 * members being in results order. Returns the index (into res) of a tenant carrying it. */
static size_t reference_of(const ExecResult *res, const size_t *members, size_t k)
{
    size_t best = members[0], best_votes = 0;
    for (size_t a = 0; a < k; a++) {
        size_t votes = 0;
        for (size_t b = 0; b < k; b++)
            votes += strcmp(res[members[a]].fingerprint, res[members[b]].fingerprint) == 0;
        if (votes > best_votes) {
            best = members[a];
            best_votes = votes;
        }
    }
    return best;
}

/* diff_lines merges two byte-sorted lists: what only mine has, what only ref has. */
static void diff_lines(const StrList *mine, const StrList *ref, StrList *added, StrList *missing)
{
    size_t i = 0, j = 0;
    while (i < mine->n || j < ref->n) {
        int c = i == mine->n ? 1 : j == ref->n ? -1 : strcmp(mine->items[i], ref->items[j]);
        if (c < 0)
            sl_push(added, mine->items[i++]);
        else if (c > 0)
            sl_push(missing, ref->items[j++]);
        else
            i++, j++;
    }
}

static void clear_drift(ExecResult *r)
{
    r->schema_drift = false;
    sl_free(&r->drift_added);
    sl_free(&r->drift_missing);
}

static void mark_group(ExecResult *res, const size_t *members, size_t k)
{
    const ExecResult *ref = &res[reference_of(res, members, k)];
    for (size_t m = 0; m < k; m++) {
        ExecResult *r = &res[members[m]];
        clear_drift(r);
        if (strcmp(r->fingerprint, ref->fingerprint) == 0)
            continue;
        r->schema_drift = true;
        diff_lines(&r->schema_lines, &ref->schema_lines, &r->drift_added, &r->drift_missing);
        /* dirty, locked and unreachable say more about the tenant than its schema does */
        if (r->state != EXEC_STATE_DIRTY && r->state != EXEC_STATE_LOCKED &&
            r->state != EXEC_STATE_UNREACHABLE)
            r->state = EXEC_STATE_DRIFTED;
    }
}

void fleetview_mark_drift(ExecResult *res, size_t n)
{
    bool *grouped = xcalloc(n ? n : 1, sizeof *grouped);
    size_t *members = xcalloc(n ? n : 1, sizeof *members);
    for (size_t i = 0; i < n; i++) {
        if (grouped[i] || !res[i].fingerprint)
            continue;
        size_t k = 0;
        for (size_t j = i; j < n; j++) {
            if (!grouped[j] && res[j].fingerprint && peers(&res[i], &res[j])) {
                grouped[j] = true;
                members[k++] = j;
            }
        }
        if (k >= 2)
            mark_group(res, members, k);
    }
    free(members);
    free(grouped);
}

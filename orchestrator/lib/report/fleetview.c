/*
 * fleetview.c — the fleet views (see fleetview.h), computed once per status run. Everything
 * is counted from the result records, so formats never count on their own.
 */
#include "drover/fleetview.h"

#include <stdlib.h>
#include <string.h>

static size_t env_index(const FleetView *v, const char *env)
{
    for (size_t i = 0; i < v->nenvs; i++)
        if (strcmp(v->envs[i].name, env) == 0)
            return i;
    return v->nenvs;
}

/* collect_envs keeps the environments that have a selected tenant, in rollout order. */
static void collect_envs(const Inventory *inv, const ExecResult *res, size_t n, FleetView *v)
{
    v->envs = xcalloc(inv->nenvs ? inv->nenvs : 1, sizeof *v->envs);
    for (size_t e = 0; e < inv->nenvs; e++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(res[i].tenant->env, inv->envs[e].name) == 0) {
                v->envs[v->nenvs++].name = inv->envs[e].name;
                break;
            }
}

static bool state_known(ExecState s)
{
    return s != EXEC_STATE_UNREACHABLE;
}

static int cmp_name_to_migration(const void *key, const void *item)
{
    return strcmp(key, ((const Migration *)item)->name);
}

void fleetview_name_flags(const MigSet *set, const StrList *names, bool *flags)
{
    memset(flags, 0, set->n * sizeof *flags);
    for (size_t k = 0; set->n && k < names->n; k++) {
        const Migration *m = bsearch(names->items[k], set->items, set->n, sizeof *set->items,
                                     cmp_name_to_migration);
        if (m)
            flags[m - set->items] = true;
    }
}

/* count_migrations: per migration, on how many readable tenants it is applied, overall and
 * per environment. Tenant by tenant, so that a 2,000 x 300 fleet costs 600,000 flags, not
 * 600,000 scans of a tenant's rows. */
static void count_migrations(const MigSet *set, const ExecResult *res, size_t n, FleetView *v)
{
    v->nmigrations = set->n;
    v->migrations = xcalloc(set->n ? set->n : 1, sizeof *v->migrations);
    for (size_t m = 0; m < set->n; m++) {
        ViewMigration *vm = &v->migrations[m];
        vm->name = set->items[m].name;
        vm->applied_by_env = xcalloc(v->nenvs ? v->nenvs : 1, sizeof *vm->applied_by_env);
        vm->known_by_env = xcalloc(v->nenvs ? v->nenvs : 1, sizeof *vm->known_by_env);
    }
    bool *flags = xcalloc(set->n ? set->n : 1, sizeof *flags);
    for (size_t i = 0; i < n; i++) {
        if (!state_known(res[i].state))
            continue;
        size_t e = env_index(v, res[i].tenant->env);
        fleetview_name_flags(set, &res[i].have, flags);
        for (size_t m = 0; m < set->n; m++) {
            ViewMigration *vm = &v->migrations[m];
            vm->known++;
            vm->applied += flags[m];
            vm->known_by_env[e]++;
            vm->applied_by_env[e] += flags[m];
        }
    }
    free(flags);
}

static const char *head_of(const ExecResult *r)
{
    return r->have.n ? r->have.items[r->have.n - 1] : NULL;
}

static bool same_head(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int cmp_heads(const void *pa, const void *pb)
{
    const ViewHead *a = pa, *b = pb;
    if (a->tenants != b->tenants)
        return a->tenants > b->tenants ? -1 : 1;
    if (!a->head || !b->head)
        return a->head ? 1 : b->head ? -1 : 0;
    return strcmp(a->head, b->head);
}

static void count_heads(const ExecResult *res, size_t n, FleetView *v)
{
    v->heads = xcalloc(n ? n : 1, sizeof *v->heads);
    for (size_t i = 0; i < n; i++) {
        if (!state_known(res[i].state))
            continue;
        const char *h = head_of(&res[i]);
        size_t k = 0;
        while (k < v->nheads && !same_head(v->heads[k].head, h))
            k++;
        if (k == v->nheads)
            v->heads[v->nheads++].head = h;
        v->heads[k].tenants++;
    }
    qsort(v->heads, v->nheads, sizeof *v->heads, cmp_heads);
}

void fleetview_build(const Inventory *inv, const MigSet *set, const ExecResult *res, size_t n,
                     FleetView *v)
{
    memset(v, 0, sizeof *v);
    collect_envs(inv, res, n, v);
    v->gaps = xcalloc(n ? n : 1, sizeof *v->gaps);
    for (size_t i = 0; i < n; i++) {
        size_t e = env_index(v, res[i].tenant->env);
        v->envs[e].tenants++;
        v->envs[e].by_state[res[i].state]++;
        v->by_state[res[i].state]++;
        if (res[i].gap)
            v->gaps[v->ngaps++] = i;
    }
    count_migrations(set, res, n, v);
    count_heads(res, n, v);
}

void fleetview_free(FleetView *v)
{
    for (size_t m = 0; m < v->nmigrations; m++) {
        free(v->migrations[m].applied_by_env);
        free(v->migrations[m].known_by_env);
    }
    free(v->migrations);
    free(v->envs);
    free(v->heads);
    free(v->gaps);
    memset(v, 0, sizeof *v);
}

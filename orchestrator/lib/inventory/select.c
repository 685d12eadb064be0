/*
 * select.c — choosing tenants from the inventory with --env / --tenant / --tag, in rollout
 * order. Names that match nothing are errors: a typo must not silently shrink a rollout.
 */
#include "drover/inventory.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const InvEnvironment *inv_environment(const Inventory *inv, const char *name)
{
    for (size_t i = 0; i < inv->nenvs; i++)
        if (strcmp(inv->envs[i].name, name) == 0)
            return &inv->envs[i];
    return NULL;
}

const InvAgent *inv_agent(const Inventory *inv, const char *name)
{
    for (size_t i = 0; i < inv->nagents; i++)
        if (strcmp(inv->agents[i].name, name) == 0)
            return &inv->agents[i];
    return NULL;
}

bool inv_tenant_has_tag(const InvTenant *t, const char *tag)
{
    for (size_t i = 0; i < t->ntags; i++)
        if (strcmp(t->tags[i], tag) == 0)
            return true;
    return false;
}

static bool tenant_declared(const Inventory *inv, const char *id)
{
    for (size_t i = 0; i < inv->ntenants; i++)
        if (strcmp(inv->tenants[i].id, id) == 0)
            return true;
    return false;
}

static bool check_names(const Inventory *inv, const InvSelector *sel, DroverError *err)
{
    for (size_t i = 0; i < sel->envs.n; i++)
        if (!inv_environment(inv, sel->envs.items[i])) {
            error_set(err, ERR_USAGE, "unknown environment '%s'", sel->envs.items[i]);
            return false;
        }
    for (size_t i = 0; i < sel->tenants.n; i++)
        if (!tenant_declared(inv, sel->tenants.items[i])) {
            error_set(err, ERR_USAGE, "unknown tenant '%s'", sel->tenants.items[i]);
            return false;
        }
    return true;
}

static bool has_any_tag(const InvTenant *t, const StrList *tags)
{
    for (size_t i = 0; i < t->ntags; i++)
        if (sl_contains(tags, t->tags[i]))
            return true;
    return false;
}

static bool tenant_matches(const InvTenant *t, const InvSelector *sel)
{
    return (sel->envs.n == 0 || sl_contains(&sel->envs, t->env)) &&
           (sel->tenants.n == 0 || sl_contains(&sel->tenants, t->id)) &&
           (sel->tags.n == 0 || has_any_tag(t, &sel->tags));
}

size_t inv_shard_of(const char *tenant_id, size_t count)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)tenant_id; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return count ? h % count : 0;
}

static size_t keep_shard(const Inventory *inv, const InvSelector *sel, size_t *picked, size_t n)
{
    if (sel->shard_count == 0)
        return n;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (inv_shard_of(inv->tenants[picked[i]].id, sel->shard_count) == sel->shard_index)
            picked[kept++] = picked[i];
    return kept;
}

bool inv_select(const Inventory *inv, const InvSelector *sel, size_t **out, size_t *nout,
                DroverError *err)
{
    *out = NULL;
    *nout = 0;
    if (!check_names(inv, sel, err))
        return false;
    size_t *picked = xcalloc(inv->ntenants, sizeof *picked);
    size_t n = 0;
    for (size_t e = 0; e < inv->nenvs; e++)
        for (size_t i = 0; i < inv->ntenants; i++) {
            const InvTenant *t = &inv->tenants[i];
            if (strcmp(t->env, inv->envs[e].name) == 0 && tenant_matches(t, sel))
                picked[n++] = i;
        }
    if (n == 0) {
        free(picked);
        error_set(err, ERR_USAGE, "no tenant matches the selection");
        return false;
    }
    *out = picked;
    *nout = keep_shard(inv, sel, picked, n);
    return true;
}

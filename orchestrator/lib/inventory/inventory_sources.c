/*
 * inventory_sources.c — the tenants a tenants_from source returned (sources.h runs the sources)
 * become tenants here, checked exactly as a 'tenants' entry of drover.cfg is: id alphabet,
 * declared environment, a URL drover can parse or a declared agent, and an id no other tenant
 * has, whether from the file or another source. A bad row stops the whole load (exit 2):
 * a fleet read half from a broken catalogue is worse than none.
 */
#define _GNU_SOURCE /* hcreate_r: a hash table of ids, as inventory.c keeps one */
#include "drover/inventory.h"
#include "inventory_impl.h"
#include "url_impl.h"

#include <errno.h>
#include <search.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* row_fail sets err to "SOURCE: row N (id 'X'): MESSAGE" at the source's entry. */
static bool row_fail(DroverError *err, const InvSource *src, size_t row, const char *id,
                     const char *message)
{
    if (id && *id)
        error_set(err, ERR_CONFIG, "%s: row %zu (id '%s'): %s", src->label, row, id, message);
    else
        error_set(err, ERR_CONFIG, "%s: row %zu: %s", src->label, row, message);
    error_set_location(err, src->file, src->line);
    return false;
}

/* split_tags: "a, b" or a PostgreSQL array literal "{a,b}" / "{\"a b\",c}". */
static void split_tags(const char *text, InvTenant *t)
{
    StrList tags = STRLIST_INIT;
    size_t len = strlen(text);
    if (len >= 2 && text[0] == '{' && text[len - 1] == '}') {
        text++;
        len -= 2;
    }
    char *copy = xstrndup(text, len);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '"')
            tok++;
        size_t n = strlen(tok);
        while (n && (tok[n - 1] == ' ' || tok[n - 1] == '"'))
            n--;
        if (n)
            sl_push_owned(&tags, xstrndup(tok, n));
    }
    free(copy);
    t->ntags = tags.n;
    t->tags = xcalloc(tags.n ? tags.n : 1, sizeof *t->tags);
    for (size_t i = 0; i < tags.n; i++)
        t->tags[i] = xstrdup(tags.items[i]);
    sl_free(&tags);
}

/* row_url: the row's URL with ${VAR}s expanded, parsed; errors show it as written, masked. */
static bool row_url(Inventory *inv, const InvSource *src, size_t row, const InvRow *r,
                    InvTenant *t, DroverError *err)
{
    DroverError inner = DROVER_ERROR_INIT;
    char *expanded = inv_expand_env(r->url, &inner);
    char *shown = url_mask_text(r->url);
    bool ok = expanded && url_parse_shown(expanded, shown, inv->config_dir, &t->url, &inner);
    if (expanded)
        explicit_bzero(expanded, strlen(expanded));
    free(expanded);
    free(shown);
    if (!ok)
        row_fail(err, src, row, r->id, inner.message ? inner.message : "bad url");
    error_clear(&inner);
    return ok;
}

static bool row_tenant(Inventory *inv, const InvSource *src, size_t row, const InvRow *r,
                       InvTenant *t, DroverError *err)
{
    char *problem = inv_id_problem(r->id ? r->id : "");
    if (problem) {
        row_fail(err, src, row, NULL, problem);
        free(problem);
        return false;
    }
    t->id = xstrdup(r->id);
    t->file = xstrdup(src->label);
    t->line = (int)row;
    if (!r->env || !*r->env)
        return row_fail(err, src, row, r->id, "no env");
    if (!inv_environment(inv, r->env)) {
        char *m = xasprintf("environment '%s' is not declared in 'environments'", r->env);
        row_fail(err, src, row, r->id, m);
        free(m);
        return false;
    }
    t->env = xstrdup(r->env);
    split_tags(r->tags ? r->tags : "", t);
    bool has_url = r->url && *r->url, has_agent = r->agent && *r->agent;
    if (has_url == has_agent)
        return row_fail(err, src, row, r->id, "needs exactly one of url and agent");
    if (has_url)
        return row_url(inv, src, row, r, t, err);
    t->agent = inv_agent(inv, r->agent);
    if (!t->agent) {
        char *m = xasprintf("agent '%s' is not declared in 'agents'", r->agent);
        row_fail(err, src, row, r->id, m);
        free(m);
        return false;
    }
    t->url.masked = xasprintf("agent:%s", r->agent);
    return true;
}

/* check_unique: every id once across the file and all sources, through a hash table. */
static bool check_unique(const Inventory *inv, const InvTenant *added, size_t n,
                         const InvSource *src, DroverError *err)
{
    struct hsearch_data ids = {0};
    size_t total = inv->ntenants + n;
    if (!hcreate_r(total * 2 + 16, &ids)) {
        error_set(err, ERR_CONFIG, "cannot index %zu tenant ids: %s", total, strerror(errno));
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < total; i++) {
        const InvTenant *t = i < inv->ntenants ? &inv->tenants[i] : &added[i - inv->ntenants];
        ENTRY probe = {.key = t->id, .data = (void *)t}, *found = NULL;
        if (hsearch_r(probe, FIND, &found, &ids) && found) {
            const InvTenant *first = found->data;
            char *m = xasprintf("tenant id '%s' is also declared at %s:%d", t->id, first->file,
                                first->line);
            ok = row_fail(err, src, (size_t)t->line, NULL, m);
            free(m);
        } else if (!hsearch_r(probe, ENTER, &found, &ids)) {
            ok = row_fail(err, src, (size_t)t->line, t->id, "cannot index the tenant id");
        }
    }
    hdestroy_r(&ids);
    return ok;
}

bool inv_add_rows(Inventory *inv, const InvSource *src, const InvRow *rows, size_t n,
                  DroverError *err)
{
    InvTenant *added = xcalloc(n ? n : 1, sizeof *added);
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++)
        ok = row_tenant(inv, src, i + 1, &rows[i], &added[i], err);
    ok = ok && check_unique(inv, added, n, src, err);
    if (ok) {
        inv->tenants = xrealloc(inv->tenants, (inv->ntenants + n + 1) * sizeof *inv->tenants);
        memcpy(inv->tenants + inv->ntenants, added, n * sizeof *added);
        inv->ntenants += n;
    } else {
        for (size_t i = 0; i < n; i++)
            inv_tenant_free(&added[i]);
    }
    free(added);
    return ok;
}

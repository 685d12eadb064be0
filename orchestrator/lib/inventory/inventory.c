/*
 * inventory.c — loading drover.cfg with libconfig and validating it strictly: every problem
 * is reported with the file and line that declares it, and no value from the environment
 * (where passwords come from) ever reaches a message.
 */
/* hcreate_r/hsearch_r, the reentrant hash table of glibc's <search.h>. */
#define _GNU_SOURCE
#include "drover/inventory.h"
#include "url_impl.h"
#include "inventory_impl.h"
#include "settings_impl.h"

#include <curl/curl.h>
#include <errno.h>
#include <libconfig.h>
#include <search.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The keys each group accepts; a new feature adds its key here and nowhere else. */
static const char *const TOP_KEYS[] = {"migrations", "environments", "tenants", "defaults",
                                       "journal", "notify", "agents", "tenants_from", "control",
                                       NULL};
static const char *const CONTROL_KEYS[] = {"url", "lease", NULL};
static const char *const SOURCE_KEYS[] = {"url", "query", "command", "http", "token", "timeout",
                                          NULL};
static const char *const MIGRATIONS_KEYS[] = {"path", "table", "schema", "node_modules",
                                               "no_transaction", NULL};
static const char *const DEFAULTS_KEYS[] = {"parallel", "max_per_server", "lock_wait",
                                            "lock_timeout", "statement_timeout", "retries", "backoff_ms",
                                            "backoff_max_ms", "rollback", "js_timeout", "js_runners",
                                            NULL};
static const char *const ENVIRONMENT_KEYS[] = {"name", "canary", "max_failures", "on_failure",
                                               "lock_timeout", "statement_timeout", "window",
                                               NULL};
static const char *const TENANT_KEYS[] = {"id", "env", "url", "agent", "tags", NULL};
static const char *const AGENT_KEYS[] = {"name", "url", "token", "ca", "timeout", NULL};
static const char *const NOTIFY_KEYS[] = {"url", "format", "events", "timeout", NULL};

const char *const inv_notify_events[] = {"run.started", "env.started", "env.finished",
                                         "tenant.failed", "run.halted", "run.finished", NULL};

#define DEFAULT_META_TABLE "SequelizeMeta"
#define DEFAULT_JOURNAL "drover-journal.db"
#define DEFAULT_CONTROL_LEASE_MS 30000
#define DEFAULT_NOTIFY_TIMEOUT_MS 5000
#define DEFAULT_AGENT_TIMEOUT_MS 30000

static const InvEngine ENGINE_DEFAULTS = {
    .parallel = 8,
    .max_per_server = 4,
    .lock_wait_ms = 30000,
    .lock_timeout_ms = 0,
    .retries = 3,
    .backoff_ms = 200,
    .backoff_max_ms = 10000,
    .rollback_batch = true,
    .js_timeout_ms = 600000,
};

const InvEngine *inv_engine_defaults(void)
{
    return &ENGINE_DEFAULTS;
}

typedef struct Loader {
    config_t cfg;
    Inventory *inv;
    DroverError *err;
    struct hsearch_data ids; /* tenant ids seen so far -> their index (valid with ids_ready) */
    bool ids_ready;
} Loader;

/* resolve_path keeps "x" instead of "./x" when dir is the current directory. */
static char *resolve_path(const char *dir, const char *p)
{
    if (strcmp(dir, ".") == 0)
        return xstrdup(p);
    return path_join(dir, p);
}

/* display_file names the file a setting comes from so that a person can open it: libconfig
 * records an @include by the name written in the directive, relative to the include dir. */
static char *display_file(const Loader *ld, const char *source)
{
    if (!source || strcmp(source, ld->inv->config_path) == 0)
        return xstrdup(ld->inv->config_path);
    return resolve_path(ld->inv->config_dir, source);
}

static void set_location(Loader *ld, const config_setting_t *s)
{
    char *file = display_file(ld, config_setting_source_file(s));
    error_set_location(ld->err, file, config_setting_source_line(s));
    free(file);
}

static bool fail_at(Loader *ld, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail_at(Loader *ld, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    error_set(ld->err, ERR_CONFIG, "%s", msg);
    free(msg);
    set_location(ld, s);
    return false;
}

static bool fail_missing_top(Loader *ld, const char *key)
{
    error_set(ld->err, ERR_CONFIG, "missing required key '%s'", key);
    error_set_location(ld->err, ld->inv->config_path, 0);
    return false;
}

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static char *join_list(const char *const *list)
{
    StrBuf sb;
    sb_init(&sb);
    for (size_t i = 0; list[i]; i++)
        sb_appendf(&sb, "%s%s", i ? ", " : "", list[i]);
    return sb_detach(&sb);
}

/* check_keys refuses any member of group not in allowed; where completes the message. */
static bool check_keys(Loader *ld, const config_setting_t *group, const char *const *allowed,
                       const char *where)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        if (in_list(allowed, name))
            continue;
        char *names = join_list(allowed);
        fail_at(ld, s, "unknown key '%s'%s (allowed: %s)", name, where, names);
        free(names);
        return false;
    }
    return true;
}

/* expand_setting checks that s is a string and returns it with ${VAR}s expanded. */
static bool expand_setting(Loader *ld, const config_setting_t *s, const char *label, char **out)
{
    *out = NULL;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail_at(ld, s, "'%s' must be a string", label);
    *out = inv_expand_env(config_setting_get_string(s), ld->err);
    if (!*out) {
        set_location(ld, s);
        return false;
    }
    return true;
}

/* read_string reads an optional string member; *out stays NULL when it is absent. */
static bool read_string(Loader *ld, const config_setting_t *group, const char *key,
                        const char *label, char **out)
{
    *out = NULL;
    const config_setting_t *s = config_setting_get_member(group, key);
    return !s || expand_setting(ld, s, label, out);
}

static bool require_string(Loader *ld, const config_setting_t *group, const char *key,
                           const char *label, const char *where, char **out)
{
    if (!read_string(ld, group, key, label, out))
        return false;
    if (!*out)
        return fail_at(ld, group, "missing required key '%s'%s", key, where);
    return true;
}

static bool require_non_empty(Loader *ld, const config_setting_t *group, const char *key,
                              const char *label, const char *value)
{
    if (!value || *value)
        return true;
    return fail_at(ld, config_setting_get_member(group, key), "'%s' must not be empty", label);
}

/* typed reports a settings_* refusal with the key, file and line. */
static bool typed(Loader *ld, const config_setting_t *s, const char *label, bool ok, char **why)
{
    if (!ok) {
        fail_at(ld, s, "'%s' %s", label, *why);
        free(*why);
        *why = NULL;
    }
    return ok;
}

/* ---- defaults (the fleet engine) -------------------------------------------------------- */

static bool load_engine_value(Loader *ld, const config_setting_t *d, const char *key)
{
    InvEngine *e = &ld->inv->engine;
    const config_setting_t *s = config_setting_get_member(d, key);
    char *why = NULL;
    char *label = xasprintf("defaults.%s", key);
    bool ok = true;
    if (!s)
        ok = true;
    else if (strcmp(key, "parallel") == 0)
        ok = typed(ld, s, label, settings_int(s, 1, 256, &e->parallel, &why), &why);
    else if (strcmp(key, "max_per_server") == 0)
        ok = typed(ld, s, label, settings_int(s, 1, 1024, &e->max_per_server, &why), &why);
    else if (strcmp(key, "retries") == 0)
        ok = typed(ld, s, label, settings_int(s, 0, 100, &e->retries, &why), &why);
    else if (strcmp(key, "lock_wait") == 0)
        ok = typed(ld, s, label, settings_duration(s, 1000, &e->lock_wait_ms, &why), &why);
    else if (strcmp(key, "lock_timeout") == 0)
        ok = typed(ld, s, label, settings_duration(s, 1, &e->lock_timeout_ms, &why), &why);
    else if (strcmp(key, "statement_timeout") == 0)
        ok = typed(ld, s, label, settings_duration(s, 1000, &e->statement_timeout_ms, &why), &why);
    else if (strcmp(key, "backoff_ms") == 0)
        ok = typed(ld, s, label, settings_duration(s, 1, &e->backoff_ms, &why), &why);
    else if (strcmp(key, "js_timeout") == 0)
        ok = typed(ld, s, label, settings_duration(s, 1000, &e->js_timeout_ms, &why), &why);
    else if (strcmp(key, "js_runners") == 0)
        ok = typed(ld, s, label, settings_int(s, 0, 256, &e->js_runners, &why), &why);
    else if (strcmp(key, "backoff_max_ms") == 0)
        ok = typed(ld, s, label, settings_duration(s, 1, &e->backoff_max_ms, &why), &why);
    else if (strcmp(key, "rollback") == 0) {
        static const char *const modes[] = {"batch", "none", NULL};
        size_t i = 0;
        ok = typed(ld, s, label, settings_choice(s, modes, &i, &why), &why);
        e->rollback_batch = i == 0;
    }
    free(label);
    return ok;
}

static bool load_defaults(Loader *ld, const config_setting_t *root)
{
    ld->inv->engine = ENGINE_DEFAULTS;
    const config_setting_t *d = config_setting_get_member(root, "defaults");
    if (!d)
        return true;
    if (config_setting_type(d) != CONFIG_TYPE_GROUP)
        return fail_at(ld, d, "'defaults' must be a group");
    if (!check_keys(ld, d, DEFAULTS_KEYS, " in 'defaults'"))
        return false;
    for (size_t i = 0; DEFAULTS_KEYS[i]; i++)
        if (!load_engine_value(ld, d, DEFAULTS_KEYS[i]))
            return false;
    if (ld->inv->engine.backoff_max_ms < ld->inv->engine.backoff_ms)
        return fail_at(ld, d, "'defaults.backoff_max_ms' must not be below 'defaults.backoff_ms'");
    return true;
}

static bool load_journal(Loader *ld, const config_setting_t *root)
{
    char *path = NULL;
    if (!read_string(ld, root, "journal", "journal", &path) ||
        !require_non_empty(ld, root, "journal", "journal", path)) {
        free(path);
        return false;
    }
    ld->inv->journal_path = resolve_path(ld->inv->config_dir, path ? path : DEFAULT_JOURNAL);
    free(path);
    return true;
}

/* load_control reads the optional `control` block: the PostgreSQL database the fleet's
 * coordinators share (control.h). The URL is checked here, so a bad one fails before anything
 * connects; it keeps its password and is never printed (control_url_masked is). */
static bool load_control(Loader *ld, const config_setting_t *root)
{
    const config_setting_t *c = config_setting_get_member(root, "control");
    ld->inv->control_lease_ms = DEFAULT_CONTROL_LEASE_MS;
    if (!c)
        return true;
    if (config_setting_type(c) != CONFIG_TYPE_GROUP)
        return fail_at(ld, c, "'control' must be a group: control = { url = \"postgres://...\"; }");
    char *url = NULL, *why = NULL;
    const config_setting_t *lease = config_setting_get_member(c, "lease");
    if (!check_keys(ld, c, CONTROL_KEYS, " in 'control'") ||
        !require_string(ld, c, "url", "control.url", " in 'control'", &url) ||
        (lease && !typed(ld, lease, "control.lease",
                         settings_duration(lease, 1000, &ld->inv->control_lease_ms, &why), &why))) {
        free(url);
        return false;
    }
    DbUrl parsed;
    bool ok = url_parse(url, ld->inv->config_dir, &parsed, ld->err);
    if (!ok)
        set_location(ld, config_setting_get_member(c, "url"));
    else if (parsed.dialect != DB_POSTGRES)
        ok = fail_at(ld, config_setting_get_member(c, "url"), "'control.url' must be a "
                     "PostgreSQL URL (postgres://...), not %s", parsed.masked);
    else if (ld->inv->control_lease_ms < 3000)
        ok = fail_at(ld, lease, "'control.lease' must be at least 3 s");
    if (ok) {
        ld->inv->control_url = url;
        ld->inv->control_url_masked = xstrdup(parsed.masked);
        url = NULL;
    }
    url_free(&parsed);
    free(url);
    return ok;
}

/* ---- migrations ------------------------------------------------------------------------- */

/* load_no_transaction reads migrations.no_transaction: the .js migrations to run outside a
 * transaction (checked against the set by fleetrun_new). */
static bool load_no_transaction(Loader *ld, const config_setting_t *m)
{
    const config_setting_t *s = config_setting_get_member(m, "no_transaction");
    if (!s)
        return true;
    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
        return fail_at(ld, s, "'no_transaction' must be a list of migration file names");
    for (int i = 0; i < config_setting_length(s); i++) {
        const char *name = config_setting_get_string_elem(s, i);
        if (!name || !*name)
            return fail_at(ld, s, "'no_transaction' must be a list of migration file names");
        sl_push(&ld->inv->no_transaction, name);
    }
    return true;
}

static bool load_migrations(Loader *ld, const config_setting_t *root)
{
    Inventory *inv = ld->inv;
    const config_setting_t *m = config_setting_get_member(root, "migrations");
    if (!m)
        return fail_missing_top(ld, "migrations");
    if (config_setting_type(m) != CONFIG_TYPE_GROUP)
        return fail_at(ld, m, "'migrations' must be a group");
    if (!check_keys(ld, m, MIGRATIONS_KEYS, " in 'migrations'"))
        return false;

    char *path = NULL;
    if (!require_string(ld, m, "path", "migrations.path", " in 'migrations'", &path) ||
        !require_non_empty(ld, m, "path", "migrations.path", path)) {
        free(path);
        return false;
    }
    inv->migrations_path = resolve_path(inv->config_dir, path);
    free(path);

    if (!read_string(ld, m, "table", "migrations.table", &inv->meta_table) ||
        !require_non_empty(ld, m, "table", "migrations.table", inv->meta_table))
        return false;
    if (!inv->meta_table)
        inv->meta_table = xstrdup(DEFAULT_META_TABLE);
    if (!read_string(ld, m, "schema", "migrations.schema", &inv->meta_schema) ||
        !require_non_empty(ld, m, "schema", "migrations.schema", inv->meta_schema))
        return false;
    char *mods = NULL;
    if (!read_string(ld, m, "node_modules", "migrations.node_modules", &mods) ||
        !require_non_empty(ld, m, "node_modules", "migrations.node_modules", mods)) {
        free(mods);
        return false;
    }
    if (mods)
        inv->node_modules = resolve_path(inv->config_dir, mods);
    free(mods);
    return load_no_transaction(ld, m);
}

/* ---- environments ----------------------------------------------------------------------- */

/* load_windows reads `window`: one string or a list of them. */
static bool load_windows(Loader *ld, const config_setting_t *s, InvEnvironment *env)
{
    bool list = config_setting_is_aggregate(s);
    size_t n = list ? (size_t)config_setting_length(s) : 1;
    env->windows = xcalloc(n ? n : 1, sizeof *env->windows);
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *w = list ? config_setting_get_elem(s, (unsigned)i) : s;
        if (config_setting_type(w) != CONFIG_TYPE_STRING)
            return fail_at(ld, w, "'window' must be a string or a list of strings");
        char *why = NULL;
        if (!inv_window_parse(config_setting_get_string(w), &env->windows[i], &why)) {
            fail_at(ld, w, "window '%s': %s", config_setting_get_string(w), why);
            free(why);
            return false;
        }
        env->nwindows++;
    }
    inv_window_schedule(env->windows, env->nwindows, time(NULL), &env->schedule);
    return true;
}

/* load_environment_policy reads the staged-rollout keys of one environment. */
static bool load_environment_policy(Loader *ld, const config_setting_t *e, InvEnvironment *env)
{
    const config_setting_t *s;
    char *why = NULL;
    env->lock_timeout_ms = -1;
    env->statement_timeout_ms = -1;
    if ((s = config_setting_get_member(e, "canary")) &&
        !typed(ld, s, "canary", settings_count(s, &env->canary, &why), &why))
        return false;
    if ((s = config_setting_get_member(e, "max_failures")) &&
        !typed(ld, s, "max_failures", settings_count(s, &env->max_failures, &why), &why))
        return false;
    if ((s = config_setting_get_member(e, "lock_timeout")) &&
        !typed(ld, s, "lock_timeout", settings_duration(s, 1, &env->lock_timeout_ms, &why), &why))
        return false;
    if ((s = config_setting_get_member(e, "window")) && !load_windows(ld, s, env))
        return false;
    if ((s = config_setting_get_member(e, "statement_timeout")) &&
        !typed(ld, s, "statement_timeout",
               settings_duration(s, 1000, &env->statement_timeout_ms, &why), &why))
        return false;
    if ((s = config_setting_get_member(e, "on_failure"))) {
        static const char *const actions[] = {"stop", "revert", NULL};
        size_t i = 0;
        if (!typed(ld, s, "on_failure", settings_choice(s, actions, &i, &why), &why))
            return false;
        env->revert_on_failure = i == 1;
    }
    return true;
}

static bool load_environment(Loader *ld, const config_setting_t *list, size_t i)
{
    const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
    if (config_setting_type(e) != CONFIG_TYPE_GROUP)
        return fail_at(ld, e, "'environments' must be a list of groups");
    if (!check_keys(ld, e, ENVIRONMENT_KEYS, " in an 'environments' entry"))
        return false;
    char **name = &ld->inv->envs[i].name;
    if (!require_string(ld, e, "name", "name", " in an 'environments' entry", name) ||
        !require_non_empty(ld, e, "name", "name", *name) ||
        !load_environment_policy(ld, e, &ld->inv->envs[i]))
        return false;
    for (size_t j = 0; j < i; j++) {
        if (strcmp(ld->inv->envs[j].name, *name) != 0)
            continue;
        const config_setting_t *first = config_setting_get_elem(list, (unsigned)j);
        char *file = display_file(ld, config_setting_source_file(first));
        fail_at(ld, e, "duplicate environment '%s' (first declared at %s:%d)", *name, file,
                config_setting_source_line(first));
        free(file);
        return false;
    }
    return true;
}

static bool load_environments(Loader *ld, const config_setting_t *root)
{
    const config_setting_t *list = config_setting_get_member(root, "environments");
    if (!list)
        return fail_missing_top(ld, "environments");
    if (config_setting_type(list) != CONFIG_TYPE_LIST)
        return fail_at(ld, list, "'environments' must be a list of groups");
    size_t n = (size_t)config_setting_length(list);
    if (n == 0)
        return fail_at(ld, list, "'environments' must declare at least one environment");
    ld->inv->envs = xcalloc(n, sizeof *ld->inv->envs);
    ld->inv->nenvs = n;
    for (size_t i = 0; i < n; i++)
        if (!load_environment(ld, list, i))
            return false;
    return true;
}

/* ---- tenants ---------------------------------------------------------------------------- */

/* Tenant ids become file names and log fields: a conservative alphabet, and never a path. */
char *inv_id_problem(const char *id)
{
    if (!*id)
        return xstrdup("tenant id must not be empty");
    size_t ok = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    if (id[ok])
        return xasprintf("tenant id '%s' may contain only letters, digits, '.', '_' and '-'", id);
    if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return xasprintf("tenant id '%s' is not allowed", id);
    return NULL;
}

static bool check_tenant_id(Loader *ld, const config_setting_t *g, const char *id)
{
    char *problem = inv_id_problem(id);
    if (!problem)
        return true;
    fail_at(ld, config_setting_get_member(g, "id"), "%s", problem);
    free(problem);
    return false;
}

/* check_unique_id looks the id up among those seen so far in a hash table: a fleet of 10,000
 * or 100,000 tenants must not pay a comparison with every earlier one. */
static bool check_unique_id(Loader *ld, const config_setting_t *g, size_t i)
{
    const InvTenant *t = &ld->inv->tenants[i];
    ENTRY probe = {.key = t->id, .data = (void *)(uintptr_t)i};
    ENTRY *found = NULL;
    if (hsearch_r(probe, FIND, &found, &ld->ids) && found) {
        const InvTenant *first = &ld->inv->tenants[(uintptr_t)found->data];
        return fail_at(ld, g, "duplicate tenant id '%s' (first declared at %s:%d)", t->id,
                       first->file, first->line);
    }
    if (!hsearch_r(probe, ENTER, &found, &ld->ids))
        return fail_at(ld, g, "cannot index tenant id '%s': %s", t->id, strerror(errno));
    return true;
}

static bool load_tenant_env(Loader *ld, const config_setting_t *g, InvTenant *t)
{
    if (!require_string(ld, g, "env", "env", "", &t->env))
        return false;
    if (!inv_environment(ld->inv, t->env))
        return fail_at(ld, config_setting_get_member(g, "env"),
                       "environment '%s' is not declared in 'environments'", t->env);
    return true;
}

/* load_tenant_agent: a tenant served by an agent has no url here (the agent holds the
 * credentials), so a url beside 'agent' is a mistake, never silently ignored. */
static bool load_tenant_agent(Loader *ld, const config_setting_t *g, InvTenant *t)
{
    const config_setting_t *s = config_setting_get_member(g, "agent");
    char *name = NULL;
    if (!expand_setting(ld, s, "agent", &name))
        return false;
    t->agent = inv_agent(ld->inv, name);
    bool ok = t->agent != NULL;
    if (!ok)
        fail_at(ld, s, "agent '%s' is not declared in 'agents'", name);
    else if (config_setting_get_member(g, "url"))
        ok = fail_at(ld, config_setting_get_member(g, "url"),
                     "a tenant served by agent '%s' must have no 'url' (the agent holds its "
                     "credentials)", name);
    else
        t->url.masked = xasprintf("agent:%s", name);
    free(name);
    return ok;
}

/* load_tenant_url parses the expanded URL but shows the URL as written (masked) in errors:
 * the expanded one may carry a secret in a place the masking does not know about. */
static bool load_tenant_url(Loader *ld, const config_setting_t *g, InvTenant *t)
{
    if (config_setting_get_member(g, "agent"))
        return load_tenant_agent(ld, g, t);
    const config_setting_t *s = config_setting_get_member(g, "url");
    if (!s)
        return fail_at(ld, g, "missing required key 'url' (or 'agent')");
    char *expanded = NULL;
    if (!expand_setting(ld, s, "url", &expanded))
        return false;
    char *shown = url_mask_text(config_setting_get_string(s));
    bool ok = url_parse_shown(expanded, shown, ld->inv->config_dir, &t->url, ld->err);
    free(shown);
    explicit_bzero(expanded, strlen(expanded));
    free(expanded);
    if (!ok)
        set_location(ld, s);
    return ok;
}

static bool load_tenant_tags(Loader *ld, const config_setting_t *g, InvTenant *t)
{
    const config_setting_t *s = config_setting_get_member(g, "tags");
    if (!s)
        return true;
    int type = config_setting_type(s);
    if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY)
        return fail_at(ld, s, "'tags' must be a list of strings");
    size_t n = (size_t)config_setting_length(s);
    t->tags = xcalloc(n, sizeof *t->tags);
    t->ntags = n;
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *tag = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(tag) != CONFIG_TYPE_STRING)
            return fail_at(ld, tag, "'tags' must be a list of strings");
        if (!expand_setting(ld, tag, "tags", &t->tags[i]))
            return false;
    }
    return true;
}

static bool load_tenant(Loader *ld, const config_setting_t *list, size_t i)
{
    InvTenant *t = &ld->inv->tenants[i];
    const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(ld, g, "'tenants' must be a list of groups");
    t->file = display_file(ld, config_setting_source_file(g));
    t->line = config_setting_source_line(g);
    if (!check_keys(ld, g, TENANT_KEYS, " in a 'tenants' entry") ||
        !require_string(ld, g, "id", "id", " in a 'tenants' entry", &t->id) ||
        !check_tenant_id(ld, g, t->id) || !check_unique_id(ld, g, i))
        return false;
    if (load_tenant_env(ld, g, t) && load_tenant_url(ld, g, t) && load_tenant_tags(ld, g, t))
        return true;
    error_set_context(ld->err, t->id, NULL, NULL);
    return false;
}

static bool load_tenants(Loader *ld, const config_setting_t *root)
{
    const config_setting_t *list = config_setting_get_member(root, "tenants");
    bool sourced = config_setting_get_member(root, "tenants_from") != NULL;
    if (!list && sourced)
        return true; /* every tenant comes from tenants_from (sources_resolve) */
    if (!list)
        return fail_missing_top(ld, "tenants");
    if (config_setting_type(list) != CONFIG_TYPE_LIST)
        return fail_at(ld, list, "'tenants' must be a list of groups");
    size_t n = (size_t)config_setting_length(list);
    if (n == 0 && !sourced)
        return fail_at(ld, list, "'tenants' must declare at least one tenant");
    /* Counted up front so that inv_free releases a tenant left half-loaded by an error. */
    ld->inv->tenants = xcalloc(n, sizeof *ld->inv->tenants);
    ld->inv->ntenants = n;
    if (!hcreate_r(n * 2 + 16, &ld->ids))
        return fail_at(ld, list, "cannot index %zu tenant ids: %s", n, strerror(errno));
    ld->ids_ready = true;
    for (size_t i = 0; i < n; i++)
        if (!load_tenant(ld, list, i))
            return false;
    return true;
}

/* ---- notify (webhooks) ------------------------------------------------------------------ */

bool inv_notify_wants(const InvNotify *n, const char *event)
{
    return sl_contains(&n->events, event);
}

/* url_part returns one part of a parsed URL (caller frees), or NULL when it has none. */
static char *url_part(CURLU *h, CURLUPart part)
{
    char *v = NULL;
    if (curl_url_get(h, part, &v, 0) != CURLUE_OK)
        return NULL;
    char *copy = xstrdup(v);
    curl_free(v);
    return copy;
}

/* UrlParts: what the http URLs in drover.cfg (webhooks, agents, tenants_from) are judged and
 * shown by, parsed once by libcurl's URL API; a part the URL lacks is NULL. */
typedef struct UrlParts {
    char *scheme, *host, *port, *path;
} UrlParts;

/* url_parts: false (all NULL) when libcurl cannot parse url. */
static bool url_parts(const char *url, UrlParts *p)
{
    *p = (UrlParts){0};
    CURLU *h = curl_url();
    bool ok = h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK;
    if (ok) {
        p->scheme = url_part(h, CURLUPART_SCHEME);
        p->host = url_part(h, CURLUPART_HOST);
        p->port = url_part(h, CURLUPART_PORT);
        p->path = url_part(h, CURLUPART_PATH);
    }
    curl_url_cleanup(h);
    return ok && p->scheme && p->host;
}

static void url_parts_free(UrlParts *p)
{
    free(p->scheme);
    free(p->host);
    free(p->port);
    free(p->path);
}

char *inv_notify_mask_url(const char *url)
{
    UrlParts p;
    char *out = url_parts(url, &p) ? xasprintf("%s://%s%s%s/***", p.scheme, p.host,
                                               p.port ? ":" : "", p.port ? p.port : "")
                                   : xstrdup("***");
    url_parts_free(&p);
    return out;
}

/* is_http_url: the URL parses and its scheme is http or https (no file://, smtp://, ...). */
static bool is_http_url(const char *url)
{
    UrlParts p;
    bool ok = url_parts(url, &p) && *p.host &&
              (strcmp(p.scheme, "http") == 0 || strcmp(p.scheme, "https") == 0);
    url_parts_free(&p);
    return ok;
}

/* load_notify_url: the message shows only the masked form, as the URL holds the token. */
static bool load_notify_url(Loader *ld, const config_setting_t *g, InvNotify *n)
{
    const config_setting_t *s = config_setting_get_member(g, "url");
    if (!s)
        return fail_at(ld, g, "missing required key 'url' in a 'notify' entry");
    if (!expand_setting(ld, s, "notify.url", &n->url))
        return false;
    n->masked = inv_notify_mask_url(n->url);
    if (!is_http_url(n->url))
        return fail_at(ld, s, "'notify.url' must be an http:// or https:// url (got '%s')",
                       n->masked);
    return true;
}

static bool load_notify_events(Loader *ld, const config_setting_t *g, InvNotify *n)
{
    const config_setting_t *s = config_setting_get_member(g, "events");
    if (!s) {
        for (size_t i = 0; inv_notify_events[i]; i++)
            sl_push(&n->events, inv_notify_events[i]);
        return true;
    }
    int type = config_setting_type(s);
    if ((type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) || config_setting_length(s) == 0)
        return fail_at(ld, s, "'notify.events' must be a non-empty list of event names");
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return fail_at(ld, e, "'notify.events' must be a non-empty list of event names");
        const char *name = config_setting_get_string(e);
        if (in_list(inv_notify_events, name)) {
            sl_push(&n->events, name);
            continue;
        }
        char *names = join_list(inv_notify_events);
        fail_at(ld, e, "unknown event '%s' in 'notify.events' (known: %s)", name, names);
        free(names);
        return false;
    }
    return true;
}

static bool load_notify_options(Loader *ld, const config_setting_t *g, InvNotify *n)
{
    const config_setting_t *s;
    char *why = NULL;
    n->timeout_ms = DEFAULT_NOTIFY_TIMEOUT_MS;
    if ((s = config_setting_get_member(g, "format"))) {
        static const char *const formats[] = {"json", "slack", NULL};
        size_t i = 0;
        if (!typed(ld, s, "notify.format", settings_choice(s, formats, &i, &why), &why))
            return false;
        n->slack = i == 1;
    }
    if ((s = config_setting_get_member(g, "timeout"))) {
        if (!typed(ld, s, "notify.timeout", settings_duration(s, 1000, &n->timeout_ms, &why),
                   &why))
            return false;
        if (n->timeout_ms == 0)
            return fail_at(ld, s, "'notify.timeout' must be above zero");
    }
    return true;
}

static bool load_notify(Loader *ld, const config_setting_t *root)
{
    const config_setting_t *list = config_setting_get_member(root, "notify");
    if (!list)
        return true;
    if (config_setting_type(list) != CONFIG_TYPE_LIST)
        return fail_at(ld, list, "'notify' must be a list of groups");
    size_t n = (size_t)config_setting_length(list);
    ld->inv->notify = xcalloc(n ? n : 1, sizeof *ld->inv->notify);
    ld->inv->nnotify = n;
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        InvNotify *t = &ld->inv->notify[i];
        if (config_setting_type(g) != CONFIG_TYPE_GROUP)
            return fail_at(ld, g, "'notify' must be a list of groups");
        if (!check_keys(ld, g, NOTIFY_KEYS, " in a 'notify' entry") ||
            !load_notify_url(ld, g, t) || !load_notify_events(ld, g, t) ||
            !load_notify_options(ld, g, t))
            return false;
    }
    return true;
}

/* ---- agents ----------------------------------------------------------------------------- */

/* load_agent_url: a base URL without userinfo (the token has its own key), so it is printable
 * as it stands. */
static bool load_agent_url(Loader *ld, const config_setting_t *g, InvAgent *a)
{
    if (!require_string(ld, g, "url", "agents.url", " in an 'agents' entry", &a->url))
        return false;
    const config_setting_t *s = config_setting_get_member(g, "url");
    if (!is_http_url(a->url))
        return fail_at(ld, s, "'agents.url' must be an http:// or https:// url (got '%s')",
                       a->url);
    if (strchr(a->url, '@'))
        return fail_at(ld, s, "'agents.url' must not carry a user or password (the token goes "
                              "in 'token')");
    size_t len = strlen(a->url);
    if (len && a->url[len - 1] == '/')
        a->url[len - 1] = '\0'; /* paths are appended as "/v1/..." */
    return true;
}

static bool load_agent_options(Loader *ld, const config_setting_t *g, InvAgent *a)
{
    char *ca = NULL;
    if (!read_string(ld, g, "ca", "agents.ca", &ca) ||
        !require_non_empty(ld, g, "ca", "agents.ca", ca)) {
        free(ca);
        return false;
    }
    if (ca)
        a->ca = resolve_path(ld->inv->config_dir, ca);
    free(ca);
    a->timeout_ms = DEFAULT_AGENT_TIMEOUT_MS;
    const config_setting_t *s = config_setting_get_member(g, "timeout");
    char *why = NULL;
    if (s && !typed(ld, s, "agents.timeout", settings_duration(s, 1000, &a->timeout_ms, &why),
                    &why))
        return false;
    if (s && a->timeout_ms < 100)
        return fail_at(ld, s, "'agents.timeout' must be at least 100ms");
    return true;
}

static bool load_agent(Loader *ld, const config_setting_t *list, size_t i)
{
    InvAgent *a = &ld->inv->agents[i];
    const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(ld, g, "'agents' must be a list of groups");
    a->file = display_file(ld, config_setting_source_file(g));
    a->line = config_setting_source_line(g);
    if (!check_keys(ld, g, AGENT_KEYS, " in an 'agents' entry") ||
        !require_string(ld, g, "name", "agents.name", " in an 'agents' entry", &a->name) ||
        !require_non_empty(ld, g, "name", "agents.name", a->name))
        return false;
    for (size_t j = 0; j < i; j++)
        if (strcmp(ld->inv->agents[j].name, a->name) == 0)
            return fail_at(ld, g, "duplicate agent '%s' (first declared at %s:%d)", a->name,
                           ld->inv->agents[j].file, ld->inv->agents[j].line);
    return load_agent_url(ld, g, a) &&
           require_string(ld, g, "token", "agents.token", " in an 'agents' entry", &a->token) &&
           require_non_empty(ld, g, "token", "agents.token", a->token) &&
           load_agent_options(ld, g, a);
}

static bool load_agents(Loader *ld, const config_setting_t *root)
{
    const config_setting_t *list = config_setting_get_member(root, "agents");
    if (!list)
        return true;
    if (config_setting_type(list) != CONFIG_TYPE_LIST)
        return fail_at(ld, list, "'agents' must be a list of groups");
    size_t n = (size_t)config_setting_length(list);
    /* Allocated once: tenants keep pointers into this array. */
    ld->inv->agents = xcalloc(n ? n : 1, sizeof *ld->inv->agents);
    ld->inv->nagents = n;
    for (size_t i = 0; i < n; i++)
        if (!load_agent(ld, list, i))
            return false;
    return true;
}

/* ---- the file --------------------------------------------------------------------------- */

static bool read_config(Loader *ld)
{
    if (!inv_check_files(ld->inv->config_path, ld->inv->config_dir, ld->err))
        return false;
    errno = 0;
    if (config_read_file(&ld->cfg, ld->inv->config_path))
        return true;
    if (config_error_type(&ld->cfg) == CONFIG_ERR_FILE_IO) {
        error_set(ld->err, ERR_CONFIG, "cannot read the inventory: %s",
                      errno ? strerror(errno) : config_error_text(&ld->cfg));
        error_set_location(ld->err, ld->inv->config_path, 0);
        return false;
    }
    char *file = display_file(ld, config_error_file(&ld->cfg));
    error_set(ld->err, ERR_CONFIG, "%s", config_error_text(&ld->cfg));
    error_set_location(ld->err, file, config_error_line(&ld->cfg));
    /* libconfig 1.5 does not say which file an @include could not open. */
    if (strstr(config_error_text(&ld->cfg), "include"))
        error_set_hint(ld->err, "@include paths are relative to the directory of '%s'",
                           ld->inv->config_path);
    free(file);
    return false;
}

/* ---- tenants_from ------------------------------------------------------------------------ */

/* http_label: scheme://host[:port]/path of an http source, without userinfo or query (either
 * may hold a secret). */
static char *http_label(const char *url)
{
    UrlParts p;
    char *out = url_parts(url, &p) ? xasprintf("%s://%s%s%s%s", p.scheme, p.host,
                                               p.port ? ":" : "", p.port ? p.port : "",
                                               p.path ? p.path : "")
                                   : xstrdup("(not a URL)");
    url_parts_free(&p);
    return out;
}

/* loopback_http: plain http carries the token in clear, so only to this machine. */
static bool loopback_http(const char *url)
{
    UrlParts p;
    bool ok = url_parts(url, &p) &&
              (strcmp(p.scheme, "https") == 0 ||
               (strcmp(p.scheme, "http") == 0 &&
                (strcmp(p.host, "127.0.0.1") == 0 || strcmp(p.host, "localhost") == 0 ||
                 strcmp(p.host, "[::1]") == 0)));
    url_parts_free(&p);
    return ok;
}

static bool load_source_sql(Loader *ld, const config_setting_t *g, InvSource *src)
{
    const config_setting_t *s = config_setting_get_member(g, "url");
    char *expanded = NULL;
    if (!expand_setting(ld, s, "url", &expanded))
        return false;
    char *shown = url_mask_text(config_setting_get_string(s));
    bool ok = url_parse_shown(expanded, shown, ld->inv->config_dir, &src->url, ld->err);
    explicit_bzero(expanded, strlen(expanded));
    free(expanded);
    if (!ok) {
        free(shown);
        set_location(ld, s);
        return false;
    }
    src->kind = INV_SOURCE_SQL;
    src->label = xasprintf("%s (%s)", src->label, shown);
    free(shown);
    return require_string(ld, g, "query", "query", " in a 'tenants_from' entry", &src->query) &&
           require_non_empty(ld, g, "query", "query", src->query);
}

static bool load_source_command(Loader *ld, const config_setting_t *g, InvSource *src)
{
    const config_setting_t *s = config_setting_get_member(g, "command");
    int type = config_setting_type(s);
    if ((type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) || config_setting_length(s) < 1)
        return fail_at(ld, s, "'command' must be a non-empty list of strings: the program and "
                              "its arguments (run without a shell)");
    for (int i = 0; i < config_setting_length(s); i++) {
        char *arg = NULL;
        if (!expand_setting(ld, config_setting_get_elem(s, (unsigned)i), "command", &arg))
            return false;
        sl_push_owned(&src->argv, arg);
    }
    src->kind = INV_SOURCE_COMMAND;
    src->label = xasprintf("%s (command %s)", src->label, config_setting_get_string_elem(s, 0));
    return true;
}

static bool load_source_http(Loader *ld, const config_setting_t *g, InvSource *src)
{
    const config_setting_t *s = config_setting_get_member(g, "http");
    if (!expand_setting(ld, s, "http", &src->http_url))
        return false;
    if (!loopback_http(src->http_url))
        return fail_at(ld, s, "'http' must be an https:// URL (plain http only to 127.0.0.1 or "
                              "localhost: the token would travel in clear)");
    src->kind = INV_SOURCE_HTTP;
    char *label = http_label(src->http_url);
    src->label = xasprintf("%s (http %s)", src->label, label);
    free(label);
    const config_setting_t *t = config_setting_get_member(g, "token");
    return !t || expand_setting(ld, t, "token", &src->token);
}

/* load_source reads one tenants_from entry: exactly one of url (with query), command, http. */
static bool load_source(Loader *ld, const config_setting_t *list, size_t i)
{
    InvSource *src = &ld->inv->sources[i];
    const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(ld, g, "'tenants_from' must be a list of groups");
    src->file = display_file(ld, config_setting_source_file(g));
    src->line = config_setting_source_line(g);
    src->timeout_ms = 30000;
    src->label = xasprintf("tenants_from[%zu]", i + 1);
    if (!check_keys(ld, g, SOURCE_KEYS, " in a 'tenants_from' entry"))
        return false;
    const config_setting_t *s;
    char *why = NULL;
    if ((s = config_setting_get_member(g, "timeout")) &&
        !typed(ld, s, "timeout", settings_duration(s, 1000, &src->timeout_ms, &why), &why))
        return false;
    int kinds = !!config_setting_get_member(g, "url") + !!config_setting_get_member(g, "command") +
                !!config_setting_get_member(g, "http");
    char *label = src->label;
    bool ok;
    if (kinds != 1)
        ok = fail_at(ld, g, "a 'tenants_from' entry needs exactly one of 'url' (with 'query'), "
                            "'command' or 'http'");
    else if (config_setting_get_member(g, "url"))
        ok = load_source_sql(ld, g, src);
    else if (config_setting_get_member(g, "command"))
        ok = load_source_command(ld, g, src);
    else
        ok = load_source_http(ld, g, src);
    if (src->label != label)
        free(label);
    return ok;
}

static bool load_sources(Loader *ld, const config_setting_t *root)
{
    const config_setting_t *list = config_setting_get_member(root, "tenants_from");
    if (!list)
        return true;
    if (config_setting_type(list) != CONFIG_TYPE_LIST || config_setting_length(list) < 1)
        return fail_at(ld, list, "'tenants_from' must be a non-empty list of groups");
    size_t n = (size_t)config_setting_length(list);
    ld->inv->sources = xcalloc(n, sizeof *ld->inv->sources);
    ld->inv->nsources = n;
    for (size_t i = 0; i < n; i++)
        if (!load_source(ld, list, i))
            return false;
    return true;
}

static bool load_root(Loader *ld)
{
    const config_setting_t *root = config_root_setting(&ld->cfg);
    return check_keys(ld, root, TOP_KEYS, "") && load_migrations(ld, root) &&
           load_defaults(ld, root) && load_journal(ld, root) && load_control(ld, root) &&
           load_environments(ld, root) &&
           load_agents(ld, root) && load_tenants(ld, root) && load_sources(ld, root) &&
           load_notify(ld, root);
}

Inventory *inv_load(const char *path, DroverError *err)
{
    Inventory *inv = xcalloc(1, sizeof *inv);
    inv->config_path = xstrdup(path);
    inv->config_dir = path_dirname(path);
    Loader ld = {.inv = inv, .err = err};
    config_init(&ld.cfg);
    /* @include "x.cfg" is resolved against the config file's directory, not the cwd. */
    config_set_include_dir(&ld.cfg, inv->config_dir);
    bool ok = read_config(&ld) && load_root(&ld);
    if (ld.ids_ready)
        hdestroy_r(&ld.ids); /* the keys are the tenants' own ids: not freed here */
    config_destroy(&ld.cfg);
    if (!ok) {
        inv_free(inv);
        return NULL;
    }
    return inv;
}

void inv_tenant_free(InvTenant *t)
{
    free(t->id);
    free(t->env);
    for (size_t i = 0; i < t->ntags; i++)
        free(t->tags[i]);
    free(t->tags);
    url_free(&t->url);
    free(t->file);
}

void inv_free(Inventory *inv)
{
    if (!inv)
        return;
    for (size_t i = 0; i < inv->ntenants; i++)
        inv_tenant_free(&inv->tenants[i]);
    free(inv->tenants);
    for (size_t i = 0; i < inv->nenvs; i++) {
        free(inv->envs[i].name);
        for (size_t k = 0; k < inv->envs[i].nwindows; k++)
            inv_window_free(&inv->envs[i].windows[k]);
        inv_window_schedule_free(&inv->envs[i].schedule);
        free(inv->envs[i].windows);
    }
    free(inv->envs);
    for (size_t i = 0; i < inv->nnotify; i++) {
        InvNotify *n = &inv->notify[i];
        if (n->url)
            explicit_bzero(n->url, strlen(n->url));
        free(n->url);
        free(n->masked);
        sl_free(&n->events);
    }
    free(inv->notify);
    for (size_t i = 0; i < inv->nagents; i++) {
        InvAgent *a = &inv->agents[i];
        if (a->token)
            explicit_bzero(a->token, strlen(a->token));
        free(a->token);
        free(a->name);
        free(a->url);
        free(a->ca);
        free(a->file);
    }
    free(inv->agents);
    for (size_t i = 0; i < inv->nsources; i++) {
        InvSource *s = &inv->sources[i];
        free(s->label);
        url_free(&s->url);
        free(s->query);
        sl_free(&s->argv);
        if (s->token)
            explicit_bzero(s->token, strlen(s->token));
        free(s->token);
        free(s->http_url);
        free(s->file);
    }
    free(inv->sources);
    free(inv->config_path);
    free(inv->config_dir);
    free(inv->migrations_path);
    free(inv->node_modules);
    sl_free(&inv->no_transaction);
    free(inv->meta_table);
    free(inv->meta_schema);
    free(inv->journal_path);
    free(inv->control_url);
    free(inv->control_url_masked);
    free(inv);
}

/*
 * inventory.h — the fleet as the operator declared it in drover.cfg (libconfig): where the
 * migrations live, the environments in rollout order, and the tenants with their database
 * URLs (url.h). Also tenant selection. Knows nothing of drivers or threads.
 */
#ifndef DROVER_INVENTORY_H
#define DROVER_INVENTORY_H

#include <stdbool.h>
#include <time.h>
#include <stddef.h>

#include "drover/error.h"
#include "drover/url.h"
#include "drover/util.h"

/* A drover-agent that serves tenants this process cannot reach ('agents' list; see
 * agentclient.h and docs/agent-api.md). */
typedef struct InvAgent {
    char *name;
    char *url;        /* base URL, http:// or https://, no userinfo: printable */
    char *token;      /* bearer token, ${VARs} expanded; a secret: never print */
    char *ca;         /* PEM CA bundle (resolved against the config file's directory), or NULL:
                         the system's CAs */
    long timeout_ms;  /* per HTTP request, default 30 s */
    char *file;       /* where it is declared */
    int line;
} InvAgent;

typedef struct InvTenant {
    char *id;
    char *env;
    char **tags;
    size_t ntags;
    /* agent == NULL: drover connects itself through url. Else the agent holds the tenant's
     * credentials: url is empty but for url.masked = "agent:NAME" (the dialect is unknown
     * until the agent answers; see exec_result_dialect). */
    const InvAgent *agent;
    DbUrl url;
    char *file; /* config file that declares the tenant (an @include may differ from the main one) */
    int line;
} InvTenant;

/* A count given as a number of tenants ("canary = 2") or a share of them ("10%"). */
typedef struct InvCount {
    bool set;
    bool percent;
    long value;
} InvCount;

/* inv_count_resolve turns a count into tenants out of total: a percentage rounds up (10% of
 * 5 tenants is 1), so a non-zero share never means zero tenants. */
size_t inv_count_resolve(const InvCount *c, size_t total);

/* A maintenance window (an environment's `window`, see window.c): on days (bit 0 Sunday ...
 * bit 6 Saturday), from start to end seconds after local midnight in zone tz; end <= start
 * crosses midnight. */
typedef struct InvWindow {
    unsigned days;
    int start, end;
    char *tz;
    char *text; /* as written */
} InvWindow;

bool inv_window_parse(const char *text, InvWindow *out, char **why);
void inv_window_free(InvWindow *w);
/* An environment's windows as absolute open intervals [from, until), sorted and disjoint,
 * from the inventory's load to INV_WINDOW_HORIZON_S after it (a run longer than that finds
 * its windows closed). */
#define INV_WINDOW_HORIZON_S (8 * 86400)
typedef struct InvWindowSchedule {
    time_t *from, *until;
    size_t n;
} InvWindowSchedule;
/* inv_window_schedule: once, before any other thread runs (it sets TZ for a moment). */
void inv_window_schedule(const InvWindow *w, size_t n, time_t now, InvWindowSchedule *out);
void inv_window_schedule_free(InvWindowSchedule *sc);
/* inv_window_schedule_open: whether t falls in an open interval; if not, *next_open is the
 * next opening (0: none within the horizon). Any thread. */
bool inv_window_schedule_open(const InvWindowSchedule *sc, time_t t, time_t *next_open);

typedef struct InvEnvironment {
    char *name;
    InvCount canary;       /* tenants that go first; unset: none */
    InvCount max_failures; /* failures tolerated before the run halts; unset: 0 */
    bool revert_on_failure; /* on_failure = "revert": a halt reverts what this run did here */
    long lock_timeout_ms;  /* -1: defaults.lock_timeout */
    long statement_timeout_ms; /* -1: defaults.statement_timeout */
    InvWindow *windows;    /* migrate/undo start this environment's tenants only inside one */
    size_t nwindows;
    InvWindowSchedule schedule; /* the windows as absolute times, computed by inv_load */
} InvEnvironment;

/* The fleet engine's settings (the 'defaults' group), each overridable on the command line. */
typedef struct InvEngine {
    long parallel;        /* worker threads, default 8 */
    long max_per_server;  /* concurrent jobs per host:port, default 4 */
    long lock_wait_ms;    /* how long a job waits for a tenant's lock, default 30 s */
    long lock_timeout_ms; /* per statement table-lock wait, 0 = server default (default) */
    long statement_timeout_ms; /* per statement run time, 0 = none (default); also bounds the
                                  wait for a server's answer (see DrvConnectOptions) */
    long retries;         /* retries of a transient fault, default 3 */
    long backoff_ms;      /* first backoff, default 200 ms */
    long backoff_max_ms;  /* backoff cap, default 10 s */
    bool rollback_batch;  /* rollback = "batch" (default) or "none" */
    long js_timeout_ms;   /* one .js migration section in the node runner, default 10 min */
    long js_runners;      /* node runner processes at most, 0 (default): one per CPU */
} InvEngine;

/* inv_engine_defaults: the one home of the engine's built-in settings, what an inventory without
 * a 'defaults' group gets and what a job without an engine runs with. */
const InvEngine *inv_engine_defaults(void);

/* A webhook that hears about migrate/undo runs ('notify' list; see notify.h). */
typedef struct InvNotify {
    char *url;       /* http(s), ${VAR}s expanded; a secret (Slack's carry a token): never print */
    char *masked;    /* printable form: scheme, host and port; the path shown as *** */
    bool slack;      /* format = "slack": {"text": ...}; else "json" (the generic payload) */
    StrList events;  /* the event names it wants (inv_notify_events); all when 'events' is absent */
    long timeout_ms; /* per attempt, default 5 s */
} InvNotify;

/* The event names 'notify.events' accepts, NULL-terminated, in the order a run emits them. */
extern const char *const inv_notify_events[];

/* inv_notify_wants tells whether the target asked for event. */
bool inv_notify_wants(const InvNotify *n, const char *event);

/* inv_notify_mask_url is the printable form of a webhook URL: its scheme, host and port with
 * the path and query (where the token lives) replaced by ***, e.g. "https://hooks.example/"
 * then "***"; just "***" when it does not parse. Caller frees. */
char *inv_notify_mask_url(const char *url);

/* Where tenants come from besides the 'tenants' list (tenants_from): the team's catalogue. */
typedef enum InvSourceKind { INV_SOURCE_SQL, INV_SOURCE_COMMAND, INV_SOURCE_HTTP } InvSourceKind;

typedef struct InvSource {
    InvSourceKind kind;
    char *label;      /* "tenants_from[N] (...)": how errors and `check` name it; no secret */
    DbUrl url;        /* SQL: the catalogue database */
    char *query;      /* SQL: returns id, env, url or agent, and optionally tags */
    StrList argv;     /* command: run without a shell */
    char *http_url;   /* http: ${VAR}s expanded */
    char *token;      /* http: bearer token, ${VAR}s expanded; NULL: none */
    long timeout_ms;  /* how long the source may take, default 30 s */
    char *file;       /* where drover.cfg declares it */
    int line;
} InvSource;

/* One tenant as a source returns it; NULL for a value the row lacks. Values may hold ${VAR}. */
typedef struct InvRow {
    const char *id, *env, *url, *agent;
    const char *tags; /* comma-separated, or a PostgreSQL array literal {a,b} */
} InvRow;


typedef struct Inventory {
    char *config_path;     /* as given */
    char *config_dir;      /* directory of config_path; relative paths resolve against it */
    char *migrations_path; /* absolute or relative to the cwd, resolved against config_dir */
    char *meta_table;      /* migrations.table, default "SequelizeMeta" */
    char *meta_schema;     /* migrations.schema (sequelize-cli's migrationStorageTableSchema), or NULL */
    char *node_modules;    /* migrations.node_modules: where .js migrations find sequelize, or
                              NULL (searched from the migrations folder upwards) */
    StrList no_transaction; /* migrations.no_transaction: .js migrations run outside a
                               transaction (CREATE INDEX CONCURRENTLY), as sequelize-cli runs
                               every one */
    char *journal_path;    /* 'journal', default drover-journal.db next to the config */
    char *control_url;     /* control.url: the PostgreSQL database the fleet's coordinators
                              share (control.h), or NULL; holds a password: never print */
    char *control_url_masked; /* the same with the password masked */
    long control_lease_ms; /* control.lease: how long a claim outlives a silent worker */
    InvEngine engine;
    InvEnvironment *envs;  /* rollout order */
    size_t nenvs;
    InvTenant *tenants;    /* declaration order */
    size_t ntenants;
    InvNotify *notify;     /* webhooks, declaration order; none when nnotify is 0 */
    size_t nnotify;
    InvAgent *agents;      /* declaration order; none when nagents is 0 */
    size_t nagents;
    InvSource *sources;    /* tenants_from, declaration order; resolved by sources_resolve */
    size_t nsources;
} Inventory;

/*
 * inv_load parses and validates a whole inventory. On any problem it returns NULL with err
 * kind ERR_CONFIG and, where known, err->file/err->line: syntax errors, unknown keys,
 * wrong types, missing required keys, duplicate tenant ids or environment names, a tenant
 * whose env is not declared, an unset ${VAR}, a bad URL, a duplicate or undeclared agent, an
 * agent tenant with a url. It touches no database.
 */
/*
 * inv_add_rows validates a source's rows as file entries are validated (id alphabet, declared
 * environment, URL scheme, declared agent, ids unique across the file and every source) and
 * appends them to the tenants. On the first bad row: false, ERR_CONFIG naming the source, the
 * row's number and id, located at the source's entry in drover.cfg; nothing is appended.
 */
bool inv_add_rows(Inventory *inv, const InvSource *src, const InvRow *rows, size_t n,
                  DroverError *err);

Inventory *inv_load(const char *path, DroverError *err);
void inv_free(Inventory *inv); /* inv_free(NULL) is a no-op */

/*
 * inv_expand_env replaces each ${NAME} with the environment variable's value. "$$" is not
 * special; a "$" not followed by "{" is kept. An unset variable or an unterminated "${"
 * fails (ERR_CONFIG, message names the variable). The caller frees the result.
 */
char *inv_expand_env(const char *text, DroverError *err);

/* Selection: within one list the values are alternatives (OR); across lists all must hold
 * (AND). Empty lists select everything. */
typedef struct InvSelector {
    StrList envs;
    StrList tenants;
    StrList tags;
    size_t shard_index; /* --shard I/N: keep tenants whose id hashes to I modulo N */
    size_t shard_count; /* 0: no sharding */
} InvSelector;

/* inv_agent finds a declared agent by name, or NULL. */
const InvAgent *inv_agent(const Inventory *inv, const char *name);
/* inv_environment finds a declared environment by name, or NULL. */
const InvEnvironment *inv_environment(const Inventory *inv, const char *name);
/* inv_tenant_has_tag tells whether the tenant carries tag. */
bool inv_tenant_has_tag(const InvTenant *t, const char *tag);

/* inv_shard_of is the stable shard of a tenant id among count shards (FNV-1a 32 of the id),
 * the same on every machine and every run. */
size_t inv_shard_of(const char *tenant_id, size_t count);

/*
 * inv_select returns the indexes of the selected tenants in rollout order: environments in
 * declared order, tenants in declaration order within each. An --env or --tenant value that
 * names nothing in the inventory is an error (ERR_USAGE), and so is a selection that
 * matches no tenant before sharding; a shard may be empty (more shards than tenants). *out is
 * malloc'd; the caller frees it.
 */
bool inv_select(const Inventory *inv, const InvSelector *sel, size_t **out, size_t *nout,
                DroverError *err);

#endif

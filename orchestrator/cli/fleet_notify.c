/*
 * fleet_notify.c — payloads of a run's webhook events (fleet_notify.h, shapes in notify.h).
 * Tenants appear by id with their masked URL; no payload ever holds a password or a webhook
 * URL.
 */
#include "fleet_notify.h"

#include <stdlib.h>

typedef struct Tally {
    size_t tenants;
    size_t failures;
    size_t by_outcome[EXEC_OUT_COUNT];
} Tally;

static void tally_add(Tally *t, const ExecResult *res)
{
    t->tenants++;
    t->failures += exec_outcome_is_failure(res->outcome);
    t->by_outcome[res->outcome]++;
}

/* counts_json: {"tenants", "failures", "outcomes": {outcome: n}} with the non-zero outcomes. */
static json_t *counts_json(const Tally *t)
{
    json_t *outcomes = json_object();
    for (int o = 0; o < EXEC_OUT_COUNT; o++)
        if (t->by_outcome[o])
            json_object_set_new(outcomes, exec_outcome_name((ExecOutcome)o),
                                json_integer((json_int_t)t->by_outcome[o]));
    return json_pack("{s:I, s:I, s:o}", "tenants", (json_int_t)t->tenants, "failures",
                     (json_int_t)t->failures, "outcomes", outcomes);
}

static json_t *tenants_only(size_t n)
{
    return json_pack("{s:I}", "tenants", (json_int_t)n);
}

static json_t *payload_new(const FleetNotify *fn)
{
    json_t *p = json_pack("{s:{s:I, s:s}}", "run", "id", (json_int_t)fn->run_id, "command",
                          fn->command);
    if (fn->shared_name)
        json_object_set_new(json_object_get(p, "run"), "name", json_string(fn->shared_name));
    return p;
}

/* announces: whether this process sends event (about env, or NULL) for the run. */
static bool announces(FleetNotify *fn, const char *event, const char *env)
{
    if (!fn->notifier)
        return false;
    if (!env)
        return fleetrun_announces(fn->run, event);
    char *key = xasprintf("%s:%s", event, env);
    bool yes = fleetrun_announces(fn->run, key);
    free(key);
    return yes;
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *tenant_json(const ExecResult *res)
{
    const InvTenant *t = res->tenant;
    char *error = error_is_set(&res->error) ? error_summary(&res->error) : NULL;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", t->id, "env", t->env,
                          "dialect", exec_result_dialect(res), "url", exec_result_url(res),
                          "outcome", exec_outcome_name(res->outcome), "migration",
                          string_or_null(res->error.migration), "error", string_or_null(error));
    free(error);
    return o;
}

void fleet_notify_begin(FleetNotify *fn, const Inventory *inv, FleetRun *run,
                        const char *command, const char *shared_name)
{
    size_t n = fleetrun_count(run);
    *fn = (FleetNotify){.run_id = fleetrun_journal_run_id(run), .command = command,
                        .results = fleetrun_results(run), .n = n, .run = run,
                        .shared_name = shared_name};
    fn->notifier = notify_start(inv);
    if (!fn->notifier)
        return;
    fn->failure_sent = xcalloc(n ? n : 1, sizeof *fn->failure_sent);
    if (!announces(fn, NOTIFY_RUN_STARTED, NULL))
        return;
    json_t *p = payload_new(fn);
    json_object_set_new(p, "counts", tenants_only(n));
    notify_event(fn->notifier, NOTIFY_RUN_STARTED, p);
}

void fleet_notify_env_started(FleetNotify *fn, const InvEnvironment *env, size_t ntenants)
{
    if (!announces(fn, NOTIFY_ENV_STARTED, env->name))
        return;
    json_t *p = payload_new(fn);
    json_object_set_new(p, "environment", json_string(env->name));
    json_object_set_new(p, "counts", tenants_only(ntenants));
    notify_event(fn->notifier, NOTIFY_ENV_STARTED, p);
}

void fleet_notify_tenant(FleetNotify *fn, const ExecResult *res)
{
    if (!fn->notifier || !exec_outcome_is_failure(res->outcome))
        return;
    size_t i = (size_t)(res - fn->results);
    if (i >= fn->n || fn->failure_sent[i])
        return;
    fn->failure_sent[i] = true;
    json_t *p = payload_new(fn);
    json_object_set_new(p, "environment", json_string(res->tenant->env));
    json_object_set_new(p, "tenant", tenant_json(res));
    notify_event(fn->notifier, NOTIFY_TENANT_FAILED, p);
}

void fleet_notify_env_finished(FleetNotify *fn, const InvEnvironment *env,
                               const ExecResult *const *results, size_t n)
{
    if (!fn->notifier)
        return;
    for (size_t i = 0; i < n; i++)
        fleet_notify_tenant(fn, results[i]);
    if (!announces(fn, NOTIFY_ENV_FINISHED, env->name))
        return;
    Tally t = {0};
    for (size_t i = 0; i < n; i++)
        tally_add(&t, results[i]);
    json_t *p = payload_new(fn);
    json_object_set_new(p, "environment", json_string(env->name));
    json_object_set_new(p, "counts", counts_json(&t));
    notify_event(fn->notifier, NOTIFY_ENV_FINISHED, p);
}

void fleet_notify_halted(FleetNotify *fn, const char *reason)
{
    if (!announces(fn, NOTIFY_RUN_HALTED, NULL))
        return;
    json_t *p = payload_new(fn);
    json_object_set_new(p, "reason", json_string(reason));
    notify_event(fn->notifier, NOTIFY_RUN_HALTED, p);
}

void fleet_notify_finished(FleetNotify *fn, const char *outcome)
{
    if (!announces(fn, NOTIFY_RUN_FINISHED, NULL))
        return;
    Tally t = {0};
    for (size_t i = 0; i < fn->n; i++)
        tally_add(&t, &fn->results[i]);
    json_t *p = payload_new(fn);
    json_object_set_new(json_object_get(p, "run"), "outcome", json_string(outcome));
    json_object_set_new(p, "counts", counts_json(&t));
    notify_event(fn->notifier, NOTIFY_RUN_FINISHED, p);
}

void fleet_notify_end(FleetNotify *fn)
{
    if (fn->notifier)
        notify_stop(fn->notifier, notify_drain_ms(fn->notifier));
    free(fn->failure_sent);
    *fn = (FleetNotify){0};
}

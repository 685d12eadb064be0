/*
 * batch.c — the batches drover-agent runs: validation of a submission (with no side effect
 * when refused), one thread per batch running a FleetRun (fleetrun.h, the same run engine as
 * `drover`), results readable while it runs, cancellation, and the counters /metrics shows.
 *
 * DESIGN: the registry owns every Batch for the agent's lifetime (run ids are remembered so a
 * resubmission never runs a tenant twice). One mutex, AgentRegistry.mu, guards the batch list,
 * each batch's `done_json`, `state`, `outcome` and every counter. A batch thread reads only
 * its own immutable fields (selection, run) without it and takes it to publish a result.
 * Cancelling sets `cancelled` and the run's own stop flag (fleetrun_stop), which any thread
 * may do.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "drover/executor.h"
#include "drover/fleetrun.h"
#include "drover/report.h"

typedef enum BatchState { BATCH_RUNNING = 0, BATCH_DONE, BATCH_CANCELLED } BatchState;

static const char *const batch_state_names[] = {"running", "done", "cancelled"};

typedef struct Batch {
    char *id;
    char *run_id;
    char *command;          /* "migrate", "undo", "status", "verify" */
    FleetRunOptions opts;   /* what the request asked for */
    size_t *selected;       /* indexes into the inventory, rollout order */
    size_t n;
    FleetRun *run;          /* its results are read only once the thread ended */
    atomic_int cancelled;
    pthread_t thread;
    bool started;
    bool joined;            /* its thread was reaped (guarded by AgentRegistry.mu) */
    /* guarded by AgentRegistry.mu: */
    BatchState state;
    const char *outcome;    /* rollout_outcome_name, once done */
    json_t *done_json;      /* tenant objects in the order they finished */
    struct AgentRegistry *reg;
} Batch;

struct AgentRegistry {
    const AgentFleet *fleet;
    pthread_mutex_t mu;
    Batch **batches;
    size_t nbatches;
    unsigned long next_id;
    size_t by_outcome[EXEC_OUT_COUNT];
    size_t batches_by_state[3];
    size_t requests_2xx, requests_4xx, requests_5xx;
};

char *agent_log_safe(const char *s)
{
    StrBuf sb;
    sb_init(&sb);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            sb_appendf(&sb, "\\x%02x", *p);
        else
            sb_appendc(&sb, (char)*p);
    }
    if (!sb.data)
        sb_append(&sb, "");
    return sb_detach(&sb);
}

AgentReply agent_error_reply(unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    AgentReply r = {status, json_pack("{s:s}", "error", msg)};
    free(msg);
    return r;
}

AgentRegistry *agent_registry_new(const AgentFleet *fleet)
{
    AgentRegistry *r = xcalloc(1, sizeof *r);
    r->fleet = fleet;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void batch_free(Batch *b)
{
    fleetrun_free(b->run);
    json_decref(b->done_json);
    free(b->selected);
    free(b->id);
    free(b->run_id);
    free(b->command);
    free(b);
}

void agent_registry_free(AgentRegistry *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->nbatches; i++)
        if (r->batches[i]->run)
            fleetrun_stop(r->batches[i]->run);
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < r->nbatches; i++) {
        if (r->batches[i]->started && !r->batches[i]->joined)
            pthread_join(r->batches[i]->thread, NULL);
        batch_free(r->batches[i]);
    }
    free(r->batches);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* tenant_json is a tenant's object as `drover migrate --format json` prints it, or for a
 * status batch as `drover status --format json` does (plus outcome and the schema lines), so
 * that the coordinator can rebuild the result (report_tenant_from_json). */
static json_t *tenant_json(const char *command, const ExecResult *res)
{
    return report_tenant_json(command, res);
}

/* on_finished runs on the batch's rollout coordinator thread as each tenant ends. */
static void on_finished(const ExecResult *res, const RolloutProgress *p, void *ctx)
{
    (void)p;
    Batch *b = ctx;
    json_t *t = tenant_json(b->command, res);
    pthread_mutex_lock(&b->reg->mu);
    json_array_append_new(b->done_json, t);
    b->reg->by_outcome[res->outcome]++;
    pthread_mutex_unlock(&b->reg->mu);
    fprintf(stderr, "drover-agent: batch %s: tenant '%s' %s\n", b->id, res->tenant->id,
            exec_outcome_name(res->outcome));
}

static void *batch_main(void *arg)
{
    Batch *b = arg;
    char *reason = NULL;
    RolloutOutcome o = fleetrun_run(b->run, &reason);
    /* Tenants never attempted (cancelled) get no finished call: publish the full list now. */
    const ExecResult *results = fleetrun_results(b->run);
    json_t *all = json_array();
    for (size_t i = 0; i < b->n; i++)
        json_array_append_new(all, tenant_json(b->command, &results[i]));
    bool cancelled = atomic_load(&b->cancelled);
    pthread_mutex_lock(&b->reg->mu);
    json_decref(b->done_json);
    b->done_json = all;
    /* Everything a GET shows is in done_json now: the results, connections and runner
     * sessions of the run go, so a long-lived agent does not grow with every batch. */
    FleetRun *run = b->run;
    b->run = NULL;
    b->outcome = rollout_outcome_name(o);
    b->reg->batches_by_state[b->state]--;
    b->state = cancelled ? BATCH_CANCELLED : BATCH_DONE;
    b->reg->batches_by_state[b->state]++;
    pthread_mutex_unlock(&b->reg->mu);
    fleetrun_free(run);
    /* The rollout words a stop as a signal's; here it was a cancel request. */
    if (cancelled) {
        free(reason);
        reason = xstrdup("cancelled: dispatching stopped, running jobs finished");
    }
    fprintf(stderr, "drover-agent: batch %s (run '%s') %s%s%s\n", b->id, b->run_id,
            rollout_outcome_name(o), reason ? ": " : "", reason ? reason : "");
    free(reason);
    return NULL;
}

static Batch *find_locked(AgentRegistry *r, const char *id, const char *run_id)
{
    for (size_t i = 0; i < r->nbatches; i++) {
        Batch *b = r->batches[i];
        if ((id && strcmp(b->id, id) == 0) || (run_id && strcmp(b->run_id, run_id) == 0))
            return b;
    }
    return NULL;
}

/* digest_refusal: NULL when the coordinator's set matches ours, else the 409. The request
 * may carry "migrations": {name: digest} so the answer can name the files that differ. */
static json_t *digest_refusal(const AgentFleet *f, const json_t *req)
{
    const char *want = json_string_value(json_object_get(req, "migrations_digest"));
    if (want && strcmp(want, f->set_digest) == 0)
        return NULL;
    json_t *files = json_object_get(req, "migrations");
    json_t *differ = json_array();
    if (json_is_object(files)) {
        for (size_t i = 0; i < f->file_names.n; i++) {
            const char *theirs = json_string_value(json_object_get(files, f->file_names.items[i]));
            if (!theirs || strcmp(theirs, f->file_digests.items[i]) != 0)
                json_array_append_new(differ, json_string(f->file_names.items[i]));
        }
        const char *name;
        json_t *v;
        json_object_foreach(files, name, v) {
            if (!sl_contains(&f->file_names, name))
                json_array_append_new(differ, json_string(name));
        }
    }
    StrBuf msg;
    sb_init(&msg);
    sb_appendf(&msg, "migration set differs from the agent's (digest '%s')", f->set_digest);
    for (size_t i = 0; i < json_array_size(differ); i++)
        sb_appendf(&msg, "%s'%s'", i ? ", " : ": ", json_string_value(json_array_get(differ, i)));
    json_t *body = json_pack("{s:s,s:s,s:o}", "error", msg.data, "agent_digest", f->set_digest,
                             "differing", differ);
    sb_free(&msg);
    return body;
}

/* A field of a batch request and the JSON type it must have. */
typedef enum FieldType { FIELD_STRING, FIELD_ARRAY, FIELD_OBJECT, FIELD_BOOL, FIELD_COUNT } FieldType;
typedef struct FieldRule {
    const char *name;
    FieldType type;
} FieldRule;

static const FieldRule REQUEST_FIELDS[] = {
    {"run_id", FIELD_STRING},       {"command", FIELD_STRING}, {"tenants", FIELD_ARRAY},
    {"to", FIELD_STRING},           {"options", FIELD_OBJECT}, {"migrations_digest", FIELD_STRING},
    {"migrations", FIELD_OBJECT},   {NULL, FIELD_STRING},
};
static const FieldRule OPTION_FIELDS[] = {
    {"steps", FIELD_COUNT}, {"all", FIELD_BOOL},    {"dry_run", FIELD_BOOL},
    {"schema", FIELD_BOOL}, {"continue_on_error", FIELD_BOOL}, {NULL, FIELD_STRING},
};
static const char *const FIELD_TYPE_NAMES[] = {"a string", "an array", "an object",
                                               "true or false", "a whole number"};

static bool has_type(const json_t *v, FieldType t)
{
    switch (t) {
    case FIELD_STRING: return json_is_string(v);
    case FIELD_ARRAY: return json_is_array(v);
    case FIELD_OBJECT: return json_is_object(v);
    case FIELD_BOOL: return json_is_boolean(v);
    case FIELD_COUNT: return json_is_integer(v) && json_integer_value(v) >= 0;
    }
    return false;
}

/* check_fields: every field of obj is one of rules, of its type; a wrong one is a 400 that
 * names it (prefix "options." for the options), so that "dry_run": "true" can never be taken
 * for a migrate. */
static bool check_fields(const json_t *obj, const FieldRule *rules, const char *prefix,
                         AgentReply *refuse)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        const FieldRule *r = rules;
        while (r->name && strcmp(r->name, key) != 0)
            r++;
        if (!r->name) {
            char *shown = agent_log_safe(key);
            *refuse = agent_error_reply(400, "unknown field '%s%s'", prefix, shown);
            free(shown);
            return false;
        }
        if (!has_type(v, r->type)) {
            *refuse = agent_error_reply(400, "'%s%s' must be %s", prefix, key,
                                        FIELD_TYPE_NAMES[r->type]);
            return false;
        }
    }
    return true;
}

/* check_run_id: a run id is printable text; it is logged and sent back. */
static bool check_run_id(const char *run_id, AgentReply *refuse)
{
    for (const unsigned char *p = (const unsigned char *)run_id; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            *refuse = agent_error_reply(400, "'run_id' must not hold control characters");
            return false;
        }
    return true;
}

static bool check_request(const json_t *req, AgentReply *refuse)
{
    if (!check_fields(req, REQUEST_FIELDS, "", refuse))
        return false;
    const json_t *opts = json_object_get(req, "options");
    if (opts && !check_fields(opts, OPTION_FIELDS, "options.", refuse))
        return false;
    const json_t *files = json_object_get(req, "migrations");
    const char *name;
    json_t *digest;
    json_object_foreach((json_t *)files, name, digest) {
        if (!json_is_string(digest)) {
            *refuse = agent_error_reply(400, "'migrations' must map file names to digests "
                                             "(strings)");
            return false;
        }
    }
    const char *run_id = json_string_value(json_object_get(req, "run_id"));
    return !run_id || check_run_id(run_id, refuse);
}

static bool parse_command(const char *s, ExecCommand *out)
{
    if (!s)
        return false;
    if (strcmp(s, "migrate") == 0)
        *out = EXEC_MIGRATE;
    else if (strcmp(s, "undo") == 0)
        *out = EXEC_UNDO;
    else if (strcmp(s, "status") == 0)
        *out = EXEC_STATUS;
    else if (strcmp(s, "verify") == 0)
        *out = EXEC_VERIFY;
    else
        return false;
    return true;
}

/* parse_options fills the batch's ExecOptions from "to" and "options"; a refusal is a 400. */
static bool parse_options(const AgentFleet *f, const json_t *req, Batch *b, AgentReply *refuse)
{
    const json_t *opts = json_object_get(req, "options");
    if (opts && !json_is_object(opts)) {
        *refuse = agent_error_reply(400, "'options' must be an object");
        return false;
    }
    ExecOptions *exec = &b->opts.exec;
    const char *to = json_string_value(json_object_get(req, "to"));
    exec->to = to ? mig_find(&f->set, to) : -1;
    if (to && exec->to < 0) {
        *refuse = agent_error_reply(400, "unknown migration '%s'", to);
        return false;
    }
    json_int_t steps = json_integer_value(json_object_get(opts, "steps"));
    bool all = json_is_true(json_object_get(opts, "all"));
    exec->dry_run = json_is_true(json_object_get(opts, "dry_run"));
    exec->schema = json_is_true(json_object_get(opts, "schema"));
    b->opts.continue_on_error = json_is_true(json_object_get(opts, "continue_on_error"));
    exec->undo_mode = all ? PLAN_UNDO_ALL : to ? PLAN_UNDO_TO : PLAN_UNDO_STEPS;
    exec->steps = steps > 0 ? (size_t)steps : 0;
    if (exec->command == EXEC_UNDO && !all && !to && steps < 1) {
        *refuse = agent_error_reply(400, "undo needs 'to', 'options.steps' (at least 1) or "
                                         "'options.all'");
        return false;
    }
    exec->application_name = "drover-agent";
    b->opts.parallel = (size_t)f->parallel;
    b->opts.hooks = (RolloutHooks){.finished = on_finished, .ctx = b};
    return true;
}

/* js_runnable: a batch that writes with a set holding .js files needs the node runner that
 * the agent could not start (no node, no sequelize, a driver missing): a 409 that says why,
 * and nothing starts. The coordinator's preflight refuses before it gets this far. */
static bool js_runnable(const AgentFleet *f, const ExecOptions *exec, AgentReply *refuse)
{
    bool runs_js = ((exec->command == EXEC_MIGRATE || exec->command == EXEC_UNDO) &&
                    !exec->dry_run) || exec->command == EXEC_VERIFY;
    if (!runs_js || !f->has_js || f->js_ready)
        return true;
    *refuse = agent_error_reply(409, "this agent cannot run the set's .js migrations: %s",
                                f->js_error);
    return false;
}

/* select_tenants maps the tenant ids to inventory indexes in rollout order; an unknown id is
 * a 400 naming it. */
static bool select_tenants(const AgentFleet *f, const json_t *ids, Batch *b, AgentReply *refuse)
{
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        *refuse = agent_error_reply(400, "'tenants' must be a non-empty array of tenant ids");
        return false;
    }
    InvSelector sel = {0};
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        if (!id) {
            sl_free(&sel.tenants);
            *refuse = agent_error_reply(400, "'tenants' must hold strings");
            return false;
        }
        sl_push(&sel.tenants, id);
    }
    DroverError err = DROVER_ERROR_INIT;
    bool ok = inv_select(f->inv, &sel, &b->selected, &b->n, &err);
    if (!ok)
        *refuse = agent_error_reply(400, "%s", err.message ? err.message : "bad tenant list");
    error_clear(&err);
    sl_free(&sel.tenants);
    return ok;
}

/* covers_tenants: a resubmission must name tenants the remembered batch holds. */
static bool covers_tenants(const AgentFleet *f, const Batch *b, const json_t *ids)
{
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        bool found = false;
        for (size_t j = 0; id && j < b->n && !found; j++)
            found = strcmp(f->inv->tenants[b->selected[j]].id, id) == 0;
        if (!found)
            return false;
    }
    return true;
}

static AgentReply batch_ref(const Batch *b, unsigned status)
{
    return (AgentReply){status, json_pack("{s:s,s:s}", "batch_id", b->id, "run_id", b->run_id)};
}

/* existing_reply answers a resubmitted run id (under the lock): the same batch, never a new
 * run; a different command or tenants outside it are refused. */
static AgentReply existing_reply(const AgentFleet *f, const Batch *b, const char *command,
                                 const json_t *ids)
{
    if (strcmp(b->command, command) != 0 || !covers_tenants(f, b, ids))
        return agent_error_reply(409, "run '%s' already has batch '%s' with another command "
                                      "or other tenants", b->run_id, b->id);
    return batch_ref(b, 200);
}

/* reap_locked joins the threads of batches that have ended, so that each finished batch gives
 * its stack back (a thread that published its end is at most returning). */
static void reap_locked(AgentRegistry *r)
{
    for (size_t i = 0; i < r->nbatches; i++) {
        Batch *b = r->batches[i];
        if (b->started && !b->joined && b->state != BATCH_RUNNING) {
            pthread_join(b->thread, NULL);
            b->joined = true;
        }
    }
}

static AgentReply start_locked(AgentRegistry *r, Batch *b)
{
    reap_locked(r);
    DroverError err = DROVER_ERROR_INIT;
    b->run = fleetrun_new(r->fleet->inv, &r->fleet->set, b->selected, b->n, &b->opts, &err);
    if (!b->run) {
        AgentReply refused = agent_error_reply(409, "%s", err.message ? err.message : "refused");
        error_clear(&err);
        batch_free(b);
        return refused;
    }
    b->id = xasprintf("b%lu", ++r->next_id);
    b->reg = r;
    b->done_json = json_array();
    b->state = BATCH_RUNNING;
    if (pthread_create(&b->thread, NULL, batch_main, b) != 0) {
        r->next_id--;
        batch_free(b);
        return agent_error_reply(503, "cannot start a thread for the batch");
    }
    b->started = true;
    r->batches = xrealloc(r->batches, (r->nbatches + 1) * sizeof *r->batches);
    r->batches[r->nbatches++] = b;
    r->batches_by_state[BATCH_RUNNING]++;
    fprintf(stderr, "drover-agent: batch %s (run '%s'): %s of %zu tenant(s)\n", b->id,
            b->run_id, b->command, b->n);
    return batch_ref(b, 202);
}

AgentReply agent_batch_submit(AgentRegistry *r, const json_t *req)
{
    const AgentFleet *f = r->fleet;
    AgentReply reply;
    if (!json_is_object(req))
        return agent_error_reply(400, "the body must be a JSON object");
    if (!check_request(req, &reply))
        return reply;
    const char *run_id = json_string_value(json_object_get(req, "run_id"));
    const char *command = json_string_value(json_object_get(req, "command"));
    Batch *b = xcalloc(1, sizeof *b);
    if (!run_id || !*run_id) {
        reply = agent_error_reply(400, "missing 'run_id'");
        goto refused;
    }
    if (!parse_command(command, &b->opts.exec.command)) {
        reply = agent_error_reply(400, "'command' must be \"migrate\", \"undo\", \"status\" "
                                       "or \"verify\"");
        goto refused;
    }
    json_t *conflict = digest_refusal(f, req);
    if (conflict) {
        reply = (AgentReply){409, conflict};
        goto refused;
    }
    if (!select_tenants(f, json_object_get(req, "tenants"), b, &reply) ||
        !parse_options(f, req, b, &reply) || !js_runnable(f, &b->opts.exec, &reply))
        goto refused;
    b->run_id = xstrdup(run_id);
    b->command = xstrdup(command);
    pthread_mutex_lock(&r->mu);
    Batch *seen = find_locked(r, NULL, run_id);
    if (seen) {
        reply = existing_reply(f, seen, command, json_object_get(req, "tenants"));
        pthread_mutex_unlock(&r->mu);
        goto refused;
    }
    reply = start_locked(r, b);
    pthread_mutex_unlock(&r->mu);
    return reply;
refused:
    batch_free(b);
    return reply;
}

AgentReply agent_batch_get(AgentRegistry *r, const char *id)
{
    pthread_mutex_lock(&r->mu);
    Batch *b = find_locked(r, id, NULL);
    AgentReply reply;
    if (!b) {
        reply = agent_error_reply(404, "unknown batch '%s'", id);
    } else {
        reply.status = 200;
        /* A deep copy: the thread appends to done_json once we let go of the lock. */
        reply.body = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I}", "batch_id", b->id, "run_id",
                               b->run_id, "command", b->command, "state",
                               batch_state_names[b->state], "tenants",
                               json_deep_copy(b->done_json), "total", (json_int_t)b->n);
        json_object_set_new(reply.body, "outcome",
                            b->outcome ? json_string(b->outcome) : json_null());
    }
    pthread_mutex_unlock(&r->mu);
    return reply;
}

AgentReply agent_batch_cancel(AgentRegistry *r, const char *id)
{
    pthread_mutex_lock(&r->mu);
    Batch *b = find_locked(r, id, NULL);
    AgentReply reply;
    if (!b) {
        reply = agent_error_reply(404, "unknown batch '%s'", id);
    } else {
        atomic_store(&b->cancelled, 1);
        if (b->run)
            fleetrun_stop(b->run);
        reply = (AgentReply){202, json_pack("{s:s,s:s}", "batch_id", b->id, "state",
                                            batch_state_names[b->state])};
    }
    pthread_mutex_unlock(&r->mu);
    return reply;
}

AgentReply agent_migrations(AgentRegistry *r)
{
    const AgentFleet *f = r->fleet;
    json_t *files = json_object();
    for (size_t i = 0; i < f->file_names.n; i++)
        json_object_set_new(files, f->file_names.items[i], json_string(f->file_digests.items[i]));
    json_t *body = json_pack("{s:s,s:o}", "migrations_digest", f->set_digest, "migrations",
                             files);
    if (f->has_js) {
        json_t *js = json_pack("{s:b}", "ready", f->js_ready);
        if (!f->js_ready) {
            json_object_set_new(js, "error", json_string(f->js_error));
            if (f->js_hint)
                json_object_set_new(js, "hint", json_string(f->js_hint));
        }
        json_object_set_new(body, "js", js);
    }
    return (AgentReply){200, body};
}

void agent_count_request(AgentRegistry *r, unsigned status)
{
    pthread_mutex_lock(&r->mu);
    if (status < 300)
        r->requests_2xx++;
    else if (status < 500)
        r->requests_4xx++;
    else
        r->requests_5xx++;
    pthread_mutex_unlock(&r->mu);
}

char *agent_metrics_text(AgentRegistry *r)
{
    StrBuf sb;
    sb_init(&sb);
    pthread_mutex_lock(&r->mu);
    sb_append(&sb, "# HELP drover_agent_batches Batches by state since the agent started.\n"
                   "# TYPE drover_agent_batches gauge\n");
    for (int i = 0; i < 3; i++)
        sb_appendf(&sb, "drover_agent_batches{state=\"%s\"} %zu\n", batch_state_names[i],
                   r->batches_by_state[i]);
    sb_append(&sb, "# HELP drover_agent_tenant_results_total Tenant results by outcome.\n"
                   "# TYPE drover_agent_tenant_results_total counter\n");
    for (int i = 0; i < EXEC_OUT_COUNT; i++)
        sb_appendf(&sb, "drover_agent_tenant_results_total{outcome=\"%s\"} %zu\n",
                   exec_outcome_name((ExecOutcome)i), r->by_outcome[i]);
    sb_append(&sb, "# HELP drover_agent_requests_total HTTP requests answered, by class.\n"
                   "# TYPE drover_agent_requests_total counter\n");
    sb_appendf(&sb, "drover_agent_requests_total{code=\"2xx\"} %zu\n", r->requests_2xx);
    sb_appendf(&sb, "drover_agent_requests_total{code=\"4xx\"} %zu\n", r->requests_4xx);
    sb_appendf(&sb, "drover_agent_requests_total{code=\"5xx\"} %zu\n", r->requests_5xx);
    pthread_mutex_unlock(&r->mu);
    return sb_detach(&sb);
}

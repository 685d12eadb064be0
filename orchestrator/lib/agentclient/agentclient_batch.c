/*
 * agentclient_batch.c — the agent protocol as the coordinator speaks it (docs/agent-api.md):
 * the fleet-wide preflight of migration sets, and one tenant's batch from submission through
 * polling to its result record, with the engine's retry policy for transport failures.
 *
 * Why one batch per tenant: the coordinator's rollout then decides canaries, budgets and
 * halts per tenant exactly as for local tenants, and progress, journal and notifications see
 * each tenant the moment it ends. The cost, one small request pair per tenant, is nothing
 * beside a migration; keep-alive connections make it cheap.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentclient_http_impl.h"
#include "drover/report.h"

#define POLL_FIRST_MS 100
#define POLL_MAX_MS 1000

bool agent_client_needed(const Inventory *inv, const size_t *selected, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (inv->tenants[selected[i]].agent)
            return true;
    return false;
}

/* ---- preflight --------------------------------------------------------------------------- */

/* differing_files names the files whose digests differ between ours and the agent's list. */
static char *differing_files(const json_t *ours, const json_t *theirs)
{
    StrBuf sb;
    sb_init(&sb);
    const char *name;
    json_t *v;
    size_t n = 0;
    json_object_foreach((json_t *)ours, name, v) {
        const char *d = json_string_value(json_object_get(theirs, name));
        if (!d || strcmp(d, json_string_value(v)) != 0)
            sb_appendf(&sb, "%s'%s'", n++ ? ", " : "", name);
    }
    json_object_foreach((json_t *)theirs, name, v) {
        if (!json_object_get(ours, name))
            sb_appendf(&sb, "%s'%s'", n++ ? ", " : "", name);
    }
    return sb_detach(&sb);
}

static void set_agent_location(DroverError *err, const InvAgent *a)
{
    error_set_location(err, a->file, a->line);
}

static void refuse_token(DroverError *err, const InvAgent *a)
{
    error_set(err, ERR_CONFIG, "agent '%s' refused the token", a->name);
    error_set_hint(err, "'token' of agent '%s' must be one of the agent's token_file lines",
                       a->name);
}

/* check_set judges one agent's GET /v1/migrations answer; false (run must not start) on a
 * refusal or another set; a silent agent only adds a warning. */
/* check_js: an agent that will be sent .js migrations must say it can run them. */
static bool check_js(const InvAgent *a, const json_t *answer, DroverError *err)
{
    const json_t *js = json_object_get(answer, "js");
    if (json_is_true(json_object_get(js, "ready")))
        return true;
    const char *why = json_string_value(json_object_get(js, "error"));
    const char *hint = json_string_value(json_object_get(js, "hint"));
    error_set(err, ERR_CONFIG, "agent '%s' cannot run the set's .js migrations: %s", a->name,
              why ? why : "it does not say it can (a drover-agent older than this drover)");
    error_set_hint(err, "on agent '%s': %s; then restart drover-agent", a->name,
                   hint ? hint : "upgrade drover-agent; nothing was run");
    return false;
}

static bool check_set(AgentClient *c, const AgentCall *call, bool needs_js, StrList *warnings,
                      DroverError *err)
{
    const InvAgent *a = call->agent;
    if (agent_call_transport_failed(call)) {
        char *why = agent_call_problem(call);
        sl_push_owned(warnings, xasprintf("agent '%s' (%s) did not answer: %s; its tenants "
                                          "will be tried and reported unreachable if it stays "
                                          "down", a->name, a->url, why));
        free(why);
        return true;
    }
    if (call->status == 401) {
        refuse_token(err, a);
        return false;
    }
    json_t *j = agent_call_json(call);
    const char *digest = json_string_value(json_object_get(j, "migrations_digest"));
    bool ok = call->status == 200 && digest && strcmp(digest, c->set_digest) == 0;
    if (call->status != 200 || !digest) {
        char *why = agent_call_problem(call);
        error_set(err, ERR_CONFIG, "agent '%s' did not list its migrations: %s",
                      a->name, why);
        free(why);
    } else if (!ok) {
        char *files = differing_files(c->file_digests, json_object_get(j, "migrations"));
        error_set(err, ERR_CONFIG, "agent '%s' holds another migration set (digest "
                      "'%s', ours '%s')%s%s", a->name, digest, c->set_digest,
                      *files ? ": differing files " : "", files);
        error_set_hint(err, "deploy the coordinator's migrations to the agent and restart "
                                "it; nothing was run");
        free(files);
    }
    ok = ok && (!needs_js || check_js(a, j, err));
    json_decref(j);
    return ok;
}

bool agent_client_preflight(AgentClient *c, const size_t *selected, size_t n, bool needs_js,
                            StrList *warnings, DroverError *err)
{
    const Inventory *inv = c->inv;
    AgentCall *calls = xcalloc(inv->nagents ? inv->nagents : 1, sizeof *calls);
    AgentCall **ptrs = xcalloc(inv->nagents ? inv->nagents : 1, sizeof *ptrs);
    size_t ncalls = 0;
    for (size_t k = 0; k < inv->nagents; k++) {
        bool used = false;
        for (size_t i = 0; i < n && !used; i++)
            used = inv->tenants[selected[i]].agent == &inv->agents[k];
        if (!used)
            continue;
        agent_call_init(&calls[ncalls], &inv->agents[k], false, "/v1/migrations", NULL);
        ptrs[ncalls] = &calls[ncalls];
        ncalls++;
    }
    agent_client_perform(c, ptrs, ncalls);
    bool ok = true;
    for (size_t i = 0; i < ncalls; i++) {
        if (ok && !check_set(c, &calls[i], needs_js, warnings, err)) {
            set_agent_location(err, calls[i].agent);
            ok = false;
        }
        agent_call_free(&calls[i]);
    }
    free(ptrs);
    free(calls);
    return ok;
}

/* ---- one tenant's batch ------------------------------------------------------------------ */

typedef struct Remote {
    AgentClient *c;
    const ExecJob *job;
    ExecResult *res;
    const InvAgent *agent;
    const InvEngine *engine;
    char *run_id;
    char *batch_id;   /* NULL until the agent accepted the batch */
    char *problem;    /* the last transport failure, for the unreachable message */
    int failures;     /* consecutive transport failures */
    int transport_attempts;
    unsigned seed;
    bool cancel_sent;
} Remote;

typedef enum Step { STEP_DONE, STEP_AGAIN, STEP_RETRY } Step;

static bool stop_requested(const Remote *r)
{
    const atomic_int *stop = r->job->options->stop;
    return stop && atomic_load(stop);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* backoff: exponential with full jitter under backoff_max, as the executor's; a stop request
 * cuts it short. */
static void backoff(Remote *r)
{
    long cap = r->engine->backoff_ms;
    for (int i = 1; i < r->failures && cap < r->engine->backoff_max_ms; i++)
        cap *= 2;
    if (cap > r->engine->backoff_max_ms)
        cap = r->engine->backoff_max_ms;
    long ms = cap > 0 ? (long)(rand_r(&r->seed) % (unsigned)(cap + 1)) : 0;
    for (; ms > 0 && !stop_requested(r); ms -= 50)
        sleep_ms(ms < 50 ? ms : 50);
}

static void call_agent(Remote *r, AgentCall *call, bool post, const char *path, char *body)
{
    agent_call_init(call, r->agent, post, path, body);
    AgentCall *p = call;
    agent_client_perform(r->c, &p, 1);
    r->transport_attempts++;
}

/* undo_options says which migrations an undo reverts. Compensation (revert_only: what this
 * run applied) becomes "to the oldest of them": the API has no list, and on a tenant without
 * an out-of-order history that is the same set. */
static void undo_options(const ExecJob *job, json_t *req, json_t *opts)
{
    const ExecOptions *o = job->options;
    if (job->revert_only && job->revert_only->n) {
        const char *oldest = job->revert_only->items[0];
        for (size_t i = 1; i < job->revert_only->n; i++)
            if (strcmp(job->revert_only->items[i], oldest) < 0)
                oldest = job->revert_only->items[i];
        json_object_set_new(req, "to", json_string(oldest));
    } else if (o->undo_mode == PLAN_UNDO_ALL) {
        json_object_set_new(opts, "all", json_true());
    } else if (o->undo_mode == PLAN_UNDO_STEPS) {
        json_object_set_new(opts, "steps", json_integer((json_int_t)o->steps));
    }
}

/* batch_request is the POST /v1/batches body for one job. */
static char *batch_request(const Remote *r)
{
    const ExecJob *job = r->job;
    const ExecOptions *o = job->options;
    static const char *const commands[] = {
        [EXEC_PLAN] = "migrate", [EXEC_MIGRATE] = "migrate", [EXEC_UNDO] = "undo",
        [EXEC_STATUS] = "status", [EXEC_CHECK] = "status", [EXEC_VERIFY] = "verify"};
    json_t *opts = json_pack("{s:b}", "dry_run", o->command == EXEC_PLAN || o->dry_run);
    json_t *req = json_pack("{s:s,s:s,s:[s],s:s,s:O}", "run_id", r->run_id, "command",
                            commands[o->command], "tenants", job->tenant->id,
                            "migrations_digest", r->c->set_digest, "migrations",
                            r->c->file_digests);
    if (o->command == EXEC_STATUS)
        json_object_set_new(opts, "schema", json_boolean(o->schema));
    if (o->to >= 0 && o->command != EXEC_STATUS && o->command != EXEC_CHECK)
        json_object_set_new(req, "to", json_string(job->migrations->items[o->to].name));
    if (o->command == EXEC_UNDO)
        undo_options(job, req, opts);
    json_object_set_new(req, "options", opts);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    return body;
}

/* fail_with ends the tenant failed with the agent's refusal (a 4xx: not worth retrying). */
static Step fail_with(Remote *r, const AgentCall *call, const char *doing)
{
    r->res->outcome = EXEC_OUT_FAILED;
    if (call->status == 401) {
        DroverError tmp = DROVER_ERROR_INIT;
        refuse_token(&tmp, r->agent);
        error_move(&r->res->error, &tmp);
        r->res->error.kind = ERR_REFUSED;
        return STEP_DONE;
    }
    char *why = agent_call_problem(call);
    error_set(&r->res->error, ERR_REFUSED, "agent '%s' refused %s: %s", r->agent->name,
                  doing, why);
    free(why);
    return STEP_DONE;
}

static Step transport_failure(Remote *r, const AgentCall *call)
{
    free(r->problem);
    r->problem = agent_call_problem(call);
    return STEP_RETRY;
}

static Step submit(Remote *r)
{
    AgentCall call;
    call_agent(r, &call, true, "/v1/batches", batch_request(r));
    Step s = STEP_AGAIN;
    json_t *j = NULL;
    if (agent_call_transport_failed(&call)) {
        s = transport_failure(r, &call);
    } else if (call.status != 200 && call.status != 202) {
        s = fail_with(r, &call, "the batch");
    } else {
        j = agent_call_json(&call);
        r->batch_id = xstrdup(json_string_value(json_object_get(j, "batch_id")));
        if (!r->batch_id)
            s = fail_with(r, &call, "the batch (no batch id)");
    }
    json_decref(j);
    agent_call_free(&call);
    return s;
}

/* forward_cancel passes a stop request on once; the batch then ends as the agent's own
 * rollout ends a stop: the running migration finishes, the rest is skipped. */
static void forward_cancel(Remote *r)
{
    if (r->cancel_sent || !stop_requested(r))
        return;
    r->cancel_sent = true;
    char *path = xasprintf("/v1/batches/%s/cancel", r->batch_id);
    AgentCall call;
    call_agent(r, &call, true, path, NULL);
    agent_call_free(&call);
    free(path);
}

static const json_t *tenant_in(const json_t *batch, const char *id)
{
    const json_t *list = json_object_get(batch, "tenants");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *tid = json_string_value(json_object_get(json_array_get(list, i), "id"));
        if (tid && strcmp(tid, id) == 0)
            return json_array_get(list, i);
    }
    return NULL;
}

/* take_result fills the record from the finished batch's tenant object. */
static Step take_result(Remote *r, const json_t *batch)
{
    const json_t *t = tenant_in(batch, r->job->tenant->id);
    DroverError why = DROVER_ERROR_INIT;
    if (!t)
        error_set(&why, ERR_INTERNAL, "the batch has no result for the tenant");
    if (!t || !report_tenant_from_json(t, r->res, &why)) {
        r->res->outcome = EXEC_OUT_FAILED;
        error_clear(&r->res->error);
        error_set(&r->res->error, ERR_INTERNAL, "agent '%s' sent an unreadable result: "
                      "%s", r->agent->name, why.message);
    }
    error_clear(&why);
    return STEP_DONE;
}

static Step poll_batch(Remote *r)
{
    char *path = xasprintf("/v1/batches/%s", r->batch_id);
    AgentCall call;
    call_agent(r, &call, false, path, NULL);
    free(path);
    Step s = STEP_AGAIN;
    json_t *j = NULL;
    if (agent_call_transport_failed(&call)) {
        s = transport_failure(r, &call);
    } else if (call.status == 404) {
        /* A restarted agent forgot the batch: submit again; the job re-reads SequelizeMeta
         * under the tenant's lock, so nothing runs twice. */
        free(r->batch_id);
        r->batch_id = NULL;
        s = transport_failure(r, &call);
    } else if (call.status != 200) {
        s = fail_with(r, &call, "the poll of its batch");
    } else {
        j = agent_call_json(&call);
        const char *state = json_string_value(json_object_get(j, "state"));
        if (state && strcmp(state, "running") != 0)
            s = take_result(r, j);
    }
    json_decref(j);
    agent_call_free(&call);
    return s;
}

/* give_up ends the tenant unreachable: the agent never accepted the batch, or stopped
 * answering while it ran; what it did there the next run's status shows. */
static void give_up(Remote *r)
{
    r->res->outcome = EXEC_OUT_UNREACHABLE;
    error_set(&r->res->error, ERR_CONNECT, "agent '%s' (%s) %s after %d attempt%s: %s",
                  r->agent->name, r->agent->url,
                  r->batch_id ? "stopped answering while it ran the tenant" : "did not answer",
                  r->failures, r->failures == 1 ? "" : "s", r->problem ? r->problem : "?");
    if (r->batch_id)
        error_set_hint(&r->res->error, "run again once the agent is back: what it did not "
                                           "finish is still pending, nothing runs twice; a "
                                           "MariaDB migration cut off half-way is not atomic "
                                           "(docs/guarantees.md): check 'drover status' first");
    else
        error_set_hint(&r->res->error, "run again once the agent is back: what it did not "
                                           "finish is still pending, nothing runs twice");
}

static void run_remote(Remote *r)
{
    long poll_ms = POLL_FIRST_MS;
    for (;;) {
        Step s = r->batch_id ? poll_batch(r) : submit(r);
        if (s == STEP_DONE)
            return;
        if (s == STEP_RETRY) {
            r->failures++;
            if (r->failures > r->engine->retries || (stop_requested(r) && !r->batch_id)) {
                give_up(r);
                return;
            }
            backoff(r);
            continue;
        }
        r->failures = 0;
        forward_cancel(r);
        sleep_ms(poll_ms);
        poll_ms = poll_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : poll_ms * 2;
    }
}

static double wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void agent_client_run_tenant(AgentClient *c, const ExecJob *job, ExecResult *res)
{
    memset(res, 0, sizeof *res);
    res->tenant = job->tenant;
    res->started_at = wall_clock();
    Remote r = {.c = c, .job = job, .res = res, .agent = job->tenant->agent,
                .engine = job->options->engine ? job->options->engine : inv_engine_defaults(),
                .seed = (unsigned)fnv1a64(job->tenant->id, strlen(job->tenant->id))};
    /* Compensation is another batch of the same run: its own run id. */
    r.run_id = xasprintf("%s/%s%s", c->run_base, job->tenant->id,
                         job->revert_only ? "/compensate" : "");
    if (stop_requested(&r))
        res->outcome = EXEC_OUT_SKIPPED;
    else
        run_remote(&r);
    if (res->outcome == EXEC_OUT_UNREACHABLE)
        res->attempts = r.transport_attempts;
    if (error_is_set(&res->error))
        error_set_context(&res->error, job->tenant->id, NULL, NULL);
    res->ended_at = wall_clock();
    res->seconds = res->ended_at - res->started_at;
    free(r.run_id);
    free(r.batch_id);
    free(r.problem);
}

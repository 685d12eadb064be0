/*
 * agent.h — drover-agent's own modules: its configuration, the registry of batches it runs
 * (on threads, through libdrover's rollout), and the HTTP server in front of them. The engine
 * is reached only through the public headers in include/drover.
 */
#ifndef DROVER_AGENT_H
#define DROVER_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "drover/error.h"
#include "drover/inventory.h"
#include "drover/migration.h"
#include "drover/util.h"

typedef struct AgentConfig {
    char *listen;         /* IPv4 address, default "127.0.0.1" */
    long port;            /* required, 1..65535 */
    char *tls_cert;       /* PEM file paths, both or neither */
    char *tls_key;
    char *token_file;     /* one bearer token a line; blank lines and # comments ignored */
    char *inventory;      /* a drover.cfg of the tenants this agent serves */
    long parallel;        /* 0: the inventory's defaults.parallel */
    long max_body;        /* bytes a request body may have, default 1 MiB */
    long idle_timeout_s;  /* a connection idle this long is closed, default 30 */
    long max_connections; /* at once, default 512 */
    long max_connections_per_ip; /* from one address, default 64 */
} AgentConfig;

/* The threads that serve HTTP (each polls many connections; batches run on their own). */
#define AGENT_HTTP_THREADS 4

/* agent_config_load reads the agent's libconfig file; relative paths resolve against its
 * directory. Fails with ERR_CONFIG naming the file and line. */
bool agent_config_load(const char *path, AgentConfig *out, DroverError *err);
void agent_config_free(AgentConfig *c);

/* agent_tokens_load reads the token file into out (at least one token, or ERR_CONFIG). */
bool agent_tokens_load(const char *path, StrList *out, DroverError *err);
/* agent_token_accepted compares the presented token with every accepted one in time that
 * depends only on the lengths, never on where the bytes first differ. */
bool agent_token_accepted(const StrList *tokens, const char *presented);

/* What the agent serves: loaded once at start; read-only afterwards. */
typedef struct AgentFleet {
    Inventory *inv;
    MigSet set;
    char *set_digest;
    StrList file_names;   /* set order */
    StrList file_digests; /* pairwise with file_names */
    long parallel;
    /* .js migrations: the node runner is started once, at load, for every tenant served;
     * when it cannot start, the agent still serves .sql work and says why it cannot run .js
     * (GET /v1/migrations), so that coordinators refuse before anything runs. */
    bool has_js;
    bool js_ready;
    char *js_error;       /* !js_ready: what is missing, and what to install */
    char *js_hint;
} AgentFleet;

/* agent_fleet_load loads the inventory, the migration set and its digests, and starts the
 * node runner when the set has .js files (a failure there is not an error: see js_ready). */
bool agent_fleet_load(const AgentConfig *c, AgentFleet *out, DroverError *err);
/* agent_fleet_free also stops the node runner. */
void agent_fleet_free(AgentFleet *f);

/* The batches, behind one mutex (see batch.c's DESIGN comment). */
typedef struct AgentRegistry AgentRegistry;

AgentRegistry *agent_registry_new(const AgentFleet *fleet);
/* Cancels what still runs, waits for every batch thread, frees. NULL is a no-op. */
void agent_registry_free(AgentRegistry *r);

/* An HTTP answer: status and a JSON body (owned). */
typedef struct AgentReply {
    unsigned status;
    json_t *body;
} AgentReply;

/* agent_batch_submit validates a POST /v1/batches body and starts the batch, or refuses
 * with no side effect (400, 409). A run id seen before returns the existing batch (200). */
AgentReply agent_batch_submit(AgentRegistry *r, const json_t *req);
/* agent_batch_get: GET /v1/batches/{id} (404 when unknown). */
AgentReply agent_batch_get(AgentRegistry *r, const char *id);
/* agent_batch_cancel: POST /v1/batches/{id}/cancel: stops dispatching; in-flight tenants
 * finish their current migration. */
AgentReply agent_batch_cancel(AgentRegistry *r, const char *id);
/* agent_migrations: GET /v1/migrations, the agent's set digest and per-file digests. */
AgentReply agent_migrations(AgentRegistry *r);
/* agent_metrics_text renders the Prometheus text exposition (caller frees). */
char *agent_metrics_text(AgentRegistry *r);
/* agent_count_request counts an answered request by status, for /metrics. */
void agent_count_request(AgentRegistry *r, unsigned status);

/* agent_log_safe: s with control characters (and backslashes) written as \xNN, for a log line
 * that a client's string can never split or forge. Caller frees. */
char *agent_log_safe(const char *s);

/* agent_error_reply builds {"error": message} with a status. */
AgentReply agent_error_reply(unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

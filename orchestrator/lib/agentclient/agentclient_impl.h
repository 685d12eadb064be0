/*
 * agentclient_impl.h — the coordinator's side of drover-agent (docs/agent-api.md): tenants whose
 * inventory entry names an agent run there, through HTTP(S), and come back as ordinary result
 * records, so the rollout's canaries, budgets, halting, journal, reports and notifications
 * treat them as local ones.
 *
 * One dispatcher thread owns a libcurl multi handle (connections kept alive and reused, TLS
 * verified against the agent's 'ca'); pool workers hand it requests and wait for the answer.
 * Each tenant is its own batch (run id RUNBASE/TENANT), so every policy stays in the
 * coordinator's one loop, and max_per_server caps the tenants in flight per agent.
 * Tokens go only into the Authorization header: never into a message or a log.
 */
#ifndef DROVER_AGENTCLIENT_IMPL_H
#define DROVER_AGENTCLIENT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/error.h"
#include "drover/executor.h"
#include "drover/inventory.h"
#include "drover/migration.h"
#include "drover/util.h"

typedef struct AgentClient AgentClient;

/*
 * agent_client_new digests the migration set (what every batch sends and the preflight
 * compares) and starts the dispatcher. run_base makes the run ids unique to this run (e.g.
 * "host-pid-starttime-journalrun"); copied. NULL with err set (ERR_IO for an unreadable
 * migration file, ERR_INTERNAL when libcurl or the thread cannot start).
 */
AgentClient *agent_client_new(const Inventory *inv, const MigSet *set, const char *run_base,
                              DroverError *err);
/* agent_client_free waits for requests in flight and stops the dispatcher; NULL is a no-op. */
void agent_client_free(AgentClient *c);

/* agent_client_needed: whether any selected tenant is served by an agent. */
bool agent_client_needed(const Inventory *inv, const size_t *selected, size_t n);

/*
 * agent_client_preflight asks every agent serving a selected tenant for its migration set
 * (GET /v1/migrations, all at once) before anything runs. False with err (ERR_CONFIG) when
 * an agent holds another set (naming the files that differ) or refuses the token: the run
 * must not start. With needs_js (the run writes and the set has .js files) an agent that
 * cannot run them (no node, no sequelize, a driver missing, or too old to say) is refused
 * too, naming the agent and what to install. An agent that does not answer is not an error here — its tenants end
 * unreachable — and is named in *warnings (one line each; the caller frees the list).
 */
bool agent_client_preflight(AgentClient *c, const size_t *selected, size_t n, bool needs_js,
                            StrList *warnings, DroverError *err);

/*
 * agent_client_run_tenant runs one job on its tenant's agent and fills res (initialised here;
 * free with exec_result_free), blocking the calling worker thread: POST /v1/batches, then
 * GET /v1/batches/{id} until the batch ends. A transport failure (refused, timed out, 5xx) is
 * retried with the engine's retries and backoff; past them the tenant ends unreachable with
 * an error naming the agent. A stop request (job->options->stop) is forwarded as a cancel.
 * Commands: migrate, undo and status as such; plan as a dry-run migrate; check as a status.
 */
void agent_client_run_tenant(AgentClient *c, const ExecJob *job, ExecResult *res);

#endif

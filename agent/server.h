/*
 * server.h — drover-agent's HTTP server (libmicrohttpd): an opaque handle that listens until
 * stopped; the routes and status codes are documented in docs/agent-api.md.
 */
#ifndef DROVER_AGENT_SERVER_H
#define DROVER_AGENT_SERVER_H

#include "agent.h"

typedef struct AgentServer AgentServer;

/* agent_server_start listens on c->listen:c->port (TLS when c->tls_cert is set) and answers
 * on its own threads. tokens and reg must outlive the server. */
AgentServer *agent_server_start(const AgentConfig *c, const StrList *tokens,
                                AgentRegistry *reg, DroverError *err);
/* agent_server_stop stops listening and waits for requests in progress. NULL is a no-op. */
void agent_server_stop(AgentServer *s);

#endif

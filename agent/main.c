/*
 * main.c — drover-agent: loads its config, token file and fleet, serves the batch API until
 * SIGINT or SIGTERM, then stops taking requests and lets running batches stop between
 * migrations (see docs/agent-api.md).
 *   usage: drover-agent --config FILE
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "drover/exitcodes.h"
#include "server.h"

static int usage(FILE *out, int rc)
{
    fprintf(out, "usage: drover-agent --config FILE\n"
                 "       drover-agent --version\n");
    return rc;
}

static int fail(DroverError *err)
{
    char *msg = error_format(err);
    fprintf(stderr, "drover-agent: %s\n", msg);
    free(msg);
    error_clear(err);
    return DROVER_EXIT_USAGE;
}

/* wait_for_signal blocks until SIGINT or SIGTERM. The signals are blocked in every thread
 * (the mask is set before any starts), so only this sigwait sees them: no handler needed. */
static void wait_for_signal(const sigset_t *set)
{
    int sig = 0;
    sigwait(set, &sig);
    fprintf(stderr, "drover-agent: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static int serve(const AgentConfig *c, const sigset_t *signals)
{
    DroverError err = DROVER_ERROR_INIT;
    StrList tokens = STRLIST_INIT;
    AgentFleet fleet;
    if (!agent_tokens_load(c->token_file, &tokens, &err)) {
        sl_free(&tokens);
        return fail(&err);
    }
    if (!agent_fleet_load(c, &fleet, &err)) {
        sl_free(&tokens);
        return fail(&err);
    }
    AgentRegistry *reg = agent_registry_new(&fleet);
    AgentServer *srv = agent_server_start(c, &tokens, reg, &err);
    int rc = DROVER_EXIT_OK;
    if (!srv) {
        rc = fail(&err);
    } else {
        fprintf(stderr, "drover-agent: listening on %s:%ld%s, %zu tenant(s), migrations "
                        "digest %s\n", c->listen, c->port, c->tls_cert ? " (tls)" : "",
                fleet.inv->ntenants, fleet.set_digest);
        wait_for_signal(signals);
    }
    agent_server_stop(srv);
    agent_registry_free(reg);
    agent_fleet_free(&fleet);
    sl_free(&tokens);
    return rc;
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--version") == 0)
            return printf("drover-agent %s\n", DROVER_VERSION) < 0 ? DROVER_EXIT_FAILED : DROVER_EXIT_OK;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout, DROVER_EXIT_OK);
        else
            return usage(stderr, DROVER_EXIT_USAGE);
    }
    if (!config)
        return usage(stderr, DROVER_EXIT_USAGE);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    DroverError err = DROVER_ERROR_INIT;
    AgentConfig c;
    if (!agent_config_load(config, &c, &err))
        return fail(&err);
    int rc = serve(&c, &signals);
    agent_config_free(&c);
    return rc;
}

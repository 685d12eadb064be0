/*
 * agentclient_http_impl.h — private to the agent client: the dispatcher's HTTP calls
 * (agentclient.c) as the protocol code (agentclient_batch.c) uses them.
 */
#ifndef DROVER_AGENTCLIENT_HTTP_IMPL_H
#define DROVER_AGENTCLIENT_HTTP_IMPL_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>

#include "agentclient_impl.h"

/* One HTTP exchange with an agent. The caller owns it; between agent_client_perform's start
 * and return only the dispatcher thread touches it. */
typedef struct AgentCall {
    const InvAgent *agent;
    bool post;              /* POST (with body, JSON) or GET */
    char *url;              /* agent->url + path */
    char *body;             /* POST body, NULL: empty */
    /* the answer: */
    CURLcode rc;            /* CURLE_OK: an HTTP answer came (any status) */
    char errbuf[CURL_ERROR_SIZE];
    long status;
    StrBuf reply;
    /* dispatcher-private: */
    bool done;
    CURL *easy;
    struct curl_slist *headers;
    struct AgentCall *next;
} AgentCall;

struct AgentClient {
    const Inventory *inv;
    const MigSet *set;
    char *run_base;
    char *set_digest;
    json_t *file_digests;   /* {"NAME": "DIGEST"}, what every batch sends */
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t mu;     /* guards queue, stopping and every queued call's done */
    pthread_cond_t answered;
    AgentCall *queue;       /* handed over, not yet added to the multi handle */
    bool stopping;
};

/* agent_call_init prepares a call to agent + path ("/v1/..."); body (owned, may be NULL) makes
 * it a POST when post is true. */
void agent_call_init(AgentCall *call, const InvAgent *agent, bool post, const char *path,
                     char *body);
void agent_call_free(AgentCall *call);

/* agent_client_perform hands the calls to the dispatcher and returns when every one has its
 * answer (or its transport error). Any thread. */
void agent_client_perform(AgentClient *c, AgentCall **calls, size_t n);

/* agent_call_transport_failed: no HTTP answer, or a 5xx — worth another attempt. */
bool agent_call_transport_failed(const AgentCall *call);
/* agent_call_problem words a failed call for a message: the curl error, or "HTTP N: the
 * agent's error". Caller frees. */
char *agent_call_problem(const AgentCall *call);
/* agent_call_json parses the reply body (NULL when it is not JSON). Caller owns it. */
json_t *agent_call_json(const AgentCall *call);

#endif

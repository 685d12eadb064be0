/*
 * agentclient.c — the agent client's transport: one dispatcher thread driving a libcurl multi
 * handle for every HTTP call the coordinator makes to its agents (see agentclient.h).
 *
 * DESIGN: a worker (or the main thread, for the preflight) builds AgentCalls, queues them
 * under AgentClient.mu, wakes the dispatcher (curl_multi_wakeup) and waits on `answered` until
 * each call is done. The dispatcher alone touches the multi handle and the calls' curl state;
 * it marks a call done under the mutex, after which only its owner reads it. Easy handles
 * live for one call; the connections they opened stay in the multi handle's cache, so calls
 * to one agent reuse a kept-alive (TLS) connection.
 */
#include "agentclient_http_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An agent's answer is one batch's tenant or a migration list; anything far larger is not
 * one of its answers. */
#define MAX_REPLY_BYTES (64L * 1024 * 1024)
#define CONNECT_TIMEOUT_MS 10000L

void agent_call_init(AgentCall *call, const InvAgent *agent, bool post, const char *path,
                     char *body)
{
    memset(call, 0, sizeof *call);
    call->agent = agent;
    call->post = post;
    call->url = xasprintf("%s%s", agent->url, path);
    call->body = body;
    sb_init(&call->reply);
}

void agent_call_free(AgentCall *call)
{
    free(call->url);
    free(call->body);
    sb_free(&call->reply);
}

bool agent_call_transport_failed(const AgentCall *call)
{
    return call->rc != CURLE_OK || call->status >= 500;
}

json_t *agent_call_json(const AgentCall *call)
{
    if (call->rc != CURLE_OK || !call->reply.data)
        return NULL;
    return json_loadb(call->reply.data, call->reply.len, 0, NULL);
}

char *agent_call_problem(const AgentCall *call)
{
    if (call->rc != CURLE_OK)
        return xstrdup(call->errbuf[0] ? call->errbuf : curl_easy_strerror(call->rc));
    json_t *j = agent_call_json(call);
    const char *msg = json_string_value(json_object_get(j, "error"));
    char *out = xasprintf("HTTP %ld%s%s", call->status, msg ? ": " : "", msg ? msg : "");
    json_decref(j);
    return out;
}

static size_t on_reply_bytes(char *data, size_t size, size_t nmemb, void *arg)
{
    AgentCall *call = arg;
    size_t n = size * nmemb;
    if (call->reply.len + n > (size_t)MAX_REPLY_BYTES)
        return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
    sb_appendn(&call->reply, data, n);
    return n;
}

/* bearer_headers builds the header list; the token is copied by curl, and our copy wiped. */
static struct curl_slist *bearer_headers(const InvAgent *a, bool post)
{
    char *auth = xasprintf("Authorization: Bearer %s", a->token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    explicit_bzero(auth, strlen(auth));
    free(auth);
    if (post) {
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    }
    return h;
}

/* start_call sets up the call's easy handle: TLS verification stays on (the defaults, set
 * anyway so that no later change can drop them), no redirects, http(s) only, no signals. */
static bool start_call(AgentClient *c, AgentCall *call)
{
    const InvAgent *a = call->agent;
    CURL *e = curl_easy_init();
    call->headers = bearer_headers(a, call->post);
    if (!e || !call->headers) {
        call->rc = CURLE_OUT_OF_MEMORY;
        curl_easy_cleanup(e);
        return false;
    }
    curl_easy_setopt(e, CURLOPT_URL, call->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (a->ca)
        curl_easy_setopt(e, CURLOPT_CAINFO, a->ca);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, a->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     a->timeout_ms < CONNECT_TIMEOUT_MS ? a->timeout_ms : CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_reply_bytes);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    if (call->post) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body ? call->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(call->body ? strlen(call->body) : 0));
    }
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        call->rc = CURLE_FAILED_INIT;
        curl_easy_cleanup(e);
        return false;
    }
    call->easy = e;
    return true;
}

static void finish_call(AgentClient *c, AgentCall *call)
{
    if (call->easy) {
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &call->status);
        curl_multi_remove_handle(c->multi, call->easy);
        curl_easy_cleanup(call->easy);
        call->easy = NULL;
    }
    curl_slist_free_all(call->headers);
    call->headers = NULL;
    pthread_mutex_lock(&c->mu);
    call->done = true;
    pthread_cond_broadcast(&c->answered);
    pthread_mutex_unlock(&c->mu);
}

/* take_queue moves the queued calls into the multi handle; false once stopping. */
static bool take_queue(AgentClient *c)
{
    pthread_mutex_lock(&c->mu);
    AgentCall *list = c->queue;
    c->queue = NULL;
    bool stopping = c->stopping;
    pthread_mutex_unlock(&c->mu);
    while (list) {
        AgentCall *call = list;
        list = list->next;
        if (!start_call(c, call))
            finish_call(c, call);
    }
    return !stopping;
}

static void collect_answers(AgentClient *c)
{
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        AgentCall *call = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        call->rc = m->data.result;
        finish_call(c, call);
    }
}

/* dispatcher_main: stopping is only set once no call is in flight (agent_client_free). */
static void *dispatcher_main(void *arg)
{
    AgentClient *c = arg;
    while (take_queue(c)) {
        int running = 0;
        curl_multi_perform(c->multi, &running);
        collect_answers(c);
        curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
    }
    return NULL;
}

void agent_client_perform(AgentClient *c, AgentCall **calls, size_t n)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++) {
        calls[i]->done = false;
        calls[i]->next = c->queue;
        c->queue = calls[i];
    }
    pthread_mutex_unlock(&c->mu);
    curl_multi_wakeup(c->multi);
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++)
        while (!calls[i]->done)
            pthread_cond_wait(&c->answered, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

/* digest_set fills the set digest and the per-file digests every batch carries. */
static bool digest_set(AgentClient *c, DroverError *err)
{
    c->set_digest = mig_set_digest(c->set, err);
    if (!c->set_digest)
        return false;
    c->file_digests = json_object();
    for (size_t i = 0; i < c->set->n; i++) {
        char *d = mig_file_digest(&c->set->items[i], err);
        if (!d)
            return false;
        json_object_set_new(c->file_digests, c->set->items[i].name, json_string(d));
        free(d);
    }
    return true;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

AgentClient *agent_client_new(const Inventory *inv, const MigSet *set, const char *run_base,
                              DroverError *err)
{
    pthread_once(&curl_once, init_curl);
    AgentClient *c = xcalloc(1, sizeof *c);
    c->inv = inv;
    c->set = set;
    c->run_base = xstrdup(run_base);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->answered, NULL);
    if (!digest_set(c, err))
        goto fail;
    c->multi = curl_multi_init();
    if (!c->multi || pthread_create(&c->thread, NULL, dispatcher_main, c) != 0) {
        error_set(err, ERR_INTERNAL, "cannot start the agent client");
        goto fail;
    }
    return c;
fail:
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    agent_client_free(c);
    return NULL;
}

void agent_client_free(AgentClient *c)
{
    if (!c)
        return;
    if (c->multi) {
        pthread_mutex_lock(&c->mu);
        c->stopping = true;
        pthread_mutex_unlock(&c->mu);
        curl_multi_wakeup(c->multi);
        pthread_join(c->thread, NULL);
        curl_multi_cleanup(c->multi);
    }
    pthread_cond_destroy(&c->answered);
    pthread_mutex_destroy(&c->mu);
    json_decref(c->file_digests);
    free(c->set_digest);
    free(c->run_base);
    free(c);
}

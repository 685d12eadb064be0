/*
 * server.c — drover-agent's HTTP face (libmicrohttpd, TLS through its GnuTLS backend): bodies
 * collected up to a limit, bearer-token checks, routing to the batch registry, JSON answers.
 * Every refusal is decided before anything runs, so a refused request has no side effect.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define BATCHES_PREFIX "/v1/batches/"
#define CANCEL_SUFFIX "/cancel"

struct AgentServer {
    struct MHD_Daemon *daemon;
    AgentRegistry *reg;
    const StrList *tokens;
    size_t max_body;
    char *tls_cert; /* PEM text; libmicrohttpd keeps pointers into it */
    char *tls_key;
};

/* One request's state across libmicrohttpd's calls: the body so far, or that it grew over
 * the limit (then the rest is read and dropped, and the answer is 413). */
typedef struct Request {
    StrBuf body;
    bool too_big;
} Request;

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, char *text,
                                 const char *type)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_reply(AgentServer *s, struct MHD_Connection *conn,
                                  const char *method, const char *url, AgentReply reply)
{
    char *text = json_dumps(reply.body, JSON_INDENT(2));
    json_decref(reply.body);
    size_t len = strlen(text);
    char *with_newline = xmalloc(len + 2);
    memcpy(with_newline, text, len);
    memcpy(with_newline + len, "\n", 2);
    free(text);
    agent_count_request(s->reg, reply.status);
    char *shown = agent_log_safe(url);
    fprintf(stderr, "drover-agent: %s %s %u\n", method, shown, reply.status);
    free(shown);
    return send_text(conn, reply.status, with_newline, "application/json");
}

/* authorized: "Authorization: Bearer TOKEN" naming an accepted token. */
static bool authorized(AgentServer *s, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    static const char scheme[] = "Bearer ";
    if (!h || strncmp(h, scheme, sizeof scheme - 1) != 0)
        return false;
    return agent_token_accepted(s->tokens, h + sizeof scheme - 1);
}

static AgentReply submit(AgentServer *s, const Request *rq)
{
    json_error_t jerr;
    json_t *req = json_loadb(rq->body.data, rq->body.len, 0, &jerr);
    if (!req)
        return agent_error_reply(400, "malformed JSON at line %d: %s", jerr.line, jerr.text);
    AgentReply reply = agent_batch_submit(s->reg, req);
    json_decref(req);
    return reply;
}

/* route_batch_path answers /v1/batches/{id} (GET) and /v1/batches/{id}/cancel (POST). */
static AgentReply route_batch_path(AgentServer *s, const char *method, const char *rest)
{
    size_t len = strlen(rest);
    size_t slen = strlen(CANCEL_SUFFIX);
    bool cancel = len > slen && strcmp(rest + len - slen, CANCEL_SUFFIX) == 0;
    char *id = xstrndup(rest, cancel ? len - slen : len);
    AgentReply reply;
    if (strchr(id, '/') || !*id)
        reply = agent_error_reply(404, "no such resource");
    else if (cancel && strcmp(method, "POST") == 0)
        reply = agent_batch_cancel(s->reg, id);
    else if (!cancel && strcmp(method, "GET") == 0)
        reply = agent_batch_get(s->reg, id);
    else
        reply = agent_error_reply(405, "method '%s' not allowed here", method);
    free(id);
    return reply;
}

static AgentReply route_api(AgentServer *s, const char *method, const char *url,
                            const Request *rq)
{
    if (strcmp(url, "/v1/batches") == 0)
        return strcmp(method, "POST") == 0 ? submit(s, rq)
                                           : agent_error_reply(405, "method '%s' not allowed "
                                                                    "here", method);
    if (strcmp(url, "/v1/migrations") == 0)
        return strcmp(method, "GET") == 0 ? agent_migrations(s->reg)
                                          : agent_error_reply(405, "method '%s' not allowed "
                                                                   "here", method);
    if (strncmp(url, BATCHES_PREFIX, strlen(BATCHES_PREFIX)) == 0)
        return route_batch_path(s, method, url + strlen(BATCHES_PREFIX));
    return agent_error_reply(404, "no such resource");
}

static enum MHD_Result answer_public(AgentServer *s, struct MHD_Connection *conn,
                                     const char *url)
{
    if (strcmp(url, "/metrics") == 0) {
        agent_count_request(s->reg, 200);
        return send_text(conn, 200, agent_metrics_text(s->reg),
                         "text/plain; version=0.0.4; charset=utf-8");
    }
    agent_count_request(s->reg, 200);
    return send_text(conn, 200, xstrdup("{\"status\": \"ok\"}\n"), "application/json");
}

static bool collect_body(AgentServer *s, Request *rq, const char *data, size_t *size)
{
    if (!rq->too_big && rq->body.len + *size > s->max_body) {
        rq->too_big = true;
        sb_free(&rq->body);
        sb_init(&rq->body);
    }
    if (!rq->too_big)
        sb_appendn(&rq->body, data, *size);
    *size = 0;
    return true;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    AgentServer *s = cls;
    Request *rq = *con_cls;
    if (!rq) {
        rq = xcalloc(1, sizeof *rq);
        sb_init(&rq->body);
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        collect_body(s, rq, upload, upload_size);
        return MHD_YES;
    }
    bool get = strcmp(method, "GET") == 0;
    if (get && (strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0))
        return answer_public(s, conn, url);
    if (!authorized(s, conn))
        return send_reply(s, conn, method, url,
                          agent_error_reply(401, "missing or invalid bearer token"));
    if (rq->too_big)
        return send_reply(s, conn, method, url,
                          agent_error_reply(413, "request body over %zu bytes", s->max_body));
    return send_reply(s, conn, method, url, route_api(s, method, url, rq));
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    Request *rq = *con_cls;
    if (rq)
        sb_free(&rq->body);
    free(rq);
    *con_cls = NULL;
}

static bool read_pem(const char *path, char **out, DroverError *err)
{
    *out = file_read_all(path, NULL);
    if (!*out)
        error_set(err, ERR_CONFIG, "cannot read TLS file '%s'", path);
    return *out != NULL;
}

/* keep_escaped: the request path is used as sent, never percent-decoded: every path the API
 * knows is plain ASCII, and a decoded %00 would cut an id short ("b1%00" finding b1). */
static size_t keep_escaped(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return strlen(s);
}

/*
 * start_daemon: a few polling threads (epoll) serve every connection, so idle sockets cost a
 * file descriptor, not a thread; a connection idle for idle_timeout seconds is closed; at most
 * max_connections at once, max_connections_per_ip from one address, so one client cannot
 * starve the others (or /healthz).
 */
static struct MHD_Daemon *start_daemon(AgentServer *s, const AgentConfig *c,
                                       const struct sockaddr_in *addr)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (s->tls_cert)
        return MHD_start_daemon(flags | MHD_USE_TLS, (uint16_t)c->port, NULL, NULL, answer, s,
                                MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_NOTIFY_COMPLETED,
                                request_done, s, MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped,
                                NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)AGENT_HTTP_THREADS,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->idle_timeout_s,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
                                MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                (unsigned)c->max_connections_per_ip, MHD_OPTION_HTTPS_MEM_CERT,
                                s->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, s->tls_key,
                                MHD_OPTION_END);
    return MHD_start_daemon(flags, (uint16_t)c->port, NULL, NULL, answer, s,
                            MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_NOTIFY_COMPLETED,
                            request_done, s, MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)AGENT_HTTP_THREADS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->idle_timeout_s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned)c->max_connections_per_ip, MHD_OPTION_END);
}

AgentServer *agent_server_start(const AgentConfig *c, const StrList *tokens,
                                AgentRegistry *reg, DroverError *err)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    if (inet_pton(AF_INET, c->listen, &addr.sin_addr) != 1) {
        error_set(err, ERR_CONFIG, "'listen' must be an IPv4 address, not '%s'",
                      c->listen);
        return NULL;
    }
    AgentServer *s = xcalloc(1, sizeof *s);
    s->reg = reg;
    s->tokens = tokens;
    s->max_body = (size_t)c->max_body;
    if (c->tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            error_set(err, ERR_CONFIG, "this libmicrohttpd has no TLS support");
            goto fail;
        }
        if (!read_pem(c->tls_cert, &s->tls_cert, err) || !read_pem(c->tls_key, &s->tls_key, err))
            goto fail;
    }
    s->daemon = start_daemon(s, c, &addr);
    if (!s->daemon) {
        error_set(err, ERR_CONFIG, "cannot listen on %s:%ld", c->listen, c->port);
        goto fail;
    }
    return s;
fail:
    agent_server_stop(s);
    return NULL;
}

void agent_server_stop(AgentServer *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    free(s->tls_cert);
    free(s->tls_key);
    free(s);
}

/*
 * webhook_receiver.c — a webhook endpoint for notify.test.sh (libmicrohttpd): listens on
 * 127.0.0.1 on a free port, prints the port on stdout, and appends one line per request to
 * LOG_FILE: "<answer> <method> <path> <content-type> <body>". It answers 200, or 500 to the
 * first N requests (--fail N), or holds each request MS milliseconds before answering 200
 * (--hang MS; the line then says "hang"). Stops on SIGTERM or SIGINT.
 *   usage: webhook_receiver LOG_FILE [--fail N] [--hang MS]
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Receiver {
    FILE *log;
    long fail_first;
    long hang_ms;
    long seen;
    pthread_mutex_t mu;
} Receiver;

/* A request's body, grown as libmicrohttpd hands it over in pieces. */
typedef struct Body {
    char *data;
    size_t len;
} Body;

static void append_body(Body *b, const char *data, size_t n)
{
    char *grown = realloc(b->data, b->len + n + 1);
    if (!grown) {
        perror("webhook_receiver: realloc");
        exit(1);
    }
    b->data = grown;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* record decides the answer of one request and writes its line, under the lock so that
 * requests on parallel connections are counted and written one at a time. */
static unsigned record(Receiver *r, const char *method, const char *url, const char *type,
                       const Body *b)
{
    pthread_mutex_lock(&r->mu);
    r->seen++;
    unsigned status = r->seen <= r->fail_first ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_OK;
    if (r->hang_ms)
        fprintf(r->log, "hang ");
    else
        fprintf(r->log, "%u ", status);
    fprintf(r->log, "%s %s %s %s\n", method, url, type ? type : "-", b->data ? b->data : "");
    fflush(r->log);
    pthread_mutex_unlock(&r->mu);
    return status;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    Receiver *r = cls;
    Body *b = *con_cls;
    if (!b) {
        *con_cls = calloc(1, sizeof *b);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        append_body(b, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    unsigned status = record(r, method, url, type, b);
    if (r->hang_ms)
        sleep_ms(r->hang_ms);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    Body *b = *con_cls;
    if (b)
        free(b->data);
    free(b);
    *con_cls = NULL;
}

static long number_arg(const char *flag, const char *value)
{
    char *end = NULL;
    long v = value ? strtol(value, &end, 10) : -1;
    if (!value || *end || v < 0) {
        fprintf(stderr, "webhook_receiver: %s needs a non-negative number\n", flag);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: webhook_receiver LOG_FILE [--fail N] [--hang MS]\n");
        return 2;
    }
    Receiver r = {0};
    pthread_mutex_init(&r.mu, NULL);
    for (int i = 2; i < argc; i += 2) {
        if (strcmp(argv[i], "--fail") == 0)
            r.fail_first = number_arg(argv[i], argv[i + 1]);
        else if (strcmp(argv[i], "--hang") == 0)
            r.hang_ms = number_arg(argv[i], argv[i + 1]);
        else {
            fprintf(stderr, "webhook_receiver: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!(r.log = fopen(argv[1], "a"))) {
        perror(argv[1]);
        return 1;
    }
    /* Blocked here, so every libmicrohttpd thread inherits the mask and sigwait below gets
     * the signal. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A thread per connection: a held (--hang) request must not hold up the next one. */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, answer,
        &r, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        request_done, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "webhook_receiver: cannot listen on 127.0.0.1\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", (unsigned)info->port);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    MHD_stop_daemon(d);
    fclose(r.log);
    return 0;
}

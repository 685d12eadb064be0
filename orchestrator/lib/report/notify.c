/*
 * notify.c — the webhook sender (see notify.h): a ring buffer of events filled by the caller
 * and drained by one thread that POSTs each event to every target that wants it.
 *
 * DESIGN: the caller (coordinator/main thread) only pushes events and, at the end, stops the
 * sender. `mu` guards the ring (queue, head, count), `dropped`, `stopping` and `deadline_ms`;
 * `cv` wakes the sender when an event arrives or a stop is asked. Everything else (the targets'
 * `failing` flags, the curl handle, `logged`) belongs to the sender thread until notify_stop has
 * joined it. Nothing is sent while `mu` is held, so pushing never waits on the network.
 */
#include "drover/notify.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_CAP 256
#define BACKOFF_MS 250 /* before the 2nd attempt; doubled before the 3rd */

typedef struct Target {
    char *url;
    char *masked;
    bool slack;
    StrList events;
    long timeout_ms;
    bool failing; /* its last delivery failed: one attempt per event, no new log line */
} Target;

typedef struct Event {
    char *name;
    json_t *payload;
    double ts;
} Event;

struct Notifier {
    Target *targets;
    size_t ntargets;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    Event queue[QUEUE_CAP];
    size_t head;
    size_t count;
    size_t dropped;
    bool stopping;
    long long deadline_ms; /* monotonic; meaningful once stopping */
    bool logged;           /* a failure line was printed */
};

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double unix_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void event_free(Event *e)
{
    free(e->name);
    json_decref(e->payload);
    *e = (Event){0};
}

/* ---- the queue (caller side) ------------------------------------------------------------ */

static bool anyone_wants(const Notifier *n, const char *event)
{
    for (size_t i = 0; i < n->ntargets; i++)
        if (sl_contains(&n->targets[i].events, event))
            return true;
    return false;
}

void notify_event(Notifier *n, const char *event, json_t *payload)
{
    if (!n || !anyone_wants(n, event)) {
        json_decref(payload);
        return;
    }
    Event e = {.name = xstrdup(event), .payload = payload, .ts = unix_seconds()};
    Event old = {0};
    pthread_mutex_lock(&n->mu);
    if (n->count == QUEUE_CAP) {
        old = n->queue[n->head];
        n->head = (n->head + 1) % QUEUE_CAP;
        n->count--;
        n->dropped++;
    }
    n->queue[(n->head + n->count) % QUEUE_CAP] = e;
    n->count++;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    event_free(&old); /* outside the lock: it may be a big payload */
}

/* ---- the sender thread ------------------------------------------------------------------ */

static bool deadline_passed(Notifier *n)
{
    pthread_mutex_lock(&n->mu);
    bool passed = n->stopping && monotonic_ms() >= n->deadline_ms;
    pthread_mutex_unlock(&n->mu);
    return passed;
}

/* ms_left is the time until the stop deadline, or `cap` when none is set (or it is later). */
static long ms_left(Notifier *n, long cap)
{
    pthread_mutex_lock(&n->mu);
    long long left = n->stopping ? n->deadline_ms - monotonic_ms() : cap;
    pthread_mutex_unlock(&n->mu);
    if (left < 1)
        return 1;
    return left < cap ? (long)left : cap;
}

/* next_event waits for an event; false once stopping and the queue is empty or the drain
 * time is over (the events left stay queued and are counted by notify_stop). */
static bool next_event(Notifier *n, Event *out)
{
    pthread_mutex_lock(&n->mu);
    while (n->count == 0 && !n->stopping)
        pthread_cond_wait(&n->cv, &n->mu);
    bool got = n->count > 0 && !(n->stopping && monotonic_ms() >= n->deadline_ms);
    if (got) {
        *out = n->queue[n->head];
        n->queue[n->head] = (Event){0};
        n->head = (n->head + 1) % QUEUE_CAP;
        n->count--;
    }
    pthread_mutex_unlock(&n->mu);
    return got;
}

static size_t discard_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * nmemb;
}

/* abort_after_deadline cuts a transfer still running when notify_stop's drain time is over. */
static int abort_after_deadline(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
                                curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return deadline_passed(ctx) ? 1 : 0;
}

typedef struct Attempt {
    bool ok;
    bool retry; /* worth another attempt: no connection, a timeout, 5xx or 429 */
    char *why;  /* when not ok; never holds the URL's path */
} Attempt;

static bool transient_curl_error(CURLcode rc)
{
    return rc != CURLE_ABORTED_BY_CALLBACK && rc != CURLE_URL_MALFORMAT &&
           rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_OUT_OF_MEMORY;
}

static Attempt post_once(Notifier *n, CURL *curl, const Target *t, const char *body,
                         struct curl_slist *headers)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    long timeout = ms_left(n, t->timeout_ms);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, t->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_after_deadline);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, n);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "drover/" DROVER_VERSION);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return (Attempt){.why = xstrdup("stopped: the run ended and the drain time ran out")};
    if (rc != CURLE_OK)
        return (Attempt){.retry = transient_curl_error(rc),
                         .why = xstrdup(*errbuf ? errbuf : curl_easy_strerror(rc))};
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300)
        return (Attempt){.ok = true};
    return (Attempt){.retry = status >= 500 || status == 429,
                     .why = xasprintf("HTTP status %ld", status)};
}

static void backoff(Notifier *n, int attempt)
{
    long ms = ms_left(n, (long)BACKOFF_MS << (attempt - 1));
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* deliver POSTs body to t, with up to NOTIFY_TRIES attempts while t is healthy; the first
 * failure after a success (or at the start) is logged, the ones after it are not. */
static void deliver(Notifier *n, CURL *curl, Target *t, const char *event, const char *body,
                    struct curl_slist *headers)
{
    int tries = t->failing ? 1 : NOTIFY_TRIES;
    Attempt a = {0};
    int attempt = 0;
    while (attempt < tries && !deadline_passed(n)) {
        if (attempt)
            backoff(n, attempt);
        free(a.why);
        a = post_once(n, curl, t, body, headers);
        attempt++;
        if (a.ok || !a.retry)
            break;
    }
    if (!a.ok && !t->failing) {
        fprintf(stderr, "drover: notify: POST to %s failed: %s (event '%s', %d attempt%s)\n",
                t->masked, a.why ? a.why : "stopped before the first attempt", event, attempt,
                attempt == 1 ? "" : "s");
        n->logged = true;
    }
    t->failing = !a.ok;
    free(a.why);
}

static void send_event(Notifier *n, CURL *curl, Event *e, struct curl_slist *headers)
{
    for (size_t i = 0; i < n->ntargets; i++) {
        Target *t = &n->targets[i];
        if (!sl_contains(&t->events, e->name))
            continue;
        char *body = notify_render(t->slack, e->name, e->payload, e->ts);
        deliver(n, curl, t, e->name, body, headers);
        free(body);
    }
}

static void *sender_main(void *arg)
{
    Notifier *n = arg;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    Event e;
    while (next_event(n, &e)) {
        if (curl && headers)
            send_event(n, curl, &e, headers);
        event_free(&e);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return NULL;
}

/* ---- start and stop --------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void copy_targets(Notifier *n, const Inventory *inv)
{
    n->targets = xcalloc(inv->nnotify, sizeof *n->targets);
    n->ntargets = inv->nnotify;
    for (size_t i = 0; i < inv->nnotify; i++) {
        const InvNotify *src = &inv->notify[i];
        Target *t = &n->targets[i];
        t->url = xstrdup(src->url);
        t->masked = xstrdup(src->masked);
        t->slack = src->slack;
        t->timeout_ms = src->timeout_ms;
        for (size_t k = 0; k < src->events.n; k++)
            sl_push(&t->events, src->events.items[k]);
    }
}

static void notifier_free(Notifier *n)
{
    for (size_t i = 0; i < n->ntargets; i++) {
        explicit_bzero(n->targets[i].url, strlen(n->targets[i].url));
        free(n->targets[i].url);
        free(n->targets[i].masked);
        sl_free(&n->targets[i].events);
    }
    free(n->targets);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

Notifier *notify_start(const Inventory *inv)
{
    if (!inv || inv->nnotify == 0)
        return NULL;
    pthread_once(&curl_once, init_curl);
    Notifier *n = xcalloc(1, sizeof *n);
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    copy_targets(n, inv);
    if (pthread_create(&n->thread, NULL, sender_main, n) != 0) {
        fprintf(stderr, "drover: notify: cannot start the sender thread; no webhook is called\n");
        notifier_free(n);
        return NULL;
    }
    return n;
}

int notify_drain_ms(const Notifier *n)
{
    long slowest = 0;
    for (size_t i = 0; n && i < n->ntargets; i++)
        if (n->targets[i].timeout_ms > slowest)
            slowest = n->targets[i].timeout_ms;
    long backoffs = 0;
    for (int k = 1; k < NOTIFY_TRIES; k++)
        backoffs += (long)BACKOFF_MS << (k - 1);
    return (int)(slowest * NOTIFY_TRIES + backoffs);
}

void notify_stop(Notifier *n, int drain_ms)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->stopping = true;
    n->deadline_ms = monotonic_ms() + (drain_ms > 0 ? drain_ms : 0);
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);

    size_t left = n->count;
    for (; n->count; n->count--, n->head = (n->head + 1) % QUEUE_CAP)
        event_free(&n->queue[n->head]);
    if (n->dropped)
        fprintf(stderr, "drover: notify: %zu event%s dropped: the queue (%d events) was full\n",
                n->dropped, n->dropped == 1 ? "" : "s", QUEUE_CAP);
    /* After a failure line the events left are no news: that webhook is down. */
    if (left && !n->logged)
        fprintf(stderr, "drover: notify: %zu event%s not sent: the run ended and %d ms of "
                        "waiting for the webhooks ran out\n",
                left, left == 1 ? "" : "s", drain_ms);
    notifier_free(n);
}

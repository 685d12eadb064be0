/*
 * executor_cancel.c — the registry of connections in use (see ExecCancels in executor.h).
 * A job registers its connection's canceller right after connecting and removes it before
 * closing. A canceller is shared by the registry and the cancel requests in flight, and freed
 * by whichever lets go of it last, so a job can close its connection while a request for it
 * is still on its way.
 *
 * A cancel request is a network round trip of its own (libpq's PQcancel connects and waits for
 * the server to close; MariaDB's KILL QUERY connects and logs in), and on a frozen path it never
 * returns. Each request therefore runs on a detached thread, and exec_cancels_fire waits for
 * them at most EXEC_CANCEL_WAIT_MS: a hung request is left behind, never waited for.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "executor_impl.h"

#define EXEC_CANCEL_WAIT_MS 5000

typedef struct SharedCanceller {
    DrvCanceller *canceller;
    int refs; /* guarded by ExecCancels.mu */
} SharedCanceller;

typedef struct CancelEntry {
    int id;
    SharedCanceller *shared;
} CancelEntry;

struct ExecCancels {
    pthread_mutex_t mu;
    pthread_cond_t done;  /* a request in flight ended */
    CancelEntry *items;   /* guarded by mu */
    size_t n, cap;        /* guarded by mu */
    int next_id;          /* guarded by mu */
    size_t in_flight;     /* requests of the current fire not yet ended; guarded by mu */
    size_t sent;          /* of those, how many were sent; guarded by mu */
    int refs;             /* the registry itself and each request thread; guarded by mu */
};

ExecCancels *exec_cancels_new(void)
{
    ExecCancels *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->done, NULL);
    c->refs = 1;
    return c;
}

/* unref_shared drops one hold on a canceller; called with c->mu held. */
static void unref_shared(SharedCanceller *s)
{
    if (--s->refs > 0)
        return;
    drv_canceller_free(s->canceller);
    free(s);
}

/* unref_registry drops one hold on the registry; the last one (the owner's free, or a request
 * thread that outlived it) frees it. */
static void unref_registry(ExecCancels *c)
{
    pthread_mutex_lock(&c->mu);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (!last)
        return;
    free(c->items);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void exec_cancels_free(ExecCancels *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++)
        unref_shared(c->items[i].shared);
    c->n = 0;
    pthread_mutex_unlock(&c->mu);
    unref_registry(c);
}

int exec_cancels_add(ExecCancels *c, DrvCanceller *k)
{
    if (!c || !k) {
        drv_canceller_free(k);
        return 0;
    }
    SharedCanceller *s = xcalloc(1, sizeof *s);
    s->canceller = k;
    s->refs = 1;
    pthread_mutex_lock(&c->mu);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->items = xrealloc(c->items, c->cap * sizeof *c->items);
    }
    int id = ++c->next_id;
    c->items[c->n++] = (CancelEntry){.id = id, .shared = s};
    pthread_mutex_unlock(&c->mu);
    return id;
}

void exec_cancels_remove(ExecCancels *c, int id)
{
    if (!c || id == 0)
        return;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        if (c->items[i].id != id)
            continue;
        unref_shared(c->items[i].shared);
        c->items[i] = c->items[--c->n];
        break;
    }
    pthread_mutex_unlock(&c->mu);
}

typedef struct CancelRequest {
    ExecCancels *registry;
    SharedCanceller *shared;
} CancelRequest;

static void *request_thread(void *arg)
{
    CancelRequest *q = arg;
    bool sent = drv_cancel(q->shared->canceller);
    ExecCancels *c = q->registry;
    pthread_mutex_lock(&c->mu);
    unref_shared(q->shared);
    c->sent += sent;
    c->in_flight--;
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->mu);
    free(q);
    unref_registry(c);
    return NULL;
}

/* start_request starts one detached request; called with c->mu held. */
static void start_request(ExecCancels *c, SharedCanceller *s)
{
    CancelRequest *q = xcalloc(1, sizeof *q);
    *q = (CancelRequest){.registry = c, .shared = s};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    s->refs++;
    c->refs++;
    c->in_flight++;
    if (pthread_create(&t, &attr, request_thread, q) != 0) {
        s->refs--;
        c->refs--;
        c->in_flight--;
        free(q);
    }
    pthread_attr_destroy(&attr);
}

size_t exec_cancels_fire(ExecCancels *c)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += EXEC_CANCEL_WAIT_MS / 1000;
    pthread_mutex_lock(&c->mu);
    c->sent = 0;
    for (size_t i = 0; i < c->n; i++)
        start_request(c, c->items[i].shared);
    while (c->in_flight > 0 && pthread_cond_timedwait(&c->done, &c->mu, &deadline) != ETIMEDOUT)
        ;
    size_t sent = c->sent;
    pthread_mutex_unlock(&c->mu);
    return sent;
}

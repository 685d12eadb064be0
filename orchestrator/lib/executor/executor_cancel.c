/*
 * executor_cancel.c — the registry of connections in use (see ExecCancels in executor.h).
 * A job registers its connection's canceller right after connecting and removes it before
 * closing; both happen under the registry's mutex, as does firing, so a cancel never reaches
 * a connection that is being closed.
 */
#include <pthread.h>
#include <stdlib.h>

#include "executor_impl.h"

typedef struct CancelEntry {
    int id;
    DrvCanceller *canceller;
} CancelEntry;

struct ExecCancels {
    pthread_mutex_t mu;
    CancelEntry *items; /* guarded by mu */
    size_t n, cap;      /* guarded by mu */
    int next_id;        /* guarded by mu */
};

ExecCancels *exec_cancels_new(void)
{
    ExecCancels *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void exec_cancels_free(ExecCancels *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        drv_canceller_free(c->items[i].canceller);
    free(c->items);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int exec_cancels_add(ExecCancels *c, DrvCanceller *k)
{
    if (!c || !k) {
        drv_canceller_free(k);
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->items = xrealloc(c->items, c->cap * sizeof *c->items);
    }
    int id = ++c->next_id;
    c->items[c->n++] = (CancelEntry){.id = id, .canceller = k};
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
        drv_canceller_free(c->items[i].canceller);
        c->items[i] = c->items[--c->n];
        break;
    }
    pthread_mutex_unlock(&c->mu);
}

size_t exec_cancels_fire(ExecCancels *c)
{
    size_t sent = 0;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++)
        sent += drv_cancel(c->items[i].canceller);
    pthread_mutex_unlock(&c->mu);
    return sent;
}

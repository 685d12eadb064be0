/*
 * pool.c — the fleet engine's worker threads: a FIFO of owned tasks, per-server caps and
 * per-database lock keys enforced at pick time, and a done-list the coordinator drains.
 *
 * DESIGN
 * Ownership. A task belongs to the caller until pool_submit, to the pool (queue, a worker, or
 * the done-list) until pool_next returns it, and to the caller again after that. The pool
 * never frees a task and never copies its keys, except server keys of running tasks (below).
 * A task is on at most one list at a time, so one `next` link serves the queue and the
 * done-list; a running task is on no list, only its worker's stack.
 *
 * Locking. One mutex, `mu`, guards everything a worker and the coordinator share: the queue,
 * the done-list, the running-key tables, `shutting_down`, and the task fields the pool writes
 * (`next`, `ran`). Workers run a task without holding `mu`. Two condition variables:
 *   work_cv — workers wait for "a queued task can start now or we are shutting down";
 *             signalled on submit, broadcast when a task finishes or the pool shuts down;
 *   done_cv — the coordinator waits in pool_next for "the done-list is not empty";
 *             signalled when a worker appends to it.
 * nqueued and nrunning change only under `mu` but are atomics so that pool_queued and
 * pool_running (which take a const Pool) can read them without locking; a progress line may
 * see the two counts from slightly different moments.
 *
 * Collection. A worker's slot stays taken until the coordinator has handled its finished
 * task, that is until the coordinator comes back to pool_next for the following result (or
 * frees the pool): a task may start only while running + finished-and-unhandled tasks are
 * fewer than nthreads. So a policy the coordinator applies to a result (a failure budget that
 * halts the run and cancels the queue) acts before another task starts in that slot, while
 * the queue stays full and the pick below can still choose among all servers.
 *
 * Scheduling. A worker takes the first queued task whose server has fewer than
 * max_per_server running tasks and whose lock key no running task holds. Both tables hold
 * only keys of running tasks, so they never exceed nthreads entries and are plain arrays
 * searched linearly; a pick costs O(queued x nthreads) string compares at worst, which stays
 * far below a migration's cost for a fleet of ~10,000 tenants. Server keys are copied into
 * their table because several tasks share an entry and the one whose pointer we kept may be
 * collected (and its key freed) while the others still run; a lock key has exactly one holder,
 * whose entry is removed before the holder reaches the done-list, so it is not copied.
 */
#include "pool_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "drover/util.h"

/* A key held by running tasks and how many of them hold it. */
typedef struct KeyCount {
    const char *key;
    size_t count;
} KeyCount;

/* KeyTable: the keys of running tasks; capacity nthreads, so it never grows. */
typedef struct KeyTable {
    KeyCount *items;
    size_t n;
} KeyTable;

typedef struct TaskList {
    PoolTask *head;
    PoolTask *tail;
} TaskList;

struct Pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    TaskList queue;
    TaskList done;
    KeyTable servers;      /* server_key -> running tasks on that server (keys copied) */
    KeyTable locks;        /* lock_key held by a running task (count always 1) */
    size_t max_per_server;
    bool shutting_down;
    atomic_size_t nqueued;
    atomic_size_t nrunning;
    size_t nuncollected;   /* finished tasks that ran and are not handled yet: on the
                              done-list, or the last one pool_next returned (guarded by mu) */
    bool holding_last;     /* the last task pool_next returned still holds its slot */
    pthread_t *threads;
    size_t nthreads;
};

static void list_push(TaskList *l, PoolTask *t)
{
    t->next = NULL;
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
}

/* list_unlink removes t, whose predecessor is prev (NULL when t is the head). */
static void list_unlink(TaskList *l, PoolTask *prev, PoolTask *t)
{
    if (prev)
        prev->next = t->next;
    else
        l->head = t->next;
    if (l->tail == t)
        l->tail = prev;
    t->next = NULL;
}

/* list_append_all moves every task of from to the end of to, keeping their order. */
static void list_append_all(TaskList *to, TaskList *from)
{
    if (!from->head)
        return;
    if (to->tail)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    from->head = from->tail = NULL;
}

static KeyCount *key_find(const KeyTable *kt, const char *key)
{
    for (size_t k = 0; k < kt->n; k++)
        if (strcmp(kt->items[k].key, key) == 0)
            return &kt->items[k];
    return NULL;
}

static size_t key_count(const KeyTable *kt, const char *key)
{
    const KeyCount *kc = key_find(kt, key);
    return kc ? kc->count : 0;
}

/* key_acquire: room is guaranteed because every entry belongs to a running task. */
static void key_acquire(KeyTable *kt, const char *key, bool copy)
{
    KeyCount *kc = key_find(kt, key);
    if (kc) {
        kc->count++;
        return;
    }
    kt->items[kt->n].key = copy ? xstrdup(key) : key;
    kt->items[kt->n].count = 1;
    kt->n++;
}

static void key_release(KeyTable *kt, const char *key, bool copied)
{
    KeyCount *kc = key_find(kt, key);
    if (!kc || --kc->count > 0)
        return;
    if (copied)
        free((char *)kc->key);
    *kc = kt->items[--kt->n];
}

static bool task_can_start(const Pool *pool, const PoolTask *t)
{
    if (t->server_key && key_count(&pool->servers, t->server_key) >= pool->max_per_server)
        return false;
    if (t->lock_key && key_find(&pool->locks, t->lock_key))
        return false;
    return true;
}

/* take_runnable (mu held) dequeues the first task that may start now and marks it running. */
static PoolTask *take_runnable(Pool *pool)
{
    if (atomic_load(&pool->nrunning) + pool->nuncollected >= pool->nthreads)
        return NULL;
    PoolTask *prev = NULL;
    for (PoolTask *t = pool->queue.head; t; prev = t, t = t->next) {
        if (!task_can_start(pool, t))
            continue;
        list_unlink(&pool->queue, prev, t);
        if (t->server_key)
            key_acquire(&pool->servers, t->server_key, true);
        if (t->lock_key)
            key_acquire(&pool->locks, t->lock_key, false);
        t->ran = true;
        atomic_fetch_sub(&pool->nqueued, 1);
        atomic_fetch_add(&pool->nrunning, 1);
        return t;
    }
    return NULL;
}

/* finish_task (mu held) releases t's keys and hands it to the coordinator. */
static void finish_task(Pool *pool, PoolTask *t)
{
    if (t->server_key)
        key_release(&pool->servers, t->server_key, true);
    if (t->lock_key)
        key_release(&pool->locks, t->lock_key, false);
    atomic_fetch_sub(&pool->nrunning, 1);
    pool->nuncollected++;
    list_push(&pool->done, t);
    pthread_cond_signal(&pool->done_cv);
    /* A freed server slot or lock may let more than one waiting worker start a task. */
    if (pool->queue.head)
        pthread_cond_broadcast(&pool->work_cv);
}

static void *worker_main(void *arg)
{
    Pool *pool = arg;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        PoolTask *t = NULL;
        while (!pool->shutting_down && !(t = take_runnable(pool)))
            pthread_cond_wait(&pool->work_cv, &pool->mu);
        if (!t)
            break;
        pthread_mutex_unlock(&pool->mu);
        t->run(t);
        pthread_mutex_lock(&pool->mu);
        finish_task(pool, t);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

/* stop_workers asks every worker to exit once its current task is done and joins the first n.
 * Workers take no task once shutting_down is set, so whatever is still queued never starts. */
static void stop_workers(Pool *pool, size_t n)
{
    pthread_mutex_lock(&pool->mu);
    pool->shutting_down = true;
    pthread_cond_broadcast(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
    for (size_t k = 0; k < n; k++)
        pthread_join(pool->threads[k], NULL);
}

static void destroy(Pool *pool)
{
    for (size_t k = 0; k < pool->servers.n; k++)
        free((char *)pool->servers.items[k].key);
    free(pool->servers.items);
    free(pool->locks.items);
    free(pool->threads);
    pthread_cond_destroy(&pool->done_cv);
    pthread_cond_destroy(&pool->work_cv);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}

Pool *pool_new(size_t nthreads, size_t max_per_server)
{
    if (nthreads == 0 || max_per_server == 0)
        return NULL;
    Pool *pool = xcalloc(1, sizeof *pool);
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->work_cv, NULL);
    pthread_cond_init(&pool->done_cv, NULL);
    pool->max_per_server = max_per_server;
    pool->servers.items = xcalloc(nthreads, sizeof *pool->servers.items);
    pool->locks.items = xcalloc(nthreads, sizeof *pool->locks.items);
    atomic_init(&pool->nqueued, 0);
    atomic_init(&pool->nrunning, 0);
    pool->threads = xcalloc(nthreads, sizeof *pool->threads);
    pool->nthreads = nthreads; /* workers read it: set before the first one starts */
    for (size_t k = 0; k < nthreads; k++) {
        if (pthread_create(&pool->threads[k], NULL, worker_main, pool) != 0) {
            stop_workers(pool, k);
            destroy(pool);
            return NULL;
        }
    }
    return pool;
}

void pool_submit(Pool *pool, PoolTask *task)
{
    pthread_mutex_lock(&pool->mu);
    task->ran = false;
    list_push(&pool->queue, task);
    atomic_fetch_add(&pool->nqueued, 1);
    /* One new task can be started by at most one worker. */
    pthread_cond_signal(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
}

PoolTask *pool_next(Pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    if (pool->holding_last) {
        /* The coordinator is back: it has handled the previous result, free its slot. */
        pool->holding_last = false;
        pool->nuncollected--;
        if (pool->queue.head)
            pthread_cond_signal(&pool->work_cv);
    }
    /* While anything is running or queued, something will reach the done-list: with nothing
     * running no key is held, so every queued task can start. */
    while (!pool->done.head &&
           (atomic_load(&pool->nqueued) > 0 || atomic_load(&pool->nrunning) > 0))
        pthread_cond_wait(&pool->done_cv, &pool->mu);
    PoolTask *t = pool->done.head;
    if (t)
        list_unlink(&pool->done, NULL, t);
    pool->holding_last = t && t->ran;
    pthread_mutex_unlock(&pool->mu);
    return t;
}

/* Queued tasks go to the done-list as they are: `ran` is still false from pool_submit. */
void pool_cancel_queued(Pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    list_append_all(&pool->done, &pool->queue);
    atomic_store(&pool->nqueued, 0);
    pthread_mutex_unlock(&pool->mu);
}

size_t pool_running(const Pool *pool)
{
    return atomic_load(&pool->nrunning);
}

size_t pool_queued(const Pool *pool)
{
    return atomic_load(&pool->nqueued);
}

void pool_free(Pool *pool)
{
    if (!pool)
        return;
    stop_workers(pool, pool->nthreads);
    destroy(pool);
}

/*
 * pool_impl.h — a fixed set of worker threads running owned tasks. The coordinator submits tasks,
 * then collects them one by one as they finish, so that every policy (canaries, failure
 * budgets, cancellation) is checked in the coordinator's single loop, never in a worker.
 *
 * Two scheduling rules, both enforced here so no caller can forget them:
 *   - per-server cap: at most max_per_server running tasks share a server_key (host:port);
 *   - per-database lock: two tasks with the same lock_key never run at the same time.
 * Tasks that cannot start yet wait in submission order; a blocked task never blocks the ones
 * behind it that could run. A worker's slot stays taken until the coordinator has handled its
 * finished task — until the next pool_next call — so whatever the coordinator decides about a
 * result (halt, cancel the queue) happens before another task starts in its place.
 */
#ifndef DROVER_POOL_IMPL_H
#define DROVER_POOL_IMPL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct Pool Pool;

typedef struct PoolTask {
    void (*run)(struct PoolTask *task); /* runs on a worker thread */
    const char *server_key;            /* e.g. "postgres://10.0.0.5:5432"; NULL: no cap */
    const char *lock_key;              /* database identity; NULL: no lock */
    void *data;                        /* the caller's */
    bool ran;                          /* set by the pool: false when cancelled before start */
    /* Pool-private bookkeeping follows; the caller zero-initialises it. */
    struct PoolTask *next;
} PoolTask;

/* pool_new starts nthreads workers (>= 1); max_per_server >= 1. NULL when either is 0 or a
 * thread cannot be started. */
Pool *pool_new(size_t nthreads, size_t max_per_server);

/* pool_submit hands task over to the pool until pool_next returns it. Not thread-safe: only
 * the coordinator thread submits and collects. */
void pool_submit(Pool *pool, PoolTask *task);

/*
 * pool_next blocks until a task has finished (or was cancelled) and returns it; NULL when no
 * task is queued or running. Every submitted task comes back exactly once.
 */
PoolTask *pool_next(Pool *pool);

/* pool_cancel_queued: tasks not started yet come back from pool_next with ran == false;
 * running tasks finish normally. */
void pool_cancel_queued(Pool *pool);

/* Counts for progress lines (coordinator thread only). */
size_t pool_running(const Pool *pool);
size_t pool_queued(const Pool *pool);

/* pool_free cancels what is queued, waits for running tasks, joins the workers. Tasks not yet
 * collected are dropped (the caller still owns them). pool_free(NULL) is a no-op. */
void pool_free(Pool *pool);

#endif

/*
 * test_pool.c — the thread pool's contract: every task comes back exactly once, the per-server
 * cap and the per-database lock hold under real concurrency, blocked tasks never block
 * runnable ones, and cancellation and pool_free leave nothing running or leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool_impl.h"
#include "drover/util.h"

#define MAX_KEYS 64
/* No test waits longer than this for something that must happen; reaching it fails the test. */
#define PATIENCE_MS 2000

/* What the jobs of one test observe, shared by all worker threads. */
typedef struct Probe {
    atomic_int running;
    atomic_int peak;
    atomic_int server_running[MAX_KEYS];
    atomic_int server_peak[MAX_KEYS];
    atomic_int lock_holders[MAX_KEYS];
    atomic_int lock_overlaps;
    atomic_int starts;
    atomic_int gated_started;
    atomic_bool release;
    int linger_ms;      /* every job sleeps this long while running */
    int want_peak;      /* then lingers until this many jobs ran at once (or the deadline) */
    struct timespec deadline;
} Probe;

typedef struct Job {
    PoolTask task;
    Probe *probe;
    int server;         /* index into the probe's server counters; -1: no server_key */
    int lock;           /* index into lock_holders; -1: not checked */
    char *server_name;
    char *lock_name;
    bool gated;         /* runs until probe->release */
    atomic_int runs;
    int started_as;     /* order of start among all jobs, written by the worker */
    int returned;       /* times pool_next returned it */
} Job;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct timespec deadline_in(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static bool past(struct timespec deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline.tv_sec ||
           (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

/* wait_for_count polls until *counter reaches want; false after timeout_ms. */
static bool wait_for_count(atomic_int *counter, int want, int timeout_ms)
{
    struct timespec deadline = deadline_in(timeout_ms);
    while (atomic_load(counter) < want) {
        if (past(deadline))
            return false;
        sleep_ms(1);
    }
    return true;
}

static void raise_peak(atomic_int *peak, int value)
{
    int seen = atomic_load(peak);
    while (value > seen && !atomic_compare_exchange_weak(peak, &seen, value))
        ;
}

static Probe *probe_new(int linger_ms, int want_peak)
{
    Probe *p = xcalloc(1, sizeof *p);
    p->linger_ms = linger_ms;
    p->want_peak = want_peak;
    p->deadline = deadline_in(PATIENCE_MS);
    return p;
}

/* job_run records the job's concurrency, then holds its slot as the probe asks. */
static void job_run(PoolTask *task)
{
    Job *j = task->data;
    Probe *p = j->probe;

    atomic_fetch_add(&j->runs, 1);
    j->started_as = atomic_fetch_add(&p->starts, 1);
    raise_peak(&p->peak, atomic_fetch_add(&p->running, 1) + 1);
    if (j->server >= 0)
        raise_peak(&p->server_peak[j->server],
                   atomic_fetch_add(&p->server_running[j->server], 1) + 1);
    if (j->lock >= 0 && atomic_fetch_add(&p->lock_holders[j->lock], 1) != 0)
        atomic_fetch_add(&p->lock_overlaps, 1);

    if (j->gated) {
        atomic_fetch_add(&p->gated_started, 1);
        struct timespec deadline = deadline_in(PATIENCE_MS);
        while (!atomic_load(&p->release) && !past(deadline))
            sleep_ms(1);
    }
    if (p->linger_ms > 0)
        sleep_ms(p->linger_ms);
    while (atomic_load(&p->peak) < p->want_peak && !past(p->deadline))
        sleep_ms(1);

    if (j->lock >= 0)
        atomic_fetch_sub(&p->lock_holders[j->lock], 1);
    if (j->server >= 0)
        atomic_fetch_sub(&p->server_running[j->server], 1);
    atomic_fetch_sub(&p->running, 1);
}

/* job_init: each job gets its own copies of the key strings, so the pool must compare them
 * by content, not by pointer. lock_id < 0 means no lock_key. */
static void job_init(Job *j, Probe *p, int server, int lock_id)
{
    j->probe = p;
    j->server = server;
    j->lock = lock_id >= 0 && lock_id < MAX_KEYS ? lock_id : -1;
    j->server_name = server >= 0 ? xasprintf("postgres://10.0.0.%d:5432", server) : NULL;
    j->lock_name = lock_id >= 0 ? xasprintf("tenant_%d", lock_id) : NULL;
    j->task.run = job_run;
    j->task.server_key = j->server_name;
    j->task.lock_key = j->lock_name;
    j->task.data = j;
}

static void jobs_free(Job *jobs, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        free(jobs[k].server_name);
        free(jobs[k].lock_name);
    }
    free(jobs);
}

static void submit_all(Pool *pool, Job *jobs, size_t n)
{
    for (size_t k = 0; k < n; k++)
        pool_submit(pool, &jobs[k].task);
}

/* next_job collects one finished task and counts its return. */
static Job *next_job(Pool *pool)
{
    PoolTask *t = pool_next(pool);
    if (!t)
        return NULL;
    Job *j = t->data;
    j->returned++;
    return j;
}

/* collect_all drains the pool; order (may be NULL) receives the jobs in return order. */
static size_t collect_all(Pool *pool, Job **order, size_t cap)
{
    size_t n = 0;
    Job *j;
    while ((j = next_job(pool)) != NULL) {
        if (order && n < cap)
            order[n] = j;
        n++;
    }
    return n;
}

static void assert_each_ran_once(const Job *jobs, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(jobs[k].returned, 1);
        assert_true(jobs[k].task.ran);
        assert_int_equal(atomic_load(&jobs[k].runs), 1);
    }
}

static void test_new_rejects_zero_sizes(void **state)
{
    (void)state;
    assert_null(pool_new(0, 1));
    assert_null(pool_new(1, 0));
    pool_free(NULL);
}

static void test_next_on_empty_pool_returns_null(void **state)
{
    (void)state;
    Pool *pool = pool_new(2, 1);
    assert_non_null(pool);
    assert_null(pool_next(pool));
    assert_int_equal(pool_running(pool), 0);
    assert_int_equal(pool_queued(pool), 0);
    pool_free(pool);
}

static void test_every_task_comes_back_once(void **state)
{
    (void)state;
    enum { N = 100 };
    Probe *p = probe_new(0, 0);
    Job *jobs = xcalloc(N, sizeof *jobs);
    for (int k = 0; k < N; k++)
        job_init(&jobs[k], p, k % 3 == 0 ? -1 : k % 5, k % 4 == 0 ? -1 : k % 7);
    Pool *pool = pool_new(4, 2);

    submit_all(pool, jobs, N);
    assert_int_equal(collect_all(pool, NULL, 0), N);
    assert_each_ran_once(jobs, N);
    assert_null(pool_next(pool));
    assert_int_equal(pool_running(pool), 0);
    assert_int_equal(pool_queued(pool), 0);
    assert_int_equal(atomic_load(&p->lock_overlaps), 0);

    pool_free(pool);
    jobs_free(jobs, N);
    free(p);
}

static void test_per_server_cap(void **state)
{
    (void)state;
    enum { SERVERS = 4, N = 32 };
    /* 8 threads, 4 servers capped at 2: all 8 run at once only if each server has exactly 2. */
    Probe *p = probe_new(2, 8);
    Job *jobs = xcalloc(N, sizeof *jobs);
    for (int k = 0; k < N; k++)
        job_init(&jobs[k], p, k % SERVERS, -1);
    Pool *pool = pool_new(8, 2);

    submit_all(pool, jobs, N);
    assert_int_equal(collect_all(pool, NULL, 0), N);
    assert_each_ran_once(jobs, N);
    assert_int_equal(atomic_load(&p->peak), 8);
    for (int s = 0; s < SERVERS; s++)
        assert_int_equal(atomic_load(&p->server_peak[s]), 2);

    pool_free(pool);
    jobs_free(jobs, N);
    free(p);
}

static void test_lock_key_is_exclusive(void **state)
{
    (void)state;
    enum { LOCKS = 3, N = 24 };
    Probe *p = probe_new(2, LOCKS);
    Job *jobs = xcalloc(N, sizeof *jobs);
    for (int k = 0; k < N; k++)
        job_init(&jobs[k], p, -1, k % LOCKS);
    Pool *pool = pool_new(8, 8);

    submit_all(pool, jobs, N);
    assert_int_equal(collect_all(pool, NULL, 0), N);
    assert_each_ran_once(jobs, N);
    assert_int_equal(atomic_load(&p->lock_overlaps), 0);
    /* Different keys did run together, and never more than one per key. */
    assert_int_equal(atomic_load(&p->peak), LOCKS);

    pool_free(pool);
    jobs_free(jobs, N);
    free(p);
}

static void test_blocked_task_does_not_block_later_ones(void **state)
{
    (void)state;
    Probe *p = probe_new(0, 0);
    Job *jobs = xcalloc(4, sizeof *jobs);
    Job *a = &jobs[0], *same_server = &jobs[1], *same_lock = &jobs[2], *free_job = &jobs[3];
    job_init(a, p, 0, 0);
    a->gated = true;
    job_init(same_server, p, 0, 1);
    job_init(same_lock, p, 1, 0);
    job_init(free_job, p, 2, 2);
    Pool *pool = pool_new(4, 1);

    submit_all(pool, jobs, 4);
    assert_ptr_equal(next_job(pool), free_job);
    assert_true(wait_for_count(&p->gated_started, 1, PATIENCE_MS));
    assert_int_equal(pool_running(pool), 1);
    assert_int_equal(pool_queued(pool), 2);
    assert_int_equal(atomic_load(&same_server->runs), 0);
    assert_int_equal(atomic_load(&same_lock->runs), 0);

    atomic_store(&p->release, true);
    assert_ptr_equal(next_job(pool), a);
    Job *x = next_job(pool), *y = next_job(pool);
    assert_true((x == same_server && y == same_lock) || (x == same_lock && y == same_server));
    assert_null(pool_next(pool));
    assert_each_ran_once(jobs, 4);

    pool_free(pool);
    jobs_free(jobs, 4);
    free(p);
}

static void test_server_key_outlives_the_task_that_brought_it(void **state)
{
    (void)state;
    /* want_peak 2: jobs[0] runs until jobs[1] has joined it, so jobs[0] brings the key. */
    Probe *p = probe_new(0, 2);
    Job *jobs = xcalloc(4, sizeof *jobs);
    for (int k = 0; k < 4; k++) {
        job_init(&jobs[k], p, 0, k);
        jobs[k].gated = k > 0;
    }
    Pool *pool = pool_new(3, 2);

    submit_all(pool, jobs, 2);
    assert_ptr_equal(next_job(pool), &jobs[0]);
    /* The caller owns a returned task again and may reuse its key's memory, while jobs[1]
     * still runs on the same server. */
    memset(jobs[0].server_name, 'x', strlen(jobs[0].server_name));
    submit_all(pool, jobs + 2, 2);
    assert_true(wait_for_count(&p->gated_started, 2, PATIENCE_MS));
    assert_false(wait_for_count(&p->gated_started, 3, 50));
    assert_int_equal(pool_running(pool), 2);
    assert_int_equal(pool_queued(pool), 1);

    atomic_store(&p->release, true);
    assert_int_equal(collect_all(pool, NULL, 0), 3);
    assert_each_ran_once(jobs, 4);
    assert_int_equal(atomic_load(&p->server_peak[0]), 2);

    pool_free(pool);
    jobs_free(jobs, 4);
    free(p);
}

static void test_cancel_queued_keeps_running_tasks(void **state)
{
    (void)state;
    enum { GATED = 2, N = 7 };
    Probe *p = probe_new(0, 0);
    Job *jobs = xcalloc(N, sizeof *jobs);
    for (int k = 0; k < N; k++) {
        job_init(&jobs[k], p, k, k);
        jobs[k].gated = k < GATED;
    }
    Pool *pool = pool_new(GATED, 1);

    submit_all(pool, jobs, N);
    assert_true(wait_for_count(&p->gated_started, GATED, PATIENCE_MS));
    assert_int_equal(pool_running(pool), GATED);
    assert_int_equal(pool_queued(pool), N - GATED);

    pool_cancel_queued(pool);
    assert_int_equal(pool_queued(pool), 0);
    for (int k = GATED; k < N; k++) {
        assert_ptr_equal(next_job(pool), &jobs[k]);
        assert_false(jobs[k].task.ran);
        assert_int_equal(atomic_load(&jobs[k].runs), 0);
    }
    assert_int_equal(pool_running(pool), GATED);

    atomic_store(&p->release, true);
    Job *x = next_job(pool), *y = next_job(pool);
    assert_true((x == &jobs[0] && y == &jobs[1]) || (x == &jobs[1] && y == &jobs[0]));
    assert_true(x->task.ran && y->task.ran);
    assert_null(pool_next(pool));
    for (int k = 0; k < N; k++)
        assert_int_equal(jobs[k].returned, 1);

    pool_free(pool);
    jobs_free(jobs, N);
    free(p);
}

static void test_single_thread_runs_in_submission_order(void **state)
{
    (void)state;
    enum { N = 20 };
    Probe *p = probe_new(0, 0);
    Job *jobs = xcalloc(N, sizeof *jobs);
    Job *order[N];
    for (int k = 0; k < N; k++)
        job_init(&jobs[k], p, k % 3, k % 2);
    Pool *pool = pool_new(1, 1);

    submit_all(pool, jobs, N);
    assert_int_equal(collect_all(pool, order, N), N);
    assert_each_ran_once(jobs, N);
    for (int k = 0; k < N; k++) {
        assert_ptr_equal(order[k], &jobs[k]);
        assert_int_equal(jobs[k].started_as, k);
    }

    pool_free(pool);
    jobs_free(jobs, N);
    free(p);
}

/* A finished task keeps its worker's slot until collected: the coordinator sees each result
 * (and may halt) before another task starts in that slot. */
static void test_slot_is_busy_until_collected(void **state)
{
    (void)state;
    enum { N = 3 };
    Probe *p = probe_new(0, 0);
    Job *jobs = xcalloc(N, sizeof *jobs);
    for (int k = 0; k < N; k++)
        job_init(&jobs[k], p, -1, -1);
    Pool *pool = pool_new(1, 1);

    submit_all(pool, jobs, N);
    assert_true(wait_for_count(&p->starts, 1, PATIENCE_MS));
    /* The first job is done once nothing runs; give a wrongly eager worker time to start the
     * second, then check that it did not. */
    struct timespec deadline = deadline_in(PATIENCE_MS);
    while (pool_running(pool) > 0 && !past(deadline))
        sleep_ms(1);
    sleep_ms(30);
    assert_int_equal(atomic_load(&p->starts), 1);
    assert_int_equal(pool_queued(pool), 2);

    /* Collected, but not handled until the coordinator comes back: still nothing starts. */
    assert_ptr_equal(next_job(pool), &jobs[0]);
    sleep_ms(30);
    assert_int_equal(atomic_load(&p->starts), 1);
    /* The coordinator decides to stop: the queued ones never start. */
    pool_cancel_queued(pool);
    assert_int_equal(collect_all(pool, NULL, 0), 2);
    assert_false(jobs[1].task.ran);
    assert_false(jobs[2].task.ran);
    assert_int_equal(atomic_load(&jobs[1].runs), 0);
    assert_int_equal(atomic_load(&jobs[2].runs), 0);

    /* Without a cancel, coming back for the next result lets the next task start. */
    Job *more = xcalloc(2, sizeof *more);
    for (int k = 0; k < 2; k++)
        job_init(&more[k], p, -1, -1);
    submit_all(pool, more, 2);
    assert_ptr_equal(next_job(pool), &more[0]);
    assert_ptr_equal(next_job(pool), &more[1]);
    assert_null(next_job(pool));
    assert_true(more[0].task.ran && more[1].task.ran);
    jobs_free(more, 2);

    pool_free(pool);
    jobs_free(jobs, N);
    free(p);
}

static void *release_later(void *arg)
{
    Probe *p = arg;
    sleep_ms(50);
    atomic_store(&p->release, true);
    return NULL;
}

static void test_free_with_tasks_queued_running_and_uncollected(void **state)
{
    (void)state;
    enum { N = 12 };
    Probe *p = probe_new(0, 0);
    Job *jobs = xcalloc(N, sizeof *jobs);
    for (int k = 0; k < N; k++)
        job_init(&jobs[k], p, 0, k);
    jobs[1].gated = true;
    /* Two workers, one server slot: jobs[0] finishes and stays uncollected (holding the first
     * worker's slot), jobs[1] runs in the second, the rest are queued. */
    Pool *pool = pool_new(2, 1);

    submit_all(pool, jobs, N);
    assert_true(wait_for_count(&p->gated_started, 1, PATIENCE_MS));
    pthread_t releaser;
    assert_int_equal(pthread_create(&releaser, NULL, release_later, p), 0);
    pool_free(pool);
    pthread_join(releaser, NULL);

    assert_int_equal(atomic_load(&jobs[0].runs), 1);
    assert_int_equal(atomic_load(&jobs[1].runs), 1);
    for (int k = 2; k < N; k++)
        assert_int_equal(atomic_load(&jobs[k].runs), 0);

    jobs_free(jobs, N);
    free(p);
}

static void test_thousand_tiny_tasks_across_fifty_servers(void **state)
{
    (void)state;
    enum { SERVERS = 50, N = 1000 };
    Probe *p = probe_new(0, 0);
    Job *jobs = xcalloc(N, sizeof *jobs);
    /* Each server's tasks are submitted together, as an inventory lists them, so workers
     * keep skipping capped servers at the head of the queue. */
    for (int k = 0; k < N; k++)
        job_init(&jobs[k], p, k / (N / SERVERS), 1000 + k);
    Pool *pool = pool_new(8, 2);

    submit_all(pool, jobs, N);
    /* Free each task's keys as soon as it comes back, while tasks sharing its server still
     * run: the pool must not keep pointers into a collected task. */
    size_t collected = 0;
    Job *j;
    while ((j = next_job(pool)) != NULL) {
        free(j->server_name);
        free(j->lock_name);
        j->server_name = j->lock_name = NULL;
        collected++;
    }
    assert_int_equal(collected, N);
    assert_each_ran_once(jobs, N);
    for (int s = 0; s < SERVERS; s++)
        assert_in_range(atomic_load(&p->server_peak[s]), 1, 2);

    pool_free(pool);
    jobs_free(jobs, N);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_zero_sizes),
        cmocka_unit_test(test_next_on_empty_pool_returns_null),
        cmocka_unit_test(test_every_task_comes_back_once),
        cmocka_unit_test(test_per_server_cap),
        cmocka_unit_test(test_lock_key_is_exclusive),
        cmocka_unit_test(test_blocked_task_does_not_block_later_ones),
        cmocka_unit_test(test_server_key_outlives_the_task_that_brought_it),
        cmocka_unit_test(test_cancel_queued_keeps_running_tasks),
        cmocka_unit_test(test_single_thread_runs_in_submission_order),
        cmocka_unit_test(test_slot_is_busy_until_collected),
        cmocka_unit_test(test_free_with_tasks_queued_running_and_uncollected),
        cmocka_unit_test(test_thousand_tiny_tasks_across_fifty_servers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

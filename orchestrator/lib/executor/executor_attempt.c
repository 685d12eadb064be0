/*
 * executor_attempt.c — the helpers every part of one tenant's attempt shares (the lifecycle in
 * executor.c, the steps in executor_steps.c, the SQL preview in executor_preview.c): the retry
 * decision, the stop request, the wall clock and the session's node runner. They sit below
 * all three so that none of those files calls back into another.
 */
#include <stdatomic.h>
#include <time.h>

#include "executor_impl.h"

double exec_wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool exec_stop_requested(const TenantRun *r)
{
    return r->job->options->stop && atomic_load(r->job->options->stop);
}

bool exec_window_closed(const TenantRun *r)
{
    time_t next = 0;
    return r->job->window && !inv_window_schedule_open(r->job->window, time(NULL), &next);
}

StepEnd exec_retry_or_fail(const TenantRun *r, DbDialect d)
{
    return r->may_retry && drv_error_is_transient(d, &r->res->error) ? STEP_RETRY : STEP_FAILED;
}

bool exec_open_runner(TenantRun *r, bool preview, DroverError *err)
{
    if (r->runner)
        return true;
    r->runner = nr_acquire(err);
    NrOpenRequest o = {.url = &r->job->tenant->url, .tenant = r->job->tenant->id,
                       .lock_timeout_ms = preview ? 0 : r->job->lock_timeout_ms,
                       .statement_timeout_ms = r->job->statement_timeout_ms,
                       .preview = preview};
    if (r->runner && nr_open(r->runner, &o, err))
        return true;
    nr_release(r->runner);
    r->runner = NULL;
    return false;
}

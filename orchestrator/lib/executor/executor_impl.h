/*
 * executor_impl.h — what the executor's files share. Layers, top to bottom (a file calls only
 * the ones below it): executor.c (one job's lifecycle: sessions, attempts, retry, rollback) →
 * executor_steps.c (applying and reverting migrations, one step at a time) →
 * executor_preview.c (plan --sql) → executor_attempt.c, executor_cancel.c,
 * executor_sessions.c (helpers every layer uses).
 */
#ifndef DROVER_EXECUTOR_IMPL_H
#define DROVER_EXECUTOR_IMPL_H

#include "drover/driver.h"
#include "drover/executor.h"
#include "meta_impl.h"
#include "noderunner_impl.h"

/* How one step (or the whole attempt) ended, from the retry policy's point of view. */
typedef enum StepEnd {
    STEP_OK = 0,
    STEP_RETRY,  /* transient, and known not to have half-applied: the job may try again */
    STEP_FAILED, /* for good: error in res->error */
} StepEnd;

typedef struct TenantRun {
    const ExecJob *job;
    ExecResult *res;
    const InvEngine *engine;
    DrvConn *conn;
    char *db_lock_key;
    bool locked;
    MetaTable table;
    MetaState meta;
    Plan plan;
    bool planned;
    bool state_reported; /* res lists hold the state as first read ("before") */
    bool may_retry;      /* this attempt is not the last one */
    bool peeked;         /* migrate's no-op fast path was tried (executor.c, peek_up_to_date) */
    bool window_shut;    /* migrate: the window had closed before anything was written, so not
                            even SequelizeMeta was created (executor.c, read_state) */
    int cancel_id;       /* registration in options->cancels, 0 when none */
    NrRunner *runner;    /* open on this tenant while the session runs .js migrations */
    /* migrate with rollback = "batch": the schema before the batch, to prove a revert */
    StrList schema_before;
    bool schema_read;
} TenantRun;

/* exec_open_runner gives the session a node runner open on the tenant (kept in r->runner until
 * close_session releases it); preview opens it for nr_preview. */
bool exec_open_runner(TenantRun *r, bool preview, DroverError *err);
/* exec_preview fills res->previews for the n pending migrations idx (plan --sql). Fails the
 * tenant (EXEC_OUT_FAILED) when a migration fails in the preview. */
StepEnd exec_preview(TenantRun *r, const size_t *idx, size_t n);
void exec_previews_free(ExecResult *res);
/* exec_verify (drover verify): each pending migration up, down, compared, up again, where
 * nothing of it can stay (executor_verify.c); fills res->verifies. */
StepEnd exec_verify(TenantRun *r);
void exec_verifies_free(ExecResult *res);
/* exec_schema_diff: NULL when the two schemas (schema_read lines) are equal, else a text
 * naming a line one has and the other lacks. Caller frees. */
char *exec_schema_diff(const StrList *before, const StrList *now);
/* Runs the command's work on an open, locked session with SequelizeMeta read. */
StepEnd exec_dispatch(TenantRun *r);
/* Reverts the named migrations that SequelizeMeta still records, newest first (names in the
 * order they were applied). When one of them cannot be reverted (no down, an empty one)
 * nothing is reverted: ERR_REFUSED naming it, and res->reverted stays empty. */
StepEnd exec_revert_list(TenantRun *r, const StrList *names);
/* exec_down_problem: why m's down cannot revert it ("has no down section", "exports no down
 * function", "has a down that does nothing"), or NULL. */
const char *exec_down_problem(const Migration *m);
/* exec_irreversible: the first of the named migrations whose down cannot revert it (*why
 * says why), or NULL. */
const Migration *exec_irreversible(const TenantRun *r, const StrList *names, const char **why);
/* exec_schema_unchanged compares the tenant's schema now with r->schema_before; false (with
 * err naming a line that differs) when they differ or cannot be read. */
bool exec_schema_unchanged(TenantRun *r, DroverError *err);
/* A transient fault may be retried when this attempt is not the last. */
StepEnd exec_retry_or_fail(const TenantRun *r, DbDialect d);
bool exec_stop_requested(const TenantRun *r);
/* True once the job's maintenance windows (ExecJob.window) are closed. */
bool exec_window_closed(const TenantRun *r);
/* Registration of a connection's canceller (executor_cancel.c); id 0 means "not registered".
 * exec_cancels_add takes ownership of k (freed at once when c is NULL). */
int exec_cancels_add(ExecCancels *c, DrvCanceller *k);
void exec_cancels_remove(ExecCancels *c, int id);
double exec_wall_clock(void);
/* Sharing of read-only connections (executor_sessions.c). */
bool exec_sessions_shareable(const ExecSessions *s, const DbUrl *url);
DrvConn *exec_sessions_take(ExecSessions *s, const DbUrl *url);
void exec_sessions_give(ExecSessions *s, const DbUrl *url, DrvConn *conn);

#endif

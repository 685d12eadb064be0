/*
 * executor.h — one tenant, start to end: connect, read SequelizeMeta, plan, apply or revert,
 * record. A job owns its connection and writes only its own result, so a pool can run many
 * jobs at once; it knows nothing of threads or output formats.
 */
#ifndef DROVER_EXECUTOR_H
#define DROVER_EXECUTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "drover/error.h"
#include "drover/inventory.h"
#include "drover/migration.h"
#include "drover/plan.h"
#include "drover/util.h"

typedef enum ExecCommand {
    EXEC_PLAN = 0, /* read-only: what migrate would do */
    EXEC_MIGRATE,
    EXEC_UNDO,
    EXEC_STATUS,   /* read-only: the tenant's state */
    EXEC_CHECK,    /* read-only: connectivity and SequelizeMeta readability */
    EXEC_VERIFY,   /* up, down, compare, up again on a copy (or rolled back): tenant unchanged */
} ExecCommand;

/*
 * ExecCancels: the connections jobs are using right now, so that a second SIGINT/SIGTERM can
 * cancel their running statements from another thread (driver.h, DrvCanceller). Thread-safe.
 */
typedef struct ExecCancels ExecCancels;
ExecCancels *exec_cancels_new(void);
void exec_cancels_free(ExecCancels *c); /* exec_cancels_free(NULL) is a no-op */
/* exec_cancels_fire asks every registered connection to cancel what it runs; returns how many
 * cancel requests were sent. */
size_t exec_cancels_fire(ExecCancels *c);

/*
 * ExecSessions: connections that read-only jobs (plan, status, check) hand on to the next job
 * for the same PostgreSQL database and login, switching search_path: schema-per-tenant fleets
 * then need a connection per worker instead of one per tenant. Thread-safe; freeing closes
 * what is idle.
 */
typedef struct ExecSessions ExecSessions;
ExecSessions *exec_sessions_new(void);
void exec_sessions_free(ExecSessions *s); /* exec_sessions_free(NULL) is a no-op */

/* One line a .js migration printed (console, a logger) while it loaded or ran; tenant is NULL
 * for output while the set was loaded, migration NULL when the runner cannot tell. */
typedef struct ExecOutput {
    const char *tenant;
    const char *migration;
    const char *stream; /* "stdout" or "stderr" */
    const char *line;
} ExecOutput;

typedef struct ExecOptions {
    ExecCommand command;
    ssize_t to;              /* migrate/undo --to: MigSet index, -1 when absent */
    PlanUndoMode undo_mode;
    size_t steps;            /* undo --steps */
    bool dry_run;            /* migrate/undo: plan only, write nothing */
    bool schema;             /* status --schema: read the tenant's catalog (schema.h) */
    bool sql_preview;        /* plan / migrate --dry-run with --sql: the statements each pending
                                migration would run (ExecResult.previews) */
    const char *application_name; /* identifies this process to others (PostgreSQL shows it
                                     beside the tenant's advisory lock; SQLite's lock file) */
    const InvEngine *engine; /* retries, backoff, lock_wait, rollback; NULL: built-in defaults */
    /* Set (from a signal handler) to stop between migrations and in backoff sleeps; a job
     * never abandons a migration half-way because of it. May be NULL. A lock-free atomic, not
     * volatile sig_atomic_t: worker threads read it while a handler on another thread sets
     * it, and only a lock-free atomic is defined for both (C11 7.14.1.1, 5.1.2.4). */
    const atomic_int *stop;
    ExecCancels *cancels;    /* where jobs register their connections; may be NULL */
    ExecSessions *sessions;  /* read-only commands: connections to share; NULL: none */
    /* Called from the workers around each section that runs without a transaction (all of
     * MariaDB's, transaction:false ones): started before its first statement is sent (false
     * keeps the section from running), ended once it finished applying or failed cleanly. A
     * section that left the tenant half-done keeps its mark. A mark found already there (a
     * dead run's) fails it with *dirty_migration set: the tenant is dirty. NULL: no marks. */
    bool (*mark_started)(void *ctx, const char *tenant_id, const char *migration,
                         char **dirty_migration, DroverError *err);
    void (*mark_ended)(void *ctx, const char *tenant_id, const char *migration);
    void *marks_ctx;
} ExecOptions;

typedef enum ExecOutcome {
    EXEC_OUT_UP_TO_DATE = 0, /* nothing to do */
    EXEC_OUT_PENDING,        /* plan / dry run: work would be done */
    EXEC_OUT_MIGRATED,
    EXEC_OUT_REVERTED,
    EXEC_OUT_OK,             /* check / status: read fine */
    EXEC_OUT_FAILED,
    EXEC_OUT_UNREACHABLE,
    EXEC_OUT_ROLLED_BACK, /* failed, and this run's migrations were reverted: back where it was */
    EXEC_OUT_LOCKED,      /* another process held the tenant's lock for lock_wait seconds */
    EXEC_OUT_DIRTY,       /* may be half-applied; needs a person (see docs/guarantees.md) */
    EXEC_OUT_SKIPPED,     /* not attempted: the run halted or was interrupted first */
    EXEC_OUT_COUNT
} ExecOutcome;

/* drover verify: what one pending migration did on the tenant's copy (executor_verify.c). */
typedef struct ExecVerify {
    char *migration; /* file name */
    bool ok;         /* up, down and up again ran, and down brought the schema back */
    char *problem;   /* else what went wrong, one line (several joined by "; ") */
} ExecVerify;

typedef enum ExecState {
    EXEC_STATE_CURRENT = 0,
    EXEC_STATE_BEHIND,
    EXEC_STATE_DRIFTED, /* has rows with no migration file, whatever else */
    EXEC_STATE_DIRTY,   /* the journal marks a migration that may be half-applied */
    EXEC_STATE_LOCKED,  /* another process holds the tenant's lock right now (a run in flight) */
    EXEC_STATE_UNREACHABLE,
    EXEC_STATE_COUNT
} ExecState;

/* One migration applied or reverted within a job, with every attempt counted. */
typedef struct ExecStep {
    char *migration;   /* file name */
    bool up;           /* true: applied (up section); false: reverted (down section) */
    double started_at; /* Unix time in seconds */
    double ended_at;
    int attempts;
    bool ok;
    char *error;       /* one-line summary of the last attempt's error, NULL when ok */
} ExecStep;

/*
 * What plan --sql shows for one pending migration. On PostgreSQL, when .js migrations are
 * pending, every pending migration ran in one transaction that was rolled back (executed) and
 * statements are what was sent; otherwise a .sql migration's statements are its up section, as
 * split, and a .js migration's are unknown (statements_known false, see ExecResult.preview_note).
 */
typedef struct ExecPreview {
    char *migration;        /* file name */
    bool js;
    bool executed;          /* ran in the rolled-back transaction */
    bool statements_known;  /* false: .js not run, or not reached after an earlier failure */
    StrList statements;     /* in order, the SequelizeMeta INSERT last */
    char *note;             /* why this one was not run or not shown, else NULL */
    char *error;            /* it failed in the preview: the error's one-line summary */
} ExecPreview;

/* The record of one tenant's job. Lists hold migration file names unless said otherwise. */
typedef struct ExecResult {
    const InvTenant *tenant;
    ExecOutcome outcome;
    ExecState state;          /* as read before any change (status, plan) */
    StrList applied;          /* migrate: applied by this run, in order */
    StrList reverted;         /* undo: reverted by this run, in order */
    StrList planned;          /* plan/dry run: what migrate/undo would do, in order */
    StrList have;             /* applied before this run, file order (renamed: the file name) */
    StrList pending;          /* not applied, file order */
    StrList unknown;          /* rows with no file */
    StrList renamed_rows;     /* rows matched to a file of another extension ... */
    StrList renamed_files;    /* ... and that file, pairwise */
    bool partial;             /* a non-transactional migration stopped half-way */
    bool skipped_by_check;    /* outcome skipped: a migration's pre-check did not pass (what
                                 it found in error); the migrations before it stay applied */
    bool meta_missing;        /* SequelizeMeta does not exist yet (read-only commands) */
    /* status only: */
    bool gap;                 /* a pending migration sorts before an applied one */
    char *lock_holder;        /* who holds the tenant's lock now (state locked), else NULL */
    StrList schema_lines;     /* --schema: the canonical schema, one object per line, sorted */
    char *fingerprint;        /* --schema: hash of schema_lines (16 hex digits) */
    bool schema_drift;        /* fingerprint differs from the majority of its peers */
    StrList drift_added;      /* schema lines this tenant has and the majority lacks */
    StrList drift_missing;    /* schema lines the majority has and this tenant lacks */
    char *last_run_outcome;   /* the journal's last migrate/undo outcome for the tenant */
    long long last_run_id;    /* 0 when none */
    double last_run_at;       /* Unix time the last run ended, 0 when none */
    DroverError error;
    DroverError rollback_error;  /* a down that failed while rolling back (outcome dirty) */
    char *dirty_migration;    /* set with outcome dirty: the migration that may be half-applied */
    /* --sql: */
    bool sql_previewed;       /* the tenant was read and its pending migrations previewed */
    StrList preview_setup;    /* run first: the SequelizeMeta table is created when missing */
    ExecPreview *previews;    /* one per planned migration, in order */
    size_t npreviews;
    bool preview_executed;    /* the statements ran in a transaction that was rolled back */
    char *preview_note;       /* why .js statements are not shown for this tenant, else NULL */
    /* verify: */
    ExecVerify *verifies;     /* one per pending migration verified or stopped at, in order */
    size_t nverifies;
    char *verify_note;        /* where it ran (rolled back, a copy, a scratch database) */
    ExecStep *steps;          /* in execution order, rollbacks included */
    size_t nsteps;
    int attempts;             /* connection attempts + migration attempts */
    char *agent_dialect;      /* agent tenants: the dialect and masked URL the agent reported, */
    char *agent_url;          /* NULL until it answered (use exec_result_dialect/_url) */
    double started_at;        /* Unix time in seconds */
    double ended_at;
    double seconds;
} ExecResult;

typedef struct ExecJob {
    const InvTenant *tenant;
    const MigSet *migrations;
    const char *meta_table;
    const char *meta_schema;
    long lock_timeout_ms;    /* table-lock wait per statement for this tenant's environment */
    long statement_timeout_ms; /* the environment's statement_timeout; 0: none */
    const StrList *revert_only; /* undo exactly these migrations, where still recorded, newest
                                   first (compensation of a halted environment); else NULL */
    const StrList *no_transaction; /* .js migrations to run outside a transaction (the
                                      inventory's migrations.no_transaction); may be NULL */
    /* Set when the environment's maintenance windows apply (migrate/undo without
     * --ignore-window): once they are closed the job starts no further migration, so a
     * running tenant stops at the boundary of the one it is in. NULL: no windows. */
    const InvWindowSchedule *window;
    const ExecOptions *options;
} ExecJob;

/* exec_lock_key names what a job locks: (dialect, host, port, database, schema, meta table);
 * for a tenant served by an agent "agent:NAME/ID" (the agent locks the database itself).
 * Two jobs with equal keys must never run at once; the pool enforces it. Caller frees. */
char *exec_lock_key(const ExecJob *job);
/* exec_database_lock_key names the lock inside the tenant's database (what drv_lock takes):
 * the tenant schema and the meta table it guards. Caller frees. */
char *exec_database_lock_key(const ExecJob *job);
/* exec_server_key names the server a job loads ("postgres://host:port"), for per-server caps;
 * NULL for SQLite; "agent:NAME" for an agent's tenants, so max_per_server caps the tenants in
 * flight on one agent. Caller frees. */
char *exec_server_key(const ExecJob *job);

/* exec_run_tenant runs the job and fills res (initialised here; free with exec_result_free).
 * It never aborts the caller: every failure ends up in res->outcome and res->error. A tenant
 * served by an agent fails here (agentclient.h runs those). */
void exec_run_tenant(const ExecJob *job, ExecResult *res);
void exec_result_free(ExecResult *res);

/* exec_result_dialect / exec_result_url: what reports show as the tenant's database: its
 * dialect name and masked URL; for an agent tenant what the agent reported, or "agent" and
 * "agent:NAME" when it never answered. Owned by the result or the inventory. */
const char *exec_result_dialect(const ExecResult *r);
const char *exec_result_url(const ExecResult *r);

const char *exec_outcome_name(ExecOutcome o); /* "migrated", "up_to_date", ... */
/* True for outcomes that make a run fail: failed, unreachable, rolled_back, dirty. */
bool exec_outcome_is_failure(ExecOutcome o);
const char *exec_state_name(ExecState s);     /* "current", "behind", ... */

#endif

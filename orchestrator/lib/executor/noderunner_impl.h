/*
 * noderunner_impl.h — a process-wide pool of long-lived Node.js runners (orchestrator/noderunner/
 * runner.js) that run Sequelize .js migrations with the team's own sequelize. Each runner
 * process serves several tenants at once, one per channel (a socket each, one JSON request per
 * line, with a timeout per request); the pool starts at most one process per CPU, and only when
 * a tenant needs one. A runner that crashes or hangs fails its requests and is killed, never
 * reused.
 */
#ifndef DROVER_NODERUNNER_IMPL_H
#define DROVER_NODERUNNER_IMPL_H

#include <stdbool.h>

#include <jansson.h>

#include "drover/error.h"
#include "drover/executor.h"
#include "drover/migration.h"
#include "drover/url.h"
#include "drover/util.h"

typedef struct NrRunner NrRunner;

/*
 * nr_setup prepares the pool for a migration set that has .js files: finds node ($DROVER_NODE,
 * else "node" on PATH), runner.js ($DROVER_NODERUNNER, else next to the executable or in
 * ../share/drover/noderunner), the team's node_modules (modules_dir when given, else the first
 * "node_modules" holding sequelize found from set->dir upwards), then starts one runner that
 * loads sequelize, the drivers of the given dialects and every .js file. Fails (ERR_INPUT,
 * naming what to install or which file) before any tenant is touched.
 */
typedef struct NrLimits {
    int timeout_ms;   /* each request of a migration (0: 10 minutes) */
    size_t max_procs; /* runner processes at most, each serving many tenants (0: one per CPU) */
} NrLimits;
bool nr_setup(const MigSet *set, const char *modules_dir, unsigned dialects,
              const NrLimits *limits, DroverError *err);
/* A bit of nr_setup's dialects: the runner also loads the Sequelize driver of each (pg, mysql2,
 * sqlite3), so that a missing or broken one fails the run before any tenant. */
#define NR_DIALECT(d) (1u << (unsigned)(d))
bool nr_is_ready(void);

/* nr_acquire hands out a session: a channel of an idle runner, of a new one while there are
 * fewer than CPUs, else of the least busy. NULL with err when none can start. */
NrRunner *nr_acquire(DroverError *err);
/* nr_release closes the session's tenant and gives its channel back; a runner that failed to
 * answer is killed instead, and its other sessions fail at once, told why. nr_release(NULL) is
 * a no-op. */
void nr_release(NrRunner *r);

typedef struct NrOpenRequest {
    const DbUrl *url;
    const char *tenant;   /* the tenant's id: output events name it */
    long lock_timeout_ms; /* the environment's lock_timeout on every connection; 0: none */
    long statement_timeout_ms; /* the environment's statement_timeout likewise; 0: none */
    bool preview;
} NrOpenRequest;

/* nr_open connects the runner to a tenant (Sequelize instance on the tenant's URL). With
 * preview (postgres only), every connection it opens defaults to read-only transactions, so
 * that nothing a migration runs after ending nr_preview's transaction itself can write. */
bool nr_open(NrRunner *r, const NrOpenRequest *o, DroverError *err);

/* Whether a .js migration can be reverted, as the runner judged its down when it loaded it. */
typedef enum NrDownKind {
    NR_DOWN_UNKNOWN = 0, /* not a .js file of the set, or the pool is not set up */
    NR_DOWN_MISSING,     /* no down function */
    NR_DOWN_EMPTY,       /* a down whose body does nothing (`down: async () => {}`) */
    NR_DOWN_CODE,
} NrDownKind;
NrDownKind nr_down_kind(const char *path);

/* What .js migrations print (console, loggers) reaches fn, one line at a time, from the thread
 * that waits on the runner (any worker): fn must be thread-safe. NULL drops it. */
typedef void (*NrOutputFn)(const ExecOutput *out, void *ctx);
void nr_set_output(NrOutputFn fn, void *ctx);

typedef struct NrRunRequest {
    const char *file;     /* absolute path of the .js migration */
    bool up;
    const char *meta_sql; /* the SequelizeMeta INSERT/DELETE to run after it, or NULL */
    bool preview;         /* postgres/sqlite: always roll back (plan --sql) */
    bool no_transaction;  /* postgres/sqlite: run outside a transaction (CREATE INDEX
                             CONCURRENTLY), as sequelize-cli does */
    bool in_session;      /* postgres: inside the transaction nr_begin opened (verify) */
} NrRunRequest;

/* nr_run runs one section; statements (may be NULL) receives the SQL Sequelize logged. On
 * failure err carries the database's message, SQLSTATE (postgres) or errno (mysql), the
 * failing statement when known, and *end tells whether any statement had finished and whether
 * the migration ended drover's transaction itself. */
typedef struct NrRunEnd {
    bool ran_any;           /* a statement finished (outside a transaction: it stays) */
    bool transaction_ended; /* the migration ended drover's transaction (COMMIT of its own) */
    bool runner_stopped_for_other; /* the runner was killed mid-way because another tenant's
                                      request on it hung: not this migration's doing */
} NrRunEnd;
bool nr_run(NrRunner *r, const NrRunRequest *req, StrList *statements, NrRunEnd *end,
            DroverError *err);

/* One migration of a preview: a .js file to run, or the statements of a .sql up section. */
typedef struct NrPreviewItem {
    const char *file;      /* absolute path of a .js migration, or NULL */
    const StrList *sql;    /* with file NULL: the statements to run, in order */
    const char *meta_sql;  /* the SequelizeMeta INSERT that follows it */
} NrPreviewItem;

/*
 * nr_preview (postgres, on a runner opened with preview) runs setup and then every item in
 * order in ONE transaction that is always rolled back, so that each migration sees what the
 * earlier ones did. The transaction cannot commit: a deferred trigger makes any COMMIT of it
 * fail, and after a migration ends it (COMMIT, ROLLBACK) the connection's transactions are
 * read-only. statements[i] (n StrLists, initialised by the caller) receives what Sequelize
 * logged for item i. Stops at the first failure: *nran items ran, the last of them failed when
 * it returns false with *nran > 0; *nran == 0 and false: the preview could not start (err).
 */
bool nr_preview(NrRunner *r, const StrList *setup, const NrPreviewItem *items, size_t n,
                StrList *statements, size_t *nran, DroverError *err);

/*
 * drover verify on PostgreSQL with .js migrations pending: the session (opened with preview)
 * keeps one transaction across requests, guarded as nr_preview's is, in which nr_sql runs .sql
 * statements, nr_run (in_session) runs .js sections and nr_query reads (the first column of
 * each row as text, a NULL as "NULL"); nr_rollback ends it, as nr_release does.
 */
bool nr_begin(NrRunner *r, DroverError *err);
bool nr_sql(NrRunner *r, const StrList *statements, DroverError *err);
bool nr_query(NrRunner *r, const char *sql, StrList *rows, DroverError *err);
bool nr_rollback(NrRunner *r, DroverError *err);

/* nr_read_project reads a sequelize-cli project folder as sequelize-cli does (.sequelizerc, then
 * its config file, evaluated when it is .js) in a runner of its own: {"config": FILE,
 * "migrations": DIR, "environments": [{name, dialect, host, port, database, username,
 * has_password, use_env_variable, storage, table, schema}]}. No password is ever returned.
 * NULL with err (ERR_INPUT) when node or a file is missing or does not load. */
json_t *nr_read_project(const char *dir, DroverError *err);

/* nr_shutdown ends every idle runner (they exit on end of input) and waits for them. */
void nr_shutdown(void);

#endif

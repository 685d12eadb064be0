/*
 * noderunner_impl.h — a process-wide pool of long-lived Node.js runners (orchestrator/noderunner/
 * runner.js) that run Sequelize .js migrations with the team's own sequelize. drover talks to
 * each over a socket, one JSON request per line, with a timeout per request; a runner that
 * crashes or hangs fails the request and is discarded, never reused.
 */
#ifndef DROVER_NODERUNNER_IMPL_H
#define DROVER_NODERUNNER_IMPL_H

#include <stdbool.h>

#include "drover/error.h"
#include "drover/url.h"
#include "drover/migration.h"
#include "drover/util.h"

typedef struct NrRunner NrRunner;

/*
 * nr_setup prepares the pool for a migration set that has .js files: finds node ($DROVER_NODE,
 * else "node" on PATH), runner.js ($DROVER_NODERUNNER, else next to the executable or in
 * ../share/drover/noderunner), the team's node_modules (modules_dir when given, else the first
 * "node_modules" holding sequelize found from set->dir upwards), then starts one runner that
 * loads sequelize, the drivers of the given dialects and every .js file. Fails (ERR_INPUT,
 * naming what to install or which file) before any tenant is touched. timeout_ms bounds each request (0: 10 minutes).
 */
bool nr_setup(const MigSet *set, const char *modules_dir, unsigned dialects, int timeout_ms,
              DroverError *err);
/* A bit of nr_setup's dialects: the runner also loads the Sequelize driver of each (pg, mysql2,
 * sqlite3), so that a missing or broken one fails the run before any tenant. */
#define NR_DIALECT(d) (1u << (unsigned)(d))
bool nr_is_ready(void);

/* nr_acquire hands out an idle runner, or starts one. NULL with err when none can start. */
NrRunner *nr_acquire(DroverError *err);
/* nr_release closes the runner's tenant and keeps it for the next job; a runner that failed
 * to answer is killed instead. nr_release(NULL) is a no-op. */
void nr_release(NrRunner *r);

/* nr_open connects the runner to a tenant (Sequelize instance on the tenant's URL). With
 * preview (postgres only), every connection it opens defaults to read-only transactions, so
 * that nothing a migration runs after ending nr_preview's transaction itself can write. */
bool nr_open(NrRunner *r, const DbUrl *url, bool preview, DroverError *err);

typedef struct NrRunRequest {
    const char *file;     /* absolute path of the .js migration */
    bool up;
    const char *meta_sql; /* the SequelizeMeta INSERT/DELETE to run after it, or NULL */
    bool preview;         /* postgres/sqlite: always roll back (plan --sql) */
} NrRunRequest;

/* nr_run runs one section; statements (may be NULL) receives the SQL Sequelize logged. On
 * failure err carries the database's message, SQLSTATE (postgres) or errno (mysql), the
 * failing statement when known, and *ran_any tells whether any statement had started. */
bool nr_run(NrRunner *r, const NrRunRequest *req, StrList *statements, bool *ran_any,
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

/* nr_shutdown ends every idle runner (they exit on end of input) and waits for them. */
void nr_shutdown(void);

#endif

/*
 * control.c — the PostgreSQL control database (control.h): schema, dirty marks, shared runs
 * and their live view, through libpq.
 *
 * DESIGN: the rules of a shared run live in one claim statement, so that every process applies
 * them to the same rows: only tenants of the lowest environment with unfinished tenants are
 * claimable (the gate), canaries before the others, a claimed row whose lease expired is
 * claimable again (its process died), and a halted run hands out nothing. The statement runs
 * under READ COMMITTED: a row another process is finishing is either seen unfinished (so the
 * gate stays shut, and this process waits) or finished; neither lets a later environment start
 * early. Budgets and canaries are decided in the transaction that records the failure.
 */
#include "drover/control.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drover/url.h"
#include "drover/util.h"

#define CONTROL_SCHEMA_VERSION 1

struct Control {
    PGconn *conn;           /* the coordinator's and the workers', under mu */
    pthread_mutex_t mu;
    char *url;
    char *masked;
    char *worker;
    long lease_ms;
    pthread_t lease_thread;
    bool lease_started;
    pthread_mutex_t lease_mu;
    pthread_cond_t lease_cv;
    bool closing;
    atomic_bool lost;
    char lost_why[512];
    pthread_mutex_t why_mu;
};

/* The schema, version 1. Created in one transaction under an advisory lock, so that processes
 * starting together do not race on it. */
static const char SCHEMA_SQL[] =
    "CREATE SCHEMA IF NOT EXISTS drover;"
    "CREATE TABLE IF NOT EXISTS drover.version (version int NOT NULL);"
    "CREATE TABLE IF NOT EXISTS drover.workers (id text PRIMARY KEY, host text NOT NULL,"
    " pid int NOT NULL, app text, started_at timestamptz NOT NULL DEFAULT now(),"
    " seen_at timestamptz NOT NULL DEFAULT now(), left_at timestamptz);"
    "CREATE TABLE IF NOT EXISTS drover.runs (name text PRIMARY KEY, command text NOT NULL,"
    " digest text NOT NULL, continue_on_error bool NOT NULL, created_by text NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(), halted text, halted_at int,"
    " ended_at timestamptz, outcome text);"
    "CREATE TABLE IF NOT EXISTS drover.run_envs (run text NOT NULL REFERENCES drover.runs"
    " ON DELETE CASCADE, position int NOT NULL, name text NOT NULL, budget int NOT NULL,"
    " PRIMARY KEY (run, position));"
    "CREATE TABLE IF NOT EXISTS drover.run_tenants (run text NOT NULL REFERENCES drover.runs"
    " ON DELETE CASCADE, position int NOT NULL, tenant text NOT NULL, env_pos int NOT NULL,"
    " canary bool NOT NULL, state text NOT NULL DEFAULT 'pending', worker text,"
    " lease_until timestamptz, claims int NOT NULL DEFAULT 0, outcome text,"
    " failure bool NOT NULL DEFAULT false, incomplete bool NOT NULL DEFAULT false, error text,"
    " result text, started_at timestamptz, ended_at timestamptz, expected_ms int,"
    " PRIMARY KEY (run, position));"
    /* Added within version 1: older drovers ignore it (their reverts change the outcome,
     * which is what adoption looks at first). */
    "ALTER TABLE drover.run_tenants ADD COLUMN IF NOT EXISTS revert_done bool NOT NULL"
    " DEFAULT false;"
    "CREATE INDEX IF NOT EXISTS run_tenants_queue ON drover.run_tenants (run, env_pos, state);"
    "CREATE INDEX IF NOT EXISTS run_tenants_history ON drover.run_tenants (tenant, ended_at);"
    "CREATE TABLE IF NOT EXISTS drover.run_events (run text NOT NULL REFERENCES drover.runs"
    " ON DELETE CASCADE, event text NOT NULL, worker text NOT NULL,"
    " sent_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run, event));"
    "CREATE TABLE IF NOT EXISTS drover.dirty (tenant text PRIMARY KEY, migration text NOT NULL,"
    " error text, started bool NOT NULL, worker text, run text,"
    " marked_at timestamptz NOT NULL DEFAULT now());";

/* ---- connections and errors ------------------------------------------------------------- */

static void note_lost(Control *c, const char *what, const char *detail)
{
    pthread_mutex_lock(&c->why_mu);
    if (!atomic_load(&c->lost))
        snprintf(c->lost_why, sizeof c->lost_why, "lost the control database %s (%s): %s",
                 c->masked, what, detail);
    atomic_store(&c->lost, true);
    pthread_mutex_unlock(&c->why_mu);
}

bool control_lost(Control *c, const char **why)
{
    if (!atomic_load(&c->lost))
        return false;
    if (why)
        *why = c->lost_why;
    return true;
}

const char *control_worker(const Control *c)
{
    return c->worker;
}

/* one_line: libpq's message without its trailing newline and with any URL masked. */
static char *one_line(const char *msg)
{
    char *m = url_mask_text(msg ? msg : "unknown error");
    size_t n = strlen(m);
    while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = '\0';
    for (char *p = m; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return m;
}

/* fail reports a failed statement (what it was for) and, when the connection is gone, marks
 * the control database lost. res may be NULL. */
static bool fail(Control *c, PGconn *conn, PGresult *res, const char *what, DroverError *err)
{
    char *msg = one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    if (!*msg) {
        free(msg);
        msg = one_line(PQerrorMessage(conn));
    }
    if (PQstatus(conn) != CONNECTION_OK)
        note_lost(c, what, msg);
    error_set(err, ERR_IO, "control database %s: %s: %s", c->masked, what, msg);
    free(msg);
    PQclear(res);
    return false;
}

static PGconn *connect_control(const Control *c, const char *app, DroverError *err)
{
    /* The URL comes first: later keywords override what it says. The server gives up on a
     * statement after 15 s and on a lock after 10 s; the kernel on unacknowledged data after
     * 10 s, so nothing waits on a control database that vanished. */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", "options",
                          "keepalives", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout", NULL};
    const char *values[] = {c->url, "5", app, "-c statement_timeout=15000 -c lock_timeout=10000 "
                            "-c idle_in_transaction_session_timeout=60000 "
                            "-c client_min_messages=warning",
                            "1", "10", "5", "2", "10000", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (PQstatus(conn) == CONNECTION_OK)
        return conn;
    char *msg = one_line(PQerrorMessage(conn));
    error_set(err, ERR_IO, "cannot reach the control database %s: %s", c->masked, msg);
    error_set_hint(err, "nothing was run; every coordinator of the fleet needs the control "
                        "database (drover.cfg 'control'); check that it is up and reachable");
    free(msg);
    PQfinish(conn);
    return NULL;
}

/* exec runs sql with text parameters; NULL (and err) unless it returned rows or a command. */
static PGresult *exec(Control *c, PGconn *conn, const char *what, const char *sql, int n,
                      const char *const *params, DroverError *err)
{
    /* Without parameters, PQexec: it also takes several statements (the schema). */
    PGresult *res = n == 0 ? PQexec(conn, sql) : PQexecParams(conn, sql, n, NULL, params, NULL,
                                                               NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    fail(c, conn, res, what, err);
    return NULL;
}

static bool run_sql(Control *c, PGconn *conn, const char *what, const char *sql, int n,
                    const char *const *params, DroverError *err)
{
    PGresult *res = exec(c, conn, what, sql, n, params, err);
    PQclear(res);
    return res != NULL;
}

static void rollback(PGconn *conn)
{
    PQclear(PQexec(conn, "ROLLBACK"));
}

static char *dup_value(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

/* ---- schema and worker ------------------------------------------------------------------ */

static bool ensure_schema(Control *c, DroverError *err)
{
    PGconn *k = c->conn;
    if (!run_sql(c, k, "creating its schema", "BEGIN", 0, NULL, err))
        return false;
    bool ok = run_sql(c, k, "creating its schema",
                      "SELECT pg_advisory_xact_lock(hashtext('drover control schema'))", 0, NULL,
                      err) &&
              run_sql(c, k, "creating its schema", SCHEMA_SQL, 0, NULL, err);
    PGresult *res = ok ? exec(c, k, "reading its schema version",
                              "SELECT max(version) FROM drover.version", 0, NULL, err)
                       : NULL;
    ok = res != NULL;
    if (ok && PQgetisnull(res, 0, 0)) {
        ok = run_sql(c, k, "recording its schema version",
                     "INSERT INTO drover.version VALUES (1)", 0, NULL, err);
    } else if (ok && atoi(PQgetvalue(res, 0, 0)) > CONTROL_SCHEMA_VERSION) {
        error_set(err, ERR_CONFIG, "the control database %s holds drover's schema version %s; "
                  "this drover knows version %d", c->masked, PQgetvalue(res, 0, 0),
                  CONTROL_SCHEMA_VERSION);
        error_set_hint(err, "run the newer drover that created it; nothing was run");
        ok = false;
    }
    PQclear(res);
    if (ok)
        return run_sql(c, k, "creating its schema", "COMMIT", 0, NULL, err);
    rollback(k);
    return false;
}

static char *worker_id(void)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return xasprintf("%s:%ld:%lx", host, (long)getpid(),
                     (unsigned long)(ts.tv_nsec ^ (ts.tv_sec << 20)));
}

static bool register_worker(Control *c, const char *app, DroverError *err)
{
    char host[256] = "", pid[24];
    gethostname(host, sizeof host - 1);
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    const char *p[] = {c->worker, host, pid, app};
    return run_sql(c, c->conn, "registering this worker",
                   "INSERT INTO drover.workers (id, host, pid, app) VALUES ($1, $2, $3, $4)", 4,
                   p, err);
}

/* ---- the lease thread ------------------------------------------------------------------- */

static const char RENEW_SQL[] =
    "WITH w AS (UPDATE drover.workers SET seen_at = now() WHERE id = $1)"
    " UPDATE drover.run_tenants SET lease_until = now() + $2::int * interval '1 millisecond'"
    " WHERE worker = $1 AND state = 'claimed'";

/* lease_main renews this worker's heartbeat and claims every lease/3 on its own connection;
 * a renewal that fails marks the control database lost, so the coordinator stops claiming
 * (its claims then expire and other processes take those tenants over). */
static void *lease_main(void *arg)
{
    Control *c = arg;
    DroverError err = DROVER_ERROR_INIT;
    PGconn *conn = connect_control(c, "drover control lease", &err);
    if (!conn)
        note_lost(c, "renewing this worker's leases", err.message ? err.message : "");
    error_clear(&err);
    char lease[24];
    snprintf(lease, sizeof lease, "%ld", c->lease_ms);
    const char *p[] = {c->worker, lease};
    pthread_mutex_lock(&c->lease_mu);
    while (!c->closing && conn) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long ms = c->lease_ms / 3;
        until.tv_sec += ms / 1000;
        until.tv_nsec += (ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!c->closing && pthread_cond_timedwait(&c->lease_cv, &c->lease_mu, &until) == 0)
            ;
        if (c->closing)
            break;
        pthread_mutex_unlock(&c->lease_mu);
        bool ok = run_sql(c, conn, "renewing this worker's leases", RENEW_SQL, 2, p, &err);
        if (!ok && !atomic_load(&c->lost))
            note_lost(c, "renewing this worker's leases", err.message ? err.message : "");
        error_clear(&err);
        pthread_mutex_lock(&c->lease_mu);
    }
    pthread_mutex_unlock(&c->lease_mu);
    PQfinish(conn);
    return NULL;
}

Control *control_open(const char *url, const char *masked, long lease_ms, const char *app,
                      DroverError *err)
{
    Control *c = xcalloc(1, sizeof *c);
    c->url = xstrdup(url);
    c->masked = xstrdup(masked);
    c->lease_ms = lease_ms;
    c->worker = worker_id();
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->lease_mu, NULL);
    pthread_mutex_init(&c->why_mu, NULL);
    pthread_cond_init(&c->lease_cv, NULL);
    c->conn = connect_control(c, app, err);
    if (!c->conn || !ensure_schema(c, err) || !register_worker(c, app, err)) {
        control_close(c);
        return NULL;
    }
    c->lease_started = pthread_create(&c->lease_thread, NULL, lease_main, c) == 0;
    return c;
}

void control_close(Control *c)
{
    if (!c)
        return;
    if (c->lease_started) {
        pthread_mutex_lock(&c->lease_mu);
        c->closing = true;
        pthread_cond_signal(&c->lease_cv);
        pthread_mutex_unlock(&c->lease_mu);
        pthread_join(c->lease_thread, NULL);
    }
    if (c->conn && PQstatus(c->conn) == CONNECTION_OK) {
        /* What this worker claimed and never finished goes back to the queue at once. */
        DroverError err = DROVER_ERROR_INIT;
        const char *p[] = {c->worker};
        run_sql(c, c->conn, "leaving",
                "WITH w AS (UPDATE drover.workers SET left_at = now() WHERE id = $1)"
                " UPDATE drover.run_tenants SET state = 'pending', worker = NULL,"
                " lease_until = NULL WHERE worker = $1 AND state = 'claimed'",
                1, p, &err);
        error_clear(&err);
    }
    PQfinish(c->conn);
    pthread_cond_destroy(&c->lease_cv);
    pthread_mutex_destroy(&c->lease_mu);
    pthread_mutex_destroy(&c->why_mu);
    pthread_mutex_destroy(&c->mu);
    free(c->url);
    free(c->masked);
    free(c->worker);
    free(c);
}

/* locked_exec: one statement on the shared connection. */
static PGresult *locked_exec(Control *c, const char *what, const char *sql, int n,
                             const char *const *params, DroverError *err)
{
    pthread_mutex_lock(&c->mu);
    PGresult *res = exec(c, c->conn, what, sql, n, params, err);
    pthread_mutex_unlock(&c->mu);
    return res;
}

/* locked_run: locked_exec for a statement whose rows do not matter. */
static bool locked_run(Control *c, const char *what, const char *sql, int n,
                       const char *const *params, DroverError *err)
{
    PGresult *res = locked_exec(c, what, sql, n, params, err);
    PQclear(res);
    return res != NULL;
}

/* pg_array: a text[] literal of items ("{...}"), each quoted. */
static void pg_array_add(StrBuf *sb, const char *item)
{
    sb_append(sb, sb->len > 1 ? ",\"" : "\"");
    for (const char *s = item; *s; s++)
        sb_appendf(sb, "%s%c", *s == '"' || *s == '\\' ? "\\" : "", *s);
    sb_append(sb, "\"");
}

/* ---- dirty marks ------------------------------------------------------------------------ */

bool control_dirty(Control *c, const char *tenant, char **migration, char **error,
                   DroverError *err)
{
    *migration = *error = NULL;
    char lease[24];
    snprintf(lease, sizeof lease, "%ld", c->lease_ms);
    const char *p[] = {tenant, c->worker, lease};
    PGresult *res = locked_exec(
        c, "reading the tenant's dirty mark",
        "SELECT d.migration, d.error FROM drover.dirty d LEFT JOIN drover.workers w"
        " ON w.id = d.worker WHERE d.tenant = $1 AND NOT (d.started AND (d.worker = $2 OR"
        " (w.left_at IS NULL AND w.seen_at > now() - $3::int * interval '1 millisecond')))",
        3, p, err);
    if (!res)
        return false;
    if (PQntuples(res) > 0) {
        *migration = dup_value(res, 0, 0);
        *error = dup_value(res, 0, 1);
    }
    PQclear(res);
    return true;
}

bool control_mark_started(Control *c, const char *run, const char *tenant,
                          const char *migration, char **existing, DroverError *err)
{
    *existing = NULL;
    const char *p[] = {tenant, migration, c->worker, run};
    PGresult *res = locked_exec(
        c, "marking the tenant's migration started",
        "WITH ins AS (INSERT INTO drover.dirty (tenant, migration, error, started, worker, run)"
        " VALUES ($1, $2, 'a section without a transaction was started by worker ' || $3 ||"
        " ' and never ended', true, $3, $4) ON CONFLICT (tenant) DO NOTHING RETURNING tenant)"
        " SELECT (SELECT count(*) FROM ins), (SELECT migration FROM drover.dirty"
        " WHERE tenant = $1)",
        4, p, err);
    if (!res)
        return false;
    bool inserted = strcmp(PQgetvalue(res, 0, 0), "1") == 0;
    if (!inserted) {
        *existing = dup_value(res, 0, 1);
        error_set(err, ERR_REFUSED, "the tenant is dirty: migration '%s' may be half-applied "
                  "(marked in the control database)", *existing ? *existing : "");
        error_set_context(err, tenant, NULL, NULL);
    }
    PQclear(res);
    return inserted;
}

bool control_clear_started(Control *c, const char *tenant, const char *migration,
                           DroverError *err)
{
    const char *p[] = {tenant, migration, c->worker};
    return locked_run(c, "clearing the tenant's started mark",
                      "DELETE FROM drover.dirty WHERE tenant = $1 AND migration = $2"
                      " AND worker = $3 AND started",
                      3, p, err);
}

bool control_record_dirty(Control *c, const char *run, const char *tenant,
                          const char *migration, const char *why, DroverError *err)
{
    const char *p[] = {tenant, migration, why, c->worker, run};
    return locked_run(
        c, "marking the tenant dirty",
        "INSERT INTO drover.dirty (tenant, migration, error, started, worker, run)"
        " VALUES ($1, $2, $3, false, $4, $5) ON CONFLICT (tenant) DO UPDATE SET"
        " migration = excluded.migration, error = excluded.error, started = false,"
        " worker = excluded.worker, run = excluded.run, marked_at = now()",
        5, p, err);
}

bool control_clear_dirty(Control *c, const char *tenant, const char *const *names, size_t n,
                         DroverError *err)
{
    if (n == 0)
        return true;
    StrBuf arr;
    sb_init(&arr);
    sb_append(&arr, "{");
    for (size_t i = 0; i < n; i++)
        pg_array_add(&arr, names[i]);
    sb_append(&arr, "}");
    const char *p[] = {tenant, arr.data};
    bool ok = locked_run(c, "clearing the tenant's dirty mark",
                         "DELETE FROM drover.dirty WHERE tenant = $1 AND NOT started"
                         " AND migration = ANY ($2::text[])",
                         2, p, err);
    sb_free(&arr);
    return ok;
}

bool control_resolve(Control *c, const char *tenant, bool *was_dirty, DroverError *err)
{
    const char *p[] = {tenant};
    PGresult *res = locked_exec(c, "resolving the tenant",
                                "DELETE FROM drover.dirty WHERE tenant = $1", 1, p, err);
    if (!res)
        return false;
    *was_dirty = atoi(PQcmdTuples(res)) > 0;
    PQclear(res);
    return true;
}

/* ---- shared runs ------------------------------------------------------------------------ */

static bool create_run(Control *c, const ControlRun *run, DroverError *err)
{
    const char *p[] = {run->name, run->command, run->spec,
                       run->continue_on_error ? "true" : "false", c->worker};
    if (!run_sql(c, c->conn, "creating the run",
                 "INSERT INTO drover.runs (name, command, digest, continue_on_error, created_by)"
                 " VALUES ($1, $2, md5($3), $4, $5)",
                 5, p, err))
        return false;
    StrBuf names, budgets;
    sb_init(&names);
    sb_init(&budgets);
    sb_append(&names, "{");
    sb_append(&budgets, "{");
    for (size_t i = 0; i < run->nenvs; i++) {
        pg_array_add(&names, run->envs[i].name);
        sb_appendf(&budgets, "%s%ld", i ? "," : "", run->envs[i].budget);
    }
    sb_append(&names, "}");
    sb_append(&budgets, "}");
    const char *pe[] = {run->name, names.data, budgets.data};
    bool ok = run_sql(c, c->conn, "creating the run's environments",
                      "INSERT INTO drover.run_envs (run, position, name, budget)"
                      " SELECT $1, o - 1, n, b FROM unnest($2::text[], $3::int[])"
                      " WITH ORDINALITY AS u(n, b, o)",
                      3, pe, err);
    StrBuf ids, envs, canaries;
    sb_init(&ids);
    sb_init(&envs);
    sb_init(&canaries);
    sb_append(&ids, "{");
    sb_append(&envs, "{");
    sb_append(&canaries, "{");
    for (size_t i = 0; i < run->ntenants; i++) {
        pg_array_add(&ids, run->tenants[i].id);
        sb_appendf(&envs, "%s%zu", i ? "," : "", run->tenants[i].env);
        sb_appendf(&canaries, "%s%s", i ? "," : "", run->tenants[i].canary ? "t" : "f");
    }
    sb_append(&ids, "}");
    sb_append(&envs, "}");
    sb_append(&canaries, "}");
    const char *pt[] = {run->name, ids.data, envs.data, canaries.data};
    ok = ok && run_sql(c, c->conn, "creating the run's queue",
                       "INSERT INTO drover.run_tenants (run, position, tenant, env_pos, canary,"
                       " expected_ms) SELECT $1, o - 1, t, e, k, (SELECT (extract(epoch FROM"
                       " x.ended_at - x.started_at) * 1000)::int FROM drover.run_tenants x"
                       " WHERE x.tenant = u.t AND x.state = 'done' AND x.claims = 1 AND"
                       " x.outcome IN ('migrated', 'reverted') ORDER BY x.ended_at DESC LIMIT 1)"
                       " FROM unnest($2::text[], $3::int[], $4::bool[]) WITH ORDINALITY"
                       " AS u(t, e, k, o)",
                       4, pt, err);
    sb_free(&names);
    sb_free(&budgets);
    sb_free(&ids);
    sb_free(&envs);
    sb_free(&canaries);
    return ok;
}

/* check_joined compares an existing run with what this process would run. */
static bool check_joined(const ControlRun *run, PGresult *res, bool *finished,
                         char **outcome, DroverError *err)
{
    if (strcmp(PQgetvalue(res, 0, 0), run->command) != 0) {
        error_set(err, ERR_USAGE, "run '%s' is a '%s' run; this is '%s'", run->name,
                  PQgetvalue(res, 0, 0), run->command);
        error_set_hint(err, "give this run another name; nothing was run");
        return false;
    }
    if (strcmp(PQgetvalue(res, 0, 3), "t") != 0) {
        error_set(err, ERR_USAGE, "run '%s' was started with another selection of tenants, "
                  "another migration set or another target than this process has (digest %s)",
                  run->name, PQgetvalue(res, 0, 1));
        error_set_hint(err, "every process that joins a run needs the same drover.cfg, "
                            "selection options and migrations folder; nothing was run");
        return false;
    }
    *finished = !PQgetisnull(res, 0, 2);
    *outcome = *finished ? dup_value(res, 0, 4) : NULL;
    return true;
}

bool control_join(Control *c, const ControlRun *run, bool *finished, char **outcome,
                  DroverError *err)
{
    *finished = false;
    *outcome = NULL;
    pthread_mutex_lock(&c->mu);
    const char *p[] = {run->name, run->spec};
    bool ok = run_sql(c, c->conn, "joining the run", "BEGIN", 0, NULL, err) &&
              run_sql(c, c->conn, "joining the run",
                      "SELECT pg_advisory_xact_lock(hashtext('drover run ' || $1))", 1, p, err);
    PGresult *res = ok ? exec(c, c->conn, "joining the run",
                              "SELECT command, digest, ended_at, digest = md5($2), outcome"
                              " FROM drover.runs WHERE name = $1",
                              2, p, err)
                       : NULL;
    ok = res != NULL;
    if (ok && PQntuples(res) == 0)
        ok = create_run(c, run, err);
    else if (ok)
        ok = check_joined(run, res, finished, outcome, err);
    PQclear(res);
    ok = ok && run_sql(c, c->conn, "joining the run", "COMMIT", 0, NULL, err);
    if (!ok)
        rollback(c->conn);
    pthread_mutex_unlock(&c->mu);
    return ok;
}

/* The gate, the canaries and expired leases, in one statement (see DESIGN above). Within what
 * is claimable, the slowest first: a tenant's time in its last run that applied or reverted
 * something (expected_ms), so that a long tenant does not start last and hold the whole run's
 * end (longest-processing-time first); tenants without a history follow in rollout order. */
static const char CLAIM_SQL[] =
    "WITH gate AS (SELECT min(env_pos) AS env FROM drover.run_tenants"
    "   WHERE run = $1 AND state <> 'done'),"
    " canaries_open AS (SELECT NOT EXISTS (SELECT 1 FROM drover.run_tenants t, gate"
    "   WHERE t.run = $1 AND t.env_pos = gate.env AND t.canary AND t.state <> 'done') AS open),"
    " pick AS (SELECT t.position FROM drover.run_tenants t, gate, canaries_open"
    "   WHERE t.run = $1 AND t.env_pos = gate.env"
    "   AND (t.state = 'pending' OR (t.state = 'claimed' AND t.lease_until < now()))"
    "   AND (t.canary OR canaries_open.open)"
    "   AND NOT EXISTS (SELECT 1 FROM drover.runs r WHERE r.name = $1 AND r.halted IS NOT NULL)"
    "   ORDER BY t.canary DESC, t.expected_ms DESC NULLS LAST, t.position"
    "   LIMIT 1 FOR UPDATE OF t SKIP LOCKED)"
    " UPDATE drover.run_tenants t SET state = 'claimed', worker = $2, claims = claims + 1,"
    "   lease_until = now() + $3::int * interval '1 millisecond',"
    "   started_at = coalesce(t.started_at, now())"
    " FROM pick WHERE t.run = $1 AND t.position = pick.position RETURNING t.position";

/* The run's state when nothing was claimable: halted (why, at which tenant), and how many of
 * its tenants are not done. */
static const char STATE_SQL[] =
    "SELECT r.halted, r.halted_at, (SELECT count(*) FROM drover.run_tenants t"
    "  WHERE t.run = r.name AND t.state <> 'done') FROM drover.runs r WHERE r.name = $1";

ControlClaim control_claim(Control *c, const char *run, size_t *index, char **why)
{
    const char *lost;
    *why = NULL;
    if (control_lost(c, &lost)) {
        *why = xstrdup(lost);
        return CONTROL_LOST;
    }
    char lease[24];
    snprintf(lease, sizeof lease, "%ld", c->lease_ms);
    const char *p[] = {run, c->worker, lease};
    DroverError err = DROVER_ERROR_INIT;
    ControlClaim answer = CONTROL_LOST;
    PGresult *res = locked_exec(c, "claiming a tenant", CLAIM_SQL, 3, p, &err);
    if (res && PQntuples(res) == 1) {
        *index = (size_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
        answer = CONTROL_GOT;
    } else if (res) {
        PQclear(res);
        res = locked_exec(c, "reading the run's state", STATE_SQL, 1, p, &err);
    }
    if (res && answer != CONTROL_GOT) {
        if (!PQgetisnull(res, 0, 0)) {
            *why = xstrdup(PQgetvalue(res, 0, 0));
            *index = (size_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
            answer = CONTROL_HALTED;
        } else {
            answer = strcmp(PQgetvalue(res, 0, 2), "0") == 0 ? CONTROL_DONE : CONTROL_WAIT;
        }
    }
    if (!res) /* the lease thread may have seen the connection go first: say "lost" either way */
        *why = xstrdup(control_lost(c, &lost) ? lost
                       : err.message           ? err.message
                                               : "the control database did not answer");
    PQclear(res);
    error_clear(&err);
    return answer;
}

bool control_take(Control *c, const char *run, size_t index, DroverError *err)
{
    char pos[24], lease[24];
    snprintf(pos, sizeof pos, "%zu", index);
    snprintf(lease, sizeof lease, "%ld", c->lease_ms);
    const char *p[] = {run, pos, c->worker, lease};
    return locked_run(c, "recording a tenant's start",
                      "UPDATE drover.run_tenants SET state = 'claimed', worker = $3,"
                      " claims = claims + 1, lease_until = now() + $4::int *"
                      " interval '1 millisecond', started_at = coalesce(started_at,"
                      " now()) WHERE run = $1 AND position = $2 AND state = 'pending'",
                      4, p, err);
}

/* HALT_SQL decides, in the transaction that recorded a failure of tenant $2, whether it halts
 * the run: a canary, or one failure past its environment's budget. */
static const char HALT_SQL[] =
    "WITH t AS (SELECT tenant, env_pos, canary FROM drover.run_tenants"
    "   WHERE run = $1 AND position = $2),"
    " e AS (SELECT e.name, e.budget, (SELECT count(*) FROM drover.run_tenants x"
    "   WHERE x.run = $1 AND x.env_pos = e.position AND x.failure) AS failures,"
    "   (SELECT count(*) FROM drover.run_tenants x WHERE x.run = $1"
    "   AND x.env_pos = e.position) AS total FROM drover.run_envs e, t"
    "   WHERE e.run = $1 AND e.position = t.env_pos)"
    " UPDATE drover.runs r SET halted_at = $2, halted = CASE WHEN t.canary THEN"
    "   format('environment ''%s'': canary ''%s'' failed; the other tenants were not started',"
    "   e.name, t.tenant) ELSE format('environment ''%s'': %s of %s tenants failed, more "
    "than max_failures allows (%s)', e.name, e.failures, e.total, e.budget) END"
    " FROM t, e WHERE r.name = $1 AND r.halted IS NULL AND NOT r.continue_on_error"
    " AND (t.canary OR (e.budget >= 0 AND e.failures > e.budget)) RETURNING r.halted";

static const char FINISH_SQL[] =
    "UPDATE drover.run_tenants SET state = CASE WHEN $4 THEN 'pending' ELSE 'done' END,"
    " worker = CASE WHEN $4 THEN NULL ELSE worker END, lease_until = NULL,"
    " outcome = CASE WHEN $4 THEN NULL ELSE $5 END,"
    " failure = $6, incomplete = $7, error = $8, result = $9,"
    " ended_at = CASE WHEN $4 THEN NULL ELSE now() END"
    " WHERE run = $1 AND position = $2 AND worker = $3 AND state = 'claimed'";

bool control_finish(Control *c, const char *run, size_t index, const ControlResult *r,
                     char **halt, DroverError *err)
{
    *halt = NULL;
    char pos[24];
    snprintf(pos, sizeof pos, "%zu", index);
    const char *p[] = {run,
                       pos,
                       c->worker,
                       r->release ? "true" : "false",
                       r->outcome,
                       r->failure ? "true" : "false",
                       r->incomplete ? "true" : "false",
                       r->error,
                       r->json};
    pthread_mutex_lock(&c->mu);
    bool ok = run_sql(c, c->conn, "recording a tenant's result", "BEGIN", 0, NULL, err);
    /* Failures finishing at once in two processes must not each count only its own, or
     * neither would see the budget exceeded: the run's row serializes them. */
    if (ok && r->failure)
        ok = run_sql(c, c->conn, "recording a tenant's result",
                     "SELECT 1 FROM drover.runs WHERE name = $1 FOR UPDATE", 1, p, err);
    ok = ok && run_sql(c, c->conn, "recording a tenant's result", FINISH_SQL, 9, p, err);
    PGresult *res = ok && r->failure ? exec(c, c->conn, "checking the run's failure budget",
                                            HALT_SQL, 2, p, err)
                                     : NULL;
    ok = ok && (!r->failure || res);
    if (res && PQntuples(res) == 1)
        *halt = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    ok = ok && run_sql(c, c->conn, "recording a tenant's result", "COMMIT", 0, NULL, err);
    if (!ok) {
        rollback(c->conn);
        free(*halt);
        *halt = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

bool control_revise(Control *c, const char *run, size_t index, const ControlResult *r,
                    DroverError *err)
{
    char pos[24];
    snprintf(pos, sizeof pos, "%zu", index);
    const char *p[] = {run, pos, r->outcome, r->failure ? "true" : "false", r->error, r->json};
    return locked_run(c, "recording a tenant's revert",
                      "UPDATE drover.run_tenants SET outcome = $3, failure = $4,"
                      " error = $5, result = $6, revert_done = true"
                      " WHERE run = $1 AND position = $2",
                      6, p, err);
}

/* ADOPT_SQL: in a halted run, the tenants of the halting environment still migrated and not
 * yet reverted whose process is gone (left, or unseen for a lease) become worker $2's, up to
 * $4 of them; the second query says whether some remain with a live process. */
static const char ADOPT_SQL[] =
    "WITH h AS (SELECT t.env_pos FROM drover.runs r JOIN drover.run_tenants t"
    "   ON t.run = r.name AND t.position = r.halted_at WHERE r.name = $1 AND r.halted IS NOT NULL),"
    " c AS (SELECT t.position FROM drover.run_tenants t, h WHERE t.run = $1"
    "   AND t.env_pos = h.env_pos AND t.state = 'done' AND t.outcome = 'migrated'"
    "   AND NOT t.revert_done AND t.worker IS DISTINCT FROM $2 AND NOT EXISTS (SELECT 1"
    "   FROM drover.workers w WHERE w.id = t.worker AND w.left_at IS NULL"
    "   AND w.seen_at > now() - $3::int * interval '1 millisecond')"
    "   ORDER BY t.position LIMIT $4::int FOR UPDATE OF t SKIP LOCKED)"
    " UPDATE drover.run_tenants t SET worker = $2 FROM c"
    " WHERE t.run = $1 AND t.position = c.position RETURNING t.position";
static const char ADOPT_LEFT_SQL[] =
    "SELECT count(*) FROM drover.runs r JOIN drover.run_tenants h"
    "  ON h.run = r.name AND h.position = r.halted_at JOIN drover.run_tenants t"
    "  ON t.run = r.name AND t.env_pos = h.env_pos WHERE r.name = $1 AND r.halted IS NOT NULL"
    "  AND t.outcome = 'migrated' AND NOT t.revert_done AND t.worker IS DISTINCT FROM $2";

size_t control_adopt(Control *c, const char *run, size_t max, size_t *taken, bool *more,
                     DroverError *err)
{
    char lease[24], lim[24];
    snprintf(lease, sizeof lease, "%ld", c->lease_ms);
    snprintf(lim, sizeof lim, "%zu", max);
    const char *p[] = {run, c->worker, lease, lim};
    *more = false;
    PGresult *res = locked_exec(c, "taking over a gone process's reverts", ADOPT_SQL, 4, p, err);
    if (!res)
        return 0;
    size_t n = 0;
    for (int i = 0; i < PQntuples(res) && n < max; i++)
        taken[n++] = (size_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
    PQclear(res);
    if (n > 0) {
        *more = true;
        return n;
    }
    res = locked_exec(c, "reading what is left to revert", ADOPT_LEFT_SQL, 2, p, err);
    *more = res && strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    return 0;
}

bool control_settled(Control *c, const char *run, bool *settled, DroverError *err)
{
    const char *p[] = {run, c->worker};
    *settled = true;
    PGresult *res = locked_exec(c, "reading what other processes still run",
                                "SELECT count(*) FROM drover.run_tenants WHERE run = $1"
                                " AND state = 'claimed' AND lease_until >= now()"
                                " AND worker IS DISTINCT FROM $2",
                                2, p, err);
    if (!res)
        return false;
    *settled = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
    PQclear(res);
    return true;
}

char **control_results(Control *c, const char *run, size_t ntenants, DroverError *err)
{
    const char *p[] = {run};
    PGresult *res = locked_exec(c, "reading the run's results",
                                "SELECT position, result FROM drover.run_tenants WHERE run = $1"
                                " AND state = 'done' AND result IS NOT NULL",
                                1, p, err);
    if (!res)
        return NULL;
    char **out = xcalloc(ntenants ? ntenants : 1, sizeof *out);
    for (int i = 0; i < PQntuples(res); i++) {
        size_t at = (size_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
        if (at < ntenants && !out[at])
            out[at] = dup_value(res, i, 1);
    }
    PQclear(res);
    return out;
}

bool control_end_run(Control *c, const char *run, bool *ended, DroverError *err)
{
    const char *p[] = {run};
    PGresult *res = locked_exec(
        c, "ending the run",
        "UPDATE drover.runs r SET ended_at = now(), outcome = CASE"
        " WHEN r.halted IS NOT NULL THEN 'halted'"
        " WHEN EXISTS (SELECT 1 FROM drover.run_tenants t WHERE t.run = $1 AND t.failure)"
        " THEN 'failed'"
        " WHEN EXISTS (SELECT 1 FROM drover.run_tenants t WHERE t.run = $1 AND t.incomplete)"
        " THEN 'incomplete' ELSE 'succeeded' END"
        " WHERE r.name = $1 AND r.ended_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM drover.run_tenants t WHERE t.run = $1"
        "  AND t.state = 'claimed' AND t.lease_until >= now())"
        " AND (r.halted IS NOT NULL OR NOT EXISTS (SELECT 1 FROM drover.run_tenants t"
        "  WHERE t.run = $1 AND t.state <> 'done'))",
        1, p, err);
    *ended = res && atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return res != NULL;
}

bool control_event_once(Control *c, const char *run, const char *event, bool *first,
                        DroverError *err)
{
    const char *p[] = {run, event, c->worker};
    PGresult *res = locked_exec(c, "recording a webhook event",
                                "INSERT INTO drover.run_events (run, event, worker)"
                                " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                3, p, err);
    *first = res && atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return res != NULL;
}

bool control_end_run_as(Control *c, const char *run, const char *outcome, DroverError *err)
{
    const char *p[] = {run, outcome};
    return locked_run(c, "ending the run",
                      "UPDATE drover.runs SET ended_at = now(), outcome = $2"
                      " WHERE name = $1 AND ended_at IS NULL",
                      2, p, err);
}

/* ---- the live view ---------------------------------------------------------------------- */

static json_t *json_value(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static const char RUN_VIEW_SQL[] =
    "SELECT json_build_object('name', r.name, 'command', r.command, 'digest', r.digest,"
    " 'created_at', r.created_at, 'created_by', r.created_by, 'ended_at', r.ended_at,"
    " 'outcome', r.outcome, 'halted', r.halted,"
    " 'counts', (SELECT json_build_object('total', count(*),"
    "   'pending', count(*) FILTER (WHERE state = 'pending'),"
    "   'running', count(*) FILTER (WHERE state = 'claimed'),"
    "   'done', count(*) FILTER (WHERE state = 'done'),"
    "   'failed', count(*) FILTER (WHERE failure)) FROM drover.run_tenants WHERE run = r.name),"
    " 'workers', (SELECT coalesce(json_agg(json_build_object('id', w.id, 'host', w.host,"
    "   'pid', w.pid, 'seen_at', w.seen_at, 'left_at', w.left_at,"
    "   'running', (SELECT coalesce(json_agg(t.tenant ORDER BY t.position), '[]')"
    "     FROM drover.run_tenants t WHERE t.run = r.name AND t.worker = w.id"
    "     AND t.state = 'claimed')) ORDER BY w.started_at), '[]') FROM drover.workers w"
    "   WHERE w.id IN (SELECT worker FROM drover.run_tenants WHERE run = r.name"
    "   AND worker IS NOT NULL UNION SELECT r.created_by)),"
    " 'tenants', (SELECT coalesce(json_agg(json_build_object('id', t.tenant,"
    "   'env', e.name, 'canary', t.canary, 'state', CASE WHEN t.state = 'claimed' AND"
    "   t.lease_until < now() THEN 'abandoned' WHEN t.state = 'claimed' THEN 'running'"
    "   ELSE t.state END, 'worker', t.worker, 'claims', t.claims, 'outcome', t.outcome,"
    "   'error', t.error, 'started_at', t.started_at, 'ended_at', t.ended_at,"
    "   'result', t.result::json)"
    "   ORDER BY t.position), '[]') FROM drover.run_tenants t JOIN drover.run_envs e"
    "   ON e.run = t.run AND e.position = t.env_pos WHERE t.run = r.name))"
    " FROM drover.runs r WHERE r.name = $1";

static json_t *parse_row_json(const PGresult *res, DroverError *err)
{
    json_error_t je;
    json_t *doc = json_loads(PQgetvalue(res, 0, 0), 0, &je);
    if (!doc)
        error_set(err, ERR_INTERNAL, "the control database's run view is not JSON: %s", je.text);
    return doc;
}

json_t *control_run_json(Control *c, const char *run, DroverError *err)
{
    const char *p[] = {run};
    PGresult *res = locked_exec(c, "reading the run", RUN_VIEW_SQL, 1, p, err);
    if (!res)
        return NULL;
    json_t *doc = NULL;
    if (PQntuples(res) == 0)
        error_set(err, ERR_USAGE, "no shared run named '%s' in the control database %s", run,
                  c->masked);
    else
        doc = parse_row_json(res, err);
    PQclear(res);
    return doc;
}

json_t *control_runs_json(Control *c, int limit, DroverError *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *p[] = {lim};
    PGresult *res = locked_exec(
        c, "listing the runs",
        "SELECT r.name, r.command, r.created_by,"
        " to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " to_char(r.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), r.outcome,"
        " (SELECT count(*) FROM drover.run_tenants t WHERE t.run = r.name),"
        " (SELECT count(*) FROM drover.run_tenants t WHERE t.run = r.name AND t.state = 'done'),"
        " (SELECT count(*) FROM drover.run_tenants t WHERE t.run = r.name AND t.failure)"
        " FROM drover.runs r ORDER BY r.created_at DESC, r.name LIMIT $1",
        1, p, err);
    if (!res)
        return NULL;
    json_t *runs = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_value(res, i, 0));
        json_object_set_new(o, "command", json_value(res, i, 1));
        json_object_set_new(o, "created_by", json_value(res, i, 2));
        json_object_set_new(o, "started_at", json_value(res, i, 3));
        json_object_set_new(o, "ended_at", json_value(res, i, 4));
        json_object_set_new(o, "outcome", json_value(res, i, 5));
        json_object_set_new(o, "tenants", json_integer(atoll(PQgetvalue(res, i, 6))));
        json_object_set_new(o, "done", json_integer(atoll(PQgetvalue(res, i, 7))));
        json_object_set_new(o, "failed", json_integer(atoll(PQgetvalue(res, i, 8))));
        json_array_append_new(runs, o);
    }
    PQclear(res);
    return runs;
}

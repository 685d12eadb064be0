/*
 * journal.c — the run journal's writing side (see journal.h): opening and versioning the
 * SQLite file, runs, tenant results with their steps, and the dirty list. The SQL text is
 * constant; every value goes through a bound parameter.
 */
#include "journal_impl.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drover/inventory.h"

#define JOURNAL_SCHEMA_VERSION 2
#define JOURNAL_BUSY_TIMEOUT_MS 5000

/* Version 2: the tenants each run saw (the whole inventory, not only the selected ones), so that
 * status can say which tenants appeared or disappeared since. A version-1 file gains the table
 * when it is opened (upgrade_schema). */
#define FLEET_SQL                                                                              \
    "CREATE TABLE run_fleet ("                                                                 \
    " run_id INTEGER NOT NULL REFERENCES runs(id), tenant_id TEXT NOT NULL,"                   \
    " PRIMARY KEY (run_id, tenant_id));"

/* Times are Unix seconds; a NULL time means "never happened" (a skipped tenant never
 * started). runs.id is AUTOINCREMENT so that a run id an operator noted is never reused. */
static const char SCHEMA_SQL[] =
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " command TEXT NOT NULL, argv TEXT, config TEXT, user TEXT, host TEXT, pid INTEGER,"
    " started_at REAL NOT NULL, ended_at REAL, outcome TEXT);"
    "CREATE TABLE tenant_results ("
    " run_id INTEGER NOT NULL REFERENCES runs(id), tenant_id TEXT NOT NULL,"
    " env TEXT, dialect TEXT, url TEXT, outcome TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " started_at REAL, ended_at REAL, applied TEXT NOT NULL, reverted TEXT NOT NULL,"
    " error TEXT, error_sqlstate TEXT, error_code INTEGER, error_statement TEXT,"
    " rollback_error TEXT, dirty_migration TEXT,"
    " PRIMARY KEY (run_id, tenant_id));"
    "CREATE INDEX tenant_results_by_tenant ON tenant_results (tenant_id, run_id);"
    "CREATE TABLE steps ("
    " run_id INTEGER NOT NULL, tenant_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " migration TEXT NOT NULL, direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),"
    " started_at REAL, ended_at REAL, attempts INTEGER NOT NULL, ok INTEGER NOT NULL,"
    " error TEXT,"
    " PRIMARY KEY (run_id, tenant_id, seq),"
    " FOREIGN KEY (run_id, tenant_id) REFERENCES tenant_results (run_id, tenant_id));"
    "CREATE TABLE dirty ("
    " tenant_id TEXT PRIMARY KEY, migration TEXT NOT NULL,"
    " run_id INTEGER REFERENCES runs(id), error TEXT, marked_at REAL NOT NULL);"
    FLEET_SQL
    "PRAGMA user_version = 2;";

/* ---- helpers shared with journal_json.c -------------------------------------------------- */

bool journal_sql_fail(Journal *j, DroverError *err, const char *what)
{
    error_set(err, ERR_IO, "journal '%s': %s: %s", j->path, what, sqlite3_errmsg(j->db));
    err->code = sqlite3_extended_errcode(j->db);
    return false;
}

sqlite3_stmt *journal_prepare(Journal *j, const char *sql, const char *what, DroverError *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK) {
        journal_sql_fail(j, err, what);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

bool journal_no_run(DroverError *err, int64_t run_id)
{
    error_set(err, ERR_USAGE, "no run with id %lld", (long long)run_id);
    return false;
}

bool journal_run_exists(Journal *j, int64_t run_id, bool *exists, DroverError *err)
{
    const char *what = "cannot read the runs";
    sqlite3_stmt *st = journal_prepare(j, "SELECT 1 FROM runs WHERE id = ?", what, err);
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, run_id);
    int rc = sqlite3_step(st);
    bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    if (ok)
        *exists = rc == SQLITE_ROW;
    else
        journal_sql_fail(j, err, what);
    sqlite3_finalize(st);
    return ok;
}

/* ---- binding ----------------------------------------------------------------------------- */

/* Binder fills a statement's parameters left to right and keeps the first failure, so that
 * a list of bindings reads like the column list it matches. */
typedef struct Binder {
    sqlite3_stmt *st;
    int next;
    int rc;
} Binder;

static void bound(Binder *b, int rc)
{
    if (b->rc == SQLITE_OK)
        b->rc = rc;
    b->next++;
}

static void bind_text(Binder *b, const char *s)
{
    bound(b, s ? sqlite3_bind_text(b->st, b->next, s, -1, SQLITE_TRANSIENT)
               : sqlite3_bind_null(b->st, b->next));
}

/* bind_masked binds free text (command lines, error messages, statements) with any URL
 * password masked: the journal outlives the run and is read by more people than the
 * inventory, so a secret that slipped into a message must stop here. */
static void bind_masked(Binder *b, const char *s)
{
    char *masked = s ? url_mask_text(s) : NULL;
    bind_text(b, masked);
    free(masked);
}

static void bind_int(Binder *b, int64_t v)
{
    bound(b, sqlite3_bind_int64(b->st, b->next, v));
}

static void bind_time(Binder *b, double t)
{
    bound(b, t > 0 ? sqlite3_bind_double(b->st, b->next, t) : sqlite3_bind_null(b->st, b->next));
}

/* bind_error binds the four error columns: one-line summary, SQLSTATE, code, statement. */
static void bind_error(Binder *b, const DroverError *e)
{
    if (!error_is_set(e)) {
        for (int i = 0; i < 4; i++)
            bind_text(b, NULL);
        return;
    }
    char *summary = error_summary(e);
    bind_masked(b, summary);
    free(summary);
    bind_text(b, e->sqlstate[0] ? e->sqlstate : NULL);
    if (e->code)
        bind_int(b, e->code);
    else
        bind_text(b, NULL);
    bind_masked(b, e->statement);
}

static void bind_summary(Binder *b, const DroverError *e)
{
    char *summary = error_is_set(e) ? error_summary(e) : NULL;
    bind_masked(b, summary);
    free(summary);
}

/* step_done runs a statement that returns no rows, after its bindings. */
static bool step_done(Journal *j, const Binder *b, const char *what, DroverError *err)
{
    if (b->rc != SQLITE_OK) {
        error_set(err, ERR_IO, "journal '%s': %s: %s", j->path, what,
                      sqlite3_errstr(b->rc));
        err->code = b->rc;
        return false;
    }
    if (sqlite3_step(b->st) != SQLITE_DONE)
        return journal_sql_fail(j, err, what);
    return true;
}

bool journal_exec(Journal *j, const char *sql, const char *what, DroverError *err)
{
    if (sqlite3_exec(j->db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return true;
    return journal_sql_fail(j, err, what);
}

static void rollback(Journal *j)
{
    sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

void journal_end_read(Journal *j)
{
    if (!sqlite3_get_autocommit(j->db))
        rollback(j);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- open and schema --------------------------------------------------------------------- */

static bool read_int_pragma(Journal *j, const char *sql, int *value, const char *what,
                            DroverError *err)
{
    sqlite3_stmt *st = journal_prepare(j, sql, what, err);
    if (!st)
        return false;
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok)
        *value = sqlite3_column_int(st, 0);
    else
        journal_sql_fail(j, err, what);
    sqlite3_finalize(st);
    return ok;
}

static bool check_version(Journal *j, DroverError *err)
{
    int version = 0;
    if (!read_int_pragma(j, "PRAGMA user_version", &version, "cannot read the schema version",
                         err))
        return false;
    if (version <= JOURNAL_SCHEMA_VERSION)
        return true;
    error_set(err, ERR_IO,
                  "journal '%s' has schema version %d; this drover knows only up to version %d",
                  j->path, version, JOURNAL_SCHEMA_VERSION);
    error_set_hint(err, "use the newer drover that wrote it, or another journal file");
    return false;
}

/* use_wal switches the file to WAL mode. When several drovers open a new journal at once,
 * SQLite may answer SQLITE_BUSY at once, without calling the busy handler (two connections
 * upgrading their locks would deadlock), so the switch is retried here, within the same
 * bound as any other wait for the journal. */
static bool use_wal(Journal *j, DroverError *err)
{
    const char *what = "cannot switch to WAL mode";
    sqlite3_stmt *st = journal_prepare(j, "PRAGMA journal_mode = WAL", what, err);
    if (!st)
        return false;
    int rc = sqlite3_step(st);
    for (long waited = 0; (rc & 0xff) == SQLITE_BUSY && waited < JOURNAL_BUSY_TIMEOUT_MS;
         waited += 20) {
        sqlite3_reset(st);
        sqlite3_sleep(20);
        rc = sqlite3_step(st);
    }
    bool ok = rc == SQLITE_ROW;
    const char *mode = ok ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (!ok) {
        journal_sql_fail(j, err, what);
    } else if (!mode || strcmp(mode, "wal") != 0) {
        error_set(err, ERR_IO, "journal '%s': %s: the file stays in '%s' mode", j->path,
                      what, mode ? mode : "unknown");
        ok = false;
    }
    sqlite3_finalize(st);
    return ok;
}

/* create_schema runs inside BEGIN IMMEDIATE so that two drovers creating (or upgrading) the
 * same file do not both do it. A version-0 file that already holds tables is someone else's
 * database (a mistyped path): it is refused rather than written into. */
static bool create_schema(Journal *j, DroverError *err)
{
    if (!journal_exec(j, "BEGIN IMMEDIATE", "cannot lock the journal", err))
        return false;
    int version = 0;
    int tables = 0;
    bool ok = read_int_pragma(j, "PRAGMA user_version", &version,
                              "cannot read the schema version", err);
    if (ok && version == 0)
        ok = read_int_pragma(j, "SELECT count(*) FROM sqlite_schema", &tables,
                             "cannot read the schema", err);
    if (ok && version == 0 && tables > 0) {
        error_set(err, ERR_IO,
                      "journal '%s' is an sqlite database with tables of its own, not a drover "
                      "journal",
                      j->path);
        ok = false;
    }
    if (ok && version == 0)
        ok = journal_exec(j, SCHEMA_SQL, "cannot create the schema", err);
    if (ok && version == 1)
        ok = journal_exec(j, FLEET_SQL "PRAGMA user_version = 2;",
                          "cannot upgrade the schema to version 2", err);
    ok = ok && journal_exec(j, "COMMIT", "cannot create the schema", err);
    if (!ok)
        rollback(j);
    return ok;
}

Journal *journal_open(const char *path, DroverError *err)
{
    Journal *j = xcalloc(1, sizeof *j);
    j->path = xstrdup(path);
    if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        journal_sql_fail(j, err, "cannot open");
        error_set_hint(err, "check that the directory exists and is writable");
        journal_close(j);
        return NULL;
    }
    sqlite3_extended_result_codes(j->db, 1);
    sqlite3_busy_timeout(j->db, JOURNAL_BUSY_TIMEOUT_MS);
    /* The version is checked before anything is written, so a newer file is left as it was. */
    bool ok = check_version(j, err) && use_wal(j, err) &&
              journal_exec(j, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
                       "cannot configure the connection", err) &&
              create_schema(j, err);
    if (!ok) {
        journal_close(j);
        return NULL;
    }
    return j;
}

void journal_close(Journal *j)
{
    if (!j)
        return;
    sqlite3_close(j->db);
    free(j->path);
    free(j);
}

/* ---- runs -------------------------------------------------------------------------------- */

/* current_user is the effective user's login name, or $USER when the password database has
 * no entry (containers running under an arbitrary uid). NULL when neither is known. */
static char *current_user(void)
{
    long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t len = hint > 0 ? (size_t)hint : 1024;
    for (;;) {
        char *buf = xmalloc(len);
        struct passwd pw;
        struct passwd *found = NULL;
        int rc = getpwuid_r(geteuid(), &pw, buf, len, &found);
        if (rc == ERANGE) {
            free(buf);
            len *= 2;
            continue;
        }
        char *name = rc == 0 && found ? xstrdup(pw.pw_name) : xstrdup(getenv("USER"));
        free(buf);
        return name;
    }
}

static char *host_name(void)
{
    char buf[HOST_NAME_MAX + 1]; /* the longest name the system allows */
    if (gethostname(buf, sizeof buf) != 0)
        return NULL;
    buf[sizeof buf - 1] = '\0';
    return xstrdup(buf);
}

bool journal_begin_run(Journal *j, const JournalRunInfo *info, int64_t *run_id, DroverError *err)
{
    const char *what = "cannot record the run";
    sqlite3_stmt *st = journal_prepare(j,
                                       "INSERT INTO runs (command, argv, config, user, host, pid,"
                                       " started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                       what, err);
    if (!st)
        return false;
    char *user = current_user();
    char *host = host_name();
    Binder b = {st, 1, SQLITE_OK};
    bind_text(&b, info->command);
    bind_masked(&b, info->argv);
    bind_text(&b, info->config);
    bind_text(&b, user);
    bind_text(&b, host);
    bind_int(&b, getpid());
    bind_time(&b, now_seconds());
    bool ok = step_done(j, &b, what, err);
    if (ok)
        *run_id = sqlite3_last_insert_rowid(j->db);
    sqlite3_finalize(st);
    free(user);
    free(host);
    return ok;
}

static bool is_run_outcome(const char *outcome)
{
    static const char *const known[] = {"succeeded", "failed", "incomplete", "halted",
                                         "interrupted"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(outcome, known[i]) == 0)
            return true;
    return false;
}

bool journal_end_run(Journal *j, int64_t run_id, const char *outcome, DroverError *err)
{
    if (!outcome || !is_run_outcome(outcome)) {
        error_set(err, ERR_INTERNAL, "unknown run outcome '%s'",
                      outcome ? outcome : "(null)");
        return false;
    }
    const char *what = "cannot record the end of the run";
    sqlite3_stmt *st = journal_prepare(
        j, "UPDATE runs SET ended_at = ?, outcome = ? WHERE id = ?", what, err);
    if (!st)
        return false;
    Binder b = {st, 1, SQLITE_OK};
    bind_time(&b, now_seconds());
    bind_text(&b, outcome);
    bind_int(&b, run_id);
    bool ok = step_done(j, &b, what, err);
    if (ok && sqlite3_changes(j->db) == 0)
        ok = journal_no_run(err, run_id);
    sqlite3_finalize(st);
    return ok;
}

/* ---- tenant results ---------------------------------------------------------------------- */

/* list_json_text renders a list of file names as a JSON array (the applied/reverted columns). */
static char *list_json_text(const StrList *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->items[i]));
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

static bool insert_result(Journal *j, int64_t run_id, const ExecResult *res, const char *what,
                          DroverError *err)
{
    sqlite3_stmt *st = journal_prepare(
        j,
        "INSERT INTO tenant_results (run_id, tenant_id, env, dialect, url, outcome, attempts,"
        " started_at, ended_at, applied, reverted, error, error_sqlstate, error_code,"
        " error_statement, rollback_error, dirty_migration)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        what, err);
    if (!st)
        return false;
    const InvTenant *t = res->tenant;
    char *applied = list_json_text(&res->applied);
    char *reverted = list_json_text(&res->reverted);
    Binder b = {st, 1, SQLITE_OK};
    bind_int(&b, run_id);
    bind_text(&b, t->id);
    bind_text(&b, t->env);
    bind_text(&b, exec_result_dialect(res));
    bind_text(&b, exec_result_url(res)); /* never the password: only the masked form is stored */
    bind_text(&b, exec_outcome_name(res->outcome));
    bind_int(&b, res->attempts);
    bind_time(&b, res->started_at);
    bind_time(&b, res->ended_at);
    bind_text(&b, applied);
    bind_text(&b, reverted);
    bind_error(&b, &res->error);
    bind_summary(&b, &res->rollback_error);
    bind_text(&b, res->dirty_migration);
    bool ok = step_done(j, &b, what, err);
    sqlite3_finalize(st);
    free(applied);
    free(reverted);
    return ok;
}

static bool insert_steps(Journal *j, int64_t run_id, const ExecResult *res, const char *what,
                         DroverError *err)
{
    if (res->nsteps == 0)
        return true;
    sqlite3_stmt *st = journal_prepare(
        j,
        "INSERT INTO steps (run_id, tenant_id, seq, migration, direction, started_at,"
        " ended_at, attempts, ok, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        what, err);
    if (!st)
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < res->nsteps; i++) {
        const ExecStep *s = &res->steps[i];
        sqlite3_reset(st);
        Binder b = {st, 1, SQLITE_OK};
        bind_int(&b, run_id);
        bind_text(&b, res->tenant->id);
        bind_int(&b, (int64_t)i + 1);
        bind_text(&b, s->migration);
        bind_text(&b, s->up ? "up" : "down");
        bind_time(&b, s->started_at);
        bind_time(&b, s->ended_at);
        bind_int(&b, s->attempts);
        bind_int(&b, s->ok);
        bind_masked(&b, s->error);
        ok = step_done(j, &b, what, err);
    }
    sqlite3_finalize(st);
    return ok;
}

/* fixed_migration tells whether res applied or reverted migration cleanly: a successful step,
 * or the applied/reverted lists for results that carry no steps. */
static bool fixed_migration(const ExecResult *res, const char *migration)
{
    for (size_t i = 0; i < res->nsteps; i++)
        if (res->steps[i].ok && res->steps[i].migration &&
            strcmp(res->steps[i].migration, migration) == 0)
            return true;
    return sl_contains(&res->applied, migration) || sl_contains(&res->reverted, migration);
}

static bool mark_dirty(Journal *j, int64_t run_id, const ExecResult *res, const char *what,
                       DroverError *err)
{
    sqlite3_stmt *st = journal_prepare(j,
                                       "INSERT OR REPLACE INTO dirty (tenant_id, migration,"
                                       " run_id, error, marked_at) VALUES (?, ?, ?, ?, ?)",
                                       what, err);
    if (!st)
        return false;
    Binder b = {st, 1, SQLITE_OK};
    bind_text(&b, res->tenant->id);
    bind_text(&b, res->dirty_migration ? res->dirty_migration : "");
    bind_int(&b, run_id);
    bind_summary(&b, error_is_set(&res->error) ? &res->error : &res->rollback_error);
    bind_time(&b, now_seconds());
    bool ok = step_done(j, &b, what, err);
    sqlite3_finalize(st);
    return ok;
}

/* update_dirty clears the mark before setting it, so that a result which fixed the old dirty
 * migration and left another one half-done ends with the new mark. */
static bool update_dirty(Journal *j, int64_t run_id, const ExecResult *res, const char *what,
                         DroverError *err)
{
    char *migration = NULL;
    char *error = NULL;
    bool ok = journal_dirty(j, res->tenant->id, &migration, &error, err);
    if (ok && migration && fixed_migration(res, migration)) {
        bool was_dirty = false;
        ok = journal_resolve(j, res->tenant->id, &was_dirty, err);
    }
    if (ok && res->outcome == EXEC_OUT_DIRTY)
        ok = mark_dirty(j, run_id, res, what, err);
    free(migration);
    free(error);
    return ok;
}

/* forget_earlier_record drops what an earlier call recorded for this tenant in this run. */
static bool forget_earlier_record(Journal *j, int64_t run_id, const ExecResult *res,
                                  const char *what, DroverError *err)
{
    static const char *const sql[] = {
        "DELETE FROM steps WHERE run_id = ? AND tenant_id = ?",
        "DELETE FROM tenant_results WHERE run_id = ? AND tenant_id = ?",
    };
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof sql / sizeof *sql; i++) {
        sqlite3_stmt *st = journal_prepare(j, sql[i], what, err);
        if (!st)
            return false;
        Binder b = {st, 1, SQLITE_OK};
        bind_int(&b, run_id);
        bind_text(&b, res->tenant->id);
        ok = step_done(j, &b, what, err);
        sqlite3_finalize(st);
    }
    return ok;
}

bool journal_record_tenant(Journal *j, int64_t run_id, const ExecResult *res, DroverError *err)
{
    if (!res->tenant || !res->tenant->id) {
        error_set(err, ERR_INTERNAL, "a result without a tenant cannot be journaled");
        return false;
    }
    const char *what = "cannot record the tenant's result";
    if (!journal_exec(j, "BEGIN IMMEDIATE", what, err))
        return false;
    bool exists = false;
    bool ok = journal_run_exists(j, run_id, &exists, err) &&
              (exists || journal_no_run(err, run_id)) &&
              forget_earlier_record(j, run_id, res, what, err) &&
              insert_result(j, run_id, res, what, err) &&
              insert_steps(j, run_id, res, what, err) &&
              update_dirty(j, run_id, res, what, err) && journal_exec(j, "COMMIT", what, err);
    if (!ok) {
        rollback(j);
        error_set_context(err, res->tenant->id, NULL, NULL);
    }
    return ok;
}

/*
 * tenant_row runs a query whose one parameter is a tenant id and steps to its first row:
 * *found tells whether there is one. Returns the statement for the caller to read and
 * finalize, or NULL with err set (naming `what`) when the query failed.
 */
static sqlite3_stmt *tenant_row(Journal *j, const char *sql, const char *tenant_id,
                                const char *what, bool *found, DroverError *err)
{
    sqlite3_stmt *st = journal_prepare(j, sql, what, err);
    if (!st)
        return NULL;
    Binder b = {st, 1, SQLITE_OK};
    bind_text(&b, tenant_id);
    int rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        journal_sql_fail(j, err, what);
        sqlite3_finalize(st);
        return NULL;
    }
    *found = rc == SQLITE_ROW;
    return st;
}

/* ---- the dirty list ---------------------------------------------------------------------- */

#define STARTED_MARK "the migration was sent without a transaction and its end was never " \
                     "recorded: drover was killed (or lost its journal) while it ran"

/* process_alive_here: the run's process still runs on this host (EPERM: it exists, owned by
 * someone else). A pid reused since is taken as alive: the tenant lock's re-check catches it. */
static bool process_alive_here(const char *host, sqlite3_int64 pid)
{
    char *here = host_name();
    bool same = here && host && strcmp(here, host) == 0;
    free(here);
    return same && pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

bool journal_dirty(Journal *j, const char *tenant_id, char **migration, char **error,
                   DroverError *err)
{
    *migration = NULL;
    *error = NULL;
    bool found = false;
    sqlite3_stmt *st = tenant_row(j,
                                  "SELECT d.migration, d.error, d.error = '" STARTED_MARK "'"
                                  " AND r.ended_at IS NULL, r.host, r.pid"
                                  " FROM dirty d LEFT JOIN runs r ON r.id = d.run_id"
                                  " WHERE d.tenant_id = ?",
                                  tenant_id, "cannot read the dirty list", &found, err);
    if (!st)
        return false;
    /* A started mark of a run that is still going on is that run's work in progress, not a
     * dirty tenant: the run holds the tenant's lock, and whoever takes the lock after it
     * checks again (journal_mark_started). */
    if (found && sqlite3_column_int(st, 2) &&
        process_alive_here((const char *)sqlite3_column_text(st, 3), sqlite3_column_int64(st, 4)))
        found = false;
    if (found) {
        *migration = xstrdup((const char *)sqlite3_column_text(st, 0));
        *error = xstrdup((const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    return true;
}

/* A skipped tenant has no times of its own; the run's end (or start, while it runs) stands in
 * for them so that every last run has a time. */
bool journal_last_run(Journal *j, const char *tenant_id, char **outcome, long long *run_id,
                      double *ended_at, DroverError *err)
{
    *outcome = NULL;
    *run_id = 0;
    *ended_at = 0;
    bool found = false;
    sqlite3_stmt *st = tenant_row(
        j,
        "SELECT tr.run_id, tr.outcome, COALESCE(tr.ended_at, r.ended_at, r.started_at)"
        " FROM tenant_results tr JOIN runs r ON r.id = tr.run_id"
        " WHERE tr.tenant_id = ? ORDER BY tr.run_id DESC LIMIT 1",
        tenant_id, "cannot read the tenant's last run", &found, err);
    if (!st)
        return false;
    if (found) {
        *run_id = sqlite3_column_int64(st, 0);
        *outcome = xstrdup((const char *)sqlite3_column_text(st, 1));
        *ended_at = sqlite3_column_double(st, 2);
    }
    sqlite3_finalize(st);
    return true;
}

/* started_sql runs sql on a started mark: (tenant, migration, run, the mark's text[, now]). */
static bool started_sql(Journal *j, const char *sql, const char *what, int64_t run_id,
                        const char *tenant_id, const char *migration, bool stamp,
                        DroverError *err)
{
    sqlite3_stmt *st = journal_prepare(j, sql, what, err);
    if (!st)
        return false;
    Binder b = {st, 1, SQLITE_OK};
    bind_text(&b, tenant_id);
    bind_text(&b, migration);
    bind_int(&b, run_id);
    bind_text(&b, STARTED_MARK);
    if (stamp)
        bind_time(&b, now_seconds());
    bool ok = step_done(j, &b, what, err);
    sqlite3_finalize(st);
    return ok;
}

/* existing_mark reads any mark the tenant carries, live or not: called with the tenant's lock
 * held, where no other run can be working on it. */
static bool existing_mark(Journal *j, const char *tenant_id, char **migration, DroverError *err)
{
    bool found = false;
    *migration = NULL;
    sqlite3_stmt *st = tenant_row(j, "SELECT migration FROM dirty WHERE tenant_id = ?", tenant_id,
                                  "cannot read the dirty list", &found, err);
    if (!st)
        return false;
    if (found)
        *migration = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return true;
}

bool journal_mark_started(Journal *j, int64_t run_id, const char *tenant_id,
                          const char *migration, char **existing, DroverError *err)
{
    const char *what = "cannot mark the migration as started";
    if (!existing_mark(j, tenant_id, existing, err))
        return false;
    if (*existing) {
        error_set(err, ERR_REFUSED,
                  "the tenant is dirty: migration '%s' may be half-applied (%s)", *existing,
                  "a run that held the tenant before this one marked it and never cleared the "
                  "mark");
        return false;
    }
    return started_sql(j,
                       "INSERT OR REPLACE INTO dirty (tenant_id, migration, run_id, error,"
                       " marked_at) VALUES (?, ?, ?, ?, ?)",
                       what, run_id, tenant_id, migration, true, err);
}

bool journal_clear_started(Journal *j, int64_t run_id, const char *tenant_id,
                           const char *migration, DroverError *err)
{
    return started_sql(j,
                       "DELETE FROM dirty WHERE tenant_id = ? AND migration = ? AND run_id = ?"
                       " AND error = ?",
                       "cannot clear the migration's started mark", run_id, tenant_id,
                       migration, false, err);
}

/* ---- the fleet each run saw ----------------------------------------------------------------- */

bool journal_record_fleet(Journal *j, int64_t run_id, const char *const *ids, size_t n,
                          DroverError *err)
{
    const char *what = "cannot record the run's tenants";
    if (!journal_exec(j, "BEGIN IMMEDIATE", what, err))
        return false;
    sqlite3_stmt *st = journal_prepare(j, "INSERT OR IGNORE INTO run_fleet (run_id, tenant_id)"
                                          " VALUES (?, ?)", what, err);
    bool ok = st != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        sqlite3_reset(st);
        Binder b = {st, 1, SQLITE_OK};
        bind_int(&b, run_id);
        bind_text(&b, ids[i]);
        ok = step_done(j, &b, what, err);
    }
    sqlite3_finalize(st);
    ok = ok && journal_exec(j, "COMMIT", what, err);
    if (!ok)
        rollback(j);
    return ok;
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* previous_fleet: the newest run that recorded its tenants, and those tenants, sorted. */
static bool previous_fleet(Journal *j, int64_t *run_id, StrList *ids, DroverError *err)
{
    const char *what = "cannot read the tenants of the last run";
    sqlite3_stmt *st = journal_prepare(j,
                                       "SELECT run_id, tenant_id FROM run_fleet WHERE run_id ="
                                       " (SELECT max(run_id) FROM run_fleet)",
                                       what, err);
    if (!st)
        return false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *run_id = sqlite3_column_int64(st, 0);
        sl_push(ids, (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return journal_sql_fail(j, err, what);
    if (ids->n) /* qsort's array must not be NULL, even empty */
        qsort(ids->items, ids->n, sizeof *ids->items, cmp_ids);
    return true;
}

bool journal_fleet_changes(Journal *j, const char *const *ids, size_t n, int64_t *since_run,
                           StrList *appeared, StrList *disappeared, DroverError *err)
{
    StrList before = STRLIST_INIT, now = STRLIST_INIT;
    *since_run = 0;
    if (!previous_fleet(j, since_run, &before, err))
        return false;
    for (size_t i = 0; i < n; i++)
        sl_push(&now, ids[i]);
    if (now.n)
        qsort(now.items, now.n, sizeof *now.items, cmp_ids);
    size_t a = 0, b = 0;
    while (*since_run && (a < now.n || b < before.n)) {
        int c = a == now.n ? 1 : b == before.n ? -1 : strcmp(now.items[a], before.items[b]);
        if (c < 0)
            sl_push(appeared, now.items[a++]);
        else if (c > 0)
            sl_push(disappeared, before.items[b++]);
        else
            a++, b++;
    }
    sl_free(&before);
    sl_free(&now);
    return true;
}

bool journal_resolve(Journal *j, const char *tenant_id, bool *was_dirty, DroverError *err)
{
    const char *what = "cannot clear the dirty mark";
    sqlite3_stmt *st = journal_prepare(j, "DELETE FROM dirty WHERE tenant_id = ?", what, err);
    if (!st)
        return false;
    Binder b = {st, 1, SQLITE_OK};
    bind_text(&b, tenant_id);
    bool ok = step_done(j, &b, what, err);
    if (ok)
        *was_dirty = sqlite3_changes(j->db) > 0;
    sqlite3_finalize(st);
    return ok;
}

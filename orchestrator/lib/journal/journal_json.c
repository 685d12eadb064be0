/*
 * journal_json.c — the run journal's reading side (see journal.h): the list of runs and one
 * run with its tenants and steps, as JSON. Every time is given twice: Unix seconds
 * ("started_at") for programs and an ISO-8601 UTC string ("started") for people.
 */
#include "journal_impl.h"

#include <time.h>

/* ---- columns to JSON --------------------------------------------------------------------- */

/* text_json is null for SQL NULL and for bytes that are not UTF-8 (jansson refuses them),
 * so that one odd server message cannot make a whole run unreadable. */
static json_t *text_json(sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_null();
}

static json_t *int_json(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    return json_integer((json_int_t)sqlite3_column_int64(st, col));
}

static json_t *real_json(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    return json_real(sqlite3_column_double(st, col));
}

/* iso_json renders Unix seconds as "2024-01-05T09:30:00Z" (whole seconds: for reading). */
static json_t *iso_json(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    time_t secs = (time_t)sqlite3_column_double(st, col);
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&secs, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(buf);
}

/* set_times adds started_at, started, ended_at and ended from two time columns. */
static void set_times(json_t *o, sqlite3_stmt *st, int started_col, int ended_col)
{
    json_object_set_new(o, "started_at", real_json(st, started_col));
    json_object_set_new(o, "started", iso_json(st, started_col));
    json_object_set_new(o, "ended_at", real_json(st, ended_col));
    json_object_set_new(o, "ended", iso_json(st, ended_col));
}

/* list_json parses a stored JSON array column back into an array. */
static json_t *list_json(sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    json_t *v = s ? json_loads(s, 0, NULL) : NULL;
    return v ? v : json_array();
}

/* ---- the list of runs -------------------------------------------------------------------- */

static bool add_outcome_counts(Journal *j, sqlite3_stmt *counts, json_int_t run_id, json_t *run,
                               DroverError *err)
{
    json_t *tenants = json_object();
    json_object_set_new(run, "tenants", tenants);
    sqlite3_reset(counts);
    sqlite3_bind_int64(counts, 1, run_id);
    int rc;
    while ((rc = sqlite3_step(counts)) == SQLITE_ROW)
        json_object_set_new(tenants, (const char *)sqlite3_column_text(counts, 0),
                            json_integer((json_int_t)sqlite3_column_int64(counts, 1)));
    if (rc != SQLITE_DONE)
        return journal_sql_fail(j, err, "cannot read the runs");
    return true;
}

static json_t *run_summary_json(sqlite3_stmt *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", int_json(st, 0));
    json_object_set_new(o, "command", text_json(st, 1));
    json_object_set_new(o, "argv", text_json(st, 2));
    json_object_set_new(o, "user", text_json(st, 3));
    json_object_set_new(o, "host", text_json(st, 4));
    json_object_set_new(o, "pid", int_json(st, 5));
    set_times(o, st, 6, 7);
    json_object_set_new(o, "outcome", text_json(st, 8));
    return o;
}

json_t *journal_runs_json(Journal *j, int limit, DroverError *err)
{
    const char *what = "cannot read the runs";
    sqlite3_stmt *runs = journal_prepare(j,
                                         "SELECT id, command, argv, user, host, pid, started_at,"
                                         " ended_at, outcome FROM runs ORDER BY id DESC LIMIT ?",
                                         what, err);
    sqlite3_stmt *counts = runs ? journal_prepare(j,
                                                  "SELECT outcome, count(*) FROM tenant_results"
                                                  " WHERE run_id = ? GROUP BY outcome",
                                                  what, err)
                                : NULL;
    bool ok = counts && journal_exec(j, "BEGIN", what, err);
    json_t *list = json_array();
    if (ok)
        sqlite3_bind_int(runs, 1, limit);
    int rc = SQLITE_DONE;
    while (ok && (rc = sqlite3_step(runs)) == SQLITE_ROW) {
        json_t *run = run_summary_json(runs);
        json_array_append_new(list, run);
        ok = add_outcome_counts(j, counts, sqlite3_column_int64(runs, 0), run, err);
    }
    if (ok && rc != SQLITE_DONE)
        ok = journal_sql_fail(j, err, what);
    sqlite3_finalize(runs);
    sqlite3_finalize(counts);
    journal_end_read(j);
    if (!ok) {
        json_decref(list);
        list = NULL;
    }
    return list;
}

/* ---- one run ----------------------------------------------------------------------------- */

static json_t *step_json(sqlite3_stmt *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "seq", int_json(st, 0));
    json_object_set_new(o, "migration", text_json(st, 1));
    json_object_set_new(o, "direction", text_json(st, 2));
    set_times(o, st, 3, 4);
    json_object_set_new(o, "attempts", int_json(st, 5));
    json_object_set_new(o, "ok", json_boolean(sqlite3_column_int(st, 6)));
    json_object_set_new(o, "error", text_json(st, 7));
    return o;
}

static bool add_steps(Journal *j, sqlite3_stmt *steps, int64_t run_id, json_t *tenant,
                      DroverError *err)
{
    json_t *list = json_array();
    json_object_set_new(tenant, "steps", list);
    sqlite3_reset(steps);
    sqlite3_bind_int64(steps, 1, run_id);
    sqlite3_bind_text(steps, 2, json_string_value(json_object_get(tenant, "id")), -1,
                      SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(steps)) == SQLITE_ROW)
        json_array_append_new(list, step_json(steps));
    if (rc != SQLITE_DONE)
        return journal_sql_fail(j, err, "cannot read the steps");
    return true;
}

/* error_json has the shape of the report's error object (docs/json.md), minus the fields
 * the journal does not keep (hint; the migration is in the message). */
static json_t *error_json(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "message", text_json(st, col));
    json_object_set_new(o, "sqlstate", text_json(st, col + 1));
    json_object_set_new(o, "code", int_json(st, col + 2));
    json_object_set_new(o, "statement", text_json(st, col + 3));
    return o;
}

static json_t *tenant_json(sqlite3_stmt *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", text_json(st, 0));
    json_object_set_new(o, "env", text_json(st, 1));
    json_object_set_new(o, "dialect", text_json(st, 2));
    json_object_set_new(o, "url", text_json(st, 3));
    json_object_set_new(o, "outcome", text_json(st, 4));
    json_object_set_new(o, "attempts", int_json(st, 5));
    set_times(o, st, 6, 7);
    json_object_set_new(o, "applied", list_json(st, 8));
    json_object_set_new(o, "reverted", list_json(st, 9));
    json_object_set_new(o, "error", error_json(st, 10));
    json_object_set_new(o, "rollback_error", text_json(st, 14));
    json_object_set_new(o, "dirty_migration", text_json(st, 15));
    return o;
}

static bool add_tenants(Journal *j, int64_t run_id, json_t *run, DroverError *err)
{
    const char *what = "cannot read the tenant results";
    sqlite3_stmt *tenants = journal_prepare(
        j,
        "SELECT tenant_id, env, dialect, url, outcome, attempts, started_at, ended_at, applied,"
        " reverted, error, error_sqlstate, error_code, error_statement, rollback_error,"
        " dirty_migration FROM tenant_results WHERE run_id = ? ORDER BY rowid",
        what, err);
    sqlite3_stmt *steps = tenants ? journal_prepare(j,
                                                    "SELECT seq, migration, direction,"
                                                    " started_at, ended_at, attempts, ok, error"
                                                    " FROM steps WHERE run_id = ?"
                                                    " AND tenant_id = ? ORDER BY seq",
                                                    what, err)
                                  : NULL;
    bool ok = steps != NULL;
    json_t *list = json_array();
    json_object_set_new(run, "tenants", list);
    if (ok)
        sqlite3_bind_int64(tenants, 1, run_id);
    int rc = SQLITE_DONE;
    while (ok && (rc = sqlite3_step(tenants)) == SQLITE_ROW) {
        json_t *tenant = tenant_json(tenants);
        json_array_append_new(list, tenant);
        ok = add_steps(j, steps, run_id, tenant, err);
    }
    if (ok && rc != SQLITE_DONE)
        ok = journal_sql_fail(j, err, what);
    sqlite3_finalize(tenants);
    sqlite3_finalize(steps);
    return ok;
}

static json_t *run_head_json(sqlite3_stmt *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", int_json(st, 0));
    json_object_set_new(o, "command", text_json(st, 1));
    json_object_set_new(o, "argv", text_json(st, 2));
    json_object_set_new(o, "config", text_json(st, 3));
    json_object_set_new(o, "user", text_json(st, 4));
    json_object_set_new(o, "host", text_json(st, 5));
    json_object_set_new(o, "pid", int_json(st, 6));
    set_times(o, st, 7, 8);
    json_object_set_new(o, "outcome", text_json(st, 9));
    return o;
}

/* journal_run_json reads inside one transaction: in WAL mode that is one snapshot, so a
 * run being written meanwhile shows whole tenants only. */
json_t *journal_run_json(Journal *j, int64_t run_id, DroverError *err)
{
    const char *what = "cannot read the run";
    sqlite3_stmt *st = journal_prepare(j,
                                       "SELECT id, command, argv, config, user, host, pid,"
                                       " started_at, ended_at, outcome FROM runs WHERE id = ?",
                                       what, err);
    if (!st)
        return NULL;
    if (!journal_exec(j, "BEGIN", what, err)) {
        sqlite3_finalize(st);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, run_id);
    json_t *run = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        run = run_head_json(st);
    else if (rc == SQLITE_DONE)
        journal_no_run(err, run_id);
    else
        journal_sql_fail(j, err, what);
    sqlite3_finalize(st);
    if (run && !add_tenants(j, run_id, run, err)) {
        json_decref(run);
        run = NULL;
    }
    journal_end_read(j);
    return run;
}

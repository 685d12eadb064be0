/*
 * test_journal.c — the run journal against a real SQLite file in /tmp: what goes in comes
 * back in journal_run_json, runs are listed newest first, the dirty list follows the rules of
 * journal.h, versions and paths are checked, and a URL password never reaches the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drover/journal.h"
#include "drover/rollout.h"

#define M1 "20240101-create-users.sql"
#define M2 "20240102-add-age.sql"
#define T0 1700000000.0 /* 2023-11-14T22:13:20Z */

static InvTenant ACME = {
    .id = "acme",
    .env = "prod",
    .url = {.dialect = DB_POSTGRES, .masked = "postgres://u:***@h/acme", .password = "s3cret"},
};
static InvTenant BETA = {
    .id = "beta",
    .env = "prod",
    .url = {.dialect = DB_MYSQL, .masked = "mysql://u:***@h/beta"},
};
static InvTenant COBALT = {
    .id = "cobalt",
    .env = "staging",
    .url = {.dialect = DB_POSTGRES, .masked = "postgres://u:***@h/cobalt"},
};

/* ---- fixtures ---------------------------------------------------------------------------- */

/* The state is the journal's path: a fresh empty file from mkstemp, removed with its WAL
 * side files at the end. */
static int setup_path(void **state)
{
    char *path = xstrdup("/tmp/drover-journal-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    *state = path;
    return 0;
}

static int teardown_path(void **state)
{
    char *path = *state;
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char *p = xasprintf("%s%s", path, suffixes[i]);
        unlink(p);
        free(p);
    }
    free(path);
    return 0;
}

static Journal *open_ok(const char *path)
{
    DroverError err = DROVER_ERROR_INIT;
    Journal *j = journal_open(path, &err);
    if (!j)
        fail_msg("journal_open: %s", err.message);
    return j;
}

static int64_t begin_ok(Journal *j, const char *command, const char *argv)
{
    DroverError err = DROVER_ERROR_INIT;
    JournalRunInfo info = {.command = command, .argv = argv, .config = "/etc/drover/drover.cfg"};
    int64_t id = -1;
    if (!journal_begin_run(j, &info, &id, &err))
        fail_msg("journal_begin_run: %s", err.message);
    return id;
}

static void record_ok(Journal *j, int64_t run_id, ExecResult *res)
{
    DroverError err = DROVER_ERROR_INIT;
    if (!journal_record_tenant(j, run_id, res, &err))
        fail_msg("journal_record_tenant: %s", err.message);
    exec_result_free(res);
}

static void end_ok(Journal *j, int64_t run_id, const char *outcome)
{
    DroverError err = DROVER_ERROR_INIT;
    if (!journal_end_run(j, run_id, outcome, &err))
        fail_msg("journal_end_run: %s", err.message);
}

/* ---- building results by hand ------------------------------------------------------------ */

static ExecResult result(const InvTenant *t, ExecOutcome outcome, double started, double ended,
                         int attempts)
{
    return (ExecResult){.tenant = t, .outcome = outcome, .started_at = started,
                        .ended_at = ended, .attempts = attempts};
}

static void set_step(ExecResult *r, size_t i, const char *migration, bool up, double started,
                     int attempts, const char *error)
{
    ExecStep *s = &r->steps[i];
    s->migration = xstrdup(migration);
    s->up = up;
    s->started_at = started;
    s->ended_at = started + 1;
    s->attempts = attempts;
    s->ok = error == NULL;
    s->error = xstrdup(error);
}

static void alloc_steps(ExecResult *r, size_t n)
{
    r->steps = xcalloc(n, sizeof *r->steps);
    r->nsteps = n;
}

static void set_error(DroverError *e, const char *tenant, const char *migration,
                      const char *sqlstate, int code, const char *message, const char *statement)
{
    error_set(e, ERR_SQL, "%s", message);
    error_set_context(e, tenant, migration, statement);
    snprintf(e->sqlstate, sizeof e->sqlstate, "%s", sqlstate);
    e->code = code;
}

/* ---- comparing JSON ---------------------------------------------------------------------- */

/* expect_json compares got with the JSON text want, keys sorted, so a failure shows both. */
static void expect_json(json_t *got, const char *want)
{
    json_error_t jerr;
    json_t *w = json_loads(want, 0, &jerr);
    if (!w)
        fail_msg("bad expected JSON: %s", jerr.text);
    char *got_text = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
    char *want_text = json_dumps(w, JSON_SORT_KEYS | JSON_INDENT(1));
    assert_string_equal(got_text, want_text);
    free(got_text);
    free(want_text);
    json_decref(w);
}

static const char *str_field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static char *iso(double t)
{
    time_t secs = (time_t)t;
    struct tm tm;
    char buf[64];
    gmtime_r(&secs, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return xstrdup(buf);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- round trip -------------------------------------------------------------------------- */

static void record_three_tenants(Journal *j, int64_t run)
{
    ExecResult a = result(&ACME, EXEC_OUT_MIGRATED, T0 + 0.25, T0 + 2.5, 3);
    sl_push(&a.applied, M1);
    sl_push(&a.applied, M2);
    alloc_steps(&a, 2);
    set_step(&a, 0, M1, true, T0 + 0.5, 1, NULL);
    set_step(&a, 1, M2, true, T0 + 1.5, 2, NULL);
    record_ok(j, run, &a);

    ExecResult b = result(&BETA, EXEC_OUT_ROLLED_BACK, T0 + 3, T0 + 6, 2);
    sl_push(&b.reverted, M1);
    set_error(&b.error, "beta", M2, "", 1146, "table 'x.users' doesn't exist",
              "ALTER TABLE users ADD age int");
    alloc_steps(&b, 3);
    set_step(&b, 0, M1, true, T0 + 3, 1, NULL);
    set_step(&b, 1, M2, true, T0 + 4, 1, "table 'x.users' doesn't exist (error 1146)");
    set_step(&b, 2, M1, false, T0 + 5, 1, NULL);
    record_ok(j, run, &b);

    ExecResult c = result(&COBALT, EXEC_OUT_DIRTY, T0 + 3, T0 + 6, 3);
    set_error(&c.error, "cobalt", M2, "42P01", 0, "relation \"users\" does not exist",
              "ALTER TABLE users ADD age int");
    set_error(&c.rollback_error, "cobalt", M1, "2BP01", 0, "cannot drop table users", NULL);
    c.dirty_migration = xstrdup(M1);
    alloc_steps(&c, 3);
    set_step(&c, 0, M1, true, T0 + 3, 1, NULL);
    set_step(&c, 1, M2, true, T0 + 4, 1, "relation \"users\" does not exist (SQLSTATE 42P01)");
    set_step(&c, 2, M1, false, T0 + 5, 1, "cannot drop table users (SQLSTATE 2BP01)");
    record_ok(j, run, &c);
}

static const char THREE_TENANTS_JSON[] =
    "[{\"id\": \"acme\", \"env\": \"prod\", \"dialect\": \"postgres\","
    "  \"url\": \"postgres://u:***@h/acme\", \"outcome\": \"migrated\", \"attempts\": 3,"
    "  \"started_at\": 1700000000.25, \"started\": \"2023-11-14T22:13:20Z\","
    "  \"ended_at\": 1700000002.5, \"ended\": \"2023-11-14T22:13:22Z\","
    "  \"applied\": [\"" M1 "\", \"" M2 "\"], \"reverted\": [],"
    "  \"error\": null, \"rollback_error\": null, \"dirty_migration\": null,"
    "  \"steps\": ["
    "   {\"seq\": 1, \"migration\": \"" M1 "\", \"direction\": \"up\","
    "    \"started_at\": 1700000000.5, \"started\": \"2023-11-14T22:13:20Z\","
    "    \"ended_at\": 1700000001.5, \"ended\": \"2023-11-14T22:13:21Z\","
    "    \"attempts\": 1, \"ok\": true, \"error\": null},"
    "   {\"seq\": 2, \"migration\": \"" M2 "\", \"direction\": \"up\","
    "    \"started_at\": 1700000001.5, \"started\": \"2023-11-14T22:13:21Z\","
    "    \"ended_at\": 1700000002.5, \"ended\": \"2023-11-14T22:13:22Z\","
    "    \"attempts\": 2, \"ok\": true, \"error\": null}]},"
    " {\"id\": \"beta\", \"env\": \"prod\", \"dialect\": \"mysql\","
    "  \"url\": \"mysql://u:***@h/beta\", \"outcome\": \"rolled_back\", \"attempts\": 2,"
    "  \"started_at\": 1700000003.0, \"started\": \"2023-11-14T22:13:23Z\","
    "  \"ended_at\": 1700000006.0, \"ended\": \"2023-11-14T22:13:26Z\","
    "  \"applied\": [], \"reverted\": [\"" M1 "\"],"
    "  \"error\": {\"message\": \"tenant 'beta': migration '" M2 "': table 'x.users' doesn't"
    " exist (error 1146)\", \"sqlstate\": null, \"code\": 1146,"
    "             \"statement\": \"ALTER TABLE users ADD age int\"},"
    "  \"rollback_error\": null, \"dirty_migration\": null,"
    "  \"steps\": ["
    "   {\"seq\": 1, \"migration\": \"" M1 "\", \"direction\": \"up\","
    "    \"started_at\": 1700000003.0, \"started\": \"2023-11-14T22:13:23Z\","
    "    \"ended_at\": 1700000004.0, \"ended\": \"2023-11-14T22:13:24Z\","
    "    \"attempts\": 1, \"ok\": true, \"error\": null},"
    "   {\"seq\": 2, \"migration\": \"" M2 "\", \"direction\": \"up\","
    "    \"started_at\": 1700000004.0, \"started\": \"2023-11-14T22:13:24Z\","
    "    \"ended_at\": 1700000005.0, \"ended\": \"2023-11-14T22:13:25Z\","
    "    \"attempts\": 1, \"ok\": false,"
    "    \"error\": \"table 'x.users' doesn't exist (error 1146)\"},"
    "   {\"seq\": 3, \"migration\": \"" M1 "\", \"direction\": \"down\","
    "    \"started_at\": 1700000005.0, \"started\": \"2023-11-14T22:13:25Z\","
    "    \"ended_at\": 1700000006.0, \"ended\": \"2023-11-14T22:13:26Z\","
    "    \"attempts\": 1, \"ok\": true, \"error\": null}]},"
    " {\"id\": \"cobalt\", \"env\": \"staging\", \"dialect\": \"postgres\","
    "  \"url\": \"postgres://u:***@h/cobalt\", \"outcome\": \"dirty\", \"attempts\": 3,"
    "  \"started_at\": 1700000003.0, \"started\": \"2023-11-14T22:13:23Z\","
    "  \"ended_at\": 1700000006.0, \"ended\": \"2023-11-14T22:13:26Z\","
    "  \"applied\": [], \"reverted\": [],"
    "  \"error\": {\"message\": \"tenant 'cobalt': migration '" M2 "': relation \\\"users\\\""
    " does not exist (SQLSTATE 42P01)\", \"sqlstate\": \"42P01\", \"code\": null,"
    "             \"statement\": \"ALTER TABLE users ADD age int\"},"
    "  \"rollback_error\": \"tenant 'cobalt': migration '" M1 "': cannot drop table users"
    " (SQLSTATE 2BP01)\","
    "  \"dirty_migration\": \"" M1 "\","
    "  \"steps\": ["
    "   {\"seq\": 1, \"migration\": \"" M1 "\", \"direction\": \"up\","
    "    \"started_at\": 1700000003.0, \"started\": \"2023-11-14T22:13:23Z\","
    "    \"ended_at\": 1700000004.0, \"ended\": \"2023-11-14T22:13:24Z\","
    "    \"attempts\": 1, \"ok\": true, \"error\": null},"
    "   {\"seq\": 2, \"migration\": \"" M2 "\", \"direction\": \"up\","
    "    \"started_at\": 1700000004.0, \"started\": \"2023-11-14T22:13:24Z\","
    "    \"ended_at\": 1700000005.0, \"ended\": \"2023-11-14T22:13:25Z\","
    "    \"attempts\": 1, \"ok\": false,"
    "    \"error\": \"relation \\\"users\\\" does not exist (SQLSTATE 42P01)\"},"
    "   {\"seq\": 3, \"migration\": \"" M1 "\", \"direction\": \"down\","
    "    \"started_at\": 1700000005.0, \"started\": \"2023-11-14T22:13:25Z\","
    "    \"ended_at\": 1700000006.0, \"ended\": \"2023-11-14T22:13:26Z\","
    "    \"attempts\": 1, \"ok\": false,"
    "    \"error\": \"cannot drop table users (SQLSTATE 2BP01)\"}]}]";

static char *expected_user(void)
{
    struct passwd *pw = getpwuid(geteuid());
    return xstrdup(pw ? pw->pw_name : getenv("USER"));
}

static char *expected_host(void)
{
    char buf[HOST_NAME_MAX + 1];
    assert_int_equal(gethostname(buf, sizeof buf), 0);
    buf[sizeof buf - 1] = '\0';
    return xstrdup(buf);
}

/* expect_run_head checks the run's own fields; started/ended must lie within [from, to]. */
static void expect_run_head(json_t *run, int64_t id, double from, double to)
{
    assert_int_equal(json_integer_value(json_object_get(run, "id")), id);
    assert_string_equal(str_field(run, "command"), "migrate");
    assert_string_equal(str_field(run, "argv"), "drover migrate --env prod");
    assert_string_equal(str_field(run, "config"), "/etc/drover/drover.cfg");
    char *user = expected_user();
    char *host = expected_host();
    assert_string_equal(str_field(run, "user"), user);
    assert_string_equal(str_field(run, "host"), host);
    free(user);
    free(host);
    assert_int_equal(json_integer_value(json_object_get(run, "pid")), getpid());
    double started = json_real_value(json_object_get(run, "started_at"));
    double ended = json_real_value(json_object_get(run, "ended_at"));
    assert_true(from <= started && started <= ended && ended <= to);
    char *started_iso = iso(started);
    char *ended_iso = iso(ended);
    assert_string_equal(str_field(run, "started"), started_iso);
    assert_string_equal(str_field(run, "ended"), ended_iso);
    free(started_iso);
    free(ended_iso);
    assert_string_equal(str_field(run, "outcome"), "failed");
    assert_int_equal(json_object_size(run), 13);
}

static void test_round_trip(void **state)
{
    Journal *j = open_ok(*state);
    double from = now();
    int64_t run = begin_ok(j, "migrate", "drover migrate --env prod");
    record_three_tenants(j, run);
    end_ok(j, run, "failed");
    double to = now();

    DroverError err = DROVER_ERROR_INIT;
    json_t *got = journal_run_json(j, run, &err);
    assert_non_null(got);
    expect_run_head(got, run, from, to);
    expect_json(json_object_get(got, "tenants"), THREE_TENANTS_JSON);
    json_decref(got);
    journal_close(j);
}

/* ---- the list of runs -------------------------------------------------------------------- */

static void record_outcome(Journal *j, int64_t run, const InvTenant *t, ExecOutcome outcome)
{
    ExecResult r = result(t, outcome, T0, T0 + 1, 1);
    record_ok(j, run, &r);
}

static void test_runs_newest_first_with_counts(void **state)
{
    Journal *j = open_ok(*state);
    int64_t r1 = begin_ok(j, "migrate", "drover migrate");
    record_outcome(j, r1, &ACME, EXEC_OUT_MIGRATED);
    record_outcome(j, r1, &BETA, EXEC_OUT_MIGRATED);
    record_outcome(j, r1, &COBALT, EXEC_OUT_FAILED);
    end_ok(j, r1, "failed");
    int64_t r2 = begin_ok(j, "undo", "drover undo --tenant acme");
    int64_t r3 = begin_ok(j, "migrate", "drover migrate --env prod");
    record_outcome(j, r3, &ACME, EXEC_OUT_UP_TO_DATE);
    end_ok(j, r3, "succeeded");

    DroverError err = DROVER_ERROR_INIT;
    json_t *runs = journal_runs_json(j, 10, &err);
    assert_non_null(runs);
    assert_int_equal(json_array_size(runs), 3);
    int64_t want_ids[] = {r3, r2, r1};
    const char *want_outcomes[] = {"succeeded", NULL, "failed"};
    const char *want_counts[] = {"{\"up_to_date\": 1}", "{}",
                                 "{\"migrated\": 2, \"failed\": 1}"};
    const char *keys[] = {"id", "command", "argv", "user", "host", "pid", "started_at",
                          "started", "ended_at", "ended", "outcome", "tenants"};
    for (size_t i = 0; i < 3; i++) {
        json_t *run = json_array_get(runs, i);
        assert_int_equal(json_object_size(run), 12);
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            assert_non_null(json_object_get(run, keys[k]));
        assert_int_equal(json_integer_value(json_object_get(run, "id")), want_ids[i]);
        json_t *outcome = json_object_get(run, "outcome");
        if (want_outcomes[i])
            assert_string_equal(json_string_value(outcome), want_outcomes[i]);
        else
            assert_true(json_is_null(outcome) && json_is_null(json_object_get(run, "ended")));
        expect_json(json_object_get(run, "tenants"), want_counts[i]);
    }
    assert_string_equal(str_field(json_array_get(runs, 1), "argv"), "drover undo --tenant acme");
    json_decref(runs);

    runs = journal_runs_json(j, 2, &err);
    assert_int_equal(json_array_size(runs), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 1), "id")), r2);
    json_decref(runs);
    journal_close(j);
}

/* ---- skipped tenants --------------------------------------------------------------------- */

static void test_skipped_tenants_are_recorded(void **state)
{
    Journal *j = open_ok(*state);
    int64_t run = begin_ok(j, "migrate", "drover migrate");
    record_outcome(j, run, &ACME, EXEC_OUT_FAILED);
    ExecResult skipped = result(&BETA, EXEC_OUT_SKIPPED, 0, 0, 0);
    record_ok(j, run, &skipped);
    end_ok(j, run, "halted");

    DroverError err = DROVER_ERROR_INIT;
    json_t *got = journal_run_json(j, run, &err);
    assert_string_equal(str_field(got, "outcome"), "halted");
    expect_json(json_array_get(json_object_get(got, "tenants"), 1),
                "{\"id\": \"beta\", \"env\": \"prod\", \"dialect\": \"mysql\","
                " \"url\": \"mysql://u:***@h/beta\", \"outcome\": \"skipped\", \"attempts\": 0,"
                " \"started_at\": null, \"started\": null, \"ended_at\": null, \"ended\": null,"
                " \"applied\": [], \"reverted\": [], \"error\": null, \"rollback_error\": null,"
                " \"dirty_migration\": null, \"steps\": []}");
    json_decref(got);
    journal_close(j);
}

/* Compensation records a tenant a second time: the new record, with every step, replaces the
 * first, and the run still counts the tenant once. */
static void test_recording_again_replaces(void **state)
{
    Journal *j = open_ok(*state);
    int64_t run = begin_ok(j, "migrate", "drover migrate");
    ExecResult first = result(&ACME, EXEC_OUT_MIGRATED, T0, T0 + 1, 1);
    sl_push(&first.applied, M2);
    alloc_steps(&first, 1);
    set_step(&first, 0, M2, true, T0, 1, NULL);
    record_ok(j, run, &first);
    ExecResult again = result(&ACME, EXEC_OUT_REVERTED, T0, T0 + 3, 2);
    sl_push(&again.applied, M2);
    sl_push(&again.reverted, M2);
    alloc_steps(&again, 2);
    set_step(&again, 0, M2, true, T0, 1, NULL);
    set_step(&again, 1, M2, false, T0 + 2, 1, NULL);
    record_ok(j, run, &again);
    end_ok(j, run, "halted");

    DroverError err = DROVER_ERROR_INIT;
    json_t *got = journal_run_json(j, run, &err);
    json_t *tenants = json_object_get(got, "tenants");
    assert_int_equal(json_array_size(tenants), 1);
    json_t *acme = json_array_get(tenants, 0);
    assert_string_equal(str_field(acme, "outcome"), "reverted");
    assert_int_equal(json_integer_value(json_object_get(acme, "attempts")), 2);
    json_t *steps = json_object_get(acme, "steps");
    assert_int_equal(json_array_size(steps), 2);
    assert_string_equal(str_field(json_array_get(steps, 1), "direction"), "down");
    json_decref(got);
    journal_close(j);
}

/* ---- the last run of a tenant ------------------------------------------------------------ */

static void expect_last_run(Journal *j, const char *tenant, const char *outcome,
                            long long run_id, double ended_at)
{
    DroverError err = DROVER_ERROR_INIT;
    char *got = NULL;
    long long got_id = -1;
    double got_at = -1;
    assert_true(journal_last_run(j, tenant, &got, &got_id, &got_at, &err));
    if (outcome) {
        assert_non_null(got);
        assert_string_equal(got, outcome);
    } else {
        assert_null(got);
    }
    assert_int_equal(got_id, run_id);
    assert_true(got_at == ended_at);
    free(got);
}

/* The newest run with a result for the tenant wins, whatever its outcome; a run that did not
 * touch the tenant does not count. */
static void test_last_run(void **state)
{
    Journal *j = open_ok(*state);
    expect_last_run(j, "acme", NULL, 0, 0);
    int64_t first = begin_ok(j, "migrate", "drover migrate");
    ExecResult a = result(&ACME, EXEC_OUT_MIGRATED, T0, T0 + 2.5, 1);
    record_ok(j, first, &a);
    end_ok(j, first, "succeeded");
    expect_last_run(j, "acme", "migrated", first, T0 + 2.5);

    int64_t second = begin_ok(j, "undo", "drover undo --steps 1");
    ExecResult b = result(&ACME, EXEC_OUT_FAILED, T0 + 10, T0 + 11.25, 2);
    record_ok(j, second, &b);
    int64_t third = begin_ok(j, "migrate", "drover migrate --tenant beta");
    ExecResult c = result(&BETA, EXEC_OUT_MIGRATED, T0 + 20, T0 + 21, 1);
    record_ok(j, third, &c);
    expect_last_run(j, "acme", "failed", second, T0 + 11.25);
    expect_last_run(j, "beta", "migrated", third, T0 + 21);
    expect_last_run(j, "cobalt", NULL, 0, 0);
    journal_close(j);
}

/* A skipped tenant never started: its last run's time is the run's own. */
static void test_last_run_of_a_skipped_tenant(void **state)
{
    Journal *j = open_ok(*state);
    double before = now();
    int64_t run = begin_ok(j, "migrate", "drover migrate");
    ExecResult skipped = result(&BETA, EXEC_OUT_SKIPPED, 0, 0, 0);
    record_ok(j, run, &skipped);
    DroverError err = DROVER_ERROR_INIT;
    char *outcome = NULL;
    long long id = 0;
    double at = 0;
    assert_true(journal_last_run(j, "beta", &outcome, &id, &at, &err));
    assert_string_equal(outcome, "skipped");
    assert_int_equal(id, run);
    assert_true(at >= before && at <= now()); /* the run's start: it has not ended */
    free(outcome);
    end_ok(j, run, "halted");
    json_t *runs = journal_runs_json(j, 1, &err);
    double ended = json_real_value(json_object_get(json_array_get(runs, 0), "ended_at"));
    json_decref(runs);
    expect_last_run(j, "beta", "skipped", run, ended);
    journal_close(j);
}

/* ---- the dirty list ---------------------------------------------------------------------- */

static void expect_dirty(Journal *j, const char *tenant, const char *migration,
                         const char *error)
{
    DroverError err = DROVER_ERROR_INIT;
    char *got_migration = (char *)"unset";
    char *got_error = (char *)"unset";
    assert_true(journal_dirty(j, tenant, &got_migration, &got_error, &err));
    if (migration) {
        assert_string_equal(got_migration, migration);
        assert_string_equal(got_error, error);
    } else {
        assert_null(got_migration);
        assert_null(got_error);
    }
    free(got_migration);
    free(got_error);
}

/* record_step records one result for acme with one step on migration. */
static void record_step(Journal *j, ExecOutcome outcome, const char *migration, bool up,
                        const char *error)
{
    int64_t run = begin_ok(j, "migrate", "drover migrate");
    ExecResult r = result(&ACME, outcome, T0, T0 + 2, 1);
    if (error)
        set_error(&r.error, NULL, migration, "", 0, error, NULL);
    alloc_steps(&r, 1);
    set_step(&r, 0, migration, up, T0, 1, error);
    record_ok(j, run, &r);
    end_ok(j, run, error ? "failed" : "succeeded");
}

static void mark_acme_dirty(Journal *j)
{
    int64_t run = begin_ok(j, "migrate", "drover migrate");
    ExecResult r = result(&ACME, EXEC_OUT_DIRTY, T0, T0 + 2, 2);
    set_error(&r.error, "acme", M2, "", 0, "partial", NULL);
    r.dirty_migration = xstrdup(M2);
    alloc_steps(&r, 1);
    set_step(&r, 0, M2, true, T0, 2, "partial");
    record_ok(j, run, &r);
    end_ok(j, run, "failed");
}

static void test_dirty_set_and_cleared_by_a_clean_step(void **state)
{
    Journal *j = open_ok(*state);
    expect_dirty(j, "acme", NULL, NULL);
    mark_acme_dirty(j);
    const char *mark_error = "tenant 'acme': migration '" M2 "': partial";
    expect_dirty(j, "acme", M2, mark_error);
    expect_dirty(j, "beta", NULL, NULL);

    record_step(j, EXEC_OUT_MIGRATED, M1, true, NULL); /* another migration: no change */
    expect_dirty(j, "acme", M2, mark_error);
    record_step(j, EXEC_OUT_FAILED, M2, true, "again"); /* the same one, failing: no change */
    expect_dirty(j, "acme", M2, mark_error);
    record_step(j, EXEC_OUT_REVERTED, M2, false, NULL); /* reverted cleanly: cleared */
    expect_dirty(j, "acme", NULL, NULL);

    mark_acme_dirty(j);
    record_step(j, EXEC_OUT_MIGRATED, M2, true, NULL); /* applied cleanly: cleared */
    expect_dirty(j, "acme", NULL, NULL);
    journal_close(j);
}

static void test_resolve(void **state)
{
    Journal *j = open_ok(*state);
    mark_acme_dirty(j);
    DroverError err = DROVER_ERROR_INIT;
    bool was_dirty = false;
    assert_true(journal_resolve(j, "acme", &was_dirty, &err));
    assert_true(was_dirty);
    expect_dirty(j, "acme", NULL, NULL);
    assert_true(journal_resolve(j, "acme", &was_dirty, &err));
    assert_false(was_dirty);
    journal_close(j);
}

/* A started mark is the marking run's work in progress while that run goes on (this test's own
 * process), the tenant's dirty mark once the run ended without clearing it, and a later run
 * that holds the tenant finds it and may not mark over it. */
static void test_started_marks(void **state)
{
    Journal *j = open_ok(*state);
    int64_t run = begin_ok(j, "migrate", "drover migrate");
    DroverError err = DROVER_ERROR_INIT;
    char *existing = NULL;
    assert_true(journal_mark_started(j, run, "acme", M2, &existing, &err));
    assert_null(existing);
    expect_dirty(j, "acme", NULL, NULL); /* in progress: not dirty */
    assert_true(journal_clear_started(j, run, "acme", M2, &err));
    assert_true(journal_mark_started(j, run, "acme", M2, &existing, &err));
    end_ok(j, run, "interrupted"); /* as a killed run's mark: its end never cleared it */
    expect_dirty(j, "acme", M2,
                 "the migration was sent without a transaction and its end was never recorded: "
                 "drover was killed (or lost its journal) while it ran");

    int64_t later = begin_ok(j, "migrate", "drover migrate");
    assert_false(journal_mark_started(j, later, "acme", M1, &existing, &err));
    assert_string_equal(existing, M2);
    assert_int_equal(err.kind, ERR_REFUSED);
    free(existing);
    error_clear(&err);
    assert_true(journal_clear_started(j, later, "acme", M2, &err)); /* not its mark: kept */
    bool was_dirty = false;
    assert_true(journal_resolve(j, "acme", &was_dirty, &err));
    assert_true(was_dirty);
    journal_close(j);
}

/* ---- errors ------------------------------------------------------------------------------ */

static void expect_usage(DroverError *err, const char *message)
{
    assert_int_equal(err->kind, ERR_USAGE);
    assert_string_equal(err->message, message);
    error_clear(err);
}

static void test_unknown_run(void **state)
{
    Journal *j = open_ok(*state);
    int64_t run = begin_ok(j, "migrate", "drover migrate");
    DroverError err = DROVER_ERROR_INIT;
    assert_null(journal_run_json(j, run + 1, &err));
    expect_usage(&err, "no run with id 2");
    assert_false(journal_end_run(j, 42, "succeeded", &err));
    expect_usage(&err, "no run with id 42");
    ExecResult r = result(&ACME, EXEC_OUT_MIGRATED, T0, T0 + 1, 1);
    assert_false(journal_record_tenant(j, 42, &r, &err));
    expect_usage(&err, "no run with id 42");
    exec_result_free(&r);

    assert_false(journal_end_run(j, run, "finished", &err));
    assert_int_equal(err.kind, ERR_INTERNAL);
    assert_string_equal(err.message, "unknown run outcome 'finished'");
    error_clear(&err);
    journal_close(j);
}

static char *query_text(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *text = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return text;
}

/* Whatever the rollout ends with, the journal must store: a refused outcome would leave the
 * run looking as if it died (no end, no outcome). */
static void test_every_rollout_outcome_is_stored(void **state)
{
    Journal *j = open_ok(*state);
    const RolloutOutcome all[] = {ROLLOUT_SUCCEEDED, ROLLOUT_FAILED, ROLLOUT_INCOMPLETE,
                                  ROLLOUT_HALTED, ROLLOUT_INTERRUPTED};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        int64_t run = begin_ok(j, "migrate", "drover migrate");
        end_ok(j, run, rollout_outcome_name(all[i]));
        char *sql = xasprintf("SELECT outcome FROM runs WHERE id = %lld", (long long)run);
        char *stored = query_text(*state, sql);
        assert_string_equal(stored, rollout_outcome_name(all[i]));
        free(stored);
        free(sql);
    }
    journal_close(j);
}

static void exec_raw(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_reopen_existing_file(void **state)
{
    Journal *j = open_ok(*state);
    int64_t first = begin_ok(j, "migrate", "drover migrate");
    record_outcome(j, first, &ACME, EXEC_OUT_MIGRATED);
    end_ok(j, first, "succeeded");
    journal_close(j);

    char *mode = query_text(*state, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    char *version = query_text(*state, "PRAGMA user_version");
    assert_string_equal(version, "2");
    free(version);

    j = open_ok(*state);
    DroverError err = DROVER_ERROR_INIT;
    json_t *got = journal_run_json(j, first, &err);
    assert_non_null(got);
    assert_string_equal(str_field(got, "outcome"), "succeeded");
    json_t *tenant = json_array_get(json_object_get(got, "tenants"), 0);
    assert_string_equal(str_field(tenant, "id"), "acme");
    assert_string_equal(str_field(tenant, "outcome"), "migrated");
    json_decref(got);
    assert_int_equal(begin_ok(j, "undo", "drover undo"), first + 1);
    journal_close(j);
}

/* A version-1 journal (before run_fleet) gains the table when opened, keeping its runs. */
static void test_version_1_is_upgraded(void **state)
{
    Journal *j = open_ok(*state);
    int64_t first = begin_ok(j, "migrate", "drover migrate");
    journal_close(j);
    exec_raw(*state, "DROP TABLE run_fleet; PRAGMA user_version = 1");
    j = open_ok(*state);
    char *version = query_text(*state, "PRAGMA user_version");
    assert_string_equal(version, "2");
    free(version);
    DroverError err = DROVER_ERROR_INIT;
    const char *ids[] = {"acme"};
    assert_true(journal_record_fleet(j, first, ids, 1, &err));
    journal_close(j);
}

/* What appeared and disappeared is measured against the newest run that recorded its fleet. */
static void test_fleet_changes(void **state)
{
    Journal *j = open_ok(*state);
    DroverError err = DROVER_ERROR_INIT;
    StrList appeared = STRLIST_INIT, disappeared = STRLIST_INIT;
    int64_t since = -1;
    const char *now[] = {"beta", "acme", "gamma"};
    assert_true(journal_fleet_changes(j, now, 3, &since, &appeared, &disappeared, &err));
    assert_int_equal(since, 0); /* no run yet: nothing to compare with */
    assert_int_equal(appeared.n + disappeared.n, 0);
    int64_t first = begin_ok(j, "migrate", "drover migrate");
    const char *then[] = {"acme", "delta", "beta"};
    assert_true(journal_record_fleet(j, first, then, 3, &err));
    int64_t second = begin_ok(j, "migrate", "drover migrate --tenant acme");
    const char *later[] = {"acme", "beta", "delta", "omega"};
    assert_true(journal_record_fleet(j, second, later, 4, &err));
    assert_true(journal_fleet_changes(j, now, 3, &since, &appeared, &disappeared, &err));
    assert_int_equal(since, second);
    assert_int_equal(appeared.n, 1);
    assert_string_equal(appeared.items[0], "gamma");
    assert_int_equal(disappeared.n, 2);
    assert_string_equal(disappeared.items[0], "delta");
    assert_string_equal(disappeared.items[1], "omega");
    sl_free(&appeared);
    sl_free(&disappeared);
    journal_close(j);
}

static void test_newer_version_is_refused(void **state)
{
    journal_close(open_ok(*state));
    exec_raw(*state, "PRAGMA user_version = 3");
    DroverError err = DROVER_ERROR_INIT;
    assert_null(journal_open(*state, &err));
    assert_int_equal(err.kind, ERR_IO);
    char *want = xasprintf(
        "journal '%s' has schema version 3; this drover knows only up to version 2",
        (char *)*state);
    assert_string_equal(err.message, want);
    free(want);
    error_clear(&err);
}

static void test_foreign_database_is_refused(void **state)
{
    exec_raw(*state, "CREATE TABLE accounts (id integer)");
    DroverError err = DROVER_ERROR_INIT;
    assert_null(journal_open(*state, &err));
    assert_int_equal(err.kind, ERR_IO);
    char *want = xasprintf(
        "journal '%s' is an sqlite database with tables of its own, not a drover journal",
        (char *)*state);
    assert_string_equal(err.message, want);
    free(want);
    error_clear(&err);
}

static void test_missing_directory(void **state)
{
    (void)state;
    char dir[] = "/tmp/drover-journal-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(rmdir(dir), 0);
    char *path = xasprintf("%s/journal.db", dir);
    DroverError err = DROVER_ERROR_INIT;
    assert_null(journal_open(path, &err));
    assert_int_equal(err.kind, ERR_IO);
    char *want = xasprintf("journal '%s': cannot open: unable to open database file", path);
    assert_string_equal(err.message, want);
    assert_string_equal(err.hint, "check that the directory exists and is writable");
    free(want);
    free(path);
    error_clear(&err);
}

/* ---- secrets ----------------------------------------------------------------------------- */

static bool file_holds(const char *path, const char *needle)
{
    size_t len = 0;
    char *bytes = file_read_all(path, &len);
    if (!bytes)
        return false;
    size_t n = strlen(needle);
    bool found = false;
    for (size_t i = 0; !found && i + n <= len; i++)
        found = memcmp(bytes + i, needle, n) == 0;
    free(bytes);
    return found;
}

/* The masked URL is stored; the password is not, not even when a message or the command
 * line carries the URL in clear. The WAL is checked too in case it outlived the close. */
static void test_password_never_reaches_the_file(void **state)
{
    Journal *j = open_ok(*state);
    int64_t run = begin_ok(j, "migrate", "drover migrate --url postgres://u:s3cret@h/acme");
    ExecResult r = result(&ACME, EXEC_OUT_DIRTY, T0, T0 + 1, 1);
    set_error(&r.error, "acme", M1, "08006", 0,
              "could not connect to postgres://u:s3cret@h/acme", NULL);
    r.dirty_migration = xstrdup(M1);
    alloc_steps(&r, 1);
    set_step(&r, 0, M1, true, T0, 1, "could not connect to postgres://u:s3cret@h/acme");
    record_ok(j, run, &r);
    end_ok(j, run, "failed");
    journal_close(j);

    char *wal = xasprintf("%s-wal", (char *)*state);
    assert_true(file_holds(*state, "postgres://u:***@h/acme"));
    assert_false(file_holds(*state, "s3cret"));
    assert_false(file_holds(wal, "s3cret"));
    free(wal);

    j = open_ok(*state);
    DroverError err = DROVER_ERROR_INIT;
    json_t *got = journal_run_json(j, run, &err);
    assert_string_equal(str_field(got, "argv"), "drover migrate --url postgres://u:***@h/acme");
    json_t *tenant = json_array_get(json_object_get(got, "tenants"), 0);
    assert_string_equal(str_field(tenant, "url"), "postgres://u:***@h/acme");
    json_decref(got);
    journal_close(j);
}

#define JOURNAL_TEST(f) cmocka_unit_test_setup_teardown(f, setup_path, teardown_path)

int main(void)
{
    const struct CMUnitTest tests[] = {
        JOURNAL_TEST(test_round_trip),
        JOURNAL_TEST(test_runs_newest_first_with_counts),
        JOURNAL_TEST(test_skipped_tenants_are_recorded),
        JOURNAL_TEST(test_recording_again_replaces),
        JOURNAL_TEST(test_last_run),
        JOURNAL_TEST(test_last_run_of_a_skipped_tenant),
        JOURNAL_TEST(test_dirty_set_and_cleared_by_a_clean_step),
        JOURNAL_TEST(test_resolve),
        JOURNAL_TEST(test_started_marks),
        JOURNAL_TEST(test_unknown_run),
        JOURNAL_TEST(test_every_rollout_outcome_is_stored),
        JOURNAL_TEST(test_reopen_existing_file),
        JOURNAL_TEST(test_newer_version_is_refused),
        JOURNAL_TEST(test_version_1_is_upgraded),
        JOURNAL_TEST(test_fleet_changes),
        JOURNAL_TEST(test_foreign_database_is_refused),
        cmocka_unit_test(test_missing_directory),
        JOURNAL_TEST(test_password_never_reaches_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_report_parse.c — report_tenant_from_json, the inverse of report_tenant_json: a run
 * tenant, a status tenant and a verify tenant survive the round trip through JSON (what drover-agent sends
 * the coordinator), errors print as they did, and malformed objects are refused by name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drover/report.h"

static InvAgent AGENT = {.name = "eu-west"};
static InvTenant TENANT = {.id = "acme", .env = "prod", .agent = &AGENT,
                           .url = {.masked = "agent:eu-west"}};
static InvTenant LOCAL = {.id = "acme", .env = "prod",
                          .url = {.dialect = DB_MYSQL, .masked = "mysql://u:***@db/acme"}};

/* round_trip renders src as the agent does and reads it back as the coordinator does. */
static void round_trip(const char *command, const ExecResult *src, ExecResult *out)
{
    json_t *o = report_tenant_json(command, src);
    memset(out, 0, sizeof *out);
    out->tenant = &TENANT;
    DroverError err = DROVER_ERROR_INIT;
    assert_true(report_tenant_from_json(o, out, &err));
    assert_false(error_is_set(&err));
    json_decref(o);
}

static void assert_same_list(const StrList *a, const StrList *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->items[i], b->items[i]);
}

static void assert_same_error(const DroverError *a, const DroverError *b)
{
    char *ta = error_format(a), *tb = error_format(b);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
}

static void test_failed_migrate_round_trip(void **state)
{
    (void)state;
    ExecResult src = {.tenant = &LOCAL, .outcome = EXEC_OUT_DIRTY, .partial = true,
                      .attempts = 3, .seconds = 1.5};
    sl_push(&src.applied, "001-a.sql");
    sl_push(&src.reverted, "001-a.sql");
    src.dirty_migration = xstrdup("002-b.sql");
    error_set(&src.error, ERR_SQL, "Table 'users' already exists");
    src.error.code = 1050;
    error_set_context(&src.error, "acme", "002-b.sql", "CREATE TABLE users (id int)");
    error_set_hint(&src.error, "repair by hand");
    error_set(&src.rollback_error, ERR_SQL, "cannot drop");
    error_set_context(&src.rollback_error, "acme", "001-a.sql", NULL);
    src.steps = xcalloc(2, sizeof *src.steps);
    src.nsteps = 2;
    src.steps[0] = (ExecStep){.migration = xstrdup("001-a.sql"), .up = true, .started_at = 10,
                              .ended_at = 11, .attempts = 1, .ok = true};
    src.steps[1] = (ExecStep){.migration = xstrdup("002-b.sql"), .up = false, .started_at = 12,
                              .ended_at = 13, .attempts = 2, .error = xstrdup("boom")};

    ExecResult got;
    round_trip("migrate", &src, &got);
    assert_int_equal(got.outcome, EXEC_OUT_DIRTY);
    assert_same_list(&got.applied, &src.applied);
    assert_same_list(&got.reverted, &src.reverted);
    assert_true(got.partial);
    assert_int_equal(got.attempts, 3);
    assert_string_equal(got.dirty_migration, "002-b.sql");
    assert_string_equal(got.agent_dialect, "mysql");
    assert_string_equal(got.agent_url, "mysql://u:***@db/acme");
    assert_string_equal(exec_result_dialect(&got), "mysql");
    assert_string_equal(exec_result_url(&got), "mysql://u:***@db/acme");
    assert_same_error(&got.error, &src.error);
    assert_string_equal(got.error.migration, "002-b.sql");
    assert_int_equal(got.error.code, 1050);
    assert_int_equal(got.error.kind, ERR_SQL);
    assert_same_error(&got.rollback_error, &src.rollback_error);
    assert_int_equal(got.nsteps, 2);
    assert_string_equal(got.steps[1].migration, "002-b.sql");
    assert_false(got.steps[1].up);
    assert_false(got.steps[1].ok);
    assert_int_equal(got.steps[1].attempts, 2);
    assert_string_equal(got.steps[1].error, "boom");
    assert_true(got.steps[0].ok);
    assert_true(got.steps[0].ended_at == 11.0);
    exec_result_free(&got);
    exec_result_free(&src);
}

static void test_status_round_trip(void **state)
{
    (void)state;
    ExecResult src = {.tenant = &LOCAL, .outcome = EXEC_OUT_OK, .state = EXEC_STATE_LOCKED,
                      .gap = true};
    sl_push(&src.have, "002-b.sql");
    sl_push(&src.pending, "001-a.sql");
    sl_push(&src.unknown, "000-old.js");
    sl_push(&src.renamed_rows, "002-b.js");
    sl_push(&src.renamed_files, "002-b.sql");
    sl_push(&src.schema_lines, "table users");
    sl_push(&src.schema_lines, "column users.id int");
    src.fingerprint = xstrdup("0123456789abcdef");
    src.lock_holder = xstrdup("drover migrate pid 7 on ci");

    ExecResult got;
    round_trip("status", &src, &got);
    assert_int_equal(got.outcome, EXEC_OUT_OK);
    assert_int_equal(got.state, EXEC_STATE_LOCKED);
    assert_same_list(&got.have, &src.have);
    assert_same_list(&got.pending, &src.pending);
    assert_same_list(&got.unknown, &src.unknown);
    assert_same_list(&got.renamed_rows, &src.renamed_rows);
    assert_same_list(&got.renamed_files, &src.renamed_files);
    assert_same_list(&got.schema_lines, &src.schema_lines);
    assert_int_equal(got.applied.n, 0);
    assert_true(got.gap);
    assert_false(got.meta_missing);
    assert_string_equal(got.fingerprint, "0123456789abcdef");
    assert_string_equal(got.lock_holder, "drover migrate pid 7 on ci");
    exec_result_free(&got);
    exec_result_free(&src);
}

/* A verify tenant keeps each migration's verdict and where it ran. */
static void test_verify_round_trip(void **state)
{
    (void)state;
    ExecResult src = {.tenant = &LOCAL, .outcome = EXEC_OUT_FAILED, .nverifies = 2};
    src.verifies = xcalloc(2, sizeof *src.verifies);
    src.verifies[0] = (ExecVerify){.migration = xstrdup("001-a.sql"), .ok = true};
    src.verifies[1] = (ExecVerify){.migration = xstrdup("002-b.js"),
                                   .problem = xstrdup("down does not bring the schema back")};
    src.verify_note = xstrdup("on a scratch database, dropped afterwards");

    ExecResult got;
    round_trip("verify", &src, &got);
    assert_int_equal(got.outcome, EXEC_OUT_FAILED);
    assert_int_equal(got.nverifies, 2);
    assert_string_equal(got.verifies[0].migration, "001-a.sql");
    assert_true(got.verifies[0].ok);
    assert_null(got.verifies[0].problem);
    assert_string_equal(got.verifies[1].migration, "002-b.js");
    assert_false(got.verifies[1].ok);
    assert_string_equal(got.verifies[1].problem, "down does not bring the schema back");
    assert_string_equal(got.verify_note, "on a scratch database, dropped afterwards");
    exec_result_free(&got);

    /* A migrate tenant carries no verify object: nothing is read. */
    round_trip("migrate", &src, &got);
    assert_int_equal(got.nverifies, 0);
    assert_null(got.verifies);
    exec_result_free(&got);
    exec_result_free(&src);
}

/* An agent tenant that never got an answer shows its agent instead of a database. */
static void test_unanswered_agent_tenant(void **state)
{
    (void)state;
    ExecResult r = {.tenant = &TENANT, .outcome = EXEC_OUT_UNREACHABLE};
    assert_string_equal(exec_result_dialect(&r), "agent");
    assert_string_equal(exec_result_url(&r), "agent:eu-west");
}

static void expect_refused(const char *text, const char *message)
{
    json_t *o = json_loads(text, 0, NULL);
    ExecResult got = {.tenant = &TENANT};
    DroverError err = DROVER_ERROR_INIT;
    assert_false(report_tenant_from_json(o, &got, &err));
    assert_int_equal(err.kind, ERR_INTERNAL);
    assert_string_equal(err.message, message);
    error_clear(&err);
    exec_result_free(&got);
    json_decref(o);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_refused("[1]", "a tenant result must be a JSON object");
    expect_refused("{\"id\": \"acme\"}", "unknown tenant outcome ''");
    expect_refused("{\"outcome\": \"exploded\"}", "unknown tenant outcome 'exploded'");
    expect_refused("{\"outcome\": \"ok\", \"state\": \"sideways\"}",
                   "unknown tenant state 'sideways'");
}

/* An error without "detail" (a plain summary) keeps the summary as it is, once. */
static void test_summary_only_error(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s,s:{s:s,s:s}}", "outcome", "failed", "error", "message",
                          "tenant 'acme': boom (SQLSTATE 42P01)", "sqlstate", "42P01");
    ExecResult got = {.tenant = &TENANT};
    DroverError err = DROVER_ERROR_INIT;
    assert_true(report_tenant_from_json(o, &got, &err));
    char *text = error_summary(&got.error);
    assert_string_equal(text, "tenant 'acme': boom (SQLSTATE 42P01)");
    free(text);
    exec_result_free(&got);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_migrate_round_trip),
        cmocka_unit_test(test_status_round_trip),
        cmocka_unit_test(test_verify_round_trip),
        cmocka_unit_test(test_unanswered_agent_tenant),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_summary_only_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

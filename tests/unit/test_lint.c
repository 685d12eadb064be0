/*
 * test_lint.c — every lint rule fires on an unsafe case and stays quiet on its safe
 * counterpart; lint-ignore silences exactly the named rule on the next statement; lines point
 * at the statement in the file; a section PostgreSQL cannot parse is a finding, not a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drover/lint.h"
#include "drover/util.h"

/* lint_one lints a single migration whose up marker is on line 1 and down marker (when down
 * is not NULL) right after the up's lines; returns the findings' rule ids, space-separated. */
static char *lint_in(unsigned dialects, const char *up, const char *down, bool transaction,
                     LintReport *r)
{
    int up_lines = 1;
    for (const char *p = up; *p; p++)
        up_lines += *p == '\n';
    Migration m = {.name = "20240101000001-x.sql", .kind = MIG_SQL,
                   .up = {.sql = (char *)up, .line = 1, .transaction = transaction},
                   .down = {.sql = (char *)down, .line = down ? 1 + up_lines : 0,
                            .transaction = true}};
    MigSet set = {.items = &m, .n = 1};
    LintOptions o = {.dialects = dialects};
    lint_set(&set, &o, r);
    StrBuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < r->n; i++)
        sb_appendf(&sb, "%s%s", i ? " " : "", r->items[i].rule->id);
    char *ids = xstrdup(sb.data ? sb.data : "");
    sb_free(&sb);
    return ids;
}

static char *lint_one(const char *up, const char *down, bool transaction, LintReport *r)
{
    return lint_in(LINT_DIALECT(DB_POSTGRES), up, down, transaction, r);
}

static void expect(const char *up, const char *down, const char *want)
{
    LintReport r;
    char *got = lint_one(up, down, true, &r);
    if (strcmp(got, want) != 0)
        fail_msg("up: %s\ndown: %s\nwant: '%s'\ngot:  '%s'", up, down ? down : "(none)", want,
                 got);
    free(got);
    lint_report_free(&r);
}

#define DOWN_OK "SELECT 1;"

static void test_destructive_rules(void **state)
{
    (void)state;
    expect("DROP TABLE users;", DOWN_OK, "drop-table");
    expect("ALTER TABLE users RENAME TO users_old;", DOWN_OK, "");
    expect("ALTER TABLE users DROP COLUMN email;", DOWN_OK, "drop-column");
    expect("ALTER TABLE users ADD COLUMN nick text;", DOWN_OK, "");
    expect("TRUNCATE users;", DOWN_OK, "truncate");
    expect("DELETE FROM users;", DOWN_OK, "delete-without-where");
    expect("DELETE FROM users WHERE id = 1;", DOWN_OK, "");
    expect("UPDATE users SET a = 1;", DOWN_OK, "update-without-where");
    expect("UPDATE users SET a = 1 WHERE a IS NULL;", DOWN_OK, "");
    expect("ALTER TABLE users ALTER COLUMN id TYPE bigint;", DOWN_OK, "column-type-change");
    expect("-- DROP TABLE users; in a comment\nSELECT 'DROP TABLE users';", DOWN_OK, "");
}

static void test_locking_rules(void **state)
{
    (void)state;
    expect("CREATE INDEX i ON users (email);", "DROP INDEX i;", "index-not-concurrent");
    expect("CREATE INDEX CONCURRENTLY i ON users (email);", "DROP INDEX i;", "");
    /* a table the same migration creates is empty: nothing to lock for long */
    expect("CREATE TABLE t (id int, e text);\nCREATE INDEX i ON t (e);\n"
           "ALTER TABLE t ADD CONSTRAINT c CHECK (id > 0), ALTER COLUMN e SET NOT NULL;",
           "DROP TABLE t;", "");
    expect("ALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id);", DOWN_OK,
           "constraint-not-valid");
    expect("ALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id) NOT VALID;",
           DOWN_OK, "");
    expect("ALTER TABLE o ADD CONSTRAINT c CHECK (n > 0);", DOWN_OK, "constraint-not-valid");
    expect("ALTER TABLE o ADD CONSTRAINT c CHECK (n > 0) NOT VALID;", DOWN_OK, "");
    expect("ALTER TABLE users ALTER COLUMN email SET NOT NULL;", DOWN_OK, "set-not-null");
    expect("ALTER TABLE users ADD COLUMN t uuid DEFAULT gen_random_uuid();", DOWN_OK,
           "volatile-default");
    expect("ALTER TABLE users ADD COLUMN t int DEFAULT 0;", DOWN_OK, "");
}

static void test_no_transaction_sections(void **state)
{
    (void)state;
    LintReport r;
    char *got = lint_one("CREATE INDEX CONCURRENTLY a ON t (x);\nCREATE INDEX CONCURRENTLY b ON "
                         "t (y);",
                         "DROP INDEX a;\nDROP INDEX b;", false, &r);
    assert_string_equal(got, "no-transaction-mixed");
    free(got);
    lint_report_free(&r);
    got = lint_one("CREATE INDEX CONCURRENTLY a ON t (x);", "DROP INDEX a;", false, &r);
    assert_string_equal(got, "");
    free(got);
    lint_report_free(&r);
}

static void test_reversibility(void **state)
{
    (void)state;
    expect("CREATE TABLE t (id int);", NULL, "irreversible");
    expect("CREATE TABLE t (id int);", "  -- nothing\n", "irreversible");
    expect("CREATE TABLE t (id int);", "SELECT 1;", "down-leaves-table");
    expect("CREATE TABLE t (id int);", "DROP TABLE t;", "");
    expect("CREATE INDEX CONCURRENTLY i ON users (e);", "SELECT 1;", "down-leaves-index");
    expect("CREATE TABLE t (e text);\nCREATE INDEX i ON t (e);", "DROP TABLE t;", "");
}

static void test_lines_ignores_and_unparsed(void **state)
{
    (void)state;
    LintReport r;
    char *got = lint_one("SELECT 1;\n\n-- drover:lint-ignore truncate staging only\nTRUNCATE a;\n"
                         "-- drover:lint-ignore truncate\nDELETE FROM b;",
                         DOWN_OK, true, &r);
    assert_string_equal(got, "delete-without-where");
    assert_int_equal(r.items[0].line, 7); /* marker on 1, body from 2: DELETE on line 7 */
    assert_int_equal(r.ignored, 1);
    free(got);
    lint_report_free(&r);

    got = lint_one("SELECT `x` FROM t;", DOWN_OK, true, &r);
    assert_string_equal(got, "unparsed");
    assert_int_equal(r.items[0].rule->severity, LINT_WARNING);
    free(got);
    lint_report_free(&r);
}

/* expect_mysql: the rule ids on a fleet of MariaDB tenants only, or with PostgreSQL too. */
static void expect_mysql(unsigned dialects, const char *up, const char *want)
{
    LintReport r;
    char *got = lint_in(dialects, up, DOWN_OK, true, &r);
    if (strcmp(got, want) != 0)
        fail_msg("up: %s\nwant: '%s'\ngot:  '%s'", up, want, got);
    free(got);
    lint_report_free(&r);
}

static void test_mysql_rules(void **state)
{
    (void)state;
    unsigned my = LINT_DIALECT(DB_MYSQL), both = my | LINT_DIALECT(DB_POSTGRES);
    expect_mysql(my, "ALTER TABLE `users` MODIFY `email` varchar(200) NOT NULL;", "mysql-table-copy");
    expect_mysql(my, "ALTER TABLE users CHANGE COLUMN nick handle varchar(50);", "mysql-table-copy");
    expect_mysql(my, "ALTER TABLE users CONVERT TO CHARACTER SET utf8mb4;", "mysql-table-copy");
    expect_mysql(my, "ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id, org);", "mysql-table-copy");
    expect_mysql(my, "ALTER TABLE posts ADD FULLTEXT INDEX posts_body (body);", "mysql-table-copy");
    expect_mysql(my, "ALTER TABLE posts ADD CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id);",
                 "mysql-foreign-key");
    expect_mysql(my, "ALTER TABLE posts ADD FOREIGN KEY (user_id) REFERENCES users (id), ENGINE=InnoDB;",
                 "mysql-table-copy mysql-foreign-key");
    /* the safe counterparts: instant or in-place work, or an algorithm the server enforces */
    expect_mysql(my, "ALTER TABLE users ADD COLUMN nick varchar(20);", "");
    expect_mysql(my, "ALTER TABLE users ADD INDEX users_email (email), ALGORITHM=INPLACE, LOCK=NONE;", "");
    expect_mysql(my, "ALTER TABLE users MODIFY email varchar(200), ALGORITHM=INPLACE, LOCK=NONE;", "");
    expect_mysql(my, "ALTER TABLE users ALTER COLUMN nick SET DEFAULT 'x';", "");
    expect_mysql(my, "ALTER TABLE users COMMENT 'MODIFY, CHANGE (ENGINE=x)';", "");
    expect_mysql(my, "-- drover:lint-ignore mysql-table-copy small table\n"
                     "ALTER TABLE tiny MODIFY x bigint;", "");
    /* only where the fleet has such tenants */
    expect_mysql(LINT_DIALECT(DB_POSTGRES), "ALTER TABLE users ADD CONSTRAINT u FOREIGN KEY (a) REFERENCES b (id) NOT VALID;", "");
    /* MySQL syntax is not "unparsed" on a MariaDB-only fleet, but is where PostgreSQL runs it */
    expect_mysql(both, "ALTER TABLE `users` MODIFY `email` varchar(200);", "unparsed mysql-table-copy");
}

/* A .js migration is linted on the statements a preview captured, pointing at the file and
 * naming the statement; without them it is said not linted, with why. */
static void test_js_statements(void **state)
{
    (void)state;
    Migration ms[2] = {{.name = "20240101000001-a.js", .kind = MIG_JS},
                       {.name = "20240101000002-b.js", .kind = MIG_JS}};
    MigSet set = {.items = ms, .n = 2};
    StrList sent = STRLIST_INIT;
    sl_push(&sent, "CREATE TABLE IF NOT EXISTS \"audit\" (\"id\" INTEGER)");
    sl_push(&sent, "CREATE INDEX \"audit_id\" ON \"audit\" (\"id\")");
    sl_push(&sent, "CREATE INDEX \"users_email\" ON \"users\" (\"email\")");
    sl_push(&sent, "DELETE FROM \"sessions\"");
    LintJsStatements js[] = {{.migration = "20240101000001-a.js", .statements = &sent},
                             {.migration = "20240101000002-b.js",
                              .why_not = "no selected PostgreSQL tenant lacks it"}};
    LintOptions o = {.dialects = LINT_DIALECT(DB_SQLITE), .js = js, .njs = 2};
    LintReport r;
    lint_set(&set, &o, &r);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.items[0].rule->id, "index-not-concurrent");
    assert_int_equal(r.items[0].line, 1);
    assert_non_null(strstr(r.items[0].message, "users_email"));
    assert_non_null(strstr(r.items[0].message, "(statement 3 it sends)"));
    assert_string_equal(r.items[1].rule->id, "delete-without-where");
    assert_non_null(strstr(r.items[1].message, "(statement 4 it sends)"));
    assert_string_equal(r.items[2].rule->id, "js-not-linted");
    assert_string_equal(r.items[2].file, "20240101000002-b.js");
    assert_non_null(strstr(r.items[2].message, "no selected PostgreSQL tenant lacks it"));
    lint_report_free(&r);
    sl_free(&sent);
}

static void test_js_is_said_not_linted(void **state)
{
    (void)state;
    Migration m = {.name = "20240101000001-x.js", .kind = MIG_JS};
    MigSet set = {.items = &m, .n = 1};
    LintReport r;
    LintOptions o = {.dialects = LINT_DIALECT(DB_POSTGRES)};
    lint_set(&set, &o, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.items[0].rule->id, "js-not-linted");
    assert_int_equal(lint_count(&r, LINT_ERROR), 0);
    json_t *sarif = lint_sarif(&r);
    assert_string_equal(json_string_value(json_object_get(sarif, "version")), "2.1.0");
    json_decref(sarif);
    lint_report_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_destructive_rules),
        cmocka_unit_test(test_locking_rules),
        cmocka_unit_test(test_no_transaction_sections),
        cmocka_unit_test(test_reversibility),
        cmocka_unit_test(test_lines_ignores_and_unparsed),
        cmocka_unit_test(test_mysql_rules),
        cmocka_unit_test(test_js_statements),
        cmocka_unit_test(test_js_is_said_not_linted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_sqlsplit.c — statement splitting per dialect: every construct that can hide a ';'
 * (strings, identifiers, dollar quotes, comments, routine and trigger bodies), dropped
 * empty statements, and the line number reported for each statement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drover/util.h"
#include "sqlsplit_impl.h"

typedef struct Expected {
    const char *text;
    int line;
} Expected;

/* check_split splits script and compares each statement's exact text and line. */
static void check_split(const char *script, DbDialect d, const Expected *want, size_t nwant)
{
    SqlStatement *got = NULL;
    size_t n = sql_split(script, d, &got);
    for (size_t k = 0; k < n && k < nwant; k++) {
        char *text = xstrndup(script + got[k].offset, got[k].len);
        assert_string_equal(text, want[k].text);
        assert_int_equal(got[k].line, want[k].line);
        free(text);
    }
    assert_int_equal(n, nwant);
    if (n == 0)
        assert_null(got);
    free(got);
}

#define CHECK(script, dialect, ...)                                                             \
    do {                                                                                        \
        static const Expected want_[] = {__VA_ARGS__};                                          \
        check_split(script, dialect, want_, sizeof want_ / sizeof *want_);                      \
    } while (0)

static void check_none(const char *script, DbDialect d)
{
    check_split(script, d, NULL, 0);
}

static void test_plain_statements(void **state)
{
    (void)state;
    CHECK("CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n", DB_POSTGRES,
          {"CREATE TABLE a (id int)", 1}, {"INSERT INTO a VALUES (1)", 2});
}

static void test_last_statement_without_semicolon(void **state)
{
    (void)state;
    CHECK("SELECT 1;\n\n  SELECT 2  \n", DB_POSTGRES, {"SELECT 1", 1}, {"SELECT 2", 3});
    CHECK("SELECT 1", DB_MYSQL, {"SELECT 1", 1});
    CHECK("SELECT 1", DB_SQLITE, {"SELECT 1", 1});
}

static void test_empty_inputs(void **state)
{
    (void)state;
    for (DbDialect d = DB_POSTGRES; d <= DB_SQLITE; d++) {
        check_none("", d);
        check_none("  \n\t\n", d);
        check_none(";;\n ; ", d);
        check_none("-- only a comment; with 'quote\n/* and; a block */\n;", d);
    }
}

static void test_pg_dollar_quoted_function(void **state)
{
    (void)state;
    const char *script =
        "-- a function with semicolons in its body\n"
        "CREATE FUNCTION f() RETURNS trigger AS $$\n"
        "BEGIN\n"
        "  NEW.x := 'a;b';\n"
        "  RETURN NEW;\n"
        "END;\n"
        "$$ LANGUAGE plpgsql;\n"
        "SELECT 2;";
    CHECK(script, DB_POSTGRES,
          {"CREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN\n  NEW.x := 'a;b';\n  RETURN NEW;\n"
           "END;\n$$ LANGUAGE plpgsql",
           2},
          {"SELECT 2", 8});
}

static void test_pg_tagged_dollar_quotes(void **state)
{
    (void)state;
    /* an inner $$ does not close $body$; $1 is a parameter, not a quote */
    CHECK("DO $body$ BEGIN PERFORM $$x;y$$; END $body$; SELECT $1;", DB_POSTGRES,
          {"DO $body$ BEGIN PERFORM $$x;y$$; END $body$", 1}, {"SELECT $1", 1});
    /* a $ inside an identifier does not open a quote */
    CHECK("SELECT a$b$ FROM t; SELECT 2", DB_POSTGRES, {"SELECT a$b$ FROM t", 1},
          {"SELECT 2", 1});
}

static void test_pg_strings(void **state)
{
    (void)state;
    CHECK("INSERT INTO t VALUES ('a;b', 'it''s;'); SELECT 1", DB_POSTGRES,
          {"INSERT INTO t VALUES ('a;b', 'it''s;')", 1}, {"SELECT 1", 1});
    /* in a standard string a backslash is an ordinary character */
    CHECK("SELECT 'C:\\'; SELECT 2", DB_POSTGRES, {"SELECT 'C:\\'", 1}, {"SELECT 2", 1});
    CHECK("SELECT E'it\\'s;'; SELECT e'\\\\'; SELECT 3", DB_POSTGRES,
          {"SELECT E'it\\'s;'", 1}, {"SELECT e'\\\\'", 1}, {"SELECT 3", 1});
    /* an identifier ending in e before a quote is not an E string */
    CHECK("SELECT name'x\\'; SELECT 2", DB_POSTGRES, {"SELECT name'x\\'", 1}, {"SELECT 2", 1});
    CHECK("CREATE TABLE \"a;\"\"b\" (x int); SELECT 2", DB_POSTGRES,
          {"CREATE TABLE \"a;\"\"b\" (x int)", 1}, {"SELECT 2", 1});
}

static void test_pg_comments(void **state)
{
    (void)state;
    CHECK("/* outer /* inner; */ still; 'comment */ SELECT 1; -- it's; done\nSELECT 2 -- tail\n",
          DB_POSTGRES, {"SELECT 1", 1}, {"SELECT 2", 2});
    /* a comment inside a statement stays; a trailing one does not */
    CHECK("SELECT 1 /* ; */ + 2 -- x;\n;", DB_POSTGRES, {"SELECT 1 /* ; */ + 2", 1});
    CHECK("SELECT 1;\n-- trailing; comment", DB_POSTGRES, {"SELECT 1", 1});
}

static void test_pg_parentheses_and_atomic_bodies(void **state)
{
    (void)state;
    CHECK("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); DELETE FROM b);"
          "SELECT 1",
          DB_POSTGRES,
          {"CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); DELETE FROM b)", 1},
          {"SELECT 1", 1});
    const char *atomic =
        "CREATE OR REPLACE FUNCTION g(x int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n"
        "  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n"
        "  SELECT x;\n"
        "END;\n"
        "BEGIN;";
    CHECK(atomic, DB_POSTGRES,
          {"CREATE OR REPLACE FUNCTION g(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
           "  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT x;\nEND",
           1},
          {"BEGIN", 6});
}

static void test_pg_create_index_concurrently_lines(void **state)
{
    (void)state;
    CHECK("\n\n  CREATE INDEX CONCURRENTLY i ON t (x);\n\n\nCREATE INDEX j ON t (y);", DB_POSTGRES,
          {"CREATE INDEX CONCURRENTLY i ON t (x)", 3}, {"CREATE INDEX j ON t (y)", 6});
}

static void test_pg_unterminated(void **state)
{
    (void)state;
    CHECK("SELECT 1; SELECT 'abc;", DB_POSTGRES, {"SELECT 1", 1}, {"SELECT 'abc;", 1});
    CHECK("SELECT 1; SELECT $$abc;", DB_POSTGRES, {"SELECT 1", 1}, {"SELECT $$abc;", 1});
    CHECK("SELECT 1; /* open; ", DB_POSTGRES, {"SELECT 1", 1});
}

static void test_mysql_strings_and_identifiers(void **state)
{
    (void)state;
    CHECK("INSERT INTO t VALUES ('it\\'s;', \"a\\\";b\", 'x''y;');\nSELECT `a;``b` FROM t",
          DB_MYSQL, {"INSERT INTO t VALUES ('it\\'s;', \"a\\\";b\", 'x''y;')", 1},
          {"SELECT `a;``b` FROM t", 2});
    /* MySQL has no dollar quotes and no E strings */
    CHECK("SELECT $$; SELECT 2", DB_MYSQL, {"SELECT $$", 1}, {"SELECT 2", 1});
}

static void test_mysql_comments(void **state)
{
    (void)state;
    CHECK("# hash; comment 'x\nSELECT 1; -- dash; comment\nSELECT 2 --1;\nSELECT 3", DB_MYSQL,
          {"SELECT 1", 2}, {"SELECT 2 --1", 3}, {"SELECT 3", 4});
    /* block comments do not nest in MySQL */
    CHECK("/* a /* b */ SELECT 1; */", DB_MYSQL, {"SELECT 1", 1}, {"*/", 1});
    /* executable comments reach the server, so they are statements */
    CHECK("/*!40101 SET NAMES utf8mb4 */;\nSELECT /*+ hint */ 1;", DB_MYSQL,
          {"/*!40101 SET NAMES utf8mb4 */", 1}, {"SELECT /*+ hint */ 1", 2});
}

static void test_sqlite_quotes(void **state)
{
    (void)state;
    CHECK("CREATE TABLE [a;b] (\"c;\" int, `d;` text DEFAULT 'e;''f');\nSELECT 1", DB_SQLITE,
          {"CREATE TABLE [a;b] (\"c;\" int, `d;` text DEFAULT 'e;''f')", 1}, {"SELECT 1", 2});
    /* backslash is not an escape in SQLite */
    CHECK("SELECT 'a\\'; SELECT 2", DB_SQLITE, {"SELECT 'a\\'", 1}, {"SELECT 2", 1});
}

static void test_sqlite_comments(void **state)
{
    (void)state;
    CHECK("/* x; /* y; */ SELECT 1; -- z;\nSELECT 2", DB_SQLITE, {"SELECT 1", 1},
          {"SELECT 2", 2});
}

static void test_sqlite_trigger_body(void **state)
{
    (void)state;
    const char *script =
        "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN\n"
        "  INSERT INTO log VALUES ('x;');\n"
        "  UPDATE c SET n = n + 1;\n"
        "END;\n"
        "SELECT 1;";
    CHECK(script, DB_SQLITE,
          {"CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN\n  INSERT INTO log VALUES ('x;');\n"
           "  UPDATE c SET n = n + 1;\nEND",
           1},
          {"SELECT 1", 5});
    /* a word named "trigger" later in a statement does not start a body */
    CHECK("CREATE TABLE x (trigger int); SELECT 1", DB_SQLITE,
          {"CREATE TABLE x (trigger int)", 1}, {"SELECT 1", 1});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_statements),
        cmocka_unit_test(test_last_statement_without_semicolon),
        cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_pg_dollar_quoted_function),
        cmocka_unit_test(test_pg_tagged_dollar_quotes),
        cmocka_unit_test(test_pg_strings),
        cmocka_unit_test(test_pg_comments),
        cmocka_unit_test(test_pg_parentheses_and_atomic_bodies),
        cmocka_unit_test(test_pg_create_index_concurrently_lines),
        cmocka_unit_test(test_pg_unterminated),
        cmocka_unit_test(test_mysql_strings_and_identifiers),
        cmocka_unit_test(test_mysql_comments),
        cmocka_unit_test(test_sqlite_quotes),
        cmocka_unit_test(test_sqlite_comments),
        cmocka_unit_test(test_sqlite_trigger_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

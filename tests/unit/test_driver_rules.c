/*
 * test_driver_rules.c — the driver functions that need no server: dialect names,
 * identifier quoting and which errors count as transient (and so are retried).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drover/driver.h"

static void test_dialect_names(void **state)
{
    (void)state;
    assert_string_equal(db_dialect_name(DB_POSTGRES), "postgres");
    assert_string_equal(db_dialect_name(DB_MYSQL), "mysql");
    assert_string_equal(db_dialect_name(DB_SQLITE), "sqlite");
}

static void check_quote(DbDialect d, const char *ident, const char *want)
{
    char *got = drv_quote_ident(d, ident);
    assert_string_equal(got, want);
    free(got);
}

static void test_quote_ident(void **state)
{
    (void)state;
    check_quote(DB_POSTGRES, "SequelizeMeta", "\"SequelizeMeta\"");
    check_quote(DB_POSTGRES, "a\"b`c", "\"a\"\"b`c\"");
    check_quote(DB_POSTGRES, "", "\"\"");
    check_quote(DB_MYSQL, "a`b\"c", "`a``b\"c`");
    check_quote(DB_SQLITE, "``", "``````");
    check_quote(DB_SQLITE, "tenant one", "`tenant one`");
}

static bool pg_transient(const char *sqlstate)
{
    DroverError err = DROVER_ERROR_INIT;
    memcpy(err.sqlstate, sqlstate, strlen(sqlstate) + 1);
    return drv_error_is_transient(DB_POSTGRES, &err);
}

static bool coded_transient(DbDialect d, int code)
{
    DroverError err = DROVER_ERROR_INIT;
    err.code = code;
    return drv_error_is_transient(d, &err);
}

static void test_pg_transient(void **state)
{
    (void)state;
    const char *yes[] = {"08000", "08001", "08006", "08P01", "40001", "40P01", "55P03", "57P01",
                         "53300"};
    const char *no[] = {"", "42P01", "23505", "40002", "57P02", "53100", "28P01", "3D000"};
    for (size_t k = 0; k < sizeof yes / sizeof *yes; k++)
        assert_true(pg_transient(yes[k]));
    for (size_t k = 0; k < sizeof no / sizeof *no; k++)
        assert_false(pg_transient(no[k]));
    /* a MySQL errno in a PostgreSQL error means nothing */
    assert_false(coded_transient(DB_POSTGRES, 1213));
}

static void test_mysql_transient(void **state)
{
    (void)state;
    const int yes[] = {1040, 1205, 1213, 2002, 2003, 2006, 2013};
    const int no[] = {0, 1045, 1049, 1062, 1146, 1064, 2005};
    for (size_t k = 0; k < sizeof yes / sizeof *yes; k++)
        assert_true(coded_transient(DB_MYSQL, yes[k]));
    for (size_t k = 0; k < sizeof no / sizeof *no; k++)
        assert_false(coded_transient(DB_MYSQL, no[k]));
}

static void test_sqlite_transient(void **state)
{
    (void)state;
    assert_true(coded_transient(DB_SQLITE, 5));          /* SQLITE_BUSY */
    assert_true(coded_transient(DB_SQLITE, 5 | 2 << 8)); /* SQLITE_BUSY_SNAPSHOT */
    assert_true(coded_transient(DB_SQLITE, 6));          /* SQLITE_LOCKED */
    assert_false(coded_transient(DB_SQLITE, 1));         /* SQLITE_ERROR */
    assert_false(coded_transient(DB_SQLITE, 19));        /* SQLITE_CONSTRAINT */
    assert_false(coded_transient(DB_SQLITE, 14));        /* SQLITE_CANTOPEN */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dialect_names),
        cmocka_unit_test(test_quote_ident),
        cmocka_unit_test(test_pg_transient),
        cmocka_unit_test(test_mysql_transient),
        cmocka_unit_test(test_sqlite_transient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

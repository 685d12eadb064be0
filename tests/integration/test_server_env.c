/*
 * test_server_env.c — the C side of the integration harness: the addresses run-test.sh
 * exports (DROVER_TEST_PG_*, DROVER_TEST_MYSQL_*) reach the same client libraries the
 * drivers use, and the servers check the password.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <mysql.h>

/* ER_ACCESS_DENIED_ERROR; mysqld_error.h is not part of libmariadb's public headers here. */
#define MY_ACCESS_DENIED 1045

static const char *need_env(const char *name)
{
    const char *value = getenv(name);
    if (value == NULL || value[0] == '\0')
        fail_msg("'%s' is not set: run this test through ctest (run-test.sh)", name);
    return value;
}

static unsigned int env_port(const char *name)
{
    const char *text = need_env(name);
    char *end = NULL;
    errno = 0;
    long port = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || port <= 0 || port > 65535)
        fail_msg("'%s' is not a port: '%s'", name, text);
    return (unsigned int)port;
}

static void pg_url_connects_as_drover(void **state)
{
    (void)state;
    PGconn *conn = PQconnectdb(need_env("DROVER_TEST_PG_URL"));
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("connect failed: %s", PQerrorMessage(conn));
    PGresult *res = PQexec(conn, "SELECT current_user, inet_server_addr()::text");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "drover");
    assert_string_equal(PQgetvalue(res, 0, 1), "127.0.0.1/32");
    PQclear(res);
    PQfinish(conn);
}

static void pg_wrong_password_is_refused(void **state)
{
    (void)state;
    const char *keys[] = {"host", "port", "user", "password", "dbname", "passfile", NULL};
    const char *values[] = {need_env("DROVER_TEST_PG_HOST"), need_env("DROVER_TEST_PG_PORT"),
                            need_env("DROVER_TEST_PG_USER"), "wrong-secret", "postgres",
                            "/dev/null", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 0);
    assert_int_equal(PQstatus(conn), CONNECTION_BAD);
    assert_non_null(
        strstr(PQerrorMessage(conn), "password authentication failed for user \"drover\""));
    PQfinish(conn);
}

static MYSQL *my_connect(const char *password)
{
    MYSQL *my = mysql_init(NULL);
    assert_non_null(my);
    /* On failure the handle keeps mysql_errno for the caller to inspect. */
    (void)mysql_real_connect(my, need_env("DROVER_TEST_MYSQL_HOST"),
                             need_env("DROVER_TEST_MYSQL_USER"), password, NULL,
                             env_port("DROVER_TEST_MYSQL_PORT"), NULL, 0);
    return my;
}

static void mysql_connects_as_drover(void **state)
{
    (void)state;
    MYSQL *my = my_connect(need_env("DROVER_TEST_MYSQL_PASSWORD"));
    if (mysql_errno(my) != 0)
        fail_msg("connect failed: %s", mysql_error(my));
    assert_int_equal(mysql_query(my, "SELECT CURRENT_USER()"), 0);
    MYSQL_RES *res = mysql_store_result(my);
    assert_non_null(res);
    MYSQL_ROW row = mysql_fetch_row(res);
    assert_non_null(row);
    assert_string_equal(row[0], "drover@127.0.0.1");
    mysql_free_result(res);
    mysql_close(my);
}

static void mysql_wrong_password_is_refused(void **state)
{
    (void)state;
    MYSQL *my = my_connect("wrong-secret");
    assert_int_equal(mysql_errno(my), MY_ACCESS_DENIED);
    mysql_close(my);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pg_url_connects_as_drover),
        cmocka_unit_test(pg_wrong_password_is_refused),
        cmocka_unit_test(mysql_connects_as_drover),
        cmocka_unit_test(mysql_wrong_password_is_refused),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    mysql_library_end();
    return failed;
}

/*
 * test_url.c — database URL parsing and masking: every scheme, percent-decoding, libpq
 * parameters, sqlite paths, and that a password never shows in a masked form or an error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/inventory.h"

#define ACCEPTED \
    "(accepted: postgres://, postgresql://, mysql://, mariadb://, sqlite:PATH, " \
    "sqlite:///ABSOLUTE/PATH)"

static void parse_ok(const char *text, DbUrl *url)
{
    DroverError err = DROVER_ERROR_INIT;
    bool ok = url_parse(text, "/srv/drover", url, &err);
    if (!ok)
        fail_msg("'%s' did not parse: %s", text, err.message);
    assert_false(error_is_set(&err));
}

/* expect_error also checks that out is left zeroed and that `secret` shows nowhere. */
static void expect_error(const char *text, const char *message, const char *secret)
{
    DroverError err = DROVER_ERROR_INIT;
    DbUrl url;
    memset(&url, 0x5a, sizeof url);
    assert_false(url_parse(text, "/srv/drover", &url, &err));
    assert_int_equal(err.kind, ERR_CONFIG);
    assert_string_equal(err.message, message);
    if (secret)
        assert_null(strstr(err.message, secret));
    assert_null(url.masked);
    assert_null(url.password);
    assert_int_equal(url.nparams, 0);
    error_clear(&err);
}

static void test_postgres_full(void **state)
{
    (void)state;
    DbUrl url;
    parse_ok("postgres://drover:p%40ss@127.0.0.1:5432/acme?sslmode=disable", &url);
    assert_int_equal(url.dialect, DB_POSTGRES);
    assert_string_equal(url.host, "127.0.0.1");
    assert_int_equal(url.port, 5432);
    assert_string_equal(url.user, "drover");
    assert_string_equal(url.password, "p@ss");
    assert_string_equal(url.database, "acme");
    assert_null(url.schema);
    assert_int_equal(url.nparams, 1);
    assert_string_equal(url.params[0].key, "sslmode");
    assert_string_equal(url.params[0].value, "disable");
    assert_string_equal(url.masked, "postgres://drover:***@127.0.0.1:5432/acme?sslmode=disable");
    assert_null(strstr(url.masked, "p@ss"));
    assert_null(strstr(url.masked, "p%40ss"));
    url_free(&url);
    assert_null(url.masked);
    url_free(&url);
}

static void test_postgresql_schema_and_params(void **state)
{
    (void)state;
    DbUrl url;
    parse_ok("POSTGRESQL://app@db.example/app?schema=t_1&application_name=a%20b"
             "&sslpassword=k3y",
             &url);
    assert_int_equal(url.dialect, DB_POSTGRES);
    assert_string_equal(url.host, "db.example");
    assert_int_equal(url.port, 0);
    assert_string_equal(url.user, "app");
    assert_null(url.password);
    assert_string_equal(url.schema, "t_1");
    assert_int_equal(url.nparams, 2);
    assert_string_equal(url.params[0].key, "application_name");
    assert_string_equal(url.params[0].value, "a b");
    assert_string_equal(url.params[1].key, "sslpassword");
    assert_string_equal(url.params[1].value, "k3y");
    assert_string_equal(url.masked, "postgresql://app@db.example/app?schema=t_1"
                                    "&application_name=a%20b&sslpassword=***");
    url_free(&url);
}

static void test_postgres_host_only(void **state)
{
    (void)state;
    DbUrl url;
    parse_ok("postgres://db.example", &url);
    assert_string_equal(url.host, "db.example");
    assert_null(url.user);
    assert_null(url.database);
    assert_string_equal(url.masked, "postgres://db.example");
    url_free(&url);
}

static void test_ipv6_host(void **state)
{
    (void)state;
    DbUrl url;
    parse_ok("postgres://u:secret@[::1]:5433/db", &url);
    assert_string_equal(url.host, "::1");
    assert_int_equal(url.port, 5433);
    assert_string_equal(url.masked, "postgres://u:***@[::1]:5433/db");
    url_free(&url);
}

static void test_empty_password_is_masked(void **state)
{
    (void)state;
    DbUrl url;
    parse_ok("postgres://u:@h/db", &url);
    assert_string_equal(url.password, "");
    assert_string_equal(url.masked, "postgres://u:***@h/db");
    url_free(&url);
}

static void test_mysql(void **state)
{
    (void)state;
    DbUrl url;
    parse_ok("mysql://root:s%3Acret@127.0.0.1:3306/globex", &url);
    assert_int_equal(url.dialect, DB_MYSQL);
    assert_string_equal(url.user, "root");
    assert_string_equal(url.password, "s:cret");
    assert_int_equal(url.port, 3306);
    assert_string_equal(url.database, "globex");
    assert_string_equal(url.masked, "mysql://root:***@127.0.0.1:3306/globex");
    url_free(&url);
}

static void test_mariadb_without_database(void **state)
{
    (void)state;
    DbUrl url;
    parse_ok("mariadb://root@db.example/", &url);
    assert_int_equal(url.dialect, DB_MYSQL);
    assert_null(url.database);
    assert_null(url.password);
    assert_string_equal(url.masked, "mariadb://root@db.example");
    url_free(&url);
}

static void test_sqlite_relative(void **state)
{
    (void)state;
    DbUrl url;
    parse_ok("sqlite:tenants/local1.db", &url);
    assert_int_equal(url.dialect, DB_SQLITE);
    assert_null(url.host);
    assert_string_equal(url.database, "/srv/drover/tenants/local1.db");
    assert_string_equal(url.masked, "sqlite:/srv/drover/tenants/local1.db");
    url_free(&url);
}

static void test_sqlite_relative_to_cwd(void **state)
{
    (void)state;
    DroverError err = DROVER_ERROR_INIT;
    DbUrl url;
    assert_true(url_parse("sqlite:a.db", ".", &url, &err));
    char *cwd = getcwd(NULL, 0);
    char *expected = xasprintf("%s/a.db", cwd);
    assert_string_equal(url.database, expected);
    free(expected);
    free(cwd);
    url_free(&url);
}

static void test_sqlite_absolute(void **state)
{
    (void)state;
    DbUrl url;
    parse_ok("sqlite:///var/lib/drover/t.db", &url);
    assert_string_equal(url.database, "/var/lib/drover/t.db");
    assert_string_equal(url.masked, "sqlite:/var/lib/drover/t.db");
    url_free(&url);
}

static void test_sqlite_errors(void **state)
{
    (void)state;
    expect_error("sqlite:", "invalid url 'sqlite:': the sqlite database path is empty", NULL);
    expect_error("sqlite:///", "invalid url 'sqlite:///': the sqlite database path is empty",
                 NULL);
    expect_error("sqlite://host/t.db",
                 "invalid url 'sqlite://host/t.db': a sqlite url is 'sqlite:PATH' (relative to "
                 "the inventory) or 'sqlite:///ABSOLUTE/PATH'",
                 NULL);
    expect_error("sqlite:t.db?mode=ro",
                 "invalid url 'sqlite:t.db?mode=ro': sqlite urls take no query parameters", NULL);
}

static void test_postgres_param_errors(void **state)
{
    (void)state;
    expect_error("postgres://u:hunter2@h/db?foo=1",
                 "invalid url 'postgres://u:***@h/db?foo=1': unknown postgres connection "
                 "parameter 'foo'",
                 "hunter2");
    expect_error("postgres://h/db?password=hunter2",
                 "invalid url 'postgres://h/db?password=***': 'password' must be given in the "
                 "url itself, not as a query parameter",
                 "hunter2");
    expect_error("postgres://h/db?host=other",
                 "invalid url 'postgres://h/db?host=other': 'host' must be given in the url "
                 "itself, not as a query parameter",
                 NULL);
    expect_error("postgres://h/db?sslmode=require&sslmode=disable",
                 "invalid url 'postgres://h/db?sslmode=require&sslmode=disable': duplicate "
                 "connection parameter 'sslmode'",
                 NULL);
    expect_error("postgres://h/db?sslmode",
                 "invalid url 'postgres://h/db?sslmode': query parameter 'sslmode' has no "
                 "'=value'",
                 NULL);
    expect_error("postgres://h/db?schema=",
                 "invalid url 'postgres://h/db?schema=': 'schema' must not be empty", NULL);
    expect_error("mysql://root:hunter2@h/db?ssl=1",
                 "invalid url 'mysql://root:***@h/db?ssl=1': mysql urls take no query "
                 "parameters ('ssl' given)",
                 "hunter2");
}

static void test_bad_port(void **state)
{
    (void)state;
    expect_error("postgres://u:hunter2@h:99999/db",
                 "invalid url 'postgres://u:***@h:99999/db': port must be a number from 1 to "
                 "65535",
                 "hunter2");
    expect_error("mysql://h:0/db",
                 "invalid url 'mysql://h:0/db': port must be a number from 1 to 65535", NULL);
    expect_error("mysql://h:abc/db",
                 "invalid url 'mysql://h:abc/db': port must be a number from 1 to 65535", NULL);
}

static void test_malformed_urls(void **state)
{
    (void)state;
    expect_error("redis://h/0", "invalid url 'redis://h/0': unsupported scheme 'redis' " ACCEPTED,
                 NULL);
    expect_error("db.example/app", "invalid url 'db.example/app': missing scheme " ACCEPTED, NULL);
    expect_error("postgres:///db", "invalid url 'postgres:///db': missing host", NULL);
    expect_error("postgres:db", "invalid url 'postgres:db': expected 'postgres://' followed by "
                                "a host",
                 NULL);
    expect_error("postgres://h/a/b",
                 "invalid url 'postgres://h/a/b': the path must be a database name alone, not "
                 "'a/b'",
                 NULL);
    /* An unencoded '#' makes libcurl read "p" as the port; the password must still not show. */
    expect_error("postgres://u:p#ss@h/db",
                 "invalid url 'postgres://u:***@h/db': port must be a number from 1 to 65535",
                 "p#ss");
}

static void expect_mask(const char *text, const char *expected)
{
    char *masked = url_mask_text(text);
    assert_string_equal(masked, expected);
    free(masked);
}

static void test_mask_text(void **state)
{
    (void)state;
    expect_mask("postgres://u:pw@h/db", "postgres://u:***@h/db");
    expect_mask("mysql://u@h/db", "mysql://u@h/db");
    expect_mask("no url here", "no url here");
    expect_mask("postgres://u:p/w?x@h/db", "postgres://u:***@h/db");
    expect_mask("postgres://h/db?sslmode=x&password=abc&a=b",
                "postgres://h/db?sslmode=x&password=***&a=b");
    expect_mask("postgres://h/db?sslpassword=abc", "postgres://h/db?sslpassword=***");
    expect_mask("see postgres://u:pw@h/db for details", "see postgres://u:***@h/db for details");
    expect_mask("postgres://u:${PW}@h/db", "postgres://u:***@h/db");
    expect_mask("a?mypassword=x", "a?mypassword=x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_postgres_full),
        cmocka_unit_test(test_postgresql_schema_and_params),
        cmocka_unit_test(test_postgres_host_only),
        cmocka_unit_test(test_ipv6_host),
        cmocka_unit_test(test_empty_password_is_masked),
        cmocka_unit_test(test_mysql),
        cmocka_unit_test(test_mariadb_without_database),
        cmocka_unit_test(test_sqlite_relative),
        cmocka_unit_test(test_sqlite_relative_to_cwd),
        cmocka_unit_test(test_sqlite_absolute),
        cmocka_unit_test(test_sqlite_errors),
        cmocka_unit_test(test_postgres_param_errors),
        cmocka_unit_test(test_bad_port),
        cmocka_unit_test(test_malformed_urls),
        cmocka_unit_test(test_mask_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

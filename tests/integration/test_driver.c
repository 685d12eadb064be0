/*
 * test_driver.c — the drivers against real PostgreSQL, MariaDB and SQLite: scripts with
 * quoted semicolons, failing statements (text, SQLSTATE/errno, count), transactions,
 * literal quoting round trips, connection failures and their classification.
 * Needs DROVER_TEST_{PG,MYSQL}_{HOST,PORT,USER,PASSWORD} and DROVER_TEST_TMPDIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drover/driver.h"
#include "itest_db.h"

/* A connection under test and the database it was given. */
typedef struct Ctx {
    DbDialect dialect;
    const char *env_prefix; /* "PG" or "MYSQL"; NULL for SQLite */
    char *dbname;
    DrvConn *conn;
} Ctx;

/* server_url describes the fixture's server; strings point into the environment or dbname. */
static DbUrl server_url(const Ctx *ctx, const char *database)
{
    DbUrl url = {.dialect = ctx->dialect};
    url.host = (char *)need_env(ctx->env_prefix, "HOST");
    url.port = parse_port(need_env(ctx->env_prefix, "PORT"));
    url.user = (char *)need_env(ctx->env_prefix, "USER");
    url.password = (char *)need_env(ctx->env_prefix, "PASSWORD");
    url.database = (char *)database;
    return url;
}

static DrvConn *connect_or_fail(const DbUrl *url, bool create)
{
    DrvConnectOptions opts = {.application_name = "drover-test", .create = create};
    DroverError err = DROVER_ERROR_INIT;
    DrvConn *c = drv_connect(url, &opts, &err);
    if (!c)
        fail_msg("connect: %s", err.message);
    return c;
}

/* admin_exec runs sql on the server's maintenance database (CREATE/DROP DATABASE). */
static void admin_exec(Ctx *ctx, const char *sql)
{
    DbUrl url = server_url(ctx, ctx->dialect == DB_POSTGRES ? "postgres" : "");
    DrvConn *admin = connect_or_fail(&url, false);
    exec_or_fail(admin, sql);
    drv_close(admin);
}

static int server_setup(void **state, DbDialect d, const char *prefix)
{
    Ctx *ctx = xcalloc(1, sizeof *ctx);
    ctx->dialect = d;
    ctx->env_prefix = prefix;
    ctx->dbname = xasprintf("drv_test_%ld", (long)getpid());
    char *quoted = drv_quote_ident(d, ctx->dbname);
    char *sql = xasprintf("DROP DATABASE IF EXISTS %s", quoted);
    admin_exec(ctx, sql);
    free(sql);
    sql = xasprintf("CREATE DATABASE %s", quoted);
    admin_exec(ctx, sql);
    free(sql);
    free(quoted);
    DbUrl url = server_url(ctx, ctx->dbname);
    ctx->conn = connect_or_fail(&url, false);
    *state = ctx;
    return 0;
}

static int server_teardown(void **state)
{
    Ctx *ctx = *state;
    if (!ctx) /* the group setup failed */
        return 0;
    drv_close(ctx->conn);
    char *quoted = drv_quote_ident(ctx->dialect, ctx->dbname);
    char *sql = xasprintf("DROP DATABASE %s", quoted);
    admin_exec(ctx, sql);
    free(sql);
    free(quoted);
    free(ctx->dbname);
    free(ctx);
    return 0;
}

static int pg_setup(void **state)
{
    return server_setup(state, DB_POSTGRES, "PG");
}

static int mysql_setup(void **state)
{
    return server_setup(state, DB_MYSQL, "MYSQL");
}

static int sqlite_setup(void **state)
{
    Ctx *ctx = xcalloc(1, sizeof *ctx);
    ctx->dialect = DB_SQLITE;
    ctx->dbname = xasprintf("%s/drv_test_%ld.sqlite", need_env("", "TMPDIR"), (long)getpid());
    unlink(ctx->dbname);
    DbUrl url = {.dialect = DB_SQLITE, .database = ctx->dbname};
    ctx->conn = connect_or_fail(&url, true);
    *state = ctx;
    return 0;
}

static int sqlite_teardown(void **state)
{
    Ctx *ctx = *state;
    if (!ctx) /* the group setup failed */
        return 0;
    drv_close(ctx->conn);
    unlink(ctx->dbname);
    free(ctx->dbname);
    free(ctx);
    return 0;
}

/* ---- tests shared by the three dialects ---------------------------------------------- */

static void test_exec_and_query(void **state)
{
    Ctx *ctx = *state;
    exec_or_fail(ctx->conn, "CREATE TABLE q (id int PRIMARY KEY, name varchar(20))");
    exec_or_fail(ctx->conn, "INSERT INTO q VALUES (2, 'two'), (1, NULL)");
    StrList rows = STRLIST_INIT;
    DroverError err = DROVER_ERROR_INIT;
    assert_true(drv_query_strings(ctx->conn, "SELECT name FROM q ORDER BY id", &rows, &err));
    assert_int_equal(rows.n, 2);
    assert_string_equal(rows.items[0], "");
    assert_string_equal(rows.items[1], "two");
    sl_free(&rows);
    assert_int_equal(drv_conn_dialect(ctx->conn), ctx->dialect);
}

/* drv_query_columns names the result's columns in order, for an empty result too, and
 * reports an error for a missing table. */
static void test_query_columns(void **state)
{
    Ctx *ctx = *state;
    exec_or_fail(ctx->conn, "CREATE TABLE qc (name varchar(20), createdAt int, updatedAt int)");
    StrList cols = STRLIST_INIT;
    DroverError err = DROVER_ERROR_INIT;
    assert_true(drv_query_columns(ctx->conn, "SELECT * FROM qc LIMIT 0", &cols, &err));
    assert_int_equal(cols.n, 3);
    assert_string_equal(cols.items[0], "name");
    /* unquoted identifiers fold to lower case on PostgreSQL only */
    assert_string_equal(cols.items[1], ctx->dialect == DB_POSTGRES ? "createdat" : "createdAt");
    assert_string_equal(cols.items[2], ctx->dialect == DB_POSTGRES ? "updatedat" : "updatedAt");
    sl_free(&cols);
    assert_false(drv_query_columns(ctx->conn, "SELECT * FROM no_such_table", &cols, &err));
    assert_int_equal(cols.n, 0);
    assert_non_null(err.message);
    error_clear(&err);
}

static void test_empty_scripts(void **state)
{
    Ctx *ctx = *state;
    const char *scripts[] = {"", "  \n", "-- only a comment;\n/* and ; this */", ";;"};
    for (size_t k = 0; k < sizeof scripts / sizeof *scripts; k++) {
        size_t done = 99;
        DroverError err = DROVER_ERROR_INIT;
        assert_true(drv_exec_script(ctx->conn, scripts[k], &done, &err));
        assert_int_equal(done, 0);
        assert_false(error_is_set(&err));
    }
}

/* The failing third statement must be named, the first kept and the fourth never run. */
static void test_failing_statement(void **state)
{
    Ctx *ctx = *state;
    const char *script = "CREATE TABLE f1 (id int);\n"
                         "-- the next one fails; it names a missing table\n"
                         "INSERT INTO f1 VALUES (1);\n"
                         "  INSERT INTO nope VALUES (1) ;\n"
                         "CREATE TABLE f2 (id int);\n";
    size_t done = 99;
    DroverError err = DROVER_ERROR_INIT;
    assert_false(drv_exec_script(ctx->conn, script, &done, &err));
    assert_int_equal(done, 2);
    assert_int_equal(err.kind, ERR_SQL);
    assert_string_equal(err.statement, "INSERT INTO nope VALUES (1)");
    switch (ctx->dialect) {
    case DB_POSTGRES:
        assert_string_equal(err.message, "relation \"nope\" does not exist");
        assert_string_equal(err.sqlstate, "42P01");
        assert_int_equal(err.code, 0);
        break;
    case DB_MYSQL: {
        char *want = xasprintf("Table '%s.nope' doesn't exist", ctx->dbname);
        assert_string_equal(err.message, want);
        free(want);
        assert_int_equal(err.code, 1146);
        assert_string_equal(err.sqlstate, "");
        break;
    }
    case DB_SQLITE:
        assert_string_equal(err.message, "no such table: nope");
        assert_int_equal(err.code, 1); /* SQLITE_ERROR */
        break;
    }
    assert_false(drv_error_is_transient(ctx->dialect, &err));
    error_clear(&err);
    assert_query_one(ctx->conn, "SELECT count(*) FROM f1", "1");
    assert_false(drv_exec(ctx->conn, "SELECT * FROM f2", &err));
    assert_string_equal(err.statement, "SELECT * FROM f2");
    error_clear(&err);
}

static void test_rollback_leaves_nothing(void **state)
{
    Ctx *ctx = *state;
    DroverError err = DROVER_ERROR_INIT;
    exec_or_fail(ctx->conn, "CREATE TABLE r (id int)");
    assert_true(drv_begin(ctx->conn, &err));
    exec_or_fail(ctx->conn, "INSERT INTO r VALUES (1)");
    if (ctx->dialect != DB_MYSQL) /* MariaDB commits DDL implicitly */
        exec_or_fail(ctx->conn, "CREATE TABLE r2 (id int)");
    assert_query_one(ctx->conn, "SELECT count(*) FROM r", "1");
    assert_true(drv_rollback(ctx->conn, &err));
    assert_query_one(ctx->conn, "SELECT count(*) FROM r", "0");
    if (ctx->dialect != DB_MYSQL) {
        assert_false(drv_exec(ctx->conn, "SELECT * FROM r2", &err));
        error_clear(&err);
    }
    assert_true(drv_begin(ctx->conn, &err));
    exec_or_fail(ctx->conn, "INSERT INTO r VALUES (2)");
    assert_true(drv_commit(ctx->conn, &err));
    assert_query_one(ctx->conn, "SELECT count(*) FROM r", "1");
    /* a rollback outside a transaction is harmless when errors are ignored */
    assert_true(drv_rollback(ctx->conn, NULL));
}

static void test_quote_round_trip(void **state)
{
    Ctx *ctx = *state;
    const char *values[] = {"plain", "it's", "a''b", "back\\slash\\", "\\'; DROP TABLE x; --",
                            "\"double\"", "ünïcødé ✓ 日本", "line\nbreak\ttab", ""};
    for (size_t k = 0; k < sizeof values / sizeof *values; k++) {
        char *lit = drv_quote_literal(ctx->conn, values[k]);
        assert_non_null(lit);
        char *sql = xasprintf("SELECT %s", lit);
        char *got = query_one(ctx->conn, sql);
        assert_string_equal(got, values[k]);
        free(got);
        free(sql);
        free(lit);
    }
    char *ident = drv_quote_ident(ctx->dialect, "we\"ird`name");
    char *sql = xasprintf("CREATE TABLE %s (id int)", ident);
    exec_or_fail(ctx->conn, sql);
    free(sql);
    sql = xasprintf("SELECT count(*) FROM %s", ident);
    assert_query_one(ctx->conn, sql, "0");
    free(sql);
    free(ident);
}

/* ---- PostgreSQL ------------------------------------------------------------------------ */

static void test_pg_script(void **state)
{
    Ctx *ctx = *state;
    const char *script =
        "CREATE TABLE s (id serial PRIMARY KEY, note text);\n"
        "CREATE FUNCTION s_note() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  NEW.note := coalesce(NEW.note, '') || ';touched';\n"
        "  RETURN NEW;\n"
        "END;\n"
        "$$;\n"
        "CREATE TRIGGER s_note BEFORE INSERT ON s FOR EACH ROW EXECUTE FUNCTION s_note();\n"
        "INSERT INTO s (note) VALUES ('a;b'), (E'it\\'s;');\n"
        "/* CONCURRENTLY fails inside a transaction block or a multi-statement query */\n"
        "CREATE INDEX CONCURRENTLY s_note_idx ON s (note);\n";
    size_t done = 0;
    DroverError err = DROVER_ERROR_INIT;
    if (!drv_exec_script(ctx->conn, script, &done, &err))
        fail_msg("script: %s", err.message);
    assert_int_equal(done, 5);
    StrList rows = STRLIST_INIT;
    assert_true(drv_query_strings(ctx->conn, "SELECT note FROM s ORDER BY id", &rows, &err));
    assert_int_equal(rows.n, 2);
    assert_string_equal(rows.items[0], "a;b;touched");
    assert_string_equal(rows.items[1], "it's;;touched");
    sl_free(&rows);
    assert_query_one(ctx->conn, "SELECT count(*) FROM pg_indexes WHERE indexname = 's_note_idx'",
                     "1");
}

static void test_pg_error_detail(void **state)
{
    Ctx *ctx = *state;
    exec_or_fail(ctx->conn, "CREATE TABLE u (id int PRIMARY KEY)");
    size_t done = 0;
    DroverError err = DROVER_ERROR_INIT;
    assert_false(drv_exec_script(ctx->conn, "INSERT INTO u VALUES (1);INSERT INTO u VALUES (1)",
                                 &done, &err));
    assert_int_equal(done, 1);
    assert_string_equal(err.message, "duplicate key value violates unique constraint \"u_pkey\" "
                                     "(detail: Key (id)=(1) already exists.)");
    assert_string_equal(err.sqlstate, "23505");
    assert_string_equal(err.statement, "INSERT INTO u VALUES (1)");
    error_clear(&err);
}

static void test_pg_schema_and_application_name(void **state)
{
    Ctx *ctx = *state;
    exec_or_fail(ctx->conn, "CREATE SCHEMA \"Tenant One\"");
    DbUrl url = server_url(ctx, ctx->dbname);
    url.schema = "Tenant One";
    DrvConn *c = connect_or_fail(&url, false);
    assert_query_one(c, "SELECT current_schema()", "Tenant One");
    assert_query_one(c, "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()",
                     "drover-test");
    assert_query_one(c, "SHOW client_encoding", "UTF8");
    drv_close(c);
}

/* A backend terminated mid-session must fail the next statement with a transient error. */
static void test_pg_connection_lost(void **state)
{
    Ctx *ctx = *state;
    DbUrl url = server_url(ctx, ctx->dbname);
    DrvConn *victim = connect_or_fail(&url, false);
    char *pid = query_one(victim, "SELECT pg_backend_pid()");
    char *sql = xasprintf("SELECT pg_terminate_backend(%s)", pid);
    assert_query_one(ctx->conn, sql, "t");
    free(sql);
    free(pid);
    size_t done = 0;
    DroverError err = DROVER_ERROR_INIT;
    assert_false(drv_exec_script(victim, "SELECT 1; SELECT 2", &done, &err));
    assert_int_equal(done, 0);
    assert_int_equal(err.kind, ERR_SQL);
    assert_true(drv_error_is_transient(DB_POSTGRES, &err));
    error_clear(&err);
    assert_false(drv_exec(victim, "SELECT 1", &err));
    assert_string_equal(err.sqlstate, "08006");
    assert_true(drv_error_is_transient(DB_POSTGRES, &err));
    error_clear(&err);
    drv_close(victim);
}

/* ---- MariaDB --------------------------------------------------------------------------- */

static void test_mysql_script(void **state)
{
    Ctx *ctx = *state;
    const char *script =
        "CREATE TABLE s (id int AUTO_INCREMENT PRIMARY KEY, note text);\n"
        "# a hash comment; with a quote '\n"
        "INSERT INTO s (note) VALUES ('a;b'), ('it\\'s;'), (\"dq;\");\n"
        "CREATE PROCEDURE add_note(IN n text)\n"
        "BEGIN\n"
        "  INSERT INTO s (note) VALUES (concat(n, ';proc'));\n"
        "END;\n"
        "SELECT 1; -- a trailing comment\n";
    size_t done = 0;
    DroverError err = DROVER_ERROR_INIT;
    if (!drv_exec_script(ctx->conn, script, &done, &err))
        fail_msg("script: %s", err.message);
    assert_int_equal(done, 4);
    exec_or_fail(ctx->conn, "CALL add_note('x')");
    StrList rows = STRLIST_INIT;
    assert_true(drv_query_strings(ctx->conn, "SELECT note FROM s ORDER BY id", &rows, &err));
    assert_int_equal(rows.n, 4);
    assert_string_equal(rows.items[0], "a;b");
    assert_string_equal(rows.items[1], "it's;");
    assert_string_equal(rows.items[2], "dq;");
    assert_string_equal(rows.items[3], "x;proc");
    sl_free(&rows);
}

/* Empty statements are dropped as the mariadb client does (the server rejects ";;"). */
static void test_mysql_empty_statements_and_lines(void **state)
{
    Ctx *ctx = *state;
    size_t done = 0;
    DroverError err = DROVER_ERROR_INIT;
    assert_false(drv_exec_script(ctx->conn, "SELECT 1;;\n/* c; */ ;\n\nSELECT 2; SELEC 3;", &done,
                                 &err));
    assert_int_equal(done, 2);
    assert_int_equal(err.code, 1064);
    assert_string_equal(err.statement, "SELEC 3");
    assert_string_equal(err.message, "You have an error in your SQL syntax; check the manual that "
                                     "corresponds to your MariaDB server version for the right "
                                     "syntax to use near 'SELEC 3' at line 1");
    error_clear(&err);
}

static void test_mysql_connection_lost(void **state)
{
    Ctx *ctx = *state;
    DbUrl url = server_url(ctx, ctx->dbname);
    DrvConn *victim = connect_or_fail(&url, false);
    char *id = query_one(victim, "SELECT connection_id()");
    char *sql = xasprintf("KILL %s", id);
    exec_or_fail(ctx->conn, sql);
    free(sql);
    free(id);
    DroverError err = DROVER_ERROR_INIT;
    assert_false(drv_exec(victim, "SELECT 1", &err));
    assert_true(err.code == 2006 || err.code == 2013 || err.code == 1927);
    error_clear(&err);
    drv_close(victim);
}

/* ---- SQLite ---------------------------------------------------------------------------- */

static void test_sqlite_script(void **state)
{
    Ctx *ctx = *state;
    const char *script =
        "CREATE TABLE s (id integer PRIMARY KEY, note text);\n"
        "CREATE TABLE log (msg text);\n"
        "CREATE TRIGGER s_log AFTER INSERT ON s BEGIN\n"
        "  INSERT INTO log VALUES ('inserted; ' || NEW.note);\n"
        "END;\n"
        "INSERT INTO s (note) VALUES ('a;b'), ('it''s;');\n";
    size_t done = 0;
    DroverError err = DROVER_ERROR_INIT;
    if (!drv_exec_script(ctx->conn, script, &done, &err))
        fail_msg("script: %s", err.message);
    assert_int_equal(done, 4);
    StrList rows = STRLIST_INIT;
    assert_true(drv_query_strings(ctx->conn, "SELECT msg FROM log ORDER BY rowid", &rows, &err));
    assert_int_equal(rows.n, 2);
    assert_string_equal(rows.items[0], "inserted; a;b");
    assert_string_equal(rows.items[1], "inserted; it's;");
    sl_free(&rows);
    assert_query_one(ctx->conn, "PRAGMA foreign_keys", "1");
}

static void test_sqlite_create_or_not(void **state)
{
    Ctx *ctx = *state;
    char *path = xasprintf("%s.missing", ctx->dbname);
    unlink(path);
    DbUrl url = {.dialect = DB_SQLITE, .database = path};
    DrvConnectOptions opts = {.create = false};
    DroverError err = DROVER_ERROR_INIT;
    assert_null(drv_connect(&url, &opts, &err));
    assert_int_equal(err.kind, ERR_CONNECT);
    char *want = xasprintf("database file '%s' does not exist", path);
    assert_string_equal(err.message, want);
    free(want);
    assert_int_equal(err.code, 14); /* SQLITE_CANTOPEN */
    assert_int_equal(access(path, F_OK), -1);
    error_clear(&err);
    opts.create = true;
    DrvConn *c = drv_connect(&url, &opts, &err);
    assert_non_null(c);
    assert_int_equal(access(path, F_OK), 0);
    drv_close(c);
    unlink(path);
    free(path);
}

/* ---- connection failures --------------------------------------------------------------- */

/* free_port returns a 127.0.0.1 port on which nothing listens (bound, then released). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

static void test_refused_connection_is_transient(void **state)
{
    Ctx *ctx = *state;
    DbUrl url = server_url(ctx, "x");
    url.host = "127.0.0.1";
    url.port = free_port();
    DroverError err = DROVER_ERROR_INIT;
    assert_null(drv_connect(&url, NULL, &err));
    assert_int_equal(err.kind, ERR_CONNECT);
    char *prefix = xasprintf("cannot connect to %s '127.0.0.1:%d/x': ",
                             db_dialect_name(ctx->dialect), url.port);
    assert_memory_equal(err.message, prefix, strlen(prefix));
    free(prefix);
    assert_null(strchr(err.message, '\n'));
    assert_true(drv_error_is_transient(ctx->dialect, &err));
    error_clear(&err);
}

/* The user name doubles as the password, so the server's message would show it unmasked. */
static void test_rejected_login_is_masked_and_permanent(void **state)
{
    Ctx *ctx = *state;
    DbUrl url = server_url(ctx, ctx->dbname);
    url.user = "hunter2secret";
    url.password = "hunter2secret";
    DroverError err = DROVER_ERROR_INIT;
    assert_null(drv_connect(&url, NULL, &err));
    assert_int_equal(err.kind, ERR_CONNECT);
    assert_null(strstr(err.message, "hunter2secret"));
    if (ctx->dialect == DB_POSTGRES) {
        char *want = xasprintf("cannot connect to postgres '%s:%d/%s': connection to server at "
                               "\"%s\", port %d failed: FATAL: password authentication failed "
                               "for user \"***\"",
                               url.host, url.port, ctx->dbname, url.host, url.port);
        assert_string_equal(err.message, want);
        free(want);
        assert_string_equal(err.sqlstate, "");
    } else {
        assert_non_null(strstr(err.message, "Access denied for user '***'@"));
        /* ER_ACCESS_DENIED_ERROR, or ER_ACCESS_DENIED_NO_PASSWORD_ERROR when the server's
         * anonymous/socket accounts match first (MariaDB 10.11 with mariadb-install-db). */
        assert_true(err.code == 1045 || err.code == 1698);
    }
    assert_false(drv_error_is_transient(ctx->dialect, &err));
    error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest pg[] = {
        cmocka_unit_test(test_exec_and_query),
        cmocka_unit_test(test_query_columns),
        cmocka_unit_test(test_empty_scripts),
        cmocka_unit_test(test_failing_statement),
        cmocka_unit_test(test_rollback_leaves_nothing),
        cmocka_unit_test(test_quote_round_trip),
        cmocka_unit_test(test_pg_script),
        cmocka_unit_test(test_pg_error_detail),
        cmocka_unit_test(test_pg_schema_and_application_name),
        cmocka_unit_test(test_pg_connection_lost),
        cmocka_unit_test(test_refused_connection_is_transient),
        cmocka_unit_test(test_rejected_login_is_masked_and_permanent),
    };
    const struct CMUnitTest mysql[] = {
        cmocka_unit_test(test_exec_and_query),
        cmocka_unit_test(test_query_columns),
        cmocka_unit_test(test_empty_scripts),
        cmocka_unit_test(test_failing_statement),
        cmocka_unit_test(test_rollback_leaves_nothing),
        cmocka_unit_test(test_quote_round_trip),
        cmocka_unit_test(test_mysql_script),
        cmocka_unit_test(test_mysql_empty_statements_and_lines),
        cmocka_unit_test(test_mysql_connection_lost),
        cmocka_unit_test(test_refused_connection_is_transient),
        cmocka_unit_test(test_rejected_login_is_masked_and_permanent),
    };
    const struct CMUnitTest sqlite[] = {
        cmocka_unit_test(test_exec_and_query),
        cmocka_unit_test(test_query_columns),
        cmocka_unit_test(test_empty_scripts),
        cmocka_unit_test(test_failing_statement),
        cmocka_unit_test(test_rollback_leaves_nothing),
        cmocka_unit_test(test_quote_round_trip),
        cmocka_unit_test(test_sqlite_script),
        cmocka_unit_test(test_sqlite_create_or_not),
    };
    int failed = cmocka_run_group_tests_name("postgres", pg, pg_setup, server_teardown);
    failed += cmocka_run_group_tests_name("mariadb", mysql, mysql_setup, server_teardown);
    failed += cmocka_run_group_tests_name("sqlite", sqlite, sqlite_setup, sqlite_teardown);
    return failed;
}

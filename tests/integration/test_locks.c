/*
 * test_locks.c — the drivers' cross-process locks and lock timeouts against real PostgreSQL,
 * MariaDB and SQLite: two connections to one database exclude each other, the holder is
 * named, a closed or killed holder releases, server-side names are the documented ones.
 * Needs DROVER_TEST_{PG,MYSQL}_{HOST,PORT,USER,PASSWORD} and DROVER_TEST_TMPDIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drover/driver.h"
#include "itest_db.h"

#define KEY "public.SequelizeMeta"

/* The database under test: a server database made for this run, or a SQLite file. */
typedef struct Ctx {
    DbDialect dialect;
    const char *env_prefix; /* "PG" or "MYSQL"; NULL for SQLite */
    char *dbname;           /* SQLite: the file path */
} Ctx;

/* ctx_url describes the database; strings point into the environment or ctx. */
static DbUrl ctx_url(const Ctx *ctx, const char *database)
{
    DbUrl url = {.dialect = ctx->dialect, .database = (char *)database};
    if (ctx->dialect == DB_SQLITE)
        return url;
    url.host = (char *)need_env(ctx->env_prefix, "HOST");
    url.port = parse_port(need_env(ctx->env_prefix, "PORT"));
    url.user = (char *)need_env(ctx->env_prefix, "USER");
    url.password = (char *)need_env(ctx->env_prefix, "PASSWORD");
    return url;
}

static DrvConn *open_as(const Ctx *ctx, const char *database, const char *app)
{
    DbUrl url = ctx_url(ctx, database);
    DrvConnectOptions opts = {.application_name = app, .create = true};
    DroverError err = DROVER_ERROR_INIT;
    DrvConn *c = drv_connect(&url, &opts, &err);
    if (!c)
        fail_msg("connect: %s", err.message);
    return c;
}

static DrvConn *open_conn(const Ctx *ctx, const char *app)
{
    return open_as(ctx, ctx->dbname, app);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A wait bounded by wait_ms must last at least that long and not much longer. */
static void assert_waited(long long elapsed_ms, long long wait_ms)
{
    if (elapsed_ms < wait_ms || elapsed_ms >= wait_ms + 1000)
        fail_msg("waited %lld ms, wanted %lld ms to %lld ms", elapsed_ms, wait_ms, wait_ms + 999);
}

/* lock_or_fail: drv_lock must succeed; returns whether the lock was acquired. */
static bool lock_or_fail(DrvConn *c, const char *key, const char *holder, int wait_ms)
{
    bool acquired = true;
    DroverError err = DROVER_ERROR_INIT;
    if (!drv_lock(c, key, holder, wait_ms, &acquired, &err))
        fail_msg("lock '%s': %s", key, err.message);
    return acquired;
}

static void unlock_or_fail(DrvConn *c, const char *key)
{
    DroverError err = DROVER_ERROR_INIT;
    if (!drv_unlock(c, key, &err))
        fail_msg("unlock '%s': %s", key, err.message);
}

/* holder_of returns drv_lock_holder's answer (NULL: free). */
static char *holder_of(DrvConn *c, const char *key)
{
    char *holder = (char *)"unset";
    DroverError err = DROVER_ERROR_INIT;
    if (!drv_lock_holder(c, key, &holder, &err))
        fail_msg("lock holder '%s': %s", key, err.message);
    return holder;
}

static void assert_holder(DrvConn *c, const char *key, const char *want)
{
    char *got = holder_of(c, key);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* The wait a server honours: MariaDB's GET_LOCK waits whole seconds. */
static int lock_wait_ms(const Ctx *ctx)
{
    return ctx->dialect == DB_MYSQL ? 1000 : 300;
}

/* describe_holder is what drv_lock_holder must say about c, computed apart from the driver's
 * own query where the server allows it. */
static char *describe_holder(const Ctx *ctx, DrvConn *c, const char *app, const char *text)
{
    switch (ctx->dialect) {
    case DB_POSTGRES: {
        char *pid = query_one(c, "SELECT pg_backend_pid()");
        char *since = query_one(c, "SELECT to_char(backend_start AT TIME ZONE 'UTC', "
                                   "'YYYY-MM-DD HH24:MI:SS') FROM pg_stat_activity "
                                   "WHERE pid = pg_backend_pid()");
        char *want = xasprintf("pid %s, application_name '%s', client %s, since %s+00", pid, app,
                               need_env("PG", "HOST"), since);
        free(since);
        free(pid);
        return want;
    }
    case DB_MYSQL: {
        char *id = query_one(c, "SELECT connection_id()");
        char *want = xasprintf("connection %s, user '%s'@'%s'", id, need_env("MYSQL", "USER"),
                               need_env("MYSQL", "HOST"));
        free(id);
        return want;
    }
    case DB_SQLITE:
        return xstrdup(text);
    }
    return NULL;
}

/* ---- tests shared by the three dialects ---------------------------------------------- */

static void test_second_connection_waits_then_acquires(void **state)
{
    Ctx *ctx = *state;
    DrvConn *a = open_conn(ctx, "drover-locks-a");
    DrvConn *b = open_conn(ctx, "drover-locks-b");
    assert_holder(b, KEY, NULL);
    assert_true(lock_or_fail(a, KEY, "drover run a (pid 1)", 0));
    char *want_a = describe_holder(ctx, a, "drover-locks-a", "drover run a (pid 1)");
    assert_holder(b, KEY, want_a);
    assert_holder(a, KEY, want_a); /* the holder sees itself too */

    long long start = now_ms();
    assert_false(lock_or_fail(b, KEY, "drover run b (pid 2)", lock_wait_ms(ctx)));
    assert_waited(now_ms() - start, lock_wait_ms(ctx));
    start = now_ms();
    assert_false(lock_or_fail(b, KEY, "drover run b (pid 2)", 0));
    assert_true(now_ms() - start < 500);
    assert_holder(b, KEY, want_a); /* the failed attempts changed nothing */

    unlock_or_fail(a, KEY);
    assert_holder(b, KEY, NULL);
    assert_true(lock_or_fail(b, KEY, "drover run b (pid 2)", 0));
    char *want_b = describe_holder(ctx, b, "drover-locks-b", "drover run b (pid 2)");
    assert_holder(a, KEY, want_b);
    assert_false(lock_or_fail(a, KEY, "drover run a (pid 1)", 0));
    unlock_or_fail(b, KEY);
    assert_holder(a, KEY, NULL);
    free(want_b);
    free(want_a);
    drv_close(b);
    drv_close(a);
}

/* A connection waiting in drv_lock, on its own thread. */
typedef struct Waiter {
    DrvConn *conn;
    int wait_ms;
    bool ok;
    bool acquired;
    long long elapsed_ms;
} Waiter;

static void *wait_for_lock(void *arg)
{
    Waiter *w = arg;
    DroverError err = DROVER_ERROR_INIT;
    long long start = now_ms();
    w->ok = drv_lock(w->conn, KEY, "the waiter", w->wait_ms, &w->acquired, &err);
    w->elapsed_ms = now_ms() - start;
    error_clear(&err);
    return NULL;
}

/* A waiter gets the lock soon after the holder closes its connection, mid-wait. */
static void test_waiter_acquires_when_holder_closes(void **state)
{
    Ctx *ctx = *state;
    DrvConn *a = open_conn(ctx, "drover-locks-a");
    Waiter w = {.conn = open_conn(ctx, "drover-locks-b"), .wait_ms = 5000};
    assert_true(lock_or_fail(a, KEY, "a", 0));
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, wait_for_lock, &w), 0);
    struct timespec pause_ts = {.tv_nsec = 300 * 1000000L};
    nanosleep(&pause_ts, NULL);
    drv_close(a);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_true(w.ok);
    assert_true(w.acquired);
    /* the thread starts its clock a little after the pause began */
    if (w.elapsed_ms < 250 || w.elapsed_ms >= 2000)
        fail_msg("the waiter waited %lld ms", w.elapsed_ms);
    drv_close(w.conn);
    DrvConn *c = open_conn(ctx, "drover-locks-c");
    assert_holder(c, KEY, NULL); /* closing the waiter released it in turn */
    assert_true(lock_or_fail(c, KEY, "c", 0));
    drv_close(c);
}

static void test_unlock_without_lock_fails(void **state)
{
    Ctx *ctx = *state;
    DrvConn *a = open_conn(ctx, "drover-locks-a");
    DroverError err = DROVER_ERROR_INIT;
    assert_false(drv_unlock(a, KEY, &err));
    assert_int_equal(err.kind, ERR_INTERNAL);
    const char *want =
        ctx->dialect == DB_POSTGRES
            ? "cannot release the advisory lock for '" KEY "': this session does not hold it"
            : "cannot release the lock for '" KEY "': this connection does not hold it";
    assert_string_equal(err.message, want);
    error_clear(&err);
    bool acquired = true;
    assert_false(drv_lock(a, KEY, "a", -1, &acquired, &err));
    assert_false(acquired);
    assert_string_equal(err.message, "negative lock wait -1 ms for '" KEY "'");
    error_clear(&err);
    assert_false(drv_set_lock_timeout(a, -5, &err));
    assert_string_equal(err.message, "negative lock timeout -5 ms");
    error_clear(&err);
    drv_close(a);
}

/* ---- PostgreSQL and MariaDB ------------------------------------------------------------ */

static void test_different_keys_do_not_conflict(void **state)
{
    Ctx *ctx = *state;
    DrvConn *a = open_conn(ctx, "drover-locks-a");
    DrvConn *b = open_conn(ctx, "drover-locks-b");
    assert_true(lock_or_fail(a, "one.SequelizeMeta", "a", 0));
    assert_true(lock_or_fail(b, "two.SequelizeMeta", "b", 0));
    assert_false(lock_or_fail(b, "one.SequelizeMeta", "b", 0));
    assert_false(lock_or_fail(a, "two.SequelizeMeta", "a", 0));
    drv_close(b);
    drv_close(a);
}

/* A killed holder (the server ends its session) releases the lock at once. */
static void test_killed_session_releases(void **state)
{
    Ctx *ctx = *state;
    DrvConn *a = open_conn(ctx, "drover-locks-a");
    DrvConn *b = open_conn(ctx, "drover-locks-b");
    assert_true(lock_or_fail(a, KEY, "a", 0));
    bool pg = ctx->dialect == DB_POSTGRES;
    char *id = query_one(a, pg ? "SELECT pg_backend_pid()" : "SELECT connection_id()");
    char *kill = xasprintf(pg ? "SELECT pg_terminate_backend(%s)" : "KILL %s", id);
    exec_or_fail(b, kill);
    free(kill);
    free(id);
    assert_true(lock_or_fail(b, KEY, "b", 3000));
    drv_close(b);
    drv_close(a);
}

/* ---- PostgreSQL ------------------------------------------------------------------------ */

/* The advisory key is FNV-1a 64 of the key (0x85944171f73967e8 for "foobar", the published
 * test vector) as a signed bigint: another tool can take the same lock. */
static void test_pg_advisory_key_is_documented_hash(void **state)
{
    Ctx *ctx = *state;
    DrvConn *a = open_conn(ctx, "drover-locks-a");
    DrvConn *b = open_conn(ctx, "drover-locks-b");
    assert_true(lock_or_fail(a, "foobar", "a", 0));
    char *pid = query_one(a, "SELECT pg_backend_pid()");
    char *sql = xasprintf("SELECT classid || '/' || objid || '/' || objsubid FROM pg_locks "
                          "WHERE locktype = 'advisory' AND granted AND pid = %s",
                          pid);
    assert_query_one(b, sql, "2241085809/4147734504/1");
    free(sql);
    free(pid);
    assert_query_one(b, "SELECT pg_try_advisory_lock(-8821353812377114648)", "f");
    unlock_or_fail(a, "foobar");
    assert_query_one(b, "SELECT pg_try_advisory_lock(-8821353812377114648)", "t");
    assert_false(lock_or_fail(a, "foobar", "a", 0));
    drv_close(b);
    drv_close(a);
}

static void test_pg_lock_timeout(void **state)
{
    Ctx *ctx = *state;
    DrvConn *a = open_conn(ctx, "drover-locks-a");
    DrvConn *b = open_conn(ctx, "drover-locks-b");
    exec_or_fail(a, "CREATE TABLE lt (id int)");
    DroverError err = DROVER_ERROR_INIT;
    assert_true(drv_set_lock_timeout(b, 200, &err));
    assert_query_one(b, "SHOW lock_timeout", "200ms");
    assert_true(drv_begin(a, &err));
    exec_or_fail(a, "LOCK TABLE lt IN ACCESS EXCLUSIVE MODE");
    long long start = now_ms();
    assert_false(drv_exec(b, "ALTER TABLE lt ADD COLUMN note text", &err));
    long long elapsed = now_ms() - start;
    assert_true(elapsed >= 200 && elapsed < 1000);
    assert_int_equal(err.kind, ERR_SQL);
    assert_string_equal(err.sqlstate, "55P03");
    assert_string_equal(err.message, "canceling statement due to lock timeout");
    assert_true(drv_error_is_transient(DB_POSTGRES, &err));
    error_clear(&err);
    assert_true(drv_rollback(a, &err));
    assert_true(drv_set_lock_timeout(b, 0, &err));
    assert_query_one(b, "SHOW lock_timeout", "0");
    exec_or_fail(b, "ALTER TABLE lt ADD COLUMN note text");
    drv_close(b);
    drv_close(a);
}

/* ---- MariaDB --------------------------------------------------------------------------- */

/* is_used_lock returns the connection id holding the lock named by the SQL expression. */
static char *is_used_lock(DrvConn *c, const char *name_sql)
{
    char *sql = xasprintf("SELECT IS_USED_LOCK(%s)", name_sql);
    char *id = query_one(c, sql);
    free(sql);
    return id;
}

/* key_of_name_length makes a key whose plain name "drover:DB:KEY" is n bytes long. */
static char *key_of_name_length(const Ctx *ctx, size_t n)
{
    size_t fixed = strlen("drover:") + strlen(ctx->dbname) + 1;
    assert_true(n > fixed);
    char *key = xmalloc(n - fixed + 1);
    memset(key, 'k', n - fixed);
    key[n - fixed] = '\0';
    return key;
}

/* Names of up to 64 bytes are used as they are; longer ones become "drover:" + SHA-1. */
static void test_mysql_lock_names(void **state)
{
    Ctx *ctx = *state;
    DrvConn *a = open_conn(ctx, "drover-locks-a");
    DrvConn *b = open_conn(ctx, "drover-locks-b");
    char *a_id = query_one(a, "SELECT connection_id()");

    char *key64 = key_of_name_length(ctx, 64);
    assert_true(lock_or_fail(a, key64, "a", 0));
    char *plain = xasprintf("'drover:%s:%s'", ctx->dbname, key64);
    char *id = is_used_lock(b, plain);
    assert_string_equal(id, a_id);
    free(id);
    assert_false(lock_or_fail(b, key64, "b", 0));

    char *key65 = key_of_name_length(ctx, 65);
    assert_true(lock_or_fail(a, key65, "a", 0));
    char *hashed = xasprintf("CONCAT('drover:', SHA1('%s:%s'))", ctx->dbname, key65);
    id = is_used_lock(b, hashed);
    assert_string_equal(id, a_id);
    free(id);
    char *len_sql = xasprintf("SELECT LENGTH(%s)", hashed);
    assert_query_one(b, len_sql, "47");
    free(len_sql);
    assert_false(lock_or_fail(b, key65, "b", 0));
    char *want = describe_holder(ctx, a, "", "");
    assert_holder(b, key65, want);
    free(want);

    /* the database is part of the name: the same key elsewhere is another lock */
    DrvConn *other = open_as(ctx, "", "drover-locks-other");
    assert_true(lock_or_fail(other, key64, "other", 0));
    drv_close(other);

    unlock_or_fail(a, key65);
    assert_true(lock_or_fail(b, key65, "b", 0));
    unlock_or_fail(b, key65);
    free(hashed);
    free(key65);
    free(plain);
    free(key64);
    free(a_id);
    drv_close(b);
    drv_close(a);
}

/* A DDL statement waiting for a metadata lock gives up after the lock timeout (whole
 * seconds) with errno 1205. */
static void test_mysql_lock_timeout(void **state)
{
    Ctx *ctx = *state;
    DrvConn *a = open_conn(ctx, "drover-locks-a");
    DrvConn *b = open_conn(ctx, "drover-locks-b");
    exec_or_fail(a, "CREATE TABLE lt (id int) ENGINE=InnoDB");
    DroverError err = DROVER_ERROR_INIT;
    assert_true(drv_set_lock_timeout(b, 2500, &err));
    assert_query_one(b, "SELECT CONCAT(@@SESSION.lock_wait_timeout, '/', "
                        "@@SESSION.innodb_lock_wait_timeout)",
                     "3/3");
    assert_true(drv_set_lock_timeout(b, 200, &err));
    assert_query_one(b, "SELECT CONCAT(@@SESSION.lock_wait_timeout, '/', "
                        "@@SESSION.innodb_lock_wait_timeout)",
                     "1/1");
    assert_true(drv_begin(a, &err));
    assert_query_one(a, "SELECT count(*) FROM lt", "0"); /* holds a shared metadata lock */
    long long start = now_ms();
    assert_false(drv_exec(b, "ALTER TABLE lt ADD COLUMN note text", &err));
    assert_waited(now_ms() - start, 1000);
    assert_int_equal(err.kind, ERR_SQL);
    assert_int_equal(err.code, 1205);
    assert_string_equal(err.message, "Lock wait timeout exceeded; try restarting transaction");
    assert_true(drv_error_is_transient(DB_MYSQL, &err));
    error_clear(&err);
    assert_true(drv_rollback(a, &err));
    assert_true(drv_set_lock_timeout(b, 0, &err));
    assert_query_one(b, "SELECT @@SESSION.lock_wait_timeout = @@GLOBAL.lock_wait_timeout AND "
                        "@@SESSION.innodb_lock_wait_timeout = @@GLOBAL.innodb_lock_wait_timeout",
                     "1");
    exec_or_fail(b, "ALTER TABLE lt ADD COLUMN note text");
    drv_close(b);
    drv_close(a);
}

/* ---- SQLite ---------------------------------------------------------------------------- */

static char *lock_file_text(const Ctx *ctx)
{
    char *path = xasprintf("%s-drover.lock", ctx->dbname);
    char *text = file_read_all(path, NULL);
    if (!text)
        fail_msg("cannot read '%s'", path);
    free(path);
    return text;
}

/* The lock file holds the holder's text while held, and nothing after the unlock. */
static void test_sqlite_lock_file(void **state)
{
    Ctx *ctx = *state;
    DrvConn *a = open_conn(ctx, NULL);
    assert_true(lock_or_fail(a, KEY, "drover migrate, host h1, pid 42", 0));
    char *text = lock_file_text(ctx);
    assert_string_equal(text, "drover migrate, host h1, pid 42");
    free(text);
    DroverError err = DROVER_ERROR_INIT;
    bool acquired = true;
    assert_false(drv_lock(a, KEY, "again", 0, &acquired, &err));
    assert_false(acquired);
    char *want = xasprintf("this connection already holds the lock file '%s-drover.lock' "
                           "(for '" KEY "')",
                           ctx->dbname);
    assert_string_equal(err.message, want);
    free(want);
    error_clear(&err);
    unlock_or_fail(a, KEY);
    text = lock_file_text(ctx);
    assert_string_equal(text, "");
    free(text);
    assert_holder(a, KEY, NULL);
    drv_close(a);
}

/* A process that dies holding the lock (no unlock, no close) releases it. */
static void test_sqlite_crashed_holder_releases(void **state)
{
    Ctx *ctx = *state;
    DrvConn *b = open_conn(ctx, NULL);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(ready[0]);
        DbUrl url = {.dialect = DB_SQLITE, .database = ctx->dbname};
        DroverError err = DROVER_ERROR_INIT;
        DrvConn *c = drv_connect(&url, NULL, &err);
        bool acquired = false;
        if (!c || !drv_lock(c, KEY, "the child", 0, &acquired, &err) || !acquired)
            _exit(1); /* the parent reads end of file and fails */
        if (write(ready[1], "1", 1) != 1)
            _exit(1);
        for (;;)
            pause(); /* until SIGKILL: the lock is never released by drover */
    }
    close(ready[1]);
    char byte = 0;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    assert_holder(b, KEY, "the child");
    assert_false(lock_or_fail(b, KEY, "b", 0));
    kill(child, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(lock_or_fail(b, KEY, "b", 1000));
    assert_holder(b, KEY, "b");
    drv_close(b);
}

static void test_sqlite_lock_timeout(void **state)
{
    Ctx *ctx = *state;
    DrvConn *a = open_conn(ctx, NULL);
    DrvConn *b = open_conn(ctx, NULL);
    exec_or_fail(a, "CREATE TABLE lt (id int)");
    DroverError err = DROVER_ERROR_INIT;
    assert_true(drv_set_lock_timeout(b, 200, &err));
    assert_query_one(b, "PRAGMA busy_timeout", "200");
    exec_or_fail(a, "BEGIN IMMEDIATE");
    long long start = now_ms();
    assert_false(drv_exec(b, "INSERT INTO lt VALUES (1)", &err));
    long long elapsed = now_ms() - start;
    assert_true(elapsed >= 200 && elapsed < 1000);
    assert_int_equal(err.code, 5); /* SQLITE_BUSY */
    assert_string_equal(err.message, "database is locked");
    assert_true(drv_error_is_transient(DB_SQLITE, &err));
    error_clear(&err);
    assert_true(drv_rollback(a, &err));
    assert_true(drv_set_lock_timeout(b, 0, &err));
    assert_query_one(b, "PRAGMA busy_timeout", "5000");
    drv_close(b);
    drv_close(a);
}

/* ---- fixtures -------------------------------------------------------------------------- */

static void admin_exec(const Ctx *ctx, const char *sql)
{
    DrvConn *admin = open_as(ctx, ctx->dialect == DB_POSTGRES ? "postgres" : "", "drover-admin");
    exec_or_fail(admin, sql);
    drv_close(admin);
}

/* database_statement runs "VERB dbname SUFFIX" (CREATE DATABASE, DROP DATABASE) as admin. */
static void database_statement(const Ctx *ctx, const char *verb, const char *suffix)
{
    char *quoted = drv_quote_ident(ctx->dialect, ctx->dbname);
    char *sql = xasprintf("%s %s%s", verb, quoted, suffix);
    admin_exec(ctx, sql);
    free(sql);
    free(quoted);
}

static int server_setup(void **state, DbDialect d, const char *prefix)
{
    Ctx *ctx = xcalloc(1, sizeof *ctx);
    ctx->dialect = d;
    ctx->env_prefix = prefix;
    ctx->dbname = xasprintf("drv_locks_%ld", (long)getpid());
    database_statement(ctx, "DROP DATABASE IF EXISTS", "");
    database_statement(ctx, "CREATE DATABASE", "");
    *state = ctx;
    return 0;
}

static int server_teardown(void **state)
{
    Ctx *ctx = *state;
    if (!ctx)
        return 0;
    /* FORCE: a test that failed midway leaves its connections open */
    database_statement(ctx, "DROP DATABASE", ctx->dialect == DB_POSTGRES ? " WITH (FORCE)" : "");
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
    ctx->dbname = xasprintf("%s/drv_locks_%ld.sqlite", need_env("", "TMPDIR"), (long)getpid());
    *state = ctx;
    return 0;
}

static int sqlite_teardown(void **state)
{
    Ctx *ctx = *state;
    if (!ctx)
        return 0;
    char *lock = xasprintf("%s-drover.lock", ctx->dbname);
    unlink(lock);
    unlink(ctx->dbname);
    free(lock);
    free(ctx->dbname);
    free(ctx);
    return 0;
}

int main(void)
{
    const struct CMUnitTest pg[] = {
        cmocka_unit_test(test_second_connection_waits_then_acquires),
        cmocka_unit_test(test_waiter_acquires_when_holder_closes),
        cmocka_unit_test(test_unlock_without_lock_fails),
        cmocka_unit_test(test_different_keys_do_not_conflict),
        cmocka_unit_test(test_killed_session_releases),
        cmocka_unit_test(test_pg_advisory_key_is_documented_hash),
        cmocka_unit_test(test_pg_lock_timeout),
    };
    const struct CMUnitTest mysql[] = {
        cmocka_unit_test(test_second_connection_waits_then_acquires),
        cmocka_unit_test(test_waiter_acquires_when_holder_closes),
        cmocka_unit_test(test_unlock_without_lock_fails),
        cmocka_unit_test(test_different_keys_do_not_conflict),
        cmocka_unit_test(test_killed_session_releases),
        cmocka_unit_test(test_mysql_lock_names),
        cmocka_unit_test(test_mysql_lock_timeout),
    };
    const struct CMUnitTest sqlite[] = {
        cmocka_unit_test(test_second_connection_waits_then_acquires),
        cmocka_unit_test(test_waiter_acquires_when_holder_closes),
        cmocka_unit_test(test_unlock_without_lock_fails),
        cmocka_unit_test(test_sqlite_lock_file),
        cmocka_unit_test(test_sqlite_crashed_holder_releases),
        cmocka_unit_test(test_sqlite_lock_timeout),
    };
    int failed = cmocka_run_group_tests_name("postgres", pg, pg_setup, server_teardown);
    failed += cmocka_run_group_tests_name("mariadb", mysql, mysql_setup, server_teardown);
    failed += cmocka_run_group_tests_name("sqlite", sqlite, sqlite_setup, sqlite_teardown);
    return failed;
}

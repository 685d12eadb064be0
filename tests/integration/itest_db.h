/*
 * itest_db.h — what the C integration tests do with a connection when a failure must end the
 * test: run a statement, read a single value, compare it; and the fixture's server address from
 * the environment. Include after <cmocka.h>.
 */
#ifndef DROVER_ITEST_DB_H
#define DROVER_ITEST_DB_H

#include <stdlib.h>

#include "drover/driver.h"

/* need_env returns DROVER_TEST_<PREFIX>_<WHAT> (the servers fixture exports them), or fails
 * the test. */
static inline const char *need_env(const char *prefix, const char *what)
{
    char *name = xasprintf("DROVER_TEST_%s%s%s", prefix, prefix[0] ? "_" : "", what);
    const char *value = getenv(name);
    if (!value || !value[0])
        fail_msg("%s is not set (the integration fixture exports it)", name);
    free(name);
    return value;
}

static inline int parse_port(const char *text)
{
    char *end = NULL;
    long port = strtol(text, &end, 10);
    if (*end || port <= 0 || port > 65535)
        fail_msg("bad port '%s'", text);
    return (int)port;
}

static inline void exec_or_fail(DrvConn *c, const char *sql)
{
    DroverError err = DROVER_ERROR_INIT;
    if (!drv_exec(c, sql, &err))
        fail_msg("%s: %s", sql, err.message);
}

/* query_one returns the single value a query yields, or fails the test. */
static inline char *query_one(DrvConn *c, const char *sql)
{
    StrList rows = STRLIST_INIT;
    DroverError err = DROVER_ERROR_INIT;
    if (!drv_query_strings(c, sql, &rows, &err))
        fail_msg("%s: %s", sql, err.message);
    assert_int_equal(rows.n, 1);
    char *value = xstrdup(rows.items[0]);
    sl_free(&rows);
    return value;
}

static inline void assert_query_one(DrvConn *c, const char *sql, const char *want)
{
    char *got = query_one(c, sql);
    assert_string_equal(got, want);
    free(got);
}

#endif

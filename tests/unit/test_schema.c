/*
 * test_schema.c — schema fingerprints (FNV-1a 64 over the canonical lines) and schema drift
 * over result records built by hand: who is compared with whom, which fingerprint is the
 * reference, the exact diff, and which states drift may replace.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drover/fleetview.h"
#include "schema_impl.h"

/* The canonical lines most tenants below share. */
#define BASE "column users.email varchar(255) not null\ncolumn users.id integer not null\n" \
             "index users users_email unique (email)\ntable users"

static InvTenant PG_TENANT = {.id = "pg", .env = "dev", .url = {.dialect = DB_POSTGRES}};
static InvTenant MY_TENANT = {.id = "my", .env = "dev", .url = {.dialect = DB_MYSQL}};

static void push_split(StrList *l, const char *text, char sep)
{
    while (text && *text) {
        const char *end = strchr(text, sep);
        size_t len = end ? (size_t)(end - text) : strlen(text);
        sl_push_owned(l, xstrndup(text, len));
        text = end ? end + 1 : NULL;
    }
}

/* result fills r: rows "m1,m2" applied, state, and the schema lines (NULL: not read). */
static void result(ExecResult *r, const InvTenant *t, const char *applied, ExecState state,
                   const char *lines)
{
    memset(r, 0, sizeof *r);
    r->tenant = t;
    r->state = state;
    push_split(&r->have, applied, ',');
    if (!lines)
        return;
    push_split(&r->schema_lines, lines, '\n');
    sl_sort(&r->schema_lines);
    r->fingerprint = schema_fingerprint(&r->schema_lines);
}

static void free_results(ExecResult *res, size_t n)
{
    for (size_t i = 0; i < n; i++)
        exec_result_free(&res[i]);
}

static char *joined(const StrList *l)
{
    StrBuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < l->n; i++)
        sb_appendf(&sb, "%s%s", i ? "|" : "", l->items[i]);
    return sb_detach(&sb);
}

static void assert_drift(const ExecResult *r, ExecState state, const char *added,
                         const char *missing)
{
    assert_true(r->schema_drift);
    assert_string_equal(exec_state_name(state), exec_state_name(r->state));
    char *a = joined(&r->drift_added), *m = joined(&r->drift_missing);
    assert_string_equal(added, a);
    assert_string_equal(missing, m);
    free(a);
    free(m);
}

static void assert_no_drift(const ExecResult *r, ExecState state)
{
    assert_false(r->schema_drift);
    assert_string_equal(exec_state_name(state), exec_state_name(r->state));
    assert_int_equal(0, r->drift_added.n);
    assert_int_equal(0, r->drift_missing.n);
}

static void fingerprint_is_fnv1a64_of_the_joined_lines(void **state)
{
    (void)state;
    StrList l = STRLIST_INIT;
    char *fp = schema_fingerprint(&l);
    assert_string_equal("cbf29ce484222325", fp); /* the offset basis: nothing hashed */
    free(fp);
    sl_push(&l, "table t");
    sl_push(&l, "table u");
    fp = schema_fingerprint(&l);
    assert_string_equal("8e3f2249059ee4be", fp); /* "table t\ntable u", no final newline */
    free(fp);
    sl_free(&l);
    assert_true(fnv1a64("foobar", 6) == UINT64_C(0x85944171f73967e8));
    assert_true(fnv1a64("a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
}

static void fingerprint_tells_lines_apart_from_their_concatenation(void **state)
{
    (void)state;
    StrList two = STRLIST_INIT, one = STRLIST_INIT;
    sl_push(&two, "table a");
    sl_push(&two, "table b");
    sl_push(&one, "table atable b");
    char *f2 = schema_fingerprint(&two), *f1 = schema_fingerprint(&one);
    assert_string_not_equal(f1, f2);
    free(f1);
    free(f2);
    sl_free(&two);
    sl_free(&one);
}

static void majority_is_the_reference(void **state)
{
    (void)state;
    ExecResult res[4];
    result(&res[0], &PG_TENANT, "m1,m2", EXEC_STATE_CURRENT,
           BASE "\ncolumn users.nickname text");
    result(&res[1], &PG_TENANT, "m1,m2", EXEC_STATE_CURRENT, BASE);
    result(&res[2], &PG_TENANT, "m1,m2", EXEC_STATE_BEHIND, BASE);
    result(&res[3], &PG_TENANT, "m1,m2", EXEC_STATE_CURRENT, BASE);
    fleetview_mark_drift(res, 4);
    /* the odd one comes first in the results, yet the majority wins */
    assert_drift(&res[0], EXEC_STATE_DRIFTED, "column users.nickname text", "");
    assert_no_drift(&res[1], EXEC_STATE_CURRENT);
    assert_no_drift(&res[2], EXEC_STATE_BEHIND);
    assert_no_drift(&res[3], EXEC_STATE_CURRENT);
    free_results(res, 4);
}

static void diff_has_added_and_missing_lines_in_byte_order(void **state)
{
    (void)state;
    ExecResult res[3];
    result(&res[0], &PG_TENANT, "m1", EXEC_STATE_CURRENT, BASE);
    result(&res[1], &PG_TENANT, "m1", EXEC_STATE_BEHIND,
           "column users.email varchar(255)\ncolumn users.id integer not null\ntable users\n"
           "index users users_email (email)\nconstraint users users_pkey primary key (id)");
    result(&res[2], &PG_TENANT, "m1", EXEC_STATE_CURRENT, BASE);
    fleetview_mark_drift(res, 3);
    /* behind becomes drifted: the schema is the stronger signal */
    assert_drift(&res[1], EXEC_STATE_DRIFTED,
                 "column users.email varchar(255)|constraint users users_pkey primary key (id)|"
                 "index users users_email (email)",
                 "column users.email varchar(255) not null|index users users_email unique (email)");
    assert_no_drift(&res[0], EXEC_STATE_CURRENT);
    assert_no_drift(&res[2], EXEC_STATE_CURRENT);
    free_results(res, 3);
}

static void tie_goes_to_the_first_in_the_results(void **state)
{
    (void)state;
    ExecResult res[4];
    result(&res[0], &PG_TENANT, "m1", EXEC_STATE_CURRENT, BASE);
    result(&res[1], &PG_TENANT, "m1", EXEC_STATE_CURRENT, "table users");
    result(&res[2], &PG_TENANT, "m1", EXEC_STATE_CURRENT, "table users");
    result(&res[3], &PG_TENANT, "m1", EXEC_STATE_CURRENT, BASE);
    fleetview_mark_drift(res, 4);
    assert_no_drift(&res[0], EXEC_STATE_CURRENT);
    assert_drift(&res[1], EXEC_STATE_DRIFTED, "",
                 "column users.email varchar(255) not null|column users.id integer not null|"
                 "index users users_email unique (email)");
    assert_drift(&res[2], EXEC_STATE_DRIFTED, "",
                 "column users.email varchar(255) not null|column users.id integer not null|"
                 "index users users_email unique (email)");
    assert_no_drift(&res[3], EXEC_STATE_CURRENT);
    free_results(res, 4);
}

static void two_tenants_that_differ_tie(void **state)
{
    (void)state;
    ExecResult res[2];
    result(&res[0], &PG_TENANT, "m1", EXEC_STATE_CURRENT, "table a");
    result(&res[1], &PG_TENANT, "m1", EXEC_STATE_CURRENT, "table b");
    fleetview_mark_drift(res, 2);
    assert_no_drift(&res[0], EXEC_STATE_CURRENT);
    assert_drift(&res[1], EXEC_STATE_DRIFTED, "table b", "table a");
    free_results(res, 2);
}

static void only_same_dialect_and_same_rows_are_compared(void **state)
{
    (void)state;
    ExecResult res[6];
    result(&res[0], &PG_TENANT, "m1,m2", EXEC_STATE_CURRENT, BASE);
    result(&res[1], &PG_TENANT, "m1", EXEC_STATE_BEHIND, "table users");      /* other set */
    result(&res[2], &MY_TENANT, "m1,m2", EXEC_STATE_CURRENT, "table users");  /* other dialect */
    result(&res[3], &PG_TENANT, "m2", EXEC_STATE_CURRENT, "table x");         /* other set */
    result(&res[4], &PG_TENANT, "m1,m2", EXEC_STATE_DRIFTED, "table users");  /* unknown rows */
    sl_push(&res[4].unknown, "m0-gone.js");
    result(&res[5], &MY_TENANT, "m1", EXEC_STATE_BEHIND, BASE);
    fleetview_mark_drift(res, 6);
    assert_no_drift(&res[0], EXEC_STATE_CURRENT);
    assert_no_drift(&res[1], EXEC_STATE_BEHIND);
    assert_no_drift(&res[2], EXEC_STATE_CURRENT);
    assert_no_drift(&res[3], EXEC_STATE_CURRENT);
    assert_no_drift(&res[4], EXEC_STATE_DRIFTED);
    assert_no_drift(&res[5], EXEC_STATE_BEHIND);
    free_results(res, 6);
}

static void worse_states_are_kept(void **state)
{
    (void)state;
    ExecResult res[5];
    result(&res[0], &PG_TENANT, "m1", EXEC_STATE_CURRENT, BASE);
    result(&res[1], &PG_TENANT, "m1", EXEC_STATE_DIRTY, BASE "\ntable d");
    result(&res[2], &PG_TENANT, "m1", EXEC_STATE_LOCKED, BASE "\ntable l");
    result(&res[3], &PG_TENANT, "m1", EXEC_STATE_UNREACHABLE, "table users");
    result(&res[4], &PG_TENANT, "m1", EXEC_STATE_CURRENT, BASE);
    fleetview_mark_drift(res, 5);
    assert_drift(&res[1], EXEC_STATE_DIRTY, "table d", "");
    assert_drift(&res[2], EXEC_STATE_LOCKED, "table l", "");
    assert_drift(&res[3], EXEC_STATE_UNREACHABLE, "",
                 "column users.email varchar(255) not null|column users.id integer not null|"
                 "index users users_email unique (email)");
    assert_no_drift(&res[0], EXEC_STATE_CURRENT);
    assert_no_drift(&res[4], EXEC_STATE_CURRENT);
    free_results(res, 5);
}

static void tenants_without_a_fingerprint_are_left_alone(void **state)
{
    (void)state;
    ExecResult res[4];
    result(&res[0], &PG_TENANT, "", EXEC_STATE_UNREACHABLE, NULL);
    result(&res[1], &PG_TENANT, "", EXEC_STATE_UNREACHABLE, NULL);
    result(&res[2], &PG_TENANT, "m1", EXEC_STATE_CURRENT, BASE);
    result(&res[3], &PG_TENANT, "m1", EXEC_STATE_CURRENT, NULL); /* no --schema read */
    fleetview_mark_drift(res, 4);
    for (size_t i = 0; i < 4; i++)
        assert_false(res[i].schema_drift);
    assert_string_equal("unreachable", exec_state_name(res[0].state));
    assert_string_equal("current", exec_state_name(res[3].state));
    assert_null(res[0].fingerprint);
    free_results(res, 4);
}

static void marking_twice_gives_the_same_diff(void **state)
{
    (void)state;
    ExecResult res[3];
    result(&res[0], &PG_TENANT, "m1", EXEC_STATE_CURRENT, "table a\ntable b");
    result(&res[1], &PG_TENANT, "m1", EXEC_STATE_CURRENT, "table a");
    result(&res[2], &PG_TENANT, "m1", EXEC_STATE_CURRENT, "table a\ntable b");
    fleetview_mark_drift(res, 3);
    fleetview_mark_drift(res, 3);
    assert_drift(&res[1], EXEC_STATE_DRIFTED, "", "table b");
    assert_no_drift(&res[0], EXEC_STATE_CURRENT);
    free_results(res, 3);
    fleetview_mark_drift(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fingerprint_is_fnv1a64_of_the_joined_lines),
        cmocka_unit_test(fingerprint_tells_lines_apart_from_their_concatenation),
        cmocka_unit_test(majority_is_the_reference),
        cmocka_unit_test(diff_has_added_and_missing_lines_in_byte_order),
        cmocka_unit_test(tie_goes_to_the_first_in_the_results),
        cmocka_unit_test(two_tenants_that_differ_tie),
        cmocka_unit_test(only_same_dialect_and_same_rows_are_compared),
        cmocka_unit_test(worse_states_are_kept),
        cmocka_unit_test(tenants_without_a_fingerprint_are_left_alone),
        cmocka_unit_test(marking_twice_gives_the_same_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

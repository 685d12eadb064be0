/*
 * test_select.c — tenant selection: OR within a list, AND across lists, rollout order
 * (environments as declared, then declaration order), and names that match nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drover/inventory.h"

/* Tenants are declared out of rollout order on purpose: dev d1,d2 · staging s1 · prod p1,p2. */
static char *TAGS_EU[] = {"eu"};
static char *TAGS_EU_US[] = {"eu", "us"};

static InvEnvironment ENVS[] = {{.name = "dev"}, {.name = "staging"}, {.name = "prod"}};

static InvTenant TENANTS[] = {
    {.id = "p1", .env = "prod"},
    {.id = "d1", .env = "dev"},
    {.id = "s1", .env = "staging"},
    {.id = "p2", .env = "prod", .tags = TAGS_EU, .ntags = 1},
    {.id = "d2", .env = "dev", .tags = TAGS_EU_US, .ntags = 2},
};

static const Inventory INV = {
    .envs = ENVS,
    .nenvs = 3,
    .tenants = TENANTS,
    .ntenants = 5,
};

typedef struct Sel {
    const char *envs;    /* comma-separated, "" for none */
    const char *tenants;
    const char *tags;
} Sel;

static void push_csv(StrList *l, const char *csv)
{
    const char *p = csv;
    while (*p) {
        size_t n = strcspn(p, ",");
        sl_push_owned(l, xstrndup(p, n));
        p += n;
        if (*p == ',')
            p++;
    }
}

static bool run_select(Sel s, size_t **out, size_t *nout, DroverError *err)
{
    InvSelector sel = {STRLIST_INIT, STRLIST_INIT, STRLIST_INIT, 0, 0};
    push_csv(&sel.envs, s.envs);
    push_csv(&sel.tenants, s.tenants);
    push_csv(&sel.tags, s.tags);
    bool ok = inv_select(&INV, &sel, out, nout, err);
    sl_free(&sel.envs);
    sl_free(&sel.tenants);
    sl_free(&sel.tags);
    return ok;
}

/* expect_ids checks the selected tenant ids, in order, as one space-separated string. */
static void expect_ids(Sel s, const char *expected)
{
    DroverError err = DROVER_ERROR_INIT;
    size_t *idx = NULL;
    size_t n = 0;
    assert_true(run_select(s, &idx, &n, &err));
    StrBuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < n; i++)
        sb_appendf(&sb, "%s%s", i ? " " : "", INV.tenants[idx[i]].id);
    assert_string_equal(sb.data, expected);
    sb_free(&sb);
    free(idx);
}

static void expect_usage_error(Sel s, const char *message)
{
    DroverError err = DROVER_ERROR_INIT;
    size_t *idx = (size_t *)&err; /* must be reset to NULL */
    size_t n = 99;
    assert_false(run_select(s, &idx, &n, &err));
    assert_int_equal(err.kind, ERR_USAGE);
    assert_string_equal(err.message, message);
    assert_null(idx);
    assert_int_equal(n, 0);
    error_clear(&err);
}

static void test_empty_selector_selects_all_in_rollout_order(void **state)
{
    (void)state;
    expect_ids((Sel){"", "", ""}, "d1 d2 s1 p1 p2");
}

static void test_env_values_are_alternatives(void **state)
{
    (void)state;
    expect_ids((Sel){"prod", "", ""}, "p1 p2");
    expect_ids((Sel){"prod,dev", "", ""}, "d1 d2 p1 p2");
}

static void test_tenant_values_follow_rollout_order(void **state)
{
    (void)state;
    expect_ids((Sel){"", "p2,s1,d1", ""}, "d1 s1 p2");
}

static void test_tags(void **state)
{
    (void)state;
    expect_ids((Sel){"", "", "eu"}, "d2 p2");
    expect_ids((Sel){"", "", "us,eu"}, "d2 p2");
    expect_ids((Sel){"", "", "us"}, "d2");
}

static void test_lists_combine_with_and(void **state)
{
    (void)state;
    expect_ids((Sel){"prod", "", "eu"}, "p2");
    expect_ids((Sel){"dev,prod", "d1,p2,s1", "eu"}, "p2");
}

/* Shards partition the selection: every tenant lands in exactly one, always the same one. */
static void test_shards_partition_the_fleet(void **state)
{
    (void)state;
    size_t seen[5] = {0};
    for (size_t shard = 0; shard < 3; shard++) {
        InvSelector sel = {STRLIST_INIT, STRLIST_INIT, STRLIST_INIT, shard, 3};
        DroverError err = DROVER_ERROR_INIT;
        size_t *idx = NULL, n = 0;
        assert_true(inv_select(&INV, &sel, &idx, &n, &err));
        for (size_t i = 0; i < n; i++) {
            seen[idx[i]]++;
            assert_int_equal(inv_shard_of(INV.tenants[idx[i]].id, 3), shard);
        }
        free(idx);
    }
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(seen[i], 1);
    /* FNV-1a 32 of "p1" is 0xa04ed67a, pinned so that coordinators on different machines or
     * versions keep agreeing on who owns a tenant. */
    assert_int_equal(inv_shard_of("p1", 1000), 2689521274u % 1000);
    assert_int_equal(inv_shard_of("anything", 1), 0);
}

/* More shards than tenants: an empty shard is not an error (an Indexed Job's extra pods). */
static void test_empty_shard_is_fine(void **state)
{
    (void)state;
    InvSelector sel = {STRLIST_INIT, STRLIST_INIT, STRLIST_INIT, 0, 1000};
    push_csv(&sel.tenants, "d1");
    DroverError err = DROVER_ERROR_INIT;
    size_t *idx = NULL, n = 99;
    size_t want = inv_shard_of("d1", 1000) == 0 ? 1 : 0;
    assert_true(inv_select(&INV, &sel, &idx, &n, &err));
    assert_int_equal(n, want);
    free(idx);
    sl_free(&sel.tenants);
}

static void test_errors(void **state)
{
    (void)state;
    expect_usage_error((Sel){"prod,qa", "", ""}, "unknown environment 'qa'");
    expect_usage_error((Sel){"", "p1,nope", ""}, "unknown tenant 'nope'");
    expect_usage_error((Sel){"dev", "p1", ""}, "no tenant matches the selection");
    expect_usage_error((Sel){"", "", "apac"}, "no tenant matches the selection");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_selector_selects_all_in_rollout_order),
        cmocka_unit_test(test_shards_partition_the_fleet),
        cmocka_unit_test(test_empty_shard_is_fine),
        cmocka_unit_test(test_env_values_are_alternatives),
        cmocka_unit_test(test_tenant_values_follow_rollout_order),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_lists_combine_with_and),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_plan.c — matching SequelizeMeta rows to files (exact, renamed, unknown) and choosing
 * what plan_up applies and plan_down reverts, including the refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drover/plan.h"

/* A set built in memory: names in order; a .sql gets an up and the given down (may be NULL). */
typedef struct FileSpec {
    const char *name;
    const char *down;
} FileSpec;

static void make_set(MigSet *set, const FileSpec *files, size_t n)
{
    memset(set, 0, sizeof *set);
    set->dir = xstrdup("/migrations");
    set->items = xcalloc(n, sizeof *set->items);
    set->n = n;
    for (size_t i = 0; i < n; i++) {
        Migration *m = &set->items[i];
        if (i > 0)
            assert_true(strcmp(files[i - 1].name, files[i].name) < 0);
        m->name = xstrdup(files[i].name);
        m->path = path_join(set->dir, files[i].name);
        bool sql = strlen(files[i].name) > 4 &&
                   strcmp(files[i].name + strlen(files[i].name) - 4, ".sql") == 0;
        m->kind = sql ? MIG_SQL : MIG_JS;
        m->up.transaction = m->down.transaction = true;
        if (sql) {
            m->up.sql = xstrdup("SELECT 1;\n");
            m->up.line = 1;
            m->down.sql = xstrdup(files[i].down);
            m->down.line = files[i].down ? 3 : 0;
        }
    }
}

static void make_rows(StrList *rows, const char *const *names, size_t n)
{
    memset(rows, 0, sizeof *rows);
    for (size_t i = 0; i < n; i++)
        sl_push(rows, names[i]);
}

#define N(a) (sizeof(a) / sizeof *(a))

static void assert_pending(const Plan *p, const size_t *expected, size_t n)
{
    assert_int_equal(p->npending, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p->pending[i], expected[i]);
}

static void assert_applied(const Plan *p, size_t i, size_t mig, const char *row, bool renamed)
{
    assert_true(i < p->napplied);
    assert_int_equal(p->applied[i].mig, mig);
    assert_string_equal(p->applied[i].row, row);
    assert_int_equal(p->applied[i].renamed, renamed);
}

static void assert_indexes(const size_t *got, size_t ngot, const size_t *expected, size_t n)
{
    assert_int_equal(ngot, n);
    if (n == 0) {
        assert_null(got);
        return;
    }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], expected[i]);
}

static const FileSpec four[] = {
    {"20240101000001-a.sql", "DROP TABLE a;"},
    {"20240101000002-b.js", NULL},
    {"20240101000003-c.sql", "DROP TABLE c;"},
    {"20240101000004-d.sql", "DROP TABLE d;"},
};

static void test_fresh_tenant(void **state)
{
    (void)state;
    MigSet set;
    StrList rows = STRLIST_INIT;
    Plan p;
    make_set(&set, four, N(four));
    plan_build(&set, &rows, &p);
    assert_int_equal(p.napplied, 0);
    assert_pending(&p, (size_t[]){0, 1, 2, 3}, 4);
    assert_int_equal(p.unknown.n, 0);

    size_t *up;
    size_t n = plan_up(&p, -1, &up);
    assert_indexes(up, n, (size_t[]){0, 1, 2, 3}, 4);
    free(up);
    n = plan_up(&p, 0, &up);
    assert_indexes(up, n, (size_t[]){0}, 1);
    free(up);
    plan_free(&p);
    mig_set_free(&set);
}

static void test_partly_migrated(void **state)
{
    (void)state;
    MigSet set;
    StrList rows;
    Plan p;
    make_set(&set, four, N(four));
    make_rows(&rows, (const char *[]){"20240101000001-a.sql", "20240101000002-b.js"}, 2);
    plan_build(&set, &rows, &p);
    assert_int_equal(p.napplied, 2);
    assert_applied(&p, 0, 0, "20240101000001-a.sql", false);
    assert_applied(&p, 1, 1, "20240101000002-b.js", false);
    assert_ptr_equal(p.applied[0].row, rows.items[0]);
    assert_pending(&p, (size_t[]){2, 3}, 2);
    assert_int_equal(p.unknown.n, 0);

    size_t *up;
    size_t n = plan_up(&p, 2, &up);
    assert_indexes(up, n, (size_t[]){2}, 1);
    free(up);
    n = plan_up(&p, 3, &up);
    assert_indexes(up, n, (size_t[]){2, 3}, 2);
    free(up);
    n = plan_up(&p, 1, &up); /* an applied target: nothing left before it */
    assert_indexes(up, n, NULL, 0);
    plan_free(&p);
    sl_free(&rows);
    mig_set_free(&set);
}

static void test_unknown_rows(void **state)
{
    (void)state;
    MigSet set;
    StrList rows;
    Plan p;
    make_set(&set, four, N(four));
    /* "20240101000003-c" has no extension: the CLI never writes such a row, so it is no
     * rename of 20240101000003-c.sql. */
    make_rows(&rows,
              (const char *[]){"99999999999999-missing.js", "20240101000001-a.sql",
                               "00000000000000-orphan.js", "20240101000003-c"},
              4);
    plan_build(&set, &rows, &p);
    assert_int_equal(p.napplied, 1);
    assert_applied(&p, 0, 0, "20240101000001-a.sql", false);
    assert_pending(&p, (size_t[]){1, 2, 3}, 3);
    assert_int_equal(p.unknown.n, 3);
    assert_string_equal(p.unknown.items[0], "00000000000000-orphan.js");
    assert_string_equal(p.unknown.items[1], "20240101000003-c");
    assert_string_equal(p.unknown.items[2], "99999999999999-missing.js");
    plan_free(&p);
    sl_free(&rows);
    mig_set_free(&set);
}

static void test_renamed_row(void **state)
{
    (void)state;
    static const FileSpec files[] = {{"1-x.sql", "DROP TABLE x;"}, {"2-y.sql", "DROP TABLE y;"}};
    MigSet set;
    StrList rows;
    Plan p;
    make_set(&set, files, N(files));
    make_rows(&rows, (const char *[]){"1-x.js"}, 1);
    plan_build(&set, &rows, &p);
    assert_int_equal(p.napplied, 1);
    assert_applied(&p, 0, 0, "1-x.js", true);
    assert_pending(&p, (size_t[]){1}, 1);
    assert_int_equal(p.unknown.n, 0);
    plan_free(&p);
    sl_free(&rows);
    mig_set_free(&set);
}

static void test_same_stem_two_files(void **state)
{
    (void)state;
    static const FileSpec files[] = {{"1-x.js", NULL}, {"1-x.sql", "DROP TABLE x;"}};
    MigSet set;
    StrList rows;
    Plan p;
    make_set(&set, files, N(files));

    /* The .js row is that file: the .sql file is a distinct, pending migration. */
    make_rows(&rows, (const char *[]){"1-x.js"}, 1);
    plan_build(&set, &rows, &p);
    assert_int_equal(p.napplied, 1);
    assert_applied(&p, 0, 0, "1-x.js", false);
    assert_pending(&p, (size_t[]){1}, 1);
    plan_free(&p);
    sl_free(&rows);

    make_rows(&rows, (const char *[]){"1-x.js", "1-x.sql"}, 2);
    plan_build(&set, &rows, &p);
    assert_int_equal(p.napplied, 2);
    assert_applied(&p, 0, 0, "1-x.js", false);
    assert_applied(&p, 1, 1, "1-x.sql", false);
    assert_int_equal(p.npending, 0);
    plan_free(&p);
    sl_free(&rows);

    /* A .cjs row matches several unmatched files: the first in file order. */
    make_rows(&rows, (const char *[]){"1-x.cjs"}, 1);
    plan_build(&set, &rows, &p);
    assert_int_equal(p.napplied, 1);
    assert_applied(&p, 0, 0, "1-x.cjs", true);
    assert_pending(&p, (size_t[]){1}, 1);
    assert_int_equal(p.unknown.n, 0);
    plan_free(&p);
    sl_free(&rows);
    mig_set_free(&set);
}

static void test_exact_match_beats_rename(void **state)
{
    (void)state;
    static const FileSpec files[] = {{"1-x.sql", "DROP TABLE x;"}};
    MigSet set;
    StrList rows;
    Plan p;
    make_set(&set, files, N(files));
    /* "1-x.js" sorts first but must not take the file its exact row owns. */
    make_rows(&rows, (const char *[]){"1-x.js", "1-x.sql"}, 2);
    plan_build(&set, &rows, &p);
    assert_int_equal(p.napplied, 1);
    assert_applied(&p, 0, 0, "1-x.sql", false);
    assert_int_equal(p.unknown.n, 1);
    assert_string_equal(p.unknown.items[0], "1-x.js");
    plan_free(&p);
    sl_free(&rows);
    mig_set_free(&set);
}

/* down runs plan_down and expects success with the given applied indexes. */
static void down(const Plan *p, const MigSet *set, PlanUndoMode mode, size_t steps,
                 ssize_t to, const size_t *expected, size_t n)
{
    size_t *out = (size_t *)&out;
    size_t nout = 99;
    DroverError err = DROVER_ERROR_INIT;
    bool ok = plan_down(p, set, mode, steps, to, &out, &nout, &err);
    if (!ok)
        fail_msg("unexpected refusal: %s", err.message);
    assert_indexes(out, nout, expected, n);
    free(out);
}

static void down_refused(const Plan *p, const MigSet *set, PlanUndoMode mode, size_t steps,
                         ssize_t to, const char *migration, const char *message)
{
    size_t *out = (size_t *)&out;
    size_t nout = 99;
    DroverError err = DROVER_ERROR_INIT;
    assert_false(plan_down(p, set, mode, steps, to, &out, &nout, &err));
    assert_null(out);
    assert_int_equal(nout, 0);
    assert_int_equal(err.kind, ERR_REFUSED);
    assert_string_equal(err.message, message);
    assert_string_equal(err.migration, migration);
    assert_non_null(err.hint);
    error_clear(&err);
}

static void test_down_steps_to_all(void **state)
{
    (void)state;
    MigSet set;
    StrList rows;
    Plan p;
    make_set(&set, four, N(four));
    make_rows(&rows, (const char *[]){set.items[0].name, set.items[1].name, set.items[2].name,
                                      set.items[3].name},
              4);
    plan_build(&set, &rows, &p);
    down(&p, &set, PLAN_UNDO_STEPS, 1, -1, (size_t[]){3}, 1);
    down(&p, &set, PLAN_UNDO_STEPS, 2, -1, (size_t[]){3, 2}, 2);
    down(&p, &set, PLAN_UNDO_STEPS, 10, -1, (size_t[]){3, 2, 1, 0}, 4);
    down(&p, &set, PLAN_UNDO_STEPS, 0, -1, NULL, 0);
    down(&p, &set, PLAN_UNDO_TO, 0, 1, (size_t[]){3, 2, 1}, 3);
    down(&p, &set, PLAN_UNDO_TO, 0, 3, (size_t[]){3}, 1);
    down(&p, &set, PLAN_UNDO_ALL, 0, -1, (size_t[]){3, 2, 1, 0}, 4);
    plan_free(&p);
    sl_free(&rows);
    mig_set_free(&set);
}

/* Output indexes point into p->applied, which skips pending files. */
static void test_down_indexes_are_applied_positions(void **state)
{
    (void)state;
    MigSet set;
    StrList rows;
    Plan p;
    make_set(&set, four, N(four));
    make_rows(&rows, (const char *[]){"20240101000001-a.sql", "20240101000003-c.sql"}, 2);
    plan_build(&set, &rows, &p);
    down(&p, &set, PLAN_UNDO_ALL, 0, -1, (size_t[]){1, 0}, 2);
    down(&p, &set, PLAN_UNDO_TO, 0, 1, (size_t[]){1}, 1); /* to a pending file: what follows */
    down(&p, &set, PLAN_UNDO_TO, 0, 3, NULL, 0);
    plan_free(&p);
    sl_free(&rows);

    make_rows(&rows, NULL, 0);
    plan_build(&set, &rows, &p);
    down(&p, &set, PLAN_UNDO_ALL, 0, -1, NULL, 0);
    down(&p, &set, PLAN_UNDO_STEPS, 1, -1, NULL, 0);
    plan_free(&p);
    mig_set_free(&set);
}

static void test_down_refuses_unknown_row_in_range(void **state)
{
    (void)state;
    static const FileSpec files[] = {{"10-a.sql", "DROP TABLE a;"}, {"20-b.sql", "DROP TABLE b;"}};
    MigSet set;
    StrList rows;
    Plan p;
    make_set(&set, files, N(files));
    make_rows(&rows, (const char *[]){"00-orphan.js", "10-a.sql", "15-gone.js", "20-b.sql"}, 4);
    plan_build(&set, &rows, &p);

    /* Older than the range: fine. */
    down(&p, &set, PLAN_UNDO_STEPS, 1, -1, (size_t[]){1}, 1);
    down(&p, &set, PLAN_UNDO_TO, 0, 1, (size_t[]){1}, 1);
    /* Unknown rows count as entries, so two steps reach 15-gone.js. */
    down_refused(&p, &set, PLAN_UNDO_STEPS, 2, -1, "15-gone.js",
                 "this SequelizeMeta row has no migration file; cannot revert past it");
    down_refused(&p, &set, PLAN_UNDO_TO, 0, 0, "15-gone.js",
                 "this SequelizeMeta row has no migration file; cannot revert past it");
    plan_free(&p);
    sl_free(&rows);

    /* The newest offender is named. */
    make_rows(&rows, (const char *[]){"00-orphan.js", "10-a.sql", "99-missing.js"}, 3);
    plan_build(&set, &rows, &p);
    down_refused(&p, &set, PLAN_UNDO_ALL, 0, -1, "99-missing.js",
                 "this SequelizeMeta row has no migration file; cannot revert past it");
    down_refused(&p, &set, PLAN_UNDO_STEPS, 1, -1, "99-missing.js",
                 "this SequelizeMeta row has no migration file; cannot revert past it");
    plan_free(&p);
    sl_free(&rows);
    mig_set_free(&set);
}

static void test_down_refuses_empty_sql_down(void **state)
{
    (void)state;
    static const FileSpec files[] = {
        {"1-a.sql", "DROP TABLE a;"},
        {"2-irreversible.sql", "-- the data is gone\n/* nothing to do */\n"},
        {"3-no-down.sql", NULL},
        {"4-js.js", NULL},
    };
    MigSet set;
    StrList rows;
    Plan p;
    make_set(&set, files, N(files));
    make_rows(&rows, (const char *[]){"1-a.sql", "2-irreversible.sql", "3-no-down.sql",
                                      "4-js.js"},
              4);
    plan_build(&set, &rows, &p);
    /* JS migrations are checked when they run, not here. */
    down(&p, &set, PLAN_UNDO_STEPS, 1, -1, (size_t[]){3}, 1);
    down_refused(&p, &set, PLAN_UNDO_STEPS, 2, -1, "3-no-down.sql",
                 "the migration has no down section");
    down_refused(&p, &set, PLAN_UNDO_TO, 0, 2, "3-no-down.sql",
                 "the migration has no down section");
    plan_free(&p);
    sl_free(&rows);

    make_rows(&rows, (const char *[]){"1-a.sql", "2-irreversible.sql"}, 2);
    plan_build(&set, &rows, &p);
    down_refused(&p, &set, PLAN_UNDO_ALL, 0, -1, "2-irreversible.sql",
                 "the migration has no down section");
    plan_free(&p);
    sl_free(&rows);
    mig_set_free(&set);
}

/* A renamed migration sorts by its file name in the undo order, not by its row. */
static void test_down_orders_renamed_by_file_name(void **state)
{
    (void)state;
    static const FileSpec files[] = {{"1-x.sql", "DROP TABLE x;"}};
    MigSet set;
    StrList rows;
    Plan p;
    make_set(&set, files, N(files));
    /* By row names "1-x.pg" would be newest ("1-x.js" < "1-x.pg"); by file name it is older
     * ("1-x.pg" < "1-x.sql"), so one step reverts the migration. */
    make_rows(&rows, (const char *[]){"1-x.js", "1-x.pg"}, 2);
    plan_build(&set, &rows, &p);
    assert_applied(&p, 0, 0, "1-x.js", true);
    down(&p, &set, PLAN_UNDO_STEPS, 1, -1, (size_t[]){0}, 1);
    down_refused(&p, &set, PLAN_UNDO_STEPS, 2, -1, "1-x.pg",
                 "this SequelizeMeta row has no migration file; cannot revert past it");
    plan_free(&p);
    sl_free(&rows);
    mig_set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_tenant),
        cmocka_unit_test(test_partly_migrated),
        cmocka_unit_test(test_unknown_rows),
        cmocka_unit_test(test_renamed_row),
        cmocka_unit_test(test_same_stem_two_files),
        cmocka_unit_test(test_exact_match_beats_rename),
        cmocka_unit_test(test_down_steps_to_all),
        cmocka_unit_test(test_down_indexes_are_applied_positions),
        cmocka_unit_test(test_down_refuses_unknown_row_in_range),
        cmocka_unit_test(test_down_refuses_empty_sql_down),
        cmocka_unit_test(test_down_orders_renamed_by_file_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

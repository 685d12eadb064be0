/*
 * test_migration_digest.c — the migration-set digests the coordinator and drover-agent
 * compare: exact FNV-1a 64 values, sensitivity to name and content, and the I/O error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drover/migration.h"
#include "drover/util.h"

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = path_join(dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_file_digest_is_fnv1a64_of_name_nul_content(void **state)
{
    (void)state;
    char dir[] = "/tmp/drover-digest-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = write_file(dir, "a.sql", "x");
    Migration m = {.name = "a.sql", .path = path};
    DroverError err = DROVER_ERROR_INIT;
    char *d = mig_file_digest(&m, &err);
    /* FNV-1a 64 of the bytes "a.sql\0x", computed independently. */
    assert_string_equal(d, "f4701a01e45ab97a");
    free(d);
    m.name = "b.sql";
    d = mig_file_digest(&m, &err);
    assert_string_not_equal(d, "f4701a01e45ab97a");
    free(d);
    unlink(path);
    free(path);
    rmdir(dir);
}

static void test_set_digest_changes_with_any_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/drover-digest-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *p1 = write_file(dir, "1.sql", "-- migrate:up\nSELECT 1;\n");
    char *p2 = write_file(dir, "2.sql", "-- migrate:up\nSELECT 2;\n");
    MigSet set;
    DroverError err = DROVER_ERROR_INIT;
    assert_true(mig_discover(dir, &set, &err));
    char *before = mig_set_digest(&set, &err);
    assert_int_equal(strlen(before), 16);
    char *again = mig_set_digest(&set, &err);
    assert_string_equal(before, again);
    free(write_file(dir, "2.sql", "-- migrate:up\nSELECT 3;\n"));
    char *after = mig_set_digest(&set, &err);
    assert_string_not_equal(before, after);
    free(before);
    free(again);
    free(after);
    unlink(p2);
    char *gone = mig_set_digest(&set, &err);
    assert_null(gone);
    assert_int_equal(err.kind, ERR_IO);
    char *want = xasprintf("cannot read migration '%s': No such file or directory", p2);
    assert_string_equal(err.message, want);
    free(want);
    error_clear(&err);
    mig_set_free(&set);
    unlink(p1);
    free(p1);
    free(p2);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_digest_is_fnv1a64_of_name_nul_content),
        cmocka_unit_test(test_set_digest_changes_with_any_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

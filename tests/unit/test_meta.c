/*
 * test_meta.c — SequelizeMeta DDL and table naming must be sequelize-cli's, byte for byte
 * (reference §1.2, §1.5). The integration tests compare what the servers store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "meta_impl.h"

static void expect_sql(char *got, const char *want)
{
    assert_string_equal(got, want);
    free(got);
}

static void test_default_table_ddl(void **state)
{
    (void)state;
    MetaTable t = {.table = "SequelizeMeta"};
    expect_sql(meta_create_sql(DB_POSTGRES, &t),
               "CREATE TABLE IF NOT EXISTS \"SequelizeMeta\" (\"name\" VARCHAR(255) NOT NULL "
               "UNIQUE , PRIMARY KEY (\"name\"));");
    expect_sql(meta_create_sql(DB_MYSQL, &t),
               "CREATE TABLE IF NOT EXISTS `SequelizeMeta` (`name` VARCHAR(255) NOT NULL UNIQUE "
               ", PRIMARY KEY (`name`)) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE "
               "utf8_unicode_ci;");
    expect_sql(meta_create_sql(DB_SQLITE, &t),
               "CREATE TABLE IF NOT EXISTS `SequelizeMeta` (`name` VARCHAR(255) NOT NULL UNIQUE "
               "PRIMARY KEY);");
}

static void test_custom_table_and_schema(void **state)
{
    (void)state;
    MetaTable t = {.table = "my_meta", .schema = "custom"};
    expect_sql(meta_table_sql(DB_POSTGRES, &t), "\"custom\".\"my_meta\"");
    /* Sequelize joins schema and table into one name where there are no schemas. */
    expect_sql(meta_table_sql(DB_MYSQL, &t), "`custom.my_meta`");
    expect_sql(meta_table_sql(DB_SQLITE, &t), "`custom.my_meta`");
    expect_sql(meta_create_sql(DB_POSTGRES, &t),
               "CREATE TABLE IF NOT EXISTS \"custom\".\"my_meta\" (\"name\" VARCHAR(255) NOT "
               "NULL UNIQUE , PRIMARY KEY (\"name\"));");
}

static void test_quotes_in_names_are_doubled(void **state)
{
    (void)state;
    MetaTable t = {.table = "we\"ird`meta"};
    expect_sql(meta_table_sql(DB_POSTGRES, &t), "\"we\"\"ird`meta\"");
    expect_sql(meta_table_sql(DB_MYSQL, &t), "`we\"ird``meta`");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_table_ddl),
        cmocka_unit_test(test_custom_table_and_schema),
        cmocka_unit_test(test_quotes_in_names_are_doubled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

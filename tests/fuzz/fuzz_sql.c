/*
 * fuzz_sql.c — libFuzzer target for what drover reads from a .sql migration: the section
 * parser (markers, options, UTF-8, transaction control) and the statement splitter of each
 * dialect on whatever the parser hands on. Any input must end in a clean result or a clean
 * error, never a crash, a leak or undefined behaviour (the build adds ASan and UBSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drover/migration.h"
#include "sqlsplit_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void split_all(const char *sql)
{
    static const DbDialect dialects[] = {DB_POSTGRES, DB_MYSQL, DB_SQLITE};
    for (size_t i = 0; i < sizeof dialects / sizeof *dialects; i++) {
        SqlStatement *stmts = NULL;
        size_t n = sql_split(sql, dialects[i], &stmts);
        size_t len = strlen(sql);
        for (size_t k = 0; k < n; k++)
            if (stmts[k].offset + stmts[k].len > len)
                abort(); /* a statement outside the script */
        free(stmts);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    Migration m = {0};
    DroverError err = DROVER_ERROR_INIT;
    if (mig_parse_sql("fuzz.sql", text, &m, &err)) {
        split_all(m.up.sql);
        if (m.down.sql)
            split_all(m.down.sql);
    } else if (!err.message) {
        abort(); /* a refusal must say why */
    }
    free(m.up.sql);
    free(m.down.sql);
    error_clear(&err);
    split_all(text);
    free(text);
    return 0;
}

/*
 * sqlsplit_impl.h — splitting a migration section into statements the way the dialect's own
 * command-line client does (psql; mariadb without DELIMITER). Used by the PostgreSQL driver to
 * run statements one by one (CREATE INDEX CONCURRENTLY cannot run in a multi-statement query)
 * and by every driver to name the failing statement in errors.
 */
#ifndef DROVER_SQLSPLIT_IMPL_H
#define DROVER_SQLSPLIT_IMPL_H

#include <stddef.h>

#include "drover/url.h"

typedef struct SqlStatement {
    size_t offset; /* byte offset of the first non-blank, non-comment character */
    size_t len;    /* up to, not including, the terminating ';' */
    int line;      /* 1-based line of offset within the script */
} SqlStatement;

/*
 * sql_split returns the number of statements in script and stores them in *out (malloc'd,
 * caller frees; NULL when there are none). Statements made only of whitespace and comments
 * are dropped; a last statement without ';' counts. PostgreSQL: '' and E'' strings, ""
 * identifiers, $tag$ dollar quotes, -- and nested block comments. MySQL: '' "" with backslash
 * escapes, `` identifiers, -- , # and block comments. SQLite: '' "" `` [] and both comment forms.
 */
size_t sql_split(const char *script, DbDialect d, SqlStatement **out);

#endif

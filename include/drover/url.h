/*
 * url.h — the bottom layer every module that touches a database shares: the dialect and a
 * parsed database URL (owned by url.c). Knows nothing of the inventory, drivers or threads.
 *
 * Secrets: DbUrl.password (and a password= query parameter) exist only here and in driver
 * connect calls; everything printable uses DbUrl.masked.
 */
#ifndef DROVER_URL_H
#define DROVER_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/error.h"

typedef enum DbDialect {
    DB_POSTGRES = 0,
    DB_MYSQL,  /* MySQL and MariaDB, through libmariadb */
    DB_SQLITE,
} DbDialect;

/* "postgres", "mysql" or "sqlite". */
const char *db_dialect_name(DbDialect d);

typedef struct DbUrlParam {
    char *key;
    char *value;
} DbUrlParam;

typedef struct DbUrl {
    DbDialect dialect;
    char *host;       /* NULL: library default (sqlite: always NULL) */
    int port;         /* 0: library default */
    char *user;       /* percent-decoded, NULL when absent */
    char *password;   /* percent-decoded, NULL when absent; never print */
    char *database;   /* database name, NULL when the URL has none (library default);
                         for sqlite the absolute file path */
    char *schema;     /* postgres ?schema=NAME (schema-per-tenant), else NULL */
    DbUrlParam *params; /* other query parameters (postgres: libpq keywords, validated) */
    size_t nparams;
    char *masked;     /* printable form with the password replaced by *** */
} DbUrl;

/*
 * url_parse parses postgres://, postgresql://, mysql://, mariadb://, sqlite:PATH (relative
 * to base_dir) and sqlite:///ABS. Percent-decoding goes through libcurl's URL API. Postgres
 * query parameters must be libpq connection keywords (checked against PQconndefaults), plus
 * schema=NAME. On failure returns false with ERR_CONFIG and a message that shows the URL
 * masked. out is zeroed first and must be released with url_free.
 */
bool url_parse(const char *text, const char *base_dir, DbUrl *out, DroverError *err);
void url_free(DbUrl *url);

/* url_mask_text masks the userinfo password of any text that looks like a URL, even one
 * that does not parse ("postgres://u:***@h/db"). The caller frees the result. */
char *url_mask_text(const char *text);

#endif

/*
 * meta.c — SequelizeMeta, byte for byte as sequelize-cli 6 / umzug 2 define and use it
 * (reference §1): the same CREATE TABLE text per dialect, the same quoting, the file basename
 * as the row. drover only adds checks the CLI lacks (names the table cannot store).
 */
#include "meta_impl.h"

#include <stdlib.h>
#include <string.h>

#define META_NAME_MAX_BYTES 255

/* quote_lit never returns NULL: a string the client library refuses to quote (invalid UTF-8
 * on PostgreSQL) becomes SQL NULL, which matches no row and violates NOT NULL on insert. */
static char *quote_lit(DrvConn *c, const char *s)
{
    char *q = drv_quote_literal(c, s);
    return q ? q : xstrdup("NULL");
}

char *meta_table_sql(DbDialect d, const MetaTable *t)
{
    if (d == DB_POSTGRES) {
        char *table = drv_quote_ident(d, t->table);
        if (!t->schema)
            return table;
        char *schema = drv_quote_ident(d, t->schema);
        char *both = xasprintf("%s.%s", schema, table);
        free(schema);
        free(table);
        return both;
    }
    /* Sequelize has no schemas on MySQL/SQLite: it joins them into one table name (§1.5). */
    if (!t->schema)
        return drv_quote_ident(d, t->table);
    char *joined = xasprintf("%s.%s", t->schema, t->table);
    char *quoted = drv_quote_ident(d, joined);
    free(joined);
    return quoted;
}

char *meta_create_sql(DbDialect d, const MetaTable *t)
{
    char *table = meta_table_sql(d, t);
    char *sql = NULL;
    switch (d) {
    case DB_POSTGRES:
        sql = xasprintf("CREATE TABLE IF NOT EXISTS %s (\"name\" VARCHAR(255) NOT NULL UNIQUE , "
                        "PRIMARY KEY (\"name\"));",
                        table);
        break;
    case DB_MYSQL:
        sql = xasprintf("CREATE TABLE IF NOT EXISTS %s (`name` VARCHAR(255) NOT NULL UNIQUE , "
                        "PRIMARY KEY (`name`)) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE "
                        "utf8_unicode_ci;",
                        table);
        break;
    case DB_SQLITE:
        sql = xasprintf("CREATE TABLE IF NOT EXISTS %s (`name` VARCHAR(255) NOT NULL UNIQUE "
                        "PRIMARY KEY);",
                        table);
        break;
    }
    free(table);
    return sql;
}

/* The raw table name as the catalogs know it (MySQL/SQLite: "schema.table" joined). */
static char *catalog_name(DbDialect d, const MetaTable *t)
{
    if (d != DB_POSTGRES && t->schema)
        return xasprintf("%s.%s", t->schema, t->table);
    return xstrdup(t->table);
}

/* columns_sql returns a query listing the table's column names; no rows when it is missing
 * (MySQL, SQLite; PostgreSQL goes through read_pg_columns). */
static char *columns_sql(DrvConn *c, const MetaTable *t)
{
    DbDialect d = drv_conn_dialect(c);
    char *name = catalog_name(d, t);
    char *lit = quote_lit(c, name);
    char *sql = NULL;
    if (d == DB_MYSQL)
        sql = xasprintf("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                        "DATABASE() AND BINARY TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
                        lit);
    else
        sql = xasprintf("SELECT name FROM pragma_table_info(%s)", lit);
    free(lit);
    free(name);
    return sql;
}

/*
 * read_pg_columns: to_regclass says whether the table exists, then an empty SELECT * names its
 * columns from the result's description. A fresh backend plans a pg_attribute query by reading
 * catalog statistics it has not cached yet, which costs status about a tenth of its per-tenant
 * time (bench/profile-status); these two statements read nothing but the relation cache.
 */
static bool read_pg_columns(DrvConn *c, const MetaTable *t, StrList *cols, DroverError *err)
{
    char *qualified = meta_table_sql(DB_POSTGRES, t);
    char *lit = quote_lit(c, qualified);
    char *sql = xasprintf("SELECT to_regclass(%s) IS NOT NULL", lit);
    StrList exists = STRLIST_INIT;
    bool ok = drv_query_strings(c, sql, &exists, err);
    free(sql);
    if (ok && exists.n == 1 && strcmp(exists.items[0], "t") == 0) {
        sql = xasprintf("SELECT * FROM %s LIMIT 0", qualified);
        ok = drv_query_columns(c, sql, cols, err);
        free(sql);
    }
    sl_free(&exists);
    free(lit);
    free(qualified);
    return ok;
}

static bool read_columns(DrvConn *c, const MetaTable *t, StrList *cols, DroverError *err)
{
    if (drv_conn_dialect(c) == DB_POSTGRES)
        return read_pg_columns(c, t, cols, err);
    char *sql = columns_sql(c, t);
    bool ok = drv_query_strings(c, sql, cols, err);
    free(sql);
    return ok;
}

/* read_mysql_charset fills st->charset/collation from the name column's definition. */
static bool read_mysql_charset(DrvConn *c, const MetaTable *t, MetaState *st, DroverError *err)
{
    char *name = catalog_name(DB_MYSQL, t);
    char *lit = quote_lit(c, name);
    char *sql = xasprintf("SELECT CONCAT(CHARACTER_SET_NAME, ' ', COLLATION_NAME) FROM "
                          "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND BINARY "
                          "TABLE_NAME = %s AND COLUMN_NAME = 'name'",
                          lit);
    StrList out = STRLIST_INIT;
    bool ok = drv_query_strings(c, sql, &out, err);
    if (ok && out.n == 1) {
        const char *space = strchr(out.items[0], ' ');
        if (space) {
            st->charset = xstrndup(out.items[0], (size_t)(space - out.items[0]));
            st->collation = xstrdup(space + 1);
        }
    }
    sl_free(&out);
    free(sql);
    free(lit);
    free(name);
    return ok;
}

static bool read_rows(DrvConn *c, const MetaTable *t, MetaState *st, DroverError *err)
{
    DbDialect d = drv_conn_dialect(c);
    char *table = meta_table_sql(d, t);
    char *col = drv_quote_ident(d, "name");
    char *sql = xasprintf("SELECT %s FROM %s", col, table);
    bool ok = drv_query_strings(c, sql, &st->rows, err);
    sl_sort(&st->rows);
    free(sql);
    free(col);
    free(table);
    return ok;
}

bool meta_read(DrvConn *c, const MetaTable *t, MetaState *st, DroverError *err)
{
    meta_state_free(st);
    StrList cols = STRLIST_INIT;
    bool ok = read_columns(c, t, &cols, err);
    if (!ok)
        goto out;
    st->exists = cols.n > 0;
    st->timestamps = sl_contains(&cols, "createdAt") && sl_contains(&cols, "updatedAt");
    if (!st->exists)
        goto out;
    if (drv_conn_dialect(c) == DB_MYSQL && !read_mysql_charset(c, t, st, err)) {
        ok = false;
        goto out;
    }
    ok = read_rows(c, t, st, err);
out:
    sl_free(&cols);
    return ok;
}

static void push_create_schema(const char *schema, StrList *out)
{
    char *q = drv_quote_ident(DB_POSTGRES, schema);
    sl_push_owned(out, xasprintf("CREATE SCHEMA IF NOT EXISTS %s;", q));
    free(q);
}

void meta_create_statements(DbDialect d, const MetaTable *t, const char *tenant_schema,
                            StrList *out)
{
    if (d == DB_POSTGRES && tenant_schema)
        push_create_schema(tenant_schema, out);
    if (d == DB_POSTGRES && t->schema)
        push_create_schema(t->schema, out);
    sl_push_owned(out, meta_create_sql(d, t));
}

bool meta_ensure(DrvConn *c, const MetaTable *t, const char *tenant_schema, MetaState *st,
                 DroverError *err)
{
    if (!meta_read(c, t, st, err))
        return false;
    if (st->exists)
        return true;
    StrList create = STRLIST_INIT;
    meta_create_statements(drv_conn_dialect(c), t, tenant_schema, &create);
    bool ok = true;
    for (size_t i = 0; ok && i < create.n; i++)
        ok = drv_exec(c, create.items[i], err);
    sl_free(&create);
    return ok && meta_read(c, t, st, err);
}

/* The timestamp Sequelize writes client-side in UTC, as each dialect stores it (§1.6). */
static const char *utc_now_sql(DbDialect d)
{
    switch (d) {
    case DB_POSTGRES:
        return "now()";
    case DB_MYSQL:
        return "UTC_TIMESTAMP()";
    case DB_SQLITE:
        return "strftime('%Y-%m-%d %H:%M:%f +00:00', 'now')";
    }
    return "NULL";
}

char *meta_insert_sql(DrvConn *c, const MetaTable *t, const MetaState *st, const char *name)
{
    DbDialect d = drv_conn_dialect(c);
    char *table = meta_table_sql(d, t);
    char *lit = quote_lit(c, name);
    char *col = drv_quote_ident(d, "name");
    char *sql;
    if (st->timestamps) {
        char *cr = drv_quote_ident(d, "createdAt");
        char *up = drv_quote_ident(d, "updatedAt");
        sql = xasprintf("INSERT INTO %s (%s, %s, %s) VALUES (%s, %s, %s)", table, col, cr, up, lit,
                        utc_now_sql(d), utc_now_sql(d));
        free(cr);
        free(up);
    } else {
        sql = xasprintf("INSERT INTO %s (%s) VALUES (%s)", table, col, lit);
    }
    free(col);
    free(lit);
    free(table);
    return sql;
}

bool meta_insert(DrvConn *c, const MetaTable *t, const MetaState *st, const char *name,
                 DroverError *err)
{
    char *sql = meta_insert_sql(c, t, st, name);
    bool ok = drv_exec(c, sql, err);
    free(sql);
    return ok;
}

char *meta_delete_sql(DrvConn *c, const MetaTable *t, const char *name)
{
    DbDialect d = drv_conn_dialect(c);
    char *table = meta_table_sql(d, t);
    char *lit = quote_lit(c, name);
    char *col = drv_quote_ident(d, "name");
    /* MySQL compares under the column's case-insensitive collation; BINARY deletes exactly the
     * row drover read, never a look-alike. */
    char *sql = xasprintf("DELETE FROM %s WHERE %s = %s%s", table, col,
                          d == DB_MYSQL ? "BINARY " : "", lit);
    free(col);
    free(lit);
    free(table);
    return sql;
}

bool meta_delete(DrvConn *c, const MetaTable *t, const char *name, DroverError *err)
{
    char *sql = meta_delete_sql(c, t, name);
    bool ok = drv_exec(c, sql, err);
    free(sql);
    return ok;
}

/* utf8_valid accepts well-formed UTF-8 only (no overlongs, surrogates or values > U+10FFFF). */
static bool utf8_valid(const unsigned char *s, bool *has_4byte)
{
    *has_4byte = false;
    while (*s) {
        size_t n;
        unsigned cp;
        if (*s < 0x80) {
            s++;
            continue;
        } else if ((*s & 0xE0) == 0xC0) {
            n = 1;
            cp = *s & 0x1F;
        } else if ((*s & 0xF0) == 0xE0) {
            n = 2;
            cp = *s & 0x0F;
        } else if ((*s & 0xF8) == 0xF0) {
            n = 3;
            cp = *s & 0x07;
            *has_4byte = true;
        } else {
            return false;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        static const unsigned min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        s += n + 1;
    }
    return true;
}

static bool refuse(DroverError *err, const char *name, const char *why, const char *hint)
{
    error_set(err, ERR_REFUSED, "cannot record this migration in SequelizeMeta: %s",
                  why);
    error_set_context(err, NULL, name, NULL);
    error_set_hint(err, "%s", hint);
    return false;
}

static bool check_bytes(const char *name, DbDialect d, const MetaState *st, DroverError *err)
{
    bool four_byte;
    if (strlen(name) > META_NAME_MAX_BYTES)
        return refuse(err, name, "its name is longer than 255 bytes",
                      "rename the file; the 'name' column is VARCHAR(255)");
    if (!utf8_valid((const unsigned char *)name, &four_byte))
        return refuse(err, name, "its name is not valid UTF-8", "rename the file");
    bool mb3 = st->charset && (strcmp(st->charset, "utf8mb3") == 0 ||
                               strcmp(st->charset, "utf8") == 0);
    if (d == DB_MYSQL && four_byte && mb3)
        return refuse(err, name,
                      "its name has a 4-byte UTF-8 character and the 'name' column is utf8mb3",
                      "rename the file without emoji or other characters outside the BMP");
    return true;
}

/*
 * mysql_weights asks the server, in one round trip, for each name's sort weight under the
 * column's collation: equal weights mean the primary key sees the names as equal.
 */
static bool mysql_weights(DrvConn *c, const MetaState *st, const StrList *names, StrList *out,
                          DroverError *err)
{
    if (names->n == 0)
        return true;
    StrBuf sql;
    sb_init(&sql);
    for (size_t i = 0; i < names->n; i++) {
        char *lit = quote_lit(c, names->items[i]);
        sb_appendf(&sql, "%sSELECT CONCAT(%zu, ':', HEX(WEIGHT_STRING(CONVERT(%s USING %s) COLLATE %s)))",
                   i ? " UNION ALL " : "", i, lit, st->charset, st->collation);
        free(lit);
    }
    StrList rows = STRLIST_INIT;
    bool ok = drv_query_strings(c, sql.data, &rows, err);
    sb_free(&sql);
    for (size_t i = 0; i < names->n; i++)
        sl_push(out, "");
    for (size_t r = 0; ok && r < rows.n; r++) {
        char *colon = strchr(rows.items[r], ':');
        size_t idx = (size_t)strtoul(rows.items[r], NULL, 10);
        if (colon && idx < names->n) {
            free(out->items[idx]);
            out->items[idx] = xstrdup(colon + 1);
        }
    }
    sl_free(&rows);
    return ok;
}

/* rows_matching returns the stored rows equal to any of names under the column's collation. */
static bool rows_matching(DrvConn *c, const MetaTable *t, const StrList *names, StrList *out,
                          DroverError *err)
{
    char *table = meta_table_sql(DB_MYSQL, t);
    StrBuf sql;
    sb_init(&sql);
    sb_appendf(&sql, "SELECT `name` FROM %s WHERE `name` IN (", table);
    for (size_t i = 0; i < names->n; i++) {
        char *lit = quote_lit(c, names->items[i]);
        sb_appendf(&sql, "%s%s", i ? ", " : "", lit);
        free(lit);
    }
    sb_append(&sql, ")");
    bool ok = drv_query_strings(c, sql.data, out, err);
    sb_free(&sql);
    free(table);
    return ok;
}

static bool refuse_collision(DroverError *err, const char *name, const char *other_kind,
                             const char *other, const char *collation)
{
    char *why = xasprintf("its name equals %s '%s' under the column's collation '%s'",
                          other_kind, other, collation);
    refuse(err, name, why, "MySQL compares names case- and accent-insensitively; rename one file");
    free(why);
    return false;
}

/*
 * A name equal under the collation to another pending name or to a stored row, while differing
 * in bytes, would hit the primary key after its migration ran (reference §9.1). Rows are
 * narrowed with one IN query, so the cost does not grow with the tenant's history.
 */
static bool check_mysql_collisions(DrvConn *c, const MetaTable *t, const MetaState *st,
                                   const StrList *names, DroverError *err)
{
    StrList all = STRLIST_INIT, weights = STRLIST_INIT, clashing = STRLIST_INIT;
    bool ok = rows_matching(c, t, names, &clashing, err);
    for (size_t i = 0; i < names->n; i++)
        sl_push(&all, names->items[i]);
    for (size_t i = 0; i < clashing.n; i++)
        sl_push(&all, clashing.items[i]);
    ok = ok && mysql_weights(c, st, &all, &weights, err);
    for (size_t i = 0; ok && i < names->n; i++) {
        for (size_t j = i + 1; ok && j < all.n; j++) {
            if (strcmp(all.items[i], all.items[j]) == 0 ||
                strcmp(weights.items[i], weights.items[j]) != 0)
                continue;
            ok = refuse_collision(err, all.items[i],
                                  j < names->n ? "migration" : "the existing row", all.items[j],
                                  st->collation);
        }
    }
    sl_free(&all);
    sl_free(&weights);
    sl_free(&clashing);
    return ok;
}

bool meta_check_storable(DrvConn *c, const MetaTable *t, const MetaState *st,
                         const StrList *names, DroverError *err)
{
    DbDialect d = drv_conn_dialect(c);
    for (size_t i = 0; i < names->n; i++)
        if (!check_bytes(names->items[i], d, st, err))
            return false;
    if (d != DB_MYSQL || names->n == 0 || !st->charset || !st->collation)
        return true;
    return check_mysql_collisions(c, t, st, names, err);
}

void meta_state_free(MetaState *st)
{
    sl_free(&st->rows);
    free(st->charset);
    free(st->collation);
    memset(st, 0, sizeof *st);
}

/*
 * meta_impl.h — the SequelizeMeta table, exactly as sequelize-cli 6 (umzug 2) defines, reads and
 * writes it (../shared/reference/sequelize-cli.md §1): same DDL per dialect, same quoting,
 * the basename with extension as the row, timestamps honoured when the table has them.
 */
#ifndef DROVER_META_IMPL_H
#define DROVER_META_IMPL_H

#include <stdbool.h>

#include "drover/driver.h"

typedef struct MetaTable {
    const char *table;  /* migrationStorageTableName, e.g. "SequelizeMeta" */
    const char *schema; /* migrationStorageTableSchema or NULL: postgres "schema"."table",
                           mysql/sqlite a table literally named "schema.table" */
} MetaTable;

typedef struct MetaState {
    bool exists;
    bool timestamps; /* has createdAt/updatedAt (db:migrate:schema:timestamps:add) */
    StrList rows;    /* every stored name, byte order */
    char *charset;   /* mysql: the name column's character set, else NULL */
    char *collation; /* mysql: the name column's collation, else NULL */
} MetaState;

/* The CREATE TABLE sequelize-cli emits for this dialect and table (§1.2). Caller frees. */
char *meta_create_sql(DbDialect d, const MetaTable *t);
/* The table as quoted in DML: "SequelizeMeta", "s"."t", `SequelizeMeta`, `s.t`. Caller frees. */
char *meta_table_sql(DbDialect d, const MetaTable *t);

/* The statements meta_ensure runs to create a missing table, in order (postgres: CREATE SCHEMA
 * IF NOT EXISTS for tenant_schema and t->schema first), appended to out. */
void meta_create_statements(DbDialect d, const MetaTable *t, const char *tenant_schema,
                            StrList *out);
/* Reads the table without creating anything: a missing table gives exists=false, no rows. */
bool meta_read(DrvConn *c, const MetaTable *t, MetaState *st, DroverError *err);
/* Creates what is missing (postgres: CREATE SCHEMA IF NOT EXISTS for tenant_schema and
 * t->schema, as the CLI does), then re-reads into st. */
bool meta_ensure(DrvConn *c, const MetaTable *t, const char *tenant_schema, MetaState *st,
                 DroverError *err);
bool meta_insert(DrvConn *c, const MetaTable *t, const MetaState *st, const char *name,
                 DroverError *err);
bool meta_delete(DrvConn *c, const MetaTable *t, const char *name, DroverError *err);
/* The statements meta_insert and meta_delete run, for another client (the node runner) to run
 * inside its own transaction. Caller frees. */
char *meta_insert_sql(DrvConn *c, const MetaTable *t, const MetaState *st, const char *name);
char *meta_delete_sql(DrvConn *c, const MetaTable *t, const char *name);

/*
 * meta_check_storable refuses (ERR_REFUSED, naming the migration) any name the table
 * cannot store faithfully: over 255 bytes; on MySQL a 4-byte UTF-8 character in a utf8mb3
 * column, or a name equal under the column's collation to another name or to an existing row
 * while differing in bytes (case, accents, trailing spaces). Checked before anything runs.
 */
bool meta_check_storable(DrvConn *c, const MetaTable *t, const MetaState *st,
                         const StrList *names, DroverError *err);

void meta_state_free(MetaState *st);

#endif

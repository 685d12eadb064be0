/*
 * schema_impl.h — a tenant's schema as canonical text and its fingerprint, from which the fleet view
 * finds schema drift (fleetview.h): tenants whose SequelizeMeta says they are alike but whose
 * catalogs differ ("snowflakes" patched by hand).
 */
#ifndef DROVER_SCHEMA_IMPL_H
#define DROVER_SCHEMA_IMPL_H

#include <stdbool.h>

#include "drover/driver.h"
#include "meta_impl.h"

/*
 * schema_read reads the tenant's own schema — tables, columns with type, nullability and
 * default, indexes, constraints — excluding the meta table, into lines such as
 *   table users
 *   column users.email varchar(255) not null
 *   index users users_email_username (email, username)
 *   constraint users users_pkey primary key (id)
 * sorted byte-wise, so equal schemas give equal lines on every run. PostgreSQL reads the
 * tenant schema (the URL's schema=, else the first schema of search_path); MariaDB the URL's
 * database; SQLite the main database. Names that embed the schema are written without it.
 */
bool schema_read(DrvConn *c, const MetaTable *meta, StrList *lines, DroverError *err);

/* schema_catalog_query: the query schema_read runs (one text column, a line per row), for a
 * reader on another connection to the same tenant (the node runner's verify transaction);
 * schema_canonical then turns its rows into schema_read's lines. Caller frees. */
char *schema_catalog_query(DrvConn *c, const MetaTable *meta, DroverError *err);
void schema_canonical(DbDialect d, StrList *lines);

/* schema_fingerprint hashes the lines (FNV-1a 64 over the text): 16 lowercase hex digits.
 * Not a security hash: it only tells equal schemas from different ones. Caller frees. */
char *schema_fingerprint(const StrList *lines);

#endif

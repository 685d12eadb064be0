/*
 * schema.h — a tenant's schema as canonical text, its fingerprint, and schema drift: tenants
 * whose SequelizeMeta says they are alike but whose catalogs differ ("snowflakes" patched by
 * hand), with a readable diff against the majority of their peers.
 */
#ifndef DROVER_SCHEMA_H
#define DROVER_SCHEMA_H

#include <stdbool.h>

#include "drover/driver.h"
#include "drover/executor.h"
#include "drover/meta.h"

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
bool schema_read(DrvConn *c, const MetaTable *meta, StrList *lines, DrvError *err);

/* schema_fingerprint hashes the lines (FNV-1a 64 over the text): 16 lowercase hex digits.
 * Not a security hash: it only tells equal schemas from different ones. Caller frees. */
char *schema_fingerprint(const StrList *lines);

/*
 * schema_mark_drift groups results that have a fingerprint by (dialect, applied set); in each
 * group of two or more, the fingerprint most tenants share is the reference (ties: the one that
 * comes first in the results). Every tenant that differs gets schema_drift, drift_added and
 * drift_missing, and state drifted unless its state is worse (dirty, locked, unreachable).
 */
void schema_mark_drift(ExecResult *res, size_t n);

#endif

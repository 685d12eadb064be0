/*
 * inventory_impl.h — private to the inventory loader: what is checked of the inventory's files
 * before libconfig reads them (inventory_files.c).
 */
#ifndef DROVER_INVENTORY_IMPL_H
#define DROVER_INVENTORY_IMPL_H

#include <stdbool.h>

#include "drover/error.h"
#include "drover/inventory.h"

/* The largest inventory file drover reads, and its longest line. */
#define INV_MAX_FILE_BYTES (64L * 1024 * 1024)
#define INV_MAX_LINE_BYTES (64L * 1024)

/*
 * inv_check_files checks path and every file it @includes (resolved against include_dir, as
 * libconfig resolves them) before libconfig reads them: each must be a regular file (libconfig's
 * scanner ends the process on a directory), at most INV_MAX_FILE_BYTES, with no line longer than
 * INV_MAX_LINE_BYTES (libconfig takes minutes over one long string or comment). ERR_CONFIG with
 * the file and line (of the @include, or of the long line) on failure.
 */
bool inv_check_files(const char *path, const char *include_dir, DroverError *err);

/* What is wrong with a tenant id (caller frees), or NULL when it is fine. */
char *inv_id_problem(const char *id);
void inv_tenant_free(InvTenant *t);

#endif

/*
 * sources.h — tenants read from where the team keeps them (drover.cfg's tenants_from): a query
 * on a PostgreSQL, MariaDB or SQLite catalogue, a command printing JSON, or an HTTP endpoint
 * answering JSON. Each source runs once per drover command, before anything is selected or
 * touched, and its rows join the file's tenants through inv_add_rows.
 */
#ifndef DROVER_SOURCES_H
#define DROVER_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/error.h"
#include "drover/inventory.h"

/* What one source gave, for `drover check`. */
typedef struct SourceStat {
    const InvSource *source;
    size_t tenants;
    double seconds;
} SourceStat;

/*
 * sources_resolve runs every source of inv in order and adds its tenants. *stats (caller
 * frees; may be NULL) gets one entry per source. On failure — a source that cannot be reached
 * or fails (the server's message, the command's exit status and stderr, the HTTP status), a
 * result that is not rows of tenants, a bad row — false with ERR_CONFIG naming the source:
 * exit 2, nothing touched. Also false when the fleet ends up with no tenant at all.
 */
bool sources_resolve(Inventory *inv, SourceStat **stats, DroverError *err);

#endif

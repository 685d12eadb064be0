/*
 * fleet.h — what every fleet command loads before touching a tenant: the inventory, the
 * migration set and the selection, plus the executor options derived from the command line.
 */
#ifndef DROVER_CLI_FLEET_H
#define DROVER_CLI_FLEET_H

#include "drover/executor.h"
#include "drover/inventory.h"
#include "drover/migration.h"
#include "drover/sources.h"
#include "options.h"

typedef struct Fleet {
    Inventory *inv;
    MigSet migs;
    size_t *selected;
    size_t nselected;
    SourceStat *sources; /* one per tenants_from source: what `check` shows */
} Fleet;

/* fleet_load reads and validates everything, or fails with nothing touched. */
bool fleet_load(const CliArgs *a, Fleet *f, DroverError *err);
void fleet_free(Fleet *f);
/* The executor options for a loaded fleet (--to must resolve: checked by fleet_load). */
ExecOptions fleet_exec_options(const CliArgs *a, const Fleet *f, const char *application_name);

#endif

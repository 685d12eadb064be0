/*
 * fleet.c — loading a fleet for a command (see fleet.h).
 */
#include "fleet.h"

#include <stdlib.h>

static bool check_to(const CliArgs *a, const MigSet *set, DroverError *err)
{
    if (!a->to || mig_find(set, a->to) >= 0)
        return true;
    /* sequelize-cli silently does nothing here; a typo must not look like success. */
    error_set(err, ERR_USAGE, "--to '%s' names no migration in '%s'", a->to, set->dir);
    error_set_hint(err, "give a file name as listed by 'drover plan', with or without its "
                            "extension");
    return false;
}

bool fleet_load(const CliArgs *a, Fleet *f, DroverError *err)
{
    f->inv = inv_load(a->config, err);
    if (!f->inv || !sources_resolve(f->inv, &f->sources, err))
        return false;
    if (!mig_discover(f->inv->migrations_path, &f->migs, err))
        return false;
    if (!check_to(a, &f->migs, err))
        return false;
    return inv_select(f->inv, &a->selector, &f->selected, &f->nselected, err);
}

void fleet_free(Fleet *f)
{
    free(f->selected);
    free(f->sources);
    mig_set_free(&f->migs);
    inv_free(f->inv);
}

static ExecCommand exec_command_of(CliCommandId id)
{
    switch (id) {
    case CMD_MIGRATE: return EXEC_MIGRATE;
    case CMD_UNDO: return EXEC_UNDO;
    case CMD_STATUS: return EXEC_STATUS;
    case CMD_CHECK: return EXEC_CHECK;
    case CMD_VERIFY: return EXEC_VERIFY;
    default: return EXEC_PLAN;
    }
}

ExecOptions fleet_exec_options(const CliArgs *a, const Fleet *f, const char *application_name)
{
    return (ExecOptions){
        .command = exec_command_of(a->command),
        .to = a->to ? mig_find(&f->migs, a->to) : -1,
        .undo_mode = a->all ? PLAN_UNDO_ALL : a->to ? PLAN_UNDO_TO : PLAN_UNDO_STEPS,
        .steps = (size_t)a->steps,
        .dry_run = a->dry_run,
        .schema = a->schema,
        .sql_preview = a->sql,
        .application_name = application_name,
    };
}

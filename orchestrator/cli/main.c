/*
 * main.c — the drover command line: parse, load the inventory and the migration set, run one
 * job per selected tenant, report, and choose the exit code (the only place that does).
 * Tenants run one after another for now; the fleet engine will hand the same jobs to a pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/executor.h"
#include "drover/inventory.h"
#include "drover/migration.h"
#include "drover/report.h"
#include "exitcodes.h"
#include "options.h"

typedef struct Fleet {
    Inventory *inv;
    MigSet migs;
    size_t *selected;
    size_t nselected;
} Fleet;

static int fail_usage(const DrvError *err)
{
    char *text = drv_error_format(err);
    fprintf(stderr, "drover: %s\n", text);
    if (err->kind == DRV_ERR_USAGE)
        fprintf(stderr, "Try 'drover --help'.\n");
    free(text);
    return DROVER_EXIT_USAGE;
}

static void fleet_free(Fleet *f)
{
    free(f->selected);
    mig_set_free(&f->migs);
    inv_free(f->inv);
}

/* load_fleet reads everything a fleet command needs before any tenant is touched, so that bad
 * input ends the run with exit 2 and no side effect. */
static bool load_fleet(const CliArgs *a, Fleet *f, DrvError *err)
{
    f->inv = inv_load(a->config, err);
    if (!f->inv)
        return false;
    if (!mig_discover(f->inv->migrations_path, &f->migs, err))
        return false;
    return inv_select(f->inv, &a->selector, &f->selected, &f->nselected, err);
}

static bool resolve_to(const CliArgs *a, const MigSet *set, ssize_t *to, DrvError *err)
{
    *to = -1;
    if (!a->to)
        return true;
    *to = mig_find(set, a->to);
    if (*to >= 0)
        return true;
    /* sequelize-cli silently does nothing here; a typo must not look like success. */
    drv_error_set(err, DRV_ERR_USAGE, "--to '%s' names no migration in '%s'", a->to, set->dir);
    drv_error_set_hint(err, "give a file name as listed by 'drover plan', with or without its "
                            "extension");
    return false;
}

static ExecCommand exec_command_of(CliCommandId id)
{
    switch (id) {
    case CMD_MIGRATE: return EXEC_MIGRATE;
    case CMD_UNDO: return EXEC_UNDO;
    case CMD_STATUS: return EXEC_STATUS;
    case CMD_CHECK: return EXEC_CHECK;
    default: return EXEC_PLAN;
    }
}

static bool streams_lines(const CliArgs *a)
{
    return a->format == FMT_TEXT && !a->out && a->command != CMD_STATUS;
}

static ExecResult *run_jobs(const CliArgs *a, const Fleet *f, const ExecOptions *o)
{
    ExecResult *res = xcalloc(f->nselected, sizeof *res);
    for (size_t i = 0; i < f->nselected; i++) {
        ExecJob job = {
            .tenant = &f->inv->tenants[f->selected[i]],
            .migrations = &f->migs,
            .meta_table = f->inv->meta_table,
            .meta_schema = f->inv->meta_schema,
            .options = o,
        };
        exec_run_tenant(&job, &res[i]);
        if (streams_lines(a)) {
            report_run_text(stdout, a->command_name, &res[i], 1, false);
            fflush(stdout);
        }
    }
    return res;
}

static bool write_report(const CliArgs *a, const Fleet *f, const ExecResult *res, DrvError *err)
{
    if (a->format == FMT_JSON) {
        json_t *j = a->command == CMD_STATUS
                        ? report_status_json(&f->migs, res, f->nselected)
                        : report_run_json(a->command_name, res, f->nselected);
        bool ok = report_write_json(j, a->out, err);
        json_decref(j);
        return ok;
    }
    FILE *out = stdout;
    if (a->out && !(out = fopen(a->out, "w"))) {
        drv_error_set(err, DRV_ERR_IO, "cannot write '%s'", a->out);
        return false;
    }
    if (a->command == CMD_STATUS)
        report_status_table(out, res, f->nselected);
    else if (streams_lines(a))
        report_run_summary(out, a->command_name, res, f->nselected);
    else
        report_run_text(out, a->command_name, res, f->nselected, true);
    if (out != stdout)
        fclose(out);
    return true;
}

/* print_failures repeats each failure on stderr, so a CI log that only keeps stderr names the
 * tenant, migration, statement and server error. */
static void print_failures(const ExecResult *res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!exec_outcome_is_failure(res[i].outcome))
            continue;
        char *text = drv_error_format(&res[i].error);
        fprintf(stderr, "drover: %s\n", text);
        free(text);
    }
}

static int run_fleet_command(const CliArgs *a)
{
    Fleet f = {0};
    DrvError err = DRV_ERROR_INIT;
    ExecOptions o = {
        .command = exec_command_of(a->command),
        .undo_mode = a->all ? PLAN_UNDO_ALL : a->to ? PLAN_UNDO_TO : PLAN_UNDO_STEPS,
        .steps = (size_t)a->steps,
        .dry_run = a->dry_run,
        .application_name = "drover",
    };
    int rc = DROVER_EXIT_USAGE;
    if (!load_fleet(a, &f, &err) || !resolve_to(a, &f.migs, &o.to, &err)) {
        rc = fail_usage(&err);
        goto out;
    }
    ExecResult *res = run_jobs(a, &f, &o);
    ReportCounts counts;
    report_count(res, f.nselected, &counts);
    rc = counts.failed ? DROVER_EXIT_FAILED : DROVER_EXIT_OK;
    if (!write_report(a, &f, res, &err)) {
        char *text = drv_error_format(&err);
        fprintf(stderr, "drover: %s\n", text);
        free(text);
        rc = DROVER_EXIT_FAILED;
    }
    print_failures(res, f.nselected);
    for (size_t i = 0; i < f.nselected; i++)
        exec_result_free(&res[i]);
    free(res);
out:
    drv_error_clear(&err);
    fleet_free(&f);
    return rc;
}

static int run_new(const CliArgs *a)
{
    DrvError err = DRV_ERROR_INIT;
    Inventory *inv = inv_load(a->config, &err);
    char *path = NULL;
    int rc = DROVER_EXIT_OK;
    if (!inv || !mig_new(inv->migrations_path, a->new_name, a->js, &path, &err))
        rc = fail_usage(&err);
    else
        printf("%s\n", path);
    free(path);
    inv_free(inv);
    drv_error_clear(&err);
    return rc;
}

int main(int argc, char **argv)
{
    CliArgs args;
    DrvError err = DRV_ERROR_INIT;
    int rc;
    if (!cli_parse(argc, argv, &args, &err)) {
        rc = fail_usage(&err);
    } else if (args.help) {
        cli_print_help(args.command);
        rc = DROVER_EXIT_OK;
    } else if (args.version) {
        printf("drover %s\n", DROVER_VERSION);
        rc = DROVER_EXIT_OK;
    } else if (args.command == CMD_NEW) {
        rc = run_new(&args);
    } else {
        rc = run_fleet_command(&args);
    }
    cli_args_free(&args);
    drv_error_clear(&err);
    return rc;
}

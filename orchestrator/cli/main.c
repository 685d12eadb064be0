/*
 * main.c — the drover command line: parse, dispatch to a command, return its exit code.
 * Exit codes are chosen by the commands from exitcodes.h, never deeper.
 */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "exitcodes.h"
#include "options.h"

void cli_print_error(const DrvError *err)
{
    char *text = drv_error_format(err);
    fprintf(stderr, "drover: %s\n", text);
    free(text);
}

int cli_fail_usage(const DrvError *err)
{
    cli_print_error(err);
    if (err->kind == DRV_ERR_USAGE)
        fprintf(stderr, "Try 'drover --help'.\n");
    return DROVER_EXIT_USAGE;
}

static int dispatch(const CliArgs *a)
{
    switch (a->command) {
    case CMD_NEW: return cmd_new(a);
    case CMD_LOCKS: return cmd_locks(a);
    case CMD_RUNS: return cmd_runs(a);
    case CMD_RESOLVE: return cmd_resolve(a);
    default: return cmd_fleet(a);
    }
}

int main(int argc, char **argv)
{
    CliArgs args;
    DrvError err = DRV_ERROR_INIT;
    int rc;
    if (!cli_parse(argc, argv, &args, &err)) {
        rc = cli_fail_usage(&err);
    } else if (args.help) {
        cli_print_help(args.command);
        rc = DROVER_EXIT_OK;
    } else if (args.version) {
        printf("drover %s\n", DROVER_VERSION);
        rc = DROVER_EXIT_OK;
    } else {
        rc = dispatch(&args);
    }
    cli_args_free(&args);
    drv_error_clear(&err);
    return rc;
}

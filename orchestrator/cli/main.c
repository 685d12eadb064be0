/*
 * main.c — the drover command line: parse, dispatch to a command, return its exit code.
 * Exit codes are chosen by the commands from drover/exitcodes.h, never deeper.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli_error.h"
#include "commands.h"
#include "drover/exitcodes.h"
#include "options.h"

static int dispatch(const CliArgs *a)
{
    switch (a->command) {
    case CMD_NEW: return cmd_new(a);
    case CMD_LOCKS: return cmd_locks(a);
    case CMD_RUNS: return cmd_runs(a);
    case CMD_RESOLVE: return cmd_resolve(a);
    case CMD_INIT: return cmd_init(a);
    case CMD_LINT: return cmd_lint(a);
    default: return cmd_fleet(a);
    }
}

int main(int argc, char **argv)
{
    CliArgs args;
    DroverError err = DROVER_ERROR_INIT;
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
    error_clear(&err);
    return rc;
}

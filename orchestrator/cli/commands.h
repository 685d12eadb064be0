/*
 * commands.h — one function per drover subcommand; each returns the process exit code
 * (exitcodes.h) and prints its own errors.
 */
#ifndef DROVER_CLI_COMMANDS_H
#define DROVER_CLI_COMMANDS_H

#include "drover/error.h"
#include "options.h"

int cmd_fleet(const CliArgs *a);   /* plan, migrate, undo, status, check */
int cmd_locks(const CliArgs *a);
int cmd_runs(const CliArgs *a);
int cmd_resolve(const CliArgs *a);
int cmd_new(const CliArgs *a);

/* Prints err on stderr ("drover: ..."), with a pointer to --help for usage errors, and
 * returns DROVER_EXIT_USAGE. */
int cli_fail_usage(const DrvError *err);
/* Prints err on stderr without choosing an exit code. */
void cli_print_error(const DrvError *err);

#endif

/*
 * commands.h — one function per drover subcommand; each returns the process exit code
 * (exitcodes.h) and prints its own errors.
 */
#ifndef DROVER_CLI_COMMANDS_H
#define DROVER_CLI_COMMANDS_H

#include "cli_error.h"
#include "options.h"

int cmd_fleet(const CliArgs *a);   /* plan, migrate, undo, status, check */
int cmd_locks(const CliArgs *a);
int cmd_runs(const CliArgs *a);
int cmd_resolve(const CliArgs *a);
int cmd_new(const CliArgs *a);
int cmd_init(const CliArgs *a);
int cmd_lint(const CliArgs *a);

#endif

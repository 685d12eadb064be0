/*
 * cli_error.h — how the drover CLI shows an error: one "drover: ..." block on stderr. Below
 * main.c and every command file, so that neither calls back into the other.
 */
#ifndef DROVER_CLI_ERROR_H
#define DROVER_CLI_ERROR_H

#include "drover/error.h"

/* Prints err on stderr ("drover: ..."), with a pointer to --help for usage errors, and
 * returns DROVER_EXIT_USAGE. */
int cli_fail_usage(const DroverError *err);
/* Prints err on stderr without choosing an exit code. */
void cli_print_error(const DroverError *err);

#endif

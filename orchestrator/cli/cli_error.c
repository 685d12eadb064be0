/*
 * cli_error.c — printing errors for a person (cli_error.h).
 */
#include "cli_error.h"

#include <stdio.h>
#include <stdlib.h>

#include "drover/exitcodes.h"

void cli_print_error(const DroverError *err)
{
    char *text = error_format(err);
    fprintf(stderr, "drover: %s\n", text);
    free(text);
}

int cli_fail_usage(const DroverError *err)
{
    cli_print_error(err);
    if (err->kind == ERR_USAGE)
        fprintf(stderr, "Try 'drover --help'.\n");
    return DROVER_EXIT_USAGE;
}

/*
 * exitcodes.h — drover's exit codes, chosen only in main(). Documented in README and --help.
 */
#ifndef DROVER_EXITCODES_H
#define DROVER_EXITCODES_H

enum {
    DROVER_EXIT_OK = 0,     /* every selected tenant is fine */
    DROVER_EXIT_FAILED = 1, /* one or more tenants failed or were unreachable */
    DROVER_EXIT_USAGE = 2,  /* bad usage, config, or input; nothing was touched */
};

#endif

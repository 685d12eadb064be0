/*
 * exitcodes.h — drover's exit codes, chosen only in main(). Documented in README and --help.
 */
#ifndef DROVER_EXITCODES_H
#define DROVER_EXITCODES_H

enum {
    DROVER_EXIT_OK = 0,     /* every selected tenant is fine */
    DROVER_EXIT_FAILED = 1, /* a tenant failed, was unreachable or locked, or the run halted */
    DROVER_EXIT_USAGE = 2,  /* bad usage, config, or input; nothing was touched */
    DROVER_EXIT_INTERRUPTED = 130, /* SIGINT/SIGTERM: dispatching stopped, running jobs ended */
};

#endif

/*
 * exitcodes.h — the one home of every exit code drover and drover-agent return (documented in
 * the README and --help). Only a face's main path chooses one; the library never exits, it
 * only says which of these a status result maps to (report_status_exit_code).
 */
#ifndef DROVER_EXITCODES_H
#define DROVER_EXITCODES_H

enum {
    DROVER_EXIT_OK = 0,     /* every selected tenant is fine */
    DROVER_EXIT_FAILED = 1, /* a tenant failed, was unreachable or locked, or the run halted */
    DROVER_EXIT_USAGE = 2,  /* bad usage, config, or input; nothing was touched */
    DROVER_EXIT_INTERRUPTED = 130, /* SIGINT/SIGTERM: dispatching stopped, running jobs ended */
    /* status --exit-code: 0 all current; 10 some behind (nothing worse); 11 some drifted
     * (schema or unknown rows, nothing worse); 12 some failed, unreachable, dirty or locked. */
    DROVER_EXIT_STATUS_BEHIND = 10,
    DROVER_EXIT_STATUS_DRIFTED = 11,
    DROVER_EXIT_STATUS_FAILED = 12,
};

#endif

/*
 * progress.h — what a person (or a log collector) sees while a run goes on: on a terminal one
 * live line (done/total, running, failed, elapsed, ETA) above the per-tenant lines; otherwise a
 * line per tenant; with --log-format json, structured lines on stderr, one per migration step
 * and one per tenant.
 */
#ifndef DROVER_CLI_PROGRESS_H
#define DROVER_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "drover/rollout.h"
#include "options.h"

typedef struct Progress {
    const char *command;
    CliFormat log_format;
    bool live;          /* a terminal: redraw one line on stderr */
    bool tenant_lines;  /* print each tenant's result line on stdout as it finishes */
    bool line_shown;
    double started;
} Progress;

void progress_init(Progress *p, const char *command, CliFormat log_format, bool tenant_lines);
void progress_tenant(Progress *p, const ExecResult *res, const RolloutProgress *rp);
/* progress_revised shows a tenant again after compensation reverted it: JSON lines for the
 * steps from first_new_step on and a new tenant line; in text, the tenant's line again. */
void progress_revised(Progress *p, const ExecResult *res, size_t first_new_step);
void progress_halted(Progress *p, const char *reason);
void progress_end(Progress *p);
/* progress_output shows a line a .js migration printed: "drover: tenant 'T': migration 'M':
 * stdout: LINE" on stderr, or a JSON line {"event":"output",...}. Any thread. */
void progress_output(const ExecOutput *out, void *progress);

#endif

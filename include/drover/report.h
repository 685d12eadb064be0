/*
 * report.h — turning result records into what people and programs read: a terminal table or
 * per-tenant lines, and JSON (jansson). Knows nothing of how the records were produced.
 */
#ifndef DROVER_REPORT_H
#define DROVER_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "drover/executor.h"
#include "drover/exitcodes.h"
#include "drover/fleetview.h"
#include "drover/inventory.h"
#include "drover/migration.h"

#define REPORT_SCHEMA_VERSION 1

/* Counts used by every format, so that all of them show the same numbers. */
typedef struct ReportCounts {
    size_t tenants;
    size_t by_outcome[EXEC_OUT_COUNT];
    size_t by_state[EXEC_STATE_COUNT];
    size_t failed; /* outcomes for which exec_outcome_is_failure holds */
} ReportCounts;

void report_count(const ExecResult *res, size_t n, ReportCounts *out);

/* plan / migrate / undo / check results: {"schema_version","command","outcome","tenants":[...],
 * "summary":{...}}. The caller owns the returned reference. */
json_t *report_run_json(const char *command, const ExecResult *res, size_t n);
/* report_tenant_json: one tenant as a JSON report shows it — a run tenant of
 * report_run_json, or for "status" a status tenant (docs/json.md) plus "outcome", "attempts",
 * "seconds" and the --schema lines as "schema". drover-agent sends these. Caller owns it. */
json_t *report_tenant_json(const char *command, const ExecResult *r);
/* report_tenant_from_json is its inverse (report_parse.c): it fills res from a tenant object
 * — outcome, lists, state, errors, steps, dialect and url (as agent_dialect/agent_url) —
 * keeping res->tenant, which the caller sets. On a malformed object it returns false with
 * err set (ERR_INTERNAL) and res partly filled (free it with exec_result_free). */
bool report_tenant_from_json(const json_t *o, ExecResult *res, DroverError *err);

/* Everything a status report shows; every format reads the same input. */
typedef struct ReportInput {
    const Inventory *inv;
    const MigSet *set;
    const ExecResult *res; /* rollout order */
    size_t n;
    const FleetView *view;
    double generated_at;   /* Unix time */
    bool color;            /* table only: ANSI colours (a terminal) */
    bool all;              /* table and markdown: every tenant, however many (status --all) */
    /* status: the tenants that appeared in or disappeared from the inventory since the
     * journal's newest run (fleet_since_run; 0: none recorded). NULL lists: not known. */
    int64_t fleet_since_run;
    const StrList *appeared;
    const StrList *disappeared;
} ReportInput;

/* Above this many tenants the table and the markdown list only the tenants that are not
 * current (with a count of the rest), unless ReportInput.all; machine formats keep all. */
#define REPORT_COMPACT_OVER 50
#define REPORT_COMPACT_OVER_TEXT "50"

/* status: {"schema_version","migrations":[...],"tenants":[...],"summary":{...},"views":{...}}
 * (docs/json.md). */
json_t *report_status_json(const ReportInput *in);
/* The other status formats. Each returns false only when writing to out fails. */
bool report_status_csv(FILE *out, const ReportInput *in);      /* one row per tenant */
bool report_status_junit(FILE *out, const ReportInput *in);    /* one testcase per tenant */
bool report_status_prom(FILE *out, const ReportInput *in);     /* textfile collector */
bool report_status_markdown(FILE *out, const ReportInput *in); /* pull requests, chat */
bool report_status_html(FILE *out, const ReportInput *in);     /* one self-contained page */

/* status --exit-code: the DROVER_EXIT_STATUS_* code (exitcodes.h) the results call for. */
int report_status_exit_code(const ExecResult *res, size_t n);

/* Human forms: one line per tenant (failures followed by the full error), then, when summary
 * is true, the summary line that report_run_summary prints. */
void report_run_text(FILE *out, const char *command, const ExecResult *res, size_t n,
                     bool summary);
void report_run_summary(FILE *out, const char *command, const ExecResult *res, size_t n);
void report_status_table(FILE *out, const ReportInput *in);

/* Writes json to path ("-" or NULL: stdout), indented, with a final newline. */
bool report_write_json(json_t *json, const char *path, DroverError *err);

/*
 * A report file appears whole or not at all: it is written to "PATH.tmp-PID" beside PATH and
 * renamed over PATH once complete, so a reader (node_exporter's textfile collector, a CI step,
 * a browser) never sees half a report and a failed run leaves the previous file in place.
 * report_out_open returns NULL with err set when the file cannot be created;
 * report_out_close(out, ok) renames when ok and everything was written, else removes the
 * temporary file, and returns whether PATH now holds the report.
 */
typedef struct ReportOut {
    FILE *f;
    char *path;
    char *tmp;
} ReportOut;
bool report_out_open(ReportOut *out, const char *path, DroverError *err);
bool report_out_close(ReportOut *out, bool ok, DroverError *err);

#endif

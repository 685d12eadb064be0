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
/* status: {"schema_version","migrations":[...],"tenants":[...],"summary":{...}}. */
json_t *report_status_json(const MigSet *set, const ExecResult *res, size_t n);

/* Human forms: one line per tenant (failures followed by the full error), then, when summary
 * is true, the summary line that report_run_summary prints. */
void report_run_text(FILE *out, const char *command, const ExecResult *res, size_t n,
                     bool summary);
void report_run_summary(FILE *out, const char *command, const ExecResult *res, size_t n);
void report_status_table(FILE *out, const ExecResult *res, size_t n);

/* Writes json to path ("-" or NULL: stdout), indented, with a final newline. */
bool report_write_json(json_t *json, const char *path, DrvError *err);

#endif

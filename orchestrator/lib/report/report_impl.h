/*
 * report_impl.h — private to the report module: what every status format shares, so that they
 * judge, word and count tenants the same way (report.c, report_views.c, report_formats.c,
 * report_markdown.c).
 */
#ifndef DROVER_REPORT_IMPL_H
#define DROVER_REPORT_IMPL_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "drover/report.h"

/* report_needs_attention: a tenant a person must look at — its status job failed, or it is
 * drifted, dirty, locked or unreachable (the tenants behind exit codes 11 and 12). */
bool report_needs_attention(const ExecResult *r);
/* report_problem names why in one word: the state, or "failed" when only the job failed. */
const char *report_problem(const ExecResult *r);
/* report_problem_detail says what is wrong in one line ("" when nothing more is known): the
 * dirty migration, the lock holder, unknown rows, the schema drift, the error. Caller frees. */
char *report_problem_detail(const ExecResult *r);
/* report_meta_read: whether SequelizeMeta was read, so applied/pending/unknown mean something. */
bool report_meta_read(const ExecResult *r);
/* report_last_run_success: 1 when the last migrate/undo left the tenant where the run wanted
 * it (migrated, reverted, up_to_date, pending, ok), 0 for any other outcome, -1 without a
 * recorded run. */
int report_last_run_success(const ExecResult *r);
/* report_iso_time: "2024-01-31T12:00:00Z" (UTC, whole seconds); NULL when t <= 0. Caller
 * frees. */
char *report_iso_time(double t);
/* report_gap_missing: the pending migrations that sort before the tenant's last applied one,
 * in file order (empty without a gap). */
void report_gap_missing(const MigSet *set, const ExecResult *r, StrList *out);
/* report_head: the last applied migration, NULL when none. */
const char *report_head(const ExecResult *r);

/* plan --sql (report_preview.c): a tenant's "sql" object (docs/json.md), and its text form
 * under the tenant's line. */
json_t *report_preview_json(const ExecResult *r);
void report_preview_text(FILE *out, const ExecResult *r);
/* A DroverError as the JSON error object (docs/json.md), json null when unset. */
json_t *report_error_json(const DroverError *e);

/* The status JSON's "views" object (docs/json.md). Caller owns the reference. */
json_t *report_views_json(const ReportInput *in);
/* A list of strings as a JSON array. */
json_t *report_strings_json(const StrList *l);
/* The status table's sections after the tenant rows: per environment, heads, gaps. */
void report_table_views(FILE *out, const ReportInput *in);

#endif

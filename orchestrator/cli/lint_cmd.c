/*
 * lint_cmd.c — `drover lint`: the migration set against the safety rules (drover/lint.h),
 * as text (FILE:LINE: RULE message, then the hint), JSON or SARIF. Exit 0 without an
 * error-level finding, 1 with one, 2 when the config or a migration file is bad input.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "drover/exitcodes.h"
#include "drover/inventory.h"
#include "drover/lint.h"
#include "drover/report.h"

static void print_text(FILE *out, const LintReport *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const LintFinding *f = &r->items[i];
        fprintf(out, "%s:%d: %s %s: %s\n  hint: %s\n", f->file, f->line,
                lint_severity_name(f->rule->severity), f->rule->id, f->message, f->rule->hint);
    }
    fprintf(out, "lint: %zu error%s, %zu warning%s, %zu note%s", lint_count(r, LINT_ERROR),
            lint_count(r, LINT_ERROR) == 1 ? "" : "s", lint_count(r, LINT_WARNING),
            lint_count(r, LINT_WARNING) == 1 ? "" : "s", lint_count(r, LINT_INFO),
            lint_count(r, LINT_INFO) == 1 ? "" : "s");
    if (r->ignored)
        fprintf(out, ", %zu ignored by drover:lint-ignore", r->ignored);
    fputc('\n', out);
}

static bool write_findings(const CliArgs *a, const LintReport *r, DroverError *err)
{
    if (a->format != FMT_TEXT) {
        json_t *doc = a->format == FMT_SARIF ? lint_sarif(r) : lint_json(r);
        bool ok = report_write_json(doc, a->out, err);
        json_decref(doc);
        return ok;
    }
    if (!a->out || strcmp(a->out, "-") == 0) {
        print_text(stdout, r);
        return fflush(stdout) == 0;
    }
    ReportOut out;
    if (!report_out_open(&out, a->out, err))
        return false;
    print_text(out.f, r);
    return report_out_close(&out, true, err);
}

int cmd_lint(const CliArgs *a)
{
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(a->config, &err);
    MigSet set = {0};
    int rc = DROVER_EXIT_OK;
    if (!inv || !mig_discover(inv->migrations_path, &set, &err)) {
        rc = cli_fail_usage(&err);
    } else {
        LintReport r;
        lint_set(&set, &r);
        if (!write_findings(a, &r, &err)) {
            cli_print_error(&err);
            rc = DROVER_EXIT_FAILED;
        } else if (lint_count(&r, LINT_ERROR)) {
            rc = DROVER_EXIT_FAILED;
        }
        lint_report_free(&r);
    }
    mig_set_free(&set);
    inv_free(inv);
    error_clear(&err);
    return rc;
}

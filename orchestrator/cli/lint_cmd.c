/*
 * lint_cmd.c — `drover lint`: the migration set against the safety rules (drover/lint.h),
 * as text (FILE:LINE: RULE message, then the hint), JSON or SARIF. Exit 0 without an
 * error-level finding, 1 with one (or, with --pending, a selected tenant that could not be
 * read), 2 when the config or a migration file is bad input.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "drover/fleetrun.h"
#include "fleet.h"
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

/* js_pending: how many .js migrations a tenant lacks. */
static size_t js_pending(const Fleet *f, const ExecResult *res)
{
    size_t n = 0;
    for (size_t k = 0; k < res->pending.n; k++) {
        ssize_t m = mig_find(&f->migs, res->pending.items[k]);
        n += m >= 0 && f->migs.items[m].kind == MIG_JS;
    }
    return n;
}

/* pending_set reads every selected tenant with plan and keeps, in *out (items shared with
 * f->migs: free only out->items), the migrations at least one of them lacks. A tenant that
 * cannot be read is said on stderr and makes *unread true. *preview_at: the selected
 * PostgreSQL tenant (an index into f->selected) that lacks the most .js migrations, or -1. */
static bool pending_set(const CliArgs *a, Fleet *f, MigSet *out, bool *unread,
                        ssize_t *preview_at, DroverError *err)
{
    size_t most = 0;
    *preview_at = -1;
    FleetRunOptions o = {.exec = fleet_exec_options(a, f, "drover lint")};
    FleetRun *run = fleetrun_new(f->inv, &f->migs, f->selected, f->nselected, &o, err);
    if (!run)
        return false;
    fleetrun_run(run, NULL);
    const ExecResult *res = fleetrun_results(run);
    StrList names = STRLIST_INIT;
    for (size_t i = 0; i < f->nselected; i++) {
        if (exec_outcome_is_failure(res[i].outcome)) {
            fprintf(stderr, "drover: lint --pending: tenant '%s' could not be read (%s); what it "
                            "lacks is not linted\n", res[i].tenant->id,
                    res[i].error.message ? res[i].error.message : "unknown error");
            *unread = true;
        }
        for (size_t k = 0; k < res[i].pending.n; k++)
            if (!sl_contains(&names, res[i].pending.items[k]))
                sl_push(&names, res[i].pending.items[k]);
        size_t js = js_pending(f, &res[i]);
        if (js > most && res[i].tenant->url.dialect == DB_POSTGRES && !res[i].tenant->agent) {
            most = js;
            *preview_at = (ssize_t)i;
        }
    }
    fleetrun_free(run);
    *out = (MigSet){.dir = f->migs.dir, .items = xcalloc(f->migs.n ? f->migs.n : 1,
                                                         sizeof *out->items)};
    for (size_t i = 0; i < f->migs.n; i++)
        if (sl_contains(&names, f->migs.items[i].name))
            out->items[out->n++] = f->migs.items[i];
    sl_free(&names);
    return true;
}

/* The .js statements captured for lint, and what owns them. */
typedef struct JsCapture {
    LintJsStatements *items;
    StrList *lists;
    char **whys;
    size_t n;
} JsCapture;

static void capture_free(JsCapture *c)
{
    for (size_t i = 0; i < c->n; i++) {
        sl_free(&c->lists[i]);
        free(c->whys[i]);
    }
    free(c->items);
    free(c->lists);
    free(c->whys);
}

/* keep_sent copies what a preview logged for a .js migration, without drover's SequelizeMeta
 * INSERT (the last statement). */
static void keep_sent(const ExecPreview *p, StrList *out)
{
    size_t n = p->statements.n;
    if (n && strstr(p->statements.items[n - 1], "INSERT INTO"))
        n--;
    for (size_t i = 0; i < n; i++)
        sl_push(out, p->statements.items[i]);
}

/*
 * capture_js runs plan --sql on one PostgreSQL tenant (the pending .js migrations run in one
 * transaction that is always rolled back) and keeps, per pending .js migration of set, what it
 * sent, or why that is not known. Never fails the lint: what cannot be captured is said.
 */
static void capture_js(const CliArgs *a, Fleet *f, const MigSet *set, ssize_t at,
                       JsCapture *c)
{
    *c = (JsCapture){.items = xcalloc(set->n + 1, sizeof *c->items),
                     .lists = xcalloc(set->n + 1, sizeof *c->lists),
                     .whys = xcalloc(set->n + 1, sizeof *c->whys)};
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].kind == MIG_JS) {
            c->items[c->n].migration = set->items[i].name;
            c->whys[c->n] = xstrdup(at < 0 ? "no selected PostgreSQL tenant lacks it, so its "
                                             "statements could not be previewed"
                                           : "the tenant previewed does not lack it");
            c->n++;
        }
    if (at < 0 || c->n == 0)
        goto out;
    FleetRunOptions o = {.exec = fleet_exec_options(a, f, "drover lint")};
    o.exec.command = EXEC_PLAN;
    o.exec.sql_preview = true;
    DroverError err = DROVER_ERROR_INIT;
    FleetRun *run = fleetrun_new(f->inv, &f->migs, &f->selected[at], 1, &o, &err);
    if (run)
        fleetrun_run(run, NULL);
    const ExecResult *res = run ? fleetrun_results(run) : NULL;
    for (size_t i = 0; i < c->n; i++) {
        const ExecPreview *p = NULL;
        for (size_t k = 0; res && k < res->npreviews; k++)
            if (strcmp(res->previews[k].migration, c->items[i].migration) == 0)
                p = &res->previews[k];
        char *why = !run ? xasprintf("the preview could not start: %s", err.message)
                    : p && p->executed && p->statements_known && !p->error ? NULL
                    : p && p->error ? xasprintf("its preview failed: %s", p->error)
                    : p && p->note  ? xasprintf("not previewed: %s", p->note)
                    : NULL;
        if (p && !why) {
            keep_sent(p, &c->lists[i]);
            c->items[i].statements = &c->lists[i];
            free(c->whys[i]);
            c->whys[i] = NULL;
        } else if (why) {
            free(c->whys[i]);
            c->whys[i] = why;
        }
    }
    fleetrun_free(run);
    error_clear(&err);
out:
    for (size_t i = 0; i < c->n; i++)
        c->items[i].why_not = c->whys[i];
}

/* fleet_dialects: the dialects of the inventory's tenants (the selected ones when selected is
 * given), which choose the dialect rules; tenants from a catalogue count only once read
 * (--pending). */
static unsigned fleet_dialects(const Inventory *inv, const size_t *selected, size_t n)
{
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++)
        bits |= LINT_DIALECT(inv->tenants[selected ? selected[i] : i].url.dialect);
    return bits;
}

static int lint_and_write(const CliArgs *a, const MigSet *set, const LintOptions *o,
                          DroverError *err)
{
    LintReport r;
    lint_set(set, o, &r);
    int rc = DROVER_EXIT_OK;
    if (!write_findings(a, &r, err)) {
        cli_print_error(err);
        rc = DROVER_EXIT_FAILED;
    } else if (lint_count(&r, LINT_ERROR)) {
        rc = DROVER_EXIT_FAILED;
    }
    lint_report_free(&r);
    return rc;
}

int cmd_lint(const CliArgs *a)
{
    DroverError err = DROVER_ERROR_INIT;
    Fleet f = {0};
    int rc;
    if (a->pending) {
        MigSet pending = {0};
        bool unread = false;
        ssize_t preview_at = -1;
        if (!fleet_load(a, &f, &err) ||
            !pending_set(a, &f, &pending, &unread, &preview_at, &err)) {
            rc = cli_fail_usage(&err);
        } else {
            JsCapture js;
            capture_js(a, &f, &pending, preview_at, &js);
            LintOptions o = {.dialects = fleet_dialects(f.inv, f.selected, f.nselected),
                             .js = js.items, .njs = js.n};
            rc = lint_and_write(a, &pending, &o, &err);
            capture_free(&js);
            if (unread)
                rc = DROVER_EXIT_FAILED;
        }
        free(pending.items);
    } else {
        f.inv = inv_load(a->config, &err);
        LintOptions o = {.dialects = f.inv ? fleet_dialects(f.inv, NULL, f.inv->ntenants) : 0};
        if (!f.inv || !mig_discover(f.inv->migrations_path, &f.migs, &err))
            rc = cli_fail_usage(&err);
        else
            rc = lint_and_write(a, &f.migs, &o, &err);
    }
    fleet_free(&f);
    error_clear(&err);
    return rc;
}

/*
 * report.c — text and JSON renderings of tenant result records (see report.h). The JSON shape
 * is documented in docs/json.md and versioned by "schema_version"; change both together.
 */
#include "report_impl.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void report_count(const ExecResult *res, size_t n, ReportCounts *out)
{
    memset(out, 0, sizeof *out);
    out->tenants = n;
    for (size_t i = 0; i < n; i++) {
        out->by_outcome[res[i].outcome]++;
        out->by_state[res[i].state]++;
        if (exec_outcome_is_failure(res[i].outcome))
            out->failed++;
    }
}

json_t *report_strings_json(const StrList *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->items[i]));
    return a;
}

json_t *report_error_json(const DroverError *e)
{
    if (!error_is_set(e))
        return json_null();
    char *summary = error_summary(e);
    json_t *o = json_pack("{s:s}", "message", summary);
    free(summary);
    json_object_set_new(o, "sqlstate", e->sqlstate[0] ? json_string(e->sqlstate) : json_null());
    json_object_set_new(o, "code", e->code ? json_integer(e->code) : json_null());
    json_object_set_new(o, "migration", e->migration ? json_string(e->migration) : json_null());
    json_object_set_new(o, "statement", e->statement ? json_string(e->statement) : json_null());
    json_object_set_new(o, "hint", e->hint ? json_string(e->hint) : json_null());
    /* The parts "message" is made of, so a reader (the coordinator of an agent) can rebuild
     * the error instead of nesting one summary in another. */
    json_object_set_new(o, "migration", e->migration ? json_string(e->migration) : json_null());
    json_object_set_new(o, "detail", e->message ? json_string(e->message) : json_null());
    return o;
}

static json_t *verify_json(const ExecResult *r)
{
    json_t *list = json_array();
    for (size_t i = 0; i < r->nverifies; i++)
        json_array_append_new(list, json_pack("{s:s, s:b, s:s?}", "migration",
                                              r->verifies[i].migration, "ok", r->verifies[i].ok,
                                              "problem", r->verifies[i].problem));
    return json_pack("{s:o, s:s?}", "migrations", list, "where", r->verify_note);
}

static json_t *steps_json(const ExecResult *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->nsteps; i++) {
        const ExecStep *s = &r->steps[i];
        json_array_append_new(a, json_pack("{s:s?,s:s,s:f,s:f,s:i,s:b,s:s?}", "migration",
                                           s->migration, "direction", s->up ? "up" : "down",
                                           "started_at", s->started_at, "ended_at", s->ended_at,
                                           "attempts", s->attempts, "ok", s->ok, "error",
                                           s->error));
    }
    return a;
}

static json_t *renamed_json(const ExecResult *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->renamed_rows.n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s}", "row", r->renamed_rows.items[i], "file",
                                           r->renamed_files.items[i]));
    return a;
}

static json_t *tenant_base_json(const ExecResult *r)
{
    const InvTenant *t = r->tenant;
    return json_pack("{s:s,s:s,s:s,s:s}", "id", t->id, "env", t->env, "dialect",
                     exec_result_dialect(r), "url", exec_result_url(r));
}

static json_t *run_tenant_json(const char *command, const ExecResult *r)
{
    json_t *o = tenant_base_json(r);
    json_object_set_new(o, "outcome", json_string(exec_outcome_name(r->outcome)));
    json_object_set_new(o, "applied", report_strings_json(&r->applied));
    json_object_set_new(o, "reverted", report_strings_json(&r->reverted));
    if (strcmp(command, "plan") == 0 || r->planned.n) {
        json_object_set_new(o, "planned", report_strings_json(&r->planned));
        json_object_set_new(o, "pending", report_strings_json(&r->pending));
        json_object_set_new(o, "unknown", report_strings_json(&r->unknown));
        json_object_set_new(o, "renamed", renamed_json(r));
        json_object_set_new(o, "applied_before", json_integer((json_int_t)r->have.n));
    }
    if (r->sql_previewed)
        json_object_set_new(o, "sql", report_preview_json(r));
    if (strcmp(command, "verify") == 0)
        json_object_set_new(o, "verify", verify_json(r));
    json_object_set_new(o, "partial", json_boolean(r->partial));
    json_object_set_new(o, "skipped_by_check", json_boolean(r->skipped_by_check));
    json_object_set_new(o, "dirty_migration",
                        r->dirty_migration ? json_string(r->dirty_migration) : json_null());
    json_object_set_new(o, "attempts", json_integer(r->attempts));
    json_object_set_new(o, "error", report_error_json(&r->error));
    json_object_set_new(o, "rollback_error", report_error_json(&r->rollback_error));
    json_object_set_new(o, "seconds", json_real(r->seconds));
    json_object_set_new(o, "steps", steps_json(r));
    return o;
}

static json_t *outcome_summary(const ReportCounts *c)
{
    json_t *o = json_pack("{s:I}", "tenants", (json_int_t)c->tenants);
    for (int i = 0; i < EXEC_OUT_COUNT; i++)
        json_object_set_new(o, exec_outcome_name((ExecOutcome)i),
                            json_integer((json_int_t)c->by_outcome[i]));
    return o;
}

json_t *report_run_json(const char *command, const ExecResult *res, size_t n)
{
    ReportCounts c;
    report_count(res, n, &c);
    json_t *tenants = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(tenants, run_tenant_json(command, &res[i]));
    return json_pack("{s:i,s:s,s:s,s:o,s:o}", "schema_version", REPORT_SCHEMA_VERSION, "command",
                     command, "outcome", c.failed ? "failed" : "succeeded", "tenants", tenants,
                     "summary", outcome_summary(&c));
}

/* schema_drift_json: the lines this tenant adds to and lacks from its peers' schema, or null
 * when it does not differ (or --schema was not given). */
static json_t *schema_drift_json(const ExecResult *r)
{
    if (!r->schema_drift)
        return json_null();
    return json_pack("{s:o,s:o}", "added", report_strings_json(&r->drift_added), "missing",
                     report_strings_json(&r->drift_missing));
}

static json_t *last_run_json(const ExecResult *r)
{
    if (!r->last_run_id)
        return json_null();
    return json_pack("{s:I,s:s?,s:f}", "id", (json_int_t)r->last_run_id, "outcome",
                     r->last_run_outcome, "ended_at", r->last_run_at);
}

static json_t *status_tenant_json(const ExecResult *r)
{
    json_t *o = tenant_base_json(r);
    json_object_set_new(o, "state", json_string(exec_state_name(r->state)));
    json_object_set_new(o, "applied", report_strings_json(&r->have));
    json_object_set_new(o, "pending", report_strings_json(&r->pending));
    json_object_set_new(o, "unknown", report_strings_json(&r->unknown));
    json_object_set_new(o, "renamed", renamed_json(r));
    /* An unreachable tenant's SequelizeMeta was never read: unknown, not "exists". */
    json_object_set_new(o, "dirty_migration",
                        r->dirty_migration ? json_string(r->dirty_migration) : json_null());
    json_object_set_new(o, "meta_table_exists", r->state == EXEC_STATE_UNREACHABLE
                                                     ? json_null()
                                                     : json_boolean(!r->meta_missing));
    json_object_set_new(o, "fingerprint",
                        r->fingerprint ? json_string(r->fingerprint) : json_null());
    json_object_set_new(o, "schema_drift", schema_drift_json(r));
    json_object_set_new(o, "gap", json_boolean(r->gap));
    json_object_set_new(o, "lock_holder",
                        r->lock_holder ? json_string(r->lock_holder) : json_null());
    json_object_set_new(o, "last_run", last_run_json(r));
    json_object_set_new(o, "error", report_error_json(&r->error));
    return o;
}

json_t *report_tenant_json(const char *command, const ExecResult *r)
{
    if (strcmp(command, "status") != 0)
        return run_tenant_json(command, r);
    json_t *o = status_tenant_json(r);
    json_object_set_new(o, "outcome", json_string(exec_outcome_name(r->outcome)));
    json_object_set_new(o, "schema", report_strings_json(&r->schema_lines));
    json_object_set_new(o, "attempts", json_integer(r->attempts));
    json_object_set_new(o, "seconds", json_real(r->seconds));
    return o;
}

json_t *report_status_json(const ReportInput *in)
{
    const MigSet *set = in->set;
    const ExecResult *res = in->res;
    size_t n = in->n;
    ReportCounts c;
    report_count(res, n, &c);
    json_t *migrations = json_array();
    for (size_t i = 0; i < set->n; i++)
        json_array_append_new(migrations, json_string(set->items[i].name));
    json_t *tenants = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(tenants, status_tenant_json(&res[i]));
    json_t *summary = json_pack("{s:I}", "tenants", (json_int_t)c.tenants);
    for (int i = 0; i < EXEC_STATE_COUNT; i++)
        json_object_set_new(summary, exec_state_name((ExecState)i),
                            json_integer((json_int_t)c.by_state[i]));
    json_object_set_new(summary, "failed", json_integer((json_int_t)c.by_outcome[EXEC_OUT_FAILED]));
    return json_pack("{s:i,s:o,s:o,s:o,s:o}", "schema_version", REPORT_SCHEMA_VERSION,
                     "migrations", migrations, "tenants", tenants, "summary", summary, "views",
                     report_views_json(in));
}

static const char *last_of(const StrList *l)
{
    return l->n ? l->items[l->n - 1] : "-";
}

static void print_list(FILE *out, const char *label, const StrList *l)
{
    if (!l->n)
        return;
    fprintf(out, "    %s:\n", label);
    for (size_t i = 0; i < l->n; i++)
        fprintf(out, "      %s\n", l->items[i]);
}

static void print_error_block(FILE *out, const DroverError *e)
{
    char *text = error_format(e);
    fprintf(out, "    error: ");
    for (const char *p = text; *p; p++) {
        fputc(*p, out);
        if (*p == '\n')
            fputs("    ", out);
    }
    fputc('\n', out);
    free(text);
}

static void print_failure(FILE *out, const ExecResult *r)
{
    static const char *const labels[EXEC_OUT_COUNT] = {
        [EXEC_OUT_FAILED] = "FAILED", [EXEC_OUT_UNREACHABLE] = "UNREACHABLE",
        [EXEC_OUT_ROLLED_BACK] = "FAILED and rolled back", [EXEC_OUT_DIRTY] = "DIRTY",
    };
    fprintf(out, "%s", labels[r->outcome]);
    if (r->outcome == EXEC_OUT_ROLLED_BACK || r->outcome == EXEC_OUT_DIRTY)
        fprintf(out, " (applied %zu, reverted %zu)", r->applied.n, r->reverted.n);
    else if (r->applied.n)
        fprintf(out, " after applying %zu", r->applied.n);
    if (r->dirty_migration)
        fprintf(out, "; may be half-applied: %s", r->dirty_migration);
    fputc('\n', out);
    print_list(out, "applied", &r->applied);
    print_list(out, "reverted", &r->reverted);
    print_error_block(out, &r->error);
    if (error_is_set(&r->rollback_error))
        print_error_block(out, &r->rollback_error);
}

/* print_verify: verify's line per migration, where it ran, and the first problem's error. */
static void print_verify(FILE *out, const ExecResult *r)
{
    size_t bad = 0;
    for (size_t i = 0; i < r->nverifies; i++)
        bad += !r->verifies[i].ok;
    if (r->outcome == EXEC_OUT_OK && r->nverifies == 0)
        fprintf(out, "nothing pending to verify\n");
    else if (r->outcome == EXEC_OUT_OK)
        fprintf(out, "verified %zu: up, down and up again restore the schema\n", r->nverifies);
    else if (r->nverifies)
        fprintf(out, "FAILED: %zu of %zu verified migrations with a problem\n", bad,
                r->nverifies);
    else
        fprintf(out, "FAILED\n");
    for (size_t i = 0; i < r->nverifies; i++)
        fprintf(out, "    %s %s%s%s\n", r->verifies[i].ok ? "ok  " : "BAD ",
                r->verifies[i].migration, r->verifies[i].ok ? "" : ": ",
                r->verifies[i].ok ? "" : r->verifies[i].problem);
    if (r->verify_note)
        fprintf(out, "    (%s)\n", r->verify_note);
    if (r->outcome != EXEC_OUT_OK && (!r->nverifies || !bad))
        print_error_block(out, &r->error);
}

static void print_run_line(FILE *out, const char *command, const ExecResult *r)
{
    const InvTenant *t = r->tenant;
    fprintf(out, "%s (%s, %s): ", t->id, t->env, exec_result_dialect(r));
    if (strcmp(command, "verify") == 0 &&
        (r->outcome == EXEC_OUT_OK || r->outcome == EXEC_OUT_FAILED)) {
        print_verify(out, r);
        return;
    }
    switch (r->outcome) {
    case EXEC_OUT_MIGRATED:
        fprintf(out, "migrated %zu, now at %s\n", r->applied.n, last_of(&r->applied));
        break;
    case EXEC_OUT_REVERTED:
        fprintf(out, "reverted %zu\n", r->reverted.n);
        print_list(out, "reverted", &r->reverted);
        break;
    case EXEC_OUT_PENDING:
        fprintf(out, "%zu applied, would %s %zu\n", r->have.n,
                strcmp(command, "undo") == 0 ? "revert" : "apply", r->planned.n);
        print_list(out, strcmp(command, "undo") == 0 ? "revert" : "apply", &r->planned);
        break;
    case EXEC_OUT_UP_TO_DATE:
        fprintf(out, "%s\n", strcmp(command, "undo") == 0 ? "nothing to revert" : "up to date");
        break;
    case EXEC_OUT_OK:
        fprintf(out, "ok (%zu applied, %zu pending)\n", r->have.n, r->pending.n);
        break;
    case EXEC_OUT_SKIPPED:
        if (r->skipped_by_check) {
            fprintf(out, "skipped by a pre-check");
            if (r->applied.n)
                fprintf(out, " after applying %zu", r->applied.n);
            fprintf(out, "\n");
            print_list(out, "applied", &r->applied);
            print_error_block(out, &r->error);
        } else {
            fprintf(out, "skipped (not attempted)\n");
        }
        break;
    case EXEC_OUT_LOCKED:
        fprintf(out, "locked by another process\n");
        print_error_block(out, &r->error);
        break;
    case EXEC_OUT_FAILED:
    case EXEC_OUT_UNREACHABLE:
    case EXEC_OUT_ROLLED_BACK:
    case EXEC_OUT_DIRTY:
        print_failure(out, r);
        break;
    case EXEC_OUT_COUNT:
        break;
    }
    if (strcmp(command, "plan") == 0 && r->unknown.n)
        print_list(out, "unknown rows (no file)", &r->unknown);
    if (r->sql_previewed)
        report_preview_text(out, r);
}

void report_run_text(FILE *out, const char *command, const ExecResult *res, size_t n,
                     bool summary)
{
    for (size_t i = 0; i < n; i++)
        print_run_line(out, command, &res[i]);
    if (summary)
        report_run_summary(out, command, res, n);
}

void report_run_summary(FILE *out, const char *command, const ExecResult *res, size_t n)
{
    ReportCounts c;
    report_count(res, n, &c);
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += res[i].seconds;
    fprintf(out, "%s: %zu tenant%s", command, n, n == 1 ? "" : "s");
    for (int i = 0; i < EXEC_OUT_COUNT; i++)
        if (c.by_outcome[i])
            fprintf(out, ", %zu %s", c.by_outcome[i], exec_outcome_name((ExecOutcome)i));
    fprintf(out, " (%.2f s of database work)\n", total);
}

static int width_of(const char *s, int min)
{
    int w = (int)strlen(s);
    return w > min ? w : min;
}

/* print_schema_drift lists, under a tenant's row, the schema lines it has that its peers lack
 * (+) and those it lacks (-). */
static void print_schema_drift(FILE *out, const ExecResult *r)
{
    if (!r->schema_drift)
        return;
    for (size_t i = 0; i < r->drift_added.n; i++)
        fprintf(out, "    + %s\n", r->drift_added.items[i]);
    for (size_t i = 0; i < r->drift_missing.n; i++)
        fprintf(out, "    - %s\n", r->drift_missing.items[i]);
}

/* state_cell prints the state padded to its column, coloured on a terminal: green when
 * current, yellow when behind, red for everything a person must look at. */
static void state_cell(FILE *out, ExecState s, bool color)
{
    const char *name = exec_state_name(s);
    if (!color) {
        fprintf(out, "%-11s", name);
        return;
    }
    const char *code = s == EXEC_STATE_CURRENT ? "32" : s == EXEC_STATE_BEHIND ? "33" : "31";
    fprintf(out, "\033[%sm%s\033[0m%*s", code, name, 11 - (int)strlen(name), "");
}

void report_status_table(FILE *out, const ReportInput *in)
{
    const ExecResult *res = in->res;
    size_t n = in->n;
    int wid = 6, wenv = 3;
    for (size_t i = 0; i < n; i++) {
        wid = width_of(res[i].tenant->id, wid);
        wenv = width_of(res[i].tenant->env, wenv);
    }
    bool compact = !in->all && n > REPORT_COMPACT_OVER;
    fprintf(out, "%-*s  %-*s  %-8s  %-11s  %7s  %7s  %7s  %s\n", wid, "TENANT", wenv, "ENV",
            "DIALECT", "STATE", "APPLIED", "PENDING", "UNKNOWN", "LAST APPLIED");
    for (size_t i = 0; i < n; i++) {
        const ExecResult *r = &res[i];
        if (compact && r->state == EXEC_STATE_CURRENT)
            continue;
        fprintf(out, "%-*s  %-*s  %-8s  ", wid, r->tenant->id, wenv, r->tenant->env,
                exec_result_dialect(r));
        state_cell(out, r->state, in->color);
        fprintf(out, "  %7zu  %7zu  %7zu  %s\n", r->have.n, r->pending.n, r->unknown.n,
                last_of(&r->have));
        if (error_is_set(&r->error))
            print_error_block(out, &r->error);
        print_schema_drift(out, r);
    }
    const size_t *by = in->view->by_state;
    if (compact && by[EXEC_STATE_CURRENT])
        fprintf(out, "(%zu current tenant%s not listed; --all lists every tenant)\n",
                by[EXEC_STATE_CURRENT], by[EXEC_STATE_CURRENT] == 1 ? "" : "s");
    report_table_views(out, in);
    fprintf(out,
            "\n%zu tenant%s: %zu current, %zu behind, %zu drifted, %zu dirty, %zu locked, "
            "%zu unreachable\n",
            n, n == 1 ? "" : "s", by[EXEC_STATE_CURRENT], by[EXEC_STATE_BEHIND],
            by[EXEC_STATE_DRIFTED], by[EXEC_STATE_DIRTY], by[EXEC_STATE_LOCKED],
            by[EXEC_STATE_UNREACHABLE]);
}

bool report_out_open(ReportOut *out, const char *path, DroverError *err)
{
    out->path = xstrdup(path);
    out->tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
    out->f = fopen(out->tmp, "w");
    if (out->f)
        return true;
    error_set(err, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    free(out->tmp);
    free(out->path);
    *out = (ReportOut){0};
    return false;
}

bool report_out_close(ReportOut *out, bool ok, DroverError *err)
{
    bool written = !ferror(out->f);
    written = fclose(out->f) == 0 && written;
    if (ok && !written)
        error_set(err, ERR_IO, "cannot write '%s': %s", out->path, strerror(errno));
    ok = ok && written;
    if (ok && rename(out->tmp, out->path) != 0) {
        error_set(err, ERR_IO, "cannot write '%s': %s", out->path, strerror(errno));
        ok = false;
    }
    if (!ok)
        unlink(out->tmp);
    free(out->tmp);
    free(out->path);
    *out = (ReportOut){0};
    return ok;
}

bool report_write_json(json_t *json, const char *path, DroverError *err)
{
    size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
    if (!path || strcmp(path, "-") == 0) {
        json_dumpf(json, stdout, flags);
        fputc('\n', stdout);
        return true;
    }
    ReportOut out;
    if (!report_out_open(&out, path, err))
        return false;
    bool ok = json_dumpf(json, out.f, flags) == 0;
    fputc('\n', out.f);
    return report_out_close(&out, ok, err);
}

int report_status_exit_code(const ExecResult *res, size_t n)
{
    int code = DROVER_EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        int c = DROVER_EXIT_OK;
        switch (res[i].state) {
        case EXEC_STATE_CURRENT: c = DROVER_EXIT_OK; break;
        case EXEC_STATE_BEHIND: c = DROVER_EXIT_STATUS_BEHIND; break;
        case EXEC_STATE_DRIFTED: c = DROVER_EXIT_STATUS_DRIFTED; break;
        case EXEC_STATE_DIRTY:
        case EXEC_STATE_LOCKED:
        case EXEC_STATE_UNREACHABLE:
        case EXEC_STATE_COUNT: c = DROVER_EXIT_STATUS_FAILED; break;
        }
        if (exec_outcome_is_failure(res[i].outcome))
            c = DROVER_EXIT_STATUS_FAILED;
        if (c > code)
            code = c;
    }
    return code;
}

/*
 * report_formats.c — status as CSV (RFC 4180, one row per tenant), JUnit XML (one testcase
 * per tenant, one testsuite per environment) and the Prometheus text exposition format (for
 * node_exporter's textfile collector). Counts come from the FleetView, judgements from
 * report_impl.h, so these agree with the JSON and the table.
 */
#include "report_impl.h"

#include <string.h>

/* finish: whether everything written to out so far went through. */
static bool finish(FILE *out)
{
    return fflush(out) == 0 && !ferror(out);
}

/* ---- CSV --------------------------------------------------------------------------------- */

/* csv_field appends one field, quoted when it holds a comma, a quote or a line break (RFC 4180
 * §2.6-2.7: quotes inside are doubled). */
static void csv_field(StrBuf *sb, const char *s, bool last)
{
    s = s ? s : "";
    if (strpbrk(s, ",\"\r\n")) {
        sb_appendc(sb, '"');
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                sb_appendc(sb, '"');
            sb_appendc(sb, *p);
        }
        sb_appendc(sb, '"');
    } else {
        sb_append(sb, s);
    }
    sb_append(sb, last ? "\r\n" : ",");
}

static void csv_count(StrBuf *sb, bool known, size_t n)
{
    char *text = known ? xasprintf("%zu", n) : NULL;
    csv_field(sb, text, false);
    free(text);
}

static const char *const CSV_HEADER[] = {
    "id",      "env",          "dialect", "state",            "applied",     "pending",
    "unknown", "last_applied", "gap",     "last_run_outcome", "last_run_at", "fingerprint",
    "error",
};

/* csv_row: counts, head and gap stay empty when SequelizeMeta was never read (unreachable),
 * so that an unknown is never shown as a zero. */
static void csv_row(StrBuf *sb, const ExecResult *r)
{
    bool read = report_meta_read(r);
    csv_field(sb, r->tenant->id, false);
    csv_field(sb, r->tenant->env, false);
    csv_field(sb, exec_result_dialect(r), false);
    csv_field(sb, exec_state_name(r->state), false);
    csv_count(sb, read, r->have.n);
    csv_count(sb, read, r->pending.n);
    csv_count(sb, read, r->unknown.n);
    csv_field(sb, read ? report_head(r) : NULL, false);
    csv_field(sb, read ? (r->gap ? "true" : "false") : NULL, false);
    csv_field(sb, r->last_run_outcome, false);
    char *at = report_iso_time(r->last_run_at);
    csv_field(sb, at, false);
    free(at);
    csv_field(sb, r->fingerprint, false);
    char *error = error_is_set(&r->error) ? error_summary(&r->error) : NULL;
    csv_field(sb, error, true);
    free(error);
}

bool report_status_csv(FILE *out, const ReportInput *in)
{
    StrBuf sb;
    sb_init(&sb);
    size_t ncols = sizeof CSV_HEADER / sizeof *CSV_HEADER;
    for (size_t c = 0; c < ncols; c++)
        csv_field(&sb, CSV_HEADER[c], c + 1 == ncols);
    fputs(sb.data, out);
    for (size_t i = 0; i < in->n; i++) {
        sb_reset(&sb);
        csv_row(&sb, &in->res[i]);
        fputs(sb.data, out);
    }
    sb_free(&sb);
    return finish(out);
}

/* ---- JUnit XML --------------------------------------------------------------------------- */

/* xml_text appends s escaped for XML 1.0 text or attribute values. Control characters XML 1.0
 * cannot carry at all become U+FFFD; in attributes, tabs and line breaks become character
 * references so that parsers do not normalise them to spaces. */
static void xml_text(StrBuf *sb, const char *s, bool attr)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&': sb_append(sb, "&amp;"); break;
        case '<': sb_append(sb, "&lt;"); break;
        case '>': sb_append(sb, "&gt;"); break;
        case '"': sb_append(sb, attr ? "&quot;" : "\""); break;
        case '\'': sb_append(sb, attr ? "&apos;" : "'"); break;
        case '\t':
        case '\n':
        case '\r':
            if (attr)
                sb_appendf(sb, "&#%d;", *p);
            else
                sb_appendc(sb, (char)*p);
            break;
        default:
            if (*p < 0x20)
                sb_append(sb, "\xEF\xBF\xBD");
            else
                sb_appendc(sb, (char)*p);
        }
    }
}

static void xml_attr(StrBuf *sb, const char *name, const char *value)
{
    sb_appendf(sb, " %s=\"", name);
    xml_text(sb, value, true);
    sb_appendc(sb, '"');
}

/* never_migrated: a reachable tenant with nothing applied and nothing wrong — JUnit's
 * "skipped": there is nothing to judge yet. */
static bool never_migrated(const ExecResult *r)
{
    return report_meta_read(r) && r->have.n == 0 && !report_needs_attention(r);
}

/* failure_body: everything a person needs below the one-line message. */
static char *failure_body(const ExecResult *r)
{
    StrBuf sb;
    sb_init(&sb);
    if (r->dirty_migration)
        sb_appendf(&sb, "may be half-applied: %s\n", r->dirty_migration);
    if (r->lock_holder)
        sb_appendf(&sb, "locked by: %s\n", r->lock_holder);
    for (size_t i = 0; i < r->unknown.n; i++)
        sb_appendf(&sb, "unknown row (no file): %s\n", r->unknown.items[i]);
    for (size_t i = 0; i < r->drift_added.n; i++)
        sb_appendf(&sb, "+ %s\n", r->drift_added.items[i]);
    for (size_t i = 0; i < r->drift_missing.n; i++)
        sb_appendf(&sb, "- %s\n", r->drift_missing.items[i]);
    if (error_is_set(&r->error)) {
        char *text = error_format(&r->error);
        sb_appendf(&sb, "%s\n", text);
        free(text);
    }
    return sb_detach(&sb);
}

static void junit_testcase(StrBuf *sb, const ExecResult *r)
{
    char *classname = xasprintf("drover.%s", r->tenant->env);
    sb_append(sb, "    <testcase");
    xml_attr(sb, "classname", classname);
    xml_attr(sb, "name", r->tenant->id);
    sb_appendf(sb, " time=\"%.3f\"", r->seconds);
    free(classname);
    if (report_needs_attention(r)) {
        char *detail = report_problem_detail(r);
        char *message = *detail ? xasprintf("%s: %s", report_problem(r), detail)
                                : xstrdup(report_problem(r));
        char *body = failure_body(r);
        sb_append(sb, ">\n      <failure");
        xml_attr(sb, "type", report_problem(r));
        xml_attr(sb, "message", message);
        sb_append(sb, ">");
        xml_text(sb, body, false);
        sb_append(sb, "</failure>\n    </testcase>\n");
        free(detail);
        free(message);
        free(body);
    } else if (never_migrated(r)) {
        sb_append(sb, ">\n      <skipped message=\"no migration applied yet\"/>\n"
                      "    </testcase>\n");
    } else {
        sb_append(sb, "/>\n");
    }
}

typedef struct JunitCounts {
    size_t tests, failures, skipped;
} JunitCounts;

static void junit_count(const ExecResult *r, JunitCounts *c)
{
    c->tests++;
    c->failures += report_needs_attention(r);
    c->skipped += never_migrated(r);
}

static void junit_counts_attrs(StrBuf *sb, const JunitCounts *c)
{
    sb_appendf(sb, " tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\"", c->tests,
               c->failures, c->skipped);
}

/* junit_suite: one environment. Its properties carry the counts by state, which JUnit has no
 * word for (current and behind both pass). */
static void junit_suite(StrBuf *sb, const ReportInput *in, const ViewEnv *env, const char *ts)
{
    JunitCounts c = {0};
    for (size_t i = 0; i < in->n; i++)
        if (strcmp(in->res[i].tenant->env, env->name) == 0)
            junit_count(&in->res[i], &c);
    sb_append(sb, "  <testsuite");
    xml_attr(sb, "name", env->name);
    junit_counts_attrs(sb, &c);
    if (ts)
        xml_attr(sb, "timestamp", ts);
    sb_append(sb, ">\n    <properties>\n");
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        sb_appendf(sb, "      <property name=\"%s\" value=\"%zu\"/>\n",
                   exec_state_name((ExecState)s), env->by_state[s]);
    sb_append(sb, "    </properties>\n");
    for (size_t i = 0; i < in->n; i++)
        if (strcmp(in->res[i].tenant->env, env->name) == 0)
            junit_testcase(sb, &in->res[i]);
    sb_append(sb, "  </testsuite>\n");
}

bool report_status_junit(FILE *out, const ReportInput *in)
{
    JunitCounts all = {0};
    for (size_t i = 0; i < in->n; i++)
        junit_count(&in->res[i], &all);
    char *ts = report_iso_time(in->generated_at);
    StrBuf sb;
    sb_init(&sb);
    sb_append(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    sb_append(&sb, "<testsuites name=\"drover status\"");
    junit_counts_attrs(&sb, &all);
    if (ts)
        xml_attr(&sb, "timestamp", ts);
    sb_append(&sb, ">\n");
    for (size_t e = 0; e < in->view->nenvs; e++)
        junit_suite(&sb, in, &in->view->envs[e], ts);
    sb_append(&sb, "</testsuites>\n");
    fputs(sb.data, out);
    sb_free(&sb);
    free(ts);
    return finish(out);
}

/* ---- Prometheus text exposition ---------------------------------------------------------- */

/* prom_label appends name="value" with the value escaped as the exposition format asks:
 * backslash, double quote and line feed. */
static void prom_label(StrBuf *sb, const char *name, const char *value, bool first)
{
    sb_appendf(sb, "%s%s=\"", first ? "" : ",", name);
    for (const char *p = value; *p; p++) {
        if (*p == '\\')
            sb_append(sb, "\\\\");
        else if (*p == '"')
            sb_append(sb, "\\\"");
        else if (*p == '\n')
            sb_append(sb, "\\n");
        else
            sb_appendc(sb, *p);
    }
    sb_appendc(sb, '"');
}

static void prom_family(StrBuf *sb, const char *name, const char *help)
{
    sb_appendf(sb, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void prom_tenant_labels(StrBuf *sb, const char *metric, const ExecResult *r)
{
    sb_appendf(sb, "%s{", metric);
    prom_label(sb, "tenant", r->tenant->id, true);
    prom_label(sb, "env", r->tenant->env, false);
}

static void prom_tenants_by_state(StrBuf *sb, const FleetView *v)
{
    prom_family(sb, "drover_tenants", "Selected tenants by environment and state.");
    for (size_t e = 0; e < v->nenvs; e++)
        for (int s = 0; s < EXEC_STATE_COUNT; s++) {
            sb_append(sb, "drover_tenants{");
            prom_label(sb, "env", v->envs[e].name, true);
            prom_label(sb, "state", exec_state_name((ExecState)s), false);
            sb_appendf(sb, "} %zu\n", v->envs[e].by_state[s]);
        }
}

static void prom_per_tenant(StrBuf *sb, const ReportInput *in)
{
    prom_family(sb, "drover_tenant_pending_migrations",
                "Migrations not applied yet (absent when SequelizeMeta could not be read).");
    for (size_t i = 0; i < in->n; i++)
        if (report_meta_read(&in->res[i])) {
            prom_tenant_labels(sb, "drover_tenant_pending_migrations", &in->res[i]);
            sb_appendf(sb, "} %zu\n", in->res[i].pending.n);
        }
    prom_family(sb, "drover_tenant_state", "The tenant's state, as the label state (always 1).");
    for (size_t i = 0; i < in->n; i++) {
        prom_tenant_labels(sb, "drover_tenant_state", &in->res[i]);
        prom_label(sb, "state", exec_state_name(in->res[i].state), false);
        sb_append(sb, "} 1\n");
    }
}

static void prom_last_runs(StrBuf *sb, const ReportInput *in)
{
    prom_family(sb, "drover_tenant_last_run_timestamp_seconds",
                "When the tenant's last recorded migrate or undo run ended (Unix time).");
    for (size_t i = 0; i < in->n; i++)
        if (in->res[i].last_run_id) {
            prom_tenant_labels(sb, "drover_tenant_last_run_timestamp_seconds", &in->res[i]);
            sb_appendf(sb, "} %.3f\n", in->res[i].last_run_at);
        }
    prom_family(sb, "drover_tenant_last_run_success",
                "1 when the tenant's last recorded migrate or undo run succeeded for it, else 0.");
    for (size_t i = 0; i < in->n; i++) {
        int ok = report_last_run_success(&in->res[i]);
        if (ok >= 0) {
            prom_tenant_labels(sb, "drover_tenant_last_run_success", &in->res[i]);
            sb_appendf(sb, "} %d\n", ok);
        }
    }
}

static void prom_migrations(StrBuf *sb, const FleetView *v)
{
    prom_family(sb, "drover_migration_applied_tenants",
                "Tenants that have the migration applied, among those whose SequelizeMeta was "
                "read.");
    for (size_t m = 0; m < v->nmigrations; m++) {
        sb_append(sb, "drover_migration_applied_tenants{");
        prom_label(sb, "migration", v->migrations[m].name, true);
        sb_appendf(sb, "} %zu\n", v->migrations[m].applied);
    }
}

bool report_status_prom(FILE *out, const ReportInput *in)
{
    StrBuf sb;
    sb_init(&sb);
    prom_tenants_by_state(&sb, in->view);
    prom_per_tenant(&sb, in);
    prom_last_runs(&sb, in);
    prom_migrations(&sb, in->view);
    /* A textfile collector keeps serving a file drover stopped refreshing; this lets an alert
     * notice. */
    prom_family(&sb, "drover_status_generated_timestamp_seconds",
                "When drover wrote this status (Unix time).");
    sb_appendf(&sb, "drover_status_generated_timestamp_seconds %.3f\n", in->generated_at);
    fputs(sb.data, out);
    sb_free(&sb);
    return finish(out);
}

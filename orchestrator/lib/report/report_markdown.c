/*
 * report_markdown.c — status as GitHub-flavoured Markdown for pull requests and chat: a
 * summary line, counts per environment, the tenants that need attention, version skew and
 * gaps. Same numbers as every other format (FleetView, report_impl.h).
 */
#include "report_impl.h"

#include <string.h>

/* md_cell appends text for a table cell: ASCII punctuation Markdown would act on is
 * backslash-escaped (GFM allows it before any punctuation, and needs it before '|' even in a
 * table), and line breaks, which would end the row, become spaces. */
static void md_cell(StrBuf *sb, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\n' || *p == '\r')
            sb_appendc(sb, ' ');
        else if (strchr("\\`*_[]<>|~#!", *p))
            sb_appendf(sb, "\\%c", *p);
        else
            sb_appendc(sb, *p);
    }
}

static void md_row_start(StrBuf *sb, const char *first)
{
    sb_append(sb, "| ");
    md_cell(sb, first);
}

static void md_next(StrBuf *sb, const char *s)
{
    sb_append(sb, " | ");
    md_cell(sb, s);
}

static void md_next_count(StrBuf *sb, size_t n)
{
    sb_appendf(sb, " | %zu", n);
}

static void md_summary(StrBuf *sb, const ReportInput *in)
{
    const size_t *by = in->view->by_state;
    sb_appendf(sb, "## drover status\n\n**%zu tenant%s**", in->n, in->n == 1 ? "" : "s");
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        sb_appendf(sb, "%s %zu %s", s ? "," : ":", by[s], exec_state_name((ExecState)s));
    char *ts = report_iso_time(in->generated_at);
    if (ts)
        sb_appendf(sb, " (%s)", ts);
    free(ts);
    sb_append(sb, "\n");
}

static void md_environments(StrBuf *sb, const FleetView *v)
{
    sb_append(sb, "\n### Environments\n\n| Environment | Tenants");
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        sb_appendf(sb, " | %s", exec_state_name((ExecState)s));
    sb_append(sb, " |\n| --- | ---:");
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        sb_append(sb, " | ---:");
    sb_append(sb, " |\n");
    for (size_t e = 0; e < v->nenvs; e++) {
        md_row_start(sb, v->envs[e].name);
        md_next_count(sb, v->envs[e].tenants);
        for (int s = 0; s < EXEC_STATE_COUNT; s++)
            md_next_count(sb, v->envs[e].by_state[s]);
        sb_append(sb, " |\n");
    }
}

static void md_attention(StrBuf *sb, const ReportInput *in)
{
    size_t count = 0;
    for (size_t i = 0; i < in->n; i++)
        count += report_needs_attention(&in->res[i]);
    sb_append(sb, "\n### Needs attention\n\n");
    if (!count) {
        sb_append(sb, "Nothing needs attention.\n");
        return;
    }
    sb_append(sb, "| Tenant | Environment | State | Detail |\n| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < in->n; i++) {
        const ExecResult *r = &in->res[i];
        if (!report_needs_attention(r))
            continue;
        char *detail = report_problem_detail(r);
        md_row_start(sb, r->tenant->id);
        md_next(sb, r->tenant->env);
        md_next(sb, report_problem(r));
        md_next(sb, detail);
        sb_append(sb, " |\n");
        free(detail);
    }
}

/* md_tenants: status --all adds every tenant's row (the default lists only those needing
 * attention, which is what a pull request or a chat message has room for). */
static void md_tenants(StrBuf *sb, const ReportInput *in)
{
    sb_append(sb, "\n### Tenants\n\n| Tenant | Environment | State | Applied | Pending | "
                  "Last applied |\n| --- | --- | --- | ---: | ---: | --- |\n");
    for (size_t i = 0; i < in->n; i++) {
        const ExecResult *r = &in->res[i];
        md_row_start(sb, r->tenant->id);
        md_next(sb, r->tenant->env);
        md_next(sb, exec_state_name(r->state));
        md_next_count(sb, r->have.n);
        md_next_count(sb, r->pending.n);
        md_next(sb, report_head(r));
        sb_append(sb, " |\n");
    }
}

static void md_heads(StrBuf *sb, const FleetView *v)
{
    sb_append(sb, "\n### Version skew\n\n");
    if (!v->nheads) {
        sb_append(sb, "No tenant's SequelizeMeta could be read.\n");
        return;
    }
    sb_append(sb, "| Last applied | Tenants |\n| --- | ---: |\n");
    for (size_t h = 0; h < v->nheads; h++) {
        if (v->heads[h].head)
            md_row_start(sb, v->heads[h].head);
        else
            sb_append(sb, "| _none applied_");
        md_next_count(sb, v->heads[h].tenants);
        sb_append(sb, " |\n");
    }
}

static void md_gaps(StrBuf *sb, const ReportInput *in)
{
    sb_append(sb, "\n### Gaps\n\n");
    if (!in->view->ngaps) {
        sb_append(sb, "No gaps.\n");
        return;
    }
    sb_append(sb, "| Tenant | Environment | Last applied | Missing |\n| --- | --- | --- | --- |\n");
    for (size_t g = 0; g < in->view->ngaps; g++) {
        const ExecResult *r = &in->res[in->view->gaps[g]];
        StrList missing = STRLIST_INIT;
        report_gap_missing(in->set, r, &missing);
        StrBuf names;
        sb_init(&names);
        for (size_t i = 0; i < missing.n; i++)
            sb_appendf(&names, "%s%s", i ? ", " : "", missing.items[i]);
        md_row_start(sb, r->tenant->id);
        md_next(sb, r->tenant->env);
        md_next(sb, report_head(r));
        md_next(sb, names.data);
        sb_append(sb, " |\n");
        sb_free(&names);
        sl_free(&missing);
    }
}

bool report_status_markdown(FILE *out, const ReportInput *in)
{
    StrBuf sb;
    sb_init(&sb);
    md_summary(&sb, in);
    md_environments(&sb, in->view);
    md_attention(&sb, in);
    if (in->all)
        md_tenants(&sb, in);
    md_heads(&sb, in->view);
    md_gaps(&sb, in);
    fputs(sb.data, out);
    sb_free(&sb);
    return fflush(out) == 0 && !ferror(out);
}

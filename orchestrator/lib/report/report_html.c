/*
 * report_html.c — `drover status --format html`: one self-contained page (inline CSS and JS,
 * no fetches: a Content-Security-Policy of default-src 'none' says so to the browser too) that
 * renders the fleet from one JSON blob built here. The page's markup, style and script are
 * html/page.html, page.css and page.js, embedded at build time (cmake/embed.cmake); the script
 * builds every element from the blob through textContent/setAttribute, so data never becomes
 * markup.
 *
 * The blob stays small at fleet scale (2,000 tenants x 300 migrations): instead of every
 * tenant's applied and pending lists it carries, per tenant, one character per matrix column,
 * and the columns are only the migrations where tenants differ (the prefix applied on every
 * readable tenant is one column) and the unknown rows.
 */
#include "drover/report.h"

#include <string.h>
#include <time.h>

#include "drover/fleetview.h"
#include "report_impl.h"

/* Page URL parameters (documented in docs/html.md): filter-env, filter-state, filter-tag
 * preselect the filters; sort=KEY or sort=-KEY (descending) with KEY one of id, env, state,
 * applied, pending; open=ID (repeatable) expands a tenant's details. */

/* The embedded assets (generated report_html_assets.c). */
extern const char report_html_page[];
extern const char report_html_css[];
extern const char report_html_js[];

/* Cell codes, one per matrix column (page.js reads them back). */
enum {
    CELL_APPLIED = 'A',
    CELL_PENDING = 'P',
    CELL_FAILED = 'F',
    CELL_UNKNOWN = 'U',
    CELL_ABSENT = '-',
    CELL_UNREAD = '.',
};

static json_t *nullable_string(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* iso_time renders Unix time t as UTC, e.g. 2024-05-01T12:00:00Z. */
static char *iso_time(double t)
{
    time_t secs = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return xstrdup("unknown");
    return xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static json_t *by_state_json(const size_t *by_state)
{
    json_t *o = json_object();
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        json_object_set_new(o, exec_state_name((ExecState)s),
                            json_integer((json_int_t)by_state[s]));
    return o;
}

/* gap_missing lists the pending migrations that sort before the tenant's last applied one:
 * what makes its history out of order. */
static json_t *gap_missing(const ExecResult *r)
{
    json_t *a = json_array();
    const char *head = r->have.n ? r->have.items[r->have.n - 1] : NULL;
    for (size_t i = 0; head && i < r->pending.n; i++)
        if (strcmp(r->pending.items[i], head) < 0)
            json_array_append_new(a, json_string(r->pending.items[i]));
    return a;
}

static json_t *last_run_json(const ExecResult *r)
{
    if (!r->last_run_id)
        return json_null();
    char *at = iso_time(r->last_run_at);
    json_t *o = json_pack("{s:I,s:o,s:s}", "id", (json_int_t)r->last_run_id, "outcome",
                          nullable_string(r->last_run_outcome), "at", at);
    free(at);
    return o;
}

/* add_tenant_fields adds what the page shows beyond the status JSON's tenant object. */
static void add_tenant_fields(json_t *t, const ExecResult *r)
{
    json_t *tags = json_array();
    for (size_t i = 0; i < r->tenant->ntags; i++)
        json_array_append_new(tags, json_string(r->tenant->tags[i]));
    json_object_set_new(t, "tags", tags);
    json_object_set_new(t, "gap", json_boolean(r->gap));
    json_object_set_new(t, "gap_missing", gap_missing(r));
    json_object_set_new(t, "lock_holder", nullable_string(r->lock_holder));
    json_object_set_new(t, "schema_drift", json_boolean(r->schema_drift));
    json_object_set_new(t, "fingerprint", nullable_string(r->fingerprint));
    json_object_set_new(t, "drift_added", report_strings_json(&r->drift_added));
    json_object_set_new(t, "drift_missing", report_strings_json(&r->drift_missing));
    json_object_set_new(t, "last_run", last_run_json(r));
}

static json_t *environments_json(const FleetView *v)
{
    json_t *a = json_array();
    for (size_t e = 0; e < v->nenvs; e++)
        json_array_append_new(a, json_pack("{s:s,s:I,s:o}", "name", v->envs[e].name, "tenants",
                                           (json_int_t)v->envs[e].tenants, "by_state",
                                           by_state_json(v->envs[e].by_state)));
    return a;
}

/* ---- the matrix: which columns, and each tenant's cells ---------------------------------- */

typedef struct Matrix {
    const MigSet *set;
    size_t prefix;  /* migrations [0, prefix) are applied on every readable tenant */
    StrList extra;  /* the unknown rows of all tenants, sorted, one column each */
    bool *applied;  /* scratch: set->n flags of one tenant */
    bool *pending;
} Matrix;

static bool readable(const ExecResult *r)
{
    return r->state != EXEC_STATE_UNREACHABLE;
}

static bool same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static char migration_cell(const Matrix *x, const ExecResult *r, size_t m)
{
    const char *name = x->set->items[m].name;
    if (same(r->error.migration, name) || same(r->dirty_migration, name))
        return CELL_FAILED;
    if (x->applied[m])
        return CELL_APPLIED;
    return x->pending[m] ? CELL_PENDING : CELL_UNREAD;
}

static void tenant_flags(Matrix *x, const ExecResult *r)
{
    fleetview_name_flags(x->set, &r->have, x->applied);
    fleetview_name_flags(x->set, &r->pending, x->pending);
}

static int cmp_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* matrix_init finds the prefix every readable tenant has applied and the unknown-row
 * columns. */
static void matrix_init(Matrix *x, const MigSet *set, const ExecResult *res, size_t n)
{
    *x = (Matrix){.set = set, .prefix = set->n, .extra = STRLIST_INIT};
    x->applied = xcalloc(set->n ? set->n : 1, sizeof *x->applied);
    x->pending = xcalloc(set->n ? set->n : 1, sizeof *x->pending);
    bool any_readable = false;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < res[i].unknown.n; k++)
            if (!sl_contains(&x->extra, res[i].unknown.items[k]))
                sl_push(&x->extra, res[i].unknown.items[k]);
        if (!readable(&res[i]))
            continue;
        any_readable = true;
        tenant_flags(x, &res[i]);
        size_t m = 0;
        while (m < x->prefix && migration_cell(x, &res[i], m) == CELL_APPLIED)
            m++;
        x->prefix = m;
    }
    if (!any_readable)
        x->prefix = 0;
    if (x->extra.n)
        qsort(x->extra.items, x->extra.n, sizeof *x->extra.items, cmp_strings);
}

static void matrix_free(Matrix *x)
{
    sl_free(&x->extra);
    free(x->applied);
    free(x->pending);
}

static json_t *columns_json(const Matrix *x)
{
    json_t *a = json_array();
    for (size_t m = x->prefix; m < x->set->n; m++)
        json_array_append_new(a, json_pack("{s:s,s:b}", "name", x->set->items[m].name,
                                           "extra", 0));
    for (size_t k = 0; k < x->extra.n; k++)
        json_array_append_new(a, json_pack("{s:s,s:b}", "name", x->extra.items[k], "extra", 1));
    return a;
}

/* tenant_cells: the prefix column's cell (when there is one), then one per column. */
static json_t *tenant_cells(Matrix *x, const ExecResult *r)
{
    bool known = readable(r);
    StrBuf sb;
    sb_init(&sb);
    tenant_flags(x, r);
    if (x->prefix)
        sb_appendf(&sb, "%c", known ? CELL_APPLIED : CELL_UNREAD);
    for (size_t m = x->prefix; m < x->set->n; m++)
        sb_appendf(&sb, "%c", migration_cell(x, r, m));
    for (size_t k = 0; k < x->extra.n; k++)
        sb_appendf(&sb, "%c", sl_contains(&r->unknown, x->extra.items[k]) ? CELL_UNKNOWN
                              : known                                      ? CELL_ABSENT
                                                                           : CELL_UNREAD);
    json_t *cells = json_string(sb.data ? sb.data : "");
    sb_free(&sb);
    return cells;
}

/* compact_tenant swaps the status JSON's applied and pending lists, which make a 2,000 x 300
 * page weigh 16 MB, for their counts and the tenant's cells. */
static void compact_tenant(json_t *t, Matrix *x, const ExecResult *r)
{
    json_object_del(t, "applied");
    json_object_del(t, "pending");
    json_object_set_new(t, "applied_count", json_integer((json_int_t)r->have.n));
    json_object_set_new(t, "pending_count", json_integer((json_int_t)r->pending.n));
    json_object_set_new(t, "cells", tenant_cells(x, r));
}

static json_t *heads_json(const FleetView *v)
{
    json_t *a = json_array();
    for (size_t h = 0; h < v->nheads; h++)
        json_array_append_new(a, json_pack("{s:o,s:I}", "head", nullable_string(v->heads[h].head),
                                           "tenants", (json_int_t)v->heads[h].tenants));
    return a;
}

static json_t *states_json(void)
{
    json_t *a = json_array();
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        json_array_append_new(a, json_string(exec_state_name((ExecState)s)));
    return a;
}

/* page_data is the status JSON (so the page shows the same numbers as every other format),
 * its tenants compacted into matrix cells, plus the fleet views and the per-tenant fields only
 * the page shows. */
static json_t *page_data(const ReportInput *in, const FleetView *view)
{
    ReportInput with_view = *in;
    with_view.view = view;
    json_t *data = report_status_json(&with_view);
    json_t *tenants = json_object_get(data, "tenants");
    Matrix x;
    matrix_init(&x, in->set, in->res, in->n);
    for (size_t i = 0; i < in->n; i++) {
        json_t *t = json_array_get(tenants, i);
        add_tenant_fields(t, &in->res[i]);
        compact_tenant(t, &x, &in->res[i]);
    }
    json_object_set_new(data, "prefix", json_integer((json_int_t)x.prefix));
    /* Identical current rows fold above the size where the table and markdown go compact. */
    json_object_set_new(data, "fold", json_boolean(!in->all && in->n > REPORT_COMPACT_OVER));
    json_object_set_new(data, "columns", columns_json(&x));
    matrix_free(&x);
    char *at = iso_time(in->generated_at);
    json_object_set_new(data, "generated_at", json_string(at));
    free(at);
    json_object_set_new(data, "states", states_json());
    json_object_set_new(data, "environments", environments_json(view));
    json_object_set_new(data, "heads", heads_json(view));
    return data;
}

/* write_script_json writes the JSON with every '<' as \u003c: the blob can then neither
 * close its script element ("</script") nor open an HTML comment ("<!--"), whatever a
 * tenant's rows or errors contain. '<' only ever occurs inside JSON strings, where the
 * escape means the same character. */
static bool write_script_json(FILE *out, const json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        return false;
    const char *p = text;
    for (const char *lt; (lt = strchr(p, '<')); p = lt + 1) {
        fwrite(p, 1, (size_t)(lt - p), out);
        fputs("\\u003c", out);
    }
    fputs(p, out);
    free(text);
    return true;
}

/* put_until writes the page from *p up to marker (or to its end) and moves *p past it. */
static void put_until(FILE *out, const char **p, const char *marker)
{
    const char *at = marker ? strstr(*p, marker) : NULL;
    size_t n = at ? (size_t)(at - *p) : strlen(*p);
    fwrite(*p, 1, n, out);
    *p += n + (at ? strlen(marker) : 0);
}

/* write_page writes page.html with the style, the data and the script in place of its
 * markers. */
static bool write_page(FILE *out, const json_t *data)
{
    const char *p = report_html_page;
    put_until(out, &p, "@STYLE@");
    fputs(report_html_css, out);
    put_until(out, &p, "@DATA@");
    bool ok = write_script_json(out, data);
    put_until(out, &p, "@SCRIPT@");
    fputs(report_html_js, out);
    put_until(out, &p, NULL);
    return ok;
}

bool report_status_html(FILE *out, const ReportInput *in)
{
    FleetView own;
    const FleetView *view = in->view;
    if (!view) {
        fleetview_build(in->inv, in->set, in->res, in->n, &own);
        view = &own;
    }
    json_t *data = page_data(in, view);
    bool ok = write_page(out, data);
    json_decref(data);
    if (view == &own)
        fleetview_free(&own);
    return ok && !ferror(out);
}

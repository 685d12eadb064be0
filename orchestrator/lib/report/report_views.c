/*
 * report_views.c — the fleet views (per environment, per migration, heads, gaps) as the status
 * JSON's "views" object and as the status table's closing sections, and the judgements every
 * status format shares (report_impl.h). The numbers come from the FleetView only.
 */
#include "report_impl.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

bool report_needs_attention(const ExecResult *r)
{
    return exec_outcome_is_failure(r->outcome) || r->state == EXEC_STATE_DRIFTED ||
           r->state == EXEC_STATE_DIRTY || r->state == EXEC_STATE_LOCKED ||
           r->state == EXEC_STATE_UNREACHABLE;
}

const char *report_problem(const ExecResult *r)
{
    if (r->state == EXEC_STATE_CURRENT || r->state == EXEC_STATE_BEHIND)
        return exec_outcome_is_failure(r->outcome) ? "failed" : exec_state_name(r->state);
    return exec_state_name(r->state);
}

static void join_list(StrBuf *sb, const StrList *l)
{
    for (size_t i = 0; i < l->n; i++)
        sb_appendf(sb, "%s%s", i ? ", " : "", l->items[i]);
}

static void next_part(StrBuf *sb)
{
    if (sb->len)
        sb_append(sb, "; ");
}

char *report_problem_detail(const ExecResult *r)
{
    StrBuf sb;
    sb_init(&sb);
    if (r->state == EXEC_STATE_DIRTY && r->dirty_migration)
        sb_appendf(&sb, "migration '%s' may be half-applied", r->dirty_migration);
    if (r->lock_holder)
        sb_appendf(&sb, "locked by %s", r->lock_holder);
    if (r->unknown.n) {
        next_part(&sb);
        sb_append(&sb, "unknown rows: ");
        join_list(&sb, &r->unknown);
    }
    if (r->schema_drift) {
        next_part(&sb);
        sb_appendf(&sb, "schema differs from its peers: %zu line%s added, %zu missing",
                   r->drift_added.n, r->drift_added.n == 1 ? "" : "s", r->drift_missing.n);
    }
    if (error_is_set(&r->error)) {
        char *summary = error_summary(&r->error);
        next_part(&sb);
        sb_append(&sb, summary);
        free(summary);
    }
    return sb_detach(&sb);
}

bool report_meta_read(const ExecResult *r)
{
    return r->state != EXEC_STATE_UNREACHABLE;
}

int report_last_run_success(const ExecResult *r)
{
    static const char *const good[] = {"migrated", "reverted", "up_to_date", "pending", "ok"};
    if (!r->last_run_outcome)
        return -1;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (strcmp(r->last_run_outcome, good[i]) == 0)
            return 1;
    return 0;
}

char *report_iso_time(double t)
{
    if (t <= 0)
        return NULL;
    time_t secs = (time_t)t;
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&secs, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return NULL;
    return xstrdup(buf);
}

const char *report_head(const ExecResult *r)
{
    return r->have.n ? r->have.items[r->have.n - 1] : NULL;
}

void report_gap_missing(const MigSet *set, const ExecResult *r, StrList *out)
{
    const char *head = report_head(r);
    ssize_t last = head && r->gap ? mig_find(set, head) : -1;
    for (size_t i = 0; last >= 0 && i < r->pending.n; i++) {
        ssize_t p = mig_find(set, r->pending.items[i]);
        if (p >= 0 && p < last)
            sl_push(out, r->pending.items[i]);
    }
}

/* ---- JSON -------------------------------------------------------------------------------- */

static json_t *state_counts_json(json_t *o, const size_t *by_state)
{
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        json_object_set_new(o, exec_state_name((ExecState)s),
                            json_integer((json_int_t)by_state[s]));
    return o;
}

static json_t *environments_json(const FleetView *v)
{
    json_t *a = json_array();
    for (size_t e = 0; e < v->nenvs; e++) {
        json_t *o = json_pack("{s:s,s:I}", "name", v->envs[e].name, "tenants",
                              (json_int_t)v->envs[e].tenants);
        json_array_append_new(a, state_counts_json(o, v->envs[e].by_state));
    }
    return a;
}

static json_t *migrations_json(const FleetView *v)
{
    json_t *a = json_array();
    for (size_t m = 0; m < v->nmigrations; m++) {
        const ViewMigration *vm = &v->migrations[m];
        json_t *by_env = json_object();
        for (size_t e = 0; e < v->nenvs; e++)
            json_object_set_new(by_env, v->envs[e].name,
                                json_pack("{s:I,s:I}", "applied",
                                          (json_int_t)vm->applied_by_env[e], "known",
                                          (json_int_t)vm->known_by_env[e]));
        json_array_append_new(a, json_pack("{s:s,s:I,s:I,s:o}", "name", vm->name, "applied",
                                           (json_int_t)vm->applied, "known",
                                           (json_int_t)vm->known, "by_env", by_env));
    }
    return a;
}

static json_t *heads_json(const FleetView *v)
{
    json_t *a = json_array();
    for (size_t h = 0; h < v->nheads; h++)
        json_array_append_new(a, json_pack("{s:o,s:I}", "head",
                                           v->heads[h].head ? json_string(v->heads[h].head)
                                                            : json_null(),
                                           "tenants", (json_int_t)v->heads[h].tenants));
    return a;
}

static json_t *gaps_json(const ReportInput *in)
{
    json_t *a = json_array();
    for (size_t g = 0; g < in->view->ngaps; g++) {
        const ExecResult *r = &in->res[in->view->gaps[g]];
        StrList missing = STRLIST_INIT;
        report_gap_missing(in->set, r, &missing);
        json_t *names = json_array();
        for (size_t i = 0; i < missing.n; i++)
            json_array_append_new(names, json_string(missing.items[i]));
        sl_free(&missing);
        json_array_append_new(a, json_pack("{s:s,s:s,s:s?,s:o}", "tenant", r->tenant->id, "env",
                                           r->tenant->env, "head", report_head(r), "missing",
                                           names));
    }
    return a;
}

/* fleet_changes_json: {"since_run", "appeared", "disappeared"}, or null when the journal has
 * no run that recorded its tenants. */
static json_t *fleet_changes_json(const ReportInput *in)
{
    if (!in->appeared || !in->fleet_since_run)
        return json_null();
    return json_pack("{s:I,s:o,s:o}", "since_run", (json_int_t)in->fleet_since_run, "appeared",
                     report_strings_json(in->appeared), "disappeared", report_strings_json(in->disappeared));
}

json_t *report_views_json(const ReportInput *in)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "environments", environments_json(in->view),
                     "migrations", migrations_json(in->view), "heads", heads_json(in->view),
                     "gaps", gaps_json(in), "fleet_changes", fleet_changes_json(in));
}

/* ---- the table --------------------------------------------------------------------------- */

static int width_of(const char *s, int min)
{
    int w = (int)strlen(s);
    return w > min ? w : min;
}

static void print_env_counts(FILE *out, const FleetView *v)
{
    int wenv = 3;
    for (size_t e = 0; e < v->nenvs; e++)
        wenv = width_of(v->envs[e].name, wenv);
    fprintf(out, "%-*s  %7s", wenv, "ENV", "TENANTS");
    int widths[EXEC_STATE_COUNT];
    for (int s = 0; s < EXEC_STATE_COUNT; s++) {
        const char *name = exec_state_name((ExecState)s);
        char *upper = xstrdup(name);
        for (char *p = upper; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        widths[s] = width_of(name, 7);
        fprintf(out, "  %*s", widths[s], upper);
        free(upper);
    }
    fputc('\n', out);
    for (size_t e = 0; e < v->nenvs; e++) {
        fprintf(out, "%-*s  %7zu", wenv, v->envs[e].name, v->envs[e].tenants);
        for (int s = 0; s < EXEC_STATE_COUNT; s++)
            fprintf(out, "  %*zu", widths[s], v->envs[e].by_state[s]);
        fputc('\n', out);
    }
}

static void print_heads(FILE *out, const FleetView *v)
{
    if (!v->nheads)
        return;
    fprintf(out, "\nlast applied migration (version skew):\n");
    for (size_t h = 0; h < v->nheads; h++)
        fprintf(out, "  %5zu tenant%s  %s\n", v->heads[h].tenants,
                v->heads[h].tenants == 1 ? " " : "s",
                v->heads[h].head ? v->heads[h].head : "(none applied)");
}

static void print_gaps(FILE *out, const ReportInput *in)
{
    if (!in->view->ngaps)
        return;
    fprintf(out, "\ngaps (pending migrations older than the last applied one):\n");
    for (size_t g = 0; g < in->view->ngaps; g++) {
        const ExecResult *r = &in->res[in->view->gaps[g]];
        StrList missing = STRLIST_INIT;
        report_gap_missing(in->set, r, &missing);
        StrBuf names;
        sb_init(&names);
        join_list(&names, &missing);
        fprintf(out, "  %s (%s): lacks %s\n", r->tenant->id, r->tenant->env, names.data);
        sb_free(&names);
        sl_free(&missing);
    }
}

/* print_ids prints up to 20 ids, then how many more. */
static void print_ids(FILE *out, const char *label, const StrList *l)
{
    if (!l->n)
        return;
    fprintf(out, "  %s (%zu):", label, l->n);
    for (size_t i = 0; i < l->n && i < 20; i++)
        fprintf(out, " %s", l->items[i]);
    if (l->n > 20)
        fprintf(out, " ... and %zu more", l->n - 20);
    fputc('\n', out);
}

/* print_fleet_changes: a tenant new to the inventory, or gone from it, since the last run. */
static void print_fleet_changes(FILE *out, const ReportInput *in)
{
    if (!in->appeared || !in->fleet_since_run || (!in->appeared->n && !in->disappeared->n))
        return;
    fprintf(out, "\ntenants since run #%lld:\n", (long long)in->fleet_since_run);
    print_ids(out, "appeared", in->appeared);
    print_ids(out, "disappeared", in->disappeared);
}

void report_table_views(FILE *out, const ReportInput *in)
{
    fputc('\n', out);
    print_env_counts(out, in->view);
    print_heads(out, in->view);
    print_gaps(out, in);
    print_fleet_changes(out, in);
}

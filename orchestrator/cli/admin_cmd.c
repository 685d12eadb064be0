/*
 * admin_cmd.c — the commands around runs rather than in them: new (a migration file), locks
 * (who holds which tenant), runs (the journal), resolve (clear a dirty mark).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "drover/driver.h"
#include "drover/init.h"
#include "drover/control.h"
#include "drover/journal.h"
#include "drover/report.h"
#include "drover/exitcodes.h"
#include "drover/sources.h"
#include "fleet.h"

int cmd_new(const CliArgs *a)
{
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(a->config, &err);
    char *path = NULL;
    int rc = DROVER_EXIT_OK;
    if (!inv || !mig_new(inv->migrations_path, a->new_name, a->js, &path, &err))
        rc = cli_fail_usage(&err);
    else
        printf("%s\n", path);
    free(path);
    inv_free(inv);
    error_clear(&err);
    return rc;
}

/* cmd_init writes a drover.cfg from a sequelize-cli project and says what to set. */
int cmd_init(const CliArgs *a)
{
    DroverError err = DROVER_ERROR_INIT;
    const char *dir = a->dir ? a->dir : ".";
    char *out = a->out ? xstrdup(a->out) : path_join(dir, "drover.cfg");
    StrList notes = STRLIST_INIT;
    int rc = DROVER_EXIT_OK;
    if (!init_project(dir, out, a->force, &notes, &err)) {
        rc = cli_fail_usage(&err);
    } else {
        printf("wrote %s\n", out);
        for (size_t i = 0; i < notes.n; i++)
            printf("  %s\n", notes.items[i]);
        printf("next: drover --config %s check\n", out);
    }
    sl_free(&notes);
    free(out);
    error_clear(&err);
    return rc;
}

/* lock_holder_of connects to one tenant and asks who holds its lock. */
static bool lock_holder_of(const Fleet *f, const InvTenant *t, char **holder, DroverError *err)
{
    ExecJob job = {.tenant = t, .migrations = &f->migs, .meta_table = f->inv->meta_table,
                   .meta_schema = f->inv->meta_schema};
    *holder = NULL;
    if (t->agent) {
        error_set(err, ERR_CONNECT, "served by agent '%s', which holds its credentials",
                      t->agent->name);
        error_set_hint(err, "'drover status --tenant %s' reads it through the agent and "
                                "shows its lock holder", t->id);
        return false;
    }
    if (t->url.dialect == DB_SQLITE && access(t->url.database, F_OK) != 0)
        return true; /* never migrated: nothing to hold */
    DrvConnectOptions copts = {.application_name = "drover locks"};
    DrvConn *c = drv_connect(&t->url, &copts, err);
    if (!c)
        return false;
    char *key = exec_database_lock_key(&job);
    bool ok = drv_lock_holder(c, key, holder, err);
    free(key);
    drv_close(c);
    return ok;
}

int cmd_locks(const CliArgs *a)
{
    Fleet f = {0};
    DroverError err = DROVER_ERROR_INIT;
    if (!fleet_load(a, &f, &err)) {
        int rc = cli_fail_usage(&err);
        error_clear(&err);
        fleet_free(&f);
        return rc;
    }
    json_t *tenants = json_array();
    int rc = DROVER_EXIT_OK;
    for (size_t i = 0; i < f.nselected; i++) {
        const InvTenant *t = &f.inv->tenants[f.selected[i]];
        char *holder = NULL;
        bool ok = lock_holder_of(&f, t, &holder, &err);
        char *error = ok ? NULL : error_summary(&err);
        if (a->format == FMT_TEXT)
            printf("%s (%s): %s\n", t->id, t->env,
                   !ok ? error : holder ? holder : "free");
        json_array_append_new(tenants,
                              json_pack("{s:s,s:s,s:o,s:o}", "id", t->id, "env", t->env, "holder",
                                        holder ? json_string(holder) : json_null(), "error",
                                        error ? json_string(error) : json_null()));
        rc = ok ? rc : DROVER_EXIT_FAILED;
        free(holder);
        free(error);
        error_clear(&err);
    }
    if (a->format == FMT_JSON) {
        json_t *doc = json_pack("{s:i,s:o}", "schema_version", REPORT_SCHEMA_VERSION, "tenants",
                                tenants);
        report_write_json(doc, a->out, &err);
        json_decref(doc);
    } else {
        json_decref(tenants);
    }
    error_clear(&err);
    fleet_free(&f);
    return rc;
}

/* open_existing_journal refuses to create a journal just to read it. */
static Journal *open_existing_journal(const Inventory *inv, DroverError *err)
{
    if (access(inv->journal_path, F_OK) != 0) {
        error_set(err, ERR_USAGE, "no journal at '%s' yet", inv->journal_path);
        error_set_hint(err, "the journal is written by 'drover migrate' and 'drover undo'");
        return NULL;
    }
    return journal_open(inv->journal_path, err);
}

static const char *str_field(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

static void print_runs(json_t *runs)
{
    size_t i;
    json_t *run;
    printf("%-6s  %-20s  %-8s  %-11s  %-16s  %s\n", "ID", "STARTED", "COMMAND", "OUTCOME",
           "WHO", "TENANTS");
    json_array_foreach(runs, i, run) {
        char *who = xasprintf("%s@%s", str_field(run, "user"), str_field(run, "host"));
        printf("%-6lld  %-20s  %-8s  %-11s  %-16s  ",
               (long long)json_integer_value(json_object_get(run, "id")),
               str_field(run, "started"), str_field(run, "command"), str_field(run, "outcome"),
               who);
        const char *key;
        json_t *count;
        int first = 1;
        json_object_foreach(json_object_get(run, "tenants"), key, count) {
            printf("%s%lld %s", first ? "" : ", ", (long long)json_integer_value(count), key);
            first = 0;
        }
        putchar('\n');
        free(who);
    }
}

static void print_run(json_t *run)
{
    printf("run %lld: %s, %s, started %s by %s@%s (pid %lld)\n  %s\n",
           (long long)json_integer_value(json_object_get(run, "id")), str_field(run, "command"),
           str_field(run, "outcome"), str_field(run, "started"), str_field(run, "user"),
           str_field(run, "host"), (long long)json_integer_value(json_object_get(run, "pid")),
           str_field(run, "argv"));
    size_t i, k;
    json_t *t, *step;
    json_array_foreach(json_object_get(run, "tenants"), i, t) {
        printf("%s (%s): %s\n", str_field(t, "id"), str_field(t, "env"),
               str_field(t, "outcome"));
        json_array_foreach(json_object_get(t, "steps"), k, step) {
            printf("    %s %s: %s, %lld attempt(s)\n", str_field(step, "direction"),
                   str_field(step, "migration"),
                   json_is_true(json_object_get(step, "ok")) ? "ok" : "failed",
                   (long long)json_integer_value(json_object_get(step, "attempts")));
        }
        json_t *error = json_object_get(t, "error");
        if (json_is_object(error))
            printf("    error: %s\n", str_field(error, "message"));
    }
}

static bool parse_run_id(const char *text, int64_t *id, DroverError *err)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || !end || *end || end == text || v < 1) {
        error_set(err, ERR_USAGE, "a run id is a positive number, not '%s'", text);
        return false;
    }
    *id = v;
    return true;
}

/* open_control: the inventory's control database, for runs and resolve; NULL when it names
 * none (err stays clear) or on failure (err set). */
static Control *open_control(const Inventory *inv, DroverError *err)
{
    if (!inv->control_url)
        return NULL;
    return control_open(inv->control_url, inv->control_url_masked, inv->control_lease_ms,
                        "drover admin", err);
}

/* print_shared_runs / print_shared_run: the control database's runs, as text. */
static const char *str_or(const json_t *o, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : fallback;
}

static void print_shared_runs(const json_t *runs)
{
    size_t i;
    const json_t *r;
    int width = 3; /* a run's name, up to the longest listed (COMMAND@HOST:PID:NONCE) */
    json_array_foreach(runs, i, r) {
        size_t len = strlen(str_or(r, "name", ""));
        width = len > (size_t)width ? (int)(len < 64 ? len : 64) : width;
    }
    printf("%-*s  %-8s %-11s %11s %6s  %s\n", width, "RUN", "COMMAND", "OUTCOME", "DONE",
           "FAILED", "STARTED");
    json_array_foreach(runs, i, r) {
        char done[48];
        snprintf(done, sizeof done, "%lld/%lld", json_integer_value(json_object_get(r, "done")),
                 json_integer_value(json_object_get(r, "tenants")));
        printf("%-*s  %-8s %-11s %11s %6lld  %s\n", width, str_or(r, "name", ""),
               str_or(r, "command", ""), str_or(r, "outcome", "running"), done,
               json_integer_value(json_object_get(r, "failed")), str_or(r, "started_at", ""));
    }
}

/* print_both_runs: the control database's shared runs, then this machine's journal's. */
static void print_both_runs(json_t *doc)
{
    print_shared_runs(json_object_get(doc, "shared_runs"));
    json_t *local = json_object_get(doc, "runs");
    if (json_array_size(local) == 0)
        return;
    printf("\nthis machine's journal:\n");
    print_runs(local);
}


static void print_shared_run(const json_t *run)
{
    const json_t *c = json_object_get(run, "counts");
    printf("run %s (%s): %s\n", str_or(run, "name", ""), str_or(run, "command", ""),
           str_or(run, "outcome", "running"));
    if (json_string_value(json_object_get(run, "halted")))
        printf("halted: %s\n", str_or(run, "halted", ""));
    printf("%lld tenants: %lld done (%lld failed), %lld running, %lld pending\n",
           json_integer_value(json_object_get(c, "total")),
           json_integer_value(json_object_get(c, "done")),
           json_integer_value(json_object_get(c, "failed")),
           json_integer_value(json_object_get(c, "running")),
           json_integer_value(json_object_get(c, "pending")));
    size_t i;
    const json_t *w, *t;
    json_array_foreach(json_object_get(run, "workers"), i, w) {
        printf("worker %s%s, running %zu\n", str_or(w, "id", ""),
               json_is_string(json_object_get(w, "left_at")) ? " (left)" : "",
               json_array_size(json_object_get(w, "running")));
    }
    json_array_foreach(json_object_get(run, "tenants"), i, t) {
        printf("  %-24s %-10s %-10s %-12s %s%s%s\n", str_or(t, "id", ""), str_or(t, "env", ""),
               str_or(t, "state", ""), str_or(t, "outcome", "-"), str_or(t, "worker", ""),
               json_string_value(json_object_get(t, "error")) ? "  " : "",
               str_or(t, "error", ""));
    }
}

/* local_runs_doc: the local journal's runs, or run ID. */
static json_t *local_runs_doc(const CliArgs *a, const Inventory *inv, DroverError *err)
{
    Journal *j = open_existing_journal(inv, err);
    int64_t id = 0;
    json_t *doc = NULL;
    if (j && a->show_id && parse_run_id(a->show_id, &id, err))
        doc = journal_run_json(j, id, err);
    else if (j && !a->show_id)
        doc = journal_runs_json(j, a->limit ? (int)a->limit : 20, err);
    journal_close(j);
    return doc;
}

static bool all_digits(const char *s)
{
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/*
 * runs_doc reads what `runs` shows. With a control database: `runs` lists its shared runs
 * ({"shared_runs": [...], "runs": [the local journal's, or none]}) and `runs show NAME` one of
 * them, live (every run is there: those without --run as COMMAND@WORKER); a number names a run
 * of this machine's local journal.
 */
static json_t *runs_doc(const CliArgs *a, const Inventory *inv, bool *shared, DroverError *err)
{
    *shared = inv->control_url && !(a->show_id && all_digits(a->show_id));
    if (!*shared)
        return local_runs_doc(a, inv, err);
    Control *c = open_control(inv, err);
    json_t *doc = !c ? NULL : a->show_id ? control_run_json(c, a->show_id, err)
                                         : control_runs_json(c, a->limit ? (int)a->limit : 20,
                                                             err);
    control_close(c);
    if (!doc || a->show_id)
        return doc;
    DroverError ignored = DROVER_ERROR_INIT;
    json_t *local = access(inv->journal_path, F_OK) == 0 ? local_runs_doc(a, inv, &ignored) : NULL;
    error_clear(&ignored);
    return json_pack("{s:o, s:o}", "shared_runs", doc, "runs", local ? local : json_array());
}

int cmd_runs(const CliArgs *a)
{
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(a->config, &err);
    bool shared = false;
    json_t *doc = inv ? runs_doc(a, inv, &shared, &err) : NULL;
    int rc = DROVER_EXIT_OK;
    if (!doc)
        rc = cli_fail_usage(&err);
    else if (a->format == FMT_JSON)
        report_write_json(doc, a->out, &err);
    else if (shared && a->show_id)
        print_shared_run(doc);
    else if (shared)
        print_both_runs(doc);
    else if (a->show_id)
        print_run(doc);
    else
        print_runs(doc);
    json_decref(doc);
    inv_free(inv);
    error_clear(&err);
    return rc;
}

int cmd_resolve(const CliArgs *a)
{
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(a->config, &err);
    size_t *sel = NULL, n = 0;
    Journal *j = NULL;
    Control *c = NULL;
    int rc = DROVER_EXIT_OK;
    if (!inv || !sources_resolve(inv, NULL, &err) ||
        !inv_select(inv, &a->selector, &sel, &n, &err) ||
        (inv->control_url ? !(c = open_control(inv, &err))
                          : !(j = open_existing_journal(inv, &err)))) {
        rc = cli_fail_usage(&err);
        goto out;
    }
    /* With a control database the fleet's dirty marks are there (fleetrun.h). */
    for (size_t i = 0; i < n; i++) {
        const char *id = inv->tenants[sel[i]].id;
        bool was_dirty = false;
        if (c ? !control_resolve(c, id, &was_dirty, &err)
              : !journal_resolve(j, id, &was_dirty, &err)) {
            cli_print_error(&err);
            rc = DROVER_EXIT_FAILED;
            continue;
        }
        printf("%s: %s\n", id, was_dirty ? "dirty mark cleared" : "was not dirty");
    }
out:
    journal_close(j);
    control_close(c);
    free(sel);
    inv_free(inv);
    error_clear(&err);
    return rc;
}

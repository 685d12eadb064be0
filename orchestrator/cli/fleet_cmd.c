/*
 * fleet_cmd.c — plan, migrate, undo, status and check: load everything before any tenant is
 * touched (bad input ends with exit 2 and no side effect), run the tenants through the
 * rollout, record migrate/undo in the journal, report, and choose the exit code.
 */
#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "drover/agentclient.h"
#include "drover/fleetview.h"
#include "drover/noderunner.h"
#include "drover/journal.h"
#include "drover/report.h"
#include "drover/rollout.h"
#include "drover/fleetview.h"
#include "drover/schema.h"
#include "drover/exitcodes.h"
#include "fleet.h"
#include "fleet_notify.h"
#include "progress.h"

/* Set by the signal thread, read by the pool's workers: see ExecOptions.stop. */
static atomic_int stop_requested;

/*
 * SIGINT and SIGTERM are blocked in every thread and taken by one thread with sigwait, so
 * that what a signal triggers may lock mutexes and talk to servers:
 *   1st: stop dispatching; running jobs finish their current migration (or roll it back) and
 *        release their locks;
 *   2nd: also cancel the statements running now (their transactions roll back);
 *   3rd: end the process at once (the servers roll back open transactions).
 * The mask is set before any other thread starts, so every thread inherits it.
 */
static void *signal_thread(void *arg)
{
    ExecCancels *cancels = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    for (int count = 1;; count++) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (count == 1) {
            atomic_store(&stop_requested, 1);
        } else if (count == 2) {
            fputs("drover: cancelling the statements running now\n", stderr);
            exec_cancels_fire(cancels);
        } else {
            signal(sig, SIG_DFL);
            pthread_sigmask(SIG_UNBLOCK, &set, NULL);
            raise(sig);
        }
    }
    return NULL;
}

static void start_signal_thread(ExecCancels *cancels)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, signal_thread, cancels) == 0)
        pthread_detach(t);
}

static bool is_write(const CliArgs *a)
{
    return (a->command == CMD_MIGRATE || a->command == CMD_UNDO) && !a->dry_run;
}

typedef struct FleetRun {
    const CliArgs *a;
    Fleet *f;
    AgentClient *agents; /* NULL when no selected tenant is served by an agent */
    Journal *journal;
    int64_t run_id;
    Progress progress;
    bool journal_failed;
    FleetNotify notify;
} FleetRun;

/* admit keeps a dirty tenant out of migrate/undo until an operator resolves it. */
static bool admit(const InvTenant *t, ExecResult *res, void *ctx)
{
    FleetRun *fr = ctx;
    char *migration = NULL, *why = NULL;
    DroverError err = DROVER_ERROR_INIT;
    if (!fr->journal || !journal_dirty(fr->journal, t->id, &migration, &why, &err) || !migration) {
        error_clear(&err);
        return true;
    }
    memset(res, 0, sizeof *res);
    res->tenant = t;
    res->outcome = EXEC_OUT_DIRTY;
    res->dirty_migration = migration;
    error_set(&res->error, ERR_REFUSED,
                  "the tenant is dirty: migration '%s' may be half-applied (%s)", migration,
                  why ? why : "no detail recorded");
    error_set_context(&res->error, t->id, NULL, NULL);
    error_set_hint(&res->error, "repair the tenant by hand, then run 'drover resolve --tenant "
                                    "%s'; nothing was run",
                       t->id);
    free(why);
    return false;
}

/* record writes (or rewrites) a tenant's result in the journal; a failure is reported and
 * makes the run exit non-zero, but does not stop it. */
static void record(FleetRun *fr, const ExecResult *res)
{
    DroverError err = DROVER_ERROR_INIT;
    if (fr->journal && !journal_record_tenant(fr->journal, fr->run_id, res, &err)) {
        cli_print_error(&err);
        fr->journal_failed = true;
    }
    error_clear(&err);
}

static void finished(const ExecResult *res, const RolloutProgress *p, void *ctx)
{
    FleetRun *fr = ctx;
    record(fr, res);
    progress_tenant(&fr->progress, res, p);
    fleet_notify_tenant(&fr->notify, res);
}

/* revised: compensation reverted a tenant already recorded as migrated; the journal and the
 * log must not keep saying "migrated". */
static void revised(const ExecResult *res, size_t first_new_step, void *ctx)
{
    FleetRun *fr = ctx;
    record(fr, res);
    progress_revised(&fr->progress, res, first_new_step);
}

static void halted(const char *reason, void *ctx)
{
    FleetRun *fr = ctx;
    progress_halted(&fr->progress, reason);
    fleet_notify_halted(&fr->notify, reason);
}

static void env_started(const InvEnvironment *env, size_t ntenants, void *ctx)
{
    FleetRun *fr = ctx;
    fleet_notify_env_started(&fr->notify, env, ntenants);
}

static void env_finished(const InvEnvironment *env, const ExecResult *const *results, size_t n,
                         void *ctx)
{
    FleetRun *fr = ctx;
    fleet_notify_env_finished(&fr->notify, env, results, n);
}

static char *joined_argv(const CliArgs *a)
{
    StrBuf sb;
    sb_init(&sb);
    for (int i = 0; i < a->argc; i++)
        sb_appendf(&sb, "%s%s", i ? " " : "", a->argv[i]);
    return sb_detach(&sb);
}

static bool open_journal(FleetRun *fr, DroverError *err)
{
    fr->journal = journal_open(fr->f->inv->journal_path, err);
    if (!fr->journal)
        return false;
    char *argv = joined_argv(fr->a);
    JournalRunInfo info = {.command = fr->a->command_name, .argv = argv,
                           .config = fr->a->config};
    bool ok = journal_begin_run(fr->journal, &info, &fr->run_id, err);
    free(argv);
    return ok;
}

/* read_journal_states adds to status what only the journal knows, in one pass: the tenants it
 * marks dirty, and each tenant's last recorded run. No journal yet: nothing to add. */
static void read_journal_states(const Fleet *f, ExecResult *res)
{
    if (access(f->inv->journal_path, F_OK) != 0)
        return;
    DroverError err = DROVER_ERROR_INIT;
    Journal *j = journal_open(f->inv->journal_path, &err);
    bool ok = j != NULL;
    for (size_t i = 0; ok && i < f->nselected; i++) {
        ExecResult *r = &res[i];
        char *migration = NULL, *why = NULL;
        ok = r->state == EXEC_STATE_UNREACHABLE ||
             journal_dirty(j, r->tenant->id, &migration, &why, &err);
        if (ok && migration) {
            r->state = EXEC_STATE_DIRTY;
            free(r->dirty_migration);
            r->dirty_migration = xstrdup(migration);
        }
        free(migration);
        free(why);
        ok = ok && journal_last_run(j, r->tenant->id, &r->last_run_outcome, &r->last_run_id,
                                    &r->last_run_at, &err);
    }
    if (!ok)
        cli_print_error(&err);
    journal_close(j);
    error_clear(&err);
}

static bool write_report_in(const CliArgs *a, const ReportInput *in, const char *outcome,
                            DroverError *err);

/* use_color: the table in colour only on a terminal, and never when NO_COLOR is set to
 * anything but "" (no-color.org). */
static bool use_color(const CliArgs *a)
{
    const char *no_color = getenv("NO_COLOR");
    return a->format == FMT_TEXT && !a->out && isatty(STDOUT_FILENO) &&
           !(no_color && *no_color);
}

static bool write_report(const CliArgs *a, const Fleet *f, const ExecResult *res,
                         const char *outcome, DroverError *err)
{
    FleetView view;
    fleetview_build(f->inv, &f->migs, res, f->nselected, &view);
    ReportInput in = {.inv = f->inv, .set = &f->migs, .res = res, .n = f->nselected,
                      .view = &view, .generated_at = (double)time(NULL),
                      .color = use_color(a)};
    bool ok = write_report_in(a, &in, outcome, err);
    fleetview_free(&view);
    return ok;
}

/* write_status writes a status format other than JSON; false only when writing failed. */
static bool write_status(const CliArgs *a, FILE *out, const ReportInput *in)
{
    switch (a->format) {
    case FMT_CSV: return report_status_csv(out, in);
    case FMT_JUNIT: return report_status_junit(out, in);
    case FMT_PROM: return report_status_prom(out, in);
    case FMT_MARKDOWN: return report_status_markdown(out, in);
    case FMT_HTML: return report_status_html(out, in);
    case FMT_TEXT:
    case FMT_JSON:
        break;
    }
    report_status_table(out, in);
    return true;
}

static bool write_report_in(const CliArgs *a, const ReportInput *in, const char *outcome,
                            DroverError *err)
{
    const ExecResult *res = in->res;
    if (a->format == FMT_JSON) {
        json_t *j = a->command == CMD_STATUS
                        ? report_status_json(in)
                        : report_run_json(a->command_name, res, in->n);
        if (a->command != CMD_STATUS)
            json_object_set_new(j, "outcome", json_string(outcome));
        bool ok = report_write_json(j, a->out, err);
        json_decref(j);
        return ok;
    }
    ReportOut file = {0};
    if (a->out && !report_out_open(&file, a->out, err))
        return false;
    FILE *out = a->out ? file.f : stdout;
    bool ok = true;
    bool streamed = is_write(a) && !a->out && a->log_format == FMT_TEXT;
    if (a->command == CMD_STATUS)
        ok = write_status(a, out, in);
    else if (streamed) /* the tenant lines went out as each tenant finished */
        report_run_summary(out, a->command_name, res, in->n);
    else
        report_run_text(out, a->command_name, res, in->n, true);
    if (a->out)
        ok = report_out_close(&file, ok, err);
    if (!ok && !error_is_set(err))
        error_set(err, ERR_IO, "cannot write '%s': %s", a->out ? a->out : "stdout",
                      strerror(errno));
    return ok;
}

/* print_failures repeats each failure on stderr, so a CI log that only keeps stderr names the
 * tenant, migration, statement and server error. Not with --log-format json: stderr is then
 * JSON lines only, and each tenant event already carries its error. */
static void print_failures(const ExecResult *res, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (exec_outcome_is_failure(res[i].outcome))
            cli_print_error(&res[i].error);
}

static int exit_code_of(const CliArgs *a, RolloutOutcome outcome, const ExecResult *res,
                        size_t n)
{
    if (outcome == ROLLOUT_INTERRUPTED)
        return DROVER_EXIT_INTERRUPTED;
    if (a->command == CMD_STATUS && a->exit_code)
        return report_status_exit_code(res, n);
    if (!is_write(a)) {
        ReportCounts c;
        report_count(res, n, &c);
        return c.failed ? DROVER_EXIT_FAILED : DROVER_EXIT_OK;
    }
    return outcome == ROLLOUT_SUCCEEDED ? DROVER_EXIT_OK : DROVER_EXIT_FAILED;
}

static void run_on_agent(const ExecJob *job, ExecResult *res, void *ctx)
{
    agent_client_run_tenant(ctx, job, res);
}

static RolloutOutcome run_rollout(FleetRun *fr, ExecResult *res, ExecOptions *o)
{
    const CliArgs *a = fr->a;
    Fleet *f = fr->f;
    RolloutOptions ro = {
        .exec = o,
        .parallel = (size_t)(a->parallel ? a->parallel : f->inv->engine.parallel),
        .max_per_server = (size_t)f->inv->engine.max_per_server,
        /* Reads have no budget to exceed and nothing to halt. */
        .continue_on_error = a->continue_on_error || !is_write(a),
        .stop = &stop_requested,
        .hooks = {.admit = is_write(a) ? admit : NULL, .finished = finished,
                  .revised = revised, .halted = halted, .env_started = env_started,
                  .env_finished = env_finished, .ctx = fr},
        .run_remote = run_on_agent,
        .remote_ctx = fr->agents,
    };
    char *reason = NULL;
    RolloutOutcome outcome = rollout_run(f->inv, &f->migs, f->selected, f->nselected, &ro, res,
                                         &reason);
    free(reason);
    return outcome;
}

static char *application_name(const CliArgs *a)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    return xasprintf("drover %s pid %ld on %s", a->command_name, (long)getpid(), host);
}

static bool has_js(const MigSet *set)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].kind == MIG_JS)
            return true;
    return false;
}

/* selected_dialects: NR_DIALECT bits of the selected tenants' dialects. */
static unsigned selected_dialects(const Fleet *f)
{
    unsigned bits = 0;
    for (size_t i = 0; i < f->nselected; i++)
        bits |= NR_DIALECT(f->inv->tenants[f->selected[i]].url.dialect);
    return bits;
}

/* setup_js starts the node runner pool before any tenant is touched, so that a missing node,
 * sequelize or a broken .js file stops the run up front (exit 2). --sql needs it only where
 * .js migrations can be previewed: PostgreSQL. */
static bool setup_js(const CliArgs *a, const Fleet *f, DroverError *err)
{
    unsigned dialects = selected_dialects(f);
    if (!is_write(a))
        dialects = a->sql ? dialects & NR_DIALECT(DB_POSTGRES) : 0;
    if (!dialects || !has_js(&f->migs))
        return true;
    long ms = f->inv->engine.js_timeout_ms;
    return nr_setup(&f->migs, f->inv->node_modules, dialects, ms > INT_MAX ? INT_MAX : (int)ms,
                    err);
}

/* run_base: what makes this run's batch ids unique on every agent, e.g.
 * "ci-7-4711-1700000000123456789" (host, pid, start in ns). */
static char *run_base(void)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return xasprintf("%s-%ld-%lld%09ld", host, (long)getpid(), (long long)ts.tv_sec, ts.tv_nsec);
}

/* setup_agents starts the agent client when a selected tenant needs one, and checks every
 * agent's migration set and token before anything runs. An agent that does not answer is
 * only a warning: its tenants end unreachable, never missing. */
static bool setup_agents(const Fleet *f, AgentClient **out, DroverError *err)
{
    *out = NULL;
    if (!agent_client_needed(f->inv, f->selected, f->nselected))
        return true;
    char *base = run_base();
    *out = agent_client_new(f->inv, &f->migs, base, err);
    free(base);
    StrList warnings = STRLIST_INIT;
    bool ok = *out && agent_client_preflight(*out, f->selected, f->nselected, &warnings, err);
    for (size_t i = 0; i < warnings.n; i++)
        fprintf(stderr, "drover: warning: %s\n", warnings.items[i]);
    sl_free(&warnings);
    return ok;
}

int cmd_fleet(const CliArgs *a)
{
    Fleet f = {0};
    DroverError err = DROVER_ERROR_INIT;
    int rc = DROVER_EXIT_USAGE;
    AgentClient *agents = NULL;
    if (!fleet_load(a, &f, &err) || !setup_js(a, &f, &err)) {
        rc = cli_fail_usage(&err);
        goto out;
    }
    char *app = application_name(a);
    ExecOptions o = fleet_exec_options(a, &f, app);
    o.stop = &stop_requested;
    /* Never freed: the detached signal thread may use it until the process ends. */
    static ExecCancels *cancels;
    if (is_write(a)) {
        cancels = exec_cancels_new();
        o.cancels = cancels;
        start_signal_thread(cancels);
    }
    /* After the signal mask is set: the agent client's thread must inherit it. */
    if (!setup_agents(&f, &agents, &err)) {
        rc = cli_fail_usage(&err);
        free(app);
        goto out;
    }
    FleetRun fr = {.a = a, .f = &f, .agents = agents};
    progress_init(&fr.progress, a->command_name, a->log_format,
                  is_write(a) && !a->out && a->format == FMT_TEXT);
    if (is_write(a) && !open_journal(&fr, &err)) {
        rc = cli_fail_usage(&err);
        free(app);
        goto out;
    }
    ExecSessions *sessions = is_write(a) ? NULL : exec_sessions_new();
    o.sessions = sessions;
    ExecResult *res = xcalloc(f.nselected ? f.nselected : 1, sizeof *res);
    /* Webhooks hear about runs that change tenants, not about reads or dry runs. */
    if (is_write(a))
        fleet_notify_begin(&fr.notify, f.inv, a->command_name, fr.run_id, res, f.nselected);
    RolloutOutcome outcome = run_rollout(&fr, res, &o);
    exec_sessions_free(sessions);
    progress_end(&fr.progress);
    fleet_notify_finished(&fr.notify, rollout_outcome_name(outcome));
    if (a->command == CMD_STATUS)
        read_journal_states(&f, res);
    if (a->command == CMD_STATUS && a->schema)
        fleetview_mark_drift(res, f.nselected);
    rc = exit_code_of(a, outcome, res, f.nselected);
    if (fr.journal && !journal_end_run(fr.journal, fr.run_id, rollout_outcome_name(outcome), &err))
        cli_print_error(&err);
    if (!write_report(a, &f, res, rollout_outcome_name(outcome), &err)) {
        cli_print_error(&err);
        rc = DROVER_EXIT_FAILED;
    }
    if (a->log_format == FMT_TEXT)
        print_failures(res, f.nselected);
    if (fr.journal_failed && rc == DROVER_EXIT_OK)
        rc = DROVER_EXIT_FAILED;
    fleet_notify_end(&fr.notify);
    for (size_t i = 0; i < f.nselected; i++)
        exec_result_free(&res[i]);
    free(res);
    journal_close(fr.journal);
    free(app);
out:
    agent_client_free(agents);
    nr_shutdown();
    error_clear(&err);
    fleet_free(&f);
    return rc;
}

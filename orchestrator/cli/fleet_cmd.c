/*
 * fleet_cmd.c — plan, migrate, undo, status and check: the CLI's face of a FleetRun
 * (fleetrun.h). It loads the fleet, builds the run from the command line (bad input ends with
 * exit 2 and nothing touched), takes the signals, shows progress, sends webhooks, writes the
 * report and chooses the exit code; the run itself is the library's.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "drover/exitcodes.h"
#include "drover/fleetrun.h"
#include "drover/fleetview.h"
#include "drover/report.h"
#include "fleet.h"
#include "fleet_notify.h"
#include "progress.h"

/*
 * SIGINT and SIGTERM are blocked in every thread and taken by one thread with sigwait, so
 * that what a signal triggers may lock mutexes and talk to servers:
 *   1st: stop dispatching; running jobs finish their current migration (or roll it back) and
 *        release their locks;
 *   2nd: also cancel the statements running now (their transactions roll back);
 *   3rd: end the process at once (the servers roll back open transactions).
 * The mask is set before any other thread starts, so every thread inherits it. Before the run
 * exists (fleetrun_new checks the node runner, the agents, the journal: nothing is touched
 * yet) the first signal ends the process at once. SIGUSR1, sent by cmd_fleet once the run is
 * over, ends the thread so that the run can be freed.
 */
static _Atomic(FleetRun *) signal_run;
/* Set once the second signal started cancelling: cancelling takes up to 5 s when a cancel
 * request hangs on a frozen network (exec_cancels_fire), so it runs on a thread of its own,
 * leaving this thread free to take the third signal; and a run such a thread may still read is
 * never freed. */
static atomic_bool cancel_started, cancel_done;

/* print_sources: `check` says what each tenants_from source gave, and how fast. */
static void print_sources(const Fleet *f)
{
    for (size_t i = 0; i < f->inv->nsources; i++)
        printf("%s: %zu tenant%s in %.2f s\n", f->sources[i].source->label, f->sources[i].tenants,
               f->sources[i].tenants == 1 ? "" : "s", f->sources[i].seconds);
}

static void *cancel_thread(void *arg)
{
    fleetrun_cancel_statements(arg);
    atomic_store(&cancel_done, true);
    return NULL;
}

/* cancel_settled: no cancel thread can still read the run, waiting up to 5 s for one. */
static bool cancel_settled(void)
{
    for (int i = 0; atomic_load(&cancel_started) && !atomic_load(&cancel_done); i++) {
        if (i == 500)
            return false;
        nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
    }
    return true;
}
static void signal_set(sigset_t *set, bool with_wakeup)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    if (with_wakeup)
        sigaddset(set, SIGUSR1);
}

static void *signal_thread(void *arg)
{
    (void)arg;
    sigset_t set;
    signal_set(&set, true);
    for (int count = 1;; count++) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGUSR1)
            return NULL;
        FleetRun *run = atomic_load(&signal_run);
        if (!run)
            count = 3;
        if (count == 1) {
            fleetrun_stop(run);
        } else if (count == 2) {
            fputs("drover: cancelling the statements running now\n", stderr);
            pthread_t t;
            atomic_store(&cancel_started, true);
            if (pthread_create(&t, NULL, cancel_thread, run) == 0)
                pthread_detach(t);
        } else {
            signal(sig, SIG_DFL);
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            pthread_sigmask(SIG_UNBLOCK, &one, NULL);
            raise(sig);
        }
    }
}

/* block_signals: before any thread starts (the agent client's, the webhooks'). */
static void block_signals(void)
{
    sigset_t set;
    signal_set(&set, true);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* stop_signal_thread ends the signal thread, then lets SIGINT/SIGTERM end the process as
 * usual for what is left (the report), since nothing takes them any more. */
static void stop_signal_thread(pthread_t t)
{
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    sigset_t set;
    signal_set(&set, false);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static bool is_write(const CliArgs *a)
{
    return (a->command == CMD_MIGRATE || a->command == CMD_UNDO) && !a->dry_run;
}

/* What the CLI keeps of a run: the progress lines and the webhooks. */
typedef struct CliRun {
    Progress progress;
    FleetNotify notify;
} CliRun;

static void finished(const ExecResult *res, const RolloutProgress *p, void *ctx)
{
    CliRun *cr = ctx;
    progress_tenant(&cr->progress, res, p);
    fleet_notify_tenant(&cr->notify, res);
}

static void revised(const ExecResult *res, size_t first_new_step, void *ctx)
{
    CliRun *cr = ctx;
    progress_revised(&cr->progress, res, first_new_step);
}

static void halted(const char *reason, void *ctx)
{
    CliRun *cr = ctx;
    progress_halted(&cr->progress, reason);
    fleet_notify_halted(&cr->notify, reason);
}

static void env_started(const InvEnvironment *env, size_t ntenants, void *ctx)
{
    CliRun *cr = ctx;
    fleet_notify_env_started(&cr->notify, env, ntenants);
}

static void env_finished(const InvEnvironment *env, const ExecResult *const *results, size_t n,
                         void *ctx)
{
    CliRun *cr = ctx;
    fleet_notify_env_finished(&cr->notify, env, results, n);
}

static void warn(const char *line, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "drover: warning: %s\n", line);
}

static void print_error(const DroverError *err, void *ctx)
{
    (void)ctx;
    cli_print_error(err);
}

static char *joined_argv(const CliArgs *a)
{
    StrBuf sb;
    sb_init(&sb);
    for (int i = 0; i < a->argc; i++)
        sb_appendf(&sb, "%s%s", i ? " " : "", a->argv[i]);
    return sb_detach(&sb);
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

static bool write_report(const CliArgs *a, const Fleet *f, const FleetChanges *changes,
                         const ExecResult *res,
                         const char *outcome, DroverError *err)
{
    FleetView view;
    fleetview_build(f->inv, &f->migs, res, f->nselected, &view);
    ReportInput in = {.inv = f->inv, .set = &f->migs, .res = res, .n = f->nselected,
                      .view = &view, .generated_at = (double)time(NULL),
                      .color = use_color(a), .all = a->all,
                      .fleet_since_run = changes->since_run, .appeared = &changes->appeared,
                      .disappeared = &changes->disappeared};
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
    case FMT_SARIF: /* lint only: refused by cli_parse */
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

static char *application_name(const CliArgs *a)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    return xasprintf("drover %s pid %ld on %s", a->command_name, (long)getpid(), host);
}

static FleetRunOptions run_options(const CliArgs *a, const Fleet *f, const char *app,
                                   const char *argv, CliRun *cr)
{
    return (FleetRunOptions){
        .exec = fleet_exec_options(a, f, app),
        .parallel = (size_t)a->parallel,
        .continue_on_error = a->continue_on_error,
        .ignore_window = a->ignore_window,
        .journal = true,
        .journal_info = {.command = a->command_name, .argv = argv, .config = a->config},
        .shared_run = a->run,
        .status_from_journal = true,
        .mark_drift = true,
        .hooks = {.finished = finished, .revised = revised, .halted = halted,
                  .env_started = env_started, .env_finished = env_finished, .ctx = cr},
        .warn = warn,
        .error = print_error,
    };
}

/* finish writes the report and chooses the exit code once every result is final. */
static int finish(const CliArgs *a, const Fleet *f, FleetRun *run, RolloutOutcome outcome)
{
    ExecResult *res = fleetrun_results(run);
    DroverError err = DROVER_ERROR_INIT;
    int rc = exit_code_of(a, outcome, res, f->nselected);
    if (!write_report(a, f, fleetrun_fleet_changes(run), res, rollout_outcome_name(outcome),
                      &err)) {
        cli_print_error(&err);
        rc = DROVER_EXIT_FAILED;
    }
    if (a->log_format == FMT_TEXT)
        print_failures(res, f->nselected);
    if (fleetrun_journal_failed(run) && rc == DROVER_EXIT_OK)
        rc = DROVER_EXIT_FAILED;
    error_clear(&err);
    return rc;
}

int cmd_fleet(const CliArgs *a)
{
    Fleet f = {0};
    DroverError err = DROVER_ERROR_INIT;
    int rc = DROVER_EXIT_USAGE;
    char *app = application_name(a), *argv = joined_argv(a);
    CliRun cr = {0};
    FleetRun *run = NULL;
    pthread_t signals;
    bool signals_started = false;
    if (!fleet_load(a, &f, &err)) {
        rc = cli_fail_usage(&err);
        goto out;
    }
    if (a->command == CMD_CHECK && a->format == FMT_TEXT)
        print_sources(&f);
    /* Before any thread starts: the agent client's and the webhooks' inherit the mask. verify
     * too: a Ctrl-C must let it roll back and drop its scratch copies. */
    if (is_write(a) || a->command == CMD_VERIFY) {
        block_signals();
        signals_started = pthread_create(&signals, NULL, signal_thread, NULL) == 0;
    }
    progress_init(&cr.progress, a->command_name, a->log_format,
                  is_write(a) && !a->out && a->format == FMT_TEXT);
    fleetrun_set_output(progress_output, &cr.progress);
    FleetRunOptions o = run_options(a, &f, app, argv, &cr);
    run = fleetrun_new(f.inv, &f.migs, f.selected, f.nselected, &o, &err);
    if (!run) {
        rc = cli_fail_usage(&err);
        goto out;
    }
    atomic_store(&signal_run, run);
    if (a->run && fleetrun_joined_finished(run))
        fprintf(stderr, "drover: run '%s' already finished; nothing was run (its results follow)\n",
                a->run);
    /* Webhooks hear about runs that change tenants, not about reads or dry runs. */
    if (is_write(a))
        fleet_notify_begin(&cr.notify, f.inv, run, a->command_name, a->run);
    RolloutOutcome outcome = fleetrun_run(run, NULL);
    progress_end(&cr.progress);
    fleet_notify_finished(&cr.notify, rollout_outcome_name(outcome));
    rc = finish(a, &f, run, outcome);
    fleet_notify_end(&cr.notify);
out:
    if (signals_started)
        stop_signal_thread(signals);
    atomic_store(&signal_run, NULL);
    if (cancel_settled())
        fleetrun_free(run); /* else the process ends now; a cancel may still read the run */
    fleetrun_set_output(NULL, NULL);
    free(app);
    free(argv);
    error_clear(&err);
    fleet_free(&f);
    return rc;
}

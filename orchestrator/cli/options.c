/*
 * options.c — the command and option tables, and parsing argv against them. Adding an option
 * is adding a row: getopt_long's table, the per-command check and --help all come from it.
 */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/report.h"
#include "drover/util.h"

#define BIT(c) (1u << (c))
#define FLEET                                                                                  \
    (BIT(CMD_PLAN) | BIT(CMD_MIGRATE) | BIT(CMD_UNDO) | BIT(CMD_STATUS) | BIT(CMD_CHECK) |     \
     BIT(CMD_LOCKS) | BIT(CMD_VERIFY))
#define WRITES (BIT(CMD_MIGRATE) | BIT(CMD_UNDO))
#define EVERY (FLEET | BIT(CMD_NEW) | BIT(CMD_RUNS) | BIT(CMD_RESOLVE) | BIT(CMD_NONE) |        \
               BIT(CMD_INIT) | BIT(CMD_LINT))

typedef struct CliCommand {
    CliCommandId id;
    const char *name;
    const char *usage;
    const char *summary;
} CliCommand;

static const CliCommand commands[] = {
    {CMD_PLAN, "plan", "plan [--to NAME] [--sql] [selectors]",
     "show, per tenant, applied count, pending migrations and unknown rows"},
    {CMD_MIGRATE, "migrate", "migrate [--to NAME] [--dry-run [--sql]] [selectors]",
     "apply pending migrations in file order"},
    {CMD_UNDO, "undo", "undo (--steps N | --to NAME | --all) [--dry-run] [selectors]",
     "revert applied migrations, newest first in file order (--to is inclusive)"},
    {CMD_STATUS, "status",
     "status [--format table|json|csv|junit|prom|markdown|html] [--out FILE] [--exit-code] "
     "[--all] [selectors]",
     "every tenant's state: current, behind, drifted, dirty, locked or unreachable"},
    {CMD_CHECK, "check", "check [selectors]",
     "validate the config and migration files, and connect to every selected tenant"},
    {CMD_NEW, "new", "new NAME [--js]",
     "write migrations/YYYYMMDDHHMMSS-NAME.sql with up and down sections"},
    {CMD_LOCKS, "locks", "locks [selectors]",
     "show which process holds each selected tenant's lock"},
    {CMD_RUNS, "runs", "runs [--limit N] | runs show ID  [--format json]",
     "list recorded runs, or show one run with every tenant and migration step"},
    {CMD_RESOLVE, "resolve", "resolve --tenant ID ...",
     "clear the dirty mark of tenants an operator has repaired by hand"},
    {CMD_INIT, "init", "init [--dir PROJECT] [--out FILE] [--force]",
     "write a drover.cfg from a sequelize-cli project's .sequelizerc and config"},
    {CMD_LINT, "lint", "lint [--pending [selectors]] [--format text|json|sarif] [--out FILE]",
     "check every migration against the safety rules (docs/safety.md); exit 1 on an error"},
    {CMD_VERIFY, "verify", "verify [--to NAME] [--format text|json] [selectors]",
     "apply each pending migration, revert it, compare the schema, apply it again, and leave "
     "every tenant as it was (PostgreSQL: rolled back; SQLite: a copy; MariaDB: a scratch "
     "database); exit 1 when a down does not restore the schema or a migration fails"},
};

enum {
    OPT_CONFIG = 1000, OPT_ENV, OPT_TENANT, OPT_TAG, OPT_FORMAT, OPT_OUT, OPT_TO, OPT_STEPS,
    OPT_ALL, OPT_DRY_RUN, OPT_JS, OPT_HELP, OPT_VERSION, OPT_PARALLEL, OPT_SHARD,
    OPT_LOG_FORMAT, OPT_CONTINUE, OPT_LIMIT, OPT_SCHEMA, OPT_EXIT_CODE, OPT_SQL, OPT_DIR,
    OPT_FORCE,
    OPT_PENDING,
    OPT_IGNORE_WINDOW,
    OPT_RUN,
};

typedef struct CliOption {
    int id;
    const char *name;
    const char *metavar; /* NULL: a flag */
    unsigned commands;   /* where the option applies */
    const char *env;     /* environment fallback */
    const char *help;
} CliOption;

static const CliOption options[] = {
    {OPT_CONFIG, "config", "FILE", EVERY, "DROVER_CONFIG",
     "inventory file (default ./drover.cfg)"},
    {OPT_ENV, "env", "NAME", FLEET | BIT(CMD_LINT), NULL, "select tenants of an environment (repeatable)"},
    {OPT_TENANT, "tenant", "ID", FLEET | BIT(CMD_RESOLVE) | BIT(CMD_LINT), NULL, "select a tenant (repeatable)"},
    {OPT_TAG, "tag", "TAG", FLEET | BIT(CMD_LINT), NULL, "select tenants carrying a tag (repeatable)"},
    {OPT_SHARD, "shard", "I/N", FLEET | BIT(CMD_LINT), NULL,
     "keep the tenants of shard I of N (stable hash of the id), e.g. $JOB_COMPLETION_INDEX/4"},
    {OPT_PARALLEL, "parallel", "N", FLEET & ~BIT(CMD_LOCKS), NULL,
     "tenants at once (default: defaults.parallel)"},
    {OPT_FORMAT, "format", "FMT", FLEET | BIT(CMD_RUNS) | BIT(CMD_LINT), NULL,
     "output: text or json; status also table (= text), csv, junit, prom, markdown, html; "
     "lint also sarif"},
    {OPT_OUT, "out", "FILE", FLEET | BIT(CMD_RUNS) | BIT(CMD_INIT) | BIT(CMD_LINT), NULL,
     "write the report to FILE instead of stdout; init: the inventory to write (default "
     "PROJECT/drover.cfg)"},
    {OPT_DIR, "dir", "PROJECT", BIT(CMD_INIT), NULL,
     "init: the sequelize-cli project folder (default .)"},
    {OPT_FORCE, "force", NULL, BIT(CMD_INIT), NULL, "init: replace an existing --out file"},
    {OPT_PENDING, "pending", NULL, BIT(CMD_LINT), NULL,
     "lint: only the migrations some selected tenant lacks (reads every selected tenant)"},
    {OPT_TO, "to", "NAME", BIT(CMD_PLAN) | BIT(CMD_MIGRATE) | BIT(CMD_UNDO) | BIT(CMD_VERIFY),
     NULL, "migrate, verify: up to and including NAME; undo: back to and including NAME"},
    {OPT_STEPS, "steps", "N", BIT(CMD_UNDO), NULL, "undo: revert the N newest migrations"},
    {OPT_ALL, "all", NULL, BIT(CMD_UNDO) | BIT(CMD_STATUS), NULL,
     "undo: revert every applied migration; status: list every tenant (table and markdown "
     "list only the tenants that are not current above " REPORT_COMPACT_OVER_TEXT " tenants)"},
    {OPT_DRY_RUN, "dry-run", NULL, BIT(CMD_MIGRATE) | BIT(CMD_UNDO), NULL,
     "show what would be done; change nothing"},
    {OPT_SQL, "sql", NULL, BIT(CMD_PLAN) | BIT(CMD_MIGRATE), NULL,
     "plan, migrate --dry-run: the exact statements per tenant; on PostgreSQL pending .js "
     "migrations run in one transaction that is always rolled back (MariaDB, SQLite: .sql "
     "only)"},
    {OPT_JS, "js", NULL, BIT(CMD_NEW), NULL, "new: write a sequelize-cli style .js skeleton"},
    {OPT_LOG_FORMAT, "log-format", "FMT", WRITES, NULL,
     "progress: text (a live line on a terminal, else a line per tenant) or json lines on stderr"},
    {OPT_IGNORE_WINDOW, "ignore-window", NULL, WRITES, NULL,
     "start tenants outside their environment's maintenance window (the journal's command "
     "line keeps it)"},
    {OPT_RUN, "run", "NAME", WRITES, NULL,
     "join the shared run NAME in the control database (created by the first process to "
     "join): tenants are claimed from its queue by every process that joins"},
    {OPT_CONTINUE, "continue-on-error", NULL, WRITES, NULL,
     "ignore canary failures and failure budgets"},
    {OPT_SCHEMA, "schema", NULL, BIT(CMD_STATUS), NULL,
     "status: fingerprint each tenant's schema and report tenants that differ from their peers"},
    {OPT_LIMIT, "limit", "N", BIT(CMD_RUNS), NULL, "runs: how many of the newest (default 20)"},
    {OPT_EXIT_CODE, "exit-code", NULL, BIT(CMD_STATUS), NULL,
     "exit 0 all current, 10 some behind, 11 some drifted, 12 some failed, unreachable, dirty "
     "or locked"},
    {OPT_HELP, "help", NULL, EVERY, NULL, "show help"},
    {OPT_VERSION, "version", NULL, BIT(CMD_NONE), NULL, "show the version"},
};

#define N_OPTIONS (sizeof options / sizeof *options)

static const CliCommand *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static const CliOption *find_option(int id)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].id == id)
            return &options[i];
    return NULL;
}

static void build_long_options(struct option *out)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        out[i] = (struct option){options[i].name,
                                 options[i].metavar ? required_argument : no_argument, NULL,
                                 options[i].id};
    out[N_OPTIONS] = (struct option){0};
}

static bool parse_steps(const char *text, long *out, DroverError *err)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || !end || *end || end == text || v < 1) {
        error_set(err, ERR_USAGE, "--steps needs a positive number, not '%s'", text);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_positive(const char *flag, const char *text, long max, long *out,
                           DroverError *err)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || !end || *end || end == text || v < 1 || v > max) {
        error_set(err, ERR_USAGE, "%s needs a number from 1 to %ld, not '%s'", flag, max,
                      text);
        return false;
    }
    *out = v;
    return true;
}

/* parse_run_name: a shared run's name is what a person types and a Job template fills in:
 * letters, digits and . _ - : /, at most 200 characters. */
static bool parse_run_name(const char *text, const char **out, DroverError *err)
{
    size_t n = strlen(text);
    bool ok = n > 0 && n <= 200;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)text[i]) || strchr("._-:/", text[i]);
    if (!ok) {
        error_set(err, ERR_USAGE, "--run needs a name of letters, digits and . _ - : / (at most "
                  "200), not '%s'", text);
        return false;
    }
    *out = text;
    return true;
}

/* parse_shard reads "I/N" with 0 <= I < N. */
static bool parse_shard(const char *text, InvSelector *sel, DroverError *err)
{
    char *slash = strchr(text, '/');
    long index = -1, count = 0;
    if (slash) {
        char *head = xstrndup(text, (size_t)(slash - text));
        char *end = NULL;
        errno = 0;
        index = strtol(head, &end, 10);
        bool head_ok = !errno && end && !*end && end != head;
        free(head);
        if (!head_ok)
            index = -1;
        DroverError ignored = DROVER_ERROR_INIT;
        if (!parse_positive("--shard", slash + 1, 100000, &count, &ignored))
            count = 0;
        error_clear(&ignored);
    }
    if (index < 0 || count < 1 || index >= count) {
        error_set(err, ERR_USAGE, "--shard needs I/N with 0 <= I < N, not '%s'", text);
        return false;
    }
    sel->shard_index = (size_t)index;
    sel->shard_count = (size_t)count;
    return true;
}

static const struct {
    const char *name;
    CliFormat format;
} formats[] = {
    {"text", FMT_TEXT}, {"table", FMT_TEXT},   {"json", FMT_JSON},         {"csv", FMT_CSV},
    {"junit", FMT_JUNIT}, {"prom", FMT_PROM}, {"markdown", FMT_MARKDOWN}, {"html", FMT_HTML},
    {"sarif", FMT_SARIF},
};

static const char *format_name(CliFormat f)
{
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (formats[i].format == f)
            return formats[i].name;
    return "?";
}

static bool parse_format(const char *text, CliFormat *out, DroverError *err)
{
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (strcmp(text, formats[i].name) == 0) {
            *out = formats[i].format;
            return true;
        }
    error_set(err, ERR_USAGE,
                  "unknown format '%s' (expected text, table, json, csv, junit, prom, markdown, "
                  "html or sarif)",
                  text);
    return false;
}

static bool parse_log_format(const char *text, CliFormat *out, DroverError *err)
{
    if (strcmp(text, "text") == 0 || strcmp(text, "json") == 0)
        return parse_format(text, out, err);
    error_set(err, ERR_USAGE, "unknown log format '%s' (expected text or json)", text);
    return false;
}

static bool apply_option(int id, const char *arg, CliArgs *a, DroverError *err)
{
    switch (id) {
    case OPT_CONFIG: a->config = arg; break;
    case OPT_ENV: sl_push(&a->selector.envs, arg); break;
    case OPT_TENANT: sl_push(&a->selector.tenants, arg); break;
    case OPT_TAG: sl_push(&a->selector.tags, arg); break;
    case OPT_FORMAT: return parse_format(arg, &a->format, err);
    case OPT_OUT: a->out = arg; break;
    case OPT_TO: a->to = arg; break;
    case OPT_STEPS: return parse_steps(arg, &a->steps, err);
    case OPT_ALL: a->all = true; break;
    case OPT_DRY_RUN: a->dry_run = true; break;
    case OPT_JS: a->js = true; break;
    case OPT_SQL: a->sql = true; break;
    case OPT_HELP: a->help = true; break;
    case OPT_VERSION: a->version = true; break;
    case OPT_PARALLEL: return parse_positive("--parallel", arg, 256, &a->parallel, err);
    case OPT_SHARD: return parse_shard(arg, &a->selector, err);
    case OPT_LOG_FORMAT: return parse_log_format(arg, &a->log_format, err);
    case OPT_CONTINUE: a->continue_on_error = true; break;
    case OPT_SCHEMA: a->schema = true; break;
    case OPT_LIMIT: return parse_positive("--limit", arg, 100000, &a->limit, err);
    case OPT_EXIT_CODE: a->exit_code = true; break;
    case OPT_DIR: a->dir = arg; break;
    case OPT_FORCE: a->force = true; break;
    case OPT_PENDING: a->pending = true; break;
    case OPT_IGNORE_WINDOW: a->ignore_window = true; break;
    case OPT_RUN: return parse_run_name(arg, &a->run, err);
    }
    return true;
}

static bool parse_command_word(const char *word, CliArgs *a, DroverError *err)
{
    const CliCommand *c = find_command(word);
    if (!c) {
        error_set(err, ERR_USAGE, "unknown command '%s'", word);
        return false;
    }
    a->command = c->id;
    a->command_name = c->name;
    return true;
}

/* parse_runs_word takes "show" and then the run id after 'runs'. */
static bool parse_runs_word(const char *word, CliArgs *a, DroverError *err)
{
    if (a->command == CMD_RUNS && !a->runs_show && strcmp(word, "show") == 0) {
        a->runs_show = true;
        return true;
    }
    if (a->command == CMD_RUNS && a->runs_show && !a->show_id) {
        a->show_id = word;
        return true;
    }
    error_set(err, ERR_USAGE, "unexpected argument '%s'", word);
    return false;
}

static bool check_applicable(const CliArgs *a, const int *seen, size_t nseen, DroverError *err)
{
    for (size_t i = 0; i < nseen; i++) {
        const CliOption *o = find_option(seen[i]);
        if (!(o->commands & BIT(a->command))) {
            error_set(err, ERR_USAGE, "option '--%s' does not apply to %s%s%s", o->name,
                          a->command_name ? "'" : "",
                          a->command_name ? a->command_name : "drover without a command",
                          a->command_name ? "'" : "");
            return false;
        }
    }
    return true;
}

static bool check_command_rules(CliArgs *a, DroverError *err)
{
    if (a->help || a->version)
        return true;
    if (a->command == CMD_NONE) {
        error_set(err, ERR_USAGE, "no command given");
        return false;
    }
    if (a->command == CMD_UNDO && (a->steps > 0) + (a->to != NULL) + a->all != 1) {
        error_set(err, ERR_USAGE, "undo needs exactly one of --steps N, --to NAME or --all");
        return false;
    }
    if (a->format == FMT_SARIF && a->command != CMD_LINT) {
        error_set(err, ERR_USAGE, "format 'sarif' is for lint");
        return false;
    }
    if (a->format > FMT_JSON && a->format != FMT_SARIF && a->command != CMD_STATUS) {
        error_set(err, ERR_USAGE, "format '%s' is for status", format_name(a->format));
        return false;
    }
    if (a->command == CMD_MIGRATE && a->sql && !a->dry_run) {
        error_set(err, ERR_USAGE, "migrate --sql needs --dry-run (or use 'drover plan "
                                          "--sql')");
        return false;
    }
    if (a->command == CMD_NEW && !a->new_name) {
        error_set(err, ERR_USAGE, "new needs a NAME, e.g. 'drover new add-users-email'");
        return false;
    }
    if (a->command == CMD_RUNS && a->runs_show && !a->show_id) {
        error_set(err, ERR_USAGE, "runs show needs a run id, e.g. 'drover runs show 12'");
        return false;
    }
    bool selects = a->selector.envs.n || a->selector.tenants.n || a->selector.tags.n ||
                   a->selector.shard_count;
    if (a->command == CMD_LINT && selects && !a->pending) {
        error_set(err, ERR_USAGE, "lint selects tenants only with --pending");
        return false;
    }
    if (a->command == CMD_RESOLVE && a->selector.tenants.n == 0) {
        error_set(err, ERR_USAGE, "resolve needs --tenant ID (repeatable)");
        return false;
    }
    return true;
}

bool cli_parse(int argc, char **argv, CliArgs *a, DroverError *err)
{
    memset(a, 0, sizeof *a);
    a->argc = argc;
    a->argv = argv;
    struct option longopts[N_OPTIONS + 1];
    build_long_options(longopts);
    int seen[64];
    size_t nseen = 0;
    int id;
    opterr = 0;
    optind = 1;
    /* ':' makes getopt_long return ':' for a missing argument, which it otherwise reports
     * as '?', the same as an unknown option. */
    while ((id = getopt_long(argc, argv, "+:", longopts, NULL)) != -1 || optind < argc) {
        if (id == -1) {
            /* "+" stops at the first positional; take it and keep parsing after it, so that
             * options may come before or after the command. */
            int before = optind;
            if (a->command == CMD_NONE) {
                if (!parse_command_word(argv[optind], a, err))
                    return false;
            } else if (a->command == CMD_NEW && !a->new_name) {
                a->new_name = argv[optind];
            } else if (!parse_runs_word(argv[optind], a, err)) {
                return false;
            }
            optind = before + 1;
            continue;
        }
        if (id == '?' || id == ':') {
            error_set(err, ERR_USAGE, "%s option '%s'",
                          id == ':' ? "missing argument for" : "unknown",
                          argv[optind - 1]);
            return false;
        }
        if (nseen < sizeof seen / sizeof *seen)
            seen[nseen++] = id;
        if (!apply_option(id, optarg, a, err))
            return false;
    }
    if (!a->config)
        a->config = getenv(find_option(OPT_CONFIG)->env);
    if (!a->config || !*a->config)
        a->config = "drover.cfg";
    return check_applicable(a, seen, nseen, err) && check_command_rules(a, err);
}

void cli_args_free(CliArgs *a)
{
    sl_free(&a->selector.envs);
    sl_free(&a->selector.tenants);
    sl_free(&a->selector.tags);
}

static void print_option_help(const CliOption *o)
{
    char *left = xasprintf("--%s%s%s", o->name, o->metavar ? " " : "",
                           o->metavar ? o->metavar : "");
    printf("  %-18s %s%s%s%s\n", left, o->help, o->env ? " [env: " : "", o->env ? o->env : "",
           o->env ? "]" : "");
    free(left);
}

static void print_general_help(void)
{
    printf("drover — migrate fleets of tenant databases with Sequelize-compatible SequelizeMeta\n\n"
           "usage: drover [--config FILE] COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        printf("  %-8s %s\n", commands[i].name, commands[i].summary);
    printf("\noptions:\n");
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].commands & BIT(CMD_NONE))
            print_option_help(&options[i]);
    printf("\nselectors (plan, migrate, undo, status, check; repeatable, OR within a kind,\n"
           "AND across kinds):\n");
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].id == OPT_ENV || options[i].id == OPT_TENANT || options[i].id == OPT_TAG)
            print_option_help(&options[i]);
    printf("\nexit codes: 0 every selected tenant fine; 1 one or more tenants failed or were\n"
           "unreachable; 2 bad usage, config or input (nothing was touched); 130 interrupted.\n"
           "status --exit-code: 0 all current, 10 some behind, 11 some drifted, 12 some failed,\n"
           "unreachable, dirty or locked.\n"
           "Run 'drover COMMAND --help' for a command's options.\n");
}

void cli_print_help(CliCommandId command)
{
    const CliCommand *c = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (commands[i].id == command)
            c = &commands[i];
    if (!c) {
        print_general_help();
        return;
    }
    printf("usage: drover [--config FILE] %s\n\n%s\n\noptions:\n", c->usage, c->summary);
    for (size_t i = 0; i < N_OPTIONS; i++)
        if ((options[i].commands & BIT(command)) && options[i].id != OPT_VERSION)
            print_option_help(&options[i]);
}

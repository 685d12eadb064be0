/*
 * options.c — the command and option tables, and parsing argv against them. Adding an option
 * is adding a row: getopt_long's table, the per-command check and --help all come from it.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/util.h"

#define BIT(c) (1u << (c))
#define FLEET (BIT(CMD_PLAN) | BIT(CMD_MIGRATE) | BIT(CMD_UNDO) | BIT(CMD_STATUS) | BIT(CMD_CHECK))
#define EVERY (FLEET | BIT(CMD_NEW) | BIT(CMD_NONE))

typedef struct CliCommand {
    CliCommandId id;
    const char *name;
    const char *usage;
    const char *summary;
} CliCommand;

static const CliCommand commands[] = {
    {CMD_PLAN, "plan", "plan [--to NAME] [selectors]",
     "show, per tenant, applied count, pending migrations and unknown rows"},
    {CMD_MIGRATE, "migrate", "migrate [--to NAME] [--dry-run] [selectors]",
     "apply pending migrations in file order"},
    {CMD_UNDO, "undo", "undo (--steps N | --to NAME | --all) [--dry-run] [selectors]",
     "revert applied migrations, newest first in file order (--to is inclusive)"},
    {CMD_STATUS, "status", "status [--format table|json] [--out FILE] [selectors]",
     "every tenant's state: current, behind, drifted or unreachable"},
    {CMD_CHECK, "check", "check [selectors]",
     "validate the config and migration files, and connect to every selected tenant"},
    {CMD_NEW, "new", "new NAME [--js]",
     "write migrations/YYYYMMDDHHMMSS-NAME.sql with up and down sections"},
};

enum {
    OPT_CONFIG = 1000, OPT_ENV, OPT_TENANT, OPT_TAG, OPT_FORMAT, OPT_OUT, OPT_TO, OPT_STEPS,
    OPT_ALL, OPT_DRY_RUN, OPT_JS, OPT_HELP, OPT_VERSION,
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
    {OPT_ENV, "env", "NAME", FLEET, NULL, "select tenants of an environment (repeatable)"},
    {OPT_TENANT, "tenant", "ID", FLEET, NULL, "select a tenant (repeatable)"},
    {OPT_TAG, "tag", "TAG", FLEET, NULL, "select tenants carrying a tag (repeatable)"},
    {OPT_FORMAT, "format", "FMT", FLEET, NULL, "output: text (table for status) or json"},
    {OPT_OUT, "out", "FILE", FLEET, NULL, "write the report to FILE instead of stdout"},
    {OPT_TO, "to", "NAME", BIT(CMD_PLAN) | BIT(CMD_MIGRATE) | BIT(CMD_UNDO), NULL,
     "migrate: up to and including NAME; undo: back to and including NAME"},
    {OPT_STEPS, "steps", "N", BIT(CMD_UNDO), NULL, "undo: revert the N newest migrations"},
    {OPT_ALL, "all", NULL, BIT(CMD_UNDO), NULL, "undo: revert every applied migration"},
    {OPT_DRY_RUN, "dry-run", NULL, BIT(CMD_MIGRATE) | BIT(CMD_UNDO), NULL,
     "show what would be done; change nothing"},
    {OPT_JS, "js", NULL, BIT(CMD_NEW), NULL, "new: write a sequelize-cli style .js skeleton"},
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

static bool parse_steps(const char *text, long *out, DrvError *err)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || !end || *end || end == text || v < 1) {
        drv_error_set(err, DRV_ERR_USAGE, "--steps needs a positive number, not '%s'", text);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_format(const char *text, CliFormat *out, DrvError *err)
{
    if (strcmp(text, "json") == 0)
        *out = FMT_JSON;
    else if (strcmp(text, "text") == 0 || strcmp(text, "table") == 0)
        *out = FMT_TEXT;
    else {
        drv_error_set(err, DRV_ERR_USAGE, "unknown format '%s' (expected text, table or json)",
                      text);
        return false;
    }
    return true;
}

static bool apply_option(int id, const char *arg, CliArgs *a, DrvError *err)
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
    case OPT_HELP: a->help = true; break;
    case OPT_VERSION: a->version = true; break;
    }
    return true;
}

static bool parse_command_word(const char *word, CliArgs *a, DrvError *err)
{
    const CliCommand *c = find_command(word);
    if (!c) {
        drv_error_set(err, DRV_ERR_USAGE, "unknown command '%s'", word);
        return false;
    }
    a->command = c->id;
    a->command_name = c->name;
    return true;
}

static bool check_applicable(const CliArgs *a, const int *seen, size_t nseen, DrvError *err)
{
    for (size_t i = 0; i < nseen; i++) {
        const CliOption *o = find_option(seen[i]);
        if (!(o->commands & BIT(a->command))) {
            drv_error_set(err, DRV_ERR_USAGE, "option '--%s' does not apply to %s%s%s", o->name,
                          a->command_name ? "'" : "",
                          a->command_name ? a->command_name : "drover without a command",
                          a->command_name ? "'" : "");
            return false;
        }
    }
    return true;
}

static bool check_command_rules(CliArgs *a, DrvError *err)
{
    if (a->help || a->version)
        return true;
    if (a->command == CMD_NONE) {
        drv_error_set(err, DRV_ERR_USAGE, "no command given");
        return false;
    }
    if (a->command == CMD_UNDO && (a->steps > 0) + (a->to != NULL) + a->all != 1) {
        drv_error_set(err, DRV_ERR_USAGE, "undo needs exactly one of --steps N, --to NAME or --all");
        return false;
    }
    if (a->command == CMD_NEW && !a->new_name) {
        drv_error_set(err, DRV_ERR_USAGE, "new needs a NAME, e.g. 'drover new add-users-email'");
        return false;
    }
    return true;
}

bool cli_parse(int argc, char **argv, CliArgs *a, DrvError *err)
{
    memset(a, 0, sizeof *a);
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
            } else {
                drv_error_set(err, DRV_ERR_USAGE, "unexpected argument '%s'", argv[optind]);
                return false;
            }
            optind = before + 1;
            continue;
        }
        if (id == '?' || id == ':') {
            drv_error_set(err, DRV_ERR_USAGE, "%s option '%s'",
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
           "unreachable; 2 bad usage, config or input (nothing was touched).\n"
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

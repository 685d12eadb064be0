/*
 * options.h — drover's subcommands and options as data. One table row per option drives
 * getopt_long, applicability checks per command and --help, with one precedence:
 * command line > environment > default.
 */
#ifndef DROVER_CLI_OPTIONS_H
#define DROVER_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/error.h"
#include "drover/inventory.h"

typedef enum CliCommandId {
    CMD_NONE = 0,
    CMD_PLAN,
    CMD_MIGRATE,
    CMD_UNDO,
    CMD_STATUS,
    CMD_CHECK,
    CMD_NEW,
    CMD_LOCKS,
    CMD_RUNS,
    CMD_RESOLVE,
    CMD_INIT,
    CMD_LINT,
    CMD_VERIFY,
} CliCommandId;

typedef enum CliFormat {
    FMT_TEXT = 0, /* the table, for status */
    FMT_JSON,
    /* status only: */
    FMT_CSV,
    FMT_JUNIT,
    FMT_PROM,
    FMT_MARKDOWN,
    FMT_HTML,
    /* lint only: */
    FMT_SARIF,
} CliFormat;

typedef struct CliArgs {
    int argc;             /* the command line as typed, for the journal */
    char **argv;
    CliCommandId command;
    const char *command_name;
    const char *config;  /* --config, else $DROVER_CONFIG, else ./drover.cfg */
    InvSelector selector;
    CliFormat format;
    const char *out;     /* --out FILE */
    const char *to;      /* migrate/undo --to NAME */
    long steps;          /* undo --steps N, 0 when absent */
    bool all;            /* undo --all */
    bool dry_run;
    bool js;             /* new --js */
    bool sql;            /* plan / migrate --dry-run --sql: preview the statements */
    const char *new_name;
    long parallel;          /* --parallel N, 0: defaults.parallel */
    CliFormat log_format;   /* --log-format text|json */
    bool continue_on_error;
    bool schema;            /* status --schema: fingerprints and schema drift */
    bool exit_code;         /* status --exit-code: the fleet's state decides the exit code */
    long limit;             /* runs --limit N */
    bool runs_show;         /* runs show ... */
    const char *show_id;    /* runs show ID */
    const char *dir;        /* init --dir: the sequelize-cli project, default "." */
    bool force;             /* init --force: replace an existing --out */
    bool pending;           /* lint --pending: only what some selected tenant lacks */
    bool ignore_window;     /* migrate/undo --ignore-window */
    const char *run;        /* migrate/undo --run NAME: join a shared run (control database) */
    bool help;
    bool version;
} CliArgs;

/* cli_parse fills args from argv. Usage errors return false with ERR_USAGE. */
bool cli_parse(int argc, char **argv, CliArgs *args, DroverError *err);
void cli_args_free(CliArgs *args);
/* Prints general help (command CMD_NONE) or one command's help to stdout. */
void cli_print_help(CliCommandId command);

#endif

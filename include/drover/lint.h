/*
 * lint.h — `drover lint`: the migration guide's safety rules checked on the migration set,
 * offline, before anything runs. `.sql` sections are parsed by the PostgreSQL parser itself
 * (libpg_query); each finding names the file, the line, the rule, a severity and the safer way.
 * docs/safety.md lists the rules with examples.
 */
#ifndef DROVER_LINT_H
#define DROVER_LINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "drover/migration.h"
#include "drover/url.h"
#include "drover/util.h"

typedef enum LintSeverity { LINT_INFO = 0, LINT_WARNING, LINT_ERROR } LintSeverity;

typedef struct LintRule {
    const char *id;
    LintSeverity severity;
    const char *summary; /* what the rule finds */
    const char *hint;    /* the safer way */
    bool postgres_only;  /* PostgreSQL's locking: said only where the fleet has PostgreSQL */
} LintRule;

typedef struct LintFinding {
    const LintRule *rule;
    char *file; /* the migration's file name */
    int line;   /* 1-based line in the file */
    char *message;
} LintFinding;

typedef struct LintReport {
    LintFinding *items; /* in set order, then line order */
    size_t n, cap;
    size_t ignored; /* findings silenced by a `-- drover:lint-ignore RULE reason` comment */
} LintReport;

/* A bit of lint_set's dialects: the fleet has tenants of dialect d. */
#define LINT_DIALECT(d) (1u << (unsigned)(d))

/* What a .js migration sends, as a rolled-back preview on a PostgreSQL tenant captured it. */
typedef struct LintJsStatements {
    const char *migration;     /* file name */
    const StrList *statements; /* in order, drover's SequelizeMeta INSERT left out; or NULL */
    const char *why_not;       /* with statements NULL: why they were not captured */
} LintJsStatements;

typedef struct LintOptions {
    unsigned dialects; /* LINT_DIALECT bits: the MariaDB/MySQL rules run with DB_MYSQL; the
                          PostgreSQL locking rules only with DB_POSTGRES (or 0: unknown) */
    const LintJsStatements *js; /* may be NULL */
    size_t njs;
} LintOptions;

/* lint_set checks every migration of set, each on its own (a table is new only to the
 * migration that creates it). A section PostgreSQL cannot parse is a finding, never a
 * failure. A .js migration is linted on the statements o->js holds for it, else said not
 * linted, with why. */
void lint_set(const MigSet *set, const LintOptions *o, LintReport *out);
void lint_report_free(LintReport *r);
size_t lint_count(const LintReport *r, LintSeverity s);

const LintRule *lint_rules(size_t *n);
const char *lint_severity_name(LintSeverity s);

/* {"findings":[{"file","line","rule","severity","message","hint"}],"errors","warnings",
 * "infos","ignored"}; and SARIF 2.1.0 for code-review annotations. Caller owns them. */
json_t *lint_json(const LintReport *r);
json_t *lint_sarif(const LintReport *r);

#endif

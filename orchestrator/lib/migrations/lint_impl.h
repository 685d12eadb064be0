/*
 * lint_impl.h — what the rule files of `drover lint` share: a section being linted, a statement
 * in it, and adding a finding (which a `-- drover:lint-ignore RULE` comment may silence).
 * lint.c holds the rule table and the PostgreSQL rules; lint_mysql.c the MariaDB/MySQL ones.
 */
#ifndef DROVER_LINT_IMPL_H
#define DROVER_LINT_IMPL_H

#include <jansson.h>

#include "drover/lint.h"
#include "drover/util.h"

typedef struct Section {
    LintReport *out;
    const Migration *m;
    const char *sql;
    int first_line;   /* the file line of the section's first SQL line */
    bool is_down;
    unsigned dialects; /* LINT_DIALECT bits of the fleet */
    const size_t *starts; /* a .js migration's captured statements: where each starts in sql;
                             findings then point at the file's first line and name the
                             statement */
    size_t nstarts;
    StrList made_tables, dropped_tables, dropped_indexes;
    StrList made_indexes, index_tables; /* each index the up creates, and its table */
    size_t statements;
} Section;

typedef struct Stmt {
    json_t *node; /* {"Kind": {...}} (PostgreSQL rules), else NULL */
    size_t from;  /* where its text (with leading comments) starts */
    size_t start; /* its first token */
} Stmt;

const LintRule *lint_rule(const char *id);
/* lint_add records a finding of rule_id at st (NULL: the section's marker line); takes
 * message. */
void lint_add(Section *s, const Stmt *st, const char *rule_id, char *message);
/* lint_mysql_section runs the MariaDB/MySQL rules on an up section. */
void lint_mysql_section(Section *s);

#endif

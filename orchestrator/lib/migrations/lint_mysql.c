/*
 * lint_mysql.c — the MariaDB/MySQL rules of `drover lint`, for fleets with such tenants. The
 * PostgreSQL parser cannot read MySQL's ALTER TABLE (MODIFY, CHANGE, backticks), so each up
 * section is split as MariaDB splits it and each ALTER TABLE is cut into its top-level clauses
 * (commas outside parentheses, strings and quoted names), each judged by its first words.
 *
 * What is knowable offline: MODIFY/CHANGE of a column, CONVERT TO CHARACTER SET, ENGINE=,
 * FORCE, adding or dropping the primary key and the first FULLTEXT/SPATIAL index rebuild the
 * table on every supported server (MariaDB 10.3+, MySQL 8.0); adding a foreign key copies it
 * unless foreign_key_checks=0. An explicit ALGORITHM=INPLACE/INSTANT/NOCOPY makes the server
 * refuse rather than copy, so it silences these. Whether ADD COLUMN in the middle of a table is
 * instant depends on the server version (MySQL 8.0.29+, MariaDB 10.4+), which lint does not see.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drover/util.h"
#include "lint_impl.h"
#include "sqlsplit_impl.h"

/* A cursor over one statement's words. */
typedef struct Words {
    const char *s;
    size_t len, at;
} Words;

/* next_word returns the next bare word (letters, digits, _), skipping quoted names, strings,
 * parentheses' contents and punctuation up to a top-level comma (which ends the clause). */
static bool next_word(Words *w, const char **word, size_t *n)
{
    while (w->at < w->len) {
        char c = w->s[w->at];
        if (c == ',')
            return false;
        if (isalnum((unsigned char)c) || c == '_') {
            size_t start = w->at;
            while (w->at < w->len && (isalnum((unsigned char)w->s[w->at]) || w->s[w->at] == '_'))
                w->at++;
            *word = w->s + start;
            *n = w->at - start;
            return true;
        }
        if (c == '\'' || c == '"' || c == '`') {
            for (w->at++; w->at < w->len && w->s[w->at] != c; w->at++)
                if (w->s[w->at] == '\\' && c != '`')
                    w->at++;
        } else if (c == '(') {
            for (int depth = 0; w->at < w->len; w->at++) {
                depth += w->s[w->at] == '(';
                depth -= w->s[w->at] == ')';
                if (depth == 0)
                    break;
            }
        }
        w->at++;
    }
    return false;
}

static bool word_is(const char *word, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(word, kw, n) == 0;
}

/* A clause's first words, upper-cased, at most four: enough to tell what it does. */
typedef struct Clause {
    char words[4][16];
    size_t n;
} Clause;

/* next_clause reads the words of the clause at w and moves past its comma; false at the end. */
static bool next_clause(Words *w, Clause *c)
{
    if (w->at >= w->len)
        return false;
    *c = (Clause){0};
    const char *word;
    size_t n;
    while (next_word(w, &word, &n))
        if (c->n < 4) {
            size_t k = n < 15 ? n : 15;
            for (size_t i = 0; i < k; i++)
                c->words[c->n][i] = (char)toupper((unsigned char)word[i]);
            c->n++;
        }
    w->at++; /* the comma */
    return true;
}

static bool clause_starts(const Clause *c, const char *a, const char *b)
{
    return c->n >= 1 && strcmp(c->words[0], a) == 0 &&
           (!b || (c->n >= 2 && strcmp(c->words[1], b) == 0));
}

/* the words after ADD [CONSTRAINT [name]] */
static const char *added_kind(const Clause *c)
{
    if (!clause_starts(c, "ADD", NULL) || c->n < 2)
        return "";
    if (strcmp(c->words[1], "CONSTRAINT") != 0)
        return c->words[1];
    /* ADD CONSTRAINT name FOREIGN ... or ADD CONSTRAINT FOREIGN ... */
    if (c->n >= 3 && (strcmp(c->words[2], "FOREIGN") == 0 || strcmp(c->words[2], "PRIMARY") == 0))
        return c->words[2];
    return c->n >= 4 ? c->words[3] : "";
}

/* copying_clause: what in this clause rebuilds the table, or NULL. */
static const char *copying_clause(const Clause *c)
{
    const char *added = added_kind(c);
    if (clause_starts(c, "MODIFY", NULL))
        return "MODIFY COLUMN";
    if (clause_starts(c, "CHANGE", NULL))
        return "CHANGE COLUMN";
    if (clause_starts(c, "CONVERT", "TO"))
        return "CONVERT TO CHARACTER SET";
    if (clause_starts(c, "ENGINE", NULL))
        return "ENGINE=";
    if (clause_starts(c, "FORCE", NULL))
        return "FORCE";
    if (clause_starts(c, "DROP", "PRIMARY") || strcmp(added, "PRIMARY") == 0)
        return "a primary key change";
    if (strcmp(added, "FULLTEXT") == 0 || strcmp(added, "SPATIAL") == 0)
        return strcmp(added, "FULLTEXT") == 0 ? "ADD FULLTEXT INDEX" : "ADD SPATIAL INDEX";
    return NULL;
}

/* algorithm_safe: ALGORITHM=INPLACE, INSTANT or NOCOPY: the server refuses rather than copies. */
static bool algorithm_safe(const Clause *c)
{
    return clause_starts(c, "ALGORITHM", NULL) && c->n >= 2 &&
           (strcmp(c->words[1], "INPLACE") == 0 || strcmp(c->words[1], "INSTANT") == 0 ||
            strcmp(c->words[1], "NOCOPY") == 0);
}

/* table_name: the ALTER TABLE's table as written (quotes dropped), for the message. */
static char *table_name(Words *w)
{
    while (w->at < w->len && isspace((unsigned char)w->s[w->at]))
        w->at++;
    size_t start = w->at;
    while (w->at < w->len && !isspace((unsigned char)w->s[w->at]))
        w->at++;
    char *name = xstrndup(w->s + start, w->at - start);
    size_t k = 0;
    for (size_t i = 0; name[i]; i++)
        if (name[i] != '`' && name[i] != '"')
            name[k++] = name[i];
    name[k] = '\0';
    return name;
}

/* check_alter judges one ALTER TABLE statement (text at st->start, len bytes). */
static void check_alter(Section *s, const Stmt *st, size_t len)
{
    Words w = {.s = s->sql + st->start, .len = len};
    const char *word;
    size_t n;
    if (!next_word(&w, &word, &n) || !word_is(word, n, "ALTER"))
        return;
    if (!next_word(&w, &word, &n) || !word_is(word, n, "TABLE"))
        return;
    char *table = table_name(&w);
    const char *copying = NULL;
    bool foreign_key = false, safe = false;
    Clause c;
    while (next_clause(&w, &c)) {
        safe = safe || algorithm_safe(&c);
        if (!copying)
            copying = copying_clause(&c);
        foreign_key = foreign_key || strcmp(added_kind(&c), "FOREIGN") == 0;
    }
    if (copying && !safe)
        lint_add(s, st, "mysql-table-copy",
                 xasprintf("ALTER TABLE %s: %s rebuilds the table on MariaDB/MySQL", table,
                           copying));
    if (foreign_key && !safe)
        lint_add(s, st, "mysql-foreign-key",
                 xasprintf("ALTER TABLE %s ADD FOREIGN KEY copies the table on MariaDB/MySQL",
                           table));
    free(table);
}

void lint_mysql_section(Section *s)
{
    if (!s->sql)
        return;
    SqlStatement *st = NULL;
    size_t n = sql_split(s->sql, DB_MYSQL, &st);
    size_t prev_end = 0;
    for (size_t i = 0; i < n; i++) {
        Stmt at = {.from = prev_end, .start = st[i].offset};
        check_alter(s, &at, st[i].len);
        prev_end = st[i].offset + st[i].len;
    }
    free(st);
}

/*
 * lint.c — the safety rules of `drover lint` (lint.h). Each `.sql` section goes through
 * pg_query_parse, PostgreSQL's own grammar as a library, which returns the parse tree as JSON
 * (read with jansson); the rules look at statement nodes, so `DROP TABLE` in a comment or a
 * string never fires, and `ALTER TABLE ... ADD COLUMN ..., DROP COLUMN ...` is seen whole.
 * A table the same migration creates is empty when the later statements touch it, so indexes,
 * constraints and NOT NULL on it lock nothing worth a warning; a table an earlier migration
 * created is taken as full (on a fleet, that migration ran long ago). Only up sections are
 * judged destructive: a down is expected to drop what its up made, and the down is checked
 * for that instead.
 */
#include "lint_impl.h"
#include "drover/util.h"

#include <pg_query.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const LintRule RULES[] = {
    {"drop-table", LINT_ERROR, "DROP TABLE destroys a table and its data",
     "rename the table in one release and drop it in a later one, after a backup", false},
    {"drop-column", LINT_ERROR, "DROP COLUMN destroys a column and its data",
     "stop using the column first; drop it in a later release", false},
    {"truncate", LINT_ERROR, "TRUNCATE deletes every row", "delete what must go with a WHERE", false},
    {"delete-without-where", LINT_ERROR, "DELETE without WHERE deletes every row",
     "add a WHERE clause", false},
    {"update-without-where", LINT_ERROR, "UPDATE without WHERE rewrites every row",
     "add a WHERE clause, and backfill large tables in batches", false},
    {"column-type-change", LINT_WARNING,
     "a column type change can lose data and rewrites the table under an exclusive lock",
     "add a new column, backfill it, switch readers, then drop the old one", false},
    {"index-not-concurrent", LINT_WARNING,
     "CREATE INDEX without CONCURRENTLY blocks writes to an existing table while it builds",
     "CREATE INDEX CONCURRENTLY in a '-- migrate:up transaction:false' section of its own", true},
    {"constraint-not-valid", LINT_WARNING,
     "adding a foreign key or CHECK validates every existing row under a lock",
     "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration", true},
    {"set-not-null", LINT_WARNING,
     "SET NOT NULL scans the whole table under an exclusive lock",
     "add a CHECK (col IS NOT NULL) NOT VALID, validate it, then SET NOT NULL", true},
    {"volatile-default", LINT_WARNING,
     "ADD COLUMN with a volatile default rewrites the whole table",
     "add the column without a default, backfill in batches, then set the default", true},
    {"no-transaction-mixed", LINT_WARNING,
     "a transaction:false section holds more than one statement: a failure leaves the first "
     "ones applied and the tenant dirty",
     "give each statement that needs transaction:false a migration of its own", false},
    {"irreversible", LINT_WARNING, "the migration has no down section, or an empty one",
     "write a down that undoes the up, so that rollback on failure and undo can work", false},
    {"down-leaves-table", LINT_WARNING, "the down does not drop a table the up creates",
     "DROP TABLE it in the down section", false},
    {"down-leaves-index", LINT_WARNING, "the down does not drop an index the up creates",
     "DROP INDEX it in the down section", false},
    {"unparsed", LINT_WARNING,
     "PostgreSQL cannot parse the section; the rules that need its parse tree were skipped",
     "check the statement's syntax (MySQL-only syntax is not linted)", false},
    {"mysql-table-copy", LINT_WARNING,
     "on MariaDB/MySQL this ALTER rebuilds the table (ALGORITHM=COPY): writes wait until the "
     "copy is done",
     "add ALGORITHM=INPLACE, LOCK=NONE (or ALGORITHM=INSTANT) so that the server refuses "
     "instead of copying; for a type change, add a new column and backfill it", false},
    {"mysql-foreign-key", LINT_WARNING,
     "on MariaDB/MySQL adding a foreign key copies the table (unless foreign_key_checks=0) and "
     "checks every row",
     "add the index first, then the foreign key with ALGORITHM=INPLACE and "
     "foreign_key_checks=0 once the data is known to be clean", false},
    {"js-not-linted", LINT_INFO,
     "a .js migration is not linted: drover sees its statements only when it runs them",
     "run 'drover lint --pending' with a PostgreSQL tenant that lacks it among the selected: "
     "its statements are captured in a preview that is rolled back, then linted", false},
};

const LintRule *lint_rules(size_t *n)
{
    *n = sizeof RULES / sizeof *RULES;
    return RULES;
}

const LintRule *lint_rule(const char *id)
{
    for (size_t i = 0; i < sizeof RULES / sizeof *RULES; i++)
        if (strcmp(RULES[i].id, id) == 0)
            return &RULES[i];
    return NULL;
}

const char *lint_severity_name(LintSeverity s)
{
    return s == LINT_ERROR ? "error" : s == LINT_WARNING ? "warning" : "info";
}

size_t lint_count(const LintReport *r, LintSeverity s)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->items[i].rule->severity == s;
    return n;
}

void lint_report_free(LintReport *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].file);
        free(r->items[i].message);
    }
    free(r->items);
    *r = (LintReport){0};
}

/* ---- one section ---------------------------------------------------------------------- */

static int line_of(const Section *s, size_t offset)
{
    int line = s->first_line;
    for (size_t i = 0; i < offset && s->sql[i]; i++)
        line += s->sql[i] == '\n';
    return line;
}

/* ignored: a `-- drover:lint-ignore RULE reason` comment between the previous statement and
 * this one (the line before it, in practice) silences RULE here. */
static bool ignored(const char *sql, size_t from, size_t to, const char *rule_id)
{
    const char *tag = "drover:lint-ignore";
    for (const char *p = sql + from; p < sql + to && (p = strstr(p, tag)) && p < sql + to;
         p += strlen(tag)) {
        const char *id = p + strlen(tag);
        while (*id == ' ' || *id == '\t')
            id++;
        size_t n = strcspn(id, " \t\r\n");
        if (n == strlen(rule_id) && strncmp(id, rule_id, n) == 0)
            return true;
    }
    return false;
}

static void add(Section *s, const Stmt *st, const char *rule_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void lint_add(Section *s, const Stmt *st, const char *rule_id, char *message)
{
    const LintRule *r0 = lint_rule(rule_id);
    if (r0->postgres_only && s->dialects && !(s->dialects & LINT_DIALECT(DB_POSTGRES))) {
        free(message);
        return;
    }
    if (st && ignored(s->sql, st->from, st->start, rule_id)) {
        s->out->ignored++;
        free(message);
        return;
    }
    LintReport *r = s->out;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->items = xrealloc(r->items, r->cap * sizeof *r->items);
    }
    if (s->starts && st) {
        size_t k = 0;
        while (k + 1 < s->nstarts && s->starts[k + 1] <= st->start)
            k++;
        char *named = xasprintf("%s (statement %zu it sends)", message, k + 1);
        free(message);
        message = named;
    }
    r->items[r->n++] = (LintFinding){.rule = r0, .file = xstrdup(s->m->name),
                                     .line = s->starts ? 1
                                             : st      ? line_of(s, st->start)
                                                       : s->first_line - 1,
                                     .message = message};
}

static void add(Section *s, const Stmt *st, const char *rule_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = xvasprintf(fmt, ap);
    va_end(ap);
    lint_add(s, st, rule_id, message);
}

static json_t *kind(json_t *node, const char *name)
{
    return json_object_get(node, name);
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool flag(json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key));
}

static char *lower(const char *s)
{
    char *out = xstrdup(s ? s : "");
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}

static const char *relname(json_t *stmt)
{
    return str(json_object_get(stmt, "relation"), "relname");
}

static bool is_new_table(const Section *s, const char *name)
{
    char *l = lower(name);
    bool made = sl_contains(&s->made_tables, l);
    free(l);
    return made;
}

/* last_name: the last String of a qualified name list [{"String":{"sval":...}}, ...]. */
static const char *last_name(json_t *list)
{
    json_t *last = json_array_get(list, json_array_size(list) ? json_array_size(list) - 1 : 0);
    return str(kind(last, "String"), "sval");
}

/* VOLATILE: functions whose default makes ADD COLUMN rewrite the table. */
static bool volatile_default(json_t *coldef)
{
    static const char *const fns[] = {"random", "gen_random_uuid", "uuid_generate_v4",
                                      "clock_timestamp", "timeofday", "nextval", NULL};
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(coldef, "constraints"), i, c) {
        json_t *con = kind(c, "Constraint");
        if (!con || strcmp(str(con, "contype") ? str(con, "contype") : "", "CONSTR_DEFAULT"))
            continue;
        json_t *call = kind(json_object_get(con, "raw_expr"), "FuncCall");
        const char *fn = call ? last_name(json_object_get(call, "funcname")) : NULL;
        for (size_t k = 0; fn && fns[k]; k++)
            if (strcmp(fn, fns[k]) == 0)
                return true;
    }
    return false;
}

static void check_alter_cmd(Section *s, const Stmt *st, const char *table, json_t *cmd)
{
    const char *sub = str(cmd, "subtype");
    const char *col = str(cmd, "name");
    bool fresh = is_new_table(s, table);
    if (!sub)
        return;
    if (strcmp(sub, "AT_DropColumn") == 0)
        add(s, st, "drop-column", "ALTER TABLE %s DROP COLUMN %s", table, col ? col : "");
    else if (strcmp(sub, "AT_AlterColumnType") == 0 && !fresh)
        add(s, st, "column-type-change", "ALTER TABLE %s ALTER COLUMN %s TYPE", table,
            col ? col : "");
    else if (strcmp(sub, "AT_SetNotNull") == 0 && !fresh)
        add(s, st, "set-not-null", "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL", table,
            col ? col : "");
    else if (strcmp(sub, "AT_AddColumn") == 0 && !fresh &&
             volatile_default(kind(json_object_get(cmd, "def"), "ColumnDef")))
        add(s, st, "volatile-default", "ALTER TABLE %s ADD COLUMN with a volatile default", table);
    else if (strcmp(sub, "AT_AddConstraint") == 0 && !fresh) {
        json_t *con = kind(json_object_get(cmd, "def"), "Constraint");
        const char *type = con ? str(con, "contype") : NULL;
        bool checked = type && (strcmp(type, "CONSTR_FOREIGN") == 0 ||
                                strcmp(type, "CONSTR_CHECK") == 0);
        if (checked && !flag(con, "skip_validation"))
            add(s, st, "constraint-not-valid", "ALTER TABLE %s ADD %s without NOT VALID", table,
                strcmp(type, "CONSTR_FOREIGN") == 0 ? "FOREIGN KEY" : "CHECK");
    }
}

static void check_drop(Section *s, const Stmt *st, json_t *drop)
{
    const char *type = str(drop, "removeType");
    size_t i;
    json_t *obj;
    json_array_foreach(json_object_get(drop, "objects"), i, obj) {
        const char *name = last_name(json_object_get(kind(obj, "List"), "items"));
        if (!name || !type)
            continue;
        if (strcmp(type, "OBJECT_TABLE") == 0) {
            if (!s->is_down)
                add(s, st, "drop-table", "DROP TABLE %s", name);
            sl_push_owned(&s->dropped_tables, lower(name));
        } else if (strcmp(type, "OBJECT_INDEX") == 0) {
            sl_push_owned(&s->dropped_indexes, lower(name));
        }
    }
}

static void check_stmt(Section *s, const Stmt *st)
{
    json_t *n;
    if ((n = kind(st->node, "DropStmt"))) {
        check_drop(s, st, n);
    } else if (s->is_down) {
        /* a down's other statements undo its up: nothing more to judge */
    } else if ((n = kind(st->node, "TruncateStmt"))) {
        add(s, st, "truncate", "TRUNCATE");
    } else if ((n = kind(st->node, "DeleteStmt")) && !json_object_get(n, "whereClause")) {
        add(s, st, "delete-without-where", "DELETE FROM %s without WHERE", relname(n));
    } else if ((n = kind(st->node, "UpdateStmt")) && !json_object_get(n, "whereClause")) {
        add(s, st, "update-without-where", "UPDATE %s without WHERE", relname(n));
    } else if ((n = kind(st->node, "CreateStmt"))) {
        sl_push_owned(&s->made_tables, lower(relname(n)));
    } else if ((n = kind(st->node, "IndexStmt"))) {
        if (str(n, "idxname")) {
            sl_push_owned(&s->made_indexes, lower(str(n, "idxname")));
            sl_push_owned(&s->index_tables, lower(relname(n)));
        }
        if (!flag(n, "concurrent") && !is_new_table(s, relname(n)))
            add(s, st, "index-not-concurrent", "CREATE INDEX%s%s ON %s without CONCURRENTLY",
                str(n, "idxname") ? " " : "", str(n, "idxname") ? str(n, "idxname") : "",
                relname(n));
    } else if ((n = kind(st->node, "AlterTableStmt"))) {
        size_t i;
        json_t *cmd;
        json_array_foreach(json_object_get(n, "cmds"), i, cmd)
            check_alter_cmd(s, st, relname(n), kind(cmd, "AlterTableCmd"));
    }
}

/* first_token skips the blanks and comments before a statement's first token. */
static size_t first_token(const char *sql, size_t at, size_t end)
{
    while (at < end) {
        if (sql[at] == ' ' || sql[at] == '\t' || sql[at] == '\r' || sql[at] == '\n') {
            at++;
        } else if (sql[at] == '-' && sql[at + 1] == '-') {
            at += strcspn(sql + at, "\n");
        } else if (sql[at] == '/' && sql[at + 1] == '*') {
            const char *close = strstr(sql + at + 2, "*/");
            at = close ? (size_t)(close - sql) + 2 : end;
        } else {
            break;
        }
    }
    return at;
}

/* lint_section parses one section and runs the statement rules; false when it did not parse. */
static bool lint_section(Section *s)
{
    PgQueryParseResult pr = pg_query_parse(s->sql);
    /* MySQL's own syntax is expected on a fleet of MariaDB/MySQL tenants only */
    if (pr.error && s->dialects == LINT_DIALECT(DB_MYSQL)) {
        pg_query_free_parse_result(pr);
        return false;
    }
    if (pr.error) {
        Stmt at = {.from = 0, .start = pr.error->cursorpos > 0 ? (size_t)pr.error->cursorpos - 1 : 0};
        add(s, &at, "unparsed", "%s", pr.error->message);
        pg_query_free_parse_result(pr);
        return false;
    }
    json_t *tree = json_loads(pr.parse_tree, 0, NULL);
    pg_query_free_parse_result(pr);
    size_t len = strlen(s->sql), i;
    json_t *raw;
    json_array_foreach(json_object_get(tree, "stmts"), i, raw) {
        size_t from = (size_t)json_integer_value(json_object_get(raw, "stmt_location"));
        json_t *slen = json_object_get(raw, "stmt_len");
        size_t end = slen ? from + (size_t)json_integer_value(slen) : len;
        Stmt st = {.node = json_object_get(raw, "stmt"), .from = from,
                   .start = first_token(s->sql, from, end)};
        s->statements++;
        check_stmt(s, &st);
    }
    json_decref(tree);
    return true;
}

static void section_free(Section *s)
{
    sl_free(&s->made_tables);
    sl_free(&s->made_indexes);
    sl_free(&s->index_tables);
    sl_free(&s->dropped_tables);
    sl_free(&s->dropped_indexes);
}

/* ---- one migration -------------------------------------------------------------------- */

static void check_down_undoes(Section *up, Section *down)
{
    for (size_t i = 0; i < up->made_tables.n; i++)
        if (!sl_contains(&down->dropped_tables, up->made_tables.items[i]))
            add(up, NULL, "down-leaves-table", "the up creates table %s; the down never drops it",
                up->made_tables.items[i]);
    /* an index goes with its table: dropping the table is enough */
    for (size_t i = 0; i < up->made_indexes.n; i++)
        if (!sl_contains(&down->dropped_indexes, up->made_indexes.items[i]) &&
            !sl_contains(&down->dropped_tables, up->index_tables.items[i]))
            add(up, NULL, "down-leaves-index", "the up creates index %s; the down never drops it",
                up->made_indexes.items[i]);
}

static void lint_sql(const Migration *m, unsigned dialects, LintReport *out)
{
    Section up = {.out = out, .m = m, .sql = m->up.sql, .first_line = m->up.line + 1,
                  .dialects = dialects};
    bool parsed = lint_section(&up);
    if (dialects & LINT_DIALECT(DB_MYSQL))
        lint_mysql_section(&up);
    if (parsed && !m->up.transaction && up.statements > 1)
        add(&up, NULL, "no-transaction-mixed", "the up section runs %zu statements without a "
                                              "transaction", up.statements);
    if (mig_section_is_empty(&m->down)) {
        Section at = {.out = out, .m = m, .first_line = m->up.line + 1};
        add(&at, NULL, "irreversible", "no down section, or an empty one");
    } else {
        Section down = {.out = out, .m = m, .sql = m->down.sql, .first_line = m->down.line + 1,
                        .is_down = true, .dialects = dialects};
        if (lint_section(&down) && parsed)
            check_down_undoes(&up, &down);
        section_free(&down);
    }
    section_free(&up);
}

static const LintJsStatements *js_of(const LintOptions *o, const char *name)
{
    for (size_t i = 0; i < o->njs; i++)
        if (strcmp(o->js[i].migration, name) == 0)
            return &o->js[i];
    return NULL;
}

/* lint_js lints what a .js migration sent in a preview as one up section; the PostgreSQL
 * locking rules apply (the statements came from a PostgreSQL tenant). */
static void lint_js(const Migration *m, const StrList *statements, unsigned dialects,
                    LintReport *out)
{
    StrBuf sql;
    sb_init(&sql);
    size_t *starts = xcalloc(statements->n ? statements->n : 1, sizeof *starts);
    for (size_t i = 0; i < statements->n; i++) {
        starts[i] = sql.len;
        sb_appendf(&sql, "%s;\n", statements->items[i]);
    }
    Section up = {.out = out, .m = m, .sql = sql.data ? sql.data : "", .first_line = 1,
                  .dialects = dialects | LINT_DIALECT(DB_POSTGRES), .starts = starts,
                  .nstarts = statements->n};
    lint_section(&up);
    section_free(&up);
    free(starts);
    sb_free(&sql);
}

void lint_set(const MigSet *set, const LintOptions *o, LintReport *out)
{
    *out = (LintReport){0};
    for (size_t i = 0; i < set->n; i++) {
        const Migration *m = &set->items[i];
        const LintJsStatements *js = m->kind == MIG_JS ? js_of(o, m->name) : NULL;
        if (m->kind == MIG_SQL) {
            lint_sql(m, o->dialects, out);
        } else if (js && js->statements) {
            lint_js(m, js->statements, o->dialects, out);
        } else {
            Section at = {.out = out, .m = m, .first_line = 2};
            add(&at, NULL, "js-not-linted", "not linted: %s",
                js && js->why_not ? js->why_not
                                  : "a .js migration's statements are known only when it runs "
                                    "('drover lint --pending' previews them on a PostgreSQL "
                                    "tenant that lacks it)");
        }
    }
    /* No pg_query_exit(): libpg_query 15-4.0 (Debian 12) writes into the freed context on
     * the next parse after it. Its context stays reachable until the process ends. */
}

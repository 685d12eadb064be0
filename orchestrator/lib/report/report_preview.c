/*
 * report_preview.c — plan --sql in the run reports: each tenant's "sql" object in JSON
 * (docs/json.md) and, in text, the statements under the tenant's line, migration by migration.
 */
#include <string.h>

#include "report_impl.h"

static json_t *nullable(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *migration_json(const ExecPreview *p)
{
    return json_pack("{s:s, s:s, s:b, s:o, s:o, s:o}", "name", p->migration, "kind",
                     p->js ? "js" : "sql", "executed", p->executed, "statements",
                     p->statements_known ? report_strings_json(&p->statements) : json_null(), "note",
                     nullable(p->note), "error", nullable(p->error));
}

json_t *report_preview_json(const ExecResult *r)
{
    json_t *migrations = json_array();
    for (size_t i = 0; i < r->npreviews; i++)
        json_array_append_new(migrations, migration_json(&r->previews[i]));
    return json_pack("{s:b, s:o, s:o, s:o}", "rolled_back", r->preview_executed, "note",
                     nullable(r->preview_note), "setup", report_strings_json(&r->preview_setup),
                     "migrations", migrations);
}

/* print_statement indents every line of a statement and ends it with ';'. */
static void print_statement(FILE *out, const char *sql)
{
    fputs("      ", out);
    for (const char *p = sql; *p; p++) {
        fputc(*p, out);
        if (*p == '\n')
            fputs("      ", out);
    }
    size_t n = strlen(sql);
    fputs(n && sql[n - 1] == ';' ? "\n" : ";\n", out);
}

static void print_migration(FILE *out, const ExecPreview *p)
{
    fprintf(out, "      -- %s", p->migration);
    if (p->error)
        fprintf(out, ": FAILED in the preview: %s", p->error);
    else if (p->note)
        fprintf(out, ": %s", p->note);
    fputc('\n', out);
    if (p->statements_known)
        for (size_t i = 0; i < p->statements.n; i++)
            print_statement(out, p->statements.items[i]);
}

void report_preview_text(FILE *out, const ExecResult *r)
{
    if (!r->npreviews)
        return;
    fprintf(out, "    sql (%s):\n", r->preview_executed
                                       ? "run in one transaction, then rolled back"
                                       : "not run; as the files give them");
    if (r->preview_setup.n) {
        fputs("      -- SequelizeMeta does not exist yet: created first\n", out);
        for (size_t i = 0; i < r->preview_setup.n; i++)
            print_statement(out, r->preview_setup.items[i]);
    }
    for (size_t i = 0; i < r->npreviews; i++)
        print_migration(out, &r->previews[i]);
    if (r->preview_note)
        fprintf(out, "    note: %s\n", r->preview_note);
}

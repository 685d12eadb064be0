/*
 * lint_output.c — `drover lint` findings as JSON (for scripts) and as SARIF 2.1.0 (for
 * code-review annotations: GitHub code scanning, GitLab, most IDEs read it).
 */
#include "drover/lint.h"

json_t *lint_json(const LintReport *r)
{
    json_t *findings = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const LintFinding *f = &r->items[i];
        json_array_append_new(findings,
                              json_pack("{s:s,s:i,s:s,s:s,s:s,s:s}", "file", f->file, "line",
                                        f->line, "rule", f->rule->id, "severity",
                                        lint_severity_name(f->rule->severity), "message",
                                        f->message, "hint", f->rule->hint));
    }
    return json_pack("{s:o,s:I,s:I,s:I,s:I}", "findings", findings, "errors",
                     (json_int_t)lint_count(r, LINT_ERROR), "warnings",
                     (json_int_t)lint_count(r, LINT_WARNING), "infos",
                     (json_int_t)lint_count(r, LINT_INFO), "ignored", (json_int_t)r->ignored);
}

static const char *sarif_level(LintSeverity s)
{
    return s == LINT_ERROR ? "error" : s == LINT_WARNING ? "warning" : "note";
}

static json_t *sarif_rules(void)
{
    size_t n = 0;
    const LintRule *rules = lint_rules(&n);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            a, json_pack("{s:s,s:{s:s},s:{s:s},s:{s:s}}", "id", rules[i].id, "shortDescription",
                         "text", rules[i].summary, "help", "text", rules[i].hint,
                         "defaultConfiguration", "level", sarif_level(rules[i].severity)));
    return a;
}

json_t *lint_sarif(const LintReport *r)
{
    json_t *results = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const LintFinding *f = &r->items[i];
        json_array_append_new(
            results,
            json_pack("{s:s,s:s,s:{s:s},s:[{s:{s:{s:s},s:{s:i}}}]}", "ruleId", f->rule->id,
                      "level", sarif_level(f->rule->severity), "message", "text", f->message,
                      "locations", "physicalLocation", "artifactLocation", "uri", f->file,
                      "region", "startLine", f->line > 0 ? f->line : 1));
    }
    return json_pack("{s:s,s:s,s:[{s:{s:{s:s,s:s,s:o}},s:o}]}", "$schema",
                     "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs",
                     "tool", "driver", "name", "drover", "informationUri",
                     "https://github.com/drover/drover", "rules", sarif_rules(), "results",
                     results);
}

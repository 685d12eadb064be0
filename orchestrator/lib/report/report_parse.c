/*
 * report_parse.c — the inverse of report_tenant_json: a tenant object of a JSON report back
 * into a result record. The coordinator reads drover-agent's answers with it, so that an
 * agent's tenants reach the journal, reports and notifications as local ones do.
 */
#include <stdio.h>
#include <string.h>

#include "drover/report.h"

static bool outcome_named(const char *name, ExecOutcome *out)
{
    for (int i = 0; name && i < EXEC_OUT_COUNT; i++)
        if (strcmp(exec_outcome_name((ExecOutcome)i), name) == 0) {
            *out = (ExecOutcome)i;
            return true;
        }
    return false;
}

static bool state_named(const char *name, ExecState *out)
{
    for (int i = 0; name && i < EXEC_STATE_COUNT; i++)
        if (strcmp(exec_state_name((ExecState)i), name) == 0) {
            *out = (ExecState)i;
            return true;
        }
    return false;
}

static char *string_or_null(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? xstrdup(s) : NULL;
}

/* read_list appends the strings of the array o[key]; anything else adds nothing. */
static void read_list(const json_t *o, const char *key, StrList *out)
{
    const json_t *a = json_object_get(o, key);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (s)
            sl_push(out, s);
    }
}

static void read_renamed(const json_t *o, ExecResult *res)
{
    const json_t *a = json_object_get(o, "renamed");
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *row = json_string_value(json_object_get(json_array_get(a, i), "row"));
        const char *file = json_string_value(json_object_get(json_array_get(a, i), "file"));
        if (row && file) {
            sl_push(&res->renamed_rows, row);
            sl_push(&res->renamed_files, file);
        }
    }
}

/* error_kind guesses what the agent's error was from what it carries: the JSON has no kind,
 * and only the printed form (and so nothing a person reads) depends on it. */
static DroverErrorKind error_kind(const DroverError *e, ExecOutcome outcome)
{
    if (outcome == EXEC_OUT_UNREACHABLE)
        return ERR_CONNECT;
    if (e->sqlstate[0] || e->code)
        return ERR_SQL;
    return ERR_REFUSED;
}

/*
 * read_error rebuilds an error object. "detail" is the message alone; with it the tenant and
 * migration become context again, so the error prints as it did on the agent. Without it (a
 * string, or an agent older than the field) the summary is kept as the message.
 */
static void read_error(const json_t *e, const char *tenant, ExecOutcome outcome, DroverError *out)
{
    if (json_is_string(e)) {
        error_set(out, error_kind(out, outcome), "%s", json_string_value(e));
        return;
    }
    if (!json_is_object(e))
        return;
    const char *sqlstate = json_string_value(json_object_get(e, "sqlstate"));
    if (sqlstate)
        snprintf(out->sqlstate, sizeof out->sqlstate, "%s", sqlstate);
    out->code = (int)json_integer_value(json_object_get(e, "code"));
    const char *detail = json_string_value(json_object_get(e, "detail"));
    const char *message = json_string_value(json_object_get(e, "message"));
    error_set(out, error_kind(out, outcome), "%s",
                  detail ? detail : message ? message : "unknown error");
    if (detail) {
        error_set_context(out, tenant, json_string_value(json_object_get(e, "migration")),
                              NULL);
    } else { /* the summary already ends with the code */
        out->sqlstate[0] = '\0';
        out->code = 0;
    }
    error_set_context(out, NULL, NULL, json_string_value(json_object_get(e, "statement")));
    const char *hint = json_string_value(json_object_get(e, "hint"));
    if (hint)
        error_set_hint(out, "%s", hint);
}

static void read_steps(const json_t *o, ExecResult *res)
{
    const json_t *a = json_object_get(o, "steps");
    size_t n = json_array_size(a);
    if (!n)
        return;
    res->steps = xcalloc(n, sizeof *res->steps);
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(a, i);
        ExecStep *st = &res->steps[res->nsteps++];
        st->migration = string_or_null(s, "migration");
        const char *dir = json_string_value(json_object_get(s, "direction"));
        st->up = !dir || strcmp(dir, "down") != 0;
        st->started_at = json_number_value(json_object_get(s, "started_at"));
        st->ended_at = json_number_value(json_object_get(s, "ended_at"));
        st->attempts = (int)json_integer_value(json_object_get(s, "attempts"));
        st->ok = json_is_true(json_object_get(s, "ok"));
        st->error = string_or_null(s, "error");
    }
}

/* read_status_fields: a status tenant's "applied" is what the tenant had (ExecResult.have). */
static bool read_status_fields(const json_t *o, ExecResult *res, DroverError *err)
{
    const char *state = json_string_value(json_object_get(o, "state"));
    if (!state_named(state, &res->state)) {
        error_set(err, ERR_INTERNAL, "unknown tenant state '%s'", state ? state : "");
        return false;
    }
    read_list(o, "applied", &res->have);
    read_list(o, "schema", &res->schema_lines);
    res->meta_missing = json_is_false(json_object_get(o, "meta_table_exists"));
    res->gap = json_is_true(json_object_get(o, "gap"));
    res->lock_holder = string_or_null(o, "lock_holder");
    res->fingerprint = string_or_null(o, "fingerprint");
    return true;
}

/* read_verify: verify's per-migration verdicts and where they ran (an agent's verify batch). */
static void read_verify(const json_t *o, ExecResult *res)
{
    const json_t *v = json_object_get(o, "verify");
    const json_t *list = json_object_get(v, "migrations");
    size_t n = json_array_size(list);
    if (!v)
        return;
    res->verifies = xcalloc(n ? n : 1, sizeof *res->verifies);
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(list, i);
        const char *name = json_string_value(json_object_get(m, "migration"));
        if (!name)
            continue;
        ExecVerify *out = &res->verifies[res->nverifies++];
        out->migration = xstrdup(name);
        out->ok = json_is_true(json_object_get(m, "ok"));
        out->problem = string_or_null(m, "problem");
    }
    res->verify_note = string_or_null(v, "where");
}

static void read_run_fields(const json_t *o, ExecResult *res)
{
    read_list(o, "applied", &res->applied);
    read_list(o, "reverted", &res->reverted);
    read_list(o, "planned", &res->planned);
    res->partial = json_is_true(json_object_get(o, "partial"));
    res->skipped_by_check = json_is_true(json_object_get(o, "skipped_by_check"));
    read_error(json_object_get(o, "rollback_error"), res->tenant ? res->tenant->id : NULL,
               res->outcome, &res->rollback_error);
    read_steps(o, res);
    read_verify(o, res);
}

bool report_tenant_from_json(const json_t *o, ExecResult *res, DroverError *err)
{
    if (!json_is_object(o)) {
        error_set(err, ERR_INTERNAL, "a tenant result must be a JSON object");
        return false;
    }
    const char *outcome = json_string_value(json_object_get(o, "outcome"));
    if (!outcome_named(outcome, &res->outcome)) {
        error_set(err, ERR_INTERNAL, "unknown tenant outcome '%s'",
                      outcome ? outcome : "");
        return false;
    }
    const char *tenant = res->tenant ? res->tenant->id : NULL;
    res->agent_dialect = string_or_null(o, "dialect");
    res->agent_url = string_or_null(o, "url");
    read_list(o, "pending", &res->pending);
    read_list(o, "unknown", &res->unknown);
    read_renamed(o, res);
    res->dirty_migration = string_or_null(o, "dirty_migration");
    res->attempts = (int)json_integer_value(json_object_get(o, "attempts"));
    res->seconds = json_number_value(json_object_get(o, "seconds"));
    read_error(json_object_get(o, "error"), tenant, res->outcome, &res->error);
    if (json_object_get(o, "state"))
        return read_status_fields(o, res, err);
    read_run_fields(o, res);
    return true;
}

/*
 * notify_render.c — the bodies a webhook receives (notify.h): the generic JSON event, and
 * Slack's {"text": ...} with one line a person reads in a channel.
 */
#include "drover/notify.h"

#include <stdlib.h>
#include <string.h>

static const char *member_string(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* member_text is a string member for a line of text: "?" when it is missing. */
static const char *member_text(json_t *o, const char *key)
{
    const char *s = member_string(o, key);
    return s ? s : "?";
}

static json_int_t member_int(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static const char *plural(json_int_t n)
{
    return n == 1 ? "" : "s";
}

/* append_slack_escaped: Slack reads &, < and > as markup, so they are sent escaped. */
static void append_slack_escaped(StrBuf *sb, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '&')
            sb_append(sb, "&amp;");
        else if (*s == '<')
            sb_append(sb, "&lt;");
        else if (*s == '>')
            sb_append(sb, "&gt;");
        else
            sb_appendc(sb, *s);
    }
}

/* "drover migrate (run 12)": which run the line is about. */
static void append_run(StrBuf *sb, json_t *payload)
{
    json_t *run = json_object_get(payload, "run");
    const char *command = member_string(run, "command");
    sb_appendf(sb, "drover %s", command ? command : "run");
    if (member_int(run, "id") > 0)
        sb_appendf(sb, " (run %" JSON_INTEGER_FORMAT ")", member_int(run, "id"));
}

static void append_counts(StrBuf *sb, json_t *payload, bool with_failed)
{
    json_t *counts = json_object_get(payload, "counts");
    json_int_t tenants = member_int(counts, "tenants");
    sb_appendf(sb, "%" JSON_INTEGER_FORMAT " tenant%s", tenants, plural(tenants));
    if (with_failed)
        sb_appendf(sb, ", %" JSON_INTEGER_FORMAT " failed", member_int(counts, "failures"));
}

static void append_tenant_failure(StrBuf *sb, json_t *payload)
{
    json_t *t = json_object_get(payload, "tenant");
    StrBuf esc;
    sb_init(&esc);
    sb_appendf(&esc, "tenant '%s' (%s) %s", member_text(t, "id"), member_text(t, "env"),
               member_text(t, "outcome"));
    const char *error = member_string(t, "error");
    if (error) {
        /* The summary starts with "tenant 'ID': ", which the line has just said. */
        char *said = xasprintf("tenant '%s': ", member_text(t, "id"));
        if (strncmp(error, said, strlen(said)) == 0)
            error += strlen(said);
        free(said);
        sb_appendf(&esc, ": %s", error);
    }
    append_slack_escaped(sb, esc.data);
    sb_free(&esc);
}

/* slack_text: one line per event, e.g. "drover migrate (run 12): tenant 'acme' (prod) failed:
 * ...". */
static char *slack_text(const char *event, json_t *payload)
{
    StrBuf sb;
    sb_init(&sb);
    append_run(&sb, payload);
    const char *env = member_text(payload, "environment");
    if (strcmp(event, NOTIFY_RUN_STARTED) == 0) {
        sb_append(&sb, " started: ");
        append_counts(&sb, payload, false);
    } else if (strcmp(event, NOTIFY_ENV_STARTED) == 0) {
        sb_appendf(&sb, ": environment '%s' started: ", env);
        append_counts(&sb, payload, false);
    } else if (strcmp(event, NOTIFY_ENV_FINISHED) == 0) {
        sb_appendf(&sb, ": environment '%s' finished: ", env);
        append_counts(&sb, payload, true);
    } else if (strcmp(event, NOTIFY_TENANT_FAILED) == 0) {
        sb_append(&sb, ": ");
        append_tenant_failure(&sb, payload);
    } else if (strcmp(event, NOTIFY_RUN_HALTED) == 0) {
        sb_append(&sb, " halted: ");
        append_slack_escaped(&sb, member_string(payload, "reason"));
    } else if (strcmp(event, NOTIFY_RUN_FINISHED) == 0) {
        sb_appendf(&sb, " finished: %s, ", member_text(json_object_get(payload, "run"), "outcome"));
        append_counts(&sb, payload, true);
    } else {
        sb_appendf(&sb, ": %s", event);
    }
    return sb_detach(&sb);
}

char *notify_render(bool slack, const char *event, json_t *payload, double ts)
{
    json_t *body = json_object();
    if (slack) {
        char *text = slack_text(event, payload);
        json_object_set_new(body, "text", json_string(text));
        free(text);
    } else {
        json_object_set_new(body, "event", json_string(event));
        const char *key;
        json_t *value;
        json_object_foreach(payload, key, value)
            json_object_set(body, key, value);
        json_object_set_new(body, "ts", json_real(ts));
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *out = xstrdup(text);
    free(text);
    return out;
}

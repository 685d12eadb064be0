/*
 * error.c — filling and rendering DroverError (see error.h). Rendering lives here so that every
 * face (CLI, JSON report, journal) shows an error the same way.
 */
#include "drover/error.h"
#include "drover/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void replace(char **field, const char *value)
{
    char *copy = xstrdup(value);
    free(*field);
    *field = copy;
}

/* excerpt: text as an error keeps it: whole up to max bytes, else its start (cut on a UTF-8
 * boundary) and its length. A 10 MiB statement that fails on every tenant (or a server message
 * quoting it) must not be copied into every report, log line and journal row. */
static char *excerpt(char *text, size_t max, const char *what)
{
    size_t len = strlen(text);
    if (len <= max)
        return text;
    size_t cut = max;
    while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--;
    char *short_text = xasprintf("%.*s… [cut: the %s has %zu bytes]", (int)cut, text, what, len);
    free(text);
    return short_text;
}

void error_set(DroverError *err, DroverErrorKind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    free(err->message);
    err->message = excerpt(msg, ERROR_TEXT_MAX, "message");
    err->kind = kind;
}

void error_set_hint(DroverError *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *hint = xvasprintf(fmt, ap);
    va_end(ap);
    free(err->hint);
    err->hint = hint;
}

void error_set_location(DroverError *err, const char *file, int line)
{
    replace(&err->file, file);
    err->line = line;
}

void error_set_context(DroverError *err, const char *tenant, const char *migration,
                           const char *statement)
{
    if (tenant)
        replace(&err->tenant, tenant);
    if (migration)
        replace(&err->migration, migration);
    if (statement) {
        free(err->statement);
        err->statement = excerpt(xstrdup(statement), ERROR_TEXT_MAX, "statement");
    }
}

bool error_is_set(const DroverError *err)
{
    return err->kind != ERR_NONE;
}

void error_clear(DroverError *err)
{
    free(err->message);
    free(err->hint);
    free(err->file);
    free(err->tenant);
    free(err->migration);
    free(err->statement);
    memset(err, 0, sizeof *err);
}

void error_move(DroverError *dst, DroverError *src)
{
    if (dst == src)
        return;
    error_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

static void append_summary(StrBuf *sb, const DroverError *err)
{
    if (err->file) {
        if (err->line > 0)
            sb_appendf(sb, "%s:%d: ", err->file, err->line);
        else
            sb_appendf(sb, "%s: ", err->file);
    }
    if (err->tenant)
        sb_appendf(sb, "tenant '%s': ", err->tenant);
    if (err->migration)
        sb_appendf(sb, "migration '%s': ", err->migration);
    sb_append(sb, err->message ? err->message : "unknown error");
    if (err->sqlstate[0])
        sb_appendf(sb, " (SQLSTATE %s)", err->sqlstate);
    else if (err->code)
        sb_appendf(sb, " (error %d)", err->code);
}

char *error_summary(const DroverError *err)
{
    StrBuf sb;
    sb_init(&sb);
    append_summary(&sb, err);
    return sb_detach(&sb);
}

char *error_format(const DroverError *err)
{
    StrBuf sb;
    sb_init(&sb);
    append_summary(&sb, err);
    if (err->statement)
        sb_appendf(&sb, "\n  statement: %s", err->statement);
    if (err->hint)
        sb_appendf(&sb, "\n  hint: %s", err->hint);
    return sb_detach(&sb);
}

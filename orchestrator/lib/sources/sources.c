/*
 * sources.c — runs each tenants_from source and turns what it returns into InvRows: the
 * columns of a catalogue query (id, env, url or agent, tags; others ignored), or the objects
 * of a JSON document a command or an HTTP endpoint produced (sources_fetch.c). Every error
 * names the source by its label, which never holds a password or a token.
 */
#include "drover/sources.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "drover/driver.h"
#include "sources_impl.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* source_fail: "LABEL: MESSAGE" at the source's entry in drover.cfg, exit 2. */
bool sources_fail(DroverError *err, const InvSource *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = xvasprintf(fmt, ap);
    va_end(ap);
    error_set(err, ERR_CONFIG, "%s: %s", src->label, message);
    error_set_location(err, src->file, src->line);
    free(message);
    return false;
}

/* ---- a catalogue query ---------------------------------------------------------------- */

static int column_of(const DrvTable *t, const char *name)
{
    for (size_t i = 0; i < t->columns.n; i++)
        if (strcasecmp(t->columns.items[i], name) == 0)
            return (int)i;
    return -1;
}

static const char *cell(const DrvTable *t, size_t row, int col)
{
    return col < 0 ? NULL : t->cells.items[row * t->columns.n + (size_t)col];
}

static char *column_list(const DrvTable *t)
{
    StrBuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < t->columns.n; i++)
        sb_appendf(&sb, "%s%s", i ? ", " : "", t->columns.items[i]);
    char *out = xstrdup(sb.data ? sb.data : "");
    sb_free(&sb);
    return out;
}

static bool rows_from_table(Inventory *inv, const InvSource *src, const DrvTable *t,
                            size_t *count, DroverError *err)
{
    int id = column_of(t, "id"), env = column_of(t, "env"), url = column_of(t, "url");
    int agent = column_of(t, "agent"), tags = column_of(t, "tags");
    if (id < 0 || env < 0 || (url < 0 && agent < 0)) {
        char *have = column_list(t);
        bool ok = sources_fail(err, src, "the query must return the columns id, env and url (or "
                                         "agent), optionally tags; it returns: %s", have);
        free(have);
        return ok;
    }
    InvRow *rows = xcalloc(t->nrows ? t->nrows : 1, sizeof *rows);
    for (size_t r = 0; r < t->nrows; r++)
        rows[r] = (InvRow){.id = cell(t, r, id), .env = cell(t, r, env), .url = cell(t, r, url),
                           .agent = cell(t, r, agent), .tags = cell(t, r, tags)};
    bool ok = inv_add_rows(inv, src, rows, t->nrows, err);
    free(rows);
    *count = t->nrows;
    return ok;
}

static bool run_sql(Inventory *inv, const InvSource *src, size_t *count, DroverError *err)
{
    DrvConnectOptions opts = {.application_name = "drover tenants_from",
                              .statement_timeout_ms = (int)src->timeout_ms};
    DroverError inner = DROVER_ERROR_INIT;
    DrvConn *c = drv_connect(&src->url, &opts, &inner);
    DrvTable t = DRV_TABLE_INIT;
    bool ok = c && drv_query_table(c, src->query, &t, &inner);
    drv_close(c);
    if (!ok)
        sources_fail(err, src, "%s%s", c ? "the query failed: " : "",
                     inner.message ? inner.message : "unknown error");
    else
        ok = rows_from_table(inv, src, &t, count, err);
    drv_table_free(&t);
    error_clear(&inner);
    return ok;
}

/* ---- JSON from a command or an HTTP endpoint ------------------------------------------------ */

/* json_text: a string value, or NULL when absent; false when present and not a string. */
static bool json_text(json_t *o, const char *key, const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = v ? json_string_value(v) : NULL;
    return !v || json_is_null(v) || json_is_string(v);
}

/* json_tags: an array of strings or a comma-separated string, as one comma-separated text. */
static bool json_tags(json_t *o, StrList *keep, const char **out)
{
    json_t *v = json_object_get(o, "tags");
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return true;
    }
    if (!json_is_array(v))
        return false;
    StrBuf sb;
    sb_init(&sb);
    size_t i;
    json_t *tag;
    json_array_foreach(v, i, tag) {
        if (!json_is_string(tag)) {
            sb_free(&sb);
            return false;
        }
        sb_appendf(&sb, "%s%s", i ? "," : "", json_string_value(tag));
    }
    sl_push_owned(keep, xstrdup(sb.data ? sb.data : ""));
    *out = keep->items[keep->n - 1];
    sb_free(&sb);
    return true;
}

static bool row_from_json(const InvSource *src, size_t n, json_t *o, StrList *keep, InvRow *row,
                          DroverError *err)
{
    if (!json_is_object(o))
        return sources_fail(err, src, "item %zu is not a JSON object", n);
    const char *bad = NULL;
    if (!json_text(o, "id", &row->id))
        bad = "id";
    else if (!json_text(o, "env", &row->env))
        bad = "env";
    else if (!json_text(o, "url", &row->url))
        bad = "url";
    else if (!json_text(o, "agent", &row->agent))
        bad = "agent";
    else if (!json_tags(o, keep, &row->tags))
        bad = "tags";
    if (bad)
        return sources_fail(err, src, "item %zu: '%s' must be a string%s", n, bad,
                            strcmp(bad, "tags") == 0 ? " or a list of strings" : "");
    return true;
}

/* parse_json: a JSON array of objects, or JSON lines (one object per line). */
static json_t *parse_json(const InvSource *src, const char *body, size_t len, DroverError *err)
{
    size_t lead = strspn(body, " \t\r\n");
    json_error_t je;
    if (lead < len && body[lead] == '[') {
        json_t *doc = json_loadb(body, len, 0, &je);
        if (!doc)
            sources_fail(err, src, "the output is not JSON (line %d: %s)", je.line, je.text);
        return doc;
    }
    json_t *items = json_array();
    size_t lineno = 0;
    for (const char *p = body, *end = body + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        if (strspn(p, " \t\r") < n) {
            json_t *item = json_loadb(p, n, 0, &je);
            if (!item) {
                sources_fail(err, src, "line %zu of the output is not JSON: %s", lineno, je.text);
                json_decref(items);
                return NULL;
            }
            json_array_append_new(items, item);
        }
        p += n + 1;
    }
    return items;
}

static bool rows_from_json(Inventory *inv, const InvSource *src, const char *body, size_t len,
                           size_t *count, DroverError *err)
{
    json_t *doc = parse_json(src, body, len, err);
    if (!doc)
        return false;
    bool ok = json_is_array(doc) || sources_fail(err, src, "the output must be a JSON array "
                                                           "of tenants or JSON lines");
    size_t n = ok ? json_array_size(doc) : 0;
    InvRow *rows = xcalloc(n ? n : 1, sizeof *rows);
    StrList keep = STRLIST_INIT;
    for (size_t i = 0; ok && i < n; i++)
        ok = row_from_json(src, i + 1, json_array_get(doc, i), &keep, &rows[i], err);
    ok = ok && inv_add_rows(inv, src, rows, n, err);
    *count = n;
    sl_free(&keep);
    free(rows);
    json_decref(doc);
    return ok;
}

/* ---- all of them ----------------------------------------------------------------------- */

static bool run_source(Inventory *inv, const InvSource *src, size_t *count, DroverError *err)
{
    if (src->kind == INV_SOURCE_SQL)
        return run_sql(inv, src, count, err);
    char *body = NULL;
    size_t len = 0;
    bool ok = src->kind == INV_SOURCE_COMMAND ? sources_run_command(src, &body, &len, err)
                                              : sources_get_http(src, &body, &len, err);
    ok = ok && rows_from_json(inv, src, body, len, count, err);
    free(body);
    return ok;
}

bool sources_resolve(Inventory *inv, SourceStat **stats, DroverError *err)
{
    if (stats)
        *stats = xcalloc(inv->nsources ? inv->nsources : 1, sizeof **stats);
    for (size_t i = 0; i < inv->nsources; i++) {
        double start = now_seconds();
        size_t count = 0;
        if (!run_source(inv, &inv->sources[i], &count, err))
            return false;
        if (stats)
            (*stats)[i] = (SourceStat){.source = &inv->sources[i], .tenants = count,
                                       .seconds = now_seconds() - start};
    }
    if (inv->ntenants == 0) {
        error_set(err, ERR_CONFIG, "no tenant: 'tenants' declares none and tenants_from "
                                   "returned none");
        error_set_location(err, inv->config_path, 0);
        return false;
    }
    return true;
}

/*
 * test_report_html.c — the HTML status page as text: one document whose data blob parses
 * back to the status JSON plus the page's fields, and which no tenant text (rows, errors)
 * can break out of. How it renders is tested in headless Chromium (html_report.test.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/report.h"

#define BLOB_OPEN "<script type=\"application/json\" id=\"drover-data\">"

static char *TAGS_EU[] = {"eu"};
static InvEnvironment ENVS[] = {{.name = "staging"}, {.name = "prod"}};
static InvTenant TENANTS[] = {
    {.id = "a", .env = "staging", .tags = TAGS_EU, .ntags = 1,
     .url = {.dialect = DB_SQLITE, .masked = "sqlite:/x/a.db"}},
    {.id = "b", .env = "prod",
     .url = {.dialect = DB_POSTGRES, .masked = "postgres://u:***@h/b"}},
};
static const Inventory INV = {.envs = ENVS, .nenvs = 2, .tenants = TENANTS, .ntenants = 2};
static Migration MIGS[] = {{.name = "1-a.sql"}, {.name = "2-b.sql"}};
static const MigSet SET = {.items = MIGS, .n = 2};

typedef struct Page {
    ExecResult res[2];
    char *text;
} Page;

/* render builds a drifted tenant with a markup row and an unreachable one whose error text
 * holds "</script>", and renders them with the view left for the page to build. */
static void render(Page *p)
{
    memset(p->res, 0, sizeof p->res);
    ExecResult *a = &p->res[0], *b = &p->res[1];
    a->tenant = &TENANTS[0];
    a->state = EXEC_STATE_DRIFTED;
    a->outcome = EXEC_OUT_OK;
    sl_push(&a->have, "1-a.sql");
    sl_push(&a->pending, "2-b.sql");
    sl_push(&a->unknown, "0-</script><!--x.js");
    b->tenant = &TENANTS[1];
    b->state = EXEC_STATE_UNREACHABLE;
    b->outcome = EXEC_OUT_UNREACHABLE;
    error_set(&b->error, ERR_CONNECT, "cannot connect: </script><b>x</b>");
    ReportInput in = {.inv = &INV, .set = &SET, .res = p->res, .n = 2, .generated_at = 86400};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_true(report_status_html(f, &in));
    assert_int_equal(fclose(f), 0);
    p->text = buf;
}

static void page_free(Page *p)
{
    for (size_t i = 0; i < 2; i++)
        exec_result_free(&p->res[i]);
    free(p->text);
}

/* blob returns the data blob's JSON text (caller frees). */
static char *blob(const char *page)
{
    const char *start = strstr(page, BLOB_OPEN);
    assert_non_null(start);
    start += strlen(BLOB_OPEN);
    const char *end = strstr(start, "</script>");
    assert_non_null(end);
    return xstrndup(start, (size_t)(end - start));
}

static void test_one_document_with_two_scripts_and_no_fetch(void **state)
{
    (void)state;
    Page p;
    render(&p);
    assert_memory_equal(p.text, "<!DOCTYPE html>\n", 16);
    assert_non_null(strstr(p.text, "content=\"default-src 'none'; "));
    size_t scripts = 0, closes = 0;
    for (const char *s = p.text; (s = strstr(s, "<script")); s++)
        scripts++;
    for (const char *s = p.text; (s = strstr(s, "</script>")); s++)
        closes++;
    assert_int_equal(scripts, 2);
    assert_int_equal(closes, 2);
    assert_null(strstr(p.text, "<!--"));
    assert_string_equal(p.text + strlen(p.text) - 8, "</html>\n");
    page_free(&p);
}

static void test_blob_escapes_every_lt_and_parses_back(void **state)
{
    (void)state;
    Page p;
    render(&p);
    char *text = blob(p.text);
    assert_null(strchr(text, '<'));
    json_error_t jerr;
    json_t *d = json_loads(text, 0, &jerr);
    assert_non_null(d);
    json_t *a = json_array_get(json_object_get(d, "tenants"), 0);
    json_t *b = json_array_get(json_object_get(d, "tenants"), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(a, "unknown"), 0)),
                        "0-</script><!--x.js");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "error"), "message")),
                        "cannot connect: </script><b>x</b>");
    assert_string_equal(json_string_value(json_array_get(json_object_get(a, "tags"), 0)), "eu");
    assert_string_equal(json_string_value(json_object_get(d, "generated_at")),
                        "1970-01-02T00:00:00Z");
    char *envs = json_dumps(json_object_get(d, "environments"), JSON_COMPACT);
    assert_string_equal(envs, "[{\"name\":\"staging\",\"tenants\":1,\"by_state\":{\"current\":0,"
                              "\"behind\":0,\"drifted\":1,\"dirty\":0,\"locked\":0,"
                              "\"unreachable\":0}},{\"name\":\"prod\",\"tenants\":1,\"by_state\":"
                              "{\"current\":0,\"behind\":0,\"drifted\":0,\"dirty\":0,\"locked\":0,"
                              "\"unreachable\":1}}]");
    /* 1-a.sql is applied on every readable tenant: the prefix column; then 2-b.sql and the
     * unknown row. The unreachable tenant reads nothing. */
    assert_int_equal(json_integer_value(json_object_get(d, "prefix")), 1);
    char *columns = json_dumps(json_object_get(d, "columns"), JSON_COMPACT);
    assert_string_equal(columns, "[{\"name\":\"2-b.sql\",\"extra\":false},"
                                 "{\"name\":\"0-</script><!--x.js\",\"extra\":true}]");
    assert_string_equal(json_string_value(json_object_get(a, "cells")), "APU");
    assert_string_equal(json_string_value(json_object_get(b, "cells")), "...");
    assert_int_equal(json_integer_value(json_object_get(a, "applied_count")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "pending_count")), 1);
    assert_null(json_object_get(a, "applied"));
    char *heads = json_dumps(json_object_get(d, "heads"), JSON_COMPACT);
    assert_string_equal(heads, "[{\"head\":\"1-a.sql\",\"tenants\":1}]");
    free(envs);
    free(columns);
    free(heads);
    json_decref(d);
    free(text);
    page_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_document_with_two_scripts_and_no_fetch),
        cmocka_unit_test(test_blob_escapes_every_lt_and_parses_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

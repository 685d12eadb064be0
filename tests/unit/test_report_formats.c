/*
 * test_report_formats.c — the status formats on hand-built results: exact CSV, JUnit,
 * Prometheus and Markdown for a small fleet with every state, the views in the JSON, the
 * table's sections and colours, and each format's escaping (CSV quotes, XML specials, label
 * values, Markdown cells).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/fleetview.h"
#include "drover/report.h"

#define M1 "20240101-a.sql"
#define M2 "20240102-b.sql"
#define M3 "20240103-c.sql"
#define URL "x://h/db"
#define TENANT(id_, env_, dialect_) \
    {.id = id_, .env = env_, .url = {.dialect = dialect_, .masked = URL}}
#define T0 1700000000.0 /* 2023-11-14T22:13:20Z */

static Migration MIGS[] = {{.name = M1}, {.name = M2}, {.name = M3}};
static const MigSet SET = {.dir = "/m", .items = MIGS, .n = 3};
static InvEnvironment ENVS[] = {{.name = "dev"}, {.name = "prod"}};
static const Inventory INV = {.envs = ENVS, .nenvs = 2};

static InvTenant ALPHA = TENANT("alpha", "dev", DB_SQLITE);
static InvTenant BETA = TENANT("beta", "dev", DB_POSTGRES);
static InvTenant ETA = TENANT("eta", "dev", DB_MYSQL);
static InvTenant GAMMA = TENANT("gamma", "prod", DB_MYSQL);
static InvTenant DELTA = TENANT("delta", "prod", DB_POSTGRES);
static InvTenant EPS = TENANT("eps", "prod", DB_SQLITE);
static InvTenant ZETA = TENANT("zeta", "prod", DB_POSTGRES);

/* ---- building inputs --------------------------------------------------------------------- */

typedef struct Fixture {
    ExecResult res[8];
    size_t n;
    FleetView view;
    ReportInput in;
} Fixture;

static ExecResult *add(Fixture *f, const InvTenant *t, ExecState state, const char *have)
{
    ExecResult *r = &f->res[f->n++];
    memset(r, 0, sizeof *r);
    r->tenant = t;
    r->state = state;
    r->outcome = state == EXEC_STATE_UNREACHABLE ? EXEC_OUT_UNREACHABLE : EXEC_OUT_OK;
    /* have: which of M1 M2 M3 are applied, e.g. "101"; the rest is pending. */
    for (size_t i = 0; have && i < 3; i++)
        sl_push(have[i] == '1' ? &r->have : &r->pending, MIGS[i].name);
    return r;
}

static void last_run(ExecResult *r, long long id, const char *outcome, double at)
{
    r->last_run_id = id;
    r->last_run_outcome = xstrdup(outcome);
    r->last_run_at = at;
}

static void finish(Fixture *f)
{
    fleetview_build(&INV, &SET, f->res, f->n, &f->view);
    f->in = (ReportInput){.inv = &INV, .set = &SET, .res = f->res, .n = f->n,
                          .view = &f->view, .generated_at = T0};
}

/* The fleet: every state, a gap, a schema drift, last runs good and bad, and one tenant never
 * migrated. Rollout order: dev, then prod. */
static int setup_fleet(void **state)
{
    Fixture *f = xcalloc(1, sizeof *f);
    last_run(add(f, &ALPHA, EXEC_STATE_CURRENT, "111"), 4, "migrated", T0 + 0.5);
    ExecResult *beta = add(f, &BETA, EXEC_STATE_BEHIND, "101");
    beta->gap = true;
    beta->fingerprint = xstrdup("0123456789abcdef");
    ExecResult *eta = add(f, &ETA, EXEC_STATE_LOCKED, "111");
    eta->lock_holder = xstrdup("drover migrate pid 7 on h1");
    ExecResult *gamma = add(f, &GAMMA, EXEC_STATE_DRIFTED, "111");
    sl_push(&gamma->unknown, "20231231-old.sql");
    gamma->schema_drift = true;
    sl_push(&gamma->drift_added, "column users.age integer");
    last_run(gamma, 3, "failed", T0 + 100);
    ExecResult *delta = add(f, &DELTA, EXEC_STATE_UNREACHABLE, NULL);
    error_set(&delta->error, ERR_CONNECT, "cannot connect to postgres 'db1:5432/delta'");
    error_set_context(&delta->error, "delta", NULL, NULL);
    snprintf(delta->error.sqlstate, sizeof delta->error.sqlstate, "08001");
    last_run(add(f, &EPS, EXEC_STATE_BEHIND, "000"), 2, "skipped", T0 + 50);
    ExecResult *zeta = add(f, &ZETA, EXEC_STATE_DIRTY, "100");
    zeta->dirty_migration = xstrdup(M2);
    finish(f);
    *state = f;
    return 0;
}

static int teardown_fixture(void **state)
{
    Fixture *f = *state;
    for (size_t i = 0; i < f->n; i++)
        exec_result_free(&f->res[i]);
    fleetview_free(&f->view);
    free(f);
    return 0;
}

typedef bool (*Format)(FILE *, const ReportInput *);

/* A memory stream for the output. The buffer's pointer lives on the heap: GCC takes a local
 * one handed to open_memstream for a dangling pointer once the stream is closed. */
typedef struct Capture {
    char *text;
    size_t len;
} Capture;

static FILE *capture_open(Capture **c)
{
    *c = xcalloc(1, sizeof **c);
    FILE *out = open_memstream(&(*c)->text, &(*c)->len);
    assert_non_null(out);
    return out;
}

static char *capture_close(FILE *out, Capture *c)
{
    fclose(out);
    char *text = c->text;
    free(c);
    return text;
}

static char *render(Format format, const ReportInput *in)
{
    Capture *c;
    FILE *out = capture_open(&c);
    assert_true(format(out, in));
    return capture_close(out, c);
}

static void expect_render(Format format, const ReportInput *in, const char *want)
{
    char *got = render(format, in);
    assert_string_equal(got, want);
    free(got);
}

/* ---- the whole fleet, exactly ------------------------------------------------------------ */

static void test_csv(void **state)
{
    Fixture *f = *state;
    expect_render(report_status_csv, &f->in,
                  "id,env,dialect,state,applied,pending,unknown,last_applied,gap,"
                  "last_run_outcome,last_run_at,fingerprint,error\r\n"
                  "alpha,dev,sqlite,current,3,0,0," M3 ",false,migrated,2023-11-14T22:13:20Z,,\r\n"
                  "beta,dev,postgres,behind,2,1,0," M3 ",true,,,0123456789abcdef,\r\n"
                  "eta,dev,mysql,locked,3,0,0," M3 ",false,,,,\r\n"
                  "gamma,prod,mysql,drifted,3,0,1," M3 ",false,failed,2023-11-14T22:15:00Z,,\r\n"
                  "delta,prod,postgres,unreachable,,,,,,,,,tenant 'delta': cannot connect to "
                  "postgres 'db1:5432/delta' (SQLSTATE 08001)\r\n"
                  "eps,prod,sqlite,behind,0,3,0,,false,skipped,2023-11-14T22:14:10Z,,\r\n"
                  "zeta,prod,postgres,dirty,1,2,0," M1 ",false,,,,\r\n");
}

static void test_junit(void **state)
{
    Fixture *f = *state;
    expect_render(
        report_status_junit, &f->in,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<testsuites name=\"drover status\" tests=\"7\" failures=\"4\" errors=\"0\" skipped=\"1\""
        " timestamp=\"2023-11-14T22:13:20Z\">\n"
        "  <testsuite name=\"dev\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"0\""
        " timestamp=\"2023-11-14T22:13:20Z\">\n"
        "    <properties>\n"
        "      <property name=\"current\" value=\"1\"/>\n"
        "      <property name=\"behind\" value=\"1\"/>\n"
        "      <property name=\"drifted\" value=\"0\"/>\n"
        "      <property name=\"dirty\" value=\"0\"/>\n"
        "      <property name=\"locked\" value=\"1\"/>\n"
        "      <property name=\"unreachable\" value=\"0\"/>\n"
        "    </properties>\n"
        "    <testcase classname=\"drover.dev\" name=\"alpha\" time=\"0.000\"/>\n"
        "    <testcase classname=\"drover.dev\" name=\"beta\" time=\"0.000\"/>\n"
        "    <testcase classname=\"drover.dev\" name=\"eta\" time=\"0.000\">\n"
        "      <failure type=\"locked\" message=\"locked: locked by drover migrate pid 7 on h1\">"
        "locked by: drover migrate pid 7 on h1\n</failure>\n"
        "    </testcase>\n"
        "  </testsuite>\n"
        "  <testsuite name=\"prod\" tests=\"4\" failures=\"3\" errors=\"0\" skipped=\"1\""
        " timestamp=\"2023-11-14T22:13:20Z\">\n"
        "    <properties>\n"
        "      <property name=\"current\" value=\"0\"/>\n"
        "      <property name=\"behind\" value=\"1\"/>\n"
        "      <property name=\"drifted\" value=\"1\"/>\n"
        "      <property name=\"dirty\" value=\"1\"/>\n"
        "      <property name=\"locked\" value=\"0\"/>\n"
        "      <property name=\"unreachable\" value=\"1\"/>\n"
        "    </properties>\n"
        "    <testcase classname=\"drover.prod\" name=\"gamma\" time=\"0.000\">\n"
        "      <failure type=\"drifted\" message=\"drifted: unknown rows: 20231231-old.sql; schema"
        " differs from its peers: 1 line added, 0 missing\">"
        "unknown row (no file): 20231231-old.sql\n+ column users.age integer\n</failure>\n"
        "    </testcase>\n"
        "    <testcase classname=\"drover.prod\" name=\"delta\" time=\"0.000\">\n"
        "      <failure type=\"unreachable\""
        " message=\"unreachable: tenant &apos;delta&apos;: cannot connect to postgres"
        " &apos;db1:5432/delta&apos; (SQLSTATE 08001)\">tenant 'delta':"
        " cannot connect to postgres 'db1:5432/delta' (SQLSTATE 08001)\n</failure>\n"
        "    </testcase>\n"
        "    <testcase classname=\"drover.prod\" name=\"eps\" time=\"0.000\">\n"
        "      <skipped message=\"no migration applied yet\"/>\n"
        "    </testcase>\n"
        "    <testcase classname=\"drover.prod\" name=\"zeta\" time=\"0.000\">\n"
        "      <failure type=\"dirty\" message=\"dirty: migration &apos;" M2 "&apos; may be"
        " half-applied\">may be half-applied: " M2 "\n</failure>\n"
        "    </testcase>\n"
        "  </testsuite>\n"
        "</testsuites>\n");
}

static void test_prom(void **state)
{
    Fixture *f = *state;
    expect_render(
        report_status_prom, &f->in,
        "# HELP drover_tenants Selected tenants by environment and state.\n"
        "# TYPE drover_tenants gauge\n"
        "drover_tenants{env=\"dev\",state=\"current\"} 1\n"
        "drover_tenants{env=\"dev\",state=\"behind\"} 1\n"
        "drover_tenants{env=\"dev\",state=\"drifted\"} 0\n"
        "drover_tenants{env=\"dev\",state=\"dirty\"} 0\n"
        "drover_tenants{env=\"dev\",state=\"locked\"} 1\n"
        "drover_tenants{env=\"dev\",state=\"unreachable\"} 0\n"
        "drover_tenants{env=\"prod\",state=\"current\"} 0\n"
        "drover_tenants{env=\"prod\",state=\"behind\"} 1\n"
        "drover_tenants{env=\"prod\",state=\"drifted\"} 1\n"
        "drover_tenants{env=\"prod\",state=\"dirty\"} 1\n"
        "drover_tenants{env=\"prod\",state=\"locked\"} 0\n"
        "drover_tenants{env=\"prod\",state=\"unreachable\"} 1\n"
        "# HELP drover_tenant_pending_migrations Migrations not applied yet (absent when"
        " SequelizeMeta could not be read).\n"
        "# TYPE drover_tenant_pending_migrations gauge\n"
        "drover_tenant_pending_migrations{tenant=\"alpha\",env=\"dev\"} 0\n"
        "drover_tenant_pending_migrations{tenant=\"beta\",env=\"dev\"} 1\n"
        "drover_tenant_pending_migrations{tenant=\"eta\",env=\"dev\"} 0\n"
        "drover_tenant_pending_migrations{tenant=\"gamma\",env=\"prod\"} 0\n"
        "drover_tenant_pending_migrations{tenant=\"eps\",env=\"prod\"} 3\n"
        "drover_tenant_pending_migrations{tenant=\"zeta\",env=\"prod\"} 2\n"
        "# HELP drover_tenant_state The tenant's state, as the label state (always 1).\n"
        "# TYPE drover_tenant_state gauge\n"
        "drover_tenant_state{tenant=\"alpha\",env=\"dev\",state=\"current\"} 1\n"
        "drover_tenant_state{tenant=\"beta\",env=\"dev\",state=\"behind\"} 1\n"
        "drover_tenant_state{tenant=\"eta\",env=\"dev\",state=\"locked\"} 1\n"
        "drover_tenant_state{tenant=\"gamma\",env=\"prod\",state=\"drifted\"} 1\n"
        "drover_tenant_state{tenant=\"delta\",env=\"prod\",state=\"unreachable\"} 1\n"
        "drover_tenant_state{tenant=\"eps\",env=\"prod\",state=\"behind\"} 1\n"
        "drover_tenant_state{tenant=\"zeta\",env=\"prod\",state=\"dirty\"} 1\n"
        "# HELP drover_tenant_last_run_timestamp_seconds When the tenant's last recorded migrate"
        " or undo run ended (Unix time).\n"
        "# TYPE drover_tenant_last_run_timestamp_seconds gauge\n"
        "drover_tenant_last_run_timestamp_seconds{tenant=\"alpha\",env=\"dev\"} 1700000000.500\n"
        "drover_tenant_last_run_timestamp_seconds{tenant=\"gamma\",env=\"prod\"} 1700000100.000\n"
        "drover_tenant_last_run_timestamp_seconds{tenant=\"eps\",env=\"prod\"} 1700000050.000\n"
        "# HELP drover_tenant_last_run_success 1 when the tenant's last recorded migrate or undo"
        " run succeeded for it, else 0.\n"
        "# TYPE drover_tenant_last_run_success gauge\n"
        "drover_tenant_last_run_success{tenant=\"alpha\",env=\"dev\"} 1\n"
        "drover_tenant_last_run_success{tenant=\"gamma\",env=\"prod\"} 0\n"
        "drover_tenant_last_run_success{tenant=\"eps\",env=\"prod\"} 0\n"
        "# HELP drover_migration_applied_tenants Tenants that have the migration applied, among"
        " those whose SequelizeMeta was read.\n"
        "# TYPE drover_migration_applied_tenants gauge\n"
        "drover_migration_applied_tenants{migration=\"" M1 "\"} 5\n"
        "drover_migration_applied_tenants{migration=\"" M2 "\"} 3\n"
        "drover_migration_applied_tenants{migration=\"" M3 "\"} 4\n"
        "# HELP drover_status_generated_timestamp_seconds When drover wrote this status (Unix"
        " time).\n"
        "# TYPE drover_status_generated_timestamp_seconds gauge\n"
        "drover_status_generated_timestamp_seconds 1700000000.000\n");
}

static void test_markdown(void **state)
{
    Fixture *f = *state;
    expect_render(
        report_status_markdown, &f->in,
        "## drover status\n\n"
        "**7 tenants**: 1 current, 2 behind, 1 drifted, 1 dirty, 1 locked, 1 unreachable"
        " (2023-11-14T22:13:20Z)\n"
        "\n### Environments\n\n"
        "| Environment | Tenants | current | behind | drifted | dirty | locked | unreachable |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        "| dev | 3 | 1 | 1 | 0 | 0 | 1 | 0 |\n"
        "| prod | 4 | 0 | 1 | 1 | 1 | 0 | 1 |\n"
        "\n### Needs attention\n\n"
        "| Tenant | Environment | State | Detail |\n| --- | --- | --- | --- |\n"
        "| eta | dev | locked | locked by drover migrate pid 7 on h1 |\n"
        "| gamma | prod | drifted | unknown rows: 20231231-old.sql; schema differs from its"
        " peers: 1 line added, 0 missing |\n"
        "| delta | prod | unreachable | tenant 'delta': cannot connect to postgres"
        " 'db1:5432/delta' (SQLSTATE 08001) |\n"
        "| zeta | prod | dirty | migration '" M2 "' may be half-applied |\n"
        "\n### Version skew\n\n"
        "| Last applied | Tenants |\n| --- | ---: |\n"
        "| " M3 " | 4 |\n"
        "| _none applied_ | 1 |\n"
        "| " M1 " | 1 |\n"
        "\n### Gaps\n\n"
        "| Tenant | Environment | Last applied | Missing |\n| --- | --- | --- | --- |\n"
        "| beta | dev | " M3 " | " M2 " |\n");
}

/* The views in the JSON and the per-tenant additions, compared as JSON. */
static void expect_json(json_t *got, const char *want)
{
    json_error_t jerr;
    json_t *w = json_loads(want, 0, &jerr);
    if (!w)
        fail_msg("bad expected JSON: %s", jerr.text);
    char *got_text = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
    char *want_text = json_dumps(w, JSON_SORT_KEYS | JSON_INDENT(1));
    assert_string_equal(got_text, want_text);
    free(got_text);
    free(want_text);
    json_decref(w);
}

static void test_json_views(void **state)
{
    Fixture *f = *state;
    json_t *doc = report_status_json(&f->in);
    expect_json(
        json_object_get(doc, "views"),
        "{\"environments\": ["
        "  {\"name\": \"dev\", \"tenants\": 3, \"current\": 1, \"behind\": 1, \"drifted\": 0,"
        "   \"dirty\": 0, \"locked\": 1, \"unreachable\": 0},"
        "  {\"name\": \"prod\", \"tenants\": 4, \"current\": 0, \"behind\": 1, \"drifted\": 1,"
        "   \"dirty\": 1, \"locked\": 0, \"unreachable\": 1}],"
        " \"migrations\": ["
        "  {\"name\": \"" M1 "\", \"applied\": 5, \"known\": 6, \"by_env\":"
        "   {\"dev\": {\"applied\": 3, \"known\": 3}, \"prod\": {\"applied\": 2, \"known\": 3}}},"
        "  {\"name\": \"" M2 "\", \"applied\": 3, \"known\": 6, \"by_env\":"
        "   {\"dev\": {\"applied\": 2, \"known\": 3}, \"prod\": {\"applied\": 1, \"known\": 3}}},"
        "  {\"name\": \"" M3 "\", \"applied\": 4, \"known\": 6, \"by_env\":"
        "   {\"dev\": {\"applied\": 3, \"known\": 3}, \"prod\": {\"applied\": 1, \"known\": 3}}}],"
        " \"heads\": [{\"head\": \"" M3 "\", \"tenants\": 4}, {\"head\": null, \"tenants\": 1},"
        "  {\"head\": \"" M1 "\", \"tenants\": 1}],"
        " \"gaps\": [{\"tenant\": \"beta\", \"env\": \"dev\", \"head\": \"" M3 "\","
        "  \"missing\": [\"" M2 "\"]}],"
        " \"fleet_changes\": null}");
    json_t *tenants = json_object_get(doc, "tenants");
    json_t *alpha = json_array_get(tenants, 0), *beta = json_array_get(tenants, 1);
    json_t *eta = json_array_get(tenants, 2);
    expect_json(json_object_get(alpha, "last_run"),
                "{\"id\": 4, \"outcome\": \"migrated\", \"ended_at\": 1700000000.5}");
    assert_true(json_is_null(json_object_get(beta, "last_run")));
    assert_true(json_is_true(json_object_get(beta, "gap")));
    assert_true(json_is_false(json_object_get(alpha, "gap")));
    assert_true(json_is_null(json_object_get(alpha, "lock_holder")));
    assert_string_equal(json_string_value(json_object_get(eta, "lock_holder")),
                        "drover migrate pid 7 on h1");
    expect_json(json_object_get(doc, "summary"),
                "{\"tenants\": 7, \"current\": 1, \"behind\": 2, \"drifted\": 1, \"dirty\": 1,"
                " \"locked\": 1, \"unreachable\": 1, \"failed\": 0}");
    json_decref(doc);
}

static char *render_table(const ReportInput *in)
{
    Capture *c;
    FILE *out = capture_open(&c);
    report_status_table(out, in);
    return capture_close(out, c);
}

static void test_table_views(void **state)
{
    Fixture *f = *state;
    char *got = render_table(&f->in);
    const char *views =
        "\n\nENV   TENANTS  CURRENT   BEHIND  DRIFTED    DIRTY   LOCKED  UNREACHABLE\n"
        "dev         3        1        1        0        0        1            0\n"
        "prod        4        0        1        1        1        0            1\n"
        "\nlast applied migration (version skew):\n"
        "      4 tenants  " M3 "\n"
        "      1 tenant   (none applied)\n"
        "      1 tenant   " M1 "\n"
        "\ngaps (pending migrations older than the last applied one):\n"
        "  beta (dev): lacks " M2 "\n"
        "\n7 tenants: 1 current, 2 behind, 1 drifted, 1 dirty, 1 locked, 1 unreachable\n";
    const char *at = strstr(got, "\nENV ");
    assert_non_null(at);
    assert_string_equal(at - 1, views);
    assert_null(strchr(got, '\033'));
    assert_non_null(strstr(got, "\nalpha   dev   sqlite    current            3        0        0  "
                                M3 "\n"));
    free(got);
}

/* Colour marks the state words only, and keeps the columns aligned. */
static void test_table_colour(void **state)
{
    Fixture *f = *state;
    f->in.color = true;
    char *got = render_table(&f->in);
    assert_non_null(strstr(got, "\nalpha   dev   sqlite    \033[32mcurrent\033[0m            3  "));
    assert_non_null(strstr(got, "\nbeta    dev   postgres  \033[33mbehind\033[0m             2  "));
    assert_non_null(strstr(got, "\ndelta   prod  postgres  \033[31munreachable\033[0m        0  "));
    assert_non_null(strstr(got, "\nzeta    prod  postgres  \033[31mdirty\033[0m              1  "));
    size_t escapes = 0;
    for (const char *p = got; (p = strchr(p, '\033')); p++)
        escapes++;
    assert_int_equal(escapes, 2 * 7);
    free(got);
}

static void test_exit_code(void **state)
{
    Fixture *f = *state;
    assert_int_equal(report_status_exit_code(f->res, f->n), DROVER_EXIT_STATUS_FAILED);
    assert_int_equal(report_status_exit_code(f->res, 1), DROVER_EXIT_OK);   /* alpha */
    assert_int_equal(report_status_exit_code(f->res, 2), DROVER_EXIT_STATUS_BEHIND);    /* + beta */
    assert_int_equal(report_status_exit_code(&f->res[3], 1), DROVER_EXIT_STATUS_DRIFTED); /* gamma */
    assert_int_equal(report_status_exit_code(&f->res[2], 1), DROVER_EXIT_STATUS_FAILED);  /* locked */
}

/* ---- escaping ---------------------------------------------------------------------------- */

/* One unreachable tenant whose names and error carry what each format must escape. Real ids
 * and environment names are restricted by the inventory; the formats must not rely on it. */
static int setup_odd(void **state)
{
    static InvTenant odd = {.id = "a,b <&> 'x' \"y\" |*_", .env = "e\"v\\n\nx",
                            .url = {.dialect = DB_POSTGRES, .masked = URL}};
    static InvEnvironment env = {.name = "e\"v\\n\nx"};
    static const Inventory inv = {.envs = &env, .nenvs = 1};
    Fixture *f = xcalloc(1, sizeof *f);
    ExecResult *r = add(f, &odd, EXEC_STATE_UNREACHABLE, NULL);
    error_set(&r->error, ERR_CONNECT, "say \"hi\", then\nbye\x01 <now> & go");
    fleetview_build(&inv, &SET, f->res, f->n, &f->view);
    f->in = (ReportInput){.inv = &inv, .set = &SET, .res = f->res, .n = f->n,
                          .view = &f->view, .generated_at = 0};
    *state = f;
    return 0;
}

static void test_csv_quoting(void **state)
{
    Fixture *f = *state;
    char *got = render(report_status_csv, &f->in);
    const char *row = strstr(got, "\r\n") + 2;
    assert_string_equal(row, "\"a,b <&> 'x' \"\"y\"\" |*_\",\"e\"\"v\\n\nx\",postgres,unreachable,"
                             ",,,,,,,,\"say \"\"hi\"\", then\nbye\x01 <now> & go\"\r\n");
    free(got);
}

static void test_xml_escaping(void **state)
{
    Fixture *f = *state;
    expect_render(report_status_junit, &f->in,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<testsuites name=\"drover status\" tests=\"1\" failures=\"1\" errors=\"0\""
                  " skipped=\"0\">\n"
                  "  <testsuite name=\"e&quot;v\\n&#10;x\" tests=\"1\" failures=\"1\" errors=\"0\""
                  " skipped=\"0\">\n"
                  "    <properties>\n"
                  "      <property name=\"current\" value=\"0\"/>\n"
                  "      <property name=\"behind\" value=\"0\"/>\n"
                  "      <property name=\"drifted\" value=\"0\"/>\n"
                  "      <property name=\"dirty\" value=\"0\"/>\n"
                  "      <property name=\"locked\" value=\"0\"/>\n"
                  "      <property name=\"unreachable\" value=\"1\"/>\n"
                  "    </properties>\n"
                  "    <testcase classname=\"drover.e&quot;v\\n&#10;x\""
                  " name=\"a,b &lt;&amp;&gt; &apos;x&apos; &quot;y&quot; |*_\" time=\"0.000\">\n"
                  "      <failure type=\"unreachable\" message=\"unreachable: say &quot;hi&quot;,"
                  " then&#10;bye\xEF\xBF\xBD &lt;now&gt; &amp; go\">say \"hi\", then\n"
                  "bye\xEF\xBF\xBD &lt;now&gt; &amp; go\n</failure>\n"
                  "    </testcase>\n"
                  "  </testsuite>\n"
                  "</testsuites>\n");
}

static void test_prom_label_escaping(void **state)
{
    Fixture *f = *state;
    char *got = render(report_status_prom, &f->in);
    assert_non_null(
        strstr(got, "\ndrover_tenants{env=\"e\\\"v\\\\n\\nx\",state=\"unreachable\"} 1\n"));
    assert_non_null(strstr(got, "\ndrover_tenant_state{tenant=\"a,b <&> 'x' \\\"y\\\" |*_\","
                                "env=\"e\\\"v\\\\n\\nx\",state=\"unreachable\"} 1\n"));
    /* Every sample stays on one line: name{labels} value. */
    for (const char *line = got; *line; line = strchr(line, '\n') + 1)
        assert_true(line[0] == '#' || strncmp(line, "drover_", 7) == 0);
    free(got);
}

static void test_markdown_cells(void **state)
{
    Fixture *f = *state;
    char *got = render(report_status_markdown, &f->in);
    assert_non_null(strstr(got, "\n| a,b \\<&\\> 'x' \"y\" \\|\\*\\_ | e\"v\\\\n x | unreachable |"
                                " say \"hi\", then bye\x01 \\<now\\> & go |\n"));
    free(got);
}

#define FLEET_TEST(t) cmocka_unit_test_setup_teardown(t, setup_fleet, teardown_fixture)
#define ODD_TEST(t) cmocka_unit_test_setup_teardown(t, setup_odd, teardown_fixture)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FLEET_TEST(test_csv),          FLEET_TEST(test_junit),
        FLEET_TEST(test_prom),         FLEET_TEST(test_markdown),
        FLEET_TEST(test_json_views),   FLEET_TEST(test_table_views),
        FLEET_TEST(test_table_colour), FLEET_TEST(test_exit_code),
        ODD_TEST(test_csv_quoting),    ODD_TEST(test_xml_escaping),
        ODD_TEST(test_prom_label_escaping), ODD_TEST(test_markdown_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

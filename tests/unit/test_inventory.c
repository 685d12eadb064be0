/*
 * test_inventory.c — loading drover.cfg: a valid inventory with an @include, and one fixture
 * per kind of mistake, each checked for its exact message, file and line. Also ${VAR}
 * expansion, and that no secret from the environment reaches an error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drover/inventory.h"

#define INV_DIR TEST_DATA_DIR "/inventory"
#define EXAMPLE_DIR TEST_DATA_DIR "/../../conf"

static int set_test_env(void **state)
{
    (void)state;
    setenv("DROVER_TEST_REGION", "emea", 1);
    setenv("DROVER_TEST_ACME_PW", "p%40ss", 1);
    setenv("DROVER_TEST_BAD_PW", "topsecret", 1);
    setenv("DROVER_TEST_WHOLE_URL", "postgres://u:topsecret@h:0/db", 1);
    setenv("DROVER_TEST_WEBHOOK", "https://hooks.slack.example/services/T0/B0/topsecret", 1);
    setenv("DROVER_TEST_FTP_HOOK", "ftp://files.example:2121/topsecret", 1);
    unsetenv("DROVER_TEST_UNSET_PW");
    return 0;
}

/* ---- the valid inventory ---------------------------------------------------------------- */

static void test_valid_inventory(void **state)
{
    (void)state;
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(INV_DIR "/valid.cfg", &err);
    assert_non_null(inv);
    assert_false(error_is_set(&err));

    assert_string_equal(inv->config_path, INV_DIR "/valid.cfg");
    assert_string_equal(inv->config_dir, INV_DIR);
    assert_string_equal(inv->migrations_path, INV_DIR "/migrations");
    assert_string_equal(inv->meta_table, "SequelizeMeta");
    assert_string_equal(inv->meta_schema, "custom");

    assert_int_equal(inv->nenvs, 3);
    assert_string_equal(inv->envs[0].name, "dev");
    assert_string_equal(inv->envs[1].name, "staging");
    assert_string_equal(inv->envs[2].name, "prod");

    assert_int_equal(inv->ntenants, 4);
    const InvTenant *t = &inv->tenants[0];
    assert_string_equal(t->id, "local1");
    assert_string_equal(t->env, "dev");
    assert_int_equal(t->ntags, 0);
    assert_int_equal(t->url.dialect, DB_SQLITE);
    assert_string_equal(t->url.database, INV_DIR "/tenants/local1.db");
    assert_string_equal(t->file, INV_DIR "/valid.cfg");
    assert_int_equal(t->line, 5);

    t = &inv->tenants[1];
    assert_string_equal(t->id, "globex");
    assert_int_equal(t->url.dialect, DB_MYSQL);
    assert_string_equal(t->url.database, "globex");
    assert_int_equal(t->ntags, 2);
    assert_string_equal(t->tags[0], "us");
    assert_string_equal(t->tags[1], "emea");
    assert_int_equal(t->line, 6);

    t = &inv->tenants[2];
    assert_string_equal(t->id, "acme");
    assert_string_equal(t->env, "prod");
    assert_string_equal(t->file, INV_DIR "/prod.cfg");
    assert_int_equal(t->line, 2);
    assert_int_equal(t->url.dialect, DB_POSTGRES);
    assert_string_equal(t->url.password, "p@ss");
    assert_string_equal(t->url.masked,
                        "postgres://drover:***@127.0.0.1:5432/acme?sslmode=disable");
    assert_int_equal(t->ntags, 1);
    assert_string_equal(t->tags[0], "eu");

    t = &inv->tenants[3];
    assert_string_equal(t->id, "initech");
    assert_string_equal(t->url.host, "::1");
    assert_string_equal(t->url.schema, "t_initech");
    assert_int_equal(t->line, 3);
    inv_free(inv);
}

static void test_minimal_inventory_defaults(void **state)
{
    (void)state;
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(INV_DIR "/minimal.cfg", &err);
    assert_non_null(inv);
    assert_string_equal(inv->migrations_path, "/srv/migrations");
    assert_string_equal(inv->meta_table, "SequelizeMeta");
    assert_null(inv->meta_schema);
    assert_int_equal(inv->ntenants, 1);
    assert_string_equal(inv->tenants[0].url.database, "/var/lib/only.db");
    inv_free(inv);
    inv_free(NULL);
}

static void test_engine_settings(void **state)
{
    (void)state;
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(INV_DIR "/engine.cfg", &err);
    assert_non_null(inv);
    assert_string_equal(inv->journal_path, INV_DIR "/state/journal.db");
    const InvEngine *e = &inv->engine;
    assert_int_equal(e->parallel, 16);
    assert_int_equal(e->max_per_server, 2);
    assert_int_equal(e->lock_wait_ms, 90000);
    assert_int_equal(e->lock_timeout_ms, 1500);
    assert_int_equal(e->statement_timeout_ms, 20 * 60 * 1000);
    assert_int_equal(e->retries, 5);
    assert_int_equal(e->backoff_ms, 100);
    assert_int_equal(e->backoff_max_ms, 3000);
    assert_false(e->rollback_batch);
    const InvEnvironment *dev = &inv->envs[0], *prod = &inv->envs[1];
    assert_false(dev->canary.set);
    assert_int_equal(dev->lock_timeout_ms, -1);
    assert_int_equal(dev->statement_timeout_ms, -1);
    assert_false(dev->revert_on_failure);
    assert_true(prod->canary.set && prod->canary.percent);
    assert_int_equal(inv_count_resolve(&prod->canary, 25), 3); /* 10% of 25 rounds up */
    assert_int_equal(inv_count_resolve(&prod->max_failures, 25), 2);
    assert_int_equal(prod->lock_timeout_ms, 2000);
    assert_int_equal(prod->statement_timeout_ms, 90000); /* a bare number is seconds */
    assert_true(prod->revert_on_failure);
    inv_free(inv);
}

static void test_engine_defaults(void **state)
{
    (void)state;
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(INV_DIR "/minimal.cfg", &err);
    assert_non_null(inv);
    assert_string_equal(inv->journal_path, INV_DIR "/drover-journal.db");
    assert_int_equal(inv->engine.parallel, 8);
    assert_int_equal(inv->engine.max_per_server, 4);
    assert_int_equal(inv->engine.lock_wait_ms, 30000);
    assert_int_equal(inv->engine.retries, 3);
    assert_true(inv->engine.rollback_batch);
    InvCount none = {0};
    assert_int_equal(inv_count_resolve(&none, 10), 0);
    inv_free(inv);
}

/* The shipped example must stay a valid inventory. */
static void test_example_config_loads(void **state)
{
    (void)state;
    setenv("GLOBEX_DB_PASSWORD", "x", 1);
    setenv("HOOLI_DB_PASSWORD", "x", 1);
    setenv("ACME_DB_PASSWORD", "x", 1);
    setenv("SHARED_DB_PASSWORD", "x", 1);
    setenv("SLACK_WEBHOOK", "https://hooks.slack.com/services/T0/B0/x", 1);
    setenv("EU_WEST_AGENT_TOKEN", "x", 1);
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(EXAMPLE_DIR "/drover.example.cfg", &err);
    if (!inv)
        fail_msg("%s:%d: %s", err.file, err.line, err.message);
    assert_int_equal(inv->nenvs, 3);
    assert_int_equal(inv->ntenants, 8);
    assert_string_equal(inv->tenants[4].id, "wayne");
    assert_ptr_equal(inv->tenants[4].agent, &inv->agents[0]);
    assert_string_equal(inv->agents[0].ca, EXAMPLE_DIR "/certs/agents-ca.pem");
    assert_string_equal(inv->tenants[7].id, "umbrella");
    assert_string_equal(inv->tenants[7].file, EXAMPLE_DIR "/prod.example.cfg");
    assert_string_equal(inv->tenants[7].url.schema, "umbrella");
    assert_string_equal(inv->meta_schema, "public");
    assert_int_equal(inv->nnotify, 1);
    assert_true(inv->notify[0].slack);
    inv_free(inv);
}

/* ---- notify ---------------------------------------------------------------------------- */

static void test_notify_targets(void **state)
{
    (void)state;
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(INV_DIR "/notify.cfg", &err);
    assert_non_null(inv);
    assert_int_equal(inv->nnotify, 2);
    const InvNotify *slack = &inv->notify[0], *generic = &inv->notify[1];
    assert_string_equal(slack->url, "https://hooks.slack.example/services/T0/B0/topsecret");
    assert_string_equal(slack->masked, "https://hooks.slack.example/***");
    assert_true(slack->slack);
    assert_int_equal(slack->timeout_ms, 1500);
    assert_int_equal(slack->events.n, 3);
    assert_true(inv_notify_wants(slack, "tenant.failed"));
    assert_false(inv_notify_wants(slack, "run.started"));
    assert_false(inv_notify_wants(slack, "env.finished"));

    assert_string_equal(generic->masked, "http://127.0.0.1:8080/***");
    assert_false(generic->slack);
    assert_int_equal(generic->timeout_ms, 5000);
    assert_int_equal(generic->events.n, 6); /* all of them */
    for (size_t i = 0; inv_notify_events[i]; i++)
        assert_true(inv_notify_wants(generic, inv_notify_events[i]));
    inv_free(inv);

    inv = inv_load(INV_DIR "/minimal.cfg", &err);
    assert_non_null(inv);
    assert_int_equal(inv->nnotify, 0);
    inv_free(inv);
}

static void expect_mask(const char *url, const char *masked)
{
    char *got = inv_notify_mask_url(url);
    assert_string_equal(got, masked);
    free(got);
}

static void test_notify_mask_url(void **state)
{
    (void)state;
    expect_mask("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/***");
    expect_mask("http://user:pw@10.0.0.1:9000/hook?token=abc", "http://10.0.0.1:9000/***");
    expect_mask("https://[::1]:8443/x", "https://[::1]:8443/***");
    expect_mask("not a url with a secret", "***");
}

/* ---- one fixture per mistake ------------------------------------------------------------ */

typedef struct BadCase {
    const char *config;  /* fixture file name */
    const char *file;    /* expected err->file, relative to INV_DIR */
    int line;            /* expected err->line */
    const char *tenant;  /* expected err->tenant, or NULL */
    const char *message; /* expected err->message */
} BadCase;

static const BadCase SYNTAX_ERROR = {"syntax_error.cfg", "syntax_error.cfg", 4, NULL,
                                     "syntax error"};
static const BadCase INCLUDE_SYNTAX_ERROR = {"include_syntax_error.cfg", "broken.inc", 2, NULL,
                                             "syntax error"};
static const BadCase UNKNOWN_KEY = {"unknown_key.cfg", "unknown_key.cfg", 3, NULL,
                                    "unknown key 'port' (allowed: migrations, environments, "
                                    "tenants, defaults, journal, notify, agents, tenants_from, control)"};
static const BadCase UNKNOWN_TENANT_KEY = {
    "unknown_tenant_key.cfg", "unknown_tenant_key.cfg", 6, NULL,
    "unknown key 'host' in a 'tenants' entry (allowed: id, env, url, agent, tags)"};
static const BadCase UNKNOWN_MIGRATIONS_KEY = {
    "unknown_migrations_key.cfg", "unknown_migrations_key.cfg", 3, NULL,
    "unknown key 'storage' in 'migrations' (allowed: path, table, schema, node_modules, no_transaction)"};
static const BadCase DUPLICATE_ID = {
    "duplicate_id.cfg", "duplicate_id.cfg", 6, NULL,
    "duplicate tenant id 'acme' (first declared at " INV_DIR "/duplicate_id.cfg:4)"};
static const BadCase DUPLICATE_ENV = {
    "duplicate_env.cfg", "duplicate_env.cfg", 5, NULL,
    "duplicate environment 'dev' (first declared at " INV_DIR "/duplicate_env.cfg:3)"};
static const BadCase UNDECLARED_ENV = {"undeclared_env.cfg", "undeclared_env.cfg", 5, "x",
                                       "environment 'qa' is not declared in 'environments'"};
static const BadCase BAD_URL = {
    "bad_url.cfg", "bad_url.cfg", 5, "acme",
    "invalid url 'postgres://app:***@db.example:99999/app': port must be a number from 1 to "
    "65535"};
static const BadCase SECRET_IN_VAR = {"secret_in_var.cfg", "secret_in_var.cfg", 4, "acme",
                                      "invalid url '${DROVER_TEST_WHOLE_URL}': port must be a "
                                      "number from 1 to 65535"};
static const BadCase UNSET_VAR = {"unset_var.cfg", "unset_var.cfg", 5, "acme",
                                  "environment variable 'DROVER_TEST_UNSET_PW' is not set"};
static const BadCase WRONG_TYPE = {"wrong_type.cfg", "wrong_type.cfg", 3, NULL,
                                   "'tenants' must be a list of groups"};
static const BadCase WRONG_TYPE_URL = {"wrong_type_url.cfg", "wrong_type_url.cfg", 4, "a",
                                       "'url' must be a string"};
static const BadCase WRONG_TYPE_TAGS = {"wrong_type_tags.cfg", "wrong_type_tags.cfg", 4, "a",
                                        "'tags' must be a list of strings"};
static const BadCase MISSING_PATH = {"missing_path.cfg", "missing_path.cfg", 1, NULL,
                                     "missing required key 'path' in 'migrations'"};
static const BadCase MISSING_TENANTS = {"missing_tenants.cfg", "missing_tenants.cfg", 0, NULL,
                                        "missing required key 'tenants'"};
static const BadCase MISSING_URL = {"missing_url.cfg", "missing_url.cfg", 4, "a",
                                    "missing required key 'url' (or 'agent')"};
static const BadCase EMPTY_TENANTS = {"empty_tenants.cfg", "empty_tenants.cfg", 3, NULL,
                                      "'tenants' must declare at least one tenant"};
static const BadCase BAD_DURATION = {
    "bad_duration.cfg", "bad_duration.cfg", 3, NULL,
    "'defaults.lock_wait' must be a duration such as 500ms, 2s or 1m (at most one day)"};
static const BadCase BAD_CANARY = {
    "bad_canary.cfg", "bad_canary.cfg", 3, NULL,
    "'canary' must be a number of tenants (2) or a percentage (\"10%\")"};
static const BadCase BAD_PARALLEL = {"bad_rollback.cfg", "bad_rollback.cfg", 2, NULL,
                                     "'defaults.parallel' must be a whole number from 1 to 256"};
static const BadCase BAD_ID = {
    "bad_id.cfg", "bad_id.cfg", 4, NULL,
    "tenant id '../etc' may contain only letters, digits, '.', '_' and '-'"};

static const BadCase NOTIFY_BAD_EVENT = {
    "notify_bad_event.cfg", "notify_bad_event.cfg", 6, NULL,
    "unknown event 'run.failed' in 'notify.events' (known: run.started, env.started, "
    "env.finished, tenant.failed, run.halted, run.finished)"};
static const BadCase NOTIFY_BAD_FORMAT = {"notify_bad_format.cfg", "notify_bad_format.cfg", 4,
                                          NULL,
                                          "'notify.format' must be one of \"json\", \"slack\""};
static const BadCase NOTIFY_BAD_SCHEME = {
    "notify_bad_scheme.cfg", "notify_bad_scheme.cfg", 5, NULL,
    "'notify.url' must be an http:// or https:// url (got 'ftp://files.example:2121/***')"};
static const BadCase NOTIFY_MISSING_URL = {"notify_missing_url.cfg", "notify_missing_url.cfg",
                                           4, NULL,
                                           "missing required key 'url' in a 'notify' entry"};
static const BadCase NOTIFY_BAD_TIMEOUT = {"notify_bad_timeout.cfg", "notify_bad_timeout.cfg",
                                           4, NULL, "'notify.timeout' must be above zero"};

static const BadCase AGENT_WITH_URL = {
    "agent_with_url.cfg", "agent_with_url.cfg", 6, "remote",
    "a tenant served by agent 'eu' must have no 'url' (the agent holds its credentials)"};
static const BadCase AGENT_UNKNOWN = {"agent_unknown.cfg", "agent_unknown.cfg", 5, "remote",
                                      "agent 'us' is not declared in 'agents'"};
static const BadCase AGENT_DUPLICATE = {"agent_duplicate.cfg", "agent_duplicate.cfg", 5, NULL,
                                        "duplicate agent 'eu' (first declared at " INV_DIR
                                        "/agent_duplicate.cfg:4)"};
static const BadCase AGENT_NO_TOKEN = {"agent_no_token.cfg", "agent_no_token.cfg", 4, NULL,
                                       "missing required key 'token' in an 'agents' entry"};
static const BadCase AGENT_BAD_URL = {
    "agent_bad_url.cfg", "agent_bad_url.cfg", 4, NULL,
    "'agents.url' must not carry a user or password (the token goes in 'token')"};
static const BadCase AGENT_BAD_SCHEME = {
    "agent_bad_scheme.cfg", "agent_bad_scheme.cfg", 4, NULL,
    "'agents.url' must be an http:// or https:// url (got 'ftp://a.example')"};

static void test_bad_config(void **state)
{
    const BadCase *c = *state;
    char *path = xasprintf("%s/%s", INV_DIR, c->config);
    char *file = xasprintf("%s/%s", INV_DIR, c->file);
    DroverError err = DROVER_ERROR_INIT;
    assert_null(inv_load(path, &err));
    assert_int_equal(err.kind, ERR_CONFIG);
    assert_string_equal(err.message, c->message);
    assert_string_equal(err.file, file);
    assert_int_equal(err.line, c->line);
    if (c->tenant)
        assert_string_equal(err.tenant, c->tenant);
    else
        assert_null(err.tenant);
    char *text = error_format(&err);
    assert_null(strstr(text, "topsecret"));
    free(text);
    error_clear(&err);
    free(file);
    free(path);
}

static void test_unset_var_formatted(void **state)
{
    (void)state;
    DroverError err = DROVER_ERROR_INIT;
    assert_null(inv_load(INV_DIR "/unset_var.cfg", &err));
    char *text = error_format(&err);
    assert_string_equal(text, INV_DIR "/unset_var.cfg:5: tenant 'acme': environment variable "
                              "'DROVER_TEST_UNSET_PW' is not set");
    free(text);
    error_clear(&err);
}

static void test_missing_file(void **state)
{
    (void)state;
    DroverError err = DROVER_ERROR_INIT;
    assert_null(inv_load(INV_DIR "/does-not-exist.cfg", &err));
    assert_int_equal(err.kind, ERR_CONFIG);
    assert_string_equal(err.message, "cannot read the inventory: No such file or directory");
    assert_string_equal(err.file, INV_DIR "/does-not-exist.cfg");
    assert_int_equal(err.line, 0);
    error_clear(&err);
}

/* ---- agents ---------------------------------------------------------------------------- */

static void test_agents(void **state)
{
    (void)state;
    setenv("DROVER_TEST_AGENT_TOKEN", "s3cret-token", 1);
    DroverError err = DROVER_ERROR_INIT;
    Inventory *inv = inv_load(INV_DIR "/agents.cfg", &err);
    assert_non_null(inv);
    assert_int_equal(inv->nagents, 2);
    const InvAgent *eu = &inv->agents[0];
    assert_string_equal(eu->name, "eu-west");
    assert_string_equal(eu->url, "https://agent.eu.example:8443"); /* trailing '/' dropped */
    assert_string_equal(eu->token, "s3cret-token");
    assert_string_equal(eu->ca, INV_DIR "/certs/ca.pem");
    assert_int_equal(eu->timeout_ms, 5000);
    assert_int_equal(eu->line, 4);
    const InvAgent *us = &inv->agents[1];
    assert_null(us->ca);
    assert_int_equal(us->timeout_ms, 30000);
    assert_ptr_equal(inv_agent(inv, "us"), us);
    assert_null(inv_agent(inv, "nope"));
    assert_null(inv->tenants[0].agent);
    const InvTenant *remote = &inv->tenants[1];
    assert_ptr_equal(remote->agent, eu);
    assert_string_equal(remote->url.masked, "agent:eu-west");
    assert_null(remote->url.host);
    assert_true(inv_tenant_has_tag(remote, "canary"));
    inv_free(inv);
}

/* ---- ${VAR} expansion ------------------------------------------------------------------- */

static void expect_expansion(const char *text, const char *expected)
{
    DroverError err = DROVER_ERROR_INIT;
    char *got = inv_expand_env(text, &err);
    assert_non_null(got);
    assert_string_equal(got, expected);
    free(got);
}

static void expect_expansion_error(const char *text, const char *message)
{
    DroverError err = DROVER_ERROR_INIT;
    assert_null(inv_expand_env(text, &err));
    assert_int_equal(err.kind, ERR_CONFIG);
    assert_string_equal(err.message, message);
    error_clear(&err);
}

static void test_expand_env(void **state)
{
    (void)state;
    setenv("DROVER_T_A", "one", 1);
    setenv("DROVER_T_B", "", 1);
    expect_expansion("plain", "plain");
    expect_expansion("", "");
    expect_expansion("${DROVER_T_A}", "one");
    expect_expansion("x${DROVER_T_A}-${DROVER_T_A}y", "xone-oney");
    expect_expansion("[${DROVER_T_B}]", "[]");
    expect_expansion("$DROVER_T_A $$ a$", "$DROVER_T_A $$ a$");
    expect_expansion("$${DROVER_T_A}", "$one");
}

static void test_expand_env_errors(void **state)
{
    (void)state;
    unsetenv("DROVER_T_UNSET");
    expect_expansion_error("a${DROVER_T_UNSET}b", "environment variable 'DROVER_T_UNSET' is not set");
    expect_expansion_error("pw=${DROVER_T_A", "unterminated '${' (missing '}')");
    expect_expansion_error("${}", "invalid environment variable name ''");
    expect_expansion_error("${1ABC}", "invalid environment variable name '1ABC'");
    expect_expansion_error("${A-B}", "invalid environment variable name 'A-B'");
}

#define BAD(c) {"bad config: " #c, test_bad_config, NULL, NULL, (void *)&(c)}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_inventory),
        cmocka_unit_test(test_minimal_inventory_defaults),
        cmocka_unit_test(test_engine_settings),
        cmocka_unit_test(test_engine_defaults),
        cmocka_unit_test(test_example_config_loads),
        BAD(SYNTAX_ERROR),
        BAD(INCLUDE_SYNTAX_ERROR),
        BAD(UNKNOWN_KEY),
        BAD(UNKNOWN_TENANT_KEY),
        BAD(UNKNOWN_MIGRATIONS_KEY),
        BAD(DUPLICATE_ID),
        BAD(DUPLICATE_ENV),
        BAD(UNDECLARED_ENV),
        BAD(BAD_URL),
        BAD(SECRET_IN_VAR),
        BAD(UNSET_VAR),
        BAD(AGENT_WITH_URL),
        BAD(AGENT_UNKNOWN),
        BAD(AGENT_DUPLICATE),
        BAD(AGENT_NO_TOKEN),
        BAD(AGENT_BAD_URL),
        BAD(AGENT_BAD_SCHEME),
        cmocka_unit_test(test_agents),
        BAD(WRONG_TYPE),
        BAD(WRONG_TYPE_URL),
        BAD(WRONG_TYPE_TAGS),
        BAD(MISSING_PATH),
        BAD(MISSING_TENANTS),
        BAD(MISSING_URL),
        BAD(EMPTY_TENANTS),
        BAD(BAD_ID),
        BAD(BAD_DURATION),
        BAD(BAD_CANARY),
        BAD(BAD_PARALLEL),
        BAD(NOTIFY_BAD_EVENT),
        BAD(NOTIFY_BAD_FORMAT),
        BAD(NOTIFY_BAD_SCHEME),
        BAD(NOTIFY_MISSING_URL),
        BAD(NOTIFY_BAD_TIMEOUT),
        cmocka_unit_test(test_notify_targets),
        cmocka_unit_test(test_notify_mask_url),
        cmocka_unit_test(test_unset_var_formatted),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_expand_env),
        cmocka_unit_test(test_expand_env_errors),
    };
    return cmocka_run_group_tests(tests, set_test_env, NULL);
}

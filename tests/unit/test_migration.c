/*
 * test_migration.c — discovery (pattern, order, symlinks), dbmate parsing with its exact
 * errors, name lookup, mig_new, and that the demo set under conf/demo parses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "drover/migration.h"
#include "drover/util.h"

#define MIG_DATA TEST_DATA_DIR "/migrations"

static void assert_input_error(const DroverError *err, const char *file, int line,
                               const char *message)
{
    assert_int_equal(err->kind, ERR_INPUT);
    assert_string_equal(err->message, message);
    assert_string_equal(err->file, file);
    assert_int_equal(err->line, line);
}

static void test_discover_pattern_and_order(void **state)
{
    (void)state;
    static const char *const expected[] = {
        "1-Zeta.js",
        "1-alpha.js",
        "20240101000001-create-users.sql",
        "20240101000002-add-index.sql",
        "20240101000003-js.js",
        "20240101000004-x.cjs",
        "20240101000004-x.js",
        "20240101000005-y.ts",
        "20240101000006-z.cts",
        "20240101000010-link.sql",
        "20240101000011-irreversible.sql",
        "20240101000012-no-down.sql",
        "20240101000013-crlf.sql",
    };
    size_t n = sizeof expected / sizeof *expected;
    MigSet set;
    DroverError err = DROVER_ERROR_INIT;
    assert_true(mig_discover(MIG_DATA "/valid", &set, &err));
    assert_false(error_is_set(&err));
    assert_string_equal(set.dir, MIG_DATA "/valid");
    assert_int_equal(set.n, n);
    for (size_t i = 0; i < n; i++) {
        const Migration *m = &set.items[i];
        assert_string_equal(m->name, expected[i]);
        char *path = xasprintf("%s/%s", MIG_DATA "/valid", expected[i]);
        assert_string_equal(m->path, path);
        free(path);
        bool sql = strstr(expected[i], ".sql") != NULL;
        assert_int_equal(m->kind, sql ? MIG_SQL : MIG_JS);
        if (!sql) {
            assert_null(m->up.sql);
            assert_null(m->down.sql);
        }
    }
    mig_set_free(&set);
    assert_int_equal(set.n, 0);
    assert_null(set.items);
}

static const Migration *find(const MigSet *set, const char *name)
{
    ssize_t i = mig_find(set, name);
    assert_true(i >= 0);
    return &set->items[i];
}

static void test_discover_parses_sections(void **state)
{
    (void)state;
    MigSet set;
    DroverError err = DROVER_ERROR_INIT;
    assert_true(mig_discover(MIG_DATA "/valid", &set, &err));

    const Migration *m = find(&set, "20240101000001-create-users.sql");
    assert_string_equal(m->up.sql, "CREATE TABLE users (\n"
                                   "    id INTEGER PRIMARY KEY,\n"
                                   "    email VARCHAR(255) NOT NULL\n"
                                   ");\n"
                                   "INSERT INTO users (id, email) VALUES (1, 'a@x.io');\n"
                                   "\n");
    assert_int_equal(m->up.line, 4);
    assert_true(m->up.transaction);
    assert_string_equal(m->down.sql, "DROP TABLE users;\n");
    assert_int_equal(m->down.line, 11);
    assert_true(m->down.transaction);

    m = find(&set, "20240101000002-add-index.sql");
    assert_string_equal(m->up.sql, "CREATE INDEX users_email ON users (email);\n");
    assert_false(m->up.transaction);
    assert_int_equal(m->up.line, 1);
    assert_true(m->down.transaction);
    assert_int_equal(m->down.line, 3);

    m = find(&set, "20240101000010-link.sql");
    assert_string_equal(m->up.sql, "CREATE TABLE linked (id INTEGER);\n");
    assert_string_equal(m->down.sql, "DROP TABLE linked;\n");

    m = find(&set, "20240101000011-irreversible.sql");
    assert_non_null(m->down.sql);
    assert_true(mig_section_is_empty(&m->down));
    assert_false(mig_section_is_empty(&m->up));

    m = find(&set, "20240101000012-no-down.sql");
    assert_null(m->down.sql);
    assert_int_equal(m->down.line, 0);
    assert_true(mig_section_is_empty(&m->down));

    m = find(&set, "20240101000013-crlf.sql");
    assert_string_equal(m->up.sql, "CREATE TABLE crlf (id INTEGER);\r\n");
    assert_string_equal(m->down.sql, "DROP TABLE crlf;\r\n");
    mig_set_free(&set);
}

typedef struct BadFile {
    const char *name;
    int line;
    const char *message;
} BadFile;

static void test_bad_files(void **state)
{
    (void)state;
    static const BadFile bad[] = {
        {"01-missing-up.sql", 0, "missing '-- migrate:up' section"},
        {"02-statement-before-up.sql", 3, "statement before '-- migrate:up'"},
        {"03-duplicate-up.sql", 3, "duplicate '-- migrate:up' marker"},
        {"04-duplicate-down.sql", 5, "duplicate '-- migrate:down' marker"},
        {"05-down-before-up.sql", 2, "'-- migrate:down' before '-- migrate:up'"},
        {"06-unknown-option.sql", 3, "unknown option 'foo:bar' on '-- migrate:down'"},
        {"07-empty-up.sql", 1, "empty '-- migrate:up' section"},
        {"08-indented-marker.sql", 3, "'-- migrate:down' must start at column 1"},
        {"09-unknown-marker.sql", 3, "unknown marker '-- migrate:donw'"},
        {"10-invalid-utf8.sql", 2, "file is not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *path = xasprintf("%s/bad/%s", MIG_DATA, bad[i].name);
        char *text = file_read_all(path, NULL);
        assert_non_null(text);
        Migration m = {0};
        DroverError err = DROVER_ERROR_INIT;
        assert_false(mig_parse_sql(path, text, &m, &err));
        assert_input_error(&err, path, bad[i].line, bad[i].message);
        assert_null(m.up.sql);
        assert_null(m.down.sql);
        error_clear(&err);
        free(text);
        free(path);
    }
}

static void test_discover_stops_at_first_bad_file(void **state)
{
    (void)state;
    MigSet set;
    DroverError err = DROVER_ERROR_INIT;
    assert_false(mig_discover(MIG_DATA "/bad", &set, &err));
    assert_input_error(&err, MIG_DATA "/bad/01-missing-up.sql", 0,
                       "missing '-- migrate:up' section");
    char *text = error_format(&err);
    assert_string_equal(text, MIG_DATA "/bad/01-missing-up.sql: missing '-- migrate:up' section");
    free(text);
    error_clear(&err);
    mig_set_free(&set);
}

/* A directory named like a migration is refused, never silently left out of the set. */
static void test_discover_directory_entry(void **state)
{
    (void)state;
    MigSet set;
    DroverError err = DROVER_ERROR_INIT;
    assert_false(mig_discover(MIG_DATA "/dir_entry", &set, &err));
    assert_int_equal(err.kind, ERR_INPUT);
    assert_string_equal(err.message, "'" MIG_DATA "/dir_entry/20240101000001-nested.sql' is named "
                                     "like a migration but is not a regular file");
    error_clear(&err);
    mig_set_free(&set);
}

static void test_discover_nul_byte(void **state)
{
    (void)state;
    MigSet set;
    DroverError err = DROVER_ERROR_INIT;
    assert_false(mig_discover(MIG_DATA "/bad-nul", &set, &err));
    assert_input_error(&err, MIG_DATA "/bad-nul/20240101000001-nul.sql", 3,
                       "file contains a NUL byte");
    error_clear(&err);
    mig_set_free(&set);
}

static void test_discover_missing_dir(void **state)
{
    (void)state;
    MigSet set;
    DroverError err = DROVER_ERROR_INIT;
    assert_false(mig_discover(MIG_DATA "/nope", &set, &err));
    assert_int_equal(err.kind, ERR_IO);
    assert_string_equal(err.message, "cannot read migrations directory '" MIG_DATA
                                     "/nope': No such file or directory");
    assert_non_null(err.hint);
    assert_int_equal(set.n, 0);
    error_clear(&err);
    mig_set_free(&set);
}

/* parse_ok parses text that must be valid; the caller frees the sections. */
static void parse_ok(const char *text, Migration *m)
{
    DroverError err = DROVER_ERROR_INIT;
    memset(m, 0, sizeof *m);
    bool ok = mig_parse_sql("t.sql", text, m, &err);
    if (!ok)
        fail_msg("unexpected error: %s", err.message);
    error_clear(&err);
}

static void parse_bad(const char *text, int line, const char *message)
{
    Migration m = {0};
    DroverError err = DROVER_ERROR_INIT;
    assert_false(mig_parse_sql("t.sql", text, &m, &err));
    assert_input_error(&err, "t.sql", line, message);
    error_clear(&err);
}

static void free_sections(Migration *m)
{
    free(m->up.sql);
    free(m->down.sql);
    free(m->check.sql);
    m->up.sql = m->down.sql = m->check.sql = NULL;
}

static void test_parse_marker_forms(void **state)
{
    (void)state;
    Migration m;
    /* dbmate accepts no space after "--"; trailing blanks are not options. */
    parse_ok("--migrate:up \t\nSELECT 1;\n--  migrate:down\t\nSELECT 2;", &m);
    assert_string_equal(m.up.sql, "SELECT 1;\n");
    assert_string_equal(m.down.sql, "SELECT 2;");
    assert_int_equal(m.down.line, 3);
    free_sections(&m);

    /* A marker on the last line without a newline gives an empty section. */
    parse_ok("/* header\n   spanning lines */\n"
             "-- migrate:up transaction:false transaction:true\nSELECT 1;\n-- migrate:down",
             &m);
    assert_int_equal(m.up.line, 3);
    assert_true(m.up.transaction);
    assert_string_equal(m.down.sql, "");
    assert_int_equal(m.down.line, 5);
    assert_true(mig_section_is_empty(&m.down));
    free_sections(&m);

    /* A comment that merely mentions migrate: is a comment. */
    parse_ok("-- migrate:up\n-- migrate: see the wiki\nSELECT 'caf\xc3\xa9 \xf0\x9f\x98\x80';\n",
             &m);
    assert_null(m.down.sql);
    free_sections(&m);

    parse_bad("-- migrate: up\nSELECT 1;\n", 0, "missing '-- migrate:up' section");
    parse_bad("-- migrate:upgrade\nSELECT 1;\n", 1, "unknown marker '-- migrate:upgrade'");
    parse_bad("\t-- migrate:up\nSELECT 1;\n", 1, "'-- migrate:up' must start at column 1");
    parse_bad("-- migrate:up transaction:FALSE\nSELECT 1;\n", 1,
              "unknown option 'transaction:FALSE' on '-- migrate:up'");
    parse_bad("-- migrate:up", 1, "empty '-- migrate:up' section");
    parse_bad("SELECT 1; -- migrate:up\n", 0, "missing '-- migrate:up' section");
    parse_bad("-- migrate:up\nSELECT '\xc0\xaf';\n", 2, "file is not valid UTF-8");
    parse_bad("-- migrate:up\n\nSELECT '\xed\xa0\x80';\n", 3, "file is not valid UTF-8");
    parse_bad("-- migrate:up\nSELECT '\xe2\x82';\n", 2, "file is not valid UTF-8");
}

/* The pre-check section: before or after up, one query, its own lines only. */
static void test_check_section(void **state)
{
    (void)state;
    Migration m = {0};
    parse_ok("-- a header\n-- migrate:check\nSELECT 1 FROM t WHERE x IS NULL LIMIT 1;\n"
             "-- migrate:up\nALTER TABLE t ALTER x SET NOT NULL;\n"
             "-- migrate:down\nALTER TABLE t ALTER x DROP NOT NULL;\n",
             &m);
    assert_int_equal(m.check.line, 2);
    assert_string_equal(m.check.sql, "SELECT 1 FROM t WHERE x IS NULL LIMIT 1");
    assert_string_equal(m.up.sql, "ALTER TABLE t ALTER x SET NOT NULL;\n");
    assert_string_equal(m.down.sql, "ALTER TABLE t ALTER x DROP NOT NULL;\n");
    free_sections(&m);

    parse_ok("-- migrate:up\nSELECT 1;\n-- migrate:check\n-- none left\nSELECT count(*) = 0 FROM t;\n"
             "-- migrate:down\nSELECT 2;\n",
             &m);
    assert_string_equal(m.up.sql, "SELECT 1;\n");
    assert_string_equal(m.check.sql, "SELECT count(*) = 0 FROM t");
    assert_int_equal(m.check.line, 3);
    assert_string_equal(m.down.sql, "SELECT 2;\n");
    free_sections(&m);

    parse_ok("-- migrate:up\nSELECT 1;\n", &m);
    assert_null(m.check.sql);
    assert_int_equal(m.check.line, 0);
    free_sections(&m);

    parse_bad("SELECT 0;\n-- migrate:check\nSELECT 1;\n-- migrate:up\nSELECT 1;\n", 1,
              "statement before '-- migrate:check'");
    parse_bad("-- migrate:check\n-- migrate:up\nSELECT 1;\n", 1,
              "empty '-- migrate:check' section");
    parse_bad("-- migrate:check\nSELECT 1; SELECT 2;\n-- migrate:up\nSELECT 1;\n", 1,
              "'-- migrate:check' holds 2 statements; it must be one query");
    parse_bad("-- migrate:check transaction:false\nSELECT 1;\n-- migrate:up\nSELECT 1;\n", 1,
              "'-- migrate:check' takes no option ('transaction:false')");
    parse_bad("-- migrate:up\nSELECT 1;\n-- migrate:check\nSELECT 1;\n-- migrate:check\nSELECT 2;\n",
              5, "duplicate '-- migrate:check' marker");
}

/* A SQLite trigger's BEGIN ... END body is no transaction control; a COMMIT after it is. */
static void test_trigger_bodies(void **state)
{
    (void)state;
    Migration m = {0};
    parse_ok("-- migrate:up\nCREATE TABLE t (id int, email text);\n"
             "CREATE TRIGGER t_email BEFORE INSERT ON t WHEN NEW.email IS NULL\n"
             "BEGIN\n  SELECT RAISE(ABORT, 'email is required');\n  UPDATE t SET id = id;\nEND;\n"
             "CREATE TEMP TRIGGER t_log AFTER DELETE ON t BEGIN DELETE FROM t WHERE id < 0; END;\n"
             "-- migrate:down\nDROP TRIGGER t_email;\n",
             &m);
    free_sections(&m);
    parse_bad("-- migrate:up\nCREATE TRIGGER a AFTER INSERT ON t BEGIN SELECT 1; END;\nCOMMIT;\n",
              3, "'COMMIT' in the '-- migrate:up' section, which drover runs in a transaction of its own");
    parse_bad("-- migrate:up\nCREATE TABLE begin_end (id int);\nEND;\n", 3,
              "'END' in the '-- migrate:up' section, which drover runs in a transaction of its own");
}

static void test_section_is_empty(void **state)
{
    (void)state;
    assert_true(mig_section_is_empty(NULL));
    MigSection s = {.sql = NULL};
    assert_true(mig_section_is_empty(&s));
    static const char *const empty[] = {"", " \t\r\n", "-- a\n  -- b", "/* a */\n/* b\n c */",
                                        "/* unterminated"};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        s.sql = (char *)empty[i];
        assert_true(mig_section_is_empty(&s));
    }
    static const char *const not_empty[] = {"SELECT 1", "-- a\nSELECT 1;", "/* a */;",
                                            "/* /* nested */ */", "- 1"};
    for (size_t i = 0; i < sizeof not_empty / sizeof *not_empty; i++) {
        s.sql = (char *)not_empty[i];
        assert_false(mig_section_is_empty(&s));
    }
}

static void test_find_and_stem(void **state)
{
    (void)state;
    MigSet set;
    DroverError err = DROVER_ERROR_INIT;
    assert_true(mig_discover(MIG_DATA "/valid", &set, &err));
    assert_int_equal(mig_find(&set, "20240101000003-js.js"), 4);
    assert_int_equal(mig_find(&set, "20240101000003-js"), 4);
    assert_int_equal(mig_find(&set, "1-Zeta"), 0);
    assert_int_equal(mig_find(&set, "20240101000004-x.js"), 6);
    assert_int_equal(mig_find(&set, "20240101000004-x"), -1); /* .cjs and .js: ambiguous */
    assert_int_equal(mig_find(&set, "20240101000003"), -1);   /* no prefix matching */
    assert_int_equal(mig_find(&set, "20240101000003-js.sql"), -1);
    assert_int_equal(mig_find(&set, ""), -1);
    mig_set_free(&set);

    assert_int_equal(mig_stem_len("a.sql"), 1);
    assert_int_equal(mig_stem_len("a.js"), 1);
    assert_int_equal(mig_stem_len("a.cjs"), 1);
    assert_int_equal(mig_stem_len("a.ts"), 1);
    assert_int_equal(mig_stem_len("a.cts"), 1);
    assert_int_equal(mig_stem_len("a.d.ts"), 3);
    assert_int_equal(mig_stem_len("a.mjs"), 5);
    assert_int_equal(mig_stem_len("a"), 1);
    assert_int_equal(mig_stem_len(".sql"), 4);
}

/* A temporary directory removed with everything in it (flat) by remove_tmpdir. */
static char *make_tmpdir(void)
{
    char *dir = xstrdup("/tmp/drover-test-migration.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_tmpdir(char *dir, const char *const *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *path = path_join(dir, files[i]);
        unlink(path);
        free(path);
    }
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

static char *stamp_at(time_t t)
{
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    char buf[32];
    assert_int_equal(strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm), 14);
    return xstrdup(buf);
}

/* check_new_name asserts path is DIR/STAMP-NAME.EXT with STAMP between before and after. */
static void check_new_name(const char *dir, const char *path, time_t before, time_t after,
                           const char *rest)
{
    char *dirname = path_dirname(path);
    assert_string_equal(dirname, dir);
    free(dirname);
    const char *base = path_basename(path);
    assert_int_equal(strlen(base), 14 + strlen(rest));
    assert_string_equal(base + 14, rest);
    bool stamp_ok = false;
    for (time_t t = before; t <= after; t++) {
        char *stamp = stamp_at(t);
        stamp_ok = stamp_ok || strncmp(base, stamp, 14) == 0;
        free(stamp);
    }
    assert_true(stamp_ok);
}

static void test_new_sql_and_js(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    DroverError err = DROVER_ERROR_INIT;
    char *sql_path, *js_path;
    time_t before = time(NULL);
    assert_true(mig_new(dir, "create-users", false, &sql_path, &err));
    assert_true(mig_new(dir, "seed-users", true, &js_path, &err));
    time_t after = time(NULL);
    check_new_name(dir, sql_path, before, after, "-create-users.sql");
    check_new_name(dir, js_path, before, after, "-seed-users.js");

    char *text = file_read_all(sql_path, NULL);
    assert_string_equal(text, "-- migrate:up\n\n\n-- migrate:down\n\n");
    free(text);
    text = file_read_all(js_path, NULL);
    assert_string_equal(text, "'use strict';\n"
                              "\n"
                              "/** @type {import('sequelize-cli').Migration} */\n"
                              "module.exports = {\n"
                              "  async up (queryInterface, Sequelize) {\n"
                              "    /**\n"
                              "     * Add altering commands here.\n"
                              "     *\n"
                              "     * Example:\n"
                              "     * await queryInterface.createTable('users', { id: "
                              "Sequelize.INTEGER });\n"
                              "     */\n"
                              "  },\n"
                              "\n"
                              "  async down (queryInterface, Sequelize) {\n"
                              "    /**\n"
                              "     * Add reverting commands here.\n"
                              "     *\n"
                              "     * Example:\n"
                              "     * await queryInterface.dropTable('users');\n"
                              "     */\n"
                              "  }\n"
                              "};\n");
    free(text);

    /* Until someone writes its up section, a generated .sql file is refused. */
    MigSet set;
    assert_false(mig_discover(dir, &set, &err));
    assert_input_error(&err, sql_path, 1, "empty '-- migrate:up' section");
    error_clear(&err);
    mig_set_free(&set);

    char *names[] = {xstrdup(path_basename(sql_path)), xstrdup(path_basename(js_path))};
    free(sql_path);
    free(js_path);
    remove_tmpdir(dir, (const char *const *)names, 2);
    free(names[0]);
    free(names[1]);
}

static void new_refused(const char *dir, const char *name, DroverErrorKind kind,
                        const char *message)
{
    DroverError err = DROVER_ERROR_INIT;
    char *path = (char *)"untouched";
    assert_false(mig_new(dir, name, false, &path, &err));
    assert_null(path);
    assert_int_equal(err.kind, kind);
    assert_string_equal(err.message, message);
    error_clear(&err);
}

static void test_new_refusals(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    new_refused(dir, "", ERR_USAGE, "migration name is empty");
    new_refused(dir, "a/b", ERR_USAGE, "migration name 'a/b' contains '/'");
    new_refused(dir, ".x", ERR_USAGE, "migration name '.x' starts with '.'");
    char *missing = path_join(dir, "missing");
    char *message = xasprintf("cannot use migrations directory '%s': No such file or directory",
                              missing);
    new_refused(missing, "x", ERR_IO, message);
    free(message);
    free(missing);

    /* Occupy the names mig_new can pick in the next seconds: it must not overwrite them. */
    time_t now = time(NULL);
    char *taken[3];
    for (int i = 0; i < 3; i++) {
        char *stamp = stamp_at(now + i);
        taken[i] = xasprintf("%s-dup.sql", stamp);
        free(stamp);
        char *path = path_join(dir, taken[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("keep\n", f);
        fclose(f);
        free(path);
    }
    DroverError err = DROVER_ERROR_INIT;
    char *path;
    assert_false(mig_new(dir, "dup", false, &path, &err));
    assert_int_equal(err.kind, ERR_IO);
    assert_non_null(strstr(err.message, "-dup.sql': File exists"));
    assert_int_equal(strncmp(err.message, "cannot create migration file '", 30), 0);
    error_clear(&err);
    char *kept = path_join(dir, taken[0]);
    char *text = file_read_all(kept, NULL);
    assert_string_equal(text, "keep\n");
    free(text);
    free(kept);
    remove_tmpdir(dir, (const char *const *)taken, 3);
    for (int i = 0; i < 3; i++)
        free(taken[i]);
}

static void test_discover_dangling_symlink(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char *link = path_join(dir, "1-x.sql");
    assert_int_equal(symlink("nowhere.sql", link), 0);
    MigSet set;
    DroverError err = DROVER_ERROR_INIT;
    assert_false(mig_discover(dir, &set, &err));
    assert_int_equal(err.kind, ERR_IO);
    char *message = xasprintf("cannot read migration file '%s': No such file or directory", link);
    assert_string_equal(err.message, message);
    free(message);
    error_clear(&err);
    mig_set_free(&set);
    free(link);
    remove_tmpdir(dir, (const char *const[]){"1-x.sql"}, 1);
}

/* The demo set ships with drover: every file must parse and be reversible. */
static void test_demo_set_parses(void **state)
{
    (void)state;
    char *root = path_dirname(TEST_DATA_DIR "/x");
    char *tests = path_dirname(root);
    char *repo = path_dirname(tests);
    char *dir = path_join(repo, "conf/demo/migrations");
    MigSet set;
    DroverError err = DROVER_ERROR_INIT;
    bool ok = mig_discover(dir, &set, &err);
    if (!ok)
        fail_msg("%s:%d: %s", err.file, err.line, err.message);
    assert_int_equal(set.n, 10);
    assert_string_equal(set.items[0].name, "20240105093000-create-users.sql");
    for (size_t i = 0; i < set.n; i++) {
        const Migration *m = &set.items[i];
        assert_int_equal(m->kind, MIG_SQL);
        assert_false(mig_section_is_empty(&m->up));
        assert_false(mig_section_is_empty(&m->down));
        assert_true(m->up.transaction);
        assert_true(m->down.transaction);
    }
    mig_set_free(&set);
    free(dir);
    free(repo);
    free(tests);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discover_pattern_and_order),
        cmocka_unit_test(test_discover_parses_sections),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_discover_stops_at_first_bad_file),
        cmocka_unit_test(test_discover_nul_byte),
        cmocka_unit_test(test_discover_directory_entry),
        cmocka_unit_test(test_discover_missing_dir),
        cmocka_unit_test(test_parse_marker_forms),
        cmocka_unit_test(test_section_is_empty),
        cmocka_unit_test(test_find_and_stem),
        cmocka_unit_test(test_new_sql_and_js),
        cmocka_unit_test(test_new_refusals),
        cmocka_unit_test(test_discover_dangling_symlink),
        cmocka_unit_test(test_demo_set_parses),
        cmocka_unit_test(test_check_section),
        cmocka_unit_test(test_trigger_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

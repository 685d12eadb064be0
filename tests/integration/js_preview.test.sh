#!/usr/bin/env bash
# js_preview.test.sh — drover plan --sql: on PostgreSQL the pending .js (and .sql) migrations
# run in one transaction that is always rolled back and show the exact statements, each seeing
# what the earlier ones did; the tenant's schema and SequelizeMeta are byte-identical afterwards,
# also when a migration fails or commits by itself. MariaDB tenants get the .sql statements and
# a clear "cannot be previewed" for the .js ones. lint --pending lints the .js migrations on
# the statements such a preview captures, the tenant untouched.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"
# shellcheck source=tests/integration/js_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/js_lib.sh"

T=$DROVER_TEST_TMPDIR
project "$T/p"
# A .sql migration after the .js ones that needs the table the last .js one creates.
cat >"$T/p/migrations/20240101000009-audit-more.sql" <<'SQL'
-- migrate:up
INSERT INTO audit_log (id, note) VALUES (2, 'from sql');
CREATE INDEX audit_log_note ON audit_log (note);
-- migrate:down
DROP INDEX audit_log_note;
SQL
fresh=$(unique_name jspf) half=$(unique_name jsph)
pg_new_db "$fresh"
pg_new_db "$half"
pg_inventory "$T/p/drover.cfg" "path = \"migrations\";" fresh "$(pg_url "$fresh")" half "$(pg_url "$half")"

# snapshot DB: the schema and SequelizeMeta's rows (or its absence).
snapshot() {
  pg_schema "$1"
  pg_meta_tables "$1"
  [ -z "$(pg_meta_tables "$1")" ] || pg_rows "$1"
}
# stmts FILE TENANT MIGRATION: that migration's previewed statements, one a line.
stmts() { json_get "$1" ".tenants[] | select(.id == \"$2\") | .sql.migrations[] | select(.name == \"$3\") | .statements[]"; }

assert_exit 0 drover "$T/p/drover.cfg" migrate --tenant half --to 20240101000004-add-index.js
before_fresh=$(snapshot "$fresh") before_half=$(snapshot "$half")
assert_eq "$FIRST_HALF" "$(pg_rows "$half")" "half: four applied before the preview"

# --- 1. JSON: exact statements, cumulative, in one rolled-back transaction.
assert_exit 0 drover "$T/p/drover.cfg" plan --sql --format json
J=$T/plan.json
cp "$OUT_FILE" "$J"
assert_eq "pending|pending|true|true" \
  "$(json_get "$J" '[.tenants[].outcome, .tenants[].sql.rolled_back] | map(tostring) | join("|")')" \
  "both tenants pending, previewed in a rolled-back transaction"
assert_eq "$PG_CLI_META_DDL" "$(json_get "$J" '.tenants[0].sql.setup[]')" \
  "fresh: SequelizeMeta created first, as sequelize-cli creates it"
assert_eq "0" "$(json_get "$J" '.tenants[1].sql.setup | length')" "half: nothing to set up"
assert_eq "9|5" "$(json_get "$J" '[.tenants[].sql.migrations | length] | map(tostring) | join("|")')" \
  "every pending migration previewed"
assert_eq "true" "$(json_get "$J" '[.tenants[].sql.migrations[] | .executed and .error == null and .note == null] | all')" \
  "every migration ran in the preview, none failed"
assert_eq "null" "$(json_get "$J" '.tenants[0].sql.note')" "no note on PostgreSQL"
create_users=$(stmts "$J" fresh 20240101000001-create-users.js)
assert_eq 'CREATE TABLE IF NOT EXISTS "Users" ("id" UUID NOT NULL , "email" VARCHAR(255) NOT NULL UNIQUE, "username" VARCHAR(64), "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL, "updatedAt" TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY ("id"));' \
  "$(grep '^CREATE TABLE' <<<"$create_users")" "createTable's statement"
assert_eq "INSERT INTO \"SequelizeMeta\" (\"name\") VALUES ('20240101000001-create-users.js')" \
  "$(tail -n 1 <<<"$create_users")" "the SequelizeMeta INSERT comes last"
assert_eq 'ALTER TABLE "public"."Users" ADD COLUMN "existingColumn" VARCHAR(50);' \
  "$(stmts "$J" fresh 20240101000002-add-column.js | head -n 1)" "addColumn's ALTER TABLE"
assert_contains "$(stmts "$J" half 20240101000006-seed-users.js)" \
  "INSERT INTO \"Users\" (\"id\",\"email\",\"username\",\"createdAt\",\"updatedAt\") VALUES ('11111111-1111-4111-8111-111111111111','a@x.io','o''neil','2024-01-02 03:04:05.000 +00:00','2024-01-02 03:04:05.000 +00:00')"
assert_eq "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, note VARCHAR(20))
INSERT INTO audit_log (id, note) VALUES (1, 'created')
INSERT INTO \"SequelizeMeta\" (\"name\") VALUES ('20240101000008-raw-query.js')" \
  "$(stmts "$J" half 20240101000008-raw-query.js)" "the raw queries, as written"
# The .sql migration depends on the table the .js one before it created: it ran after it.
assert_eq "INSERT INTO audit_log (id, note) VALUES (2, 'from sql')
CREATE INDEX audit_log_note ON audit_log (note)
INSERT INTO \"SequelizeMeta\" (\"name\") VALUES ('20240101000009-audit-more.sql')" \
  "$(stmts "$J" half 20240101000009-audit-more.sql)" "the .sql migration's statements, run after the .js ones"
assert_eq "$before_fresh" "$(snapshot "$fresh")" "fresh: schema and SequelizeMeta unchanged"
assert_eq "$before_half" "$(snapshot "$half")" "half: schema and SequelizeMeta unchanged"
assert_eq "" "$(pg_meta_tables "$fresh")" "fresh: no SequelizeMeta left behind"

# --- 2. Text, and migrate --dry-run --sql, say the same.
assert_exit 0 drover "$T/p/drover.cfg" plan --sql --tenant half
assert_contains "$OUT" "half (dev, postgres): 4 applied, would apply 5"
assert_contains "$OUT" "    sql (run in one transaction, then rolled back):
      -- 20240101000005-create-posts.js
      CREATE TABLE IF NOT EXISTS \"Posts\""
assert_contains "$OUT" "      -- 20240101000008-raw-query.js
      CREATE TABLE audit_log (id INTEGER PRIMARY KEY, note VARCHAR(20));
      INSERT INTO audit_log (id, note) VALUES (1, 'created');"
assert_exit 0 drover "$T/p/drover.cfg" migrate --dry-run --sql --tenant half --format json
assert_eq "$(stmts "$J" half 20240101000007-rename-column.js)" \
  "$(stmts "$OUT_FILE" half 20240101000007-rename-column.js)" "migrate --dry-run --sql: the same statements"
assert_eq "$before_half" "$(snapshot "$half")" "half: unchanged by the dry run"

# --- 3. A migration that fails, or commits by itself, is reported; the tenant stays as it was.
project "$T/bad" 20240101000001-create-users.js
cat >"$T/bad/migrations/20240101000002-commits.js" <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => {
    await queryInterface.createTable('Committed', { id: { type: Sequelize.INTEGER, primaryKey: true } });
    await queryInterface.sequelize.query('COMMIT');
  },
  down: async () => {}
};
EOF
bad=$(unique_name jspb)
pg_new_db "$bad"
pg_inventory "$T/bad/drover.cfg" "path = \"migrations\";" bad "$(pg_url "$bad")"
before=$(snapshot "$bad")
assert_exit 1 drover "$T/bad/drover.cfg" plan --sql --format json
assert_eq "failed|20240101000002-commits.js|tenant 'bad': migration '20240101000002-commits.js': drover preview: the migration tried to commit the preview transaction; it was rolled back (SQLSTATE P0001)" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .error.migration, .error.message] | join("|")')" \
  "commits: the COMMIT fails and the tenant fails"
assert_eq "true|null|true|drover preview: the migration tried to commit the preview transaction; it was rolled back (SQLSTATE P0001)|COMMIT" \
  "$(json_get "$OUT_FILE" '.tenants[0].sql.migrations | [.[0].executed, .[0].error, .[1].executed, .[1].error, .[1].statements[-1]] | map(tostring) | join("|")')" \
  "commits: the first previewed, the second carries the error"
assert_eq "$before" "$(snapshot "$bad")" "commits: nothing committed"
# ... and one that swallows that error and goes on writes nothing either: read-only after.
sed -i "s/await queryInterface.sequelize.query('COMMIT');/await queryInterface.sequelize.query('COMMIT').catch(() => {});\n    await queryInterface.createTable('After', { id: { type: Sequelize.INTEGER, primaryKey: true } });/" \
  "$T/bad/migrations/20240101000002-commits.js"
assert_exit 1 drover "$T/bad/drover.cfg" plan --sql --format json
assert_contains "$(json_get "$OUT_FILE" '.tenants[0].error.message')" \
  "cannot execute CREATE TABLE in a read-only transaction (SQLSTATE 25006)"
assert_eq "$before" "$(snapshot "$bad")" "swallowed commit: nothing committed"
# A plain failure, with a migration after it that is not reached.
cat >"$T/bad/migrations/20240101000002-commits.js" <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface) => { await queryInterface.addColumn('NoSuchTable', 'x', { type: 'INTEGER' }); },
  down: async () => {}
};
EOF
cp "$JS_SRC/20240101000008-raw-query.js" "$T/bad/migrations/20240101000003-raw-query.js"
assert_exit 1 drover "$T/bad/drover.cfg" plan --sql
assert_contains "$OUT" "      -- 20240101000002-commits.js: FAILED in the preview: relation \"public.NoSuchTable\" does not exist (SQLSTATE 42P01)"
assert_contains "$OUT" "      -- 20240101000003-raw-query.js: not previewed: an earlier migration failed in the preview"
assert_eq "$before" "$(snapshot "$bad")" "failure: nothing committed"

# --- 4. MariaDB: .sql statements shown, .js ones cannot be previewed, and why.
my_db=$(unique_name jspm)
trap 'my_drop_db "$my_db" >/dev/null 2>&1; _pg_drop_test_dbs; _lib_on_exit' EXIT
my_create_db "$my_db"
mkdir -p "$T/my/migrations"
ln -sfn "$NPM_CACHE/node_modules" "$T/my/node_modules"
cp "$JS_SRC/20240101000001-create-users.js" "$T/my/migrations/"
printf -- '-- migrate:up\nCREATE TABLE notes (id INT PRIMARY KEY);\nINSERT INTO notes VALUES (1);\n-- migrate:down\nDROP TABLE notes;\n' \
  >"$T/my/migrations/20240101000000-notes.sql"
write_inventory "$T/my/drover.cfg" <<EOF
migrations = { path = "migrations"; };
environments = ( { name = "dev"; } );
tenants = ( { id = "m1"; env = "dev"; url = "mysql://$DROVER_TEST_MYSQL_USER:\${MYPW}@$DROVER_TEST_MYSQL_HOST:$DROVER_TEST_MYSQL_PORT/$my_db"; } );
EOF
assert_exit 0 drover "$T/my/drover.cfg" plan --sql --format json
assert_eq "pending|false|MariaDB/MySQL commit DDL implicitly, so a .js migration cannot run inside a transaction that is rolled back: its statements cannot be previewed" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .sql.rolled_back, .sql.note] | map(tostring) | join("|")')" \
  "mariadb: says why .js cannot be previewed"
assert_eq "CREATE TABLE notes (id INT PRIMARY KEY)
INSERT INTO notes VALUES (1)
INSERT INTO \`SequelizeMeta\` (\`name\`) VALUES ('20240101000000-notes.sql')" \
  "$(stmts "$OUT_FILE" m1 20240101000000-notes.sql)" "mariadb: the .sql statements"
assert_eq "null|not previewed|false" \
  "$(json_get "$OUT_FILE" '.tenants[0].sql.migrations[1] | [.statements, .note, .executed] | map(tostring) | join("|")')" \
  "mariadb: no statements for the .js migration"
assert_exit 0 drover "$T/my/drover.cfg" plan --sql
assert_contains "$OUT" "      -- 20240101000001-create-users.js: not previewed"
assert_contains "$OUT" "    note: MariaDB/MySQL commit DDL implicitly"
assert_eq "" "$(my_sql "$my_db" 'SHOW TABLES')" "mariadb: nothing created"

# --- 5. Usage: documented, and --sql on a real migrate is refused.
assert_exit 0 "$DROVER_BIN" plan --help
assert_contains "$OUT" "--sql"
assert_contains "$OUT" "transaction that is always rolled back"
assert_exit 2 drover "$T/p/drover.cfg" migrate --sql
assert_contains "$ERR" "migrate --sql needs --dry-run"
assert_eq "$before_half" "$(snapshot "$half")" "half: the refused migrate touched nothing"

# --- 6. lint --pending: .js migrations linted on what they send, previewed on "half".
mkdir -p "$T/lintp"
cp -r "$T/p/migrations" "$T/lintp/"
ln -sfn "$NPM_CACHE/node_modules" "$T/lintp/node_modules"
cat >"$T/lintp/migrations/20240101000010-unsafe.js" <<'JS'
'use strict';
module.exports = {
  up: async (queryInterface) => {
    await queryInterface.addIndex('Users', ['createdAt'], { name: 'users_created' });
    await queryInterface.bulkDelete('Posts', null, {});
  },
  down: async (queryInterface) => {
    await queryInterface.removeIndex('Users', 'users_created');
  }
};
JS
pg_inventory "$T/lintp/drover.cfg" "path = \"migrations\";" half "$(pg_url "$half")"
assert_exit 1 drover "$T/lintp/drover.cfg" lint --pending
assert_contains "$OUT" "20240101000010-unsafe.js:1: error delete-without-where: DELETE"
assert_contains "$OUT" "20240101000010-unsafe.js:1: warning index-not-concurrent: CREATE INDEX"
assert_contains "$OUT" "(statement 1 it sends)"
assert_not_contains "$OUT" "js-not-linted" "every pending .js migration was previewed"
assert_eq "$before_half" "$(snapshot "$half")" "lint: the preview left half as it was"
# Without a PostgreSQL tenant that lacks them: said, with why.
assert_exit 0 drover "$T/lintp/drover.cfg" lint
assert_contains "$OUT" "20240101000010-unsafe.js:1: info js-not-linted: not linted: a .js migration's statements are known only when it runs"

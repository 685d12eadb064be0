#!/usr/bin/env bash
# verify.test.sh — drover verify on PostgreSQL (a database and a schema tenant), MariaDB and
# SQLite, with .js and .sql migrations: each pending migration is applied, reverted, compared
# and applied again; a down that leaves something behind is named, and so is a migration that
# fails on a tenant's real data (PostgreSQL, SQLite; MariaDB's scratch database has no rows, as
# its note says); every tenant is left byte for byte as it was (pg_dump -s and the rows,
# SHOW CREATE TABLE, the SQLite file's hash), and no scratch database or copy stays behind.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"
# shellcheck source=tests/integration/mariadb-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/mariadb-common.sh"
# shellcheck source=tests/integration/js_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/js_lib.sh"
# shellcheck disable=SC2016 # jq programs

T=$DROVER_TEST_TMPDIR
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

# js FILE UP DOWN: a sequelize-cli style migration.
js() {
  printf "'use strict';\nmodule.exports = {\n  async up(queryInterface, Sequelize) {\n%s\n  },\n  async down(queryInterface, Sequelize) {\n%s\n  },\n};\n" "$2" "$3" >"$1"
}
# The set every tenant starts from: users, some with an email and one (on "bad") without.
for set in good leaky; do
  mkdir -p "$T/$set/migrations"
  js "$T/$set/migrations/20240101000001-users.js" \
    "    await queryInterface.createTable('users', { id: { type: Sequelize.INTEGER, primaryKey: true }, email: Sequelize.STRING(100) });" \
    "    await queryInterface.dropTable('users');"
done
# good: an index (.js), a table (.sql) and email NOT NULL (.js), which real NULLs refuse.
js "$T/good/migrations/20240101000002-email-index.js" \
  "    await queryInterface.addIndex('users', ['email'], { name: 'users_email' });" \
  "    await queryInterface.removeIndex('users', 'users_email');"
printf -- '-- migrate:up\nCREATE TABLE tags (id int, label varchar(20));\n-- migrate:down\nDROP TABLE tags;\n' \
  >"$T/good/migrations/20240101000003-tags.sql"
js "$T/good/migrations/20240101000004-email-required.js" \
  "    console.log('making email required');
    await queryInterface.changeColumn('users', 'email', { type: Sequelize.STRING(100), allowNull: false });" \
  "    await queryInterface.changeColumn('users', 'email', { type: Sequelize.STRING(100), allowNull: true });"
# leaky: a down that forgets the table its up created. (Raw ALTERs: Sequelize's addColumn
# names "public".users on PostgreSQL whatever the search_path, which a schema tenant lacks.)
js "$T/leaky/migrations/20240101000002-audit.js" \
  "    await queryInterface.createTable('audit', { id: Sequelize.INTEGER });
    await queryInterface.sequelize.query('ALTER TABLE users ADD COLUMN nick varchar(20)');" \
  "    await queryInterface.sequelize.query('ALTER TABLE users DROP COLUMN nick');"

pg_a=$(unique_name vfpa) pg_s=$(unique_name vfps)
pg_new_db "$pg_a"
pg_new_db "$pg_s"
pg_sql "$pg_s" "CREATE SCHEMA t1"
my_a=$(new_my_db vfma)
servers="{ id = \"pg-bad\"; env = \"dev\"; url = \"$(pg_url "$pg_a")\"; },
  { id = \"pg-schema\"; env = \"dev\"; url = \"$(pg_url "$pg_s")?schema=t1\"; },
  { id = \"my-bad\"; env = \"dev\"; url = \"$(my_url "$my_a")\"; }"
files="{ id = \"lite-bad\"; env = \"dev\"; url = \"sqlite:$T/lite-bad.db\"; },
  { id = \"lite-good\"; env = \"dev\"; url = \"sqlite:$T/lite-good.db\"; }"
# The SQLite tenants use the project with the sqlite3 driver (a native build of its own).
install_sqlite3
for set in good leaky; do
  for kind in servers files; do
    modules=$NPM_CACHE/node_modules tenants=$servers
    [ "$kind" = servers ] || { modules=$NPM_ROOT/npm-js-sqlite3/node_modules tenants=$files; }
    write_inventory "$T/$set/$kind.cfg" <<CFG
migrations = { path = "migrations"; node_modules = "$modules"; };
environments = ( { name = "dev"; } );
tenants = ( $tenants );
CFG
  done
done
# verify_all SET ARG...: verify on both inventories, their JSON tenants merged in $OUT_FILE.
verify_all() {
  local set=$1 rc1=0 rc2=0
  shift
  "$DROVER_BIN" --config "$T/$set/servers.cfg" verify --format json "$@" >"$T/v1.json" 2>"$T/v1.err" || rc1=$?
  "$DROVER_BIN" --config "$T/$set/files.cfg" verify --format json "$@" >"$T/v2.json" 2>"$T/v2.err" || rc2=$?
  jq -s '{tenants: (.[0].tenants + .[1].tenants)}' "$T/v1.json" "$T/v2.json" >"$T/verify.json"
  OUT_FILE=$T/verify.json
  ERR=$(cat "$T/v1.err" "$T/v2.err")
  VERIFY_RC=$((rc1 > rc2 ? rc1 : rc2))
}
for kind in servers files; do
  assert_exit 0 "$DROVER_BIN" --config "$T/good/$kind.cfg" migrate --to 20240101000001-users.js
done
for t in pg-bad my-bad lite-bad; do
  case $t in
    pg-bad) q() { pg_sql "$pg_a" "$1"; } ;;
    my-bad) q() { my_sql "$my_a" "$1"; } ;;
    lite-bad) q() { sqlite3 "$T/lite-bad.db" "$1"; } ;;
  esac
  q "INSERT INTO users (id, email) VALUES (1, 'a@x'), (2, NULL)" >/dev/null
done
pg_sql "$pg_s" "INSERT INTO t1.users (id, email) VALUES (1, 'a@x')" >/dev/null
sqlite3 "$T/lite-good.db" "INSERT INTO users (id, email) VALUES (1, 'a@x')"

# snapshot: everything that must not change, in one text.
snapshot() {
  pg_schema "$pg_a"
  pg_sql "$pg_a" 'SELECT * FROM users ORDER BY id; SELECT name FROM "SequelizeMeta" ORDER BY name'
  pg_schema "$pg_s"
  pg_sql "$pg_s" 'SELECT * FROM t1.users ORDER BY id; SELECT name FROM t1."SequelizeMeta" ORDER BY name'
  my_sql "$my_a" "SHOW TABLES"
  my_sql "$my_a" "SHOW CREATE TABLE users; SELECT * FROM users ORDER BY id; SELECT name FROM SequelizeMeta"
  my_sql "" "SHOW DATABASES LIKE 'drover\\_verify\\_%'"
  # The sqlite3 shell's own hash: a CI machine was seen without coreutils' sha256sum.
  local f
  for f in "$T/lite-bad.db" "$T/lite-good.db"; do
    echo "$f $(sqlite3 :memory: "SELECT hex(sha3(readfile('$f'), 256))")"
  done
}
before=$(snapshot)

# --- the good set: the NOT NULL migration fails on real NULLs; everything else verifies.
verify_all good
assert_eq 1 "$VERIFY_RC" "good: exit 1"
verdict() { json_get "$OUT_FILE" "[.tenants[] | select(.id == \"$1\") | .outcome, (.verify.migrations[] | \"\(.migration):\(.ok)\")] | join(\" \")"; }
assert_eq "failed 20240101000002-email-index.js:true 20240101000003-tags.sql:true 20240101000004-email-required.js:false" \
  "$(verdict pg-bad)" "pg-bad: the NOT NULL fails on its data"
assert_contains "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "pg-bad") | .error.message')" \
  "tenant 'pg-bad': migration '20240101000004-email-required.js': up failed: column \"email\" of relation \"users\" contains null values"
assert_eq "ok 20240101000002-email-index.js:true 20240101000003-tags.sql:true 20240101000004-email-required.js:true" \
  "$(verdict pg-schema)" "pg-schema: verified"
assert_eq "on the tenant, in one transaction that was rolled back" \
  "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "pg-schema") | .verify.where')"
assert_eq "ok 20240101000002-email-index.js:true 20240101000003-tags.sql:true 20240101000004-email-required.js:true" \
  "$(verdict my-bad)" "my-bad: the scratch database has no rows to refuse"
assert_contains "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "my-bad") | .verify.where')" "no rows"
assert_eq "failed 20240101000002-email-index.js:true 20240101000003-tags.sql:true 20240101000004-email-required.js:false" \
  "$(verdict lite-bad)" "lite-bad: the NOT NULL fails on its data"
assert_contains "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "lite-bad") | .error.message')" "NOT NULL constraint failed"
# Sequelize's changeColumn on SQLite rebuilds the table and loses its indexes: verify sees it.
assert_eq "failed 20240101000002-email-index.js:true 20240101000003-tags.sql:true 20240101000004-email-required.js:false" \
  "$(verdict lite-good)" "lite-good: the rebuilt table lost its index"
assert_contains "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "lite-good") | .error.message')" \
  "migration '20240101000004-email-required.js': down does not bring the schema back: it lacks 'index users users_email (email)'"
assert_contains "$ERR" "migration '20240101000004-email-required.js': stdout: making email required"
assert_eq "$before" "$(snapshot)" "every tenant byte for byte as it was"

# --- the leaky set: the down that leaves 'audit' is named on every dialect.
verify_all leaky
assert_eq 1 "$VERIFY_RC" "leaky: exit 1"
for t in pg-bad pg-schema my-bad lite-bad lite-good; do
  assert_contains "$(json_get "$OUT_FILE" ".tenants[] | select(.id == \"$t\") | .error.message")" \
    "tenant '$t': migration '20240101000002-audit.js': down does not bring the schema back: it still has 'column audit.id" \
    "$t: the leaky down"
done
assert_exit 1 "$DROVER_BIN" --config "$T/leaky/servers.cfg" verify --tenant pg-schema
assert_contains "$OUT" "BAD  20240101000002-audit.js: down does not bring the schema back"
assert_eq "$before" "$(snapshot)" "leaky: every tenant byte for byte as it was"
assert_eq "" "$(ls -A "$TMPDIR")" "no copy left in TMPDIR"

# --- nothing pending: 0; .sql only on PostgreSQL runs on drover's own session (no node).
assert_exit 0 "$DROVER_BIN" --config "$T/good/files.cfg" verify --tenant lite-good --to 20240101000001-users.js
assert_contains "$OUT" "lite-good (dev, sqlite): nothing pending to verify"
mkdir -p "$T/sql/migrations"
printf -- '-- migrate:up\nCREATE TABLE kept (id int);\nCREATE TABLE dropped (id int);\n-- migrate:down\nDROP TABLE dropped;\n' \
  >"$T/sql/migrations/20240101000001-two.sql"
printf 'migrations = { path = "migrations"; };\nenvironments = ( { name = "dev"; } );\ntenants = ( { id = "p"; env = "dev"; url = "%s"; } );\n' \
  "$(pg_url "$pg_a")" | write_inventory "$T/sql/drover.cfg"
assert_exit 1 env DROVER_NODE=/nonexistent "$DROVER_BIN" --config "$T/sql/drover.cfg" verify
assert_contains "$OUT" "down does not bring the schema back: it still has 'column kept.id integer'"
assert_eq "$before" "$(snapshot)" "sql: the tenant as it was"

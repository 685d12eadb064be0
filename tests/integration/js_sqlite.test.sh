#!/usr/bin/env bash
# js_sqlite.test.sh — .js migrations on SQLite tenants: without the npm 'sqlite3' driver drover
# stops before any tenant with an error that says what to install; with it, drover and the real
# sequelize-cli 6 leave twin SQLite files with the same schema and rows, a migration that throws
# half-way leaves the file as it was, and plan --sql says why .js cannot be previewed there.
# sqlite3 has no prebuilt binding reachable from every build host (npm falls back to compiling
# it with node-gyp, a few minutes on 2 cores), so it is installed once per build dir, apart
# from the shared npm-js project.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"
# shellcheck source=tests/integration/js_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/js_lib.sh"

T=$DROVER_TEST_TMPDIR

# sqlite_inventory CFG ID FILE...: an inventory of SQLite tenants.
sqlite_inventory() {
  local cfg=$1
  shift
  {
    echo 'migrations = { path = "migrations"; };'
    echo 'environments = ( { name = "dev"; } );'
    echo "tenants = ("
    local sep=""
    while [ $# -gt 0 ]; do
      printf '%s  { id = "%s"; env = "dev"; url = "sqlite://%s"; }\n' "$sep" "$1" "$2"
      sep=","
      shift 2
    done
    echo ");"
  } | write_inventory "$cfg"
}
lite_schema() { sqlite_sql "$1" .schema; }
lite_rows() { sqlite_sql "$1" 'SELECT name FROM SequelizeMeta ORDER BY name'; }

# --- 1. The shared project has no sqlite3: the run stops before any tenant, saying so.
project "$T/nodrv"
sqlite_inventory "$T/nodrv/drover.cfg" s1 "$T/nodrv/s1.db"
assert_exit 2 "$DROVER_BIN" --config "$T/nodrv/drover.cfg" migrate
assert_eq "drover: 'sqlite3' is not installed in '$T/nodrv/node_modules': Sequelize needs it for the SQLite tenants
  hint: run 'npm install sqlite3' in the project (npm downloads a prebuilt binding, or compiles one with node-gyp, python3, make and a C++ compiler when it cannot); no tenant was touched" \
  "$ERR" "no sqlite3: the precise error"
assert_eq "no" "$([ -e "$T/nodrv/s1.db" ] && echo yes || echo no)" "no sqlite3: no file created"
# plan --sql needs no driver on SQLite: it previews nothing there, and says why.
assert_exit 0 "$DROVER_BIN" --config "$T/nodrv/drover.cfg" plan --sql --format json
assert_eq "false|drover previews .js migrations on PostgreSQL only, where it can make sure the preview transaction never commits: on SQLite their statements cannot be previewed|8|0" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.sql.rolled_back, .sql.note, (.sql.migrations | length),
                             ([.sql.migrations[] | select(.statements != null)] | length)] | map(tostring) | join("|")')" \
  "plan --sql on SQLite: the reason, no statements"

# --- 2. With sqlite3: drover and sequelize-cli agree on twin files.
install_sqlite3
NPM_SQLITE=$NPM_ROOT/npm-js-sqlite3

mkdir -p "$T/lite/migrations"
ln -sfn "$NPM_SQLITE/node_modules" "$T/lite/node_modules"
cp "$JS_SRC"/*.js "$T/lite/migrations/"
sqlite_inventory "$T/lite/drover.cfg" s1 "$T/lite/drover.db"
assert_exit 0 "$DROVER_BIN" --config "$T/lite/drover.cfg" migrate --format json
assert_eq "succeeded|migrated|8" \
  "$(json_get "$OUT_FILE" '[.outcome, .tenants[0].outcome, (.tenants[0].applied | length)] | map(tostring) | join("|")')" \
  "sqlite: drover migrates all"
cli "$T/lite" "sqlite://$T/lite/cli.db" db:migrate >"$T/cli.log" || fail "sequelize-cli: $(cat "$T/cli.log")"
assert_eq "$(lite_schema "$T/lite/cli.db")" "$(lite_schema "$T/lite/drover.db")" "sqlite: schema identical to sequelize-cli's"
assert_eq "$ALL" "$(lite_rows "$T/lite/drover.db")" "sqlite: SequelizeMeta rows"
assert_eq "$(sqlite_sql "$T/lite/cli.db" 'SELECT * FROM Users ORDER BY email')" \
  "$(sqlite_sql "$T/lite/drover.db" 'SELECT * FROM Users ORDER BY email')" "sqlite: rows inserted by bulkInsert"
assert_eq "1|created" "$(sqlite_sql "$T/lite/drover.db" 'SELECT id, note FROM audit_log')" "sqlite: raw query ran"
assert_exit 0 "$DROVER_BIN" --config "$T/lite/drover.cfg" undo --all
cli "$T/lite" "sqlite://$T/lite/cli.db" db:migrate:undo:all >"$T/cli.log" || fail "cli undo: $(cat "$T/cli.log")"
assert_eq "" "$(lite_rows "$T/lite/drover.db")" "sqlite: undo --all empties SequelizeMeta"
assert_eq "$(lite_schema "$T/lite/cli.db")" "$(lite_schema "$T/lite/drover.db")" "sqlite: schema after the downs is the CLI's"

# --- 3. A migration that throws half-way: the file is as it was (one transaction via CLS).
rm "$T/lite/migrations"/*.js
cp "$JS_SRC/20240101000001-create-users.js" "$T/lite/migrations/"
cat >"$T/lite/migrations/20240101000002-half-way.js" <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => {
    await queryInterface.createTable('Halfway', { id: { type: Sequelize.INTEGER, primaryKey: true } });
    await queryInterface.bulkInsert('Users', [{ id: 'u1', email: 'h@x.io', createdAt: new Date(0), updatedAt: new Date(0) }]);
    throw new Error('boom half-way');
  },
  down: async () => {}
};
EOF
sqlite_inventory "$T/lite/half.cfg" h1 "$T/lite/half.db"
sed -i 's/^);$/);\ndefaults = { rollback = "none"; };/' "$T/lite/half.cfg"
assert_exit 1 "$DROVER_BIN" --config "$T/lite/half.cfg" migrate --format json
assert_eq "failed|tenant 'h1': migration '20240101000002-half-way.js': boom half-way" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .error.message] | join("|")')" "half: failed on the throwing migration"
assert_eq "20240101000001-create-users.js" "$(lite_rows "$T/lite/half.db")" "half: meta holds only the first"
assert_eq "SequelizeMeta Users" \
  "$(sqlite_sql "$T/lite/half.db" "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)")" \
  "half: no Halfway table"
assert_eq "0" "$(sqlite_sql "$T/lite/half.db" 'SELECT count(*) FROM Users')" "half: no row inserted"

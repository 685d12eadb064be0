#!/usr/bin/env bash
# js_migrations.test.sh — teams' Sequelize .js migrations run through drover's node runner
# give exactly what the real sequelize-cli 6 gives (schema and SequelizeMeta) on PostgreSQL and
# MariaDB, interleave with the CLI's own history, and a migration that throws half-way leaves a
# PostgreSQL tenant as it was. npm packages are installed once per build dir and reused.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"

# shellcheck source=tests/integration/js_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/js_lib.sh"

T=$DROVER_TEST_TMPDIR

pg_data() { pg_sql "$1" "SELECT id, email, coalesce(handle, '-'), \"existingColumn\" FROM \"Users\" ORDER BY email"; }

# --- 1. PostgreSQL: drover and the CLI on twin databases end with identical schemas and rows.
project "$T/pg"
pg_d=$(unique_name jsd) pg_c=$(unique_name jsc)
pg_new_db "$pg_d"
pg_new_db "$pg_c"
pg_inventory "$T/pg/drover.cfg" "path = \"migrations\";" t1 "$(pg_url "$pg_d")"

assert_exit 0 drover "$T/pg/drover.cfg" migrate --format json
assert_eq "succeeded|migrated|8|null" \
  "$(json_get "$OUT_FILE" '[.outcome, .tenants[0].outcome, (.tenants[0].applied | length),
                            .tenants[0].error] | map(tostring) | join("|")')" "pg: drover migrates all"
cli "$T/pg" "$(pg_real_url "$pg_c")" db:migrate >"$T/cli.log" || fail "sequelize-cli failed: $(cat "$T/cli.log")"
assert_eq "$(pg_schema "$pg_c")" "$(pg_schema "$pg_d")" "pg: schema identical to sequelize-cli's"
assert_eq "$ALL" "$(pg_rows "$pg_d")" "pg: SequelizeMeta rows"
assert_eq "$(pg_rows "$pg_c")" "$(pg_rows "$pg_d")" "pg: SequelizeMeta identical to the CLI's"
assert_eq "$(pg_data "$pg_c")" "$(pg_data "$pg_d")" "pg: rows inserted by bulkInsert"
assert_eq "1|created" "$(pg_sql "$pg_d" 'SELECT id, note FROM audit_log')" "pg: raw query ran"
assert_contains "$(pg_schema "$pg_d")" 'CREATE INDEX users_email_username ON public."Users" USING btree (email, handle);'
assert_contains "$(pg_schema "$pg_d")" 'FOREIGN KEY ("userId") REFERENCES public."Users"(id) ON UPDATE CASCADE ON DELETE CASCADE;'

# Every down, through drover, back to an empty tenant; and the CLI's undo of all gives the same.
assert_exit 0 drover "$T/pg/drover.cfg" undo --all
cli "$T/pg" "$(pg_real_url "$pg_c")" db:migrate:undo:all >"$T/cli.log" || fail "cli undo: $(cat "$T/cli.log")"
assert_eq "" "$(pg_rows "$pg_d")" "pg: undo --all empties SequelizeMeta"
assert_eq "SequelizeMeta" "$(pg_relations "$pg_d")" "pg: undo --all drops every table"
assert_eq "$(pg_schema "$pg_c")" "$(pg_schema "$pg_d")" "pg: schema after the downs is the CLI's"

# --- 2. Mixed history on PostgreSQL: the CLI applies the first half, drover the rest.
pg_m=$(unique_name jsm)
pg_new_db "$pg_m"
pg_inventory "$T/pg/mixed.cfg" "path = \"migrations\";" t1 "$(pg_url "$pg_m")"
cli "$T/pg" "$(pg_real_url "$pg_m")" db:migrate --to 20240101000004-add-index.js >"$T/cli.log" ||
  fail "cli half: $(cat "$T/cli.log")"
assert_exit 0 drover "$T/pg/mixed.cfg" status --format json
assert_eq "$FIRST_HALF" "$(json_get "$OUT_FILE" '.tenants[0].applied[]')" "mixed: drover sees the CLI's half"
assert_exit 0 drover "$T/pg/mixed.cfg" migrate --format json
assert_eq "$(tail -n 4 <<<"$ALL")" "$(json_get "$OUT_FILE" '.tenants[0].applied[]')" "mixed: drover applies the rest"
status=$(cli "$T/pg" "$(pg_real_url "$pg_m")" db:migrate:status | grep -E '^(up|down) ')
assert_eq "$(sed 's/^/up /' <<<"$ALL")" "$status" "mixed: sequelize-cli sees every migration up"
assert_exit 0 drover "$T/pg/mixed.cfg" status --format json
assert_eq "current|$(tr '\n' ' ' <<<"$ALL")" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.state, (.applied | join(" ") + " ")] | join("|")')" \
  "mixed: drover status agrees"
assert_exit 0 drover "$T/pg/mixed.cfg" undo --steps 2
status=$(cli "$T/pg" "$(pg_real_url "$pg_m")" db:migrate:status | grep -c '^down ')
assert_eq "2" "$status" "mixed: the CLI sees drover's two undos"
cli "$T/pg" "$(pg_real_url "$pg_m")" db:migrate >"$T/cli.log" || fail "cli after undo: $(cat "$T/cli.log")"
assert_eq "$ALL" "$(pg_rows "$pg_m")" "mixed: the CLI migrates again after drover's undo"

# --- 3. A migration that throws half-way leaves the PostgreSQL tenant unchanged.
project "$T/half" 20240101000001-create-users.js
cp "$DROVER_SOURCE_DIR/tests/data/itest/js-failing/20240101000002-half-way.js" "$T/half/migrations/"
pg_h=$(unique_name jsh)
pg_new_db "$pg_h"
pg_inventory "$T/half/drover.cfg" "path = \"migrations\";" t1 "$(pg_url "$pg_h")"
assert_exit 1 drover "$T/half/drover.cfg" migrate --format json
assert_eq "failed|20240101000002-half-way.js|tenant 't1': migration '20240101000002-half-way.js': boom half-way" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .error.migration, .error.message] | join("|")')" \
  "half: the tenant failed on the throwing migration"
assert_eq "20240101000001-create-users.js" "$(pg_rows "$pg_h")" "half: meta holds only the first"
assert_eq "SequelizeMeta Users" "$(pg_relations "$pg_h")" "half: no Halfway table"
assert_eq "id email username createdAt updatedAt" \
  "$(pg_sql "$pg_h" "SELECT string_agg(attname, ' ' ORDER BY attnum) FROM pg_attribute
                     WHERE attrelid = '\"Users\"'::regclass AND attnum > 0 AND NOT attisdropped")" \
  "half: no column added"

# A database error comes back with its SQLSTATE and statement.
cat >"$T/half/migrations/20240101000002-half-way.js" <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface) => { await queryInterface.sequelize.query('SELECT * FROM no_such_table'); },
  down: async () => {}
};
EOF
assert_exit 1 drover "$T/half/drover.cfg" migrate --format json
assert_eq "42P01|tenant 't1': migration '20240101000002-half-way.js': relation \"no_such_table\" does not exist (SQLSTATE 42P01)|SELECT * FROM no_such_table" \
  "$(json_get "$OUT_FILE" '.tenants[0].error | [.sqlstate, .message, .statement] | join("|")')" \
  "half: the SQLSTATE comes back"

# A migration that cannot load stops the run before any tenant is touched.
echo 'module.exports = { up: async () => { syntax error' >"$T/half/migrations/20240101000003-broken.js"
assert_exit 2 drover "$T/half/drover.cfg" migrate
assert_contains "$ERR" "'20240101000003-broken.js' cannot be loaded: Unexpected identifier"
assert_eq "20240101000001-create-users.js" "$(pg_rows "$pg_h")" "broken: nothing touched"
rm "$T/half/migrations/20240101000003-broken.js"

# No sequelize anywhere above the migrations: the error says what to install.
mkdir -p "$T/bare/migrations"
cp "$JS_SRC/20240101000001-create-users.js" "$T/bare/migrations/"
pg_inventory "$T/bare/drover.cfg" "path = \"migrations\";" t1 "$(pg_url "$pg_h")"
assert_exit 2 drover "$T/bare/drover.cfg" migrate
assert_contains "$ERR" "'sequelize' is not installed in any node_modules from '$T/bare/migrations' upwards"
assert_contains "$ERR" "npm install sequelize"
# migrations.node_modules points at one; plan and dry runs list .js files without a runner.
pg_b=$(unique_name jsb)
pg_new_db "$pg_b"
pg_inventory "$T/bare/drover.cfg" "path = \"migrations\"; node_modules = \"$NPM_CACHE/node_modules\";" \
  t1 "$(pg_url "$pg_b")"
assert_exit 0 drover "$T/bare/drover.cfg" plan --format json
assert_eq "pending|20240101000001-create-users.js" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .planned[0]] | join("|")')" "bare: plan lists the .js file"
assert_exit 0 drover "$T/bare/drover.cfg" migrate --dry-run
assert_eq "" "$(pg_rows "$pg_b" 2>/dev/null || true)" "bare: the dry run wrote nothing"
assert_exit 0 drover "$T/bare/drover.cfg" migrate
assert_eq "20240101000001-create-users.js" "$(pg_rows "$pg_b")" "bare: migrated with node_modules from the config"
# No node: says so.
assert_exit 2 env DROVER_NODE=/nonexistent/node "$DROVER_BIN" --config "$T/pg/drover.cfg" migrate
assert_contains "$ERR" "'node' was not found"

# --- 4. MariaDB: drover and the CLI on twin databases: SHOW CREATE TABLE and rows agree.
my_d=$(unique_name jsd) my_c=$(unique_name jsc)
my_drop_dbs() { my_drop_db "$my_d" >/dev/null 2>&1; my_drop_db "$my_c" >/dev/null 2>&1; }
trap 'my_drop_dbs; _pg_drop_test_dbs; _lib_on_exit' EXIT
my_create_db "$my_d"
my_create_db "$my_c"
write_inventory "$T/pg/my.cfg" <<EOF
migrations = { path = "migrations"; };
environments = ( { name = "dev"; } );
tenants = ( { id = "m1"; env = "dev"; url = "mysql://$DROVER_TEST_MYSQL_USER:\${MYPW}@$DROVER_TEST_MYSQL_HOST:$DROVER_TEST_MYSQL_PORT/$my_d"; } );
EOF
my_show() {
  local t
  for t in SequelizeMeta Users Posts audit_log; do my_sql "$1" "SHOW CREATE TABLE \`$t\`"; done
}
assert_exit 0 drover "$T/pg/my.cfg" migrate --format json
assert_eq "succeeded|8" "$(json_get "$OUT_FILE" '[.outcome, (.tenants[0].applied | length)] | map(tostring) | join("|")')" \
  "mariadb: drover migrates all"
cli "$T/pg" "$(my_real_url "$my_c")" db:migrate >"$T/cli.log" || fail "cli mariadb: $(cat "$T/cli.log")"
assert_eq "$(my_show "$my_c" | sed "s/$my_c/DB/g")" "$(my_show "$my_d" | sed "s/$my_d/DB/g")" \
  "mariadb: SHOW CREATE TABLE identical to sequelize-cli's"
assert_eq "$ALL" "$(my_sql "$my_d" 'SELECT name FROM SequelizeMeta ORDER BY name')" "mariadb: meta rows"
assert_eq "$(my_sql "$my_c" 'SELECT id, email, handle FROM Users ORDER BY email')" \
  "$(my_sql "$my_d" 'SELECT id, email, handle FROM Users ORDER BY email')" "mariadb: bulkInsert rows"
assert_exit 0 drover "$T/pg/my.cfg" undo --all
assert_eq "SequelizeMeta" "$(my_sql "$my_d" 'SHOW TABLES')" "mariadb: undo --all drops every table"

# --- 5. One runner serves several tenants at once (js_runners = 1 here, so all of them share
# it). A migration that calls process.exit fails its tenant only; one that hangs past js_timeout
# gets its runner killed, and a tenant whose request that kill cut short ("slow", in its second
# migration then) is retried on a fresh runner and migrates; a runner that really crashes fails
# its tenant, and the next tenant gets a fresh one.
mkdir -p "$T/crash/migrations"
ln -sfn "$NPM_CACHE/node_modules" "$T/crash/node_modules"
cat >"$T/crash/migrations/20240101000001-crash-or-hang.js" <<'EOF2'
'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => {
    const db = queryInterface.sequelize.config.database;
    if (db.startsWith('jsexit')) process.exit(3);
    if (db.startsWith('jscrash')) process.kill(process.pid, 'SIGKILL');
    if (db.startsWith('jshang')) await new Promise(() => {});
    if (db.startsWith('jsslow')) await new Promise((r) => setTimeout(r, 500));
    await queryInterface.createTable('Fine', { id: { type: Sequelize.INTEGER, primaryKey: true } });
  },
  down: async (queryInterface) => { await queryInterface.dropTable('Fine'); }
};
EOF2
# slow's second migration starts 0.5 s after hang's first, so the kill at hang's 2 s deadline
# finds it half-way through its (first) 3 s wait: a retry then finds the marker and goes on.
cat >"$T/crash/migrations/20240101000002-slow-once.js" <<EOF2
'use strict';
const fs = require('fs');
module.exports = {
  up: async (queryInterface) => {
    const db = queryInterface.sequelize.config.database;
    const marker = '$T/crash/first-try-' + db;
    if (db.startsWith('jsslow') && !fs.existsSync(marker)) {
      fs.writeFileSync(marker, String(process.pid));
      await new Promise((r) => setTimeout(r, 3000));
    }
    await queryInterface.sequelize.query('CREATE TABLE "Second" (id int)');
  },
  down: async (queryInterface) => { await queryInterface.dropTable('Second'); }
};
EOF2
c_exit=$(unique_name jsexit) c_hang=$(unique_name jshang) c_slow=$(unique_name jsslow)
c_ok=$(unique_name jsok) c_crash=$(unique_name jscrash) c_after=$(unique_name jsafter)
for db in "$c_exit" "$c_hang" "$c_slow" "$c_ok" "$c_crash" "$c_after"; do pg_new_db "$db"; done
pg_inventory "$T/crash/drover.cfg" "path = \"migrations\";" exit "$(pg_url "$c_exit")" \
  hang "$(pg_url "$c_hang")" slow "$(pg_url "$c_slow")" ok "$(pg_url "$c_ok")"
sed -i 's/rollback = "none";/rollback = "none"; js_timeout = "2s"; js_runners = 1; parallel = 4; backoff_ms = 1;/' \
  "$T/crash/drover.cfg"
# A runner.js of this test's own, so that runners of tests running beside it are not counted.
cp "$(dirname "$DROVER_BIN")/noderunner/runner.js" "$T/crash/runner.js"
assert_exit 1 env DROVER_NODERUNNER="$T/crash/runner.js" "$DROVER_BIN" --config "$T/crash/drover.cfg" \
  migrate --continue-on-error --format json
assert_eq "exit=failed hang=failed ok=migrated slow=migrated" \
  "$(json_get "$OUT_FILE" '[.tenants[] | "\(.id)=\(.outcome)"] | sort | join(" ")')" "shared runner: outcomes"
assert_contains "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "exit") | .error.message')" \
  "tenant 'exit': migration '20240101000001-crash-or-hang.js': the migration called process.exit(3)"
assert_contains "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "hang") | .error.message')" \
  ") did not answer in time"
assert_eq "the request took longer than 2 s; the runner was stopped" \
  "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "hang") | .error.hint')" "hang: the hint"
[ -f "$T/crash/first-try-$c_slow" ] || fail "slow: its first try never reached the second migration"
assert_contains "$(drover "$T/crash/drover.cfg" runs show 1)" \
  "up 20240101000002-slow-once.js: ok, 2 attempt(s)"
assert_eq "" "$(pg_rows "$c_exit")" "exit: nothing recorded"
assert_eq "SequelizeMeta" "$(pg_relations "$c_exit")" "exit: nothing created"
assert_eq "SequelizeMeta" "$(pg_relations "$c_hang")" "hang: nothing created"
for db in "$c_ok" "$c_slow"; do
  assert_eq "20240101000001-crash-or-hang.js
20240101000002-slow-once.js" "$(pg_rows "$db")" "$db: migrated once"
done
pg_inventory "$T/crash/crash.cfg" "path = \"migrations\";" crash "$(pg_url "$c_crash")" \
  after "$(pg_url "$c_after")"
sed -i 's/rollback = "none";/rollback = "none"; js_runners = 1; parallel = 1; retries = 0;/' "$T/crash/crash.cfg"
assert_exit 1 env DROVER_NODERUNNER="$T/crash/runner.js" "$DROVER_BIN" --config "$T/crash/crash.cfg" \
  migrate --continue-on-error --format json
assert_eq "crash=failed after=migrated" \
  "$(json_get "$OUT_FILE" '[.tenants[] | "\(.id)=\(.outcome)"] | join(" ")')" "crash: outcomes"
assert_contains "$(json_get "$OUT_FILE" '.tenants[0].error.message')" \
  "tenant 'crash': migration '20240101000001-crash-or-hang.js': the node runner (pid "
assert_contains "$(json_get "$OUT_FILE" '.tenants[0].error.message')" ") exited unexpectedly"
assert_eq "" "$(pg_rows "$c_crash")" "crash: nothing recorded"
assert_eq "" "$(pgrep -f "$T/crash/runner.js" || true)" "no runner left behind"

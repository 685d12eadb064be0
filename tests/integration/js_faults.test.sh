#!/usr/bin/env bash
# js_faults.test.sh — what real projects' migrations do to a run, each case against its fix:
# a MariaDB .js migration that fails on its first statement changed nothing (failed, not dirty);
# the environment's lock_timeout bounds a .js ALTER behind a held lock as it bounds a .sql one;
# a migration that leaves a timer running cannot keep drover (or its runner) alive; a batch
# whose downs do nothing is not "rolled back" by deleting SequelizeMeta rows (its migrations
# stay applied and recorded, as sequelize-cli leaves them), a revert whose downs do not restore
# the schema is dirty, never rolled_back; a batch with a .sql migration without down says so
# instead of calling an untouched migration half-applied; CREATE INDEX CONCURRENTLY in .js runs
# (again) outside a transaction, and migrations.no_transaction is checked against the set.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"
# shellcheck source=tests/integration/js_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/js_lib.sh"

npm_project npm-real6 sequelize-cli@6 sequelize@6 pg pg-hstore mysql2
link_sqlite3 "$NPM_ROOT/npm-real6/node_modules"

# js_project DIR: a project folder with the team's node_modules and an empty migrations folder.
js_project() {
  mkdir -p "$1/migrations"
  ln -sfn "$NPM_ROOT/npm-real6/node_modules" "$1/node_modules"
}
js_file() { cat >"$1/migrations/$2"; }

# --- 5. MariaDB: a .js migration that fails on its first statement changed nothing.
js_project "$T/first"
js_file "$T/first" 20240101000001-bad-first.js <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface) => { await queryInterface.sequelize.query('INSERT INTO no_such_table VALUES (1)'); },
  down: async () => {},
};
EOF
db=$(unique_name jff)
new_my_db "$db"
write_config "$T/first/drover.cfg" migrations "retries = 0;" '{ name = "dev"; }' "m1 dev $(my_url "$db")"
drover_run 1 "$T/first/drover.cfg" migrate --format json
assert_eq "failed|false|1146" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .partial, .error.code] | map(tostring) | join("|")')" \
  "mariadb first statement: failed, nothing ran, not dirty"
drover_run 0 "$T/first/drover.cfg" status --format json
assert_eq "behind" "$(json_get "$OUT_FILE" '.tenants[0].state')" "mariadb first statement: status is behind, not dirty"

# --- 6. lock_timeout bounds a .js ALTER as it bounds a .sql one.
js_project "$T/lockto"
js_file "$T/lockto" 20240101000001-add-column.js <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => { await queryInterface.addColumn('items', 'extra', { type: Sequelize.INTEGER }); },
  down: async (queryInterface) => { await queryInterface.removeColumn('items', 'extra'); },
};
EOF
db=$(unique_name jfl)
new_pg_db "$db"
pg_sql "$db" "CREATE TABLE items (id INTEGER PRIMARY KEY)"
write_config "$T/lockto/drover.cfg" migrations "retries = 0;" \
  '{ name = "dev"; lock_timeout = "1s"; }' "p1 dev $(pg_url "$db")"
psql_session holder "$db"
session_send holder "BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
wait_for 10 "the holder's lock" grep -q locked "$T/holder.session"
started=$SECONDS
drover_run 1 "$T/lockto/drover.cfg" migrate --format json
elapsed=$((SECONDS - started))
assert_eq "failed|55P03" "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .error.sqlstate] | join("|")')" \
  "lock_timeout: the .js ALTER gave up on the lock"
[ "$elapsed" -lt 10 ] || fail "lock_timeout: the .js ALTER waited ${elapsed}s for a 1s lock_timeout"
_lib_pass
session_end holder "ROLLBACK; \\q"

# --- 7. A timer left running by a migration does not keep drover waiting.
js_project "$T/timer"
js_file "$T/timer" 20240101000001-leaves-a-timer.js <<'EOF'
'use strict';
setInterval(() => {}, 1000); // a module-level timer, as a metrics helper may start
module.exports = {
  up: async (queryInterface, Sequelize) => {
    setInterval(() => console.log('still here'), 200);
    await queryInterface.createTable('timed', { id: { type: Sequelize.INTEGER, primaryKey: true } });
  },
  down: async (queryInterface) => { await queryInterface.dropTable('timed'); },
};
EOF
write_config "$T/timer/drover.cfg" migrations "" '{ name = "dev"; }' "s1 dev sqlite:s1.db"
# A runner.js of this test's own, so that runners of tests running beside it are not counted.
cp "$(dirname "$DROVER_BIN")/noderunner/runner.js" "$T/timer/runner.js"
started=$SECONDS
assert_exit 0 env DROVER_NODERUNNER="$T/timer/runner.js" timeout 60 "$DROVER_BIN" \
  --config "$T/timer/drover.cfg" migrate
elapsed=$((SECONDS - started))
[ "$elapsed" -lt 20 ] || fail "timer: drover took ${elapsed}s to end"
_lib_pass
assert_eq "" "$(pgrep -f "$T/timer/runner.js" || true)" "timer: no runner left behind"

# --- 10. Downs that do nothing: the batch keeps what it applied, recorded.
js_project "$T/noop"
js_file "$T/noop" 20240101000001-create-a.js <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => { await queryInterface.createTable('ta', { id: { type: Sequelize.INTEGER, primaryKey: true } }); },
  down: async () => {},
};
EOF
js_file "$T/noop" 20240101000002-create-b.js <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => { await queryInterface.createTable('tb', { id: { type: Sequelize.INTEGER, primaryKey: true } }); },
  down: async (queryInterface) => { await queryInterface.dropTable('tb'); },
};
EOF
js_file "$T/noop" 20240101000003-fails.js <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface) => { await queryInterface.sequelize.query('SELECT * FROM no_such_table'); },
  down: async () => {},
};
EOF
write_config "$T/noop/drover.cfg" migrations "retries = 0;" '{ name = "dev"; }' "s1 dev sqlite:s1.db"
drover_run 1 "$T/noop/drover.cfg" migrate --format json
assert_eq "failed|20240101000001-create-a.js 20240101000002-create-b.js|20240101000003-fails.js" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, (.applied | join(" ")), .error.migration] | join("|")')" \
  "no-op downs: failed, the applied migrations kept"
assert_contains "$(json_get "$OUT_FILE" '.tenants[0].error.hint')" \
  "not rolled back: '20240101000001-create-a.js' has a down that does nothing, so reverting this run's 2 applied migration(s) could not restore the tenant; they stay applied and recorded (as sequelize-cli leaves them), and the next run resumes at '20240101000003-fails.js'"
assert_eq "20240101000001-create-a.js
20240101000002-create-b.js" "$(sqlite_sql "$T/noop/s1.db" 'SELECT name FROM SequelizeMeta ORDER BY name')" \
  "no-op downs: SequelizeMeta keeps both"
assert_eq "SequelizeMeta ta tb" "$(sqlite_sql "$T/noop/s1.db" "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)")" \
  "no-op downs: both tables stay"
js_file "$T/noop" 20240101000003-fails.js <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => { await queryInterface.createTable('tc', { id: { type: Sequelize.INTEGER, primaryKey: true } }); },
  down: async (queryInterface) => { await queryInterface.dropTable('tc'); },
};
EOF
drover_run 0 "$T/noop/drover.cfg" migrate --format json
assert_eq "migrated|20240101000003-fails.js" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, (.applied | join(" "))] | join("|")')" \
  "no-op downs: the next run resumes at the failed migration"

# A down that does something, but not all of it: the revert is proven wrong by the schema.
js_project "$T/leaky"
js_file "$T/leaky" 20240101000001-two-tables.js <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => {
    await queryInterface.createTable('tx1', { id: { type: Sequelize.INTEGER, primaryKey: true } });
    await queryInterface.createTable('tx2', { id: { type: Sequelize.INTEGER, primaryKey: true } });
  },
  down: async (queryInterface) => { await queryInterface.dropTable('tx1'); },
};
EOF
cp "$T/noop/migrations/20240101000002-create-b.js" "$T/leaky/migrations/"
js_file "$T/leaky" 20240101000003-fails.js <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface) => { await queryInterface.sequelize.query('SELECT * FROM no_such_table'); },
  down: async (queryInterface) => {},
};
EOF
sed -i 's/down: async (queryInterface) => {},/down: async (queryInterface) => { await queryInterface.sequelize.query("SELECT 1"); },/' \
  "$T/leaky/migrations/20240101000003-fails.js"
write_config "$T/leaky/drover.cfg" migrations "retries = 0;" '{ name = "dev"; }' "s1 dev sqlite:s1.db"
drover_run 1 "$T/leaky/drover.cfg" migrate --format json
assert_eq "dirty|20240101000002-create-b.js 20240101000001-two-tables.js" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, (.reverted | join(" "))] | join("|")')" \
  "leaky down: the reverts ran and the tenant is dirty, not rolled back"
assert_contains "$(json_get "$OUT_FILE" '.tenants[0].rollback_error.message')" \
  "the reverts did not bring the schema back to what it was before the run: it still has 'column tx2.id integer'"

# --- 11. A .sql migration without down in the batch: said plainly, nothing reverted.
mkdir -p "$T/nodown"
write_migration "$T/nodown/m" 20240101000001-keep.sql "CREATE TABLE kept (id INTEGER PRIMARY KEY);" ""
write_migration "$T/nodown/m" 20240101000002-bad.sql "INSERT INTO no_such_table VALUES (1);" "SELECT 1;"
write_config "$T/nodown/drover.cfg" m "retries = 0;" '{ name = "dev"; }' "s1 dev sqlite:s1.db"
drover_run 1 "$T/nodown/drover.cfg" migrate --format json
assert_eq "failed|null|20240101000001-keep.sql" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .dirty_migration, (.applied | join(" "))] | map(tostring) | join("|")')" \
  "no down: failed, the applied migration kept and nothing called half-applied"
assert_contains "$(json_get "$OUT_FILE" '.tenants[0].error.hint')" \
  "not rolled back: '20240101000001-keep.sql' has no down section"
drover_run 0 "$T/nodown/drover.cfg" status --format json
assert_eq "behind" "$(json_get "$OUT_FILE" '.tenants[0].state')" "no down: the tenant is behind, not dirty"

# --- 3. CREATE INDEX CONCURRENTLY in .js: rolled back and run again outside a transaction;
# or outside one from the start when migrations.no_transaction names it.
js_project "$T/conc"
js_file "$T/conc" 20240101000001-table.js <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => { await queryInterface.createTable('people', { id: { type: Sequelize.INTEGER, primaryKey: true }, name: Sequelize.STRING }); },
  down: async (queryInterface) => { await queryInterface.dropTable('people'); },
};
EOF
js_file "$T/conc" 20240101000002-index.js <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface) => { await queryInterface.addIndex('people', ['name'], { name: 'people_name', concurrently: true }); },
  down: async (queryInterface) => { await queryInterface.removeIndex('people', 'people_name', { concurrently: true }); },
};
EOF
db=$(unique_name jfc)
new_pg_db "$db"
write_config "$T/conc/drover.cfg" migrations "" '{ name = "dev"; }' "p1 dev $(pg_url "$db")"
drover_run 0 "$T/conc/drover.cfg" migrate --format json
assert_eq "migrated|2" "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, (.applied | length)] | map(tostring) | join("|")')" \
  "concurrently: migrated"
assert_eq "people_name" "$(pg_sql "$db" "SELECT indexname FROM pg_indexes WHERE tablename = 'people' AND indexname = 'people_name'")" \
  "concurrently: the index exists"
drover_run 0 "$T/conc/drover.cfg" undo --steps 1
assert_eq "" "$(pg_sql "$db" "SELECT indexname FROM pg_indexes WHERE indexname = 'people_name'")" \
  "concurrently: its DROP ran too"
sed -i 's/migrations = { path = "migrations"; };/migrations = { path = "migrations"; no_transaction = ["20240101000002-index.js"]; };/' "$T/conc/drover.cfg"
drover_run 0 "$T/conc/drover.cfg" migrate
assert_eq "people_name" "$(pg_sql "$db" "SELECT indexname FROM pg_indexes WHERE indexname = 'people_name'")" \
  "no_transaction: the index built"
sed -i 's/20240101000002-index.js/20240101000009-typo.js/' "$T/conc/drover.cfg"
drover_run 2 "$T/conc/drover.cfg" migrate
assert_contains "$ERR" "migrations.no_transaction names '20240101000009-typo.js', which is no .js migration in"

#!/usr/bin/env bash
# js_shared_runner.tsan.test.sh — one node runner serves several tenants at once: with
# js_runners = 2 and --parallel 8, ten tenants (PostgreSQL databases and schemas, MariaDB) whose
# migrations wait on their servers run in ONE Node process (a second is started only for CPU
# work), their waits overlap in time, each tenant's console output names that tenant, and every
# migration is applied exactly once (its side effect, SequelizeMeta). Migrations that keep a
# runner busy on the CPU get the second runner, and no more. Also runs under ThreadSanitizer:
# the pool's processes and channels are shared by the worker threads. (Run alone: CPU shares
# are measured.)
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"
# shellcheck source=tests/integration/mariadb-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/mariadb-common.sh"
# shellcheck source=tests/integration/js_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/js_lib.sh"

T=$DROVER_TEST_TMPDIR
# fleet_cfg FILE DEFAULTS TENANT...: an inventory of one environment over the tenants given as
# libconfig groups, migrations in ./migrations.
fleet_cfg() {
  local file=$1 defaults=$2
  shift 2
  {
    echo 'migrations = { path = "migrations"; };'
    echo 'environments = ( { name = "dev"; } );'
    echo "tenants = ( $(IFS=,; echo "$*") );"
    echo "defaults = { $defaults };"
  } | write_inventory "$file"
}
mkdir -p "$T/p/migrations"
ln -sfn "$NPM_CACHE/node_modules" "$T/p/node_modules"
# Each tenant's first migration notes which process ran it and when, around a 0.6 s wait on
# its server; it prints as teams' migrations do, also from a timer it leaves behind.
cat >"$T/p/migrations/20240101000001-note-runner.js" <<'JS'
'use strict';
module.exports = {
  async up(queryInterface, Sequelize) {
    const tenant = queryInterface.sequelize.config.database;
    await queryInterface.createTable('runner_note', {
      pid: { type: Sequelize.INTEGER, allowNull: false },
      started_ms: { type: Sequelize.BIGINT, allowNull: false },
      ended_ms: { type: Sequelize.BIGINT, allowNull: false },
    });
    const started = Date.now();
    console.log(`note-runner: start pid=${process.pid}`);
    const sleep = queryInterface.sequelize.getDialect() === 'mysql' ? 'SELECT SLEEP(0.6)' : 'SELECT pg_sleep(0.6)';
    await queryInterface.sequelize.query(sleep);
    setTimeout(() => console.log('note-runner: late line'), 50);
    await queryInterface.bulkInsert('runner_note', [{ pid: process.pid, started_ms: started, ended_ms: Date.now() }]);
    console.log(`note-runner: done for ${tenant}`);
  },
  async down(queryInterface) {
    await queryInterface.dropTable('runner_note');
  },
};
JS
cat >"$T/p/migrations/20240101000002-add-column.js" <<'JS'
'use strict';
module.exports = {
  up: (queryInterface) =>
    queryInterface.sequelize.query('ALTER TABLE runner_note ADD COLUMN checked boolean DEFAULT true'),
  down: (queryInterface) => queryInterface.sequelize.query('ALTER TABLE runner_note DROP COLUMN checked'),
};
JS

pg_ids=() tenants=()
for i in 1 2 3 4; do
  db=$(unique_name "jsshr$i")
  pg_new_db "$db"
  pg_ids+=("pgdb$i=$db")
  tenants+=("{ id = \"pgdb$i\"; env = \"dev\"; url = \"$(pg_url "$db")\"; }")
done
schemas_db=$(unique_name jsshrs)
pg_new_db "$schemas_db"
for i in 1 2 3; do
  pg_sql "$schemas_db" "CREATE SCHEMA s$i"
  tenants+=("{ id = \"pgs$i\"; env = \"dev\"; url = \"$(pg_url "$schemas_db")?schema=s$i\"; }")
done
my_dbs=()
for i in 1 2 3; do
  db=$(new_my_db "jsshm$i")
  my_dbs+=("$db")
  tenants+=("{ id = \"my$i\"; env = \"dev\"; url = \"$(my_url "$db")\"; }")
done
fleet_cfg "$T/p/drover.cfg" 'js_runners = 2; max_per_server = 8;' "${tenants[@]}"

cp "$(dirname "$DROVER_BIN")/noderunner/runner.js" "$T/runner.js"
assert_exit 0 env DROVER_NODERUNNER="$T/runner.js" "$DROVER_BIN" --config "$T/p/drover.cfg" \
  migrate --parallel 8 --format json
assert_eq "10" "$(json_get "$OUT_FILE" '[.tenants[] | select(.outcome == "migrated")] | length')" \
  "every tenant migrated"

# notes: "pid started ended tenant" a line, from every tenant.
notes() {
  local i
  for i in 1 2 3 4; do
    pg_sql "${pg_ids[$((i - 1))]#*=}" "SELECT pid, started_ms, ended_ms, 'pgdb$i' FROM runner_note" | tr '|' ' '
  done
  for i in 1 2 3; do
    pg_sql "$schemas_db" "SELECT pid, started_ms, ended_ms, 'pgs$i' FROM s$i.runner_note" | tr '|' ' '
  done
  for i in 1 2 3; do
    my_sql "${my_dbs[$((i - 1))]}" "SELECT pid, started_ms, ended_ms, 'my$i' FROM runner_note" | tr '\t' ' '
  done
}
notes >"$T/notes"
assert_eq "10" "$(wc -l <"$T/notes" | tr -d ' ')" "one note per tenant: each first migration ran once"
pids=$(awk '{print $1}' "$T/notes" | sort -u | wc -l)
assert_eq 1 "$pids" "ten tenants waiting on their servers ran in one node process"
# Two tenants of one process whose waits overlap: the process served them at the same time.
overlaps=$(sort -n -k1,1 -k2,2 "$T/notes" | awk '
  $1 == pid && $2 < ended { n++ } { if ($1 != pid || $3 > ended) ended = $3; pid = $1 } END { print n + 0 }')
[ "$overlaps" -gt 0 ] || fail "no two tenants of one runner overlapped: $(cat "$T/notes")"

for t in pgdb1 pgs2 my3; do
  assert_eq "2" "$(json_get "$OUT_FILE" ".tenants[] | select(.id == \"$t\") | .applied | length")" "$t: both migrations"
done
assert_eq "t" "$(pg_sql "$schemas_db" "SELECT checked FROM s2.runner_note")" "pgs2: the second migration ran on it"
# Every line a migration printed names the tenant that printed it, late ones too.
for i in 1 2 3; do
  db=${my_dbs[$((i - 1))]}
  assert_contains "$ERR" "drover: tenant 'my$i': migration '20240101000001-note-runner.js': stdout: note-runner: done for $db"
done
for i in 1 2 3 4; do
  db=${pg_ids[$((i - 1))]#*=}
  assert_contains "$ERR" "drover: tenant 'pgdb$i': migration '20240101000001-note-runner.js': stdout: note-runner: done for $db"
done
mislabelled=$(grep -c "note-runner: done for" "$ERR_FILE" || true)
assert_eq "10" "$mislabelled" "one 'done' line per tenant"
assert_eq "" "$(pgrep -f "$T/runner.js" || true)" "no runner left behind"

# A rerun finds nothing to do, and starts no runner for it.
assert_exit 0 env DROVER_NODERUNNER="$T/runner.js" "$DROVER_BIN" --config "$T/p/drover.cfg" \
  migrate --parallel 8 --format json
assert_eq "10" "$(json_get "$OUT_FILE" '[.tenants[] | select(.outcome == "up_to_date")] | length')" \
  "rerun: every tenant up to date"
assert_eq "10" "$(notes | wc -l | tr -d ' ')" "rerun: nothing ran twice"

# --- CPU-bound migrations: the busy runner gets company, up to js_runners.
mkdir -p "$T/cpu/migrations"
ln -sfn "$NPM_CACHE/node_modules" "$T/cpu/node_modules"
cat >"$T/cpu/migrations/20240101000001-spin.js" <<'JS'
'use strict';
module.exports = {
  async up(queryInterface) {
    const end = Date.now() + 800;
    while (Date.now() < end); // a migration that computes (a backfill built in JS)
    await queryInterface.sequelize.query(`CREATE TABLE spun (pid int); INSERT INTO spun VALUES (${process.pid})`);
  },
  async down(queryInterface) {
    await queryInterface.sequelize.query('DROP TABLE spun');
  },
};
JS
cpu_tenants=()
for i in 1 2 3 4 5 6; do
  pg_sql "$schemas_db" "CREATE SCHEMA c$i"
  cpu_tenants+=("{ id = \"c$i\"; env = \"dev\"; url = \"$(pg_url "$schemas_db")?schema=c$i\"; }")
done
fleet_cfg "$T/cpu/drover.cfg" 'js_runners = 2;' "${cpu_tenants[@]}"
assert_exit 0 env DROVER_NODERUNNER="$T/runner.js" "$DROVER_BIN" --config "$T/cpu/drover.cfg" \
  migrate --parallel 2
spun=$(for i in 1 2 3 4 5 6; do pg_sql "$schemas_db" "SELECT pid FROM c$i.spun"; done | sort -u | wc -l)
assert_eq 2 "$spun" "a runner busy on the CPU got a second one, and js_runners = 2 capped it"

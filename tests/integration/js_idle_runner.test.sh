#!/usr/bin/env bash
# js_idle_runner.test.sh — a node runner that dies while it waits between tenants (killed by an
# operator or the OOM killer) is noticed and replaced: the next tenant's .js migration runs on a
# fresh runner instead of failing.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"
# shellcheck source=tests/integration/js_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/js_lib.sh"

T=$DROVER_TEST_TMPDIR
project "$T/p" 20240101000001-create-users.js
# A .sql migration before the .js one that waits until its tenant's go_on table has a row: the
# test lets tenant a through at once and holds tenant b there, so that the runner a used sits
# idle while the test kills it.
cat >"$T/p/migrations/20240101000000-wait.sql" <<'SQL'
-- migrate:up
DO $$ BEGIN
  WHILE NOT EXISTS (SELECT 1 FROM go_on) LOOP PERFORM pg_sleep(0.05); END LOOP;
END $$;
-- migrate:down
SQL
t1=$(unique_name jsidle_a) t2=$(unique_name jsidle_b)
pg_new_db "$t1"
pg_new_db "$t2"
pg_sql "$t1" "CREATE TABLE go_on (x int); INSERT INTO go_on VALUES (1)"
pg_sql "$t2" "CREATE TABLE go_on (x int)"
pg_inventory "$T/p/drover.cfg" "path = \"migrations\";" a "$(pg_url "$t1")" b "$(pg_url "$t2")"

"$DROVER_BIN" --config "$T/p/drover.cfg" migrate --parallel 1 --format json \
  >"$T/out.json" 2>"$T/err.log" &
drover_pid=$!

# runner_pids: the node runners this drover started (its children), one a line.
runner_pids() { pgrep -P "$drover_pid" -f 'noderunner/runner\.js' || true; }
# wait_for DESC SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
  local desc=$1 tries=$(($2 * 10))
  shift 2
  until "$@"; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || fail "timed out waiting for $desc"
    sleep 0.1
  done
}
b_waits() {
  [ "$(pg_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$t2'
                        AND query LIKE 'DO \$\$%' AND state = 'active'")" = 1 ]
}
wait_for "tenant b's .sql migration" 60 b_waits
assert_eq "20240101000000-wait.sql 20240101000001-create-users.js" \
  "$(pg_rows "$t1" | paste -sd ' ')" "a: migrated on the first runner"
idle=$(runner_pids)
assert_eq 1 "$(grep -c . <<<"$idle")" "one runner, idle while b runs its .sql migration"
kill -KILL "$idle"
gone() { ! kill -0 "$idle" 2>/dev/null || [ "$(ps -o stat= -p "$idle" | cut -c1)" = Z ]; }
wait_for "the killed runner to exit" 10 gone
pg_sql "$t2" "INSERT INTO go_on VALUES (1)"

rc=0
wait "$drover_pid" || rc=$?
assert_eq 0 "$rc" "drover exits 0 ($(cat "$T/err.log"))"
assert_eq "a=migrated b=migrated" \
  "$(json_get "$T/out.json" '[.tenants[] | "\(.id)=\(.outcome)"] | join(" ")')" "both tenants migrated"
assert_eq "20240101000000-wait.sql 20240101000001-create-users.js" \
  "$(pg_rows "$t2" | paste -sd ' ')" "b: its .js migration ran on a fresh runner"
assert_eq "SequelizeMeta Users go_on" "$(pg_relations "$t2")" "b: Users created"

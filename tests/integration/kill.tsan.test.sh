#!/usr/bin/env bash
# kill.tsan.test.sh — SIGKILL of the coordinator in the middle of a migration, on each dialect, then
# a rerun. Every migration writes its name into a side table, so "applied exactly once" is
# something the tenant itself shows. PostgreSQL and SQLite run each migration in a transaction:
# the kill rolls the one in flight back and the rerun applies the rest once. MariaDB runs a
# migration as it comes and may go on with it without its client, so the journal's "started"
# mark makes the rerun refuse the tenant as dirty (never replay it); once the operator undid the
# half by hand and resolved it, the rerun applies the rest once.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"
# shellcheck disable=SC2016 # jq programs

jq_out() { json_get "$OUT_FILE" "$1"; }
ENVS='{ name = "prod"; }'
EXPECTED="m1,m2a,m2b,m3"

# write_set DIR SLEEP: the three migrations; m2 sleeps (SLEEP is the dialect's statement)
# between its two writes.
write_set() {
  write_migration "$1" 20240701000001-m1.sql "INSERT INTO side VALUES ('m1');" "DELETE FROM side WHERE name = 'm1';"
  write_migration "$1" 20240701000002-m2.sql "INSERT INTO side VALUES ('m2a');
$2;
INSERT INTO side VALUES ('m2b');" "DELETE FROM side WHERE name IN ('m2a', 'm2b');"
  write_migration "$1" 20240701000003-m3.sql "INSERT INTO side VALUES ('m3');" "DELETE FROM side WHERE name = 'm3';"
}

# kill_run NAME CONFIG WAITING_CMD...: starts a migrate, waits until WAITING_CMD succeeds
# (drover is inside m2), then SIGKILLs it.
kill_run() {
  local name=$1 cfg=$2
  shift 2
  drover_start "$name" "$cfg" migrate --format json
  wait_for 30 "drover to be inside migration 2" "$@"
  kill -KILL "${DROVER_PID[$name]}"
  drover_wait "$name" 137
}

# --- PostgreSQL ------------------------------------------------------------------------------
PGDB=$(unique_name kill_pg)
new_pg_db "$PGDB"
pg_sql "$PGDB" "CREATE TABLE side (name text)" >/dev/null
write_set "$T/pg" "SELECT pg_sleep(2)"
write_config "$T/pg.cfg" "$T/pg" "" "$ENVS" "t prod $(pg_url "$PGDB")"
pg_in_m2() {
  non_empty pg_sql postgres "SELECT pid FROM pg_stat_activity WHERE datname = '$PGDB'
      AND query LIKE 'SELECT pg_sleep(2)%'"
}
kill_run pgkill "$T/pg.cfg" pg_in_m2
drover_run 0 "$T/pg.cfg" migrate --format json
assert_eq "succeeded|migrated|20240701000002-m2.sql 20240701000003-m3.sql" \
  "$(jq_out '[.outcome, .tenants[0].outcome, (.tenants[0].applied | join(" "))] | join("|")')" \
  "pg: the rerun applies what the killed run had not committed"
assert_eq "$EXPECTED" "$(pg_sql "$PGDB" "SELECT string_agg(name, ',' ORDER BY name) FROM side")" \
  "pg: every migration's effect exactly once"

# --- SQLite ----------------------------------------------------------------------------------
LITE=$T/kill.sqlite
sqlite_sql "$LITE" "CREATE TABLE side (name text);"
SPIN="SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT x FROM c)"
write_set "$T/lite" "$SPIN"
write_config "$T/lite.cfg" "$T/lite" "" "$ENVS" "t prod sqlite:$LITE"
# m1 committed: the next transaction, m2's, is under way (its spin takes about a second).
lite_after_m1() { [ "$(sqlite_sql "$LITE" "SELECT count(*) FROM side WHERE name = 'm1'")" = 1 ]; }
kill_run litekill "$T/lite.cfg" lite_after_m1
drover_run 0 "$T/lite.cfg" migrate --format json
assert_eq "succeeded|migrated" "$(jq_out '[.outcome, .tenants[0].outcome] | join("|")')" \
  "sqlite: the rerun migrates"
assert_eq "$EXPECTED" "$(sqlite_sql "$LITE" "SELECT group_concat(name, ',') FROM (SELECT name FROM side ORDER BY name)")" \
  "sqlite: every migration's effect exactly once"

# --- MariaDB ---------------------------------------------------------------------------------
MYDB=$(unique_name kill_my)
new_my_db "$MYDB"
my_sql "$MYDB" "CREATE TABLE side (name varchar(20))"
write_set "$T/my" "SELECT SLEEP(2)"
write_config "$T/my.cfg" "$T/my" "" "$ENVS" "t prod $(my_url "$MYDB")"
my_in_m2() {
  non_empty my_sql "" "SELECT id FROM information_schema.PROCESSLIST
      WHERE db = '$MYDB' AND info LIKE 'SELECT SLEEP(2)%'"
}
my_quiet() { ! non_empty my_sql "" "SELECT id FROM information_schema.PROCESSLIST WHERE db = '$MYDB'"; }
kill_run mykill "$T/my.cfg" my_in_m2
wait_for 30 "the server to finish with the killed client's query" my_quiet
drover_run 1 "$T/my.cfg" migrate --format json
assert_eq "failed|dirty|20240701000002-m2.sql|0" \
  "$(jq_out '.tenants[0] as $t | [.outcome, $t.outcome, $t.dirty_migration, $t.attempts] | map(tostring) | join("|")')" \
  "mariadb: the rerun refuses the tenant whose migration 2 started and never ended"
assert_contains "$(jq_out '.tenants[0].error.message')" \
  "migration '20240701000002-m2.sql' may be half-applied (the migration was sent without a transaction and its end was never recorded" \
  "mariadb: the refusal says why"
assert_eq "20240701000001-m1.sql" "$(my_sql "$MYDB" 'SELECT GROUP_CONCAT(name ORDER BY name) FROM SequelizeMeta')" \
  "mariadb: only migration 1 is recorded"
# The operator undoes what migration 2 did, whatever the server got through, and resolves.
my_sql "$MYDB" "DELETE FROM side WHERE name IN ('m2a', 'm2b')"
drover_run 0 "$T/my.cfg" resolve --tenant t
drover_run 0 "$T/my.cfg" migrate --format json
assert_eq "succeeded|migrated|20240701000002-m2.sql 20240701000003-m3.sql" \
  "$(jq_out '[.outcome, .tenants[0].outcome, (.tenants[0].applied | join(" "))] | join("|")')" \
  "mariadb: resolved, the rerun applies the rest"
assert_eq "$EXPECTED" "$(my_sql "$MYDB" "SELECT GROUP_CONCAT(name ORDER BY name) FROM side")" \
  "mariadb: every migration's effect exactly once"
drover_run 0 "$T/my.cfg" status --format json
assert_eq "current|null" "$(jq_out '.tenants[0] | [.state, .dirty_migration] | map(tostring) | join("|")')" \
  "mariadb: a clean run leaves no started mark behind"

#!/usr/bin/env bash
# shared_run.tsan.test.sh — many coordinators, one rollout: drover processes sharing a run through
# a PostgreSQL control database (control.h), over 30 tenants (PostgreSQL databases and schemas,
# MariaDB, SQLite). Every migration writes a row into the tenant's own `effects` table, so
# "applied exactly once" is counted on the tenants themselves.
#   1. 4 processes join run r1; one is killed with SIGKILL while it holds tenants; the others
#      and a rerun of r1 finish them; staging ends before prod begins and the canaries before
#      the rest of staging, across processes; `runs show` tells who ran what.
#   2. a failure budget of 1 with 2 tenants failing in 2 processes halts all 4 processes; with
#      on_failure = "revert", what a killed process migrated is reverted by one still there;
#      a halted process reports the tenants others were still running with their real outcome.
#   3. a dirty mark made by one process stops another; `resolve` from a third clears it; a run
#      without --run is recorded in the control database as a run of its own.
#   4. the control database goes away mid-run: a clear error, no tenant half-done, and the
#      rerun completes.
#   5. a drover-agent whose inventory names the control database records its batch there.
#   6. webhooks of a shared run go out once per run, with the whole run's counts.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2016 # ${...} in inventories are for drover to expand

T=$DROVER_TEST_TMPDIR
CTL=$(unique_name shared_ctl)
PGT=$(unique_name shared_pgt) # the database of the schema tenants
REV=$(unique_name shared_rev)  # part 2b's
PG_DBS=() MY_DBS=()
for i in 1 2 3 4 5 6 7 8; do PG_DBS+=("$(unique_name "shared_pg$i")"); done
for i in 1 2 3 4 5 6 7; do MY_DBS+=("$(unique_name "shared_my$i")"); done
MY_DIRTY=$(unique_name shared_mydirty)
PROXY_PID=
cleanup() {
  [ -z "$PROXY_PID" ] || { pkill -9 -P "$PROXY_PID"; kill -9 "$PROXY_PID"; } 2>/dev/null || true
  local db
  for db in "$CTL" "$PGT" "$REV" "${PG_DBS[@]}"; do pg_drop_db "$db" || true; done
  for db in "${MY_DBS[@]}" "$MY_DIRTY"; do my_drop_db "$db" || true; done
  # shellcheck disable=SC2046 # the drover processes this test started, if any is left
  kill -9 $(jobs -p) 2>/dev/null || true
}
trap 'rc=$?; cleanup >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT
pg_create_db "$CTL"
pg_create_db "$PGT"
for db in "${PG_DBS[@]}"; do pg_create_db "$db"; done
for db in "${MY_DBS[@]}" "$MY_DIRTY"; do my_create_db "$db"; done

export CP_PW=$DROVER_TEST_PG_PASSWORD
PG="postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT"
MY="mysql://drover:\${DROVER_TEST_MYSQL_PASSWORD}@127.0.0.1:$DROVER_TEST_MYSQL_PORT"
CONTROL="control = { url = \"postgres://drover:\${CP_PW}@127.0.0.1:$DROVER_TEST_PG_PORT/$CTL\"; lease = 3; };"

# Each migration takes a moment of server work (a counting CTE every dialect runs), so that
# processes overlap; each leaves one row in the tenant's effects table.
SLOW="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 150000) SELECT count(*) FROM c;"
mig() { # mig DIR NAME BODY
  mkdir -p "$1"
  printf -- '-- migrate:up\n%s\n-- migrate:down\nSELECT 1;\n' "$3" >"$1/$2"
}
M=$T/migrations
mig "$M" 20240101000001-effects.sql "CREATE TABLE effects (migration VARCHAR(40));
INSERT INTO effects VALUES ('m1');"
mig "$M" 20240101000002-second.sql "$SLOW
INSERT INTO effects VALUES ('m2');"
mig "$M" 20240101000003-third.sql "$SLOW
INSERT INTO effects VALUES ('m3');"

# The fleet: staging (2 canaries) then prod, every kind of tenant in both.
tenants() {
  local i=0 id env db
  for db in "${PG_DBS[@]}"; do
    i=$((i + 1)); env=prod; [ $i -le 2 ] && env=staging
    echo "{ id = \"pg$i\"; env = \"$env\"; url = \"$PG/$db\"; },"
  done
  for i in 1 2 3 4 5 6 7 8; do
    env=prod; [ $i -le 1 ] && env=staging
    echo "{ id = \"sch$i\"; env = \"$env\"; url = \"$PG/$PGT?schema=t$i\"; },"
  done
  i=0
  for db in "${MY_DBS[@]}"; do
    i=$((i + 1)); env=prod; [ $i -le 2 ] && env=staging
    echo "{ id = \"my$i\"; env = \"$env\"; url = \"$MY/$db\"; },"
  done
  for i in 1 2 3 4 5 6 7; do
    env=prod; [ $i -le 1 ] && env=staging
    echo "{ id = \"lite$i\"; env = \"$env\"; url = \"sqlite:lite$i.db\"; },"
  done
}
for i in 1 2 3 4 5 6 7 8; do pg_sql "$PGT" "CREATE SCHEMA t$i" >/dev/null; done
CFG=$T/drover.cfg
{
  echo 'migrations = { path = "migrations"; };'
  echo "$CONTROL"
  echo 'environments = ( { name = "staging"; canary = 2; }, { name = "prod"; max_failures = 1; } );'
  echo 'tenants = ('
  tenants | sed '$ s/,$//'
  echo ');'
} >"$CFG"
ALL_IDS=$(tenants | sed 's/.*id = "\([^"]*\)".*/\1/')
[ "$(wc -l <<<"$ALL_IDS")" -eq 30 ] || fail "the fleet must have 30 tenants"

drover() { "$DROVER_BIN" --config "$CFG" "$@"; }
ctl() { pg_sql "$CTL" "$1" 2>/dev/null; }

# effects_of ID: the tenant's effects rows, sorted, one line.
effects_of() {
  local id=$1 n
  case $id in
    pg*) n=${id#pg}; pg_sql "${PG_DBS[$((n - 1))]}" "SELECT migration FROM effects ORDER BY 1" ;;
    sch*) n=${id#sch}; pg_sql "$PGT" "SELECT migration FROM t$n.effects ORDER BY 1" ;;
    my*) n=${id#my}; my_sql "${MY_DBS[$((n - 1))]}" "SELECT migration FROM effects ORDER BY 1" ;;
    lite*) sqlite_sql "$T/$id.db" "SELECT migration FROM effects ORDER BY 1" ;;
  esac 2>/dev/null | paste -sd' '
}

# --- 1. four processes, one SIGKILLed ----------------------------------------------------------
# The first process starts alone and is frozen (SIGSTOP) while it holds tenants, none of them
# MariaDB (a MariaDB migration killed halfway is, rightly, dirty: part 3's subject); then three
# more join, and the first is killed with SIGKILL: its claims must pass to the others.
"$DROVER_BIN" --config "$CFG" migrate --run r1 --parallel 2 >"$T/w1.out" 2>"$T/w1.err" &
VICTIM=$!
held_by_victim() {
  ctl "SELECT string_agg(tenant, ' ') FROM drover.run_tenants WHERE run = 'r1'
       AND state = 'claimed' AND worker LIKE '%:$VICTIM:%'"
}
holds_safely() {
  local held
  held=$(held_by_victim)
  [ -n "$held" ] && [[ " $held" != *" my"* ]]
}
# SIGSTOP freezes what it holds, so the check after it is the truth the kill will leave.
deadline=$((SECONDS + 60))
until holds_safely && kill -STOP "$VICTIM" && { holds_safely || ! kill -CONT "$VICTIM"; }; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the first process never held a tenant to be killed in"
  sleep 0.02
done
KILLED_HELD=$(held_by_victim)
pids=()
for w in 2 3 4; do
  "$DROVER_BIN" --config "$CFG" migrate --run r1 --parallel 2 >"$T/w$w.out" 2>"$T/w$w.err" &
  pids+=($!)
done
sleep 0.5
kill -9 "$VICTIM"
wait "$VICTIM" || true
for p in "${pids[@]}"; do wait "$p" || fail "a surviving process failed: $(cat "$T"/w*.err)"; done
# The survivors took the killed process's tenants over once its leases expired, or left them
# to the rerun (a survivor may end before the leases expire): the rerun finishes the run.
assert_exit 0 drover migrate --run r1 --parallel 4
assert_eq "succeeded" "$(ctl "SELECT outcome FROM drover.runs WHERE name = 'r1'")" "r1 ended"
for id in $ALL_IDS; do
  assert_eq "m1 m2 m3" "$(effects_of "$id")" "tenant $id: every migration exactly once"
done
for id in $KILLED_HELD; do
  assert_eq "2" "$(ctl "SELECT claims FROM drover.run_tenants WHERE run = 'r1' AND tenant = '$id'")" \
    "$id was claimed again after the kill"
done
assert_eq "t" "$(ctl "SELECT count(DISTINCT worker) >= 3 FROM drover.run_tenants WHERE run = 'r1'")" \
  "the tenants were spread over the processes"
# Environments and canaries in order, across processes: nothing of prod began before the last
# staging tenant ended, and no other staging tenant before both canaries ended.
assert_eq "t" "$(ctl "SELECT (SELECT max(ended_at) FROM drover.run_tenants WHERE run = 'r1' AND env_pos = 0)
  <= (SELECT min(started_at) FROM drover.run_tenants WHERE run = 'r1' AND env_pos = 1)")" "staging before prod"
assert_eq "pg1 pg2" "$(ctl "SELECT string_agg(tenant, ' ' ORDER BY position) FROM drover.run_tenants
  WHERE run = 'r1' AND canary")" "the first two of staging are its canaries"
assert_eq "t" "$(ctl "SELECT (SELECT max(ended_at) FROM drover.run_tenants WHERE run = 'r1' AND canary)
  <= (SELECT min(started_at) FROM drover.run_tenants WHERE run = 'r1' AND env_pos = 0 AND NOT canary)")" \
  "canaries before the rest of staging"
# The live view, from any machine: JSON and text.
assert_exit 0 drover runs show r1 --format json
assert_eq "30 30 0 succeeded" "$(jq -r '"\(.counts.total) \(.counts.done) \(.counts.failed) \(.outcome)"' "$OUT_FILE")"
assert_exit 0 drover runs
assert_contains "$OUT" "r1"
# A finished run answers so, and its results.
assert_exit 0 drover migrate --run r1 --format json
assert_contains "$ERR" "run 'r1' already finished"
assert_eq "30" "$(jq '[.tenants[] | select(.outcome == "migrated")] | length' "$OUT_FILE")"
# Another selection cannot join it: exit 2, nothing run.
assert_exit 2 drover migrate --run r1 --env prod
assert_contains "$ERR" "run 'r1' was started with another selection of tenants"
assert_not_contains "$OUT$ERR" "$DROVER_TEST_PG_PASSWORD" "a password was printed"

# --- 2. a failure budget across processes ------------------------------------------------------
# pg3 and pg4, the first two of prod, fail on the table m4 creates. Each process runs one tenant at
# a time, and the test holds each trap table's creation open in a transaction of its own, so the
# process that claims pg3 waits on it: pg4 can only be claimed by another process. Once both are
# claimed, the holders commit and both tenants fail, each in its own process. The history says
# pg3 and pg4 were r1's slowest tenants, so they are claimed first in prod (slowest first) and
# the halt leaves tenants unstarted.
ctl "UPDATE drover.run_tenants SET ended_at = started_at + interval '1 hour', claims = 1
     WHERE run = 'r1' AND tenant IN ('pg3', 'pg4')" >/dev/null
mig "$M" 20240101000004-fourth.sql "$SLOW
CREATE TABLE trap (id INT);"
hold() { # hold DB SQL FLAG END: SQL in a transaction held open until the file FLAG exists, then END
  { echo "BEGIN; $2"
    local deadline=$((SECONDS + 90))
    until [ -e "$3" ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.05; done
    echo "$4;"; } | pg_stream "$1"
}
hold "${PG_DBS[2]}" "CREATE TABLE trap (id INT);" "$T/release" COMMIT & holders=($!)
hold "${PG_DBS[3]}" "CREATE TABLE trap (id INT);" "$T/release" COMMIT & holders+=($!)
deadline=$((SECONDS + 30))
until [ "$(ctl "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'
             AND datname IN ('${PG_DBS[2]}', '${PG_DBS[3]}')")" = 2 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the trap holders never opened their transactions"
  sleep 0.05
done
pids=()
for w in 1 2 3 4; do
  "$DROVER_BIN" --config "$CFG" migrate --run r2 --parallel 1 >"$T/b$w.out" 2>"$T/b$w.err" &
  pids+=($!)
done
deadline=$((SECONDS + 60))
until [ "$(ctl "SELECT count(DISTINCT worker) FROM drover.run_tenants WHERE run = 'r2'
             AND tenant IN ('pg3', 'pg4') AND state = 'claimed'")" = 2 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "pg3 and pg4 were never claimed by two processes"
  sleep 0.05
done
touch "$T/release"
for h in "${holders[@]}"; do wait "$h" || fail "a trap holder failed"; done
for p in "${pids[@]}"; do
  rc=0
  wait "$p" || rc=$?
  assert_eq 1 "$rc" "every process ends halted"
done
for w in 1 2 3 4; do
  assert_contains "$(cat "$T/b$w.err" "$T/b$w.out")" "environment 'prod': 2 of 24 tenants failed, more than max_failures allows (1)"
done
assert_eq "halted" "$(ctl "SELECT outcome FROM drover.runs WHERE name = 'r2'")"
assert_eq "2" "$(ctl "SELECT count(DISTINCT worker) FROM drover.run_tenants WHERE run = 'r2' AND failure")" \
  "the two failures came from two processes"
assert_eq "t" "$(ctl "SELECT count(*) > 0 FROM drover.run_tenants WHERE run = 'r2' AND env_pos = 1 AND state = 'pending'")" \
  "the halt left prod tenants unstarted"

# --- 2b. on_failure = "revert" covers what a process gone from the run migrated ---------------
# Four schema tenants in prod, which halts on its first failure and reverts. Process A migrates
# v1, then waits on v2 (a trap holder keeps v2's table creation open) and is killed there.
# Process B then runs v3 and fails on v4 (its table exists already): the run halts; B reverts
# v3, and v1 too, once A has been gone for a lease.
pg_create_db "$REV"
for i in 1 2 3 4; do pg_sql "$REV" "CREATE SCHEMA v$i" >/dev/null; done
pg_sql "$REV" "CREATE TABLE v4.rev (id INT)" >/dev/null
MR=$T/mrev
mkdir -p "$MR"
printf -- '-- migrate:up\nCREATE TABLE rev (id INT);\n-- migrate:down\nDROP TABLE rev;\n' \
  >"$MR/20240101000001-rev.sql"
CFGR=$T/revert.cfg
{
  echo 'migrations = { path = "mrev"; };'
  echo "$CONTROL"
  echo 'environments = ( { name = "prod"; max_failures = 0; on_failure = "revert"; } );'
  echo 'tenants = ('
  for i in 1 2 3; do echo "{ id = \"v$i\"; env = \"prod\"; url = \"$PG/$REV?schema=v$i\"; },"; done
  echo "{ id = \"v4\"; env = \"prod\"; url = \"$PG/$REV?schema=v4\"; } );"
} >"$CFGR"
rev_tables() { pg_sql "$REV" "SELECT string_agg(schemaname, ' ' ORDER BY schemaname) FROM pg_tables WHERE tablename = 'rev'"; }
rm -f "$T/release2"
hold "$REV" "CREATE TABLE v2.rev (id INT);" "$T/release2" ROLLBACK &
holder=$!
"$DROVER_BIN" --config "$CFGR" migrate --run rv --parallel 1 >"$T/ra.out" 2>"$T/ra.err" &
A=$!
deadline=$((SECONDS + 60))
until [ "$(ctl "SELECT string_agg(tenant || ':' || state || ':' || coalesce(outcome, ''), ' ' ORDER BY position)
             FROM drover.run_tenants WHERE run = 'rv' AND tenant IN ('v1', 'v2') AND worker LIKE '%:$A:%'")" \
        = "v1:done:migrated v2:claimed:" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "process A never migrated v1 and waited on v2"
  sleep 0.05
done
kill -9 "$A"
wait "$A" || true
touch "$T/release2"
wait "$holder" || fail "the trap holder failed"
assert_eq "v1 v4" "$(rev_tables)" "A migrated v1 before it was killed"
assert_exit 1 "$DROVER_BIN" --config "$CFGR" migrate --run rv --parallel 1 --format json
assert_contains "$ERR" "environment 'prod': 1 of 4 tenants failed, more than max_failures allows (0)"
assert_eq "v4" "$(rev_tables)" "v1 (by the gone process) and v3 (by this one) reverted; v4's own table stays"
assert_eq "v1:reverted v3:reverted v4:failed" \
  "$(jq -r '[.tenants[] | select(.id != "v2") | "\(.id):\(.outcome)"] | join(" ")' "$OUT_FILE")" \
  "the report shows the gone process's tenant reverted"
assert_eq "reverted t" "$(ctl "SELECT outcome, worker NOT LIKE '%:$A:%' FROM drover.run_tenants
  WHERE run = 'rv' AND tenant = 'v1'" | tr '|' ' ')" "the control database records who reverted v1"
assert_eq "" "$(pg_sql "$REV" 'SELECT name FROM v1."SequelizeMeta"')" "v1's SequelizeMeta is empty again"

# --- 2c. a halted run's report waits for the tenants other processes are still running --------
# Process P takes v1 and waits on it (a trap holder); process Q takes v2, which fails: the run
# halts while v1 still runs in P. Q's report must give v1's real outcome, not "skipped".
for i in 1 2; do pg_sql "$REV" "DROP SCHEMA IF EXISTS w$i CASCADE; CREATE SCHEMA w$i" >/dev/null; done
pg_sql "$REV" "CREATE TABLE w2.rev (id INT)" >/dev/null
CFGS=$T/settle.cfg
{
  echo 'migrations = { path = "mrev"; };'
  echo "$CONTROL"
  echo 'environments = ( { name = "prod"; max_failures = 0; } );'
  echo "tenants = ( { id = \"w1\"; env = \"prod\"; url = \"$PG/$REV?schema=w1\"; },"
  echo "            { id = \"w2\"; env = \"prod\"; url = \"$PG/$REV?schema=w2\"; } );"
} >"$CFGS"
rm -f "$T/release3"
hold "$REV" "CREATE TABLE w1.rev (id INT);" "$T/release3" ROLLBACK &
holder=$!
"$DROVER_BIN" --config "$CFGS" migrate --run st --parallel 1 --format json >"$T/p.out" 2>"$T/p.err" &
P=$!
deadline=$((SECONDS + 60))
until [ "$(ctl "SELECT state FROM drover.run_tenants WHERE run = 'st' AND tenant = 'w1'")" = claimed ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "process P never took w1"
  sleep 0.05
done
"$DROVER_BIN" --config "$CFGS" migrate --run st --parallel 1 --format json >"$T/q.out" 2>"$T/q.err" &
Q=$!
deadline=$((SECONDS + 60))
until [ -n "$(ctl "SELECT halted FROM drover.runs WHERE name = 'st' AND halted IS NOT NULL")" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "w2's failure never halted the run"
  sleep 0.05
done
sleep 0.5 # Q has halted; it must still be waiting for w1
kill -0 "$Q" 2>/dev/null || fail "Q ended while w1 was still running in P"
_lib_pass
touch "$T/release3"
wait "$holder" || fail "the trap holder failed"
rc=0; wait "$Q" || rc=$?
assert_eq 1 "$rc" "Q ends halted"
rc=0; wait "$P" || rc=$?
assert_eq 1 "$rc" "P ends halted"
for w in p q; do
  assert_eq "w1:migrated w2:failed" "$(jq -r '[.tenants[] | "\(.id):\(.outcome)"] | join(" ")' "$T/$w.out")" \
    "$w's report holds w1's real outcome"
done

# --- 3. dirty marks across processes ------------------------------------------------------------
M5=$T/m5
mig "$M5" 20240101000005-dirty.sql "CREATE TABLE fifth (id INT);
CREATE TABLE trap2 (id INT);"
my_sql "$MY_DIRTY" "CREATE TABLE trap2 (id INT)"
CFG5=$T/dirty.cfg
printf 'migrations = { path = "m5"; };\n%s\nenvironments = ( { name = "prod"; } );\ntenants = ( { id = "mydirty"; env = "prod"; url = "%s/%s"; } );\n' \
  "$CONTROL" "$MY" "$MY_DIRTY" >"$CFG5"
assert_exit 1 "$DROVER_BIN" --config "$CFG5" migrate --run d1
assert_eq "1" "$(ctl "SELECT count(*) FROM drover.dirty WHERE tenant = 'mydirty' AND migration = '20240101000005-dirty.sql'")"
# Another process, another run (another machine's journal): refused, nothing run.
assert_exit 1 "$DROVER_BIN" --config "$CFG5" migrate --run d2 --format json
assert_eq "dirty" "$(jq -r '.tenants[0].outcome' "$OUT_FILE")"
my_sql "$MY_DIRTY" "DROP TABLE fifth; DROP TABLE trap2"
# A third clears it, and the next run migrates the tenant.
assert_exit 0 "$DROVER_BIN" --config "$CFG5" resolve --tenant mydirty
assert_contains "$OUT" "mydirty: dirty mark cleared"
# A run without --run: its own rollout, recorded in the control database as a run of its own,
# so that 'runs' on any machine shows it.
assert_exit 0 "$DROVER_BIN" --config "$CFG5" migrate
assert_exit 0 "$DROVER_BIN" --config "$CFG5" runs --format json
LOCAL_RUN=$(jq -r '[.shared_runs[] | select(.name | startswith("migrate@"))][0].name' "$OUT_FILE")
assert_contains "$LOCAL_RUN" "migrate@" "the run without --run is in the control database"
assert_exit 0 "$DROVER_BIN" --config "$CFG5" runs show "$LOCAL_RUN" --format json
assert_eq "succeeded mydirty done migrated" \
  "$(jq -r '"\(.outcome) \(.tenants[0].id) \(.tenants[0].state) \(.tenants[0].outcome)"' "$OUT_FILE")"
assert_eq "20240101000005-dirty.sql" "$(jq -r '.tenants[0].result.steps[0].migration' "$OUT_FILE")" \
  "the tenant's steps are in the control database"
assert_exit 0 "$DROVER_BIN" --config "$CFG5" runs
assert_contains "$OUT" "$LOCAL_RUN"

# --- 4. the control database goes away mid-run ------------------------------------------------
PPORT=$(free_port)
start_proxy() {
  socat "TCP-LISTEN:$PPORT,bind=127.0.0.1,fork,reuseaddr" "TCP:127.0.0.1:$DROVER_TEST_PG_PORT" \
    >"$T/socat.log" 2>&1 &
  PROXY_PID=$!
  local deadline=$((SECONDS + 10))
  until bash -c "exec 3<>/dev/tcp/127.0.0.1/$PPORT" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the proxy did not listen"
    sleep 0.05
  done
}
stop_proxy() {
  pkill -9 -P "$PROXY_PID" || true
  kill -9 "$PROXY_PID" || true
  wait "$PROXY_PID" 2>/dev/null || true
  PROXY_PID=
}
start_proxy
M6=$T/m6
for k in 1 2 3; do mig "$M6" "2024010100000$k-lost$k.sql" "$SLOW $SLOW
INSERT INTO lost_effects VALUES ('m$k');"; done
for i in 1 2 3 4 5 6 7 8; do pg_sql "$PGT" "CREATE TABLE t$i.lost_effects (migration VARCHAR(40))"; done
CFG6=$T/lost.cfg
{
  echo 'migrations = { path = "m6"; table = "LostMeta"; };'
  echo "control = { url = \"postgres://drover:\${CP_PW}@127.0.0.1:$PPORT/$CTL\"; lease = 3; };"
  echo 'environments = ( { name = "prod"; } );'
  echo 'tenants = ('
  for i in 1 2 3 4 5 6 7 8; do echo "{ id = \"sch$i\"; env = \"prod\"; url = \"$PG/$PGT?schema=t$i\"; },"; done | sed '$ s/,$//'
  echo ');'
} >"$CFG6"
"$DROVER_BIN" --config "$CFG6" migrate --run c1 --parallel 2 >"$T/c.out" 2>"$T/c.err" &
CPID=$!
deadline=$((SECONDS + 60))
until [ "$(ctl "SELECT count(*) FROM drover.run_tenants WHERE run = 'c1' AND state = 'done'")" -ge 1 ] 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "run c1 never finished a tenant"
  sleep 0.05
done
stop_proxy
rc=0
wait "$CPID" || rc=$?
assert_eq 1 "$rc" "losing the control database fails the run"
assert_contains "$(cat "$T/c.err" "$T/c.out")" "lost the control database postgres://drover:***@127.0.0.1:$PPORT/$CTL"
# No tenant half-done: what SequelizeMeta records is exactly what ran.
for i in 1 2 3 4 5 6 7 8; do
  assert_eq "$(pg_sql "$PGT" "SELECT count(*) FROM t$i.\"LostMeta\"" 2>/dev/null || echo 0)" \
    "$(pg_sql "$PGT" "SELECT count(*) FROM t$i.lost_effects")" "sch$i: recorded = applied"
done
assert_eq "0" "$(ctl "SELECT count(*) FROM drover.dirty WHERE tenant LIKE 'sch%'")" "nothing dirty"
# Without it, nothing starts: a clear error, exit 2.
assert_exit 2 "$DROVER_BIN" --config "$CFG6" migrate --run c1
assert_contains "$ERR" "cannot reach the control database postgres://drover:***@127.0.0.1:$PPORT/$CTL"
start_proxy
assert_exit 0 "$DROVER_BIN" --config "$CFG6" migrate --run c1 --parallel 4
for i in 1 2 3 4 5 6 7 8; do
  assert_eq "m1 m2 m3" "$(pg_sql "$PGT" "SELECT migration FROM t$i.lost_effects ORDER BY 1" | paste -sd' ')" \
    "sch$i: every migration exactly once after the rerun"
done

# --- 5. a drover-agent reports into the same control database ---------------------------------
# The agent's own inventory names the control database: its batch shows there as a run of its
# own beside the coordinator's shared run, so a fleet spread over networks shows in one place.
AG=$T/agent
mkdir -p "$AG"
mig "$AG/migrations" 20240101000007-edge.sql "CREATE TABLE edge (id INT);"
cp -r "$AG/migrations" "$T/m7"
echo "token-edge-0123456789" >"$AG/tokens"
{
  echo 'migrations = { path = "migrations"; };'
  echo "$CONTROL"
  echo 'environments = ( { name = "prod"; } );'
  echo 'tenants = ( { id = "edge1"; env = "prod"; url = "sqlite:edge1.db"; } );'
} >"$AG/drover.cfg"
APORT=$(free_port)
printf 'port = %s;\ntoken_file = "tokens";\ninventory = "drover.cfg";\n' "$APORT" >"$AG/agent.cfg"
"$DROVER_AGENT_BIN" --config "$AG/agent.cfg" 2>"$AG/agent.log" &
APID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$APORT/healthz" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$APORT/healthz" >/dev/null || fail "the agent did not start: $(cat "$AG/agent.log")"
CFG7=$T/edge.cfg
{
  echo 'migrations = { path = "m7"; };'
  echo "$CONTROL"
  echo "agents = ( { name = \"edge\"; url = \"http://127.0.0.1:$APORT\"; token = \"token-edge-0123456789\"; } );"
  echo 'environments = ( { name = "prod"; } );'
  echo 'tenants = ( { id = "edge1"; env = "prod"; agent = "edge"; } );'
} >"$CFG7"
assert_exit 0 "$DROVER_BIN" --config "$CFG7" migrate --run e1
assert_eq "e1 done migrated
migrate@ done migrated" "$(ctl "SELECT regexp_replace(t.run, '@.*', '@') || ' ' || t.state || ' ' || t.outcome
  FROM drover.run_tenants t JOIN drover.runs r ON r.name = t.run WHERE t.tenant = 'edge1'
  AND (t.run = 'e1' OR r.created_by LIKE '%:$APID:%') ORDER BY 1")" \
  "the coordinator's run and the agent's batch both record edge1"
assert_eq "1" "$(sqlite_sql "$AG/edge1.db" "SELECT count(*) FROM SequelizeMeta")"
kill "$APID"
wait "$APID" || fail "the agent did not exit 0 on SIGTERM"

# --- 6. webhooks: once per run, not once per process ------------------------------------------
# Three processes share run n1 over two environments; every run- and environment-level event
# goes out once, from whichever process got to it, with the whole run's counts.
RECEIVER=${DROVER_WEBHOOK_RECEIVER:?DROVER_WEBHOOK_RECEIVER is not set (run through ctest)}
"$RECEIVER" "$T/hooks.log" >"$T/hooks.port" 2>"$T/hooks.err" &
RPID=$!
for _ in $(seq 100); do [ -s "$T/hooks.port" ] && break; sleep 0.05; done
[ -s "$T/hooks.port" ] || fail "webhook_receiver did not start: $(cat "$T/hooks.err")"
mig "$T/m8" 20240101000008-hooks.sql "$SLOW
CREATE TABLE hooked (id INT);"
CFG8=$T/hooks.cfg
{
  echo 'migrations = { path = "m8"; };'
  echo "$CONTROL"
  echo 'environments = ( { name = "staging"; }, { name = "prod"; } );'
  echo 'tenants = ('
  for i in 1 2 3 4 5 6; do
    env=prod; [ $i -le 2 ] && env=staging
    echo "{ id = \"hook$i\"; env = \"$env\"; url = \"sqlite:hook$i.db\"; },"
  done | sed '$ s/,$//'
  echo ');'
  echo "notify = ( { url = \"http://127.0.0.1:$(cat "$T/hooks.port")/hooks\"; } );"
} >"$CFG8"
pids=()
for w in 1 2 3; do
  "$DROVER_BIN" --config "$CFG8" migrate --run n1 --parallel 1 >"$T/n$w.out" 2>"$T/n$w.err" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a process of n1 failed: $(cat "$T"/n*.err)"; done
kill "$RPID"
wait "$RPID" 2>/dev/null || true
HOOKS=$(awk '$1 == "200" && $3 == "/hooks" { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' "$T/hooks.log")
assert_eq "env.finished prod
env.finished staging
env.started prod
env.started staging
run.finished
run.started" "$(jq -r '[.event, .environment // empty] | join(" ")' <<<"$HOOKS" | sort)" \
  "each event once for the whole run"
assert_eq '{"tenants":2,"failures":0,"outcomes":{"migrated":2}}' \
  "$(jq -c 'select(.event == "env.finished" and .environment == "staging") | .counts' <<<"$HOOKS")"
assert_eq '{"tenants":4,"failures":0,"outcomes":{"migrated":4}}' \
  "$(jq -c 'select(.event == "env.finished" and .environment == "prod") | .counts' <<<"$HOOKS")"
assert_eq 'n1 succeeded 6' \
  "$(jq -r 'select(.event == "run.finished") | "\(.run.name) \(.run.outcome) \(.counts.outcomes.migrated)"' <<<"$HOOKS")"
assert_not_contains "$(cat "$T"/*.err "$T"/*.out)" "$DROVER_TEST_PG_PASSWORD" "a password was printed"

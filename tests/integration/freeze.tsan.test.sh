#!/usr/bin/env bash
# freeze.tsan.test.sh — a network path that freezes in the middle of a statement. A TCP proxy
# (socat) stands between drover and one tenant of each server; the test stops the proxy with
# SIGSTOP while the tenant's migration waits on the server, so the sockets stay open and
# nothing is forwarded, exactly as a hung load balancer or a stalled NAT does. With the
# environment's statement_timeout, the frozen tenant must end within statement_timeout +
# DRV_ANSWER_GRACE_S (10 s) plus a reconnect's connect_timeout, as unreachable with nothing
# applied, while the other tenants finish; once the path thaws, a rerun applies everything
# exactly once. Without a statement_timeout, the third SIGINT must end drover even though the
# second one's cancel request hangs on the frozen path.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"
# shellcheck disable=SC2016 # ${PGPW}/${MYPW} are for drover to expand; jq programs

# start_proxy NAME TARGET_PORT: a socat forwarder on a free port, killed at exit; sets
# PROXY_PORT[NAME] and PROXY_PID[NAME].
declare -A PROXY_PORT=() PROXY_PID=()
start_proxy() {
  local port
  port=$(free_port)
  # Not on the test's stdout: a forked connection outliving the test would hold ctest's pipe.
  socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" "TCP:127.0.0.1:$2" >"$T/socat-$1.log" 2>&1 &
  PROXY_PID[$1]=$!
  PROXY_PORT[$1]=$port
  _FL_PIDS+=($!)
  wait_for 10 "proxy '$1' to listen" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
}
# freeze NAME / thaw NAME: stop or resume the proxy and every connection it forked.
freeze() { kill -STOP "${PROXY_PID[$1]}"; pkill -STOP -P "${PROXY_PID[$1]}" || true; }
thaw() { pkill -CONT -P "${PROXY_PID[$1]}" || true; kill -CONT "${PROXY_PID[$1]}"; }
# _end_proxies: thaws and ends every proxy with the connections it forked.
_end_proxies() {
  local p
  for p in "${PROXY_PID[@]}"; do
    pkill -CONT -P "$p" || true
    kill -CONT "$p" || true
    pkill -P "$p" || true
  done
}
trap 'rc=$?; _end_proxies 2>/dev/null; (exit $rc); _fl_cleanup' EXIT

# jq_out EXPR: EXPR on the last JSON stdout.
jq_out() { json_get "$OUT_FILE" "$1"; }

ENVS='{ name = "prod"; statement_timeout = "3s"; }'
DEFAULTS='retries = 1; backoff_ms = 100;'

# pg_waiting DB: drover's session of DB waits in the migration's sleep.
pg_waiting() {
  non_empty pg_sql postgres "SELECT pid FROM pg_stat_activity WHERE datname = '$1'
      AND state = 'active' AND query LIKE 'SELECT pg_sleep(2)%'"
}
my_waiting() {
  non_empty my_sql "" "SELECT id FROM information_schema.PROCESSLIST
      WHERE db = '$1' AND info LIKE 'SELECT SLEEP(2)%'"
}

# check_frozen_run NAME: the background run NAME ended within its bound: the frozen tenant
# unreachable with nothing applied, the others migrated.
check_frozen_run() {
  local started=$1 name=$2
  drover_wait "$name" 1
  local took=$((SECONDS - started))
  [ "$took" -le 30 ] || fail "$name: drover took $took s with a frozen tenant (bound: 3 s + 10 s + 2 s + retry)"
  _lib_pass
  assert_eq "failed|frozen:unreachable||ok1:migrated|ok2:migrated" \
    "$(jq_out '[.outcome, (.tenants[] | select(.id == "frozen") | "frozen:\(.outcome)", (.applied | join(" "))),
               (.tenants[] | select(.id != "frozen") | "\(.id):\(.outcome)")] | join("|")')" \
    "$name: the frozen tenant is unreachable, the others finished"
  assert_contains "$(jq_out '.tenants[] | select(.id == "frozen") | .error.message')" \
    "tenant 'frozen'" "$name: the error names the tenant"
}

# --- PostgreSQL ------------------------------------------------------------------------------
start_proxy pg "$PG_PORT"
PGF=$(unique_name frz_pg_f)
PGA=$(unique_name frz_pg_a)
PGB=$(unique_name frz_pg_b)
for db in "$PGF" "$PGA" "$PGB"; do new_pg_db "$db"; done
write_migration "$T/pg" 20240601000001-slow.sql "SELECT pg_sleep(2);
CREATE TABLE t1 (id int);" "DROP TABLE t1;"
write_migration "$T/pg" 20240601000002-t2.sql "CREATE TABLE t2 (id int);" "DROP TABLE t2;"
PG_CFG=$T/pg.cfg
write_config "$PG_CFG" "$T/pg" "$DEFAULTS" "$ENVS" \
  "frozen prod postgres://drover:\${PGPW}@127.0.0.1:${PROXY_PORT[pg]}/$PGF?connect_timeout=2" \
  "ok1 prod $(pg_url "$PGA")" "ok2 prod $(pg_url "$PGB")"

drover_start pgrun "$PG_CFG" migrate --format json
wait_for 20 "drover to wait in the frozen tenant's sleep" pg_waiting "$PGF"
freeze pg
t0=$SECONDS
check_frozen_run "$t0" pgrun
assert_not_contains "$OUT$ERR" "$PGPW" "pg: no password in the output"
drover_run 0 "$PG_CFG" runs show 1 --format json
assert_eq "20240601000001-slow.sql|1|false|migration '20240601000001-slow.sql': no answer from the server within 13 s (statement_timeout and a 10 s grace): the network path to it is frozen; the connection was closed (SQLSTATE 08006)" \
  "$(jq_out '.tenants[] | select(.id == "frozen") | .steps[0] | [.migration, .attempts, .ok, .error] | map(tostring) | join("|")')" \
  "pg: the journal names the frozen answer as the first attempt's error"
thaw pg
# The server ends the abandoned session once the proxy forwards again and finds drover gone.
pg_idle() { [ "$(pg_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'")" = 0 ]; }
wait_for 20 "the abandoned session to end" pg_idle "$PGF"
assert_eq "" "$(pg_sql "$PGF" "SELECT to_regclass('t1')")" "pg: nothing of the migration stayed"
drover_run 0 "$PG_CFG" migrate --format json
assert_eq "succeeded|migrated" "$(jq_out '[.outcome, (.tenants[] | select(.id == "frozen") | .outcome)] | join("|")')" \
  "pg: the rerun through the thawed path migrates the tenant"
assert_eq "20240601000001-slow.sql,20240601000002-t2.sql" \
  "$(pg_sql "$PGF" 'SELECT string_agg(name, '"','"' ORDER BY name) FROM "SequelizeMeta"')" \
  "pg: each migration recorded once"

# --- the third SIGINT ends drover while the cancel request hangs on the frozen path ------------
PGS=$(unique_name frz_pg_s)
new_pg_db "$PGS"
write_migration "$T/pgs" 20240601000001-slow.sql "SELECT pg_sleep(2);
SELECT pg_sleep(60);" "SELECT 1;"
SIG_CFG=$T/sig.cfg
write_config "$SIG_CFG" "$T/pgs" "$DEFAULTS" '{ name = "prod"; }' \
  "frozen prod postgres://drover:\${PGPW}@127.0.0.1:${PROXY_PORT[pg]}/$PGS?connect_timeout=2"
drover_start sig "$SIG_CFG" migrate
wait_for 20 "drover to wait in the sleep" pg_waiting "$PGS"
freeze pg
kill -INT "${DROVER_PID[sig]}"
sleep 0.5
kill -INT "${DROVER_PID[sig]}"
sleep 0.5
kill -INT "${DROVER_PID[sig]}"
t0=$SECONDS
(sleep 10 && kill -KILL "${DROVER_PID[sig]}") 2>/dev/null &
watchdog=$!
drover_wait sig 130
kill "$watchdog" 2>/dev/null || true
[ $((SECONDS - t0)) -le 5 ] || fail "the third SIGINT took $((SECONDS - t0)) s to end drover"
_lib_pass
assert_contains "$ERR" "cancelling the statements running now" "the second SIGINT cancelled"
thaw pg
pg_sql postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$PGS'" >/dev/null

# --- MariaDB ---------------------------------------------------------------------------------
start_proxy my "$MY_PORT"
MYF=$(unique_name frz_my_f)
MYA=$(unique_name frz_my_a)
MYB=$(unique_name frz_my_b)
for db in "$MYF" "$MYA" "$MYB"; do new_my_db "$db"; done
write_migration "$T/my" 20240601000001-slow.sql "SELECT SLEEP(2);
CREATE TABLE t1 (id int);" "DROP TABLE t1;"
write_migration "$T/my" 20240601000002-t2.sql "CREATE TABLE t2 (id int);" "DROP TABLE t2;"
MY_CFG=$T/my.cfg
write_config "$MY_CFG" "$T/my" "$DEFAULTS" "$ENVS" \
  "frozen prod mysql://drover:\${MYPW}@127.0.0.1:${PROXY_PORT[my]}/$MYF" \
  "ok1 prod $(my_url "$MYA")" "ok2 prod $(my_url "$MYB")"
drover_start myrun "$MY_CFG" migrate --format json
wait_for 20 "drover to wait in the frozen tenant's sleep" my_waiting "$MYF"
freeze my
t0=$SECONDS
drover_wait myrun 1
took=$((SECONDS - t0))
[ "$took" -le 30 ] || fail "mariadb: drover took $took s with a frozen tenant"
_lib_pass
# MariaDB runs the migration as one multi-statement query: with the answer lost, the server
# may have gone on with CREATE TABLE, so the tenant is dirty, never retried.
assert_eq "failed|frozen:dirty|ok1:migrated|ok2:migrated" \
  "$(jq_out '[.outcome, (.tenants[] | "\(.id):\(.outcome)")] | join("|")')" \
  "mariadb: the frozen tenant is dirty (the server may have gone on), the others finished"
assert_contains "$(jq_out '.tenants[] | select(.id == "frozen") | .error.message')" \
  "the server may have run some, all or none of it" "mariadb: the message says why it is dirty"
assert_not_contains "$OUT$ERR" "$MYPW" "mariadb: no password in the output"
thaw my

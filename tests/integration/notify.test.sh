#!/usr/bin/env bash
# notify.test.sh — webhooks end to end, against webhook_receiver (a libmicrohttpd endpoint on
# 127.0.0.1): the events of a migrate run across dev and prod arrive in order with exact
# payloads, the slack target gets only the events it asked for as {"text"}, no body holds the
# webhook token or a database password; a receiver that is down, one that hangs past the
# timeout and one that answers 500 twice change neither the exit code nor the report, add one
# "drover: notify:" line at most, and do not hold the run beyond timeout x tries.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
RECEIVER=${DROVER_WEBHOOK_RECEIVER:-}
[ -x "$RECEIVER" ] || fail "DROVER_WEBHOOK_RECEIVER ('$RECEIVER') is not an executable (run through ctest)"
PG_DB=$(unique_name notify_pg)
TOKEN=T0KEN-xoxb-4711-s3cret
RECEIVER_PIDS=()
cleanup() {
  local pid
  for pid in "${RECEIVER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  pg_drop_db "$PG_DB" || true
}
# lib.sh owns the EXIT trap; stop the receivers and drop the database first, keeping the status.
trap 'rc=$?; cleanup >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT

# One migration; the PostgreSQL tenant already has its table, so it fails there (42P07).
M1=20240101000001-t1.sql
mkdir -p "$T/migrations"
printf -- '-- migrate:up\nCREATE TABLE t1 (id INTEGER);\n\n-- migrate:down\nDROP TABLE t1;\n' \
  >"$T/migrations/$M1"
pg_create_db "$PG_DB"
pg_sql "$PG_DB" "CREATE TABLE t1 (id integer)"

# start_receiver NAME [ARGS]: starts a receiver logging to $T/NAME.log; sets REC_PID, REC_PORT.
start_receiver() {
  local name=$1
  shift
  "$RECEIVER" "$T/$name.log" "$@" >"$T/$name.port" 2>"$T/$name.stderr" &
  REC_PID=$!
  RECEIVER_PIDS+=("$REC_PID")
  for _ in $(seq 100); do
    [ -s "$T/$name.port" ] && break
    sleep 0.05
  done
  REC_PORT=$(<"$T/$name.port")
  [ -n "$REC_PORT" ] || fail "webhook_receiver '$name' did not start: $(<"$T/$name.stderr")"
  touch "$T/$name.log"
}

stop_receiver() {
  kill "$1"
  wait "$1" 2>/dev/null || true
}

# fleet DIR NOTIFY [PROD_POLICY]: an inventory in DIR (fresh SQLite files and journal) with
# dev = {d1}, prod = {p1 (SQLite), p2 (PostgreSQL, fails)}, run one tenant at a time.
fleet() {
  write_inventory "$1/drover.cfg" <<EOF
migrations = { path = "$T/migrations"; };
defaults = { parallel = 1; retries = 0; };
environments = ( { name = "dev"; }, { name = "prod";${3:-} } );
tenants = (
  { id = "d1"; env = "dev"; url = "sqlite:d1.db"; },
  { id = "p1"; env = "prod"; url = "sqlite:p1.db"; },
  { id = "p2"; env = "prod"; url = "postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT/$PG_DB"; }
);
$2
EOF
}

drover() { "$DROVER_BIN" "$@"; }

# bodies LOG PATH: the JSON bodies the receiver logged for PATH with answer 200, in order.
bodies() { awk -v p="$2" '$1 == "200" && $3 == p { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' "$1"; }

# run_report JSON: the run's report without the timings and the run's own directory, for
# comparing runs.
run_report() { jq -cS 'del(.tenants[].seconds, .tenants[].steps[].started_at, .tenants[].steps[].ended_at) | .tenants[].url |= sub("^sqlite:.*/"; "sqlite:")' "$1"; }

# timed_migrate DIR [ARGS]: drover migrate in DIR with a JSON report in DIR/report.json;
# sets ELAPSED (whole seconds) and the assert_exit variables; the exit status must be $EXPECT.
timed_migrate() {
  local dir=$1 start
  shift
  start=$(date +%s%N)
  assert_exit "$EXPECT" drover --config "$dir/drover.cfg" migrate --format json --out "$dir/report.json" "$@"
  ELAPSED=$((($(date +%s%N) - start) / 1000000000))
}

notify_lines() { grep -c '^drover: notify:' <<<"$ERR" || true; }

# --- the run without webhooks: what every other run must match
fleet "$T/base" ""
EXPECT=1 timed_migrate "$T/base"
BASE_REPORT=$(run_report "$T/base/report.json")
assert_eq "migrated migrated failed" "$(jq -r '[.tenants[].outcome] | join(" ")' "$T/base/report.json")"

# --- events, their order and payloads
start_receiver main
JSON_PATH=/hooks/json/$TOKEN
SLACK_PATH=/services/T000/$TOKEN
fleet "$T/main" "notify = (
  { url = \"http://127.0.0.1:$REC_PORT$JSON_PATH\"; },
  { url = \"\${DROVER_TEST_SLACK_HOOK}\"; format = \"slack\";
    events = [\"run.halted\", \"tenant.failed\", \"run.finished\"]; timeout = \"2s\"; }
);"
export DROVER_TEST_SLACK_HOOK=http://127.0.0.1:$REC_PORT$SLACK_PATH
before=$(date +%s)
EXPECT=1 timed_migrate "$T/main"
after=$(date +%s)
assert_eq "$BASE_REPORT" "$(run_report "$T/main/report.json")" "webhooks changed the report"
assert_eq 0 "$(notify_lines)" "a healthy receiver logs nothing"
assert_not_contains "$OUT$ERR" "$TOKEN"
stop_receiver "$REC_PID"
LOG=$T/main.log

assert_eq "9" "$(wc -l <"$LOG" | tr -d ' ')" "7 json + 2 slack requests, each answered once"
assert_eq "" "$(awk '$1 != "200" || $2 != "POST" || $4 != "application/json"' "$LOG")" \
  "every request a 200 POST of application/json"
JSON_BODIES=$(bodies "$LOG" "$JSON_PATH")
assert_eq "run.started
env.started dev
env.finished dev
env.started prod
tenant.failed prod
env.finished prod
run.finished" "$(jq -r '[.event, .environment // empty] | join(" ")' <<<"$JSON_BODIES")"

RUN='"run":{"id":1,"command":"migrate"}'
PG_URL="postgres://drover:***@127.0.0.1:$DROVER_TEST_PG_PORT/$PG_DB"
PG_ERROR="tenant 'p2': migration '$M1': relation \\\"t1\\\" already exists (SQLSTATE 42P07)"
assert_eq "{\"event\":\"run.started\",$RUN,\"counts\":{\"tenants\":3}}
{\"event\":\"env.started\",$RUN,\"environment\":\"dev\",\"counts\":{\"tenants\":1}}
{\"event\":\"env.finished\",$RUN,\"environment\":\"dev\",\"counts\":{\"tenants\":1,\"failures\":0,\"outcomes\":{\"migrated\":1}}}
{\"event\":\"env.started\",$RUN,\"environment\":\"prod\",\"counts\":{\"tenants\":2}}
{\"event\":\"tenant.failed\",$RUN,\"environment\":\"prod\",\"tenant\":{\"id\":\"p2\",\"env\":\"prod\",\"dialect\":\"postgres\",\"url\":\"$PG_URL\",\"outcome\":\"failed\",\"migration\":\"$M1\",\"error\":\"$PG_ERROR\"}}
{\"event\":\"env.finished\",$RUN,\"environment\":\"prod\",\"counts\":{\"tenants\":2,\"failures\":1,\"outcomes\":{\"migrated\":1,\"failed\":1}}}
{\"event\":\"run.finished\",\"run\":{\"id\":1,\"command\":\"migrate\",\"outcome\":\"failed\"},\"counts\":{\"tenants\":3,\"failures\":1,\"outcomes\":{\"migrated\":2,\"failed\":1}}}" \
  "$(jq -c 'del(.ts)' <<<"$JSON_BODIES")" "generic payloads"
assert_eq "$(printf 'true\n%.0s' 1 2 3 4 5 6 7)" \
  "$(jq --argjson lo "$before" --argjson hi "$((after + 1))" '.ts >= $lo and .ts <= $hi' <<<"$JSON_BODIES")" \
  "ts is the Unix time of the event"
assert_eq "1" "$(sqlite_sql "$T/main/drover-journal.db" 'SELECT count(*) FROM runs')" "run id 1 is the journal's"

SLACK_BODIES=$(bodies "$LOG" "$SLACK_PATH")
assert_eq "{\"text\":\"drover migrate (run 1): tenant 'p2' (prod) failed: migration '$M1': relation \\\"t1\\\" already exists (SQLSTATE 42P07)\"}
{\"text\":\"drover migrate (run 1) finished: failed, 3 tenants, 1 failed\"}" "$SLACK_BODIES" "slack payloads"
BODIES=$(awk '{ $1 = $2 = $3 = $4 = ""; print }' "$LOG")
assert_not_contains "$BODIES" "$TOKEN" "a payload holds the webhook token"
assert_not_contains "$BODIES" "$DROVER_TEST_PG_PASSWORD" "a payload holds the database password"

# --- a halt: run.halted comes between the failure and the end of prod
start_receiver halt
fleet "$T/halt" "notify = ( { url = \"http://127.0.0.1:$REC_PORT/h\"; format = \"slack\";
  events = [\"run.halted\", \"run.finished\"]; } );" " max_failures = 0;"
EXPECT=1 timed_migrate "$T/halt"
stop_receiver "$REC_PID"
assert_eq "{\"text\":\"drover migrate (run 1) halted: environment 'prod': 1 of 2 tenants failed, more than max_failures allows (0)\"}
{\"text\":\"drover migrate (run 1) finished: halted, 3 tenants, 1 failed\"}" "$(bodies "$T/halt.log" /h)"

# --- receiver down: same outcome, one line, no long wait
start_receiver down
DOWN_PORT=$REC_PORT
stop_receiver "$REC_PID"
fleet "$T/down" "notify = ( { url = \"http://127.0.0.1:$DOWN_PORT/down/$TOKEN\"; timeout = \"1s\"; } );"
EXPECT=0 timed_migrate "$T/down" --env dev
assert_eq "$(jq -c '.outcome, [.tenants[].id]' "$T/down/report.json" | paste -sd' ')" '"succeeded" ["d1"]' \
  "receiver down: a run that succeeds still succeeds"
assert_eq 1 "$(notify_lines)" "receiver down: one notify line"$'\n'"$ERR"
assert_contains "$ERR" "drover: notify: POST to http://127.0.0.1:$DOWN_PORT/*** failed: "
assert_contains "$ERR" "127.0.0.1 port $DOWN_PORT"
assert_contains "$ERR" "(event 'run.started', 3 attempts)"
assert_not_contains "$ERR" "$TOKEN"
[ "$ELAPSED" -lt 15 ] || fail "receiver down: the run took ${ELAPSED}s"
EXPECT=1 timed_migrate "$T/down"
assert_eq "$(run_report "$T/base/report.json" | jq -c '.outcome, [.tenants[] | select(.id != "d1")]')" \
  "$(run_report "$T/down/report.json" | jq -c '.outcome, [.tenants[] | select(.id != "d1")]')" \
  "receiver down: a run that fails fails the same way"
assert_eq 1 "$(notify_lines)" "receiver down, second run: one notify line"$'\n'"$ERR"
[ "$ELAPSED" -lt 15 ] || fail "receiver down: the run took ${ELAPSED}s"

# --- a receiver that holds each request past the timeout: the run completes, one line
start_receiver hang --hang 2500
fleet "$T/hang" "notify = ( { url = \"http://127.0.0.1:$REC_PORT/slow\"; timeout = \"1s\"; } );"
EXPECT=1 timed_migrate "$T/hang"
assert_eq "$BASE_REPORT" "$(run_report "$T/hang/report.json")" "hanging receiver changed the report"
assert_eq 1 "$(notify_lines)" "hanging receiver: one notify line"$'\n'"$ERR"
assert_contains "$ERR" "drover: notify: POST to http://127.0.0.1:$REC_PORT/*** failed: "
assert_contains "$ERR" "(event 'run.started', 3 attempts)"
# Three attempts of 1 s each plus backoff, then the drain time: well under 15 s.
[ "$ELAPSED" -lt 15 ] || fail "hanging receiver: the run took ${ELAPSED}s"
assert_eq 3 "$(grep -c '"event":"run.started"' "$T/hang.log")" "three attempts reached the receiver"
stop_receiver "$REC_PID"

# --- 500, 500, then 200: delivered once, nothing logged
start_receiver flaky --fail 2
fleet "$T/flaky" "notify = ( { url = \"http://127.0.0.1:$REC_PORT/f\"; events = [\"run.finished\"]; } );"
EXPECT=1 timed_migrate "$T/flaky"
stop_receiver "$REC_PID"
assert_eq "500 run.finished
500 run.finished
200 run.finished" "$(awk '{ print $1 }' "$T/flaky.log" | paste -d' ' - <(cut -d' ' -f5- "$T/flaky.log" | jq -r .event))"
assert_eq 0 "$(notify_lines)" "a retried delivery that succeeds logs nothing"$'\n'"$ERR"

#!/usr/bin/env bash
# secrets.test.sh — planted secrets never leave drover. Passwords sit in tenant URLs (expanded
# from ${VAR}, written inline, in a ?password= parameter), some tenants fail to connect, one
# fails a statement, and then every output a user or a machine reads is scanned for them: the
# stdout and stderr of each command in each format, the files written with --out, every report
# format, the run list and each run's detail, and the whole journal file.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"
# shellcheck disable=SC2016 # ${PGPW}/${MYPW} are for drover to expand

# Wrong passwords planted inline: their connections fail, and the failure must not quote them.
INLINE_PG=Pl4ntedInlinePg
PARAM_PG=Pl4ntedParamPg
INLINE_MY=Pl4ntedInlineMy
SECRETS=("$PGPW" "$MYPW" "$INLINE_PG" "$PARAM_PG" "$INLINE_MY")

PGA=$(unique_name sec_pg)
MYA=$(unique_name sec_my)
new_pg_db "$PGA"
new_my_db "$MYA"
write_migration "$T/m" 20240801000001-a.sql "CREATE TABLE a (id int);" "DROP TABLE a;"
write_migration "$T/m" 20240801000002-b.sql "CREATE TABLE b (id int);
INSERT INTO no_such_table VALUES (1);" "DROP TABLE b;"
CFG=$T/drover.cfg
write_config "$CFG" "$T/m" "retries = 0;" '{ name = "prod"; }' \
  "pg prod $(pg_url "$PGA")" \
  "my prod $(my_url "$MYA")" \
  "pgbad prod postgres://drover:$INLINE_PG@127.0.0.1:$PG_PORT/$PGA" \
  "mybad prod mysql://drover:$INLINE_MY@127.0.0.1:$MY_PORT/$MYA" \
  "lite prod sqlite:$T/lite.sqlite"

# scan WHAT FILE...: no secret appears in any FILE.
scan() {
  local what=$1 secret f
  shift
  for f in "$@"; do
    [ -s "$f" ] || fail "$what: '$f' is empty; nothing was scanned"
    for secret in "${SECRETS[@]}"; do
      if grep -aqF -- "$secret" "$f"; then
        fail "$what: a planted password shows in '$f': $(grep -aF -- "$secret" "$f" | head -3)"
      fi
    done
  done
  _lib_pass
}

# run_scan NAME CODE ARG...: runs drover, then scans its stdout and stderr.
n=0
run_scan() {
  local name=$1 code=$2 rc=0
  shift 2
  n=$((n + 1))
  "$DROVER_BIN" --config "$CFG" "$@" >"$T/out.$n" 2>"$T/err.$n" || rc=$?
  assert_eq "$code" "$rc" "$name: exit status; stderr: $(head -c 2000 "$T/err.$n")"
  cat "$T/out.$n" "$T/err.$n" >"$T/both.$n"
  scan "$name" "$T/both.$n"
}

# A password as a query parameter is refused as bad input, and the refusal masks it.
GOOD_CFG=$CFG
CFG=$T/param.cfg
write_config "$CFG" "$T/m" "" '{ name = "prod"; }' \
  "pgparam prod postgres://drover@127.0.0.1:$PG_PORT/$PGA?password=$PARAM_PG"
run_scan "a password parameter" 2 check
assert_contains "$(cat "$T/err.$n")" "password=***" "a password parameter: masked in the refusal"
CFG=$GOOD_CFG

run_scan "check" 1 check
run_scan "plan" 1 plan
run_scan "plan --format json" 1 plan --format json
run_scan "plan --sql" 1 plan --sql
run_scan "migrate --dry-run" 1 migrate --dry-run
run_scan "migrate" 1 migrate
assert_contains "$(cat "$T/err.$n")" "no_such_table" "migrate: the failing statement is reported"
assert_contains "$(cat "$T/err.$n")" "tenant 'pgbad'" "migrate: the bad password's tenant is reported"
run_scan "migrate --format json" 1 migrate --format json
for fmt in table json csv junit prom markdown html; do
  run_scan "status --format $fmt" 1 status --format "$fmt" --out "$T/status.$fmt"
  scan "status --out ($fmt)" "$T/status.$fmt"
done
run_scan "runs" 0 runs
run_scan "runs --format json" 0 runs --format json
for id in $(jq -r '.[].id' "$T/out.$n"); do
  run_scan "runs show $id" 0 runs show "$id" --format json
  run_scan "runs show $id (text)" 0 runs show "$id"
done
run_scan "locks" 1 locks
run_scan "undo" 0 undo --to 20240801000001-a.sql --tenant pg --tenant lite
# The journal file itself, every byte of it (WAL included), and what sqlite3 reads from it.
sqlite_sql "$T/drover-journal.db" ".dump" >"$T/journal.dump"
scan "the journal" "$T/journal.dump" "$T/drover-journal.db"

# --- behind an agent: its log, its answers and the coordinator's outputs hold neither the
# tenants' passwords (in the agent's own inventory) nor the agent's token.
AGENT_TOKEN=agent-Pl4nted-token-77
SECRETS+=("$AGENT_TOKEN")
mkdir -p "$T/agent"
cp -r "$T/m" "$T/agent/m"
write_config "$T/agent/drover.cfg" m "retries = 0;" '{ name = "prod"; }' \
  "apg prod $(pg_url "$PGA")" \
  "abad prod postgres://drover:$INLINE_PG@127.0.0.1:$PG_PORT/$PGA"
echo "$AGENT_TOKEN" >"$T/agent/tokens"
start_agent_in "$T/agent"
_FL_PIDS+=("$AGENT_STARTED_PID")
export AGENT_TOKEN
{
  echo "migrations = { path = \"$T/m\"; };"
  echo 'environments = ( { name = "prod"; } );'
  echo "agents = ( { name = \"dc1\"; url = \"http://127.0.0.1:$AGENT_STARTED_PORT\"; token = \"\${AGENT_TOKEN}\"; } );"
  echo 'tenants = ( { id = "apg"; env = "prod"; agent = "dc1"; }, { id = "abad"; env = "prod"; agent = "dc1"; } );'
} | write_inventory "$T/coord.cfg"
CFG=$T/coord.cfg
run_scan "agent: migrate" 1 migrate --format json
assert_contains "$(cat "$T/out.$n")" '"abad"' "agent: the failing tenant is reported"
run_scan "agent: status" 1 status --format json
run_scan "agent: status html" 1 status --format html
for b in b1 b2 b3; do
  curl -s -H "Authorization: Bearer $AGENT_TOKEN" "http://127.0.0.1:$AGENT_STARTED_PORT/v1/batches/$b"
done >"$T/agent-batches.json"
assert_contains "$(cat "$T/agent-batches.json")" '"abad"' "the agent's batches were read back"
scan "the agent's batches" "$T/agent-batches.json"
scan "the agent's log" "$T/agent/agent.log"

#!/usr/bin/env bash
# agent_fleet.test.sh — the coordinator dispatching tenants to two drover-agents on 127.0.0.1
# (one over HTTPS with a CA and certificate made here) beside local tenants, over PostgreSQL
# and MariaDB: a refused token and a different migration set stop the run before anything
# runs (exit 2); the mixed fleet migrates, reports, journals, shows status and undoes through
# the agents; an agent killed mid-batch leaves its tenants reported unreachable, and a rerun
# after its restart applies every migration exactly once.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT=${DROVER_AGENT_BIN:?DROVER_AGENT_BIN is not set (drover-agent not built)}
T=$DROVER_TEST_TMPDIR
PG_IDS=(l_pg a_pg b_pg)
MY_IDS=(l_my a_my b_my)
declare -A DB
for id in "${PG_IDS[@]}" "${MY_IDS[@]}"; do DB[$id]=$(unique_name "af_$id"); done
declare -A AGENT_PID
cleanup() {
  for p in "${AGENT_PID[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  for id in "${PG_IDS[@]}"; do pg_drop_db "${DB[$id]}" || true; done
  for id in "${MY_IDS[@]}"; do my_drop_db "${DB[$id]}" || true; done
}
trap 'rc=$?; cleanup >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT

# Every tenant has effects, where migrations leave a row that a second application would
# leave twice; PostgreSQL gets sleep(seconds) as MariaDB has SLEEP, so one file serves both.
for id in "${PG_IDS[@]}"; do
  pg_create_db "${DB[$id]}"
  pg_sql "${DB[$id]}" "CREATE TABLE effects (what VARCHAR(64) NOT NULL);
    CREATE FUNCTION sleep(seconds float8) RETURNS void LANGUAGE sql AS 'SELECT pg_sleep(seconds)';"
done
for id in "${MY_IDS[@]}"; do
  my_create_db "${DB[$id]}"
  my_sql "${DB[$id]}" "CREATE TABLE effects (what VARCHAR(64) NOT NULL)"
done

M1=20240101000001-items.sql
M2=20240101000002-effect.sql
M3=20240101000003-slow.sql
mkdir -p "$T/migrations"
printf -- '-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE items;\n' >"$T/migrations/$M1"
printf -- "-- migrate:up\nINSERT INTO effects (what) VALUES ('m2');\n\n-- migrate:down\nDELETE FROM effects WHERE what = 'm2';\n" >"$T/migrations/$M2"

pg_url() { echo "postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT/${DB[$1]}"; }
my_url() { echo "mysql://drover:\${DROVER_TEST_MYSQL_PASSWORD}@127.0.0.1:$DROVER_TEST_MYSQL_PORT/${DB[$1]}"; }

# Each agent's own inventory holds its tenants' credentials.
for a in a b; do
  mkdir -p "$T/$a"
  write_inventory "$T/$a/drover.cfg" <<EOF
migrations = { path = "../migrations"; };
environments = ( { name = "prod"; } );
tenants = (
  { id = "${a}_pg"; env = "prod"; url = "$(pg_url "${a}_pg")"; },
  { id = "${a}_my"; env = "prod"; url = "$(my_url "${a}_my")"; }
);
EOF
  echo "token-$a-0123456789" >"$T/$a/tokens"
done

# The CA and the certificate beta serves, signed by it; the coordinator trusts only the CA.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=drover-test-ca \
  -keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$T/b/key.pem" \
  -out "$T/b/req.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/san.ext"
openssl x509 -req -in "$T/b/req.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
  -days 1 -extfile "$T/san.ext" -out "$T/b/cert.pem" 2>/dev/null

A_PORT=$(free_port)
B_PORT=$(free_port)
while [ "$B_PORT" = "$A_PORT" ]; do B_PORT=$(free_port); done

# start_agent a|b: (re)starts the agent and waits until it answers.
start_agent() {
  local a=$1 port tls="" scheme=http
  if [ "$a" = a ]; then port=$A_PORT; else
    port=$B_PORT scheme=https
    tls='tls = { cert = "cert.pem"; key = "key.pem"; };'
  fi
  printf 'port = %s;\ntoken_file = "tokens";\ninventory = "drover.cfg";\nparallel = 2;\n%s\n' \
    "$port" "$tls" >"$T/$a/agent.cfg"
  "$AGENT" --config "$T/$a/agent.cfg" 2>>"$T/$a/agent.log" &
  AGENT_PID[$a]=$!
  for _ in $(seq 100); do
    curl -sf --cacert "$T/ca.pem" "$scheme://127.0.0.1:$port/healthz" >/dev/null && return
    sleep 0.1
  done
  cat "$T/$a/agent.log" >&2
  fail "agent '$a' did not start"
}
stop_agent() {
  kill "${AGENT_PID[$1]}"
  wait "${AGENT_PID[$1]}" || fail "agent '$1' did not exit 0 on SIGTERM"
  unset "AGENT_PID[$1]"
}
start_agent a
start_agent b

# write_coordinator FILE BETA_TOKEN: local tenants with URLs, agent tenants with none.
write_coordinator() {
  write_inventory "$1" <<EOF
migrations = { path = "migrations"; };
defaults = { retries = 1; backoff_ms = 100; max_per_server = 1; };
environments = ( { name = "prod"; } );
agents = (
  { name = "alpha"; url = "http://127.0.0.1:$A_PORT"; token = "\${ALPHA_TOKEN}"; timeout = 5; },
  { name = "beta"; url = "https://127.0.0.1:$B_PORT/"; token = "$2"; ca = "ca.pem"; }
);
tenants = (
  { id = "l_pg"; env = "prod"; url = "$(pg_url l_pg)"; },
  { id = "l_my"; env = "prod"; url = "$(my_url l_my)"; },
  { id = "a_pg"; env = "prod"; agent = "alpha"; },
  { id = "a_my"; env = "prod"; agent = "alpha"; },
  { id = "b_pg"; env = "prod"; agent = "beta"; },
  { id = "b_my"; env = "prod"; agent = "beta"; }
);
EOF
}
export ALPHA_TOKEN=token-a-0123456789
CFG=$T/drover.cfg
write_coordinator "$CFG" token-b-0123456789
write_coordinator "$T/badtoken.cfg" wrong-token-b
drover() { "$DROVER_BIN" --config "$CFG" "$@"; }

meta_count() {
  case $1 in
  *_pg) pg_sql "${DB[$1]}" "SELECT count(*) FROM \"SequelizeMeta\"" ;;
  *) my_sql "${DB[$1]}" "SELECT count(*) FROM SequelizeMeta" ;;
  esac
}
effects() {
  case $1 in
  *_pg) pg_sql "${DB[$1]}" "SELECT what || ':' || count(*) FROM effects GROUP BY what ORDER BY what" | paste -sd, ;;
  *) my_sql "${DB[$1]}" "SELECT CONCAT(what, ':', count(*)) FROM effects GROUP BY what ORDER BY what" | paste -sd, ;;
  esac
}
meta_missing() {
  case $1 in
  *_pg) pg_sql "${DB[$1]}" "SELECT count(*) FROM pg_tables WHERE tablename = 'SequelizeMeta'" ;;
  *) my_sql "${DB[$1]}" "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'SequelizeMeta'" ;;
  esac
}
ALL=(l_pg l_my a_pg a_my b_pg b_my)

# --- an agent tenant with a url, an unknown agent: inventory errors with file:line -----------
sed 's|agent = "beta"; },|agent = "beta"; url = "postgres://x@h/d"; },|' "$CFG" >"$T/withurl.cfg"
assert_exit 2 "$DROVER_BIN" --config "$T/withurl.cfg" status
assert_contains "$ERR" "withurl.cfg:13: tenant 'b_pg': a tenant served by agent 'beta' must have no 'url'"
sed 's|agent = "alpha"; },|agent = "gamma"; },|' "$CFG" >"$T/unknown.cfg"
assert_exit 2 "$DROVER_BIN" --config "$T/unknown.cfg" status
assert_contains "$ERR" "unknown.cfg:11: tenant 'a_pg': agent 'gamma' is not declared in 'agents'"

# --- a refused token: exit 2 before anything runs, the token never shown -------------------
assert_exit 2 "$DROVER_BIN" --config "$T/badtoken.cfg" migrate
assert_contains "$ERR" "agent 'beta' refused the token"
assert_not_contains "$ERR$OUT" "wrong-token-b"
for id in "${ALL[@]}"; do assert_eq 0 "$(meta_missing "$id")" "$id untouched after a refused token"; done

# --- status before anything: agent tenants read through their agents ----------------------
assert_exit 10 drover status --format json --exit-code
cp "$OUT_FILE" "$T/status0.json"
assert_eq "behind,behind,behind,behind,behind,behind" \
  "$(jq -r '[.tenants[].state] | join(",")' "$T/status0.json")" "all behind before migrate"
assert_eq "postgres" "$(jq -r '.tenants[] | select(.id == "b_pg") | .dialect' "$T/status0.json")"
assert_eq "mysql://drover:***@127.0.0.1:$DROVER_TEST_MYSQL_PORT/${DB[a_my]}" \
  "$(jq -r '.tenants[] | select(.id == "a_my") | .url' "$T/status0.json")" "the agent's masked url"

# --- migrate the mixed fleet ------------------------------------------------------------------
assert_exit 0 drover migrate --format json
cp "$OUT_FILE" "$T/migrate1.json"
assert_eq "succeeded" "$(json_get "$T/migrate1.json" .outcome)"
assert_eq "l_pg:migrated:2,l_my:migrated:2,a_pg:migrated:2,a_my:migrated:2,b_pg:migrated:2,b_my:migrated:2" \
  "$(jq -r '[.tenants[] | "\(.id):\(.outcome):\(.applied | length)"] | join(",")' "$T/migrate1.json")"
assert_eq "$M1" "$(jq -r '.tenants[] | select(.id == "b_my") | .steps[0].migration' "$T/migrate1.json")" \
  "the agent's steps come back"
assert_not_contains "$(cat "$T/migrate1.json")" "$DROVER_TEST_PG_PASSWORD" "no password in the report"
for id in "${ALL[@]}"; do
  assert_eq 2 "$(meta_count "$id")" "$id SequelizeMeta rows"
  assert_eq "m2:1" "$(effects "$id")" "$id effects"
done
# The journal lists the agent tenants, with the agent's dialect and steps.
assert_exit 0 drover runs show 1 --format json
assert_eq "b_pg:migrated:postgres:2" \
  "$(jq -r '.tenants[] | select(.id == "b_pg") | "\(.id):\(.outcome):\(.dialect):\(.steps | length)"' "$OUT_FILE")"
assert_eq 6 "$(jq '.tenants | length' "$OUT_FILE")" "six tenants journaled"

# --- undo one step on one agent tenant; status sees it behind ------------------------------
assert_exit 0 drover undo --tenant b_pg --steps 1 --format json
assert_eq "reverted:$M2" "$(jq -r '.tenants[0] | "\(.outcome):\(.reverted | join(","))"' "$OUT_FILE")"
assert_eq 1 "$(meta_count b_pg)" "b_pg after undo"
assert_eq "" "$(effects b_pg)" "the down section ran on b_pg"
assert_exit 0 drover status --format json
assert_eq "l_pg:current:2:0,l_my:current:2:0,a_pg:current:2:0,a_my:current:2:0,b_pg:behind:1:1,b_my:current:2:0" \
  "$(jq -r '[.tenants[] | "\(.id):\(.state):\(.applied | length):\(.pending | length)"] | join(",")' "$OUT_FILE")"
assert_eq "2:reverted" "$(jq -r '.tenants[] | select(.id == "b_pg") | "\(.last_run.id):\(.last_run.outcome)"' "$OUT_FILE")" \
  "b_pg's last run is the undo"
assert_exit 0 drover migrate --tenant b_pg
assert_eq "m2:1" "$(effects b_pg)" "b_pg migrated again"

# --- a different migration set on the agents: exit 2, nothing runs --------------------------
printf -- "-- migrate:up\nSELECT sleep(2);\nINSERT INTO effects (what) VALUES ('m3');\n\n-- migrate:down\nDELETE FROM effects WHERE what = 'm3';\n" >"$T/migrations/$M3"
assert_exit 2 drover migrate
assert_contains "$ERR" "agent 'alpha' holds another migration set"
assert_contains "$ERR" "differing files '$M3'"
for id in "${ALL[@]}"; do assert_eq 2 "$(meta_count "$id")" "$id untouched by a refused set"; done

# --- an agent killed mid-batch: its tenants reported unreachable, a rerun finishes them ------
# max_per_server = 1 keeps one tenant in flight per agent: beta is killed while b_pg sleeps
# in M3's transaction (rolled back with the lost connection) and before b_my starts. A
# MariaDB migration cut off half-way is not atomic (docs/guarantees.md), agent or not.
stop_agent a
stop_agent b
start_agent a
start_agent b
rc=0
drover migrate --format json --out "$T/killed.json" 2>"$T/killed.err" &
run_pid=$!
# Wait until beta's PostgreSQL tenant sleeps in M3, then kill beta.
for _ in $(seq 100); do
  [ "$(pg_sql "${DB[b_pg]}" "SELECT count(*) FROM pg_stat_activity WHERE datname = '${DB[b_pg]}' AND query LIKE '%sleep(2)%' AND pid <> pg_backend_pid()")" = 1 ] && break
  sleep 0.05
done
kill -9 "${AGENT_PID[b]}"
wait "${AGENT_PID[b]}" 2>/dev/null || true
unset "AGENT_PID[b]"
wait "$run_pid" || rc=$?
assert_eq 1 "$rc" "a run with unreachable tenants fails"
assert_eq "l_pg:migrated,l_my:migrated,a_pg:migrated,a_my:migrated,b_pg:unreachable,b_my:unreachable" \
  "$(jq -r '[.tenants[] | "\(.id):\(.outcome)"] | join(",")' "$T/killed.json")"
assert_contains "$(jq -r '.tenants[] | select(.id == "b_pg") | .error.message' "$T/killed.json")" \
  "tenant 'b_pg': agent 'beta' (https://127.0.0.1:$B_PORT)"
assert_contains "$(cat "$T/killed.err")" "agent 'beta'"
KILLED_RUN=$(drover runs --format json | jq '.[0].id')
assert_exit 0 drover runs show "$KILLED_RUN" --format json
assert_eq "unreachable" "$(jq -r '.tenants[] | select(.id == "b_my") | .outcome' "$OUT_FILE")" \
  "the journal keeps the unreachable tenant"

start_agent b
assert_exit 0 drover migrate --format json
assert_eq "l_pg:up_to_date,l_my:up_to_date,a_pg:up_to_date,a_my:up_to_date,b_pg:migrated,b_my:migrated" \
  "$(jq -r '[.tenants[] | "\(.id):\(.outcome)"] | join(",")' "$OUT_FILE")"
for id in "${ALL[@]}"; do
  assert_eq 3 "$(meta_count "$id")" "$id SequelizeMeta rows after the rerun"
  assert_eq "m2:1,m3:1" "$(effects "$id")" "$id: every migration applied once"
done
assert_exit 0 drover status --exit-code

# --- schema drift is computed across local and agent tenants; plan and check reach agents ----
assert_exit 0 drover status --schema --format json
fp=$(jq -r '.tenants[] | select(.id == "l_pg") | .fingerprint' "$OUT_FILE")
[[ $fp =~ ^[0-9a-f]{16}$ ]] || fail "no fingerprint for l_pg: '$fp'"
assert_eq "$fp,$fp" "$(jq -r '[.tenants[] | select(.id == "a_pg" or .id == "b_pg") | .fingerprint] | join(",")' "$OUT_FILE")" \
  "agent tenants' schemas read through their agents"
assert_eq "0" "$(jq '[.tenants[] | select(.schema_drift != null)] | length' "$OUT_FILE")" "no drift"
my_sql "${DB[b_my]}" "ALTER TABLE items ADD COLUMN extra INT"
assert_exit 0 drover status --schema --format json
assert_eq "b_my" "$(jq -r '[.tenants[] | select(.schema_drift != null) | .id] | join(",")' "$OUT_FILE")" \
  "drift on an agent's tenant, against its local and remote peers"
assert_contains "$(jq -c '.tenants[] | select(.id == "b_my") | .schema_drift.added' "$OUT_FILE")" "extra"
assert_exit 0 drover check --format json
assert_eq "ok,ok,ok,ok,ok,ok" "$(jq -r '[.tenants[].outcome] | join(",")' "$OUT_FILE")"
assert_exit 0 drover plan --format json
assert_eq "up_to_date,up_to_date,up_to_date,up_to_date,up_to_date,up_to_date" \
  "$(jq -r '[.tenants[].outcome] | join(",")' "$OUT_FILE")"

# --- a stop request reaches the agent: the running migration ends, the next one never starts --
assert_exit 0 drover undo --tenant a_pg --steps 1
M4=20240101000004-after.sql
printf -- '-- migrate:up\nCREATE TABLE after_stop (id INTEGER);\n\n-- migrate:down\nDROP TABLE after_stop;\n' >"$T/migrations/$M4"
stop_agent a
start_agent a
"$DROVER_BIN" --config "$CFG" migrate --tenant a_pg --format json --out "$T/stopped.json" 2>"$T/stopped.err" &
run_pid=$!
for _ in $(seq 100); do
  [ "$(pg_sql "${DB[a_pg]}" "SELECT count(*) FROM pg_stat_activity WHERE datname = '${DB[a_pg]}' AND query LIKE '%sleep(2)%' AND pid <> pg_backend_pid()")" = 1 ] && break
  sleep 0.05
done
kill -TERM "$run_pid"
rc=0
wait "$run_pid" || rc=$?
assert_eq 130 "$rc" "an interrupted run exits 130"
assert_eq "migrated:$M3" "$(jq -r '.tenants[0] | "\(.outcome):\(.applied | join(","))"' "$T/stopped.json")"
assert_eq 3 "$(meta_count a_pg)" "M4 never started on a_pg"
assert_contains "$(cat "$T/a/agent.log")" "/cancel 202"
assert_eq "m2:1,m3:1" "$(effects a_pg)"
stop_agent a
stop_agent b

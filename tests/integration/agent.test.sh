#!/usr/bin/env bash
# agent.test.sh — drover-agent over HTTP and HTTPS on 127.0.0.1, serving PostgreSQL, SQLite and
# MariaDB tenants: every refusal (401, 400, 413, 409) gets its status with no side effect, a
# batch migrates them and is readable while and after it runs, resubmitting a run id
# returns the same batch and runs nothing, undo reverts, /metrics parses, no password leaks,
# and a TLS agent with a certificate made here answers `curl --cacert`.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT=${DROVER_AGENT_BIN:?DROVER_AGENT_BIN is not set (drover-agent not built)}
T=$DROVER_TEST_TMPDIR
PG_DB=$(unique_name agent_pg)
MY_DB=$(unique_name agent_my)
SLOW_DBS=("$(unique_name agent_s1)" "$(unique_name agent_s2)" "$(unique_name agent_s3)")
AGENT_PIDS=()
cleanup() {
  for p in "${AGENT_PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  pg_drop_db "$PG_DB" || true
  my_drop_db "$MY_DB" || true
  for db in "${SLOW_DBS[@]}"; do pg_drop_db "$db" || true; done
}
trap 'rc=$?; cleanup >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT
pg_create_db "$PG_DB"
my_create_db "$MY_DB"

M1=20240101000001-users.sql
M2=20240101000002-orgs.sql
mkdir -p "$T/migrations" "$T/tenants"
printf -- '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE users;\n' >"$T/migrations/$M1"
printf -- '-- migrate:up\nCREATE TABLE orgs (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE orgs;\n' >"$T/migrations/$M2"
write_inventory "$T/drover.cfg" <<EOF
migrations = { path = "migrations"; };
environments = ( { name = "prod"; } );
tenants = (
  { id = "pg1";   env = "prod"; url = "postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT/$PG_DB"; },
  { id = "lite1"; env = "prod"; url = "sqlite:tenants/lite1.db"; },
  { id = "my1";   env = "prod"; url = "mysql://drover:\${DROVER_TEST_MYSQL_PASSWORD}@127.0.0.1:$DROVER_TEST_MYSQL_PORT/$MY_DB"; }
);
EOF
TOKEN=tok-0123456789abcdef
printf '# accepted tokens\nother-token\n\n  %s  \n' "$TOKEN" >"$T/tokens"

# start_agent NAME PORT [TLS_LINE [INVENTORY PARALLEL]]: writes NAME.cfg, starts the agent,
# waits for /healthz.
start_agent() {
  local name=$1 port=$2 tls=${3:-} scheme=http curl_tls=()
  cat >"$T/$name.cfg" <<EOF
port = $port;
token_file = "tokens";
inventory = "${4:-drover.cfg}";
parallel = ${5:-2};
max_body = 4096;
$tls
EOF
  if [ -n "$tls" ]; then scheme=https; curl_tls=(--cacert "$T/cert.pem"); fi
  "$AGENT" --config "$T/$name.cfg" 2>"$T/$name.log" &
  AGENT_PIDS+=($!)
  for _ in $(seq 100); do
    curl -sf "${curl_tls[@]}" "$scheme://127.0.0.1:$port/healthz" >/dev/null && return
    sleep 0.1
  done
  cat "$T/$name.log" >&2
  fail "agent '$name' did not start"
}

PORT=$(free_port)
start_agent plain "$PORT"
BASE=http://127.0.0.1:$PORT
AUTH=(-H "Authorization: Bearer $TOKEN")

# req METHOD PATH [curl args...]: prints the status; the body lands in $T/body.
req() {
  local method=$1 path=$2
  shift 2
  curl -s -o "$T/body" -w '%{http_code}' -X "$method" "$@" "$BASE$path"
}

assert_eq "200" "$(req GET /healthz)" "healthz"
assert_eq "ok" "$(json_get "$T/body" .status)" "healthz body"

# The digests the agent computed, to build valid and invalid submissions from.
assert_eq "401" "$(req GET /v1/migrations)" "migrations without a token"
assert_eq "200" "$(req GET /v1/migrations "${AUTH[@]}")" "migrations"
cp "$T/body" "$T/migs.json"
DIGEST=$(json_get "$T/migs.json" .migrations_digest)
assert_eq "2" "$(json_get "$T/migs.json" '.migrations | length')" "two files"
[[ $DIGEST =~ ^[0-9a-f]{16}$ ]] || fail "digest '$DIGEST' is not 16 hex digits"

# batch_body RUN COMMAND TENANTS_JSON [EXTRA_JQ]: a submission with the agent's own digests.
batch_body() {
  jq -c --arg run "$1" --arg cmd "$2" --argjson tenants "$3" \
    "{run_id: \$run, command: \$cmd, tenants: \$tenants, migrations_digest, migrations} ${4:-}" \
    "$T/migs.json"
}
post_batch() {
  req POST /v1/batches -H 'Content-Type: application/json' "$@"
}

GOOD=$(batch_body run-1 migrate '["my1","pg1","lite1"]')

# --- refusals, each with no side effect -------------------------------------------------
assert_eq "401" "$(post_batch -d "$GOOD")" "no token"
assert_eq "missing or invalid bearer token" "$(json_get "$T/body" .error)" "401 message"
assert_eq "401" "$(post_batch -H "Authorization: Bearer ${TOKEN}x" -d "$GOOD")" "longer token"
assert_eq "401" "$(post_batch -H "Authorization: Bearer ${TOKEN%?}" -d "$GOOD")" "prefix token"
assert_eq "401" "$(post_batch -H "Authorization: Basic $TOKEN" -d "$GOOD")" "wrong scheme"
assert_eq "400" "$(post_batch "${AUTH[@]}" -d '{"run_id": "x",')" "malformed JSON"
assert_contains "$(json_get "$T/body" .error)" "malformed JSON at line 1"
head -c 5000 /dev/zero | tr '\0' ' ' >"$T/big.json"
assert_eq "413" "$(post_batch "${AUTH[@]}" --data-binary @"$T/big.json")" "body over max_body"
assert_eq "request body over 4096 bytes" "$(json_get "$T/body" .error)" "413 message"
assert_eq "400" "$(post_batch "${AUTH[@]}" -d "$(batch_body r migrate '["pg1","nope"]')")" \
  "unknown tenant"
assert_eq "unknown tenant 'nope'" "$(json_get "$T/body" .error)" "400 names the tenant"
assert_eq "400" "$(post_batch "${AUTH[@]}" -d "$(batch_body r drop '["pg1"]')")" "bad command"
assert_eq "400" "$(post_batch "${AUTH[@]}" -d "$(batch_body r undo '["pg1"]')")" "undo how far"
assert_eq "400" "$(post_batch "${AUTH[@]}" -d "$(batch_body r migrate '["pg1"]' '+ {to: "nope.sql"}')")" \
  "unknown target"
assert_eq "unknown migration 'nope.sql'" "$(json_get "$T/body" .error)" "target message"
STALE=$(batch_body r migrate '["pg1"]' "| .migrations_digest = \"0000000000000000\" | .migrations[\"$M2\"] = \"0000000000000000\"")
assert_eq "409" "$(post_batch "${AUTH[@]}" -d "$STALE")" "digest mismatch"
assert_eq "[\"$M2\"]" "$(jq -c .differing "$T/body")" "409 names the differing file"
assert_eq "migration set differs from the agent's (digest '$DIGEST'): '$M2'" \
  "$(json_get "$T/body" .error)" "409 message"
MISSING=$(batch_body r migrate '["pg1"]' "| .migrations_digest = \"1\" | del(.migrations[\"$M1\"]) | .migrations[\"x.sql\"] = \"1\"")
assert_eq "409" "$(post_batch "${AUTH[@]}" -d "$MISSING")" "file sets differ"
assert_eq "[\"$M1\",\"x.sql\"]" "$(jq -c .differing "$T/body")" "409 names missing and extra files"
assert_eq "0" "$(pg_sql "$PG_DB" "SELECT count(*) FROM pg_tables WHERE tablename = 'SequelizeMeta'")" \
  "refusals touched no database"
[ ! -e "$T/tenants/lite1.db" ] || fail "a refusal created the SQLite tenant"
assert_eq "0" "$(my_sql "$MY_DB" "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$MY_DB'")" \
  "refusals touched no MariaDB table"
assert_eq "404" "$(req GET /v1/batches/b1 "${AUTH[@]}")" "refusals started no batch"

# --- a batch ----------------------------------------------------------------------------
# wait_batch ID: polls until the batch is no longer running; its final body is in $T/body.
wait_batch() {
  for _ in $(seq 300); do
    assert_eq "200" "$(req GET "/v1/batches/$1" "${AUTH[@]}")" "poll $1"
    [ "$(json_get "$T/body" .state)" != running ] && return
    sleep 0.1
  done
  fail "batch '$1' still running"
}

assert_eq "202" "$(post_batch "${AUTH[@]}" -d "$GOOD")" "batch accepted"
BATCH=$(json_get "$T/body" .batch_id)
assert_eq "run-1" "$(json_get "$T/body" .run_id)" "run id echoed"
wait_batch "$BATCH"
cp "$T/body" "$T/run1.json"
assert_eq "done succeeded 3" "$(jq -r '"\(.state) \(.outcome) \(.total)"' "$T/run1.json")" "batch done"
assert_eq "pg1 migrated $M1,$M2|lite1 migrated $M1,$M2|my1 migrated $M1,$M2" \
  "$(jq -r '[.tenants[] | "\(.id) \(.outcome) \(.applied | join(","))"] | join("|")' "$T/run1.json")" \
  "every tenant migrated, rollout order"
assert_eq "postgres sqlite mysql" "$(jq -r '[.tenants[].dialect] | join(" ")' "$T/run1.json")" "tenant JSON as drover prints it"
assert_eq "$M1 $M2" "$(pg_sql "$PG_DB" 'SELECT name FROM "SequelizeMeta" ORDER BY name' | xargs)" "pg meta"
assert_eq "$M1 $M2" "$(sqlite_sql "$T/tenants/lite1.db" 'SELECT name FROM SequelizeMeta ORDER BY name;' | xargs)" "sqlite meta"
assert_eq "$M1 $M2" "$(my_sql "$MY_DB" 'SELECT name FROM SequelizeMeta ORDER BY name' | xargs)" "mariadb meta"

# Resubmitting the run id returns the same batch and runs nothing again.
assert_eq "200" "$(post_batch "${AUTH[@]}" -d "$GOOD")" "resubmission"
assert_eq "$BATCH" "$(json_get "$T/body" .batch_id)" "same batch"
assert_eq "200" "$(post_batch "${AUTH[@]}" -d "$(batch_body run-1 migrate '["lite1"]')")" "resubmit a subset"
assert_eq "$BATCH" "$(json_get "$T/body" .batch_id)" "same batch for a subset"
assert_eq "409" "$(post_batch "${AUTH[@]}" -d "$(batch_body run-1 undo '["lite1"]' '+ {options: {all: true}}')")" \
  "the run id with another command"
assert_eq "2" "$(pg_sql "$PG_DB" 'SELECT count(*) FROM "SequelizeMeta"')" "still two rows"
assert_eq "2" "$(my_sql "$MY_DB" 'SELECT count(*) FROM SequelizeMeta')" "still two MariaDB rows"
assert_eq "404" "$(req GET /v1/batches/b2 "${AUTH[@]}")" "no second batch"

# A new run id over migrated tenants re-reads SequelizeMeta: up to date, nothing applied.
assert_eq "202" "$(post_batch "${AUTH[@]}" -d "$(batch_body run-2 migrate '["pg1","lite1","my1"]')")" "second run"
B2=$(json_get "$T/body" .batch_id)
wait_batch "$B2"
assert_eq "up_to_date up_to_date up_to_date" "$(jq -r '[.tenants[].outcome] | join(" ")' "$T/body")" "nothing to do"

assert_eq "202" "$(post_batch "${AUTH[@]}" -d "$(batch_body run-3 undo '["pg1"]' '+ {options: {steps: 1}}')")" "undo"
B3=$(json_get "$T/body" .batch_id)
wait_batch "$B3"
assert_eq "reverted $M2" "$(jq -r '.tenants[] | "\(.outcome) \(.reverted | join(","))"' "$T/body")" "undo result"
assert_eq "$M1" "$(pg_sql "$PG_DB" 'SELECT name FROM "SequelizeMeta" ORDER BY name' | xargs)" "pg meta after undo"
assert_eq "0" "$(pg_sql "$PG_DB" "SELECT count(*) FROM pg_tables WHERE tablename = 'orgs'")" "orgs dropped"

assert_eq "202" "$(post_batch "${AUTH[@]}" -d "$(batch_body run-4 status '["lite1","pg1"]')")" "status batch"
B4=$(json_get "$T/body" .batch_id)
wait_batch "$B4"
assert_eq "pg1 ok|lite1 ok" "$(jq -r '[.tenants[] | "\(.id) \(.outcome)"] | join("|")' "$T/body")" "status, rollout order"

assert_eq "202" "$(req POST "/v1/batches/$B4/cancel" "${AUTH[@]}")" "cancel a finished batch"
assert_eq "done" "$(json_get "$T/body" .state)" "a finished batch stays done"
assert_eq "404" "$(req POST /v1/batches/b99/cancel "${AUTH[@]}")" "cancel an unknown batch"
assert_eq "405" "$(req GET /v1/batches/b1/cancel "${AUTH[@]}")" "cancel is a POST"

# --- metrics ----------------------------------------------------------------------------
assert_eq "200" "$(req GET /metrics)" "metrics"
bad=$(grep -v '^#' "$T/body" | grep -Ev '^[a-z_]+(\{[a-z_]+="[^"]*"\})? [0-9]+$' || true)
assert_eq "" "$bad" "every sample line parses"
assert_contains "$(cat "$T/body")" 'drover_agent_batches{state="done"} 4'
assert_contains "$(cat "$T/body")" 'drover_agent_batches{state="running"} 0'
assert_contains "$(cat "$T/body")" 'drover_agent_tenant_results_total{outcome="migrated"} 3'
assert_contains "$(cat "$T/body")" 'drover_agent_tenant_results_total{outcome="up_to_date"} 3'
assert_contains "$(cat "$T/body")" 'drover_agent_tenant_results_total{outcome="reverted"} 1'

# --- no credentials in results or logs ---------------------------------------------------
assert_contains "$(jq -r '.tenants[0].url' "$T/run1.json")" "drover:***@127.0.0.1"
assert_not_contains "$(cat "$T/run1.json" "$T/plain.log")" "$DROVER_TEST_PG_PASSWORD"
assert_not_contains "$(cat "$T/run1.json" "$T/plain.log")" "$DROVER_TEST_MYSQL_PASSWORD"
assert_not_contains "$(cat "$T/plain.log")" "$TOKEN"

# --- TLS --------------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
TLS_PORT=$(free_port)
start_agent tls "$TLS_PORT" 'tls = { cert = "cert.pem"; key = "key.pem"; };'
BASE=https://127.0.0.1:$TLS_PORT
assert_eq "200" "$(req GET /healthz --cacert "$T/cert.pem")" "healthz over TLS"
assert_exit 60 curl -s "$BASE/healthz" # curl: the certificate is not trusted without --cacert
assert_eq "401" "$(post_batch --cacert "$T/cert.pem" -d "$GOOD")" "401 over TLS"
assert_eq "202" "$(post_batch --cacert "$T/cert.pem" "${AUTH[@]}" -d "$(batch_body tls-1 migrate '["pg1"]')")" "batch over TLS"
TB=$(json_get "$T/body" .batch_id)
AUTH+=(--cacert "$T/cert.pem")
wait_batch "$TB"
assert_eq "migrated $M2" "$(jq -r '.tenants[] | "\(.outcome) \(.applied | join(","))"' "$T/body")" "TLS batch reapplies the undone migration"
assert_eq "$M1 $M2" "$(pg_sql "$PG_DB" 'SELECT name FROM "SequelizeMeta" ORDER BY name' | xargs)" "pg meta after TLS run"

# --- results while running, and cancel ---------------------------------------------------
# One worker, three tenants; the migration sleeps 3 s everywhere but in the first tenant, so
# the first result is readable while the second runs, and a cancel then lets the second
# finish its migration and never starts the third.
for db in "${SLOW_DBS[@]}"; do pg_create_db "$db"; done
S1=20240201000001-slow.sql
mkdir -p "$T/slow/migrations"
printf -- "-- migrate:up\nSELECT pg_sleep(CASE WHEN current_database() = '%s' THEN 0 ELSE 3 END);\nCREATE TABLE slow (id INTEGER);\n\n-- migrate:down\nDROP TABLE slow;\n" \
  "${SLOW_DBS[0]}" >"$T/slow/migrations/$S1"
PGBASE="postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT"
write_inventory "$T/slow/drover.cfg" <<EOF
migrations = { path = "migrations"; };
environments = ( { name = "prod"; } );
tenants = (
  { id = "s1"; env = "prod"; url = "$PGBASE/${SLOW_DBS[0]}"; },
  { id = "s2"; env = "prod"; url = "$PGBASE/${SLOW_DBS[1]}"; },
  { id = "s3"; env = "prod"; url = "$PGBASE/${SLOW_DBS[2]}"; }
);
EOF
SLOW_PORT=$(free_port)
start_agent slow "$SLOW_PORT" "" slow/drover.cfg 1
BASE=http://127.0.0.1:$SLOW_PORT
AUTH=(-H "Authorization: Bearer $TOKEN")
assert_eq "200" "$(req GET /v1/migrations "${AUTH[@]}")" "slow agent migrations"
cp "$T/body" "$T/migs.json"
assert_eq "202" "$(post_batch "${AUTH[@]}" -d "$(batch_body slow-1 migrate '["s1","s2","s3"]')")" "slow batch"
SB=$(json_get "$T/body" .batch_id)
for _ in $(seq 100); do
  assert_eq "200" "$(req GET "/v1/batches/$SB" "${AUTH[@]}")" "poll slow batch"
  [ "$(jq '.tenants | length' "$T/body")" = 0 ] || break
  sleep 0.05
done
assert_eq "running 3 s1 migrated" \
  "$(jq -r '"\(.state) \(.total) \([.tenants[] | "\(.id) \(.outcome)"] | join(","))"' "$T/body")" \
  "the first result is readable while the batch runs"
assert_eq "null" "$(jq -c .outcome "$T/body")" "no outcome while running"
assert_eq "202" "$(req POST "/v1/batches/$SB/cancel" "${AUTH[@]}")" "cancel"
wait_batch "$SB"
assert_eq "cancelled interrupted" "$(jq -r '"\(.state) \(.outcome)"' "$T/body")" "batch cancelled"
assert_eq "s1 migrated|s2 migrated|s3 skipped" \
  "$(jq -r '[.tenants[] | "\(.id) \(.outcome)"] | join("|")' "$T/body")" \
  "the running tenant finished its migration, the queued one never started"
assert_eq "$S1" "$(pg_sql "${SLOW_DBS[1]}" 'SELECT name FROM "SequelizeMeta"')" "s2 meta"
assert_eq "0" "$(pg_sql "${SLOW_DBS[2]}" "SELECT count(*) FROM pg_tables WHERE tablename = 'SequelizeMeta'")" \
  "s3 untouched"
assert_contains "$(cat "$T/slow.log")" "interrupted: cancelled: dispatching stopped, running jobs finished"

# --- shutdown ---------------------------------------------------------------------------
# SIGTERM ends every agent with exit 0 (under ASan, a leak or a memory error would not).
for i in "${!AGENT_PIDS[@]}"; do
  rc=0
  kill -TERM "${AGENT_PIDS[$i]}"
  wait "${AGENT_PIDS[$i]}" || rc=$?
  assert_eq "0" "$rc" "agent $i exits 0 on SIGTERM"
done
AGENT_PIDS=()
assert_contains "$(cat "$T/plain.log")" "drover-agent: SIGTERM, stopping"

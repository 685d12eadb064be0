#!/usr/bin/env bash
# faults_input.test.sh — bad input and hostile clients that broke drover's promises (issue 12),
# each against its fix: a transaction-control statement in a transactional .sql section is
# refused when the set loads (file:line, exit 2, nothing touched) and a .js migration that
# commits drover's transaction leaves the tenant dirty; drover-agent type-checks every field of
# a batch request (400 naming it, nothing started), escapes what clients send before it logs it,
# never decodes %00 into an id, stays answerable behind hundreds of idle sockets and does not
# grow with every finished batch; a 10 MiB statement is cut to an excerpt in errors, reports and
# the journal; an @include of a directory, an over-long inventory line, a migration that is a
# directory or a FIFO, and a file name that is not UTF-8 are precise errors with exit 2.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"
# shellcheck source=tests/integration/js_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/js_lib.sh"

: "${DROVER_AGENT_BIN:?DROVER_AGENT_BIN is not set (drover-agent not built)}"

# --- 1. BEGIN/COMMIT/ROLLBACK/END in a transactional section: refused at load.
write_migration "$T/commit/m" 20240101000001-ok.sql "CREATE TABLE fine (id INTEGER PRIMARY KEY);" "DROP TABLE fine;"
printf -- '-- migrate:up\nCREATE TABLE half (id INTEGER PRIMARY KEY);\nCOMMIT;\nINSERT INTO no_such_table VALUES (1);\n\n-- migrate:down\nDROP TABLE half;\n' \
  >"$T/commit/m/20240101000002-commits.sql"
db=$(unique_name fic)
new_pg_db "$db"
write_config "$T/commit/drover.cfg" m "" '{ name = "dev"; }' "s1 dev sqlite:s1.db" "p1 dev $(pg_url "$db")"
drover_run 2 "$T/commit/drover.cfg" migrate
assert_eq "drover: $T/commit/m/20240101000002-commits.sql:3: 'COMMIT' in the '-- migrate:up' section, which drover runs in a transaction of its own
  hint: remove it, or mark the section '-- migrate:up transaction:false' to run it without drover's transaction" \
  "$ERR" "commit in a section: file:line and what to do"
assert_eq "no" "$([ -e "$T/commit/s1.db" ] && echo yes || echo no)" "commit in a section: no SQLite file created"
assert_eq "" "$(pg_sql "$db" "SELECT to_regclass('\"SequelizeMeta\"')")" "commit in a section: PostgreSQL untouched"
# Savepoints and PL/pgSQL bodies are not transaction control; transaction:false opts out.
printf -- '-- migrate:up transaction:false\nCREATE TABLE half (id INTEGER PRIMARY KEY);\nCOMMIT;\n\n-- migrate:down\nDROP TABLE half;\n' \
  >"$T/commit/m/20240101000002-commits.sql"
printf -- "-- migrate:up\nSAVEPOINT a;\nROLLBACK TO SAVEPOINT a;\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS \$\$ BEGIN RETURN 1; END \$\$;\n\n-- migrate:down\nDROP FUNCTION f();\n" \
  >"$T/commit/m/20240101000003-savepoint.sql"
write_config "$T/commit/pg.cfg" m "" '{ name = "dev"; }' "p1 dev $(pg_url "$db")"
drover_run 0 "$T/commit/pg.cfg" plan

# A .js migration that commits drover's transaction itself: dirty, never rolled back.
npm_project npm-real6 sequelize-cli@6 sequelize@6 pg pg-hstore mysql2
mkdir -p "$T/jscommit/migrations"
ln -sfn "$NPM_ROOT/npm-real6/node_modules" "$T/jscommit/node_modules"
cat >"$T/jscommit/migrations/20240101000001-commits.js" <<'EOF'
'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => {
    await queryInterface.createTable('half', { id: { type: Sequelize.INTEGER, primaryKey: true } });
    await queryInterface.sequelize.query('COMMIT');
    await queryInterface.createTable('after', { id: { type: Sequelize.INTEGER, primaryKey: true } });
  },
  down: async (queryInterface) => { await queryInterface.dropTable('half'); },
};
EOF
db=$(unique_name fij)
new_pg_db "$db"
write_config "$T/jscommit/drover.cfg" migrations "retries = 0;" '{ name = "dev"; }' "p1 dev $(pg_url "$db")"
drover_run 1 "$T/jscommit/drover.cfg" migrate --format json
assert_eq "dirty|true|20240101000001-commits.js" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .partial, .dirty_migration] | map(tostring) | join("|")')" \
  "js commit: the tenant is dirty"
assert_contains "$(json_get "$OUT_FILE" '.tenants[0].error.message')" "the migration ended the transaction drover opened for it"
assert_eq "" "$(pg_rows "$db" 2>/dev/null || true)" "js commit: nothing recorded"

# --- 2 and 4. drover-agent: typed fields, escaped logs, no %00 ids.
mkdir -p "$T/agent/m"
write_migration "$T/agent/m" 20240101000001-t.sql "CREATE TABLE t (id INTEGER PRIMARY KEY);" "DROP TABLE t;"
write_config "$T/agent/drover.cfg" m "" '{ name = "dev"; }' "a1 dev sqlite:a1.db"
echo "token-0123456789abcdef" >"$T/agent/tokens"
start_agent_in "$T/agent"
PORT=$AGENT_STARTED_PORT
AGENT_PID=$AGENT_STARTED_PID
_FL_PIDS+=("$AGENT_PID")
DIGEST=$(curl -sf -H "Authorization: Bearer token-0123456789abcdef" "http://127.0.0.1:$PORT/v1/migrations" | jq -r .migrations_digest)
# post BODY: POSTs a batch; the status in CODE, the body in $T/agent/reply.json.
post() {
  CODE=$(curl -s -o "$T/agent/reply.json" -w '%{http_code}' -H "Authorization: Bearer token-0123456789abcdef" \
    -H 'Content-Type: application/json' -d "$1" "http://127.0.0.1:$PORT/v1/batches")
}
base='"command":"migrate","tenants":["a1"],"migrations_digest":"'$DIGEST'"'
post '{"run_id":"r1",'"$base"',"options":{"dry_run":"true"}}'
assert_eq "400|'options.dry_run' must be true or false" "$CODE|$(jq -r .error "$T/agent/reply.json")" "dry_run as a string"
post '{"run_id":"r2",'"$base"',"options":{"dry_run":1}}'
assert_eq "400|'options.dry_run' must be true or false" "$CODE|$(jq -r .error "$T/agent/reply.json")" "dry_run as a number"
post '{"run_id":"r3",'"$base"',"to":20240101000001}'
assert_eq "400|'to' must be a string" "$CODE|$(jq -r .error "$T/agent/reply.json")" "to as a number"
post '{"run_id":"r4",'"$base"',"options":{"dryrun":true}}'
assert_eq "400|unknown field 'options.dryrun'" "$CODE|$(jq -r .error "$T/agent/reply.json")" "a misspelt option"
post '{"run_id":"r5",'"$base"',"options":{"steps":"2"}}'
assert_eq "400|'options.steps' must be a whole number" "$CODE|$(jq -r .error "$T/agent/reply.json")" "steps as a string"
post '{"run_id":"forged\ndrover-agent: batch b9 (run x) succeeded",'"$base"'}'
assert_eq "400|'run_id' must not hold control characters" "$CODE|$(jq -r .error "$T/agent/reply.json")" "a run id with a newline"
assert_eq "no" "$([ -e "$T/agent/a1.db" ] && echo yes || echo no)" "refused requests started nothing"
assert_eq 'drover_agent_batches{state="running"} 0
drover_agent_batches{state="done"} 0' \
  "$(curl -sf "http://127.0.0.1:$PORT/metrics" | grep -E '^drover_agent_batches\{state="(running|done)"\}')" "no batch started"
post '{"run_id":"ok1",'"$base"'}'
assert_eq "202" "$CODE" "a well-typed request runs"
wait_for 20 "batch b1 to end" grep -q "batch b1 (run 'ok1') succeeded" "$T/agent/agent.log"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer token-0123456789abcdef" \
  "http://127.0.0.1:$PORT/v1/batches/b1%00")
assert_eq "404" "$code" "b1%00 is not b1"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer token-0123456789abcdef" \
  "http://127.0.0.1:$PORT/v1/batches/b1%0a%0ddrover-agent:%20forged")
assert_eq "404" "$code" "an id with escaped newlines is no batch"
assert_eq "" "$(grep -E '^drover-agent: forged|^forged|^drover-agent: batch b9' "$T/agent/agent.log" || true)" \
  "no client string forged a log line"

# --- 3. Idle sockets cannot starve the agent; finished batches give their threads back.
vm_kb() { awk '/^VmSize/ { print $2 }' "/proc/$AGENT_PID/status"; }
idle=()
for _ in $(seq 300); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || break
  idle+=("$fd")
done
[ "${#idle[@]}" -ge 64 ] || fail "could not open idle sockets (${#idle[@]})"
started=$SECONDS
curl -sf --max-time 5 --interface 127.0.0.2 "http://127.0.0.1:$PORT/healthz" >/dev/null ||
  fail "the agent does not answer /healthz behind ${#idle[@]} idle sockets"
[ $((SECONDS - started)) -lt 5 ] || fail "/healthz took $((SECONDS - started)) s behind idle sockets"
_lib_pass
for fd in "${idle[@]}"; do exec {fd}>&-; done
status_batch() {
  curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H "Authorization: Bearer token-0123456789abcdef" \
    -H 'Content-Type: application/json' \
    -d '{"run_id":"s'"$1"'","command":"status","tenants":["a1"],"migrations_digest":"'"$DIGEST"'"}' \
    "http://127.0.0.1:$PORT/v1/batches"
}
for i in $(seq 20); do [ "$(status_batch "$i")" = 202 ] || fail "status batch $i refused"; done
wait_for 30 "20 status batches" bash -c "[ \"\$(grep -c \"(run 's[0-9]*') succeeded\" '$T/agent/agent.log')\" -ge 20 ]"
before=$(vm_kb)
for i in $(seq 21 300); do
  [ "$(status_batch "$i")" = 202 ] || fail "status batch $i refused"
  [ $((i % 40)) -ne 0 ] || sleep 0.2
done
wait_for 60 "300 status batches" bash -c "[ \"\$(grep -c \"(run 's[0-9]*') succeeded\" '$T/agent/agent.log')\" -ge 300 ]"
status_batch 301 >/dev/null # reaps what ended
after=$(vm_kb)
[ $((after - before)) -lt $((256 * 1024)) ] ||
  fail "the agent grew from $before kB to $after kB of address space over 280 batches"
_lib_pass
curl -sf --max-time 5 "http://127.0.0.1:$PORT/healthz" >/dev/null || fail "the agent stopped answering"
_lib_pass

# --- 7. A 10 MiB statement with an unterminated quote, on two tenants: an excerpt everywhere.
mkdir -p "$T/big/m"
{
  printf -- "-- migrate:up\nINSERT INTO t VALUES ('"
  head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'x'
  printf "\n\n-- migrate:down\nSELECT 1;\n"
} >"$T/big/m/20240101000001-huge.sql"
write_config "$T/big/drover.cfg" m "retries = 0;" '{ name = "dev"; }' "s1 dev sqlite:s1.db" "s2 dev sqlite:s2.db"
drover_run 1 "$T/big/drover.cfg" migrate --format json --continue-on-error
report_bytes=$(wc -c <"$OUT_FILE")
[ "$report_bytes" -lt 65536 ] || fail "the JSON report has $report_bytes bytes"
_lib_pass
[ "${#ERR}" -lt 65536 ] || fail "stderr has ${#ERR} bytes"
_lib_pass
assert_contains "$(json_get "$OUT_FILE" '.tenants[0].error.statement')" "… [cut: the statement has "
journal_bytes=$(wc -c <"$T/big/drover-journal.db")
[ "$journal_bytes" -lt 1048576 ] || fail "the journal has $journal_bytes bytes"
_lib_pass

# --- 8. Inventory edge cases: precise, prefixed, quick.
mkdir -p "$T/inv/somedir"
printf '@include "somedir"\nmigrations = { path = "m"; };\n' >"$T/inv/include-dir.cfg"
drover_run 2 "$T/inv/include-dir.cfg" plan
assert_eq "drover: $T/inv/include-dir.cfg:1: '$T/inv/somedir' is not a regular file
  hint: @include names a file, relative to the directory of the inventory" "$ERR" "@include of a directory"
{ printf 'migrations = { path = "m"; }; # '; head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' 'c'; echo; } >"$T/inv/long.cfg"
started=$SECONDS
drover_run 2 "$T/inv/long.cfg" plan
[ $((SECONDS - started)) -lt 5 ] || fail "a 4 MiB comment took $((SECONDS - started)) s"
assert_contains "$ERR" "drover: $T/inv/long.cfg:1: a line of 4194336 bytes: drover reads lines of at most 64 KiB"

# --- 9. Migration folder entries that are no migration files.
mkdir -p "$T/entries/m/20240101000002-dir.sql"
write_migration "$T/entries/m" 20240101000001-ok.sql "CREATE TABLE ok (id INTEGER PRIMARY KEY);" "DROP TABLE ok;"
write_config "$T/entries/drover.cfg" m "" '{ name = "dev"; }' "s1 dev sqlite:s1.db"
drover_run 2 "$T/entries/drover.cfg" migrate
assert_contains "$ERR" "drover: '$T/entries/m/20240101000002-dir.sql' is named like a migration but is not a regular file"
rmdir "$T/entries/m/20240101000002-dir.sql"
mkfifo "$T/entries/m/20240101000002-fifo.sql"
assert_exit 2 timeout 20 "$DROVER_BIN" --config "$T/entries/drover.cfg" migrate
assert_contains "$ERR" "'$T/entries/m/20240101000002-fifo.sql' is named like a migration but is not a regular file"
rm "$T/entries/m/20240101000002-fifo.sql"
cp "$T/entries/m/20240101000001-ok.sql" "$T/entries/m/$(printf '20240101000003-caf\xe9.sql')"
drover_run 2 "$T/entries/drover.cfg" migrate
assert_contains "$ERR" "is not valid UTF-8, so SequelizeMeta cannot record it"
assert_eq "no" "$([ -e "$T/entries/s1.db" ] && echo yes || echo no)" "bad entries: nothing touched"

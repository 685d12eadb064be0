#!/usr/bin/env bash
# signals.test.sh — SIGTERM and SIGINT in the middle of a migrate run: dispatching stops,
# running jobs finish the migration they are in (none is left half-applied, even one without
# a transaction), the rest are reported and journaled as skipped, nothing stays locked or
# connected, the exit status is 130, and a second run completes the fleet.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
PREFIX=$(unique_name sig)
IDS=()
for i in $(seq -w 1 12); do IDS+=("s$i"); done
db_of() { echo "${PREFIX}_${1#s}"; }
# A LIKE pattern for this test's databases ('_' is a LIKE wildcard).
LIKE="${PREFIX//_/\\_}\\_%"

BG_PID=""
cleanup() {
  local id sql=""
  [ -z "$BG_PID" ] || kill "$BG_PID" 2>/dev/null || true
  for id in "${IDS[@]}"; do sql+="DROP DATABASE IF EXISTS \"$(db_of "$id")\" WITH (FORCE);"$'\n'; done
  pg_sql postgres "$sql"
}
# lib.sh owns the EXIT trap; drop the databases first, keeping the test's exit status.
trap 'rc=$?; cleanup >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT

sql=""
for id in "${IDS[@]}"; do sql+="CREATE DATABASE \"$(db_of "$id")\";"$'\n'; done
pg_sql postgres "$sql"

# Each migration creates its own tables, so a tenant's objects say which migrations ran.
# M2 runs without a transaction and sleeps between its two tables: stopped inside it, a
# tenant would show t2a without t2b and without M2's row.
MIGS=(
  20240501000001-create-t1.sql
  20240501000002-create-t2.sql
  20240501000003-create-t3.sql
  20240501000004-create-t4.sql
)
declare -A OBJECTS=([${MIGS[0]}]="t1" [${MIGS[1]}]="t2a t2b" [${MIGS[2]}]="t3" [${MIGS[3]}]="t4")
mkdir -p "$T/migrations"
printf -- '-- migrate:up\nCREATE TABLE t1 (id int);\n\n-- migrate:down\nDROP TABLE t1;\n' >"$T/migrations/${MIGS[0]}"
printf -- '-- migrate:up transaction:false\nCREATE TABLE t2a (id int);\nSELECT pg_sleep(1);\nCREATE TABLE t2b (id int);\n\n-- migrate:down transaction:false\nDROP TABLE t2b;\nDROP TABLE t2a;\n' >"$T/migrations/${MIGS[1]}"
printf -- '-- migrate:up\nCREATE TABLE t3 (id int);\n\n-- migrate:down\nDROP TABLE t3;\n' >"$T/migrations/${MIGS[2]}"
printf -- '-- migrate:up\nCREATE TABLE t4 (id int);\n\n-- migrate:down\nDROP TABLE t4;\n' >"$T/migrations/${MIGS[3]}"

export PGPW=$DROVER_TEST_PG_PASSWORD
CFG=$T/drover.cfg
{
  echo 'migrations = { path = "migrations"; };'
  echo 'environments = ( { name = "dev"; } );'
  echo 'tenants = ('
  sep=""
  for id in "${IDS[@]}"; do
    # shellcheck disable=SC2016 # ${PGPW} is for drover to expand
    printf '%s  { id = "%s"; env = "dev"; url = "postgres://%s:${PGPW}@%s:%s/%s"; }\n' "$sep" "$id" \
      "$DROVER_TEST_PG_USER" "$DROVER_TEST_PG_HOST" "$DROVER_TEST_PG_PORT" "$(db_of "$id")"
    sep=","
  done
  echo ');'
} | write_inventory "$CFG"
drover() { "$DROVER_BIN" --config "$CFG" "$@"; }

INTERRUPTED="drover: interrupted by a signal: dispatching stopped, running jobs finished"

# rows ID: the tenant's SequelizeMeta rows, comma-separated (empty without the table).
rows() {
  if [ "$(pg_sql "$(db_of "$1")" "SELECT to_regclass('\"SequelizeMeta\"') IS NOT NULL")" = t ]; then
    pg_sql "$(db_of "$1")" 'SELECT string_agg(name, '"','"' ORDER BY name COLLATE "C") FROM "SequelizeMeta"'
  fi
}
# tables ID: the tenant's tables other than SequelizeMeta, sorted, space-separated.
tables() {
  pg_sql "$(db_of "$1")" "SELECT coalesce(string_agg(tablename, ' ' ORDER BY tablename COLLATE \"C\"), '')
      FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'SequelizeMeta'"
}
# first K: the first K migrations, comma-separated.
first() { local IFS=,; echo "${MIGS[*]:0:$1}"; }

# check_boundary ID OUTCOME APPLIED: the tenant stopped at a migration boundary: its rows are
# the first k migrations, its tables exactly theirs, and the run reported just that (a fresh
# tenant: what it applied is what it has). Sets BOUNDARY to k.
check_boundary() {
  local id=$1 outcome=$2 applied=$3 have k m objects=""
  have=$(rows "$id")
  k=0
  [ -z "$have" ] || k=$(tr ',' '\n' <<<"$have" | wc -l)
  assert_eq "$(first "$k")" "$have" "$id: SequelizeMeta is a prefix of the migrations"
  for m in "${MIGS[@]:0:$k}"; do objects+="${objects:+ }${OBJECTS[$m]}"; done
  assert_eq "$objects" "$(tables "$id")" "$id: the tables of exactly the recorded migrations"
  if [ "$k" = 0 ]; then
    assert_eq skipped "$outcome" "$id: untouched, so skipped"
  else
    assert_eq "migrated $have" "$outcome $applied" "$id: reported as applied"
  fi
  BOUNDARY=$k
}

# stage_signal SIGNAL: waits until a tenant after the first two (so one of those finished) is
# in M2's sleep with at least 0.6 s of it left, then sends SIGNAL to drover. Sets
# STAGED to that tenant.
stage_signal() {
  local first_two found="" id
  first_two="'$(db_of "${IDS[0]}")', '$(db_of "${IDS[1]}")'"
  for _ in $(seq 300); do
    kill -0 "$BG_PID" 2>/dev/null || fail "drover ended before the signal was staged"
    found=$(pg_sql postgres "SELECT datname FROM pg_stat_activity
        WHERE application_name LIKE 'drover migrate pid $BG_PID on %' AND datname LIKE '$LIKE'
          AND datname NOT IN ($first_two) AND state = 'active' AND query LIKE 'SELECT pg_sleep(1)%'
          AND clock_timestamp() - query_start < interval '400 ms' LIMIT 1")
    [ -z "$found" ] || break
    sleep 0.05
  done
  [ -n "$found" ] || fail "no tenant reached migration 2's sleep"
  kill "-$1" "$BG_PID"
  for id in "${IDS[@]}"; do [ "$(db_of "$id")" != "$found" ] || STAGED=$id; done
}

# wait_drover: waits for the background drover; sets RC, OUT and ERR as assert_exit does.
wait_drover() {
  RC=0
  wait "$BG_PID" || RC=$?
  BG_PID=""
  OUT=$(cat "$T/bg.stdout")
  ERR=$(cat "$T/bg.stderr")
  OUT_FILE=$T/bg.stdout
}

# nothing_left: no advisory lock in this test's databases, no drover session (a backend may
# take a moment to exit after its client did).
nothing_left() {
  assert_eq 0 "$(pg_sql postgres "SELECT count(*) FROM pg_locks l JOIN pg_database d
      ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname LIKE '$LIKE'")" \
    "$1: advisory locks left"
  local q="SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'drover%'
      AND datname LIKE '$LIKE'"
  for _ in $(seq 50); do
    [ "$(pg_sql postgres "$q")" = 0 ] && break
    sleep 0.1
  done
  assert_eq 0 "$(pg_sql postgres "$q")" "$1: drover sessions left"
}

# --- 1. SIGTERM, JSON report --------------------------------------------------------------------
# The binary itself, not the drover function: $! must be drover's pid.
"$DROVER_BIN" --config "$CFG" migrate --parallel 2 --format json >"$T/bg.stdout" 2>"$T/bg.stderr" &
BG_PID=$!
RUN_PID=$BG_PID
stage_signal TERM
wait_drover
assert_eq 130 "$RC" "SIGTERM: exit status"$'\n'"$ERR"
assert_eq "$INTERRUPTED" "$ERR" "SIGTERM: stderr"
REPORT=$T/sigterm.json
cp "$OUT_FILE" "$REPORT"
assert_eq interrupted "$(json_get "$REPORT" .outcome)" "SIGTERM: run outcome"
assert_eq "${IDS[*]}" "$(json_get "$REPORT" '[.tenants[].id] | join(" ")')" "SIGTERM: tenants"

declare -A K=()
full=0 part=0 none=0
for id in "${IDS[@]}"; do
  outcome=$(json_get "$REPORT" ".tenants[] | select(.id == \"$id\") | .outcome")
  applied=$(json_get "$REPORT" ".tenants[] | select(.id == \"$id\") | .applied | join(\",\")")
  check_boundary "$id" "$outcome" "$applied"
  k=$BOUNDARY
  K[$id]=$k
  case $k in 0) none=$((none + 1)) ;; 4) full=$((full + 1)) ;; *) part=$((part + 1)) ;; esac
done
echo "SIGTERM: $full tenants complete, $part stopped between migrations, $none untouched"
assert_eq 2 "${K[$STAGED]}" "SIGTERM: '$STAGED', in migration 2 at the signal, finished it and stopped"
[ "$full" -ge 1 ] || fail "SIGTERM: no tenant had finished before the signal"
[ "$none" -ge 1 ] || fail "SIGTERM: every tenant was started"
assert_eq "$none" "$(json_get "$REPORT" .summary.skipped)" "SIGTERM: skipped count"
assert_eq "$((full + part))" "$(json_get "$REPORT" .summary.migrated)" "SIGTERM: migrated count"
nothing_left SIGTERM

# The journal has the run as interrupted, with every tenant as the report has it.
assert_exit 0 drover runs --format json
RUN_ID=$(json_get "$OUT_FILE" '.[0].id')
assert_eq "migrate interrupted $RUN_PID" "$(json_get "$OUT_FILE" '.[0] | "\(.command) \(.outcome) \(.pid)"')" \
  "SIGTERM: the newest journaled run"
assert_exit 0 drover runs show "$RUN_ID" --format json
assert_eq interrupted "$(json_get "$OUT_FILE" .outcome)" "SIGTERM: runs show outcome"
per_tenant='[.tenants[] | "\(.id) \(.outcome) \(.applied | join(","))"] | sort | .[]'
assert_eq "$(json_get "$REPORT" "$per_tenant")" "$(json_get "$OUT_FILE" "$per_tenant")" \
  "SIGTERM: the journal's tenants are the report's"
assert_eq "${MIGS[0]} up true,${MIGS[1]} up true" \
  "$(json_get "$OUT_FILE" ".tenants[] | select(.id == \"$STAGED\") | [.steps[] | \"\(.migration) \(.direction) \(.ok)\"] | join(\",\")")" \
  "SIGTERM: '$STAGED' steps"

# A second run completes everything, each tenant from where it stopped.
assert_exit 0 drover migrate --parallel 4 --format json
assert_eq succeeded "$(json_get "$OUT_FILE" .outcome)" "re-run: outcome"
for id in "${IDS[@]}"; do
  rest=$(first 4)
  [ "${K[$id]}" = 0 ] || rest=$(IFS=,; echo "${MIGS[*]:${K[$id]}}")
  expected="migrated $rest"
  [ "${K[$id]}" != 4 ] || expected="up_to_date "
  assert_eq "$expected" "$(json_get "$OUT_FILE" ".tenants[] | select(.id == \"$id\") | \"\(.outcome) \(.applied | join(\",\"))\"")" \
    "re-run: $id"
  assert_eq "$(first 4)" "$(rows "$id")" "re-run: $id rows"
  assert_eq "t1 t2a t2b t3 t4" "$(tables "$id")" "re-run: $id tables"
done

# --- 2. SIGINT, text report: the same, checked more briefly -----------------------------------
assert_exit 0 drover undo --all --parallel 4
assert_contains "$OUT" "undo: 12 tenants, 12 reverted ("
"$DROVER_BIN" --config "$CFG" migrate --parallel 2 >"$T/bg.stdout" 2>"$T/bg.stderr" &
BG_PID=$!
RUN_PID=$BG_PID
stage_signal INT
wait_drover
assert_eq 130 "$RC" "SIGINT: exit status"$'\n'"$ERR"
assert_eq "$INTERRUPTED" "$ERR" "SIGINT: stderr"
full=0 part=0 none=0
for id in "${IDS[@]}"; do
  line=$(grep "^$id (dev, postgres): " <<<"$OUT") || fail "SIGINT: no line for '$id'"$'\n'"$OUT"
  outcome=skipped applied=""
  if [[ $line =~ :\ migrated\ ([0-9]),\ now\ at\ (.*)$ ]]; then
    outcome=migrated
    applied=$(first "${BASH_REMATCH[1]}")
    assert_eq "${MIGS[$((BASH_REMATCH[1] - 1))]}" "${BASH_REMATCH[2]}" "SIGINT: '$id' now at"
  else
    assert_eq "$id (dev, postgres): skipped (not attempted)" "$line" "SIGINT: '$id' line"
  fi
  check_boundary "$id" "$outcome" "$applied"
  k=$BOUNDARY
  case $k in 0) none=$((none + 1)) ;; 4) full=$((full + 1)) ;; *) part=$((part + 1)) ;; esac
  [ "$id" != "$STAGED" ] || assert_eq 2 "$k" "SIGINT: '$STAGED' finished migration 2 and stopped"
done
[ "$full" -ge 1 ] || fail "SIGINT: no tenant had finished before the signal"
[ "$none" -ge 1 ] || fail "SIGINT: every tenant was started"
assert_contains "$(tail -n 1 <<<"$OUT")" "migrate: 12 tenants, $((full + part)) migrated, $none skipped ("
nothing_left SIGINT
assert_exit 0 drover runs --format json
assert_eq "migrate interrupted $RUN_PID" "$(json_get "$OUT_FILE" '.[0] | "\(.command) \(.outcome) \(.pid)"')" \
  "SIGINT: the newest journaled run"
assert_exit 0 drover migrate --parallel 4
assert_contains "$(tail -n 1 <<<"$OUT")" "migrate: 12 tenants, $full up_to_date, $((12 - full)) migrated ("
for id in "${IDS[@]}"; do
  assert_eq "t1 t2a t2b t3 t4" "$(tables "$id")" "SIGINT re-run: $id tables"
done

# --- A second signal cancels the statements running now: a migration stuck in a long
# statement is cancelled (SQLSTATE 57014), its transaction rolls back, and drover ends at
# once instead of waiting for it.
M5=20240501000005-slow-t5.sql
printf -- '-- migrate:up\nCREATE TABLE t5 (id int);\nSELECT pg_sleep(60);\n\n-- migrate:down\nDROP TABLE t5;\n' \
  >"$T/migrations/$M5"
"$DROVER_BIN" --config "$CFG" migrate --tenant s01 --tenant s02 --parallel 2 --format json \
  >"$T/bg.stdout" 2>"$T/bg.stderr" &
BG_PID=$!
sleepers() {
  pg_sql postgres "SELECT count(*) FROM pg_stat_activity
      WHERE application_name LIKE 'drover migrate pid $BG_PID on %' AND datname LIKE '$LIKE'
        AND state = 'active' AND query LIKE 'SELECT pg_sleep(60)%'"
}
for _ in $(seq 300); do [ "$(sleepers)" = 2 ] && break; sleep 0.05; done
assert_eq 2 "$(sleepers)" "second signal: both tenants are in the long statement"
kill -TERM "$BG_PID"
sleep 0.5
assert_eq 2 "$(sleepers)" "second signal: the first one lets running statements go on"
started=$(date +%s)
kill -TERM "$BG_PID"
wait_drover
# An upper bound on hanging, not a speed assertion: without the cancel it would take 60 s.
[ $(($(date +%s) - started)) -lt 30 ] || fail "second signal: drover waited for the statement"
assert_eq 130 "$RC" "second signal: exit status"$'\n'"$ERR"
assert_contains "$ERR" "drover: cancelling the statements running now"
assert_eq "interrupted" "$(json_get "$OUT_FILE" .outcome)"
for id in s01 s02; do
  assert_eq "failed|57014|$M5" \
    "$(json_get "$OUT_FILE" ".tenants[] | select(.id == \"$id\") | \"\(.outcome)|\(.error.sqlstate)|\(.error.migration)\"")" \
    "second signal: '$id' failed with the cancel"
  assert_eq "$(first 4)" "$(rows "$id")" "second signal: '$id' records nothing of the cancelled migration"
  assert_eq "t1 t2a t2b t3 t4" "$(tables "$id")" "second signal: '$id' has no t5 (rolled back)"
done
nothing_left "second signal"

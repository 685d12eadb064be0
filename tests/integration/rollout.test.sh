#!/usr/bin/env bash
# rollout.test.sh — the staged rollout across environments dev (2 tenants), staging (3, one of
# them on PostgreSQL) and prod (6): environments in order, prod canaries (tagged ones first),
# failure budgets that halt and skip what was not started, on_failure = "revert",
# --continue-on-error, --env, JSON log lines, and the runs journal.
# A migration fails only on chosen "victims": every tenant has a table boom, and only the
# victims' copy has CHECK (x < 1), which the 2nd migration's INSERT violates.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"

T=$DROVER_TEST_TMPDIR
M1=20240401000001-create-widgets.sql
M2=20240401000002-fill-boom.sql
MIGS=$T/migrations
mkdir -p "$MIGS"
printf -- '-- migrate:up\nCREATE TABLE widgets (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE widgets;\n' \
  >"$MIGS/$M1"
printf -- '-- migrate:up\nINSERT INTO boom (x) VALUES (1);\n\n-- migrate:down\nDELETE FROM boom;\n' \
  >"$MIGS/$M2"

ALL="d1 d2 s1 s2 s3 p1 p2 p3 p4 p5 p6"
PROD="p1 p2 p3 p4 p5 p6"
# The inventory lists the tenants interleaved, so that running them in environment order is
# drover's doing, not the file's.
FILE_ORDER="p1 s1 d1 p2 s2 d2 p3 s3 p4 p5 p6"
PG_DB=""

env_of() {
  case $1 in
    d*) echo dev ;;
    s*) echo staging ;;
    *) echo prod ;;
  esac
}

# fleet DIR ENVIRONMENTS CANARY_TAGGED VICTIM...: a fresh fleet in DIR: SQLite tenants next
# to DIR/drover.cfg, s2 on a new PostgreSQL database ($PG_DB), boom on every tenant (with the
# CHECK on the victims). ENVIRONMENTS is the inside of "environments = ( ... );";
# CANARY_TAGGED lists the tenants tagged "canary".
fleet() {
  local dir=$1 envs=$2 tagged=$3 t check url tags sep=""
  shift 3
  mkdir -p "$dir"
  PG_DB=$(unique_name ro_s2)
  pg_new_db "$PG_DB"
  {
    echo "migrations = { path = \"$MIGS\"; };"
    echo "environments = ( $envs );"
    echo "tenants = ("
    for t in $FILE_ORDER; do
      url="sqlite:$t.db"
      [ "$t" != s2 ] || url=$(pg_url "$PG_DB")
      tags=""
      [[ " $tagged " != *" $t "* ]] || tags=' tags = ["canary"];'
      echo "$sep  { id = \"$t\"; env = \"$(env_of "$t")\"; url = \"$url\";$tags }"
      sep=","
    done
    echo ");"
  } | write_inventory "$dir/drover.cfg"
  for t in $ALL; do
    check=""
    [[ " $* " != *" $t "* ]] || check=" CHECK (x < 1)"
    if [ "$t" = s2 ]; then
      pg_sql "$PG_DB" "CREATE TABLE boom (x INTEGER$check)"
    else
      sqlite_sql "$dir/$t.db" "CREATE TABLE boom (x INTEGER$check)"
    fi
  done
}

ENVS_DEFAULT='{ name = "dev"; }, { name = "staging"; },
  { name = "prod"; canary = 2; max_failures = 1; }'

# rows DIR TENANT: the tenant's SequelizeMeta rows on one line, or "none" without the table.
rows() {
  if [ "$2" = s2 ]; then
    if [ "$(pg_relations "$PG_DB")" = boom ]; then echo none; else pg_rows "$PG_DB" | paste -sd ' ' -; fi
    return
  fi
  if [ -z "$(sqlite_sql "$1/$2.db" "SELECT name FROM sqlite_master WHERE name = 'SequelizeMeta'")" ]; then
    echo none
    return
  fi
  sqlite_sql "$1/$2.db" "SELECT name FROM SequelizeMeta ORDER BY name" | paste -sd ' ' -
}

# outcomes FILE: "id:outcome" of every tenant of a report or a journal run, in id order.
outcomes() { jq -r '[.tenants[] | "\(.id):\(.outcome)"] | sort | join(" ")' "$1"; }

# expect IDS OUTCOME: "id:OUTCOME" for each of IDS.
expect() {
  local t out=()
  for t in $1; do out+=("$t:$2"); done
  echo "${out[@]}"
}

# sorted_outcomes "ID:OUTCOME..."...: the words sorted as outcomes prints them.
sorted_outcomes() { tr ' ' '\n' <<<"$*" | sort | paste -sd ' ' -; }

PG_CHECK_ERROR="new row for relation \"boom\" violates check constraint \"boom_x_check\" (detail: Failing row contains (1).) (SQLSTATE 23514)"
SQLITE_CHECK_ERROR="CHECK constraint failed: x < 1 (error 275)"

# --- 1. No failures, --log-format json: environments run in order, stderr is JSON lines
# (a "migration" event per step and a "tenant" event per tenant), stdout has the report.
D=$T/order
fleet "$D" "$ENVS_DEFAULT" ""
assert_exit 0 drover "$D/drover.cfg" migrate --parallel 4 --log-format json
assert_contains "$OUT" "migrate: 11 tenants, 11 migrated" "order: the report on stdout"
assert_contains "$OUT" "s2 (staging, postgres): migrated 2, now at $M2" "order: s2's report line"
while IFS= read -r line; do
  jq -e . >/dev/null <<<"$line" || fail "order: a stderr line is not JSON: $line"
done <"$ERR_FILE"
assert_eq "22" "$(jq -s '[.[] | select(.event == "migration")] | length' "$ERR_FILE")" \
  "order: one migration event per step (11 tenants x 2)"
assert_eq "$(sorted_outcomes "$(expect "$ALL" migrated)")" \
  "$(jq -rs '[.[] | select(.event == "tenant") | "\(.tenant):\(.outcome)"] | sort | join(" ")' \
    "$ERR_FILE")" "order: one tenant event per tenant"
assert_eq "$(($(wc -l <"$ERR_FILE")))" "$(jq -s 'length' "$ERR_FILE")" \
  "order: every stderr line is one event"
assert_eq "dev staging prod" \
  "$(jq -rs '[.[] | select(.event == "tenant") | .env] | reduce .[] as $e ([];
             if (length > 0 and .[-1] == $e) then . else . + [$e] end) | join(" ")' "$ERR_FILE")" \
  "order: tenant events come environment by environment"
assert_eq "up $M1 s2,up $M2 s2" \
  "$(jq -rs '[.[] | select(.event == "migration" and .tenant == "s2")
             | "\(.direction) \(.migration) \(.tenant)"] | join(",")' "$ERR_FILE")" \
  "order: s2's migration events"
# The journal's times: every environment ended before the next one started.
assert_exit 0 drover "$D/drover.cfg" runs show 1 --format json
assert_eq "true|true" \
  "$(jq -r '[.tenants[] | {env, started_at, ended_at}] | group_by(.env)
            | map({key: .[0].env, value: {start: (map(.started_at) | min),
                                          end: (map(.ended_at) | max)}}) | from_entries
            | [.dev.end <= .staging.start, .staging.end <= .prod.start] | map(tostring)
            | join("|")' "$OUT_FILE")" "order: dev ended before staging, staging before prod"
assert_eq "$M1 $M2" "$(rows "$D" s2)" "order: s2 on PostgreSQL migrated"
assert_eq "$M1 $M2" "$(rows "$D" p6)" "order: p6 migrated"

# --- 2. A prod canary fails: the other prod tenants are never started. p4 and p6 are tagged
# "canary", so they go first, not p1 and p2.
D=$T/canary
fleet "$D" "$ENVS_DEFAULT" "p4 p6" p6
assert_exit 1 drover "$D/drover.cfg" migrate --format json
assert_eq "halted" "$(json_get "$OUT_FILE" .outcome)" "canary: the run halted"
assert_eq "$(sorted_outcomes "$(expect "d1 d2 s1 s2 s3 p4" migrated)" p6:rolled_back \
               "$(expect "p1 p2 p3 p5" skipped)")" "$(outcomes "$OUT_FILE")" \
  "canary: tagged canaries ran, the other prod tenants were skipped"
assert_contains "$ERR" "drover: environment 'prod': canary 'p6' failed; the other tenants were not started" \
  "canary: the halt reason names the canary"
assert_contains "$ERR" "drover: tenant 'p6': migration '$M2': $SQLITE_CHECK_ERROR" \
  "canary: the canary's error"
for t in p1 p2 p3 p5; do
  assert_eq "none" "$(rows "$D" "$t")" "canary: $t untouched"
done
assert_eq "" "$(rows "$D" p6)" "canary: p6 rolled back"
assert_eq "$M1 $M2" "$(rows "$D" p4)" "canary: p4 migrated"

# --- 3. The runs journal: newest first with their outcomes; runs show in text.
assert_exit 1 drover "$D/drover.cfg" migrate --continue-on-error
assert_exit 0 drover "$D/drover.cfg" migrate --env dev
assert_exit 0 drover "$D/drover.cfg" runs --format json
assert_eq "3:succeeded 2:failed 1:halted" \
  "$(jq -r 'map("\(.id):\(.outcome)") | join(" ")' "$OUT_FILE")" "runs: newest first"
assert_eq "6|4|1" "$(jq -r '.[] | select(.id == 1) | .tenants | [.migrated, .skipped, .rolled_back]
                            | map(tostring) | join("|")' "$OUT_FILE")" "runs: run 1's counts"
assert_exit 0 drover "$D/drover.cfg" runs
assert_eq "3 succeeded
2 failed
1 halted" "$(awk 'NR > 1 { print $1, $4 }' <<<"$OUT")" "runs: the text list, newest first"
assert_exit 0 drover "$D/drover.cfg" runs --limit 1 --format json
assert_eq "3" "$(jq -r 'map(.id) | join(" ")' "$OUT_FILE")" "runs: --limit 1"
assert_exit 0 drover "$D/drover.cfg" runs show 1
assert_contains "$OUT" "run 1: migrate, halted, started " "runs show: the run line"
assert_contains "$OUT" "p1 (prod): skipped
p2 (prod): skipped" "runs show: the skipped tenants, by id"
assert_contains "$OUT" "p6 (prod): rolled_back
    up $M1: ok, 1 attempt(s)
    up $M2: failed, 1 attempt(s)
    down $M1: ok, 1 attempt(s)
    error: tenant 'p6': migration '$M2': $SQLITE_CHECK_ERROR" "runs show: p6's steps and error"
assert_contains "$OUT" "s2 (staging): migrated" "runs show: s2"

# --- 4. The failure budget: staging allows no failure and s1 fails. With --parallel 1 the
# other staging tenants were not started yet, so they and all of prod are skipped.
D=$T/budget
fleet "$D" '{ name = "dev"; }, { name = "staging"; max_failures = 0; },
  { name = "prod"; canary = 2; max_failures = 1; }' "" s1
assert_exit 1 drover "$D/drover.cfg" migrate --parallel 1 --format json
assert_eq "halted" "$(json_get "$OUT_FILE" .outcome)" "budget: the run halted"
assert_eq "$(sorted_outcomes "$(expect "d1 d2" migrated)" s1:rolled_back \
               "$(expect "s2 s3 $PROD" skipped)")" "$(outcomes "$OUT_FILE")" \
  "budget: what was not started is skipped"
assert_contains "$ERR" "drover: environment 'staging': 1 of 3 tenants failed, more than max_failures allows (0)" \
  "budget: the halt reason"
assert_eq "none" "$(rows "$D" s2)" "budget: s2 (PostgreSQL) untouched"
assert_eq "none" "$(rows "$D" p1)" "budget: p1 untouched"
assert_exit 0 drover "$D/drover.cfg" runs show 1 --format json
assert_eq "halted" "$(json_get "$OUT_FILE" .outcome)" "budget: the journal's run outcome"
assert_eq "$(sorted_outcomes "$(expect "d1 d2" migrated)" s1:rolled_back \
               "$(expect "s2 s3 $PROD" skipped)")" "$(outcomes "$OUT_FILE")" \
  "budget: the journal lists every tenant, the skipped ones too"
assert_eq "null|null|0" \
  "$(jq -r '.tenants[] | select(.id == "s3") | [.started_at, .ended_at, (.steps | length)]
            | map(tostring) | join("|")' "$OUT_FILE")" "budget: a skipped tenant never started"

# --- 5. on_failure = "revert": prod's canary p2 fails; what this run migrated in prod (p1,
# which had m1 before the run) is reverted; dev and staging keep their migrations.
D=$T/revert
fleet "$D" '{ name = "dev"; }, { name = "staging"; },
  { name = "prod"; canary = 2; max_failures = 1; on_failure = "revert"; }' "" p2
assert_exit 0 drover "$D/drover.cfg" migrate --tenant p1 --to $M1
assert_exit 1 drover "$D/drover.cfg" migrate --format json
assert_eq "halted" "$(json_get "$OUT_FILE" .outcome)" "revert: the run halted"
assert_eq "$(sorted_outcomes "$(expect "d1 d2 s1 s2 s3" migrated)" p1:reverted p2:rolled_back \
               "$(expect "p3 p4 p5 p6" skipped)")" "$(outcomes "$OUT_FILE")" \
  "revert: p1 reverted, p2 rolled back, the rest of prod skipped"
assert_eq "$M2|$M2" "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "p1")
                                            | [(.applied | join(",")), (.reverted | join(","))]
                                            | join("|")')" "revert: p1 applied and reverted m2"
assert_eq "$M1" "$(rows "$D" p1)" "revert: p1's SequelizeMeta as before the run"
assert_eq "" "$(rows "$D" p2)" "revert: p2 rolled back"
assert_eq "none" "$(rows "$D" p3)" "revert: p3 untouched"
assert_eq "$M1 $M2" "$(rows "$D" d1)" "revert: dev keeps its migrations"
assert_eq "$M1 $M2" "$(rows "$D" s2)" "revert: staging (s2, PostgreSQL) keeps its migrations"
assert_exit 0 drover "$D/drover.cfg" runs show 2 --format json
assert_eq "reverted|up $M2 true,down $M2 true" \
  "$(jq -r '.tenants[] | select(.id == "p1")
            | [.outcome, (.steps | map("\(.direction) \(.migration) \(.ok)") | join(","))]
            | join("|")' "$OUT_FILE")" "revert: the journal records p1's revert"

# --- 6. --continue-on-error ignores the canary failure and the budget: everything runs.
D=$T/continue
fleet "$D" '{ name = "dev"; }, { name = "staging"; max_failures = 0; },
  { name = "prod"; canary = 2; max_failures = 1; }' "p4 p6" s2 p6
assert_exit 1 drover "$D/drover.cfg" migrate --parallel 1 --continue-on-error --format json \
  --log-format json
assert_eq "failed" "$(json_get "$OUT_FILE" .outcome)" "continue: the run failed, not halted"
assert_eq "$(sorted_outcomes "$(expect "d1 d2 s1 s3 p1 p2 p3 p4 p5" migrated)" s2:rolled_back \
               p6:rolled_back)" "$(outcomes "$OUT_FILE")" "continue: every tenant attempted"
assert_eq "tenant 's2': migration '$M2': $PG_CHECK_ERROR|23514" \
  "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "s2") | .error | [.message, .sqlstate]
                           | join("|")')" "continue: s2's PostgreSQL error"
assert_eq "" "$(rows "$D" s2)" "continue: s2 rolled back"
assert_not_contains "$ERR" "halt" "continue: no halt"
# With failures too, stderr holds JSON lines only, the errors in the tenant events.
while IFS= read -r line; do
  jq -e . >/dev/null <<<"$line" || fail "continue: a stderr line is not JSON: $line"
done <"$ERR_FILE"
assert_eq "rolled_back|tenant 'p6': migration '$M2': $SQLITE_CHECK_ERROR" \
  "$(jq -rs '.[] | select(.event == "tenant" and .tenant == "p6") | [.outcome, .error] | join("|")' \
    "$ERR_FILE")" "continue: p6's tenant event carries its error"
assert_eq "up $M1 true,up $M2 false,down $M1 true" \
  "$(jq -rs '[.[] | select(.event == "migration" and .tenant == "p6")
             | "\(.direction) \(.migration) \(.error == null)"] | join(",")' "$ERR_FILE")" \
  "continue: p6's migration events, the rollback's included"

# --- 7. --env prod runs prod only.
D=$T/only-prod
fleet "$D" "$ENVS_DEFAULT" ""
assert_exit 0 drover "$D/drover.cfg" migrate --env prod --format json
assert_eq "succeeded" "$(json_get "$OUT_FILE" .outcome)" "env prod: succeeded"
assert_eq "$(expect "$PROD" migrated)" "$(outcomes "$OUT_FILE")" "env prod: only prod tenants"
assert_eq "none" "$(rows "$D" d1)" "env prod: dev untouched"
assert_eq "none" "$(rows "$D" s2)" "env prod: staging untouched"

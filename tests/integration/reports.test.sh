#!/usr/bin/env bash
# reports.test.sh — status formats on a mixed fleet (PostgreSQL, MariaDB, SQLite) with tenants
# current, behind, drifted (an unknown row), with a gap (a row removed by hand), unreachable and
# dirty (marked in the journal): every format is written with --out, the counts by environment
# and state agree across JSON, CSV, JUnit and Prometheus, the views and last runs are exact,
# and --exit-code gives 0 / 10 / 11 / 12 on fleets built for each.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
PG_CUR=$(unique_name rep_pg_cur)
PG_BEHIND=$(unique_name rep_pg_behind)
MY_CUR=$(unique_name rep_my_cur)
MY_DRIFT=$(unique_name rep_my_drift)
cleanup() {
  pg_drop_db "$PG_CUR" || true
  pg_drop_db "$PG_BEHIND" || true
  my_drop_db "$MY_CUR" || true
  my_drop_db "$MY_DRIFT" || true
}
trap 'rc=$?; cleanup >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT
pg_create_db "$PG_CUR"
pg_create_db "$PG_BEHIND"
my_create_db "$MY_CUR"
my_create_db "$MY_DRIFT"

DOWN_PORT=$(free_port)

M1=20240101000001-users.sql
M2=20240101000002-orgs.sql
M3=20240101000003-users-org.sql
HOTFIX=20231231000000-hotfix.sql
mkdir -p "$T/migrations" "$T/tenants"
printf -- '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE users;\n' >"$T/migrations/$M1"
printf -- '-- migrate:up\nCREATE TABLE orgs (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE orgs;\n' >"$T/migrations/$M2"
printf -- '-- migrate:up\nCREATE TABLE users_orgs (user_id INTEGER NOT NULL);\n\n-- migrate:down\nDROP TABLE users_orgs;\n' >"$T/migrations/$M3"

PG="postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT"
MY="mysql://drover:\${DROVER_TEST_MYSQL_PASSWORD}@127.0.0.1:$DROVER_TEST_MYSQL_PORT"
CFG=$T/drover.cfg
write_inventory "$CFG" <<EOF
migrations = { path = "migrations"; };
environments = ( { name = "dev"; }, { name = "staging"; }, { name = "prod"; } );
tenants = (
  { id = "pg_cur";     env = "dev";     url = "$PG/$PG_CUR"; },
  { id = "my_cur";     env = "dev";     url = "$MY/$MY_CUR"; },
  { id = "lite_cur";   env = "dev";     url = "sqlite:tenants/cur.db"; },
  { id = "pg_behind";  env = "staging"; url = "$PG/$PG_BEHIND"; },
  { id = "my_drift";   env = "staging"; url = "$MY/$MY_DRIFT"; },
  { id = "lite_gap";   env = "staging"; url = "sqlite:tenants/gap.db"; },
  { id = "lite_dirty"; env = "prod";    url = "sqlite:tenants/dirty.db"; },
  { id = "pg_down";    env = "prod";    url = "postgres://drover:x@127.0.0.1:$DOWN_PORT/nothing"; }
);
EOF
drover() { "$DROVER_BIN" --config "$CFG" "$@"; }
ENVS="dev staging prod"
STATES="current behind drifted dirty locked unreachable"

# --- build the fleet: migrate all, then bend each tenant into its state
assert_exit 1 drover migrate --continue-on-error
assert_exit 0 drover undo --steps 1 --tenant pg_behind
my_sql "$MY_DRIFT" "INSERT INTO SequelizeMeta (name) VALUES ('$HOTFIX')"
sqlite_sql "$T/tenants/gap.db" "DELETE FROM SequelizeMeta WHERE name = '$M2'; DROP TABLE orgs;"
sqlite_sql "$T/drover-journal.db" \
  "INSERT INTO dirty (tenant_id, migration, run_id, error, marked_at) VALUES ('lite_dirty', '$M3', 1, 'marked by the test', 0)"

# --- every format, written with --out; nothing on stdout
for fmt in json csv junit prom markdown table; do
  assert_exit 1 drover status --format "$fmt" --out "$T/status.$fmt"  # pg_down
  assert_eq "" "$OUT" "status --format $fmt --out: nothing on stdout"
  [ -s "$T/status.$fmt" ] || fail "status --format $fmt wrote nothing"
done
J=$T/status.json

# --- JSON: states, views, last runs
assert_eq "pg_cur:current my_cur:current lite_cur:current pg_behind:behind my_drift:drifted lite_gap:behind lite_dirty:dirty pg_down:unreachable" \
  "$(json_get "$J" '[.tenants[] | "\(.id):\(.state)"] | join(" ")')" "json: states in rollout order"
assert_eq '{"tenants":8,"current":3,"behind":2,"drifted":1,"dirty":1,"locked":0,"unreachable":1,"failed":0}' \
  "$(jq -c .summary "$J")"
assert_eq '[{"name":"dev","tenants":3,"current":3,"behind":0,"drifted":0,"dirty":0,"locked":0,"unreachable":0},{"name":"staging","tenants":3,"current":0,"behind":2,"drifted":1,"dirty":0,"locked":0,"unreachable":0},{"name":"prod","tenants":2,"current":0,"behind":0,"drifted":0,"dirty":1,"locked":0,"unreachable":1}]' \
  "$(jq -c .views.environments "$J")"
assert_eq "[{\"head\":\"$M3\",\"tenants\":6},{\"head\":\"$M2\",\"tenants\":1}]" "$(jq -c .views.heads "$J")"
assert_eq "[{\"tenant\":\"lite_gap\",\"env\":\"staging\",\"head\":\"$M3\",\"missing\":[\"$M2\"]}]" \
  "$(jq -c .views.gaps "$J")"
assert_eq "$M1 7/7 $M2 6/7 $M3 6/7" \
  "$(json_get "$J" '[.views.migrations[] | "\(.name) \(.applied)/\(.known)"] | join(" ")')"
assert_eq '{"dev":{"applied":3,"known":3},"staging":{"applied":2,"known":3},"prod":{"applied":1,"known":1}}' \
  "$(jq -c ".views.migrations[] | select(.name == \"$M2\") | .by_env" "$J")"
assert_eq "lite_gap" "$(json_get "$J" '[.tenants[] | select(.gap) | .id] | join(" ")')"
assert_eq "[\"$HOTFIX\"]" "$(jq -c '.tenants[] | select(.id == "my_drift") | .unknown' "$J")"
assert_eq "$M3" "$(json_get "$J" '.tenants[] | select(.id == "lite_dirty") | .dirty_migration')"
# Last runs: migrate was run 1 for everyone; pg_behind's undo was run 2.
assert_eq "pg_cur:1:migrated my_cur:1:migrated lite_cur:1:migrated pg_behind:2:reverted my_drift:1:migrated lite_gap:1:migrated lite_dirty:1:migrated pg_down:1:unreachable" \
  "$(json_get "$J" '[.tenants[] | "\(.id):\(.last_run.id):\(.last_run.outcome)"] | join(" ")')"
assert_eq "true" "$(json_get "$J" '[.tenants[].last_run.ended_at | type == "number" and . > 1600000000] | all')"
assert_eq "null" "$(json_get "$J" '[.tenants[].lock_holder] | unique | .[0]')"

# --- counts by env and state: JSON == CSV == JUnit == Prometheus
json_counts() {
  jq -r --arg states "$STATES" '.views.environments[] | . as $e | ($states | split(" "))[] | "\($e.name) \(.) \($e[.])"' "$J"
}
EXPECTED_COUNTS=$(json_counts)
assert_eq 18 "$(wc -l <<<"$EXPECTED_COUNTS")" "every env x state"
assert_eq "$(jq -r '.tenants[] | "\(.env) \(.state)"' "$J" | sort | uniq -c | awk '{print $2, $3, $1}' | sort)" \
  "$(grep -v ' 0$' <<<"$EXPECTED_COUNTS" | sort)" "views agree with the tenant list"

C=$T/status.csv
assert_eq "id,env,dialect,state,applied,pending,unknown,last_applied,gap,last_run_outcome,last_run_at,fingerprint,error" \
  "$(head -n 1 "$C" | tr -d '\r')"
assert_eq 9 "$(grep -c $'\r$' "$C")" "csv: CRLF on every line"
csv_counts() {
  local env state
  for env in $ENVS; do
    for state in $STATES; do
      echo "$env $state $(tr -d '\r' <"$C" | awk -F, -v e="$env" -v s="$state" 'NR > 1 && $2 == e && $4 == s' | wc -l)"
    done
  done
}
assert_eq "$EXPECTED_COUNTS" "$(csv_counts)" "csv counts == json counts"
assert_eq "$(jq -r '.tenants[] | "\(.id),\(.env),\(.dialect),\(.state)"' "$J")" \
  "$(tr -d '\r' <"$C" | tail -n +2 | cut -d, -f1-4)" "csv: one row per tenant, in order"
assert_eq "pg_behind,staging,postgres,behind,2,1,0,$M2,false,reverted" \
  "$(tr -d '\r' <"$C" | grep '^pg_behind,' | cut -d, -f1-10)"
assert_eq "lite_gap,staging,sqlite,behind,2,1,0,$M3,true,migrated" \
  "$(tr -d '\r' <"$C" | grep '^lite_gap,' | cut -d, -f1-10)"
assert_eq "my_drift,staging,mysql,drifted,3,0,1,$M3,false,migrated" \
  "$(tr -d '\r' <"$C" | grep '^my_drift,' | cut -d, -f1-10)"
assert_eq "pg_down,prod,postgres,unreachable,,,,,,unreachable" \
  "$(tr -d '\r' <"$C" | grep '^pg_down,' | cut -d, -f1-10)"
assert_contains "$(grep '^pg_down,' "$C")" ",\"tenant 'pg_down': cannot connect to postgres '127.0.0.1:$DOWN_PORT/nothing': connection to server at \"\"127.0.0.1\"\", port $DOWN_PORT failed: Connection refused"
assert_eq "$(jq -r '.tenants[] | .last_run.ended_at | strftime("%Y-%m-%dT%H:%M:%SZ")' "$J")" \
  "$(tr -d '\r' <"$C" | tail -n +2 | cut -d, -f11)" "csv: last_run_at is the JSON's ended_at"

X=$T/status.junit
xmllint --noout "$X" || fail "junit: not well-formed XML"
junit_counts() {
  local env state
  for env in $ENVS; do
    for state in $STATES; do
      echo "$env $state $(xmllint --xpath "string(//testsuite[@name='$env']/properties/property[@name='$state']/@value)" "$X")"
    done
  done
}
assert_eq "$EXPECTED_COUNTS" "$(junit_counts)" "junit counts == json counts"
for env in $ENVS; do
  assert_eq "$(jq -r --arg e "$env" '[.tenants[] | select(.env == $e)] | length' "$J")" \
    "$(xmllint --xpath "string(//testsuite[@name='$env']/@tests)" "$X")" "junit: tests in $env"
  assert_eq "$(xmllint --xpath "count(//testsuite[@name='$env']/testcase[@classname='drover.$env'])" "$X")" \
    "$(xmllint --xpath "string(//testsuite[@name='$env']/@tests)" "$X")" "junit: testcases in $env"
  assert_eq "$(jq -r --arg e "$env" '[.tenants[] | select(.env == $e and (.state | IN("drifted", "dirty", "locked", "unreachable")))] | length' "$J")" \
    "$(xmllint --xpath "string(//testsuite[@name='$env']/@failures)" "$X")" "junit: failures in $env"
done
assert_eq "8 3 0" "$(xmllint --xpath 'concat(/testsuites/@tests, " ", /testsuites/@failures, " ", /testsuites/@skipped)' "$X")"
# xml_values XPATH: the values of the attributes XPATH selects, space-separated.
xml_values() { xmllint --xpath "$1" "$X" | grep -o '"[^"]*"' | tr -d '"' | paste -sd' '; }
assert_eq "my_drift lite_dirty pg_down" "$(xml_values '//testcase[failure]/@name')"
assert_eq "drifted dirty unreachable" "$(xml_values '//testcase/failure/@type')"
assert_eq "drifted: unknown rows: $HOTFIX" \
  "$(xmllint --xpath "string(//testcase[@name='my_drift']/failure/@message)" "$X")"
assert_eq "dirty: migration '$M3' may be half-applied" \
  "$(xmllint --xpath "string(//testcase[@name='lite_dirty']/failure/@message)" "$X")"
assert_contains "$(xmllint --xpath "string(//testcase[@name='pg_down']/failure)" "$X")" \
  "tenant 'pg_down': cannot connect to postgres '127.0.0.1:$DOWN_PORT/nothing'"

P=$T/status.prom
prom_counts() {
  local env state
  for env in $ENVS; do
    for state in $STATES; do
      echo "$env $state $(sed -n "s/^drover_tenants{env=\"$env\",state=\"$state\"} \([0-9]*\)$/\1/p" "$P")"
    done
  done
}
assert_eq "$EXPECTED_COUNTS" "$(prom_counts)" "prom counts == json counts"
assert_eq 18 "$(grep -c '^drover_tenants{' "$P")" "prom: every env x state, zeros included"
assert_eq "$(jq -r '.tenants[] | "drover_tenant_state{tenant=\"\(.id)\",env=\"\(.env)\",state=\"\(.state)\"} 1"' "$J")" \
  "$(grep '^drover_tenant_state{' "$P")"
assert_eq "$(jq -r '.tenants[] | select(.state != "unreachable") | "drover_tenant_pending_migrations{tenant=\"\(.id)\",env=\"\(.env)\"} \(.pending | length)"' "$J")" \
  "$(grep '^drover_tenant_pending_migrations{' "$P")"
assert_eq "pg_cur 1 my_cur 1 lite_cur 1 pg_behind 1 my_drift 1 lite_gap 1 lite_dirty 1 pg_down 0" \
  "$(sed -n 's/^drover_tenant_last_run_success{tenant="\([a-z_]*\)",env="[a-z]*"} \([01]\)$/\1 \2/p' "$P" | paste -sd' ')"
assert_eq "$(jq -r '.tenants[] | "\(.id) \(.last_run.ended_at | floor)"' "$J")" \
  "$(sed -n 's/^drover_tenant_last_run_timestamp_seconds{tenant="\([a-z_]*\)",env="[a-z]*"} \([0-9]*\)\.[0-9]*$/\1 \2/p' "$P")"
assert_eq "drover_migration_applied_tenants{migration=\"$M1\"} 7
drover_migration_applied_tenants{migration=\"$M2\"} 6
drover_migration_applied_tenants{migration=\"$M3\"} 6" "$(grep '^drover_migration_applied_tenants{' "$P")"
# The exposition format: HELP and TYPE once per family, before its samples; every sample line
# is name{label="value",...} number.
if command -v promtool >/dev/null; then
  promtool check metrics <"$P" || fail "promtool rejects the prom output"
fi
bad=$(grep -v -E '^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? -?[0-9]+(\.[0-9]+)?)$' "$P" || true)
assert_eq "" "$bad" "prom: lines outside the exposition format"
assert_eq "$(grep -c '^# TYPE ' "$P")" "$(grep -o '^[a-z_]*' "$P" | uniq | wc -l)" \
  "prom: each family's samples are contiguous, one TYPE each"
assert_eq "" "$(grep '^# TYPE' "$P" | grep -v ' gauge$' || true)" "prom: all gauges"

M=$T/status.markdown
assert_eq "**8 tenants**: 3 current, 2 behind, 1 drifted, 1 dirty, 0 locked, 1 unreachable" \
  "$(sed -n 's/^\(\*\*8 tenants.*\) (.*)$/\1/p' "$M")"
assert_eq "| staging | 3 | 0 | 2 | 1 | 0 | 0 | 0 |" "$(grep '^| staging |' "$M")"
assert_eq "my\\_drift lite\\_dirty pg\\_down" \
  "$(sed -n '/^### Needs attention/,/^### Version skew/p' "$M" | grep '^| [a-z]' | grep -v '^| Tenant' | cut -d' ' -f2 | paste -sd' ')"
assert_eq "| lite\\_gap | staging | $M3 | $M2 |" "$(sed -n '/^### Gaps/,$p' "$M" | grep '^| lite')"
assert_eq "| $M3 | 6 |
| $M2 | 1 |" "$(sed -n '/^### Version skew/,/^### Gaps/p' "$M" | grep '^| 2024')"

TB=$T/status.table
assert_eq "8 tenants: 3 current, 2 behind, 1 drifted, 1 dirty, 0 locked, 1 unreachable" "$(tail -n 1 "$TB")"
assert_contains "$(cat "$TB")" "staging        3        0        2        1        0        0            0"
assert_contains "$(cat "$TB")" "  lite_gap (staging): lacks $M2"
assert_not_contains "$(cat "$TB")" $'\033' "no colour in a file"

# --- colour only on a terminal, and never with NO_COLOR
script -qec "$DROVER_BIN --config $CFG status --tenant pg_cur --tenant lite_gap" /dev/null >"$T/tty.out"
assert_contains "$(cat "$T/tty.out")" $'\033[32mcurrent\033[0m'
assert_contains "$(cat "$T/tty.out")" $'\033[33mbehind\033[0m'
NO_COLOR=1 script -qec "$DROVER_BIN --config $CFG status --tenant pg_cur" /dev/null >"$T/tty.out"
assert_contains "$(cat "$T/tty.out")" "current"
assert_not_contains "$(cat "$T/tty.out")" $'\033[32m' "NO_COLOR"
assert_not_contains "$(cat "$T/tty.out")" $'\033[0m' "NO_COLOR"

# --- --exit-code on fleets built for each code; without it, status keeps 0/1
assert_exit 0 drover status --exit-code --tenant pg_cur --tenant my_cur --tenant lite_cur
assert_exit 10 drover status --exit-code --tenant pg_behind --tenant lite_gap --tenant pg_cur
assert_exit 11 drover status --exit-code --env staging --format csv
assert_exit 11 drover status --exit-code --tenant my_drift
assert_exit 12 drover status --exit-code --tenant lite_dirty --tenant my_drift
assert_exit 12 drover status --exit-code --tenant pg_down
assert_exit 12 drover status --exit-code --format prom --out "$T/all.prom"
assert_exit 0 drover status --env staging
assert_exit 0 drover status --tenant lite_dirty
assert_exit 1 drover status
assert_exit 2 drover status --exit-code --tenant nobody

# --- --out replaces the file whole (written beside it, then renamed): no temporary file stays
# behind, and a report that cannot be put in place leaves what was there (here a directory of
# that name, which rename refuses even for root) and no temporary file.
assert_eq "" "$(ls "$T" | grep '\.tmp-' || true)" "no temporary report file left"
mkdir -p "$T/taken.prom/inside"
assert_exit 1 drover status --format prom --out "$T/taken.prom"
assert_eq "drover: cannot write '$T/taken.prom': Is a directory" "$(grep 'cannot write' <<<"$ERR")"
[ -d "$T/taken.prom/inside" ] || fail "failed --out: what was there is gone"
assert_eq "" "$(ls "$T" | grep '\.tmp-' || true)" "failed --out: temporary file removed"
assert_exit 1 drover status --format prom --out "$T/nodir/status.prom"
assert_eq "drover: cannot write '$T/nodir/status.prom': No such file or directory" \
  "$(grep 'cannot write' <<<"$ERR")"

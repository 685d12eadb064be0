#!/usr/bin/env bash
# mixed_fleet.test.sh — one inventory of PostgreSQL, MariaDB and SQLite tenants across
# dev/staging/prod, plus a PostgreSQL tenant nobody listens for and a MariaDB tenant with a
# wrong password: every healthy tenant is migrated, the two are reported unreachable without
# their passwords, exit codes and JSON summaries are exact, and the selectors pick exactly the
# expected tenants in rollout order.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
PG_DEV=$(unique_name fleet_pg_dev)
PG_PROD=$(unique_name fleet_pg_prod)
MY_STAGE=$(unique_name fleet_my_stage)
MY_PROD=$(unique_name fleet_my_prod)
cleanup() {
  pg_drop_db "$PG_DEV" || true
  pg_drop_db "$PG_PROD" || true
  my_drop_db "$MY_STAGE" || true
  my_drop_db "$MY_PROD" || true
}
# lib.sh owns the EXIT trap; drop the databases first, keeping the test's exit status.
trap 'rc=$?; cleanup >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT
pg_create_db "$PG_DEV"
pg_create_db "$PG_PROD"
my_create_db "$MY_STAGE"
my_create_db "$MY_PROD"

DOWN_PORT=$(free_port)
WRONG_PW=wrong-pw-4711

M1=20240101000001-users.sql
M2=20240101000002-orgs.sql
M3=20240101000003-users-org.sql
mkdir -p "$T/migrations"
printf -- '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL);\n\n-- migrate:down\nDROP TABLE users;\n' >"$T/migrations/$M1"
printf -- '-- migrate:up\nCREATE TABLE orgs (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);\n\n-- migrate:down\nDROP TABLE orgs;\n' >"$T/migrations/$M2"
printf -- '-- migrate:up\nCREATE TABLE users_orgs (user_id INTEGER NOT NULL, org_id INTEGER NOT NULL);\nCREATE INDEX users_orgs_org ON users_orgs (org_id);\n\n-- migrate:down\nDROP TABLE users_orgs;\n' >"$T/migrations/$M3"

PG="postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT"
MY="mysql://drover:\${DROVER_TEST_MYSQL_PASSWORD}@127.0.0.1:$DROVER_TEST_MYSQL_PORT"
CFG=$T/drover.cfg
# Declared out of rollout order on purpose: selection sorts by environment, then declaration.
write_inventory "$CFG" <<EOF
migrations = { path = "migrations"; };
environments = ( { name = "dev"; }, { name = "staging"; }, { name = "prod"; } );
tenants = (
  { id = "pg_prod";    env = "prod";    url = "$PG/$PG_PROD";  tags = ["eu"]; },
  { id = "lite_dev";   env = "dev";     url = "sqlite:tenants/dev.db"; tags = ["eu"]; },
  { id = "my_stage";   env = "staging"; url = "$MY/$MY_STAGE"; tags = ["us"]; },
  { id = "my_prod";    env = "prod";    url = "$MY/$MY_PROD";  tags = ["us"]; },
  { id = "pg_dev";     env = "dev";     url = "$PG/$PG_DEV";   tags = ["us"]; },
  { id = "lite_stage"; env = "staging"; url = "sqlite:tenants/stage.db"; },
  { id = "pg_down";    env = "prod";    tags = ["broken"];
    url = "postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DOWN_PORT/nothing"; },
  { id = "my_badpw";   env = "staging"; url = "mysql://drover:$WRONG_PW@127.0.0.1:$DROVER_TEST_MYSQL_PORT/$MY_STAGE";
    tags = ["broken"]; },
  { id = "lite_prod";  env = "prod";    url = "sqlite:tenants/prod.db"; tags = ["eu"]; }
);
EOF
mkdir -p "$T/tenants"
ROLLOUT="lite_dev pg_dev my_stage lite_stage my_badpw pg_prod my_prod pg_down lite_prod"
ALL3=$M1$'\n'$M2$'\n'$M3

drover() { "$DROVER_BIN" --config "$CFG" "$@"; }
no_secrets() {
  local where
  for where in "$OUT" "$ERR" "$@"; do
    assert_not_contains "$where" "$DROVER_TEST_PG_PASSWORD" "a password was printed"
    assert_not_contains "$where" "$WRONG_PW" "a password was printed"
  done
}
# ids FILE: the tenant ids of a JSON report, space-separated.
ids() { json_get "$1" '[.tenants[].id] | join(" ")'; }
pg_rows() { pg_sql "$1" 'SELECT name FROM "SequelizeMeta" ORDER BY name'; }
my_rows() { my_sql "$1" 'SELECT name FROM SequelizeMeta ORDER BY name'; }
lite_rows() { sqlite_sql "$T/tenants/$1.db" 'SELECT name FROM SequelizeMeta ORDER BY name'; }

PG_DOWN_ERR="tenant 'pg_down': cannot connect to postgres '127.0.0.1:$DOWN_PORT/nothing': connection to server at \"127.0.0.1\", port $DOWN_PORT failed: Connection refused"
MY_BADPW_ERR="tenant 'my_badpw': cannot connect to mysql '127.0.0.1:$DROVER_TEST_MYSQL_PORT/$MY_STAGE': Access denied for user 'drover'@'127.0.0.1' (using password: YES) (error 1045)"

# --- migrate the whole fleet: the healthy tenants are migrated, the broken two reported.
# One at a time, so that the per-tenant lines come in rollout order (with more, each
# environment's lines come in completion order).
assert_exit 1 drover migrate --parallel 1
no_secrets
assert_eq "lite_dev (dev, sqlite): migrated 3, now at $M3
pg_dev (dev, postgres): migrated 3, now at $M3
my_stage (staging, mysql): migrated 3, now at $M3
lite_stage (staging, sqlite): migrated 3, now at $M3
my_badpw (staging, mysql): UNREACHABLE
    error: $MY_BADPW_ERR
pg_prod (prod, postgres): migrated 3, now at $M3
my_prod (prod, mysql): migrated 3, now at $M3
pg_down (prod, postgres): UNREACHABLE" "$(head -n 9 <<<"$OUT")" "migrate: per-tenant lines"
assert_contains "$(sed -n 10p <<<"$OUT")" "    error: $PG_DOWN_ERR"
assert_contains "$OUT" "lite_prod (prod, sqlite): migrated 3, now at $M3"
assert_contains "$(tail -n 1 <<<"$OUT")" "migrate: 9 tenants, 7 migrated, 2 unreachable ("
assert_eq "drover: $MY_BADPW_ERR" "$(head -n 1 <<<"$ERR")" "stderr: the MariaDB tenant first"
assert_contains "$(sed -n 2p <<<"$ERR")" "drover: $PG_DOWN_ERR"
assert_contains "$ERR" "(SQLSTATE 08001)"
assert_eq "2" "$(grep -c '^drover: ' <<<"$ERR")" "stderr names exactly the two broken tenants"

for db in "$PG_DEV" "$PG_PROD"; do
  assert_eq "$ALL3" "$(pg_rows "$db")" "rows in $db"
  assert_eq "SequelizeMeta|orgs|users|users_orgs" \
    "$(pg_sql "$db" "SELECT string_agg(tablename, '|' ORDER BY tablename COLLATE \"C\") FROM pg_tables WHERE schemaname = 'public'")" \
    "tables in $db"
done
for db in "$MY_STAGE" "$MY_PROD"; do
  assert_eq "$ALL3" "$(my_rows "$db")" "rows in $db"
  assert_eq $'SequelizeMeta\norgs\nusers\nusers_orgs' \
    "$(my_sql "$db" "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY BINARY table_name")"
done
for f in dev stage prod; do
  assert_eq "$ALL3" "$(lite_rows "$f")" "rows in $f.db"
done

# --- status: exact counts, consistent with the tenant list; exit 1 for the unreachable
assert_exit 1 drover status --format json --out "$T/status.json"
no_secrets "$(cat "$T/status.json")"
assert_eq "" "$OUT" "--out: nothing on stdout"
assert_eq "$ROLLOUT" "$(ids "$T/status.json")" "status: rollout order"
assert_eq '{"tenants":9,"current":7,"behind":0,"drifted":0,"dirty":0,"locked":0,"unreachable":2,"failed":0}' \
  "$(jq -c .summary "$T/status.json")"
assert_eq "$(jq -c '.summary | del(.failed)' "$T/status.json")" \
  "$(jq -c '.tenants as $t | {tenants: ($t | length)} + (["current", "behind", "drifted", "dirty", "locked", "unreachable"] | map(. as $s | {($s): ([$t[] | select(.state == $s)] | length)}) | add)' "$T/status.json")" \
  "summary agrees with the tenant list"
assert_eq "my_badpw pg_down" \
  "$(json_get "$T/status.json" '[.tenants[] | select(.state == "unreachable") | .id] | join(" ")')"
assert_eq "$MY_BADPW_ERR|null|1045|null" \
  "$(json_get "$T/status.json" '.tenants[] | select(.id == "my_badpw") | .error | "\(.message)|\(.sqlstate)|\(.code)|\(.migration)"')"
assert_eq "08001|null" \
  "$(json_get "$T/status.json" '.tenants[] | select(.id == "pg_down") | .error | "\(.sqlstate)|\(.code)"')"
assert_contains "$(json_get "$T/status.json" '.tenants[] | select(.id == "pg_down") | .error.message')" \
  "$PG_DOWN_ERR"
assert_eq "null null" \
  "$(json_get "$T/status.json" '[.tenants[] | select(.state == "unreachable") | .meta_table_exists | tostring] | join(" ")')" \
  "nobody knows whether an unreachable tenant has SequelizeMeta"
assert_eq "mysql://drover:***@127.0.0.1:$DROVER_TEST_MYSQL_PORT/$MY_STAGE" \
  "$(json_get "$T/status.json" '.tenants[] | select(.id == "my_badpw") | .url')"
assert_eq "7 $M1,$M2,$M3 true" \
  "$(json_get "$T/status.json" '[.tenants[] | select(.state == "current")] | "\(length) \(map(.applied | join(",")) | unique | join(" ")) \(map(.meta_table_exists) | all)"')"
assert_exit 1 drover status
assert_contains "$OUT" "9 tenants: 7 current, 0 behind, 0 drifted, 0 dirty, 0 locked, 2 unreachable"

# --- selectors: exactly the expected tenants, in rollout order
select_ids() {
  local expected_rc=$1 expected=$2
  shift 2
  assert_exit "$expected_rc" drover status --format json --out "$T/sel.json" "$@"
  assert_eq "$expected" "$(ids "$T/sel.json")" "status $*"
  assert_eq "$(wc -w <<<"$expected")" "$(json_get "$T/sel.json" .summary.tenants)" "summary of status $*"
}
select_ids 1 "my_stage lite_stage my_badpw" --env staging
select_ids 1 "lite_dev pg_dev pg_prod my_prod pg_down lite_prod" --env prod --env dev
select_ids 0 "lite_dev pg_dev" --env dev
select_ids 0 "lite_dev pg_prod lite_prod" --tag eu
select_ids 0 "my_prod" --tag us --env prod
select_ids 1 "my_badpw pg_down" --tag broken
select_ids 0 "lite_dev pg_dev my_stage pg_prod my_prod lite_prod" --tag eu --tag us
select_ids 0 "lite_dev lite_prod" --tenant lite_prod --tenant lite_dev
select_ids 1 "pg_down" --tenant pg_down --env prod
select_ids 0 "my_stage lite_stage" --env staging --tenant lite_stage --tenant my_stage
assert_exit 0 drover migrate --parallel 1 --env dev --env staging --tenant lite_dev --tenant my_stage --tenant lite_stage
assert_eq "lite_dev (dev, sqlite): up to date
my_stage (staging, mysql): up to date
lite_stage (staging, sqlite): up to date" "$(head -n 3 <<<"$OUT")" "migrate with the broken tenants deselected"
assert_eq "" "$ERR"

# --- a behind tenant alone is fine for status
assert_exit 0 drover undo --steps 1 --tenant pg_dev
assert_eq "$M1"$'\n'"$M2" "$(pg_rows "$PG_DEV")"
assert_exit 0 drover status --tenant pg_dev --format json --out "$T/behind.json"
assert_eq "behind|$M3" "$(json_get "$T/behind.json" '.tenants[0] | "\(.state)|\(.pending | join(" "))"')"
assert_eq '{"tenants":1,"current":0,"behind":1,"drifted":0,"dirty":0,"locked":0,"unreachable":0,"failed":0}' \
  "$(jq -c .summary "$T/behind.json")"
assert_exit 0 drover status --env dev
assert_contains "$OUT" "2 tenants: 1 current, 1 behind, 0 drifted, 0 dirty, 0 locked, 0 unreachable"

# --- the JSON of a one-tenant migrate, key by key as docs/json.md shows it
assert_exit 0 drover migrate --tenant pg_dev --format json
printf '%s\n' "$OUT" >"$T/migrate.json"
no_secrets
assert_eq '["schema_version","command","outcome","tenants","summary"]' "$(jq -c keys_unsorted "$T/migrate.json")"
assert_eq '1|migrate|succeeded|1' \
  "$(json_get "$T/migrate.json" '"\(.schema_version)|\(.command)|\(.outcome)|\(.tenants | length)"')"
assert_eq '["id","env","dialect","url","outcome","applied","reverted","partial","skipped_by_check","dirty_migration","attempts","error","rollback_error","seconds","steps"]' \
  "$(jq -c '.tenants[0] | keys_unsorted' "$T/migrate.json")"
assert_eq "{\"id\":\"pg_dev\",\"env\":\"dev\",\"dialect\":\"postgres\",\"url\":\"postgres://drover:***@127.0.0.1:$DROVER_TEST_PG_PORT/$PG_DEV\",\"outcome\":\"migrated\",\"applied\":[\"$M3\"],\"reverted\":[],\"partial\":false,\"skipped_by_check\":false,\"dirty_migration\":null,\"attempts\":1,\"error\":null,\"rollback_error\":null}" \
  "$(jq -c '.tenants[0] | del(.seconds, .steps)' "$T/migrate.json")"
assert_eq "[{\"migration\":\"$M3\",\"direction\":\"up\",\"attempts\":1,\"ok\":true,\"error\":null}]" \
  "$(jq -c '[.tenants[0].steps[] | del(.started_at, .ended_at)]' "$T/migrate.json")"
assert_eq "number true" \
  "$(json_get "$T/migrate.json" '.tenants[0].seconds | "\(type) \(. >= 0 and . < 60)"')"
assert_eq '{"tenants":1,"up_to_date":0,"pending":0,"migrated":1,"reverted":0,"ok":0,"failed":0,"unreachable":0,"rolled_back":0,"locked":0,"dirty":0,"skipped":0}' \
  "$(jq -c .summary "$T/migrate.json")"
assert_eq "$ALL3" "$(pg_rows "$PG_DEV")"

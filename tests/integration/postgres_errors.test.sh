#!/usr/bin/env bash
# postgres_errors.test.sh — failures and safety on real PostgreSQL: a migration failing
# half-way is rolled back and named precisely, transaction:false for CREATE INDEX
# CONCURRENTLY, passwords never printed, read-only commands that create nothing, and URL
# query parameters handed to libpq.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"

T=$DROVER_TEST_TMPDIR
FAILING_DIR=$PG_DATA/failing
FAILING=(
  20240201000001-create-t1.sql
  20240201000002-create-t2.sql
  20240201000003-broken.sql
  20240201000004-create-t4.sql
  20240201000005-create-t5.sql
)
CONC_DIR=$PG_DATA/concurrently
CONC=(20240301000001-create-accounts.sql 20240301000002-index-accounts-email.sql)
assert_eq "$(lines "${FAILING[@]}")" "$(ls "$FAILING_DIR")" "the failing migration set"
assert_eq "$(lines "${CONC[@]}")" "$(ls "$CONC_DIR")" "the concurrently migration set"

# --- 6. The 3rd of 5 migrations fails on its 2nd statement.
broken_error="tenant 'broken': migration '${FAILING[2]}': relation \"no_such_table\" does not exist (SQLSTATE 42P01)"
broken_statement="INSERT INTO no_such_table (id) VALUES (1)"

# assert_failed_half_way DB: migrations 1-2 applied and recorded, nothing of 3 (its first
# statement rolled back with it), 4-5 never run.
assert_failed_half_way() {
  assert_eq "$(lines "${FAILING[@]:0:2}")" "$(pg_rows "$1")" "failing: rows of 1-2 only"
  assert_eq "SequelizeMeta t1 t2" "$(pg_relations "$1")" \
    "failing: t1, t2 exist; t3 rolled back; t4, t5 not run"
}

fail_db=$(unique_name broken)
pg_new_db "$fail_db"
fail_cfg=$T/failing/drover.cfg
pg_inventory "$fail_cfg" "path = \"$FAILING_DIR\";" broken "$(pg_url "$fail_db")"
assert_exit 1 drover "$fail_cfg" migrate
assert_eq "drover: $broken_error
  statement: $broken_statement" "$ERR" "failing: stderr names tenant, migration, statement, SQLSTATE"
assert_eq "broken (dev, postgres): FAILED after applying 2
    applied:
      ${FAILING[0]}
      ${FAILING[1]}
    error: $broken_error
      statement: $broken_statement
migrate: 1 tenant, 1 failed" "${OUT% (*}" "failing: the report"
assert_failed_half_way "$fail_db"

# Run again: migration 3 has no row, so it is retried (and fails the same way).
assert_exit 1 drover "$fail_cfg" migrate --format json
assert_eq "failed|failed|0|false" \
  "$(json_get "$OUT_FILE" '[.outcome, .tenants[0].outcome, (.tenants[0].applied | length),
                            .tenants[0].partial] | map(tostring) | join("|")')" \
  "failing: a second run applies nothing more"
assert_failed_half_way "$fail_db"

fail_json_db=$(unique_name broken_json)
pg_new_db "$fail_json_db"
fail_json_cfg=$T/failing-json/drover.cfg
pg_inventory "$fail_json_cfg" "path = \"$FAILING_DIR\";" broken "$(pg_url "$fail_json_db")"
assert_exit 1 drover "$fail_json_cfg" migrate --format json
assert_eq "$(lines "${FAILING[@]:0:2}")" "$(json_list "$OUT_FILE" '.tenants[0].applied')" \
  "failing json: applied 1-2"
assert_eq "$broken_error|42P01|null|${FAILING[2]}|$broken_statement|false|1" \
  "$(json_get "$OUT_FILE" '[.tenants[0].error | .message, .sqlstate, .code, .migration, .statement]
                           + [.tenants[0].partial, .summary.failed] | map(tostring) | join("|")')" \
  "failing json: the error object"
assert_eq "drover: $broken_error
  statement: $broken_statement" "$ERR" "failing json: stderr too"
assert_failed_half_way "$fail_json_db"

# --- 7. transaction:false lets CREATE INDEX CONCURRENTLY run; the row is still recorded.
conc_db=$(unique_name conc)
pg_new_db "$conc_db"
conc_cfg=$T/conc/drover.cfg
pg_inventory "$conc_cfg" "path = \"$CONC_DIR\";" conc "$(pg_url "$conc_db")"
assert_exit 0 drover "$conc_cfg" migrate --format json
assert_eq "$(lines "${CONC[@]}")" "$(json_list "$OUT_FILE" '.tenants[0].applied')" "concurrently: applied"
assert_eq "$(lines "${CONC[@]}")" "$(pg_rows "$conc_db")" "concurrently: recorded"
assert_eq "t" "$(pg_sql "$conc_db" "SELECT indisvalid FROM pg_index
                                    WHERE indexrelid = to_regclass('accounts_email')")" \
  "concurrently: the index exists and is valid"
assert_exit 0 drover "$conc_cfg" undo --steps 1 --format json
assert_eq "${CONC[1]}" "$(json_list "$OUT_FILE" '.tenants[0].reverted')" "concurrently: reverted"
assert_eq "|${CONC[0]}" "$(pg_sql "$conc_db" "SELECT to_regclass('accounts_email')")|$(pg_rows "$conc_db")" \
  "concurrently: DROP INDEX CONCURRENTLY ran, the row is gone"

# Without the opt-out the same statement runs in drover's transaction, which PostgreSQL refuses.
tx_dir=$T/conc-tx/migrations
mkdir -p "$tx_dir"
cp "$CONC_DIR/${CONC[0]}" "$tx_dir/"
sed 's/ transaction:false$//' "$CONC_DIR/${CONC[1]}" >"$tx_dir/${CONC[1]}"
conc_tx_db=$(unique_name conc_tx)
pg_new_db "$conc_tx_db"
conc_tx_cfg=$T/conc-tx/drover.cfg
pg_inventory "$conc_tx_cfg" "path = \"$tx_dir\";" conctx "$(pg_url "$conc_tx_db")"
assert_exit 1 drover "$conc_tx_cfg" migrate
assert_eq "drover: tenant 'conctx': migration '${CONC[1]}': CREATE INDEX CONCURRENTLY cannot run inside a transaction block (SQLSTATE 25001)
  statement: CREATE INDEX CONCURRENTLY accounts_email ON accounts (email)" "$ERR" \
  "concurrently: refused inside the default transaction"
assert_eq "${CONC[0]}" "$(pg_rows "$conc_tx_db")" "concurrently: no row for the refused one"

# --- 12. The password reaches libpq only: never stdout or stderr, in any output form.
mask_db=$(unique_name mask)
pg_new_db "$mask_db"
nodb=no_such_db_$$
mask_cfg=$T/mask/drover.cfg
pg_inventory "$mask_cfg" "path = \"$BASIC_DIR\";" mask "$(pg_url "$mask_db")" gone "$(pg_url "$nodb")"
gone_error="tenant 'gone': cannot connect to postgres '$DROVER_TEST_PG_HOST:$DROVER_TEST_PG_PORT/$nodb': connection to server at \"$DROVER_TEST_PG_HOST\", port $DROVER_TEST_PG_PORT failed: FATAL: database \"$nodb\" does not exist"

# no_password CONTEXT: neither $OUT nor $ERR holds the password.
no_password() {
  assert_not_contains "$OUT" "$PGPW" "$1: the password in stdout"
  assert_not_contains "$ERR" "$PGPW" "$1: the password in stderr"
}
for cmd in plan migrate status; do
  assert_exit 1 drover "$mask_cfg" "$cmd"
  no_password "$cmd text"
  assert_eq "drover: $gone_error" "$ERR" "$cmd text: the unreachable tenant on stderr"
  assert_exit 1 drover "$mask_cfg" "$cmd" --format json
  no_password "$cmd json"
  assert_eq "$(pg_masked_url "$mask_db") $(pg_masked_url "$nodb")" \
    "$(json_get "$OUT_FILE" '[.tenants[].url] | join(" ")')" "$cmd json: masked urls"
  assert_contains "$OUT" "\"url\": \"postgres://drover:***@$DROVER_TEST_PG_HOST:$DROVER_TEST_PG_PORT/$mask_db\""
  assert_eq "$gone_error" "$(json_get "$OUT_FILE" '.tenants[1].error.message')" \
    "$cmd json: the unreachable tenant's error"
done
assert_eq "$(lines "${BASIC[@]}")" "$(pg_rows "$mask_db")" "mask: the reachable tenant was migrated"

# A wrong password is not echoed either.
wrong=wrong-secret-$$
assert_exit 1 env PGPW="$wrong" "$DROVER_BIN" --config "$mask_cfg" status --format json --tenant mask
assert_not_contains "$OUT$ERR" "$wrong" "wrong password: not printed"
assert_eq "unreachable|$(pg_masked_url "$mask_db")" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.state, .url] | join("|")')" "wrong password: state, url"
assert_contains "$ERR" "FATAL: password authentication failed for user \"$DROVER_TEST_PG_USER\""

# --- 13. Read-only commands create no SequelizeMeta, no schema, nothing.
ro_db=$(unique_name ro)
pg_new_db "$ro_db"
ro_cfg=$T/ro/drover.cfg
ro_custom_cfg=$T/ro/custom.cfg
pg_inventory "$ro_cfg" "path = \"$BASIC_DIR\";" \
  ro "$(pg_url "$ro_db")" ro_spt "$(pg_url "$ro_db" schema=ro_tenant)"
pg_inventory "$ro_custom_cfg" "path = \"$BASIC_DIR\"; table = \"my_meta\"; schema = \"ro_custom\";" \
  ro "$(pg_url "$ro_db")"
for cfg in "$ro_cfg" "$ro_custom_cfg"; do
  for args in plan status check "migrate --dry-run" "undo --all --dry-run" "undo --steps 1 --dry-run"; do
    # shellcheck disable=SC2086 # args holds a command and its options
    assert_exit 0 drover "$cfg" $args
    # shellcheck disable=SC2086
    assert_exit 0 drover "$cfg" $args --format json
  done
done
assert_eq "" "$(pg_meta_tables "$ro_db")" "read-only: no meta table anywhere (pg_class)"
assert_eq "f f" "$(pg_schema_exists "$ro_db" ro_tenant) $(pg_schema_exists "$ro_db" ro_custom)" \
  "read-only: no schema created"
assert_eq "" "$(pg_relations "$ro_db")" "read-only: public is empty"
assert_exit 0 drover "$ro_cfg" status --format json
assert_eq "behind false 6 behind false 6" \
  "$(json_get "$OUT_FILE" '[.tenants[] | .state, .meta_table_exists, (.pending | length)]
                           | map(tostring) | join(" ")')" \
  "read-only: status reports the missing table"
assert_exit 0 drover "$ro_cfg" migrate --dry-run --format json
assert_eq "$(lines "${BASIC[@]}" "${BASIC[@]}")" "$(json_list "$OUT_FILE" '[.tenants[].planned[]]')" \
  "read-only: the dry run plans everything for both"
assert_exit 0 drover "$ro_cfg" check --format json
assert_eq "ok ok" "$(json_get "$OUT_FILE" '[.tenants[].outcome] | join(" ")')" "read-only: check"
assert_eq "" "$(pg_meta_tables "$ro_db")" "read-only: still nothing"

# --- 14. URL query parameters go to libpq.
params_dir=$T/params/migrations
mkdir -p "$params_dir"
cat >"$params_dir/20240401000001-session.sql" <<'EOF'
-- migrate:up
CREATE TABLE session_info AS
  SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st;

-- migrate:down
DROP TABLE session_info;
EOF
params_db=$(unique_name params)
pg_new_db "$params_db"
default_db=$(unique_name default)
pg_new_db "$default_db"
params_cfg=$T/params/drover.cfg
params_query="application_name=itest-app&connect_timeout=5&options=-c%20statement_timeout%3D1234"
pg_inventory "$params_cfg" "path = \"$params_dir\";" \
  params "$(pg_url "$params_db" "$params_query")" default "$(pg_url "$default_db")"
assert_exit 0 drover "$params_cfg" migrate --format json
assert_eq "migrated migrated" "$(json_get "$OUT_FILE" '[.tenants[].outcome] | join(" ")')" \
  "params: both migrated"
assert_eq "itest-app|1234ms" "$(pg_sql "$params_db" "SELECT app || '|' || st FROM session_info")" \
  "params: application_name and options reached the session"
# drover names itself so that 'drover locks' and pg_stat_activity show who holds a tenant.
assert_eq "true|0" \
  "$(pg_sql "$default_db" "SELECT (app LIKE 'drover migrate pid % on %')::text || '|' || st FROM session_info")" \
  "params: without them, drover's application_name and the server's defaults"
assert_eq "$(pg_masked_url "$params_db" "$params_query")" "$(json_get "$OUT_FILE" '.tenants[0].url')" \
  "params: the url shows its parameters"

tls_cfg=$T/tls/drover.cfg
pg_inventory "$tls_cfg" "path = \"$params_dir\";" tls "$(pg_url "$params_db" sslmode=require)"
assert_exit 1 drover "$tls_cfg" migrate --format json
assert_eq "unreachable|08001|tenant 'tls': cannot connect to postgres '$DROVER_TEST_PG_HOST:$DROVER_TEST_PG_PORT/$params_db': connection to server at \"$DROVER_TEST_PG_HOST\", port $DROVER_TEST_PG_PORT failed: server does not support SSL, but SSL was required (SQLSTATE 08001)" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .error.sqlstate, .error.message] | join("|")')" \
  "tls: sslmode=require against a server without TLS is unreachable, libpq says why"

bad_cfg=$T/bad-param/drover.cfg
pg_inventory "$bad_cfg" "path = \"$params_dir\";" bad "$(pg_url "$params_db" no_such_keyword=1)"
assert_exit 2 drover "$bad_cfg" migrate
assert_eq "drover: $bad_cfg:4: tenant 'bad': invalid url '$(pg_masked_url "$params_db" no_such_keyword=1)': unknown postgres connection parameter 'no_such_keyword'" \
  "$ERR" "bad parameter: checked against libpq's keywords, the url masked"
assert_eq "" "$OUT" "bad parameter: refused before any tenant runs"

#!/usr/bin/env bash
# lint.test.sh — `drover lint` from the command line: text findings as FILE:LINE, JSON and
# SARIF that parse, --out, exit 0 when only warnings remain, 1 on an error-level finding, 2 on
# a migration file that is bad input (nothing linted). The rules themselves: unit/test_lint.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
mkdir -p "$T/migrations"
write_inventory "$T/drover.cfg" <<CFG
migrations = { path = "migrations"; };
environments = ( { name = "dev"; } );
tenants = ( { id = "a"; env = "dev"; url = "sqlite:a.db"; } );
CFG
lint() { "$DROVER_BIN" --config "$T/drover.cfg" lint "$@"; }
lint_mixed() { "$DROVER_BIN" --config "$T/mixed.cfg" lint "$@"; }
printf -- '-- migrate:up\nCREATE TABLE users (id int, email text);\n\n-- migrate:down\nDROP TABLE users;\n' \
  >"$T/migrations/20240101000001-users.sql"
assert_exit 0 lint
assert_eq "lint: 0 errors, 0 warnings, 0 notes" "$OUT" "a clean set"

printf -- '-- migrate:up\nCREATE INDEX users_email ON users (email);\n\n-- migrate:down\nDROP INDEX users_email;\n' \
  >"$T/migrations/20240101000002-index.sql"
assert_exit 0 lint
assert_eq "lint: 0 errors, 0 warnings, 0 notes" "$OUT" "PostgreSQL's locking rules say nothing to a SQLite fleet"
# The same set for a fleet with PostgreSQL and MariaDB tenants (lint reads no tenant for it).
write_inventory "$T/mixed.cfg" <<CFG
migrations = { path = "migrations"; };
environments = ( { name = "dev"; } );
tenants = ( { id = "p"; env = "dev"; url = "postgres://u@127.0.0.1:1/p"; },
            { id = "m"; env = "dev"; url = "mysql://u@127.0.0.1:1/m"; } );
CFG
assert_exit 0 "$DROVER_BIN" --config "$T/mixed.cfg" lint
assert_contains "$OUT" "20240101000002-index.sql:2: warning index-not-concurrent: CREATE INDEX users_email ON users without CONCURRENTLY"
assert_contains "$OUT" "  hint: CREATE INDEX CONCURRENTLY in a '-- migrate:up transaction:false' section of its own"
mkdir -p "$T/my/migrations"
printf -- '-- migrate:up\nALTER TABLE `users` MODIFY `email` varchar(200) NOT NULL;\nALTER TABLE users ADD INDEX u_e (email), ALGORITHM=INPLACE, LOCK=NONE;\n-- migrate:down\nSELECT 1;\n' \
  >"$T/my/migrations/20240101000001-email.sql"
sed 's|"migrations"|"my/migrations"|' "$T/mixed.cfg" >"$T/my.cfg"
assert_exit 0 "$DROVER_BIN" --config "$T/my.cfg" lint
assert_contains "$OUT" "20240101000001-email.sql:2: warning mysql-table-copy: ALTER TABLE users: MODIFY COLUMN rebuilds the table on MariaDB/MySQL"
assert_contains "$OUT" "lint: 0 errors, 2 warnings" "the MySQL rule and PostgreSQL's 'unparsed' on a mixed fleet"

printf -- '-- migrate:up\nUPDATE users SET email = lower(email);\n-- drover:lint-ignore drop-column the column is unused since v41\nALTER TABLE users DROP COLUMN legacy;\n\n-- migrate:down\nSELECT 1;\n' \
  >"$T/migrations/20240101000003-cleanup.sql"
assert_exit 1 lint_mixed
assert_contains "$OUT" "20240101000003-cleanup.sql:2: error update-without-where: UPDATE users without WHERE"
assert_not_contains "$OUT" "drop-column" "lint-ignore silences the named rule"
assert_contains "$OUT" "lint: 1 error, 1 warning, 0 notes, 1 ignored by drover:lint-ignore"

assert_exit 1 lint_mixed --format json --out "$T/lint.json"
assert_eq "" "$OUT" "with --out, nothing on stdout"
assert_eq "1 1 1 update-without-where:2" \
  "$(jq -r '"\(.errors) \(.warnings) \(.ignored) \(.findings[] | select(.severity == "error") | "\(.rule):\(.line)")"' "$T/lint.json")"
assert_exit 1 lint_mixed --format sarif
assert_eq "2.1.0 error update-without-where 20240101000003-cleanup.sql 2" \
  "$(jq -r '.version as $v | .runs[0].results[] | select(.level == "error") | "\($v) \(.level) \(.ruleId) \(.locations[0].physicalLocation.artifactLocation.uri) \(.locations[0].physicalLocation.region.startLine)"' <<<"$OUT")"
assert_eq 18 "$(jq '.runs[0].tool.driver.rules | length' <<<"$OUT")" "SARIF lists every rule"

# --pending: only what the selected tenants lack (here migration 3; 1 and 2 are applied).
assert_exit 0 "$DROVER_BIN" --config "$T/drover.cfg" migrate --to 20240101000002-index.sql
assert_exit 1 lint --pending --tenant a
assert_not_contains "$OUT" "20240101000002-index.sql" "--pending: an applied migration is not linted"
assert_contains "$OUT" "20240101000003-cleanup.sql:2: error update-without-where"
assert_exit 2 lint --tenant a
assert_eq "drover: lint selects tenants only with --pending" "$(head -n 1 <<<"$ERR")"

assert_exit 2 "$DROVER_BIN" --config "$T/drover.cfg" status --format sarif
assert_eq "drover: format 'sarif' is for lint" "$(head -n 1 <<<"$ERR")"
printf -- '-- migrate:down\nSELECT 1;\n' >"$T/migrations/20240101000004-broken.sql"
assert_exit 2 lint
assert_contains "$ERR" "20240101000004-broken.sql" "a bad migration file is bad input, named"

#!/usr/bin/env bash
# prechecks.test.sh — a .sql migration's pre-check (-- migrate:check) on PostgreSQL, MariaDB and
# SQLite. On each: a tenant whose data fails the check is skipped (not failed) with the check's
# text and what it returned, keeping the migrations before it; the next tenant migrates even
# under max_failures = 0; the run exits 1 (incomplete). Once the data is fixed a rerun finishes
# it. Both forms: "no rows" and "one true value". A check the server refuses fails the tenant.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"
# shellcheck disable=SC2016 # jq programs

jq_out() { json_get "$OUT_FILE" "$1"; }

# migrations DIALECT DIR: 01 makes the table, 02 refuses NULL emails (checked: no rows), 03 a
# unique index on handle (checked: one true value).
migrations() {
  local d=$1 dir=$2 not_null
  case $d in
    pg) not_null='ALTER TABLE users ALTER COLUMN email SET NOT NULL;' ;;
    my) not_null='ALTER TABLE users MODIFY email varchar(100) NOT NULL;' ;;
    lite) not_null='CREATE INDEX users_email ON users (email);' ;; # SQLite cannot add NOT NULL
  esac
  mkdir -p "$dir"
  printf -- '-- migrate:up\nCREATE TABLE users (id int PRIMARY KEY, email varchar(100), handle varchar(50));\n-- migrate:down\nDROP TABLE users;\n' \
    >"$dir/20240301000001-users.sql"
  printf -- '-- migrate:check\n-- no user without an email\nSELECT id FROM users WHERE email IS NULL;\n-- migrate:up\n%s\n-- migrate:down\nSELECT 1;\n' \
    "$not_null" >"$dir/20240301000002-email-required.sql"
  printf -- '-- migrate:up\nCREATE UNIQUE INDEX users_handle ON users (handle);\n-- migrate:check\nSELECT count(*) = count(DISTINCT handle) FROM users\n-- migrate:down\nDROP INDEX users_handle%s;\n' \
    "$([ "$d" = my ] && echo ' ON users')" >"$dir/20240301000003-handle-unique.sql"
}

# seed DIALECT TENANT SQL: runs SQL on one of the test's tenants.
declare -A DB_OF=()
seed() {
  case $1 in
    pg) pg_sql "${DB_OF[$2]}" "$3" >/dev/null ;;
    my) my_sql "${DB_OF[$2]}" "$3" >/dev/null ;;
    lite) sqlite3 "${DB_OF[$2]}" "$3" ;;
  esac
}

for d in pg my lite; do
  migrations "$d" "$T/$d/m"
  urls=()
  for t in bad good; do
    case $d in
      pg) db=$(unique_name "pc$t"); new_pg_db "$db"; DB_OF[$t]=$db; url=$(pg_url "$db") ;;
      my) db=$(unique_name "pc$t"); new_my_db "$db"; DB_OF[$t]=$db; url=$(my_url "$db") ;;
      lite) DB_OF[$t]=$T/$d/$t.db; url=sqlite:$T/$d/$t.db ;;
    esac
    urls+=("$d-$t prod $url")
  done
  # bad first and one at a time, with no failure allowed: were the skip a failure, good would
  # never start.
  write_config "$T/$d/drover.cfg" "$T/$d/m" "parallel = 1;" \
    '{ name = "prod"; max_failures = 0; }' "${urls[@]}"
  drover_run 0 "$T/$d/drover.cfg" migrate --to 20240301000001-users.sql
  seed "$d" bad "INSERT INTO users VALUES (1, NULL, 'a'), (2, NULL, 'b'), (3, 'c@x', 'a')"
  seed "$d" good "INSERT INTO users VALUES (1, 'a@x', 'a'), (2, 'b@x', 'b')"

  drover_run 1 "$T/$d/drover.cfg" migrate --format json
  assert_eq "incomplete|$d-bad:skipped:true:0 $d-good:migrated:false:2" \
    "$(jq_out '"\(.outcome)|\([.tenants[] | "\(.id):\(.outcome):\(.skipped_by_check):\(.applied | length)"] | join(" "))"')" \
    "$d: the failing check skips its tenant only"
  msg=$(jq_out ".tenants[] | select(.id == \"$d-bad\") | .error.message")
  assert_contains "$msg" "tenant '$d-bad': migration '20240301000002-email-required.sql': its pre-check did not pass: it returned 2 rows" "$d: what the check found"
  assert_eq "SELECT id FROM users WHERE email IS NULL" \
    "$(jq_out ".tenants[] | select(.id == \"$d-bad\") | .error.statement")" "$d: the check's text"
  drover_run 0 "$T/$d/drover.cfg" runs show 2
  assert_contains "$OUT" "its pre-check did not pass" "$d: the journal keeps the reason"

  # The data fixed for the first check; the second now finds a duplicate handle.
  seed "$d" bad "UPDATE users SET email = 'x@x' WHERE email IS NULL"
  drover_run 1 "$T/$d/drover.cfg" migrate --format json
  assert_eq "$d-bad:skipped:20240301000002-email-required.sql" \
    "$(jq_out '[.tenants[] | select(.outcome != "up_to_date") | "\(.id):\(.outcome):\(.applied | join(","))"] | join(" ")')" \
    "$d: the second check holds it after the first migration"
  case $d in pg) false_value=f ;; *) false_value=0 ;; esac
  assert_contains "$(jq_out ".tenants[] | select(.id == \"$d-bad\") | .error.message")" \
    "migration '20240301000003-handle-unique.sql': its pre-check did not pass: it returned $false_value"
  seed "$d" bad "UPDATE users SET handle = 'c' WHERE id = 3"
  drover_run 0 "$T/$d/drover.cfg" migrate --format json
  assert_eq "$d-bad:migrated:20240301000003-handle-unique.sql" \
    "$(jq_out '[.tenants[] | select(.outcome != "up_to_date") | "\(.id):\(.outcome):\(.applied | join(","))"] | join(" ")')" \
    "$d: fixed, the rerun finishes it"
  _lib_pass
done

# A check the server refuses is the tenant's failure, with the server's error and the check.
mkdir -p "$T/broken/m"
printf -- '-- migrate:check\nSELECT id FROM no_such_table\n-- migrate:up\nCREATE TABLE t (id int);\n' \
  >"$T/broken/m/20240301000001-t.sql"
write_config "$T/broken/drover.cfg" "$T/broken/m" "" '{ name = "prod"; }' "b1 prod sqlite:$T/broken/b1.db"
drover_run 1 "$T/broken/drover.cfg" migrate --format json
assert_eq "failed" "$(jq_out '.tenants[0].outcome')"
assert_contains "$(jq_out '.tenants[0].error.message')" "no such table: no_such_table"
assert_eq "SELECT id FROM no_such_table" "$(jq_out '.tenants[0].error.statement')"

# A bad check section is bad input: exit 2, file and line, nothing touched.
printf -- '-- migrate:check\nSELECT 1; SELECT 2;\n-- migrate:up\nCREATE TABLE t (id int);\n' \
  >"$T/broken/m/20240301000001-t.sql"
rm -f "$T/broken/b1.db"
drover_run 2 "$T/broken/drover.cfg" migrate
assert_contains "$ERR" "20240301000001-t.sql:1: '-- migrate:check' holds 2 statements"
[ ! -e "$T/broken/b1.db" ] || fail "bad input touched a tenant"

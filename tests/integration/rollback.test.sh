#!/usr/bin/env bash
# rollback.test.sh — batch rollback (defaults.rollback = "batch") on real PostgreSQL, SQLite and
# MariaDB: a failing migration leaves each tenant's schema and SequelizeMeta exactly as they were
# before the run; a down section that fails while rolling back leaves the tenant dirty until an
# operator resolves it; rollback = "none" keeps what succeeded.
# Backticks in single quotes are SQL identifier quotes, not command substitutions.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"

T=$DROVER_TEST_TMPDIR
export MYPW=$DROVER_TEST_MYSQL_PASSWORD

# The MariaDB databases to drop at exit (postgres_lib.sh drops the PostgreSQL ones).
MY_TEST_DBS=()
_drop_my_test_dbs() {
  local rc=$? db
  for db in "${MY_TEST_DBS[@]}"; do
    my_drop_db "$db" >/dev/null 2>&1 || echo "warning: cannot drop database '$db'" >&2
  done
  return "$rc"
}
trap '_drop_my_test_dbs; _pg_drop_test_dbs; _lib_on_exit' EXIT

my_new_db() {
  MY_TEST_DBS+=("$1")
  my_create_db "$1"
}

M1=20240301000001-create-accounts.sql
M2=20240301000002-add-accounts-name.sql
M3=20240301000003-create-orders.sql
M4=20240301000004-create-invoices.sql
M5=20240301000005-create-refunds.sql

# write_migration DIR NAME UP DOWN: a dbmate .sql migration.
write_migration() {
  mkdir -p "$1"
  printf -- '-- migrate:up\n%s\n\n-- migrate:down\n%s\n' "$3" "$4" >"$1/$2"
}

# write_set DIR M2_DOWN M3_UP [DROP_INDEX]: the five migrations; the 3rd one's up is M3_UP.
# DROP_INDEX is how m2's down drops its index (MariaDB needs "ON accounts").
write_set() {
  write_migration "$1" $M1 "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL);" \
    "DROP TABLE accounts;"
  write_migration "$1" $M2 "ALTER TABLE accounts ADD COLUMN name VARCHAR(50);
CREATE INDEX accounts_email ON accounts (email);" "$2"
  write_migration "$1" $M3 "$3" "DROP TABLE orders;"
  write_migration "$1" $M4 "CREATE TABLE invoices (id INTEGER PRIMARY KEY);" "DROP TABLE invoices;"
  write_migration "$1" $M5 "CREATE TABLE refunds (id INTEGER PRIMARY KEY);" "DROP TABLE refunds;"
}

M2_DOWN="DROP INDEX accounts_email;
ALTER TABLE accounts DROP COLUMN name;"
M3_SECOND_FAILS="CREATE TABLE orders (id INTEGER PRIMARY KEY);
INSERT INTO no_such_table (id) VALUES (1);"
FAILING_STATEMENT="INSERT INTO no_such_table (id) VALUES (1)"
write_set "$T/failing" "$M2_DOWN" "$M3_SECOND_FAILS"
write_set "$T/dirty" "DROP INDEX accounts_email;
DROP TABLE no_such_down_table;
ALTER TABLE accounts DROP COLUMN name;" "$M3_SECOND_FAILS"
write_set "$T/mariadb" "DROP INDEX accounts_email ON accounts;
ALTER TABLE accounts DROP COLUMN name;" "INSERT INTO no_such_table (id) VALUES (1);
CREATE TABLE orders (id INTEGER PRIMARY KEY);"

# inventory FILE MIGRATIONS_DIR ROLLBACK TENANT...: one "dev" environment; each TENANT is
# "ID URL". Tenants run one at a time so that the text output keeps inventory order.
inventory() {
  local file=$1 dir=$2 rollback=$3 sep="" t
  shift 3
  {
    echo "migrations = { path = \"$dir\"; };"
    echo "defaults = { rollback = \"$rollback\"; parallel = 1; };"
    echo 'environments = ( { name = "dev"; } );'
    echo 'tenants = ('
    for t in "$@"; do
      echo "$sep  { id = \"${t%% *}\"; env = \"dev\"; url = \"${t#* }\"; }"
      sep=","
    done
    echo ');'
  } | write_inventory "$file"
}

# pg_schema DB: the whole schema-only dump, normalised as pg_dump_table does, and the meta rows.
pg_schema() {
  PGPASSWORD=$DROVER_TEST_PG_PASSWORD PGPASSFILE=/dev/null \
    "$DROVER_TEST_PG_BINDIR/pg_dump" --schema-only \
    -h "$DROVER_TEST_PG_HOST" -p "$DROVER_TEST_PG_PORT" -U "$DROVER_TEST_PG_USER" "$1" |
    sed -e '/^--/d' -e '/^$/d' -e '/^\\\(un\)\{0,1\}restrict /d'
  echo "rows:"
  pg_rows "$1"
}

# sqlite_schema FILE: every schema object with its SQL, and the meta rows.
sqlite_schema() {
  sqlite_sql "$1" "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name;
                   SELECT 'rows:'; SELECT name FROM SequelizeMeta ORDER BY name;"
}

# my_schema DB: SHOW CREATE TABLE of every table, and the meta rows.
my_schema() {
  local table
  for table in $(my_sql "" "SELECT table_name FROM information_schema.tables
                            WHERE table_schema = '$1' ORDER BY BINARY table_name"); do
    my_sql "$1" "SHOW CREATE TABLE \`$table\`"
  done
  echo "rows:"
  my_sql "$1" "SELECT name FROM SequelizeMeta ORDER BY BINARY name"
}

# tenant_json ID JQ_EXPR: JQ_EXPR on tenant ID of the last JSON report, fields joined by '|'.
tenant_json() {
  json_get "$OUT_FILE" ".tenants[] | select(.id == \"$1\") | $2 | map(tostring) | join(\"|\")"
}

SQLITE_CLI_DDL='CREATE TABLE `SequelizeMeta` (`name` VARCHAR(255) NOT NULL UNIQUE PRIMARY KEY);'
MY_CLI_DDL='CREATE TABLE IF NOT EXISTS `SequelizeMeta` (`name` VARCHAR(255) NOT NULL UNIQUE , PRIMARY KEY (`name`)) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE utf8_unicode_ci;'
LEGACY="CREATE TABLE legacy (id INTEGER PRIMARY KEY, note VARCHAR(20));"

# --- 1. PostgreSQL and SQLite: m3 fails on its 2nd statement; m1 and m2 are reverted.
# "new" tenants have sequelize-cli's empty SequelizeMeta and an unrelated table; "pre" tenants
# had m1 applied by an earlier run (only this run's m2 is reverted); pgempty has nothing at all.
pgnew=$(unique_name rb_pgnew)
pgpre=$(unique_name rb_pgpre)
pgempty=$(unique_name rb_pgempty)
pg_new_db "$pgnew"
pg_new_db "$pgpre"
pg_new_db "$pgempty"
pg_sql "$pgnew" "$PG_CLI_META_DDL $LEGACY"
pg_sql "$pgpre" "$LEGACY"
mkdir -p "$T/batch"
sqlite_sql "$T/batch/litenew.db" "$SQLITE_CLI_DDL $LEGACY"
sqlite_sql "$T/batch/litepre.db" "$LEGACY"
cfg=$T/batch/drover.cfg
inventory "$cfg" "$T/failing" batch "pgnew $(pg_url "$pgnew")" "pgpre $(pg_url "$pgpre")" \
  "pgempty $(pg_url "$pgempty")" "litenew sqlite:litenew.db" "litepre sqlite:litepre.db"

assert_exit 0 drover "$cfg" migrate --to $M1 --tenant pgpre --tenant litepre
assert_eq "$M1" "$(pg_rows "$pgpre")" "pgpre: m1 applied before the run"
assert_eq "$M1" "$(sqlite_sql "$T/batch/litepre.db" "SELECT name FROM SequelizeMeta")" \
  "litepre: m1 applied before the run"

pg_schema "$pgnew" >"$T/pgnew.before"
pg_schema "$pgpre" >"$T/pgpre.before"
sqlite_schema "$T/batch/litenew.db" >"$T/litenew.before"
sqlite_schema "$T/batch/litepre.db" >"$T/litepre.before"
assert_contains "$(cat "$T/pgpre.before")" "CREATE TABLE public.accounts" \
  "pgpre's dump shows m1's table (the dump is not empty)"

assert_exit 1 drover "$cfg" migrate --format json
assert_eq "failed" "$(json_get "$OUT_FILE" .outcome)" "batch: the run failed"
assert_eq "5|0|5|0" "$(json_get "$OUT_FILE" '[.summary | .tenants, .failed, .rolled_back, .migrated]
                                             | map(tostring) | join("|")')" "batch: summary"
for t in pgnew pgempty litenew; do
  assert_eq "rolled_back|$M1,$M2|$M2,$M1|false|null|2" \
    "$(tenant_json $t '[.outcome, (.applied | join(",")), (.reverted | join(",")), .partial,
                        .rollback_error, .attempts]')" "batch: $t's result"
done
for t in pgpre litepre; do
  assert_eq "rolled_back|$M2|$M2|false|null|2" \
    "$(tenant_json $t '[.outcome, (.applied | join(",")), (.reverted | join(",")), .partial,
                        .rollback_error, .attempts]')" "batch: $t's result (m1 was there before)"
done
pg_error="migration '$M3': relation \"no_such_table\" does not exist (SQLSTATE 42P01)"
sqlite_error="migration '$M3': no such table: no_such_table (error 1)"
for t in pgnew pgpre pgempty; do
  assert_eq "tenant '$t': $pg_error|42P01|$M3|$FAILING_STATEMENT" \
    "$(tenant_json $t '.error | [.message, .sqlstate, .migration, .statement]')" \
    "batch: $t's error names migration 3 and its 2nd statement"
  assert_contains "$ERR" "drover: tenant '$t': $pg_error
  statement: $FAILING_STATEMENT" "batch: stderr names $t's failure"
done
for t in litenew litepre; do
  assert_eq "tenant '$t': $sqlite_error|1|$M3|$FAILING_STATEMENT" \
    "$(tenant_json $t '.error | [.message, .code, .migration, .statement]')" \
    "batch: $t's error names migration 3 and its 2nd statement"
done

assert_eq "$(cat "$T/pgnew.before")" "$(pg_schema "$pgnew")" "pgnew: schema and rows as before"
assert_eq "$(cat "$T/pgpre.before")" "$(pg_schema "$pgpre")" "pgpre: schema and rows as before"
assert_eq "$(cat "$T/litenew.before")" "$(sqlite_schema "$T/batch/litenew.db")" \
  "litenew: schema and rows as before"
assert_eq "$(cat "$T/litepre.before")" "$(sqlite_schema "$T/batch/litepre.db")" \
  "litepre: schema and rows as before"
# A tenant that had nothing keeps only the (empty) bookkeeping table drover created.
assert_eq "SequelizeMeta" "$(pg_relations "$pgempty")" "pgempty: only SequelizeMeta"
assert_eq "" "$(pg_rows "$pgempty")" "pgempty: no rows"

# The journal has every step, the rollback's included, in execution order.
assert_exit 0 drover "$cfg" runs show 2 --format json
assert_eq "up $M1 true,up $M2 true,up $M3 false,down $M2 true,down $M1 true" \
  "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "pgnew") | .steps
                           | map("\(.direction) \(.migration) \(.ok)") | join(",")')" \
  "batch: pgnew's steps in the journal"
assert_eq "rolled_back" "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "litepre") | .outcome')" \
  "batch: litepre's outcome in the journal"

# --- 2. MariaDB commits DDL as it goes: m3 fails on its FIRST statement, so nothing of m3
# ran, and m1, m2 are reverted by their down sections.
mynew=$(unique_name rb_mynew)
mypre=$(unique_name rb_mypre)
my_new_db "$mynew"
my_new_db "$mypre"
my_sql "$mynew" "$MY_CLI_DDL $LEGACY"
my_sql "$mypre" "$LEGACY"
my_url() { echo "mysql://$DROVER_TEST_MYSQL_USER:\${MYPW}@$DROVER_TEST_MYSQL_HOST:$DROVER_TEST_MYSQL_PORT/$1"; }
mcfg=$T/mariadb-run/drover.cfg
inventory "$mcfg" "$T/mariadb" batch "mynew $(my_url "$mynew")" "mypre $(my_url "$mypre")"
assert_exit 0 drover "$mcfg" migrate --to $M1 --tenant mypre
my_schema "$mynew" >"$T/mynew.before"
my_schema "$mypre" >"$T/mypre.before"
assert_contains "$(cat "$T/mypre.before")" 'CREATE TABLE `accounts`' "mypre: m1's table before"

assert_exit 1 drover "$mcfg" migrate --format json
assert_eq "failed" "$(json_get "$OUT_FILE" .outcome)" "mariadb: the run failed"
assert_eq "rolled_back|$M1,$M2|$M2,$M1|false|null" \
  "$(tenant_json mynew '[.outcome, (.applied | join(",")), (.reverted | join(",")), .partial,
                         .rollback_error]')" "mariadb: mynew's result"
assert_eq "rolled_back|$M2|$M2|false|null" \
  "$(tenant_json mypre '[.outcome, (.applied | join(",")), (.reverted | join(",")), .partial,
                         .rollback_error]')" "mariadb: mypre's result"
assert_eq "tenant 'mynew': migration '$M3': Table '$mynew.no_such_table' doesn't exist (error 1146)|1146|$M3|$FAILING_STATEMENT" \
  "$(tenant_json mynew '.error | [.message, .code, .migration, .statement]')" \
  "mariadb: the error names migration 3 and its first statement"
assert_eq "$(cat "$T/mynew.before")" "$(my_schema "$mynew")" "mynew: tables and rows as before"
assert_eq "$(cat "$T/mypre.before")" "$(my_schema "$mypre")" "mypre: tables and rows as before"

# --- 3. m2's down fails while rolling back: the tenant is dirty, with both errors, until an
# operator resolves it. The down runs in a transaction, so m2 stays applied and recorded.
pgdirty=$(unique_name rb_pgdirty)
pg_new_db "$pgdirty"
dcfg=$T/dirty-run/drover.cfg
inventory "$dcfg" "$T/dirty" batch "litedirty sqlite:litedirty.db" "pgdirty $(pg_url "$pgdirty")"
assert_exit 1 drover "$dcfg" migrate --format json
assert_eq "failed" "$(json_get "$OUT_FILE" .outcome)" "dirty: the run failed"
assert_eq "2" "$(json_get "$OUT_FILE" .summary.dirty)" "dirty: both tenants dirty"
for t in litedirty pgdirty; do
  assert_eq "dirty|$M1,$M2||$M2|$M3|$FAILING_STATEMENT|$M2" \
    "$(tenant_json $t '[.outcome, (.applied | join(",")), (.reverted | join(",")),
                        .dirty_migration, .error.migration, .error.statement,
                        .rollback_error.migration]')" "dirty: $t's result"
done
assert_eq "tenant 'litedirty': migration '$M2': no such table: no_such_down_table (error 1)|DROP TABLE no_such_down_table" \
  "$(tenant_json litedirty '.rollback_error | [.message, .statement]')" \
  "dirty: litedirty's rollback error"
assert_eq "tenant 'pgdirty': migration '$M2': table \"no_such_down_table\" does not exist (SQLSTATE 42P01)|42P01|DROP TABLE no_such_down_table" \
  "$(tenant_json pgdirty '.rollback_error | [.message, .sqlstate, .statement]')" \
  "dirty: pgdirty's rollback error"
assert_eq "$(lines $M1 $M2)" "$(pg_rows "$pgdirty")" "dirty: pgdirty keeps m1, m2 recorded"
assert_eq "SequelizeMeta accounts" "$(pg_relations "$pgdirty")" "dirty: nothing of m3 on pgdirty"
assert_eq "$(lines $M1 $M2)" "$(sqlite_sql "$T/dirty-run/litedirty.db" \
  "SELECT name FROM SequelizeMeta ORDER BY name")" "dirty: litedirty keeps m1, m2 recorded"

assert_exit 0 drover "$dcfg" status --format json
for t in litedirty pgdirty; do
  assert_eq "dirty|$M2" "$(tenant_json $t '[.state, .dirty_migration]')" "dirty: status of $t"
done

assert_exit 1 drover "$dcfg" migrate --format json
assert_eq "dirty|dirty" "$(json_get "$OUT_FILE" '[.tenants[].outcome] | join("|")')" \
  "dirty: migrate refuses both tenants"
assert_eq "failed" "$(json_get "$OUT_FILE" .outcome)" "dirty: the refused run failed"
assert_eq "tenant 'pgdirty': the tenant is dirty: migration '$M2' may be half-applied|0|0" \
  "$(tenant_json pgdirty '[(.error.message | sub(" \\(.*$"; "")), (.applied | length),
                           (.reverted | length)]')" "dirty: the refusal names the migration"
assert_eq "$(lines $M1 $M2)" "$(pg_rows "$pgdirty")" "dirty: the refused run changed nothing"

assert_exit 0 drover "$dcfg" resolve --tenant litedirty --tenant pgdirty
assert_eq "litedirty: dirty mark cleared
pgdirty: dirty mark cleared" "$OUT" "dirty: resolve clears both marks"
assert_exit 0 drover "$dcfg" status --format json
assert_eq "behind|null" "$(tenant_json pgdirty '[.state, .dirty_migration]')" \
  "dirty: resolved pgdirty is behind"
assert_exit 0 drover "$dcfg" migrate --to $M2 --format json
assert_eq "up_to_date|up_to_date" "$(json_get "$OUT_FILE" '[.tenants[].outcome] | join("|")')" \
  "dirty: migrate accepts the resolved tenants"
assert_exit 0 drover "$dcfg" resolve --tenant pgdirty
assert_eq "pgdirty: was not dirty" "$OUT" "dirty: a second resolve"

# --- 4. rollback = "none": m1 and m2 stay applied and recorded; m3's own transaction is
# rolled back.
pgnone=$(unique_name rb_pgnone)
pg_new_db "$pgnone"
ncfg=$T/none-run/drover.cfg
inventory "$ncfg" "$T/failing" none "litenone sqlite:litenone.db" "pgnone $(pg_url "$pgnone")"
assert_exit 1 drover "$ncfg" migrate --format json
assert_eq "failed" "$(json_get "$OUT_FILE" .outcome)" "none: the run failed"
for t in litenone pgnone; do
  assert_eq "failed|$M1,$M2||null|$M3" \
    "$(tenant_json $t '[.outcome, (.applied | join(",")), (.reverted | join(",")),
                        .rollback_error, .error.migration]')" "none: $t's result"
done
assert_eq "$(lines $M1 $M2)" "$(pg_rows "$pgnone")" "none: pgnone keeps m1, m2"
assert_eq "SequelizeMeta accounts" "$(pg_relations "$pgnone")" "none: no orders table on pgnone"
assert_eq "$(lines $M1 $M2)" "$(sqlite_sql "$T/none-run/litenone.db" \
  "SELECT name FROM SequelizeMeta ORDER BY name")" "none: litenone keeps m1, m2"
assert_eq "SequelizeMeta accounts" "$(sqlite_sql "$T/none-run/litenone.db" \
  "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'table'
   ORDER BY name)")" "none: no orders table on litenone"

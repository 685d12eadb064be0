#!/usr/bin/env bash
# mariadb.test.sh — drover's SequelizeMeta bookkeeping on a real MariaDB, through the CLI: a
# fresh tenant, the table byte-identical to sequelize-cli's, tenants the CLI migrated (half
# done, unknown rows, renamed rows), undo, a custom table/schema, the timestamps variant,
# password masking and read-only commands. Failures and refusals: mariadb-failures.test.sh.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/mariadb-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/mariadb-common.sh"

MIG=$DROVER_TEST_TMPDIR/migrations
M1=20240101000001-create-users.sql
M2=20240101000002-create-orders.sql
M3=20240101000003-add-users-email-index.sql
M4=20240101000004-create-items.sql
ALL="$M1 $M2 $M3 $M4"
write_migration "$MIG" "$M1" \
  'CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255) NOT NULL);' 'DROP TABLE users;'
write_migration "$MIG" "$M2" \
  'CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NOT NULL);' 'DROP TABLE orders;'
write_migration "$MIG" "$M3" \
  'CREATE INDEX users_email ON users (email);' 'DROP INDEX users_email ON users;'
write_migration "$MIG" "$M4" \
  'CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50));' 'DROP TABLE items;'

# users_indexes DB: the secondary indexes of table users.
users_indexes() {
  my_sql "" "SELECT DISTINCT index_name FROM information_schema.statistics
             WHERE table_schema = '$1' AND table_name = 'users' AND index_name <> 'PRIMARY'"
}

# --- 1. fresh tenants, one per URL scheme: migrate creates SequelizeMeta and applies everything
fresh=$(new_my_db fresh)
fresh2=$(new_my_db fresh)
CFG=$DROVER_TEST_TMPDIR/fresh.cfg
write_config "$CFG" "$MIG" "" "fresh $(my_url "$fresh")" "fresh2 $(my_url "$fresh2" mariadb)"

drover_run 0 --config "$CFG" migrate --format json
assert_eq "succeeded" "$(jq_out .outcome)"
assert_eq "fresh migrated mysql $(masked_url "$fresh") $ALL false true" \
  "$(jq_out '.tenants[0] | [.id, .outcome, .dialect, .url, (.applied | join(" ")), .partial, (.error == null)] | join(" ")')"
assert_eq "fresh2 migrated mysql $(masked_url "$fresh2" mariadb) $ALL" \
  "$(jq_out '.tenants[1] | [.id, .outcome, .dialect, .url, (.applied | join(" "))] | join(" ")')"
assert_eq "2 2 0" "$(jq_out '.summary | [.tenants, .migrated, .failed] | join(" ")')"
for db in "$fresh" "$fresh2"; do
  assert_eq "$ALL" "$(meta_rows "$db")" "rows of '$db' are the file names"
  assert_eq "SequelizeMeta items orders users" "$(tables_of "$db")" "tables of '$db'"
  assert_eq "users_email" "$(users_indexes "$db")" "index of '$db'"
done

drover_run 0 --config "$CFG" migrate
assert_eq $'fresh (dev, mysql): up to date\nfresh2 (dev, mysql): up to date' \
  "$(head -n 2 <<<"$OUT")" "second run: nothing to do"
assert_contains "$OUT" "migrate: 2 tenants, 2 up_to_date"
assert_eq "$ALL" "$(meta_rows "$fresh")" "second run changes no row"

# --- 2. the table drover creates is the one sequelize-cli creates
cli_ddl=$(new_my_db cliddl)
my_sql "$cli_ddl" "$CLI_DDL"
assert_eq "$CLI_SHOW_CREATE" "$(show_create "$cli_ddl" SequelizeMeta)" "the CLI's DDL as stored"
assert_eq "$CLI_SHOW_CREATE" "$(show_create "$fresh" SequelizeMeta)" "drover's table (mysql://)"
assert_eq "$CLI_SHOW_CREATE" "$(show_create "$fresh2" SequelizeMeta)" "drover's table (mariadb://)"

# --- 3. a tenant sequelize-cli migrated half-way: only the second half runs
half=$(new_my_db half)
my_sql "$half" "$CLI_DDL
  CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255) NOT NULL);
  CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NOT NULL);
  INSERT INTO SequelizeMeta (name) VALUES ('$M1'), ('$M2');"
CFG_HALF=$DROVER_TEST_TMPDIR/half.cfg
write_config "$CFG_HALF" "$MIG" "" "half $(my_url "$half")"

drover_run 0 --config "$CFG_HALF" plan --format json
assert_eq "pending|$M3 $M4|$M3 $M4|2|" \
  "$(jq_out '.tenants[0] | [.outcome, (.planned | join(" ")), (.pending | join(" ")),
                           .applied_before, (.unknown | join(" "))] | join("|")')"
drover_run 0 --config "$CFG_HALF" migrate --format json
assert_eq "migrated|$M3 $M4" "$(jq_out '.tenants[0] | [.outcome, (.applied | join(" "))] | join("|")')"
assert_eq "$ALL" "$(meta_rows "$half")"
assert_eq "SequelizeMeta items orders users" "$(tables_of "$half")"
assert_eq "$CLI_SHOW_CREATE" "$(show_create "$half" SequelizeMeta)" "the CLI's table is left as it was"

# --- 4. unknown rows make a tenant drifted; a row renamed x.js -> x.sql is not re-applied
drift=$(new_my_db drift)
my_sql "$drift" "$CLI_DDL
  INSERT INTO SequelizeMeta (name) VALUES ('20231231000000-from-elsewhere.js'), ('$M1'), ('$M2'),
                                          ('$M3'), ('$M4');"
renamed=$(new_my_db renamed)
M1_JS=${M1%.sql}.js
my_sql "$renamed" "$CLI_DDL
  CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255) NOT NULL);
  INSERT INTO SequelizeMeta (name) VALUES ('$M1_JS');"
CFG_DRIFT=$DROVER_TEST_TMPDIR/drift.cfg
write_config "$CFG_DRIFT" "$MIG" "" "drift $(my_url "$drift")" "renamed $(my_url "$renamed")"

drover_run 0 --config "$CFG_DRIFT" status --format json
assert_eq "drifted||20231231000000-from-elsewhere.js|4" \
  "$(jq_out '.tenants[0] | [.state, (.pending | join(" ")), (.unknown | join(" ")),
                           (.applied | length)] | join("|")')"
assert_eq "behind|$M1|$M2 $M3 $M4||$M1_JS>$M1" \
  "$(jq_out '.tenants[1] | [.state, (.applied | join(" ")), (.pending | join(" ")),
                           (.unknown | join(" ")), (.renamed | map(.row + ">" + .file) | join(" "))]
                         | join("|")')"
assert_eq "1 1 0" "$(jq_out '.summary | [.behind, .drifted, .current] | join(" ")')"

drover_run 0 --config "$CFG_DRIFT" migrate --tenant renamed --format json
assert_eq "migrated|$M2 $M3 $M4" "$(jq_out '.tenants[0] | [.outcome, (.applied | join(" "))] | join("|")')"
assert_eq "$M1_JS $M2 $M3 $M4" "$(meta_rows "$renamed")" "the renamed row stays as the CLI wrote it"
drover_run 0 --config "$CFG_DRIFT" status --tenant renamed --format json
assert_eq "current" "$(jq_out '.tenants[0].state')"

# --- 7. undo: --steps, --to (inclusive, without extension), --all; exact rows and objects
drover_run 0 --config "$CFG" undo --tenant fresh --steps 1 --format json
assert_eq "reverted|$M4" "$(jq_out '.tenants[0] | [.outcome, (.reverted | join(" "))] | join("|")')"
assert_eq "$M1 $M2 $M3" "$(meta_rows "$fresh")"
assert_eq "SequelizeMeta orders users" "$(tables_of "$fresh")"

drover_run 0 --config "$CFG" undo --tenant fresh --to "${M2%.sql}" --format json
assert_eq "reverted|$M3 $M2" "$(jq_out '.tenants[0] | [.outcome, (.reverted | join(" "))] | join("|")')"
assert_eq "$M1" "$(meta_rows "$fresh")"
assert_eq "SequelizeMeta users" "$(tables_of "$fresh")"
assert_eq "" "$(users_indexes "$fresh")" "index reverted"

drover_run 0 --config "$CFG" undo --tenant fresh --all
assert_eq $'fresh (dev, mysql): reverted 1\n    reverted:\n      '"$M1" "$(head -n 3 <<<"$OUT")"
assert_eq "" "$(meta_rows "$fresh")"
assert_eq "SequelizeMeta" "$(tables_of "$fresh")" "SequelizeMeta stays, empty, as with the CLI"
drover_run 0 --config "$CFG" undo --tenant fresh --all
assert_contains "$OUT" "fresh (dev, mysql): nothing to revert"

# The DELETE matches bytes, not the collation: in a table without the CLI's keys a
# case-variant row can sit beside the real one, and must survive the undo.
exact=$(new_my_db exact)
M4_UPPER=20240101000004-CREATE-ITEMS.sql
my_sql "$exact" "CREATE TABLE SequelizeMeta (name VARCHAR(255) NOT NULL)
                   DEFAULT CHARSET=utf8 COLLATE utf8_unicode_ci;
  CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255) NOT NULL);
  CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NOT NULL);
  CREATE INDEX users_email ON users (email);
  CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50));
  INSERT INTO SequelizeMeta VALUES ('$M1'), ('$M2'), ('$M3'), ('$M4'), ('$M4_UPPER');"
CFG_EXACT=$DROVER_TEST_TMPDIR/exact.cfg
write_config "$CFG_EXACT" "$MIG" "" "exact $(my_url "$exact")"
drover_run 0 --config "$CFG_EXACT" undo --steps 1 --format json
assert_eq "reverted|$M4" "$(jq_out '.tenants[0] | [.outcome, (.reverted | join(" "))] | join("|")')"
assert_eq "$M1 $M2 $M3 $M4_UPPER" "$(meta_rows "$exact")" "only the exact row is deleted"
assert_eq "SequelizeMeta orders users" "$(tables_of "$exact")"

# --- 8. custom table and schema: one table literally named 'custom.my_meta', as the CLI does
custom=$(new_my_db custom)
CFG_CUSTOM=$DROVER_TEST_TMPDIR/custom.cfg
write_config "$CFG_CUSTOM" "$MIG" 'table = "my_meta"; schema = "custom";' \
  "custom $(my_url "$custom")"
drover_run 0 --config "$CFG_CUSTOM" migrate --to "$M2" --format json
assert_eq "migrated|$M1 $M2" "$(jq_out '.tenants[0] | [.outcome, (.applied | join(" "))] | join("|")')"
assert_eq "custom.my_meta orders users" "$(tables_of "$custom")"
assert_eq "0" "$(my_sql "" "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'custom'")" \
  "no database 'custom' is created"
assert_eq "$M1 $M2" "$(meta_rows "$custom" custom.my_meta)"
assert_eq "${CLI_SHOW_CREATE/\`SequelizeMeta\`/\`custom.my_meta\`}" \
  "$(show_create "$custom" custom.my_meta)" "same DDL under the joined name"
drover_run 0 --config "$CFG_CUSTOM" undo --steps 1 --format json
assert_eq "reverted|$M2" "$(jq_out '.tenants[0] | [.outcome, (.reverted | join(" "))] | join("|")')"
assert_eq "$M1" "$(meta_rows "$custom" custom.my_meta)"

# --- 9. the timestamps variant: createdAt/updatedAt NOT NULL without default, set to UTC now
stamps=$(new_my_db stamps)
# shellcheck disable=SC2016 # backticks are SQL quotes
my_sql "$stamps" 'CREATE TABLE IF NOT EXISTS `SequelizeMeta` (`name` VARCHAR(255) NOT NULL UNIQUE ,
  `createdAt` DATETIME NOT NULL, `updatedAt` DATETIME NOT NULL, PRIMARY KEY (`name`))
  ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE utf8_unicode_ci;'
CFG_STAMPS=$DROVER_TEST_TMPDIR/stamps.cfg
write_config "$CFG_STAMPS" "$MIG" "" "stamps $(my_url "$stamps")"
drover_run 0 --config "$CFG_STAMPS" migrate --format json
assert_eq "migrated|$ALL" "$(jq_out '.tenants[0] | [.outcome, (.applied | join(" "))] | join("|")')"
assert_eq "$ALL" "$(meta_rows "$stamps")"
assert_eq "4" \
  "$(my_sql "$stamps" "SELECT COUNT(*) FROM SequelizeMeta WHERE createdAt = updatedAt
                        AND createdAt BETWEEN UTC_TIMESTAMP() - INTERVAL 2 MINUTE AND UTC_TIMESTAMP()")" \
  "every row carries UTC now in both columns"

# --- 10. the password never shows; the masked URL does (drover_run checked every output so far)
masked=$(new_my_db masked)
CFG_BAD=$DROVER_TEST_TMPDIR/bad.cfg
write_config "$CFG_BAD" "$MIG" "" "good $(my_url "$masked")" \
  "nodb $(my_url "${masked}_missing" mariadb)"
for cmd in "plan" "status" "check" "migrate"; do
  drover_run 1 --config "$CFG_BAD" $cmd
  assert_contains "$ERR" "drover: tenant 'nodb': cannot connect to mysql '127.0.0.1:$MY_PORT/${masked}_missing': Unknown database '${masked}_missing'"
  drover_run 1 --config "$CFG_BAD" $cmd --format json
  assert_eq "$(masked_url "$masked") $(masked_url "${masked}_missing" mariadb)" \
    "$(jq_out '[.tenants[].url] | join(" ")')" "$cmd: masked URLs"
  assert_eq "1049" "$(jq_out '.tenants[1].error.code')" "$cmd: the server's errno"
done
assert_eq "unreachable" "$(jq_out '.tenants[1].outcome')"
assert_eq "$ALL" "$(meta_rows "$masked")" "the good tenant was migrated beside the broken one"
drover_run 0 --config "$CFG_BAD" status --tenant good
assert_contains "$OUT" "good    dev  mysql     current"

# --- 11. read-only commands create nothing
ro=$(new_my_db readonly)
CFG_RO=$DROVER_TEST_TMPDIR/ro.cfg
write_config "$CFG_RO" "$MIG" "" "ro $(my_url "$ro")"
for args in "plan" "status" "check" "migrate --dry-run" "undo --all --dry-run" \
  "plan --format json" "status --format json" "check --format json" \
  "migrate --dry-run --format json"; do
  # shellcheck disable=SC2086 # args holds words on purpose
  drover_run 0 --config "$CFG_RO" $args
  assert_eq "" "$(tables_of "$ro")" "'$args' created nothing"
done
drover_run 0 --config "$CFG_RO" status --format json
assert_eq "behind|false|4" "$(jq_out '.tenants[0] | [.state, .meta_table_exists, (.pending | length)] | join("|")')"
drover_run 0 --config "$CFG_RO" migrate --dry-run --format json
assert_eq "pending|$ALL|" "$(jq_out '.tenants[0] | [.outcome, (.planned | join(" ")), (.applied | join(" "))] | join("|")')"
assert_eq "" "$(tables_of "$ro")"

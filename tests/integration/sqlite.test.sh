#!/usr/bin/env bash
# sqlite.test.sh — the drover CLI end to end on SQLite tenants: a fresh tenant (read-only
# commands never create its file), partial, drifted and renamed states, an atomic failure,
# every undo mode, a custom meta table, sequelize-cli's timestamps variant, the exact
# SequelizeMeta DDL, `drover new` and `check`.
# Backticks in single quotes are SQLite identifier quotes, not command substitutions.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
M1=20240101000001-t1.sql
M2=20240101000002-t2.sql
M3=20240101000003-t3.sql
M4=20240101000004-t4.sql
M5=20240101000005-t5.sql
ALL5=$'20240101000001-t1.sql\n20240101000002-t2.sql\n20240101000003-t3.sql\n20240101000004-t4.sql\n20240101000005-t5.sql'
CLI_DDL='CREATE TABLE `SequelizeMeta` (`name` VARCHAR(255) NOT NULL UNIQUE PRIMARY KEY)'

# write_migration DIR FILE TABLE [EXTRA_UP_STATEMENT]: a migration creating TABLE.
write_migration() {
  mkdir -p "$1"
  {
    echo "-- migrate:up"
    echo "CREATE TABLE $3 (id INTEGER PRIMARY KEY);"
    [ -z "${4:-}" ] || echo "$4"
    echo ""
    echo "-- migrate:down"
    echo "DROP TABLE $3;"
  } >"$1/$2"
}

for i in 1 2 3 4 5; do
  write_migration "$T/good" "2024010100000$i-t$i.sql" "t$i"
  if [ "$i" = 3 ]; then
    write_migration "$T/bad" "2024010100000$i-t$i.sql" "t$i" "INSERT INTO missing_table VALUES (1);"
  else
    write_migration "$T/bad" "2024010100000$i-t$i.sql" "t$i"
  fi
done

# inventory FILE MIGRATIONS_DIR [MIGRATIONS_EXTRA]: one dev tenant "lite" at lite.db next to FILE.
inventory() {
  write_inventory "$1" <<EOF
migrations = { path = "$2";${3:-} };
# Each failure below checks one migration's atomicity with earlier ones kept; batch rollback
# has its own tests.
defaults = { rollback = "none"; };
environments = ( { name = "dev"; } );
tenants = ( { id = "lite"; env = "dev"; url = "sqlite:lite.db"; } );
EOF
}

drover() { "$DROVER_BIN" "$@"; }
meta_rows() { sqlite_sql "$1" "SELECT name FROM \"${2:-SequelizeMeta}\" ORDER BY name"; }
tables() { sqlite_sql "$1" "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"; }

# --- a fresh tenant: status, plan and check read an empty tenant and create no file
cfg=$T/fresh/drover.cfg
dbf=$T/fresh/lite.db
inventory "$cfg" "$T/good"
assert_exit 0 drover --config "$cfg" status
assert_eq "TENANT  ENV  DIALECT   STATE        APPLIED  PENDING  UNKNOWN  LAST APPLIED
lite    dev  sqlite    behind             0        5        0  -

ENV  TENANTS  CURRENT   BEHIND  DRIFTED    DIRTY   LOCKED  UNREACHABLE
dev        1        0        1        0        0        0            0

last applied migration (version skew):
      1 tenant   (none applied)

1 tenant: 0 current, 1 behind, 0 drifted, 0 dirty, 0 locked, 0 unreachable" "$OUT" "fresh: status table"
[ ! -e "$dbf" ] || fail "status created '$dbf'"
assert_exit 0 drover --config "$cfg" status --format json --out "$T/fresh.json"
assert_eq "behind" "$(json_get "$T/fresh.json" '.tenants[0].state')"
assert_eq "$ALL5" "$(json_get "$T/fresh.json" '.tenants[0].pending[]')"
assert_eq "0 false null" \
  "$(json_get "$T/fresh.json" '"\(.tenants[0].applied | length) \(.tenants[0].meta_table_exists) \(.tenants[0].error)"')"
assert_eq "1 0 1" "$(json_get "$T/fresh.json" '"\(.summary.tenants) \(.summary.current) \(.summary.behind)"')"
assert_exit 0 drover --config "$cfg" plan --format json --out "$T/plan.json"
assert_eq "pending 0" "$(json_get "$T/plan.json" '"\(.tenants[0].outcome) \(.tenants[0].applied_before)"')"
assert_eq "$ALL5" "$(json_get "$T/plan.json" '.tenants[0].planned[]')"
assert_exit 0 drover --config "$cfg" plan
assert_contains "$OUT" "lite (dev, sqlite): 0 applied, would apply 5"
assert_exit 0 drover --config "$cfg" migrate --dry-run
assert_exit 0 drover --config "$cfg" check
assert_eq "lite (dev, sqlite): ok (0 applied, 5 pending)" "$(head -n 1 <<<"$OUT")" "fresh: check"
[ ! -e "$dbf" ] || fail "plan, migrate --dry-run or check created '$dbf'"

# migrate creates the file, the table (the CLI's DDL, as SQLite stores it) and every row
assert_exit 0 drover --config "$cfg" migrate
assert_eq "lite (dev, sqlite): migrated 5, now at $M5" "$(head -n 1 <<<"$OUT")"
assert_eq "$ALL5" "$(meta_rows "$dbf")" "fresh: rows after migrate"
assert_eq $'SequelizeMeta\nt1\nt2\nt3\nt4\nt5' "$(tables "$dbf")"
assert_eq "$CLI_DDL" "$(sqlite_sql "$dbf" "SELECT sql FROM sqlite_master WHERE name = 'SequelizeMeta'")" \
  "SequelizeMeta DDL as stored"
assert_eq "index|sqlite_autoindex_SequelizeMeta_1|" \
  "$(sqlite_sql "$dbf" "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'SequelizeMeta' AND type <> 'table'")" \
  "SequelizeMeta has exactly the CLI's one auto-index"
# The CLI's own statement (reference §1.2) in a blank database stores the same text.
sqlite_sql "$T/cli.db" 'CREATE TABLE IF NOT EXISTS `SequelizeMeta` (`name` VARCHAR(255) NOT NULL UNIQUE PRIMARY KEY);'
assert_eq "$(sqlite_sql "$T/cli.db" "SELECT sql FROM sqlite_master WHERE name = 'SequelizeMeta'")" \
  "$(sqlite_sql "$dbf" "SELECT sql FROM sqlite_master WHERE name = 'SequelizeMeta'")" \
  "drover's DDL equals sequelize-cli's byte for byte"
assert_exit 0 drover --config "$cfg" status
assert_contains "$OUT" "lite    dev  sqlite    current            5        0        0  $M5"
assert_exit 0 drover --config "$cfg" migrate
assert_eq "lite (dev, sqlite): up to date" "$(head -n 1 <<<"$OUT")"
assert_exit 0 drover --config "$cfg" check
assert_eq "lite (dev, sqlite): ok (5 applied, 0 pending)" "$(head -n 1 <<<"$OUT")" "check ok"
assert_contains "$(sed -n 2p <<<"$OUT")" "check: 1 tenant, 1 ok ("

# --- undo: --dry-run, --steps, --to (by stem, inclusive), --all
assert_exit 0 drover --config "$cfg" undo --steps 2 --dry-run --format json --out "$T/undo-dry.json"
assert_eq "pending $M5 $M4" \
  "$(json_get "$T/undo-dry.json" '"\(.tenants[0].outcome) \(.tenants[0].planned | join(" "))"')"
assert_eq "$ALL5" "$(meta_rows "$dbf")" "undo --dry-run changes nothing"
assert_exit 0 drover --config "$cfg" undo --steps 2
assert_eq "lite (dev, sqlite): reverted 2
    reverted:
      $M5
      $M4" "$(head -n 4 <<<"$OUT")"
assert_eq "$(head -n 3 <<<"$ALL5")" "$(meta_rows "$dbf")" "undo --steps 2: rows"
assert_eq $'SequelizeMeta\nt1\nt2\nt3' "$(tables "$dbf")" "undo --steps 2: tables"
assert_exit 0 drover --config "$cfg" undo --to 20240101000002-t2
assert_eq $'    reverted:\n      '"$M3"$'\n      '"$M2" "$(sed -n 2,4p <<<"$OUT")" "undo --to is inclusive, by stem"
assert_eq "$M1" "$(meta_rows "$dbf")" "undo --to: rows"
assert_eq $'SequelizeMeta\nt1' "$(tables "$dbf")" "undo --to: tables"
assert_exit 0 drover --config "$cfg" migrate --to 20240101000003-t3
assert_eq "lite (dev, sqlite): migrated 2, now at $M3" "$(head -n 1 <<<"$OUT")" "migrate --to by stem"
assert_eq "$(head -n 3 <<<"$ALL5")" "$(meta_rows "$dbf")"
assert_exit 0 drover --config "$cfg" undo --all
assert_eq $'    reverted:\n      '"$M3"$'\n      '"$M2"$'\n      '"$M1" "$(sed -n 2,5p <<<"$OUT")"
assert_eq "" "$(meta_rows "$dbf")" "undo --all: no rows"
assert_eq "SequelizeMeta" "$(tables "$dbf")" "undo --all: only SequelizeMeta is left"
assert_exit 0 drover --config "$cfg" undo --all
assert_eq "lite (dev, sqlite): nothing to revert" "$(head -n 1 <<<"$OUT")"

# --- partly migrated: migrate --to by file name, then status
cfg=$T/part/drover.cfg
dbf=$T/part/lite.db
inventory "$cfg" "$T/good"
assert_exit 0 drover --config "$cfg" migrate --to "$M2"
assert_eq "$M1"$'\n'"$M2" "$(meta_rows "$dbf")"
assert_exit 0 drover --config "$cfg" status --format json --out "$T/part.json"
assert_eq "behind|$M1 $M2|$M3 $M4 $M5|true" \
  "$(json_get "$T/part.json" '.tenants[0] | "\(.state)|\(.applied | join(" "))|\(.pending | join(" "))|\(.meta_table_exists)"')"

# --- unknown rows: the tenant is drifted, plan names them, migrate still applies the rest
sqlite_sql "$dbf" "INSERT INTO SequelizeMeta (name) VALUES ('20231231000000-gone.sql')"
assert_exit 0 drover --config "$cfg" status --format json --out "$T/drift.json"
assert_eq "drifted|20231231000000-gone.sql|$M3 $M4 $M5" \
  "$(json_get "$T/drift.json" '.tenants[0] | "\(.state)|\(.unknown | join(" "))|\(.pending | join(" "))"')"
assert_eq "0 0 1" "$(json_get "$T/drift.json" '"\(.summary.current) \(.summary.behind) \(.summary.drifted)"')"
assert_exit 0 drover --config "$cfg" plan
assert_contains "$OUT" "    unknown rows (no file):
      20231231000000-gone.sql"

# --- a renamed row (x.js recorded, x.sql on disk) counts as applied and is not run again
cfg=$T/renamed/drover.cfg
dbf=$T/renamed/lite.db
inventory "$cfg" "$T/good"
mkdir -p "$T/renamed"
sqlite_sql "$dbf" "$CLI_DDL; CREATE TABLE t1 (id INTEGER PRIMARY KEY);
                  INSERT INTO SequelizeMeta VALUES ('20240101000001-t1.js');"
assert_exit 0 drover --config "$cfg" status --format json --out "$T/renamed.json"
assert_eq "behind|$M1|20240101000001-t1.js>$M1|0" \
  "$(json_get "$T/renamed.json" '.tenants[0] | "\(.state)|\(.applied | join(" "))|\(.renamed[0].row)>\(.renamed[0].file)|\(.unknown | length)"')"
assert_exit 0 drover --config "$cfg" migrate
assert_eq "lite (dev, sqlite): migrated 4, now at $M5" "$(head -n 1 <<<"$OUT")"
assert_eq $'20240101000001-t1.js\n20240101000002-t2.sql\n20240101000003-t3.sql\n20240101000004-t4.sql\n20240101000005-t5.sql' \
  "$(meta_rows "$dbf")" "the renamed row is kept as it is"

# --- a failing migration: the 3rd of 5 fails on its 2nd statement
cfg=$T/failing/drover.cfg
dbf=$T/failing/lite.db
inventory "$cfg" "$T/bad"
assert_exit 1 drover --config "$cfg" migrate
assert_eq "lite (dev, sqlite): FAILED after applying 2
    applied:
      $M1
      $M2
    error: tenant 'lite': migration '$M3': no such table: missing_table (error 1)
      statement: INSERT INTO missing_table VALUES (1)" "$(head -n 6 <<<"$OUT")" "failure report"
assert_eq "drover: tenant 'lite': migration '$M3': no such table: missing_table (error 1)
  statement: INSERT INTO missing_table VALUES (1)" "$ERR" "failure on stderr"
assert_eq "$M1"$'\n'"$M2" "$(meta_rows "$dbf")" "no row for the failed migration or after it"
assert_eq $'SequelizeMeta\nt1\nt2' "$(tables "$dbf")" "its first statement was rolled back"
assert_exit 1 drover --config "$cfg" migrate --format json --out "$T/fail.json"
assert_eq "failed|failed|0|false" \
  "$(json_get "$T/fail.json" '"\(.outcome)|\(.tenants[0].outcome)|\(.tenants[0].applied | length)|\(.tenants[0].partial)"')"
assert_eq "tenant 'lite': migration '$M3': no such table: missing_table (error 1)|null|1|$M3|INSERT INTO missing_table VALUES (1)" \
  "$(json_get "$T/fail.json" '.tenants[0].error | "\(.message)|\(.sqlstate)|\(.code)|\(.migration)|\(.statement)"')"
assert_eq $'SequelizeMeta\nt1\nt2' "$(tables "$dbf")" "a second failing run leaves the same state"

# --- custom table and schema: SQLite gets a table literally named `custom.my_meta`
cfg=$T/custom/drover.cfg
dbf=$T/custom/lite.db
inventory "$cfg" "$T/good" ' table = "my_meta"; schema = "custom";'
assert_exit 0 drover --config "$cfg" migrate --to "$M1"
assert_eq $'custom.my_meta\nt1' "$(tables "$dbf")" "no SequelizeMeta, no my_meta"
assert_eq "$M1" "$(meta_rows "$dbf" custom.my_meta)"
assert_eq 'CREATE TABLE `custom.my_meta` (`name` VARCHAR(255) NOT NULL UNIQUE PRIMARY KEY)' \
  "$(sqlite_sql "$dbf" "SELECT sql FROM sqlite_master WHERE name = 'custom.my_meta'")"
assert_exit 0 drover --config "$cfg" undo --steps 1
assert_eq "" "$(meta_rows "$dbf" custom.my_meta)" "undo deletes from the custom table"

# --- timestamps (after db:migrate:schema:timestamps:add): createdAt/updatedAt are filled
cfg=$T/stamps/drover.cfg
dbf=$T/stamps/lite.db
inventory "$cfg" "$T/good"
mkdir -p "$T/stamps"
sqlite_sql "$dbf" 'CREATE TABLE `SequelizeMeta` (`name` VARCHAR(255) NOT NULL UNIQUE PRIMARY KEY, `createdAt` DATETIME NOT NULL, `updatedAt` DATETIME NOT NULL);'
before=$(date -u '+%Y-%m-%d %H:%M:%S')
assert_exit 0 drover --config "$cfg" migrate --to "$M2"
after=$(date -u -d '+1 second' '+%Y-%m-%d %H:%M:%S')
stamps=$(sqlite_sql "$dbf" "SELECT createdAt, updatedAt FROM SequelizeMeta WHERE name = '$M1'")
created=${stamps%%|*}
[[ "$created" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\ \+00:00$ ]] ||
  fail "createdAt '$created' is not in Sequelize's SQLite format"
assert_eq "$created|$created" "$stamps" "updatedAt equals createdAt"
[[ ! "$created" < "$before" && ! "$created" > "$after" ]] ||
  fail "createdAt '$created' is not the UTC time of the run ($before .. $after)"
assert_eq "2 0" "$(sqlite_sql "$dbf" "SELECT count(*), sum(createdAt IS NULL OR updatedAt IS NULL) FROM SequelizeMeta" | tr '|' ' ')"

# --- drover new NAME: a timestamped file with both markers, in migrations.path
cfg=$T/new/drover.cfg
mkdir -p "$T/new/migrations"
inventory "$cfg" migrations
before=$(date -u '+%Y%m%d%H%M%S')
assert_exit 0 drover --config "$cfg" new add-widgets
after=$(date -u -d '+1 second' '+%Y%m%d%H%M%S')
created=$(ls "$T/new/migrations")
[[ "$created" =~ ^[0-9]{14}-add-widgets\.sql$ ]] || fail "new wrote '$created'"
stamp=${created%%-*}
[[ ! "$stamp" < "$before" && ! "$stamp" > "$after" ]] ||
  fail "new: stamp '$stamp' is not the UTC time of the run ($before .. $after)"
assert_eq "$T/new/migrations/$created" "$OUT" "new prints the path"
assert_eq $'-- migrate:up\n\n\n-- migrate:down' "$(cat "$T/new/migrations/$created")"
[ ! -e "$T/new/lite.db" ] || fail "new touched the tenant"

# mariadb-common.sh — sourced by the mariadb*.test.sh tests (after lib.sh): tenant databases
# on the fixture's MariaDB that are dropped when the test ends, migration files, inventories,
# and a drover runner that checks the password never shows in any output.
# shellcheck shell=bash

# The inventories say ${MYPW}; drover expands it from the environment.
export MYPW=$DROVER_TEST_MYSQL_PASSWORD
MY_PORT=$DROVER_TEST_MYSQL_PORT

# sequelize-cli 6's DDL on MySQL/MariaDB, byte for byte (reference §1.2).
# shellcheck disable=SC2016,SC2034 # backticks are SQL quotes; used by the sourcing tests
CLI_DDL='CREATE TABLE IF NOT EXISTS `SequelizeMeta` (`name` VARCHAR(255) NOT NULL UNIQUE , PRIMARY KEY (`name`)) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE utf8_unicode_ci;'

# What MariaDB 10.11 stores for it (SHOW CREATE TABLE, newlines as the batch client escapes them).
# shellcheck disable=SC2016,SC2034
CLI_SHOW_CREATE='CREATE TABLE `SequelizeMeta` (\n  `name` varchar(255) NOT NULL,\n  PRIMARY KEY (`name`),\n  UNIQUE KEY `name` (`name`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_unicode_ci'

# The databases to drop at exit, one a line: a file, so that $(new_my_db ...) can add to it.
_MY_DBS_FILE=$DROVER_TEST_TMPDIR/.mariadb-test-dbs

_my_drop_dbs_on_exit() {
  local rc=$? db
  set +e
  trap - ERR
  # A test that also sourced postgres_lib.sh (after it, this trap replaced its own).
  if declare -F _pg_drop_test_dbs >/dev/null; then _pg_drop_test_dbs; fi
  if [ -f "$_MY_DBS_FILE" ]; then
    while read -r db; do
      my_drop_db "$db" >/dev/null 2>&1 || echo "warning: cannot drop database '$db'" >&2
    done <"$_MY_DBS_FILE"
  fi
  (exit "$rc")
  _lib_on_exit
}
trap _my_drop_dbs_on_exit EXIT

# new_my_db PREFIX: creates a uniquely named database, dropped at exit, and prints its name.
new_my_db() {
  local name
  name=$(unique_name "$1")
  echo "$name" >>"$_MY_DBS_FILE"
  my_create_db "$name"
  echo "$name"
}

# my_url DB [SCHEME]: the tenant URL as written in an inventory (the password stays ${MYPW}).
my_url() { echo "${2:-mysql}://drover:\${MYPW}@127.0.0.1:$MY_PORT/$1"; }

# masked_url DB [SCHEME]: the same URL as drover shows it.
masked_url() { echo "${2:-mysql}://drover:***@127.0.0.1:$MY_PORT/$1"; }

# write_migration DIR NAME UP DOWN: a dbmate .sql migration.
write_migration() {
  mkdir -p "$1"
  printf -- '-- migrate:up\n%s\n\n-- migrate:down\n%s\n' "$3" "$4" >"$1/$2"
}

# write_config FILE MIGRATIONS_DIR EXTRA_MIGRATIONS_KEYS TENANT...: an inventory with one env
# "dev"; each TENANT is "ID URL".
write_config() {
  local file=$1 dir=$2 extra=$3 t
  shift 3
  {
    echo "migrations = { path = \"$dir\"; $extra };"
    # These tests check what a failure leaves with earlier migrations kept (batch rollback has
    # its own tests), and compare multi-tenant text reports line by line: one tenant at a time
    # keeps the lines in rollout order.
    echo 'defaults = { rollback = "none"; parallel = 1; };'
    echo 'environments = ( { name = "dev"; } );'
    echo 'tenants = ('
    local sep=""
    for t in "$@"; do
      echo "$sep  { id = \"${t%% *}\"; env = \"dev\"; url = \"${t#* }\"; }"
      sep=","
    done
    echo ');'
  } | write_inventory "$file"
}

# drover_run CODE ARG...: runs drover, checks its exit status, and that the password appears
# in neither stdout nor stderr. Leaves $OUT/$ERR/$OUT_FILE as assert_exit does.
drover_run() {
  local code=$1
  shift
  assert_exit "$code" "$DROVER_BIN" "$@"
  assert_not_contains "$OUT" "$MYPW" "the password is in stdout of: drover $*"
  assert_not_contains "$ERR" "$MYPW" "the password is in stderr of: drover $*"
}

# jq_out EXPR: EXPR evaluated on the last JSON stdout.
jq_out() { json_get "$OUT_FILE" "$1"; }

# meta_rows DB [TABLE]: the rows of SequelizeMeta (or TABLE), byte order, space-separated.
meta_rows() {
  my_sql "$1" "SELECT name FROM \`${2:-SequelizeMeta}\` ORDER BY BINARY name" | paste -sd ' ' -
}

# tables_of DB: the tables of DB, byte order, space-separated ("" when none).
tables_of() {
  my_sql "" "SELECT table_name FROM information_schema.tables WHERE table_schema = '$1'
             ORDER BY BINARY table_name" | paste -sd ' ' -
}

# show_create DB TABLE: SHOW CREATE TABLE's statement, newlines escaped as \n.
show_create() { my_sql "$1" "SHOW CREATE TABLE \`$2\`" | cut -f2; }

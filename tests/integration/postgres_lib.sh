# postgres_lib.sh — sourced by the postgres*.test.sh tests after lib.sh: the migration sets
# under tests/data/itest/postgres, inventories whose URLs take the password from ${PGPW}, and
# catalog queries (SequelizeMeta rows, relations, pg_dump of one table).
# shellcheck shell=bash
# shellcheck disable=SC2034 # the sets and constants are for the tests that source this

PG_DATA=$DROVER_SOURCE_DIR/tests/data/itest/postgres

# The exact DDL sequelize-cli 6 emits for its table on PostgreSQL (reference §1.2).
PG_CLI_META_DDL='CREATE TABLE IF NOT EXISTS "SequelizeMeta" ("name" VARCHAR(255) NOT NULL UNIQUE , PRIMARY KEY ("name"));'

BASIC_DIR=$PG_DATA/basic
BASIC=(
  20240101000001-create-users.sql
  20240101000002-create-posts.sql
  20240101000003-add-users-name.sql
  20240101000004-create-tags.sql
  20240101000005-create-active-users.sql
  20240101000006-create-comments.sql
)
# The tables and views all of BASIC leaves in a schema, sorted as pg_relations prints them.
BASIC_RELATIONS_ALL="SequelizeMeta active_users comments posts tags users"

# The inventories read the password from the environment, never from the file.
export PGPW=$DROVER_TEST_PG_PASSWORD

# The databases this test created, dropped when it ends (pass or fail).
PG_TEST_DBS=()

_pg_drop_test_dbs() {
  local rc=$? db
  for db in "${PG_TEST_DBS[@]}"; do
    pg_drop_db "$db" >/dev/null 2>&1 || echo "warning: cannot drop database '$db'" >&2
  done
  return "$rc"
}
# lib.sh's exit trap reports the result; run it after the cleanup, with the test's status.
trap '_pg_drop_test_dbs; _lib_on_exit' EXIT

# pg_new_db NAME: creates the database NAME (from unique_name) and drops it at exit.
pg_new_db() {
  PG_TEST_DBS+=("$1")
  pg_create_db "$1"
}

# pg_url DB [QUERY]: the tenant URL as written in an inventory (${PGPW} left for drover).
pg_url() {
  local url="postgres://$DROVER_TEST_PG_USER:\${PGPW}@$DROVER_TEST_PG_HOST:$DROVER_TEST_PG_PORT/$1"
  [ -z "${2:-}" ] || url+="?$2"
  echo "$url"
}

# pg_masked_url DB [QUERY]: the same URL as drover must print it.
pg_masked_url() {
  local url="postgres://$DROVER_TEST_PG_USER:***@$DROVER_TEST_PG_HOST:$DROVER_TEST_PG_PORT/$1"
  [ -z "${2:-}" ] || url+="?$2"
  echo "$url"
}

# pg_inventory CFG MIGRATIONS_BLOCK ID URL [ID URL...]: writes an inventory with one "dev"
# environment; MIGRATIONS_BLOCK is the inside of "migrations = { ... };".
pg_inventory() {
  local cfg=$1 block=$2
  shift 2
  {
    echo "migrations = { $block };"
    echo 'environments = ( { name = "dev"; } );'
    echo "tenants = ("
    local sep=""
    while [ $# -gt 0 ]; do
      printf '%s  { id = "%s"; env = "dev"; url = "%s"; }\n' "$sep" "$1" "$2"
      sep=","
      shift 2
    done
    echo ");"
    # These tests check one migration's atomicity with earlier ones kept; batch rollback has
    # its own tests. (Last, so the tenants' line numbers stay put.)
    echo 'defaults = { rollback = "none"; };'
  } | write_inventory "$cfg"
}

# drover CFG ARGS...: runs the CLI on an inventory.
drover() {
  local cfg=$1
  shift
  "$DROVER_BIN" --config "$cfg" "$@"
}

# pg_rows DB [TABLE_SQL]: SequelizeMeta's rows in byte order, one a line.
pg_rows() {
  pg_sql "$1" "SELECT name FROM ${2:-\"SequelizeMeta\"} ORDER BY name COLLATE \"C\""
}

# pg_relations DB [SCHEMA]: the tables and views of a schema (default public), sorted, on
# one line.
pg_relations() {
  pg_sql "$1" "SELECT coalesce(string_agg(c.relname, ' ' ORDER BY c.relname COLLATE \"C\"), '')
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = '${2:-public}' AND c.relkind IN ('r', 'v')"
}

# pg_meta_tables DB: every relation named like a SequelizeMeta table in any schema,
# "schema.name" sorted on one line (empty when there is none).
pg_meta_tables() {
  pg_sql "$1" "SELECT coalesce(string_agg(n.nspname || '.' || c.relname, ' '
                                          ORDER BY n.nspname, c.relname), '')
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relname IN ('SequelizeMeta', 'my_meta')"
}

# pg_schema_exists DB SCHEMA: prints t or f.
pg_schema_exists() {
  pg_sql "$1" "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = '$2')"
}

# pg_dump_table DB PATTERN: the schema-only dump of one table, without comments, SET lines,
# blank lines, the database's name and the random \restrict key of recent pg_dump releases,
# so that two databases' dumps compare equal.
pg_dump_table() {
  PGPASSWORD=$DROVER_TEST_PG_PASSWORD PGPASSFILE=/dev/null \
    "$DROVER_TEST_PG_BINDIR/pg_dump" --schema-only --no-owner -t "$2" \
    -h "$DROVER_TEST_PG_HOST" -p "$DROVER_TEST_PG_PORT" -U "$DROVER_TEST_PG_USER" "$1" |
    sed -e '/^--/d' -e '/^SET /d' -e '/set_config/d' -e '/^$/d' \
        -e '/^\\\(un\)\{0,1\}restrict /d' -e "s/$1/DBNAME/g"
}

# pg_up_sql FILE: the up section of a dbmate migration (what sequelize-cli's migration did).
pg_up_sql() {
  sed -n '/^-- migrate:up/,/^-- migrate:down/{/^-- migrate:/d;p}' "$1"
}

# lines ITEM...: the items one a line, as pg_rows and jq print lists.
lines() { printf '%s\n' "$@"; }

# json_list FILE JQ_EXPR: a JSON array of strings, one item a line.
json_list() { jq -r "$2 | .[]" "$1"; }

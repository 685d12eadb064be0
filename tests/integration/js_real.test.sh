#!/usr/bin/env bash
# js_real.test.sh — a team's real Sequelize project, run unchanged, against the real
# sequelize-cli: tests/data/itest/real has a .sequelizerc, a config, its own helpers and models,
# and migrations that print at load and while they run (console and a JSON logger on stdout),
# open managed and unmanaged transactions of their own (committing and rolling back, nested),
# build an index CONCURRENTLY on PostgreSQL and run raw queries. Its node_modules hold only
# what such a team installs (no cls-hooked). On PostgreSQL, MariaDB and SQLite, with Sequelize 6
# and 5, drover and sequelize-cli leave the same schema, SequelizeMeta and rows, migrating and
# undoing; histories mix; 300 generated migrations agree too. Also: drivers found as Sequelize
# finds them, and up/down functions that return no promise refused as sequelize-cli refuses them.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"
# shellcheck source=tests/integration/js_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/js_lib.sh"

T=$DROVER_TEST_TMPDIR
REAL_SRC=$DROVER_SOURCE_DIR/tests/data/itest/real
REAL=$(cd "$REAL_SRC/db/migrations" && ls -- *.js)
MY_DBS=()
trap 'rc=$?; for db in "${MY_DBS[@]}"; do my_drop_db "$db" >/dev/null 2>&1; done; _pg_drop_test_dbs; (exit $rc); _lib_on_exit' EXIT

npm_project npm-real6 sequelize-cli@6 sequelize@6 pg pg-hstore mysql2
link_sqlite3 "$NPM_ROOT/npm-real6/node_modules"
npm_project npm-real5 sequelize-cli@5 sequelize@5 pg@8 pg-hstore mysql2@2
link_sqlite3 "$NPM_ROOT/npm-real5/node_modules"
assert_eq "no" "$([ -e "$NPM_ROOT/npm-real6/node_modules/cls-hooked" ] && echo yes || echo no)" \
  "the team's node_modules have no cls-hooked"

# real_project DIR VERSION: a copy of the project with Sequelize VERSION's node_modules.
real_project() {
  mkdir -p "$1"
  cp -r "$REAL_SRC"/. "$1"/
  ln -sfn "$NPM_ROOT/npm-real$2/node_modules" "$1/node_modules"
}
# real_cli DIR URL ARGS...: sequelize-cli in the project, reading its .sequelizerc.
real_cli() {
  local dir=$1 url=$2
  shift 2
  (cd "$dir" && node node_modules/.bin/sequelize-cli "$@" --url "$url") 2>&1
}
my_new_db() {
  MY_DBS+=("$1")
  my_create_db "$1"
}
# inventory CFG URL: one tenant 't' on URL, the project's migrations folder.
inventory() {
  write_inventory "$1" <<EOF
migrations = { path = "db/migrations"; };
defaults = { js_timeout = "60s"; };
environments = ( { name = "dev"; } );
tenants = ( { id = "t"; env = "dev"; url = "$2"; } );
EOF
}

# The schema and the project's rows, per dialect, in a form that compares across databases.
schema_of() {
  case $1 in
    pg) pg_schema "$2" ;;
    my) local t
        for t in $(my_sql "$2" 'SHOW TABLES' | sort); do my_sql "$2" "SHOW CREATE TABLE \`$t\`"; done |
          sed "s/$2/DB/g" ;;
    lite) sqlite_sql "$2" .schema ;;
  esac
}
sql_of() {
  case $1 in
    pg) pg_sql "$2" "$3" ;;
    my) my_sql "$2" "$3" ;;
    lite) sqlite_sql "$2" "$3" ;;
  esac
}
meta_of() { sql_of "$1" "$2" 'SELECT name FROM "SequelizeMeta" ORDER BY name' 2>/dev/null ||
            sql_of "$1" "$2" 'SELECT name FROM SequelizeMeta ORDER BY name'; }
rows_of() {
  sql_of "$1" "$2" "SELECT email, name, role FROM users ORDER BY email"
  sql_of "$1" "$2" "SELECT kind, note FROM audit_events ORDER BY kind"
  sql_of "$1" "$2" "SELECT COUNT(*) FROM orgs"
}
# twin DIALECT NAME: a fresh database (or file) and the URL drover and the CLI reach it by.
twin() {
  case $1 in
    pg) pg_new_db "$2"; DB=$2; DRV_URL=$(pg_url "$2"); CLI_URL=$(pg_real_url "$2") ;;
    my) my_new_db "$2"; DB=$2
        DRV_URL="mysql://$DROVER_TEST_MYSQL_USER:\${MYPW}@$DROVER_TEST_MYSQL_HOST:$DROVER_TEST_MYSQL_PORT/$2"
        CLI_URL=$(my_real_url "$2") ;;
    lite) DB=$T/$2.sqlite; DRV_URL="sqlite://$DB"; CLI_URL="sqlite://$DB" ;;
  esac
}

# --- 1. The project, unchanged, on every dialect and both Sequelize versions.
compare_run() {
  local version=$1 dialect=$2 dir=$T/v$1-$2
  real_project "$dir" "$version"
  twin "$dialect" "rd$version$dialect$RANDOM"; local d=$DB durl=$DRV_URL
  twin "$dialect" "rc$version$dialect$RANDOM"; local c=$DB curl=$CLI_URL
  inventory "$dir/drover.cfg" "$durl"
  assert_exit 0 "$DROVER_BIN" --config "$dir/drover.cfg" migrate --format json
  assert_eq "succeeded|migrated|8" \
    "$(json_get "$OUT_FILE" '[.outcome, .tenants[0].outcome, (.tenants[0].applied | length)] | map(tostring) | join("|")')" \
    "v$version $dialect: drover applies the project's migrations"
  real_cli "$dir" "$curl" db:migrate >"$dir/cli.log" || fail "v$version $dialect: sequelize-cli: $(cat "$dir/cli.log")"
  assert_eq "$REAL" "$(meta_of "$dialect" "$d")" "v$version $dialect: SequelizeMeta"
  assert_eq "$(meta_of "$dialect" "$c")" "$(meta_of "$dialect" "$d")" "v$version $dialect: SequelizeMeta as sequelize-cli's"
  assert_eq "$(schema_of "$dialect" "$c")" "$(schema_of "$dialect" "$d")" "v$version $dialect: schema as sequelize-cli's"
  assert_eq "$(rows_of "$dialect" "$c")" "$(rows_of "$dialect" "$d")" "v$version $dialect: rows as sequelize-cli's"
  assert_contains "$(rows_of "$dialect" "$d")" "ada@example.com" "v$version $dialect: the model seeded users"
  # What the migrations printed is the team's output, each line naming tenant and migration.
  assert_contains "$ERR" "drover: tenant 't': migration '20240301000001-create-users.js': stdout: creating users"
  assert_contains "$ERR" "migration '20240301000001-create-users.js': stdout: loading the users migration"
  assert_contains "$ERR" "migration '20240301000005-seed-users.js': stdout: {\"level\":\"info\",\"message\":\"logger ready\",\"at\":\"migrations\"}"
  assert_contains "$ERR" "drover: tenant 't': migration '20240301000005-seed-users.js': stdout: {\"level\":\"info\",\"message\":\"seeded users\",\"count\":2,\"at\":\"migrations\"}"
  assert_contains "$ERR" "drover: tenant 't': migration '20240301000007-raw-sql.js': stderr: users before the audit: 2"

  assert_exit 0 "$DROVER_BIN" --config "$dir/drover.cfg" undo --all --format json
  assert_eq "reverted|8" "$(json_get "$OUT_FILE" '[.tenants[0].outcome, (.tenants[0].reverted | length)] | map(tostring) | join("|")')" \
    "v$version $dialect: drover undoes every migration"
  real_cli "$dir" "$curl" db:migrate:undo:all >"$dir/cli.log" || fail "v$version $dialect: cli undo: $(cat "$dir/cli.log")"
  assert_eq "" "$(meta_of "$dialect" "$d")" "v$version $dialect: undo empties SequelizeMeta"
  assert_eq "$(schema_of "$dialect" "$c")" "$(schema_of "$dialect" "$d")" "v$version $dialect: schema after undo as sequelize-cli's"
}
for version in 6 5; do
  for dialect in pg my lite; do compare_run "$version" "$dialect"; done
done

# --log-format json: each line is a JSON event naming tenant, migration and stream.
dir=$T/v6-lite
twin lite "rjson$RANDOM"
inventory "$dir/json.cfg" "$DRV_URL"
assert_exit 0 "$DROVER_BIN" --config "$dir/json.cfg" migrate --log-format json
assert_eq "t|stdout|creating users" \
  "$(jq -r 'select(.event == "output" and .migration == "20240301000001-create-users.js" and .line == "creating users") | [.tenant, .stream, .line] | join("|")' "$ERR_FILE")" \
  "log-format json: the migration's output as an event"
assert_eq "" "$(grep -v '^{' "$ERR_FILE" || true)" "log-format json: stderr holds JSON lines only"

# --- 2. Mixed history: sequelize-cli applies the first half, drover the rest, and back.
dir=$T/v6-pg
twin pg "rmix$RANDOM"
inventory "$dir/mixed.cfg" "$DRV_URL"
real_cli "$dir" "$CLI_URL" db:migrate --to 20240301000004-users-name-index.js >"$dir/cli.log" ||
  fail "cli half: $(cat "$dir/cli.log")"
assert_exit 0 "$DROVER_BIN" --config "$dir/mixed.cfg" migrate --format json
assert_eq "$(tail -n 4 <<<"$REAL")" "$(json_get "$OUT_FILE" '.tenants[0].applied[]')" "mixed: drover applies the rest"
assert_eq "$(sed 's/^/up /' <<<"$REAL")" "$(real_cli "$dir" "$CLI_URL" db:migrate:status | grep -E '^(up|down) ')" \
  "mixed: sequelize-cli sees every migration up"
assert_exit 0 "$DROVER_BIN" --config "$dir/mixed.cfg" undo --steps 3
assert_eq "3" "$(real_cli "$dir" "$CLI_URL" db:migrate:status | grep -c '^down ')" "mixed: the CLI sees drover's undos"
real_cli "$dir" "$CLI_URL" db:migrate >"$dir/cli.log" || fail "cli after drover: $(cat "$dir/cli.log")"
assert_eq "$REAL" "$(meta_of pg "$DB")" "mixed: sequelize-cli migrates on after drover"

# --- 3. 300 migrations in the team's style, on every dialect.
big=$T/big
real_project "$big" 6
rm -f "$big"/db/migrations/*.js
for ((i = 1; i <= 300; i++)); do
  n=$(printf '%03d' "$i")
  {
    echo "'use strict';"
    [ $((i % 7)) -eq 0 ] && echo "console.log('migration $n loaded');"
    echo "module.exports = {"
    if [ $((i % 5)) -eq 0 ]; then
      echo "  up: (queryInterface, Sequelize) => queryInterface.sequelize.transaction(async (transaction) => {"
      echo "    await queryInterface.createTable('t$n', { id: { type: Sequelize.INTEGER, primaryKey: true }, v: Sequelize.STRING(40) }, { transaction });"
      echo "    await queryInterface.addColumn('t$(printf '%03d' $((i - 1)))', 'extra$n', { type: Sequelize.INTEGER }, { transaction });"
      echo "  }),"
      echo "  down: async (queryInterface) => {"
      echo "    await queryInterface.removeColumn('t$(printf '%03d' $((i - 1)))', 'extra$n');"
      echo "    await queryInterface.dropTable('t$n');"
      echo "  },"
    else
      echo "  async up(queryInterface, Sequelize) {"
      echo "    await queryInterface.createTable('t$n', { id: { type: Sequelize.INTEGER, primaryKey: true }, v: Sequelize.STRING(40) });"
      [ $((i % 7)) -eq 0 ] && echo "    console.log('created t$n');"
      echo "  },"
      echo "  async down(queryInterface) { await queryInterface.dropTable('t$n'); },"
    fi
    echo "};"
  } >"$big/db/migrations/20240401$(printf '%06d' "$i")-table-$n.js"
done
BIG=$(cd "$big/db/migrations" && ls -- *.js)
for dialect in pg my lite; do
  twin "$dialect" "rbd$dialect$RANDOM"; d=$DB durl=$DRV_URL
  twin "$dialect" "rbc$dialect$RANDOM"; c=$DB curl=$CLI_URL
  inventory "$big/$dialect.cfg" "$durl"
  assert_exit 0 "$DROVER_BIN" --config "$big/$dialect.cfg" migrate --format json
  assert_eq "300" "$(json_get "$OUT_FILE" '.tenants[0].applied | length')" "300 $dialect: every migration applied"
  real_cli "$big" "$curl" db:migrate >"$big/cli.log" || fail "300 $dialect: sequelize-cli: $(tail -n 5 "$big/cli.log")"
  assert_eq "$BIG" "$(meta_of "$dialect" "$d")" "300 $dialect: SequelizeMeta"
  assert_eq "$(meta_of "$dialect" "$c")" "$(meta_of "$dialect" "$d")" "300 $dialect: SequelizeMeta as sequelize-cli's"
  assert_eq "$(schema_of "$dialect" "$c")" "$(schema_of "$dialect" "$d")" "300 $dialect: schema as sequelize-cli's"
  assert_exit 0 "$DROVER_BIN" --config "$big/$dialect.cfg" undo --steps 10
  real_cli "$big" "$curl" db:migrate:undo:all --to "$(sed -n 291p <<<"$BIG")" >"$big/cli.log" ||
    fail "300 $dialect: cli undo: $(tail -n 5 "$big/cli.log")"
  assert_eq "$(meta_of "$dialect" "$c")" "$(meta_of "$dialect" "$d")" "300 $dialect: ten undone, as by sequelize-cli"
  assert_eq "$(schema_of "$dialect" "$c")" "$(schema_of "$dialect" "$d")" "300 $dialect: schema after undo as sequelize-cli's"
done

# --- 4. Drivers are found as Sequelize finds them: from sequelize's own location. The project
# holds a link to a shared sequelize, whose folder has pg; the project's own node_modules has
# no pg at all (a workspace, a hoisted install).
lib=$T/linked
mkdir -p "$lib/node_modules" "$lib/db/migrations"
ln -sfn "$NPM_ROOT/npm-real6/node_modules/sequelize" "$lib/node_modules/sequelize"
cp "$REAL_SRC/db/migrations/20240301000001-create-users.js" "$lib/db/migrations/"
cp -r "$REAL_SRC/helpers" "$lib/"
twin pg "rlink$RANDOM"
inventory "$lib/drover.cfg" "$DRV_URL"
assert_exit 0 "$DROVER_BIN" --config "$lib/drover.cfg" migrate
assert_eq "20240301000001-create-users.js" "$(meta_of pg "$DB")" "linked sequelize: pg found beside it"

# --- 5. An up or down that returns no promise is refused, as sequelize-cli refuses it.
np=$T/nopromise
real_project "$np" 6
rm -f "$np"/db/migrations/*.js
cat >"$np/db/migrations/20240501000001-forgot-async.js" <<'EOF'
'use strict';
module.exports = {
  up: () => {},
  down: () => {},
};
EOF
twin pg "rnp$RANDOM"; d=$DB durl=$DRV_URL
twin pg "rnc$RANDOM"; c=$DB curl=$CLI_URL
inventory "$np/drover.cfg" "$durl"
assert_exit 1 "$DROVER_BIN" --config "$np/drover.cfg" migrate --format json
assert_eq "failed|tenant 't': migration '20240501000001-forgot-async.js': Migration 20240501000001-forgot-async.js (or wrapper) didn't return a promise" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .error.message] | join("|")')" "no promise: refused"
cli_out=$(real_cli "$np" "$curl" db:migrate || true)
assert_contains "$cli_out" "Migration 20240501000001-forgot-async.js (or wrapper) didn't return a promise" \
  "no promise: sequelize-cli says the same"
assert_eq "" "$(meta_of pg "$d")" "no promise: drover recorded nothing"
assert_eq "$(meta_of pg "$c")" "$(meta_of pg "$d")" "no promise: as sequelize-cli"

#!/usr/bin/env bash
# init.test.sh — `drover init` reads a sequelize-cli project as sequelize-cli does (.sequelizerc
# naming a config.js and a migrations folder elsewhere; per-environment settings,
# use_env_variable, SQLite storage) and writes a drover.cfg that then migrates the project's
# databases; no password (written in the config or read from the environment by it) reaches
# the file or the output; an existing file is kept (exit 2), and a broken project is exit 2
# with nothing written.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"
# shellcheck source=tests/integration/js_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/js_lib.sh"

T=$DROVER_TEST_TMPDIR
npm_project npm-real6 sequelize-cli@6 sequelize@6 pg pg-hstore mysql2
link_sqlite3 "$NPM_ROOT/npm-real6/node_modules"

P=$T/shop
mkdir -p "$P/database" "$P/db/migrate" "$P/var"
ln -sfn "$NPM_ROOT/npm-real6/node_modules" "$P/node_modules"
cp "$DROVER_SOURCE_DIR/tests/data/itest/real/db/migrations/20240301000001-create-users.js" "$P/db/migrate/"
cp -r "$DROVER_SOURCE_DIR/tests/data/itest/real/helpers" "$P/"
cat >"$P/.sequelizerc" <<'EOF'
const path = require('path');
module.exports = {
  config: path.resolve('database', 'config.js'),
  'migrations-path': path.resolve('db', 'migrate'),
};
EOF
dev_db=$(unique_name initdev)
pg_new_db "$dev_db"
cat >"$P/database/config.js" <<EOF
module.exports = {
  development: {
    username: '$DROVER_TEST_PG_USER',
    password: process.env.SHOP_DEV_PASSWORD || 'fallback-secret-in-config',
    database: '$dev_db',
    host: '$DROVER_TEST_PG_HOST',
    port: $DROVER_TEST_PG_PORT,
    dialect: 'postgres',
    migrationStorageTableName: 'sequelize_meta',
  },
  test: { dialect: 'sqlite', storage: './var/test.sqlite3' },
  production: { use_env_variable: 'SHOP_DATABASE_URL', dialect: 'postgres' },
  legacy: { dialect: 'mssql', host: 'legacy.example' },
};
EOF

export SHOP_DEV_PASSWORD=env-secret-$RANDOM
assert_exit 0 "$DROVER_BIN" init --dir "$P"
assert_eq "wrote $P/drover.cfg
  environment 'development': set DEVELOPMENT_DB_PASSWORD to its database password (percent-encoded if it holds '@', ':' or '/')
  environment 'production': set SHOP_DATABASE_URL to its database URL, as for sequelize-cli
  environment 'legacy' left out: dialect 'mssql' is not one drover runs (postgres, mysql, mariadb, sqlite)
next: drover --config $P/drover.cfg check" "$OUT" "init: what it wrote and what to set"
assert_eq "migrations = { path = \"db/migrate\"; table = \"sequelize_meta\"; };
environments = (
  { name = \"development\"; },
  { name = \"test\"; },
  { name = \"production\"; }
);
tenants = (
  { id = \"development\"; env = \"development\"; url = \"postgres://$DROVER_TEST_PG_USER:\${DEVELOPMENT_DB_PASSWORD}@$DROVER_TEST_PG_HOST:$DROVER_TEST_PG_PORT/$dev_db\"; },
  { id = \"test\"; env = \"test\"; url = \"sqlite:var/test.sqlite3\"; },
  { id = \"production\"; env = \"production\"; url = \"\${SHOP_DATABASE_URL}\"; }
);" "$(grep -v '^#' "$P/drover.cfg")" "init: the inventory"
assert_not_contains "$(cat "$P/drover.cfg")$OUT$ERR" "$SHOP_DEV_PASSWORD" "init: the environment's password is not copied"
assert_not_contains "$(cat "$P/drover.cfg")$OUT$ERR" "fallback-secret-in-config" "init: the config's password is not copied"

# The inventory migrates the project's databases once the variables are set.
prod_db=$(unique_name initprod)
pg_new_db "$prod_db"
export DEVELOPMENT_DB_PASSWORD=$PGPW
export SHOP_DATABASE_URL="postgres://$DROVER_TEST_PG_USER:$PGPW@$DROVER_TEST_PG_HOST:$DROVER_TEST_PG_PORT/$prod_db"
assert_exit 0 "$DROVER_BIN" --config "$P/drover.cfg" migrate --format json
assert_eq "development=migrated test=migrated production=migrated" \
  "$(json_get "$OUT_FILE" '[.tenants[] | "\(.id)=\(.outcome)"] | join(" ")')" "init: every environment migrates"
assert_eq "20240301000001-create-users.js" "$(pg_rows "$dev_db" sequelize_meta)" "init: the project's meta table"
assert_eq "20240301000001-create-users.js" "$(sqlite_sql "$P/var/test.sqlite3" 'SELECT name FROM sequelize_meta')" \
  "init: SQLite storage relative to the project"
assert_not_contains "$OUT$ERR" "$PGPW" "init: no password in drover's output"

# An existing file is kept; a broken project writes nothing.
before=$(cat "$P/drover.cfg")
assert_exit 2 "$DROVER_BIN" init --dir "$P"
assert_contains "$ERR" "drover: '$P/drover.cfg' exists already"
assert_eq "$before" "$(cat "$P/drover.cfg")" "init: an existing file is kept"
echo 'module.exports = { development: ' >"$P/database/config.js"
assert_exit 2 "$DROVER_BIN" init --dir "$P" --out "$T/other.cfg"
assert_contains "$ERR" "drover: '$P/database/config.js' cannot be loaded: Unexpected end of input"
assert_eq "no" "$([ -e "$T/other.cfg" ] && echo yes || echo no)" "init: a broken project writes nothing"
assert_exit 2 "$DROVER_BIN" init --dir "$T/no-such-project"
assert_contains "$ERR" "drover: cannot open the project folder '$T/no-such-project': No such file or directory"

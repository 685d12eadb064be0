# js_lib.sh — sourced by the js_*.test.sh tests after lib.sh and postgres_lib.sh: the npm
# project (sequelize-cli 6, sequelize 6, drivers, cls-hooked) installed once per build dir and
# shared by every test, teams' projects made of it, and the real sequelize-cli.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the constants are for the tests that source this

JS_SRC=$DROVER_SOURCE_DIR/tests/data/itest/js
export MYPW=$DROVER_TEST_MYSQL_PASSWORD

# npm packages live in $DROVER_TEST_NPM_DIR (scripts/test.sh shares one between its builds, so
# that sqlite3 is compiled once), else beside the tests' tmp dirs (build/npm-js); installed
# under a lock so that tests running at once install them once.
NPM_CACHE=${DROVER_TEST_NPM_DIR:-$(dirname "$(dirname "$DROVER_TEST_TMPDIR")")}/npm-js
install_npm() {
  mkdir -p "$NPM_CACHE"
  (
    flock 9
    if [ ! -f "$NPM_CACHE/.done" ]; then
      cd "$NPM_CACHE" && echo '{"name":"drover-itest-js","version":"1.0.0","private":true}' >package.json
      npm install --no-audit --no-fund --loglevel=error \
        sequelize-cli@6 sequelize@6 pg mysql2 cls-hooked >npm.log 2>&1
      touch .done
    fi
  ) 9>"$NPM_CACHE/.lock"
}
install_npm

# npm_project NAME PACKAGE...: an npm project of its own in the npm root, installed once (under
# a lock: tests running at once install it once); its node_modules is "$NPM_ROOT/NAME/node_modules".
NPM_ROOT=$(dirname "$NPM_CACHE")
npm_project() {
  local dir=$NPM_ROOT/$1
  shift
  mkdir -p "$dir"
  (
    flock 9
    if [ ! -f "$dir/.done" ]; then
      cd "$dir" && echo '{"name":"drover-itest","version":"1.0.0","private":true}' >package.json
      npm install --no-audit --no-fund --loglevel=error "$@" >npm.log 2>&1 ||
        fail "npm install $* failed (see $dir/npm.log): $(tail -n 5 npm.log)"
      touch .done
    fi
  ) 9>"$dir/.lock"
}

# install_sqlite3: the npm sqlite3 driver, compiled once (minutes when npm finds no prebuilt
# binding) in "$NPM_ROOT/npm-js-sqlite3" and linked into other projects by link_sqlite3.
install_sqlite3() { npm_project npm-js-sqlite3 sequelize-cli@6 sequelize@6 sqlite3; }
link_sqlite3() {
  install_sqlite3
  ln -sfn "$NPM_ROOT/npm-js-sqlite3/node_modules/sqlite3" "$1/sqlite3"
}

# project DIR [FILES...]: a team's project: node_modules and a migrations folder with FILES
# (default: every migration of the set).
project() {
  local dir=$1
  shift
  mkdir -p "$dir/migrations"
  ln -sfn "$NPM_CACHE/node_modules" "$dir/node_modules"
  if [ $# -eq 0 ]; then cp "$JS_SRC"/*.js "$dir/migrations/"; else
    local f
    for f in "$@"; do cp "$JS_SRC/$f" "$dir/migrations/"; done
  fi
}
ALL=$(cd "$JS_SRC" && ls -- *.js)
FIRST_HALF=$(head -n 4 <<<"$ALL")

# cli DIR URL ARGS...: the real sequelize-cli, from the project like a team runs it.
cli() {
  local dir=$1 url=$2
  shift 2
  (cd "$dir" && node node_modules/.bin/sequelize-cli "$@" --url "$url" \
    --migrations-path migrations) 2>&1
}
pg_real_url() { echo "postgres://$DROVER_TEST_PG_USER:$PGPW@$DROVER_TEST_PG_HOST:$DROVER_TEST_PG_PORT/$1"; }
my_real_url() { echo "mysql://$DROVER_TEST_MYSQL_USER:$MYPW@$DROVER_TEST_MYSQL_HOST:$DROVER_TEST_MYSQL_PORT/$1"; }

# pg_schema DB: the database's schema as pg_dump prints it, without comments and blank lines.
pg_schema() {
  PGPASSWORD=$PGPW "$DROVER_TEST_PG_BINDIR/pg_dump" --schema-only --no-owner \
    -h "$DROVER_TEST_PG_HOST" -p "$DROVER_TEST_PG_PORT" -U "$DROVER_TEST_PG_USER" "$1" |
    grep -v -e '^--' -e '^$' -e '^\\'
}

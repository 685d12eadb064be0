#!/usr/bin/env bash
# bad_input.test.sh — every bad command line, inventory or migration file ends the run with
# exit 2, one precise message on stderr, nothing on stdout and nothing touched: the SQLite
# tenant's file is not created and the PostgreSQL tenant gets no SequelizeMeta. Also --help,
# --version and how the config file is found ($DROVER_CONFIG, --config).
# ${VAR} in single quotes is for drover to expand, not the shell.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
LITE_DB=$T/lite.db
PG_DB=$(unique_name bad_input)
pg_create_db "$PG_DB"
# lib.sh owns the EXIT trap; drop the database first, keeping the test's exit status.
trap 'rc=$?; pg_drop_db "$PG_DB" >/dev/null 2>&1 || true; (exit $rc); _lib_on_exit' EXIT

USAGE_TAIL="Try 'drover --help'."
drover() { "$DROVER_BIN" "$@"; }

mkdir -p "$T/migrations"
printf -- '-- migrate:up\nCREATE TABLE t1 (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE t1;\n' \
  >"$T/migrations/20240101000001-t1.sql"

# inventory FILE [EXTRA_TENANTS] [TOP_LINE] [MIGRATIONS_PATH]: the two real tenants (lite in
# dev, pg in prod, tagged "eu"), optionally more tenant entries and a first line.
inventory() {
  write_inventory "$1" <<EOF
${3:-}
migrations = { path = "${4:-$T/migrations}"; };
environments = ( { name = "dev"; }, { name = "prod"; } );
tenants = (
  { id = "lite"; env = "dev"; url = "sqlite:$LITE_DB"; },
  { id = "pg"; env = "prod"; tags = ["eu"];
    url = "postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT/$PG_DB"; }${2:-}
);
EOF
}

untouched() {
  [ ! -e "$LITE_DB" ] || fail "the SQLite tenant's file '$LITE_DB' was created"
  assert_eq "0" \
    "$(pg_sql "$PG_DB" "SELECT count(*) FROM pg_class WHERE relname ILIKE '%sequelizemeta%'")" \
    "the PostgreSQL tenant got no SequelizeMeta"
}

# expect_bad EXPECTED_STDERR DROVER_ARG...: exit 2, exactly that on stderr, nothing on stdout,
# no tenant touched.
expect_bad() {
  local expected=$1
  shift
  assert_exit 2 drover "$@"
  assert_eq "$expected" "$ERR" "stderr of: drover $*"
  assert_eq "" "$OUT" "stdout of: drover $*"
  untouched
}

GOOD=$T/good.cfg
inventory "$GOOD"
C=$T/cfg
mkdir -p "$C"

# --- inventories
printf 'migrations = { path = "%s"; };\nenvironments = ( { name = "dev"; } );\ntenants = ( { id = "a"; env = "dev"; url = "sqlite:%s"; } ;\n' \
  "$T/migrations" "$LITE_DB" >"$C/syntax.cfg"
expect_bad "drover: $C/syntax.cfg:3: syntax error" --config "$C/syntax.cfg" migrate

inventory "$C/top.cfg" "" 'colour = "blue";'
expect_bad "drover: $C/top.cfg:1: unknown key 'colour' (allowed: migrations, environments, tenants, defaults, journal, notify, agents, tenants_from, control)" \
  --config "$C/top.cfg" migrate

# The control database: a PostgreSQL URL, known keys, a lease of at least 3 s.
inventory "$C/ctl1.cfg" "" 'control = { url = "mysql://u:secret-pw@127.0.0.1/x"; };'
expect_bad "drover: $C/ctl1.cfg:1: 'control.url' must be a PostgreSQL URL (postgres://...), not mysql://u:***@127.0.0.1/x" \
  --config "$C/ctl1.cfg" migrate
inventory "$C/ctl2.cfg" "" 'control = { url = "postgres://127.0.0.1/x"; lease = 1; };'
expect_bad "drover: $C/ctl2.cfg:1: 'control.lease' must be at least 3 s" --config "$C/ctl2.cfg" migrate
inventory "$C/ctl3.cfg" "" 'control = { url = "postgres://127.0.0.1/x"; leases = 10; };'
expect_bad "drover: $C/ctl3.cfg:1: unknown key 'leases' in 'control' (allowed: url, lease)" \
  --config "$C/ctl3.cfg" migrate
# --run without a control database: exit 2 before anything.
inventory "$C/norun.cfg"
expect_bad "drover: --run needs a control database
  hint: name one in drover.cfg: control = { url = \"postgres://...\"; }; every process of the run uses it (docs/deploy.md)
Try 'drover --help'." \
  --config "$C/norun.cfg" migrate --run r1

inventory "$C/tkey.cfg" ',
  { id = "x"; env = "dev"; url = "sqlite:x.db"; colour = "blue"; }'
expect_bad "drover: $C/tkey.cfg:8: unknown key 'colour' in a 'tenants' entry (allowed: id, env, url, agent, tags)" \
  --config "$C/tkey.cfg" migrate

inventory "$C/dup.cfg" ',
  { id = "lite"; env = "prod"; url = "sqlite:other.db"; }'
expect_bad "drover: $C/dup.cfg:8: duplicate tenant id 'lite' (first declared at $C/dup.cfg:5)" \
  --config "$C/dup.cfg" migrate

inventory "$C/env.cfg" ',
  { id = "x"; env = "qa"; url = "sqlite:x.db"; }'
expect_bad "drover: $C/env.cfg:8: tenant 'x': environment 'qa' is not declared in 'environments'" \
  --config "$C/env.cfg" migrate

inventory "$C/scheme.cfg" ',
  { id = "x"; env = "dev"; url = "oracle://scott:tiger-pw@db1/orcl"; }'
expect_bad "drover: $C/scheme.cfg:8: tenant 'x': invalid url 'oracle://scott:***@db1/orcl': unsupported scheme 'oracle' (accepted: postgres://, postgresql://, mysql://, mariadb://, sqlite:PATH, sqlite:///ABSOLUTE/PATH)" \
  --config "$C/scheme.cfg" migrate

inventory "$C/port.cfg" ',
  { id = "x"; env = "dev"; url = "postgres://app:port-pw@db1:99999/app"; }'
expect_bad "drover: $C/port.cfg:8: tenant 'x': invalid url 'postgres://app:***@db1:99999/app': port must be a number from 1 to 65535" \
  --config "$C/port.cfg" migrate

inventory "$C/unset.cfg" ',
  { id = "x"; env = "dev"; url = "postgres://app:${DROVER_ITEST_SURELY_UNSET}@db1/app"; }'
expect_bad "drover: $C/unset.cfg:8: tenant 'x': environment variable 'DROVER_ITEST_SURELY_UNSET' is not set" \
  --config "$C/unset.cfg" migrate

expect_bad "drover: $C/absent.cfg: cannot read the inventory: No such file or directory" \
  --config "$C/absent.cfg" migrate

inventory "$C/include.cfg" ',
  @include "absent.inc"'
expect_bad "drover: $C/include.cfg:8: cannot open include file
  hint: @include paths are relative to the directory of '$C/include.cfg'" \
  --config "$C/include.cfg" migrate

# --- migration files (the message names the file, and the line where there is one)
bad_migrations() {
  rm -rf "$T/bad-$1"
  mkdir -p "$T/bad-$1"
  cp "$T/migrations/20240101000001-t1.sql" "$T/bad-$1/"
  cat >"$T/bad-$1/20240101000002-bad.sql"
  inventory "$C/mig-$1.cfg" "" "" "$T/bad-$1"
}
bad_migrations no-up <<'EOF'
-- there is no up marker
CREATE TABLE t2 (id INTEGER);
EOF
expect_bad "drover: $T/bad-no-up/20240101000002-bad.sql: missing '-- migrate:up' section" \
  --config "$C/mig-no-up.cfg" migrate
bad_migrations option <<'EOF'
-- migrate:up
CREATE TABLE t2 (id INTEGER);
-- migrate:down transaction:maybe
DROP TABLE t2;
EOF
expect_bad "drover: $T/bad-option/20240101000002-bad.sql:3: unknown option 'transaction:maybe' on '-- migrate:down'" \
  --config "$C/mig-option.cfg" migrate
bad_migrations before-up <<'EOF'
-- a comment is fine

CREATE TABLE t2 (id INTEGER);
-- migrate:up
SELECT 1;
EOF
expect_bad "drover: $T/bad-before-up/20240101000002-bad.sql:3: statement before '-- migrate:up'" \
  --config "$C/mig-before-up.cfg" migrate
# status reads the same files: a broken one stops it too, before any connection.
expect_bad "drover: $T/bad-before-up/20240101000002-bad.sql:3: statement before '-- migrate:up'" \
  --config "$C/mig-before-up.cfg" status

inventory "$C/nodir.cfg" "" "" "$T/no-such-dir"
expect_bad "drover: cannot read migrations directory '$T/no-such-dir': No such file or directory
  hint: set migrations.path in the configuration to the directory holding the migration files, or create it" \
  --config "$C/nodir.cfg" migrate

# --- the command line
expect_bad "drover: unknown command 'migrat'
$USAGE_TAIL" --config "$GOOD" migrat
expect_bad "drover: unknown option '--dryrun'
$USAGE_TAIL" --config "$GOOD" migrate --dryrun
expect_bad "drover: missing argument for option '--env'
$USAGE_TAIL" --config "$GOOD" migrate --env
expect_bad "drover: option '--steps' does not apply to 'status'
$USAGE_TAIL" --config "$GOOD" status --steps 1
expect_bad "drover: option '--dry-run' does not apply to 'status'
$USAGE_TAIL" --config "$GOOD" status --dry-run
expect_bad "drover: option '--schema' does not apply to 'migrate'
$USAGE_TAIL" --config "$GOOD" migrate --schema
expect_bad "drover: undo needs exactly one of --steps N, --to NAME or --all
$USAGE_TAIL" --config "$GOOD" undo
expect_bad "drover: undo needs exactly one of --steps N, --to NAME or --all
$USAGE_TAIL" --config "$GOOD" undo --steps 1 --all
expect_bad "drover: --steps needs a positive number, not '0'
$USAGE_TAIL" --config "$GOOD" undo --steps 0
expect_bad "drover: --steps needs a positive number, not '2x'
$USAGE_TAIL" --config "$GOOD" undo --steps 2x
expect_bad "drover: unknown format 'xml' (expected text, table, json, csv, junit, prom, markdown, html or sarif)
$USAGE_TAIL" --config "$GOOD" migrate --format xml
expect_bad "drover: format 'csv' is for status
$USAGE_TAIL" --config "$GOOD" migrate --format csv
expect_bad "drover: format 'junit' is for status
$USAGE_TAIL" --config "$GOOD" plan --format junit
expect_bad "drover: unknown log format 'csv' (expected text or json)
$USAGE_TAIL" --config "$GOOD" migrate --log-format csv
expect_bad "drover: option '--exit-code' does not apply to 'plan'
$USAGE_TAIL" --config "$GOOD" plan --exit-code
expect_bad "drover: --to '20240101000001-t9' names no migration in '$T/migrations'
  hint: give a file name as listed by 'drover plan', with or without its extension
$USAGE_TAIL" --config "$GOOD" migrate --to 20240101000001-t9
expect_bad "drover: --to '20240101000001-t9' names no migration in '$T/migrations'
  hint: give a file name as listed by 'drover plan', with or without its extension
$USAGE_TAIL" --config "$GOOD" undo --to 20240101000001-t9
expect_bad "drover: unknown environment 'qa'
$USAGE_TAIL" --config "$GOOD" migrate --env dev --env qa
expect_bad "drover: unknown tenant 'nobody'
$USAGE_TAIL" --config "$GOOD" migrate --tenant lite --tenant nobody
expect_bad "drover: no tenant matches the selection
$USAGE_TAIL" --config "$GOOD" migrate --env dev --tag eu
expect_bad "drover: no tenant matches the selection
$USAGE_TAIL" --config "$GOOD" migrate --tag no-such-tag
expect_bad "drover: new needs a NAME, e.g. 'drover new add-users-email'
$USAGE_TAIL" --config "$GOOD" new
expect_bad "drover: no command given
$USAGE_TAIL" --config "$GOOD"
assert_eq "20240101000001-t1.sql" "$(ls "$T/migrations")" "no migration file was written"

# --- --help and --version
assert_exit 0 drover --help
assert_eq "" "$ERR"
for line in "usage: drover [--config FILE] COMMAND [options]" "  --config FILE " "  --version " \
  "  --help " "  --env NAME " "  --tenant ID " "  --tag TAG " "exit codes: 0 "; do
  assert_contains "$OUT" "$line"
done
for c in plan migrate undo status check new locks runs resolve init lint; do
  assert_contains "$OUT" "  $c " "drover --help lists '$c'"
done

# help_options COMMAND: the option names its --help lists, in order.
help_options() { drover "$1" --help | sed -n 's/^  \(--[a-z-]*\).*/\1/p' | tr '\n' ' '; }
SEL="--config --env --tenant --tag --shard --parallel --format --out"
assert_eq "$SEL --to --sql --help " "$(help_options plan)"
assert_eq "$SEL --to --dry-run --sql --log-format --ignore-window --run --continue-on-error --help " "$(help_options migrate)"
assert_eq "$SEL --to --steps --all --dry-run --log-format --ignore-window --run --continue-on-error --help " \
  "$(help_options undo)"
assert_eq "$SEL --all --schema --exit-code --help " "$(help_options status)"
assert_eq "$SEL --help " "$(help_options check)"
assert_eq "--config --env --tenant --tag --shard --format --out --help " "$(help_options locks)"
assert_eq "--config --format --out --limit --help " "$(help_options runs)"
assert_eq "--config --tenant --help " "$(help_options resolve)"
assert_eq "--config --js --help " "$(help_options new)"
for c in plan migrate undo status check new; do
  assert_exit 0 drover --config "$C/absent.cfg" "$c" --help
  assert_contains "$(head -n 1 <<<"$OUT")" "usage: drover [--config FILE] $c"
done
assert_exit 0 drover undo --help
assert_contains "$OUT" "  --steps N          undo: revert the N newest migrations"

version=$(sed -n 's/^project(drover VERSION \([0-9.]*\) .*/\1/p' "$DROVER_SOURCE_DIR/CMakeLists.txt")
assert_exit 0 drover --version
assert_eq "drover $version" "$OUT"
expect_bad "drover: option '--version' does not apply to 'status'
$USAGE_TAIL" --config "$GOOD" status --version
untouched

# --- finding the config: --config, else $DROVER_CONFIG, else ./drover.cfg
assert_exit 0 env DROVER_CONFIG="$GOOD" "$DROVER_BIN" check --tenant lite
assert_eq "lite (dev, sqlite): ok (0 applied, 1 pending)" "$(head -n 1 <<<"$OUT")" "\$DROVER_CONFIG"
assert_exit 0 env DROVER_CONFIG="$C/absent.cfg" "$DROVER_BIN" --config "$GOOD" check --tenant lite
assert_eq "lite (dev, sqlite): ok (0 applied, 1 pending)" "$(head -n 1 <<<"$OUT")" "--config wins"
assert_exit 2 env DROVER_CONFIG="$GOOD" "$DROVER_BIN" --config "$C/absent.cfg" check
assert_eq "drover: $C/absent.cfg: cannot read the inventory: No such file or directory" "$ERR"
assert_exit 2 env -u DROVER_CONFIG "$DROVER_BIN" check
assert_eq "drover: drover.cfg: cannot read the inventory: No such file or directory" "$ERR" \
  "the default is ./drover.cfg"
untouched

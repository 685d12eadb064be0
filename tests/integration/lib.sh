# lib.sh — sourced by tests/integration/*.test.sh: counted assertions that stop the test at
# the first failure, and helpers for SQL against the test servers (servers.env, loaded by
# run-test.sh), SQLite files, JSON output and inventories.
# shellcheck shell=bash
set -euo pipefail
set -o errtrace

_LIB_TEST=$(basename "${BASH_SOURCE[1]:-$0}")
_LIB_PASSED=0
_LIB_FAILED=0

# Outside ctest (a test run by hand) there is no per-test dir: make one and clean it up.
if [ -z "${DROVER_TEST_TMPDIR:-}" ]; then
  DROVER_TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/drover-itest.XXXXXX")
  _LIB_OWN_TMPDIR=1
else
  _LIB_OWN_TMPDIR=0
fi
export DROVER_TEST_TMPDIR

_lib_on_exit() {
  local rc=$?
  # A failed assertion fails the test whatever cleanup ran since (a trap that drops databases
  # first leaves $? at the cleanup's status).
  if [ "$_LIB_FAILED" -ne 0 ] && [ "$rc" -eq 0 ]; then
    rc=1
  fi
  if [ "$rc" -eq 0 ] && [ "$_LIB_FAILED" -eq 0 ]; then
    echo "$_LIB_TEST: $_LIB_PASSED passed, 0 failed"
  else
    echo "$_LIB_TEST: $_LIB_PASSED passed, 1 failed" >&2
  fi
  if [ "$_LIB_OWN_TMPDIR" = 1 ]; then
    rm -rf "$DROVER_TEST_TMPDIR"
  fi
  exit "$rc"
}
trap _lib_on_exit EXIT

# A command that fails outside an assertion stops the test too (set -e): say where.
_lib_on_err() {
  local rc=$?
  [ "$_LIB_FAILED" -eq 0 ] || return 0
  _LIB_FAILED=1
  echo "FAIL $(_lib_where): command failed (exit $rc): $BASH_COMMAND" >&2
}
trap _lib_on_err ERR

# _lib_where: file:line of the test code that called into this library.
_lib_where() {
  local i
  for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
    if [ "${BASH_SOURCE[$i]}" != "${BASH_SOURCE[0]}" ]; then
      echo "$(basename "${BASH_SOURCE[$i]}"):${BASH_LINENO[$((i - 1))]}"
      return
    fi
  done
  echo "$_LIB_TEST"
}

_lib_pass() { _LIB_PASSED=$((_LIB_PASSED + 1)); }

# fail MSG: stops the test with MSG.
fail() {
  _LIB_FAILED=1
  echo "FAIL $(_lib_where): $*" >&2
  exit 1
}

# assert_eq EXPECTED ACTUAL [MSG]
assert_eq() {
  if [ "$1" == "$2" ]; then
    _lib_pass
    return
  fi
  fail "${3:-values differ}"$'\n'"  expected: '$1'"$'\n'"  actual:   '$2'"
}

# assert_contains HAYSTACK NEEDLE [MSG]
assert_contains() {
  if [[ "$1" == *"$2"* ]]; then
    _lib_pass
    return
  fi
  fail "${3:-text does not contain '$2'}"$'\n'"--- text ---"$'\n'"$1"
}

# assert_not_contains HAYSTACK NEEDLE [MSG]
assert_not_contains() {
  if [[ "$1" != *"$2"* ]]; then
    _lib_pass
    return
  fi
  fail "${3:-text contains '$2'}"$'\n'"--- text ---"$'\n'"$1"
}

# assert_exit CODE CMD [ARG...]: runs CMD, keeping its stdout in $OUT (file $OUT_FILE) and
# its stderr in $ERR (file $ERR_FILE), and checks its exit status.
assert_exit() {
  local expected=$1 rc=0
  shift
  OUT_FILE=$DROVER_TEST_TMPDIR/last.stdout
  ERR_FILE=$DROVER_TEST_TMPDIR/last.stderr
  "$@" >"$OUT_FILE" 2>"$ERR_FILE" || rc=$?
  OUT=$(cat "$OUT_FILE")
  ERR=$(cat "$ERR_FILE")
  if [ "$rc" -eq "$expected" ]; then
    _lib_pass
    return
  fi
  fail "exit status $rc, expected $expected: $*"$'\n'"--- stdout ---"$'\n'"$OUT"$'\n'"--- stderr ---"$'\n'"$ERR"
}

_lib_need_servers() {
  if [ -z "${DROVER_TEST_PG_PORT:-}" ] || [ -z "${DROVER_TEST_MYSQL_PORT:-}" ]; then
    fail "no test servers: servers.env is not loaded (hint: run the test through ctest)"
  fi
}

# pg_sql DB SQL: runs SQL (one or more statements) as drover over TCP; prints the rows,
# columns separated by '|'.
pg_sql() { pg_stream "$1" <<<"$2"; }

# pg_stream DB: run the SQL read from stdin as it arrives, in one session (a test holding a
# transaction open pipes its statements in over time).
pg_stream() {
  _lib_need_servers
  PGPASSWORD=$DROVER_TEST_PG_PASSWORD PGPASSFILE=/dev/null PGCONNECT_TIMEOUT=10 \
    "$DROVER_TEST_PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 \
    -h "$DROVER_TEST_PG_HOST" -p "$DROVER_TEST_PG_PORT" -U "$DROVER_TEST_PG_USER" -d "$1"
}

pg_create_db() { pg_sql postgres "CREATE DATABASE \"$1\""; }
pg_drop_db() { pg_sql postgres "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)"; }

# free_port: a 127.0.0.1 TCP port nothing listens on now (for a server a test starts itself;
# the caller retries when another process takes it first).
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 12768)) # below the ephemeral range (see scripts/test-servers.sh)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  fail "no free port found"
}

# my_sql DB SQL: runs SQL as drover over TCP (DB may be ""); prints rows, tab-separated.
my_sql() {
  _lib_need_servers
  local db=()
  [ -z "$1" ] || db=(--database="$1")
  MYSQL_PWD=$DROVER_TEST_MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP \
    --default-character-set=utf8mb4 --connect-timeout=10 \
    -h "$DROVER_TEST_MYSQL_HOST" -P "$DROVER_TEST_MYSQL_PORT" -u "$DROVER_TEST_MYSQL_USER" \
    -N -B "${db[@]}" -e "$2"
}

my_create_db() { my_sql "" "CREATE DATABASE \`$1\`"; }
my_drop_db() { my_sql "" "DROP DATABASE IF EXISTS \`$1\`"; }

# sqlite_sql FILE SQL: prints rows, columns separated by '|'; stops at the first error.
sqlite_sql() { sqlite3 -bail -batch "$1" <<<"$2"; }

# json_get FILE JQ_EXPR: prints the value raw (strings unquoted, null as "null").
json_get() { jq -r "$2" "$1"; }

# write_inventory FILE: writes a drover.cfg from stdin, creating its directory.
write_inventory() {
  mkdir -p "$(dirname "$1")"
  cat >"$1"
}

# unique_name PREFIX: PREFIX_<pid>_<n>, a database name no other test running now uses.
# The counter lives in a file so that $(unique_name x) subshells still advance it.
unique_name() {
  local counter_file=$DROVER_TEST_TMPDIR/.unique-name-counter n=0
  [ -f "$counter_file" ] && n=$(<"$counter_file")
  n=$((n + 1))
  echo "$n" >"$counter_file"
  echo "${1}_$$_$n"
}

# start_agent_in DIR [CONFIG_LINES]: runs $DROVER_AGENT_BIN on DIR/drover.cfg with the token file
# DIR/tokens (written when missing), on a free port; waits until it answers. A port taken
# between free_port and the agent's bind is tried again. Leaves AGENT_STARTED_PORT and
# AGENT_STARTED_PID; the agent logs to DIR/agent.log.
start_agent_in() {
  local dir=$1 extra=${2:-} try
  [ -f "$dir/tokens" ] || echo "token-$(basename "$dir")-0123456789" >"$dir/tokens"
  for try in 1 2 3; do
    AGENT_STARTED_PORT=$(free_port)
    printf 'port = %s;\ntoken_file = "tokens";\ninventory = "drover.cfg";\n%s\n' \
      "$AGENT_STARTED_PORT" "$extra" >"$dir/agent.cfg"
    "$DROVER_AGENT_BIN" --config "$dir/agent.cfg" 2>>"$dir/agent.log" &
    AGENT_STARTED_PID=$!
    for _ in $(seq 200); do
      curl -sf "http://127.0.0.1:$AGENT_STARTED_PORT/healthz" >/dev/null && return
      kill -0 "$AGENT_STARTED_PID" 2>/dev/null || break
      sleep 0.1
    done
    grep -q "Address already in use" "$dir/agent.log" || break
  done
  cat "$dir/agent.log" >&2
  fail "drover-agent in '$dir' did not start"
}

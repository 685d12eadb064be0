# faults_lib.sh — sourced by retry.test.sh and locking.test.sh after lib.sh: tenant databases
# on both servers that are dropped at exit, client sessions kept open in the background
# (psql, mariadb, sqlite3 reading a fifo) to hold locks or kill connections on cue, drover
# runs in the background, and polling with a deadline. Background processes are ended by pid.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the constants are for the tests that source this
# shellcheck disable=SC2153 # DROVER_BIN comes from run-test.sh

T=$DROVER_TEST_TMPDIR
# The inventories say ${PGPW} / ${MYPW}; drover expands them from the environment.
export PGPW=$DROVER_TEST_PG_PASSWORD
export MYPW=$DROVER_TEST_MYSQL_PASSWORD
PG_PORT=$DROVER_TEST_PG_PORT
MY_PORT=$DROVER_TEST_MYSQL_PORT

_FL_PG_DBS=()
_FL_MY_DBS=()
_FL_PIDS=()
declare -A SESSION_PID=() SESSION_FD=()

_fl_cleanup() {
  local rc=$? pid db
  set +e
  trap - ERR
  for pid in "${_FL_PIDS[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  for db in "${_FL_PG_DBS[@]}"; do
    pg_drop_db "$db" >/dev/null 2>&1 || echo "warning: cannot drop database '$db'" >&2
  done
  for db in "${_FL_MY_DBS[@]}"; do
    my_drop_db "$db" >/dev/null 2>&1 || echo "warning: cannot drop database '$db'" >&2
  done
  (exit "$rc")
  _lib_on_exit
}
trap _fl_cleanup EXIT

# new_pg_db NAME / new_my_db NAME: creates the database (NAME from unique_name), dropped at
# exit. Not to be called in a $(...) subshell, which would forget the drop.
new_pg_db() {
  _FL_PG_DBS+=("$1")
  pg_create_db "$1"
}
new_my_db() {
  _FL_MY_DBS+=("$1")
  my_create_db "$1"
}

pg_url() { echo "postgres://drover:\${PGPW}@127.0.0.1:$PG_PORT/$1"; }
my_url() { echo "mysql://drover:\${MYPW}@127.0.0.1:$MY_PORT/$1"; }

# write_migration DIR NAME UP [DOWN [UP_OPTIONS]]: a dbmate .sql migration; UP_OPTIONS such
# as "transaction:false" go on the up marker.
write_migration() {
  mkdir -p "$1"
  printf -- '-- migrate:up%s\n%s\n\n-- migrate:down\n%s\n' "${5:+ $5}" "$3" "${4:-}" >"$1/$2"
}

# write_config FILE MIGRATIONS_DIR DEFAULTS ENVIRONMENTS TENANT...: an inventory; DEFAULTS is
# the body of the defaults group, ENVIRONMENTS the body of the environments list, and each
# TENANT "ID ENV URL".
write_config() {
  local file=$1 dir=$2 defaults=$3 envs=$4 t sep="" rest
  shift 4
  {
    echo "migrations = { path = \"$dir\"; };"
    echo "defaults = { $defaults };"
    echo "environments = ( $envs );"
    echo 'tenants = ('
    for t in "$@"; do
      rest=${t#* }
      echo "$sep  { id = \"${t%% *}\"; env = \"${rest%% *}\"; url = \"${rest#* }\"; }"
      sep=","
    done
    echo ');'
  } | write_inventory "$file"
}

# drover_run CODE CONFIG ARG...: runs drover on CONFIG, checks its exit status and that no
# password shows in its output. $OUT/$ERR/$OUT_FILE as assert_exit leaves them.
drover_run() {
  local code=$1 cfg=$2
  shift 2
  assert_exit "$code" "$DROVER_BIN" --config "$cfg" "$@"
  assert_not_contains "$OUT$ERR" "$PGPW" "the password shows in the output of: drover $*"
  assert_not_contains "$OUT$ERR" "$MYPW" "the password shows in the output of: drover $*"
}

# drover_start NAME CONFIG ARG...: runs drover in the background, stdout to $T/NAME.out and
# stderr to $T/NAME.err; its pid in DROVER_PID[NAME]. drover_wait NAME CODE checks its exit.
declare -A DROVER_PID=()
drover_start() {
  local name=$1 cfg=$2
  shift 2
  "$DROVER_BIN" --config "$cfg" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  DROVER_PID[$name]=$!
  _FL_PIDS+=($!)
}
drover_wait() {
  local rc=0
  wait "${DROVER_PID[$1]}" || rc=$?
  OUT_FILE=$T/$1.out
  OUT=$(cat "$T/$1.out")
  ERR=$(cat "$T/$1.err")
  assert_eq "$2" "$rc" "exit status of the background drover '$1'"$'\n'"--- stdout ---"$'\n'"$OUT"$'\n'"--- stderr ---"$'\n'"$ERR"
}

# session_start NAME CMD...: runs a client in the background reading its commands from a fifo
# this shell keeps open; session_send NAME TEXT sends it a line. Its output goes to
# $T/NAME.session. Children started later inherit the fifo, so a session is ended by an
# explicit quit command (session_end), never by end of input.
session_start() {
  local name=$1 fd
  shift
  mkfifo "$T/$name.fifo"
  "$@" <"$T/$name.fifo" >"$T/$name.session" 2>&1 &
  SESSION_PID[$name]=$!
  _FL_PIDS+=($!)
  exec {fd}>"$T/$name.fifo"
  SESSION_FD[$name]=$fd
}
session_send() { printf '%s\n' "$2" >&"${SESSION_FD[$1]}"; }

# session_end NAME QUIT_COMMAND: sends the quit command, waits for the client to exit.
session_end() {
  local rc=0
  session_send "$1" "$2"
  wait "${SESSION_PID[$1]}" || rc=$?
  eval "exec ${SESSION_FD[$1]}>&-"
  assert_eq 0 "$rc" "session '$1' ended cleanly: $(cat "$T/$1.session")"
}

psql_session() {
  session_start "$1" env PGPASSWORD="$PGPW" PGPASSFILE=/dev/null \
    "$DROVER_TEST_PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PG_PORT" -U "$DROVER_TEST_PG_USER" -d "$2"
}
mariadb_session() {
  session_start "$1" env MYSQL_PWD="$MYPW" mariadb --no-defaults --protocol=TCP -N -B --unbuffered \
    -h 127.0.0.1 -P "$MY_PORT" -u "$DROVER_TEST_MYSQL_USER" --database="$2"
}
sqlite_session() { session_start "$1" sqlite3 -bail -batch "$2"; }

# wait_for SECONDS WHAT CMD...: polls CMD every 50 ms until it succeeds; fails the test (naming
# WHAT) when SECONDS pass first.
wait_for() {
  local seconds=$1 what=$2
  local deadline=$((SECONDS + seconds))
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after $seconds s waiting for $what"
    sleep 0.05
  done
}

# non_empty CMD...: succeeds when CMD succeeds and prints something.
non_empty() {
  local out
  out=$("$@") || return 1
  [ -n "$out" ]
}

# pg_lock_key KEY: docs/locks.md's advisory-lock id of KEY (FNV-1a 64 of its UTF-8 bytes, as
# a signed bigint), computed independently of drover. Bash's integers are signed 64-bit, so the
# hash is kept as two 32-bit halves: multiplying by the FNV prime 2^40 + 0x1b3 never overflows.
pg_lock_key() {
  local LC_ALL=C key=$1 hi=$((0xcbf29ce4)) lo=$((0x84222325)) i byte low hi_new
  for ((i = 0; i < ${#key}; i++)); do
    printf -v byte '%d' "'${key:i:1}"
    lo=$(((lo ^ (byte & 0xff)) & 0xffffffff))
    low=$((lo * 0x1b3))
    hi_new=$(((hi * 0x1b3 + (low >> 32) + ((lo & 0xffffff) << 8)) & 0xffffffff))
    lo=$((low & 0xffffffff))
    hi=$hi_new
  done
  if ((hi < 0x80000000)); then
    echo $(((hi << 32) | lo))
  elif ((hi == 0x80000000 && lo == 0)); then
    echo -9223372036854775808
  else # two's complement: -(2^64 - h), whose magnitude fits in 63 bits
    local nlo=$(((0x100000000 - lo) & 0xffffffff)) nhi=$(((0xffffffff - hi + (lo == 0)) & 0xffffffff))
    echo "-$(((nhi << 32) | nlo))"
  fi
}

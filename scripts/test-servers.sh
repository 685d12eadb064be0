#!/usr/bin/env bash
# test-servers.sh — throwaway PostgreSQL 15 and MariaDB servers for the integration tests:
# `start DIR` creates both in DIR on free 127.0.0.1 ports and writes DIR/servers.env;
# `stop DIR` stops them and removes DIR (safe to repeat, and after a failed start).
set -euo pipefail

SELF=$(readlink -f "$0")
PG_BINDIR=/usr/lib/postgresql/15/bin
DB_USER=drover
DB_PASSWORD=drover-test-secret
READY_TIMEOUT_S=30
STOP_TIMEOUT_S=30
# Written at start; stop only deletes a directory that carries it, so a mistyped DIR can
# never remove something else.
MARKER=.drover-test-servers
# PostgreSQL data moved out of a directory the postgres user cannot reach lives here.
PG_TMP_PREFIX=drover-test-pg.

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

log() { echo "test-servers: $*"; }
die() {
  echo "test-servers: $*" >&2
  exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# pg_run runs a PostgreSQL program as the user that owns the cluster: postgres refuses to
# run as root, so root hands it to the `postgres` system user.
pg_run() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# proc_running PID NAME: PID is alive (not a zombie) and runs the program NAME, so a pid
# file left behind never makes us signal an unrelated process that reused the number.
proc_running() {
  local pid=$1 name=$2 stat
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
  [[ "$stat" == "$pid ($name) "* ]] || return 1
  [[ "$stat" != "$pid ($name) Z"* ]]
}

# pids_with_arg NAME ARG: pids of live NAME processes with ARG on their command line. Finds
# a server whose pid file was never written because `start` was killed right after launch.
pids_with_arg() {
  local name=$1 arg=$2 cmdline pid
  for cmdline in /proc/[0-9]*/cmdline; do
    pid=${cmdline#/proc/}
    pid=${pid%/cmdline}
    proc_running "$pid" "$name" || continue
    if tr '\0' '\n' <"$cmdline" 2>/dev/null | grep -qxF -- "$arg"; then
      echo "$pid"
    fi
  done
}

wait_proc_gone() {
  local pid=$1 name=$2 timeout_s=$3 i
  for ((i = 0; i < timeout_s * 10; i++)); do
    proc_running "$pid" "$name" || return 0
    sleep 0.1
  done
  return 1
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pick_free_port [AVOID]: a random port in 20000-32767 nobody listens on: below Linux's
# ephemeral range (32768-60999), where the suite's own client connections (and their
# TIME_WAIT leftovers) hold local ports that a server's bind would collide with. The two
# servers pick one each before either starts, hence AVOID.
pick_free_port() {
  local avoid=${1:-} port i
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + RANDOM % 12768))
    [ "$port" = "$avoid" ] && continue
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

# print_logs shows the tail of every server log we know of, for a failed start.
print_logs() {
  local dir=$1 f
  for f in "$dir/pg-initdb.log" "$dir/pg/pg_ctl.log" "$dir/pg/postgres.log" "$dir/my-install.log" "$dir/my.err"; do
    if [ -s "$f" ]; then
      echo "----- $f (last 50 lines) -----" >&2
      tail -n 50 "$f" >&2
    fi
  done
}

# ---------------------------------------------------------------- PostgreSQL

# pg_make_root DIR creates DIR/pg owned by the server's user and prints its real path. As
# root, when the postgres user cannot reach DIR (a clone under /root is mode 700), the data
# goes to a private temp dir and DIR/pg is a symlink to it.
pg_make_root() {
  local dir=$1 root
  if ! is_root; then
    mkdir "$dir/pg"
    echo "$dir/pg"
    return
  fi
  id postgres >/dev/null 2>&1 ||
    die "running as root but there is no 'postgres' user (hint: scripts/install-deps.sh --servers)"
  mkdir "$dir/pg"
  chown postgres: "$dir/pg"
  if runuser -u postgres -- test -w "$dir/pg"; then
    echo "$dir/pg"
    return
  fi
  rmdir "$dir/pg"
  root=$(mktemp -d "${TMPDIR:-/tmp}/${PG_TMP_PREFIX}XXXXXX")
  chown postgres: "$root"
  ln -s "$root" "$dir/pg"
  echo "$root"
}

pg_init() {
  local dir=$1 root=$2 port=$3
  printf '%s\n' "$DB_PASSWORD" >"$root/pwfile"
  is_root && chown postgres: "$root/pwfile"
  # initdb's bootstrap superuser is drover itself; -N skips the fsyncs (throwaway data).
  (cd "$root" && pg_run "$PG_BINDIR/initdb" -D "$root/data" -U "$DB_USER" \
    --pwfile="$root/pwfile" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 -N) \
    >"$dir/pg-initdb.log" 2>&1
  rm -f "$root/pwfile"
  # Only TCP, only 127.0.0.1, only with the password.
  printf '%s\n' \
    '# drover test server: TCP on 127.0.0.1 with a password, nothing else' \
    'host all all 127.0.0.1/32 scram-sha-256' >"$root/data/pg_hba.conf"
  cat >>"$root/data/postgresql.conf" <<EOF

# drover test server: private, throwaway, fast.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 250
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
password_encryption = 'scram-sha-256'
# Containers often have a small /dev/shm; parallel query is useless for tests anyway.
max_parallel_workers_per_gather = 0
EOF
}

pg_start() {
  local root=$1 port=$2 i
  # setsid: the postmaster leaves the caller's session, so a Ctrl-C aimed at ctest does
  # not kill it behind the back of `stop`.
  if ! (cd "$root" && setsid "$SELF" __pg_ctl "$root" start -l "$root/postgres.log" -w \
        -t "$READY_TIMEOUT_S") >"$root/pg_ctl.log" 2>&1; then
    echo "test-servers: postgresql did not start" >&2
    return 1
  fi
  for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
    if "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      return 0
    fi
    sleep 0.1
  done
  echo "test-servers: postgresql is not ready on 127.0.0.1:$port after ${READY_TIMEOUT_S}s" >&2
  return 1
}

pg_stop() {
  local dir=$1 root pid
  root=$(readlink -f "$dir/pg" 2>/dev/null) || return 0
  [ -d "$root" ] || return 0
  if [ -f "$root/data/postmaster.pid" ]; then
    pid=$(head -n 1 "$root/data/postmaster.pid")
    if proc_running "$pid" postgres; then
      (cd "$root" && "$SELF" __pg_ctl "$root" stop -m fast -w -t "$STOP_TIMEOUT_S") >/dev/null 2>&1 ||
        true
      if proc_running "$pid" postgres; then
        log "postgresql (pid $pid) ignored a fast shutdown; killing it"
        kill -QUIT "$pid" 2>/dev/null || true
        wait_proc_gone "$pid" postgres 5 || kill -KILL "$pid" 2>/dev/null || true
        wait_proc_gone "$pid" postgres 5 || true
      fi
    fi
  fi
  for pid in $(pids_with_arg postgres "$root/data"); do
    log "postgresql (pid $pid) has no pid file; stopping it"
    kill -INT "$pid" 2>/dev/null || true
    wait_proc_gone "$pid" postgres "$STOP_TIMEOUT_S" || kill -KILL "$pid" 2>/dev/null || true
    wait_proc_gone "$pid" postgres 5 || true
  done
  if [ -L "$dir/pg" ] && [[ "$(basename "$root")" == "$PG_TMP_PREFIX"* ]]; then
    rm -rf "$root"
  fi
}

# ---------------------------------------------------------------- MariaDB

my_init() {
  local dir=$1
  local user_opt=()
  is_root && user_opt=(--user=root)
  mkdir "$dir/my"
  mariadb-install-db --no-defaults --datadir="$dir/my" "${user_opt[@]}" \
    --skip-test-db --skip-name-resolve >"$dir/my-install.log" 2>&1
  # Run by the server at every start, before it accepts connections.
  cat >"$dir/my-init.sql" <<EOF
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost' WITH GRANT OPTION;
EOF
}

# my_socket_path DIR: DIR/my.sock, unless that is longer than a unix socket path may be.
my_socket_path() {
  local dir=$1
  if [ "${#dir}" -le 90 ]; then
    echo "$dir/my.sock"
  else
    mktemp -u "${TMPDIR:-/tmp}/drover-test-my.XXXXXX.sock"
  fi
}

my_start() {
  local dir=$1 port=$2 socket=$3 i
  local user_opt=()
  is_root && user_opt=(--user=root)
  echo "$socket" >"$dir/my.socket-path"
  # --no-defaults: nothing from /etc/mysql; the charset is what Debian's config would set.
  # --tmpdir: its own, not /tmp, where other servers' temporary tables live too (and where an
  # ASan run of agent_fleet once lost one: "Error on delete of '/tmp/#sql-temptable-...'").
  mkdir -p "$dir/my-tmp"
  setsid mariadbd --no-defaults "${user_opt[@]}" \
    --datadir="$dir/my" --tmpdir="$dir/my-tmp" --socket="$socket" --pid-file="$dir/my.pid" \
    --log-error="$dir/my.err" --init-file="$dir/my-init.sql" \
    --bind-address=127.0.0.1 --port="$port" --skip-networking=0 --skip-name-resolve \
    --max-connections=250 --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_general_ci \
    --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --sync-binlog=0 \
    --innodb-buffer-pool-size=128M --innodb-use-native-aio=0 \
    </dev/null >>"$dir/my.err" 2>&1 &
  echo $! >"$dir/my.launch-pid"
  # A ping answers "alive" even when login fails, so wait for a real login as drover: that
  # also proves the init file has run.
  for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
    if MYSQL_PWD=$DB_PASSWORD mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$port" \
         -u "$DB_USER" -N -B -e 'SELECT 1' >/dev/null 2>&1; then
      return 0
    fi
    if ! proc_running "$(cat "$dir/my.launch-pid")" mariadbd; then
      echo "test-servers: mariadbd exited during start" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "test-servers: mariadb is not ready on 127.0.0.1:$port after ${READY_TIMEOUT_S}s" >&2
  return 1
}

my_stop() {
  local dir=$1 pid socket
  for pid in $(cat "$dir/my.pid" "$dir/my.launch-pid" 2>/dev/null) \
             $(pids_with_arg mariadbd "--datadir=$dir/my"); do
    proc_running "$pid" mariadbd || continue
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_proc_gone "$pid" mariadbd "$STOP_TIMEOUT_S"; then
      log "mariadbd (pid $pid) did not stop in ${STOP_TIMEOUT_S}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      wait_proc_gone "$pid" mariadbd 5 || true
    fi
  done
  if [ -f "$dir/my.socket-path" ]; then
    socket=$(cat "$dir/my.socket-path")
    rm -f "$socket" "$socket.lock"
  fi
}

# ---------------------------------------------------------------- commands

write_env() {
  local dir=$1 pg_port=$2 my_port=$3
  {
    echo "# written by scripts/test-servers.sh; source it"
    printf 'export DROVER_TEST_PG_HOST=%q\n' 127.0.0.1
    printf 'export DROVER_TEST_PG_PORT=%q\n' "$pg_port"
    printf 'export DROVER_TEST_PG_USER=%q\n' "$DB_USER"
    printf 'export DROVER_TEST_PG_PASSWORD=%q\n' "$DB_PASSWORD"
    printf 'export DROVER_TEST_PG_URL=%q\n' \
      "postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$pg_port/postgres"
    printf 'export DROVER_TEST_PG_BINDIR=%q\n' "$PG_BINDIR"
    printf 'export DROVER_TEST_MYSQL_HOST=%q\n' 127.0.0.1
    printf 'export DROVER_TEST_MYSQL_PORT=%q\n' "$my_port"
    printf 'export DROVER_TEST_MYSQL_USER=%q\n' "$DB_USER"
    printf 'export DROVER_TEST_MYSQL_PASSWORD=%q\n' "$DB_PASSWORD"
    printf 'export DROVER_TEST_MYSQL_URL=%q\n' "mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:$my_port/"
  } >"$dir/servers.env.tmp"
  mv "$dir/servers.env.tmp" "$dir/servers.env"
}

cmd_stop() {
  local dir=$1
  [ -e "$dir" ] || return 0
  [ -f "$dir/$MARKER" ] || die "'$dir' was not made by test-servers.sh start; not touching it"
  dir=$(cd "$dir" && pwd -P)
  pg_stop "$dir"
  my_stop "$dir"
  rm -rf "$dir"
}

on_start_exit() {
  local rc=$1 dir=$2
  [ "$rc" -eq 0 ] && return 0
  print_logs "$dir"
  log "start failed; stopping whatever did start" >&2
  cmd_stop "$dir" || true
}

cmd_start() {
  local dir=$1 started_us pg_root pg_port my_port my_socket pg_pid my_pid elapsed_ms
  started_us=${EPOCHREALTIME/./}
  [ -x "$PG_BINDIR/initdb" ] ||
    die "no PostgreSQL 15 in '$PG_BINDIR' (hint: scripts/install-deps.sh --servers)"
  command -v mariadbd >/dev/null 2>&1 ||
    die "no mariadbd on PATH (hint: scripts/install-deps.sh --servers)"
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    # Leftovers of an interrupted run: stop them first so start always begins clean.
    cmd_stop "$dir"
  fi
  mkdir -p "$dir"
  # The physical path: stop finds unrecorded servers by the paths on their command line.
  dir=$(cd "$dir" && pwd -P)
  touch "$dir/$MARKER"
  # shellcheck disable=SC2064 # dir is expanded now: it is out of scope when the trap runs
  trap "on_start_exit \$? $(printf '%q' "$dir")" EXIT

  pg_port=$(pick_free_port)
  my_port=$(pick_free_port "$pg_port")
  my_socket=$(my_socket_path "$dir")
  pg_root=$(pg_make_root "$dir")

  # The two servers are independent: initialise and start them side by side.
  # Plain `;` lists in subshells keep errexit working inside the functions (an `&&` list
  # would switch it off).
  (
    pg_init "$dir" "$pg_root" "$pg_port"
    pg_start "$pg_root" "$pg_port"
  ) &
  pg_pid=$!
  (
    my_init "$dir"
    my_start "$dir" "$my_port" "$my_socket"
  ) &
  my_pid=$!
  local failed=0
  wait "$pg_pid" || { echo "test-servers: postgresql failed to start" >&2; failed=1; }
  wait "$my_pid" || { echo "test-servers: mariadb failed to start" >&2; failed=1; }
  [ "$failed" -eq 0 ] || exit 1

  write_env "$dir" "$pg_port" "$my_port"
  elapsed_ms=$(((${EPOCHREALTIME/./} - started_us) / 1000))
  log "postgresql on 127.0.0.1:$pg_port, mariadb on 127.0.0.1:$my_port" \
    "(ready in ${elapsed_ms} ms)"
  log "environment: $dir/servers.env"
}

case "${1:-}" in
  start | stop)
    [ $# -eq 2 ] || usage
    if [ -z "$2" ] || [ "$2" = / ]; then
      die "refusing directory '$2'"
    fi
    "cmd_$1" "$2"
    ;;
  __pg_ctl)
    # internal: pg_ctl ROOT ARGS... as the cluster's owner (used under setsid)
    root=$2
    shift 2
    pg_run "$PG_BINDIR/pg_ctl" -D "$root/data" "$@"
    ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# pgbouncer.test.sh — a session advisory lock is worthless behind a transaction-pooling proxy
# (each statement may run in another backend), so drover must notice and refuse, touching
# nothing; through session pooling it migrates as usual. The test runs its own PgBouncer on
# 127.0.0.1 in front of the suite's PostgreSQL, with two server connections handed out in turn
# (server_round_robin), so consecutive statements land in different backends.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
# The real path: the suite's PATH holds links under the build folder, which the postgres user
# that runs pgbouncer may not be able to reach.
PGBOUNCER=$(readlink -f "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)")
[ -x "$PGBOUNCER" ] || fail "pgbouncer is not installed (scripts/install-deps.sh --servers installs it)"
DB=$(unique_name pgb)
BOUNCER_DIR=$(mktemp -d /tmp/drover-pgbouncer.XXXXXX)
stop_bouncer() {
  [ -s "$BOUNCER_DIR/pgbouncer.pid" ] && kill "$(cat "$BOUNCER_DIR/pgbouncer.pid")" 2>/dev/null
  rm -rf "$BOUNCER_DIR"
}
trap 'rc=$?; stop_bouncer; pg_drop_db "$DB" >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT
pg_create_db "$DB"

# PgBouncer refuses to run as root; the suite's PostgreSQL runs as postgres for the same reason.
as_bouncer_user() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_bouncer() {
  local try
  for try in 1 2 3 4 5; do
    PORT=$(free_port)
    cat >"$BOUNCER_DIR/pgbouncer.ini" <<EOF
[databases]
txn = host=127.0.0.1 port=$DROVER_TEST_PG_PORT dbname=$DB pool_mode=transaction
sess = host=127.0.0.1 port=$DROVER_TEST_PG_PORT dbname=$DB pool_mode=session
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $BOUNCER_DIR/users.txt
server_round_robin = 1
logfile = $BOUNCER_DIR/pgbouncer.log
pidfile = $BOUNCER_DIR/pgbouncer.pid
EOF
    printf '"%s" "%s"\n' "$DROVER_TEST_PG_USER" "$DROVER_TEST_PG_PASSWORD" >"$BOUNCER_DIR/users.txt"
    chmod 600 "$BOUNCER_DIR/users.txt"
    [ "$(id -u)" -eq 0 ] && chown -R postgres: "$BOUNCER_DIR"
    if as_bouncer_user "$PGBOUNCER" -d "$BOUNCER_DIR/pgbouncer.ini" 2>>"$BOUNCER_DIR/start.err"; then
      for _ in $(seq 50); do
        PGPASSWORD=$DROVER_TEST_PG_PASSWORD psql -X -q -h 127.0.0.1 -p "$PORT" \
          -U "$DROVER_TEST_PG_USER" -d sess -c 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.1
      done
    fi
    [ -s "$BOUNCER_DIR/pgbouncer.pid" ] && kill "$(cat "$BOUNCER_DIR/pgbouncer.pid")" 2>/dev/null
    sleep 0.2
  done
  cat "$BOUNCER_DIR"/*.log "$BOUNCER_DIR/start.err" >&2 || true
  fail "pgbouncer did not start"
}
start_bouncer

# Two server connections in the transaction pool, opened by two clients at once.
via_txn() {
  PGPASSWORD=$DROVER_TEST_PG_PASSWORD psql -X -q -h 127.0.0.1 -p "$PORT" \
    -U "$DROVER_TEST_PG_USER" -d txn -c "$1" >/dev/null
}
via_txn 'SELECT pg_sleep(0.5)' & via_txn 'SELECT pg_sleep(0.5)'; wait

mkdir -p "$T/migrations"
printf -- '-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE items;\n' \
  >"$T/migrations/20240101000001-items.sql"
{
  echo 'migrations = { path = "migrations"; };'
  echo 'environments = ( { name = "dev"; } );'
  echo 'tenants = ('
  echo "  { id = \"txn\"; env = \"dev\"; url = \"postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$PORT/txn\"; }"
  echo ');'
} | write_inventory "$T/txn.cfg"
sed 's|/txn"|/sess"|; s|"txn"|"sess"|' "$T/txn.cfg" >"$T/sess.cfg"

assert_exit 1 "$DROVER_BIN" --config "$T/txn.cfg" migrate
assert_eq "drover: tenant 'txn': the advisory lock for '/.SequelizeMeta' is not held by this session
  hint: the connection goes through a transaction-pooling proxy (PgBouncer pool_mode=transaction), where each statement may run in another session; connect to PostgreSQL directly or through session pooling" \
  "$ERR" "transaction pooling refused, with the reason"
assert_eq "- -" "$(pg_sql "$DB" "SELECT coalesce(to_regclass('\"SequelizeMeta\"')::text, '-') || ' ' || coalesce(to_regclass('items')::text, '-')")" \
  "nothing created behind the transaction pool"

assert_exit 0 "$DROVER_BIN" --config "$T/sess.cfg" migrate
assert_eq "20240101000001-items.sql" "$(pg_sql "$DB" 'SELECT name FROM "SequelizeMeta"')" \
  "session pooling migrates"

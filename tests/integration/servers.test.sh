#!/usr/bin/env bash
# servers.test.sh — smoke test of the throwaway servers every integration test relies on:
# they answer, drover is a superuser on both, they listen on 127.0.0.1 only, and the
# password is really checked.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PSQL=$DROVER_TEST_PG_BINDIR/psql

# listening_addrs PORT: the local addresses of the listening TCP sockets on PORT, read from
# /proc so the test needs no ss/netstat.
listening_addrs() {
  local port_hex f local_addr st addr
  port_hex=$(printf '%04X' "$1")
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    while read -r _ local_addr _ st _; do
      if [ "$st" != 0A ] || [ "${local_addr##*:}" != "$port_hex" ]; then
        continue
      fi
      addr=${local_addr%:*}
      if [ "${#addr}" -eq 8 ]; then
        printf '%d.%d.%d.%d\n' "0x${addr:6:2}" "0x${addr:4:2}" "0x${addr:2:2}" "0x${addr:0:2}"
      else
        echo "ipv6:$addr"
      fi
    done < <(tail -n +2 "$f")
  done
}

# --- PostgreSQL
assert_eq "drover|t" \
  "$(pg_sql postgres "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")" \
  "postgres: drover is a superuser"
assert_eq "127.0.0.1|off|t" \
  "$(pg_sql postgres "SELECT current_setting('listen_addresses'), current_setting('fsync'),
                             current_setting('max_connections')::int >= 200")" \
  "postgres: settings"
assert_eq "127.0.0.1" "$(listening_addrs "$DROVER_TEST_PG_PORT")" "postgres: listening sockets"

pg_db=$(unique_name smoke)
pg_create_db "$pg_db"
pg_sql "$pg_db" "CREATE TABLE t (id int PRIMARY KEY, name text);
                 INSERT INTO t VALUES (1, 'zoë'), (2, 'ß');"
assert_eq $'1|zoë\n2|ß' "$(pg_sql "$pg_db" "SELECT id, name FROM t ORDER BY id")" \
  "postgres: round trip through a new database"
pg_drop_db "$pg_db"
assert_eq "0" "$(pg_sql postgres "SELECT count(*) FROM pg_database WHERE datname = '$pg_db'")" \
  "postgres: database dropped"

assert_exit 2 env PGPASSWORD=wrong-secret PGPASSFILE=/dev/null "$PG_PSQL" -X -At \
  -h 127.0.0.1 -p "$DROVER_TEST_PG_PORT" -U drover -d postgres -c "SELECT 1"
assert_contains "$ERR" 'password authentication failed for user "drover"'
assert_exit 2 env -u PGPASSWORD PGPASSFILE=/dev/null "$PG_PSQL" -X -At -w \
  -h 127.0.0.1 -p "$DROVER_TEST_PG_PORT" -U drover -d postgres -c "SELECT 1"
assert_contains "$ERR" "no password supplied"

# --- MariaDB
assert_eq $'drover@127.0.0.1\ndrover@localhost' \
  "$(my_sql "" "SELECT CONCAT(user, '@', host) FROM mysql.user WHERE user = 'drover' ORDER BY host")" \
  "mariadb: the drover accounts"
grants=$(my_sql "" "SHOW GRANTS")
assert_contains "$grants" 'GRANT ALL PRIVILEGES ON *.* TO `drover`@`127.0.0.1`'
assert_contains "$grants" "WITH GRANT OPTION"
assert_eq $'127.0.0.1\t0\t1\tutf8mb4' \
  "$(my_sql "" "SELECT @@bind_address, @@skip_networking, @@max_connections >= 200,
                       @@character_set_server")" \
  "mariadb: settings"
assert_eq "127.0.0.1" "$(listening_addrs "$DROVER_TEST_MYSQL_PORT")" "mariadb: listening sockets"

my_db=$(unique_name smoke)
assert_eq "smoke_$$_2" "$my_db" "unique_name counts across \$(...) subshells"
my_create_db "$my_db"
my_sql "$my_db" "CREATE TABLE t (id int PRIMARY KEY, name varchar(20));
                 INSERT INTO t VALUES (1, 'zoë'), (2, '🦬');"
assert_eq $'1\tzoë\n2\t🦬' "$(my_sql "$my_db" "SELECT id, name FROM t ORDER BY id")" \
  "mariadb: round trip through a new database"
my_drop_db "$my_db"
assert_eq "0" \
  "$(my_sql "" "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '$my_db'")" \
  "mariadb: database dropped"

assert_exit 1 env MYSQL_PWD=wrong-secret mariadb --no-defaults --protocol=TCP -h 127.0.0.1 \
  -P "$DROVER_TEST_MYSQL_PORT" -u drover -N -B -e "SELECT 1"
assert_contains "$ERR" "Access denied for user 'drover'@'127.0.0.1' (using password: YES)"

# --- the per-test environment run-test.sh provides
assert_eq "$DROVER_SOURCE_DIR/tests/integration/servers.test.sh" \
  "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/servers.test.sh" "DROVER_SOURCE_DIR"
assert_eq "$DROVER_TEST_TMPDIR" "$(pwd)" "tests run in their temp dir"
assert_contains "$DROVER_BIN" "drover"

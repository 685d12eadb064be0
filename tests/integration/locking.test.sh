#!/usr/bin/env bash
# locking.test.sh — a tenant whose lock another process holds is reported 'locked' after
# lock_wait, untouched, with the holder named, and migrated once the holder lets go: on
# PostgreSQL (an advisory lock taken by psql with docs/locks.md's key, and a second drover),
# SQLite (a drover holding '<db>-drover.lock') and MariaDB (GET_LOCK with the documented name).
# `drover locks` shows each holder while it holds.
# shellcheck disable=SC2016 # jq programs and SQL identifiers in single quotes
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

ENVS='{ name = "dev"; }'
# A tenant without a schema, with the default meta table: the key drover locks (docs/locks.md).
LOCK_KEY=/.SequelizeMeta
MIGS=$T/migrations
MIG=20240201000001-add-y.sql
write_migration "$MIGS" "$MIG" "ALTER TABLE t ADD COLUMN y int;" "ALTER TABLE t DROP COLUMN y;"
LOCKED_PREFIX="another process held the tenant's lock for 1.0 s; holder: "

jq_out() { json_get "$OUT_FILE" "$1"; }
pg_rows() { pg_sql "$1" 'SELECT name FROM "SequelizeMeta" ORDER BY name COLLATE "C"'; }
pg_has_meta() { pg_sql "$1" "SELECT to_regclass('\"SequelizeMeta\"') IS NOT NULL"; }
pg_y_columns() {
  pg_sql "$1" "SELECT count(*) FROM pg_attribute
               WHERE attrelid = 't'::regclass AND attname = 'y' AND NOT attisdropped"
}

# assert_locked ID HOLDER: the last JSON report shows tenant ID locked by HOLDER (a prefix of
# the holder's description) and nothing done.
assert_locked() {
  assert_eq "incomplete|locked|1||null" \
    "$(jq_out '.tenants[0] as $t | [.outcome, $t.outcome, $t.attempts, ($t.applied | join(" ")),
               $t.dirty_migration] | map(tostring) | join("|")')" "$1: locked, nothing applied"
  assert_contains "$(jq_out '.tenants[0].error.message')" "tenant '$1': $LOCKED_PREFIX$2" \
    "$1: the error names the holder"
  assert_eq "nothing was changed; run again when the other migration is done ('drover locks' shows who holds what)" \
    "$(jq_out '.tenants[0].error.hint')" "$1: the hint"
  assert_eq 1 "$(jq_out '.summary.locked')" "$1: counted as locked"
}

# assert_locks_show CONFIG ID HOLDER: `drover locks` names HOLDER (a prefix) for tenant ID.
assert_locks_show() {
  drover_run 0 "$1" locks
  assert_contains "$OUT" "$2 (dev): $3" "drover locks shows the holder of $2"
  drover_run 0 "$1" locks --format json
  assert_contains "$(jq_out '.tenants[0] | "\(.id) \(.holder) \(.error)"')" "$2 $3" \
    "drover locks --format json shows the holder of $2"
}

assert_eq -8821353812377114648 "$(pg_lock_key foobar)" "pg_lock_key agrees with docs/locks.md"

# --- PostgreSQL: psql holds the advisory lock, computed as docs/locks.md says.
pa_db=$(unique_name lock_pa)
new_pg_db "$pa_db"
pg_sql "$pa_db" "CREATE TABLE t (id int)"
pa_cfg=$T/pa/drover.cfg
write_config "$pa_cfg" "$MIGS" 'lock_wait = "1s";' "$ENVS" "pga dev $(pg_url "$pa_db")"
psql_session pa_holder "$pa_db"
session_send pa_holder "SELECT pg_backend_pid() FROM pg_advisory_lock($(pg_lock_key "$LOCK_KEY")) l;"
wait_for 10 "psql to take the advisory lock" grep -qx '[0-9][0-9]*' "$T/pa_holder.session"
pa_pid=$(cat "$T/pa_holder.session")
drover_run 1 "$pa_cfg" migrate --format json
assert_locked pga "pid $pa_pid, application_name 'psql', client 127.0.0.1, since "
assert_eq f "$(pg_has_meta "$pa_db")" "pga: drover did not even create SequelizeMeta"
assert_locks_show "$pa_cfg" pga "pid $pa_pid, application_name 'psql', client 127.0.0.1, since "
drover_run 0 "$pa_cfg" runs --format json
assert_eq "migrate incomplete true locked" \
  "$(jq_out '.[0] | "\(.command) \(.outcome) \(.ended_at != null) \(.tenants | keys | join(","))"')" \
  "pga: the journal records the run as ended, incomplete"
session_end pa_holder '\q'
drover_run 0 "$pa_cfg" locks
assert_eq "pga (dev): free" "$OUT" "pga: free once psql is gone"
drover_run 0 "$pa_cfg" migrate --format json
assert_eq "succeeded|migrated|$MIG" \
  "$(jq_out '[.outcome, .tenants[0].outcome, (.tenants[0].applied | join(" "))] | join("|")')" \
  "pga: migrated once the holder let go"
assert_eq "$MIG" "$(pg_rows "$pa_db")" "pga: recorded once"
assert_eq 1 "$(pg_y_columns "$pa_db")" "pga: the column"
# An up-to-date tenant is read without its lock (migrate's no-op fast path): a holder does not
# make it wait or report it locked.
psql_session pa_holder2 "$pa_db"
session_send pa_holder2 "SELECT pg_backend_pid() FROM pg_advisory_lock($(pg_lock_key "$LOCK_KEY")) l;"
wait_for 10 "psql to take the advisory lock again" grep -qx '[0-9][0-9]*' "$T/pa_holder2.session"
drover_run 0 "$pa_cfg" migrate --format json
assert_eq "succeeded|up_to_date|1" \
  "$(jq_out '[.outcome, .tenants[0].outcome, .tenants[0].attempts] | map(tostring) | join("|")')" \
  "pga: up to date while another process holds the lock"
session_end pa_holder2 '\q'

# --- PostgreSQL: another drover holds the tenant while its migration waits for a table lock
# that a psql session keeps until told.
pb_db=$(unique_name lock_pb)
new_pg_db "$pb_db"
pg_sql "$pb_db" "CREATE TABLE t (id int)"
pb_cfg=$T/pb/drover.cfg
write_config "$pb_cfg" "$MIGS" 'lock_wait = "1s";' "$ENVS" "pgb dev $(pg_url "$pb_db")"
psql_session pb_table "$pb_db"
session_send pb_table "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
wait_for 10 "the lock on t" grep -qx locked "$T/pb_table.session"
drover_start holder "$pb_cfg" migrate --format json
blocked_drover() {
  pg_sql "$pb_db" "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                   AND application_name LIKE 'drover migrate%'
                   AND wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE t%'"
}
wait_for 20 "the first drover to wait in its migration" non_empty blocked_drover
pb_holder="application_name 'drover migrate pid ${DROVER_PID[holder]} on $(hostname)', client 127.0.0.1, since "
drover_run 1 "$pb_cfg" migrate --format json
assert_locked pgb "pid $(blocked_drover), $pb_holder"
assert_locks_show "$pb_cfg" pgb "pid $(blocked_drover), $pb_holder"
session_send pb_table "COMMIT;"
drover_wait holder 0
session_end pb_table '\q'
assert_eq "succeeded|migrated|$MIG" \
  "$(jq_out '[.outcome, .tenants[0].outcome, (.tenants[0].applied | join(" "))] | join("|")')" \
  "pgb: the holder migrated"
drover_run 0 "$pb_cfg" migrate --format json
assert_eq "succeeded up_to_date" "$(jq_out '"\(.outcome) \(.tenants[0].outcome)"')" \
  "pgb: the next run finds it up to date"
assert_eq "$MIG" "$(pg_rows "$pb_db")" "pgb: recorded once"
assert_eq 1 "$(pg_y_columns "$pb_db")" "pgb: the column once"

# --- SQLite: a drover holds '<db>-drover.lock' while its migration waits for the database,
# which a sqlite3 session keeps locked until told (lock_timeout keeps the first drover waiting
# rather than retrying, which would let go of the lock between attempts).
lite=$T/lite/tenants/t1.db
mkdir -p "$(dirname "$lite")"
sqlite_sql "$lite" "CREATE TABLE t (id int)"
lite_cfg=$T/lite/drover.cfg
write_config "$lite_cfg" "$MIGS" 'lock_wait = "1s"; lock_timeout = "60s";' "$ENVS" \
  "lite dev sqlite:tenants/t1.db"
sqlite_session lite_db "$lite"
session_send lite_db "BEGIN EXCLUSIVE; SELECT 'locked';"
wait_for 10 "sqlite3 to lock the database" grep -qx locked "$T/lite_db.session"
drover_start lite_holder "$lite_cfg" migrate --format json
lock_file_held() { ! flock -n -s "$lite-drover.lock" true 2>/dev/null; }
wait_for 20 "the first drover to take '$lite-drover.lock'" lock_file_held
lite_holder="drover migrate pid ${DROVER_PID[lite_holder]} on $(hostname)"
drover_run 1 "$lite_cfg" migrate --format json
assert_locked lite "$lite_holder"
assert_locks_show "$lite_cfg" lite "$lite_holder"
session_send lite_db "COMMIT;"
drover_wait lite_holder 0
session_end lite_db .quit
assert_eq "succeeded|migrated|$MIG" \
  "$(jq_out '[.outcome, .tenants[0].outcome, (.tenants[0].applied | join(" "))] | join("|")')" \
  "lite: the holder migrated"
drover_run 0 "$lite_cfg" locks
assert_eq "lite (dev): free" "$OUT" "lite: free once the holder is done"
drover_run 0 "$lite_cfg" migrate --format json
assert_eq "succeeded up_to_date" "$(jq_out '"\(.outcome) \(.tenants[0].outcome)"')" \
  "lite: the next run finds it up to date"
assert_eq "$MIG" "$(sqlite_sql "$lite" 'SELECT name FROM SequelizeMeta')" "lite: recorded once"
assert_eq "id y" "$(sqlite_sql "$lite" "SELECT group_concat(name, ' ') FROM pragma_table_info('t')")" \
  "lite: the column once"

# --- MariaDB: a mariadb session holds GET_LOCK with docs/locks.md's name.
my_db=$(unique_name lock_my)
new_my_db "$my_db"
my_sql "$my_db" "CREATE TABLE t (id int)"
my_cfg=$T/my/drover.cfg
write_config "$my_cfg" "$MIGS" 'lock_wait = "1s";' "$ENVS" "myl dev $(my_url "$my_db")"
mariadb_session my_holder "$my_db"
session_send my_holder "SELECT CONNECTION_ID() FROM DUAL WHERE GET_LOCK('drover:$my_db:$LOCK_KEY', 0) = 1;"
wait_for 10 "the mariadb session to take its lock" grep -qx '[0-9][0-9]*' "$T/my_holder.session"
my_conn=$(cat "$T/my_holder.session")
drover_run 1 "$my_cfg" migrate --format json
assert_locked myl "connection $my_conn, user 'drover'@'127.0.0.1'"
assert_eq "" "$(my_sql "" "SELECT table_name FROM information_schema.tables
                           WHERE table_schema = '$my_db' AND table_name = 'SequelizeMeta'")" \
  "myl: drover did not even create SequelizeMeta"
assert_locks_show "$my_cfg" myl "connection $my_conn, user 'drover'@'127.0.0.1'"
session_end my_holder quit
drover_run 0 "$my_cfg" migrate --format json
assert_eq "succeeded|migrated|$MIG" \
  "$(jq_out '[.outcome, .tenants[0].outcome, (.tenants[0].applied | join(" "))] | join("|")')" \
  "myl: migrated once the holder let go"
assert_eq "$MIG" "$(my_sql "$my_db" 'SELECT name FROM `SequelizeMeta`')" "myl: recorded once"

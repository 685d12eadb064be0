#!/usr/bin/env bash
# retry.test.sh — transient faults are retried from a fresh session and nothing is applied
# twice; what may have half-applied is never retried: a PostgreSQL backend terminated inside a
# migration's transaction, table-lock timeouts (retried, not retried, per-environment value),
# a MariaDB connection killed inside or before a non-transactional migration, and a server
# that refuses connections.
# shellcheck disable=SC2016 # jq programs and SQL identifiers in single quotes
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

ENVS='{ name = "dev"; }'

# pg_rows DB: SequelizeMeta's rows, one a line, in byte order.
pg_rows() { pg_sql "$1" 'SELECT name FROM "SequelizeMeta" ORDER BY name COLLATE "C"'; }
# pg_tables DB: the tables of schema public, space-separated, in byte order.
pg_tables() {
  pg_sql "$1" "SELECT string_agg(tablename, ' ' ORDER BY tablename COLLATE \"C\")
               FROM pg_tables WHERE schemaname = 'public'"
}
my_rows() { my_sql "$1" 'SELECT name FROM `SequelizeMeta` ORDER BY BINARY name'; }
my_tables() {
  my_sql "" "SELECT table_name FROM information_schema.tables WHERE table_schema = '$1'
             ORDER BY BINARY table_name" | paste -sd ' ' -
}

# jq_out EXPR: EXPR on the last JSON stdout.
jq_out() { json_get "$OUT_FILE" "$1"; }

# last_run_id CONFIG: the id of the newest run in CONFIG's journal.
last_run_id() {
  "$DROVER_BIN" --config "$1" runs --format json | jq -r '.[0].id'
}

# --- 1. A PostgreSQL backend terminated inside a migration's transaction: the transaction
# is gone with it, so the migration is retried from a fresh session, and the migration before
# it, already committed, is not run again. The sleep only lasts while the table kill_marker
# exists; the test drops it once the sleep has begun, so the retry does not sleep again.
kill_db=$(unique_name retry_kill)
new_pg_db "$kill_db"
pg_sql "$kill_db" "CREATE TABLE kill_marker (id int)"
KILL_DIR=$T/kill/migrations
write_migration "$KILL_DIR" 20240101000001-create-a.sql "CREATE TABLE a (id int);" "DROP TABLE a;"
write_migration "$KILL_DIR" 20240101000002-create-b.sql \
  "CREATE TABLE b (id int);
SELECT pg_sleep(CASE WHEN to_regclass('kill_marker') IS NULL THEN 0 ELSE 3 END);
INSERT INTO b VALUES (1);" "DROP TABLE b;"
kill_cfg=$T/kill/drover.cfg
write_config "$kill_cfg" migrations "retries = 3; backoff_ms = 50; backoff_max_ms = 100;" \
  "$ENVS" "pgk dev $(pg_url "$kill_db")"

drover_start kill "$kill_cfg" migrate --format json
sleeping_backend() {
  # Scoped to this test's database: other tests' drover sessions sleep too.
  pg_sql "$kill_db" "SELECT pid FROM pg_stat_activity
                     WHERE datname = current_database()
                       AND application_name LIKE 'drover migrate%' AND state = 'active'
                       AND query LIKE 'SELECT pg_sleep(%' AND wait_event = 'PgSleep'"
}
wait_for 20 "drover's backend to sleep in migration 2" non_empty sleeping_backend
victim=$(sleeping_backend)
assert_eq "drover migrate pid ${DROVER_PID[kill]} on $(hostname)" \
  "$(pg_sql "$kill_db" "SELECT application_name FROM pg_stat_activity WHERE pid = $victim")" \
  "kill: the backend is the background drover's"
pg_sql "$kill_db" "DROP TABLE kill_marker"
assert_eq t "$(pg_sql postgres "SELECT pg_terminate_backend($victim)")" "kill: terminated"
drover_wait kill 0
assert_eq "succeeded|migrated|2|20240101000001-create-a.sql 20240101000002-create-b.sql|null" \
  "$(jq_out '[.outcome, .tenants[0].outcome, .tenants[0].attempts,
              (.tenants[0].applied | join(" ")), .tenants[0].error] | map(tostring) | join("|")')" \
  "kill: one retry, both migrations applied"
assert_eq "" "$ERR" "kill: nothing on stderr"
assert_eq $'20240101000001-create-a.sql\n20240101000002-create-b.sql' "$(pg_rows "$kill_db")" \
  "kill: each migration recorded once"
assert_eq "a b" "$(pg_tables "$kill_db" | sed 's/SequelizeMeta //')" "kill: the objects"
assert_eq 1 "$(pg_sql "$kill_db" "SELECT count(*) FROM b")" \
  "kill: the killed transaction's insert is gone, the retry's is there once"
assert_eq 0 "$(pg_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE pid = $victim")" \
  "kill: the terminated backend is gone"

run_id=$(last_run_id "$kill_cfg")
drover_run 0 "$kill_cfg" runs show "$run_id" --format json
assert_eq "succeeded|migrated|2" \
  "$(jq_out '[.outcome, .tenants[0].outcome, .tenants[0].attempts] | map(tostring) | join("|")')" \
  "kill: the journal's run"
assert_eq "1 20240101000001-create-a.sql up 1 true null
2 20240101000002-create-b.sql up 2 true null" \
  "$(jq_out '.tenants[0].steps[] | [.seq, .migration, .direction, .attempts, .ok, .error]
             | map(tostring) | join(" ")')" \
  "kill: the journal's steps: migration 2 took two attempts, kept as one step"

# --- 2. Table-lock timeouts. Another session holds an ACCESS EXCLUSIVE lock on t; the
# migration's ALTER TABLE waits lock_timeout (300 ms), fails with 55P03 and is retried from a
# fresh session. The holder lets go only once two of drover's sessions have been seen waiting
# (so at least one lock timeout was retried), while retries remain.
LT_DIR=$T/lt/migrations
write_migration "$LT_DIR" 20240102000001-add-x.sql "ALTER TABLE t ADD COLUMN x int;" \
  "ALTER TABLE t DROP COLUMN x;"
LT_DEFAULTS='lock_timeout = "300ms"; retries = 6; backoff_ms = 200; backoff_max_ms = 1000;'

# waiting_backends DB: the pids of drover sessions seen waiting for t's lock, appended to
# $T/waiters; succeeds once two different ones were seen.
waiting_backends() {
  pg_sql "$1" "SELECT pid FROM pg_stat_activity
               WHERE datname = current_database()
                 AND application_name LIKE 'drover migrate%' AND wait_event_type = 'Lock'
                 AND query = 'ALTER TABLE t ADD COLUMN x int'" >>"$T/waiters"
  [ "$(sort -u "$T/waiters" | wc -l)" -ge 2 ]
}
# x_columns DB: how many columns x table t has.
x_columns() {
  pg_sql "$1" "SELECT count(*) FROM pg_attribute
               WHERE attrelid = 't'::regclass AND attname = 'x' AND NOT attisdropped"
}
# hold_table_lock SESSION DB: a psql session that holds ACCESS EXCLUSIVE on t until
# "COMMIT;" is sent to it.
hold_table_lock() {
  psql_session "$1" "$2"
  session_send "$1" "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
  wait_for 10 "the lock on t in '$2'" grep -qx locked "$T/$1.session"
}

lt_db=$(unique_name retry_lt)
new_pg_db "$lt_db"
pg_sql "$lt_db" "CREATE TABLE t (id int)"
lt_cfg=$T/lt/drover.cfg
write_config "$lt_cfg" migrations "$LT_DEFAULTS" "$ENVS" "pglt dev $(pg_url "$lt_db")"
hold_table_lock lt_holder "$lt_db"
: >"$T/waiters"
drover_start lt "$lt_cfg" migrate --format json
wait_for 30 "two drover sessions waiting for t" waiting_backends "$lt_db"
session_send lt_holder "COMMIT;"
drover_wait lt 0
session_end lt_holder '\q'
assert_eq "succeeded|migrated|20240102000001-add-x.sql|null" \
  "$(jq_out '[.outcome, .tenants[0].outcome, (.tenants[0].applied | join(" ")),
              .tenants[0].error] | map(tostring) | join("|")')" "lock timeout: migrated"
lt_attempts=$(jq_out '.tenants[0].attempts')
if [ "$lt_attempts" -lt 2 ] || [ "$lt_attempts" -gt 7 ]; then
  fail "lock timeout: $lt_attempts attempts, expected 2 to 7 (retries = 6)"
fi
assert_eq 1 "$(x_columns "$lt_db")" "lock timeout: the column exists"
assert_eq 20240102000001-add-x.sql "$(pg_rows "$lt_db")" "lock timeout: recorded once"
drover_run 0 "$lt_cfg" runs show "$(last_run_id "$lt_cfg")" --format json
# ExecStep.error is "NULL when ok" (executor.h): the 55P03 of the attempts that were retried
# is not kept; the step records how many attempts it took.
assert_eq "20240102000001-add-x.sql up $lt_attempts true null" \
  "$(jq_out '.tenants[0].steps[] | [.migration, .direction, .attempts, .ok, .error]
             | map(tostring) | join(" ")')" \
  "lock timeout: one step, every attempt counted"

# The same with retries = 0: the first lock timeout is final, with its SQLSTATE, and the
# tenant is left as it was.
lt0_db=$(unique_name retry_lt0)
new_pg_db "$lt0_db"
pg_sql "$lt0_db" "CREATE TABLE t (id int)"
lt0_cfg=$T/lt0/drover.cfg
write_config "$lt0_cfg" "$LT_DIR" 'lock_timeout = "300ms"; retries = 0;' "$ENVS" \
  "pglt0 dev $(pg_url "$lt0_db")"
hold_table_lock lt0_holder "$lt0_db"
drover_run 1 "$lt0_cfg" migrate --format json
session_send lt0_holder "COMMIT;"
session_end lt0_holder '\q'
assert_eq "failed|failed|1||55P03|20240102000001-add-x.sql|ALTER TABLE t ADD COLUMN x int" \
  "$(jq_out '[.outcome, .tenants[0].outcome, .tenants[0].attempts,
              (.tenants[0].applied | join(" ")), .tenants[0].error.sqlstate,
              .tenants[0].error.migration, .tenants[0].error.statement] | join("|")')" \
  "lock timeout, no retries: failed with 55P03"
assert_eq "tenant 'pglt0': migration '20240102000001-add-x.sql': canceling statement due to lock timeout (SQLSTATE 55P03)" \
  "$(jq_out '.tenants[0].error.message')" "lock timeout, no retries: the message"
assert_eq 0 "$(x_columns "$lt0_db")" "lock timeout, no retries: no column x"
assert_eq "" "$(pg_rows "$lt0_db")" "lock timeout, no retries: nothing recorded"

# An environment's lock_timeout beats the defaults': each migration records the session's
# lock_timeout as it ran.
ov_dev=$(unique_name retry_ov_dev)
ov_prod=$(unique_name retry_ov_prod)
new_pg_db "$ov_dev"
new_pg_db "$ov_prod"
OV_DIR=$T/ov/migrations
write_migration "$OV_DIR" 20240103000001-record-lock-timeout.sql \
  "CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lock_timeout;" "DROP TABLE seen;"
ov_cfg=$T/ov/drover.cfg
write_config "$ov_cfg" migrations 'lock_timeout = "300ms";' \
  '{ name = "dev"; lock_timeout = "700ms"; }, { name = "prod"; }' \
  "ovdev dev $(pg_url "$ov_dev")" "ovprod prod $(pg_url "$ov_prod")"
drover_run 0 "$ov_cfg" migrate --format json
assert_eq "succeeded migrated migrated" \
  "$(jq_out '[.outcome, .tenants[].outcome] | join(" ")')" "lock_timeout override: migrated"
assert_eq 700ms "$(pg_sql "$ov_dev" "SELECT lock_timeout FROM seen")" \
  "lock_timeout override: dev's own value"
assert_eq 300ms "$(pg_sql "$ov_prod" "SELECT lock_timeout FROM seen")" \
  "lock_timeout override: prod falls back to the defaults"

# --- 3. MariaDB commits each statement of a migration as it goes. A connection killed after
# statement 1 leaves the tenant half-migrated: dirty, never retried, refused by later runs
# until an operator repairs it and resolves it. The sleeps last only while kill_marker exists.
MY_MARKER_SLEEP="DO SLEEP(IF(EXISTS(SELECT 1 FROM information_schema.tables
  WHERE table_schema = DATABASE() AND table_name = 'kill_marker'), 3, 0));"

# my_sleeper DB: the id of the connection that sleeps in DB's migration, if any.
my_sleeper() {
  my_sql "" "SELECT id FROM information_schema.PROCESSLIST
             WHERE db = '$1' AND info LIKE 'DO SLEEP(%' AND state = 'User sleep'"
}
# kill_sleeper DB: waits for the sleeping connection, drops the marker, kills the connection.
kill_sleeper() {
  wait_for 20 "drover's connection to sleep in '$1'" non_empty my_sleeper "$1"
  local victim
  victim=$(my_sleeper "$1")
  my_sql "$1" "DROP TABLE kill_marker; KILL $victim"
}

dirty_db=$(unique_name retry_dirty)
new_my_db "$dirty_db"
my_sql "$dirty_db" "CREATE TABLE kill_marker (id int)"
DIRTY_DIR=$T/dirty/migrations
DIRTY_MIG=20240104000001-half.sql
write_migration "$DIRTY_DIR" "$DIRTY_MIG" "CREATE TABLE half (id int);
$MY_MARKER_SLEEP" "DROP TABLE half;" transaction:false
dirty_cfg=$T/dirty/drover.cfg
write_config "$dirty_cfg" migrations "retries = 3; backoff_ms = 50;" "$ENVS" \
  "mydirty dev $(my_url "$dirty_db")"
drover_start dirty "$dirty_cfg" migrate --format json
kill_sleeper "$dirty_db"
drover_wait dirty 1
assert_eq "failed|dirty|1|true|$DIRTY_MIG||2013|DO SLEEP(IF(EXISTS(SELECT 1 FROM information_schema.tables
  WHERE table_schema = DATABASE() AND table_name = 'kill_marker'), 3, 0))" \
  "$(jq_out '.tenants[0] as $t | [.outcome, $t.outcome, $t.attempts, $t.partial, $t.dirty_migration,
             ($t.applied | join(" ")), $t.error.code, $t.error.statement] | map(tostring) | join("|")')" \
  "killed mid-migration: dirty after one attempt, the sleep named"
assert_eq "tenant 'mydirty': migration '$DIRTY_MIG': Lost connection to server during query — statement 2 failed after 1 statement of this migration had been applied without a transaction; they are not recorded in SequelizeMeta (error 2013)" \
  "$(jq_out '.tenants[0].error.message')" "killed mid-migration: the message"
assert_contains "$ERR" "drover resolve --tenant mydirty" "killed mid-migration: the hint on stderr"
assert_eq "SequelizeMeta half" "$(my_tables "$dirty_db")" "killed mid-migration: statement 1 stayed"
assert_eq "" "$(my_rows "$dirty_db")" "killed mid-migration: not recorded"

drover_run 0 "$dirty_cfg" status --format json
assert_eq "dirty|$DIRTY_MIG|$DIRTY_MIG" \
  "$(jq_out '.tenants[0] | [.state, .dirty_migration, (.pending | join(" "))] | join("|")')" \
  "status shows the tenant dirty"
drover_run 1 "$dirty_cfg" migrate --format json
assert_eq "failed|dirty|0||$DIRTY_MIG" \
  "$(jq_out '.tenants[0] as $t | [.outcome, $t.outcome, $t.attempts, ($t.applied | join(" ")),
             $t.dirty_migration] | map(tostring) | join("|")')" \
  "a dirty tenant is refused: nothing run"
assert_contains "$(jq_out '.tenants[0].error.message')" \
  "tenant 'mydirty': the tenant is dirty: migration '$DIRTY_MIG' may be half-applied (" \
  "the refusal names the migration"
assert_eq "SequelizeMeta half" "$(my_tables "$dirty_db")" "refused: tables unchanged"

drover_run 0 "$dirty_cfg" resolve --tenant mydirty
assert_eq "mydirty: dirty mark cleared" "$OUT" "resolve clears the mark"
drover_run 0 "$dirty_cfg" status --format json
assert_eq "behind" "$(jq_out '.tenants[0].state')" "resolved: status is behind, not dirty"
my_sql "$dirty_db" "DROP TABLE half"
drover_run 0 "$dirty_cfg" migrate --format json
assert_eq "succeeded|migrated|$DIRTY_MIG" \
  "$(jq_out '[.outcome, .tenants[0].outcome, (.tenants[0].applied | join(" "))] | join("|")')" \
  "repaired by hand: migrated"
assert_eq "SequelizeMeta half" "$(my_tables "$dirty_db")" "repaired: the table"
assert_eq "$DIRTY_MIG" "$(my_rows "$dirty_db")" "repaired: recorded once"

# A connection lost while a migration without a transaction was on its way leaves the tenant
# dirty even when, as here, the server's KILL stopped it before anything took effect: drover
# cannot tell that from a lost network path, after which MariaDB runs a multi-statement query
# to its end without its client, so a retry could replay it.
pre_db=$(unique_name retry_pre)
new_my_db "$pre_db"
my_sql "$pre_db" "CREATE TABLE kill_marker (id int)"
PRE_DIR=$T/pre/migrations
PRE_MIG=20240105000001-after-sleep.sql
write_migration "$PRE_DIR" "$PRE_MIG" "$MY_MARKER_SLEEP
CREATE TABLE made (id int);" "DROP TABLE made;" transaction:false
pre_cfg=$T/pre/drover.cfg
write_config "$pre_cfg" migrations "retries = 3; backoff_ms = 50;" "$ENVS" \
  "mypre dev $(my_url "$pre_db")"
drover_start pre "$pre_cfg" migrate --format json
kill_sleeper "$pre_db"
drover_wait pre 1
assert_eq "failed|dirty|1|true|$PRE_MIG|" \
  "$(jq_out '.tenants[0] as $t | [.outcome, $t.outcome, $t.attempts, $t.partial, $t.dirty_migration,
             ($t.applied | join(" "))] | map(tostring) | join("|")')" \
  "lost before statement 1 answered: dirty after one attempt, never replayed"
assert_contains "$(jq_out '.tenants[0].error.message')" \
  "the connection was lost while the migration ran without a transaction: the server may have run some, all or none of it" \
  "lost before statement 1 answered: the message says why"
assert_eq "SequelizeMeta" "$(my_tables "$pre_db")" "lost before statement 1 answered: nothing ran"
drover_run 0 "$pre_cfg" resolve --tenant mypre
drover_run 0 "$pre_cfg" migrate --format json
assert_eq "SequelizeMeta made" "$(my_tables "$pre_db")" "resolved: the rerun made the table"
assert_eq "$PRE_MIG" "$(my_rows "$pre_db")" "resolved: recorded once"

# A connection killed while it waits for the tenant's lock (GET_LOCK), before any migration
# statement, is retried; the retry takes the lock once the other session let it go.
gl_db=$(unique_name retry_gl)
new_my_db "$gl_db"
gl_cfg=$T/gl/drover.cfg
write_config "$gl_cfg" "$PRE_DIR" 'retries = 3; backoff_ms = 50; lock_wait = "20s";' "$ENVS" \
  "mygl dev $(my_url "$gl_db")"
gl_lock="drover:$gl_db:/.SequelizeMeta"
mariadb_session gl_holder "$gl_db"
session_send gl_holder "SELECT GET_LOCK('$gl_lock', 0);"
wait_for 10 "the lock '$gl_lock'" grep -qx 1 "$T/gl_holder.session"
drover_start gl "$gl_cfg" migrate --format json
lock_waiter() {
  my_sql "" "SELECT id FROM information_schema.PROCESSLIST
             WHERE db = '$gl_db' AND info LIKE 'SELECT GET_LOCK(%'"
}
wait_for 20 "drover to wait for '$gl_lock'" non_empty lock_waiter
my_sql "" "KILL $(lock_waiter)"
session_send gl_holder "SELECT RELEASE_LOCK('$gl_lock');"
session_end gl_holder quit
drover_wait gl 0
assert_eq "succeeded|migrated|2|$PRE_MIG" \
  "$(jq_out '.tenants[0] as $t | [.outcome, $t.outcome, $t.attempts, ($t.applied | join(" "))]
             | map(tostring) | join("|")')" "killed in GET_LOCK: retried, then migrated"
assert_eq "$PRE_MIG" "$(my_rows "$gl_db")" "killed in GET_LOCK: recorded once"

# --- 5. A server that refuses connections is tried retries + 1 times, then unreachable.
port=$(free_port)
refused_cfg=$T/refused/drover.cfg
write_config "$refused_cfg" "$PRE_DIR" "retries = 2; backoff_ms = 50; parallel = 2;" "$ENVS" \
  "pgdown dev postgres://drover:\${PGPW}@127.0.0.1:$port/nothing" \
  "mydown dev mysql://drover:\${MYPW}@127.0.0.1:$port/nothing"
drover_run 1 "$refused_cfg" migrate --format json
assert_eq "failed pgdown unreachable 3 mydown unreachable 3" \
  "$(jq_out '[.outcome, (.tenants[] | .id, .outcome, .attempts)] | map(tostring) | join(" ")')" \
  "refused: retries + 1 attempts each"
assert_contains "$(jq_out '.tenants[0].error.message')" \
  "tenant 'pgdown': cannot connect to postgres '127.0.0.1:$port/nothing': connection to server at \"127.0.0.1\", port $port failed: Connection refused" \
  "refused: the PostgreSQL error"
assert_eq 2002 "$(jq_out '.tenants[1].error.code')" "refused: MariaDB's errno"
assert_contains "$(jq_out '.tenants[1].error.message')" \
  "tenant 'mydown': cannot connect to mysql '127.0.0.1:$port/nothing': Can't connect to server on '127.0.0.1' (" \
  "refused: the MariaDB error (the OS errno in it varies with the client library)"
write_config "$refused_cfg" "$PRE_DIR" "retries = 0; backoff_ms = 50;" "$ENVS" \
  "pgdown dev postgres://drover:\${PGPW}@127.0.0.1:$port/nothing"
drover_run 1 "$refused_cfg" migrate --format json
assert_eq "failed unreachable 1" \
  "$(jq_out '[.outcome, .tenants[0].outcome, .tenants[0].attempts] | map(tostring) | join(" ")')" \
  "refused, retries = 0: one attempt"

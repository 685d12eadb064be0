#!/usr/bin/env bash
# concurrency.slow.test.sh — a tenant is migrated exactly once however many drover processes
# run at it: four `drover migrate` at once over 20 PostgreSQL and 10 MariaDB tenants, who held
# which tenant while they ran (`drover locks`), nothing left locked afterwards, the per-server
# cap as PostgreSQL sees it, and --shard I/N partitioning the fleet by the documented hash.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
N_PG=20
N_MY=10
PG_PREFIX=$(unique_name cpg)
MY_PREFIX=$(unique_name cmy)
CAP_PREFIX=$(unique_name ccap)
N_CAP=10

# The databases: PREFIX_NN, so that a LIKE on the prefix finds exactly this test's ones.
PG_IDS=() MY_IDS=() CAP_IDS=()
for i in $(seq -w 1 $N_PG); do PG_IDS+=("pg$i"); done
for i in $(seq -w 1 $N_MY); do MY_IDS+=("my$i"); done
for i in $(seq -w 1 $N_CAP); do CAP_IDS+=("cap$i"); done
ALL_IDS=("${PG_IDS[@]}" "${MY_IDS[@]}")
pg_db_of() { echo "${PG_PREFIX}_${1#pg}"; }
my_db_of() { echo "${MY_PREFIX}_${1#my}"; }
cap_db_of() { echo "${CAP_PREFIX}_${1#cap}"; }

# like_prefix PREFIX: a LIKE pattern for the databases PREFIX_* ('_' is a LIKE wildcard).
like_prefix() { echo "${1//_/\\_}\\_%"; }

PIDS=()
cleanup() {
  local pid id sql=""
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for id in "${PG_IDS[@]}"; do sql+="DROP DATABASE IF EXISTS \"$(pg_db_of "$id")\" WITH (FORCE);"$'\n'; done
  for id in "${CAP_IDS[@]}"; do sql+="DROP DATABASE IF EXISTS \"$(cap_db_of "$id")\" WITH (FORCE);"$'\n'; done
  pg_sql postgres "$sql"
  sql=""
  for id in "${MY_IDS[@]}"; do sql+="DROP DATABASE IF EXISTS \`$(my_db_of "$id")\`;"; done
  my_sql "" "$sql"
}
# lib.sh owns the EXIT trap; drop the databases first, keeping the test's exit status.
trap 'rc=$?; cleanup >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT

export PGPW=$DROVER_TEST_PG_PASSWORD MYPW=$DROVER_TEST_MYSQL_PASSWORD
PG_URL="postgres://$DROVER_TEST_PG_USER:\${PGPW}@$DROVER_TEST_PG_HOST:$DROVER_TEST_PG_PORT"
MY_URL="mysql://$DROVER_TEST_MYSQL_USER:\${MYPW}@$DROVER_TEST_MYSQL_HOST:$DROVER_TEST_MYSQL_PORT"

# Every tenant starts with applied_log, the side effect a second application of a migration
# would leave twice (it has no unique key). The PostgreSQL tenants also get sleep(seconds),
# MariaDB's SLEEP, so that one set of migration files serves both dialects.
setup_sql=""
for id in "${PG_IDS[@]}"; do setup_sql+="CREATE DATABASE \"$(pg_db_of "$id")\";"$'\n'; done
for id in "${PG_IDS[@]}"; do
  setup_sql+="\\c $(pg_db_of "$id")"$'\n'
  setup_sql+="CREATE TABLE applied_log (migration VARCHAR(255) NOT NULL);"$'\n'
  setup_sql+="CREATE FUNCTION sleep(seconds float8) RETURNS void LANGUAGE sql AS 'SELECT pg_sleep(seconds)';"$'\n'
done
pg_sql postgres "$setup_sql"
setup_sql=""
for id in "${MY_IDS[@]}"; do
  dbname=$(my_db_of "$id")
  setup_sql+="CREATE DATABASE \`$dbname\`; CREATE TABLE \`$dbname\`.applied_log (migration VARCHAR(255) NOT NULL);"
done
my_sql "" "$setup_sql"

# write_migration NAME UP_SQL: a migration whose up section runs UP_SQL, then logs itself.
write_migration() {
  mkdir -p "$T/migrations"
  printf -- '-- migrate:up\n%s\nINSERT INTO applied_log (migration) VALUES (%s);\n\n-- migrate:down\nSELECT 1;\n' \
    "$2" "'$1'" >"$T/migrations/$1"
}
MIGS=(
  20240301000001-create-users.sql
  20240301000002-create-orgs.sql
  20240301000003-add-users-name.sql
  20240301000004-create-tags.sql
  20240301000005-index-users-email.sql
  20240301000006-create-comments.sql
)
write_migration "${MIGS[0]}" "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL);"
write_migration "${MIGS[1]}" "SELECT SLEEP(0.3);
CREATE TABLE orgs (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);"
write_migration "${MIGS[2]}" "ALTER TABLE users ADD COLUMN name VARCHAR(100);"
write_migration "${MIGS[3]}" "CREATE TABLE tags (id INTEGER PRIMARY KEY, label VARCHAR(50) NOT NULL);"
write_migration "${MIGS[4]}" "SELECT SLEEP(0.3);
CREATE INDEX users_email ON users (email);"
write_migration "${MIGS[5]}" "CREATE TABLE comments (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"

CFG=$T/fleet/drover.cfg
{
  echo 'migrations = { path = "../migrations"; };'
  echo 'environments = ( { name = "prod"; } );'
  echo 'tenants = ('
  sep=""
  for id in "${PG_IDS[@]}"; do
    printf '%s  { id = "%s"; env = "prod"; url = "%s/%s"; }\n' "$sep" "$id" "$PG_URL" "$(pg_db_of "$id")"
    sep=","
  done
  for id in "${MY_IDS[@]}"; do
    printf ',  { id = "%s"; env = "prod"; url = "%s/%s"; }\n' "$id" "$MY_URL" "$(my_db_of "$id")"
  done
  echo ');'
} | write_inventory "$CFG"

drover() { "$DROVER_BIN" --config "$CFG" "$@"; }
alive() { kill -0 "$1" 2>/dev/null; }
any_alive() {
  local pid
  for pid in "${PIDS[@]}"; do alive "$pid" && return 0; done
  return 1
}
is_one_of() {
  local x=$1 y
  shift
  for y in "$@"; do [ "$x" = "$y" ] && return 0; done
  return 1
}

# --- 1. Four processes at once, same inventory, default lock_wait (30 s) ---------------------
for i in 1 2 3 4; do
  "$DROVER_BIN" --config "$CFG" migrate --format json >"$T/run$i.json" 2>"$T/run$i.err" &
  PIDS+=($!)
done

# While they run, `drover locks` names the holder of a PostgreSQL tenant: one of the four.
holder_pid=""
while [ -z "$holder_pid" ] && any_alive; do
  assert_exit 0 drover locks
  for pid in $(grep -o "application_name 'drover migrate pid [0-9]* on " <<<"$OUT" |
               grep -o '[0-9]*' || true); do
    if is_one_of "$pid" "${PIDS[@]}"; then
      holder_pid=$pid
      held_line=$(grep -m 1 "drover migrate pid $pid on " <<<"$OUT")
    fi
  done
done
[ -n "$holder_pid" ] || fail "'drover locks' never showed a tenant held by one of the four runs"
assert_contains "$held_line" " (prod): pid "
assert_contains "$held_line" ", client 127.0.0.1, since "

RCS=()
for pid in "${PIDS[@]}"; do
  rc=0
  wait "$pid" || rc=$?
  RCS+=("$rc")
done
PIDS=()

# Each process: exit 0 with every tenant migrated or up to date; exit 1 only when a tenant
# stayed locked past lock_wait, and then the run is "incomplete", not failed.
for i in 1 2 3 4; do
  out=$T/run$i.json
  rc=${RCS[$((i - 1))]}
  assert_eq "${ALL_IDS[*]}" "$(json_get "$out" '[.tenants[].id] | join(" ")')" "run $i: tenants"
  assert_eq "" "$(json_get "$out" '[.tenants[].outcome
      | select(. != "migrated" and . != "up_to_date" and . != "locked")] | join(" ")')" \
    "run $i: a tenant outcome other than migrated, up_to_date or locked"
  assert_eq "[]" "$(json_get "$out" '[.tenants[] | select((.outcome == "migrated")
      != (.applied | length > 0)) | .id] | tostring')" "run $i: applied lists match outcomes"
  locked=$(json_get "$out" '.summary.locked')
  case $rc in
    0)
      assert_eq succeeded "$(json_get "$out" .outcome)" "run $i: outcome"
      assert_eq 0 "$locked" "run $i: locked tenants with exit 0"
      assert_eq "" "$(cat "$T/run$i.err")" "run $i: stderr"
      ;;
    1)
      assert_eq incomplete "$(json_get "$out" .outcome)" "run $i: outcome with exit 1"
      [ "$locked" -gt 0 ] || fail "run $i: exit 1 without a locked tenant: $(cat "$T/run$i.err")"
      assert_eq "" "$(json_get "$out" '[.tenants[] | select(.outcome == "locked")
          | select(.error.message | contains("another process held the tenant'"'"'s lock") | not)
          | .id] | join(" ")')" "run $i: locked tenants say who held them"
      ;;
    *) fail "run $i: exit status $rc"$'\n'"$(cat "$T/run$i.err")" ;;
  esac
done

# Summed over the four reports, each (tenant, migration) was applied by exactly one process.
expected_pairs=$(for id in "${ALL_IDS[@]}"; do for m in "${MIGS[@]}"; do echo "$id $m"; done; done |
                 LC_ALL=C sort)
actual_pairs=$(jq -r '.tenants[] | .id as $id | .applied[] | "\($id) \(.)"' "$T"/run[1-4].json |
               LC_ALL=C sort)
assert_eq "$expected_pairs" "$actual_pairs" "every (tenant, migration) applied by exactly one run"
echo "applied per run: $(for i in 1 2 3 4; do
  printf '%s ' "$(json_get "$T/run$i.json" '[.tenants[].applied | length] | add')"; done)"

# In the databases: SequelizeMeta holds every migration once, applied_log one row per
# migration, and the objects are there.
meta_expected=$(printf '%s\n' "${MIGS[@]}")
log_expected=$(printf '%s|1\n' "${MIGS[@]}")
for id in "${PG_IDS[@]}"; do
  dbname=$(pg_db_of "$id")
  assert_eq "$meta_expected" "$(pg_sql "$dbname" 'SELECT name FROM "SequelizeMeta" ORDER BY name COLLATE "C"')" \
    "$id: SequelizeMeta"
  assert_eq "$log_expected" "$(pg_sql "$dbname" 'SELECT migration, count(*) FROM applied_log
      GROUP BY migration ORDER BY migration COLLATE "C"')" "$id: applied_log"
  assert_eq "applied_log comments orgs tags users" "$(pg_sql "$dbname" "SELECT string_agg(tablename, ' '
      ORDER BY tablename COLLATE \"C\") FROM pg_tables WHERE schemaname = 'public'
      AND tablename <> 'SequelizeMeta'")" "$id: tables"
done
for id in "${MY_IDS[@]}"; do
  dbname=$(my_db_of "$id")
  assert_eq "$meta_expected" "$(my_sql "$dbname" 'SELECT name FROM SequelizeMeta ORDER BY name')" \
    "$id: SequelizeMeta"
  assert_eq "$(tr '|' '\t' <<<"$log_expected")" "$(my_sql "$dbname" 'SELECT migration, COUNT(*)
      FROM applied_log GROUP BY migration ORDER BY migration')" "$id: applied_log"
  assert_eq "applied_log comments orgs tags users" "$(my_sql "$dbname" "SELECT GROUP_CONCAT(table_name
      ORDER BY table_name SEPARATOR ' ') FROM information_schema.tables WHERE table_schema = '$dbname'
      AND table_name <> 'SequelizeMeta'")" "$id: tables"
done

# Afterwards nobody holds anything: drover says so, and PostgreSQL has no advisory lock and
# no drover session left in these databases (a backend may take a moment to exit).
assert_exit 0 drover locks
assert_eq "$(for id in "${ALL_IDS[@]}"; do echo "$id (prod): free"; done)" "$OUT" "locks after the runs"
PG_LIKE=$(like_prefix "$PG_PREFIX")
assert_eq 0 "$(pg_sql postgres "SELECT count(*) FROM pg_locks l JOIN pg_database d
    ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname LIKE '$PG_LIKE'")" \
  "advisory locks left in pg_locks"
drover_sessions() {
  pg_sql postgres "SELECT count(*) FROM pg_stat_activity
      WHERE application_name LIKE 'drover%' AND datname LIKE '$1'"
}
for _ in $(seq 50); do
  [ "$(drover_sessions "$PG_LIKE")" = 0 ] && break
  sleep 0.1
done
assert_eq 0 "$(drover_sessions "$PG_LIKE")" "drover sessions left in pg_stat_activity"

# A fifth run finds nothing to do.
assert_exit 0 drover migrate --format json
assert_eq "$((N_PG + N_MY))" "$(json_get "$OUT_FILE" .summary.up_to_date)" "a fifth run: up to date"

# --- 2. --shard I/N: shard of FNV-1a 32 of the id, modulo N (inventory.h) -------------------
fnv1a32() {
  local s=$1 h=2166136261 i c
  for ((i = 0; i < ${#s}; i++)); do
    printf -v c '%d' "'${s:i:1}"
    h=$(((h ^ c) * 16777619 & 0xffffffff))
  done
  echo "$h"
}
all_sharded=()
for shard in 0 1 2; do
  expected=()
  for id in "${ALL_IDS[@]}"; do
    [ $(($(fnv1a32 "$id") % 3)) = "$shard" ] && expected+=("$id")
  done
  [ ${#expected[@]} -gt 0 ] || fail "shard $shard/3 is empty: pick other tenant ids"
  for attempt in 1 2; do
    assert_exit 0 drover plan --shard "$shard/3" --format json
    assert_eq "${expected[*]}" "$(json_get "$OUT_FILE" '[.tenants[].id] | join(" ")')" \
      "shard $shard/3, invocation $attempt: tenants"
    assert_eq "up_to_date" "$(json_get "$OUT_FILE" '[.tenants[].outcome] | unique | join(" ")')" \
      "shard $shard/3: outcomes"
  done
  all_sharded+=("${expected[@]}")
done
assert_eq "$(printf '%s\n' "${ALL_IDS[@]}" | sort)" "$(printf '%s\n' "${all_sharded[@]}" | sort)" \
  "the three shards hold every tenant exactly once"

# --- 3. max_per_server = 2 with --parallel 8: PostgreSQL never sees more than two sessions ----
# Each job holds one connection (its lock is on it), so two sessions at most. Two migrations
# per tenant count drover's sessions on this test's cap databases after a short sleep (so that
# the previous job's backend has exited) and record the count in the tenant's probe table.
CAP_LIKE=$(like_prefix "$CAP_PREFIX")
setup_sql=""
for id in "${CAP_IDS[@]}"; do setup_sql+="CREATE DATABASE \"$(cap_db_of "$id")\";"$'\n'; done
for id in "${CAP_IDS[@]}"; do
  setup_sql+="\\c $(cap_db_of "$id")"$'\n'"CREATE TABLE probe (migration text, sessions int);"$'\n'
done
pg_sql postgres "$setup_sql"
mkdir -p "$T/cap-migrations"
for m in 20240401000001-probe-a.sql 20240401000002-probe-b.sql; do
  cat >"$T/cap-migrations/$m" <<EOF
-- migrate:up
SELECT pg_sleep(0.2);
INSERT INTO probe SELECT '$m', count(*) FROM pg_stat_activity
  WHERE application_name LIKE 'drover%' AND datname LIKE '$CAP_LIKE';

-- migrate:down
DELETE FROM probe WHERE migration = '$m';
EOF
done
CAP_CFG=$T/cap/drover.cfg
{
  echo 'migrations = { path = "../cap-migrations"; };'
  echo 'defaults = { max_per_server = 2; };'
  echo 'environments = ( { name = "prod"; } );'
  echo 'tenants = ('
  sep=""
  for id in "${CAP_IDS[@]}"; do
    printf '%s  { id = "%s"; env = "prod"; url = "%s/%s"; }\n' "$sep" "$id" "$PG_URL" "$(cap_db_of "$id")"
    sep=","
  done
  echo ');'
} | write_inventory "$CAP_CFG"

assert_exit 0 "$DROVER_BIN" --config "$CAP_CFG" migrate --parallel 8 --format json
assert_eq "$N_CAP" "$(json_get "$OUT_FILE" .summary.migrated)" "cap: every tenant migrated"
probes=""
for id in "${CAP_IDS[@]}"; do
  probes+="$(pg_sql "$(cap_db_of "$id")" 'SELECT sessions FROM probe')"$'\n'
done
assert_eq "$((N_CAP * 2))" "$(grep -c . <<<"$probes")" "cap: one probe per migration"
# Two exactly: never more, and the probe does see the other job running beside it.
assert_eq 2 "$(sort -n <<<"$probes" | tail -n 1)" "cap: most drover sessions seen at once"

#!/usr/bin/env bash
# windows.test.sh — maintenance windows (an environment's `window`). Outside its window an
# environment's tenants are not started (and later environments wait), with the next opening
# named; --ignore-window overrides and the journal keeps the command line that said so; a
# window closing in the middle of a run lets running tenants finish and starts no other; a bad
# window is exit 2 with file:line. SQLite tenants throughout, then the same on PostgreSQL and
# MariaDB tenants: a closed window leaves their databases untouched, and a window closing mid-run
# stops the running tenant at a migration boundary and skips the next one.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"
# shellcheck disable=SC2016 # jq programs

jq_out() { json_get "$OUT_FILE" "$1"; }
# About a second of SQLite work per tenant.
SPIN="SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2500000) SELECT x FROM c);"
write_migration "$T/m" 20241101000001-a.sql "CREATE TABLE a (id int);
$SPIN" "DROP TABLE a;"
# clock OFFSET_SECONDS: UTC wall-clock time of now + OFFSET as HH:MM:SS.
clock() { date -u -d "@$(($(date +%s) + $1))" +%H:%M:%S; }
cfg() { # FILE STAGING_WINDOW PROD_WINDOW [DEFAULTS]
  local sw=${2:+ window = \"$2\";} pw=${3:+ window = \"$3\";}
  write_config "$1" "$T/m" "${4:-}" "{ name = \"staging\";$sw }, { name = \"prod\";$pw }" \
    "s1 staging sqlite:$T/s1.db" "p1 prod sqlite:$T/p1.db" "p2 prod sqlite:$T/p2.db"
}

# --- a closed window: nothing of prod starts; staging (always open) runs -----------------------
CLOSED="daily $(clock 43200)-$(clock 43260) UTC"
cfg "$T/closed.cfg" "" "$CLOSED"
drover_run 1 "$T/closed.cfg" migrate --format json
assert_eq "halted|s1:migrated p1:skipped p2:skipped" \
  "$(jq_out '"\(.outcome)|\([.tenants[] | "\(.id):\(.outcome)"] | join(" "))"')" \
  "outside prod's window: prod's tenants skipped"
assert_contains "$ERR" "environment 'prod' is outside its maintenance window ($CLOSED); it next opens " \
  "the reason, with the window"
assert_contains "$ERR" ", in 12 h 00 min; nothing of it was started" "when it opens next"
[ ! -e "$T/p1.db" ] && [ ! -e "$T/p2.db" ] || fail "a tenant outside its window was touched"
_lib_pass

# The window gates writes only; --ignore-window overrides and the journal shows it.
drover_run 10 "$T/closed.cfg" status --exit-code
drover_run 0 "$T/closed.cfg" migrate --ignore-window --format json
assert_eq "succeeded|p1:migrated p2:migrated" \
  "$(jq_out '"\(.outcome)|\([.tenants[] | select(.env == "prod") | "\(.id):\(.outcome)"] | join(" "))"')"
drover_run 0 "$T/closed.cfg" runs --format json
assert_contains "$(jq_out '.[0].argv')" "--ignore-window" "the journal keeps --ignore-window"

# --- staging outside its window: prod, later in the rollout, does not start either -------------
rm -f "$T"/s1.db "$T"/p1.db "$T"/p2.db "$T"/drover-journal.db
cfg "$T/staged.cfg" "$CLOSED" "daily 00:00-23:59:59 UTC"
drover_run 1 "$T/staged.cfg" migrate --format json
assert_eq "s1:skipped p1:skipped p2:skipped" "$(jq_out '[.tenants[] | "\(.id):\(.outcome)"] | join(" ")')" \
  "a closed earlier environment holds the later ones"

# --- a window that closes while the run goes on -----------------------------------------------
rm -f "$T"/*.db
CLOSING_TENANTS=()
for k in $(seq 1 16); do CLOSING_TENANTS+=("t$k prod sqlite:$T/t$k.db"); done # ~0.4 s each
write_config "$T/closing.cfg" "$T/m" "parallel = 1;" \
  "{ name = \"prod\"; window = \"daily $(clock -60)-$(clock 3) UTC\"; }" "${CLOSING_TENANTS[@]}"
drover_run 1 "$T/closing.cfg" migrate --format json
migrated=$(jq_out '[.tenants[] | select(.outcome == "migrated")] | length')
skipped=$(jq_out '[.tenants[] | select(.outcome == "skipped")] | length')
[ "$migrated" -ge 1 ] && [ "$skipped" -ge 1 ] && [ $((migrated + skipped)) = 16 ] ||
  fail "the window closing mid-run: $migrated migrated, $skipped skipped"
_lib_pass
assert_contains "$ERR" "environment 'prod': its maintenance window closed; tenants not started yet were skipped"
for id in $(jq_out '.tenants[] | select(.outcome == "skipped") | .id'); do
  [ ! -e "$T/$id.db" ] || fail "$id was skipped but touched"
done
_lib_pass

# --- a running tenant stops at the boundary of the migration it is in when the window closes ---
rm -f "$T"/*.db "$T/drover-journal.db"
mkdir -p "$T/m4"
for k in $(seq 10 21); do # twelve migrations of about 0.4 s each, a window of 2 s
  write_migration "$T/m4" "202411020000$k-m$k.sql" "CREATE TABLE m$k (id int);
$SPIN" "DROP TABLE m$k;"
done
write_config "$T/boundary.cfg" "$T/m4" "" \
  "{ name = \"prod\"; window = \"daily $(clock -60)-$(clock 2) UTC\"; }" "solo prod sqlite:$T/solo.db"
drover_run 1 "$T/boundary.cfg" migrate --format json
applied=$(jq_out '.tenants[0].applied | length')
[ "$applied" -ge 1 ] && [ "$applied" -le 11 ] || fail "the window closed mid-tenant: $applied of 12 applied"
_lib_pass
assert_eq "migrated" "$(jq_out '.tenants[0].outcome')" "the tenant stopped at a boundary, what it applied recorded"
assert_eq "$applied" "$(sqlite_sql "$T/solo.db" 'SELECT count(*) FROM SequelizeMeta')" \
  "SequelizeMeta holds exactly the migrations applied"
assert_eq "$applied" "$(sqlite_sql "$T/solo.db" "SELECT count(*) FROM sqlite_master WHERE name GLOB 'm[0-9][0-9]'")" \
  "and their tables, no half migration"

# --- PostgreSQL and MariaDB: a closed window touches nothing; one closing mid-run skips the rest --
# meta_tables DIALECT DB: how many SequelizeMeta tables the tenant's database has (0: untouched).
meta_tables() {
  case $1 in
    pg) pg_sql "$2" "SELECT count(*) FROM pg_tables WHERE tablename = 'SequelizeMeta'" ;;
    my) my_sql "$2" "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$2' AND table_name = 'SequelizeMeta'" ;;
  esac
}
# server_count DIALECT DB SQL: one number from the tenant's database.
server_count() { case $1 in pg) pg_sql "$2" "$3" ;; my) my_sql "$2" "$3" ;; esac; }
for d in pg my; do
  # shellcheck disable=SC2016 # MariaDB's backquotes are SQL, not a command substitution
  case $d in
    pg) sleep_sql='SELECT pg_sleep(0.4);' meta_sql='SELECT count(*) FROM "SequelizeMeta"' tables_sql="SELECT count(*) FROM pg_tables WHERE tablename ~ '^m[0-9]{2}$'" ;;
    my) sleep_sql='DO SLEEP(0.4);' meta_sql='SELECT count(*) FROM `SequelizeMeta`' tables_sql="SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name REGEXP '^m[0-9]{2}$'" ;;
  esac
  mkdir -p "$T/$d/m"
  for k in $(seq 10 21); do # twelve migrations of about 0.4 s each
    write_migration "$T/$d/m" "202411030000$k-m$k.sql" "CREATE TABLE m$k (id int);
$sleep_sql" "DROP TABLE m$k;"
  done
  first=$(unique_name "win${d}a") second=$(unique_name "win${d}b")
  new_${d}_db "$first"
  new_${d}_db "$second"
  tenants=("${d}a prod $(${d}_url "$first")" "${d}b prod $(${d}_url "$second")")

  write_config "$T/$d/closed.cfg" "$T/$d/m" "" "{ name = \"prod\"; window = \"$CLOSED\"; }" "${tenants[@]}"
  drover_run 1 "$T/$d/closed.cfg" migrate --format json
  assert_eq "${d}a:skipped ${d}b:skipped" "$(jq_out '[.tenants[] | "\(.id):\(.outcome)"] | join(" ")')" \
    "$d: outside the window every tenant is skipped"
  assert_eq "0 0" "$(meta_tables $d "$first") $(meta_tables $d "$second")" \
    "$d: a closed window created nothing in the tenants' databases"

  # One tenant at a time and a window of 2 s: the first stops at a boundary, the second never starts.
  write_config "$T/$d/closing.cfg" "$T/$d/m" "parallel = 1;" \
    "{ name = \"prod\"; window = \"daily $(clock -60)-$(clock 2) UTC\"; }" "${tenants[@]}"
  drover_run 1 "$T/$d/closing.cfg" migrate --format json
  assert_eq "${d}a:migrated ${d}b:skipped" "$(jq_out '[.tenants[] | "\(.id):\(.outcome)"] | join(" ")')" \
    "$d: the running tenant ends at a boundary, the next is skipped"
  applied=$(jq_out '.tenants[] | select(.id == "'"${d}a"'") | .applied | length')
  [ "$applied" -ge 1 ] && [ "$applied" -le 11 ] || fail "$d: the window closed mid-tenant: $applied of 12 applied"
  _lib_pass
  assert_eq "$applied $applied" \
    "$(server_count $d "$first" "$meta_sql") $(server_count $d "$first" "$tables_sql")" \
    "$d: SequelizeMeta and the tables hold exactly the migrations applied"
  assert_eq "0" "$(meta_tables $d "$second")" "$d: the skipped tenant was not touched"
done

# --- a tenant started in its window but held at its lock until the window closed: untouched ---
# drover takes the tenant while the window is open, then waits for its lock, which psql holds
# until the window has closed: the tenant is skipped with not even SequelizeMeta created.
held=$(unique_name winheld)
new_pg_db "$held"
write_config "$T/pg/held.cfg" "$T/pg/m" 'lock_wait = "30s";' \
  "{ name = \"prod\"; window = \"daily $(clock -60)-$(clock 2) UTC\"; }" "pgh prod $(pg_url "$held")"
psql_session held_lock "$held"
session_send held_lock "SELECT pg_backend_pid() FROM pg_advisory_lock($(pg_lock_key /.SequelizeMeta)) l;"
wait_for 10 "psql to take the tenant's lock" grep -qx '[0-9][0-9]*' "$T/held_lock.session"
drover_start held "$T/pg/held.cfg" migrate --format json
sleep 3.5 # drover took the tenant at once; the window closes 2 s in, while it waits
session_end held_lock '\q'
drover_wait held 1
assert_eq "pgh:skipped" "$(json_get "$OUT_FILE" '[.tenants[] | "\(.id):\(.outcome)"] | join(" ")')" \
  "a tenant whose window closed while it waited for its lock is skipped"
assert_eq "0" "$(meta_tables pg "$held")" "and untouched: not even SequelizeMeta was created"

# --- bad windows: exit 2 with the file and line ------------------------------------------------
for bad in "Someday 02:00-05:00 UTC" "Sat 02:00-02:00 UTC" "Sat 25:00-26:00 UTC" "Sat 02:00-05:00 Mars/Olympus"; do
  write_config "$T/bad.cfg" "$T/m" "" "{ name = \"prod\";
    window = \"$bad\"; }" "x prod sqlite:$T/x.db"
  drover_run 2 "$T/bad.cfg" migrate
  assert_contains "$ERR" "bad.cfg:4: window '$bad': " "a bad window: $bad"
done
[ ! -e "$T/x.db" ] || fail "a bad window touched a tenant"
_lib_pass

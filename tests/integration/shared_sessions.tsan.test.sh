#!/usr/bin/env bash
# shared_sessions.tsan.test.sh — read-only commands over PostgreSQL schema-per-tenant share
# connections: twelve tenant schemas in one database are read by two workers over two
# sessions (pg_stat_database counts them), and each tenant is still read in its own schema:
# one behind, one with an unknown row, one hand-altered (schema drift), the rest current.
# A tenant in another database, and every write, still gets a session of its own.
# Also run by the ThreadSanitizer build: workers hand connections to each other.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
DB=$(unique_name shared)
OTHER=$(unique_name shared_other)
trap 'rc=$?; pg_drop_db "$DB" >/dev/null 2>&1; pg_drop_db "$OTHER" >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT
pg_create_db "$DB"
pg_create_db "$OTHER"
N=12
for i in $(seq 1 $N); do echo "CREATE SCHEMA t$i;"; done >"$T/schemas.sql"
pg_sql "$DB" "$(cat "$T/schemas.sql")"

M1=20240101000001-items.sql
M2=20240101000002-tags.sql
mkdir -p "$T/migrations"
printf -- '-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE items;\n' >"$T/migrations/$M1"
printf -- '-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE tags;\n' >"$T/migrations/$M2"
PG="postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT"
{
  echo 'migrations = { path = "migrations"; };'
  echo 'environments = ( { name = "dev"; } );'
  echo 'tenants = ('
  for i in $(seq 1 $N); do echo "  { id = \"t$i\"; env = \"dev\"; url = \"$PG/$DB?schema=t$i\"; },"; done
  echo "  { id = \"other\"; env = \"dev\"; url = \"$PG/$OTHER\"; }"
  echo ');'
} | write_inventory "$T/drover.cfg"
drover() { "$DROVER_BIN" --config "$T/drover.cfg" "$@"; }
sessions() {
  sleep 0.5   # a backend's exit reaches the statistics shortly after it disconnects
  pg_sql postgres "SELECT sessions FROM pg_stat_database WHERE datname = '$DB'"
}

before=$(sessions)
assert_exit 0 drover migrate --parallel 2
after=$(sessions)
# each migrate job has a session of its own: it holds the tenant's lock (the session its no-op
# check read SequelizeMeta with, handed over: no extra connection)
assert_eq $N $((after - before)) "migrate: a session per tenant"

# A deploy with nothing to do reads every schema without taking locks, on shared sessions.
before=$(sessions)
assert_exit 0 drover migrate --parallel 2
after=$(sessions)
assert_eq 2 $((after - before)) "no-op migrate: two workers, two sessions for twelve schemas"
assert_contains "$OUT" "migrate: 13 tenants, 13 up_to_date"

assert_exit 0 drover undo --tenant t3 --steps 1
pg_sql "$DB" "INSERT INTO t5.\"SequelizeMeta\" (name) VALUES ('20230101000000-gone.sql')"
pg_sql "$DB" "ALTER TABLE t8.items ADD COLUMN note text"

before=$(sessions)
assert_exit 0 drover status --schema --parallel 2 --format json --out "$T/status.json"
after=$(sessions)
assert_eq 2 $((after - before)) "status: two workers, two sessions for twelve schemas"
states=$(json_get "$T/status.json" '[.tenants[] | "\(.id):\(.state):\(.applied | length)"] | join(" ")')
assert_eq "t1:current:2 t2:current:2 t3:behind:1 t4:current:2 t5:drifted:2 t6:current:2 t7:current:2 t8:drifted:2 t9:current:2 t10:current:2 t11:current:2 t12:current:2 other:current:2" \
  "$states" "every tenant read in its own schema"
assert_eq "column items.note text" "$(json_get "$T/status.json" '.tenants[] | select(.id == "t8") | .schema_drift.added | join(",")')" \
  "t8: its own catalog"
assert_eq '["20230101000000-gone.sql"]' "$(jq -c '.tenants[] | select(.id == "t5") | .unknown' "$T/status.json")" \
  "t5: its own SequelizeMeta"

before=$(sessions)
assert_exit 0 drover plan --parallel 1
after=$(sessions)
assert_eq 1 $((after - before)) "plan: one worker, one session"
assert_eq "t3 (dev, postgres): 1 applied, would apply 1
    apply:
      $M2
t4 (dev, postgres): up to date" "$(sed -n '/^t3 /,/^t4 /p' <<<"$OUT")" "plan: t3's own pending migration"

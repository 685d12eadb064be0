#!/usr/bin/env bash
# parallel.tsan.test.sh — a fleet of SQLite tenants through the real binary at --parallel 8:
# the pool, the in-process lock keys, the rollout loop and the journal under concurrency. It
# also runs in the ThreadSanitizer build (label tsan), where any data race fails it.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

T=$DROVER_TEST_TMPDIR
MIG=$DROVER_SOURCE_DIR/conf/demo/migrations
NMIG=$(find "$MIG" -name '*.sql' | wc -l)
drover() { "$DROVER_BIN" --config "$T/drover.cfg" "$@"; }

# 24 tenants across three environments, plus two inventory entries that point at the same
# database file: one lock key, so the pool must never run them at once.
{
  echo "migrations = { path = \"$MIG\"; };"
  echo 'environments = ( { name = "dev"; }, { name = "staging"; }, { name = "prod"; } );'
  echo "tenants = ("
  for i in $(seq 1 24); do
    env=prod
    [ "$i" -le 4 ] && env=dev
    [ "$i" -gt 4 ] && [ "$i" -le 10 ] && env=staging
    echo "  { id = \"t$i\"; env = \"$env\"; url = \"sqlite:tenants/t$i.db\"; },"
  done
  echo '  { id = "twin_a"; env = "prod"; url = "sqlite:tenants/twin.db"; },'
  echo '  { id = "twin_b"; env = "prod"; url = "sqlite:tenants/twin.db"; }'
  echo ");"
} | write_inventory "$T/drover.cfg"
mkdir -p "$T/tenants"

assert_exit 0 drover migrate --parallel 8 --format json
cp "$OUT_FILE" "$T/migrate.json"
assert_eq "succeeded" "$(json_get "$T/migrate.json" .outcome)"
assert_eq "25" "$(json_get "$T/migrate.json" '[.tenants[] | select(.outcome == "migrated")] | length')"
# The twins share one database: exactly one of them migrated it, the other found it done.
assert_eq "migrated up_to_date" \
  "$(json_get "$T/migrate.json" '[.tenants[] | select(.id | startswith("twin")) | .outcome] | sort | join(" ")')"
# Results come back in rollout order whatever the completion order.
assert_eq "t1 t2 t3 t4 t5" "$(json_get "$T/migrate.json" '[.tenants[:5][].id] | join(" ")')"
for i in 1 12 24; do
  assert_eq "$NMIG" "$(sqlite_sql "$T/tenants/t$i.db" 'SELECT count(*) FROM SequelizeMeta')"
done
assert_eq "$NMIG" "$(sqlite_sql "$T/tenants/twin.db" 'SELECT count(DISTINCT name) FROM SequelizeMeta')"

assert_exit 0 drover status --parallel 8 --format json
assert_eq "26 26" "$(json_get "$OUT_FILE" '"\(.summary.tenants) \(.summary.current)"')"

assert_exit 0 drover undo --steps 2 --parallel 8 --format json
assert_eq "26" "$(json_get "$OUT_FILE" '[.tenants[] | select(.outcome == "reverted")] | length')"
assert_eq "$((NMIG - 2))" "$(sqlite_sql "$T/tenants/t7.db" 'SELECT count(*) FROM SequelizeMeta')"
# Each twin reverted two steps of the one database they share, one after the other.
assert_eq "$((NMIG - 4))" "$(sqlite_sql "$T/tenants/twin.db" 'SELECT count(*) FROM SequelizeMeta')"

assert_exit 0 drover migrate --parallel 8 --log-format json
assert_eq "0" "$(grep -vc '^{' "$ERR_FILE" || true)" "every progress line on stderr is JSON"
assert_eq "26" "$(jq -c 'select(.event == "tenant")' "$ERR_FILE" | wc -l | tr -d ' ')"

# The journal saw the three runs that change tenants (status is not journaled), newest first.
assert_exit 0 drover runs --format json
assert_eq "migrate undo migrate" "$(json_get "$OUT_FILE" '[.[].command] | join(" ")')"
assert_eq "succeeded succeeded succeeded" "$(json_get "$OUT_FILE" '[.[].outcome] | join(" ")')"

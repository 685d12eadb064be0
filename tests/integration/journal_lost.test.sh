#!/usr/bin/env bash
# journal_lost.test.sh — the journal becomes unusable in the middle of a migrate run (another
# process drops its table of dirty marks, so every read and write of them fails): the tenants
# already admitted finish, but their records fail, and the run must not exit 0. Then a run on
# that journal: a tenant whose dirty mark cannot be read is refused, never run (fail closed:
# drover cannot know whether a person must look at it first).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"
# shellcheck disable=SC2016 # jq programs

jq_out() { json_get "$OUT_FILE" "$1"; }
JOURNAL=$T/drover-journal.db
# About a second of SQLite work, so that the lock can be taken while the first tenant runs.
SPIN="SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT x FROM c);"
write_migration "$T/m" 20240901000001-slow.sql "CREATE TABLE a (id int);
$SPIN" "DROP TABLE a;"
write_config "$T/drover.cfg" "$T/m" "parallel = 1;" '{ name = "prod"; }' \
  "t1 prod sqlite:$T/t1.sqlite" "t2 prod sqlite:$T/t2.sqlite" "t3 prod sqlite:$T/t3.sqlite"

run_recorded() { [ -f "$JOURNAL" ] && [ "$(sqlite_sql "$JOURNAL" "SELECT count(*) FROM runs" 2>/dev/null)" = 1 ]; }
drover_start lost "$T/drover.cfg" migrate --format json
wait_for 20 "the run to be recorded" run_recorded
sqlite_sql "$JOURNAL" ".timeout 20000
DROP TABLE dirty;"
drover_wait lost 1

# Every tenant was admitted before the drop and migrated; what failed is the journal's record
# of them, and a run whose journal is incomplete must not look clean.
assert_eq "migrated migrated migrated" "$(jq_out '[.tenants[].outcome] | join(" ")')" \
  "the tenants admitted before the journal broke migrated"
assert_contains "$ERR" "cannot read the dirty list: no such table: dirty" "stderr names the journal failure"

# A journal whose dirty marks cannot be read admits no tenant: each is refused, untouched.
write_config "$T/fresh.cfg" "$T/m" "" '{ name = "prod"; }' "t4 prod sqlite:$T/t4.sqlite"
drover_run 1 "$T/fresh.cfg" migrate --format json
assert_eq "failed|failed" "$(jq_out '[.outcome, .tenants[0].outcome] | join("|")')" "the tenant is refused"
assert_contains "$(jq_out '.tenants[0].error.message')" "cannot read the tenant's dirty mark from the journal" \
  "the refusal says why"
[ ! -e "$T/t4.sqlite" ] || fail "the refused tenant's database was created"
_lib_pass

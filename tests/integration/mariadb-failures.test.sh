#!/usr/bin/env bash
# mariadb-failures.test.sh — how drover runs migration SQL on a real MariaDB, through the CLI:
# a failure on a migration's first statement leaves the tenant unchanged, one after an
# implicitly committed CREATE TABLE is reported as partial; names SequelizeMeta cannot store
# are refused before anything runs; multi-statement sections with semicolons in strings and
# a trigger's BEGIN ... END body reach the server intact.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/mariadb-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/mariadb-common.sh"

OK1=20240101000001-create-first.sql
write_ok_first() {
  write_migration "$1" "$OK1" 'CREATE TABLE first_t (id INT PRIMARY KEY);' 'DROP TABLE first_t;'
}

# --- 5a. failure on the first statement: errno, statement, not partial, nothing changed
FAIL1=$DROVER_TEST_TMPDIR/fail-first
write_ok_first "$FAIL1"
BAD1=20240101000002-insert-missing.sql
write_migration "$FAIL1" "$BAD1" \
  $'INSERT INTO missing_t VALUES (1);\nCREATE TABLE never_t (id INT PRIMARY KEY);' \
  'DROP TABLE never_t;'
write_migration "$FAIL1" 20240101000003-after.sql 'CREATE TABLE after_t (id INT);' 'DROP TABLE after_t;'
BAD2=20240101000002-syntax.sql
FAIL1S=$DROVER_TEST_TMPDIR/fail-first-syntax
write_ok_first "$FAIL1S"
write_migration "$FAIL1S" "$BAD2" \
  $'CREATE TABLEX oops (id INT);\nCREATE TABLE never_t (id INT PRIMARY KEY);' 'DROP TABLE never_t;'

f1=$(new_my_db fail1)
f1s=$(new_my_db fail1s)
write_config "$DROVER_TEST_TMPDIR/f1.cfg" "$FAIL1" "" "f1 $(my_url "$f1")"
write_config "$DROVER_TEST_TMPDIR/f1s.cfg" "$FAIL1S" "" "f1s $(my_url "$f1s" mariadb)"

drover_run 1 --config "$DROVER_TEST_TMPDIR/f1.cfg" migrate --format json
assert_eq "failed|failed|$OK1|false" \
  "$(jq_out '[.outcome, .tenants[0].outcome, (.tenants[0].applied | join(" ")),
              .tenants[0].partial] | join("|")')"
assert_eq "tenant 'f1': migration '$BAD1': Table '$f1.missing_t' doesn't exist (error 1146)" \
  "$(jq_out '.tenants[0].error.message')"
assert_eq "1146|null|$BAD1|INSERT INTO missing_t VALUES (1)|null" \
  "$(jq_out '.tenants[0].error | [.code, .sqlstate, .migration, .statement, .hint]
                                | map(. // "null" | tostring) | join("|")')"
assert_eq "drover: tenant 'f1': migration '$BAD1': Table '$f1.missing_t' doesn't exist (error 1146)
  statement: INSERT INTO missing_t VALUES (1)" "$ERR" "the failure on stderr"
assert_eq "$OK1" "$(meta_rows "$f1")"
assert_eq "SequelizeMeta first_t" "$(tables_of "$f1")" "neither the second statement nor the next migration ran"

drover_run 1 --config "$DROVER_TEST_TMPDIR/f1s.cfg" migrate --format json
assert_eq "1064|$BAD2|CREATE TABLEX oops (id INT)|false" \
  "$(jq_out '.tenants[0] | [.error.code, .error.migration, .error.statement, .partial] | join("|")')"
assert_contains "$(jq_out '.tenants[0].error.message')" \
  "tenant 'f1s': migration '$BAD2': You have an error in your SQL syntax"
assert_eq "$OK1" "$(meta_rows "$f1s")"
assert_eq "SequelizeMeta first_t" "$(tables_of "$f1s")"

# --- 5b. failure on the second statement, after a CREATE TABLE MariaDB committed: partial
FAIL2=$DROVER_TEST_TMPDIR/fail-second
write_ok_first "$FAIL2"
BAD3=20240101000002-half-done.sql
write_migration "$FAIL2" "$BAD3" \
  $'CREATE TABLE half_t (id INT PRIMARY KEY);\nINSERT INTO missing_t VALUES (1);' \
  'DROP TABLE half_t;'
write_migration "$FAIL2" 20240101000003-after.sql 'CREATE TABLE after_t (id INT);' 'DROP TABLE after_t;'
f2=$(new_my_db fail2)
f2t=$(new_my_db fail2text)
write_config "$DROVER_TEST_TMPDIR/f2.cfg" "$FAIL2" "" "f2 $(my_url "$f2")" "f2t $(my_url "$f2t")"

drover_run 1 --config "$DROVER_TEST_TMPDIR/f2.cfg" migrate --tenant f2 --format json
assert_eq "dirty|$OK1|true|1146|$BAD3|INSERT INTO missing_t VALUES (1)" \
  "$(jq_out '.tenants[0] | [.outcome, (.applied | join(" ")), .partial, .error.code,
                           .error.migration, .error.statement] | join("|")')"
assert_eq "tenant 'f2': migration '$BAD3': Table '$f2.missing_t' doesn't exist — statement 2 failed after 1 statement of this migration had been applied without a transaction; they are not recorded in SequelizeMeta (error 1146)" \
  "$(jq_out '.tenants[0].error.message')"
assert_eq "MariaDB/MySQL commit DDL implicitly; the tenant is dirty: inspect it, finish or undo those statements by hand, then run 'drover resolve --tenant f2'" \
  "$(jq_out '.tenants[0].error.hint')"
assert_eq "$BAD3" "$(jq_out '.tenants[0].dirty_migration')"
assert_eq "$OK1" "$(meta_rows "$f2")" "the half-done migration is not recorded"
assert_eq "SequelizeMeta first_t half_t" "$(tables_of "$f2")" "its first statement stays applied"

drover_run 1 --config "$DROVER_TEST_TMPDIR/f2.cfg" migrate --tenant f2t
assert_eq "f2t (dev, mysql): DIRTY (applied 1, reverted 0); may be half-applied: $BAD3
    applied:
      $OK1
    error: tenant 'f2t': migration '$BAD3': Table '$f2t.missing_t' doesn't exist — statement 2 failed after 1 statement of this migration had been applied without a transaction; they are not recorded in SequelizeMeta (error 1146)
      statement: INSERT INTO missing_t VALUES (1)
      hint: MariaDB/MySQL commit DDL implicitly; the tenant is dirty: inspect it, finish or undo those statements by hand, then run 'drover resolve --tenant f2t'
migrate: 1 tenant, 1 dirty" "${OUT% (*}" "the partial failure as text"

# A dirty tenant is never replayed blindly: migrate refuses it, touching nothing, until an
# operator resolves it; status shows it dirty meanwhile.
drover_run 1 --config "$DROVER_TEST_TMPDIR/f2.cfg" migrate --tenant f2 --format json
assert_eq "dirty|$BAD3|0" \
  "$(jq_out '.tenants[0] | [.outcome, .dirty_migration, (.applied | length)] | join("|")')"
assert_contains "$(jq_out '.tenants[0].error.message')" "the tenant is dirty: migration '$BAD3' may be half-applied"
drover_run 0 --config "$DROVER_TEST_TMPDIR/f2.cfg" status --tenant f2 --format json
assert_eq "dirty" "$(jq_out '.tenants[0].state')"
drover_run 0 --config "$DROVER_TEST_TMPDIR/f2.cfg" resolve --tenant f2
assert_eq "f2: dirty mark cleared" "$OUT"

# Re-running after the resolve stops on what the half-done run left behind: a clean failure.
drover_run 1 --config "$DROVER_TEST_TMPDIR/f2.cfg" migrate --tenant f2 --format json
assert_eq "false|1050|CREATE TABLE half_t (id INT PRIMARY KEY)|null" \
  "$(jq_out '.tenants[0] | [.partial, .error.code, .error.statement, .error.hint // "null"] | join("|")')"
assert_eq "$OK1" "$(meta_rows "$f2")"

# --- 6a. a 4-byte character cannot go into the utf8mb3 column: refused before anything runs
EMOJI_DIR=$DROVER_TEST_TMPDIR/emoji
write_ok_first "$EMOJI_DIR"
write_migration "$EMOJI_DIR" 20240101000002-second.sql 'CREATE TABLE second_t (id INT);' 'DROP TABLE second_t;'
EMOJI=20240101000003-emoji-😀.sql
write_migration "$EMOJI_DIR" "$EMOJI" 'CREATE TABLE emoji_t (id INT);' 'DROP TABLE emoji_t;'
emo=$(new_my_db emoji)
write_config "$DROVER_TEST_TMPDIR/emoji.cfg" "$EMOJI_DIR" "" "emo $(my_url "$emo")"

drover_run 1 --config "$DROVER_TEST_TMPDIR/emoji.cfg" migrate --format json
assert_eq "failed||false|$EMOJI" \
  "$(jq_out '.tenants[0] | [.outcome, (.applied | join(" ")), .partial, .error.migration] | join("|")')"
assert_eq "tenant 'emo': migration '$EMOJI': cannot record this migration in SequelizeMeta: its name has a 4-byte UTF-8 character and the 'name' column is utf8mb3" \
  "$(jq_out '.tenants[0].error.message')"
assert_eq "" "$(meta_rows "$emo")"
assert_eq "SequelizeMeta" "$(tables_of "$emo")" "no migration ran, not even the earlier pending ones"
drover_run 1 --config "$DROVER_TEST_TMPDIR/emoji.cfg" plan
assert_contains "$ERR" "its name has a 4-byte UTF-8 character and the 'name' column is utf8mb3"

# --- 6b. a name equal to a stored row under the collation (case differs): refused, both named
CASE_DIR=$DROVER_TEST_TMPDIR/case-row
write_ok_first "$CASE_DIR"
USERS_UPPER=20240101000004-Users.sql
USERS_LOWER=20240101000004-users.sql
write_migration "$CASE_DIR" "$USERS_UPPER" 'CREATE TABLE users_t (id INT);' 'DROP TABLE users_t;'
crow=$(new_my_db caserow)
my_sql "$crow" "$CLI_DDL INSERT INTO SequelizeMeta VALUES ('$USERS_LOWER');"
write_config "$DROVER_TEST_TMPDIR/case-row.cfg" "$CASE_DIR" "" "crow $(my_url "$crow")"

drover_run 1 --config "$DROVER_TEST_TMPDIR/case-row.cfg" migrate --format json
assert_eq "tenant 'crow': migration '$USERS_UPPER': cannot record this migration in SequelizeMeta: its name equals the existing row '$USERS_LOWER' under the column's collation 'utf8mb3_unicode_ci'" \
  "$(jq_out '.tenants[0].error.message')"
assert_eq "MySQL compares names case- and accent-insensitively; rename one file" \
  "$(jq_out '.tenants[0].error.hint')"
assert_eq "$USERS_LOWER" "$(meta_rows "$crow")"
assert_eq "SequelizeMeta" "$(tables_of "$crow")" "neither pending migration ran"

# --- 6c. two pending names equal under the collation: refused
CASE2_DIR=$DROVER_TEST_TMPDIR/case-files
write_migration "$CASE2_DIR" 20240101000005-Report.sql 'CREATE TABLE report_a (id INT);' 'DROP TABLE report_a;'
write_migration "$CASE2_DIR" 20240101000005-report.sql 'CREATE TABLE report_b (id INT);' 'DROP TABLE report_b;'
cfiles=$(new_my_db casefiles)
write_config "$DROVER_TEST_TMPDIR/case-files.cfg" "$CASE2_DIR" "" "cfiles $(my_url "$cfiles")"

drover_run 1 --config "$DROVER_TEST_TMPDIR/case-files.cfg" migrate --format json
assert_eq "tenant 'cfiles': migration '20240101000005-Report.sql': cannot record this migration in SequelizeMeta: its name equals migration '20240101000005-report.sql' under the column's collation 'utf8mb3_unicode_ci'" \
  "$(jq_out '.tenants[0].error.message')"
assert_eq "" "$(meta_rows "$cfiles")"
assert_eq "SequelizeMeta" "$(tables_of "$cfiles")"

# --- 12. multi-statement sections: ';' inside strings and comments, a trigger with a compound body
MULTI=$DROVER_TEST_TMPDIR/multi
write_migration "$MULTI" 20240101000001-notes.sql "$(cat <<'SQL'
CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(100) NOT NULL);
CREATE TABLE audit (note_id INT NOT NULL, msg VARCHAR(100) NOT NULL);
/* a comment; with a semicolon */
INSERT INTO notes VALUES (1, 'a;b'), (2, 'it''s; fine'), (3, "dq;x"), (4, 'back\';slash');
-- a line comment; also with one
CREATE TRIGGER notes_ai AFTER INSERT ON notes FOR EACH ROW
BEGIN
  DECLARE m VARCHAR(100);
  SET m = CONCAT('added;', NEW.id);
  IF NEW.id > 4 THEN
    INSERT INTO audit VALUES (NEW.id, m);
  END IF;
END;
INSERT INTO notes VALUES (5, '-- not a comment; really');
SQL
)" $'DROP TRIGGER notes_ai;\nDROP TABLE audit;\nDROP TABLE notes;'
multi=$(new_my_db multi)
write_config "$DROVER_TEST_TMPDIR/multi.cfg" "$MULTI" "" "multi $(my_url "$multi")"

drover_run 0 --config "$DROVER_TEST_TMPDIR/multi.cfg" migrate --format json
assert_eq "migrated|20240101000001-notes.sql" \
  "$(jq_out '.tenants[0] | [.outcome, (.applied | join(" "))] | join("|")')"
assert_eq $'1\ta;b\n2\tit\'s; fine\n3\tdq;x\n4\tback\';slash\n5\t-- not a comment; really' \
  "$(my_sql "$multi" "SELECT id, body FROM notes ORDER BY id")" "strings kept their semicolons"
assert_eq $'5\tadded;5' "$(my_sql "$multi" "SELECT note_id, msg FROM audit")" "the trigger fired"
assert_eq "notes_ai" \
  "$(my_sql "" "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = '$multi'")"
drover_run 0 --config "$DROVER_TEST_TMPDIR/multi.cfg" undo --all --format json
assert_eq "reverted|20240101000001-notes.sql" \
  "$(jq_out '.tenants[0] | [.outcome, (.reverted | join(" "))] | join("|")')"
assert_eq "SequelizeMeta" "$(tables_of "$multi")"
assert_eq "" "$(meta_rows "$multi")"

#!/usr/bin/env bash
# postgres_undo.test.sh — undo on real PostgreSQL (--steps, --to with and without the
# extension, --all, --dry-run, a --to typo), and the rows drover did not write: an unknown
# row with no file, and a row recorded under another extension (renamed).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"

T=$DROVER_TEST_TMPDIR
GONE=99999999999999-gone.js

# reversed ITEM...: the items newest first, one a line.
reversed() {
  local i
  for ((i = $#; i > 0; i--)); do echo "${!i}"; done
}

# --- 8. undo --steps, --to, --all and --dry-run.
undo_db=$(unique_name undo)
pg_new_db "$undo_db"
undo_cfg=$T/undo/drover.cfg
pg_inventory "$undo_cfg" "path = \"$BASIC_DIR\";" undo "$(pg_url "$undo_db")"
assert_exit 0 drover "$undo_cfg" migrate

assert_exit 0 drover "$undo_cfg" undo --steps 2 --dry-run --format json
assert_eq "pending|0|6" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, (.reverted | length), .applied_before]
                           | map(tostring) | join("|")')" \
  "dry run: outcome"
assert_eq "$(reversed "${BASIC[@]:4:2}")" "$(json_list "$OUT_FILE" '.tenants[0].planned')" \
  "dry run: --steps 2 would revert the two newest, newest first"
assert_exit 0 drover "$undo_cfg" undo --all --dry-run
assert_eq "undo (dev, postgres): 6 applied, would revert 6
    revert:
$(reversed "${BASIC[@]}" | sed 's/^/      /')" "$(head -n 8 <<<"$OUT")" \
  "dry run: --all in text"
assert_eq "$(lines "${BASIC[@]}")" "$(pg_rows "$undo_db")" "dry run: rows unchanged"
assert_eq "$BASIC_RELATIONS_ALL" "$(pg_relations "$undo_db")" "dry run: objects unchanged"

assert_exit 0 drover "$undo_cfg" undo --steps 2 --format json
assert_eq "succeeded|reverted|null" \
  "$(json_get "$OUT_FILE" '[.outcome, .tenants[0].outcome, .tenants[0].error] | map(tostring) | join("|")')" \
  "--steps 2: outcome"
assert_eq "$(reversed "${BASIC[@]:4:2}")" "$(json_list "$OUT_FILE" '.tenants[0].reverted')" \
  "--steps 2: reverted the two newest, newest first"
assert_eq "$(lines "${BASIC[@]:0:4}")" "$(pg_rows "$undo_db")" "--steps 2: rows"
assert_eq "SequelizeMeta posts tags users" "$(pg_relations "$undo_db")" "--steps 2: objects"

assert_exit 0 drover "$undo_cfg" undo --to 20240101000003-add-users-name --format json
assert_eq "$(reversed "${BASIC[@]:2:2}")" "$(json_list "$OUT_FILE" '.tenants[0].reverted')" \
  "--to without extension: reverted back to and including it"
assert_eq "$(lines "${BASIC[@]:0:2}")" "$(pg_rows "$undo_db")" "--to without extension: rows"
assert_eq "SequelizeMeta posts users" "$(pg_relations "$undo_db")" "--to without extension: objects"
assert_eq "id email" \
  "$(pg_sql "$undo_db" "SELECT string_agg(attname, ' ' ORDER BY attnum) FROM pg_attribute
                        WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped")" \
  "--to without extension: users.name dropped"

assert_exit 2 drover "$undo_cfg" undo --to unknown-name
assert_eq "" "$OUT" "--to typo: no report"
assert_eq "drover: --to 'unknown-name' names no migration in '$BASIC_DIR'
  hint: give a file name as listed by 'drover plan', with or without its extension
Try 'drover --help'." "$ERR" "--to typo: the error"
assert_eq "$(lines "${BASIC[@]:0:2}")" "$(pg_rows "$undo_db")" "--to typo: rows unchanged"

assert_exit 0 drover "$undo_cfg" migrate
assert_eq "$(lines "${BASIC[@]}")" "$(pg_rows "$undo_db")" "migrated again"
assert_exit 0 drover "$undo_cfg" undo --to 20240101000002-create-posts.sql --format json
assert_eq "$(reversed "${BASIC[@]:1:5}")" "$(json_list "$OUT_FILE" '.tenants[0].reverted')" \
  "--to with extension: reverted back to and including it"
assert_eq "${BASIC[0]}" "$(pg_rows "$undo_db")" "--to with extension: rows"
assert_eq "SequelizeMeta users" "$(pg_relations "$undo_db")" "--to with extension: objects"

assert_exit 0 drover "$undo_cfg" undo --all --format json
assert_eq "${BASIC[0]}" "$(json_list "$OUT_FILE" '.tenants[0].reverted')" "--all: reverted the rest"
assert_eq "" "$(pg_rows "$undo_db")" "--all: no rows left"
assert_eq "SequelizeMeta" "$(pg_relations "$undo_db")" "--all: only SequelizeMeta is left, as with the CLI"
assert_exit 0 drover "$undo_cfg" undo --all
assert_eq "undo (dev, postgres): nothing to revert" "$(head -n 1 <<<"$OUT")" "--all twice"

# --- 4. A row with no migration file: drifted; migrate goes on, undo refuses to pass it.
drift_db=$(unique_name drift)
pg_new_db "$drift_db"
drift_cfg=$T/drift/drover.cfg
pg_inventory "$drift_cfg" "path = \"$BASIC_DIR\";" drift "$(pg_url "$drift_db")"
assert_exit 0 drover "$drift_cfg" migrate --to 20240101000003-add-users-name.sql
assert_eq "$(lines "${BASIC[@]:0:3}")" "$(pg_rows "$drift_db")" "drift: migrated to the third"
pg_sql "$drift_db" "INSERT INTO \"SequelizeMeta\" (name) VALUES ('$GONE')"

assert_exit 0 drover "$drift_cfg" status --format json
assert_eq "drifted|$GONE|1" \
  "$(json_get "$OUT_FILE" '[.tenants[0].state, (.tenants[0].unknown | join(",")), .summary.drifted]
                           | map(tostring) | join("|")')" \
  "drift: status says drifted and lists the row"
assert_eq "$(lines "${BASIC[@]:0:3}")" "$(json_list "$OUT_FILE" '.tenants[0].applied')" "drift: applied"
assert_eq "$(lines "${BASIC[@]:3:3}")" "$(json_list "$OUT_FILE" '.tenants[0].pending')" "drift: pending"
assert_exit 0 drover "$drift_cfg" plan
assert_contains "$OUT" "    unknown rows (no file):
      $GONE"

assert_exit 0 drover "$drift_cfg" migrate --format json
assert_eq "$(lines "${BASIC[@]:3:3}")" "$(json_list "$OUT_FILE" '.tenants[0].applied')" \
  "drift: migrate still applies the pending ones"
assert_eq "$(lines "${BASIC[@]}" "$GONE")" "$(pg_rows "$drift_db")" "drift: rows after migrate"

refusal="drover: tenant 'drift': migration '$GONE': this SequelizeMeta row has no migration file; cannot revert past it
  hint: restore the file into the migrations directory, or revert fewer migrations"
assert_exit 1 drover "$drift_cfg" undo --all
assert_eq "$refusal" "$ERR" "drift: undo --all refuses, naming the row"
assert_eq "drift (dev, postgres): FAILED" "$(head -n 1 <<<"$OUT")" "drift: nothing reverted before the refusal"
assert_exit 1 drover "$drift_cfg" undo --steps 1 --format json
assert_eq "failed|0|$GONE" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, (.reverted | length), .error.migration]
                           | map(tostring) | join("|")')" \
  "drift: undo --steps 1 refuses when the unknown row is the newest"
assert_eq "$refusal" "$ERR" "drift: the same refusal on stderr"
assert_eq "$(lines "${BASIC[@]}" "$GONE")" "$(pg_rows "$drift_db")" "drift: no row deleted"
assert_eq "$BASIC_RELATIONS_ALL" "$(pg_relations "$drift_db")" "drift: no object reverted"

# A row with no file older than the range is left alone.
pg_sql "$drift_db" "DELETE FROM \"SequelizeMeta\" WHERE name = '$GONE';
                    INSERT INTO \"SequelizeMeta\" (name) VALUES ('00000000000000-ancient.js')"
assert_exit 0 drover "$drift_cfg" undo --steps 1 --format json
assert_eq "${BASIC[5]}" "$(json_list "$OUT_FILE" '.tenants[0].reverted')" \
  "drift: an older unknown row does not stop --steps 1"
assert_eq "$(lines 00000000000000-ancient.js "${BASIC[@]:0:5}")" "$(pg_rows "$drift_db")" \
  "drift: the older unknown row is kept"

# --- 5. A row recorded as X.js for the file X.sql: matched, never re-applied.
renamed_db=$(unique_name renamed)
pg_new_db "$renamed_db"
RENAMED_ROW=20240101000001-create-users.js
pg_sql "$renamed_db" "$PG_CLI_META_DDL"
pg_sql "$renamed_db" "$(pg_up_sql "$BASIC_DIR/${BASIC[0]}")
                      INSERT INTO \"SequelizeMeta\" (name) VALUES ('$RENAMED_ROW');"
renamed_cfg=$T/renamed/drover.cfg
pg_inventory "$renamed_cfg" "path = \"$BASIC_DIR\";" renamed "$(pg_url "$renamed_db")"

assert_exit 0 drover "$renamed_cfg" status --format json
assert_eq "behind|${BASIC[0]}|0|$RENAMED_ROW:${BASIC[0]}" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.state, (.applied | join(",")), (.unknown | length),
                           (.renamed | map(.row + ":" + .file) | join(","))] | map(tostring) | join("|")')" \
  "renamed: status matches the row to the file and reports it"
assert_exit 0 drover "$renamed_cfg" plan --format json
assert_eq "$(lines "${BASIC[@]:1:5}")" "$(json_list "$OUT_FILE" '.tenants[0].planned')" \
  "renamed: plan does not re-apply the file"
assert_eq "$RENAMED_ROW:${BASIC[0]}" \
  "$(json_get "$OUT_FILE" '.tenants[0].renamed | map(.row + ":" + .file) | join(",")')" \
  "renamed: plan reports it"

assert_exit 0 drover "$renamed_cfg" migrate --format json
assert_eq "$(lines "${BASIC[@]:1:5}")" "$(json_list "$OUT_FILE" '.tenants[0].applied')" \
  "renamed: migrate applies the others only"
assert_eq "$(lines "$RENAMED_ROW" "${BASIC[@]:1:5}")" "$(pg_rows "$renamed_db")" \
  "renamed: the row keeps its name, no .sql duplicate"
assert_exit 0 drover "$renamed_cfg" status --format json
assert_eq "current|$RENAMED_ROW:${BASIC[0]}" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.state, (.renamed | map(.row + ":" + .file) | join(","))]
                           | join("|")')" \
  "renamed: current, and still reported"

assert_exit 0 drover "$renamed_cfg" undo --all --format json
assert_eq "$(reversed "${BASIC[@]}")" "$(json_list "$OUT_FILE" '.tenants[0].reverted')" \
  "renamed: undo --all reverts the renamed one too"
assert_eq "" "$(pg_rows "$renamed_db")" "renamed: undo deleted the row under its recorded name"
assert_eq "SequelizeMeta" "$(pg_relations "$renamed_db")" "renamed: objects reverted"

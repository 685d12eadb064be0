#!/usr/bin/env bash
# schema_objects.test.sh — `drover status --schema` also compares view bodies, triggers and
# column collations: four tenants per dialect run one migration (a table and a view); two stay
# untouched (the reference), one gets its view redefined and a trigger added by hand, one a
# column with a non-default collation. Each altered tenant is drifted with exactly those lines.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
TENANTS="a b c d"
PG_DBS=() MY_DBS=()
for x in $TENANTS; do
  PG_DBS+=("$(unique_name so_pg_$x)")
  MY_DBS+=("$(unique_name so_my_$x)")
done
cleanup() {
  local db
  for db in "${PG_DBS[@]}"; do pg_drop_db "$db" || true; done
  for db in "${MY_DBS[@]}"; do my_drop_db "$db" || true; done
}
trap 'rc=$?; cleanup >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT
for db in "${PG_DBS[@]}"; do pg_create_db "$db"; done
for db in "${MY_DBS[@]}"; do my_create_db "$db"; done

mkdir -p "$T/migrations" "$T/tenants"
cat >"$T/migrations/20240101000001-items.sql" <<'EOF'
-- migrate:up
CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, touched INTEGER);
CREATE VIEW named_items AS SELECT id, name FROM items WHERE name <> '';

-- migrate:down
DROP VIEW named_items;
DROP TABLE items;
EOF
PG="postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT"
MY="mysql://drover:\${DROVER_TEST_MYSQL_PASSWORD}@127.0.0.1:$DROVER_TEST_MYSQL_PORT"
{
  echo 'migrations = { path = "migrations"; };'
  echo 'environments = ( { name = "dev"; } );'
  echo 'tenants = ('
  i=0
  for x in $TENANTS; do
    echo "  { id = \"pg_$x\"; env = \"dev\"; url = \"$PG/${PG_DBS[$i]}\"; },"
    echo "  { id = \"my_$x\"; env = \"dev\"; url = \"$MY/${MY_DBS[$i]}\"; },"
    echo "  { id = \"lite_$x\"; env = \"dev\"; url = \"sqlite:tenants/$x.db\"; }$([ $x = d ] || echo ,)"
    i=$((i + 1))
  done
  echo ');'
} | write_inventory "$T/drover.cfg"

drover() { "$DROVER_BIN" --config "$T/drover.cfg" "$@"; }
drift() {
  json_get "$1" ".tenants[] | select(.id == \"$2\") |
    [\"state: \" + .state] + [.schema_drift.added[]? | \"+ \" + .] +
    [.schema_drift.missing[]? | \"- \" + .] | .[]"
}

assert_exit 0 drover migrate

# c: the view redefined and a trigger added by hand; d: a column with its own collation.
pg_sql "${PG_DBS[2]}" "CREATE OR REPLACE VIEW named_items AS SELECT id, name FROM items WHERE name <> 'x';
  CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN NEW.touched := 1; RETURN NEW; END\$\$;
  CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch()"
pg_sql "${PG_DBS[3]}" 'ALTER TABLE items ADD COLUMN note text COLLATE "C"'
my_sql "${MY_DBS[2]}" "CREATE OR REPLACE VIEW named_items AS SELECT id, name FROM items WHERE name <> 'x';
  CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW SET NEW.touched = 1"
my_sql "${MY_DBS[3]}" 'ALTER TABLE items ADD COLUMN note VARCHAR(20) COLLATE utf8mb4_bin'
sqlite_sql "$T/tenants/c.db" "DROP VIEW named_items;
  CREATE VIEW named_items AS SELECT id, name FROM items WHERE name <> 'x';
  CREATE TRIGGER items_touch AFTER UPDATE ON items BEGIN
    UPDATE items SET touched = 1 WHERE id = NEW.id;
  END;"

assert_exit 0 drover status --schema --format json --out "$T/s.json"
for d in pg my lite; do
  assert_eq "state: current" "$(drift "$T/s.json" ${d}_a)" "${d}_a untouched"
  assert_eq "state: current" "$(drift "$T/s.json" ${d}_b)" "${d}_b untouched"
done
assert_eq "state: drifted
+ trigger items items_touch CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch()
+ view named_items as SELECT items.id, items.name FROM items WHERE ((items.name)::text <> 'x'::text);
- view named_items as SELECT items.id, items.name FROM items WHERE ((items.name)::text <> ''::text);" \
  "$(drift "$T/s.json" pg_c)" "pg_c: view body and trigger"
assert_eq "state: drifted
+ column items.note text collate C" "$(drift "$T/s.json" pg_d)" "pg_d: collation"
assert_eq "state: drifted
+ trigger items items_touch before update for each row SET NEW.touched = 1
+ view named_items as select \`items\`.\`id\` AS \`id\`,\`items\`.\`name\` AS \`name\` from \`items\` where \`items\`.\`name\` <> 'x'
- view named_items as select \`items\`.\`id\` AS \`id\`,\`items\`.\`name\` AS \`name\` from \`items\` where \`items\`.\`name\` <> ''" \
  "$(drift "$T/s.json" my_c)" "my_c: view body (database name left out) and trigger"
assert_eq "state: drifted
+ column items.note varchar(20) collate utf8mb4_bin default NULL" "$(drift "$T/s.json" my_d)" \
  "my_d: collation"
assert_eq "state: drifted
+ trigger items items_touch CREATE TRIGGER items_touch AFTER UPDATE ON items BEGIN UPDATE items SET touched = 1 WHERE id = NEW.id; END
+ view named_items as CREATE VIEW named_items AS SELECT id, name FROM items WHERE name <> 'x'
- view named_items as CREATE VIEW named_items AS SELECT id, name FROM items WHERE name <> ''" \
  "$(drift "$T/s.json" lite_c)" "lite_c: view and trigger as stored, whitespace folded"
assert_eq "state: current" "$(drift "$T/s.json" lite_d)" "lite_d: untouched"

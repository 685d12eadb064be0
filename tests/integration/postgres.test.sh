#!/usr/bin/env bash
# postgres.test.sh — drover's SequelizeMeta on real PostgreSQL is sequelize-cli's: a fresh
# tenant, the table's DDL compared with the CLI's through pg_dump, a tenant the CLI migrated
# half-way, a custom table and schema, schema-per-tenant, and the timestamps variant.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"

T=$DROVER_TEST_TMPDIR
assert_eq "$(lines "${BASIC[@]}")" "$(ls "$BASIC_DIR")" "the basic migration set"
FIRST_HALF=("${BASIC[@]:0:3}")
SECOND_HALF=("${BASIC[@]:3:3}")

# cli_half_migrate DB: the state sequelize-cli leaves after running the first half of BASIC:
# its table, created with its DDL, the migrations' objects and their rows.
cli_half_migrate() {
  pg_sql "$1" "$PG_CLI_META_DDL"
  local f
  for f in "${FIRST_HALF[@]}"; do
    pg_sql "$1" "$(pg_up_sql "$BASIC_DIR/$f")"
    pg_sql "$1" "INSERT INTO \"SequelizeMeta\" (\"name\") VALUES ('$f') RETURNING \"name\"" >/dev/null
  done
}

# --- 1. A fresh tenant: migrate creates SequelizeMeta and applies everything, in order.
fresh_db=$(unique_name fresh)
pg_new_db "$fresh_db"
fresh_cfg=$T/fresh/drover.cfg
pg_inventory "$fresh_cfg" "path = \"$BASIC_DIR\";" fresh "$(pg_url "$fresh_db")"

assert_exit 0 drover "$fresh_cfg" migrate
assert_eq "fresh (dev, postgres): migrated 6, now at 20240101000006-create-comments.sql" \
  "$(head -n 1 <<<"$OUT")" "fresh: migrate's line"
assert_contains "$OUT" "migrate: 1 tenant, 1 migrated ("
assert_eq "" "$ERR" "fresh: nothing on stderr"
assert_eq "$(lines "${BASIC[@]}")" "$(pg_rows "$fresh_db")" "fresh: one row per file, in order"
assert_eq "$BASIC_RELATIONS_ALL" "$(pg_relations "$fresh_db")" "fresh: the schema objects"
assert_eq "id email name" \
  "$(pg_sql "$fresh_db" "SELECT string_agg(attname, ' ' ORDER BY attnum) FROM pg_attribute
                         WHERE attrelid = 'users'::regclass AND attnum > 0")" \
  "fresh: users has the column of migration 3"
assert_eq "howto news" "$(pg_sql "$fresh_db" "SELECT string_agg(label, ' ' ORDER BY label) FROM tags")" \
  "fresh: data inserted by migration 4"

assert_exit 0 drover "$fresh_cfg" migrate --format json
assert_eq "succeeded|up_to_date|0|null|1" \
  "$(json_get "$OUT_FILE" '[.outcome, .tenants[0].outcome, (.tenants[0].applied | length),
                            .tenants[0].error, .summary.up_to_date] | map(tostring) | join("|")')" \
  "fresh: a second migrate is up to date"
assert_eq "$(pg_masked_url "$fresh_db")" "$(json_get "$OUT_FILE" '.tenants[0].url')" "fresh: url"
assert_eq "$(lines "${BASIC[@]}")" "$(pg_rows "$fresh_db")" "fresh: rows unchanged by the second run"

assert_exit 0 drover "$fresh_cfg" status --format json
assert_eq "current|true|0|0|0" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.state, .meta_table_exists, (.pending | length),
                                          (.unknown | length), (.renamed | length)] | map(tostring) | join("|")')" \
  "fresh: status after migrate"
assert_eq "$(lines "${BASIC[@]}")" "$(json_list "$OUT_FILE" '.tenants[0].applied')" \
  "fresh: status lists the applied files"

# --- 2. The table drover creates is the table sequelize-cli creates.
ddl_db=$(unique_name ddl_cli)
pg_new_db "$ddl_db"
pg_sql "$ddl_db" "$PG_CLI_META_DDL"
cli_dump=$(pg_dump_table "$ddl_db" '"SequelizeMeta"')
drover_dump=$(pg_dump_table "$fresh_db" '"SequelizeMeta"')
assert_eq "$cli_dump" "$drover_dump" "SequelizeMeta: pg_dump of the CLI's table and drover's"
assert_contains "$drover_dump" $'CREATE TABLE public."SequelizeMeta" (\n    name character varying(255) NOT NULL\n);'
assert_contains "$drover_dump" \
  $'ALTER TABLE ONLY public."SequelizeMeta"\n    ADD CONSTRAINT "SequelizeMeta_pkey" PRIMARY KEY (name);'
assert_eq "SequelizeMeta_pkey" \
  "$(pg_sql "$fresh_db" "SELECT string_agg(indexname, ' ') FROM pg_indexes
                         WHERE tablename = 'SequelizeMeta'")" \
  "SequelizeMeta: the primary key is its only index, as with the CLI"

# --- 3. A tenant sequelize-cli migrated half-way: drover takes over from its rows.
cli_db=$(unique_name cli)
pg_new_db "$cli_db"
cli_half_migrate "$cli_db"
cli_cfg=$T/cli/drover.cfg
pg_inventory "$cli_cfg" "path = \"$BASIC_DIR\";" cli "$(pg_url "$cli_db")"

assert_exit 0 drover "$cli_cfg" plan --format json
assert_eq "pending|3|0|0|null" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .applied_before, (.unknown | length),
                                          (.renamed | length), .error] | map(tostring) | join("|")')" \
  "cli: plan's counts"
assert_eq "$(lines "${SECOND_HALF[@]}")" "$(json_list "$OUT_FILE" '.tenants[0].pending')" \
  "cli: pending is exactly the second half"
assert_eq "$(lines "${SECOND_HALF[@]}")" "$(json_list "$OUT_FILE" '.tenants[0].planned')" \
  "cli: planned is exactly the second half"
assert_eq "$(lines "${FIRST_HALF[@]}")" "$(pg_rows "$cli_db")" "cli: plan wrote nothing"

assert_exit 0 drover "$cli_cfg" migrate --format json
assert_eq "migrated" "$(json_get "$OUT_FILE" '.tenants[0].outcome')" "cli: migrate's outcome"
assert_eq "$(lines "${SECOND_HALF[@]}")" "$(json_list "$OUT_FILE" '.tenants[0].applied')" \
  "cli: migrate applied only the second half"
assert_eq "$(lines "${BASIC[@]}")" "$(pg_rows "$cli_db")" "cli: every file recorded"
assert_eq "$BASIC_RELATIONS_ALL" "$(pg_relations "$cli_db")" "cli: the schema objects"
assert_eq "$cli_dump" "$(pg_dump_table "$cli_db" '"SequelizeMeta"')" "cli: the CLI's table kept as is"

# --- 9. A custom table in a custom schema, as migrationStorageTableName/-Schema make it.
custom_db=$(unique_name custom)
pg_new_db "$custom_db"
custom_cli_db=$(unique_name custom_cli)
pg_new_db "$custom_cli_db"
pg_sql "$custom_cli_db" 'CREATE SCHEMA IF NOT EXISTS "custom";
  CREATE TABLE IF NOT EXISTS "custom"."my_meta" ("name" VARCHAR(255) NOT NULL UNIQUE , PRIMARY KEY ("name"));'
custom_cfg=$T/custom/drover.cfg
pg_inventory "$custom_cfg" "path = \"$BASIC_DIR\"; table = \"my_meta\"; schema = \"custom\";" \
  custom "$(pg_url "$custom_db")"

assert_exit 0 drover "$custom_cfg" migrate --format json
assert_eq "$(lines "${BASIC[@]}")" "$(json_list "$OUT_FILE" '.tenants[0].applied')" "custom: applied"
assert_eq "t" "$(pg_schema_exists "$custom_db" custom)" "custom: the schema was created"
assert_eq "custom.my_meta" "$(pg_meta_tables "$custom_db")" \
  "custom: \"custom\".\"my_meta\" is the only meta table (no default SequelizeMeta)"
assert_eq "$(lines "${BASIC[@]}")" "$(pg_rows "$custom_db" '"custom"."my_meta"')" "custom: rows"
assert_eq "active_users comments posts tags users" "$(pg_relations "$custom_db")" \
  "custom: the migrations' objects stay in public"
custom_dump=$(pg_dump_table "$custom_db" '"custom"."my_meta"')
assert_eq "$(pg_dump_table "$custom_cli_db" '"custom"."my_meta"')" "$custom_dump" \
  "custom: pg_dump of the CLI's table and drover's"
assert_contains "$custom_dump" $'CREATE TABLE custom.my_meta (\n    name character varying(255) NOT NULL\n);'
assert_contains "$custom_dump" 'ADD CONSTRAINT my_meta_pkey PRIMARY KEY (name);'
assert_exit 0 drover "$custom_cfg" status --format json
assert_eq "current|true" "$(json_get "$OUT_FILE" '.tenants[0] | [.state, .meta_table_exists] | map(tostring) | join("|")')" \
  "custom: status reads the custom table"

# --- 10. Schema-per-tenant: two tenants in one database, each confined to its schema.
spt_db=$(unique_name spt)
pg_new_db "$spt_db"
spt_cfg=$T/spt/drover.cfg
pg_inventory "$spt_cfg" "path = \"$BASIC_DIR\";" \
  t1 "$(pg_url "$spt_db" schema=t1)" t2 "$(pg_url "$spt_db" schema=t2)"

assert_exit 0 drover "$spt_cfg" migrate --format json
assert_eq "migrated migrated" "$(json_get "$OUT_FILE" '[.tenants[].outcome] | join(" ")')" \
  "spt: both tenants migrated"
assert_eq "$(pg_masked_url "$spt_db" schema=t1)" "$(json_get "$OUT_FILE" '.tenants[0].url')" \
  "spt: t1's url"
for schema in t1 t2; do
  assert_eq "$BASIC_RELATIONS_ALL" "$(pg_relations "$spt_db" "$schema")" "spt: $schema's objects"
  assert_eq "$(lines "${BASIC[@]}")" "$(pg_rows "$spt_db" "\"$schema\".\"SequelizeMeta\"")" \
    "spt: $schema's own SequelizeMeta"
done
assert_eq "" "$(pg_relations "$spt_db" public)" "spt: public untouched"

assert_exit 0 drover "$spt_cfg" undo --all --tenant t1 --format json
assert_eq "t1 reverted 6" \
  "$(json_get "$OUT_FILE" '[.tenants[] | .id, .outcome, (.reverted | length)] | join(" ")')" \
  "spt: undo selected t1 only"
assert_eq "SequelizeMeta" "$(pg_relations "$spt_db" t1)" "spt: t1's objects reverted"
assert_eq "" "$(pg_rows "$spt_db" '"t1"."SequelizeMeta"')" "spt: t1's rows deleted"
assert_eq "$BASIC_RELATIONS_ALL" "$(pg_relations "$spt_db" t2)" "spt: t2's objects kept"
assert_eq "$(lines "${BASIC[@]}")" "$(pg_rows "$spt_db" '"t2"."SequelizeMeta"')" "spt: t2's rows kept"
assert_eq "" "$(pg_relations "$spt_db" public)" "spt: public still untouched"
assert_exit 0 drover "$spt_cfg" status --format json
assert_eq "t1 behind 0 6 t2 current 6 0" \
  "$(json_get "$OUT_FILE" '[.tenants[] | .id, .state, (.applied | length), (.pending | length)]
                           | map(tostring) | join(" ")')" \
  "spt: status per schema"

# --- 11. The table db:migrate:schema:timestamps:add leaves: rows get createdAt/updatedAt.
ts_db=$(unique_name ts)
pg_new_db "$ts_db"
cli_half_migrate "$ts_db"
pg_sql "$ts_db" 'ALTER TABLE "SequelizeMeta" RENAME TO "SequelizeMetaBackup";
  CREATE TABLE IF NOT EXISTS "SequelizeMeta" ("name" VARCHAR(255) NOT NULL UNIQUE , "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL, "updatedAt" TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY ("name"));
  INSERT INTO "SequelizeMeta" SELECT name, now() - interval '"'"'1 day'"'"', now() - interval '"'"'1 day'"'"'
  FROM "SequelizeMetaBackup";'
ts_cfg=$T/ts/drover.cfg
pg_inventory "$ts_cfg" "path = \"$BASIC_DIR\";" ts "$(pg_url "$ts_db")"

# A client time zone far from UTC must not shift what is stored.
assert_exit 0 env PGTZ=Pacific/Kiritimati TZ=America/Los_Angeles \
  "$DROVER_BIN" --config "$ts_cfg" migrate --format json
assert_eq "$(lines "${SECOND_HALF[@]}")" "$(json_list "$OUT_FILE" '.tenants[0].applied')" \
  "timestamps: applied the second half"
now=$(date -u +%s)
assert_eq "$(lines "${SECOND_HALF[@]}")" \
  "$(pg_sql "$ts_db" "SELECT name FROM \"SequelizeMeta\"
                      WHERE \"createdAt\" IS NOT NULL AND \"updatedAt\" IS NOT NULL
                        AND abs(extract(epoch FROM \"createdAt\") - $now) < 60
                        AND abs(extract(epoch FROM \"updatedAt\") - $now) < 60
                      ORDER BY name COLLATE \"C\"")" \
  "timestamps: the new rows carry both timestamps, within a minute of now"
assert_eq "$(lines "${FIRST_HALF[@]}")" \
  "$(pg_sql "$ts_db" "SELECT name FROM \"SequelizeMeta\"
                      WHERE \"createdAt\" < now() - interval '23 hours'
                        AND \"updatedAt\" < now() - interval '23 hours'
                      ORDER BY name COLLATE \"C\"")" \
  "timestamps: the CLI's rows untouched"
assert_eq "$(lines "${FIRST_HALF[@]}")" "$(pg_rows "$ts_db" '"SequelizeMetaBackup"')" \
  "timestamps: the backup table left alone"
assert_eq "name createdAt updatedAt" \
  "$(pg_sql "$ts_db" "SELECT string_agg(attname, ' ' ORDER BY attnum) FROM pg_attribute
                      WHERE attrelid = '\"SequelizeMeta\"'::regclass AND attnum > 0")" \
  "timestamps: the table is not altered"

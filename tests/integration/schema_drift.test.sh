#!/usr/bin/env bash
# schema_drift.test.sh — `drover status --schema` on PostgreSQL, MariaDB and SQLite: five
# tenants per dialect run the same migrations; one per dialect is then altered by hand (a
# column added, an index dropped, a default changed) and one loses its tables. The untouched
# ones share a fingerprint (also across runs, and whatever their SequelizeMeta looks like),
# the others are drifted with the exact lines they add and lack, which for the hollow tenant
# is the whole canonical schema of its dialect. A schema-per-tenant database reads each
# tenant's own schema only; without --schema nothing is read.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$DROVER_TEST_TMPDIR
TENANTS="a b c d e"
PG_DBS=()
MY_DBS=()
for x in $TENANTS; do
  PG_DBS+=("$(unique_name sd_pg_$x)")
  MY_DBS+=("$(unique_name sd_my_$x)")
done
SPT_DB=$(unique_name sd_spt)
PG_CUSTOM=$(unique_name sd_pg_custom)
MY_CUSTOM=$(unique_name sd_my_custom)
cleanup() {
  local db
  for db in "${PG_DBS[@]}" "$SPT_DB" "$PG_CUSTOM"; do pg_drop_db "$db" || true; done
  for db in "${MY_DBS[@]}" "$MY_CUSTOM"; do my_drop_db "$db" || true; done
}
# lib.sh owns the EXIT trap; drop the databases first, keeping the test's exit status.
trap 'rc=$?; cleanup >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT
for db in "${PG_DBS[@]}" "$SPT_DB" "$PG_CUSTOM"; do pg_create_db "$db"; done
for db in "${MY_DBS[@]}" "$MY_CUSTOM"; do my_create_db "$db"; done

M1=20240101000001-orgs.sql
M2=20240101000002-users.sql
mkdir -p "$T/migrations" "$T/tenants"
cat >"$T/migrations/$M1" <<'EOF'
-- migrate:up
CREATE TABLE orgs (
  id INTEGER PRIMARY KEY,
  name VARCHAR(100) NOT NULL DEFAULT 'acme',
  CONSTRAINT orgs_name_set CHECK (name <> '')
);

-- migrate:down
DROP TABLE orgs;
EOF
cat >"$T/migrations/$M2" <<'EOF'
-- migrate:up
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL,
  email VARCHAR(255) NOT NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'active',
  CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_org_status ON users (org_id, status);

-- migrate:down
DROP TABLE users;
EOF

PG="postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT"
MY="mysql://drover:\${DROVER_TEST_MYSQL_PASSWORD}@127.0.0.1:$DROVER_TEST_MYSQL_PORT"
CFG=$T/drover.cfg
{
  echo 'migrations = { path = "migrations"; };'
  echo 'environments = ( { name = "dev"; } );'
  echo 'tenants = ('
  i=0
  for x in $TENANTS; do
    echo "  { id = \"pg_$x\"; env = \"dev\"; url = \"$PG/${PG_DBS[$i]}\"; },"
    echo "  { id = \"my_$x\"; env = \"dev\"; url = \"$MY/${MY_DBS[$i]}\"; },"
    echo "  { id = \"lite_$x\"; env = \"dev\"; url = \"sqlite:tenants/$x.db\"; },"
    i=$((i + 1))
  done
  echo "  { id = \"spt_1\"; env = \"dev\"; url = \"$PG/$SPT_DB?schema=t1\"; tags = [\"spt\"]; },"
  echo "  { id = \"spt_2\"; env = \"dev\"; url = \"$PG/$SPT_DB?schema=t2\"; tags = [\"spt\"]; }"
  echo ');'
} | write_inventory "$CFG"

drover() { "$DROVER_BIN" --config "$CFG" "$@"; }
# tenant FILE ID JQ: a field of one tenant of a status report.
tenant() { json_get "$1" ".tenants[] | select(.id == \"$2\") | $3"; }
# drift FILE ID: the tenant's state, then its added and missing lines, one per line.
drift() {
  json_get "$1" ".tenants[] | select(.id == \"$2\") |
    [\"state: \" + .state] + [.schema_drift.added[]? | \"+ \" + .] +
    [.schema_drift.missing[]? | \"- \" + .] | .[]"
}

assert_exit 0 drover migrate --format json
assert_eq "17 17" "$(json_get "$OUT_FILE" '[.tenants | length, ([.[] | select(.outcome == "migrated")] | length)] | join(" ")')" \
  "every tenant migrated"

# --- hand-made differences -------------------------------------------------------------
pg_sql "${PG_DBS[3]}" 'ALTER TABLE users ADD COLUMN nickname text'
pg_sql "${PG_DBS[4]}" 'DROP TABLE users; DROP TABLE orgs'
my_sql "${MY_DBS[3]}" 'DROP INDEX users_email ON users'
my_sql "${MY_DBS[4]}" 'DROP TABLE users; DROP TABLE orgs'
# SQLite cannot alter a default: rebuild the table, spelled differently from the migration
# (case, spacing), so that only the default tells it apart.
sqlite_sql "$T/tenants/d.db" "PRAGMA foreign_keys = OFF;
create table orgs_new(id integer primary key,name varchar(100) not null default 'other',
  constraint orgs_name_set check(name<>''));
insert into orgs_new select * from orgs; drop table orgs;
alter table orgs_new rename to orgs;"
sqlite_sql "$T/tenants/e.db" 'DROP TABLE users; DROP TABLE orgs'
# Tenant c's SequelizeMeta gets sequelize-cli's timestamp columns: the meta table is never
# part of the schema, so c stays equal to a and b.
pg_sql "${PG_DBS[2]}" 'ALTER TABLE "SequelizeMeta" ADD COLUMN "createdAt" timestamptz NOT NULL DEFAULT now(), ADD COLUMN "updatedAt" timestamptz NOT NULL DEFAULT now()'
my_sql "${MY_DBS[2]}" 'ALTER TABLE SequelizeMeta ADD COLUMN createdAt DATETIME NOT NULL DEFAULT NOW(), ADD COLUMN updatedAt DATETIME NOT NULL DEFAULT NOW()'
sqlite_sql "$T/tenants/c.db" "ALTER TABLE SequelizeMeta ADD COLUMN createdAt DATETIME NOT NULL DEFAULT 0;
ALTER TABLE SequelizeMeta ADD COLUMN updatedAt DATETIME NOT NULL DEFAULT 0;"

# --- without --schema: nothing is read, nothing is drifted ------------------------------
assert_exit 0 drover status --format json
assert_eq "17" "$(json_get "$OUT_FILE" '[.tenants[] | select(.fingerprint == null and .schema_drift == null and .state == "current")] | length')" \
  "without --schema: no fingerprint, no drift, every tenant current"

# --- with --schema ------------------------------------------------------------------------
assert_exit 0 drover status --schema --format json
cp "$OUT_FILE" "$T/run1.json"
for d in pg my lite; do
  fp=$(tenant "$T/run1.json" "${d}_a" .fingerprint)
  [[ "$fp" =~ ^[0-9a-f]{16}$ ]] || fail "$d: fingerprint '$fp' is not 16 hex digits"
  for x in b c; do
    assert_eq "$fp" "$(tenant "$T/run1.json" "${d}_$x" .fingerprint)" "$d: ${d}_$x shares ${d}_a's fingerprint"
  done
  for x in a b c; do
    assert_eq "current null" "$(tenant "$T/run1.json" "${d}_$x" '[.state, .schema_drift] | map(tostring) | join(" ")')" \
      "$d: ${d}_$x is current"
  done
  for x in d e; do
    other=$(tenant "$T/run1.json" "${d}_$x" .fingerprint)
    [[ "$other" =~ ^[0-9a-f]{16}$ && "$other" != "$fp" ]] || fail "$d: ${d}_$x's fingerprint '$other' should differ from '$fp'"
  done
done
assert_eq "$(json_get "$T/run1.json" '[.tenants[] | select(.id | startswith("pg_") or startswith("my_")) | .fingerprint]')" \
  "$(drover status --schema --format json | jq '[.tenants[] | select(.id | startswith("pg_") or startswith("my_")) | .fingerprint]')" \
  "the fingerprints are the same on a second run"
assert_eq "$(json_get "$T/run1.json" '.summary | [.current, .drifted] | join(" ")')" "11 6" \
  "summary: the altered and the hollow tenant of each dialect are drifted"

assert_eq "state: drifted
+ column users.nickname text" "$(drift "$T/run1.json" pg_d)" "pg_d: the added column"
assert_eq "state: drifted
- constraint users users_email unique (email)
- index users users_email unique (email)" "$(drift "$T/run1.json" my_d)" "my_d: the dropped index"
assert_eq "state: drifted
+ column orgs.name varchar(100) not null default 'other'
- column orgs.name varchar(100) not null default 'acme'" "$(drift "$T/run1.json" lite_d)" \
  "lite_d: the changed default"

# Left with nothing but SequelizeMeta, a tenant has no schema lines at all: its fingerprint is
# FNV-1a 64 of the empty text.
for d in pg my lite; do
  assert_eq "cbf29ce484222325" "$(tenant "$T/run1.json" "${d}_e" .fingerprint)" "${d}_e: an empty schema"
done

# The hollow tenants lack the whole schema: every line of each dialect's canonical form.
assert_eq "state: drifted
- column orgs.id integer not null
- column orgs.name character varying(100) not null default 'acme'::character varying
- column users.email character varying(255) not null
- column users.id integer not null
- column users.org_id integer not null
- column users.status character varying(20) not null default 'active'::character varying
- constraint orgs orgs_name_set check ((name)::text <> ''::text)
- constraint orgs orgs_pkey primary key (id)
- constraint users users_org_fk foreign key (org_id) references orgs (id) on update no action on delete cascade
- constraint users users_pkey primary key (id)
- index orgs orgs_pkey unique (id)
- index users users_email unique (email)
- index users users_org_status (org_id, status)
- index users users_pkey unique (id)
- table orgs
- table users" "$(drift "$T/run1.json" pg_e)" "pg_e: the whole PostgreSQL schema"
assert_eq "state: drifted
- column orgs.id int(11) not null
- column orgs.name varchar(100) not null default 'acme'
- column users.email varchar(255) not null
- column users.id int(11) not null
- column users.org_id int(11) not null
- column users.status varchar(20) not null default 'active'
- constraint orgs PRIMARY primary key (id)
- constraint orgs orgs_name_set check (\`name\` <> '')
- constraint users PRIMARY primary key (id)
- constraint users users_email unique (email)
- constraint users users_org_fk foreign key (org_id) references orgs (id) on update restrict on delete cascade
- index orgs PRIMARY unique (id)
- index users PRIMARY unique (id)
- index users users_email unique (email)
- index users users_org_status (org_id, status)
- table orgs
- table users" "$(drift "$T/run1.json" my_e)" "my_e: the whole MariaDB schema"
assert_eq "state: drifted
- column orgs.id integer
- column orgs.name varchar(100) not null default 'acme'
- column users.email varchar(255) not null
- column users.id integer
- column users.org_id integer not null
- column users.status varchar(20) not null default 'active'
- constraint orgs primary key (id)
- constraint users foreign key (org_id) references orgs (id) on update no action on delete cascade
- constraint users primary key (id)
- index users users_email unique (email)
- index users users_org_status (org_id, status)
- table orgs
- table users" "$(drift "$T/run1.json" lite_e)" "lite_e: the whole SQLite schema"

# The table shows the diff under the tenant's row.
assert_exit 0 drover status --schema --tenant pg_a --tenant pg_b --tenant pg_d
assert_contains "$OUT" "pg_d    dev  postgres  drifted            2        0        0  $M2
    + column users.nickname text
"

# --- schema-per-tenant: each tenant reads its own schema only ----------------------------
# t2 gets a column, public a table nobody migrated. Read together, the two tenants would be
# equal; read apart, t2 differs from t1 (a tie of one each: the first in the results wins).
pg_sql "$SPT_DB" 'ALTER TABLE t2.users ADD COLUMN extra integer; CREATE TABLE public.stray (x integer)'
assert_exit 0 drover status --schema --tag spt --format json
assert_eq "state: current" "$(drift "$OUT_FILE" spt_1)" "spt_1: the reference"
assert_eq "state: drifted
+ column users.extra integer" "$(drift "$OUT_FILE" spt_2)" "spt_2: only its own schema's column"
assert_eq "$(tenant "$T/run1.json" pg_a .fingerprint)" "$(tenant "$OUT_FILE" spt_1 .fingerprint)" \
  "spt_1's schema is the same as a database-per-tenant's: no schema name in the lines"

# --- a meta table of another name: "audit.my_meta" (MariaDB and SQLite: one table of that
# name; PostgreSQL: my_meta in the tenant's own schema) is left out as SequelizeMeta is.
CUSTOM_CFG=$T/custom/drover.cfg
write_inventory "$CUSTOM_CFG" <<EOF
migrations = { path = "$T/migrations"; table = "my_meta"; schema = "audit"; };
environments = ( { name = "dev"; } );
tenants = (
  { id = "pg_custom"; env = "dev"; url = "$PG/$PG_CUSTOM?schema=audit"; },
  { id = "my_custom"; env = "dev"; url = "$MY/$MY_CUSTOM"; },
  { id = "lite_custom"; env = "dev"; url = "sqlite:$T/tenants/custom.db"; }
);
EOF
assert_exit 0 "$DROVER_BIN" --config "$CUSTOM_CFG" migrate
assert_eq "my_meta" "$(pg_sql "$PG_CUSTOM" "SELECT tablename FROM pg_tables WHERE schemaname = 'audit' AND tablename LIKE 'my%'")" \
  "pg_custom: the meta table lives in the tenant's schema"
assert_eq "audit.my_meta" "$(my_sql "$MY_CUSTOM" "SHOW TABLES LIKE 'audit%'")" "my_custom: the meta table"
assert_exit 0 "$DROVER_BIN" --config "$CUSTOM_CFG" status --schema --format json
for d in pg my lite; do
  assert_eq "$(tenant "$T/run1.json" "${d}_a" .fingerprint)" "$(tenant "$OUT_FILE" "${d}_custom" .fingerprint)" \
    "${d}_custom: the same schema as ${d}_a, its meta table left out"
done

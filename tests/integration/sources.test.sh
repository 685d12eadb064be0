#!/usr/bin/env bash
# sources.test.sh — tenants read from the team's own catalogue (tenants_from). A PostgreSQL
# `tenants` table drives a fleet of PostgreSQL schemas and SQLite files: its query decides
# who is in (lifecycle), tags select, a row added between runs is found, a suspended one is
# left alone. A MariaDB catalogue, a command printing JSON lines and an HTTP endpoint (on
# 127.0.0.1) work the same. Every bad case — unreachable catalogue, failing query, bad row,
# duplicate id, failing or hanging command, HTTP error — is exit 2 naming the source, with
# nothing touched; no password from a row, the catalogue URL or a ${VAR} shows anywhere.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"
# shellcheck disable=SC2016 # ${PGPW}/${MYPW} are for drover (or the catalogue) to expand

jq_out() { json_get "$OUT_FILE" "$1"; }
export CATALOG_TOKEN=tok-Pl4nted-9d1
write_migration "$T/m" 20241001000001-a.sql "CREATE TABLE a (id int);" "DROP TABLE a;"
ENVS='( { name = "staging"; }, { name = "prod"; } )'

# --- a PostgreSQL catalogue: schemas of one database and SQLite files --------------------------
CAT=$(unique_name src_cat)
FLEET=$(unique_name src_fleet)
new_pg_db "$CAT"
new_pg_db "$FLEET"
for s in s1 s2 s3 s4; do pg_sql "$FLEET" "CREATE SCHEMA $s" >/dev/null; done
mkdir -p "$T/lite"
schema_url() { echo "postgres://drover:\${PGPW}@127.0.0.1:$PG_PORT/$FLEET?schema=$1"; }
pg_sql "$CAT" "CREATE TABLE tenants (id text, env text, url text, tags text[], lifecycle text, plan text);
INSERT INTO tenants VALUES
  ('acme', 'prod', '$(schema_url s1)', '{eu,vip}', 'active', 'gold'),
  ('globex', 'prod', '$(schema_url s2)', '{us}', 'readonly', 'free'),
  ('initech', 'staging', '$(schema_url s3)', '{}', 'active', 'free'),
  ('umbrella', 'prod', '$(schema_url s4)', '{eu}', 'suspended', 'gold'),
  ('hooli', 'prod', 'sqlite:$T/lite/hooli.db', '{eu}', 'active', 'free');" >/dev/null
QUERY="SELECT id, env, url, tags, plan FROM tenants WHERE lifecycle IN ('active', 'readonly') ORDER BY id"
{
  echo "migrations = { path = \"$T/m\"; };"
  echo "environments = $ENVS;"
  echo "tenants = ( { id = \"static\"; env = \"staging\"; url = \"sqlite:$T/lite/static.db\"; } );"
  echo "tenants_from = ( { url = \"$(pg_url "$CAT")\"; query = \"$QUERY\"; } );"
} | write_inventory "$T/pg.cfg"

drover_run 0 "$T/pg.cfg" check
assert_contains "$OUT" "tenants_from[1] (postgres://drover:***@127.0.0.1:$PG_PORT/$CAT): 4 tenants in " \
  "check shows the source's row count"
drover_run 0 "$T/pg.cfg" migrate --tag eu --format json
assert_eq "acme:migrated hooli:migrated" "$(jq_out '[.tenants[] | "\(.id):\(.outcome)"] | join(" ")')" \
  "tags from a PostgreSQL array select source tenants"
drover_run 0 "$T/pg.cfg" migrate --format json
assert_eq "static initech globex" "$(jq_out '[.tenants[] | select(.outcome == "migrated") | .id] | join(" ")')" \
  "the rest migrate, the suspended tenant is not in the fleet"
assert_eq "" "$(pg_sql "$FLEET" "SELECT to_regclass('s4.a')")" "umbrella (suspended) untouched"
assert_eq "s2.a" "$(pg_sql "$FLEET" "SELECT to_regclass('s2.a')")" "globex (readonly) migrated"

# A customer signs up between two deploys: its row is found and it shows up behind.
pg_sql "$FLEET" "CREATE SCHEMA s5" >/dev/null
pg_sql "$CAT" "INSERT INTO tenants VALUES ('newco', 'prod', '$(schema_url s5)', NULL, 'active', 'free')" >/dev/null
drover_run 10 "$T/pg.cfg" status --format json --exit-code
assert_eq "newco:behind" "$(jq_out '[.tenants[] | select(.state != "current") | "\(.id):\(.state)"] | join(" ")')" \
  "a row added since the last run is a tenant, behind"
last_run=$("$DROVER_BIN" --config "$T/pg.cfg" runs --format json | jq -r '.[0].id')
assert_eq "$last_run|newco|" \
  "$(jq_out '.views.fleet_changes | "\(.since_run)|\(.appeared | join(" "))|\(.disappeared | join(" "))"')" \
  "status names the tenant that appeared since the last run"
drover_run 0 "$T/pg.cfg" migrate --tenant newco
drover_run 0 "$T/pg.cfg" status --exit-code
assert_not_contains "$OUT" "tenants since run" "nothing appeared or disappeared since the last run"
# A customer suspended since the last run is not silently forgotten.
pg_sql "$CAT" "UPDATE tenants SET lifecycle = 'suspended' WHERE id = 'acme'" >/dev/null
drover_run 0 "$T/pg.cfg" status
assert_contains "$OUT" "  disappeared (1): acme" "status names the tenant that disappeared"
pg_sql "$CAT" "UPDATE tenants SET lifecycle = 'active' WHERE id = 'acme'" >/dev/null

# --- bad catalogue rows and sources: exit 2 naming the source, nothing touched ------------------
bad_case() { # NAME SQL_FIX EXPECTED_MESSAGE
  pg_sql "$CAT" "$2" >/dev/null
  drover_run 2 "$T/pg.cfg" migrate
  assert_contains "$ERR" "$3" "$1"
  assert_contains "$ERR" "tenants_from[1] (postgres://drover:***@127.0.0.1:$PG_PORT/$CAT)" "$1: the source is named"
}
pg_sql "$FLEET" "CREATE SCHEMA s6" >/dev/null
pg_sql "$CAT" "INSERT INTO tenants VALUES ('later', 'prod', '$(schema_url s6)', NULL, 'active', 'free')" >/dev/null
bad_case "an undeclared environment" "UPDATE tenants SET env = 'qa' WHERE id = 'later'" \
  "(id 'later'): environment 'qa' is not declared in 'environments'"
bad_case "a bad id" "UPDATE tenants SET env = 'prod', id = 'la ter' WHERE id = 'later'" \
  ": tenant id 'la ter' may contain only letters, digits, '.', '_' and '-'"
bad_case "an id also in the file" "UPDATE tenants SET id = 'static' WHERE id = 'la ter'" \
  "tenant id 'static' is also declared at $T/pg.cfg:3"
bad_case "a bad URL scheme" "UPDATE tenants SET id = 'later', url = 'oracle://x/y' WHERE id = 'static'" \
  "(id 'later'): "
bad_case "both url and agent missing" "UPDATE tenants SET url = NULL WHERE id = 'later'" \
  "(id 'later'): needs exactly one of url and agent"
assert_eq "" "$(pg_sql "$FLEET" "SELECT to_regclass('s6.\"SequelizeMeta\"')")" "bad rows: nothing touched"
pg_sql "$CAT" "DELETE FROM tenants WHERE id = 'later'" >/dev/null

# The query's own error, and a catalogue that is not there.
sed -e "s/ORDER BY id/ORDER BY no_such_column/" "$T/pg.cfg" >"$T/badquery.cfg"
drover_run 2 "$T/badquery.cfg" status
assert_contains "$ERR" "the query failed: column \"no_such_column\" does not exist" "a failing query: the server's message"
sed -e "s#/$CAT\"#/no_such_catalog\"#" "$T/pg.cfg" >"$T/nocat.cfg"
drover_run 2 "$T/nocat.cfg" status
assert_contains "$ERR" "database \"no_such_catalog\" does not exist" "an unreachable catalogue: the server's message"
sed -e 's/SELECT id, env, url, tags, plan/SELECT id, url/' "$T/pg.cfg" >"$T/cols.cfg"
drover_run 2 "$T/cols.cfg" status
assert_contains "$ERR" "the query must return the columns id, env and url (or agent), optionally tags; it returns: id, url" \
  "missing columns are named"

# --- a MariaDB catalogue, tags as a comma-separated string -------------------------------------
MYCAT=$(unique_name src_mycat)
new_my_db "$MYCAT"
my_sql "$MYCAT" "CREATE TABLE customers (slug varchar(40), stage varchar(20), db varchar(200), labels varchar(100), status varchar(20));
INSERT INTO customers VALUES ('m1', 'staging', 'sqlite:$T/lite/m1.db', 'eu, canary', 'active'),
                             ('m2', 'prod', 'sqlite:$T/lite/m2.db', '', 'active'),
                             ('m3', 'prod', 'sqlite:$T/lite/m3.db', 'eu', 'deleted');"
{
  echo "migrations = { path = \"$T/m\"; };"
  echo "environments = $ENVS;"
  echo "tenants_from = ( { url = \"$(my_url "$MYCAT")\";"
  echo "  query = \"SELECT slug AS id, stage AS env, db AS url, labels AS tags FROM customers WHERE status = 'active'\"; } );"
} | write_inventory "$T/my.cfg"
drover_run 0 "$T/my.cfg" migrate --tag canary --format json
assert_eq "m1:migrated" "$(jq_out '[.tenants[] | "\(.id):\(.outcome)"] | join(" ")')" "MariaDB catalogue: tags split on commas"
drover_run 10 "$T/my.cfg" status --format json --exit-code
assert_eq "m1:current m2:behind" "$(jq_out '[.tenants[] | "\(.id):\(.state)"] | join(" ")')" \
  "MariaDB catalogue: the deleted customer is not in the fleet"

# --- a command: JSON lines, its failure, its hang ----------------------------------------------
cat >"$T/list-tenants" <<EOF
#!/bin/sh
echo '{"id": "c1", "env": "prod", "url": "sqlite:$T/lite/c1.db", "tags": ["eu"]}'
echo ''
echo '{"id": "c2", "env": "staging", "url": "postgres://drover:\${PGPW}@127.0.0.1:$PG_PORT/$FLEET?schema=c2"}'
EOF
chmod +x "$T/list-tenants"
pg_sql "$FLEET" "CREATE SCHEMA c2" >/dev/null
cmd_cfg() { # FILE COMMAND_LIST [TIMEOUT]
  {
    echo "migrations = { path = \"$T/m\"; };"
    echo "environments = $ENVS;"
    echo "tenants_from = ( { command = $2; ${3:+timeout = \"$3\";} } );"
  } | write_inventory "$1"
}
cmd_cfg "$T/cmd.cfg" "[\"$T/list-tenants\"]"
drover_run 0 "$T/cmd.cfg" migrate --format json
assert_eq "c2:migrated c1:migrated" "$(jq_out '[.tenants[] | "\(.id):\(.outcome)"] | join(" ")')" \
  "a command's JSON lines are tenants, \${PGPW} in a row expanded by drover"
cmd_cfg "$T/cmdfail.cfg" '["sh", "-c", "echo catalogue service down >&2; exit 3"]'
drover_run 2 "$T/cmdfail.cfg" status
assert_contains "$ERR" "tenants_from[1] (command sh): the command exited with status 3: catalogue service down" \
  "a failing command: its status and stderr"
cmd_cfg "$T/cmdhang.cfg" '["sleep", "30"]' "1s"
t0=$SECONDS
drover_run 2 "$T/cmdhang.cfg" status
[ $((SECONDS - t0)) -le 5 ] || fail "a hanging command held drover $((SECONDS - t0)) s"
_lib_pass
assert_contains "$ERR" "the command did not finish within 1 s; it was killed" "a hanging command is bounded"
cmd_cfg "$T/cmdjunk.cfg" '["echo", "not json"]'
drover_run 2 "$T/cmdjunk.cfg" status
assert_contains "$ERR" "line 1 of the output is not JSON" "output that is not JSON"

# --- HTTP, on 127.0.0.1 (socat answers one canned response per connection) ---------------------
printf '[{"id": "h1", "env": "prod", "url": "sqlite:%s/lite/h1.db", "tags": "eu"}]' "$T" >"$T/body.json"
serve() { # STATUS_LINE: an HTTP server on a free port; sets HTTP_PORT
  HTTP_PORT=$(free_port)
  # The responder keeps the request's headers (up to the blank line), then answers.
  {
    echo '#!/bin/sh'
    echo 'while IFS= read -r line; do'
    echo "  printf '%s\\n' \"\$line\" >>'$T/request.txt'"
    echo "  [ \"\$line\" = \"\$(printf '\\r')\" ] && break"
    echo 'done'
    echo "printf 'HTTP/1.1 $1\\r\\nContent-Type: application/json\\r\\nConnection: close\\r\\n\\r\\n'"
    echo "cat '$T/body.json'"
  } >"$T/respond.sh"
  chmod +x "$T/respond.sh"
  socat "TCP-LISTEN:$HTTP_PORT,bind=127.0.0.1,fork,reuseaddr" EXEC:"$T/respond.sh" \
    >"$T/socat.log" 2>&1 &
  _FL_PIDS+=($!)
  wait_for 10 "the HTTP server" bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT" 2>/dev/null
}
http_cfg() {
  {
    echo "migrations = { path = \"$T/m\"; };"
    echo "environments = $ENVS;"
    echo "tenants_from = ( { http = \"http://127.0.0.1:$HTTP_PORT/tenants\"; token = \"\${CATALOG_TOKEN}\"; timeout = \"5s\"; } );"
  } | write_inventory "$1"
}
serve "200 OK"
http_cfg "$T/http.cfg"
drover_run 0 "$T/http.cfg" migrate --tag eu --format json
assert_eq "h1:migrated" "$(jq_out '[.tenants[] | "\(.id):\(.outcome)"] | join(" ")')" "an HTTP source's JSON array"
assert_contains "$(cat "$T/request.txt")" "Authorization: Bearer $CATALOG_TOKEN" "the token is sent as a bearer token"
serve "503 Service Unavailable"
http_cfg "$T/http503.cfg"
drover_run 2 "$T/http503.cfg" status
assert_contains "$ERR" "tenants_from[1] (http http://127.0.0.1:$HTTP_PORT/tenants): HTTP status 503" "an HTTP error status"
{
  echo "migrations = { path = \"$T/m\"; };"
  echo "environments = $ENVS;"
  echo 'tenants_from = ( { http = "http://catalog.example.com/tenants"; } );'
} | write_inventory "$T/plain.cfg"
drover_run 2 "$T/plain.cfg" status
assert_contains "$ERR" "'http' must be an https:// URL" "plain http beyond this machine is refused"

# --- no secret anywhere: the catalogue's password, rows' ${PGPW}, the token ---------------------
for f in "$T"/*.out "$T"/*.err; do [ -e "$f" ] || continue; cat "$f"; done >"$T/all-output" 2>/dev/null || true
sqlite_sql "$T/drover-journal.db" ".dump" >>"$T/all-output" 2>/dev/null || true
assert_not_contains "$(cat "$T/all-output")" "$PGPW" "no PostgreSQL password in any output or journal"
assert_not_contains "$(cat "$T/all-output")" "$CATALOG_TOKEN" "no token in any output or journal"

# --- a drover-agent's own inventory reads tenants_from too --------------------------------------
mkdir -p "$T/agent"
cp -r "$T/m" "$T/agent/m"
printf '#!/bin/sh\necho '"'"'{"id": "ag1", "env": "prod", "url": "sqlite:%s/lite/ag1.db"}'"'"'\n' "$T" >"$T/agent/list"
chmod +x "$T/agent/list"
{
  echo 'migrations = { path = "m"; };'
  echo "environments = $ENVS;"
  echo "tenants_from = ( { command = [\"$T/agent/list\"]; } );"
} | write_inventory "$T/agent/drover.cfg"
start_agent_in "$T/agent"
_FL_PIDS+=("$AGENT_STARTED_PID")
export AGENT_TOKEN
AGENT_TOKEN=$(cat "$T/agent/tokens")
{
  echo "migrations = { path = \"$T/m\"; };"
  echo "environments = $ENVS;"
  echo "agents = ( { name = \"dc\"; url = \"http://127.0.0.1:$AGENT_STARTED_PORT\"; token = \"\${AGENT_TOKEN}\"; } );"
  echo 'tenants = ( { id = "ag1"; env = "prod"; agent = "dc"; } );'
} | write_inventory "$T/coord.cfg"
drover_run 0 "$T/coord.cfg" migrate --format json
assert_eq "ag1:migrated" "$(jq_out '[.tenants[] | "\(.id):\(.outcome)"] | join(" ")')" \
  "an agent migrates a tenant its own tenants_from returned"

#!/usr/bin/env bash
# agent_js.test.sh — teams' Sequelize .js migrations through a drover-agent: the agent finds
# the project's node_modules as drover does and runs the same set as js_migrations.test.sh on
# PostgreSQL and MariaDB tenants, leaving schema and SequelizeMeta exactly as a local run does
# (migrate and undo --all); verify through the agent gives the local verdicts and leaves its
# tenants as they were; a migration that throws rolls the agent's PostgreSQL tenant back;
# an agent that cannot run .js (no sequelize in its project) is refused by the coordinator's
# preflight with exit 2 and nothing touched (verify too), while reads through it still work.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/postgres_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres_lib.sh"
# shellcheck source=tests/integration/js_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/js_lib.sh"

: "${DROVER_AGENT_BIN:?DROVER_AGENT_BIN is not set (drover-agent not built)}"
T=$DROVER_TEST_TMPDIR
declare -A AGENT_PID AGENT_PORT
MY_DBS=()
cleanup() {
  local p db
  for p in "${AGENT_PID[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  for db in "${MY_DBS[@]}"; do my_drop_db "$db" || true; done
}
trap 'rc=$?; cleanup >/dev/null 2>&1; _pg_drop_test_dbs; (exit $rc); _lib_on_exit' EXIT

my_new_db() {
  MY_DBS+=("$1")
  my_create_db "$1"
}
my_tenant_url() {
  echo "mysql://$DROVER_TEST_MYSQL_USER:\${MYPW}@$DROVER_TEST_MYSQL_HOST:$DROVER_TEST_MYSQL_PORT/$1"
}
my_show() {
  local t
  for t in SequelizeMeta Users Posts audit_log; do my_sql "$1" "SHOW CREATE TABLE \`$t\`"; done
}

# start_agent NAME: the agent whose files are in $T/NAME (drover.cfg beside it).
start_agent() {
  echo "token-$1-0123456789" >"$T/$1/tokens"
  start_agent_in "$T/$1" "parallel = 2;"
  AGENT_PORT[$1]=$AGENT_STARTED_PORT
  AGENT_PID[$1]=$AGENT_STARTED_PID
}

# coordinator CFG AGENT MIGRATIONS TENANTS...: an inventory whose agent tenants are named
# "ID@agent" and local ones "ID=URL".
coordinator() {
  local cfg=$1 a=$2 path=$3 t sep=""
  shift 3
  {
    echo "migrations = { path = \"$path\"; };"
    echo 'environments = ( { name = "prod"; } );'
    echo "agents = ( { name = \"$a\"; url = \"http://127.0.0.1:${AGENT_PORT[$a]}\";"
    echo "             token = \"token-$a-0123456789\"; timeout = 60; } );"
    echo "tenants = ("
    for t in "$@"; do
      if [[ $t == *@agent ]]; then
        printf '%s  { id = "%s"; env = "prod"; agent = "%s"; }\n' "$sep" "${t%@agent}" "$a"
      else
        printf '%s  { id = "%s"; env = "prod"; url = "%s"; }\n' "$sep" "${t%%=*}" "${t#*=}"
      fi
      sep=","
    done
    echo ");"
  } | write_inventory "$cfg"
}

# --- 1. The same .js set, locally and through the agent, on PostgreSQL and MariaDB.
project "$T/proj"
pg_l=$(unique_name ajl) pg_a=$(unique_name aja) my_l=$(unique_name ajl) my_a=$(unique_name aja)
pg_new_db "$pg_l"
pg_new_db "$pg_a"
my_new_db "$my_l"
my_new_db "$my_a"
mkdir -p "$T/alpha"
write_inventory "$T/alpha/drover.cfg" <<EOF
migrations = { path = "../proj/migrations"; };
environments = ( { name = "prod"; } );
tenants = ( { id = "apg"; env = "prod"; url = "$(pg_url "$pg_a")"; },
            { id = "amy"; env = "prod"; url = "$(my_tenant_url "$my_a")"; } );
EOF
start_agent alpha
coordinator "$T/proj/drover.cfg" alpha migrations "lpg=$(pg_url "$pg_l")" apg@agent \
  "lmy=$(my_tenant_url "$my_l")" amy@agent

# verify runs on the agent, where its tenants are: each migration up, down, up again, rolled
# back (PostgreSQL) or on a scratch database (MariaDB); the verdicts are the local tenants'.
before_pg=$(pg_schema "$pg_a")
verdicts() { json_get "$OUT_FILE" '.tenants[] | select(.id == "'"$1"'") | [.verify.migrations[] | "\(.migration)=\(.ok)"] | join(" ")'; }
# changeColumn's down on PostgreSQL leaves the column's new default: a leaky down, named on both.
assert_exit 1 drover "$T/proj/drover.cfg" verify --format json
assert_eq "8 8 8 8" "$(json_get "$OUT_FILE" '[.tenants[] | .verify.migrations | length] | join(" ")')" \
  "verify: every pending migration verified on each tenant, through the agent too"
assert_eq "$(verdicts lpg)" "$(verdicts apg)" "verify: the agent's PostgreSQL verdicts are the local ones"
assert_contains "$(verdicts apg)" "20240101000003-change-column.js=false" "verify: the agent names the leaky down"
assert_contains "$ERR" "tenant 'apg': migration '20240101000003-change-column.js': down does not bring the schema back"
assert_eq "lpg=failed apg=failed lmy=ok amy=ok" "$(json_get "$OUT_FILE" '[.tenants[] | "\(.id)=\(.outcome)"] | join(" ")')" \
  "verify: PostgreSQL tenants fail on the leaky down, MariaDB's pass, locally and through the agent"
assert_eq "$(verdicts lmy)" "$(verdicts amy)" "verify: the agent's MariaDB verdicts are the local ones"
assert_contains "$(json_get "$OUT_FILE" '.tenants[] | select(.id == "amy") | .verify.where')" "scratch database" \
  "verify: the agent says where it ran"
assert_eq "$before_pg" "$(pg_schema "$pg_a")" "verify: the agent's PostgreSQL tenant is as it was"
assert_eq "" "$(my_sql "$my_a" 'SHOW TABLES')" "verify: the agent's MariaDB tenant is as it was"
assert_eq "" "$(my_sql "" "SHOW DATABASES LIKE 'drover\\_verify%'")" "verify: no scratch database left"
assert_contains "$(cat "$T/alpha/agent.log")" "/apg'): verify of 1 tenant(s)" "verify: the agent ran it"

assert_exit 0 drover "$T/proj/drover.cfg" migrate --format json
assert_eq "succeeded|lpg=migrated:8 apg=migrated:8 lmy=migrated:8 amy=migrated:8" \
  "$(json_get "$OUT_FILE" '.outcome + "|" + ([.tenants[] | "\(.id)=\(.outcome):\(.applied | length)"] | join(" "))')" \
  "every tenant migrated, through the agent too"
assert_eq "$ALL" "$(pg_rows "$pg_a")" "agent pg: SequelizeMeta rows"
assert_eq "$(pg_rows "$pg_l")" "$(pg_rows "$pg_a")" "agent pg: SequelizeMeta as the local run's"
assert_eq "$(pg_schema "$pg_l")" "$(pg_schema "$pg_a")" "agent pg: schema as the local run's"
assert_eq "1|created" "$(pg_sql "$pg_a" 'SELECT id, note FROM audit_log')" "agent pg: raw query ran"
assert_eq "$ALL" "$(my_sql "$my_a" 'SELECT name FROM SequelizeMeta ORDER BY name')" "agent mariadb: meta rows"
assert_eq "$(my_show "$my_l" | sed "s/$my_l/DB/g")" "$(my_show "$my_a" | sed "s/$my_a/DB/g")" \
  "agent mariadb: SHOW CREATE TABLE as the local run's"
assert_eq "$(my_sql "$my_l" 'SELECT id, email, handle FROM Users ORDER BY email')" \
  "$(my_sql "$my_a" 'SELECT id, email, handle FROM Users ORDER BY email')" "agent mariadb: rows"
assert_contains "$(cat "$T/alpha/agent.log")" "tenant 'apg' migrated"

# Every down through the agent, as locally.
assert_exit 0 drover "$T/proj/drover.cfg" undo --all --format json
assert_eq "lpg=reverted apg=reverted lmy=reverted amy=reverted" \
  "$(json_get "$OUT_FILE" '[.tenants[] | "\(.id)=\(.outcome)"] | join(" ")')" "undo --all everywhere"
assert_eq "" "$(pg_rows "$pg_a")" "agent pg: undo empties SequelizeMeta"
assert_eq "$(pg_schema "$pg_l")" "$(pg_schema "$pg_a")" "agent pg: schema after the downs as local"
assert_eq "SequelizeMeta" "$(my_sql "$my_a" 'SHOW TABLES')" "agent mariadb: undo drops every table"

# --- 2. A migration that throws half-way: the agent's PostgreSQL tenant is rolled back.
project "$T/half" 20240101000001-create-users.js
cp "$DROVER_SOURCE_DIR/tests/data/itest/js-failing/20240101000002-half-way.js" "$T/half/migrations/"
pg_h=$(unique_name ajh)
pg_new_db "$pg_h"
mkdir -p "$T/beta"
write_inventory "$T/beta/drover.cfg" <<EOF
migrations = { path = "../half/migrations"; };
environments = ( { name = "prod"; } );
tenants = ( { id = "hpg"; env = "prod"; url = "$(pg_url "$pg_h")"; } );
EOF
start_agent beta
coordinator "$T/half/drover.cfg" beta migrations hpg@agent
assert_exit 1 drover "$T/half/drover.cfg" migrate --format json
assert_eq "rolled_back|20240101000002-half-way.js|tenant 'hpg': migration '20240101000002-half-way.js': boom half-way" \
  "$(json_get "$OUT_FILE" '.tenants[0] | [.outcome, .error.migration, .error.message] | join("|")')" \
  "half: the agent's tenant failed on the throwing migration and was rolled back"
assert_eq "" "$(pg_rows "$pg_h")" "half: SequelizeMeta as before the run"
assert_eq "SequelizeMeta" "$(pg_relations "$pg_h")" "half: no table left behind"

# --- 3. An agent whose project has no sequelize: refused before anything runs.
mkdir -p "$T/bare/migrations" "$T/gamma"
cp "$JS_SRC/20240101000001-create-users.js" "$T/bare/migrations/"
pg_g=$(unique_name ajg)
pg_new_db "$pg_g"
write_inventory "$T/gamma/drover.cfg" <<EOF
migrations = { path = "../bare/migrations"; };
environments = ( { name = "prod"; } );
tenants = ( { id = "gpg"; env = "prod"; url = "$(pg_url "$pg_g")"; } );
EOF
start_agent gamma
assert_contains "$(cat "$T/gamma/agent.log")" "warning: .js migrations cannot run here: 'sequelize' is not installed"
# The coordinator's project has node_modules: only the agent lacks them.
project "$T/coord" 20240101000001-create-users.js
coordinator "$T/coord/drover.cfg" gamma migrations gpg@agent
assert_exit 2 drover "$T/coord/drover.cfg" migrate
assert_contains "$ERR" "agent 'gamma' cannot run the set's .js migrations: 'sequelize' is not installed in any node_modules from '$T/gamma/../bare/migrations' upwards"
assert_contains "$ERR" "hint: on agent 'gamma': run 'npm install sequelize' (and the dialect driver: pg, mysql2 or sqlite3) in the project, or set migrations.node_modules; no tenant was touched; then restart drover-agent"
assert_eq "SequelizeMeta missing" "$(pg_sql "$pg_g" "SELECT coalesce(to_regclass('\"SequelizeMeta\"')::text, 'SequelizeMeta missing')")" \
  "refused: nothing touched"
assert_exit 2 drover "$T/coord/drover.cfg" verify
assert_contains "$ERR" "agent 'gamma' cannot run the set's .js migrations" "verify: refused the same way"
assert_not_contains "$(cat "$T/gamma/agent.log")" "batch b1" "refused: no batch reached the agent"
# A batch sent anyway (an older coordinator) is refused by the agent itself.
req='{"run_id":"r1","command":"migrate","tenants":["gpg"],"migrations_digest":"'
req+=$(curl -sf -H "Authorization: Bearer token-gamma-0123456789" \
  "http://127.0.0.1:${AGENT_PORT[gamma]}/v1/migrations" | jq -r .migrations_digest)'"}'
code=$(curl -s -o "$T/gamma/reply.json" -w '%{http_code}' -H "Authorization: Bearer token-gamma-0123456789" \
  -H 'Content-Type: application/json' -d "$req" "http://127.0.0.1:${AGENT_PORT[gamma]}/v1/batches")
assert_eq "409" "$code" "the agent refuses a .js migrate it cannot run"
assert_contains "$(jq -r .error "$T/gamma/reply.json")" "this agent cannot run the set's .js migrations"
# Reads need no node runner: status through the agent still works.
assert_exit 0 drover "$T/coord/drover.cfg" status --format json
assert_eq "gpg=behind" "$(json_get "$OUT_FILE" '[.tenants[] | "\(.id)=\(.state)"] | join(" ")')" \
  "status through an agent without sequelize"

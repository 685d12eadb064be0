#!/usr/bin/env bash
# html_report.test.sh — `drover status --format html` rendered by Debian's headless Chromium:
# a fleet of SQLite tenants and two PostgreSQL ones (current, behind, with a gap, drifted with
# a markup-laden unknown row, dirty after a half-applied migration, unreachable) gives a page
# whose JS-built matrix, cards, filters and sorting match the JSON status cell for cell, that
# loads nothing from the network (NetLog, checked against a control page that does), and whose
# screenshot is kept as build/test-artifacts/html-report.png.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] ||
  fail "chromium is not installed: this test renders the report in headless Chromium (hint: scripts/install-deps.sh --servers installs Debian's chromium package)"

T=$DROVER_TEST_TMPDIR
PG_PROD=$(unique_name html_pg_prod)
PG_GONE=$(unique_name html_pg_gone) # never created: the tenant is unreachable
cleanup() { pg_drop_db "$PG_PROD" || true; }
trap 'rc=$?; cleanup >/dev/null 2>&1; (exit $rc); _lib_on_exit' EXIT
pg_create_db "$PG_PROD"

M1=20240101000001-users.sql
M2=20240101000002-orgs.sql
M3=20240101000003-notes.sql
UNKNOWN_ROW='20231201000000-<script>alert(1)</script>.js'
mkdir -p "$T/migrations" "$T/tenants"
printf -- '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE users;\n' >"$T/migrations/$M1"
printf -- '-- migrate:up\nCREATE TABLE orgs (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE orgs;\n' >"$T/migrations/$M2"
# Without a transaction, so that a failure of its second statement leaves lite_dirty dirty.
printf -- '-- migrate:up transaction:false\nCREATE TABLE notes (id INTEGER);\nCREATE TABLE audit (id INTEGER);\n\n-- migrate:down\nDROP TABLE audit;\nDROP TABLE notes;\n' >"$T/migrations/$M3"

PG="postgres://drover:\${DROVER_TEST_PG_PASSWORD}@127.0.0.1:$DROVER_TEST_PG_PORT"
CFG=$T/drover.cfg
write_inventory "$CFG" <<EOF
migrations = { path = "migrations"; };
environments = ( { name = "staging"; }, { name = "prod"; } );
tenants = (
  { id = "lite_behind"; env = "staging"; url = "sqlite:tenants/behind.db"; tags = ["us"]; },
  { id = "lite_drift";  env = "staging"; url = "sqlite:tenants/drift.db";  tags = ["eu", "vip"]; },
  { id = "lite_dirty";  env = "staging"; url = "sqlite:tenants/dirty.db"; },
  { id = "pg_prod";     env = "prod";    url = "$PG/$PG_PROD";            tags = ["us"]; },
  { id = "lite_cur";    env = "prod";    url = "sqlite:tenants/cur.db";   tags = ["eu"]; },
  { id = "lite_gap";    env = "prod";    url = "sqlite:tenants/gap.db";   tags = ["eu"]; },
  { id = "pg_gone";     env = "prod";    url = "$PG/$PG_GONE"; }
);
EOF
drover() { "$DROVER_BIN" --config "$CFG" "$@"; }

# --- the fleet: every state the page colours.
sqlite_sql "$T/tenants/dirty.db" 'CREATE TABLE audit (id INTEGER);'
assert_exit 1 drover migrate --tenant lite_drift --tenant lite_dirty --tenant pg_prod \
  --tenant lite_cur --tenant lite_gap
assert_contains "$OUT" "lite_dirty (staging, sqlite): DIRTY"
assert_exit 0 drover migrate --tenant lite_behind --to "$M1"
sqlite_sql "$T/tenants/drift.db" "INSERT INTO SequelizeMeta (name) VALUES ('$UNKNOWN_ROW');"
sqlite_sql "$T/tenants/gap.db" "DELETE FROM SequelizeMeta WHERE name = '$M2';"

assert_exit 1 drover status --format json --out "$T/status.json"
assert_eq "lite_behind:behind lite_drift:drifted lite_dirty:dirty pg_prod:current lite_cur:current lite_gap:behind pg_gone:unreachable" \
  "$(json_get "$T/status.json" '[.tenants[] | .id + ":" + .state] | join(" ")')" \
  "the fleet has every state the test needs"

assert_exit 1 drover status --format html --out "$T/report.html"
assert_eq "" "$OUT" "with --out, nothing on stdout"
assert_exit 2 drover plan --format html
assert_eq "drover: format 'html' is for status" "$(head -n 1 <<<"$ERR")"
HTML=$(cat "$T/report.html")

# --- the file: one page, its data one JSON blob that no tenant's text can break out of.
assert_eq "<!DOCTYPE html>" "$(head -n 1 "$T/report.html")"
assert_contains "$HTML" "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
DATA_LINE='^<script type="application/json" id="drover-data">'
assert_eq 1 "$(grep -c "$DATA_LINE" "$T/report.html")" "one data blob, on its own line"
grep "$DATA_LINE" "$T/report.html" | sed -e "s#$DATA_LINE##" -e 's#</script>$##' >"$T/data.json"
assert_eq 0 "$(grep -c '<' "$T/data.json" || true)" "no '<' inside the blob: it cannot close its script"
assert_eq "$(jq -c .summary "$T/status.json")" "$(jq -c .summary "$T/data.json")" \
  "the page's summary is the JSON status summary"
# The page carries no applied/pending lists: the migrations applied on every readable tenant
# (here only M1) make one prefix column, and each tenant has one cell per column. Read back,
# they give the JSON status's applied lists exactly.
assert_eq "1|$M2 $M3|false false true" \
  "$(jq -r '[.prefix, ([.columns[] | select(.extra | not) | .name] | join(" ")),
             ([.columns[].extra | tostring] | join(" "))] | map(tostring) | join("|")' "$T/data.json")" \
  "one prefix migration, then the migrations where tenants differ, then the unknown row"
APPLIED_FROM_CELLS='.migrations as $m | .prefix as $p | (if $p > 0 then 1 else 0 end) as $o
  | .columns as $c | [.tenants[] | . as $t | [.id, .state,
      ((if $p > 0 and $t.cells[0:1] == "A" then $m[0:$p] else [] end)
       + [range(0; $c | length) | select(($c[.].extra | not) and $t.cells[(. + $o):(. + $o + 1)] == "A")
          | $c[.].name]), .pending_count, .unknown]]'
assert_eq "$(jq -c '[.tenants[] | [.id, .state, .applied, (.pending | length), .unknown]]' "$T/status.json")" \
  "$(jq -c "$APPLIED_FROM_CELLS" "$T/data.json")" \
  "the page's tenants are the JSON status tenants"
assert_eq "$UNKNOWN_ROW" "$(json_get "$T/data.json" '.tenants[1].unknown[0]')" \
  "the escaped row decodes to the row as stored"
assert_eq '["lite_gap"]' "$(jq -c '[.tenants[] | select(.gap) | .id]' "$T/data.json")"

# No fetch anywhere in the markup, CSS or JS (the data blob holds masked database URLs,
# which are text, so it is left out here).
grep -v "$DATA_LINE" "$T/report.html" >"$T/page-code.html"
CODE=$(cat "$T/page-code.html")
for needle in "http:" "https:" "//" "@import" "url(" "<link" "<img" "<iframe" "<object"; do
  assert_not_contains "$CODE" "$needle" "the page's own code has '$needle'"
done
refs=$(grep -oiE "(src|href|srcset|action)[[:space:]]*=[[:space:]]*[\"']?[^\"' >]*" \
  "$T/page-code.html" | grep -viE "=[[:space:]]*[\"']?(#|data:)" || true)
assert_eq "" "$refs" "src/href point nowhere but # and data:"

# --- Chromium: the page after its JS ran. Each run gets its own profile; host resolution
# fails for every name, and the NetLog records any request the page itself starts.
chrome() {
  local profile
  profile=$(mktemp -d "$T/chromium-profile.XXXXXX")
  timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$profile" \
    --enable-logging=stderr --v=0 "$@"
}
# page_requests NETLOG: the URLs of requests started by a page (the browser's own background
# requests carry the initiator "not an origin"; a file:// page's carry "null").
page_requests() {
  jq -r '.constants.logEventTypes.URL_REQUEST_START_JOB as $t
         | .events[] | select(.type == $t and .params.url != null
                and .params.initiator != "not an origin")
         | .params.url' "$1"
}
PAGE="file://$T/report.html"

# A control page that does fetch: proves the NetLog check sees a page's request.
printf '<!DOCTYPE html><html><body><img src="http://drover-html-test.invalid/x.png"></body></html>\n' \
  >"$T/control.html"
chrome --log-net-log="$T/control-net.json" --dump-dom "file://$T/control.html" \
  >/dev/null 2>"$T/control.stderr"
assert_eq "http://drover-html-test.invalid/x.png" "$(page_requests "$T/control-net.json")" \
  "the NetLog check sees a page's request"

chrome --log-net-log="$T/net.json" --dump-dom "$PAGE" >"$T/dom.html" 2>"$T/chromium.stderr"
assert_eq "" "$(page_requests "$T/net.json")" "the report requested nothing"
CHROME_ERR=$(cat "$T/chromium.stderr")
assert_not_contains "$CHROME_ERR" "Content Security Policy" "the page tried to load something"
assert_not_contains "$CHROME_ERR" "Uncaught" "a JavaScript error"
DOM=$(cat "$T/dom.html")

# count PATTERN: occurrences of PATTERN (grep -E) in the rendered DOM.
count() { grep -oE "$1" "$T/dom.html" | wc -l | tr -d ' '; }
# visible_rows DOM_FILE: the tenant ids of the shown matrix rows, in DOM order.
visible_rows() {
  grep -oE '<tbody class="tenant" data-id="[^"]*"[^>]*>' "$1" | grep -v 'hidden=""' |
    sed -E 's/.*data-id="([^"]*)".*/\1/' | paste -sd' '
}

# The matrix: 7 tenants x (the M1 prefix column + 2 migrations + 1 unknown row) cells, by
# state exactly as the JSON status says: failed where the dirty mark names the migration,
# unread for the unreachable. With a prefix of one migration, the cells by state count as
# they would with a column per migration.
TENANTS=$(json_get "$T/status.json" '.tenants | length')
MIGS=$(json_get "$T/status.json" '.migrations | length')
UNKNOWN_COLS=$(json_get "$T/status.json" '[.tenants[].unknown[]] | unique | length')
assert_eq "7 3 1" "$TENANTS $MIGS $UNKNOWN_COLS"
assert_eq $((TENANTS * (MIGS + UNKNOWN_COLS))) "$(count '<td class="cell" data-state="')" \
  "matrix cells = tenants x (migrations + unknown columns)"
assert_eq "$((MIGS - 1))" "$(count '<th class="mig" scope="col"')"
assert_eq 1 "$(count '<th class="mig prefix" scope="col" title="1 migration applied everywhere: '"$M1 to $M1"'">')" \
  "the prefix column names its migrations"
assert_eq "$UNKNOWN_COLS" "$(count '<th class="mig extra" scope="col"')"
for state in applied pending failed unknown absent unread; do
  case $state in
    applied) q='[.tenants[].applied | length] | add' ;;
    pending) q='[.tenants[] | (.pending | length) - (if .dirty_migration then 1 else 0 end)] | add' ;;
    failed) q='[.tenants[] | select(.dirty_migration or .error.migration)] | length' ;;
    unknown) q='[.tenants[].unknown | length] | add' ;;
    absent) q="[.tenants[] | select(.state != \"unreachable\") | $UNKNOWN_COLS - (.unknown | length)] | add" ;;
    unread) q="[.tenants[] | select(.state == \"unreachable\")] | length * ($MIGS + $UNKNOWN_COLS)" ;;
  esac
  assert_eq "$(json_get "$T/status.json" "$q")" "$(count "<td class=\"cell\" data-state=\"$state\"")" \
    "cells in state $state match the JSON status"
done
assert_eq "14 3 1 1 5 4" "$(for s in applied pending failed unknown absent unread; do
  count "<td class=\"cell\" data-state=\"$s\""; done | paste -sd' ')" "cells by state"
assert_contains "$DOM" "<td class=\"cell\" data-state=\"failed\" title=\"lite_dirty · $M3: failed\">✗</td>"
assert_contains "$DOM" "<td class=\"cell\" data-state=\"unknown\" title=\"lite_drift · 20231201000000-&lt;script&gt;alert(1)&lt;/script&gt;.js: unknown\">?</td>"

# Markup in the data stays text: the page's two script elements and no third.
assert_eq 2 "$(count '<script')" "script elements in the DOM"
assert_contains "$DOM" "<pre>20231201000000-&lt;script&gt;alert(1)&lt;/script&gt;.js</pre>"
assert_contains "$DOM" "database \"$PG_GONE\" does not exist"

# Rows: one tbody per tenant, all shown, those needing a person first: by state (dirty,
# unreachable, locked, drifted, behind, current), then environment, then rollout order, each
# group under a heading. Seven tenants: nothing folded.
assert_eq "lite_dirty pg_gone lite_drift lite_behind lite_gap pg_prod lite_cur" \
  "$(visible_rows "$T/dom.html")" "every tenant shown, attention first"
assert_eq "staging/dirty prod/unreachable staging/drifted staging/behind prod/behind prod/current" \
  "$(grep -oE '<tbody class="group" data-env="[a-z]+" data-state="[a-z]+"' "$T/dom.html" |
     sed -E 's/.*data-env="([a-z]+)" data-state="([a-z]+)"/\1\/\2/' | paste -sd' ')" \
  "a heading per state and environment, in that order"
assert_contains "$DOM" '<span class="group-label"> prod · 2 tenants</span>'
assert_eq 0 "$(grep -c '<tbody class="fold"' "$T/dom.html" || true)" "a small fleet folds nothing"
assert_contains "$DOM" '<p class="showing" id="showing" aria-live="polite">showing 7 of 7 tenants</p>'

# Header and cards: the numbers of the JSON status, per environment and state.
assert_contains "$DOM" '<span id="fleet-size">7 tenants</span>'
assert_contains "$DOM" '<span id="migration-count">3 migrations</span>'
for env in staging prod; do
  for state in current behind drifted dirty locked unreachable; do
    want=$(json_get "$T/status.json" "[.tenants[] | select(.env == \"$env\" and .state == \"$state\")] | length")
    got=$(grep -oE "data-env=\"$env\" data-state=\"$state\"><dt>$state</dt><dd>[0-9]+</dd>" \
      "$T/dom.html" | sed -E 's/.*<dd>([0-9]+)<.*/\1/')
    assert_eq "$want" "$got" "card '$env': $state"
  done
done
for state in current behind drifted dirty locked unreachable; do
  want=$(json_get "$T/status.json" ".summary.$state")
  assert_eq 1 "$(count "<li data-state=\"$state\"><span class=\"badge [a-z-]+\">$want $state</span>")" \
    "header total: $state"
done

# The controls: labelled selects filled from the data, and the five sort headers.
for f in env state tag; do
  assert_eq 1 "$(count "<label for=\"filter-$f\">")" "a label for filter-$f"
done
assert_contains "$DOM" '<select id="filter-env"><option value="">all</option><option value="staging">staging</option><option value="prod">prod</option></select>'
assert_contains "$DOM" '<select id="filter-tag"><option value="">all</option><option value="eu">eu</option><option value="us">us</option><option value="vip">vip</option></select>'
assert_eq 6 "$(grep -oE '<select id="filter-state">.*</select>' "$T/dom.html" |
  grep -oE '<option value="[a-z]+">' | wc -l | tr -d ' ')" "a state option per state"
for k in id env state applied pending; do
  assert_eq 1 "$(count "<th scope=\"col\" data-sort=\"$k\" aria-sort=\"none\"><button class=\"sort\" type=\"button\">")" \
    "sort header $k"
done

# Views: version skew and gaps.
skew_rows=$(grep -oE '<table id="skew">.*</table>' "$T/dom.html" |
  grep -oE '<th scope="row">[^<]*</th><td class="num">[0-9]+</td>' |
  sed -E 's#<th scope="row">([^<]*)</th><td class="num">([0-9]+)</td>#\1=\2#' | paste -sd' ')
assert_eq "$M3=4 $M1=1 $M2=1" "$skew_rows" "version skew: heads, most tenants first"
assert_eq "$(jq -r '[.heads[] | "\(.head)=\(.tenants)"] | join(" ")' "$T/data.json")" "$skew_rows"
assert_eq "6/6 4/6 4/6 1" "$(grep -oE '<td class="coverage"[^>]*>[^<]*</td>' "$T/dom.html" |
  sed -E 's#.*>([^<]*)</td>#\1#' | paste -sd' ')" "coverage: applied on X of Y readable tenants"
assert_contains "$DOM" "<li data-id=\"lite_gap\"><code>lite_gap</code> (prod) lacks $M2</li>"

# --- filtering and sorting through the page's URL parameters.
chrome --dump-dom "$PAGE?filter-env=prod&sort=-pending" >"$T/dom-prod.html" 2>/dev/null
assert_eq "lite_gap pg_prod lite_cur pg_gone" "$(visible_rows "$T/dom-prod.html")" \
  "prod only, most pending first, ties in rollout order"
assert_contains "$(cat "$T/dom-prod.html")" 'data-sort="pending" aria-sort="descending"'
assert_contains "$(cat "$T/dom-prod.html")" 'showing 4 of 7 tenants'
chrome --dump-dom "$PAGE?filter-tag=eu&sort=id" >"$T/dom-eu.html" 2>/dev/null
assert_eq "lite_cur lite_drift lite_gap" "$(visible_rows "$T/dom-eu.html")" "tag eu, by id"
chrome --dump-dom "$PAGE?filter-state=behind&filter-tag=us" >"$T/dom-behind.html" 2>/dev/null
assert_eq "lite_behind" "$(visible_rows "$T/dom-behind.html")" "behind and tagged us"

# --- a fleet of 60: what needs a person comes first, identical current rows fold into one
# line per environment (listed on demand), and the table lists only the tenants that are not
# current unless --all.
BIG=$T/big
mkdir -p "$BIG/tenants"
{
  echo 'migrations = { path = "../migrations"; };'
  echo 'environments = ( { name = "staging"; }, { name = "prod"; } );'
  echo 'tenants = ('
  for i in $(seq -w 1 60); do
    env=prod
    [ "$i" -gt 50 ] && env=staging
    printf '%s  { id = "t%s"; env = "%s"; url = "sqlite:tenants/t%s.db"; }\n' "$([ "$i" = 01 ] || echo ,)" "$i" "$env" "$i"
  done
  echo ');'
} | write_inventory "$BIG/drover.cfg"
big() { "$DROVER_BIN" --config "$BIG/drover.cfg" "$@"; }
assert_exit 0 big migrate
for i in 07 33 58; do sqlite_sql "$BIG/tenants/t$i.db" "DELETE FROM SequelizeMeta WHERE name = '$M3';"; done
sqlite_sql "$BIG/tenants/t12.db" "INSERT INTO SequelizeMeta (name) VALUES ('20200101000000-gone.js');"
assert_exit 0 big status
assert_eq 4 "$(grep -cE '^t[0-9]+ ' <<<"$OUT")" "the table lists only the 4 tenants that are not current"
assert_contains "$OUT" "(56 current tenants not listed; --all lists every tenant)"
assert_exit 0 big status --all
assert_eq 60 "$(grep -cE '^t[0-9]+ ' <<<"$OUT")" "--all lists every tenant"
assert_exit 0 big status --format markdown
assert_not_contains "$OUT" "### Tenants" "markdown: no full list by default"
assert_exit 0 big status --format markdown --all
assert_eq 60 "$(grep -cE '^\| t[0-9]+ \|' <<<"$(sed -n '/### Tenants/,/### Version skew/p' <<<"$OUT")")" \
  "markdown --all: a row per tenant"
assert_exit 0 big status --format html --out "$BIG/report.html"
assert_eq "2" "$(grep "$DATA_LINE" "$BIG/report.html" | sed -e "s#$DATA_LINE##" -e 's#</script>$##' | jq -r '.prefix')" \
  "M1 and M2 are applied on every tenant: one prefix column stands for both"
chrome --dump-dom "file://$BIG/report.html" >"$BIG/dom.html" 2>/dev/null
assert_eq "t12 t58 t07 t33" "$(visible_rows "$BIG/dom.html")" \
  "the tenants needing attention, individually, drifted then behind, staging before prod"
assert_eq "staging:9 prod:47" "$(grep -oE '<tbody class="fold" data-env="[a-z]+" data-state="current" data-count="[0-9]+"' "$BIG/dom.html" |
  sed -E 's/.*data-env="([a-z]+)".*data-count="([0-9]+)"/\1:\2/' | paste -sd' ')" \
  "current tenants fold into one line per environment, with their count"
assert_contains "$(cat "$BIG/dom.html")" '<span class="count">47 current tenants, identical rows</span>'
assert_contains "$(cat "$BIG/dom.html")" 'showing 60 of 60 tenants'
assert_eq 0 "$(grep -c 'data-id="t01"' "$BIG/dom.html" || true)" "folded rows are built only when opened"

# --- the screenshot, kept beside the build for a person to look at.
case $(basename "$(dirname "$T")") in
  test-tmp) ARTIFACTS=$(dirname "$(dirname "$T")")/test-artifacts ;;
  *) ARTIFACTS=$T/test-artifacts ;;
esac
mkdir -p "$ARTIFACTS"
SHOT=$(dirname "$T")/html-report.png
rm -f "$SHOT"
chrome --hide-scrollbars --window-size=1280,1400 --screenshot="$SHOT" \
  "$PAGE?open=lite_drift&open=pg_gone" >/dev/null 2>&1
assert_eq "89504e470d0a1a0a" "$(head -c 8 "$SHOT" | od -An -tx1 | tr -d ' \n')" "a PNG"
cp "$SHOT" "$ARTIFACTS/html-report.png"
echo "html_report: screenshot kept as $ARTIFACTS/html-report.png"

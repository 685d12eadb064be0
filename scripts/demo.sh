#!/usr/bin/env bash
# demo.sh — the README's first command: builds drover, writes a fleet of 13 SQLite tenants
# (dev, staging, prod) into a work folder, migrates them all and shows their status.
# Safe to re-run: the second run finds every tenant up to date and migrates nothing.
#   usage: scripts/demo.sh [WORK_DIR]    (default: ./demo-work)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${1:-./demo-work}
migrations=$repo/conf/demo/migrations
drover=$repo/build/orchestrator/drover

say() { printf '\n==== %s\n' "$*"; }
die() {
  echo "demo: $*" >&2
  exit 1
}

# The fleet: id, environment, tags (comma-separated, may be empty).
TENANTS=(
  "dev-sandbox dev -"
  "dev-qa dev -"
  "dev-perf dev -"
  "stg-eu staging eu,canary"
  "stg-us staging us"
  "stg-partners staging eu"
  "acme prod eu,canary"
  "globex prod us,canary"
  "initech prod us"
  "umbrella prod eu"
  "hooli prod us"
  "stark prod eu"
  "wayne prod us"
)

# cfg_string TEXT: TEXT as a libconfig string literal.
cfg_string() {
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

# write_config FILE: the inventory. Rewritten identically on every run, so re-running the
# demo never changes the fleet.
write_config() {
  local file=$1 i id env tags tag_list sep t
  {
    echo "# drover demo fleet, written by scripts/demo.sh (rewritten on every run)."
    echo "migrations = { path = $(cfg_string "$migrations"); };"
    echo 'environments = ( { name = "dev"; }, { name = "staging"; }, { name = "prod"; } );'
    echo "tenants = ("
    sep=","
    for ((i = 0; i < ${#TENANTS[@]}; i++)); do
      read -r id env tags <<<"${TENANTS[$i]}"
      [ "$i" -eq $((${#TENANTS[@]} - 1)) ] && sep=""
      tag_list=""
      if [ "$tags" != - ]; then
        for t in ${tags//,/ }; do
          tag_list+="${tag_list:+, }\"$t\""
        done
        tag_list=" tags = [ $tag_list ];"
      fi
      printf '  { id = "%s"; env = "%s";%s url = "sqlite:tenants/%s.db"; }%s\n' \
        "$id" "$env" "$tag_list" "$id" "$sep"
    done
    echo ");"
  } >"$file.tmp"
  mv "$file.tmp" "$file"
}

say "installing build dependencies (only what is missing)"
"$repo/scripts/install-deps.sh"

say "building drover in $repo/build/"
cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$repo/build" -j"$(nproc 2>/dev/null || echo 2)" --target drover
[ -x "$drover" ] || die "the build did not produce '$drover'"
[ -d "$migrations" ] || die "the demo migrations are missing: '$migrations'"

mkdir -p "$work/tenants"
work=$(cd "$work" && pwd)
write_config "$work/drover.cfg"

say "drover migrate"
"$drover" --config "$work/drover.cfg" migrate

say "drover status"
"$drover" --config "$work/drover.cfg" status

say "where things are"
echo "  drover binary:  $drover"
echo "  inventory:      $work/drover.cfg (${#TENANTS[@]} tenants: dev, staging, prod)"
echo "  tenant dbs:     $work/tenants/*.db (try: sqlite3 $work/tenants/acme.db .tables)"
echo "  migrations:     $migrations"
echo "  run it again:   $0 ${1:-} (nothing left to migrate the second time)"

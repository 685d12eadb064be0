#!/usr/bin/env bash
# layers.sh — checks that libdrover's layers (docs/architecture.md, "The tree") only call
# downwards: a function defined in one layer's folder may call functions of the layers listed
# before it, never of its own layer's successors. Read from the object files' symbol tables
# (nm), so it sees the calls the compiler saw, not only the #includes.
#   usage: layers.sh "LAYER..." OBJECT...   (an object's layer is the folder it was built in)
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 \"LAYER...\" OBJECT..." >&2; exit 2; }
order=$1
shift

# "D SYMBOL LAYER" for every defined function, then "U SYMBOL LAYER FILE" for every call out
# of a file; one awk pass judges them all.
layer_of() { basename "$(dirname "$1")"; }
for o in "$@"; do
  nm -g --defined-only "$o" | awk -v L="$(layer_of "$o")" 'NF == 3 { print "D", $3, L }'
done >"${TMPDIR:-/tmp}/layers.$$"
for o in "$@"; do
  nm -u "$o" | awk -v L="$(layer_of "$o")" -v F="$(basename "$o" .o)" '{ print "U", $2, L, F }'
done >>"${TMPDIR:-/tmp}/layers.$$"
awk -v order="$order" '
  BEGIN { n = split(order, names, " "); for (i = 1; i <= n; i++) rank[names[i]] = i }
  $1 == "D" { if (!($3 in rank)) { print "layers: no layer named " $3 > "/dev/stderr"; bad = 1 }
              def[$2] = $3; next }
  $1 == "U" && ($2 in def) && rank[def[$2]] > rank[$3] {
    printf "layers: %s/%s calls %s, defined in %s, a later layer\n", $3, $4, $2, def[$2] > "/dev/stderr"
    bad = 1
  }
  END {
    if (!bad) printf "layers: %d layers, every call goes downwards\n", n
    exit bad
  }' "${TMPDIR:-/tmp}/layers.$$" || { rm -f "${TMPDIR:-/tmp}/layers.$$"; exit 1; }
rm -f "${TMPDIR:-/tmp}/layers.$$"

#!/usr/bin/env bash
# install-deps.sh — installs the Debian 12 packages drover needs: to build and run the demo
# (no option), to run the test suite (--servers: the PostgreSQL and MariaDB servers it starts
# itself, chromium for the HTML report, Node.js and npm for the real sequelize-cli, ...), or
# to run bench/ (--bench, which implies --servers). What each needs is declared once, in
# scripts/deps.sh, command by command with its package.
# Idempotent: apt is only touched when a declared command or package is missing.
set -euo pipefail

usage() {
  echo "usage: $0 [--servers] [--bench]" >&2
  exit 2
}

# shellcheck source=scripts/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"

groups=(build)
for arg in "$@"; do
  case "$arg" in
    --servers) groups+=(test) ;;
    --bench) groups+=(test bench) ;;
    -h|--help) usage ;;
    *) echo "install-deps: unknown argument '$arg'" >&2; usage ;;
  esac
done

mapfile -t missing < <(deps_missing "${groups[@]}")
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: everything for '${groups[*]}' is installed"
  exit 0
fi
echo "install-deps: missing: ${missing[*]}"

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: need root to install: ${missing[*]}" >&2
  echo "hint: run this script as root, or install sudo, or install the packages yourself" >&2
  exit 1
fi

# The test suite starts its own throwaway servers; the packages must not leave system
# services running (or try to start them in a container). A policy-rc.d that answers 101
# ("action forbidden") makes invoke-rc.d and deb-systemd-invoke skip every start. We only
# add one when none exists, and remove exactly the one we added.
policy=/usr/sbin/policy-rc.d
added_policy=0
remove_policy() {
  if [ "$added_policy" = 1 ]; then
    "${as_root[@]}" rm -f "$policy"
  fi
}
trap remove_policy EXIT
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# added by drover scripts/install-deps.sh during apt-get install\nexit 101\n' \
    | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
  added_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"

# Belt and braces for hosts whose existing policy-rc.d allowed the start: stop the services
# of the server packages we have just installed (never ones that were already there).
stop_service_if_running() {
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$1" 2>/dev/null; then
    echo "install-deps: stopping system service '$1' (the tests start their own servers)"
    "${as_root[@]}" systemctl stop "$1" || true
  fi
}
for p in "${missing[@]}"; do
  case "$p" in
    mariadb-server) stop_service_if_running mariadb ;;
    postgresql) stop_service_if_running postgresql ;;
  esac
done

still=$(deps_missing "${groups[@]}" | paste -sd' ')
if [ -n "$still" ]; then
  echo "install-deps: still missing after apt-get install: $still" >&2
  exit 1
fi
echo "install-deps: installed ${#missing[@]} package(s)"

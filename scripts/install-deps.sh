#!/usr/bin/env bash
# install-deps.sh — installs the Debian 12 packages drover needs to build (and, with
# --servers, what the integration tests run: the PostgreSQL and MariaDB servers they start
# themselves, and Debian's chromium for the headless test of the HTML report).
# libmicrohttpd-dev builds drover-agent and a test helper (the webhook receiver of notify.test.sh);
# curl and openssl drive agent.test.sh (requests, and the certificate of its TLS agent).
# pgbouncer: pgbouncer.test.sh checks that a transaction-pooling proxy is detected.
# Idempotent: apt is only touched when dpkg says a package is missing.
set -euo pipefail

usage() {
  echo "usage: $0 [--servers]" >&2
  exit 2
}

BUILD_PACKAGES=(build-essential cmake pkg-config git libpq-dev default-libmysqlclient-dev
                libsqlite3-dev libconfig-dev libcurl4-openssl-dev libjansson-dev libcmocka-dev
                libmicrohttpd-dev sqlite3 jq curl openssl)
SERVER_PACKAGES=(postgresql postgresql-client mariadb-server mariadb-client chromium pgbouncer)

want_servers=0
for arg in "$@"; do
  case "$arg" in
    --servers) want_servers=1 ;;
    -h|--help) usage ;;
    *) echo "install-deps: unknown argument '$arg'" >&2; usage ;;
  esac
done

packages=("${BUILD_PACKAGES[@]}")
if [ "$want_servers" = 1 ]; then
  packages+=("${SERVER_PACKAGES[@]}")
fi

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

missing=()
for p in "${packages[@]}"; do
  is_installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
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

echo "install-deps: installed ${#missing[@]} package(s)"

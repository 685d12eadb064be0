#!/usr/bin/env bash
# run-test.sh — how ctest runs every integration test: loads the servers the "servers"
# fixture started, gives the test its own fresh temp dir (kept when it fails) and the
# paths it needs, then runs it there.
#   usage: run-test.sh BINARY_DIR SOURCE_DIR DROVER_BIN TEST_NAME -- COMMAND [ARG...]
set -euo pipefail

if [ $# -lt 6 ] || [ "$5" != -- ]; then
  echo "usage: $0 BINARY_DIR SOURCE_DIR DROVER_BIN TEST_NAME -- COMMAND [ARG...]" >&2
  exit 2
fi
binary_dir=$1
source_dir=$2
drover_bin=$3
test_name=$4
shift 5

env_file=$binary_dir/test-servers/servers.env
if [ ! -f "$env_file" ]; then
  echo "run-test: '$env_file' is missing: the test servers are not running" >&2
  echo "hint: run the test through ctest (the 'servers' fixture starts them), or run" >&2
  echo "      scripts/test-servers.sh start '$binary_dir/test-servers' first" >&2
  exit 1
fi
# shellcheck source=/dev/null
source "$env_file"

tmp=$binary_dir/test-tmp/${test_name//\//_}
rm -rf "$tmp"
mkdir -p "$tmp"

export DROVER_BIN=$drover_bin
export DROVER_SOURCE_DIR=$source_dir
export DROVER_TEST_TMPDIR=$tmp

rc=0
(cd "$tmp" && "$@") || rc=$?
if [ "$rc" -eq 0 ]; then
  rm -rf "$tmp"
else
  echo "run-test: '$test_name' failed (exit $rc); its files are kept in '$tmp'" >&2
fi
exit "$rc"

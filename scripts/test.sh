#!/usr/bin/env bash
# test.sh — the whole test suite, as CI runs it: installs what is missing, then builds and
# runs ctest three times: a normal build in build/, an ASan+UBSan build in build-asan/, and
# the threaded tests (label tsan) in a ThreadSanitizer build in build-tsan/. The
# integration servers are started and stopped by ctest's fixture; a trap stops them when
# the run is interrupted. Extra arguments go to ctest (e.g. -L unit).
# ctest runs with a PATH of exactly the commands scripts/deps.sh declares (build/tool-path/),
# so a test that needs an undeclared tool fails here, not on somebody's fresh machine.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

jobs=$(nproc 2>/dev/null || echo 2)
ctest_pid=
failed=()

# stop_everything: an interrupted ctest never runs the fixture's cleanup, so stop its
# process group ourselves and then the servers of both build dirs (a no-op when stopped).
stop_everything() {
  if [ -n "$ctest_pid" ] && kill -0 "$ctest_pid" 2>/dev/null; then
    kill -TERM -- "-$ctest_pid" 2>/dev/null || kill -TERM "$ctest_pid" 2>/dev/null || true
    wait "$ctest_pid" 2>/dev/null || true
  fi
  local dir
  for dir in build build-asan build-tsan; do
    "$repo/scripts/test-servers.sh" stop "$repo/$dir/test-servers" || true
  done
}
trap stop_everything EXIT
trap 'echo "test.sh: interrupted" >&2; exit 130' INT
trap 'echo "test.sh: terminated" >&2; exit 143' TERM

# run_suite NAME BUILD_DIR CMAKE_ARGS... -- CTEST_ARGS...: configure, build, ctest.
run_suite() {
  local name=$1 dir=$2 cmake_args=() rc=0
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    cmake_args+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  echo "==== $name: configure and build in $dir/"
  cmake -S . -B "$dir" -DDROVER_TESTS=ON "${cmake_args[@]}" || return 1
  cmake --build "$dir" -j"$jobs" || return 1
  echo "==== $name: ctest"
  # ctest runs in the background, in its own process group, so that a signal reaches this
  # script at once (wait returns) and the trap can stop ctest and everything it started.
  setsid env PATH="$tool_path" "$ctest_bin" --test-dir "$dir" --output-on-failure -j2 "$@" &
  ctest_pid=$!
  wait "$ctest_pid" || rc=$?
  ctest_pid=
  return "$rc"
}

"$repo/scripts/install-deps.sh" --servers
# shellcheck source=scripts/deps.sh
source "$repo/scripts/deps.sh"
tool_path=$repo/build/tool-path
deps_tool_path "$tool_path" build test || exit 1
ctest_bin=$(command -v ctest)

# The js tests' npm projects (sequelize-cli, drivers; sqlite3 compiles for minutes when npm
# finds no prebuilt binding) are installed once for all three builds.
export DROVER_TEST_NPM_DIR=$repo/build-npm

run_suite build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -- "$@" || failed+=(build)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-asan build-asan -DCMAKE_BUILD_TYPE=Debug -DDROVER_SANITIZE=ON -- "$@" ||
  failed+=(build-asan)

# ThreadSanitizer cannot share a build with ASan: a third build runs the threaded tests
# (the pool, and a parallel fleet through the real binary).
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
run_suite build-tsan build-tsan -DCMAKE_BUILD_TYPE=Debug -DDROVER_TSAN=ON -- -L tsan "$@" ||
  failed+=(build-tsan)

# libFuzzer (clang) on the inventory and .sql parsers: a short slice from the suite's own
# inputs (tests/fuzz; bench/fuzz runs them for as long as asked). Only the fuzz targets and
# the library are built.
fuzz_suite() {
  echo "==== build-fuzz: configure and build in build-fuzz/"
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DDROVER_FUZZ=ON -DDROVER_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=Debug -DDROVER_FUZZ_SECONDS="${DROVER_FUZZ_SECONDS:-20}" &&
    cmake --build build-fuzz -j"$jobs" --target fuzz_sql fuzz_inventory || return 1
  echo "==== build-fuzz: ctest -L fuzz"
  PATH=$tool_path "$ctest_bin" --test-dir build-fuzz --output-on-failure -j2 -L fuzz
}
fuzz_suite || failed+=(build-fuzz)

if [ "${#failed[@]}" -eq 0 ]; then
  echo "test.sh: all tests passed (build/, build-asan/, build-tsan/, build-fuzz/)"
else
  echo "test.sh: FAILED in: ${failed[*]}" >&2
  exit 1
fi

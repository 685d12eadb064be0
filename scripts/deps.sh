# deps.sh — sourced by install-deps.sh, test.sh and bench/: the one list of what drover's
# scripts need from Debian 12. Every external command that a script, a test or a tool they
# start (npm's node-gyp, gcc, mariadb-install-db, chromium's wrapper) runs is declared here
# once, with the package that provides it, in the group that needs it:
#   build  building drover and running the demo (scripts/demo.sh)
#   test   the test suite (scripts/test.sh; install-deps.sh --servers)
#   bench  bench/ (install-deps.sh --bench)
# test.sh runs ctest with a PATH that holds exactly the build and test commands (deps_tool_path),
# so a test that runs an undeclared command fails in CI even on a machine that happens to have
# it, instead of on a fresh one. A COMMAND given as an absolute path is checked there and not
# put on that PATH (PostgreSQL's server binaries are not on Debian's PATH).
# shellcheck shell=bash
# shellcheck disable=SC2034 # the lists are for the scripts that source this

# Libraries and other packages with no command to look for: checked with dpkg.
DEPS_PACKAGES_build=(libpq-dev default-libmysqlclient-dev libsqlite3-dev libconfig-dev
                     libcurl4-openssl-dev libjansson-dev libcmocka-dev libmicrohttpd-dev
                     libpg-query-dev)
DEPS_PACKAGES_test=()
DEPS_PACKAGES_bench=()

# "COMMAND PACKAGE"
DEPS_COMMANDS_build=(
  "bash bash" "sh dash" "cat coreutils" "dirname coreutils" "mkdir coreutils" "mv coreutils"
  "nproc coreutils" "printf coreutils" "dpkg-query dpkg"
  "cmake cmake" "make make" "pkg-config pkg-config"
  "cc gcc" "as binutils" "ld binutils" "ar binutils" "ranlib binutils"
)
DEPS_COMMANDS_test=(
  # the shell's companions
  "basename coreutils" "chmod coreutils" "chown coreutils" "cp coreutils" "cut coreutils"
  "date coreutils" "echo coreutils" "env coreutils" "expr coreutils" "head coreutils"
  "id coreutils" "ln coreutils" "ls coreutils" "mkfifo coreutils" "mktemp coreutils"
  "od coreutils" "paste coreutils" "readlink coreutils" "rm coreutils" "rmdir coreutils"
  "seq coreutils" "sleep coreutils" "sort coreutils" "tail coreutils" "test coreutils"
  "timeout coreutils" "touch coreutils" "tr coreutils" "true coreutils" "uname coreutils"
  "uniq coreutils" "wc coreutils"
  "socat socat"
  # libFuzzer for tests/fuzz (the fuzz build compiles with clang)
  "clang clang"
  "grep grep" "sed sed" "awk mawk" "find findutils" "xargs findutils"
  "flock util-linux" "setsid util-linux" "runuser util-linux" "findmnt util-linux"
  "nm binutils" "script bsdutils" "hostname hostname" "locale libc-bin" "kill procps" "ps procps"
  "pgrep procps" "pkill procps"
  # the servers the suite starts, and their clients
  "/usr/lib/postgresql/15/bin/initdb postgresql" "/usr/lib/postgresql/15/bin/pg_ctl postgresql"
  "/usr/lib/postgresql/15/bin/postgres postgresql" "/usr/lib/postgresql/15/bin/pg_dump postgresql"
  "/usr/lib/postgresql/15/bin/pg_isready postgresql" "psql postgresql-client"
  "mariadbd mariadb-server" "mariadb-install-db mariadb-server" "resolveip mariadb-server"
  "mariadb mariadb-client" "my_print_defaults mariadb-client" "pgbouncer pgbouncer"
  # what the tests check output with
  "sqlite3 sqlite3" "jq jq" "curl curl" "openssl openssl" "xmllint libxml2-utils"
  "chromium chromium"
  # real sequelize-cli and Sequelize from npm; the sqlite3 driver compiles with node-gyp
  "node nodejs" "npm npm" "python3 python3" "g++ g++"
)
DEPS_COMMANDS_bench=(
  "/usr/bin/time time" "getconf libc-bin" "/usr/lib/postgresql/15/bin/pgbench postgresql"
  "perf linux-perf"
  "tee coreutils"
)

# The directories Debian's packages put commands in: a command found only elsewhere (a
# version manager's shim, /usr/local) does not count, so the suite runs what a fresh machine
# would install.
DEPS_SYSTEM_PATH=/usr/sbin:/usr/bin:/sbin:/bin

# deps_find COMMAND: where the system has COMMAND, or nothing (status 1).
deps_find() {
  if [[ $1 == /* ]]; then
    [ -x "$1" ] && echo "$1"
  else
    PATH=$DEPS_SYSTEM_PATH type -P "$1"
  fi
}

# deps_commands GROUP...: the "COMMAND PACKAGE" lines of the groups.
deps_commands() {
  local g
  for g in "$@"; do
    local -n list="DEPS_COMMANDS_$g"
    printf '%s\n' "${list[@]}"
  done
}

# deps_packages GROUP...: the packages-without-commands of the groups, one a line.
deps_packages() {
  local g
  for g in "$@"; do
    local -n list="DEPS_PACKAGES_$g"
    [ "${#list[@]}" -eq 0 ] || printf '%s\n' "${list[@]}"
  done
}

# deps_missing GROUP...: the packages to install (what dpkg lacks, and the package of every
# command the system lacks), each once.
deps_missing() {
  local cmd pkg
  {
    while read -r pkg; do
      [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" = installed ] ||
        echo "$pkg"
    done < <(deps_packages "$@")
    while read -r cmd pkg; do
      deps_find "$cmd" >/dev/null || echo "$pkg"
    done < <(deps_commands "$@")
  } | awk '!seen[$0]++'
}

# deps_tool_path DIR GROUP...: makes DIR hold a link to every command of the groups (the
# absolute ones excepted), so that PATH=DIR offers exactly what is declared. Fails naming each
# missing command and its package.
deps_tool_path() {
  local dir=$1 cmd pkg found missing=()
  shift
  rm -rf "$dir"
  mkdir -p "$dir"
  while read -r cmd pkg; do
    if ! found=$(deps_find "$cmd"); then
      missing+=("'$cmd' (package $pkg)")
    elif [[ $cmd != /* ]]; then
      ln -sfn "$found" "$dir/$cmd"
    fi
  done < <(deps_commands "$@")
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "deps: missing: ${missing[*]}" >&2
    echo "hint: run scripts/install-deps.sh with the option for what you run (--servers: the suite)" >&2
    return 1
  fi
}

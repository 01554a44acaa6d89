#!/usr/bin/env bash
# Installs every Debian 12 package that profile's build and tests need (idempotent), then
# configures and builds into ./build. Run as root (or with sudo available).
#   scripts/setup.sh            install + build everything (RelWithDebInfo)
#   PROF_TARGETS=profile scripts/setup.sh   install + build only these targets (the README's
#                               first command: the tool alone, no test suites or benchmarks)
#   PROF_SKIP_APT=1 scripts/setup.sh   build only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # build
  build-essential cmake pkg-config
  libpfm4-dev libboost-program-options-dev libboost-iostreams-dev libdw-dev libelf-dev
  libzstd-dev liblzma-dev libbz2-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libprotobuf-dev protobuf-compiler libcurl4-openssl-dev
  # tests: reference perf, compressors, XML checker, headless browser, clang for fuzzing
  linux-perf gzip bzip2 xz-utils zstd libxml2-utils chromium clang libclang-rt-14-dev
  python3 binutils util-linux procps clang-format-14
  # shipping tests: man pages checked with man-db/groff, completions with bash and zsh, the
  # .deb built by CPack (dpkg-shlibdeps from dpkg-dev; CPack's DEB generator runs `file`)
  man-db groff-base zsh dpkg-dev file
  # interop tests: the real `go tool pprof`; Node.js with npm (on this machine from NodeSource,
  # whose nodejs carries npm) for speedscope, installed into the build tree
  golang-go nodejs
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

if [ "${PROF_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
fi

if [ "${PROF_SKIP_APT:-0}" != 1 ] && ! command -v npm >/dev/null; then
  # Debian's own nodejs comes without npm (NodeSource's carries it).
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" ${CMAKE_ARGS:-} >/dev/null
# shellcheck disable=SC2086  # PROF_TARGETS is a list of words
cmake --build "$BUILD_DIR" -j"$(nproc)" ${PROF_TARGETS:+--target $PROF_TARGETS}
[ -z "${PROF_TARGETS:-}" ] || exit 0  # the speedscope package below serves the tests only

# speedscope (the npm package, pinned) in the build tree, for the test that opens our speedscope
# output in it (tests/interop). Not part of the build: a machine without npm skips that test.
SPEEDSCOPE_VERSION=1.25.0
if command -v npm >/dev/null &&
   ! grep -qs "\"version\": \"$SPEEDSCOPE_VERSION\"" "$BUILD_DIR/speedscope/node_modules/speedscope/package.json"; then
  npm install --silent --no-audit --no-fund --prefix "$BUILD_DIR/speedscope" \
    "speedscope@$SPEEDSCOPE_VERSION" >/dev/null
fi

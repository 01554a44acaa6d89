#!/usr/bin/env bash
# Runs the whole test suite: installs dependencies and builds (scripts/setup.sh), then CTest.
# This is the README's test command and what .ci/run runs.
#   BUILD_DIR=build-asan CMAKE_ARGS=-DPROF_SANITIZE=ON scripts/test.sh   sanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."
PROF_TARGETS= scripts/setup.sh  # everything, whatever the caller exported
BUILD_DIR=${BUILD_DIR:-build}
export PROF_PEER_DIR=${PROF_PEER_DIR:-$(cd .. && pwd)/shared/peer}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" ${CTEST_ARGS:-}

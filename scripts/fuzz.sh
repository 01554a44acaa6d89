#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) into build-fuzz and runs each one for
# SECONDS (default 60) on a copy of its seed corpus (tests/fuzz/corpus/<target>/). Exits non-zero
# on any finding; crash inputs are left in build-fuzz/findings/<target>/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}; shift || true
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -DPROF_FUZZ=ON -DPROF_BUILD_TESTS=OFF \
  -DPROF_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.cpp; do t=$(basename "$f" .cpp); targets+=("$t"); done
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${targets[@]}"
# The symbolizer caches (uncompressed debug info, kallsyms) are exercised too, in the build
# tree: inputs with made-up build-ids must not land in the user's ~/.cache/profile.
export PROF_CACHE_DIR="$PWD/$BUILD_DIR/fuzz-cache"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in "${targets[@]}"; do
  work="$BUILD_DIR/corpus/$t"; findings="$BUILD_DIR/findings/$t"
  mkdir -p "$work" "$findings"
  [ -d "tests/fuzz/corpus/$t" ] && cp -r "tests/fuzz/corpus/$t/." "$work/"
  echo "== fuzz $t for ${secs}s"
  if ! "$BUILD_DIR/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
       -max_len=65536 -artifact_prefix="$findings/" -print_final_stats=1 "$work" \
       >"$BUILD_DIR/$t.log" 2>&1; then
    echo "fuzz: $t found a problem (inputs in $findings):" >&2
    tail -40 "$BUILD_DIR/$t.log" >&2
    status=1
  else
    grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec' "$BUILD_DIR/$t.log" || true
  fi
done
exit $status

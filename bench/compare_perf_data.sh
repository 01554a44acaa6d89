#!/usr/bin/env bash
# Whole-file decode speed: perf's own reader versus ours on the same perf.data.
#
#   bench/compare_perf_data.sh PERF [PERF_DATA]
#
# PERF is the perf binary to compare with (e.g. /usr/bin/perf). Without PERF_DATA a capture is
# recorded first (`PERF record -a -g -F 4000 -- sleep 5`, needs perf_event_open system-wide).
# perf side: `perf report -D` (dump every record, no symbolization: perf's cheapest full
# decode). Our side: BM_PerfDataReadGivenFile in bench_perf_data (next() + parse_sample on
# every record). Run from the repository root after building bench_perf_data in $BUILD_DIR
# (default build).
set -euo pipefail
perf=${1:?usage: $0 PERF [PERF_DATA]}
file=${2:-}
build=${BUILD_DIR:-build}
if [ -z "$file" ]; then
  file=$(mktemp /tmp/prof-compare-XXXXXX.data)
  trap 'rm -f "$file"' EXIT
  "$perf" record -q -a -g -F 4000 -o "$file" -- sleep 5
fi
echo "file: $file ($(stat -c %s "$file") bytes)"
echo "== perf report -D (best of 3, seconds)"
best=""
for _ in 1 2 3; do
  s=$(date +%s.%N)
  "$perf" report -D -i "$file" > /dev/null 2>&1
  e=$(date +%s.%N)
  t=$(echo "$e - $s" | bc)
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
echo "$best"
echo "== ours: PerfDataReader (next + parse_sample)"
PROF_BENCH_PERF_DATA=$file "$build/bench/bench_perf_data" --benchmark_filter=GivenFile

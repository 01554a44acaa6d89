#!/usr/bin/env bash
# Post-capture latency of the all-in-one `profile -a -g` against the classic pipeline
# (`perf record -a -g` + `perf script` + stackcollapse-perf.pl + flamegraph.pl), same workload.
#
#   bench/compare_pipeline.sh PERF FLAMEGRAPH_DIR PROFILE [SECONDS] [HZ] [RUNS]
#
# PERF is the perf binary (e.g. /usr/bin/perf), FLAMEGRAPH_DIR a checkout of FlameGraph's scripts
# (outside this repository), PROFILE our built binary. Each run captures SECONDS (default 10) of
# every CPU at HZ (default 999) while two fixture processes (FIXTURES, default
# build/tests/fixtures) keep both CPUs busy, and reports, per side, the time from the end of the
# capture to the SVG written:
#   profile: wall time of `profile -a -g -F HZ SECONDS -o out.svg` minus SECONDS (what remains is
#            setup + symbolize + fold + render; setup is a few ms);
#   perf:    wall time of `perf record ... -- sleep SECONDS` minus SECONDS (perf's build-id pass
#            after the capture) + `perf script | stackcollapse-perf.pl | flamegraph.pl`.
# Runs alternate between the two sides; the median of RUNS (default 3) is printed with the ratio.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
PERF=$1 FG=$2 PROFILE=$3 SECS=${4:-10} HZ=${5:-999} RUNS=${6:-3}
FIXTURES=${FIXTURES:-build/tests/fixtures}
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
load() {  # keep both CPUs busy for the whole capture
  for _ in 1 2; do "$FIXTURES/fx_alphabeta" $(( (SECS + 2) * 1000 )) >/dev/null & done
}

ours=() theirs=()
for run in $(seq "$RUNS"); do
  load
  t0=$(now)
  "$PROFILE" -a -g -F "$HZ" "${SECS}s" -q -o "$work/ours.svg"
  t1=$(now)
  wait
  ours+=("$(calc "$t1 - $t0 - $SECS")")

  load
  t0=$(now)
  "$PERF" record -q -a -g -F "$HZ" -o "$work/perf.data" -- sleep "$SECS" 2>/dev/null
  t1=$(now)
  "$PERF" script -i "$work/perf.data" 2>/dev/null | "$FG/stackcollapse-perf.pl" \
    | "$FG/flamegraph.pl" > "$work/theirs.svg"
  t2=$(now)
  wait
  theirs+=("$(calc "$t1 - $t0 - $SECS + $t2 - $t1")")
  printf 'run %d: profile %.3f s, perf+FlameGraph %.3f s\n' "$run" "${ours[-1]}" "${theirs[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mo=$(median "${ours[@]}") mt=$(median "${theirs[@]}")
printf 'post-capture latency, median of %d: profile %.3f s, perf+FlameGraph %.3f s (%.1fx)\n' \
  "$RUNS" "$mo" "$mt" "$(calc "$mt / $mo")"
printf 'SVG sizes: profile %d bytes, flamegraph.pl %d bytes\n' \
  "$(stat -c %s "$work/ours.svg")" "$(stat -c %s "$work/theirs.svg")"

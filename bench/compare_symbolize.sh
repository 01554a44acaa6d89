#!/usr/bin/env bash
# Whole-process comparison: `profile symbolize` against `perf script` on the same perf.data.
#
#   bench/compare_symbolize.sh PERF PROFILE [perf.data] [options for both: --inline, --srcline]
#
# PERF is the perf binary to compare with (e.g. /usr/bin/perf), PROFILE our built binary. Without
# a perf.data the script records one: 30 s of `perf record -a -g -F 999` (CALLGRAPH=dwarf:
# `--call-graph dwarf` instead of -g) while the symbolizer fixtures keep both CPUs busy
# (FIXTURES=dir, default build/tests/fixtures). Each side runs RUNS times (default 3); the best
# wall time and its user+sys CPU time are reported, with the ratio. perf script's exit status
# is checked: perf 6.1 aborts on some captures (see docs/symbolizer.md), and a crashed run
# would flatter nobody.
# Our side runs twice: with its caches (parsed kallsyms, sorted symbol tables, DWARF indexes,
# uncompressed debug info; docs/symbolizer.md) cold, an empty cache directory for every timed
# run, and warm, after one untimed run that fills them; each has its own line and speed-up.
# CACHE=warm or CACHE=cold times only that one.
# Output goes to a fresh file per run (OUT=file, the default) or to /dev/null (OUT=null: the
# tools' own work without the page cache's, whose writeback of the previous runs' 26 MB files
# is most of the noise on a small VM).
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
PERF=$1
PROFILE=$2
DATA=${3:-}
shift 2
[ $# -gt 0 ] && shift
EXTRA=("$@")
# perf's spelling of the same request: --srcline is perf's `-F +srcline`.
PERF_EXTRA=()
PERF_FIELDS=""
for a in "${EXTRA[@]}"; do
  case $a in
    --srcline) PERF_FIELDS=",+srcline" ;;
    *) PERF_EXTRA+=("$a") ;;
  esac
done
RUNS=${RUNS:-3}
FIXTURES=${FIXTURES:-$(dirname "$0")/../build/tests/fixtures}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ -z "$DATA" ]; then
  DATA=$WORK/perf.data
  for fx in fx_sym_cxx fx_sym_cxx fx_sym_inline fx_sym_uselib; do "$FIXTURES/$fx" 30000 & done
  if [ "${CALLGRAPH:-fp}" = dwarf ]; then
    "$PERF" record -q -B -a --call-graph dwarf -F 999 -o "$DATA" -- sleep 30
  else
    "$PERF" record -q -B -a -g -F 999 -o "$DATA" -- sleep 30
  fi
  wait
fi

# best_of CMD... : prints "wall cpu" of the fastest of RUNS runs; fails if any run fails.
best_of() {
  local best_wall="" best_cpu=""
  for _ in $(seq "$RUNS"); do
    if [ "$MODE" = cold ]; then
      rm -rf "$WORK/cache"
      mkdir "$WORK/cache"
    fi
    # bash's own `time`: milliseconds (GNU time rounds to 10 ms, a third of a fast run).
    local TIMEFORMAT='%3R %3U %3S'
    # The previous run's output goes first, untimed: the redirection below would otherwise
    # truncate 26 MB of dirty page cache inside the timed command (15-50 ms on ext4, more
    # than our whole run), for both sides alike.
    rm -f "$WORK/out"
    local out="$WORK/out"
    [ "${OUT:-file}" = null ] && out=/dev/null
    if ! { time "$@" > "$out" 2> "$WORK/err"; } 2> "$WORK/time"; then
      echo "FAILED: $*" >&2
      tail -3 "$WORK/err" >&2
      return 1
    fi
    read -r wall user sys < "$WORK/time"
    local cpu
    cpu=$(echo "$user + $sys" | bc)
    if [ -z "$best_wall" ] || [ "$(echo "$wall < $best_wall" | bc)" = 1 ]; then
      best_wall=$wall
      best_cpu=$cpu
    fi
  done
  echo "$best_wall $best_cpu"
}

export PROF_CACHE_DIR=$WORK/cache
MODES=(cold warm)
[ -n "${CACHE:-}" ] && MODES=("$CACHE")
MODE=none
read -r perf_wall perf_cpu <<< "$(best_of "$PERF" script -F "+pid${PERF_FIELDS:-}" "${PERF_EXTRA[@]}" -i "$DATA")"
printf "perf script              wall %6.3f s  cpu %6.3f s\n" "$perf_wall" "$perf_cpu"
for MODE in "${MODES[@]}"; do
  rm -rf "$PROF_CACHE_DIR"
  mkdir -p "$PROF_CACHE_DIR"
  # Untimed: the sample count, and for warm runs the caches (and the page cache) filled.
  samples=$("$PROFILE" symbolize "$DATA" "${EXTRA[@]}" 2>&1 >/dev/null | sed -n 's/.*symbolized \([0-9]*\) samples.*/\1/p')
  read -r ours_wall ours_cpu <<< "$(best_of "$PROFILE" symbolize -q "${EXTRA[@]}" "$DATA")"
  printf "profile symbolize %-6s wall %6.3f s  cpu %6.3f s  speed-up wall %5.1fx  cpu %5.1fx\n" \
    "$MODE" "$ours_wall" "$ours_cpu" "$(echo "$perf_wall / $ours_wall" | bc -l)" \
    "$(echo "$perf_cpu / $ours_cpu" | bc -l)"
done
echo "input: $DATA ($samples samples) options: ${EXTRA[*]:-none}, output ${OUT:-file}, best of $RUNS"

#!/usr/bin/env bash
# Whole-process cost of kernel symbols: `profile symbolize -q` on one perf.data with the
# /proc/kallsyms cache off, cold (no cache file: read, parse and write it) and warm (mapped),
# and optionally `perf script` on the same file for scale.
#
#   bench/compare_kallsyms_cache.sh PROFILE perf.data [RUNS] [PERF]
#
# PROFILE is our built binary, RUNS (default 7) runs per mode, alternated; PERF (e.g.
# /usr/bin/perf) adds a `perf script` column. The cache lives in a scratch PROF_CACHE_DIR.
# Prints the median wall time and the median user+sys CPU time per mode.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
PROFILE=$1 DATA=$2 RUNS=${3:-7} PERF=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PROF_CACHE_DIR=$work/cache

# Appends "wall cpu" (seconds, to the microsecond) of one run of "$@" to file $out; a failed
# run stops the script.
measure() {
  local out=$1
  shift
  python3 -c '
import os, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
wall = time.perf_counter() - t0
if status != 0:
    sys.exit("failed: " + " ".join(sys.argv[1:]))
print("%.4f %.4f" % (wall, ru.ru_utime + ru.ru_stime))
' "$@" >>"$out"
}
median() {  # column $2 of file $1
  sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}

modes=(off cold warm)
[ -n "$PERF" ] && modes+=(perf)
for _ in $(seq "$RUNS"); do
  PROF_NO_KALLSYMS_CACHE=1 measure "$work/off" "$PROFILE" symbolize -q "$DATA"
  rm -rf "$PROF_CACHE_DIR"
  measure "$work/cold" "$PROFILE" symbolize -q "$DATA"
  measure "$work/warm" "$PROFILE" symbolize -q "$DATA"
  [ -n "$PERF" ] && measure "$work/perf" "$PERF" script -i "$DATA"
done
printf "%-6s %10s %10s\n" mode "wall (s)" "CPU (s)"
for m in "${modes[@]}"; do
  printf "%-6s %10s %10s\n" "$m" "$(median "$work/$m" 1)" "$(median "$work/$m" 2)"
done

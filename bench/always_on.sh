#!/usr/bin/env bash
# The cost of always-on profiling (issue 17): `profile -a -F 99 --every ...` as a per-host
# agent, measured on this machine as it is (say how busy it was when you quote the figures).
#
#   bench/always_on.sh [SECONDS] [WINDOWS]     (defaults 60 and 1000; run as root)
#   (SECONDS 0 skips parts 1 and 3; WINDOWS 0 skips part 2.)
#
# 1. CPU: a SECONDS-long run with 10 s windows to --output-dir; our own CPU time (user + sys of
#    the process, from /proc/PID/stat just before it ends) as a share of one CPU over the run.
#    The sampling interrupts themselves are charged by the kernel to the task they interrupt,
#    not to us: that cost is perf_event's, the same for any perf-based profiler at 99 Hz.
# 2. RSS: one run cut into WINDOWS windows of 100 ms (the shortest --every allows), the
#    resident set after the 10th window and after the last; a leak per window shows as growth.
# 3. Bytes per window: the sizes of the 10 s windows of run 1 (gzipped pprof, what --push
#    sends), and per 60 s window extrapolated, times 10,000 hosts per day.
# Set PROFILE to the binary (default build/cli/profile).
set -euo pipefail
profile=${PROFILE:-build/cli/profile}
secs=${1:-60}
windows=${2:-1000}
[ -x "$profile" ] || { echo "no $profile: build it first" >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tick=$(getconf CLK_TCK)
ncpu=$(nproc)

cpu_ticks() {  # pid -> utime + stime in clock ticks
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
count_files() { find "$1" -maxdepth 1 -name '*.pb.gz' | wc -l; }

echo "machine: $ncpu CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$secs" -gt 0 ]; then
# 1. CPU share of one CPU.
"$profile" -a -F 99 -q --every 10s --output-dir "$scratch/cpu" &
pid=$!
start=$(date +%s.%N)
sleep "$secs"
ticks=$(cpu_ticks "$pid")
end=$(date +%s.%N)
kill -TERM "$pid"
wait "$pid" || true
awk -v t="$ticks" -v hz="$tick" -v a="$start" -v b="$end" 'BEGIN {
  cpu = t / hz; wall = b - a;
  printf "cpu: %.2f s of CPU in %.1f s wall = %.3f %% of one CPU\n", cpu, wall, 100 * cpu / wall }'

# 3. Bytes per window (of run 1; the last, partial window left out).
ls -1 "$scratch/cpu"/*.pb.gz | sort | head -n -1 | xargs stat -c %s | sort -n | awk -v n="$ncpu" '
  { v[NR] = $1; s += $1 }
  END {
    if (NR == 0) { print "bytes: no complete window"; exit }
    med = v[int((NR + 1) / 2)];
    printf "bytes per 10 s window (%d CPUs): median %d, mean %d, max %d\n", n, med, s / NR, v[NR];
    printf "per host per day at 10 s windows: %.1f MB; 10,000 hosts: %.1f GB/day\n",
           med * 8640 / 1e6, med * 8640 * 10000 / 1e9 }'

fi

if [ "$windows" -gt 0 ]; then
# 2. RSS after 10 windows and after WINDOWS windows.
mkdir -p "$scratch/rss"
"$profile" -a -F 99 -q --every 100ms --output-dir "$scratch/rss" &
pid=$!
rss10=""
deadline=$(( $(date +%s) + windows / 5 + 120 ))
while :; do
  n=$(count_files "$scratch/rss")
  if [ -z "$rss10" ] && [ "$n" -ge 10 ]; then rss10=$(rss_kb "$pid"); fi
  if [ "$n" -ge "$windows" ]; then break; fi
  if [ "$(date +%s)" -gt "$deadline" ]; then echo "rss: only $n windows before the deadline"; break; fi
  sleep 0.05
done
rssN=$(rss_kb "$pid")
kill -TERM "$pid"
wait "$pid" || true
awk -v a="$rss10" -v b="$rssN" -v w="$windows" 'BEGIN {
  printf "rss: %.1f MB after 10 windows, %.1f MB after %d (%+.1f %%)\n", a / 1024, b / 1024, w,
         100 * (b - a) / a }'
fi

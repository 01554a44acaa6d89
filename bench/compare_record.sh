#!/usr/bin/env bash
# Overhead of sampling: a fixed CPU-bound job (one busy thread per CPU, fixed work) is timed
# alone, under `perf record -a -g` and under `profile record -a -g`, at 99 and 999 Hz. Runs are
# alternated (baseline, perf, profile, rotating the order each round) so drift in machine load
# hits all three alike. Printed: medians of the job's own runtime and of the whole command's
# wall time, each with its ratio to the baseline (1.0 = no overhead). PROF_BENCH_ITERS sets the
# job's work per thread (default 400000000, about 1-2 s here).
#
#   bench/compare_record.sh PERF [PROFILE] [ROUNDS]
#     PERF     the perf binary to compare with (e.g. /usr/bin/perf)
#     PROFILE  our binary (default: build/cli/profile)
#     ROUNDS   runs per configuration (default 5)
# Needs root (system-wide sampling) and cc. Scratch files go to a temp dir that is removed.
set -euo pipefail
PERF=${1:?usage: compare_record.sh PERF [PROFILE] [ROUNDS]}
PROFILE=${2:-$(cd "$(dirname "$0")/.." && pwd)/build/cli/profile}
ROUNDS=${3:-5}
WORK=$(mktemp -d /tmp/prof-compare-record-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cat > "$WORK/job.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>
static unsigned long iters;
static void* work(void* arg) {
  volatile unsigned long x = (unsigned long)arg;
  for (unsigned long i = 0; i < iters; ++i) x = x * 6364136223846793005UL + 1442695040888963407UL;
  return NULL;
}
int main(int argc, char** argv) {
  iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 400000000UL;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  pthread_t t[256];
  for (long i = 0; i < n && i < 256; ++i) pthread_create(&t[i], NULL, work, (void*)i);
  for (long i = 0; i < n && i < 256; ++i) pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.6f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
  return 0;
}
C
cc -O2 -fno-omit-frame-pointer -pthread -o "$WORK/job" "$WORK/job.c"
ITERS=${PROF_BENCH_ITERS:-400000000}

# Appends "JOB_SECONDS WALL_SECONDS" to file $1 for the command that follows: the job's own
# runtime (what sampling costs the profiled program) and the whole command's wall time (what it
# costs the user, tool start-up and file finishing included).
run_timed() {
  local out=$1 t0 t1 job
  shift
  t0=$(date +%s.%N)
  job=$("$@" 2>/dev/null | tail -n 1)
  t1=$(date +%s.%N)
  echo "$job $(echo "$t1 - $t0" | bc -l)" >> "$out"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

printf '%-5s %-8s %12s %12s %12s %12s\n' Hz tool job_s job_ratio wall_s wall_ratio
for hz in 99 999; do
  : > "$WORK/base"; : > "$WORK/perf"; : > "$WORK/profile"
  for ((r = 0; r < ROUNDS; ++r)); do
    order=(base perf profile)
    # Rotate which configuration goes first so none always runs on a cold or warm machine.
    for ((k = 0; k < r % 3; ++k)); do order=("${order[@]:1}" "${order[0]}"); done
    for what in "${order[@]}"; do
      case $what in
        base) run_timed "$WORK/base" "$WORK/job" "$ITERS" ;;
        perf) run_timed "$WORK/perf" "$PERF" record -q -a -g -F "$hz" -o "$WORK/perf.data" -- \
                "$WORK/job" "$ITERS" ;;
        profile) run_timed "$WORK/profile" "$PROFILE" record -q -a -g -F "$hz" \
                   -o "$WORK/profile.data" -- "$WORK/job" "$ITERS" ;;
      esac
    done
  done
  base_job=$(cut -d' ' -f1 "$WORK/base" | median)
  base_wall=$(cut -d' ' -f2 "$WORK/base" | median)
  for tool in perf profile; do
    job=$(cut -d' ' -f1 "$WORK/$tool" | median)
    wall=$(cut -d' ' -f2 "$WORK/$tool" | median)
    printf '%-5s %-8s %12.3f %12.4f %12.3f %12.4f\n' "$hz" "$tool" "$job" \
      "$(echo "$job / $base_job" | bc -l)" "$wall" "$(echo "$wall / $base_wall" | bc -l)"
  done
done

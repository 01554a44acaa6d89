#!/usr/bin/env bash
# Loss at the top sampling rate (issue 19): with two busy programs running, `perf record -a -g`,
# `profile record -a -g` and the all-in-one `profile -a -g` sample at
# kernel.perf_event_max_sample_rate for DURATION each, alternating (the order rotates every
# round, so drift in machine load hits all three alike). Printed per run and as medians: the
# samples kept, the samples lost and the lost share.
#
# How the counts are taken: both perf.data files are read by perf itself (`perf report -D`):
# kept = PERF_RECORD_SAMPLE records; lost = the larger of the PERF_RECORD_LOST sums and perf's
# PERF_RECORD_LOST_SAMPLES sums (perf adds the latter from the kernel's per-event count at the
# end). `profile record`'s lost is the larger of that and its own hint's count (which adds the
# kernel's PERF_FORMAT_LOST count, not written to the file). The all-in-one writes no file: its
# own summary line ("captured N samples, lost L").
#
#   bench/compare_max_rate.sh PERF [PROFILE] [ROUNDS] [DURATION] [RATE]
#     PERF      the perf binary to compare with (e.g. /usr/bin/perf)
#     PROFILE   our binary (default: build/cli/profile)
#     ROUNDS    runs per tool (default 5)
#     DURATION  seconds per run (default 2)
#     RATE      -F (default: kernel.perf_event_max_sample_rate)
# Needs root (system-wide sampling) and cc. Scratch files go to a temp dir that is removed.
set -euo pipefail
PERF=${1:?usage: compare_max_rate.sh PERF [PROFILE] [ROUNDS] [DURATION] [RATE]}
PROFILE=${2:-$(cd "$(dirname "$0")/.." && pwd)/build/cli/profile}
ROUNDS=${3:-5}
DURATION=${4:-2}
RATE=${5:-$(cat /proc/sys/kernel/perf_event_max_sample_rate)}
WORK=$(mktemp -d /tmp/prof-compare-max-rate-XXXXXX)
BUSY=()
cleanup() {
  for p in "${BUSY[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

printf 'int main(void) { volatile unsigned long x = 0; for (;;) x++; }\n' > "$WORK/busy.c"
cc -O1 -o "$WORK/busy" "$WORK/busy.c"
"$WORK/busy" & BUSY+=($!)
"$WORK/busy" & BUSY+=($!)

# "KEPT LOST" of a perf.data file, as perf reads it.
perf_counts() {
  "$PERF" report -D -i "$1" 2>/dev/null | awk '
    / PERF_RECORD_SAMPLE/ { kept++ }
    / PERF_RECORD_LOST: / { n = split($NF, a, ":"); lost += a[n] }
    / PERF_RECORD_LOST_SAMPLES: / { n = split($NF, a, ":"); lost_samples += a[n] }
    END { if (lost_samples > lost) lost = lost_samples; print kept + 0, lost + 0 }'
}

run_one() {
  local tool=$1 kept lost
  case $tool in
    perf)
      "$PERF" record -q -a -g -F "$RATE" -o "$WORK/perf.data" -- sleep "$DURATION" \
        > /dev/null 2>&1 || true
      read -r kept lost < <(perf_counts "$WORK/perf.data") ;;
    record)
      local said
      said=$("$PROFILE" record -a -g -F "$RATE" -o "$WORK/profile.data" "${DURATION}s" 2>&1)
      read -r kept lost < <(perf_counts "$WORK/profile.data")
      # Our own count may be larger: the kernel's (PERF_FORMAT_LOST) is not in the file.
      said=$(sed -n 's/.*lost [0-9]*% of samples (\([0-9]*\) of.*/\1/p' <<< "$said" | tail -n 1)
      if [ "${said:-0}" -gt "$lost" ]; then lost=$said; fi ;;
    all-in-one)
      local err
      err=$("$PROFILE" -a -g -F "$RATE" "${DURATION}s" 2>&1 > "$WORK/out.svg")
      kept=$(sed -n 's/.*captured \([0-9]*\) samples.*/\1/p' <<< "$err" | tail -n 1)
      lost=$(sed -n 's/.*captured [0-9]* samples, lost \([0-9]*\).*/\1/p' <<< "$err" | tail -n 1)
      kept=${kept:-0} lost=${lost:-0} ;;
  esac
  echo "$kept $lost" >> "$WORK/$tool"
  printf '%-11s %9s %9s %7.1f%%\n' "$tool" "$kept" "$lost" \
    "$(echo "100 * $lost / ($kept + $lost + (($kept + $lost) == 0))" | bc -l)"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "rate $RATE Hz, $DURATION s, two busy programs, $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-11s %9s %9s %8s\n' tool kept lost lost%
tools=(perf record all-in-one)
for ((r = 0; r < ROUNDS; ++r)); do
  order=("${tools[@]}")
  for ((k = 0; k < r % 3; ++k)); do order=("${order[@]:1}" "${order[0]}"); done
  for t in "${order[@]}"; do run_one "$t"; done
done
echo "medians over $ROUNDS runs (lost share = median of each run's share); load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-11s %9s %9s %8s\n' tool kept lost lost%
for t in "${tools[@]}"; do
  kept=$(cut -d' ' -f1 "$WORK/$t" | median)
  lost=$(cut -d' ' -f2 "$WORK/$t" | median)
  share=$(awk '{t = $1 + $2; print (t ? 100 * $2 / t : 0)}' "$WORK/$t" | median)
  printf '%-11s %9s %9s %7.1f%%\n' "$t" "$kept" "$lost" "$share"
done

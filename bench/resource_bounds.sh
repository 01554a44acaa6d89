#!/usr/bin/env bash
# Resource bounds (issue 9): time and peak memory of `profile fold` / `profile render` on the
# extreme inputs docs/RELIABILITY.md promises to handle, each at two sizes a factor 10 apart, so
# that a quadratic step shows as a ~100x time ratio instead of ~10x.
#
#   bench/resource_bounds.sh [SCRATCH_DIR]
#
# Cases: perf-script text of 1M and 10M lines; one stack 1,000 and 10,000 frames deep (1,000
# samples of it); a symbol name of 100 KB and 1 MB; a folded file of 100k and 1M distinct
# stacks. Inputs are generated into SCRATCH_DIR (default a temp dir, removed at exit; the 10M
# case needs a few hundred MB there). Prints one line per run: case, size, wall seconds, peak RSS (MB),
# and the ratio of wall time to the smaller size's. Set PROFILE to the binary (default
# build/cli/profile, the default RelWithDebInfo build).
set -euo pipefail
profile=${PROFILE:-build/cli/profile}
[ -x "$profile" ] || { echo "no $profile: build it first" >&2; exit 2; }
if [ $# -ge 1 ]; then scratch=$1; mkdir -p "$scratch"; else
  scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
fi

# perf-script text: SAMPLES samples of DEPTH frames; frame names vary with the sample so that
# stacks are distinct modulo DISTINCT.
gen_script() {  # samples depth distinct name_len > file
  awk -v n="$1" -v d="$2" -v k="$3" -v L="$4" 'BEGIN {
    pad = ""; for (i = 0; i < L; i++) pad = pad "x";
    for (s = 0; s < n; s++) {
      printf "app %d [000] %d.%06d: 1 cpu-clock:\n", 1 + s % 7, s / 1000000, s % 1000000;
      for (f = 0; f < d; f++) printf "\t%x f%d_%d%s (/bin/app)\n", 4096 + f, f, (f == 0 ? s % k : 0), (f == 1 ? pad : "");
      printf "\n";
    }
  }'
}
gen_folded() {  # stacks > file
  awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "main;mid_%d;leaf_%d %d\n", i % 1000, i, 1 + i % 5 }'
}

measure() {  # label size cmd...
  local label=$1 size=$2; shift 2
  local out
  /usr/bin/time -o "$scratch/time" -f "%e %M" "$@" >/dev/null 2>&1 || true
  out=$(tail -1 "$scratch/time")
  local wall=${out% *} rss=${out#* }
  local ratio=""
  if [ -n "${base[$label]:-}" ]; then ratio=$(awk -v a="$wall" -v b="${base[$label]}" 'BEGIN { printf "x%.1f", (b > 0 ? a / b : 0) }'); else base[$label]=$wall; fi
  printf "%-22s %-10s %8.2f s %8.1f MB %s\n" "$label" "$size" "$wall" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$ratio"
}
declare -A base

for lines in 1000000 10000000; do
  gen_script $((lines / 6)) 4 100000 0 > "$scratch/lines.txt"    # 6 lines per sample
  measure "fold perf-script" "${lines}L" "$profile" fold "$scratch/lines.txt"
  measure "fold perf-script -j1" "${lines}L" "$profile" fold -j 1 "$scratch/lines.txt"
done
rm -f "$scratch/lines.txt"
for depth in 1000 10000; do
  gen_script 1000 "$depth" 10 0 > "$scratch/deep.txt"
  measure "fold deep stack" "${depth}F" "$profile" fold "$scratch/deep.txt"
  "$profile" fold "$scratch/deep.txt" > "$scratch/deep.folded"
  measure "render deep stack" "${depth}F" "$profile" render "$scratch/deep.folded"
done
for len in 100000 1000000; do
  gen_script 100 3 10 "$len" > "$scratch/name.txt"
  measure "fold long name" "${len}B" "$profile" fold "$scratch/name.txt"
  "$profile" fold "$scratch/name.txt" > "$scratch/name.folded"
  measure "render long name" "${len}B" "$profile" render "$scratch/name.folded"
done
for stacks in 100000 1000000; do
  gen_folded "$stacks" > "$scratch/many.folded"
  measure "render distinct stacks" "${stacks}S" "$profile" render "$scratch/many.folded"
  measure "diff distinct stacks" "${stacks}S" "$profile" diff "$scratch/many.folded" "$scratch/many.folded"
done

#!/usr/bin/env bash
# Whole-process comparison of `profile fold` with FlameGraph's stackcollapse-perf.pl.
#
#   bench/compare_fold.sh PEER_SCRIPT INPUT [ROUNDS] [-- FOLD_OPTIONS...]
#
# PEER_SCRIPT is the path of stackcollapse-perf.pl (kept outside this repository, e.g. in
# /tmp/peers). Each round runs, one after the other on the same INPUT with the same options:
# the Perl script, `profile fold -j 1` and `profile fold -j 2`, so load changes hit all three
# alike. Prints each run, then the median wall and CPU (user+sys) seconds, MB/s and the speed-up
# over Perl. Before timing, it checks that both tools give the same folded output (Perl is given
# the input plus a final blank line, since it drops a last sample without one; see
# docs/folding.md). Set PROFILE to the binary to use (default build/cli/profile).
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
peer=$1
input=$2
rounds=${3:-5}
shift 2
[[ $# -gt 0 ]] && shift
[[ ${1:-} == "--" ]] && shift
opts=("$@")
profile=${PROFILE:-build/cli/profile}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bytes=$(stat -c %s "$input")
echo "input: $input ($((bytes / 1000000)) MB), options: ${opts[*]:-(none)}, rounds: $rounds"

# Same output first (stderr of both is ignored: warnings differ by design).
{ cat "$input"; printf '\n\n'; } | perl "$peer" "${opts[@]}" 2>/dev/null > "$tmp/perl.out"
"$profile" fold -q "${opts[@]}" "$input" > "$tmp/ours.out"
if cmp -s "$tmp/perl.out" "$tmp/ours.out"; then
  echo "output: identical ($(wc -l < "$tmp/ours.out") folded lines)"
else
  echo "output: DIFFERENT from the Perl script" >&2
  diff "$tmp/perl.out" "$tmp/ours.out" | head -5 >&2
  exit 1
fi

run() {  # name, command...: appends "wall cpu" to $tmp/NAME
  local name=$1
  shift
  /usr/bin/time -o "$tmp/t" -f "%e %U %S" "$@" > /dev/null 2>/dev/null
  read -r wall user sys < "$tmp/t"
  echo "$wall $(echo "$user + $sys" | bc)" >> "$tmp/$name"
  printf '  %-8s wall %6.2f s  cpu %6.2f s\n' "$name" "$wall" "$(echo "$user + $sys" | bc)"
}

for ((r = 1; r <= rounds; r++)); do
  echo "round $r"
  run perl perl "$peer" "${opts[@]}" "$input"
  run j1 "$profile" fold -q -j 1 "${opts[@]}" "$input"
  run j2 "$profile" fold -q -j 2 "${opts[@]}" "$input"
done

median() {  # file, column
  sort -g -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}
perl_wall=$(median "$tmp/perl" 1)
perl_cpu=$(median "$tmp/perl" 2)
echo
printf '%-26s %9s %9s %9s %9s\n' "median of $rounds" "wall s" "cpu s" "MB/s" "vs perl"
for name in perl j1 j2; do
  wall=$(median "$tmp/$name" 1)
  cpu=$(median "$tmp/$name" 2)
  label=$([[ $name == perl ]] && echo "stackcollapse-perf.pl" || echo "profile fold -j ${name#j}")
  printf '%-26s %9.3f %9.3f %9.0f %8.1fx\n' "$label" "$wall" "$cpu" \
    "$(echo "$bytes / 1000000 / $wall" | bc -l)" "$(echo "$perl_wall / $wall" | bc -l)"
done
echo "(cpu-time speed-up of -j 1: $(printf '%.1f' "$(echo "$perl_cpu / $(median "$tmp/j1" 2)" | bc -l)")x)"

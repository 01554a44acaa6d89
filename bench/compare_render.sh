#!/usr/bin/env bash
# Whole-process comparison of `profile render` with flamegraph.pl on a large folded file.
#
#   bench/compare_render.sh /tmp/peers/FlameGraph/flamegraph.pl [build/cli/profile] [MB]
#
# Generates a deterministic synthetic folded file (default 40 MB, ~26k lines of deep stacks that
# share prefixes; ~24k frames survive the default 0.1 px minwidth) in a scratch directory, renders
# it with both tools at --width 1200, and prints wall/CPU time, peak RSS, SVG size and frame
# counts, then checks that both drew the same frames (tooltip, x, y, width as a multiset).
# Nothing is written inside the repository.
#
#   bench/compare_render.sh --sweep /tmp/peers/FlameGraph/flamegraph.pl FOLDED [profile binary]
#
# Conformance sweep instead: renders FOLDED with both tools under every palette and the layout
# options, and reports, per option set, how many frame records (tooltip, x, y, width, height,
# fill) and labels differ (0 = identical). Ours gets --diff-self (flamegraph.pl's differential
# colouring), so a two-column input compares too.
set -euo pipefail
if [ "${1:-}" = --sweep ]; then
  perl_fg=${2:?usage: compare_render.sh --sweep PATH/TO/flamegraph.pl FOLDED [profile]}
  input=${3:?usage: compare_render.sh --sweep PATH/TO/flamegraph.pl FOLDED [profile]}
  profile=$(realpath "${4:-$(dirname "$0")/../build/cli/profile}")
  input=$(realpath "$input")
  work=$(mktemp -d /tmp/prof-compare-render.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  records() {
    grep -o '<title>[^<]*</title><rect x="[^"]*" y="[^"]*" width="[^"]*" height="[^"]*" fill="[^"]*"' \
      "$1" | sed -e 's/&apos;/'"'"'/g' -e 's/&quot;/"/g' | sort
    grep -o '<text  *x="[^"]*" y="[^"]*" *>[^<]\+</text>' "$1" | sed -E 's/<text +x/<text x/; s/" *>/">/' |
      grep -v '>all</text>$' | sort  # our root reads "all", flamegraph.pl's is empty
  }
  status=0
  while read -r opts; do
    (cd "$work" && rm -f palette.map && perl "$perl_fg" $opts "$input" > perl.svg 2> /dev/null &&
      rm -f palette.map &&
      "$profile" render --width 1200 --diff-self $opts "$input" > ours.svg 2> /dev/null)
    n=$(diff <(records "$work/perl.svg") <(records "$work/ours.svg") | grep -c '^[<>]' || true)
    printf '%-32s %5d records, %d differ\n' "[${opts}]" "$(records "$work/perl.svg" | wc -l)" "$n"
    [ "$n" = 0 ] || status=1
  done <<'OPTS'

--hash
--colors mem
--colors io
--colors wakeup
--colors chain
--colors java
--colors js
--colors perl
--colors red --hash
--colors green
--colors blue
--colors aqua
--colors yellow
--colors purple
--colors orange
--inverted
--reverse --hash
--reverse --inverted
--flamechart
--minwidth 2
--minwidth 1%
--minwidth 0
--fontsize 9 --height 12 --fontwidth 0.7
--factor 2.5
--total 100000
--cp
--negate
OPTS
  exit $status
fi
perl_fg=${1:?usage: compare_render.sh PATH/TO/flamegraph.pl [profile binary] [MB]}
profile=$(realpath "${2:-$(dirname "$0")/../build/cli/profile}")
mb=${3:-40}
work=$(mktemp -d /tmp/prof-compare-render.XXXXXX)
trap 'rm -rf "$work"' EXIT

python3 - "$((mb * 1000000))" > "$work/big.folded" <<'PY'
import random, sys
r = random.Random(42)
target = int(sys.argv[1])
words = ["alloc", "parse", "read", "write", "lookup", "hash", "render", "encode", "decode",
         "flush", "schedule", "dispatch", "visit", "compile", "execute", "poll", "wait"]
def fname(depth, k):
    return "%s::%s_%d<std::vector<int>>::run" % (
        words[(depth * 7 + k) % len(words)].capitalize(), words[k % len(words)], k)
size = 0
while size < target:
    frames = ["proc-%d" % r.randrange(300), "start_thread", "main"]
    k = r.randrange(3)
    for d in range(r.randrange(20, 55)):
        k = (k * 3 + r.randrange(2 if d < 10 else 6)) % 97
        frames.append(fname(d, k))
    line = "%s %d\n" % (";".join(frames), r.randrange(1, 200))
    sys.stdout.write(line)
    size += len(line)
PY
printf 'input: %s bytes, %s lines\n' "$(stat -c %s "$work/big.folded")" "$(wc -l < "$work/big.folded")"

# Frames as sorted (tooltip, x, y, width) records: Perl's order is random.
frames() {
  grep -o '<title>[^<]*</title><rect x="[^"]*" y="[^"]*" width="[^"]*"' "$1" |
    sed -e 's/&apos;/'"'"'/g' -e 's/&quot;/"/g' | sort
}
# Non-empty labels as sorted (x, y, text) records (flamegraph.pl also writes empty ones).
# Our root reads "all" where flamegraph.pl's is empty: "all" labels are left out on both sides.
labels() {
  grep -o '<text  *x="[^"]*" y="[^"]*" *>[^<]\+</text>' "$1" | sed -E 's/<text +x/<text x/; s/" *>/">/' |
    grep -v '>all</text>$' | sort
}
measure() {  # name, output, command...
  local name=$1 out=$2
  shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$work/$name.time" "$@" > "$out" 2> "$work/$name.err" || true
  read -r wall user sys rss < "$work/$name.time"
  printf '%-16s wall %6.2f s  cpu %6.2f s  rss %7d KB  svg %9d bytes  frames %6d\n' "$name" \
    "$wall" "$(echo "$user + $sys" | bc)" "$rss" "$(stat -c %s "$out")" \
    "$(frames "$out" | wc -l)"
  echo "$wall $(echo "$user + $sys" | bc)" > "$work/$name.t"
}

measure profile "$work/profile.svg" "$profile" render --width 1200 "$work/big.folded"
measure flamegraph.pl "$work/perl.svg" perl "$perl_fg" "$work/big.folded"

read -r pw pc < "$work/profile.t"
read -r fw fc < "$work/flamegraph.pl.t"
printf 'speed-up: wall %.1fx, cpu %.1fx\n' "$(echo "$fw / $pw" | bc -l)" "$(echo "$fc / $pc" | bc -l)"

if diff <(frames "$work/profile.svg") <(frames "$work/perl.svg") > "$work/frames.diff"; then
  echo "frames: identical sets ($(frames "$work/perl.svg" | wc -l))"
else
  echo "frames: DIFFER ($(grep -c '^[<>]' "$work/frames.diff") lines); first ones:"
  head -6 "$work/frames.diff"
fi
if diff <(labels "$work/profile.svg") <(labels "$work/perl.svg") > /dev/null; then
  echo "labels: identical sets ($(labels "$work/perl.svg" | wc -l))"
else
  echo "labels: DIFFER"
fi

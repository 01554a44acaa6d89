#!/usr/bin/env bash
# Whole-process comparison of `profile render` with flamegraph.pl on a large folded file.
#
#   bench/compare_render.sh /tmp/peers/FlameGraph/flamegraph.pl [build/cli/profile] [MB] [SHAPE]
#
# Generates a deterministic synthetic folded file in a scratch directory, renders it with both
# tools at --width 1200, and prints wall/CPU time, peak RSS, SVG size and frame counts, then
# checks that both drew the same frames (tooltip, x, y, width as a multiset). SHAPE:
#   deep      (default, 40 MB) ~26k lines of deep stacks that share prefixes; ~24k frames survive
#             the default 0.1 px minwidth
#   captures  (use 123 MB) many captures' folded outputs concatenated: each capture sorted and
#             merged on its own, the whole not; 600k distinct stacks of 8-25 frames that recur
#             across captures, ~180 bytes a line, millions of frames pruned
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
shape=${4:-deep}
work=$(mktemp -d /tmp/prof-compare-render.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ "$shape" = captures ]; then
  python3 - "$((mb * 1000000))" > "$work/big.folded" <<'PY'
import random, sys
# Many captures' folded outputs concatenated: each capture is sorted and merged on its own (as a
# folder writes it), the whole is not; the same stacks recur across captures with other counts.
r = random.Random(7)
target = int(sys.argv[1])
mods = ["http", "db", "cache", "json", "tls", "zlib", "sched", "io", "log", "rpc", "auth", "kv"]
verbs = ["handle", "parse", "encode", "decode", "lookup", "insert", "flush", "poll", "read",
         "write", "compress", "verify", "dispatch", "visit", "alloc", "free"]
def fn(k):
    return "%s::%s_%d" % (mods[k % len(mods)], verbs[(k // 12) % len(verbs)], k % 97)
kernel = ["entry_SYSCALL_64_after_hwframe", "do_syscall_64", "__x64_sys_read", "ksys_read",
          "vfs_read", "ext4_file_read_iter", "filemap_read", "copy_page_to_iter"]
pool = []
for _ in range(150000):
    frames = ["_start", "__libc_start_main", "main"]
    k = r.randrange(50)
    for d in range(r.randrange(3, 13)):
        k = (k * 5 + r.randrange(3 if d < 4 else 7)) % 900
        frames.append(fn(k))
    if r.random() < 0.25:
        frames.append("__GI___libc_read")
        frames += [x + "_[k]" for x in kernel[: r.randrange(2, len(kernel))]]
    pool.append(";".join(frames))
out = sys.stdout
size = 0
while size < target:
    apps = ["svc-%d" % r.randrange(60) for _ in range(6)]
    agg = {}
    for _ in range(r.randrange(3000, 15000)):
        s = r.choice(apps) + ";" + pool[min(int(r.paretovariate(0.6)) - 1, len(pool) - 1) if r.random() < 0.5 else r.randrange(len(pool))]
        agg[s] = agg.get(s, 0) + r.randrange(1, 50)
    for s in sorted(agg):
        line = "%s %d\n" % (s, agg[s])
        out.write(line)
        size += len(line)
PY
else
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
fi
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

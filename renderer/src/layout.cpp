// Frame merging ("flow") and pruning, following flamegraph.pl (flamegraph-behaviour.md 2.3, 2.4).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "prof/common/flat_index.h"
#include "prof/common/folded.h"
#include "prof/renderer/renderer.h"

namespace prof::renderer {
namespace {

// Perl's split(";", $stack): empty fields in the middle are kept, trailing ones dropped.
void split_frames(std::string_view stack, std::vector<std::string_view>& out) {
  split_folded_stack(stack, out, TrailingEmptyFrames::kDrop);
}

void join_frames(const std::vector<std::string_view>& frames, std::string& out) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (i) out.push_back(';');
    out.append(frames[i]);
  }
}

// chain palette: every frame after the first ";--;" gets "_[w]"; a stack without one gets a
// trailing "--" frame (flamegraph.pl appends ";--;" unconditionally).
std::string chain_rewrite(std::string_view stack) {
  std::string out;
  std::size_t sep = stack.find(";--;");
  out.append(stack.substr(0, sep));
  out += ";--;";
  if (sep == std::string_view::npos) return out;
  std::string_view rest = stack.substr(sep + 4);
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    std::size_t next = rest.find(";--;", pos);
    std::string_view part =
        rest.substr(pos, next == std::string_view::npos ? rest.npos : next - pos);
    for (char c : part) {
      if (c == ';') out += "_[w]";
      out.push_back(c);
    }
    out += "_[w]";
    if (next == std::string_view::npos) break;
    out += ";--;";
    pos = next + 4;
  }
  return out;
}

// Splits consecutive stacks. The frames a stack shares with the one before (in the flow: the
// open ones) are neither split nor compared again; consecutive sorted lines share most.
class StackSplitter {
 public:
  // Splits `stack` (as split_frames does); returns how many leading frames it shares with the
  // previous stack.
  std::size_t next(std::string_view stack) {
    const std::size_t n = std::min(prev_.size(), stack.size());
    std::size_t common = 0;
    while (common + 8 <= n && std::memcmp(prev_.data() + common, stack.data() + common, 8) == 0)
      common += 8;
    while (common < n && prev_[common] == stack[common]) ++common;
    // A frame of the previous stack is shared when it ends within the common prefix and is
    // followed, here too, by ';' or the end.
    std::size_t same = 0;
    while (same < ends_.size() && ends_[same] <= common &&
           (ends_[same] == stack.size() || stack[ends_[same]] == ';'))
      ++same;
    ends_.resize(same);
    frames_.resize(same);
    for (std::size_t i = 0; i < same; ++i) {
      const std::size_t begin = i ? ends_[i - 1] + 1 : 0;
      frames_[i] = stack.substr(begin, ends_[i] - begin);
    }
    const std::size_t begin = same ? ends_[same - 1] + 1 : 0;
    if (begin <= stack.size()) {
      split_frames(stack.substr(begin), tail_);
    } else {
      tail_.clear();
    }
    // Empty frames are dropped at the end of a stack only.
    if (tail_.empty()) {
      while (same > 0 && frames_[same - 1].empty()) --same;
      ends_.resize(same);
      frames_.resize(same);
    }
    for (std::string_view f : tail_) {
      frames_.push_back(f);
      ends_.push_back(static_cast<std::size_t>(f.data() - stack.data()) + f.size());
    }
    prev_ = stack;
    return same;
  }
  const std::vector<std::string_view>& frames() const { return frames_; }

 private:
  std::string_view prev_;
  std::vector<std::size_t> ends_;  // of each frame, as offsets into prev_
  std::vector<std::string_view> frames_;
  std::vector<std::string_view> tail_;
};

// A line to merge: the input's, or its rewrite (--reverse, chain palette). Sorting moves these
// pointers, not the lines: a large input's lines are tens of MB.
using Work = const FoldedLine*;

struct OpenFrame {
  std::string_view name;
  double start;
  double delta;
  bool has_delta;
};

// flamegraph.pl's order: by the whole line. Inputs made of several folded files (each sorted,
// as folders write them) are a few sorted runs: those are merged pairwise, n comparisons per
// round and log2(runs) rounds, instead of sorting every line again (whose comparisons walk
// long shared prefixes). Any other order is sorted outright.
void sort_lines(std::vector<Work>& work) {
  auto less = [](Work a, Work b) { return a->text < b->text; };
  std::vector<std::size_t> runs{0};
  for (std::size_t i = 1; i < work.size(); ++i)
    if (less(work[i], work[i - 1])) runs.push_back(i);
  runs.push_back(work.size());
  if (runs.size() - 1 > work.size() / 64 + 1) {
    std::sort(work.begin(), work.end(), less);
    return;
  }
  std::vector<Work> other(work.size());
  while (runs.size() > 2) {
    std::vector<std::size_t> merged{0};
    for (std::size_t r = 0; r + 1 < runs.size(); r += 2) {
      auto first = work.begin() + static_cast<std::ptrdiff_t>(runs[r]);
      auto mid = work.begin() + static_cast<std::ptrdiff_t>(runs[r + 1]);
      auto last =
          r + 2 < runs.size() ? work.begin() + static_cast<std::ptrdiff_t>(runs[r + 2]) : mid;
      std::merge(first, mid, mid, last, other.begin() + static_cast<std::ptrdiff_t>(runs[r]), less);
      merged.push_back(r + 2 < runs.size() ? runs[r + 2] : runs[r + 1]);
    }
    runs = std::move(merged);
    work.swap(other);
  }
}

}  // namespace

Result<Layout> build_layout(std::span<const FoldedLine> lines, const Options& opt,
                            WarningSink* warnings) {
  Layout layout;
  std::vector<Work> work;
  work.reserve(lines.size());
  std::vector<std::string_view> frames;
  std::vector<FoldedLine> rewritten;  // views Layout::storage; sized first, never moves

  if (opt.reverse) {
    layout.storage.reserve(lines.size() + (opt.palette == Palette::kChain ? lines.size() : 0));
    rewritten.reserve(lines.size());
    for (const FoldedLine& l : lines) {
      split_frames(l.stack, frames);
      std::reverse(frames.begin(), frames.end());
      std::string s;
      s.reserve(l.text.size());
      join_frames(frames, s);
      std::size_t stack_len = s.size();
      s.push_back(' ');
      s.append(l.text.substr(std::min(l.text.size(), l.stack.size() + 1)));
      layout.storage.push_back(std::move(s));
      std::string_view t = layout.storage.back();
      FoldedLine r = l;
      r.text = t;
      r.stack = t.substr(0, stack_len);
      rewritten.push_back(r);
      work.push_back(&rewritten.back());
    }
  } else {
    layout.storage.reserve(opt.palette == Palette::kChain ? lines.size() : 0);
    for (const FoldedLine& l : lines) work.push_back(&l);
  }
  if (!opt.flamechart) sort_lines(work);
  if (opt.palette == Palette::kChain) {
    std::vector<FoldedLine> chained;
    chained.reserve(work.size());
    for (Work& w : work) {
      layout.storage.push_back(chain_rewrite(w->stack));
      chained.push_back(*w);
      chained.back().stack = layout.storage.back();
      w = &chained.back();
    }
    rewritten = std::move(chained);  // keeps them (a moved vector keeps its buffer)
  }

  // The total is known before merging, so frames narrower than min_width are dropped as they
  // close instead of being stored (a 40 MB input opens about a million frames; ~25k survive).
  double sum = 0;
  for (Work w : work) sum += w->count2;
  if (!(sum > 0)) return Error{Errc::kNoData, "no stack counts found"};
  layout.total = sum;
  layout.time_max = sum;
  if (opt.total) {
    if (*opt.total >= sum) {
      layout.time_max = *opt.total;
    } else if (warnings && *opt.total / sum > 0.02) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "total %.15g is less than the sum of counts %.15g; ignored",
                    *opt.total, sum);
      warnings->warn("render-total-ignored", buf);
    }
  }
  const double image_width = opt.width ? *opt.width : 1200;
  const double width_per_time = (image_width - 2 * 10) / layout.time_max;
  const double min_time = opt.min_width_percent ? layout.time_max * opt.min_width / 100
                                                : opt.min_width / width_per_time;

  const bool inclusive = opt.diff_coloring == DiffColoring::kInclusive;
  std::vector<Frame>& nodes = layout.frames;
  nodes.reserve(1024);
  std::vector<OpenFrame> open;
  open.push_back({std::string_view(), 0, 0, false});
  double t = 0;
  double max_line_delta = 0;
  double max_inclusive_delta = 0;
  // Pruned frames close in order of their end, so a name's spans arrive with non-decreasing
  // ends: a new span swallows the last ones it contains and joins one it touches.
  FlatIndex pruned_index;  // name -> index in layout.pruned
  auto add_pruned = [&](std::string_view name, double start, double end) {
    if (!(end > start)) return;
    const std::uint64_t h = FlatIndex::tag(hash_bytes(name));
    const auto* found =
        pruned_index.find(h, [&](std::uint32_t i) { return layout.pruned[i].name == name; });
    std::uint32_t index;
    if (found) {
      index = *found;
    } else {
      index = static_cast<std::uint32_t>(layout.pruned.size());
      layout.pruned.push_back({name, {}});
      pruned_index.insert(h, index);
    }
    auto& spans = layout.pruned[index].spans;
    while (!spans.empty() && spans.back().first >= start) spans.pop_back();
    if (!spans.empty() && spans.back().second >= start) {
      spans.back().second = end;
    } else {
      spans.emplace_back(start, end);
    }
  };
  auto close_to = [&](std::size_t keep) {
    while (open.size() > keep) {
      const OpenFrame& f = open.back();
      const auto depth = static_cast<std::uint32_t>(open.size() - 1);
      // flamegraph.pl judges each frame on its own; the root is drawn to time_max.
      const double end = depth == 0 ? layout.time_max : t;
      if (inclusive && depth > 0)
        max_inclusive_delta = std::max(max_inclusive_delta, std::fabs(f.delta));
      if (end - f.start < min_time) {
        ++layout.frames_pruned;
        if (opt.javascript) add_pruned(f.name, f.start, end);
      } else {
        nodes.push_back({f.name, depth, f.start, end, f.delta, f.has_delta});
        layout.depth_max = std::max(layout.depth_max, depth);
      }
      open.pop_back();
    }
  };
  StackSplitter splitter;  // its previous stack's frames are the open ones
  for (Work line : work) {
    const FoldedLine& w = *line;
    // flamegraph.pl opens the root with the first line: a differential one gives it delta 0.
    if (line == work.front() && w.differential && !inclusive) open[0].has_delta = true;
    const std::size_t same = splitter.next(w.stack);
    const std::vector<std::string_view>& line_frames = splitter.frames();
    close_to(same + 1);
    double d = w.count2 - w.count1;
    if (w.differential) {
      layout.differential = true;
      max_line_delta = std::max(max_line_delta, std::fabs(d));
    }
    for (std::size_t i = same; i < line_frames.size(); ++i) {
      bool leaf = i + 1 == line_frames.size();
      bool self_delta = w.differential && !inclusive;
      open.push_back({line_frames[i], t, self_delta && leaf ? d : 0, self_delta});
    }
    if (w.differential && inclusive) {
      for (OpenFrame& f : open) {
        f.delta += d;
        f.has_delta = true;
      }
    }
    t += w.count2;
  }
  close_to(0);

  if (inclusive && layout.differential) {
    // Every frame has a delta; the root's (the whole difference) would flatten the scale.
    max_line_delta = max_inclusive_delta;
    for (Frame& f : nodes) f.has_delta = true;
  }
  layout.max_delta = std::max(1.0, max_line_delta);
  std::sort(layout.frames.begin(), layout.frames.end(), [](const Frame& a, const Frame& b) {
    return a.depth != b.depth ? a.depth < b.depth : a.start < b.start;
  });
  return layout;
}

}  // namespace prof::renderer

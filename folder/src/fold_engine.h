// Private: the folding core shared by the perf-script text parser and the typed-sample path.
// One FoldEngine holds the state of one input stream (current sample, event filter, counts);
// fold_input() runs one per thread and feeds each a sequence of blocks that end at blank lines.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/profile.h"
#include "prof/folder/folder.h"
#include "tables.h"

namespace prof::folder::detail {

// A warning with the line number relative to the start of what the engine was fed since
// begin_block(). `count` > 1 when later ones of the same kind were only counted.
struct Diag {
  std::string_view kind;
  std::uint64_t line = 0;
  std::string text;
  std::uint64_t count = 1;
};

// One stack frame as `perf script` prints it, before any tidying: `PC FUNC (MODULE)`.
struct RawFrame {
  std::string_view pc;      // address text, hex without 0x (text input)
  std::string_view func;    // symbol, possibly with +0xOFF and `->` inline chains
  std::string_view module;  // dso path or [kernel.kallsyms], [unknown], ...
  // Typed input carries the address itself; it becomes text only where a folded name shows it
  // (--addrs on an unresolved frame), never to be parsed again.
  std::optional<std::uint64_t> address;
};

// The parsed sample header line (see docs/folding.md, "Sample header").
struct HeaderLine {
  std::string_view comm;
  std::string_view pid_text;  // "?" when perf printed one number (or TID 0)
  std::string_view tid_text;
  int cpu = -1;            // from the `[NNN]` field; -1 when absent
  bool has_event = false;  // the line ends with `: [PERIOD] EVENT:`
  std::string_view event;
  std::string_view period;        // digits, may be empty
  std::optional<RawFrame> frame;  // a frame printed on the header line itself (no -g)
};

// Parses a header line. False when the line is not a header.
bool parse_header(std::string_view line, HeaderLine& out);
// Parses a stack frame line. False when it does not fit `[ws] PC [ws] FUNC (MODULE)`.
bool parse_frame(std::string_view line, RawFrame& out);
// The first event name in `text` (complete lines) that the default event filter would lock
// onto, if any.
std::optional<std::string_view> first_event(std::string_view text);

// Stack line -> its tidied frame (an Interner id). The tidied form depends only on the line,
// the options and whether the process is Java, and real profiles repeat the same few thousand
// lines millions of times. Emptied when it reaches kMaxEntries or kMaxArena, so its memory stays
// bounded whatever the input.
class FrameCache {
 public:
  struct Value {
    std::uint32_t id = 0;
    bool present = false;  // false: the reference drops this frame
    bool matched = false;  // a --skip-after function
  };
  static constexpr std::size_t kMaxEntries = 1 << 18;
  static constexpr std::size_t kMaxArena = 64 << 20;

  static std::uint64_t hash(std::string_view line, bool java) {
    return FlatIndex::tag(hash_bytes(line) ^ static_cast<std::uint64_t>(java) << 1);
  }
  bool find(std::string_view line, std::uint64_t h, bool java, Value& out) const {
    const auto* e = index_.find(h, [&](std::uint32_t i) {
      const Entry& en = entries_[i];
      return en.java == java && en.len == line.size() &&
             std::memcmp(arena_.data() + en.offset, line.data(), line.size()) == 0;
    });
    if (e == nullptr) return false;
    out = entries_[*e].value;
    return true;
  }
  void insert(std::string_view line, std::uint64_t h, bool java, const Value& v) {
    if (entries_.size() >= kMaxEntries || arena_.size() + line.size() > kMaxArena) {
      index_.clear();
      entries_.clear();
      arena_.clear();
    }
    if (line.size() > kMaxArena) return;  // a freak line: not worth caching
    index_.insert(h, static_cast<std::uint32_t>(entries_.size()));
    entries_.push_back({arena_.size(), line.size(), java, v});
    arena_.append(line);
  }

 private:
  struct Entry {
    std::size_t offset;
    std::size_t len;
    bool java;
    Value value;
  };
  FlatIndex index_;
  std::vector<Entry> entries_;
  std::string arena_;
};

class FoldEngine {
 public:
  explicit FoldEngine(const Options& options);

  // Sets the event filter as the first event seen (used by the multi-threaded driver, which
  // finds that event before it hands out blocks).
  void preset_event_filter(std::string_view event);

  void add_sample(const StackSampleView& sample);
  // Every sample of `profile`, in order, exactly as add_sample(profile.view(s)) would fold it;
  // each distinct stack's frames are tidied once per call, not once per sample.
  void add_profile(const Profile& profile);

  // Text input. Returns false when Options::strict and a weird line was met (strict_error()).
  bool feed(std::string_view bytes);
  // End of text input (or of a block that ends at a blank line).
  bool finish();

  // Resets the line counter and the per-kind warning memory for a new block of input.
  void begin_block();
  std::uint64_t block_lines() const { return block_lines_; }
  std::vector<Diag> take_diags();
  const std::optional<Diag>& strict_error() const { return strict_error_; }

  // The folded stacks so far, as strings, built from the id table on each call.
  FoldedCounts build_counts() const;
  // Adds the stacks `other` folded (its names mapped to ours). False when a sum saturated.
  bool absorb(const FoldEngine& other);
  // stats_.event follows event_filter_ wherever that changes, so reading needs no update.
  const FoldStats& stats() const { return stats_; }

 private:
  bool line(std::string_view l);
  void header(const HeaderLine& h);
  void begin(std::string_view comm, std::string_view pid, std::string_view tid, int cpu,
             std::uint64_t period);
  // begin() for a typed sample: pid and tid shown as the text path would read them.
  void begin_typed(std::string_view comm, std::int64_t pid, std::int64_t tid, int cpu,
                   std::uint64_t period);
  void set_event_filter(std::string_view event);
  // A typed frame's tidied form, through typed_cache_.
  FrameCache::Value typed_frame(const FrameView& fv);
  bool accept_event(std::string_view event);
  // Tidies a frame line into tidy_group_ (its `;`-joined pieces, outer first). Returns false
  // when the reference drops the frame (`(...)` names); sets `matched` for --skip-after.
  bool tidy_frame(const RawFrame& f, bool& matched);
  void push_frame(const FrameCache::Value& v);
  void frame(const RawFrame& f);
  void cached_frame(FrameCache& cache, std::string_view key, std::uint64_t hash, const RawFrame& f);
  bool piece(std::string_view func, const RawFrame& f, bool inlined);
  void end_sample();
  void warn(std::string_view kind, std::string_view what, std::string_view line_text);
  std::uint64_t parse_period(std::string_view digits);

  Options opt_;
  FoldStats stats_;

  std::string event_filter_;
  bool event_defaulted_ = false;
  bool event_warned_ = false;

  // Current sample.
  bool active_ = false;          // a header was accepted and no blank line came yet
  bool after_filtered_ = false;  // the last header was dropped by the event filter
  bool java_ = false;
  bool skipped_ = false;  // --skip-after matched: no more frames, no process frame
  std::string pname_;
  std::uint32_t pname_id_ = 0;
  // per_event: the current sample's `[EVENT]` frame (kNoEvent: none), and the last event seen,
  // so that a run of samples of one event interns its root once.
  static constexpr std::uint32_t kNoEvent = UINT32_MAX;
  std::uint32_t event_id_ = kNoEvent;
  std::string last_event_;
  std::uint32_t last_event_id_ = kNoEvent;
  int cpu_ = -1;
  std::uint64_t period_ = 1;
  std::vector<std::uint32_t> frame_ids_;  // tidied frames (names_ ids), leaf first
  std::vector<std::uint32_t> key_;        // the finished stack, root first
  std::string piece_, scratch_, tidy_group_;
  FrameCache frame_cache_;  // stack lines
  FrameCache typed_cache_;  // typed frames: symbol \0 module [\0 address bytes]
  std::string typed_key_;
  Interner names_;
  StackTable stacks_;

  // Text state.
  std::string partial_;  // a line split across feed() calls
  std::uint64_t block_lines_ = 0;

  std::vector<Diag> diags_;
  std::optional<Diag> strict_error_;
};

}  // namespace prof::folder::detail

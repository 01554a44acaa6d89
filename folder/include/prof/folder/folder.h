// prof::folder — turns stack samples into folded stacks ("root;...;leaf COUNT"), the format
// flamegraph.pl, inferno and our renderer read.
//
// Pipeline position: symbolizer -> **folder** -> renderer. Two inputs feed the same folding code:
//   * `perf script` text, streamed in chunks of bytes of any size (Folder::feed / finish, or
//     fold_input() for a whole InputFile, optionally on several threads), and
//   * typed samples (Folder::add(StackSampleView)), which the symbolizer hands over in memory in
//     the all-in-one `profile` command, or a whole typed prof::Profile (Folder::add(Profile),
//     fold_profile()), which tidies each distinct stack once instead of once per sample.
// Folding `perf script` text gives exactly what adding the same samples as StackSampleView gives,
// and folding a Profile exactly what adding each of its samples' views gives.
// The rules are stackcollapse-perf.pl's (docs/folding.md lists them and every deliberate
// divergence). Memory grows with the number of distinct stacks, never with the input size.
//
//   prof::folder::Options opts;                    // defaults: as stackcollapse-perf.pl
//   opts.annotate_kernel = true;                   // --kernel
//   prof::folder::Folder folder(opts);
//   folder.feed("java 42 [001] 1.0: 1 cpu-clock:\n\t  4011 main+0x1 (/bin/app)\n\n");
//   if (auto r = folder.finish(); !r) return r.error();
//   folder.counts().write(std::cout);              // "java;main 1\n"
//   auto counts = prof::folder::fold_profile(profile, opts, &warnings);  // typed, in memory
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "prof/common/input.h"
#include "prof/common/profile.h"
#include "prof/common/result.h"
#include "prof/common/stack.h"
#include "prof/common/time_range.h"
#include "prof/common/warnings.h"

namespace prof::folder {

// Version of the stage library's API, bumped on incompatible changes.
inline constexpr int kApiVersion = 1;

// Warning kinds reported through the WarningSink (stable keys; see docs/folding.md).
inline constexpr std::string_view kWarnWeirdLine = "weird-line";             // fits no rule
inline constexpr std::string_view kWarnWeirdStackLine = "weird-stack-line";  // indented, no (dso)
inline constexpr std::string_view kWarnEventFilter = "event-filter";      // defaulted filter drops
inline constexpr std::string_view kWarnCountOverflow = "count-overflow";  // sum > 2^64-1

struct Options {
  bool include_pid = false;      // --pid: process frame is `comm-PID` (default off)
  bool include_tid = false;      // --tid: process frame is `comm-PID/TID`; wins over --pid (off)
  bool annotate_kernel = false;  // --kernel: `_[k]` on kernel frames (off)
  bool annotate_jit = false;     // --jit: `_[j]` on JIT frames (off)
  bool include_addrs = false;    // --addrs: unresolved frames read `[module <addr>]` (off)
  // --event-filter: keep only samples of this event. Empty (default): the first event seen,
  // or every event with per_event.
  std::string event_filter;
  // --per-event: root frame `[EVENT]` from the sample's event, so samples of several events
  // fold side by side instead of being dropped; without event_filter every event is kept. Samples
  // without an event name get no such frame. Outermost, before `cpu-N` (off).
  bool per_event = false;
  bool per_cpu = false;  // --per-cpu: root frame `cpu-N` (`cpu-?` when unknown) (off)
  // --skip-after FUNC: drop every frame rootward of the leaf-most frame named FUNC, and the
  // process frame. Matched against the tidied name without annotation. Default: none.
  std::vector<std::string> skip_after;
  bool strict = false;  // a line that fits no rule is an error, not a warning (off)
  // Keep the text of every warning (-v). Default off: the first of each kind per block of input
  // keeps its text, the others are only counted.
  bool keep_all_warnings = false;
  std::string input_name = "<input>";  // names the input in warnings and errors
  // --time-range A,B (default: none). Not applied by Folder or fold_input: `profile fold` cuts
  // perf-script text with filter_time_range() (time_filter.h) first, and the commands that fold
  // a Profile cut it with prof::retain_time_range().
  std::optional<TimeRange> time_range;
};

// What a fold saw, for messages and tests.
struct FoldStats {
  std::uint64_t lines = 0;             // text lines read (text input only)
  std::uint64_t samples = 0;           // samples counted into the result
  std::uint64_t filtered_samples = 0;  // samples dropped by the event filter
  std::uint64_t weird_lines = 0;       // lines that fit no rule
  std::string event;                   // the event filter in force at the end ("" = none seen)
  bool perf_data = false;              // the input starts like a perf.data file, not text
  void add(const FoldStats& o);
};

// Folded stacks and their summed weights. Lines come out sorted byte-wise.
class FoldedCounts {
 public:
  // Adds `weight` to `stack`; returns false when the sum saturated at UINT64_MAX.
  bool add(std::string_view stack, std::uint64_t weight);
  // Moves every stack of `other` into this one (sums weights). Returns false on saturation.
  bool merge(FoldedCounts&& other);

  void reserve(std::size_t stacks) { map_.reserve(stacks); }
  std::size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  std::uint64_t count(std::string_view stack) const;

  // Entries sorted byte-wise by stack; the views point into this object.
  std::vector<std::pair<std::string_view, std::uint64_t>> sorted() const;
  std::map<std::string, std::uint64_t, std::less<>> to_map() const;
  // Writes "STACK COUNT\n" lines sorted byte-wise. Fails when the stream fails.
  Result<void> write(std::ostream& out) const;
  // The same bytes as write(), into a string.
  std::string to_string() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>> map_;
};

namespace detail {
class FoldEngine;
}

// Folds one input: either perf-script text through feed()/finish(), or typed samples through
// add(). Not thread-safe; fold_input() runs one Folder per thread and merges them.
class Folder {
 public:
  // `warnings` may be null (warnings are then only counted in stats()).
  explicit Folder(Options options = {}, WarningSink* warnings = nullptr);
  ~Folder();
  Folder(Folder&&) noexcept;
  Folder& operator=(Folder&&) noexcept;

  // Typed input: one complete sample (frames leaf first). Applies the same event filter,
  // naming and tidying rules as the text parser.
  void add(const StackSampleView& sample);
  // Typed input: every sample of `profile`, in order; the same result, warnings and stats as
  // add(profile.view(s, scratch)) for each sample s.
  void add(const Profile& profile);

  // perf-script text, in chunks split anywhere (even inside a line). Keeps no input beyond the
  // current partial line. Fails only with Options::strict.
  Result<void> feed(std::string_view bytes);
  // End of text input: parses a last line without '\n' and counts a last sample that has no
  // blank line after it.
  Result<void> finish();

  // The folded stacks so far, built anew on each call (a pure read: the stacks are kept as id
  // sequences while folding, and turned into text only here).
  FoldedCounts counts() const;
  FoldedCounts take_counts();
  const FoldStats& stats() const;

 private:
  void flush();

  std::unique_ptr<detail::FoldEngine> engine_;
  WarningSink* warnings_;
  std::string name_;
  bool event_seen_ = false;
};

// Folds every sample of `profile` (see Folder::add(const Profile&)). `stats` may be null.
FoldedCounts fold_profile(const Profile& profile, const Options& options,
                          WarningSink* warnings = nullptr, FoldStats* stats = nullptr);

// Reads all of `input` (plain or compressed, see InputFile) and folds it on `threads` threads
// (1 = on the calling thread; 0 = one per hardware thread). The input is split at blank lines
// (sample boundaries) and the per-thread results are merged, so the result, the warnings and
// their line numbers are identical for every thread count.
// Errors: read or decompression failure; with Options::strict, the first weird line as FILE:LINE.
Result<FoldedCounts> fold_input(InputFile& input, const Options& options, WarningSink* warnings,
                                unsigned threads = 1, FoldStats* stats = nullptr);

}  // namespace prof::folder

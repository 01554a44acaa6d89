// Profile: the typed profile model, the in-memory seam between the stages.
//
// Pipeline position: prof::common. The symbolizer produces a Profile (from perf.data records);
// the folder, the renderer's inputs, `top`, off-CPU and the exporters (pprof, speedscope, the HTML
// explorer, continuous windows) consume it. Text formats (perf script, folded) exist only at
// process boundaries. The shape follows pprof's data model:
//
//   Sample ──stack──▶ Stack (interned: location ids, leaf first)
//                        └─▶ Location (address as sampled, mapping, lines = inline chain)
//                               ├─▶ Mapping (module path as printed, build-id)
//                               └─▶ Line (function, offset in it, srcline, inlined?) ─▶ Function
//
// Every string is interned once (StringTable); ids are dense indexes, 0 meaning "none" for
// mappings, functions and strings ("" is string 0). A sample keeps its time, CPU, process,
// thread, comm, event, cgroup and further labels, so time-aware views need no second pass;
// aggregation (stack → count) is a view computed by the consumer, never a second store. With
// Options::merge_samples equal samples (same stack, comm, pid, tid, cpu, event, cgroup, labels) are
// merged as they are added — the memory of a long capture then grows with distinct stacks.
//
//   prof::Profile p;
//   auto fn = p.add_function("main");
//   auto map = p.add_mapping("/usr/bin/app");
//   auto loc = p.add_location(0x401136, map, {{.function = fn, .symbol_offset = 6}});
//   auto st = p.intern_stack(std::span(&loc, 1));
//   p.add_sample({.stack = st, .period = 1, .comm = p.intern("app"), .pid = 42, .tid = 42});
//   std::vector<prof::FrameView> scratch;
//   for (const auto& s : p.samples()) folder.add(p.view(s, scratch));
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/stack.h"

namespace prof {

using StringId = std::uint32_t;    // index into Profile::strings(); 0 = ""
using FunctionId = std::uint32_t;  // index into functions(); 0 = unknown function
using MappingId = std::uint32_t;   // index into mappings(); 0 = no mapping
using LocationId = std::uint32_t;  // index into locations()
using StackId = std::uint32_t;     // index into stacks()

// Interned strings. Views returned by str() stay valid for the table's lifetime.
class StringTable {
 public:
  StringTable();
  ~StringTable();
  StringTable(StringTable&&) noexcept;
  StringTable& operator=(StringTable&&) noexcept;

  StringId intern(std::string_view s);
  std::string_view str(StringId id) const { return views_[id]; }
  std::size_t size() const { return views_.size(); }

 private:
  struct Index;
  std::deque<std::string> storage_;
  std::vector<std::string_view> views_;
  std::unique_ptr<Index> index_;
};

struct Function {
  StringId name = 0;      // as printed: demangled per the symbolizer's options; "" = unknown
  StringId filename = 0;  // source file when known, else 0
};

struct Mapping {
  StringId path = 0;      // module as perf prints it: a file path, "[kernel.kallsyms]", "[vdso]"
  StringId build_id = 0;  // lower-case hex, "" when not known
};

// One frame of a location's inline chain. Innermost (the leaf-most inlined call) first, as perf
// prints them; the last line is the function the address lies in.
struct Line {
  FunctionId function = 0;          // 0: unresolved ("[unknown]")
  std::uint64_t symbol_offset = 0;  // address - symbol start (perf's SYM+0xOFF); 0 when unknown
  StringId srcline = 0;             // "file.c:12" when requested and known, else 0
  bool inlined = false;             // an inlined call expanded from DWARF
};

struct Location {
  std::uint64_t address = 0;     // runtime address as sampled (what perf prints)
  MappingId mapping = 0;         // 0: unmapped
  std::uint32_t first_line = 0;  // into lines(); every location has at least one line
  std::uint32_t line_count = 0;
};

struct Stack {
  std::uint32_t first = 0;  // into stack_locations()
  std::uint32_t size = 0;   // locations, leaf first
};

inline constexpr std::uint64_t kNoCgroup = 0;

// A label beyond the typed fields of a sample (pprof's Sample.label): a string value (`str`) or
// a number (`num`, with an optional unit). Profiles read from pprof keep theirs here.
struct Label {
  StringId key = 0;
  StringId str = 0;  // 0 for a numeric label
  std::int64_t num = 0;
  StringId unit = 0;  // of `num`, e.g. "bytes"; 0 when none
  bool operator==(const Label&) const = default;
};
using LabelSetId = std::uint32_t;  // index into label sets; 0 = no labels

// What one value column of a sample means (pprof's ValueType): an event and its unit.
struct EventType {
  StringId name = 0;  // as the samples name it (Sample::event), e.g. "cpu-clock"
  StringId unit = 0;  // "nanoseconds" for clock events, "count" for counters
  // How it was sampled: every `period` units, or `frequency` times a second; 0 when unknown.
  std::uint64_t period = 0;
  std::uint64_t frequency = 0;
};

// The capture as a whole (pprof's time_nanos, duration_nanos, sample types, period).
struct ProfileInfo {
  std::uint64_t start_unix_ns = 0;  // wall-clock start (ns since the Unix epoch); 0 = unknown
  std::uint64_t duration_ns = 0;    // 0 = unknown
  std::vector<EventType> events;    // the sampled events, in the order they were opened
  std::vector<StringId> comments;   // free text kept with the profile (pprof's comment)
};

struct Sample {
  StackId stack = 0;
  // The values, one per sample type (pprof's sample_type): `count` samples of the event whose
  // summed weight (event count, e.g. ns for cpu-clock) is `period`.
  std::uint64_t count = 1;
  std::uint64_t period = 1;
  std::uint64_t time_ns = 0;  // of the first sample merged into this one
  StringId comm = 0;
  StringId event = 0;  // event name, e.g. "cpu-clock"; 0 when the producer had none
  std::int64_t pid = kUnknownPid;
  std::int64_t tid = kUnknownPid;
  std::int32_t cpu = -1;  // -1 when unknown
  std::uint64_t cgroup = kNoCgroup;
  LabelSetId labels = 0;  // further labels (Profile::labels); 0 = none
};

class Profile {
 public:
  struct Options {
    // Merge a sample into an earlier one with the same stack, comm, pid, tid, cpu, event and
    // cgroup: counts and periods add (a period of 0 counts as 1, as folding counts it), the
    // time stays the first one's. Off: every sample is kept, in the order added.
    bool merge_samples = false;
  };

  Profile();
  explicit Profile(Options options);
  ~Profile();
  Profile(Profile&&) noexcept;
  Profile& operator=(Profile&&) noexcept;

  // --- building ------------------------------------------------------------------------------
  StringId intern(std::string_view s) { return strings_.intern(s); }
  // Interned: the same name and file give the same id; no name and no file give 0, unknown.
  FunctionId add_function(std::string_view name, std::string_view filename = {});
  // Interned by path and build-id.
  MappingId add_mapping(std::string_view path, std::string_view build_id = {});
  // Not interned (the producer interns locations by its own key). `lines` must not be empty.
  LocationId add_location(std::uint64_t address, MappingId mapping, std::span<const Line> lines);
  LocationId add_location(std::uint64_t address, MappingId mapping,
                          std::initializer_list<Line> lines) {
    return add_location(address, mapping, std::span<const Line>(lines.begin(), lines.size()));
  }
  // Interned: the same location sequence gives the same id.
  StackId intern_stack(std::span<const LocationId> locations);
  // Interned: the same labels in the same order give the same id; none gives 0.
  LabelSetId intern_labels(std::span<const Label> labels);
  // The capture as a whole; producers fill it in (the symbolizer leaves it empty).
  ProfileInfo& info() { return info_; }
  const ProfileInfo& info() const { return info_; }
  // The event type named `name` in info().events, or nullptr.
  const EventType* event_type(StringId name) const;
  // Appends `s` (or merges it, see Options::merge_samples); returns its index.
  std::size_t add_sample(const Sample& s);
  void reserve_samples(std::size_t n) { samples_.reserve(n); }
  // Drops the samples (and the merge index); strings, functions, mappings, locations and
  // stacks stay.
  void clear_samples();
  // Drops the samples and the stacks (ids handed out before are void); strings, functions,
  // mappings and locations stay. For a producer that starts afresh again and again (each
  // window of a long capture), whose stacks would otherwise pile up.
  void clear_stacks();
  // Calls `keep` on every sample, which may change it (its weights, event); keeps those it
  // returns true for, in order. Equal samples are not merged again.
  template <typename Keep>
  void retain_samples(Keep keep) {
    std::size_t n = 0;
    for (Sample& s : samples_)
      if (keep(s)) samples_[n++] = s;
    samples_.resize(n);
    forget_sample_index();
  }

  // --- reading -------------------------------------------------------------------------------
  const StringTable& strings() const { return strings_; }
  std::string_view str(StringId id) const { return strings_.str(id); }
  const std::vector<Function>& functions() const { return functions_; }
  const std::vector<Mapping>& mappings() const { return mappings_; }
  const std::vector<Location>& locations() const { return locations_; }
  const std::vector<Line>& lines() const { return lines_; }
  const std::vector<Stack>& stacks() const { return stacks_; }
  const std::vector<LocationId>& stack_locations() const { return stack_locations_; }
  const std::vector<Sample>& samples() const { return samples_; }

  std::span<const LocationId> stack(StackId id) const {
    const Stack& s = stacks_[id];
    return {stack_locations_.data() + s.first, s.size};
  }
  std::span<const Line> lines(const Location& loc) const {
    return {lines_.data() + loc.first_line, loc.line_count};
  }
  std::span<const Label> labels(LabelSetId id) const {
    const auto& r = label_sets_[id];
    return {labels_.data() + r.first, r.size};
  }
  std::size_t label_set_count() const { return label_sets_.size(); }
  // A location's lines as perf-script frames (leaf-most first), appended to `out`.
  void append_frames(LocationId loc, std::vector<FrameView>& out) const;
  // A sample as a StackSampleView whose frames live in `scratch` (overwritten); the views stay
  // valid while the profile and `scratch` are unchanged.
  StackSampleView view(const Sample& s, std::vector<FrameView>& scratch) const;
  // Total frames of a stack, inline lines included.
  std::size_t frame_count(StackId id) const;

 private:
  void forget_sample_index();
  struct Indexes;
  Options options_;
  StringTable strings_;
  std::vector<Function> functions_;
  std::vector<Mapping> mappings_;
  std::vector<Location> locations_;
  std::vector<Line> lines_;
  std::vector<Stack> stacks_;
  std::vector<LocationId> stack_locations_;
  std::vector<Sample> samples_;
  std::vector<Label> labels_;
  std::vector<Stack> label_sets_;  // ranges of labels_ (same shape as a stack's)
  ProfileInfo info_;
  std::unique_ptr<Indexes> idx_;
};

}  // namespace prof

// Typed stack samples: what the symbolizer hands the folder inside one process, and what the
// folder's perf-script text parser produces from each sample block. Both paths feed the same
// folding code, so `profile report perf.data` and `perf script | profile fold` agree.
//
// Pipeline position: prof::common (symbolizer -> folder). Strings are views: they stay valid only
// for the duration of the call that receives the sample (producers reuse their buffers).
//
//   prof::FrameView f{.address = 0x401136, .symbol = "main", .module = "/usr/bin/app"};
//   prof::StackSampleView s{.comm = "app", .pid = 42, .tid = 42, .cpu = 1, .period = 1};
//   s.frames = std::span(&f, 1);
//   folder.add(s);
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace prof {

// One frame as `perf script` would print it: `ADDRESS SYMBOL+0xOFF (MODULE)`.
struct FrameView {
  std::uint64_t address = 0;        // runtime address as sampled (for --addrs and [unknown])
  std::string_view symbol;          // function name, demangled; empty when unresolved
  std::uint64_t symbol_offset = 0;  // address - symbol start; 0 when unknown
  std::string_view module;          // mapped file path, "[kernel.kallsyms]", "[vdso]", or empty
  std::string_view srcline;         // "file.c:12" when requested and known, else empty
  bool inlined = false;             // an inlined call expanded from DWARF (perf's `(inlined)`)
};

inline constexpr std::int64_t kUnknownPid = -1;

struct StackSampleView {
  std::string_view comm;           // thread name at the sample time
  std::int64_t pid = kUnknownPid;  // process id (kUnknownPid when the producer had none)
  std::int64_t tid = kUnknownPid;
  std::int32_t cpu = -1;  // -1 when unknown
  std::uint64_t time_ns = 0;
  std::uint64_t period = 1;           // weight of the sample (event count)
  std::string_view event;             // event name, e.g. "cpu-clock"; may be empty
  std::span<const FrameView> frames;  // leaf first, as perf script prints
};

}  // namespace prof

// DWARF unwinding of `--call-graph dwarf` samples (user registers + a copy of the user stack)
// with libdwfl's unwinder: one Dwfl per address space with the process's modules reported at
// their load bias, attached once (dwfl_attach_state may be called only once per Dwfl), whose
// callbacks serve the sample currently being unwound (reference/kernel-and-libdw.md section 4).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace prof::symbolizer::detail {

struct UnwindModule {
  std::string name;    // for messages
  std::string path;    // file to report
  std::uint64_t bias;  // runtime address = ELF address + bias
};

// The modules of one address space at one moment, and the runtime ranges they are mapped at.
struct UnwindSpace {
  std::uint64_t generation = 0;  // differs between any two spaces of one process
  std::vector<UnwindModule> modules;
  struct Range {
    std::uint64_t start, end;  // [start, end)
    std::uint32_t module;      // index into modules
  };
  std::vector<Range> ranges;                        // sorted by start, non-overlapping
  const Range* range_at(std::uint64_t addr) const;  // the range holding addr, or null
};

// Why an unwind ended, decided from libdwfl's error code and the unwinder's own state (never
// from message text, which gettext may translate).
enum class UnwindStop : std::uint8_t {
  kOutermost,     // the last frame has no caller (undefined return address, or pc 0)
  kMaxFrames,     // max_frames frames were taken
  kNoModules,     // no module of the process could be reported to libdwfl
  kNoDwarf,       // libdwfl found neither CFI nor DWARF for the pc (DWFL_E_NO_DWARF)
  kNoMatch,       // no CFI range covers the pc (libdwfl's or libdw's NO_MATCH)
  kLibdwflError,  // any other libdwfl error: UnwindResult::stop_reason is its message
};

// Whether a stop is how most stacks end: a return address outside every module, or into code
// without CFI (the outermost frames' are garbage or libc's start code); perf ends there
// silently. Anything else (a read past the stack copy, bad registers) is an early stop.
constexpr bool is_expected_end(UnwindStop s) {
  return s == UnwindStop::kOutermost || s == UnwindStop::kMaxFrames || s == UnwindStop::kNoDwarf ||
         s == UnwindStop::kNoMatch;
}

// The summary's text for a stop: "" for a complete unwind, libdwfl's (untranslated) message for
// its codes, and "" for kLibdwflError, whose text is the message libdwfl gave.
std::string_view stop_text(UnwindStop s);

// The stop a libdwfl error code (dwfl_errno()) stands for.
UnwindStop stop_from_dwfl_error(int dwfl_error);

struct UnwindResult {
  std::vector<std::uint64_t> pcs;  // leaf first; callers already at pc - 1 (as perf prints them)
  UnwindStop stop = UnwindStop::kOutermost;
  // The summary's key: "" for kOutermost and kMaxFrames, otherwise libdwfl's message (its
  // locale's wording) or stop_text(stop).
  std::string stop_reason;
};

// x86-64 DWARF register numbers 0..16 (rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8..r15, rip)
// from perf's sampled user registers (target_arch.h's x86-64 table, packed by the attr's
// sample_regs_user mask). False when the mask lacks one of them.
bool perf_regs_to_dwarf(std::uint64_t mask, std::span<const std::uint64_t> regs,
                        std::uint64_t (&dwarf)[17]);

// Unwinds the samples of one process with one libdwfl handle, reporting to libdwfl only the
// modules the stacks reach (as perf does: a short-lived process's stacks touch a few of its
// dozen libraries), and keeping them while the process's maps change compatibly. A new
// address space that maps something else where a reported module was gets a fresh handle.
class ProcessUnwinder {
 public:
  // `cached_rules`: take each step from CFI rules copied out of libdw once per pc (the same
  // results as libdwfl's own steps, several times faster); false: every step by libdwfl.
  explicit ProcessUnwinder(std::uint32_t pid, bool cached_rules = true);
  ~ProcessUnwinder();
  ProcessUnwinder(const ProcessUnwinder&) = delete;
  ProcessUnwinder& operator=(const ProcessUnwinder&) = delete;

  UnwindResult unwind(const UnwindSpace& space, std::uint32_t tid,
                      const std::uint64_t (&dwarf_regs)[17], std::span<const std::uint8_t> stack,
                      std::size_t max_frames);

 private:
  struct State;
  std::uint32_t pid_;
  bool cached_rules_;
  std::unique_ptr<State> state_;
};

}  // namespace prof::symbolizer::detail

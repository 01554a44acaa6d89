#include "unwinder.h"

#include <elfutils/libdwfl.h>

#include <cstring>

namespace prof::symbolizer::detail {
namespace {

// perf_event x86 register indices (uapi/asm/perf_regs.h).
enum PerfReg : int {
  kAx = 0, kBx = 1, kCx = 2, kDx = 3, kSi = 4, kDi = 5, kBp = 6, kSp = 7, kIp = 8,
  kR8 = 16,
};

}  // namespace

bool perf_regs_to_dwarf(std::uint64_t mask, std::span<const std::uint64_t> regs,
                        std::uint64_t (&dwarf)[17]) {
  auto get = [&](int r, std::uint64_t& out) {
    if (!(mask & (std::uint64_t{1} << r))) return false;
    auto idx = static_cast<std::size_t>(__builtin_popcountll(mask & ((std::uint64_t{1} << r) - 1)));
    if (idx >= regs.size()) return false;
    out = regs[idx];
    return true;
  };
  static constexpr int kOrder[17] = {kAx, kDx, kCx, kBx, kSi, kDi, kBp, kSp,
                                     kR8, kR8 + 1, kR8 + 2, kR8 + 3, kR8 + 4, kR8 + 5,
                                     kR8 + 6, kR8 + 7, kIp};
  for (int i = 0; i < 17; ++i)
    if (!get(kOrder[i], dwarf[i])) return false;
  return true;
}

struct ProcessUnwinder::State {
  Dwfl* dwfl = nullptr;
  bool attached = false;
  // The sample being unwound: the callbacks read these.
  std::uint32_t tid = 0;
  const std::uint64_t* regs = nullptr;
  std::span<const std::uint8_t> stack;
  std::uint64_t sp = 0;

  ~State() {
    if (dwfl) dwfl_end(dwfl);
  }

  static pid_t next_thread(Dwfl*, void* arg, void** thread_argp) {
    auto* st = static_cast<State*>(arg);
    if (*thread_argp) return 0;  // one thread per unwind: the sampled one
    *thread_argp = st;
    return static_cast<pid_t>(st->tid);
  }

  static bool get_thread(Dwfl*, pid_t tid, void* arg, void** thread_argp) {
    auto* st = static_cast<State*>(arg);
    *thread_argp = st;
    return static_cast<std::uint32_t>(tid) == st->tid;
  }

  // Only the copied stack is served: [sp, sp + dyn_size). Reads elsewhere fail, which ends the
  // unwind there (perf also reads from mapped files; CFI rarely needs it).
  static bool memory_read(Dwfl*, Dwarf_Addr addr, Dwarf_Word* result, void* arg) {
    auto* st = static_cast<State*>(arg);
    if (addr < st->sp || addr - st->sp > st->stack.size() ||
        st->stack.size() - (addr - st->sp) < sizeof(Dwarf_Word))
      return false;
    std::memcpy(result, st->stack.data() + (addr - st->sp), sizeof(Dwarf_Word));
    return true;
  }

  static bool set_initial_registers(Dwfl_Thread* thread, void* arg) {
    auto* st = static_cast<State*>(arg);
    Dwarf_Word regs[17];
    for (int i = 0; i < 17; ++i) regs[i] = st->regs[i];
    return dwfl_thread_state_registers(thread, 0, 17, regs);
  }

  static const Dwfl_Thread_Callbacks kCallbacks;
};

const Dwfl_Thread_Callbacks ProcessUnwinder::State::kCallbacks = {
    &State::next_thread, &State::get_thread, &State::memory_read,
    &State::set_initial_registers, nullptr, nullptr};

ProcessUnwinder::ProcessUnwinder(std::uint32_t pid) : pid_(pid) {}
ProcessUnwinder::~ProcessUnwinder() { delete state_; }

void ProcessUnwinder::set_modules(const std::vector<UnwindModule>& modules,
                                  std::uint64_t generation) {
  if (generation == generation_ && state_) return;
  generation_ = generation;
  delete state_;
  state_ = new State;
  static const Dwfl_Callbacks kDwflCallbacks = {
      dwfl_build_id_find_elf, dwfl_standard_find_debuginfo, dwfl_offline_section_address,
      nullptr};
  state_->dwfl = dwfl_begin(&kDwflCallbacks);
  if (!state_->dwfl) return;
  dwfl_report_begin(state_->dwfl);
  for (const auto& m : modules)
    dwfl_report_elf(state_->dwfl, m.name.c_str(), m.path.c_str(), -1, m.bias, false);
  dwfl_report_end(state_->dwfl, nullptr, nullptr);
  state_->attached = dwfl_attach_state(state_->dwfl, nullptr, static_cast<pid_t>(pid_),
                                       &State::kCallbacks, state_);
}

UnwindResult ProcessUnwinder::unwind(std::uint32_t tid, const std::uint64_t (&dwarf_regs)[17],
                                     std::span<const std::uint8_t> stack,
                                     std::size_t max_frames) {
  UnwindResult r;
  if (!state_ || !state_->attached) {
    r.pcs.push_back(dwarf_regs[16]);
    r.stop_reason = "no modules to unwind with";
    return r;
  }
  state_->tid = tid;
  state_->regs = dwarf_regs;
  state_->stack = stack;
  state_->sp = dwarf_regs[7];
  struct Walk {
    UnwindResult* r;
    std::size_t max;
  } walk{&r, max_frames};
  int rc = dwfl_getthread_frames(
      state_->dwfl, static_cast<pid_t>(tid),
      [](Dwfl_Frame* frame, void* arg) -> int {
        auto* w = static_cast<Walk*>(arg);
        Dwarf_Addr pc;
        bool activation = false;
        if (!dwfl_frame_pc(frame, &pc, &activation)) return DWARF_CB_ABORT;
        // A caller's pc is a return address; perf prints pc - 1 (unwind-libdw.c), and DWARF
        // questions belong to the call instruction anyway.
        w->r->pcs.push_back(activation || pc == 0 ? pc : pc - 1);
        return w->r->pcs.size() >= w->max ? DWARF_CB_ABORT : DWARF_CB_OK;
      },
      &walk);
  if (rc != 0 && r.pcs.size() < max_frames) {
    const char* msg = dwfl_errmsg(-1);
    r.stop_reason = msg && *msg ? msg : "unwinding stopped";
  }
  if (r.pcs.empty()) r.pcs.push_back(dwarf_regs[16]);
  return r;
}

}  // namespace prof::symbolizer::detail

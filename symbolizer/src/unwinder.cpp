#include "unwinder.h"

#include <elfutils/libdwfl.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <string>

#include "debug_cache.h"

namespace prof::symbolizer::detail {
namespace {

// perf_event x86 register indices (uapi/asm/perf_regs.h).
enum PerfReg : int {
  kAx = 0, kBx = 1, kCx = 2, kDx = 3, kSi = 4, kDi = 5, kBp = 6, kSp = 7, kIp = 8,
  kR8 = 16,
};

// libdwfl falls back to .debug_frame where .eh_frame does not unwind a frame (the outermost
// one of nearly every stack), and loading .debug_frame opens the whole debug file: with
// compressed DWARF that is an inflate of every debug section in every handle (one per
// process and worker). So debug files are served from the cache's uncompressed copy.
int find_debuginfo(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base,
                   const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                   char** debuginfo_file_name) {
  // Looked up by build-id here first: libdwfl's standard lookup keeps the Elf handle it opens
  // to check the build-id, and would read the compressed file whatever fd is returned.
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  int len = dwfl_module_build_id(mod, &bits, &vaddr);
  if (len > 1) {
    const std::string id = to_hex(bits, static_cast<std::size_t>(len));
    // The original is opened only when the cache has no copy yet.
    int fd = -1;
    Elf* elf = nullptr;
    std::string copy = uncompressed_debug_copy(id, [&]() -> Elf* {
      std::string by_id =
          "/usr/lib/debug/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug";
      fd = ::open(by_id.c_str(), O_RDONLY | O_CLOEXEC);
      elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, nullptr) : nullptr;
      return elf && elf_build_id(elf) == id ? elf : nullptr;
    });
    if (elf) elf_end(elf);
    if (fd >= 0) ::close(fd);
    int copy_fd = copy.empty() ? -1 : ::open(copy.c_str(), O_RDONLY | O_CLOEXEC);
    if (copy_fd >= 0) {
      if (char* name = ::strdup(copy.c_str())) {
        *debuginfo_file_name = name;
        return copy_fd;
      }
      ::close(copy_fd);
    }
  }
  return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                      debuglink_crc, debuginfo_file_name);
}

}  // namespace

bool perf_regs_to_dwarf(std::uint64_t mask, std::span<const std::uint64_t> regs,
                        std::uint64_t (&dwarf)[17]) {
  static constexpr int kOrder[17] = {kAx, kDx, kCx, kBx, kSi, kDi, kBp, kSp,
                                     kR8, kR8 + 1, kR8 + 2, kR8 + 3, kR8 + 4, kR8 + 5,
                                     kR8 + 6, kR8 + 7, kIp};
  // Where each DWARF register sits in the packed array depends only on the mask, which is
  // the same for every sample of an event: computed once per mask and thread.
  thread_local std::uint64_t cached_mask = 0;
  thread_local int cached_index[17];
  thread_local bool cached_ok = false;
  if (mask != cached_mask || mask == 0) {
    cached_mask = mask;
    cached_ok = true;
    for (int i = 0; i < 17; ++i) {
      const int r = kOrder[i];
      if (!(mask & (std::uint64_t{1} << r))) {
        cached_ok = false;
        break;
      }
      cached_index[i] = std::popcount(mask & ((std::uint64_t{1} << r) - 1));
    }
  }
  if (!cached_ok) return false;
  for (int i = 0; i < 17; ++i) {
    const auto idx = static_cast<std::size_t>(cached_index[i]);
    if (idx >= regs.size()) return false;
    dwarf[i] = regs[idx];
  }
  return true;
}

const UnwindSpace::Range* UnwindSpace::range_at(std::uint64_t addr) const {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), addr,
                             [](std::uint64_t a, const Range& r) { return a < r.start; });
  if (it == ranges.begin() || addr >= std::prev(it)->end) return nullptr;
  return &*std::prev(it);
}

struct ProcessUnwinder::State {
  Dwfl* dwfl = nullptr;
  bool attached = false;
  std::uint64_t generation = 0;  // of the last space unwound against
  const UnwindSpace* space = nullptr;
  struct Reported {
    std::uint64_t lo = 0, hi = 0;  // what libdwfl made of it; empty when reporting failed
    std::string path;
    std::uint64_t bias = 0;
  };
  std::vector<Reported> reported;
  std::vector<const UnwindModule*> known;  // modules of `space` known to be reported
  const UnwindSpace::Range* last_range = nullptr;  // of `space`, whose module is reported
  // The sample being unwound: the callbacks read these.
  std::uint32_t tid = 0;
  const std::uint64_t* regs = nullptr;
  std::span<const std::uint8_t> stack;
  std::uint64_t sp = 0;

  ~State() {
    if (dwfl) dwfl_end(dwfl);
  }

  // Reports the module holding `addr` (if any, and not yet reported), so that the unwinder
  // finds its CFI. libdwfl allows adding modules while it unwinds (perf does the same).
  void ensure_module(std::uint64_t addr) {
    // Most frames fall in the range asked about last.
    if (last_range && addr >= last_range->start && addr < last_range->end) return;
    const UnwindSpace::Range* range = space->range_at(addr);
    if (!range) return;
    last_range = range;
    const UnwindModule* m = &space->modules[range->module];
    // Every frame asks: remember this space's modules already known, by address.
    if (std::find(known.begin(), known.end(), m) != known.end()) return;
    known.push_back(m);
    for (const auto& r : reported)
      if (r.bias == m->bias && r.path == m->path) return;
    Reported r{0, 0, m->path, m->bias};
    dwfl_report_begin_add(dwfl);
    Dwfl_Module* mod = dwfl_report_elf(dwfl, m->name.c_str(), m->path.c_str(), -1, m->bias, false);
    dwfl_report_end(dwfl, nullptr, nullptr);
    if (mod) {
      Dwarf_Addr lo = 0, hi = 0;
      dwfl_module_info(mod, nullptr, &lo, &hi, nullptr, nullptr, nullptr, nullptr);
      r.lo = lo;
      r.hi = hi;
    }
    reported.push_back(std::move(r));
  }

  // Whether every reported module is still what `s` maps over its range (a module reported
  // for an older space may have been unmapped and replaced, e.g. by an exec).
  bool consistent_with(const UnwindSpace& s) const {
    for (const auto& r : reported) {
      if (r.lo >= r.hi) continue;
      auto it = std::upper_bound(s.ranges.begin(), s.ranges.end(), r.lo,
                                 [](std::uint64_t a, const UnwindSpace::Range& x) {
                                   return a < x.start;
                                 });
      if (it != s.ranges.begin()) --it;
      for (; it != s.ranges.end() && it->start < r.hi; ++it) {
        if (it->end <= r.lo) continue;
        const UnwindModule& m = s.modules[it->module];
        if (m.bias != r.bias || m.path != r.path) return false;
      }
    }
    return true;
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

UnwindResult ProcessUnwinder::unwind(const UnwindSpace& space, std::uint32_t tid,
                                     const std::uint64_t (&dwarf_regs)[17],
                                     std::span<const std::uint8_t> stack,
                                     std::size_t max_frames) {
  if (state_ && state_->generation != space.generation && !state_->consistent_with(space)) {
    delete state_;
    state_ = nullptr;
  }
  if (!state_) {
    static const Dwfl_Callbacks kDwflCallbacks = {dwfl_build_id_find_elf, find_debuginfo,
                                                  dwfl_offline_section_address, nullptr};
    state_ = new State;
    state_->dwfl = dwfl_begin(&kDwflCallbacks);
  }
  if (state_->space != &space || state_->generation != space.generation) {
    state_->known.clear();
    state_->last_range = nullptr;
  }
  state_->generation = space.generation;
  state_->space = &space;
  UnwindResult r;
  const std::uint64_t ip = dwarf_regs[16];
  if (state_->dwfl) state_->ensure_module(ip);
  if (state_->dwfl && !state_->attached) {
    // Attaching needs a module (libdwfl picks the architecture from it) and succeeds once.
    state_->attached = dwfl_attach_state(state_->dwfl, nullptr, static_cast<pid_t>(pid_),
                                         &State::kCallbacks, state_);
    if (!state_->attached) {
      // The sampled pc's module could not be read (e.g. a deleted file): any module of the
      // process gives libdwfl the architecture, and the unwinder can still walk frame
      // pointers through code it has no module for. libdwfl allows another attempt.
      for (const auto& range : space.ranges) state_->ensure_module(range.start);
      state_->attached = dwfl_attach_state(state_->dwfl, nullptr, static_cast<pid_t>(pid_),
                                           &State::kCallbacks, state_);
    }
    if (!state_->attached) {
      delete state_;
      state_ = nullptr;
    }
  }
  if (!state_) {
    r.pcs.push_back(ip);
    r.stop_reason = "no modules to unwind with";
    return r;
  }
  state_->tid = tid;
  state_->regs = dwarf_regs;
  state_->stack = stack;
  state_->sp = dwarf_regs[7];
  struct Walk {
    UnwindResult* r;
    State* st;
    std::size_t max;
  } walk{&r, state_, max_frames};
  int rc = dwfl_getthread_frames(
      state_->dwfl, static_cast<pid_t>(tid),
      [](Dwfl_Frame* frame, void* arg) -> int {
        auto* w = static_cast<Walk*>(arg);
        Dwarf_Addr pc;
        bool activation = false;
        // Asking for `activation` makes libdwfl unwind this frame already, with the CFI of
        // the module at pc (or pc - 1): report that module first.
        if (!dwfl_frame_pc(frame, &pc, nullptr)) return DWARF_CB_ABORT;
        w->st->ensure_module(pc);
        if (pc > 0) w->st->ensure_module(pc - 1);
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
  if (r.pcs.empty()) r.pcs.push_back(ip);
  return r;
}

}  // namespace prof::symbolizer::detail

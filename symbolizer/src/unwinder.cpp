#include "unwinder.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

#include "debug_cache.h"
#include "prof/common/unique_fd.h"
#include "target_arch.h"

namespace prof::symbolizer::detail {
namespace {

// The registers this unwinder hands to libdwfl and steps itself are x86-64's (the fast path
// follows libdwfl's x86-64 backend, frame-pointer fallback included).
constexpr const ArchInfo& kArch = kX86_64Info;
constexpr int kRegs = 17;
constexpr int kPcReg = kArch.ra_dwarf;  // rip: the return-address column and the pc
constexpr int kSpReg = kArch.sp_dwarf;
constexpr int kFpReg = kArch.fp_dwarf;
static_assert(kArch.dwarf_regs() == kRegs && kArch.pc_is_dwarf_reg);

// libdwfl exports no names for its error codes (Dwfl_Error is private to libdwflP.h and its
// numbering is not part of the ABI), so the codes of the two expected ends are found once, by
// their msgids, in libdwfl's own message table: each plain code, and each libdw, libelf and
// errno code as libdwfl wraps it (category << 16 | code). Stops are then decided by code.
struct ExpectedEndCodes {
  std::vector<int> no_dwarf, no_match;
};

const ExpectedEndCodes& expected_end_codes() {
  static const ExpectedEndCodes codes = [] {
    ExpectedEndCodes c;
    constexpr int kCategories = 16, kCodes = 256;
    for (int category = 0; category < kCategories; ++category) {
      // Code 0 of a wrapped category would read (and clear) that library's pending error.
      for (int code = 1; code < kCodes; ++code) {
        const int e = (category << 16) | code;
        const char* msg = dwfl_errmsg(e);
        if (!msg) continue;
        if (stop_text(UnwindStop::kNoDwarf) == msg) c.no_dwarf.push_back(e);
        if (stop_text(UnwindStop::kNoMatch) == msg) c.no_match.push_back(e);
      }
    }
    return c;
  }();
  return codes;
}

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
    UniqueFd fd;
    Elf* elf = nullptr;
    std::string copy = uncompressed_debug_copy(id, [&]() -> Elf* {
      std::string by_id =
          "/usr/lib/debug/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug";
      fd.reset(::open(by_id.c_str(), O_RDONLY | O_CLOEXEC));
      elf = fd ? elf_begin(fd.get(), ELF_C_READ, nullptr) : nullptr;
      return elf && elf_build_id(elf) == id ? elf : nullptr;
    });
    if (elf) elf_end(elf);
    UniqueFd copy_fd(copy.empty() ? -1 : ::open(copy.c_str(), O_RDONLY | O_CLOEXEC));
    if (copy_fd) {
      if (char* name = ::strdup(copy.c_str())) {
        *debuginfo_file_name = name;
        return copy_fd.release();  // libdwfl owns it from here
      }
    }
  }
  return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                      debuglink_crc, debuginfo_file_name);
}

}  // namespace

std::string_view stop_text(UnwindStop s) {
  switch (s) {
    case UnwindStop::kOutermost:
    case UnwindStop::kMaxFrames:
    case UnwindStop::kLibdwflError: return "";
    case UnwindStop::kNoModules: return "no modules to unwind with";
    case UnwindStop::kNoDwarf: return "No DWARF information found";
    case UnwindStop::kNoMatch: return "no matching address range";
  }
  return "";
}

UnwindStop stop_from_dwfl_error(int dwfl_error) {
  const ExpectedEndCodes& c = expected_end_codes();
  auto in = [&](const std::vector<int>& v) {
    return std::find(v.begin(), v.end(), dwfl_error) != v.end();
  };
  if (dwfl_error != 0 && in(c.no_dwarf)) return UnwindStop::kNoDwarf;
  if (dwfl_error != 0 && in(c.no_match)) return UnwindStop::kNoMatch;
  return UnwindStop::kLibdwflError;
}

bool perf_regs_to_dwarf(std::uint64_t mask, std::span<const std::uint64_t> regs,
                        std::uint64_t (&dwarf)[17]) {
  const auto& kOrder = arch_tables::kX86_64PerfIndex;
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
  std::vector<const UnwindModule*> known;          // modules of `space` known to be reported
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
      auto it = std::upper_bound(
          s.ranges.begin(), s.ranges.end(), r.lo,
          [](std::uint64_t a, const UnwindSpace::Range& x) { return a < x.start; });
      if (it != s.ranges.begin()) --it;
      for (; it != s.ranges.end() && it->start < r.hi; ++it) {
        if (it->end <= r.lo) continue;
        const UnwindModule& m = s.modules[it->module];
        if (m.bias != r.bias || m.path != r.path) return false;
      }
    }
    return true;
  }

  // ---- Unwinding steps from cached CFI rules ----------------------------------------------
  //
  // libdwfl computes every step from scratch: it finds the FDE, runs the CIE and FDE programs,
  // asks for each of the 17 registers' rule (interning expressions) and allocates the frame,
  // which is most of the time of a `--call-graph dwarf` capture. The rules at a pc never
  // change within one handle (modules are only added, and a conflicting space gets a fresh
  // handle), so they are copied out of libdw once per pc and evaluated here, following
  // libdwfl's own step (handle_cfi, expr_eval and the x86-64 frame-pointer fallback in
  // elfutils 0.188) exactly, failures included. What it does not cover (signal frames, a
  // DWARF operation not listed below, a step that libdwfl would fail with an error) sends the
  // whole sample to libdwfl, so the output is the same either way.

  enum class Eval { kOk, kFail, kSlow };  // kFail: libdwfl's step leaves the register unset
  enum How : std::uint8_t { kUndefined, kSame, kExpr, kError };
  struct Rule {
    enum Kind : std::uint8_t { kSlowStep, kCfi, kFramePointer } kind = kSlowStep;
    bool cfa_ok = false;          // dwarf_frame_cfa succeeded (its ops may still be empty)
    std::uint8_t cfa_reg = 0xff;  // the CFA is this register + cfa_off ([DW_OP_bregN]); 0xff: ops
    std::uint16_t cfa_n = 0;
    std::uint32_t cfa = 0;  // [cfa, cfa + cfa_n) in ops
    std::uint64_t cfa_off = 0;
    std::uint64_t bias = 0;  // of the CFI, for DW_OP_addr
    // The usual expressions, evaluated without the interpreter (same results): the value
    // saved at CFA + off (DW_CFA_offset), or CFA + off itself (DW_CFA_val_offset).
    enum Form : std::uint8_t { kOps, kAtCfa, kCfaPlus };
    struct Reg {
      How how = kUndefined;
      Form form = kOps;
      std::uint16_t n = 0;
      std::uint32_t first = 0;
      std::uint64_t off = 0;
    } regs[17];
  };
  struct Regs {
    std::uint64_t v[17];
    std::uint32_t set = 0;  // bit per register: known in this frame
  };
  bool fast = true;
  std::unordered_map<std::uint64_t, std::uint32_t> rule_at;  // lookup pc -> index in rules
  std::vector<Rule> rules;
  std::vector<Dwarf_Op> ops;

  bool read_word(std::uint64_t addr, std::uint64_t& out) const {
    if (addr < sp || addr - sp > stack.size() || stack.size() - (addr - sp) < sizeof out)
      return false;
    std::memcpy(&out, stack.data() + (addr - sp), sizeof out);
    return true;
  }

  static bool supported(const Dwarf_Op& op) {
    const unsigned a = op.atom;
    if ((a >= DW_OP_lit0 && a <= DW_OP_lit31) || (a >= DW_OP_reg0 && a <= DW_OP_reg31) ||
        (a >= DW_OP_breg0 && a <= DW_OP_breg31))
      return true;
    switch (a) {
      case DW_OP_addr:
      case DW_OP_const1u:
      case DW_OP_const1s:
      case DW_OP_const2u:
      case DW_OP_const2s:
      case DW_OP_const4u:
      case DW_OP_const4s:
      case DW_OP_const8u:
      case DW_OP_const8s:
      case DW_OP_constu:
      case DW_OP_consts:
      case DW_OP_regx:
      case DW_OP_bregx:
      case DW_OP_dup:
      case DW_OP_drop:
      case DW_OP_pick:
      case DW_OP_over:
      case DW_OP_swap:
      case DW_OP_rot:
      case DW_OP_deref:
      case DW_OP_deref_size:
      case DW_OP_neg:
      case DW_OP_not:
      case DW_OP_plus_uconst:
      case DW_OP_and:
      case DW_OP_minus:
      case DW_OP_mod:
      case DW_OP_mul:
      case DW_OP_or:
      case DW_OP_plus:
      case DW_OP_shl:
      case DW_OP_shr:
      case DW_OP_shra:
      case DW_OP_xor:
      case DW_OP_le:
      case DW_OP_ge:
      case DW_OP_eq:
      case DW_OP_lt:
      case DW_OP_gt:
      case DW_OP_ne:
      case DW_OP_bra:
      case DW_OP_skip:
      case DW_OP_nop:
      case DW_OP_call_frame_cfa:
      case DW_OP_stack_value: return true;
      default:  // DW_OP_abs and DW_OP_div (undefined corners in C), vendor operations
        return false;
    }
  }

  // Copies ops out of libdw; false when one is not evaluated here.
  bool keep_ops(const Dwarf_Op* src, std::size_t n, std::uint32_t& first, std::uint16_t& count) {
    if (n > 0xffff) return false;
    for (std::size_t i = 0; i < n; ++i)
      if (!supported(src[i])) return false;
    first = static_cast<std::uint32_t>(ops.size());
    count = static_cast<std::uint16_t>(n);
    ops.insert(ops.end(), src, src + n);
    return true;
  }

  Rule make_rule(Dwfl_Module* mod, std::uint64_t at) {
    Rule rule;
    Dwarf_Frame* frame = nullptr;
    Dwarf_Addr bias = 0;
    // The order libdwfl tries: .eh_frame, then .debug_frame, then frame pointers.
    if (Dwarf_CFI* eh = dwfl_module_eh_cfi(mod, &bias);
        !eh || dwarf_cfi_addrframe(eh, at - bias, &frame) != 0)
      frame = nullptr;
    if (!frame) {
      if (Dwarf_CFI* df = dwfl_module_dwarf_cfi(mod, &bias);
          !df || dwarf_cfi_addrframe(df, at - bias, &frame) != 0)
        frame = nullptr;
    }
    if (!frame) {
      rule.kind = Rule::kFramePointer;
      return rule;
    }
    rule.bias = bias;
    Dwarf_Addr start = 0, end = 0;
    bool signal = false;
    const int ra = dwarf_frame_info(frame, &start, &end, &signal);
    bool ok = ra == kPcReg && !signal;
    Dwarf_Op* cfa_ops = nullptr;
    std::size_t cfa_n = 0;
    if (ok && dwarf_frame_cfa(frame, &cfa_ops, &cfa_n) == 0) {
      rule.cfa_ok = true;
      ok = keep_ops(cfa_ops, cfa_n, rule.cfa, rule.cfa_n);
    }
    for (int regno = 0; ok && regno < 17; ++regno) {
      Dwarf_Op mem[3];
      Dwarf_Op* reg_ops = nullptr;
      std::size_t n = 0;
      Rule::Reg& r = rule.regs[regno];
      if (dwarf_frame_register(frame, regno, mem, &reg_ops, &n) != 0) r.how = kError;
      else if (n == 0) r.how = reg_ops == mem ? kUndefined : reg_ops == nullptr ? kSame : kError;
      else {
        r.how = kExpr;
        ok = keep_ops(reg_ops, n, r.first, r.n);
      }
    }
    std::free(frame);
    if (!ok) return rule;
    rule.kind = Rule::kCfi;
    if (rule.cfa_ok && rule.cfa_n == 1 && ops[rule.cfa].atom >= DW_OP_breg0 &&
        ops[rule.cfa].atom <= DW_OP_breg16) {
      rule.cfa_reg = static_cast<std::uint8_t>(ops[rule.cfa].atom - DW_OP_breg0);
      rule.cfa_off = ops[rule.cfa].number;
    }
    for (Rule::Reg& r : rule.regs) {
      if (r.how != kExpr || ops[r.first].atom != DW_OP_call_frame_cfa) continue;
      const Dwarf_Op* o = ops.data() + r.first;
      std::size_t i = 1;
      std::uint64_t off = 0;
      if (i < r.n && o[i].atom == DW_OP_plus_uconst) off = o[i++].number;
      if (i == r.n) r.form = Rule::kAtCfa;
      else if (i + 1 == r.n && o[i].atom == DW_OP_stack_value) r.form = Rule::kCfaPlus;
      else continue;
      r.off = off;
    }
    return rule;
  }

  // libdwfl's expr_eval over kept ops of `rule`; `in_cfa` while computing the CFA (where
  // DW_OP_call_frame_cfa is not allowed).
  Eval eval(const Rule& rule, bool in_cfa, const Dwarf_Op* o, std::size_t n, const Regs& r,
            std::uint64_t& out) const {
    if (n == 0) return Eval::kFail;
    constexpr std::size_t kStackMax = 0x100, kStepsMax = 0x1000;
    std::uint64_t st[kStackMax];
    std::size_t used = 0, steps = 0;
    bool is_location = false;
    const std::uint64_t bias = rule.bias;
    auto reg = [&](std::uint64_t regno, std::uint64_t& v) {
      if (regno >= 17 || !(r.set & (1u << regno))) return false;
      v = r.v[regno];
      return true;
    };
#define PUSH(x)                                \
  do {                                         \
    if (used >= kStackMax) return Eval::kFail; \
    st[used++] = (x);                          \
  } while (0)
#define POP(x)                         \
  do {                                 \
    if (used == 0) return Eval::kFail; \
    (x) = st[--used];                  \
  } while (0)
    std::uint64_t a = 0, b = 0, c = 0;
    for (const Dwarf_Op* op = o; op < o + n; ++op) {
      if (++steps > kStepsMax) return Eval::kFail;
      const unsigned atom = op->atom;
      if (atom >= DW_OP_lit0 && atom <= DW_OP_lit31) {
        PUSH(atom - DW_OP_lit0);
        continue;
      }
      if (atom >= DW_OP_reg0 && atom <= DW_OP_reg31) {
        if (!reg(atom - DW_OP_reg0, a)) return Eval::kFail;
        PUSH(a);
        continue;
      }
      if (atom >= DW_OP_breg0 && atom <= DW_OP_breg31) {
        if (!reg(atom - DW_OP_breg0, a)) return Eval::kFail;
        PUSH(a + op->number);
        continue;
      }
      switch (atom) {
        case DW_OP_addr: PUSH(op->number + bias); break;
        case DW_OP_const1u:
        case DW_OP_const1s:
        case DW_OP_const2u:
        case DW_OP_const2s:
        case DW_OP_const4u:
        case DW_OP_const4s:
        case DW_OP_const8u:
        case DW_OP_const8s:
        case DW_OP_constu:
        case DW_OP_consts: PUSH(op->number); break;
        case DW_OP_regx:
          if (!reg(op->number, a)) return Eval::kFail;
          PUSH(a);
          break;
        case DW_OP_bregx:
          if (!reg(op->number, a)) return Eval::kFail;
          PUSH(a + op->number2);
          break;
        case DW_OP_dup:
          POP(a);
          PUSH(a);
          PUSH(a);
          break;
        case DW_OP_drop: POP(a); break;
        case DW_OP_pick:
          if (used <= op->number) return Eval::kFail;
          a = st[used - 1 - op->number];
          PUSH(a);
          break;
        case DW_OP_over:
          POP(a);
          POP(b);
          PUSH(b);
          PUSH(a);
          PUSH(b);
          break;
        case DW_OP_swap:
          POP(a);
          POP(b);
          PUSH(a);
          PUSH(b);
          break;
        case DW_OP_rot:
          POP(a);
          POP(b);
          POP(c);
          PUSH(a);
          PUSH(c);
          PUSH(b);
          break;
        case DW_OP_deref:
        case DW_OP_deref_size:
          POP(a);
          if (!read_word(a, a)) return Eval::kFail;
          if (atom == DW_OP_deref_size) {
            if (op->number > 8) return Eval::kFail;
            if (op->number < 8) a &= (std::uint64_t{1} << (op->number * 8)) - 1;
          }
          PUSH(a);
          break;
        case DW_OP_neg:
          POP(a);
          PUSH(-a);
          break;
        case DW_OP_not:
          POP(a);
          PUSH(~a);
          break;
        case DW_OP_plus_uconst:
          POP(a);
          PUSH(a + op->number);
          break;
#define BINOP(name, expr) \
  case name:              \
    POP(b);               \
    POP(a);               \
    PUSH(expr);           \
    break;
          BINOP(DW_OP_and, a & b)
          BINOP(DW_OP_minus, a - b)
          BINOP(DW_OP_mul, a * b)
          BINOP(DW_OP_or, a | b)
          BINOP(DW_OP_plus, a + b)
        case DW_OP_shl:
        case DW_OP_shr:
        case DW_OP_shra:
          POP(b);
          POP(a);
          if (b >= 64) return Eval::kSlow;  // undefined in C: whatever libdwfl's build does
          PUSH(atom == DW_OP_shl   ? a << b
               : atom == DW_OP_shr ? a >> b
                                   : static_cast<std::uint64_t>(static_cast<std::int64_t>(a) >> b));
          break;
          BINOP(DW_OP_xor, a ^ b)
          BINOP(DW_OP_le, static_cast<std::int64_t>(a) <= static_cast<std::int64_t>(b))
          BINOP(DW_OP_ge, static_cast<std::int64_t>(a) >= static_cast<std::int64_t>(b))
          BINOP(DW_OP_eq, a == b)
          BINOP(DW_OP_lt, static_cast<std::int64_t>(a) < static_cast<std::int64_t>(b))
          BINOP(DW_OP_gt, static_cast<std::int64_t>(a) > static_cast<std::int64_t>(b))
          BINOP(DW_OP_ne, a != b)
#undef BINOP
        case DW_OP_mod:
          POP(b);
          POP(a);
          if (b == 0) return Eval::kFail;
          PUSH(a % b);
          break;
        case DW_OP_bra:
          POP(a);
          if (a == 0) break;
          [[fallthrough]];
        case DW_OP_skip: {
          const Dwarf_Word target = op->offset + 1 + 2 + static_cast<std::int16_t>(op->number);
          const Dwarf_Op* found = std::lower_bound(
              o, o + n, target, [](const Dwarf_Op& x, Dwarf_Word t) { return x.offset < t; });
          if (found == o + n || found->offset != target) return Eval::kFail;
          op = found - 1;
          break;
        }
        case DW_OP_nop: break;
        case DW_OP_call_frame_cfa: {
          if (in_cfa || !rule.cfa_ok) return Eval::kFail;
          std::uint64_t cfa = 0;
          Eval e = eval(rule, true, ops.data() + rule.cfa, rule.cfa_n, r, cfa);
          if (e != Eval::kOk) return e;
          PUSH(cfa);
          is_location = true;
          break;
        }
        case DW_OP_stack_value: is_location = false; break;
        default: return Eval::kSlow;
      }
    }
#undef PUSH
#undef POP
    if (used == 0) return Eval::kFail;
    out = st[used - 1];
    if (is_location && !read_word(out, out)) return Eval::kFail;
    return Eval::kOk;
  }

  // One step from `cur` to its caller, as libdwfl's __libdwfl_frame_unwind makes it. Returns
  // false when libdwfl must do the sample; otherwise `more` says whether a caller was found.
  bool step(std::uint64_t at, const Regs& cur, Regs& next, bool& more) {
    const Rule* rule = nullptr;
    Rule none;  // no module at `at` (not cached: one may be reported for a later sample)
    if (auto it = rule_at.find(at); it != rule_at.end()) {
      rule = &rules[it->second];
    } else if (Dwfl_Module* mod = dwfl_addrmodule(dwfl, at)) {
      rule_at.emplace(at, static_cast<std::uint32_t>(rules.size()));
      rules.push_back(make_rule(mod, at));
      rule = &rules.back();
    } else {
      none.kind = Rule::kFramePointer;
      rule = &none;
    }
    next.set = 0;
    if (rule->kind == Rule::kSlowStep) return false;
    if (rule->kind == Rule::kFramePointer) {
      // The x86-64 backend's frame-pointer step; where it fails libdwfl ends with an error.
      constexpr std::uint32_t kFp = 1u << kFpReg, kSp = 1u << kSpReg;
      if (!(cur.set & kFp) || cur.v[kFpReg] == 0) return false;
      const std::uint64_t fp = cur.v[kFpReg];
      const std::uint64_t old_sp = (cur.set & kSp) ? cur.v[kSpReg] : 0;
      std::uint64_t prev_fp = 0, ret = 0;
      if (!read_word(fp, prev_fp)) prev_fp = 0;
      if (!read_word(fp + 8, ret)) return false;
      if (old_sp >= fp + 16) return false;
      next.v[kFpReg] = prev_fp;
      next.v[kSpReg] = fp + 16;
      next.v[kPcReg] = ret;  // the pc, even 0
      next.set = kFp | kSp;
      more = true;
      return true;
    }
    bool undefined_ra = false;
    // The CFA, computed once for the registers saved relative to it.
    std::uint64_t cfa = 0;
    Eval cfa_state = Eval::kSlow;  // not computed yet
    auto get_cfa = [&]() {
      if (cfa_state != Eval::kSlow) return cfa_state;
      if (!rule->cfa_ok) cfa_state = Eval::kFail;
      else if (rule->cfa_reg != 0xff)
        cfa_state = (cur.set & (1u << rule->cfa_reg))
                        ? (cfa = cur.v[rule->cfa_reg] + rule->cfa_off, Eval::kOk)
                        : Eval::kFail;
      else cfa_state = eval(*rule, true, ops.data() + rule->cfa, rule->cfa_n, cur, cfa);
      return cfa_state;
    };
    for (int regno = 0; regno < 17; ++regno) {
      const Rule::Reg& rr = rule->regs[regno];
      std::uint64_t v = 0;
      switch (rr.how) {
        case kUndefined:
          if (regno == kPcReg) undefined_ra = true;
          continue;
        case kError: continue;
        case kSame:
          if (!(cur.set & (1u << regno))) continue;
          v = cur.v[regno];
          break;
        case kExpr: {
          Eval e;
          if (rr.form == Rule::kOps) {
            e = eval(*rule, false, ops.data() + rr.first, rr.n, cur, v);
          } else {
            e = get_cfa();
            if (e == Eval::kOk) {
              v = cfa + rr.off;
              if (rr.form == Rule::kAtCfa && !read_word(v, v)) e = Eval::kFail;
            }
          }
          if (e == Eval::kSlow) return false;
          if (e == Eval::kFail) continue;
          break;
        }
      }
      next.v[regno] = v;
      next.set |= 1u << regno;
    }
    more = !undefined_ra && (next.set & (1u << kPcReg)) && next.v[kPcReg] != 0;
    return true;
  }

  // The whole sample through cached rules; false when libdwfl must do it.
  bool walk_fast(const std::uint64_t* initial, std::size_t max_frames,
                 std::vector<std::uint64_t>& pcs, UnwindStop& stop) {
    Regs a, b;
    std::memcpy(a.v, initial, sizeof a.v);
    a.set = (1u << kRegs) - 1;
    Regs* cur = &a;
    Regs* next = &b;
    bool first = true;
    for (;;) {
      const std::uint64_t pc = cur->v[kPcReg];
      // The modules libdwfl's frame callback reports (unwind() below): a later sample that
      // goes to libdwfl then meets the same handle, whichever path earlier samples took.
      ensure_module(pc);
      if (pc > 0) ensure_module(pc - 1);
      pcs.push_back(first || pc == 0 ? pc : pc - 1);
      if (pcs.size() >= max_frames) {
        stop = UnwindStop::kMaxFrames;
        return true;
      }
      bool more = false;
      if (!step(first ? pc : pc - 1, *cur, *next, more)) return false;
      if (!more) {
        stop = UnwindStop::kOutermost;
        return true;
      }
      std::swap(cur, next);
      first = false;
    }
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
    static_assert(sizeof(Dwarf_Word) == sizeof(std::uint64_t));
    std::uint64_t v = 0;
    if (!static_cast<State*>(arg)->read_word(addr, v)) return false;
    *result = v;
    return true;
  }

  static bool set_initial_registers(Dwfl_Thread* thread, void* arg) {
    auto* st = static_cast<State*>(arg);
    Dwarf_Word regs[kRegs];
    for (int i = 0; i < kRegs; ++i) regs[i] = st->regs[i];
    return dwfl_thread_state_registers(thread, 0, kRegs, regs);
  }

  static const Dwfl_Thread_Callbacks kCallbacks;
};

const Dwfl_Thread_Callbacks ProcessUnwinder::State::kCallbacks = {&State::next_thread,
                                                                  &State::get_thread,
                                                                  &State::memory_read,
                                                                  &State::set_initial_registers,
                                                                  nullptr,
                                                                  nullptr};

ProcessUnwinder::ProcessUnwinder(std::uint32_t pid, bool cached_rules)
    : pid_(pid), cached_rules_(cached_rules) {}
ProcessUnwinder::~ProcessUnwinder() = default;

UnwindResult ProcessUnwinder::unwind(const UnwindSpace& space, std::uint32_t tid,
                                     const std::uint64_t (&dwarf_regs)[17],
                                     std::span<const std::uint8_t> stack, std::size_t max_frames) {
  if (state_ && state_->generation != space.generation && !state_->consistent_with(space))
    state_.reset();
  if (!state_) {
    static const Dwfl_Callbacks kDwflCallbacks = {dwfl_build_id_find_elf, find_debuginfo,
                                                  dwfl_offline_section_address, nullptr};
    state_ = std::make_unique<State>();
    state_->fast = cached_rules_;
    state_->dwfl = dwfl_begin(&kDwflCallbacks);
  }
  if (state_->space != &space || state_->generation != space.generation) {
    state_->known.clear();
    state_->last_range = nullptr;
  }
  state_->generation = space.generation;
  state_->space = &space;
  UnwindResult r;
  const std::uint64_t ip = dwarf_regs[kPcReg];
  if (state_->dwfl) state_->ensure_module(ip);
  if (state_->dwfl && !state_->attached) {
    // Attaching needs a module (libdwfl picks the architecture from it) and succeeds once.
    state_->attached = dwfl_attach_state(state_->dwfl, nullptr, static_cast<pid_t>(pid_),
                                         &State::kCallbacks, state_.get());
    if (!state_->attached) {
      // The sampled pc's module could not be read (e.g. a deleted file): any module of the
      // process gives libdwfl the architecture, and the unwinder can still walk frame
      // pointers through code it has no module for. libdwfl allows another attempt.
      for (const auto& range : space.ranges) state_->ensure_module(range.start);
      state_->attached = dwfl_attach_state(state_->dwfl, nullptr, static_cast<pid_t>(pid_),
                                           &State::kCallbacks, state_.get());
    }
    if (!state_->attached) state_.reset();
  }
  if (!state_) {
    r.pcs.push_back(ip);
    r.stop = UnwindStop::kNoModules;
    r.stop_reason = stop_text(r.stop);
    return r;
  }
  state_->tid = tid;
  state_->regs = dwarf_regs;
  state_->stack = stack;
  state_->sp = dwarf_regs[kSpReg];
  if (state_->fast) {
    if (state_->walk_fast(dwarf_regs, max_frames, r.pcs, r.stop)) return r;
    r.pcs.clear();  // libdwfl does this sample from its start
  }
  struct Walk {
    UnwindResult* r;
    State* st;
    std::size_t max;
  } walk{&r, state_.get(), max_frames};
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
    // dwfl_errno() clears the error; with none pending, dwfl_errmsg(-1) names "no error".
    const int err = dwfl_errno();
    r.stop = stop_from_dwfl_error(err);
    const char* msg = dwfl_errmsg(err == 0 ? -1 : err);
    r.stop_reason = msg && *msg ? msg : "unwinding stopped";
  } else {
    r.stop = r.pcs.size() >= max_frames ? UnwindStop::kMaxFrames : UnwindStop::kOutermost;
  }
  if (r.pcs.empty()) r.pcs.push_back(ip);
  return r;
}

}  // namespace prof::symbolizer::detail

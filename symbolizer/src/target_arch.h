// The facts about a target architecture that the symbolizer must not assume from the machine it
// runs on: where the kernel half of the address space starts, and which of perf's sampled user
// registers (PERF_SAMPLE_REGS_USER, packed by the attr's sample_regs_user mask) is which DWARF
// register of libdwfl's unwinder backend. The collector records aarch64 attrs as well as x86-64
// ones, so these are per-architecture tables chosen from the ELF e_machine, never constants.
//
// Pipeline position: prof::symbolizer (internal); used by the unwinder and kernel/user address
// classification.
//
//   const ArchInfo& a = arch_info(arch_from_elf_machine(EM_AARCH64));
//   bool kernel = a.is_kernel_address(0xffff800010000000);   // true on arm64 and x86-64
//   std::uint64_t dwarf[kMaxDwarfRegs];
//   if (perf_regs_to_dwarf(a, mask, sample.regs_user, dwarf)) { /* dwarf[a.sp_dwarf] ... */ }
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace prof::symbolizer::detail {

enum class TargetArch : std::uint8_t { kX86_64, kAarch64 };

// The most DWARF registers any table below hands to libdwfl.
inline constexpr std::size_t kMaxDwarfRegs = 32;

struct ArchInfo {
  TargetArch arch;
  std::string_view name;      // as perf's header names it (uname -m)
  std::uint16_t elf_machine;  // e_machine
  // The lowest kernel address: user addresses lie below it. A sampled user-mode address at or
  // above it is looked up in the kernel (perf's thread__find_map fallback).
  std::uint64_t kernel_start;
  // perf register index of each DWARF register libdwfl's backend takes as the initial frame
  // (its *_initreg order): element i = perf index of DWARF register i.
  std::span<const std::uint8_t> perf_index_of_dwarf;
  std::uint8_t pc_perf;   // perf index of the pc
  std::uint8_t sp_dwarf;  // DWARF number of the stack pointer
  std::uint8_t fp_dwarf;  // DWARF number of the frame pointer
  std::uint8_t ra_dwarf;  // the CIE's return-address column as the compilers emit it
  // Whether the pc is one of the DWARF registers (x86-64's rip, 16); otherwise libdwfl takes
  // it separately (dwfl_thread_state_register_pc), as on arm64.
  bool pc_is_dwarf_reg;

  constexpr std::size_t dwarf_regs() const { return perf_index_of_dwarf.size(); }
  constexpr bool is_kernel_address(std::uint64_t address) const { return address >= kernel_start; }
};

namespace arch_tables {
// x86-64: rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8..r15, rip (DWARF 0..16) from perf's
// arch/x86/include/uapi/asm/perf_regs.h (AX=0, BX=1, CX=2, DX=3, SI=4, DI=5, BP=6, SP=7, IP=8,
// R8=16..R15=23).
inline constexpr std::uint8_t kX86_64PerfIndex[17] = {0,  3,  2,  1,  4,  5,  6,  7, 16,
                                                      17, 18, 19, 20, 21, 22, 23, 8};
// arm64: x0..x30, sp (DWARF 0..31) are perf's X0..X28, X29, LR, SP (0..31); the pc is perf's 32
// (arch/arm64/include/uapi/asm/perf_regs.h).
inline constexpr std::uint8_t kAarch64PerfIndex[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                       11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                                       22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
}  // namespace arch_tables

inline constexpr ArchInfo kX86_64Info{TargetArch::kX86_64, "x86_64", 62 /* EM_X86_64 */,
                                      // The canonical upper half with 4-level paging.
                                      0xffff800000000000ull, arch_tables::kX86_64PerfIndex,
                                      /*pc_perf=*/8, /*sp_dwarf=*/7, /*fp_dwarf=*/6,
                                      /*ra_dwarf=*/16, /*pc_is_dwarf_reg=*/true};

inline constexpr ArchInfo kAarch64Info{
    TargetArch::kAarch64, "aarch64", 183 /* EM_AARCH64 */,
    // TTBR1 addresses: the kernel of a 52-bit VA configuration starts here, a 48-bit one at
    // 0xffff000000000000; user addresses end at 1 << 52 at most, so nothing user-mode is above.
    0xfff0000000000000ull, arch_tables::kAarch64PerfIndex,
    /*pc_perf=*/32, /*sp_dwarf=*/31, /*fp_dwarf=*/29, /*ra_dwarf=*/30, /*pc_is_dwarf_reg=*/false};

constexpr const ArchInfo& arch_info(TargetArch a) {
  return a == TargetArch::kAarch64 ? kAarch64Info : kX86_64Info;
}

// The architecture of an ELF object; x86-64 (what the profiler has always assumed) for any
// machine without a table.
constexpr TargetArch arch_from_elf_machine(std::uint16_t e_machine) {
  return e_machine == kAarch64Info.elf_machine ? TargetArch::kAarch64 : TargetArch::kX86_64;
}

// The architecture a perf.data header names (HEADER_ARCH, uname -m); none for one without a
// table.
constexpr std::optional<TargetArch> arch_from_name(std::string_view uname_machine) {
  if (uname_machine == kX86_64Info.name) return TargetArch::kX86_64;
  if (uname_machine == kAarch64Info.name || uname_machine == "arm64") return TargetArch::kAarch64;
  return std::nullopt;
}

// The architecture this program was built for: what live sampling records.
constexpr TargetArch host_arch() {
#if defined(__aarch64__)
  return TargetArch::kAarch64;
#else
  return TargetArch::kX86_64;
#endif
}

// Fills dwarf[0 .. a.dwarf_regs()) from perf's packed sampled registers; `pc` gets the pc. False
// when the mask lacks one of them or `regs` is shorter than the mask says.
inline bool perf_regs_to_dwarf(const ArchInfo& a, std::uint64_t mask,
                               std::span<const std::uint64_t> regs, std::span<std::uint64_t> dwarf,
                               std::uint64_t& pc) {
  if (dwarf.size() < a.dwarf_regs()) return false;
  auto packed = [&](unsigned perf_index, std::uint64_t& out) {
    const std::uint64_t bit = std::uint64_t{1} << perf_index;
    if (!(mask & bit)) return false;
    const auto i = static_cast<std::size_t>(std::popcount(mask & (bit - 1)));
    if (i >= regs.size()) return false;
    out = regs[i];
    return true;
  };
  for (std::size_t i = 0; i < a.dwarf_regs(); ++i)
    if (!packed(a.perf_index_of_dwarf[i], dwarf[i])) return false;
  return packed(a.pc_perf, pc);
}

}  // namespace prof::symbolizer::detail

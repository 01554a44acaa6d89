// Unwind stop reasons as codes: each libdwfl error code maps to the stop its message names (so
// the summary's texts and the early-stop markers are what comparing the text gave), and the
// unwinder reports the stops it decides itself. Also the per-architecture tables: x86-64's is
// the register order and kernel boundary the symbolizer always used; arm64's is perf's.
#include <elf.h>
#include <elfutils/libdwfl.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "prof/symbolizer/binary.h"
#include "target_arch.h"
#include "unwinder.h"

namespace prof::symbolizer::detail {
namespace {

TEST(UnwindStop, TextsAreTheSummaryKeys) {
  EXPECT_EQ(stop_text(UnwindStop::kOutermost), "");
  EXPECT_EQ(stop_text(UnwindStop::kMaxFrames), "");
  EXPECT_EQ(stop_text(UnwindStop::kNoModules), "no modules to unwind with");
  EXPECT_EQ(stop_text(UnwindStop::kNoDwarf), "No DWARF information found");
  EXPECT_EQ(stop_text(UnwindStop::kNoMatch), "no matching address range");
  EXPECT_EQ(stop_text(UnwindStop::kLibdwflError), "");
}

TEST(UnwindStop, ExpectedEnds) {
  EXPECT_TRUE(is_expected_end(UnwindStop::kOutermost));
  EXPECT_TRUE(is_expected_end(UnwindStop::kMaxFrames));
  EXPECT_TRUE(is_expected_end(UnwindStop::kNoDwarf));
  EXPECT_TRUE(is_expected_end(UnwindStop::kNoMatch));
  EXPECT_FALSE(is_expected_end(UnwindStop::kNoModules));
  EXPECT_FALSE(is_expected_end(UnwindStop::kLibdwflError));
}

// The code decides exactly what comparing libdwfl's message did, for every code libdwfl has a
// message for: plain ones and libdw's, libelf's and errno's as it wraps them.
TEST(UnwindStop, CodesAgreeWithLibdwflMessages) {
  std::size_t no_dwarf = 0, no_match = 0;
  for (int category = 0; category < 16; ++category) {
    for (int code = 1; code < 256; ++code) {
      const int e = (category << 16) | code;
      const char* msg = dwfl_errmsg(e);
      const std::string text = msg ? msg : "";
      const UnwindStop s = stop_from_dwfl_error(e);
      EXPECT_EQ(s == UnwindStop::kNoDwarf, text == "No DWARF information found") << e;
      EXPECT_EQ(s == UnwindStop::kNoMatch, text == "no matching address range") << e;
      if (s != UnwindStop::kNoDwarf && s != UnwindStop::kNoMatch) {
        EXPECT_EQ(s, UnwindStop::kLibdwflError) << e;
      }
      no_dwarf += s == UnwindStop::kNoDwarf;
      no_match += s == UnwindStop::kNoMatch;
    }
  }
  // libdwfl's own NO_DWARF, and NO_MATCH from both libdwfl and libdw.
  EXPECT_GE(no_dwarf, 1u);
  EXPECT_GE(no_match, 2u);
  EXPECT_EQ(stop_from_dwfl_error(0), UnwindStop::kLibdwflError);  // "no error"
  EXPECT_EQ(stop_from_dwfl_error(-1), UnwindStop::kLibdwflError);
}

constexpr std::uint64_t kNowhere = 0x7000'0000'0000;  // no module is reported there

TEST(UnwindStop, NoModules) {
  UnwindSpace space;  // nothing mapped: libdwfl cannot be attached
  std::uint64_t regs[17] = {};
  regs[16] = kNowhere;
  ProcessUnwinder u(1, true);
  UnwindResult r = u.unwind(space, 1, regs, {}, 127);
  EXPECT_EQ(r.stop, UnwindStop::kNoModules);
  EXPECT_EQ(r.stop_reason, "no modules to unwind with");
  EXPECT_EQ(r.pcs, std::vector<std::uint64_t>{kNowhere});
}

// One module (this test program, reported at bias 0) so that libdwfl attaches, and a pc that
// no module covers.
UnwindSpace self_space() {
  UnwindSpace space;
  space.generation = 1;
  space.modules.push_back({"self", "/proc/self/exe", 0});
  space.ranges.push_back({0x1000, 0x2000, 0});
  return space;
}

TEST(UnwindStop, PcOutsideEveryModuleIsNoDwarf) {
  for (bool cached : {true, false}) {
    UnwindSpace space = self_space();
    std::uint64_t regs[17] = {};
    regs[16] = kNowhere;  // rbp 0: the frame-pointer fallback has nothing either
    ProcessUnwinder u(1, cached);
    UnwindResult r = u.unwind(space, 1, regs, {}, 127);
    EXPECT_EQ(r.stop, UnwindStop::kNoDwarf) << cached;
    EXPECT_EQ(r.stop_reason, "No DWARF information found") << cached;
    EXPECT_EQ(r.pcs, std::vector<std::uint64_t>{kNowhere});
    EXPECT_TRUE(is_expected_end(r.stop));
  }
}

TEST(UnwindStop, MaxFramesIsNotAnError) {
  for (bool cached : {true, false}) {
    UnwindSpace space = self_space();
    std::uint64_t regs[17] = {};
    regs[16] = kNowhere;
    ProcessUnwinder u(1, cached);
    UnwindResult r = u.unwind(space, 1, regs, {}, 1);
    EXPECT_EQ(r.stop, UnwindStop::kMaxFrames) << cached;
    EXPECT_EQ(r.stop_reason, "");
  }
}

TEST(TargetArch, FromElfMachine) {
  EXPECT_EQ(arch_from_elf_machine(EM_X86_64), TargetArch::kX86_64);
  EXPECT_EQ(arch_from_elf_machine(EM_AARCH64), TargetArch::kAarch64);
  EXPECT_EQ(arch_from_elf_machine(EM_RISCV), TargetArch::kX86_64);  // no table: as before
  EXPECT_EQ(arch_from_name("x86_64"), TargetArch::kX86_64);
  EXPECT_EQ(arch_from_name("aarch64"), TargetArch::kAarch64);
  EXPECT_EQ(arch_from_name("arm64"), TargetArch::kAarch64);
  EXPECT_EQ(arch_from_name("riscv64"), std::nullopt);
  EXPECT_EQ(arch_info(TargetArch::kX86_64).elf_machine, EM_X86_64);
  EXPECT_EQ(arch_info(TargetArch::kAarch64).elf_machine, EM_AARCH64);
#if defined(__x86_64__)
  EXPECT_EQ(host_arch(), TargetArch::kX86_64);
#elif defined(__aarch64__)
  EXPECT_EQ(host_arch(), TargetArch::kAarch64);
#endif
}

TEST(TargetArch, BinaryKnowsItsMachine) {
  BinaryOptions options;
  options.segments_only = true;
  auto bin = Binary::open("/proc/self/exe", options);
  ASSERT_TRUE(bin) << bin.error().message;
  EXPECT_EQ(arch_from_elf_machine((*bin)->elf_machine()), host_arch());
}

TEST(TargetArch, KernelStart) {
  const ArchInfo& x86 = arch_info(TargetArch::kX86_64);
  EXPECT_EQ(x86.kernel_start, 0xffff800000000000ull);  // what the symbolizer always assumed
  EXPECT_TRUE(x86.is_kernel_address(0xffffffff81000000ull));
  EXPECT_FALSE(x86.is_kernel_address(0x00007fffffffe000ull));
  EXPECT_FALSE(x86.is_kernel_address(0xffff7fffffffffffull));
  const ArchInfo& arm = arch_info(TargetArch::kAarch64);
  EXPECT_TRUE(arm.is_kernel_address(0xffff800008000000ull));  // 48-bit VA kernel text
  EXPECT_TRUE(arm.is_kernel_address(0xffff000000001000ull));  // 48-bit VA linear map
  EXPECT_TRUE(arm.is_kernel_address(0xfff0000000000000ull));  // 52-bit VA
  EXPECT_FALSE(arm.is_kernel_address(0x0000ffffffffe000ull));
  EXPECT_FALSE(arm.is_kernel_address(0x000fffffffffe000ull));  // 52-bit VA user
}

// Packed registers for `mask`: register i holds 1000 + i.
std::vector<std::uint64_t> packed(std::uint64_t mask) {
  std::vector<std::uint64_t> regs;
  for (unsigned i = 0; i < 64; ++i)
    if (mask & (std::uint64_t{1} << i)) regs.push_back(1000 + i);
  return regs;
}

TEST(TargetArch, X86_64RegistersAsBefore) {
  const std::uint64_t mask = 0xff0fff;  // what the collector records on x86-64
  const auto regs = packed(mask);
  std::uint64_t old_way[17];
  ASSERT_TRUE(perf_regs_to_dwarf(mask, regs, old_way));
  // rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8..r15, rip
  const std::uint64_t expected[17] = {1000, 1003, 1002, 1001, 1004, 1005, 1006, 1007, 1016,
                                      1017, 1018, 1019, 1020, 1021, 1022, 1023, 1008};
  for (int i = 0; i < 17; ++i) EXPECT_EQ(old_way[i], expected[i]) << i;
  std::uint64_t table_way[kMaxDwarfRegs] = {};
  std::uint64_t pc = 0;
  ASSERT_TRUE(perf_regs_to_dwarf(arch_info(TargetArch::kX86_64), mask, regs, table_way, pc));
  for (int i = 0; i < 17; ++i) EXPECT_EQ(table_way[i], expected[i]) << i;
  EXPECT_EQ(pc, 1008u);
  const ArchInfo& a = arch_info(TargetArch::kX86_64);
  EXPECT_EQ(a.dwarf_regs(), 17u);
  EXPECT_EQ(table_way[a.sp_dwarf], 1007u);
  EXPECT_EQ(table_way[a.fp_dwarf], 1006u);
  EXPECT_EQ(table_way[a.ra_dwarf], pc);
  // A mask without r15 has no unwindable register set.
  EXPECT_FALSE(perf_regs_to_dwarf(0x7f0fff, packed(0x7f0fff), old_way));
  EXPECT_FALSE(perf_regs_to_dwarf(a, 0x7f0fff, packed(0x7f0fff), table_way, pc));
}

TEST(TargetArch, Aarch64Registers) {
  const std::uint64_t mask = (std::uint64_t{1} << 33) - 1;  // the collector's X0..X30, SP, PC
  const auto regs = packed(mask);
  const ArchInfo& a = arch_info(TargetArch::kAarch64);
  std::uint64_t dwarf[kMaxDwarfRegs] = {};
  std::uint64_t pc = 0;
  ASSERT_TRUE(perf_regs_to_dwarf(a, mask, regs, dwarf, pc));
  EXPECT_EQ(a.dwarf_regs(), 32u);
  for (unsigned i = 0; i < 32; ++i) EXPECT_EQ(dwarf[i], 1000 + i) << i;  // x0..x30, sp
  EXPECT_EQ(pc, 1032u);
  EXPECT_EQ(dwarf[a.sp_dwarf], 1031u);
  EXPECT_EQ(dwarf[a.fp_dwarf], 1029u);  // x29
  EXPECT_EQ(dwarf[a.ra_dwarf], 1030u);  // x30, the link register
  EXPECT_FALSE(a.pc_is_dwarf_reg);
  // Too few packed values for the mask.
  EXPECT_FALSE(perf_regs_to_dwarf(a, mask, std::span(regs).first(32), dwarf, pc));
}

}  // namespace
}  // namespace prof::symbolizer::detail

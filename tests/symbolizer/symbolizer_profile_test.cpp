// The Symbolizer facade's product: the typed profile, and the views over it.
#include <gtest/gtest.h>

#include "prof/symbolizer/symbolizer.h"
#include "symbolizer_parts_util.h"
#include "test_support.h"

namespace prof::symbolizer {
namespace {

using prof::test::fixture;
using test::kPartsBase;
using test::parts_addr_of;
using test::parts_mmap;
using test::parts_offline;

perf::Sample user_sample(std::uint32_t pid, std::vector<std::uint64_t> chain, std::uint64_t time,
                         std::uint64_t period = 1000) {
  perf::Sample s;
  s.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
                  PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN;
  s.pid = s.tid = pid;
  s.time = time;
  s.cpu = 2;
  s.period = period;
  s.misc = PERF_RECORD_MISC_USER;
  s.ip = chain.empty() ? 0 : chain[0];
  s.callchain = std::move(chain);
  return s;
}

TEST(SymbolizerProfile, MappingsFunctionsLocationsStacksAndSamples) {
  const std::string bin = fixture("fx_sym_nested_fp");
  const std::uint64_t l3 = parts_addr_of(bin, "level3"), l2 = parts_addr_of(bin, "level2");
  Symbolizer sym(parts_offline());
  perf::Comm c;
  c.pid = c.tid = 1;
  c.comm = "app";
  sym.add_comm(c);
  sym.add_mmap(parts_mmap(1, kPartsBase, 0x5000, 0, bin));
  for (std::uint64_t t = 1; t <= 3; ++t)
    sym.add_sample(user_sample(1, {PERF_CONTEXT_USER, kPartsBase + l3 + 2, kPartsBase + l2 + 9}, t),
                   "cycles");
  sym.add_sample(user_sample(1, {PERF_CONTEXT_USER, 0x10}, 4, 0), "cycles");
  sym.resolve();
  const Profile& p = sym.profile();
  ASSERT_EQ(p.samples().size(), 4u);
  EXPECT_EQ(p.samples()[0].stack, p.samples()[2].stack);  // interned
  EXPECT_EQ(p.stacks().size(), 2u);
  const Sample& s = p.samples()[3];
  EXPECT_EQ(p.str(s.comm), "app");
  EXPECT_EQ(p.str(s.event), "cycles");
  EXPECT_EQ(s.pid, 1);
  EXPECT_EQ(s.cpu, 2);
  EXPECT_EQ(s.time_ns, 4u);
  EXPECT_EQ(s.period, 0u);
  // One mapping per module string: the binary and "[unknown]" for the unmapped address.
  ASSERT_EQ(p.mappings().size(), 3u);  // 0 is "none"
  EXPECT_EQ(p.str(p.mappings()[1].path), bin);
  EXPECT_EQ(p.str(p.mappings()[2].path), "[unknown]");
  const auto stack = p.stack(p.samples()[0].stack);
  ASSERT_EQ(stack.size(), 2u);
  const Location& leaf = p.locations()[stack[0]];
  EXPECT_EQ(p.str(p.functions()[p.lines(leaf).back().function].name), "level3");
  EXPECT_EQ(p.lines(leaf).back().symbol_offset, 2u);
  const Location& unmapped = p.locations()[p.stack(s.stack)[0]];
  ASSERT_EQ(unmapped.line_count, 1u);
  EXPECT_EQ(p.lines(unmapped)[0].function, 0u);  // unresolved: the unknown function
  EXPECT_EQ(unmapped.address, 0x10u);
  EXPECT_EQ(sym.stored_samples(), 4u);
  EXPECT_EQ(sym.summary().unmapped_frames, 1u);
}

TEST(SymbolizerProfile, AggregateMergesInTheProfile) {
  const std::string bin = fixture("fx_sym_nested_fp");
  const std::uint64_t l3 = parts_addr_of(bin, "level3");
  Options o = parts_offline();
  o.aggregate = true;
  Symbolizer sym(o);
  sym.add_mmap(parts_mmap(1, kPartsBase, 0x5000, 0, bin));
  sym.add_sample(user_sample(1, {PERF_CONTEXT_USER, kPartsBase + l3}, 5, 0), "cpu-clock");
  sym.add_sample(user_sample(1, {PERF_CONTEXT_USER, kPartsBase + l3}, 6, 10), "cpu-clock");
  sym.add_sample(user_sample(1, {PERF_CONTEXT_USER, kPartsBase + l3}, 7, 10), "task-clock");
  sym.resolve();
  const Profile& p = sym.profile();
  ASSERT_EQ(p.samples().size(), 2u);
  EXPECT_EQ(p.samples()[0].count, 2u);
  EXPECT_EQ(p.samples()[0].period, 11u);  // a period of 0 weighs 1
  EXPECT_EQ(p.samples()[0].time_ns, 5u);  // the first one's
}

// Samples added after resolve() name locations the profile does not have yet: the views print
// them as unresolved addresses, and resolve() completes the profile.
TEST(SymbolizerProfile, SamplesAfterResolveSeeUnresolvedLocations) {
  Symbolizer sym(parts_offline());
  sym.add_sample(user_sample(1, {PERF_CONTEXT_USER, 0x10}, 1), "cpu-clock");
  sym.resolve();
  sym.add_sample(user_sample(1, {PERF_CONTEXT_USER, 0x20}, 2), "cpu-clock");
  std::vector<std::string> modules;
  sym.for_each_sample([&](const StackSampleView& v) {
    ASSERT_EQ(v.frames.size(), 1u);
    modules.emplace_back(v.frames[0].module);
  });
  EXPECT_EQ(modules, (std::vector<std::string>{"[unknown]", ""}));
  sym.resolve();
  EXPECT_EQ(sym.profile().locations().size(), 2u);
}

}  // namespace
}  // namespace prof::symbolizer

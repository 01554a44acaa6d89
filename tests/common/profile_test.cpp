#include "prof/common/profile.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace prof {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

TEST(StringTable, InternsEqualStringsOnceAndEmptyIsZero) {
  StringTable t;
  EXPECT_EQ(t.size(), 1u);  // "" is always there
  EXPECT_EQ(t.intern(""), 0u);
  const StringId a = t.intern("alpha");
  const StringId b = t.intern("beta");
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  EXPECT_EQ(t.intern(std::string("alpha")), a);  // equal content, different storage
  EXPECT_EQ(t.str(a), "alpha");
  EXPECT_EQ(t.str(b), "beta");
  EXPECT_EQ(t.str(0), "");
  EXPECT_EQ(t.size(), 3u);
}

TEST(StringTable, ViewsStayValidWhileTheTableGrowsAndMoves) {
  StringTable t;
  const StringId first = t.intern("x");  // short: lives in the string's own buffer (SSO)
  const std::string_view before = t.str(first);
  for (int i = 0; i < 10000; ++i) t.intern("s" + std::to_string(i));
  EXPECT_EQ(before.data(), t.str(first).data());
  StringTable moved(std::move(t));
  EXPECT_EQ(before.data(), moved.str(first).data());
  EXPECT_EQ(moved.intern("s9999"), moved.size() - 1);
  EXPECT_EQ(moved.intern("x"), first);  // the index moved with the strings
}

TEST(Profile, FunctionsAndMappingsAreInterned) {
  Profile p;
  ASSERT_EQ(p.functions().size(), 1u);  // 0: unknown
  ASSERT_EQ(p.mappings().size(), 1u);   // 0: none
  const FunctionId f = p.add_function("main", "a.c");
  EXPECT_NE(f, 0u);
  EXPECT_EQ(p.add_function("main", "a.c"), f);
  EXPECT_NE(p.add_function("main"), f);
  EXPECT_NE(p.add_function("main", "b.c"), f);
  EXPECT_NE(p.add_function("other", "a.c"), f);
  EXPECT_EQ(p.add_function("main"), p.add_function("main", ""));
  EXPECT_EQ(p.functions().size(), 5u);
  EXPECT_EQ(p.str(p.functions()[f].name), "main");
  EXPECT_EQ(p.str(p.functions()[f].filename), "a.c");

  const MappingId m = p.add_mapping("/usr/bin/app", "abcd");
  EXPECT_NE(m, 0u);
  EXPECT_EQ(p.add_mapping("/usr/bin/app", "abcd"), m);
  EXPECT_NE(p.add_mapping("/usr/bin/app"), m);
  EXPECT_NE(p.add_mapping("/usr/lib/libc.so.6", "abcd"), m);
  EXPECT_EQ(p.mappings().size(), 4u);
  EXPECT_EQ(p.str(p.mappings()[m].path), "/usr/bin/app");
  EXPECT_EQ(p.str(p.mappings()[m].build_id), "abcd");
}

TEST(Profile, LocationsAreNotInternedButStacksAre) {
  Profile p;
  const FunctionId f = p.add_function("f");
  const LocationId a = p.add_location(0x10, 0, {{.function = f}});
  const LocationId b = p.add_location(0x10, 0, {{.function = f}});
  EXPECT_NE(a, b);  // the producer interns locations by its own key
  EXPECT_EQ(p.locations().size(), 2u);

  const std::vector<LocationId> ab{a, b}, ba{b, a}, just_a{a};
  const StackId s_ab = p.intern_stack(ab);
  EXPECT_EQ(p.intern_stack(std::vector<LocationId>{a, b}), s_ab);
  const StackId s_ba = p.intern_stack(ba);
  const StackId s_a = p.intern_stack(just_a);
  const StackId s_empty = p.intern_stack({});
  EXPECT_NE(s_ba, s_ab);
  EXPECT_NE(s_a, s_ab);
  EXPECT_NE(s_empty, s_a);
  EXPECT_EQ(p.intern_stack({}), s_empty);
  EXPECT_EQ(p.stacks().size(), 4u);
  ASSERT_EQ(p.stack(s_ba).size(), 2u);
  EXPECT_EQ(p.stack(s_ba)[0], b);
  EXPECT_EQ(p.stack(s_ba)[1], a);
  EXPECT_TRUE(p.stack(s_empty).empty());
}

TEST(Profile, ManyStacksStayDistinct) {
  // Enough stacks that hash buckets are shared; every one must still come back as itself.
  Profile p;
  const FunctionId f = p.add_function("f");
  std::vector<LocationId> locs;
  for (int i = 0; i < 64; ++i) locs.push_back(p.add_location(i, 0, {{.function = f}}));
  std::vector<std::vector<LocationId>> stacks;
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 64; ++j) stacks.push_back({locs[i], locs[j]});
  std::vector<StackId> ids;
  for (const auto& s : stacks) ids.push_back(p.intern_stack(s));
  EXPECT_EQ(p.stacks().size(), stacks.size());
  for (std::size_t k = 0; k < stacks.size(); ++k) {
    EXPECT_EQ(p.intern_stack(stacks[k]), ids[k]);
    EXPECT_EQ(ids[k], k);
  }
}

TEST(Profile, ViewGivesFramesLeafFirstWithInlineLinesInOrder) {
  Profile p;
  const MappingId app = p.add_mapping("/usr/bin/app");
  const FunctionId inner = p.add_function("inner_inlined");
  const FunctionId outer = p.add_function("outer");
  const FunctionId main_fn = p.add_function("main");
  // Leaf location: `outer` at 0x401136 with `inner_inlined` expanded into it.
  const LocationId leaf = p.add_location(
      0x401136, app,
      {{.function = inner, .symbol_offset = 0, .srcline = p.intern("a.c:3"), .inlined = true},
       {.function = outer, .symbol_offset = 6, .srcline = p.intern("a.c:10")}});
  const LocationId caller =
      p.add_location(0x401200, app, {{.function = main_fn, .symbol_offset = 0x20}});
  const LocationId unknown = p.add_location(0xdead, 0, {{}});
  const std::vector<LocationId> locs{leaf, caller, unknown};
  const StackId st = p.intern_stack(locs);
  EXPECT_EQ(p.frame_count(st), 4u);

  Sample s;
  s.stack = st;
  s.period = 250;
  s.time_ns = 123456789;
  s.comm = p.intern("app");
  s.event = p.intern("cpu-clock");
  s.pid = 42;
  s.tid = 43;
  s.cpu = 1;
  p.add_sample(s);

  FrameView stale;
  stale.symbol = "stale";
  std::vector<FrameView> scratch{stale};  // overwritten, not appended to
  const StackSampleView v = p.view(p.samples()[0], scratch);
  EXPECT_EQ(v.comm, "app");
  EXPECT_EQ(v.event, "cpu-clock");
  EXPECT_EQ(v.pid, 42);
  EXPECT_EQ(v.tid, 43);
  EXPECT_EQ(v.cpu, 1);
  EXPECT_EQ(v.time_ns, 123456789u);
  EXPECT_EQ(v.period, 250u);
  ASSERT_EQ(v.frames.size(), 4u);
  EXPECT_EQ(v.frames.data(), scratch.data());

  EXPECT_EQ(v.frames[0].symbol, "inner_inlined");
  EXPECT_TRUE(v.frames[0].inlined);
  EXPECT_EQ(v.frames[0].address, 0x401136u);
  EXPECT_EQ(v.frames[0].module, "/usr/bin/app");
  EXPECT_EQ(v.frames[0].srcline, "a.c:3");

  EXPECT_EQ(v.frames[1].symbol, "outer");
  EXPECT_FALSE(v.frames[1].inlined);
  EXPECT_EQ(v.frames[1].address, 0x401136u);
  EXPECT_EQ(v.frames[1].symbol_offset, 6u);
  EXPECT_EQ(v.frames[1].srcline, "a.c:10");

  EXPECT_EQ(v.frames[2].symbol, "main");
  EXPECT_EQ(v.frames[2].address, 0x401200u);
  EXPECT_EQ(v.frames[2].symbol_offset, 0x20u);
  EXPECT_EQ(v.frames[2].srcline, "");

  EXPECT_EQ(v.frames[3].symbol, "");  // unresolved
  EXPECT_EQ(v.frames[3].module, "");  // unmapped
  EXPECT_EQ(v.frames[3].address, 0xdeadu);

  FrameView kept;
  kept.symbol = "kept";
  std::vector<FrameView> appended{kept};
  p.append_frames(caller, appended);
  ASSERT_EQ(appended.size(), 2u);
  EXPECT_EQ(appended[0].symbol, "kept");
  EXPECT_EQ(appended[1].symbol, "main");
}

Sample sample(StackId stack, std::uint64_t period, std::uint64_t time_ns = 0) {
  Sample s;
  s.stack = stack;
  s.period = period;
  s.time_ns = time_ns;
  s.pid = 1;
  s.tid = 1;
  return s;
}

TEST(Profile, WithoutMergingEverySampleIsKeptInOrder) {
  Profile p;
  EXPECT_EQ(p.add_sample(sample(0, 5, 10)), 0u);
  EXPECT_EQ(p.add_sample(sample(0, 5, 20)), 1u);
  EXPECT_EQ(p.add_sample(sample(0, 0, 30)), 2u);
  ASSERT_EQ(p.samples().size(), 3u);
  EXPECT_EQ(p.samples()[1].time_ns, 20u);
  EXPECT_EQ(p.samples()[2].period, 0u);  // kept as recorded; consumers weigh 0 as 1
}

TEST(Profile, MergeSamplesAddsCountsAndPeriodsAndKeepsTheFirstTime) {
  Profile p(Profile::Options{.merge_samples = true});
  const StackId a = p.intern_stack({});
  const LocationId loc = p.add_location(1, 0, {{}});
  const StackId b = p.intern_stack(std::vector<LocationId>{loc});
  EXPECT_EQ(p.add_sample(sample(a, 100, 10)), 0u);
  EXPECT_EQ(p.add_sample(sample(b, 7, 11)), 1u);
  EXPECT_EQ(p.add_sample(sample(a, 50, 12)), 0u);
  ASSERT_EQ(p.samples().size(), 2u);
  EXPECT_EQ(p.samples()[0].period, 150u);
  EXPECT_EQ(p.samples()[0].count, 2u);
  EXPECT_EQ(p.samples()[0].time_ns, 10u);
  EXPECT_EQ(p.samples()[1].period, 7u);
  EXPECT_EQ(p.samples()[1].count, 1u);
}

TEST(Profile, MergeSamplesWeighsPeriodZeroAsOne) {
  Profile p(Profile::Options{.merge_samples = true});
  p.add_sample(sample(0, 0));
  EXPECT_EQ(p.samples()[0].period, 0u);  // alone it stays as recorded
  p.add_sample(sample(0, 0));
  EXPECT_EQ(p.samples()[0].period, 2u);
  p.add_sample(sample(0, 5));
  EXPECT_EQ(p.samples()[0].period, 7u);
  EXPECT_EQ(p.samples()[0].count, 3u);

  Profile q(Profile::Options{.merge_samples = true});
  q.add_sample(sample(0, 5));
  q.add_sample(sample(0, 0));
  EXPECT_EQ(q.samples()[0].period, 6u);
}

TEST(Profile, MergeSamplesKeepsSamplesApartThatDifferInAnyKey) {
  Profile p(Profile::Options{.merge_samples = true});
  ASSERT_EQ(p.intern_stack({}), 0u);  // the base sample's stack
  const Sample base = sample(0, 1);
  std::vector<Sample> variants(8, base);
  variants[1].stack = p.intern_stack(std::vector<LocationId>{p.add_location(1, 0, {{}})});
  variants[2].comm = p.intern("other");
  variants[3].event = p.intern("cycles");
  variants[4].pid = 2;
  variants[5].tid = 2;
  variants[6].cpu = 3;
  variants[7].cgroup = 99;
  for (const Sample& s : variants) p.add_sample(s);
  EXPECT_EQ(p.samples().size(), variants.size());
  // Each one merges with its own twin only.
  for (std::size_t i = 0; i < variants.size(); ++i) EXPECT_EQ(p.add_sample(variants[i]), i);
  for (const Sample& s : p.samples()) EXPECT_EQ(s.count, 2u);
}

TEST(Profile, MergeSamplesSaturatesInsteadOfWrapping) {
  Profile p(Profile::Options{.merge_samples = true});
  Sample big = sample(0, kMax - 1);
  big.count = kMax - 1;
  p.add_sample(big);
  p.add_sample(sample(0, 5));
  EXPECT_EQ(p.samples()[0].period, kMax);
  EXPECT_EQ(p.samples()[0].count, kMax);
  p.add_sample(big);
  EXPECT_EQ(p.samples()[0].period, kMax);
  EXPECT_EQ(p.samples()[0].count, kMax);

  Profile q(Profile::Options{.merge_samples = true});
  q.add_sample(sample(0, kMax - 1));
  q.add_sample(sample(0, 1));  // exactly reaches the maximum
  EXPECT_EQ(q.samples()[0].period, kMax);
}

TEST(Profile, ClearStacksDropsSamplesAndStacksButKeepsLocations) {
  Profile p(Profile::Options{.merge_samples = true});
  const FunctionId f = p.add_function("f");
  const LocationId a = p.add_location(1, p.add_mapping("/bin/x"), {{.function = f}});
  const LocationId b = p.add_location(2, 0, {{.function = f}});
  p.intern_stack(std::vector<LocationId>{a});
  const StackId ab = p.intern_stack(std::vector<LocationId>{a, b});
  p.add_sample(sample(ab, 3, 100));
  p.clear_stacks();
  EXPECT_TRUE(p.samples().empty());
  EXPECT_TRUE(p.stacks().empty());
  EXPECT_TRUE(p.stack_locations().empty());
  EXPECT_EQ(p.locations().size(), 2u);
  // Ids start again, and no stale index entry answers for a stack that is gone.
  const StackId again = p.intern_stack(std::vector<LocationId>{b});
  EXPECT_EQ(again, 0u);
  EXPECT_EQ(p.intern_stack(std::vector<LocationId>{a, b}), 1u);
  EXPECT_EQ(p.stack(1).size(), 2u);
  EXPECT_EQ(p.add_sample(sample(again, 5, 200)), 0u);
  EXPECT_EQ(p.samples()[0].period, 5u);
}

TEST(Profile, ClearSamplesDropsSamplesAndMergeIndexButKeepsTheRest) {
  Profile p(Profile::Options{.merge_samples = true});
  const FunctionId f = p.add_function("f");
  const MappingId m = p.add_mapping("/bin/x");
  const LocationId l = p.add_location(1, m, {{.function = f}});
  const StackId st = p.intern_stack(std::vector<LocationId>{l});
  p.add_sample(sample(st, 3, 100));
  p.add_sample(sample(st, 4, 200));
  ASSERT_EQ(p.samples().size(), 1u);
  p.clear_samples();
  EXPECT_TRUE(p.samples().empty());
  EXPECT_EQ(p.functions().size(), 2u);
  EXPECT_EQ(p.mappings().size(), 2u);
  EXPECT_EQ(p.locations().size(), 1u);
  EXPECT_EQ(p.stacks().size(), 1u);
  EXPECT_EQ(p.add_function("f"), f);
  EXPECT_EQ(p.intern_stack(std::vector<LocationId>{l}), st);
  // A stale merge index would fold this into the dropped sample (or index past the end).
  EXPECT_EQ(p.add_sample(sample(st, 9, 300)), 0u);
  ASSERT_EQ(p.samples().size(), 1u);
  EXPECT_EQ(p.samples()[0].period, 9u);
  EXPECT_EQ(p.samples()[0].count, 1u);
  EXPECT_EQ(p.samples()[0].time_ns, 300u);
  EXPECT_EQ(p.add_sample(sample(st, 1, 400)), 0u);
  EXPECT_EQ(p.samples()[0].period, 10u);
}

TEST(Profile, MovedProfileKeepsItsIndexesAndStrings) {
  Profile p(Profile::Options{.merge_samples = true});
  const FunctionId f = p.add_function("moved_fn");
  const StackId st =
      p.intern_stack(std::vector<LocationId>{p.add_location(1, 0, {{.function = f}})});
  p.add_sample(sample(st, 1));
  Profile q(std::move(p));
  EXPECT_EQ(q.add_function("moved_fn"), f);
  EXPECT_EQ(q.str(q.functions()[f].name), "moved_fn");
  q.add_sample(sample(st, 1));
  ASSERT_EQ(q.samples().size(), 1u);  // merging still on: options moved too
  EXPECT_EQ(q.samples()[0].count, 2u);
}

TEST(Profile, RetainSamplesRewritesAndDropsInOrder) {
  Profile p;
  const FunctionId f = p.add_function("f");
  const StackId st =
      p.intern_stack(std::vector<LocationId>{p.add_location(1, 0, {{.function = f}})});
  for (std::uint64_t i = 1; i <= 5; ++i) p.add_sample(sample(st, i, i * 100));
  p.retain_samples([](Sample& s) {
    s.period *= 10;
    return s.time_ns != 200 && s.time_ns != 400;
  });
  ASSERT_EQ(p.samples().size(), 3u);
  EXPECT_EQ(p.samples()[0].period, 10u);
  EXPECT_EQ(p.samples()[1].period, 30u);
  EXPECT_EQ(p.samples()[2].period, 50u);
  EXPECT_EQ(p.samples()[2].time_ns, 500u);
}

TEST(Profile, LabelSetsAreInterned) {
  Profile p;
  const Label a[] = {{.key = p.intern("k"), .str = p.intern("v")}};
  const Label b[] = {{.key = p.intern("k"), .num = 3, .unit = p.intern("bytes")}};
  const LabelSetId la = p.intern_labels(a), lb = p.intern_labels(b);
  EXPECT_NE(la, 0u);
  EXPECT_NE(la, lb);
  EXPECT_EQ(p.intern_labels(a), la);
  EXPECT_EQ(p.intern_labels({}), 0u);
  ASSERT_EQ(p.labels(lb).size(), 1u);
  EXPECT_EQ(p.labels(lb)[0].num, 3);
  EXPECT_TRUE(p.labels(0).empty());
}

}  // namespace
}  // namespace prof

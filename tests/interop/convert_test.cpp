// Folded text <-> Profile, input detection, and merge: exact integer sums, and canonical output
// (byte-identical pprof for any grouping and order of the same inputs).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "prof/common/folded.h"
#include "prof/common/profile.h"
#include "prof/interop/convert.h"
#include "prof/interop/pprof.h"

namespace prof::interop {
namespace {

Profile folded(const std::string& text) {
  auto p = profile_from_folded(parse_folded(text), "test");
  EXPECT_TRUE(p) << p.error().message;
  return p ? std::move(*p) : Profile();
}

// A profile with what folded text cannot hold: addresses, mappings, labels, events, times.
Profile rich(std::uint64_t start, std::uint64_t weight) {
  Profile p;
  auto exe = p.add_mapping("/bin/app", "abcd");
  auto f = p.add_function("main"), g = p.add_function("work", "work.c");
  auto lm = p.add_location(0x10, exe, {{.function = f}});
  auto lw = p.add_location(0x20, exe, {{.function = g, .srcline = p.intern("work.c:7")}});
  const LocationId st[] = {lw, lm};
  const auto ev = p.intern("cpu-clock");
  p.info().events = {{.name = ev, .unit = p.intern("nanoseconds"), .frequency = 99}};
  p.info().start_unix_ns = start;
  p.info().duration_ns = 1000;
  const Label l[] = {{.key = p.intern("span"), .num = 5, .unit = p.intern("bytes")}};
  p.add_sample({.stack = p.intern_stack(st),
                .count = 1,
                .period = weight,
                .time_ns = start,
                .comm = p.intern("app"),
                .event = ev,
                .pid = 7,
                .tid = 7,
                .cpu = 0,
                .labels = p.intern_labels(l)});
  return p;
}

std::string pprof_bytes(const Profile& p) {
  auto b = write_pprof(p);
  EXPECT_TRUE(b);
  return b ? *b : std::string();
}

TEST(Folded, RoundTripSumsEqualStacksAndSorts) {
  Profile p = folded("b;c 2\na;b 1\nb;c 3\n# comment\nx 7\n");
  EXPECT_EQ(p.samples().size(), 4u);
  EXPECT_EQ(to_folded(p), "a;b 1\nb;c 5\nx 7\n");
  // One function and one location per frame name.
  EXPECT_EQ(p.locations().size(), 4u);
}

TEST(Folded, FractionalDifferentialAndHugeCountsAreRefused) {
  auto frac = profile_from_folded(parse_folded("a;b 1.5\n"), "f.folded");
  ASSERT_FALSE(frac);
  EXPECT_EQ(frac.error().message,
            "'f.folded': count 1.5 is fractional: a profile holds whole counts");
  auto diff = profile_from_folded(parse_folded("a;b 1 2\n"), "d.folded");
  ASSERT_FALSE(diff);
  EXPECT_NE(diff.error().message.find("two counts"), std::string::npos);
  auto huge = profile_from_folded(parse_folded("a 18446744073709551616\n"), "h");
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("over 2^64"), std::string::npos);
  // The largest whole count is exact (a double would round it).
  auto max = profile_from_folded(parse_folded("a 18446744073709551615\n"), "m");
  ASSERT_TRUE(max);
  EXPECT_EQ(max->samples()[0].count, 18446744073709551615ull);
}

TEST(Detect, PprofBytesAndFoldedTextAreTellApart) {
  auto gz = parse_profile(pprof_bytes(rich(1, 10)), "a.pb.gz", {}, nullptr);
  ASSERT_TRUE(gz.has_value()) << gz.error().message;
  EXPECT_EQ(gz->format, InputFormat::kPprof);
  auto raw = write_pprof(rich(1, 10), {.gzip = false});
  ASSERT_TRUE(raw);
  auto r = parse_profile(*raw, "a.pb", {}, nullptr);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->format, InputFormat::kPprof);
  auto text = parse_profile("main;work 3\n", "a.folded", {}, nullptr);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->format, InputFormat::kFolded);
  EXPECT_EQ(to_folded(text->profile), "main;work 3\n");
}

TEST(Merge, SumsExactlyPastDoublePrecision) {
  const Profile in[] = {folded("a;b 9007199254740993\n"), folded("a;b 1\n")};
  Profile m = merge(in);
  EXPECT_EQ(to_folded(m), "a;b 9007199254740994\n");
}

TEST(Merge, AnyGroupingAndOrderGivesTheSameBytes) {
  auto a = [] { return folded("main;work 3\nmain;idle 1\n"); };
  auto b = [] { return rich(2000, 10); };
  auto c = [] { return rich(1000, 5); };
  const Profile abc[] = {a(), b(), c()};
  const std::string flat = pprof_bytes(merge(abc));
  const Profile cba[] = {c(), b(), a()};
  EXPECT_EQ(pprof_bytes(merge(cba)), flat);
  // (a b) c and a (c b): merged results merged again.
  const Profile ab[] = {a(), b()};
  const Profile ab_c[] = {merge(ab), c()};
  EXPECT_EQ(pprof_bytes(merge(ab_c)), flat);
  const Profile cb[] = {c(), b()};
  const Profile a_cb[] = {a(), merge(cb)};
  EXPECT_EQ(pprof_bytes(merge(a_cb)), flat);
  // And the contents: equal samples of b and c became one, the folded ones stayed apart.
  Profile m = merge(abc);
  EXPECT_EQ(to_folded(m), "app;main;work 15\nmain;idle 1\nmain;work 3\n");
  EXPECT_EQ(m.info().start_unix_ns, 1000u);
  EXPECT_EQ(m.info().duration_ns, 2000u);  // 1000 .. 3000
  ASSERT_EQ(m.info().events.size(), 1u);
  EXPECT_EQ(m.str(m.info().events[0].name), "cpu-clock");
  std::size_t labelled = 0;
  for (const Sample& s : m.samples())
    if (s.labels) {
      ++labelled;
      EXPECT_EQ(s.count, 2u);
      EXPECT_EQ(s.period, 15u);
      EXPECT_EQ(m.labels(s.labels)[0].num, 5);
    }
  EXPECT_EQ(labelled, 1u);
}

TEST(Merge, OneInputIsAConverterThatKeepsTheProfile) {
  const Profile one[] = {rich(5, 42)};
  Profile m = merge(one);
  auto back = read_pprof(pprof_bytes(m), {}, "m");
  ASSERT_TRUE(back);
  EXPECT_EQ(to_folded(*back), "app;main;work 42\n");
  EXPECT_EQ(back->samples()[0].pid, 7);
  EXPECT_EQ(
      back->str(
          back->lines(back->locations()[back->stack(back->samples()[0].stack)[0]])[0].srcline),
      "work.c:7");
}

}  // namespace
}  // namespace prof::interop

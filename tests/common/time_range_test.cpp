#include "prof/common/time_range.h"

#include <gtest/gtest.h>

namespace prof {
namespace {

TEST(TimeRange, ParsesSecondsAndSaysWhatIsWrong) {
  auto r = parse_time_range("0.2,1.6");
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->start_s, 0.2);
  EXPECT_DOUBLE_EQ(r->end_s, 1.6);
  EXPECT_EQ(r->text(), "0.2,1.6");
  ASSERT_TRUE(parse_time_range("0,.5"));
  for (const char* bad : {"", "1", "1,", ",2", "2,1", "1,1", "-1,2", "1,2,3", "a,b", "1e3,2e3",
                          "nan,1", "1,inf", " 1,2"}) {
    auto e = parse_time_range(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().code, Errc::kUsage);
    EXPECT_NE(e.error().message.find("--time-range '" + std::string(bad) + "'"), std::string::npos);
    EXPECT_NE(e.error().message.find("expected A,B"), std::string::npos) << e.error().message;
  }
}

TEST(TimeRange, StartIsTheFirstSampleAndBoundsAreWholeMicroseconds) {
  const std::uint64_t t0 = 5'000'000'000;
  TimeRange r{1.0, 2.0};
  EXPECT_FALSE(in_time_range(t0 + 999'999'999, t0, r));  // 999999 us
  EXPECT_TRUE(in_time_range(t0 + 1'000'000'000, t0, r));
  EXPECT_TRUE(in_time_range(t0 + 1'999'999'999, t0, r));  // 1999999 us
  EXPECT_FALSE(in_time_range(t0 + 2'000'000'000, t0, r));

  Profile p;
  auto loc = p.add_location(0x1000, 0, {{.function = p.add_function("f")}});
  auto st = p.intern_stack(std::span(&loc, 1));
  for (std::uint64_t ms : {300, 100, 1200, 1500, 2200})  // not in time order
    p.add_sample({.stack = st, .time_ns = t0 + ms * 1'000'000});
  EXPECT_EQ(capture_start_ns(p), t0 + 100'000'000);
  ASSERT_TRUE(retain_time_range(p, {1.0, 1.45}));  // 1.1 s and 1.4 s after the first sample
  ASSERT_EQ(p.samples().size(), 2u);
  EXPECT_EQ(p.samples()[0].time_ns, t0 + 1'200'000'000);

  auto none = retain_time_range(p, {10, 11});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::kNoData);
  EXPECT_NE(none.error().message.find("spans 0-"), std::string::npos) << none.error().message;

  Profile untimed;
  untimed.add_sample({.stack = 0});
  EXPECT_FALSE(retain_time_range(untimed, {0, 1}));
}

}  // namespace
}  // namespace prof

#include "prof/collector/parse.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using prof::collector::parse_cpu_list;
using prof::collector::parse_duration;
using prof::collector::parse_pid_list;

TEST(ParseDuration, UnitsAndBareSeconds) {
  EXPECT_EQ(*parse_duration("60s"), 60s);
  EXPECT_EQ(*parse_duration("500ms"), 500ms);
  EXPECT_EQ(*parse_duration("2m"), 120s);
  EXPECT_EQ(*parse_duration("1h"), 3600s);
  EXPECT_EQ(*parse_duration("5"), 5s);
  EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(*parse_duration("0.25"), 250ms);
}

TEST(ParseDuration, RejectsGarbageWithUsageError) {
  for (const char* bad : {"", "s", "ms", "abc", "10x", "-5", "5 s", "1e999", "0", "0ms", "nan"}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d) << "'" << bad << "' was accepted";
    EXPECT_EQ(d.error().code, prof::Errc::kUsage) << bad;
  }
  EXPECT_NE(parse_duration("10x").error().message.find("10x"), std::string::npos);
}

TEST(ParseCpuList, KernelListSyntax) {
  EXPECT_EQ(*parse_cpu_list("0,2-3"), (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(*parse_cpu_list("1"), (std::vector<int>{1}));
  EXPECT_EQ(*parse_cpu_list("3,1,1-2"), (std::vector<int>{1, 2, 3}));
}

// Regression: every range used to be expanded into the list before duplicates were dropped, so
// a 1 MB argument of repeated maximal ranges asked for gigabytes. The result is bounded by the
// CPU limit however the ranges repeat.
TEST(ParseCpuList, RepeatedMaximalRangesStayBounded) {
  std::string list = "0-1048575";
  for (int i = 0; i < 63; ++i) list += ",0-1048575";
  auto c = parse_cpu_list(list);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->size(), std::size_t{1} << 20);
  EXPECT_EQ(c->front(), 0);
  EXPECT_EQ(c->back(), (1 << 20) - 1);
  EXPECT_FALSE(parse_cpu_list("0-1048576"));
}

TEST(ParseCpuList, RejectsEmptyReversedAndJunk) {
  for (const char* bad : {"", ",", "1,", "a", "3-1", "1-", "-1", "1--2", "0x1"}) {
    auto c = parse_cpu_list(bad);
    ASSERT_FALSE(c) << "'" << bad << "' was accepted";
    EXPECT_EQ(c.error().code, prof::Errc::kUsage);
  }
  EXPECT_NE(parse_cpu_list("").error().message.find("empty CPU list"), std::string::npos);
}

TEST(ParsePidList, PositiveIntegers) {
  EXPECT_EQ(*parse_pid_list("123"), (std::vector<pid_t>{123}));
  EXPECT_EQ(*parse_pid_list("9,3,9"), (std::vector<pid_t>{3, 9}));
  for (const char* bad : {"", "0", "-1", "1,,2", "x", "12a"})
    EXPECT_FALSE(parse_pid_list(bad)) << bad;
}

TEST(OnlineCpus, MatchesSysconf) {
  auto cpus = prof::collector::online_cpus();
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_EQ(static_cast<long>(cpus->size()), sysconf(_SC_NPROCESSORS_ONLN));
}

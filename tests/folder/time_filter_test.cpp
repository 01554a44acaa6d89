#include "prof/folder/time_filter.h"

#include <gtest/gtest.h>

namespace prof::folder {
namespace {

constexpr const char* kScript =
    "# a comment before the first sample\n"
    "app 10/10 [000] 100.250000: 1 cpu-clock:\n"
    "\t    1000 first+0x1 (/bin/app)\n"
    "\n"
    "my app 10/11 [001] 100.500000: 1 cpu-clock:\n"
    "\t    1001 second+0x1 (/bin/app)\n"
    "\n"
    "app 10/10 [000] 101.250000001: 1 cpu-clock:\n"
    "\t    1002 third+0x1 (/bin/app)\n"
    "\n";

TEST(TimeFilter, ReadsTheHeaderTime) {
  EXPECT_EQ(header_time_ns("app 10/10 [000] 100.250000: 1 cpu-clock:"), 100'250'000'000u);
  EXPECT_EQ(header_time_ns("a b 1.5 10/10 2.000000001: 1 cycles:"), 2'000'000'001u);
  EXPECT_FALSE(header_time_ns("\t    1000 first+0x1 (/bin/app)"));
  EXPECT_FALSE(header_time_ns("app 10/10 [000] 1 cpu-clock:"));
  EXPECT_FALSE(header_time_ns("# 1.5: comment"));
}

TEST(TimeFilter, KeepsTheSamplesInTheRangeFromTheFirstSample) {
  auto kept = filter_time_range(kScript, {0.2, 1.0});
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_EQ(*kept,
            "# a comment before the first sample\n"
            "my app 10/11 [001] 100.500000: 1 cpu-clock:\n"
            "\t    1001 second+0x1 (/bin/app)\n"
            "\n");
  auto last = filter_time_range(kScript, {1.0, 1.5});
  ASSERT_TRUE(last);
  EXPECT_NE(last->find("third"), std::string::npos);
  EXPECT_EQ(last->find("first+0x1"), std::string::npos);
}

TEST(TimeFilter, SaysWhyNothingIsLeft) {
  auto empty = filter_time_range(kScript, {5, 6});
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("no samples in it (the capture spans 0-1"),
            std::string::npos)
      << empty.error().message;
  auto untimed = filter_time_range("app 10/10 1 cpu-clock:\n\t1000 f (/bin/app)\n\n", {0, 1});
  ASSERT_FALSE(untimed);
  EXPECT_NE(untimed.error().message.find("carries a time"), std::string::npos);
}

}  // namespace
}  // namespace prof::folder

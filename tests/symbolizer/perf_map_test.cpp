#include "prof/symbolizer/perf_map.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace prof::symbolizer {
namespace {

TEST(PerfMap, ParsesJitLines) {
  auto m = PerfMap::parse(
      "7f0000001000 40 LazyCompile:~foo /app/x.js:12\n"
      "0x7f0000002000 0x10 Interpreter\r\n"
      "garbage\n"
      "7f0000003000 0 zero_sized\n");
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.skipped_lines(), 2u);
  ASSERT_NE(m.find(0x7f0000001010), nullptr);
  EXPECT_EQ(m.find(0x7f0000001010)->name, "LazyCompile:~foo /app/x.js:12");
  EXPECT_EQ(m.find(0x7f000000200f)->name, "Interpreter");
  EXPECT_EQ(m.find(0x7f0000001040), nullptr);
  EXPECT_EQ(m.find(0x7f0000000fff), nullptr);
}

TEST(PerfMap, LaterDefinitionWins) {
  auto m = PerfMap::parse("1000 100 old\n1000 100 new\n");
  ASSERT_NE(m.find(0x1010), nullptr);
  EXPECT_EQ(m.find(0x1010)->name, "new");
}

TEST(PerfMap, MissingFileIsAnError) { EXPECT_FALSE(PerfMap::load("/nonexistent/perf-1.map")); }

}  // namespace
}  // namespace prof::symbolizer

#include "prof/common/warnings.h"

#include <gtest/gtest.h>

#include <thread>

namespace prof {
namespace {

TEST(WarningSink, CountsPerKindAndKeepsFirstMessage) {
  std::vector<std::string> seen;
  WarningSink sink([&](std::string_view, std::string_view m) { seen.emplace_back(m); });
  sink.warn("weird", "line 3");
  sink.warn("other", "line 4");
  sink.warn("weird", "line 9");
  auto kinds = sink.kinds();
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(kinds[0].kind, "weird");
  EXPECT_EQ(kinds[0].first_message, "line 3");
  EXPECT_EQ(kinds[0].count, 2u);
  EXPECT_EQ(sink.count("other"), 1u);
  EXPECT_EQ(sink.count("absent"), 0u);
  EXPECT_EQ(sink.total(), 3u);
  EXPECT_EQ(seen, (std::vector<std::string>{"line 3", "line 4", "line 9"}));
}

TEST(WarningSink, ThreadSafe) {
  WarningSink sink;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) sink.warn("k", "m");
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(sink.count("k"), 4000u);
}

}  // namespace
}  // namespace prof

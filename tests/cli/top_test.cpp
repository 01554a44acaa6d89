#include "top.h"

#include <gtest/gtest.h>

#include <sstream>

namespace prof::app {
namespace {

const TopRow* find(const TopTable& t, std::string_view f) {
  for (const auto& r : t.rows)
    if (r.function == f) return &r;
  return nullptr;
}

TEST(Top, SelfAndTotalOverallAndPerCpu) {
  std::vector<FoldedStack> stacks = {
      {"cpu-1;app;main;alpha", 30}, {"cpu-1;app;main;beta", 10}, {"cpu-0;sh;main;beta", 20},
      {"cpu-0;sh;main", 5},
  };
  auto tables = compute_top(stacks, {.per_cpu = true, .limit = 0});
  ASSERT_EQ(tables.size(), 3u);
  EXPECT_EQ(tables[0].scope, "all CPUs");
  EXPECT_EQ(tables[0].weight, 65);
  EXPECT_EQ(tables[0].rows[0].function, "alpha");  // 30 self beats beta's 30 on total tie-break
  EXPECT_EQ(find(tables[0], "beta")->self, 30);
  EXPECT_EQ(find(tables[0], "main")->total, 65);
  EXPECT_EQ(find(tables[0], "main")->self, 5);
  EXPECT_EQ(find(tables[0], "app"), nullptr) << "process frames are not functions";
  EXPECT_EQ(tables[1].scope, "cpu-0");
  EXPECT_EQ(tables[1].rows[0].function, "beta");
  EXPECT_EQ(tables[2].scope, "cpu-1");
  EXPECT_EQ(tables[2].rows[0].function, "alpha");
  EXPECT_EQ(tables[2].weight, 40);
}

TEST(Top, RecursionCountsOncePerStackInTotal) {
  auto tables = compute_top({{"p;f;f;f", 7}}, {});
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(find(tables[0], "f")->total, 7);
  EXPECT_EQ(find(tables[0], "f")->self, 7);
}

TEST(Top, LimitAndCpuOrder) {
  std::vector<FoldedStack> stacks;
  for (int cpu : {10, 2, 9})
    stacks.push_back({"cpu-" + std::to_string(cpu) + ";p;x" + std::to_string(cpu), 1});
  auto tables = compute_top(stacks, {.per_cpu = true, .limit = 1});
  ASSERT_EQ(tables.size(), 4u);
  EXPECT_EQ(tables[1].scope, "cpu-2");
  EXPECT_EQ(tables[2].scope, "cpu-9");
  EXPECT_EQ(tables[3].scope, "cpu-10");
  EXPECT_EQ(tables[0].rows.size(), 1u);
}

TEST(Top, JsonEscapesNames) {
  std::ostringstream out;
  print_top_json(compute_top({{"p;a\"b\\c", 1}}, {}), "samples", out);
  EXPECT_NE(out.str().find("\"function\":\"a\\\"b\\\\c\""), std::string::npos) << out.str();
}

TEST(Top, TextHasPercentages) {
  std::ostringstream out;
  print_top_text(compute_top({{"p;a", 3}, {"p;b", 1}}, {}), "samples", out);
  EXPECT_NE(out.str().find("   75.00   75.00  a\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("# all CPUs: 4 samples"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace prof::app

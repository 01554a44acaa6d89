// split_folded_stack() is the one splitter of "a;b;c" stacks. Its two callers differ only in
// trailing empty frames: `top` keeps them (kKeep), the renderer drops them as flamegraph.pl does
// (kDrop). These cases pin what each caller did when it had its own copy.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "prof/analysis/top.h"
#include "prof/common/folded.h"

namespace prof {
namespace {

std::vector<std::string> split(std::string_view stack, TrailingEmptyFrames trailing) {
  std::vector<std::string_view> frames;
  split_folded_stack(stack, frames, trailing);
  return {frames.begin(), frames.end()};
}

using V = std::vector<std::string>;

TEST(SplitFoldedStack, KeepIsTopsRule) {
  constexpr auto kKeep = TrailingEmptyFrames::kKeep;
  EXPECT_EQ(split("a;b;c", kKeep), (V{"a", "b", "c"}));
  EXPECT_EQ(split("a;;b", kKeep), (V{"a", "", "b"}));
  EXPECT_EQ(split("a;b;", kKeep), (V{"a", "b", ""}));
  EXPECT_EQ(split("a;;", kKeep), (V{"a", "", ""}));
  EXPECT_EQ(split(";", kKeep), (V{"", ""}));
  EXPECT_EQ(split("", kKeep), (V{""}));
  EXPECT_EQ(split("solo", kKeep), (V{"solo"}));
}

TEST(SplitFoldedStack, DropIsTheRenderersRule) {
  constexpr auto kDrop = TrailingEmptyFrames::kDrop;
  EXPECT_EQ(split("a;b;c", kDrop), (V{"a", "b", "c"}));
  EXPECT_EQ(split("a;;b", kDrop), (V{"a", "", "b"}));
  EXPECT_EQ(split("a;b;", kDrop), (V{"a", "b"}));
  EXPECT_EQ(split("a;;", kDrop), (V{"a"}));
  EXPECT_EQ(split(";", kDrop), V{});
  EXPECT_EQ(split("", kDrop), V{});
  EXPECT_EQ(split(";a", kDrop), (V{"", "a"}));
}

TEST(SplitFoldedStack, OutputIsClearedFirst) {
  std::vector<std::string_view> frames = {"stale"};
  split_folded_stack("x", frames, TrailingEmptyFrames::kDrop);
  EXPECT_EQ(frames, (std::vector<std::string_view>{"x"}));
}

// `top` through its own entry point: an empty trailing frame is a leaf of its own.
TEST(SplitFoldedStack, TopCountsAnEmptyLeafAsAFunction) {
  auto tables = analysis::compute_top({{"app;main;", 4}}, {.limit = 0});
  ASSERT_EQ(tables.size(), 1u);
  ASSERT_EQ(tables[0].rows.size(), 2u);
  EXPECT_EQ(tables[0].rows[0].function, "");
  EXPECT_EQ(tables[0].rows[0].self, 4);
  EXPECT_EQ(tables[0].rows[1].function, "main");
}

}  // namespace
}  // namespace prof

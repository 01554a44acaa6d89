// Inputs at the sizes docs/RELIABILITY.md promises to handle, through the real binary: a stack
// 10,000 frames deep, a 1 MB symbol name, and 200,000 distinct stacks (bench/resource_bounds.sh
// runs the 10-million-line and 1-million-stack cases and measures time and memory). Each must
// come out whole: no frame dropped, no name cut, no line lost, and no crash from recursion.
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace {

using namespace prof::test;

std::string perf_script_sample(const std::vector<std::string>& frames_leaf_first) {
  std::string s = "app 1 [000] 1.0: 1 cpu-clock:\n";
  std::uint64_t addr = 0x1000;
  for (const auto& f : frames_leaf_first) {
    std::ostringstream line;
    line << "\t" << std::hex << addr++ << " " << f << " (/bin/app)\n";
    s += line.str();
  }
  return s + "\n";
}

std::size_t count(const std::string& s, char c) { return std::count(s.begin(), s.end(), c); }

TEST(ResourceBounds, StackTenThousandFramesDeep) {
  constexpr int kDepth = 10000;
  std::vector<std::string> frames;
  for (int i = kDepth - 1; i >= 0; --i) frames.push_back("f" + std::to_string(i));
  TempDir tmp;
  write_file(tmp.file("deep.txt"), perf_script_sample(frames));
  RunResult folded = run_profile({"fold", tmp.file("deep.txt")});
  ASSERT_EQ(folded.exit_code, 0) << folded.err;
  ASSERT_EQ(count(folded.out, '\n'), 1u);
  EXPECT_EQ(count(folded.out, ';'), static_cast<std::size_t>(kDepth)) << "app;f0;...;f9999 1";
  EXPECT_EQ(folded.out.rfind("app;f0;f1;", 0), 0u);
  EXPECT_NE(folded.out.find(";f9999 1\n"), std::string::npos);
  write_file(tmp.file("deep.folded"), folded.out);
  RunResult svg = run_profile({"render", tmp.file("deep.folded")});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  EXPECT_NE(svg.out.find("</svg>"), std::string::npos);
  // Every level is drawn: the only stack is 100% wide at every depth.
  EXPECT_NE(svg.out.find(">f9999 ("), std::string::npos);
  RunResult inverted = run_profile({"render", "--inverted", tmp.file("deep.folded")});
  ASSERT_EQ(inverted.exit_code, 0) << inverted.err;
}

TEST(ResourceBounds, SymbolNameOfOneMegabyte) {
  const std::string huge(1 << 20, 'x');
  TempDir tmp;
  write_file(tmp.file("huge.txt"), perf_script_sample({"leaf", huge + "_end", "main"}));
  RunResult folded = run_profile({"fold", tmp.file("huge.txt")});
  ASSERT_EQ(folded.exit_code, 0) << folded.err;
  EXPECT_EQ(folded.out, "app;main;" + huge + "_end;leaf 1\n") << "the name was cut or changed";
  write_file(tmp.file("huge.folded"), folded.out);
  RunResult svg = run_profile({"render", tmp.file("huge.folded")});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  // The tooltip carries the whole name; the label is truncated to the box.
  EXPECT_NE(svg.out.find(huge + "_end (1 samples"), std::string::npos);
  EXPECT_LT(svg.out.size(), 8u << 20) << "the name was repeated far more than needed";
}

TEST(ResourceBounds, TwoHundredThousandDistinctStacks) {
  constexpr int kStacks = 200000;
  std::string text;
  text.reserve(kStacks * 40);
  for (int i = 0; i < kStacks; ++i) {
    text += "main;work_" + std::to_string(i % 500) + ";leaf_" + std::to_string(i) + " " +
            std::to_string(1 + i % 3) + "\n";
  }
  TempDir tmp;
  write_file(tmp.file("many.folded"), text);
  RunResult svg = run_profile({"render", tmp.file("many.folded")});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  // Total = sum of (1 + i % 3) = 399,999 over 200,000 lines; the root says so.
  EXPECT_NE(svg.out.find("all (399,999 samples, 100%)"), std::string::npos);
  EXPECT_NE(svg.out.find("work_499"), std::string::npos);
  // Sorting and merging them through the folder keeps every one.
  std::string script;
  for (int i = 0; i < kStacks / 10; ++i)
    script += perf_script_sample({"leaf_" + std::to_string(i), "main"});
  write_file(tmp.file("many.txt"), script);
  RunResult folded = run_profile({"fold", tmp.file("many.txt")});
  ASSERT_EQ(folded.exit_code, 0) << folded.err;
  EXPECT_EQ(count(folded.out, '\n'), static_cast<std::size_t>(kStacks / 10));
}

}  // namespace

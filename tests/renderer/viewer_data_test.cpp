// What the SVG gives the viewer (issue 14 item 13): the root's "all" label and the pruned frames'
// spans that keep "Matched" exact. The browser side is tests/renderer/viewer_test.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "prof/common/folded.h"
#include "prof/renderer/renderer.h"
#include "svg_frames.h"

namespace prof::test {
namespace {

using renderer::Options;

std::string render_text(const std::string& folded, Options opt) {
  FoldedData d = parse_folded(folded);
  std::string out;
  auto r = renderer::render(d.lines, opt, out);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return out;
}

// Fails on e91aebd: the root frame was written without a label (flamegraph.pl's root label is
// empty too; the issue asks for "all").
TEST(ViewerData, RootIsLabelledAll) {
  for (std::optional<int> width : {std::optional<int>(1200), std::optional<int>()}) {
    Options opt;
    opt.width = width;
    auto frames = svg_frames(render_text("main;a 3\nmain;b 2\n", opt));
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames[0].title, "all (5 samples, 100%)");
    EXPECT_EQ(frames[0].label, "all") << (width ? "fixed" : "fluid");
  }
  // Too narrow for three characters: no label, as for any frame.
  Options narrow;
  narrow.width = 40;
  narrow.min_width = 0;
  auto frames = svg_frames(render_text("main 1\n", narrow));
  EXPECT_EQ(frames[0].label, "");
}

std::string pruned_input() {
  std::ostringstream in;
  in << "main;big;work 50000\nmain;other 48000\nmain;big;needle 200\n";
  for (int i = 0; i < 300; ++i) {
    in << "main;mid;tiny_" << i << ";needle 1\n";
    if (i % 3 == 0) in << "main;mid;tiny_" << i << ";needle;needle 2\n";
  }
  return in.str();
}

// Samples whose stack holds a frame matching `re`, from the folded text itself.
double truth(const std::string& folded, const std::regex& re) {
  double hit = 0;
  std::istringstream in(folded);
  for (std::string line; std::getline(in, line);) {
    auto sp = line.rfind(' ');
    std::string stack = line.substr(0, sp);
    std::istringstream frames(stack);
    bool m = false;
    for (std::string f; std::getline(frames, f, ';');) m = m || std::regex_search(f, re);
    if (m) hit += std::stod(line.substr(sp + 1));
  }
  return hit;
}

// The measure of the union of [start, end) spans.
double union_measure(std::vector<std::pair<double, double>> iv) {
  std::sort(iv.begin(), iv.end());
  double total = 0, cs = -1, ce = -1;
  for (auto [s, e] : iv) {
    if (s > ce) {
      total += ce - cs;
      cs = s;
      ce = e;
    } else {
      ce = std::max(ce, e);
    }
  }
  return total + (ce - cs);
}

// Fails on e91aebd (did not compile: Layout had no pruned spans; the viewer's Matched counted
// drawn frames only). Drawn frames plus the pruned spans give every name's exact coverage.
TEST(ViewerData, PrunedSpansMakeMatchedExact) {
  const std::string folded = pruned_input();
  FoldedData d = parse_folded(folded);
  Options opt;
  opt.width = 1200;
  auto layout = renderer::build_layout(d.lines, opt);
  ASSERT_TRUE(layout);
  EXPECT_GT(layout->frames_pruned, 500u);
  std::set<std::string> pruned_names;
  for (const auto& p : layout->pruned) {
    pruned_names.insert(std::string(p.name));
    for (std::size_t i = 0; i < p.spans.size(); ++i) {
      EXPECT_LT(p.spans[i].first, p.spans[i].second) << p.name;
      if (i > 0) {
        EXPECT_LT(p.spans[i - 1].second, p.spans[i].first) << p.name << ": sorted, disjoint";
      }
    }
  }
  EXPECT_TRUE(pruned_names.count("needle"));
  EXPECT_TRUE(pruned_names.count("tiny_7"));
  for (const char* term : {"needle", "tiny_", "tiny_3|needle", "^mid$", "work|tiny_12$"}) {
    std::regex re(term);
    std::vector<std::pair<double, double>> iv;
    for (const auto& f : layout->frames)
      if (f.depth > 0 && std::regex_search(std::string(f.name), re))
        iv.emplace_back(f.start, f.end);
    for (const auto& p : layout->pruned)
      if (std::regex_search(std::string(p.name), re))
        for (auto s : p.spans) iv.push_back(s);
    EXPECT_EQ(union_measure(iv), truth(folded, re)) << term;
  }
  // The spans reach the viewer script; without the script they are not written.
  std::string svg = render_text(folded, opt);
  EXPECT_NE(svg.find("var fg_pruned = ["), std::string::npos);
  opt.javascript = false;
  EXPECT_EQ(render_text(folded, opt).find("fg_pruned"), std::string::npos);
  // Nothing pruned, nothing written.
  opt.javascript = true;
  opt.min_width = 0;
  EXPECT_EQ(render_text(folded, opt).find("var fg_pruned"), std::string::npos);
}

}  // namespace
}  // namespace prof::test

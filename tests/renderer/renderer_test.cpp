// prof::renderer and the folded format: parsing rules, escaping, colours, layout quirks,
// differential colouring, the in-memory entry point and `profile diff`.
#include "prof/renderer/renderer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "prof/common/folded.h"
#include "svg_frames.h"
#include "test_support.h"

namespace prof::test {
namespace {

using renderer::Options;

std::string render_text(const std::string& folded, Options opt = {}) {
  FoldedData d = parse_folded(folded);
  std::string out;
  auto r = renderer::render(d.lines, opt, out);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return out;
}

const SvgFrame* find_frame(const std::vector<SvgFrame>& frames, const std::string& name,
                           int nth = 0) {
  for (const auto& f : frames) {
    if (f.title.rfind(name + " (", 0) == 0 && nth-- == 0) return &f;
  }
  return nullptr;
}

TEST(Folded, StackIsGreedyAndCountFollowsOneSpace) {
  auto l = parse_folded_line("a;b  5");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->stack, "a;b ");  // flamegraph.pl keeps the extra space in the leaf name
  EXPECT_EQ(l->count(), 5);
  EXPECT_FALSE(l->differential);
}

TEST(Folded, TwoColumnsAreBeforeAndAfter) {
  auto l = parse_folded_line("main;f 3 7");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->stack, "main;f");
  EXPECT_EQ(l->count1, 3);
  EXPECT_EQ(l->count2, 7);
  EXPECT_TRUE(l->differential);
}

TEST(Folded, FractionalCountsAndTheirLimits) {
  EXPECT_EQ(parse_folded_line("a 1.25")->count(), 1.25);
  EXPECT_EQ(parse_folded_line("a 12.")->count(), 12);
  EXPECT_FALSE(parse_folded_line("a .5"));
  EXPECT_FALSE(parse_folded_line("a -1"));
  EXPECT_FALSE(parse_folded_line("a 1e5"));
  EXPECT_FALSE(parse_folded_line("a"));
  EXPECT_FALSE(parse_folded_line(""));
  EXPECT_EQ(parse_folded_line("a;b 7\r")->count(), 7);  // CRLF tolerated
}

TEST(Folded, CommentsAndInvalidLinesAreCountedApart) {
  WarningSink sink;
  FoldedData d = parse_folded("# austin: 3.3\nmain;f 3\nbad line\n\nmain 1\n", &sink, "in");
  EXPECT_EQ(d.lines.size(), 2u);
  EXPECT_EQ(d.comment_lines, 1u);
  EXPECT_EQ(d.invalid_lines, 2u);
  ASSERT_EQ(sink.kinds().size(), 1u);
  EXPECT_NE(sink.kinds()[0].first_message.find("in:3"), std::string::npos);
}

TEST(Folded, HugeAndFractionalCountsAreFlagged) {
  FoldedData d = parse_folded("a 1000000000000000000000000000000\nb 2\n");
  EXPECT_EQ(d.lines.size(), 2u);
  EXPECT_FALSE(d.any_fractional);
  EXPECT_TRUE(parse_folded("a 2.5\n").any_fractional);
}

TEST(Folded, WriterUsesPerlNumberFormat) {
  std::string out;
  append_folded_line(out, "a;b", 3);
  append_folded_line(out, "c", 7.5, 0.1);
  EXPECT_EQ(out, "a;b 3\nc 7.5 0.1\n");
}

TEST(Render, HostileNamesStayText) {
  const std::string evil = "</text><script>alert(1)</script>";
  Options opt;
  opt.title = "t <b>&\"'</title>";
  opt.subtitle = "]]> <!-- x";
  opt.notes = "a -- b <c> -";
  opt.name_type = "N\"';</script>]]>\\";
  opt.count_name = "s<\"";
  opt.font_type = "F\"; } text { fill:red";
  std::string svg = render_text("main;" + evil + ";x\xff\x01y 5\nmain;ok 3\n", opt);
  EXPECT_EQ(xml_wellformed_errors(svg), "");
  EXPECT_EQ(svg.find("<script>alert"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  auto frames = svg_frames(svg);
  ASSERT_NE(find_frame(frames, evil), nullptr);  // the name survives as text
  // Invalid UTF-8 and control characters become U+FFFD.
  EXPECT_NE(find_frame(frames, "x\xEF\xBF\xBD\xEF\xBF\xBDy"), nullptr);
}

TEST(Render, RandomBytesInNamesAndOptionsGiveWellFormedXml) {
  std::mt19937 rng(7);
  auto junk = [&](std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
      char c = static_cast<char>(rng() % 256);
      if (c == '\n' || c == ';') c = '<';
      s.push_back(c);
    }
    return s;
  };
  for (int round = 0; round < 20; ++round) {
    std::string folded;
    for (int i = 0; i < 30; ++i)
      folded += "main;" + junk(1 + rng() % 40) + ";" + junk(1 + rng() % 10) + " " +
                std::to_string(1 + rng() % 100) + (rng() % 3 ? "" : " 7") + "\n";
    Options opt;
    opt.title = junk(20);
    opt.subtitle = junk(20);
    opt.notes = junk(20);
    opt.name_type = junk(10);
    opt.count_name = junk(10);
    opt.font_type = junk(10);
    opt.width = round % 2 ? std::optional<int>(1200) : std::nullopt;
    opt.name_attributes = renderer::parse_name_attributes(
        "main\tclass=" + junk(10) + "\tg_extra=" + junk(30) + "\thref=" + junk(10), nullptr);
    std::string svg = render_text(folded, opt);
    ASSERT_EQ(xml_wellformed_errors(svg), "") << "round " << round;
  }
}

TEST(Render, ScriptConfigEscapesStrings) {
  Options opt;
  opt.name_type = "a\"b</script>]]>";
  std::string svg = render_text("a 1\n", opt);
  std::size_t cfg = svg.find("var fg_config");
  ASSERT_NE(cfg, std::string::npos);
  std::string line = svg.substr(cfg, svg.find('\n', cfg) - cfg);
  EXPECT_NE(line.find("nametype: \"a\\u0022b\\u003c/script\\u003e\\u005d\\u005d\\u003e\""),
            std::string::npos)
      << line;
}

TEST(Render, DefaultColoursAreFlamegraphPlNameSeeded) {
  Options opt;
  auto frames = svg_frames(render_text("read;c 5\n", opt));
  EXPECT_EQ(find_frame(frames, "all")->rect.at("fill"), "rgb(213,39,9)");
  EXPECT_EQ(find_frame(frames, "read")->rect.at("fill"), "rgb(252,216,51)");
  opt.color_mode = renderer::ColorMode::kHash;
  frames = svg_frames(render_text("read;c 5\n", opt));
  EXPECT_EQ(find_frame(frames, "all")->rect.at("fill"), "rgb(255,230,55)");
  EXPECT_EQ(find_frame(frames, "c")->rect.at("fill"), "rgb(230,115,27)");
}

TEST(Render, FractionalCountsKeepTheirWidths) {
  Options opt;
  opt.width = 1200;
  auto frames = svg_frames(render_text("a;b 1.5\na;c 2.25\n", opt));
  const SvgFrame* b = find_frame(frames, "b");
  const SvgFrame* c = find_frame(frames, "c");
  ASSERT_TRUE(b && c);
  EXPECT_EQ(b->rect.at("fg:w"), "1.5");
  EXPECT_EQ(c->rect.at("fg:x"), "1.5");
  EXPECT_EQ(c->rect.at("fg:w"), "2.25");
  EXPECT_EQ(b->title, "b (2 samples, 53.33%)");  // %.0f of 1.5, percent from the rounded count
  EXPECT_EQ(c->title, "c (2 samples, 53.33%)");
}

TEST(Render, LabelsShortenAtTheChosenEnd) {
  Options opt;
  opt.width = 200;  // 180 px of frames: 25 characters of 7.08 px
  const std::string name = "std::vector<int>::push_back_with_a_long_tail";
  auto label = [&](const Options& o) {
    for (const auto& f : svg_frames(render_text(name + " 1\n", o)))
      if (f.title.rfind("std::", 0) == 0) return f.label;
    return std::string("<none>");
  };
  EXPECT_EQ(label(opt), "std::vector<int>::push_..");
  opt.truncate_text_left = true;
  EXPECT_EQ(label(opt), "..h_back_with_a_long_tail");
}

TEST(Render, WithoutJavascriptNoViewerCode) {
  Options opt;
  opt.javascript = false;
  std::string svg = render_text("a;b 1\n", opt);
  EXPECT_EQ(svg.find("onload="), std::string::npos);
  EXPECT_EQ(svg.find("function init"), std::string::npos);
  EXPECT_NE(render_text("a;b 1\n").find("function init"), std::string::npos);
}

TEST(Render, SameInputSameBytes) {
  const std::string in = "a;b;c 5\na;d 3\nx 1\n";
  EXPECT_EQ(render_text(in), render_text(in));
}

TEST(Render, OnlyAdjacentSortedLinesMerge) {
  // Sorted as whole lines, "a;b 1" < "a;b2 3" < "a;b;c 1": b is drawn twice (flamegraph.pl).
  Options opt;
  opt.width = 1200;
  auto frames = svg_frames(render_text("a;b;c 1\na;b2 3\na;b 1\n", opt));
  const SvgFrame* b0 = find_frame(frames, "b", 0);
  const SvgFrame* b1 = find_frame(frames, "b", 1);
  ASSERT_TRUE(b0 && b1);
  std::vector<std::string> xs{b0->rect.at("x"), b1->rect.at("x")};
  std::sort(xs.begin(), xs.end());
  EXPECT_EQ(xs, (std::vector<std::string>{"10.0", "954.0"}));
}

// Folded files concatenated: each sorted, the whole not. The sorted runs are merged instead of
// sorted again; the layout must be the one a full sort gives (a shuffled copy of the same lines
// goes through the full sort).
TEST(Render, SortedRunsMergeLikeAFullSort) {
  std::vector<std::string> runs;
  for (int r = 0; r < 5; ++r) {
    std::vector<std::string> lines;
    for (int i = 0; i < 300; ++i) {
      int k = (i * 37 + r * 11) % 97;
      lines.push_back("app" + std::to_string(r % 3) + ";main;f" + std::to_string(k % 13) +
                      (k % 3 ? ";g" + std::to_string(k % 7) : "") + (k % 5 ? ";f2" : ";f2;h") +
                      " " + std::to_string(1 + (k * 31) % 17));
    }
    std::sort(lines.begin(), lines.end());
    std::string run;
    for (const auto& l : lines) run += l + "\n";
    runs.push_back(run);
  }
  std::string concatenated;
  for (const auto& r : runs) concatenated += r;
  std::vector<std::string> all;
  for (std::size_t p = 0, nl; p < concatenated.size(); p = nl + 1) {
    nl = concatenated.find('\n', p);
    all.push_back(concatenated.substr(p, nl - p));
  }
  std::mt19937 rng(5);
  std::shuffle(all.begin(), all.end(), rng);
  std::string shuffled;
  for (const auto& l : all) shuffled += l + "\n";
  Options opt;
  opt.width = 1200;
  opt.min_width = 0;
  EXPECT_EQ(render_text(concatenated, opt), render_text(shuffled, opt));
  opt.reverse = true;
  EXPECT_EQ(render_text(concatenated, opt), render_text(shuffled, opt));
}

// The viewer's index of pruned frames (for an exact "Matched") is bounded: an input that prunes
// a hundred thousand scattered frames once wrote megabytes of spans into the SVG. Beyond the
// budget the spans are snapped to a grid, and the coverage they give a name stays close to
// the truth.
TEST(Render, PrunedIndexStaysWithinItsBudget) {
  std::string in = "main;big 2000000\n";
  for (int i = 0; i < 100000; ++i)
    in += "main;mid;p" + std::to_string(i) + ";fn" + std::to_string(i % 50) + " 1\n";
  Options opt;
  opt.width = 1200;
  std::string svg = render_text(in, opt);
  auto begin = svg.find("var fg_pruned = [");
  ASSERT_NE(begin, std::string::npos);
  auto end = svg.find("];", begin);
  EXPECT_LE(end - begin, 128u * 1024 + 32) << "pruned index of " << end - begin << " bytes";
  auto grid_at = svg.find("var fg_pruned_grid = ");
  ASSERT_NE(grid_at, std::string::npos);
  const double cell = std::stod(svg.substr(grid_at + 21));
  // fn7's truth: 2000 one-count lines out of 2,100,000.
  std::string body = svg.substr(begin + 17, end - begin - 17);
  auto at = body.find("\"fn7\"");
  ASSERT_NE(at, std::string::npos);
  double covered = 0;
  std::size_t p = at + 5;
  while (p < body.size() && body[p] == ',' && body[p + 1] != '"') {
    std::size_t q = body.find(',', p + 1);
    std::size_t r = body.find(',', q + 1);
    covered += std::stod(body.substr(q + 1, r == std::string::npos ? r : r - q - 1)) * cell;
    p = r == std::string::npos ? body.size() : r;
  }
  const double truth = 2000.0 / 2100000 * 100;
  EXPECT_NEAR(covered / 2100000 * 100, truth, 0.05) << "cell " << cell;
  // A small graph keeps exact spans.
  std::string small = "main;big 2000000\n";
  for (int i = 0; i < 100; ++i) small += "main;mid;p" + std::to_string(i) + ";fn 1\n";
  svg = render_text(small, opt);
  EXPECT_NE(svg.find("var fg_pruned = ["), std::string::npos);
  EXPECT_EQ(svg.find("var fg_pruned_grid"), std::string::npos);
}

TEST(Render, NarrowFramesArePrunedBeforeLayout) {
  Options opt;
  opt.width = 1200;
  std::string in = "main;big 100000\nmain;tiny 1\n";
  auto frames = svg_frames(render_text(in, opt));
  EXPECT_EQ(find_frame(frames, "tiny"), nullptr);  // 0.0118 px < 0.1 px
  opt.min_width = 0;
  frames = svg_frames(render_text(in, opt));
  EXPECT_NE(find_frame(frames, "tiny"), nullptr);
  FoldedData d = parse_folded(in);
  auto layout = renderer::build_layout(d.lines, Options{});
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->frames_pruned, 1u);
}

TEST(Render, DifferentialColoursAncestorsByTheirOwnDelta) {
  // a grows by 4 in total (b +4, c 0): a is red, c white, and the tooltip shows a's delta.
  std::string in = "a;b 1 5\na;c 2 2\n";
  auto frames = svg_frames(render_text(in));
  const SvgFrame* a = find_frame(frames, "a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->rect.at("fill"), "rgb(255,0,0)");
  EXPECT_EQ(find_frame(frames, "c")->rect.at("fill"), "rgb(255,255,255)");
  EXPECT_NE(a->title.find("; +57.14%"), std::string::npos) << a->title;
  // flamegraph.pl's behaviour on request: only the opened leaf carries the delta.
  Options self;
  self.diff_coloring = renderer::DiffColoring::kSelf;
  frames = svg_frames(render_text(in, self));
  EXPECT_EQ(find_frame(frames, "a")->rect.at("fill"), "rgb(255,255,255)");
  EXPECT_EQ(find_frame(frames, "b")->rect.at("fill"), "rgb(255,0,0)");
  EXPECT_EQ(find_frame(frames, "all")->rect.at("fill"), "rgb(255,255,255)");
  Options neg;
  neg.negate = true;
  frames = svg_frames(render_text(in, neg));
  EXPECT_EQ(find_frame(frames, "a")->rect.at("fill"), "rgb(0,0,255)");
}

TEST(Render, InMemoryMapMatchesText) {
  std::unordered_map<std::string, double> stacks{{"main;f;g", 5}, {"main;h", 2}, {"x", 1}};
  std::string text = "x 1\nmain;h 2\nmain;f;g 5\n";
  std::string from_map;
  ASSERT_TRUE(renderer::render(stacks, Options{}, from_map));
  EXPECT_EQ(from_map, render_text(text));
  std::unordered_map<std::string, std::uint64_t> counts{{"main;f;g", 5}, {"main;h", 2}, {"x", 1}};
  std::string from_counts;
  ASSERT_TRUE(renderer::render(counts, Options{}, from_counts));
  EXPECT_EQ(from_counts, from_map);
}

TEST(Render, InMemoryNamesAreNotReparsed) {
  // As text, "f 12 3" would read as a differential line; from the map it is a frame name.
  std::unordered_map<std::string, double> stacks{{"main;f 12", 3}};
  std::string out;
  ASSERT_TRUE(renderer::render(stacks, Options{}, out));
  EXPECT_NE(find_frame(svg_frames(out), "f 12"), nullptr);
}

TEST(Render, NoCountsIsAnError) {
  FoldedData d = parse_folded("garbage\n");
  std::string out;
  auto r = renderer::render(d.lines, Options{}, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kNoData);
}

TEST(Render, NameAttributesAreEscapedAttributes) {
  WarningSink sink;
  Options opt;
  opt.name_attributes = renderer::parse_name_attributes(
      "main\tclass=c\"x\ttitle=T<\thref=http://e/?a=1&b=2\tg_extra=onclick=\"x\" "
      "bad<name=\"1\"\ta_extra=rel=\"ext\"\n"
      "nottab\n",
      &sink);
  EXPECT_EQ(sink.count("nameattr-invalid-line"), 1u);
  std::string svg = render_text("main;f 3\n", opt);
  EXPECT_EQ(xml_wellformed_errors(svg), "");
  auto frames = svg_frames(svg);
  const SvgFrame* m = nullptr;
  for (const auto& f : frames)
    if (f.title == "T<") m = &f;
  ASSERT_NE(m, nullptr);
  EXPECT_NE(m->group_open.find("xlink:href=\"http://e/?a=1&amp;b=2\""), std::string::npos);
  EXPECT_NE(m->group_open.find("rel=\"ext\""), std::string::npos);
  EXPECT_EQ(m->group_open.find("bad<name"), std::string::npos);
}

TEST(Render, PaletteMapKeepsAndAddsColours) {
  std::map<std::string, std::string> map{{"main", "rgb(1,2,3)"}};
  Options opt;
  opt.palette_map = &map;
  auto frames = svg_frames(render_text("main;f 3\n", opt));
  EXPECT_EQ(find_frame(frames, "main")->rect.at("fill"), "rgb(1,2,3)");
  EXPECT_EQ(map.at("f"), find_frame(frames, "f")->rect.at("fill"));
  EXPECT_EQ(map.count(""), 1u);  // the root, as flamegraph.pl stores it
  WarningSink sink;
  auto parsed =
      renderer::parse_palette_map(renderer::format_palette_map(map) + "junk\nx->rgb(1,2)\n", &sink);
  EXPECT_EQ(parsed, map);
  EXPECT_EQ(sink.count("palette-invalid-line"), 1u);
}

TEST(Render, InvalidPaletteMapLinesAreCounted) {
  PROF_REQUIRE_PEERS(peers);
  WarningSink sink;
  auto map = renderer::parse_palette_map(
      read_file(peers + "/inferno-tests/flamegraph/palette-map/palette_invalid.map"), &sink);
  EXPECT_EQ(map.size(), 4u);
  ASSERT_EQ(sink.kinds().size(), 1u);
  EXPECT_EQ(sink.kinds()[0].first_message, "palette map: ignored 5 lines with invalid format");
}

std::vector<std::string> sorted_lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  std::sort(v.begin(), v.end());
  return v;
}

FoldedData load(const std::string& path) { return parse_folded(read_file(path)); }

TEST(Diff, MatchesDifffoldedResults) {
  PROF_REQUIRE_PEERS(peers);
  std::string d = peers + "/inferno-tests/diff-folded/";
  FoldedData before = load(d + "before.txt"), after = load(d + "after.txt");
  renderer::DiffOptions o;
  EXPECT_EQ(sorted_lines(renderer::diff_folded(before, after, o)),
            sorted_lines(read_file(d + "results/default.txt")));
  o.normalize = true;
  EXPECT_EQ(sorted_lines(renderer::diff_folded(before, after, o)),
            sorted_lines(read_file(d + "results/normalize.txt")));
  o = {};
  o.strip_hex = true;
  EXPECT_EQ(sorted_lines(renderer::diff_folded(before, after, o)),
            sorted_lines(read_file(d + "results/strip_hex.txt")));
}

TEST(Diff, OutputIsSortedByStack) {
  FoldedData a = parse_folded("z 1\na;b 2\n"), b = parse_folded("m 3\na;b 1\n");
  EXPECT_EQ(renderer::diff_folded(a, b, {}), "a;b 2 1\nm 0 3\nz 1 0\n");
}

TEST(Diff, FractionalCountsAreKept) {
  // inferno truncates fractional counts (results/fractionals.txt); we keep them exactly and
  // otherwise agree with it.
  PROF_REQUIRE_PEERS(peers);
  std::string d = peers + "/inferno-tests/diff-folded/";
  std::string ours =
      renderer::diff_folded(load(d + "before_fractionals.txt"), load(d + "after.txt"), {});
  EXPECT_NE(ours.find("dd;[unknown];read 14.2343983248723 "), std::string::npos);
  std::string truncated;
  for (const FoldedLine& l : parse_folded(ours).lines)
    append_folded_line(truncated, l.stack, static_cast<double>(static_cast<long long>(l.count1)),
                       l.count2);
  EXPECT_EQ(sorted_lines(truncated), sorted_lines(read_file(d + "results/fractionals.txt")));
}

}  // namespace
}  // namespace prof::test

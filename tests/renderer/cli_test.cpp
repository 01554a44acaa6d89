// `profile render` and `profile diff` end to end: golden files, errors, compressed input, --cp.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "golden.h"
#include "svg_frames.h"
#include "test_support.h"

namespace prof::test {
namespace {

// tests/golden/renderer/CASE.{in,args,expected}, one argument a line (titles hold spaces).
TEST(RenderCli, GoldenFiles) {
  auto well_formed = [](const RunResult& r) { EXPECT_EQ(xml_wellformed_errors(r.out), ""); };
  int cases = run_golden_cases({"renderer", {"render"}, GoldenArgs::kLines, well_formed});
  EXPECT_GE(cases, 4);
}

TEST(RenderCli, MissingFileIsOneLineError) {
  RunResult r = run_profile({"render", "/nonexistent/x.folded"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "profile: error: '/nonexistent/x.folded': No such file or directory\n");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST(RenderCli, EmptyInputGivesErrorSvgAndExit1) {
  RunResult r = run_profile({"render"}, "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(xml_wellformed_errors(r.out), "");
  EXPECT_NE(r.out.find("ERROR: No valid input"), std::string::npos);
  EXPECT_NE(r.err.find("no stack counts found"), std::string::npos);
}

TEST(RenderCli, BadOptionsAreUsageErrors) {
  for (auto args : std::vector<std::vector<std::string>>{{"render", "--colors", "nope"},
                                                         {"render", "--minwidth", "x%"},
                                                         {"render", "--bgcolors", "#12345"},
                                                         {"render", "--search-color", "red\"/>"},
                                                         {"render", "--bogus"},
                                                         {"diff", "only-one"}}) {
    RunResult r = run_profile(args, "a 1\n");
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("profile: error: ", 0), 0u) << r.err;
  }
}

TEST(RenderCli, InvalidLinesWarnOnceAndRenderTheRest) {
  PROF_REQUIRE_PEERS(peers);
  RunResult r =
      run_profile({"render", peers + "/inferno-tests/flamegraph/bad-lines/bad-lines.txt"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("profile: warning: "), std::string::npos);
  EXPECT_NE(r.out.find("noploop"), std::string::npos);
}

// A plain file is parsed where it lies (mapped, not copied): the same SVG as from stdin, and a
// bad line is still named by file and line.
TEST(RenderCli, MappedFileRendersAsStdin) {
  TempDir t;
  std::string in;
  for (int i = 0; i < 2000; ++i)
    in += "main;f" + std::to_string(i % 17) + ";g" + std::to_string(i % 5) + " " +
          std::to_string(i % 9 + 1) + "\n";
  in += "not a folded line\nmain;last 4";  // no final newline
  write_file(t.file("in.folded"), in);
  RunResult file = run_profile({"render", t.file("in.folded")});
  RunResult piped = run_profile({"render", "-"}, in);
  EXPECT_EQ(file.exit_code, 0) << file.err;
  EXPECT_EQ(file.out, piped.out);
  EXPECT_NE(file.out.find("last (4 samples"), std::string::npos);
  EXPECT_NE(file.err.find(t.file("in.folded") + ":2001: not a folded line"), std::string::npos)
      << file.err;
}

TEST(RenderCli, CompressedInput) {
  TempDir t;
  write_file(t.file("in.folded"), "main;f 3\nmain;g 4\n");
  ASSERT_EQ(run({"gzip", "-k", t.file("in.folded")}).exit_code, 0);
  RunResult plain = run_profile({"render", t.file("in.folded")});
  RunResult gz = run_profile({"render", t.file("in.folded.gz")});
  EXPECT_EQ(gz.exit_code, 0) << gz.err;
  EXPECT_EQ(plain.out, gz.out);
}

TEST(RenderCli, ConsistentPaletteFileIsReadAndRewrittenSorted) {
  TempDir t;
  write_file(t.file("palette.map"), "main->rgb(1,2,3)\n");
  write_file(t.file("in.folded"), "main;zeta 3\nmain;alpha 4\n");
  RunResult r = run(
      {"sh", "-c", "cd '" + t.path() + "' && '" + profile_binary() + "' render --cp in.folded"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("fill=\"rgb(1,2,3)\""), std::string::npos);
  std::string map = read_file(t.file("palette.map"));
  EXPECT_EQ(map.rfind("->rgb(213,39,9)\nalpha->", 0), 0u) << map;
  EXPECT_NE(map.find("\nmain->rgb(1,2,3)\nzeta->"), std::string::npos) << map;
}

TEST(DiffCli, WritesSortedTwoColumnFolded) {
  TempDir t;
  write_file(t.file("a"), "m;f 0x1f 2\nm;g 1\n");
  write_file(t.file("b"), "m;f 0xab 3\nm;h 5\n");
  RunResult r = run_profile({"diff", "-s", t.file("a"), t.file("b")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "m;f 0x... 2 3\nm;g 1 0\nm;h 0 5\n");
  RunResult svg = run_profile({"render", "-"}, r.out);
  EXPECT_EQ(svg.exit_code, 0);
  EXPECT_NE(svg.out.find("m;f") == std::string::npos ? svg.out.find("0x...") : 0,
            std::string::npos);
}

TEST(DiffCli, UnparsableLineWarnsOnce) {
  PROF_REQUIRE_PEERS(peers);
  std::string d = peers + "/inferno-tests/diff-folded/";
  RunResult r = run_profile({"diff", d + "bad_before.txt", d + "after.txt"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err.rfind("profile: warning: " + d + "bad_before.txt:3: not a folded line", 0), 0u)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST(RenderCli, HugeCountsDoNotOverflow) {
  // inferno's regression input: counts near 2^58.
  RunResult r =
      run_profile({"render", "--width", "1200"}, "a 240000000000000000\nb 130000000000000000\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("<title>a (240,000,000,000,000,000 samples, 64.86%)</title>"),
            std::string::npos);
}

}  // namespace
}  // namespace prof::test

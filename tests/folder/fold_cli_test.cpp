// `profile fold` end to end: inputs (file, stdin, compressed by the real tools), options,
// messages and exit codes, and the golden cases in tests/golden/folder/.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "golden.h"
#include "test_support.h"

namespace prof {
namespace {

namespace fs = std::filesystem;
using test::run_profile;
using test::TempDir;

const char* const kSample =
    "app 1 [000] 1.0: 2 cpu-clock:\n\t1 leaf (m)\n\t2 main (m)\n\n"
    "app 1 [000] 1.0: 3 cpu-clock:\n\t1 other (m)\n\t2 main (m)\n\n";
const char* const kFolded = "app;main;leaf 2\napp;main;other 3\n";

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

TEST(FoldCli, FileAndStdin) {
  TempDir dir;
  test::write_file(dir.file("in.txt"), kSample);
  auto r = run_profile({"fold", dir.file("in.txt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kFolded);
  EXPECT_EQ(r.err, "");
  auto s = run_profile({"fold", "-"}, kSample);
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.out, kFolded);
  auto t = run_profile({"fold", "-j", "3", "-o", dir.file("out.txt")}, kSample);
  EXPECT_EQ(t.exit_code, 0) << t.err;
  EXPECT_EQ(test::read_file(dir.file("out.txt")), kFolded);
}

class FoldCompressed : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(FoldCompressed, DetectsByMagicAndRejectsCorruptData) {
  auto [tool, ext] = GetParam();
  TempDir dir;
  std::string big;
  while (big.size() < (300u << 10)) big += kSample;
  test::write_file(dir.file("in.txt"), big);
  ASSERT_EQ(test::run({tool, "-k", "-f", dir.file("in.txt")}).exit_code, 0);
  // A misleading name: detection must use the bytes.
  fs::rename(dir.file("in.txt") + ext, dir.file("capture.data"));
  auto r = run_profile({"fold", "-j", "2", dir.file("capture.data")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto plain = run_profile({"fold", dir.file("in.txt")});
  EXPECT_EQ(r.out, plain.out);
  EXPECT_EQ(plain.out, "app;main;leaf " + std::to_string(2 * (big.size() / strlen(kSample))) +
                           "\napp;main;other " +
                           std::to_string(3 * (big.size() / strlen(kSample))) + "\n");
  std::string data = test::read_file(dir.file("capture.data"));
  test::write_file(dir.file("cut.data"), data.substr(0, data.size() / 2));
  auto c = run_profile({"fold", dir.file("cut.data")});
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_EQ(c.err.rfind("profile: error: ", 0), 0u) << c.err;
  EXPECT_EQ(lines(c.err), 1) << c.err;
  EXPECT_EQ(c.out, "");
}

INSTANTIATE_TEST_SUITE_P(Tools, FoldCompressed,
                         ::testing::Values(std::make_pair("gzip", ".gz"),
                                           std::make_pair("bzip2", ".bz2"),
                                           std::make_pair("xz", ".xz"),
                                           std::make_pair("zstd", ".zst")));

TEST(FoldCli, EmptyInputIsAnErrorNotAnEmptySuccess) {
  for (const char* input : {"", "# only a comment\n", "garbage line\n"}) {
    auto r = run_profile({"fold", "-q"}, input);
    EXPECT_EQ(r.exit_code, 1) << input;
    EXPECT_NE(r.err.find("no stacks found"), std::string::npos) << r.err;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(FoldCli, UnreadableFileIsOneLineError) {
  auto r = run_profile({"fold", "/nonexistent/perf.txt"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("profile: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/perf.txt"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
}

TEST(FoldCli, UsageErrorsExitTwo) {
  for (std::vector<std::string> args : {std::vector<std::string>{"fold", "a", "b"},
                                        {"fold", "-q", "-v"},
                                        {"fold", "--threads", "x"},
                                        {"fold", "--event-filter="}}) {
    auto r = run_profile(args, kSample);
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1) << r.err;
  }
}

TEST(FoldCli, WarningsOnePerKindQuietAndVerbose) {
  std::string input = std::string(kSample) + "junk 1\n\tbad\n\tbad\n\n" + kSample;
  auto r = run_profile({"fold", "-"}, input);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "app;main;leaf 4\napp;main;other 6\n");
  EXPECT_EQ(lines(r.err), 2) << r.err;
  EXPECT_NE(r.err.find("'<stdin>': line 9: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(and 1 more like it; -v lists all)"), std::string::npos) << r.err;
  auto q = run_profile({"fold", "-q"}, input);
  EXPECT_EQ(q.err, "");
  EXPECT_EQ(q.out, r.out);
  auto v = run_profile({"fold", "-v"}, input);
  EXPECT_EQ(lines(v.err), 3) << v.err;
  EXPECT_NE(v.err.find("line 10: "), std::string::npos) << v.err;
}

TEST(FoldCli, StrictNamesFileAndLine) {
  TempDir dir;
  test::write_file(dir.file("in.txt"), std::string(kSample) + "\tbad\n");
  for (const char* threads : {"1", "2"}) {
    auto r = run_profile({"fold", "--strict", "-j", threads, dir.file("in.txt")});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("'" + dir.file("in.txt") + "': line 9: "), std::string::npos) << r.err;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(FoldCli, EventFilterNoteWhenDefaulted) {
  std::string input =
      "app 1 [000] 1.0: 1 instructions:\n\t1 f (m)\n\napp 1 [000] 1.0: 1 cycles:\n\t1 g (m)\n\n";
  auto r = run_profile({"fold"}, input);
  EXPECT_EQ(r.out, "app;f 1\n");
  EXPECT_NE(
      r.err.find("filtering for events of type 'instructions' (the first event seen); samples of "
                 "'cycles'"),
      std::string::npos)
      << r.err;
  auto e = run_profile({"fold", "--event-filter", "cycles"}, input);
  EXPECT_EQ(e.out, "app;g 1\n");
  EXPECT_EQ(e.err, "");
}

// tests/golden/folder/CASE.in folded with the options in CASE.args must give CASE.expected.
TEST(FoldCli, GoldenCases) {
  EXPECT_GE(test::run_golden_cases({"folder", {"fold", "-q"}, test::GoldenArgs::kWords, {}}), 8);
}

}  // namespace
}  // namespace prof

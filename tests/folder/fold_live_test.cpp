// Real `perf record` + `perf script` output folds without a single unrecognised line, and a
// perf.data file given by mistake gets a message that says what to do.
#include <gtest/gtest.h>

#include <sstream>

#include "folder_test_util.h"
#include "test_support.h"

namespace prof::folder {
namespace {

using ::prof::test::run;
using ::prof::test::TempDir;

std::string record_and_script(const TempDir& dir, bool call_graph) {
  // -N: other perf runs on the machine share ~/.debug, and perf record can crash while
  // updating that build-id cache concurrently (seen here: "assertion failed at
  // util/build-id.c"). The fixture is read by path, so the cache is not needed.
  std::vector<std::string> rec = {"perf", "record", "-N", "-e", "cpu-clock", "-F", "999"};
  if (call_graph) rec.push_back("-g");
  rec.insert(rec.end(),
             {"-o", dir.file("perf.data"), "--", ::prof::test::fixture("fx_spin"), "300"});
  auto r = run(rec);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto s = run({"perf", "script", "-i", dir.file("perf.data")});
  EXPECT_EQ(s.exit_code, 0) << s.err;
  return s.out;
}

// Folds real perf script text, expecting every line to fit a rule.
std::string fold_without_warnings(const std::string& text) {
  WarningSink sink;
  std::string out = test::fold_text(text, {}, std::string_view::npos, &sink);
  EXPECT_EQ(sink.total(), 0u) << (sink.kinds().empty() ? "" : sink.kinds()[0].first_message);
  return out;
}

TEST(FoldLive, PerfScriptWithCallGraphs) {
  PROF_REQUIRE_LIVE();
  TempDir dir;
  std::string out = fold_without_warnings(record_and_script(dir, true));
  EXPECT_NE(out.find("fx_spin;"), std::string::npos) << out;
  EXPECT_NE(out.find(";main;middle;spin_here"), std::string::npos) << out;
  // Weights are perf's periods (cpu-clock: nanoseconds), summing to roughly the run time.
  std::istringstream in(out);
  std::uint64_t total = 0;
  for (std::string l; std::getline(in, l);) total += std::stoull(l.substr(l.rfind(' ') + 1));
  EXPECT_GT(total, 100'000'000u);  // > 0.1 s of the 0.3 s spin
}

TEST(FoldLive, PerfScriptWithoutCallGraphs) {
  PROF_REQUIRE_LIVE();
  TempDir dir;
  std::string out = fold_without_warnings(record_and_script(dir, false));
  EXPECT_NE(out.find("fx_spin;spin_here "), std::string::npos) << out;
}

TEST(FoldLive, PerfDataIsNotPerfScriptText) {
  PROF_REQUIRE_LIVE();
  TempDir dir;
  record_and_script(dir, true);
  auto r = ::prof::test::run_profile({"fold", dir.file("perf.data")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a perf.data file"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace prof::folder

// Live conformance with perf: captures recorded here with the real `perf record`, printed by
// `perf script` and by `profile symbolize`, compared frame by frame (function and module).
#include <gtest/gtest.h>

#include <sstream>

#include "test_support.h"

namespace prof::symbolizer {
namespace {

using prof::test::fixture;
using prof::test::run;
using prof::test::run_profile;

struct ParsedSample {
  std::string header;
  std::vector<std::string> frames;  // "symbol (module)", offsets and addresses dropped
};

// Parses perf-script text: header lines start in column 0, frames with a tab.
std::vector<ParsedSample> parse_script(const std::string& text) {
  std::vector<ParsedSample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] != '\t') {
      out.push_back({line, {}});
      continue;
    }
    if (out.empty()) continue;
    std::istringstream ls(line);
    std::string addr;
    ls >> addr;
    std::string rest;
    std::getline(ls, rest);
    rest.erase(0, rest.find_first_not_of(' '));
    // "sym+0xoff (module)" -> "sym (module)"; symbols may contain spaces, modules may too.
    auto mod = rest.rfind(" (");
    std::string sym = rest.substr(0, mod), module = mod == std::string::npos ? "" : rest.substr(mod);
    if (auto plus = sym.rfind("+0x"); plus != std::string::npos) sym.resize(plus);
    out.back().frames.push_back(sym + module);
  }
  return out;
}

struct Agreement {
  std::size_t frames = 0, same = 0, samples = 0, same_samples = 0;
  std::string diffs;
};

Agreement compare(const std::string& ours_text, const std::string& perf_text) {
  auto ours = parse_script(ours_text), theirs = parse_script(perf_text);
  Agreement a;
  EXPECT_EQ(ours.size(), theirs.size());
  for (std::size_t i = 0; i < std::min(ours.size(), theirs.size()); ++i) {
    const auto& o = ours[i].frames;
    const auto& t = theirs[i].frames;
    ++a.samples;
    if (o == t) ++a.same_samples;
    std::size_t n = std::max(o.size(), t.size());
    a.frames += n;
    for (std::size_t f = 0; f < n; ++f) {
      if (f < o.size() && f < t.size() && o[f] == t[f]) {
        ++a.same;
      } else if (a.diffs.size() < 3000) {
        a.diffs += "sample " + std::to_string(i) + " frame " + std::to_string(f) + ": ours '" +
                   (f < o.size() ? o[f] : "-") + "' perf '" + (f < t.size() ? t[f] : "-") + "'\n";
      }
    }
  }
  return a;
}

class PerfAgreement : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run({"perf", "--version"}).exit_code != 0) GTEST_SKIP() << "perf not installed";
  }

  // Records `cmd` with perf record -g into dir/perf.data; returns the path.
  std::string record(const std::vector<std::string>& perf_args) {
    // -B: perf 6.1's build-id pass at exit sometimes aborts ("assertion failed at
    // util/build-id.c"), and we read binaries by path anyway.
    std::vector<std::string> argv{"perf", "record", "-q", "-B", "-o", dir_.file("perf.data")};
    argv.insert(argv.end(), perf_args.begin(), perf_args.end());
    auto r = run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return dir_.file("perf.data");
  }

  Agreement symbolize_both(const std::string& data, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> ours_args{"symbolize", "-q", data};
    ours_args.insert(ours_args.end(), extra.begin(), extra.end());
    auto ours = run_profile(ours_args);
    EXPECT_EQ(ours.exit_code, 0) << ours.err;
    auto perf = run({"perf", "script", "-F", "+pid", "-i", data});
    EXPECT_EQ(perf.exit_code, 0) << perf.err;
    return compare(ours.out, perf.out);
  }

  prof::test::TempDir dir_;
};

TEST_F(PerfAgreement, FramePointerFixturesMatchExactly) {
  PROF_REQUIRE_LIVE();
  for (const char* fx : {"fx_sym_nested_fp", "fx_sym_cxx", "fx_sym_uselib", "fx_sym_nopie"}) {
    std::string data = record({"-g", "--", fixture(fx), "400"});
    Agreement a = symbolize_both(data);
    EXPECT_GT(a.samples, 50u) << fx;
    EXPECT_EQ(a.same, a.frames) << fx << "\n" << a.diffs;
  }
  // The same text from the whole file is byte-identical to perf script's.
  std::string data = record({"-g", "--", fixture("fx_sym_nested_fp"), "300"});
  auto ours = run_profile({"symbolize", "-q", data});
  auto perf = run({"perf", "script", "-F", "+pid", "-i", data});
  std::istringstream o(ours.out), p(perf.out);
  std::string ol, pl;
  for (int line = 1; std::getline(p, pl); ++line) {
    ASSERT_TRUE(std::getline(o, ol)) << "ours ends before perf's line " << line;
    ASSERT_EQ(ol, pl) << "line " << line;
  }
  EXPECT_FALSE(std::getline(o, ol)) << "ours has more lines than perf's";
}

TEST_F(PerfAgreement, SystemWideCaptureAgreesOn99Percent) {
  PROF_REQUIRE_LIVE();
  // Two fixtures busy while the whole system is sampled: kernel frames, shared libraries,
  // C++ names, and everything else that runs on the machine.
  std::string data = dir_.file("perf.data");
  std::string script = "(" + fixture("fx_sym_cxx") + " 1000 & " + fixture("fx_sym_uselib") +
                       " 1000 & perf record -q -B -a -g -o " + data + " -- sleep 1; wait)";
  auto r = run({"sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Agreement a = symbolize_both(data);
  EXPECT_GT(a.samples, 500u);
  EXPECT_GE(a.same * 100, a.frames * 99) << a.same << "/" << a.frames << "\n" << a.diffs;
  // Kernel frames carry the same names as perf's.
  auto ours = run_profile({"symbolize", "-q", data});
  EXPECT_NE(ours.out.find("([kernel.kallsyms])"), std::string::npos);
}

TEST_F(PerfAgreement, PipeModeAndStdin) {
  PROF_REQUIRE_LIVE();
  std::string data = record({"-g", "--", fixture("fx_sym_nested_fp"), "200"});
  std::string piped = dir_.file("pipe.data");
  auto r = run({"sh", "-c", "perf record -q -B -g -o - -- " + fixture("fx_sym_nested_fp") + " 200 > " + piped});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ours = run_profile({"symbolize", "-q", "-"}, prof::test::read_file(piped));
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  EXPECT_NE(ours.out.find("level3+0x"), std::string::npos);
  EXPECT_NE(ours.out.find("level1+0x"), std::string::npos);
}

TEST_F(PerfAgreement, BadInputIsOneLineError) {
  auto r = run_profile({"symbolize", dir_.file("missing.data")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("profile: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  auto u = run_profile({"symbolize", "--no-such-option"});
  EXPECT_EQ(u.exit_code, 2);
}

}  // namespace
}  // namespace prof::symbolizer

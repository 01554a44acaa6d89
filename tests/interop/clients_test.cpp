// The real clients read what we write, and we read what they write: `go tool pprof` (Debian's
// golang-go) on our pprof of real captures of the 3:1 alpha/beta fixture (-top -cum, -tags,
// -lines, -traces against our own folded stacks of the same capture); a Go program's own
// runtime/pprof CPU profile through `profile render` and `top`; google/pprof's test profiles
// (converted by go tool pprof itself) through `profile merge`, stack for stack and total for
// total; and merge's order and grouping independence on real captures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace {

using namespace prof::test;

std::string go_binary() {
  const char* g = std::getenv("PROF_GO");
  return g && *g ? g : "";
}

#define REQUIRE_GO()                                                                \
  do {                                                                              \
    if (go_binary().empty()) PROF_SKIP_UNLESS_REQUIRED("go (golang-go) not found"); \
  } while (0)

RunResult go(const std::vector<std::string>& args) {
  std::vector<std::string> argv{go_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

// pprof -traces: stack (root first, ';'-joined, "(inline)" dropped) -> summed value.
std::map<std::string, double> parse_traces(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line, value;
  std::vector<std::string> frames;
  auto flush = [&] {
    if (frames.empty()) return;
    std::string stack;
    for (auto it = frames.rbegin(); it != frames.rend(); ++it)
      stack += (stack.empty() ? "" : ";") + *it;
    out[stack] += std::stod(value);
    frames.clear();
  };
  bool in_block = false;
  while (std::getline(in, line)) {
    if (line.rfind("-----------+", 0) == 0) {
      flush();
      in_block = true;
      continue;
    }
    if (!in_block || line.size() < 14) continue;
    if (line[10] == ':') continue;  // a label line ("      comm:  app")
    std::string frame = line.substr(13);
    if (frame.size() > 9 && frame.compare(frame.size() - 9, 9, " (inline)") == 0)
      frame.resize(frame.size() - 9);
    if (line.find_first_not_of(' ') < 13) {
      flush();
      value = line.substr(0, 10);
    }
    frames.push_back(frame);
  }
  flush();
  return out;
}

// Folded text: stack -> count, the first `drop` frames removed (the comm).
std::map<std::string, double> parse_folded_text(const std::string& text, int drop) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.rfind(' ');
    std::string stack = line.substr(0, sp);
    for (int i = 0; i < drop; ++i) {
      auto semi = stack.find(';');
      stack = semi == std::string::npos ? "" : stack.substr(semi + 1);
    }
    out[stack] += std::stod(line.substr(sp + 1));
  }
  return out;
}

// "   flat  flat%   sum%        cum   cum%  name": the cum column of `name`, in ms.
double cum_ms(const std::string& top, const std::string& name) {
  std::regex row("\\s*(\\S+)\\s+\\S+%\\s+\\S+%\\s+([0-9.]+)(ms|s|us)\\s+\\S+%\\s+" + name +
                 "\\s*$");
  std::istringstream in(top);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (!std::regex_match(line, m, row)) continue;
    double v = std::stod(m[2]);
    return m[3] == "s" ? v * 1000 : m[3] == "us" ? v / 1000 : v;
  }
  return -1;
}

class GoPprof : public ::testing::Test {
 protected:
  void SetUp() override {
    PROF_REQUIRE_LIVE();
    REQUIRE_GO();
  }
  TempDir tmp_;
};

TEST_F(GoPprof, ReadsTheAllInOneCaptureOfTheFixture) {
  const std::string pb = tmp_.file("ab.pb.gz");
  RunResult r = run_profile(
      {"--format", "pprof", "-F", "999", "-o", pb, "--", fixture("fx_alphabeta"), "2000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  RunResult top = go({"tool", "pprof", "-top", "-cum", pb});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  const double alpha = cum_ms(top.out, "alpha"), beta = cum_ms(top.out, "beta");
  ASSERT_GT(alpha, 0) << top.out;
  ASSERT_GT(beta, 0) << top.out;
  const double share = 100.0 * alpha / (alpha + beta);
  EXPECT_NEAR(share, 75.0, 2.0) << "alpha " << alpha << " ms, beta " << beta << " ms\n" << top.out;
  EXPECT_NE(top.out.find("File: fx_alphabeta"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("Type: "), std::string::npos) << top.out;

  RunResult tags = go({"tool", "pprof", "-tags", pb});
  ASSERT_EQ(tags.exit_code, 0) << tags.err;
  for (const char* t :
       {" cpu: Total", " comm: Total", " pid: Total", " tid: Total", "fx_alphabeta"})
    EXPECT_NE(tags.out.find(t), std::string::npos) << t << "\n" << tags.out;

  RunResult lines = go({"tool", "pprof", "-lines", "-top", pb});
  ASSERT_EQ(lines.exit_code, 0) << lines.err;
  EXPECT_TRUE(std::regex_search(lines.out, std::regex("alphabeta\\.c:[0-9]+")))
      << "no source lines:\n"
      << lines.out;

  // Mapping ids 1, 2, 3... in order (Parca refuses others), the program first.
  RunResult raw = go({"tool", "pprof", "-raw", pb});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  auto maps = raw.out.find("\nMappings\n");
  ASSERT_NE(maps, std::string::npos) << raw.out;
  std::istringstream mapping_lines(raw.out.substr(maps + 10));
  std::string ml;
  int expect_id = 1;
  while (std::getline(mapping_lines, ml) && !ml.empty() && std::isdigit(ml[0])) {
    EXPECT_EQ(ml.substr(0, ml.find(':')), std::to_string(expect_id)) << ml;
    if (expect_id == 1) {
      EXPECT_NE(ml.find("fx_alphabeta"), std::string::npos) << ml;
    }
    ++expect_id;
  }
  EXPECT_GT(expect_id, 3) << raw.out;

  RunResult addr = go({"tool", "pprof", "-addresses", "-top", pb});
  ASSERT_EQ(addr.exit_code, 0) << addr.err;
  EXPECT_TRUE(std::regex_search(addr.out, std::regex("[0-9a-f]{6,} +alpha"))) << "no addresses:\n"
                                                                              << addr.out;
}

// The same capture as pprof (report) and as folded stacks (report --format folded --inline):
// go tool pprof -traces gives our stacks with our counts. A fixed period (-c) makes every
// sample weigh the same, so sample counts and folded weights compare exactly.
TEST_F(GoPprof, TracesEqualOurFoldedStacks) {
  const std::string data = tmp_.file("x.data"), pb = tmp_.file("x.pb.gz");
  const std::uint64_t period = 1000000;  // 1 ms of task-clock
  RunResult rec = run_profile({"record", "-g", "-c", std::to_string(period), "-o", data, "--",
                               fixture("fx_alphabeta"), "500"});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  RunResult rep = run_profile({"report", "-q", "--format", "pprof", "-o", pb, data});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  RunResult folded = run_profile({"report", "-q", "--format", "folded", "--inline", data});
  ASSERT_EQ(folded.exit_code, 0) << folded.err;
  RunResult traces = go({"tool", "pprof", "-sample_index=samples", "-traces", pb});
  ASSERT_EQ(traces.exit_code, 0) << traces.err;
  auto ours = parse_folded_text(folded.out, 1);
  for (auto& [stack, n] : ours) n /= static_cast<double>(period);
  auto theirs = parse_traces(traces.out);
  ASSERT_GT(ours.size(), 2u);
  EXPECT_EQ(theirs, ours) << traces.out << "\n---\n" << folded.out;
}

// A Go program's own CPU profile (runtime/pprof) renders and ranks with its functions.
TEST_F(GoPprof, RendersAGoRuntimeProfile) {
  write_file(tmp_.file("main.go"), R"(package main

import (
	"os"
	"runtime/pprof"
	"time"
)

var sink uint64

//go:noinline
func hotAlpha(n int) {
	for i := 0; i < n; i++ {
		sink += uint64(i) * 7
	}
}

//go:noinline
func hotBeta(n int) {
	for i := 0; i < n; i++ {
		sink += uint64(i) * 11
	}
}

func main() {
	f, _ := os.Create(os.Args[1])
	pprof.StartCPUProfile(f)
	end := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(end) {
		hotAlpha(3000000)
		hotBeta(1000000)
	}
	pprof.StopCPUProfile()
	f.Close()
}
)");
  const std::string prof = tmp_.file("go.pprof");
  RunResult built = run({"sh", "-c",
                         "cd '" + tmp_.path() + "' && GOFLAGS=-mod=mod GO111MODULE=off '" +
                             go_binary() + "' run main.go '" + prof + "'"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  RunResult svg = run_profile({"render", prof});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  EXPECT_NE(svg.out.find("main.hotAlpha"), std::string::npos);
  EXPECT_NE(svg.out.find("main.hotBeta"), std::string::npos);
  EXPECT_NE(svg.out.find("main.main"), std::string::npos);
  RunResult top = run_profile({"top", "-n", "5", prof});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_NE(top.out.find("main.hotAlpha"), std::string::npos) << top.out;
  // Our reading agrees with Go's own client on every stack.
  RunResult folded = run_profile({"merge", "--format", "folded", prof});
  ASSERT_EQ(folded.exit_code, 0) << folded.err;
  RunResult traces = go({"tool", "pprof", "-sample_index=samples", "-traces", prof});
  ASSERT_EQ(traces.exit_code, 0) << traces.err;
  RunResult counts =
      run_profile({"merge", "--format", "folded", "--sample-index", "samples", prof});
  ASSERT_EQ(counts.exit_code, 0) << counts.err;
  EXPECT_EQ(parse_traces(traces.out), parse_folded_text(counts.out, 0));
}

// google/pprof's own test profiles, converted to profile.proto by go tool pprof: for every
// sample type, our folded stacks and counts equal go tool pprof's -traces.
TEST_F(GoPprof, MergeReadsGooglePprofTestProfiles) {
  PROF_REQUIRE_PEERS(peers);
  const std::string dir = peers + "/pprof-testdata";
  std::size_t checked = 0;
  for (const char* name : {"cppbench.cpu", "gobench.cpu", "java.cpu", "cppbench.heap",
                           "gobench.heap", "java.heap", "cppbench.contention"}) {
    SCOPED_TRACE(name);
    const std::string pb = tmp_.file(std::string(name) + ".pb.gz");
    RunResult conv =
        run({"sh", "-c",
             "'" + go_binary() + "' tool pprof -proto '" + dir + "/" + name + "' > '" + pb + "'"});
    ASSERT_EQ(conv.exit_code, 0) << conv.err;
    RunResult types = go({"tool", "pprof", "-raw", pb});
    ASSERT_EQ(types.exit_code, 0) << types.err;
    // The sample types: the line after "Samples:" ("samples/count cpu/nanoseconds").
    auto at = types.out.find("Samples:\n");
    ASSERT_NE(at, std::string::npos) << types.out;
    std::istringstream header(types.out.substr(at + 9, types.out.find('\n', at + 9) - at - 9));
    std::string type;
    std::vector<std::string> names;
    while (header >> type) names.push_back(type.substr(0, type.find('/')));
    ASSERT_FALSE(names.empty());
    for (const std::string& t : names) {
      SCOPED_TRACE(t);
      RunResult traces =
          go({"tool", "pprof", "-sample_index=" + t, "-unit=minimum", "-traces", pb});
      ASSERT_EQ(traces.exit_code, 0) << traces.err;
      RunResult ours = run_profile({"merge", "--format", "folded", "--sample-index", t, pb});
      ASSERT_EQ(ours.exit_code, 0) << ours.err;
      auto theirs_map = parse_traces(traces.out);
      auto ours_map = parse_folded_text(ours.out, 0);
      // Same stacks (a frame with no function and no mapping is "<unknown>" to pprof and
      // "[unknown]" to us, as to stackcollapse-perf.pl).
      std::vector<std::string> a, b;
      // A sample whose chosen value is 0 weighs nothing and is left out (a Profile's period 0
      // would count as one sample, as perf's does).
      for (auto& [k, v] : theirs_map)
        if (v != 0) a.push_back(std::regex_replace(k, std::regex("<unknown>"), "[unknown]"));
      std::sort(a.begin(), a.end());
      a.erase(std::unique(a.begin(), a.end()), a.end());
      for (auto& [k, v] : ours_map) b.push_back(k);
      EXPECT_EQ(a, b);
      ++checked;
    }
  }
  EXPECT_GE(checked, 10u);
}

// merge on real captures: any order and grouping writes the same bytes.
TEST_F(GoPprof, MergeOfRealCapturesIsAssociativeAndCommutative) {
  std::vector<std::string> inputs;
  for (int i = 0; i < 3; ++i) {
    const std::string out = tmp_.file("c" + std::to_string(i) + (i == 0 ? ".folded" : ".pb.gz"));
    RunResult r = run_profile({"-q", "--format", i == 0 ? "folded" : "pprof", "-F", "499", "-o",
                               out, "--", fixture("fx_alphabeta"), "300"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    inputs.push_back(out);
  }
  auto merge = [&](const std::vector<std::string>& files, const std::string& out) {
    std::vector<std::string> args{"merge", "--format", "pprof", "-o", out};
    args.insert(args.end(), files.begin(), files.end());
    RunResult r = run_profile(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return read_file(out);
  };
  const std::string abc = merge(inputs, tmp_.file("abc.pb.gz"));
  EXPECT_EQ(merge({inputs[2], inputs[0], inputs[1]}, tmp_.file("cab.pb.gz")), abc);
  merge({inputs[0], inputs[1]}, tmp_.file("ab.pb.gz"));
  EXPECT_EQ(merge({tmp_.file("ab.pb.gz"), inputs[2]}, tmp_.file("ab_c.pb.gz")), abc);
  merge({inputs[2], inputs[1]}, tmp_.file("cb.pb.gz"));
  EXPECT_EQ(merge({inputs[0], tmp_.file("cb.pb.gz")}, tmp_.file("a_cb.pb.gz")), abc);
  // go tool pprof reads the merge, and its total is the inputs' sum.
  RunResult top = go({"tool", "pprof", "-sample_index=samples", "-top", tmp_.file("abc.pb.gz")});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_NE(top.out.find("alpha"), std::string::npos) << top.out;
}

// symbolize writes pprof and speedscope too (as report does), from a saved capture.
TEST_F(GoPprof, SymbolizeWritesPprofAndSpeedscope) {
  const std::string data = tmp_.file("s.data");
  RunResult rec =
      run_profile({"record", "-g", "-F", "499", "-o", data, "--", fixture("fx_alphabeta"), "300"});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  RunResult pb = run_profile({"symbolize", "-q", "--format", "pprof", data});
  ASSERT_EQ(pb.exit_code, 0) << pb.err;
  ASSERT_GE(pb.out.size(), 2u);
  EXPECT_EQ(pb.out.substr(0, 2), "\x1f\x8b");
  write_file(tmp_.file("s.pb.gz"), pb.out);
  RunResult top = go({"tool", "pprof", "-top", tmp_.file("s.pb.gz")});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_NE(top.out.find("alpha"), std::string::npos) << top.out;
  RunResult ss = run_profile({"symbolize", "-q", "--format=speedscope", data});
  ASSERT_EQ(ss.exit_code, 0) << ss.err;
  EXPECT_NE(ss.out.find("\"type\":\"sampled\""), std::string::npos);
  EXPECT_NE(ss.out.find("\"name\":\"alpha\""), std::string::npos);
}

// Off-CPU time as pprof: the sleeper fixture blocks 3 x 100 ms in sleeper() and 1 x 100 ms in
// napper(); go tool pprof sees those times under the off_cpu/nanoseconds type.
TEST_F(GoPprof, OffCpuTimeAsPprof) {
  const std::string pb = tmp_.file("off.pb.gz");
  RunResult r = run_profile(
      {"-q", "--off-cpu", "--format", "pprof", "-o", pb, "--", fixture("fx_offcpu_sleeper")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  RunResult top = go({"tool", "pprof", "-top", "-cum", pb});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_NE(top.out.find("Type: off_cpu"), std::string::npos) << top.out;
  EXPECT_NEAR(cum_ms(top.out, "sleeper"), 300, 30) << top.out;
  EXPECT_NEAR(cum_ms(top.out, "napper"), 100, 15) << top.out;
}

// The command-line side of merge and pprof input: defaults, and one-line errors for bad input.
TEST(MergeCli, FormatsDefaultsAndErrors) {
  TempDir tmp;
  write_file(tmp.file("a.folded"), "app;main;alpha 3\napp;main;beta 1\n");
  write_file(tmp.file("b.folded"), "app;main;alpha 2\n");
  RunResult folded = run_profile({"merge", tmp.file("a.folded"), tmp.file("b.folded")});
  ASSERT_EQ(folded.exit_code, 0) << folded.err;
  EXPECT_EQ(folded.out, "app;main;alpha 5\napp;main;beta 1\n");
  RunResult pb =
      run_profile({"merge", "--format", "pprof", "-o", tmp.file("a.pb.gz"), tmp.file("a.folded")});
  ASSERT_EQ(pb.exit_code, 0) << pb.err;
  // A pprof input makes the default output pprof; it reads back to the same stacks.
  RunResult mixed =
      run_profile({"merge", "-o", tmp.file("m.pb.gz"), tmp.file("a.pb.gz"), tmp.file("b.folded")});
  ASSERT_EQ(mixed.exit_code, 0) << mixed.err;
  EXPECT_EQ(read_file(tmp.file("m.pb.gz")).substr(0, 2), "\x1f\x8b");
  RunResult back = run_profile({"merge", "--format", "folded", tmp.file("m.pb.gz")});
  EXPECT_EQ(back.out, "app;main;alpha 5\napp;main;beta 1\n");
  RunResult svg = run_profile({"render", tmp.file("m.pb.gz")});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  EXPECT_NE(svg.out.find("<title>alpha (5 samples"), std::string::npos);

  // Bad inputs: one line, exit 1, naming the file; nothing on stdout.
  write_file(tmp.file("frac.folded"), "a;b 1.5\n");
  const std::string pbgz = read_file(tmp.file("a.pb.gz"));
  write_file(tmp.file("cut.pb.gz"), pbgz.substr(0, pbgz.size() - 8));
  std::string junk = "\x0a\x05";
  for (int i = 0; i < 200; ++i) junk.push_back(static_cast<char>(i * 37 % 251));
  write_file(tmp.file("junk.bin"), junk);
  struct Bad {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Bad& b :
       {Bad{{"merge", tmp.file("frac.folded")}, "is fractional"},
        Bad{{"merge", tmp.file("missing.pb.gz")}, "missing.pb.gz"},
        Bad{{"merge", tmp.file("cut.pb.gz")}, "cut.pb.gz"},
        Bad{{"render", tmp.file("cut.pb.gz")}, "cut.pb.gz"},
        Bad{{"merge", tmp.file("junk.bin")}, "not a pprof profile"},
        Bad{{"render", tmp.file("junk.bin")}, "neither folded stacks"},
        Bad{{"merge", "--format", "svg", tmp.file("a.folded")}, "expected folded, pprof"},
        Bad{{"render", "--sample-index", "cycles", tmp.file("a.pb.gz")}, "no such sample type"}}) {
    RunResult r = run_profile(b.args);
    EXPECT_GE(r.exit_code, 1) << b.args[1];
    EXPECT_TRUE(r.out.empty()) << b.args[1];
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(b.says), std::string::npos) << r.err;
  }
}

}  // namespace

// `profile --every`: one live capture cut into windows. `--every 2s` over 8 s writes 4 pprof
// files that the real `go tool pprof` reads, contiguous on the wall clock (time_nanos +
// duration_nanos), whose samples add up to those of one 8 s capture taken at the same time
// (±1 %); a process that ran and exited inside a window is symbolized in it.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "prof/interop/pprof.h"
#include "test_support.h"

namespace {

using namespace prof::test;
namespace fs = std::filesystem;

std::string go_binary() {
  const char* g = std::getenv("PROF_GO");
  return g && *g ? g : "";
}

// go tool pprof -raw: the sum of the samples/count column (0 when go cannot read the file).
std::uint64_t go_sample_count(const std::string& path, std::string* raw_out = nullptr) {
  RunResult r = run({go_binary(), "tool", "pprof", "-raw", path});
  EXPECT_EQ(r.exit_code, 0) << path << ": " << r.err;
  if (raw_out) *raw_out = r.out;
  static const std::regex row(R"(^\s+(\d+)\s+\d+: [\d ]+$)");
  std::istringstream in(r.out);
  std::string line;
  std::smatch m;
  std::uint64_t n = 0;
  while (std::getline(in, line))
    if (std::regex_match(line, m, row)) n += std::stoull(m[1]);
  return n;
}

TEST(Windows, EveryTwoSecondsOverEightSecondsMatchesOneEightSecondCapture) {
  PROF_REQUIRE_LIVE();
  if (go_binary().empty()) PROF_SKIP_UNLESS_REQUIRED("go (golang-go) not found");
  TempDir tmp;
  const std::string dir = tmp.file("windows"), ref = tmp.file("ref.pb.gz");
  // The reference runs beside the windowed capture: the same 8 s of the same CPUs (cpu-clock
  // samples every CPU at -F whether it is busy or idle), so the counts compare on a noisy
  // machine, where two captures one after the other would see different loads.
  pid_t ref_pid = spawn({profile_binary(), "-a", "--format", "pprof", "-o", ref, "-q", "8s"},
                        "/dev/null", tmp.file("ref.err"));
  ASSERT_GT(ref_pid, 0);
  // A process that runs and exits inside the first windows: its samples are symbolized at the
  // window's cut, after it has gone.
  pid_t short_lived = spawn({fixture("fx_alphabeta"), "600"});
  ASSERT_GT(short_lived, 0);
  RunResult win = run_profile({"-a", "--every", "2s", "--output-dir", dir, "8s"});
  EXPECT_EQ(wait_for(short_lived, 120000), 0);
  ASSERT_EQ(wait_for(ref_pid, 120000), 0) << read_file(tmp.file("ref.err"));
  ASSERT_EQ(win.exit_code, 0) << win.err;

  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 4u) << win.err;

  std::uint64_t sum = 0;
  std::uint64_t prev_end = 0;
  bool symbolized_exited = false;
  for (std::size_t i = 0; i < files.size(); ++i) {
    SCOPED_TRACE(files[i]);
    EXPECT_NE(files[i].find(".pb.gz"), std::string::npos);
    std::string raw;
    const std::uint64_t n = go_sample_count(files[i], &raw);
    EXPECT_GT(n, 0u);
    sum += n;
    // -raw prints the window's start; our reader gives the exact nanoseconds.
    EXPECT_NE(raw.find("Time: "), std::string::npos);
    auto p = prof::interop::read_pprof(read_file(files[i]), {}, files[i]);
    ASSERT_TRUE(p) << p.error().message;
    const std::uint64_t start = p->info().start_unix_ns, dur = p->info().duration_ns;
    EXPECT_GT(start, 0u);
    if (i + 1 < files.size()) {
      EXPECT_EQ(dur, 2'000'000'000u);  // the last one takes the run's tail too
    }
    EXPECT_GE(dur, 1'900'000'000u);
    if (i > 0) {
      const std::uint64_t gap = start > prev_end ? start - prev_end : prev_end - start;
      EXPECT_LT(gap, 100'000'000u) << "window " << i << " does not follow window " << i - 1;
    }
    prev_end = start + dur;
    RunResult traces = run({go_binary(), "tool", "pprof", "-traces", files[i]});
    if (traces.out.find("fx_alphabeta") != std::string::npos &&
        traces.out.find(" alpha\n") != std::string::npos)
      symbolized_exited = true;
  }
  EXPECT_TRUE(symbolized_exited) << "no window has fx_alphabeta's alpha() symbolized";

  const std::uint64_t whole = go_sample_count(ref);
  ASSERT_GT(whole, 0u);
  const double ratio = static_cast<double>(sum) / static_cast<double>(whole);
  EXPECT_NEAR(ratio, 1.0, 0.01) << "windows: " << sum << " samples, one 8 s capture: " << whole;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> v;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) v.push_back(e.path().string());
  std::sort(v.begin(), v.end());
  return v;
}

// Without a total DURATION the agent runs until SIGTERM (systemd's stop), then writes the
// window it is in, cut where it stopped: nothing sampled is lost, and the windows still meet.
TEST(Windows, SigtermEndsTheRunWithTheCurrentWindowWritten) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  const std::string dir = tmp.file("windows");
  pid_t pid = spawn({profile_binary(), "-a", "--every", "1s", "--output-dir", dir}, "/dev/null",
                    tmp.file("err"));
  ASSERT_GT(pid, 0);
  std::size_t before = 0;
  for (int i = 0; i < 1200 && before < 2; ++i) {  // up to 60 s on a loaded machine
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    before = files_in(dir).size();
  }
  ASSERT_GE(before, 2u) << read_file(tmp.file("err"));
  ::kill(pid, SIGTERM);
  ASSERT_EQ(wait_for(pid, 60000), 0) << read_file(tmp.file("err"));
  const auto files = files_in(dir);
  ASSERT_GE(files.size(), before + 1) << read_file(tmp.file("err"));
  std::uint64_t prev_end = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    SCOPED_TRACE(files[i]);
    EXPECT_EQ(files[i].find(".tmp"), std::string::npos);
    auto p = prof::interop::read_pprof(read_file(files[i]), {}, files[i]);
    ASSERT_TRUE(p) << p.error().message;
    const std::uint64_t start = p->info().start_unix_ns, dur = p->info().duration_ns;
    if (i > 0) {
      EXPECT_EQ(start, prev_end);
    }
    if (i + 1 < files.size()) {
      EXPECT_EQ(dur, 1'000'000'000u);
    } else {
      EXPECT_LE(dur, 1'000'000'000u);  // the window it was in, cut at the stop
    }
    prev_end = start + dur;
  }
}

}  // namespace

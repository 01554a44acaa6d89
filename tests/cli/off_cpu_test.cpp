// Off-CPU time against the capture's own records (issue 14 item 3): the blocked time that
// `profile --off-cpu` and `profile report --off-cpu` give each stack must be what the capture's
// switch-out -> switch-in timestamps say. The truth is computed here from `perf script` of the
// same perf.data (perf's decoding, not ours): each sched_switch sample of task T at time t is
// paired with T's next switch-in, i.e. the first later sched_switch whose next_pid is T (any
// CPU) or PERF_RECORD_SWITCH(_CPU_WIDE) IN record of T. Live tests: CI runs them as root.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace prof {
namespace {

using test::fixture;
using test::run;
using test::run_profile;
using test::TempDir;

// 40 sleeps of 25 ms: 30 under sleeper(), 10 under napper() (1 s in all).
const std::vector<std::string> kSleeper40x25 = {"10", "25"};
constexpr double kNapNs = 25e6;

struct Blocked {
  double sleeper = 0, napper = 0;  // ns off the CPU of switch-outs under sleeper() / napper()
  int sleeper_outs = 0, napper_outs = 0;
};

// "897.117861932:" -> ns.
std::uint64_t parse_ns(const std::string& tok) {
  auto dot = tok.find('.');
  std::string frac = tok.substr(dot + 1);
  while (!frac.empty() && !std::isdigit(static_cast<unsigned char>(frac.back()))) frac.pop_back();
  frac.resize(9, '0');
  return std::stoull(tok.substr(0, dot)) * 1000000000ull + std::stoull(frac);
}

// The capture's own off-CPU time of the fixture's sleeps, from `perf script` of `data`.
Blocked blocked_per_perf_script(const std::string& data, std::string* why) {
  auto r = run({"perf", "script", "-i", data, "--ns", "--show-switch-events", "-F",
                "tid,time,event,trace,ip,sym"});
  if (r.exit_code != 0) {
    *why = "perf script failed: " + r.err;
    return {};
  }
  struct Out {
    std::int64_t tid;
    std::uint64_t time;
    int where;  // 1 sleeper, 2 napper, 0 other
  };
  std::vector<Out> outs;
  std::map<std::int64_t, std::vector<std::uint64_t>> ins;
  std::istringstream in(r.out);
  Out* current = nullptr;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) {
      current = nullptr;
      continue;
    }
    if (line[0] == '\t') {  // a callchain frame: "\t    11d2 sleeper"
      if (!current) continue;
      std::string sym = line.substr(line.find_last_of(' ') + 1);
      if (sym == "sleeper") current->where = 1;
      if (sym == "napper" && current->where == 0) current->where = 2;
      continue;
    }
    std::istringstream hdr(line);
    std::int64_t tid = 0;
    std::string time_tok, event;
    if (!(hdr >> tid >> time_tok >> event)) continue;
    const std::uint64_t t = parse_ns(time_tok);
    if (event == "sched:sched_switch:") {
      outs.push_back({tid, t, 0});
      current = &outs.back();
      auto np = line.find(" next_pid=");
      if (np != std::string::npos) ins[std::stoll(line.substr(np + 10))].push_back(t);
    } else if (event.rfind("PERF_RECORD_SWITCH", 0) == 0) {
      std::string dir;
      hdr >> dir;
      if (dir == "IN") ins[tid].push_back(t);
    }
  }
  for (auto& [tid, v] : ins) std::sort(v.begin(), v.end());
  Blocked b;
  for (const Out& o : outs) {
    if (o.where == 0) continue;
    auto it = ins.find(o.tid);
    if (it == ins.end()) continue;
    auto next = std::upper_bound(it->second.begin(), it->second.end(), o.time);
    if (next == it->second.end()) continue;
    const double ns = static_cast<double>(*next - o.time);
    (o.where == 1 ? b.sleeper : b.napper) += ns;
    ++(o.where == 1 ? b.sleeper_outs : b.napper_outs);
  }
  return b;
}

// Nanoseconds of the folded stacks of the fixture that pass through `frame`.
double folded_ns_under(const std::string& folded, const std::string& frame) {
  double ns = 0;
  std::istringstream in(folded);
  for (std::string line; std::getline(in, line);) {
    auto sp = line.rfind(' ');
    if (sp == std::string::npos || line.rfind("fx_offcpu_sleep;", 0) != 0) continue;
    if ((";" + line.substr(0, sp) + ";").find(";" + frame + ";") == std::string::npos) continue;
    ns += std::stod(line.substr(sp + 1));
  }
  return ns;
}

// The fixture's folded lines only (a system-wide capture has thousands more), for messages.
std::string fixture_lines(const std::string& folded) {
  std::string out;
  std::istringstream in(folded);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("fx_offcpu_sleep;", 0) == 0) out += line + "\n";
  return out;
}

// Our folded off-CPU time per stack within 10 % of the capture's own (and the truth itself
// at least the 30 + 10 sleeps of 25 ms that nanosleep(2) guarantees).
void expect_matches_capture(const std::string& folded, const std::string& data) {
  std::string why;
  const Blocked truth = blocked_per_perf_script(data, &why);
  ASSERT_TRUE(why.empty()) << why;
  EXPECT_GE(truth.sleeper, 30 * kNapNs * 0.98) << truth.sleeper_outs << " switch-outs";
  EXPECT_GE(truth.napper, 10 * kNapNs * 0.98) << truth.napper_outs << " switch-outs";
  const double sleeper = folded_ns_under(folded, "sleeper");
  const double napper = folded_ns_under(folded, "napper");
  EXPECT_NEAR(sleeper, truth.sleeper, 0.10 * truth.sleeper) << fixture_lines(folded);
  EXPECT_NEAR(napper, truth.napper, 0.10 * truth.napper) << fixture_lines(folded);
}

std::vector<std::string> with_sleeper(std::vector<std::string> args) {
  args.push_back(fixture("fx_offcpu_sleeper"));
  args.insert(args.end(), kSleeper40x25.begin(), kSleeper40x25.end());
  return args;
}

// Fails on e91aebd: the all-in-one gave sleeper() 25 ms and napper() 25 ms where the capture
// says ~765 ms / ~255 ms: identical stacks were merged (symbolizer Options::aggregate) before
// they were weighted, so each distinct stack counted one sleep. `report` of the saved capture
// likewise.
TEST(OffCpuTruth, CommandCaptureMatchesItsSwitchTimes) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  const std::string data = tmp.file("cap.data");
  auto r =
      run_profile(with_sleeper({"--off-cpu", "--save", data, "--format", "folded", "-q", "--"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_matches_capture(r.out, data);

  auto rep = run_profile({"report", "--off-cpu", "--format", "folded", data});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  expect_matches_capture(rep.out, data);
}

// Fails on e91aebd the same way: sleeper() 25 ms of ~810 ms.
TEST(OffCpuTruth, SystemWideCaptureMatchesItsSwitchTimes) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  const std::string data = tmp.file("cap.data");
  auto r = run_profile(
      with_sleeper({"--off-cpu", "-a", "--save", data, "--format", "folded", "-q", "--"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_matches_capture(r.out, data);
}

// perf's own `-e sched:sched_switch -a -g` capture (switch-ins from next_pid only).
// Fails on e91aebd: sleeper() 56 ms of ~770 ms, napper() 30 ms of ~258 ms.
TEST(OffCpuTruth, ReportOfPerfsCaptureMatchesItsSwitchTimes) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  const std::string data = tmp.file("perf.data");
  // perf needs tracefs to open the tracepoint: a private mount, the system left as it was.
  std::string cmd =
      "{ mountpoint -q /sys/kernel/tracing || "
      "mount -t tracefs nodev /sys/kernel/tracing; } && exec perf record -q -e "
      "sched:sched_switch -g -a -o " +
      data + " " + fixture("fx_offcpu_sleeper");
  for (const auto& a : kSleeper40x25) cmd += " " + a;
  auto rec = run({"unshare", "-m", "--propagation", "private", "sh", "-c", cmd});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  auto r = run_profile({"report", "--off-cpu", "--format", "folded", data});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_matches_capture(r.out, data);
}

}  // namespace
}  // namespace prof

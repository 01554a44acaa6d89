// `profile record` end to end on this machine: every capture is read back by real `perf script`
// (and `perf report`) and by our own reader, and the two must agree.
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "live_support.h"
#include "test_support.h"

namespace {

using namespace prof::test;
using namespace prof::test::live;

std::string spin() { return fixture("fx_spin"); }

// perf script and perf report must read the file, and perf script sees exactly the samples our
// reader sees.
std::vector<ScriptSample> read_back(const std::string& file, const Census& c) {
  RunResult r = perf_script(file);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("non matching"), std::string::npos) << r.err;
  auto samples = parse_script(r.out);
  EXPECT_EQ(samples.size(), c.samples) << "perf script and our reader disagree on " << file;
  RunResult rep = run({"perf", "report", "-i", file, "--stdio", "--no-children", "--stats"});
  EXPECT_EQ(rep.exit_code, 0) << rep.err;
  auto at = rep.out.find("SAMPLE events:");
  EXPECT_NE(at, std::string::npos) << rep.out;
  if (at != std::string::npos) {
    EXPECT_EQ(std::strtoull(rep.out.c_str() + at + 14, nullptr, 10), c.samples)
        << "perf report and our reader disagree on " << file;
  }
  return samples;
}

Census census_ok(const std::string& file) {
  Census c = census(file);
  EXPECT_EQ(c.error, "") << file;
  return c;
}

TEST(RecordLive, SpinFixtureLeafIsSpinHereAndChainReachesMain) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("spin.data");
  RunResult r =
      run_profile({"record", "-g", "-o", out, "--", "taskset", "-c", "1", spin(), "1200"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Census c = census_ok(out);
  auto samples = read_back(out, c);
  auto [lo, hi] = nm_range(spin(), "spin_here");
  ASSERT_LT(lo, hi) << "nm found no spin_here in " << spin();
  std::size_t mine = 0, leaf_in_spin = 0, reaches_main = 0;
  for (const auto& s : samples) {
    if (s.comm != "fx_spin") continue;
    ++mine;
    ASSERT_FALSE(s.frames.empty());
    const auto& leaf = s.frames.front();
    if (leaf.addr >= lo && leaf.addr < hi && leaf.sym == "spin_here") ++leaf_in_spin;
    for (const auto& f : s.frames) {
      if (f.sym == "main" && f.dso.ends_with("fx_spin")) {
        ++reaches_main;
        break;
      }
    }
  }
  // task-clock counts only while fx_spin runs; on a CPU 1 shared with other work that is well
  // under the 1.2 s it spins.
  ASSERT_GE(mine, 10u) << "1.2 s at 99 Hz gives up to ~119 samples";
  EXPECT_GE(leaf_in_spin * 10, mine * 9) << leaf_in_spin << " of " << mine;
  EXPECT_GE(reaches_main * 10, mine * 9) << reaches_main << " of " << mine;
  // perf report reads it too and names the function.
  RunResult rep = run({"perf", "report", "-i", out, "--stdio", "--no-children"});
  EXPECT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_NE(rep.out.find("spin_here"), std::string::npos);
}

TEST(RecordLive, CpuListYieldsOnlyThatCpu) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("c1.data");
  // The workload bounds the capture and keeps CPU 1 busy.
  RunResult r = run_profile(
      {"record", "-C", "1", "-g", "-o", out, "--", "taskset", "-c", "1", spin(), "600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Census c = census_ok(out);
  auto samples = read_back(out, c);
  ASSERT_GT(c.samples, 20u);
  EXPECT_EQ(c.samples_by_cpu.size(), 1u);
  EXPECT_EQ(c.samples_by_cpu.count(1), 1u);
  for (const auto& s : samples) ASSERT_EQ(s.cpu, 1) << s.comm;
}

TEST(RecordLive, KernelFramesAreSymbolized) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("k.data");
  // dd spends nearly all its time copying in the kernel; timeout bounds it to 0.5 s however
  // fast this machine copies.
  RunResult r = run_profile({"record", "-g", "-o", out, "--", "sh", "-c",
                             "timeout 0.5 dd if=/dev/zero of=/dev/null bs=64k; true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Census c = census_ok(out);
  auto samples = read_back(out, c);
  // Kernel addresses (above the user half) must land in [kernel.kallsyms] with a name, through
  // the synthesized [kernel.kallsyms]_text MMAP.
  std::size_t kernel_frames = 0, kernel_named = 0;
  for (const auto& s : samples) {
    for (const auto& f : s.frames) {
      if (f.addr < 0xffff800000000000ULL) continue;
      ++kernel_frames;
      if (f.dso == "[kernel.kallsyms]" && f.sym != "[unknown]") ++kernel_named;
    }
  }
  ASSERT_GE(kernel_frames, 10u) << "dd should sample the kernel";
  EXPECT_GE(kernel_named * 100, kernel_frames * 99) << kernel_named << " of " << kernel_frames;
}

TEST(RecordLive, PidYieldsOnlyThatProcess) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("p.data");
  pid_t target = spawn_execed({spin(), "3000"});
  ASSERT_GT(target, 0);
  pid_t other = spawn({spin(), "3000"});
  // 499 Hz for 1 s: enough samples even when the machine is busy and the target gets a
  // fraction of a CPU.
  RunResult r =
      run_profile({"record", "-p", std::to_string(target), "-g", "-F", "499", "-o", out, "1"});
  kill(target, SIGKILL);
  kill(other, SIGKILL);
  wait_for(target, 5000);
  wait_for(other, 5000);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Census c = census_ok(out);
  auto samples = read_back(out, c);
  ASSERT_GE(c.samples, 5u);
  EXPECT_EQ(c.samples_by_pid.size(), 1u);
  EXPECT_EQ(c.samples_by_pid.count(target), 1u);
  std::size_t named = 0;
  for (const auto& s : samples) {
    EXPECT_EQ(s.pid, target);
    // Started before the capture: its comm and mappings come from the /proc snapshot.
    if (s.comm == "fx_spin" && !s.frames.empty() && s.frames.front().sym == "spin_here") ++named;
  }
  EXPECT_GE(named * 10, samples.size() * 9)
      << "first sample: " << samples[0].comm << " " << samples[0].event << " "
      << (samples[0].frames.empty() ? "" : samples[0].frames[0].sym);
}

TEST(RecordLive, ThreadTargetAndTargetExitEndTheCapture) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("t.data");
  pid_t target = spawn_execed({spin(), "500"});
  pid_t other = spawn({spin(), "500"});
  // 60 s requested; the capture must end when the thread exits (~0.5 s).
  RunResult r = run_profile({"record", "-t", std::to_string(target), "-o", out, "60"});
  wait_for(target, 5000);
  wait_for(other, 5000);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Census c = census_ok(out);
  read_back(out, c);
  EXPECT_GE(c.samples, 3u);
  EXPECT_EQ(c.samples_by_pid.size(), 1u);
  EXPECT_EQ(c.samples_by_pid.count(target), 1u);
}

TEST(RecordLive, CgroupTargetSamplesOnlyItsTasks) {
  PROF_REQUIRE_LIVE();
  std::string root;
  {
    std::istringstream mounts(read_file("/proc/mounts"));
    std::string dev, dir, type, rest;
    while (mounts >> dev >> dir >> type && std::getline(mounts, rest))
      if (type == "cgroup2") root = dir;
  }
  if (root.empty()) PROF_SKIP_UNLESS_REQUIRED("no cgroup v2 hierarchy mounted");
  std::string name = "prof-collector-test-" + std::to_string(getpid());
  std::string cg = root + "/" + name;
  ASSERT_EQ(mkdir(cg.c_str(), 0755), 0) << cg;
  TempDir tmp;
  std::string out = tmp.file("g.data");
  // The workload moves itself into the cgroup, then becomes the spinner.
  RunResult r = run_profile({"record", "-G", name, "-o", out, "--", "sh", "-c",
                             "echo $$ > " + cg + "/cgroup.procs && exec " + spin() + " 500"});
  rmdir(cg.c_str());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Census c = census_ok(out);
  auto samples = read_back(out, c);
  // This VM's kernel delivers few cpu-clock samples to cgroup events (perf gets as few), but
  // every one must come from the cgroup's only task.
  ASSERT_GT(c.samples, 0u);
  for (const auto& s : samples) EXPECT_EQ(s.comm, "fx_spin");
  EXPECT_EQ(c.samples_by_pid.size(), 1u);
}

TEST(RecordLive, CommandIsFollowedIntoChildren) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("cmd.data");
  std::string s = spin();
  RunResult r =
      run_profile({"record", "-g", "-o", out, "--", "sh", "-c", s + " 400 & " + s + " 400; wait"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Census c = census_ok(out);
  auto samples = read_back(out, c);
  std::set<pid_t> spinners;
  for (const auto& smp : samples)
    if (smp.comm == "fx_spin") spinners.insert(smp.pid);
  EXPECT_EQ(spinners.size(), 2u) << "both children of sh should be sampled";
}

TEST(RecordLive, ShortLivedProcessInSystemWideCaptureHasCommAndMappings) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("a.data");
  // fx_spin is started by sh after sampling began and exits before it ends.
  RunResult r = run_profile({"record", "-a", "-g", "-o", out, "--", "sh", "-c",
                             "sleep 0.1; " + spin() + " 500; sleep 0.1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Census c = census_ok(out);
  EXPECT_NE(std::find(c.comms.begin(), c.comms.end(), "fx_spin"), c.comms.end());
  EXPECT_NE(std::find(c.mmap_files.begin(), c.mmap_files.end(), spin()), c.mmap_files.end());
  EXPECT_GT(c.by_type[PERF_RECORD_FORK], 0u);
  EXPECT_GT(c.by_type[PERF_RECORD_EXIT], 0u);
  auto samples = read_back(out, c);
  std::size_t spinning = 0, resolved = 0;
  for (const auto& s : samples) {
    if (s.comm != "fx_spin") continue;
    ++spinning;
    if (!s.frames.empty() && s.frames.front().sym == "spin_here") ++resolved;
  }
  // How much CPU it got depends on what else runs here; its samples must all be symbolized.
  ASSERT_GE(spinning, 3u);
  EXPECT_GE(resolved * 10, spinning * 9) << resolved << " of " << spinning;
}

TEST(RecordLive, PipeModeOnStdout) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  RunResult r = run_profile({"record", "-a", "-g", "-o", "-", "0.4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_GT(r.out.size(), 16u);
  EXPECT_EQ(r.out.substr(0, 8), "PERFILE2");
  std::string file = tmp.file("pipe.data");
  write_file(file, r.out);
  Census c = census_ok(file);
  EXPECT_GT(c.samples, 0u);
  RunResult ps =
      run({"sh", "-c", "perf script -i - -F comm,pid,tid,cpu,event,ip,sym,dso < " + file});
  EXPECT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_EQ(parse_script(ps.out).size(), c.samples);
}

TEST(RecordLive, SeveralEventsInOneFile) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("ev.data");
  RunResult r = run_profile(
      {"record", "-e", "cpu-clock", "-e", "page-faults", "-g", "-o", out, "--", spin(), "300"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Census c = census_ok(out);
  auto samples = read_back(out, c);
  EXPECT_GT(c.samples_by_event["cpu-clock"], 0u);
  EXPECT_GT(c.samples_by_event["page-faults"], 0u);
  std::set<std::string> events;
  for (const auto& s : samples) events.insert(s.event);
  EXPECT_TRUE(events.count("cpu-clock")) << "perf script saw no cpu-clock";
  EXPECT_TRUE(events.count("page-faults")) << "perf script saw no page-faults";
}

TEST(RecordLive, TracepointInAPrivateTracefsMount) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("tp.data");
  // tracefs is not mounted on the build machine; mount it in a private mount namespace so the
  // system is left as it was (this test process may already have one of its own: the
  // collector library mounts tracefs privately when it finds none).
  RunResult r = run({"unshare", "-m", "sh", "-c",
                     "{ mountpoint -q /sys/kernel/tracing || "
                     "mount -t tracefs nodev /sys/kernel/tracing; } && exec " +
                         profile_binary() + " record -e sched:sched_switch -e cpu-clock -a -o " +
                         out + " 0.3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Census c = census_ok(out);
  EXPECT_GT(c.samples_by_event["sched:sched_switch"], 0u);
  EXPECT_GT(c.raw_samples, 0u) << "tracepoint samples should carry their payload";
  EXPECT_GT(c.samples_by_event["cpu-clock"], 0u);
  // perf decodes the payload from the HEADER_TRACING_DATA feature we wrote.
  RunResult script = run({"perf", "script", "-i", out});
  ASSERT_EQ(script.exit_code, 0) << script.err;
  EXPECT_NE(script.out.find("sched:sched_switch: prev_comm="), std::string::npos) << script.err;
}

// Without a tracefs mount the collector (running as root, single-threaded) mounts one in a
// mount namespace of its own; the capture carries the tracing data perf needs to print the
// tracepoint's fields, in file mode and in pipe mode.
class RecordTracepoint : public ::testing::TestWithParam<bool> {};

TEST_P(RecordTracepoint, PerfScriptPrintsTheSchedSwitchFields) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  const bool pipe = GetParam();
  std::string out = tmp.file("sw.data");
  RunResult r = run_profile(
      {"record", "-e", "sched:sched_switch", "-a", "-g", "-o", pipe ? "-" : out, "0.3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (pipe) {
    std::ofstream(out, std::ios::binary) << r.out;
    // The file as it came through the pipe must still start like one.
    ASSERT_GT(r.out.size(), 16u);
  }
  RunResult script = run({"perf", "script", "-i", out});
  ASSERT_EQ(script.exit_code, 0) << script.err;
  std::size_t switches = 0, decoded = 0;
  std::istringstream lines(script.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("sched:sched_switch:") == std::string::npos) continue;
    ++switches;
    if (line.find("prev_comm=") != std::string::npos &&
        line.find("prev_state=") != std::string::npos &&
        line.find(" ==> next_comm=") != std::string::npos &&
        line.find("next_pid=") != std::string::npos)
      ++decoded;
  }
  EXPECT_GT(switches, 0u) << script.err;
  EXPECT_EQ(decoded, switches) << script.out.substr(0, 2000);
  // Our reader gets the same blob back.
  Census c = census_ok(out);
  EXPECT_GT(c.raw_samples, 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, RecordTracepoint, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Pipe" : "File"; });

TEST(RecordLive, DwarfModeCarriesStacksPerfCanUnwind) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("dw.data");
  RunResult r = run_profile({"record", "--call-graph", "dwarf", "-o", out, "--", spin(), "600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Census c = census_ok(out);
  auto samples = read_back(out, c);
  std::size_t mine = 0, unwound = 0;
  for (const auto& s : samples) {
    if (s.comm != "fx_spin") continue;
    ++mine;
    bool main_seen = false;
    for (const auto& f : s.frames) main_seen |= f.sym == "main";
    if (main_seen) ++unwound;
  }
  ASSERT_GE(mine, 5u);
  // perf unwinds with the registers and stack copy we recorded, reading .eh_frame_hdr through
  // the data mappings (mmap_data) we asked for.
  EXPECT_GE(unwound * 10, mine * 9) << unwound << " of " << mine << " unwound to main";
}

TEST(RecordLive, SigintEndsALongCaptureCleanly) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("int.data");
  pid_t pid = spawn({profile_binary(), "record", "-a", "-g", "-o", out, "60"}, "/dev/null",
                    tmp.file("err"));
  // The output exists once the capture is set up; give it a second of sampling.
  for (int i = 0; i < 500 && !std::filesystem::exists(out); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_EQ(kill(pid, SIGINT), 0);
  // Generous bound: a hung capture fails here instead of running for 60 s.
  int rc = wait_for(pid, 10000);
  ASSERT_EQ(rc, 0) << read_file(tmp.file("err"));
  Census c = census_ok(out);
  EXPECT_GT(c.samples, 50u) << "about 1 s on every CPU at 99 Hz";
  read_back(out, c);
}

TEST(RecordLive, NoLostSamplesAt999HzUnderLoad) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("hz.data");
  pid_t a = spawn({spin(), "2500"}), b = spawn({spin(), "2500"});
  RunResult r = run_profile({"record", "-a", "-g", "-F", "999", "-o", out, "2"});
  wait_for(a, 5000);
  wait_for(b, 5000);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("lost"), std::string::npos) << r.err;
  Census c = census_ok(out);
  EXPECT_EQ(c.lost, 0u);
  EXPECT_EQ(c.by_type[PERF_RECORD_LOST], 0u);
  EXPECT_GT(c.samples, 2000u) << "2 s x 2 CPUs x 999 Hz";
}

}  // namespace

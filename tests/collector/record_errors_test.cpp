// `profile record` / `profile list` failures: one line that says what to do, the right exit
// status, and no output file left behind.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "test_support.h"

namespace {

using namespace prof::test;

// A pid that certainly does not exist now: a child we have already reaped.
pid_t reaped_pid() {
  pid_t p = fork();
  if (p == 0) _exit(0);
  waitpid(p, nullptr, 0);
  return p;
}

void expect_one_line_error(const RunResult& r, int code, const std::string& must_contain) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(r.err.rfind("profile: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(must_contain), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(RecordErrors, MissingPid) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("x.data");
  pid_t gone = reaped_pid();
  RunResult r = run_profile({"record", "-p", std::to_string(gone), "-o", out, "1"});
  expect_one_line_error(r, 1, "process " + std::to_string(gone) + " does not exist");
  EXPECT_FALSE(std::filesystem::exists(out)) << "a failed capture left its output behind";
}

TEST(RecordErrors, CpuLists) {
  expect_one_line_error(run_profile({"record", "-C", "", "1"}), 2, "empty CPU list");
  expect_one_line_error(run_profile({"record", "-C", "3-1", "1"}), 2, "start is after end");
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  RunResult r = run_profile({"record", "-C", "4095", "-o", tmp.file("x"), "1"});
  expect_one_line_error(r, 2, "CPU 4095 is not online");
  EXPECT_FALSE(std::filesystem::exists(tmp.file("x")));
}

TEST(RecordErrors, UsageMistakes) {
  expect_one_line_error(run_profile({"record", "abc"}), 2, "invalid duration 'abc'");
  expect_one_line_error(run_profile({"record", "1", "2"}), 2, "after '--'");
  expect_one_line_error(run_profile({"record", "-p", "1", "-t", "2"}), 2, "choose one target");
  expect_one_line_error(run_profile({"record", "-p", "1", "--", "true"}), 2, "-p or -t");
  expect_one_line_error(run_profile({"record", "--call-graph", "lbr"}), 2, "fp or dwarf");
  expect_one_line_error(run_profile({"record", "--call-graph", "dwarf,70000"}), 2, "65528");
  expect_one_line_error(run_profile({"record", "-U", "-K"}), 2, "exclude each other");
  expect_one_line_error(run_profile({"record", "-m", "3", "-o", "/dev/null", "1"}), 2,
                        "power of two");
}

TEST(RecordErrors, UnwritableOutput) {
  PROF_REQUIRE_LIVE();
  RunResult r = run_profile({"record", "-o", "/nonexistent-dir/x.data", "0.1"});
  expect_one_line_error(r, 1, "'/nonexistent-dir/x.data': cannot create the output");
}

TEST(RecordErrors, FullDiskIsReportedAndTheDeviceLeftAlone) {
  PROF_REQUIRE_LIVE();
  RunResult r = run_profile({"record", "-a", "-o", "/dev/full", "0.2"});
  expect_one_line_error(r, 1, "No space left on device");
  EXPECT_TRUE(std::filesystem::exists("/dev/full")) << "a failed capture removed a device";
}

TEST(RecordErrors, OutOfFileDescriptorsSaysUlimit) {
  PROF_REQUIRE_LIVE();
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizer runtimes need descriptors of their own (their checks fail first); the normal
  // build runs this test.
  GTEST_SKIP() << "not meaningful under ASan/UBSan";
#endif
  TempDir tmp;
  // Whichever descriptor runs out first (output, an event, epoll), the message says what to do.
  int failures = 0;
  for (int n = 4; n <= 16; ++n) {
    RunResult r = run({"prlimit", "--nofile=" + std::to_string(n) + ":" + std::to_string(n),
                       profile_binary(), "record", "-a", "-o", tmp.file("x"), "0.05"});
    if (r.exit_code == 0) continue;
    // Too few for the dynamic loader to open our libraries: not our message to give.
    if (r.err.find("error while loading shared libraries") != std::string::npos) continue;
    ++failures;
    expect_one_line_error(r, 1, "ulimit -n");
    EXPECT_FALSE(std::filesystem::exists(tmp.file("x"))) << "left behind with " << n << " fds";
  }
  EXPECT_GT(failures, 0);
}

TEST(RecordErrors, UnknownAndUnsupportedEvents) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("e.data");
  expect_one_line_error(run_profile({"record", "-e", "bogus_event", "-o", out, "0.1"}), 1,
                        "profile list");
  EXPECT_FALSE(std::filesystem::exists(out));
  // Hardware events do not open without a PMU (this VM); where they do, the capture works.
  RunResult ins = run_profile({"record", "-e", "instructions", "-o", out, "0.1"});
  if (ins.exit_code != 0) {
    expect_one_line_error(ins, 1, "profile list");
    EXPECT_FALSE(std::filesystem::exists(out));
  }
}

TEST(RecordErrors, CyclesFallsBackWithANotice) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string out = tmp.file("c.data");
  RunResult r = run_profile({"record", "-e", "cycles", "-a", "-o", out, "0.2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  RunResult probe = run_profile({"list", "cycles"});
  bool has_pmu = probe.out.find("cycles ") != std::string::npos &&
                 probe.out.find("[not supported here]") == std::string::npos;
  if (!has_pmu) {
    EXPECT_NE(r.err.find("'cycles' is not available here (no hardware PMU): sampling cpu-clock"),
              std::string::npos)
        << r.err;
  }
}

TEST(RecordErrors, FrequencyAboveTheKernelLimitIsClamped) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  std::string max = read_file("/proc/sys/kernel/perf_event_max_sample_rate");
  long limit = std::stol(max);
  RunResult r = run_profile(
      {"record", "-F", std::to_string(limit + 1), "-C", "0", "-o", tmp.file("f.data"), "0.05"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("using " + std::to_string(limit) + " Hz"), std::string::npos) << r.err;
}

TEST(RecordErrors, PermissionDeniedNamesParanoidAndCapPerfmon) {
  PROF_REQUIRE_LIVE();
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to an unprivileged user";
  std::string paranoid = read_file("/proc/sys/kernel/perf_event_paranoid");
  if (std::stoi(paranoid) < 1) GTEST_SKIP() << "perf_event_paranoid < 1 lets anyone sample -a";
  TempDir tmp;
  chmod(tmp.path().c_str(), 0777);
  RunResult r =
      run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
           profile_binary(), "record", "-a", "-o", tmp.file("p.data"), "0.1"});
  expect_one_line_error(r, 1, "kernel.perf_event_paranoid");
  EXPECT_NE(r.err.find("CAP_PERFMON"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(tmp.file("p.data")));
  // Its own command it may still sample, in user space, as with perf.
  RunResult own = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                       "--inh-caps=-all", profile_binary(), "record", "-g", "-o",
                       tmp.file("u.data"), "--", fixture("fx_spin"), "200"});
  EXPECT_EQ(own.exit_code, 0) << own.err;
  EXPECT_NE(own.err.find("user space only"), std::string::npos) << own.err;
  EXPECT_EQ(own.err.find("kptr_restrict"), std::string::npos) << own.err;
  EXPECT_TRUE(std::filesystem::exists(tmp.file("u.data")));
}

TEST(RecordErrors, CommandThatCannotRun) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  RunResult r = run_profile({"record", "-o", tmp.file("x"), "--", "/no/such/program"});
  expect_one_line_error(r, 1, "cannot run '/no/such/program'");
}

TEST(ListCommand, ShowsSoftwareEventsAndHowToUseTracepoints) {
  RunResult r = run_profile({"list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("cpu-clock"), std::string::npos);
  EXPECT_NE(r.out.find("task-clock"), std::string::npos);
  RunResult f = run_profile({"list", "page-faults"});
  EXPECT_NE(f.out.find("page-faults"), std::string::npos);
  EXPECT_EQ(f.out.find("cpu-clock"), std::string::npos) << "filter ignored";
}

}  // namespace

// An unprivileged user (nobody, via setpriv) with kernel.perf_event_paranoid at 2: every entry
// point that samples says why it cannot and what to do, in one line, and leaves no output
// behind. tests/collector/record_errors_test.cpp (PermissionDeniedNamesParanoidAndCapPerfmon)
// covers `profile record -a` and the user-space fallback for an own command at whatever
// paranoid level the machine has; this suite pins the level to 2 and covers the other commands.
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "reliability_support.h"
#include "test_support.h"

namespace {

using namespace prof::test;
namespace fs = std::filesystem;

std::vector<std::string> as_nobody(std::vector<std::string> args) {
  std::vector<std::string> argv = {"setpriv",        "--reuid=65534",   "--regid=65534",
                                   "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                                   profile_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

class Unprivileged : public ::testing::Test {
 protected:
  void SetUp() override {
    PROF_REQUIRE_LIVE();
    if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to an unprivileged user";
    paranoid_ = std::make_unique<ScopedSysctl>("/proc/sys/kernel/perf_event_paranoid", "2");
    if (!paranoid_->ok()) {
      if (env_flag("PROF_REQUIRE_LIVE")) FAIL() << "cannot set kernel.perf_event_paranoid";
      GTEST_SKIP() << "cannot set kernel.perf_event_paranoid";
    }
    ::chmod(tmp_.path().c_str(), 0777);
  }

  // The one-line error of a system-wide attempt, and nothing left in the output directory.
  void expect_refused(const RunResult& r) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(is_one_line_error(r.err, "perf_event_paranoid")) << r.err;
    EXPECT_NE(r.err.find("CAP_PERFMON"), std::string::npos) << r.err;
    for (const auto& e : fs::directory_iterator(tmp_.path()))
      ADD_FAILURE() << "left behind: " << e.path();
  }

  TempDir tmp_;
  std::unique_ptr<ScopedSysctl> paranoid_;
};

TEST_F(Unprivileged, RecordSystemWide) {
  expect_refused(run(as_nobody({"record", "-a", "-o", tmp_.file("x.data"), "0.2"})));
}

TEST_F(Unprivileged, RecordOneCpu) {
  expect_refused(run(as_nobody({"record", "-C", "0", "-o", tmp_.file("x.data"), "0.2"})));
}

TEST_F(Unprivileged, AllInOneSystemWide) {
  RunResult r = run(as_nobody({"-a", "-o", tmp_.file("out.svg"), "0.2"}));
  expect_refused(r);
  EXPECT_TRUE(r.out.empty()) << "printed a partial result";
}

TEST_F(Unprivileged, AllInOneToStdoutWritesNothing) {
  RunResult r = run(as_nobody({"-a", "0.2"}));
  expect_refused(r);
  EXPECT_TRUE(r.out.empty());
}

TEST_F(Unprivileged, TopSystemWide) {
  RunResult r = run(as_nobody({"top", "-a", "0.2"}));
  expect_refused(r);
}

TEST_F(Unprivileged, AnotherUsersProcess) {
  // Root's process is not ours to sample at any paranoid level without CAP_PERFMON/ptrace.
  pid_t target = spawn_execed({fixture("fx_spin"), "5000"});
  RunResult r =
      run(as_nobody({"record", "-p", std::to_string(target), "-o", tmp_.file("x.data"), "0.2"}));
  ::kill(target, SIGKILL);
  wait_for(target, 5000);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // The error is the last line (a notice about the user-space fallback may precede it).
  const auto last = r.err.rfind("profile: error: ");
  ASSERT_NE(last, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n', last), r.err.size() - 1) << r.err;
  EXPECT_NE(r.err.find("Permission denied", last), std::string::npos) << r.err;
  // The cause is ptrace access to another user's process, which no paranoid level grants.
  // Fails on 7976355: the line blamed kernel.perf_event_paranoid (a docs/RELIABILITY.md gap).
  EXPECT_NE(r.err.find("belongs to another user (uid 0)", last), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CAP_SYS_PTRACE", last), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("perf_event_paranoid", last), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp_.file("x.data")));
}

TEST_F(Unprivileged, OwnCommandStillProfilesInUserSpace) {
  RunResult r = run(as_nobody({"--format", "folded", "--", fixture("fx_spin"), "300"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("spin_here"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("user space only"), std::string::npos) << r.err;
}

// Issue 14 item 8: tracefs mounted, but root-only. Mounted here in a private mount namespace
// of the test's own: with mode=0700 the user may not enter it; with mode=0755 the directory is
// open but the tracepoint's id file is root's (0440). Either way the error names the path and
// "Permission denied". Whatever the system has mounted at /sys/kernel/tracing (perf mounts
// tracefs there on first use, so after the peer tests it often is) is first detached inside the
// namespace only: mounting tracefs on top of itself is EBUSY. tracefs is one superblock per
// system, so mode= reaches the system's mount too; the fixture puts the root mode back.
// Fails on e91aebd: "unknown event 'sched:sched_switch' (event not found); if it is a
// tracepoint, tracefs is not mounted: mount it with ..." (and, for 0755, "no tracepoint
// /sys/kernel/tracing/events/sched/sched_switch and libpfm4 says: event not found").
RunResult off_cpu_as_nobody_with_tracefs_mode(const std::string& mode) {
  std::vector<std::string> argv = {"unshare",
                                   "-m",
                                   "--propagation",
                                   "private",
                                   "sh",
                                   "-c",
                                   "umount -l /sys/kernel/tracing 2>/dev/null; "
                                   "mount -t tracefs -o mode=" +
                                       mode + " nodev /sys/kernel/tracing && exec \"$@\"",
                                   "sh"};
  for (auto& a : as_nobody({"--off-cpu", "--format", "folded", "--", "true"})) argv.push_back(a);
  return run(argv);
}

// The system's tracefs root mode, put back when the test ends (see above: mode= is global).
class TracefsModeRestorer {
 public:
  TracefsModeRestorer() {
    constexpr long kTracefsMagic = 0x74726163;
    struct statfs fs;
    struct stat st;
    if (::statfs(kPath, &fs) == 0 && static_cast<long>(fs.f_type) == kTracefsMagic &&
        ::stat(kPath, &st) == 0)
      mode_ = st.st_mode & 07777;
  }
  ~TracefsModeRestorer() {
    if (mode_ < 0) return;
    char octal[16];
    std::snprintf(octal, sizeof octal, "%o", static_cast<unsigned>(mode_));
    run({"unshare", "-m", "--propagation", "private", "sh", "-c",
         std::string("umount -l ") + kPath + "; mount -t tracefs -o mode=" + octal + " nodev " +
             kPath});
  }

 private:
  static constexpr const char* kPath = "/sys/kernel/tracing";
  int mode_ = -1;
};

TEST_F(Unprivileged, OffCpuWithRootOnlyTracefsSaysPermissionDenied) {
  TracefsModeRestorer restore;
  RunResult r = off_cpu_as_nobody_with_tracefs_mode("0700");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(is_one_line_error(r.err, "'/sys/kernel/tracing': Permission denied")) << r.err;
  EXPECT_EQ(r.err.find("not mounted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sched:sched_switch"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;

  r = off_cpu_as_nobody_with_tracefs_mode("0755");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(is_one_line_error(
      r.err, "'/sys/kernel/tracing/events/sched/sched_switch/id': Permission denied"))
      << r.err;
  EXPECT_EQ(r.err.find("not mounted"), std::string::npos) << r.err;
}

}  // namespace

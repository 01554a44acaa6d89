#include "prof/collector/events.h"

#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"

using prof::collector::resolve_event;

TEST(ResolveEvent, SoftwareEventsThroughLibpfm) {
  auto ev = resolve_event("cpu-clock");
  ASSERT_TRUE(ev) << ev.error().message;
  EXPECT_EQ(ev->attr.type, PERF_TYPE_SOFTWARE);
  EXPECT_EQ(ev->attr.config, PERF_COUNT_SW_CPU_CLOCK);
  EXPECT_EQ(ev->name, "cpu-clock");
  EXPECT_FALSE(ev->tracepoint);
  EXPECT_FALSE(ev->own_rate);
  auto tc = resolve_event("task-clock");
  ASSERT_TRUE(tc);
  EXPECT_EQ(tc->attr.config, PERF_COUNT_SW_TASK_CLOCK);
}

TEST(ResolveEvent, HardwareEventsAndModifiers) {
  auto cyc = resolve_event("cycles");
  ASSERT_TRUE(cyc) << cyc.error().message;
  EXPECT_TRUE(cyc->is_cycles());
  auto ins = resolve_event("instructions:u");
  ASSERT_TRUE(ins) << ins.error().message;
  EXPECT_EQ(ins->attr.type, PERF_TYPE_HARDWARE);
  EXPECT_EQ(ins->attr.config, PERF_COUNT_HW_INSTRUCTIONS);
  EXPECT_EQ(ins->attr.exclude_kernel, 1u);
  EXPECT_EQ(ins->attr.exclude_user, 0u);
  EXPECT_FALSE(ins->is_cycles());
  auto raw = resolve_event("r003c");
  ASSERT_TRUE(raw) << raw.error().message;
  EXPECT_EQ(raw->attr.type, PERF_TYPE_RAW);
  EXPECT_EQ(raw->attr.config, 0x3cu);
}

TEST(ResolveEvent, PeriodModifierSetsOwnRate) {
  auto ev = resolve_event("cpu-clock:period=100000");
  ASSERT_TRUE(ev) << ev.error().message;
  EXPECT_TRUE(ev->own_rate);
  EXPECT_EQ(ev->attr.sample_period, 100000u);
}

TEST(ResolveEvent, UnknownEventSaysHowToList) {
  auto ev = resolve_event("no_such_event_xyz");
  ASSERT_FALSE(ev);
  EXPECT_EQ(ev.error().code, prof::Errc::kNotFound);
  EXPECT_NE(ev.error().message.find("no_such_event_xyz"), std::string::npos);
  EXPECT_NE(ev.error().message.find("profile list"), std::string::npos);
  EXPECT_FALSE(resolve_event(""));
}

TEST(ResolveEvent, TracepointFromTracefsOrAClearError) {
  std::string dir = prof::collector::tracefs_events_dir();
  auto ev = resolve_event("sched:sched_switch");
  if (dir.empty()) {
    // The machine this project builds on has no tracefs mounted; the error must say so.
    ASSERT_FALSE(ev);
    EXPECT_NE(ev.error().message.find("tracefs"), std::string::npos) << ev.error().message;
    return;
  }
  ASSERT_TRUE(ev) << ev.error().message;
  EXPECT_TRUE(ev->tracepoint);
  EXPECT_EQ(ev->attr.type, PERF_TYPE_TRACEPOINT);
  EXPECT_GT(ev->attr.config, 0u);
  // The format travels with the event: it names the tracepoint's id and raw field offsets.
  EXPECT_EQ(ev->tracepoint_system, "sched");
  auto format = prof::perf::parse_tracepoint_format(ev->tracepoint_format);
  ASSERT_TRUE(format) << format.error().message;
  EXPECT_EQ(format->name, "sched_switch");
  EXPECT_EQ(format->id, ev->attr.config);
  for (const char* f : {"prev_pid", "prev_state", "next_pid"})
    EXPECT_NE(format->field(f), nullptr) << f;
  // perf's tracing data for it: this format under "sched", plus the tracefs headers.
  auto td = prof::collector::tracing_data_for({*ev});
  ASSERT_TRUE(td) << td.error().message;
  ASSERT_TRUE(td->has_value());
  ASSERT_EQ((*td)->systems.size(), 1u);
  EXPECT_EQ((*td)->systems[0].name, "sched");
  EXPECT_EQ((*td)->systems[0].formats.at(0), ev->tracepoint_format);
  EXPECT_NE((*td)->header_page.find("timestamp"), std::string::npos);
  EXPECT_FALSE((*td)->header_event.empty());
  auto none = prof::collector::tracing_data_for({*resolve_event("cpu-clock")});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto missing = resolve_event("sched:no_such_tracepoint");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no tracepoint"), std::string::npos);
}

TEST(ListEvents, OffersSoftwareClocksAsAvailable) {
  auto list = prof::collector::list_events("clock");
  ASSERT_TRUE(list) << list.error().message;
  bool cpu_clock = false;
  for (const auto& e : *list) {
    EXPECT_NE(e.name.find("clock"), std::string::npos) << e.name;
    if (e.name == "cpu-clock") cpu_clock = e.available;
  }
  EXPECT_TRUE(cpu_clock) << "cpu-clock should open on any Linux";
}

// ---- Locating tracefs (issue 14 item 8) ----
//
// find_tracefs() on a tree of our own: a "tracefs" directory the user may not search must be
// told apart from no tracefs at all. Permissions only bind a user without CAP_DAC_OVERRIDE, so
// the lookup runs in a child that became nobody (the test runs as root in CI).
// Fails on e91aebd: find_tracefs() did not exist; the lookup gave "" for both trees below,
// which the CLI reported as "tracefs is not mounted".

namespace {

// find_tracefs(root) as uid/gid 65534, in a forked child: "events_dir\ndenied".
std::string find_tracefs_as_nobody(const std::string& root) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string out = "setuid failed";
    if (::setgroups(0, nullptr) == 0 && ::setgid(65534) == 0 && ::setuid(65534) == 0) {
      auto look = prof::collector::find_tracefs(root);
      out = look.events_dir + "\n" + look.denied;
    }
    ssize_t n = ::write(fds[1], out.data(), out.size());
    ::_exit(n == static_cast<ssize_t>(out.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  std::string got;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return got;
}

void make_dir(const std::string& path, mode_t mode) {
  std::filesystem::create_directories(path);
  ::chmod(path.c_str(), mode);
}

// `root`: a fresh directory tree that nobody may search (0755); the tests run as root.
class FindTracefs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      if (prof::test::env_flag("PROF_REQUIRE_LIVE")) FAIL() << "needs root to become nobody";
      GTEST_SKIP() << "needs root to become nobody";
    }
    ::chmod(root.c_str(), 0755);
  }
  prof::test::TempDir tmp;
  const std::string root = tmp.path();
};

}  // namespace

TEST_F(FindTracefs, RootOnlyTracefsIsDeniedNotMissing) {
  make_dir(root + "/sys/kernel/debug", 0755);
  make_dir(root + "/sys/kernel/tracing/events/sched/sched_switch", 0755);
  prof::test::write_file(root + "/sys/kernel/tracing/events/sched/sched_switch/id", "316\n");
  ::chmod((root + "/sys/kernel/tracing").c_str(), 0700);  // tracefs's default mode

  // Root sees it; nobody is told why not.
  auto as_root = prof::collector::find_tracefs(root);
  EXPECT_EQ(as_root.events_dir, root + "/sys/kernel/tracing/events");
  EXPECT_EQ(as_root.denied, "");
  EXPECT_EQ(find_tracefs_as_nobody(root), "\n" + root + "/sys/kernel/tracing");

  // Opened up, nobody finds it.
  ::chmod((root + "/sys/kernel/tracing").c_str(), 0755);
  EXPECT_EQ(find_tracefs_as_nobody(root), root + "/sys/kernel/tracing/events\n");
}

TEST_F(FindTracefs, MountedElsewhereAndNowhere) {
  make_dir(root + "/proc", 0755);
  // Nothing mounted: no events dir, and nothing denied ("not mounted" is then the truth).
  EXPECT_EQ(find_tracefs_as_nobody(root), "\n");

  // A tracefs mounted at /mnt/trace (proc/mounts says so), root-only.
  make_dir(root + "/mnt/trace/events", 0755);
  ::chmod((root + "/mnt/trace").c_str(), 0700);
  prof::test::write_file(root + "/proc/mounts",
                         "proc /proc proc rw 0 0\nnodev /mnt/trace tracefs rw,relatime 0 0\n");
  EXPECT_EQ(find_tracefs_as_nobody(root), "\n" + root + "/mnt/trace");
  EXPECT_EQ(prof::collector::find_tracefs(root).events_dir, root + "/mnt/trace/events");
}

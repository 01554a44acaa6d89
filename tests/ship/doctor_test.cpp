// `profile doctor` against the machine's real state, read here independently: as root (CI),
// and as nobody through setpriv, where the verdicts follow perf_event_paranoid, kptr_restrict
// and what nobody itself can read.
#include <gtest/gtest.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace prof {
namespace {

namespace fs = std::filesystem;
using test::run;

struct Verdict {
  std::string status, text;  // "ok"/"warn"/"fail", everything after "CHECK: "
};

// "ok    check name: what was found; fix: ..." -> {check name: {ok, ...}}; every line must
// have that shape.
std::map<std::string, Verdict> parse_doctor(const std::string& out) {
  std::map<std::string, Verdict> v;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    const std::string status = l.substr(0, l.find(' '));
    EXPECT_TRUE(status == "ok" || status == "warn" || status == "fail") << l;
    const auto colon = l.find(": ");
    if (l.size() < 6 || colon == std::string::npos) {
      ADD_FAILURE() << "not 'STATUS CHECK: FOUND': " << l;
      continue;
    }
    v[l.substr(6, colon - 6)] = {status, l.substr(colon + 2)};
  }
  return v;
}

long long read_number(const std::string& path) {
  std::ifstream in(path);
  long long v = 0;
  in >> v;
  return v;
}

// Whether `/proc/kallsyms`, read as `reader` sees it, shows a non-zero address.
bool kallsyms_visible(const std::vector<std::string>& reader) {
  std::vector<std::string> argv = reader;
  argv.insert(argv.end(), {"head", "-n", "64", "/proc/kallsyms"});
  auto r = run(argv);
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);)
    if (l.substr(0, l.find(' ')).find_first_not_of('0') != std::string::npos) return true;
  return false;
}

std::string ns_link(const char* which) {
  return fs::read_symlink(std::string("/proc/self/ns/") + which);
}

const char* const kChecks[] = {"perf_event_paranoid", "capabilities",   "system-wide sampling",
                               "hardware PMU",        "kernel symbols", "tracefs",
                               "max sample rate",     "locked memory",  "libc frame pointers",
                               "debug info",          "seccomp",        "namespaces"};

// What either user sees alike: this process's seccomp mode and namespaces (inherited by the
// child), the sample-rate sysctl.
void expect_shared_lines(const std::map<std::string, Verdict>& v) {
  for (const char* c : kChecks) EXPECT_TRUE(v.count(c)) << "no line for " << c;
  std::ifstream status("/proc/self/status");
  std::string seccomp = "0";
  for (std::string l; std::getline(status, l);)
    if (l.rfind("Seccomp:", 0) == 0) seccomp = l.substr(l.find_first_not_of(" \t", 8));
  if (seccomp == "0") EXPECT_EQ(v.at("seccomp").text, "no seccomp filter on this process");
  else EXPECT_NE(v.at("seccomp").text.find("Seccomp: " + seccomp), std::string::npos);
  const bool host = ns_link("user") == "user:[4026531837]" && ns_link("pid") == "pid:[4026531836]";
  EXPECT_EQ(v.at("namespaces").status, host ? "ok" : "warn") << v.at("namespaces").text;
  const auto rate = read_number("/proc/sys/kernel/perf_event_max_sample_rate");
  EXPECT_NE(v.at("max sample rate").text.find("perf_event_max_sample_rate=" + std::to_string(rate)),
            std::string::npos);
}

TEST(Doctor, AsRootSystemWideSamplingWorks) {
  if (::geteuid() != 0) PROF_SKIP_UNLESS_REQUIRED("needs root");
  PROF_REQUIRE_LIVE();
  auto r = test::run_profile({"doctor"});
  auto v = parse_doctor(r.out);
  expect_shared_lines(v);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(v["system-wide sampling"].status, "ok") << v["system-wide sampling"].text;
  const auto paranoid = read_number("/proc/sys/kernel/perf_event_paranoid");
  EXPECT_EQ(v["perf_event_paranoid"].status, "ok");
  EXPECT_NE(
      v["perf_event_paranoid"].text.find("kernel.perf_event_paranoid=" + std::to_string(paranoid)),
      std::string::npos)
      << v["perf_event_paranoid"].text;
  EXPECT_EQ(v["kernel symbols"].status, kallsyms_visible({}) ? "ok" : "warn");
  EXPECT_EQ(v["locked memory"].status, "ok") << v["locked memory"].text;
}

// nobody, its groups and capabilities gone, runs a copy of the binary in a directory it may
// enter (the build tree's may be private).
TEST(Doctor, AsNobodyFollowsParanoidAndSaysTheFix) {
  if (::geteuid() != 0) PROF_SKIP_UNLESS_REQUIRED("needs root to become nobody");
  struct passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  // Under /tmp, not $TMPDIR: nobody must be able to reach it, and $TMPDIR may be private.
  char dir_template[] = "/tmp/profile-doctor-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  struct Cleanup {
    std::string dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{dir_template};
  ASSERT_EQ(::chmod(dir_template, 0755), 0);
  const std::string bin = std::string(dir_template) + "/profile";
  fs::copy_file(test::profile_binary(), bin);
  const std::vector<std::string> as_nobody = {"setpriv", "--reuid=nobody", "--regid=nogroup",
                                              "--clear-groups", "--inh-caps=-all"};
  std::vector<std::string> argv = as_nobody;
  argv.insert(argv.end(), {bin, "doctor"});
  auto r = run(argv);
  auto v = parse_doctor(r.out);
  expect_shared_lines(v);

  EXPECT_EQ(v["capabilities"].status, "warn");
  EXPECT_NE(v["capabilities"].text.find("uid " + std::to_string(nobody->pw_uid)), std::string::npos)
      << v["capabilities"].text;
  // perf_event_open(2): unprivileged CPU-wide events need perf_event_paranoid <= 0.
  const auto paranoid = read_number("/proc/sys/kernel/perf_event_paranoid");
  const std::string fix = "fix: sudo sysctl kernel.perf_event_paranoid=-1";
  if (paranoid > 0) {
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(v["system-wide sampling"].status, "fail");
    EXPECT_NE(v["system-wide sampling"].text.find(fix), std::string::npos)
        << v["system-wide sampling"].text;
    EXPECT_EQ(v["perf_event_paranoid"].status, "fail");
    EXPECT_NE(v["perf_event_paranoid"].text.find("kernel.perf_event_paranoid=" +
                                                 std::to_string(paranoid)),
              std::string::npos);
    EXPECT_NE(v["perf_event_paranoid"].text.find(fix), std::string::npos);
  } else {
    EXPECT_EQ(v["perf_event_paranoid"].status, "ok") << v["perf_event_paranoid"].text;
    EXPECT_EQ(r.exit_code == 0, v["system-wide sampling"].status == "ok") << r.out;
  }
  const bool visible = kallsyms_visible(as_nobody);
  EXPECT_EQ(v["kernel symbols"].status, visible ? "ok" : "warn") << v["kernel symbols"].text;
  if (!visible) {
    EXPECT_NE(v["kernel symbols"].text.find("; fix: "), std::string::npos);
  }
}

TEST(Doctor, RejectsArguments) {
  auto r = test::run_profile({"doctor", "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("profile: error: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace prof

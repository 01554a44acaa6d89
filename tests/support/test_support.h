// Shared helpers for the GoogleTest suites: running the `profile` binary, temp dirs, locating
// peer data and fixtures, and the live-test guard that turns a skip into a failure in CI.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace prof::test {

struct RunResult {
  int exit_code = -1;  // -signal when killed by a signal
  std::string out, err;
};

// Runs argv (argv[0] looked up in PATH unless it contains '/'), feeding `input` on stdin.
RunResult run(const std::vector<std::string>& argv, const std::string& input = "");
// Runs the built `profile` binary with the given arguments.
RunResult run_profile(const std::vector<std::string>& args, const std::string& input = "");

std::string profile_binary();                  // $PROF_BINARY
std::string source_dir();                      // $PROF_SOURCE_DIR
std::string fixture_dir();                     // $PROF_FIXTURE_DIR
std::string fixture(const std::string& name);  // fixture_dir() + "/" + name

// Peer data root ($PROF_PEER_DIR) or "" when absent (see PROF_REQUIRE_PEER_DATA).
std::string peer_dir();

// True when perf_event_open works here (opens a cpu-clock counter on this process).
bool live_sampling_available(std::string* why = nullptr);
bool env_flag(const char* name);  // "1"/"true"/"yes"

// Starts argv in the background (stdin/stdout/stderr from/to files, /dev/null by default);
// returns its pid (-1 if fork failed).
pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path = "/dev/null",
            const std::string& err_path = "/dev/null", const std::string& in_path = "/dev/null");
// Starts argv (argv[0] an absolute path) and returns once the child has exec'd it, so that a
// `-p PID` capture sees the program and not the forked copy of the test.
pid_t spawn_execed(const std::vector<std::string>& argv);
// waitpid with a deadline; on timeout kills it and returns -1000. Else the exit status, or
// -signal when killed by a signal.
int wait_for(pid_t pid, int timeout_ms);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& data);

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace prof::test

// Use at the top of a live-sampling test. Skips where perf_event_open is denied, but fails
// instead when PROF_REQUIRE_LIVE=1 (CI runs as root, where a skip would hide a broken capture).
#define PROF_REQUIRE_LIVE()                                                           \
  do {                                                                                \
    std::string prof_why_;                                                            \
    if (!::prof::test::live_sampling_available(&prof_why_)) {                         \
      if (::prof::test::env_flag("PROF_REQUIRE_LIVE"))                                \
        FAIL() << "live sampling unavailable but PROF_REQUIRE_LIVE=1: " << prof_why_; \
      GTEST_SKIP() << "live sampling unavailable: " << prof_why_;                     \
    }                                                                                 \
  } while (0)

// Skips a test whose environment lacks something it needs, except where PROF_REQUIRE_LIVE=1
// (CI: root, perf installed, /proc/kallsyms readable, cgroup v2), where that is a failure.
#define PROF_SKIP_UNLESS_REQUIRED(why)                                \
  do {                                                                \
    if (::prof::test::env_flag("PROF_REQUIRE_LIVE")) FAIL() << (why); \
    GTEST_SKIP() << (why);                                            \
  } while (0)

// Use in peer-conformance tests: yields the peer dir; skips when absent, fails in CI
// (PROF_REQUIRE_PEERS=1).
#define PROF_REQUIRE_PEERS(var)                                                 \
  std::string var = ::prof::test::peer_dir();                                   \
  do {                                                                          \
    if (var.empty()) {                                                          \
      if (::prof::test::env_flag("PROF_REQUIRE_PEERS"))                         \
        FAIL() << "peer data missing (PROF_PEER_DIR) but PROF_REQUIRE_PEERS=1"; \
      GTEST_SKIP() << "peer data missing: set PROF_PEER_DIR";                   \
    }                                                                           \
  } while (0)

// `profile --every 2s --push URL` against a loopback Pyroscope stand-in
// (pyroscope_receiver.py: it checks each request as Pyroscope's /ingest does and keeps the
// pprof part) that goes down for 3 s after the first window: every one of the 5 windows of a
// 10 s run arrives exactly once, in order, with the app name, labels, tenant and token, and
// `go tool pprof` reads each body.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace {

using namespace prof::test;
namespace fs = std::filesystem;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : "";
}

// One string field of the receiver's flat JSON records ("key": "value").
std::string json_field(const std::string& json, const std::string& key) {
  std::smatch m;
  std::regex re("\"" + key + "\": \"([^\"]*)\"");
  return std::regex_search(json, m, re) ? m[1].str() : "";
}

// Starts the receiver and waits (generously) for its port.
struct Receiver {
  pid_t pid = -1;
  std::string port;
  Receiver(const std::string& dir, const std::vector<std::string>& extra) {
    std::vector<std::string> argv{env("PROF_PYTHON"), env("PROF_RECEIVER"), "--dir", dir,
                                  "--port-file",      dir + "/port"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid = spawn(argv, "/dev/null", dir + "/receiver.err");
    for (int i = 0; i < 600 && !fs::exists(dir + "/port"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (fs::exists(dir + "/port")) port = read_file(dir + "/port");
  }
  ~Receiver() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      wait_for(pid, 10000);
    }
  }
};

TEST(Push, FiveWindowsThroughAThreeSecondOutageArriveOnceInOrder) {
  PROF_REQUIRE_LIVE();
  if (env("PROF_GO").empty() || env("PROF_PYTHON").empty())
    PROF_SKIP_UNLESS_REQUIRED("go and python3 are needed");
  TempDir tmp;
  const std::string got = tmp.file("received");
  fs::create_directories(got);
  Receiver rx(got, {"--down-after", "1", "--down-seconds", "3"});
  ASSERT_FALSE(rx.port.empty()) << read_file(got + "/receiver.err");
  write_file(tmp.file("token"), "s3cret-token\n");
  RunResult r =
      run_profile({"-a", "--every", "2s", "--push", "http://127.0.0.1:" + rx.port, "--app-name",
                   "ci.app", "--labels", "env=ci,team=perf", "--tenant", "tenant-1", "--token-file",
                   tmp.file("token"), "--spool-dir", tmp.file("spool"), "10s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The outage happened, and a window met it.
  EXPECT_TRUE(fs::exists(got + "/down.json"));
  EXPECT_TRUE(fs::exists(got + "/up.json"));
  EXPECT_NE(r.err.find("cannot push"), std::string::npos) << r.err;

  std::vector<std::string> records, rejected;
  for (const auto& e : fs::directory_iterator(got)) {
    const std::string n = e.path().filename().string();
    if (std::regex_match(n, std::regex(R"(\d{3}\.json)"))) records.push_back(e.path().string());
    if (n.find("rejected") != std::string::npos) rejected.push_back(read_file(e.path()));
  }
  std::sort(records.begin(), records.end());
  EXPECT_TRUE(rejected.empty()) << rejected.front();
  ASSERT_EQ(records.size(), 5u) << r.err;

  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::uint64_t prev_until = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    SCOPED_TRACE(records[i]);
    const std::string j = read_file(records[i]);
    EXPECT_EQ(json_field(j, "app"), "ci.app");
    EXPECT_EQ(json_field(j, "env"), "ci");
    EXPECT_EQ(json_field(j, "team"), "perf");
    EXPECT_EQ(json_field(j, "host"), host);
    EXPECT_EQ(json_field(j, "format"), "pprof");
    EXPECT_EQ(json_field(j, "sampleRate"), "99");
    EXPECT_EQ(json_field(j, "X-Scope-OrgID"), "tenant-1");
    EXPECT_EQ(json_field(j, "Authorization"), "Bearer s3cret-token");
    // In order and each once: every window starts where the one before ended.
    const std::uint64_t from = std::stoull(json_field(j, "from"));
    const std::uint64_t until = std::stoull(json_field(j, "until"));
    EXPECT_LT(from, until);
    if (i > 0) {
      EXPECT_EQ(from, prev_until) << "window " << i;
    }
    prev_until = until;
    const std::string body = records[i].substr(0, records[i].size() - 5) + ".pb.gz";
    RunResult go = run({env("PROF_GO"), "tool", "pprof", "-raw", body});
    EXPECT_EQ(go.exit_code, 0) << go.err;
    EXPECT_NE(go.out.find("samples/count"), std::string::npos);
    // Labels a server turns into series: comm, not one per thread.
    EXPECT_NE(go.out.find("comm:["), std::string::npos);
    EXPECT_EQ(go.out.find("tid:["), std::string::npos);
  }
  // Nothing is left waiting.
  std::size_t left = 0;
  for (const auto& e : fs::directory_iterator(tmp.file("spool")))
    if (e.path().filename().string().rfind("w", 0) == 0) ++left;
  EXPECT_EQ(left, 0u);
}

}  // namespace

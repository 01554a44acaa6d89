// The parts of always-on profiling that need no sampling: --output-dir's names and retention,
// a window's compacted profile, sizes, the ingest URL, the push spool and its sender thread
// against the loopback Pyroscope stand-in (down, then up, then a second run; a full spool), and
// the one-line errors for bad options.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "continuous.h"
#include "prof/interop/convert.h"
#include "push.h"
#include "test_support.h"

namespace {

using namespace prof::test;
using prof::app::Window;
namespace fs = std::filesystem;

Window window_at(std::uint64_t i) {
  Window w;
  w.index = i;
  w.start_mono_ns = 1000 + i * 2'000'000'000ull;
  w.end_mono_ns = w.start_mono_ns + 2'000'000'000ull;
  w.start_unix_ns = 1'765'000'000'000'000'000ull + i * 2'000'000'000ull;
  w.end_unix_ns = w.start_unix_ns + 2'000'000'000ull;
  return w;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

TEST(WindowDirectory, NamesSortByStartAndRetentionKeepsTheNewest) {
  TempDir tmp;
  prof::app::WindowDirectory dir({.dir = tmp.path(), .host = "web-1", .keep = 3});
  ASSERT_TRUE(dir.prepare());
  write_file(tmp.file("notes.txt"), "not a window");  // never touched
  write_file(tmp.file("other-host_20200101T000000.000Z.pb.gz"), "x");
  for (std::uint64_t i = 0; i < 6; ++i)
    ASSERT_TRUE(dir.write(window_at(i), "window " + std::to_string(i)));
  auto names = names_in(tmp.path());
  ASSERT_EQ(names.size(), 5u);
  EXPECT_EQ(names[0], "notes.txt");
  EXPECT_EQ(names[1], "other-host_20200101T000000.000Z.pb.gz");
  EXPECT_EQ(names[2], dir.file_name(window_at(3)));
  EXPECT_EQ(read_file(tmp.file(names[4])), "window 5");
  EXPECT_EQ(dir.removed(), 3u);
  EXPECT_EQ(dir.file_name(window_at(0)), "web-1_20251206T054640.000Z.pb.gz");
}

TEST(WindowDirectory, MaxBytesDropsOldestButNeverTheNewest) {
  TempDir tmp;
  prof::app::WindowDirectory dir({.dir = tmp.path(), .host = "h", .max_bytes = 25});
  for (std::uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(dir.write(window_at(i), std::string(10, 'a')));
  EXPECT_EQ(names_in(tmp.path()).size(), 2u);
  ASSERT_TRUE(dir.write(window_at(9), std::string(100, 'b')));  // alone over the bound
  auto names = names_in(tmp.path());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0], dir.file_name(window_at(9)));
}

TEST(WindowDirectory, AnUnwritableDirectoryIsOneError) {
  TempDir tmp;
  write_file(tmp.file("file"), "");
  prof::app::WindowDirectory dir({.dir = tmp.file("file") + "/sub", .host = "h"});
  auto r = dir.prepare();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("--output-dir"), std::string::npos);
}

TEST(WindowProfile, KeepsOnlyWhatTheSamplesUse) {
  prof::Profile p;
  auto used_fn = p.add_function("used");
  auto unused_fn = p.add_function("unused");
  auto map = p.add_mapping("/bin/app", "abcd");
  auto unused_map = p.add_mapping("/lib/other.so");
  auto l1 = p.add_location(0x10, map, {prof::Line{.function = used_fn}});
  p.add_location(0x20, unused_map, {prof::Line{.function = unused_fn}});
  prof::Sample s;
  s.stack = p.intern_stack(std::span(&l1, 1));
  s.comm = p.intern("app");
  s.count = 3;
  p.add_sample(s);
  s.tid = s.pid = 7;
  p.add_sample(s);
  s.tid = 8;
  p.add_sample(s);
  prof::Profile w = prof::app::window_profile(p);
  EXPECT_EQ(w.locations().size(), 1u);
  EXPECT_EQ(w.mappings().size(), 2u);  // "no mapping" and /bin/app
  EXPECT_EQ(w.samples().size(), 3u);
  EXPECT_EQ(prof::interop::to_folded(w), prof::interop::to_folded(p));
  // For a server: no thread labels, and samples that then agree are one.
  prof::Profile pushed = prof::app::window_profile(p, /*thread_labels=*/false);
  ASSERT_EQ(pushed.samples().size(), 1u);
  EXPECT_EQ(pushed.samples()[0].count, 9u);
  EXPECT_EQ(pushed.samples()[0].tid, prof::kUnknownPid);
  EXPECT_EQ(prof::interop::to_folded(pushed), prof::interop::to_folded(p));
}

TEST(Sizes, ParseWithBinaryUnitsAndRefuseTheRest) {
  using prof::app::parse_size;
  EXPECT_EQ(*parse_size("1000", "--x"), 1000u);
  EXPECT_EQ(*parse_size("64k", "--x"), 64u << 10);
  EXPECT_EQ(*parse_size("500M", "--x"), 500ull << 20);
  EXPECT_EQ(*parse_size("2GiB", "--x"), 2ull << 30);
  for (const char* bad : {"", "M", "5Q", "-1", "99999999999999999999", "20000000000T"}) {
    auto r = parse_size(bad, "--max-bytes");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("--max-bytes"), std::string::npos);
  }
}

TEST(IngestUrl, CarriesNameLabelsAndTheWindow) {
  prof::app::PushOptions o;
  o.url = "http://pyro:4040";
  o.app_name = "web.cpu";
  o.labels = {{"env", "prod"}, {"host", "h1"}};
  EXPECT_EQ(prof::app::ingest_url(o, 100, 110),
            "http://pyro:4040/ingest?name=web.cpu%7Benv%3Dprod%2Chost%3Dh1%7D&from=100&until=110"
            "&format=pprof&sampleRate=99&spyName=profile&units=samples&aggregationType=sum");
  o.url = "http://pyro:4040/ingest";
  EXPECT_EQ(prof::app::ingest_url(o, 1, 2).rfind("http://pyro:4040/ingest?name=", 0), 0u);
}

// A TCP port nothing listens on (bound, then closed): connections to it are refused.
std::string refused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return std::to_string(ntohs(a.sin_port));
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : "";
}

prof::app::PushOptions push_to(const std::string& port, const std::string& spool) {
  prof::app::PushOptions o;
  o.url = "http://127.0.0.1:" + port;
  o.app_name = "unit";
  o.labels = {{"host", "h"}};
  o.spool_dir = spool;
  o.quiet = true;
  o.backoff_min = std::chrono::milliseconds(20);
  o.backoff_max = std::chrono::milliseconds(200);
  return o;
}

TEST(Pusher, WindowsOfADownServerWaitInTheSpoolAndGoFirstNextRun) {
  if (env("PROF_PYTHON").empty()) PROF_SKIP_UNLESS_REQUIRED("python3 is needed");
  TempDir tmp;
  const std::string spool = tmp.file("spool");
  {
    auto o = push_to(refused_port(), spool);
    o.exit_timeout = std::chrono::milliseconds(300);
    auto p = prof::app::Pusher::start(o, nullptr);
    ASSERT_TRUE(p) << p.error().message;
    for (std::uint64_t i = 0; i < 3; ++i)
      ASSERT_TRUE((*p)->enqueue(window_at(i), "pprof " + std::to_string(i)));
    // A second agent on the same spool is refused while this one holds it.
    auto second = prof::app::Pusher::start(o, nullptr);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("another profile"), std::string::npos);
    auto st = (*p)->stop();
    EXPECT_EQ(st.sent, 0u);
    EXPECT_EQ(st.pending, 3u);
    EXPECT_GT(st.retries, 0u);
  }
  const std::string got = tmp.file("received");
  fs::create_directories(got);
  pid_t rx =
      spawn({env("PROF_PYTHON"), env("PROF_RECEIVER"), "--dir", got, "--port-file", got + "/port"},
            "/dev/null", tmp.file("rx.err"));
  for (int i = 0; i < 600 && !fs::exists(got + "/port"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(got + "/port")) << read_file(tmp.file("rx.err"));
  {
    auto o = push_to(read_file(got + "/port"), spool);
    auto p = prof::app::Pusher::start(o, nullptr);
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_TRUE((*p)->enqueue(window_at(3), "pprof 3"));
    auto st = (*p)->stop();
    EXPECT_EQ(st.from_spool, 3u);
    EXPECT_EQ(st.sent, 4u);
    EXPECT_EQ(st.pending, 0u);
  }
  ::kill(rx, SIGTERM);
  wait_for(rx, 10000);
  // The receiver refuses bodies that are not multipart with a profile part; these are (the
  // bytes are the test's, not a real pprof): four accepted, in window order.
  for (std::uint64_t i = 0; i < 4; ++i) {
    char n[16];
    std::snprintf(n, sizeof n, "%03llu", static_cast<unsigned long long>(i + 1));
    EXPECT_EQ(read_file(got + "/" + n + ".pb.gz"), "pprof " + std::to_string(i));
    const std::string j = read_file(got + "/" + n + ".json");
    EXPECT_NE(
        j.find("\"from\": \"" + std::to_string(window_at(i).start_unix_ns / 1000000000) + "\""),
        std::string::npos)
        << j;
  }
}

TEST(Pusher, AFullSpoolDropsTheOldestAndCountsThem) {
  TempDir tmp;
  auto o = push_to(refused_port(), tmp.file("spool"));
  o.spool_max_bytes = 25;
  o.exit_timeout = std::chrono::milliseconds(50);
  auto p = prof::app::Pusher::start(o, nullptr);
  ASSERT_TRUE(p) << p.error().message;
  for (std::uint64_t i = 0; i < 5; ++i)
    ASSERT_TRUE((*p)->enqueue(window_at(i), std::string(10, 'x')));
  auto st = (*p)->stop();
  EXPECT_EQ(st.dropped, 3u);
  EXPECT_EQ(st.pending, 2u);
  auto names = names_in(tmp.file("spool"));
  ASSERT_EQ(names.size(), 3u);  // .lock and the two newest windows
  EXPECT_NE(names[1].find(std::to_string(window_at(3).start_unix_ns)), std::string::npos);
}

// Bad options: one line naming the option and what it expects, exit 2 (1 for a file that
// cannot be read), before anything is sampled.
TEST(ContinuousOptions, BadWordsAreOneLineErrors) {
  TempDir tmp;
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string says;
  };
  const std::string d = tmp.file("out");
  const std::vector<Case> cases = {
      {{"--output-dir", d}, 2, "add --every"},
      {{"--every", "2s"}, 2, "--output-dir DIR and/or --push URL"},
      {{"--every", "soon", "--output-dir", d}, 2, "--every"},
      {{"--every", "10ms", "--output-dir", d}, 2, "at least 100ms"},
      {{"--every", "2s", "--output-dir", d, "--keep", "0"}, 2, "--keep 0"},
      {{"--every", "2s", "--output-dir", d, "--max-bytes", "lots"}, 2, "--max-bytes 'lots'"},
      {{"--every", "2s", "--keep", "3", "--push", "http://x"}, 2, "apply to --output-dir"},
      {{"--every", "2s", "--push", "ftp://x"}, 2, "http:// or https://"},
      {{"--every", "2s", "--push", "http://x", "--labels", "novalue"}, 2, "--labels 'novalue'"},
      {{"--every", "2s", "--push", "http://x", "--labels", "a=1,a=2"}, 2, "'a' is given twice"},
      {{"--every", "2s", "--push", "http://x", "--app-name", "a{b}"}, 2, "--app-name"},
      {{"--every", "2s", "--push", "http://x", "--format", "svg"}, 2, "--push sends pprof"},
      {{"--every", "2s", "--push", "http://x", "--token-file", tmp.file("none")},
       1,
       "--token-file"},
      {{"--every", "2s", "--output-dir", d, "--save", tmp.file("p.data")}, 2, "--save"},
  };
  for (const auto& c : cases) {
    RunResult r = run_profile(c.args);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    EXPECT_EQ(r.exit_code, c.code) << joined << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << joined << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << r.err;
  }
  EXPECT_FALSE(fs::exists(d));
}

}  // namespace

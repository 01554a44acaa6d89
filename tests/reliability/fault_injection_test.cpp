// Fault injection on the whole binary: the output filesystem fills up, the recorder is killed
// (SIGKILL) or interrupted (SIGINT / SIGTERM) at random moments, the target exits while being
// sampled, and the target's binary is deleted or replaced after it was mapped. In every case the
// tool says what happened in one line and what it wrote stays readable, by us and by perf.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "reliability_support.h"
#include "test_support.h"

namespace {

using namespace prof::test;
namespace fs = std::filesystem;

std::string spin() { return fixture("fx_spin"); }

// Kills and reaps a background process when the test ends, however it ends.
struct Reaped {
  pid_t pid;
  ~Reaped() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      wait_for(pid, 5000);
    }
  }
};

// The all-in-one command on `target` for `duration`, as folded stacks; fails the test if it
// does not succeed.
std::string fold_live(pid_t target, const std::string& duration = "0.5") {
  RunResult r = run_profile(
      {"--format", "folded", "-g", "-F", "999", "-p", std::to_string(target), duration});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// Copies the spin fixture to `path` and runs it for `ms` from there.
pid_t spin_copy(const std::string& path, const std::string& ms) {
  fs::copy_file(spin(), path);
  return spawn_execed({path, ms});
}

// Runs the command args_for(target, FILE) with FILE on a 1 MB tmpfs that has 256 KB free (room
// for the header, the synthesized process records and a few flushes of samples) until the disk
// fills up: one line, exit 1, and FILE kept, readable by us and by perf alike.
void expect_full_disk_keeps_capture(
    const std::function<std::vector<std::string>(pid_t, const std::string&)>& args_for) {
  SmallTmpfs disk(1 << 20);
  ASSERT_TRUE(disk.ok()) << disk.why();
  disk.fill(256 << 10);
  pid_t target = spawn_execed({spin(), "30000"});
  Reaped reap{target};
  const std::string out = disk.file("full.data");
  RunResult r = run_profile(args_for(target, out));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(is_one_line_error(r.err, "No space left on device")) << r.err;
  EXPECT_NE(r.err.find("incomplete"), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(out)) << "the data written before the disk filled up was removed";
  Readback ours = read_with_profile(out);
  EXPECT_TRUE(ours.ok) << ours.err;
  EXPECT_GT(ours.samples, 0u);
  Readback perf = read_with_perf(out);
  EXPECT_TRUE(perf.ok) << perf.err;
  EXPECT_EQ(perf.samples, ours.samples) << "perf and we disagree on what survived";
}

TEST(FullFilesystem, RecordStopsWithOneLineAndKeepsWhatItWrote) {
  PROF_REQUIRE_LIVE();
  expect_full_disk_keeps_capture([](pid_t target, const std::string& out) {
    return std::vector<std::string>{"record", "-g", "-F", "999", "-p", std::to_string(target),
                                    "-o",     out,  "30"};
  });
}

TEST(FullFilesystem, AllInOneSaysSoAndLeavesNoPartialGraph) {
  PROF_REQUIRE_LIVE();
  SmallTmpfs disk(256 << 10);
  ASSERT_TRUE(disk.ok()) << disk.why();
  disk.fill(0);
  const std::string svg = disk.file("out.svg");
  RunResult r = run_profile({"-o", svg, "--", spin(), "200"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(is_one_line_error(r.err, "No space left on device")) << r.err;
  EXPECT_FALSE(fs::exists(svg)) << "a half-written graph was left behind";
  // With --save on the same full disk: not even the perf.data header fits, so no empty or
  // broken capture file may stay.
  RunResult saved = run_profile({"--save", disk.file("s.data"), "-o", svg, "--", spin(), "200"});
  EXPECT_EQ(saved.exit_code, 1) << saved.err;
  EXPECT_TRUE(is_one_line_error(saved.err, "No space left on device")) << saved.err;
  for (const auto& e : fs::directory_iterator(disk.path()))
    EXPECT_EQ(e.path().filename(), "filler") << "left behind: " << e.path();
}

// --save of the all-in-one command flushes as `profile record` does.
TEST(FullFilesystem, AllInOneSaveKeepsTheCaptureReadable) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  expect_full_disk_keeps_capture([&](pid_t target, const std::string& out) {
    return std::vector<std::string>{
        "-g", "-F", "999", "-p", std::to_string(target), "--save", out, "-o", tmp.file("out.svg"),
        "30"};
  });
}

TEST(Sigkill, RecordFileIsReadableUpToTheLastFlush) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  pid_t target = spawn_execed({spin(), "30000"});
  Reaped reap_target{target};
  const std::string out = tmp.file("killed.data");
  pid_t rec = spawn({profile_binary(), "record", "-g", "-F", "999", "-p", std::to_string(target),
                     "-o", out, "30"});
  Reaped reap_rec{rec};
  // The header's data size is rewritten at every flush (at least once a second): wait for two
  // flushes, so that the second one holds samples, then kill without warning.
  std::uint64_t first = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        auto n = header_data_size(out);
        if (n && *n > 0 && first == 0) first = *n;
        return n && first > 0 && *n > first;
      },
      20000))
      << "no second flush within 20 s";
  ASSERT_EQ(::kill(rec, SIGKILL), 0);
  EXPECT_EQ(wait_for(rec, 5000), -SIGKILL);
  reap_rec.pid = 0;
  Readback ours = read_with_profile(out);
  EXPECT_TRUE(ours.ok) << ours.err;
  EXPECT_GT(ours.samples, 0u);
  Readback perf = read_with_perf(out);
  EXPECT_TRUE(perf.ok) << perf.err;
  EXPECT_EQ(perf.samples, ours.samples);
}

// Runs `rounds` captures of a spinning target, each sent SIGINT or SIGTERM (alternating) at a
// random moment from exec to well into the capture (the seed is printed), and hands check() the
// exit status (-signal when it killed the process), the signal, the output path and stderr.
// A signal that lands before the handlers are installed may end the process the default way;
// then no output file may exist.
using ArgvFor = std::function<std::vector<std::string>(pid_t target, const std::string& out)>;
using Check = std::function<void(int rc, const std::string& out, const std::string& err)>;
void interrupt_at_random_moments(int rounds, const ArgvFor& argv_for, const Check& check) {
  pid_t target = spawn_execed({spin(), "60000"});
  Reaped reap_target{target};
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_us(0, 400000);
  for (int i = 0; i < rounds; ++i) {
    TempDir tmp;
    const std::string out = tmp.file("out");
    const int sig = i % 2 ? SIGTERM : SIGINT;
    const int us = i == 0 ? 0 : delay_us(rng);
    SCOPED_TRACE("signal " + std::to_string(sig) + " after " + std::to_string(us) + " us");
    pid_t pid = spawn(argv_for(target, out), "/dev/null", tmp.file("err"));
    ::usleep(static_cast<useconds_t>(us));
    ASSERT_EQ(::kill(pid, sig), 0);
    int rc = wait_for(pid, 15000);
    ASSERT_NE(rc, -1000) << "still running 15 s after the signal";
    if (rc == -sig) {
      EXPECT_FALSE(fs::exists(out)) << "killed before its handlers, yet left an output file";
      continue;
    }
    check(rc, out, read_file(tmp.file("err")));
  }
}

TEST(Signals, InterruptAtRandomMomentsEndsCleanly) {
  PROF_REQUIRE_LIVE();
  interrupt_at_random_moments(
      8,
      [](pid_t target, const std::string& out) {
        return std::vector<std::string>{profile_binary(),       "record", "-g", "-p",
                                        std::to_string(target), "-o",     out,  "30"};
      },
      [](int rc, const std::string& out, const std::string& err) {
        ASSERT_EQ(rc, 0) << err;
        Readback ours = read_with_profile(out);
        EXPECT_TRUE(ours.ok) << ours.err;
        EXPECT_TRUE(read_with_perf(out).ok);
      });
}

TEST(Signals, AllInOneInterruptedAtRandomMomentsStillWritesAGraph) {
  PROF_REQUIRE_LIVE();
  interrupt_at_random_moments(
      6,
      [](pid_t target, const std::string& out) {
        return std::vector<std::string>{
            profile_binary(), "-p", std::to_string(target), "-o", out, "30"};
      },
      [](int rc, const std::string& out, const std::string& err) {
        if (rc == 1) {
          // Stopped before the first sample: there is no graph to draw, and it says so.
          EXPECT_TRUE(is_one_line_error(err, "no samples were captured")) << err;
          EXPECT_FALSE(fs::exists(out));
          return;
        }
        ASSERT_EQ(rc, 0) << err;
        EXPECT_NE(read_file(out).find("</svg>"), std::string::npos) << "an unfinished graph";
      });
}

TEST(TargetExit, ProcessExitingMidCaptureEndsItWithItsSamples) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  const std::string out = tmp.file("exit.data");
  pid_t target = spawn_execed({spin(), "1500"});
  Reaped reap{target};
  // 30 s asked for; the capture ends when its only target exits (~1.5 s).
  RunResult r =
      run_profile({"record", "-g", "-F", "999", "-p", std::to_string(target), "-o", out, "30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Readback ours = read_with_profile(out);
  EXPECT_TRUE(ours.ok) << ours.err;
  EXPECT_GT(ours.samples, 0u);
  EXPECT_TRUE(read_with_perf(out).ok);
  // The all-in-one command renders what it got.
  pid_t again = spawn_execed({spin(), "1500"});
  Reaped reap_again{again};
  std::string folded = fold_live(again, "30");
  EXPECT_NE(folded.find("middle;spin_here"), std::string::npos) << folded;
}

// Starts a copy of the spin fixture, applies `change` to its file once it runs, and checks that
// a live capture still names its frames: from the mapping the process holds
// (/proc/PID/map_files) while it lives at symbolization time, not from what the path now holds.
void expect_live_frames_after(const TempDir& tmp,
                              const std::function<void(const std::string&)>& change) {
  const std::string app = tmp.file("app");
  pid_t target = spin_copy(app, "30000");
  Reaped reap{target};
  change(app);
  std::string folded = fold_live(target);
  EXPECT_NE(folded.find("middle;spin_here"), std::string::npos) << folded;
}

TEST(BinaryGone, DeletedAfterMappingStillSymbolizes) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  expect_live_frames_after(tmp,
                           [](const std::string& app) { ASSERT_EQ(::unlink(app.c_str()), 0); });
}

// The binary is replaced by another program (rename over it, as package managers do) after it
// was mapped: a live capture still resolves the old code; a saved one symbolized later says
// that the file no longer matches.
TEST(BinaryGone, ReplacedAfterMappingResolvesLiveAndIsFlaggedLater) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  expect_live_frames_after(tmp, [&](const std::string& app) {
    fs::copy_file(fixture("fx_sym_cxx"), tmp.file("new"));
    ASSERT_EQ(::rename(tmp.file("new").c_str(), app.c_str()), 0);
  });
  // A saved capture symbolized after the process is gone: the path now holds the other
  // program. The build-ids recorded in MMAP2 (--buildid-mmap) catch the mismatch; the frames
  // are [unknown] (without the option the BUILD_ID table does the same: RebuiltBinary.*).
  const std::string app2 = tmp.file("app2");
  const std::string out = tmp.file("replaced.data");
  // 1 s of CPU: under ASan, on a loaded machine, record took longer to attach than a 300 ms
  // spin lasted, and the capture had no sample at all.
  pid_t target2 = spin_copy(app2, "1000");
  Reaped reap2{target2};
  // -N: the cache under the real $HOME stays out of it.
  RunResult rec = run_profile(
      {"record", "-N", "-g", "--buildid-mmap", "-p", std::to_string(target2), "-o", out, "30"});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  fs::copy_file(fixture("fx_sym_cxx"), tmp.file("new2"));
  ASSERT_EQ(::rename(tmp.file("new2").c_str(), app2.c_str()), 0);
  // HOME: perf's build-id cache ($HOME/.debug) must not hold the old program.
  RunResult sym = prof::test::run(
      {"env", "HOME=" + tmp.path(), prof::test::profile_binary(), "symbolize", out});
  ASSERT_EQ(sym.exit_code, 0) << sym.err;
  EXPECT_NE(sym.err.find("differs from the recorded"), std::string::npos) << sym.err;
  EXPECT_NE(sym.out.find("[unknown] (" + app2 + ")"), std::string::npos);
}

}  // namespace

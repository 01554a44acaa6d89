// perf.data between us and the real perf: a writer killed mid-capture or out of space leaves a
// file perf reads; perf reads our files; we read what `perf record` writes, sample for sample.
#include "perf_data_test_support.h"

namespace prof::perf {
namespace {

using namespace pdtest;  // NOLINT(google-build-using-namespace): the suite's shared helpers
using test::TempDir;

// ---------------------------------------------------------------------------------------------
// A writer killed mid-capture and a writer that runs out of space leave readable files.

TEST(PerfDataWriter, SigkilledWriterLeavesFileReadableUpToLastFlush) {
  TempDir dir;
  const auto path = dir.file("killed.data");
  constexpr int kFlushed = 300;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    const auto attr = clock_attr();
    auto w = PerfDataWriter::create(path, {{attr, {}, "cpu-clock"}}, {});
    if (!w) ::_exit(2);
    for (int i = 0; i < kFlushed; ++i) {
      Sample s;
      s.ip = 0x1000 + static_cast<std::uint64_t>(i);
      s.callchain = {PERF_CONTEXT_USER, s.ip};
      if (!(*w)->write(*make_sample(attr, s))) ::_exit(3);
      if (i % 100 == 99 && !(*w)->flush()) ::_exit(4);
    }
    // Buffered, never flushed: must not appear, and must not make the file unreadable.
    for (int i = 0; i < 50; ++i) {
      Sample s;
      (void)(*w)->write(*make_sample(attr, s));
    }
    (void)!::write(ready[1], "r", 1);
    while (true) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  WarningSink warnings;
  auto sum = read_path(path, &warnings);
  ASSERT_FALSE(sum.error) << sum.error->message;
  EXPECT_EQ(sum.samples, static_cast<std::size_t>(kFlushed));
  EXPECT_EQ(warnings.total(), 0u);
  // perf agrees (it reads data.size from the header, which we kept current).
  EXPECT_EQ(perf_sample_count(path), static_cast<std::size_t>(kFlushed));
}

TEST(PerfDataWriter, WriteFailureNamesTheFileAndKeepsFlushedData) {
  TempDir dir;
  const auto path = dir.file("full.data");
  constexpr rlim_t kLimit = 64 * 1024;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // RLIMIT_FSIZE makes write(2) fail with EFBIG like a full disk would with ENOSPC.
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{kLimit, kLimit};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    const auto attr = clock_attr();
    PerfDataWriter::Options opt;
    opt.buffer_bytes = 4096;
    auto w = PerfDataWriter::create(path, {{attr, {}, ""}}, opt);
    if (!w) ::_exit(2);
    for (int i = 0; i < 100000; ++i) {
      Sample s;
      s.callchain.assign(8, 0x1234);
      auto r = (*w)->write(*make_sample(attr, s));
      if (!r) {
        const bool names_file = r.error().message.find(path) != std::string::npos;
        ::_exit(names_file ? 0 : 5);
      }
    }
    ::_exit(6);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "2: create failed, 5: error lacks the path, 6: no error";
  WarningSink warnings;
  auto sum = read_path(path, &warnings);
  ASSERT_FALSE(sum.error) << sum.error->message;
  EXPECT_GT(sum.samples, 100u);
  EXPECT_EQ(warnings.total(), 0u);
}

// ---------------------------------------------------------------------------------------------
// perf reads our files.

std::string perf_script(const std::vector<std::string>& extra, const std::string& input = "") {
  std::vector<std::string> argv = {"script"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto r = run_perf(argv, input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

class PerfReadsOurFile : public ::testing::TestWithParam<bool /*pipe*/> {};

TEST_P(PerfReadsOurFile, ScriptAndReportShowTheFixtureSymbols) {
  const bool pipe = GetParam();
  TempDir dir;
  const auto path = dir.file("ours.data");
  const auto attr = clock_attr();
  PerfDataWriter::Options opt;
  opt.pipe_mode = pipe;
  opt.features.cmdline = {"profile", "record"};
  {
    auto w = PerfDataWriter::create(path, {{attr, {}, "cpu-clock"}}, opt);
    ASSERT_TRUE(w) << w.error().message;
    write_fixture_capture(**w, attr, 25);
    ASSERT_TRUE(
        (*w)->add_build_id({-1, PERF_RECORD_MISC_USER, build_id_of(test::fixture("fx_spin")),
                            test::fixture("fx_spin")}));
    ASSERT_TRUE((*w)->finish());
  }
  const std::string data = test::read_file(path);
  // Pipe-mode files go to perf on stdin, as they would through `|`.
  const std::vector<std::string> in =
      pipe ? std::vector<std::string>{"-i", "-"} : std::vector<std::string>{"-i", path};
  const std::string feed = pipe ? data : "";
  auto script = perf_script(
      [&] {
        auto a = in;
        a.insert(a.end(), {"-F", "comm,pid,ip,sym"});
        return a;
      }(),
      feed);
  std::size_t lines_with_spin = 0, pos = 0;
  while ((pos = script.find("spin_here", pos)) != std::string::npos) ++lines_with_spin, ++pos;
  EXPECT_EQ(lines_with_spin, 25u) << script.substr(0, 2000);
  EXPECT_NE(script.find("middle"), std::string::npos);
  EXPECT_NE(script.find("main"), std::string::npos);
  EXPECT_NE(script.find("fx_spin"), std::string::npos);  // the COMM
  EXPECT_NE(script.find(std::to_string(kPid)), std::string::npos);

  std::vector<std::string> report = {"report", "--stdio", "-n"};
  report.insert(report.end(), in.begin(), in.end());
  auto rep = run_perf(report, feed);
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_NE(rep.out.find("spin_here"), std::string::npos) << rep.out;
  EXPECT_NE(rep.out.find("fx_spin"), std::string::npos) << rep.out;

  if (!pipe) {
    // perf takes the build-id from our BUILD_ID feature.
    const auto id = to_hex(build_id_of(test::fixture("fx_spin")));
    ASSERT_EQ(id.size(), 40u);
    auto ids = run_perf({"buildid-list", "-i", path});
    ASSERT_EQ(ids.exit_code, 0) << ids.err;
    EXPECT_NE(ids.out.find(id + " " + test::fixture("fx_spin")), std::string::npos) << ids.out;
    auto hdr = run_perf({"report", "--header-only", "-i", path});
    ASSERT_EQ(hdr.exit_code, 0) << hdr.err;
    for (const char* want : {"# hostname :", "# os release :", "# arch :", "# nrcpus online :",
                             "# cmdline : profile record", "cpu-clock"})
      EXPECT_NE(hdr.out.find(want), std::string::npos) << want << "\n" << hdr.out;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, PerfReadsOurFile, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Pipe" : "File"; });

// ---------------------------------------------------------------------------------------------
// We read what `perf record` writes: sample counts equal what perf itself decodes.

struct PerfRecordCase {
  const char* name;
  std::vector<std::string> args;
  std::size_t min_attrs;
};

void PrintTo(const PerfRecordCase& c, std::ostream* os) { *os << c.name; }

class ReadsPerfRecordOutput : public ::testing::TestWithParam<PerfRecordCase> {};

TEST_P(ReadsPerfRecordOutput, SampleCountMatchesPerf) {
  PROF_REQUIRE_LIVE();
  const auto& c = GetParam();
  TempDir dir;
  const bool pipe = std::string(c.name) == "pipe";
  const auto path = dir.file("rec.data");
  // -B: no build-id pass at the end (the part of perf 6.1 that aborts now and then, see
  // run_perf); build-ids have their own test (BuildIdTable).
  std::vector<std::string> argv = {"record", "-q", "-B", "-F", "999"};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  argv.insert(argv.end(), {"-o", pipe ? "-" : path, "--", test::fixture("fx_spin"), "300"});
  auto rec = run_perf(argv);
  ASSERT_EQ(rec.exit_code, 0) << "perf record failed: " << rec.err;
  if (pipe) test::write_file(path, rec.out);

  WarningSink warnings;
  auto r = PerfDataReader::open(path, &warnings);
  ASSERT_TRUE(r) << r.error().message;
  auto sum = read_all(**r);
  ASSERT_FALSE(sum.error) << sum.error->message;
  EXPECT_EQ(warnings.count("perf-data-truncated"), 0u);
  EXPECT_GE((*r)->attrs().size(), c.min_attrs);
  EXPECT_EQ((*r)->pipe_mode(), pipe);
  EXPECT_GT(sum.samples, 0u);
  EXPECT_EQ(sum.samples, perf_sample_count(path));
  EXPECT_GT(sum.by_type[PERF_RECORD_COMM], 0u);
  EXPECT_GT(sum.by_type[PERF_RECORD_MMAP2], 0u);
  const auto& f = (*r)->features();
  EXPECT_TRUE(f.hostname && !f.hostname->empty());
  EXPECT_TRUE(f.nr_cpus_online.has_value());
  EXPECT_FALSE(f.cmdline.empty());
  for (const auto& a : (*r)->attrs()) EXPECT_FALSE(a.name.empty());

  if (pipe) {
    // The same bytes through a real pipe (streamed, not mmap'd) read the same.
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::thread feeder([&] {
      (void)!::write(fds[1], rec.out.data(), rec.out.size());
      ::close(fds[1]);
    });
    auto sum2 = read_path("/dev/fd/" + std::to_string(fds[0]));
    feeder.join();
    ::close(fds[0]);
    ASSERT_FALSE(sum2.error) << sum2.error->message;
    EXPECT_EQ(sum2.samples, sum.samples);
    EXPECT_EQ(sum2.records, sum.records);
  }
  if (std::string(c.name) == "g") {
    // Our reader must survive damage to perf's own files too.
    expect_no_crash_on_damage(test::read_file(path), "perf-g");
  }
  if (std::string(c.name) == "two_events") {
    std::map<std::size_t, std::size_t> per_attr;
    auto r2 = PerfDataReader::open(path);
    ASSERT_TRUE(r2);
    Record x;
    while (*(*r2)->next(x))
      if (x.type == PERF_RECORD_SAMPLE) ++per_attr[(*r2)->attr_index_of(x)];
    EXPECT_EQ(per_attr.size(), 2u) << "samples of both events are told apart";
    std::set<std::string> names;
    for (const auto& a : (*r2)->attrs()) names.insert(a.name);
    EXPECT_TRUE(names.count("cpu-clock") && names.count("page-faults"));
  }
  if (std::string(c.name) == "dwarf") {
    auto r3 = PerfDataReader::open(path);
    ASSERT_TRUE(r3);
    Record x;
    Sample s;
    bool saw_stack = false;
    while (*(*r3)->next(x)) {
      if (x.type != PERF_RECORD_SAMPLE) continue;
      ASSERT_TRUE((*r3)->parse_sample(x, s));
      if (s.regs_user_abi != 0 && !s.stack_user.empty()) {
        saw_stack = true;
        EXPECT_EQ(s.regs_user.size(), 20u);  // sample_regs_user 0xff0fff on x86-64
        EXPECT_LE(s.stack_user_dyn_size, s.stack_user.size());
      }
    }
    EXPECT_TRUE(saw_stack);
  }
}

// perf record's build-id table (without -B) reaches Features::build_ids.
TEST(ReadsPerfRecordOutput, BuildIdTable) {
  PROF_REQUIRE_LIVE();
  TempDir dir;
  const auto path = dir.file("bid.data");
  auto rec = run_perf(
      {"record", "-q", "-F", "999", "-g", "-o", path, "--", test::fixture("fx_spin"), "200"});
  if (rec.exit_code < 0 && rec.err.find("util/build-id.c") != std::string::npos)
    GTEST_SKIP() << "perf record aborted in its own build-id pass three times (the kernel's "
                    "MISC_MMAP_BUILD_ID quirk, see run_perf): no build-id table to compare";
  ASSERT_EQ(rec.exit_code, 0) << "perf record failed: " << rec.err;
  auto r = PerfDataReader::open(path);
  ASSERT_TRUE(r) << r.error().message;
  const auto want = build_id_of(test::fixture("fx_spin"));
  bool found = false;
  for (const auto& e : (*r)->features().build_ids)
    if (e.filename == test::fixture("fx_spin")) {
      found = true;
      EXPECT_EQ(e.build_id, want);
      EXPECT_EQ(e.cpumode, PERF_RECORD_MISC_USER);
    }
  EXPECT_TRUE(found) << "fx_spin not in perf's build-id table";
}

INSTANTIATE_TEST_SUITE_P(
    Live, ReadsPerfRecordOutput,
    ::testing::Values(PerfRecordCase{"g", {"-g"}, 1}, PerfRecordCase{"ag", {"-a", "-g"}, 1},
                      PerfRecordCase{"dwarf", {"--call-graph", "dwarf"}, 1},
                      PerfRecordCase{"two_events", {"-e", "cpu-clock", "-e", "page-faults"}, 2},
                      PerfRecordCase{"pipe", {"-g"}, 1}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace prof::perf

// perf.data round trips (prof/common/perf_data.h): every record kind we write reads back equal,
// in file and pipe mode, from files and from pipes.
#include "perf_data_test_support.h"

namespace prof::perf {
namespace {

using namespace pdtest;  // NOLINT(google-build-using-namespace): the suite's shared helpers
using test::TempDir;

class RoundTrip : public ::testing::TestWithParam<bool /*pipe*/> {};

TEST_P(RoundTrip, EveryRecordKindReadsBackEqual) {
  const bool pipe = GetParam();
  TempDir dir;
  const auto path = dir.file("rt.data");
  // Two events, so IDENTIFIER is required and records must map back to the right one.
  auto a0 = clock_attr(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_ADDR | PERF_SAMPLE_STREAM_ID |
                       PERF_SAMPLE_RAW | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER |
                       PERF_SAMPLE_WEIGHT | PERF_SAMPLE_DATA_SRC | PERF_SAMPLE_PHYS_ADDR |
                       PERF_SAMPLE_CGROUP);
  a0.sample_regs_user = 0xff0fff;
  a0.sample_stack_user = 64;
  auto a1 = clock_attr(PERF_SAMPLE_IDENTIFIER);
  a1.config = PERF_COUNT_SW_PAGE_FAULTS;
  std::vector<EventAttr> attrs = {{a0, {11, 12}, "cpu-clock"}, {a1, {21, 22}, "page-faults"}};
  PerfDataWriter::Options opt;
  opt.pipe_mode = pipe;
  opt.features.hostname = "testhost";
  opt.features.osrelease = "6.1.0-test";
  opt.features.arch = "x86_64";
  opt.features.cpudesc = "Test CPU @ 1 GHz";
  opt.features.nr_cpus_online = 2;
  opt.features.nr_cpus_available = 4;
  opt.features.cmdline = {"profile", "record", "-a",
                          "a string longer than sixty-four bytes, "
                          "to cross perf's 64-byte string padding"};
  opt.features.sample_time_first = 100;
  opt.features.sample_time_last = 900;
  opt.features.build_ids = {
      {-1,
       PERF_RECORD_MISC_KERNEL,
       {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
       "[kernel.kallsyms]"}};
  const BuildIdEntry later{7,
                           PERF_RECORD_MISC_USER,
                           {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 1, 2},
                           "/usr/lib/x86_64-linux-gnu/libexample.so.1"};

  Comm comm{7, 8, "worker", true, {7, 8, 0, 0, 0, 0}};
  Mmap mm2;
  mm2.is_mmap2 = true;
  mm2.pid = 7;
  mm2.tid = 8;
  mm2.start = 0x400000;
  mm2.len = 0x2000;
  mm2.pgoff = 0x1000;
  mm2.maj = 8;
  mm2.min = 1;
  mm2.ino = 123456;
  mm2.ino_generation = 9;
  mm2.prot = PROT_READ | PROT_EXEC;
  mm2.flags = MAP_PRIVATE;
  mm2.filename = "/usr/lib/x86_64-linux-gnu/libexample.so.1";
  mm2.sid = {7, 8, 555, 12, 0, 1};
  Mmap mm_bid = mm2;
  mm_bid.misc = PERF_RECORD_MISC_MMAP_BUILD_ID;
  mm_bid.maj = mm_bid.min = 0;
  mm_bid.ino = mm_bid.ino_generation = 0;
  mm_bid.build_id = {0x93, 0xac, 0x61, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
  mm_bid.filename = "/x";  // short name: the record is 8-aligned with little padding
  Task fork{7, 1, 9, 8, 777, {7, 9, 777, 0, 0, 1}};
  Task exit_t{7, 1, 9, 9, 888, {7, 9, 888, 0, 0, 0}};
  Lost lost{11, 42, {0, 0, 999, 11, 0, 1}};

  Sample s0;
  s0.id = 12;
  s0.ip = 0x401234;
  s0.pid = 7;
  s0.tid = 8;
  s0.time = 1234;
  s0.addr = 0xdead0000;
  s0.stream_id = 12;
  s0.cpu = 1;
  s0.period = 250000;
  s0.misc = PERF_RECORD_MISC_USER;
  s0.callchain = {PERF_CONTEXT_KERNEL, 0xffffffff81000010, PERF_CONTEXT_USER, 0x401234, 0x401000};
  const std::vector<std::uint8_t> raw = {1, 2, 3, 4};  // 4 + 4 bytes: already 8-aligned
  s0.raw = raw;
  s0.regs_user_abi = PERF_SAMPLE_REGS_ABI_64;
  for (int i = 0; i < std::popcount(a0.sample_regs_user); ++i) s0.regs_user.push_back(100 + i);
  std::vector<std::uint8_t> stack(64);
  for (std::size_t i = 0; i < stack.size(); ++i) stack[i] = static_cast<std::uint8_t>(i);
  s0.stack_user = stack;
  s0.stack_user_dyn_size = 48;
  s0.weight = 77;
  s0.data_src = 0x1234;
  s0.phys_addr = 0xabc000;
  s0.cgroup = 5;
  Sample s1;
  s1.id = 22;
  s1.ip = 0x401300;
  s1.pid = 7;
  s1.tid = 9;
  s1.time = 1300;
  s1.cpu = 0;
  s1.period = 1;
  s1.callchain = {PERF_CONTEXT_USER, 0x401300};

  {
    auto w = PerfDataWriter::create(path, attrs, opt);
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_TRUE((*w)->write(make_comm(a0, 7, 8, "worker", true)));
    ASSERT_TRUE((*w)->write(make_mmap2(a0, mm2)));
    ASSERT_TRUE((*w)->write(make_mmap2(a0, mm_bid)));
    ASSERT_TRUE(
        (*w)->write(make_kernel_mmap(a0, 0xffffffff81000000, 0x1000000, 0xffffffff81000000)));
    ASSERT_TRUE((*w)->write(make_task(a0, PERF_RECORD_FORK, fork)));
    ASSERT_TRUE((*w)->write(make_task(a0, PERF_RECORD_EXIT, exit_t)));
    ASSERT_TRUE((*w)->write(make_lost(a0, lost)));
    ASSERT_TRUE((*w)->write(sample_bytes(a0, s0)));
    // s1 as if it wrapped the end of a ring buffer: header in the first part.
    const auto b1 = sample_bytes(a1, s1);
    const std::span<const std::uint8_t> all(b1);
    ASSERT_TRUE((*w)->write(all.first(12), all.subspan(12)));
    EXPECT_FALSE((*w)->write(all.first(12), all.subspan(16)));  // sizes disagree: refused
    EXPECT_FALSE((*w)->write(all.first(4), all.subspan(4)));    // header split: refused
    ASSERT_TRUE((*w)->finished_round());
    ASSERT_TRUE((*w)->add_build_id(later));
    ASSERT_TRUE((*w)->finish());
  }

  WarningSink warnings;
  auto rd = PerfDataReader::open(path, &warnings);
  ASSERT_TRUE(rd) << rd.error().message;
  auto& r = **rd;
  EXPECT_EQ(r.pipe_mode(), pipe);
  EXPECT_TRUE(r.bytes_stable());  // a regular file is mapped whole, in either mode
  std::vector<Record> recs;
  std::vector<std::vector<std::uint8_t>> copies;  // Record bytes live until the next next()
  Record rec;
  std::vector<Sample> samples;
  std::vector<Mmap> mmaps;
  std::vector<Task> tasks;
  std::vector<Comm> comms;
  std::vector<Lost> losts;
  std::vector<std::size_t> sample_attr;
  int rounds = 0;
  while (true) {
    auto more = r.next(rec);
    ASSERT_TRUE(more) << more.error().message;
    if (!*more) break;
    switch (rec.type) {
      case PERF_RECORD_SAMPLE: {
        auto s = r.parse_sample(rec);
        ASSERT_TRUE(s) << s.error().message;
        // The cheap time accessor (for time ordering) agrees with the full decode.
        if (s->sample_type & PERF_SAMPLE_TIME) EXPECT_EQ(r.sample_time(rec), s->time);
        else EXPECT_FALSE(r.sample_time(rec));
        // Spans point into the record: keep copies to compare after the loop.
        copies.emplace_back(s->raw.begin(), s->raw.end());
        copies.emplace_back(s->stack_user.begin(), s->stack_user.end());
        sample_attr.push_back(r.attr_index_of(rec));
        samples.push_back(*s);
        break;
      }
      case PERF_RECORD_MMAP:
      case PERF_RECORD_MMAP2: mmaps.push_back(*r.parse_mmap(rec)); break;
      case PERF_RECORD_FORK:
      case PERF_RECORD_EXIT: tasks.push_back(*r.parse_task(rec)); break;
      case PERF_RECORD_COMM: comms.push_back(*r.parse_comm(rec)); break;
      case PERF_RECORD_LOST: losts.push_back(*r.parse_lost(rec)); break;
      case PERF_RECORD_FINISHED_ROUND: ++rounds; break;
      default: break;
    }
  }
  EXPECT_EQ(warnings.total(), 0u);
  EXPECT_EQ(rounds, 1);

  ASSERT_EQ(r.attrs().size(), 2u);
  EXPECT_EQ(r.attrs()[0].ids, (std::vector<std::uint64_t>{11, 12}));
  EXPECT_EQ(r.attrs()[1].ids, (std::vector<std::uint64_t>{21, 22}));
  EXPECT_EQ(r.attrs()[0].name, "cpu-clock");
  EXPECT_EQ(r.attrs()[1].name, "page-faults");
  EXPECT_EQ(r.attrs()[0].attr.sample_type, a0.sample_type);
  EXPECT_EQ(r.attrs()[1].attr.config, a1.config);
  EXPECT_EQ(r.attrs()[0].attr.sample_regs_user, a0.sample_regs_user);
  const auto& f = r.features();
  EXPECT_EQ(f.hostname, "testhost");
  EXPECT_EQ(f.osrelease, "6.1.0-test");
  EXPECT_EQ(f.arch, "x86_64");
  EXPECT_EQ(f.cpudesc, "Test CPU @ 1 GHz");
  EXPECT_TRUE(f.version.has_value());
  EXPECT_EQ(f.nr_cpus_online, 2u);
  EXPECT_EQ(f.nr_cpus_available, 4u);
  EXPECT_EQ(f.cmdline, opt.features.cmdline);
  EXPECT_EQ(f.sample_time_first, 100u);
  EXPECT_EQ(f.sample_time_last, 900u);
  ASSERT_EQ(f.build_ids.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const BuildIdEntry& want = i == 0 ? opt.features.build_ids[0] : later;
    EXPECT_EQ(f.build_ids[i].pid, want.pid);
    EXPECT_EQ(f.build_ids[i].cpumode, want.cpumode);
    EXPECT_EQ(f.build_ids[i].build_id, want.build_id);
    EXPECT_EQ(f.build_ids[i].filename, want.filename);
  }

  ASSERT_EQ(comms.size(), 1u);
  EXPECT_EQ(comms[0].pid, comm.pid);
  EXPECT_EQ(comms[0].tid, comm.tid);
  EXPECT_EQ(comms[0].comm, comm.comm);
  EXPECT_TRUE(comms[0].exec);
  expect_sid_eq(comms[0].sid, comm.sid);

  ASSERT_EQ(mmaps.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    const Mmap& want = i == 0 ? mm2 : mm_bid;
    const Mmap& got = mmaps[static_cast<std::size_t>(i)];
    EXPECT_TRUE(got.is_mmap2);
    EXPECT_EQ(got.misc, want.misc);
    EXPECT_EQ(got.pid, want.pid);
    EXPECT_EQ(got.tid, want.tid);
    EXPECT_EQ(got.start, want.start);
    EXPECT_EQ(got.len, want.len);
    EXPECT_EQ(got.pgoff, want.pgoff);
    EXPECT_EQ(got.maj, want.maj);
    EXPECT_EQ(got.min, want.min);
    EXPECT_EQ(got.ino, want.ino);
    EXPECT_EQ(got.ino_generation, want.ino_generation);
    EXPECT_EQ(got.build_id, want.build_id);
    EXPECT_EQ(got.prot, want.prot);
    EXPECT_EQ(got.flags, want.flags);
    EXPECT_EQ(got.filename, want.filename);
    expect_sid_eq(got.sid, want.sid);
  }
  EXPECT_FALSE(mmaps[2].is_mmap2);
  EXPECT_EQ(mmaps[2].pid, static_cast<std::uint32_t>(-1));
  EXPECT_EQ(mmaps[2].start, 0xffffffff81000000u);
  EXPECT_EQ(mmaps[2].filename, "[kernel.kallsyms]_text");
  EXPECT_EQ(mmaps[2].misc & PERF_RECORD_MISC_CPUMODE_MASK, PERF_RECORD_MISC_KERNEL);

  ASSERT_EQ(tasks.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const Task& want = i == 0 ? fork : exit_t;
    const Task& got = tasks[static_cast<std::size_t>(i)];
    EXPECT_EQ(got.pid, want.pid);
    EXPECT_EQ(got.ppid, want.ppid);
    EXPECT_EQ(got.tid, want.tid);
    EXPECT_EQ(got.ptid, want.ptid);
    EXPECT_EQ(got.time, want.time);
    expect_sid_eq(got.sid, want.sid);
  }
  ASSERT_EQ(losts.size(), 1u);
  EXPECT_EQ(losts[0].id, lost.id);
  EXPECT_EQ(losts[0].lost, lost.lost);
  expect_sid_eq(losts[0].sid, lost.sid);

  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(sample_attr, (std::vector<std::size_t>{0, 1}));
  for (int i = 0; i < 2; ++i) {
    const Sample& want = i == 0 ? s0 : s1;
    const Sample& got = samples[static_cast<std::size_t>(i)];
    EXPECT_EQ(got.attr_index, static_cast<std::size_t>(i));
    EXPECT_EQ(got.ip, want.ip);
    EXPECT_EQ(got.pid, want.pid);
    EXPECT_EQ(got.tid, want.tid);
    EXPECT_EQ(got.time, want.time);
    EXPECT_EQ(got.cpu, want.cpu);
    EXPECT_EQ(got.period, want.period);
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.misc, want.misc);
    EXPECT_EQ(got.callchain, want.callchain);
  }
  const Sample& g0 = samples[0];
  EXPECT_EQ(g0.addr, s0.addr);
  EXPECT_EQ(g0.stream_id, s0.stream_id);
  EXPECT_EQ(copies[0], raw);
  EXPECT_EQ(g0.regs_user_abi, s0.regs_user_abi);
  EXPECT_EQ(g0.regs_user, s0.regs_user);
  EXPECT_EQ(copies[1], stack);
  EXPECT_EQ(g0.stack_user_dyn_size, s0.stack_user_dyn_size);
  EXPECT_EQ(g0.weight, s0.weight);
  EXPECT_EQ(g0.data_src, s0.data_src);
  EXPECT_EQ(g0.phys_addr, s0.phys_addr);
  EXPECT_EQ(g0.cgroup, s0.cgroup);
}

INSTANTIATE_TEST_SUITE_P(Modes, RoundTrip, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Pipe" : "File"; });

TEST(PerfDataWriter, RequiresIdentifierWithSeveralEvents) {
  TempDir dir;
  auto a = clock_attr();
  auto w = PerfDataWriter::create(dir.file("x.data"), {{a, {1}, ""}, {a, {2}, ""}}, {});
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, Errc::kUsage);
  EXPECT_NE(w.error().message.find("PERF_SAMPLE_IDENTIFIER"), std::string::npos);
  auto none = PerfDataWriter::create(dir.file("y.data"), {}, {});
  EXPECT_FALSE(none);
}

// A real pipe: the reader streams (no mmap) while a thread writes in pipe mode.
TEST(PerfDataReader, StreamsPipeModeFromAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const auto attr = clock_attr();
  constexpr int kSamples = 20000;  // ~1.5 MB: more than one read block, records straddle them
  std::thread writer([&] {
    PerfDataWriter::Options opt;
    opt.pipe_mode = true;
    auto w = PerfDataWriter::create_fd(fds[1], "pipe", {{attr, {}, "cpu-clock"}}, opt);
    ASSERT_TRUE(w);
    for (int i = 0; i < kSamples; ++i) {
      Sample s;
      s.ip = 0x1000 + static_cast<std::uint64_t>(i);
      s.callchain.assign(static_cast<std::size_t>(i % 9), s.ip);
      ASSERT_TRUE((*w)->write(sample_bytes(attr, s)));
    }
    ASSERT_TRUE((*w)->finish());
    ::close(fds[1]);
  });
  auto r = PerfDataReader::open("/dev/fd/" + std::to_string(fds[0]));
  ASSERT_TRUE(r) << r.error().message;
  Record rec;
  Sample s;
  int n = 0;
  while (true) {
    auto more = (*r)->next(rec);
    ASSERT_TRUE(more) << more.error().message;
    if (!*more) break;
    if (rec.type != PERF_RECORD_SAMPLE) continue;
    ASSERT_TRUE((*r)->parse_sample(rec, s));
    ASSERT_EQ(s.ip, 0x1000u + static_cast<std::uint64_t>(n));
    ASSERT_EQ(s.callchain.size(), static_cast<std::size_t>(n % 9));
    ++n;
  }
  writer.join();
  ::close(fds[0]);
  EXPECT_EQ(n, kSamples);
  EXPECT_TRUE((*r)->pipe_mode());
  EXPECT_FALSE((*r)->bytes_stable());  // records live in a block buffer that is reused
  EXPECT_EQ((*r)->attrs().size(), 1u);
  EXPECT_EQ((*r)->attrs()[0].name, "cpu-clock");
}

// `profile record -o -` hands "-" to the writer: a pipe on stdout means pipe mode.
TEST(PerfDataWriter, DashOnAPipeWritesPipeMode) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    const auto attr = clock_attr();
    auto w = PerfDataWriter::create("-", {{attr, {3}, "cpu-clock"}}, {});  // pipe_mode not set
    if (!w) ::_exit(2);
    Sample s;
    s.ip = 0x4242;
    if (!(*w)->write(*make_sample(attr, s)) || !(*w)->finish()) ::_exit(3);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string data;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) data.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto r = PerfDataReader::from_memory(data, "stdout");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE((*r)->pipe_mode());
  auto sum = read_all(**r);
  EXPECT_FALSE(sum.error);
  EXPECT_EQ(sum.samples, 1u);
  EXPECT_EQ((*r)->attrs().at(0).ids, std::vector<std::uint64_t>{3});
}

}  // namespace
}  // namespace prof::perf

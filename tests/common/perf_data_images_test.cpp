// The perf.data reader on hand-built images: older attr sizes, sample fields the writer does not
// produce, what it rejects and how, and damaged input (truncation, bit flips).
#include "perf_data_test_support.h"

namespace prof::perf {
namespace {

using namespace pdtest;  // NOLINT(google-build-using-namespace): the suite's shared helpers
using test::TempDir;

// ---------------------------------------------------------------------------------------------
// Hand-built images: attr sizes, sample fields the writer does not produce, rejections.

TEST(PerfDataReader, ZeroExtendsOlderAttrSizes) {
  for (std::size_t size : {64u, 72u, 112u, 120u, 128u}) {
    auto attr = clock_attr();
    attr.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID;
    attr.size = static_cast<std::uint32_t>(size);
    Sample s;
    s.ip = 0x1234;
    s.pid = 5;
    s.tid = 6;
    auto img = file_image(attr, size, {sample_bytes(attr, s)});
    auto r = PerfDataReader::from_memory(img, "attr" + std::to_string(size));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ((*r)->attrs().size(), 1u);
    EXPECT_EQ((*r)->attrs()[0].ids, std::vector<std::uint64_t>{77});
    EXPECT_EQ((*r)->attrs()[0].attr.sample_type, attr.sample_type);
    Record rec;
    ASSERT_TRUE(*(*r)->next(rec));
    auto got = (*r)->parse_sample(rec);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got->ip, 0x1234u);
    EXPECT_EQ(got->tid, 6u);
  }
}

// Seen on this kernel: MISC_MMAP_BUILD_ID set on an MMAP2 that carries maj/min/ino (maj 0xfe
// reads as a 254-byte build-id). Decoded as maj/min/ino; perf 6.1 aborts on it.
TEST(PerfDataReader, Mmap2WithImpossibleBuildIdSizeIsMajMinIno) {
  auto attr = clock_attr();
  Mmap m;
  m.pid = m.tid = 9;
  m.start = 0x1000;
  m.len = 0x1000;
  m.maj = 0xfe;
  m.min = 3;
  m.ino = 0x510727;
  m.ino_generation = 0xc91f5f6d;
  m.filename = "/bin/true";
  auto rec = make_mmap2(attr, m);
  const std::uint16_t misc = PERF_RECORD_MISC_USER | PERF_RECORD_MISC_MMAP_BUILD_ID;
  std::memcpy(rec.data() + 4, &misc, 2);
  auto r = PerfDataReader::from_memory(file_image(attr, 128, {rec}), "quirk");
  ASSERT_TRUE(r) << r.error().message;
  Record got;
  ASSERT_TRUE(*(*r)->next(got));
  auto mm = (*r)->parse_mmap(got);
  ASSERT_TRUE(mm) << mm.error().message;
  EXPECT_TRUE(mm->build_id.empty());
  EXPECT_EQ(mm->misc, PERF_RECORD_MISC_USER);
  EXPECT_EQ(mm->maj, 0xfeu);
  EXPECT_EQ(mm->min, 3u);
  EXPECT_EQ(mm->ino, 0x510727u);
  EXPECT_EQ(mm->filename, "/bin/true");
}

// READ (group and single), BRANCH_STACK with HW_INDEX, REGS_INTR, TRANSACTION, page sizes and
// AUX laid out as the kernel does (perf_event_open(2) "PERF_RECORD_SAMPLE"), each holding data
// the decoder must step over to land on the next field.
TEST(PerfDataReader, SkipsEverySampleFieldCorrectly) {
  for (bool group : {false, true}) {
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_READ | PERF_SAMPLE_CALLCHAIN |
                       PERF_SAMPLE_BRANCH_STACK | PERF_SAMPLE_REGS_USER |
                       PERF_SAMPLE_WEIGHT_STRUCT | PERF_SAMPLE_DATA_SRC | PERF_SAMPLE_TRANSACTION |
                       PERF_SAMPLE_REGS_INTR | PERF_SAMPLE_PHYS_ADDR | PERF_SAMPLE_CGROUP |
                       PERF_SAMPLE_DATA_PAGE_SIZE | PERF_SAMPLE_CODE_PAGE_SIZE | PERF_SAMPLE_AUX;
    attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_ID | PERF_FORMAT_LOST |
                       (group ? PERF_FORMAT_GROUP : 0);
    attr.branch_sample_type = PERF_SAMPLE_BRANCH_ANY | PERF_SAMPLE_BRANCH_HW_INDEX;
    attr.sample_regs_user = 0x7;
    attr.sample_regs_intr = 0x3;
    std::vector<std::uint8_t> rec(8, 0);
    auto u64 = [&](std::uint64_t v) {
      const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
      rec.insert(rec.end(), p, p + 8);
    };
    u64(0xabc);  // IP
    if (group) {
      u64(3);                                              // nr
      u64(111);                                            // time_enabled
      for (int i = 0; i < 3; ++i) u64(1), u64(2), u64(3);  // value, id, lost
    } else {
      u64(1), u64(111), u64(2), u64(3);  // value, time_enabled, id, lost
    }
    u64(2), u64(0x10), u64(0x20);  // CALLCHAIN
    u64(2), u64(5);                // BRANCH_STACK nr, hw_idx
    for (int i = 0; i < 6; ++i) u64(0xb0 + static_cast<std::uint64_t>(i));  // 2 entries
    u64(PERF_SAMPLE_REGS_ABI_64), u64(1), u64(2), u64(3);                   // REGS_USER
    u64(0x77);                                                              // WEIGHT_STRUCT
    u64(0x88);                                                              // DATA_SRC
    u64(0x99);                                                              // TRANSACTION
    u64(PERF_SAMPLE_REGS_ABI_64), u64(4), u64(5);                           // REGS_INTR
    u64(0xfeed000);                                                         // PHYS_ADDR
    u64(42);                                                                // CGROUP
    u64(4096), u64(4096);                                                   // page sizes
    u64(16), u64(0), u64(0);                                                // AUX: 16 bytes
    const std::uint32_t type = PERF_RECORD_SAMPLE;
    std::memcpy(rec.data(), &type, 4);
    const auto size = static_cast<std::uint16_t>(rec.size());
    std::memcpy(rec.data() + 6, &size, 2);
    auto r = PerfDataReader::from_memory(file_image(attr, 128, {rec}), "fields");
    ASSERT_TRUE(r) << r.error().message;
    Record got;
    ASSERT_TRUE(*(*r)->next(got));
    auto s = (*r)->parse_sample(got);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->ip, 0xabcu);
    EXPECT_EQ(s->callchain, (std::vector<std::uint64_t>{0x10, 0x20}));
    EXPECT_EQ(s->regs_user, (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(s->weight, 0x77u);
    EXPECT_EQ(s->data_src, 0x88u);
    EXPECT_EQ(s->phys_addr, 0xfeed000u);
    EXPECT_EQ(s->cgroup, 42u);
    // One byte short anywhere is an error naming the record, not a read past its end.
    Record cut = got;
    cut.bytes = got.bytes.first(got.bytes.size() - 8);
    auto bad = (*r)->parse_sample(cut);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("AUX"), std::string::npos) << bad.error().message;
  }
}

struct Rejection {
  const char* name;
  std::function<void(std::string&)> damage;
  Errc code;
  const char* says;
};

TEST(PerfDataReader, RejectsWhatItDoesNotSupportWithAClearMessage) {
  auto attr = clock_attr();
  Sample s;
  const auto good = file_image(attr, 128, {sample_bytes(attr, s)});
  const std::vector<Rejection> cases = {
      {"byteswapped", [](std::string& i) { std::reverse(i.begin(), i.begin() + 8); },
       Errc::kUnsupported, "byte order"},
      {"legacy", [](std::string& i) { i.replace(0, 8, "PERFFILE"); }, Errc::kUnsupported, "legacy"},
      {"badmagic", [](std::string& i) { i.replace(0, 8, "NOTPERF!"); }, Errc::kParse, "bad magic"},
      {"short", [](std::string& i) { i.resize(50); }, Errc::kParse, "shorter than"},
      {"compressed",
       [](std::string& i) { i[72 + HEADER_COMPRESSED / 8] |= 1 << (HEADER_COMPRESSED % 8); },
       Errc::kUnsupported, "perf record -z"},
      {"dirformat",
       [](std::string& i) { i[72 + HEADER_DIR_FORMAT / 8] |= 1 << (HEADER_DIR_FORMAT % 8); },
       Errc::kUnsupported, "directory"},
      {"attrs-outside", [](std::string& i) { i[24 + 5] = 0x7f; }, Errc::kParse, "byte offset 24"},
  };
  for (const auto& c : cases) {
    auto img = good;
    c.damage(img);
    auto r = PerfDataReader::from_memory(img, c.name);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << c.name << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(std::string("'") + c.name + "'"), std::string::npos);
  }
  TempDir dir;
  auto d = PerfDataReader::open(dir.path());
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::kUnsupported);
  EXPECT_NE(d.error().message.find("directory"), std::string::npos);
  auto missing = PerfDataReader::open(dir.file("nope.data"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
}

TEST(PerfDataReader, RejectsCompressedRecordsInPipeMode) {
  std::string img;
  put64(img, 0x32454c4946524550ULL);
  put64(img, 16);
  auto attr = clock_attr();
  std::vector<std::uint8_t> ha(8);
  const std::uint32_t type = PERF_RECORD_HEADER_ATTR;
  std::memcpy(ha.data(), &type, 4);
  const auto* ap = reinterpret_cast<const std::uint8_t*>(&attr);
  ha.insert(ha.end(), ap, ap + sizeof attr);
  const auto size = static_cast<std::uint16_t>(ha.size());
  std::memcpy(ha.data() + 6, &size, 2);
  img.append(reinterpret_cast<const char*>(ha.data()), ha.size());
  const std::uint64_t compressed_at = img.size();
  put32(img, PERF_RECORD_COMPRESSED);
  put32(img, 16u << 16);
  put64(img, 0);
  auto r = PerfDataReader::from_memory(img, "pipe-z");
  ASSERT_TRUE(r) << r.error().message;
  Record rec;
  ASSERT_TRUE(*(*r)->next(rec));  // HEADER_ATTR
  EXPECT_EQ((*r)->attrs().size(), 1u);
  auto more = (*r)->next(rec);
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().code, Errc::kUnsupported);
  EXPECT_NE(more.error().message.find("byte offset " + std::to_string(compressed_at)),
            std::string::npos)
      << more.error().message;
}

// Older or foreign writers: several events told apart by PERF_SAMPLE_ID (no IDENTIFIER), names
// from EVENT_UPDATE, an unaligned HEADER_FEATURE that shifts every later record off 8-byte
// alignment (as perf 6.1's own pipe output does), and a record type nobody knows.
TEST(PerfDataReader, PipeModeWithIdAndUnalignedRecords) {
  perf_event_attr a{};
  a.size = sizeof a;
  a.type = PERF_TYPE_SOFTWARE;
  a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_ID | PERF_SAMPLE_CPU;
  a.sample_id_all = 1;
  auto record = [](std::uint32_t type, const std::string& body) {
    std::string r;
    put32(r, type);
    put32(r, static_cast<std::uint32_t>(8 + body.size()) << 16);
    return r + body;
  };
  auto attr_body = [&](std::uint64_t config, std::uint64_t id) {
    perf_event_attr x = a;
    x.config = config;
    std::string b(reinterpret_cast<const char*>(&x), sizeof x);
    put64(b, id);
    return b;
  };
  std::string img;
  put64(img, 0x32454c4946524550ULL);
  put64(img, 16);
  img += record(PERF_RECORD_HEADER_ATTR, attr_body(PERF_COUNT_SW_CPU_CLOCK, 5));
  img += record(PERF_RECORD_HEADER_ATTR, attr_body(PERF_COUNT_SW_PAGE_FAULTS, 6));
  std::string feat;
  put64(feat, HEADER_HOSTNAME);
  put32(feat, 5);
  feat += std::string("host\0", 5);
  img += record(PERF_RECORD_HEADER_FEATURE, feat);  // 25 bytes: what follows is unaligned
  ASSERT_NE(img.size() % 8, 0u);
  std::string upd;
  put64(upd, 2);  // PERF_EVENT_UPDATE__NAME
  put64(upd, 6);
  upd += std::string("page-faults\0\0\0\0\0", 16);
  img += record(PERF_RECORD_EVENT_UPDATE, upd);
  img += record(200, std::string(16, 'x'));  // unknown: skipped by its size
  Task fork{10, 1, 11, 10, 99, {10, 11, 0, 6, 0, 1}};
  auto fork_rec = make_task(a, PERF_RECORD_FORK, fork);
  img.append(reinterpret_cast<const char*>(fork_rec.data()), fork_rec.size());
  for (std::uint64_t id : {6, 5}) {
    Sample s;
    s.ip = 0x1000 + id;
    s.id = id;
    s.pid = s.tid = 11;
    auto b = sample_bytes(a, s);
    img.append(reinterpret_cast<const char*>(b.data()), b.size());
  }
  WarningSink warnings;
  auto r = PerfDataReader::from_memory(img, "id-pipe", &warnings);
  ASSERT_TRUE(r) << r.error().message;
  Record rec;
  std::vector<std::pair<std::uint64_t, std::size_t>> samples;  // ip, attr
  bool saw_unknown = false, saw_fork = false;
  while (true) {
    auto more = (*r)->next(rec);
    ASSERT_TRUE(more) << more.error().message;
    if (!*more) break;
    if (rec.type == 200) saw_unknown = true;
    if (rec.type == PERF_RECORD_FORK) {
      saw_fork = true;
      EXPECT_EQ((*r)->attr_index_of(rec), 1u);
      auto t = (*r)->parse_task(rec);
      ASSERT_TRUE(t) << t.error().message;
      EXPECT_EQ(t->tid, 11u);
      expect_sid_eq(t->sid, fork.sid);
    }
    if (rec.type == PERF_RECORD_SAMPLE) {
      auto s = (*r)->parse_sample(rec);
      ASSERT_TRUE(s) << s.error().message;
      samples.emplace_back(s->ip, s->attr_index);
    }
  }
  EXPECT_TRUE(saw_unknown);
  EXPECT_TRUE(saw_fork);
  EXPECT_EQ(samples,
            (std::vector<std::pair<std::uint64_t, std::size_t>>{{0x1006, 1}, {0x1005, 0}}));
  ASSERT_EQ((*r)->attrs().size(), 2u);
  EXPECT_EQ((*r)->attrs()[1].name, "page-faults");
  EXPECT_EQ((*r)->features().hostname, "host");
  EXPECT_EQ(warnings.total(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Damaged input never crashes (expect_no_crash_on_damage).

TEST(PerfDataReader, SurvivesTruncationAndBitFlipsOfOurFiles) {
  TempDir dir;
  for (bool pipe : {false, true}) {
    const auto path = dir.file(pipe ? "p.data" : "f.data");
    const auto attr = clock_attr();
    PerfDataWriter::Options opt;
    opt.pipe_mode = pipe;
    auto w = PerfDataWriter::create(path, {{attr, {1, 2}, ""}}, opt);
    ASSERT_TRUE(w);
    write_fixture_capture(**w, attr, 50);
    ASSERT_TRUE((*w)->finish());
    expect_no_crash_on_damage(test::read_file(path), pipe ? "ours-pipe" : "ours-file");
  }
}

TEST(PerfDataReader, ReadsUnfinishedFileToTheEndWithAWarning) {
  TempDir dir;
  const auto path = dir.file("u.data");
  const auto attr = clock_attr();
  auto w = PerfDataWriter::create(path, {{attr, {}, ""}}, {});
  ASSERT_TRUE(w);
  write_fixture_capture(**w, attr, 10);
  ASSERT_TRUE((*w)->finish());
  auto img = test::read_file(path);
  std::memset(img.data() + 48, 0, 8);  // data.size = 0, as perf leaves it when killed
  WarningSink warnings;
  auto r = PerfDataReader::from_memory(img, "unfinished", &warnings);
  ASSERT_TRUE(r) << r.error().message;
  auto sum = read_all(**r);
  // The feature section after the data is not records; whatever it decodes as must stop the
  // read with a warning or error rather than be invented into samples.
  EXPECT_EQ(sum.samples, 10u);
  EXPECT_GE(warnings.count("perf-data-unfinished"), 1u);
}

}  // namespace
}  // namespace prof::perf

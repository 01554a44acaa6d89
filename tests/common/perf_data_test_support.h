// Shared by the perf.data tests (perf_data_*_test.cpp): synthetic attrs and captures, readers
// that decode every record, hand-built file images, damage, and running the real perf.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "prof/common/perf_data.h"
#include "test_support.h"

namespace prof::perf::pdtest {

using test::TempDir;

inline constexpr std::uint64_t kBase = 0x555555554000;  // where our synthetic fx_spin is "mapped"
inline constexpr std::uint32_t kPid = 4242;

inline perf_event_attr clock_attr(std::uint64_t extra_sample_type = 0) {
  perf_event_attr a{};
  a.size = sizeof a;
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_CPU_CLOCK;
  a.sample_freq = 999;
  a.freq = 1;
  a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
                  PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN | extra_sample_type;
  a.sample_id_all = 1;
  a.mmap = a.mmap2 = a.comm = a.comm_exec = a.task = 1;
  return a;
}

inline std::vector<std::uint8_t> sample_bytes(const perf_event_attr& attr, const Sample& s) {
  auto r = make_sample(attr, s);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return r ? *r : std::vector<std::uint8_t>{};
}

// Reads every record of `path`, decoding each kind we know; returns the number of samples.
struct ReadSummary {
  std::size_t samples = 0, records = 0;
  std::map<std::uint32_t, std::size_t> by_type;
  std::optional<Error> error;
};

inline ReadSummary read_all(PerfDataReader& r) {
  ReadSummary out;
  Record rec;
  Sample s;
  while (true) {
    auto more = r.next(rec);
    if (!more) {
      out.error = more.error();
      break;
    }
    if (!*more) break;
    ++out.records;
    ++out.by_type[rec.type];
    switch (rec.type) {
      case PERF_RECORD_SAMPLE:
        if (auto ok = r.parse_sample(rec, s); !ok) {
          out.error = ok.error();
          return out;
        }
        ++out.samples;
        break;
      case PERF_RECORD_MMAP:
      case PERF_RECORD_MMAP2: (void)r.parse_mmap(rec); break;
      case PERF_RECORD_COMM: (void)r.parse_comm(rec); break;
      case PERF_RECORD_FORK:
      case PERF_RECORD_EXIT: (void)r.parse_task(rec); break;
      case PERF_RECORD_LOST: (void)r.parse_lost(rec); break;
      default:
        if (rec.type < PERF_RECORD_HEADER_ATTR) (void)r.parse_sample_id(rec);
        break;
    }
  }
  return out;
}

inline ReadSummary read_path(const std::string& path, WarningSink* warnings = nullptr) {
  auto r = PerfDataReader::open(path, warnings);
  if (!r) {
    ReadSummary s;
    s.error = r.error();
    return s;
  }
  return read_all(**r);
}

// Runs perf with its own, empty build-id cache (the default ~/.debug is shared with every perf
// on the machine). perf 6.1 aborts ("assertion failed at util/build-id.c:1010", "stack smashing
// detected") on an MMAP2 record flagged MISC_MMAP_BUILD_ID whose build-id size is over 20: the
// kernel here emits those while another perf session with attr.build_id=1 runs (see
// RecordDecoder::parse_mmap). perf_readable_copy() spares `perf report` that; `perf record`'s
// own build-id pass can still hit it, so that crash is retried (twice at most) with a fresh
// capture. Any other failure, and a third crash, stand.
inline test::RunResult run_perf(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), "perf");
  args.insert(args.begin(), "env");
  args.insert(args.begin() + 1, "");
  test::RunResult r;
  for (int attempt = 0; attempt < 3; ++attempt) {
    TempDir cache;
    args[1] = "PERF_BUILDID_DIR=" + cache.path();
    r = test::run(args, input);
    const bool perf_build_id_crash =
        r.exit_code < 0 && r.err.find("assertion failed at util/build-id.c") != std::string::npos;
    if (!perf_build_id_crash) break;
  }
  return r;
}

// Symbols of the fx_spin fixture from `nm`, so the test follows whatever the compiler did.
inline std::map<std::string, std::uint64_t> fixture_symbols(const std::string& bin) {
  auto r = test::run({"nm", bin});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::uint64_t> out;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string addr, kind, name;
    if ((fields >> addr >> kind >> name) && (kind == "T" || kind == "t"))
      out[name] = std::stoull(addr, nullptr, 16);
  }
  return out;
}

// The GNU build-id of `bin` from `readelf -n`, as bytes.
inline std::vector<std::uint8_t> build_id_of(const std::string& bin) {
  auto r = test::run({"readelf", "-n", bin});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto at = r.out.find("Build ID: ");
  std::vector<std::uint8_t> id;
  if (at == std::string::npos) return id;
  std::istringstream in(r.out.substr(at + 10));
  std::string hexid;
  in >> hexid;
  for (std::size_t i = 0; i + 1 < hexid.size(); i += 2)
    id.push_back(static_cast<std::uint8_t>(std::stoul(hexid.substr(i, 2), nullptr, 16)));
  return id;
}

inline std::string to_hex(const std::vector<std::uint8_t>& id) {
  std::string out;
  char b[3];
  for (auto v : id) {
    std::snprintf(b, sizeof b, "%02x", v);
    out += b;
  }
  return out;
}

// Writes a capture of fx_spin as our collector would: COMM, MMAP2 of its text segment, and
// `n` samples in spin_here <- middle <- main.
inline void write_fixture_capture(PerfDataWriter& w, const perf_event_attr& attr, int n,
                                  std::uint64_t id = 0) {
  const auto bin = test::fixture("fx_spin");
  auto syms = fixture_symbols(bin);
  ASSERT_TRUE(syms.count("spin_here") && syms.count("middle") && syms.count("main"));
  ASSERT_TRUE(w.write(make_comm(attr, kPid, kPid, "fx_spin", true)));
  Mmap m;
  m.pid = m.tid = kPid;
  m.start = kBase + 0x1000;  // the R E PT_LOAD of a GNU ld PIE: offset == vaddr == 0x1000
  m.len = 0x1000;
  m.pgoff = 0x1000;
  m.prot = PROT_READ | PROT_EXEC;
  m.flags = MAP_PRIVATE;
  m.filename = bin;
  m.sid.pid = m.sid.tid = kPid;
  ASSERT_TRUE(w.write(make_mmap2(attr, m)));
  for (int i = 0; i < n; ++i) {
    Sample s;
    s.ip = kBase + syms["spin_here"] + 4;
    s.pid = s.tid = kPid;
    s.time = 1000000 + static_cast<std::uint64_t>(i) * 1000;
    s.id = id;
    s.period = 1001001;
    s.misc = PERF_RECORD_MISC_USER;
    s.callchain = {PERF_CONTEXT_USER, s.ip, kBase + syms["middle"] + 9, kBase + syms["main"] + 30};
    ASSERT_TRUE(w.write(sample_bytes(attr, s)));
  }
  ASSERT_TRUE(w.finished_round());
}

inline void expect_sid_eq(const SampleId& a, const SampleId& b) {
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.tid, b.tid);
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.stream_id, b.stream_id);
  EXPECT_EQ(a.cpu, b.cpu);
}

// Hand-built images.

inline void put64(std::string& s, std::uint64_t v) {
  s.append(reinterpret_cast<const char*>(&v), 8);
}
inline void put32(std::string& s, std::uint32_t v) {
  s.append(reinterpret_cast<const char*>(&v), 4);
}

// A file-mode image with one attr stored in `attr_bytes` bytes and the given records.
inline std::string file_image(const perf_event_attr& attr, std::size_t attr_bytes,
                              const std::vector<std::vector<std::uint8_t>>& records,
                              std::uint64_t feature_bits = 0) {
  std::string img(104, '\0');
  const std::uint64_t ids_at = img.size();
  put64(img, 77);
  const std::uint64_t attrs_at = img.size();
  std::string a(reinterpret_cast<const char*>(&attr), std::min(sizeof attr, attr_bytes));
  a.resize(attr_bytes, '\0');
  img += a;
  put64(img, ids_at);
  put64(img, 8);
  const std::uint64_t data_at = img.size();
  for (const auto& r : records) img.append(reinterpret_cast<const char*>(r.data()), r.size());
  const std::uint64_t data_size = img.size() - data_at;
  std::string h;
  put64(h, 0x32454c4946524550ULL);
  put64(h, 104);
  put64(h, attr_bytes + 16);
  put64(h, attrs_at);
  put64(h, attr_bytes + 16);
  put64(h, data_at);
  put64(h, data_size);
  put64(h, 0);
  put64(h, 0);
  put64(h, feature_bits);
  put64(h, 0);
  put64(h, 0);
  put64(h, 0);
  img.replace(0, 104, h);
  return img;
}

// Damaged input: truncation at every 1/16 and random byte flips never crash (CI runs this under
// ASan); they give an Error or a partial read with a warning.

inline void expect_no_crash_on_damage(const std::string& good, const std::string& label) {
  // A pipe-mode stream cut exactly between two records cannot be told from one that ended
  // there; every other cut must be noticed.
  std::set<std::size_t> pipe_boundaries;
  if (auto whole = PerfDataReader::from_memory(good, label); whole && (*whole)->pipe_mode()) {
    pipe_boundaries.insert((*whole)->data_offset());
    Record rec;
    while (true) {
      auto more = (*whole)->next(rec);
      if (!more || !*more) break;
      pipe_boundaries.insert(rec.file_offset + rec.bytes.size());
    }
  }
  WarningSink warnings;
  for (int i = 0; i < 16; ++i) {
    const std::size_t len = good.size() * static_cast<std::size_t>(i) / 16;
    const auto before = warnings.total();
    auto r = PerfDataReader::from_memory(good.substr(0, len), label + "@" + std::to_string(len),
                                         &warnings);
    if (!r) {
      EXPECT_FALSE(r.error().message.empty());
      continue;
    }
    auto sum = read_all(**r);
    // A cut file is never read silently as if it were whole.
    EXPECT_TRUE(sum.error || warnings.total() > before || len == good.size() ||
                pipe_boundaries.count(len))
        << label << " cut at " << len << " read " << sum.records << " records silently";
  }
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 300; ++round) {
    auto img = good;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) {
      // Bias towards the headers, where a flip changes the most.
      const std::size_t limit = (round % 2) ? img.size() : std::min<std::size_t>(img.size(), 512);
      img[rng() % limit] ^= static_cast<char>(1 << (rng() % 8));
    }
    auto r = PerfDataReader::from_memory(std::move(img), label + "-flip", &warnings);
    if (r) (void)read_all(**r);
  }
}

// A copy of `path` that perf 6.1 can read: MMAP2 records flagged MISC_MMAP_BUILD_ID with a
// build-id size over 20 (the kernel quirk described in RecordDecoder::parse_mmap) lose the
// flag, as our reader treats them; perf would overflow a buffer and abort on them. Nothing
// else changes, samples least of all.
inline std::string perf_readable_copy(const std::string& path) {
  std::string img = test::read_file(path);
  auto r = PerfDataReader::from_memory(img, path);
  if (!r) return path;
  Record rec;
  std::size_t fixed = 0;
  while (true) {
    auto more = (*r)->next(rec);
    if (!more || !*more) break;
    if (rec.type == PERF_RECORD_MMAP2 && (rec.misc & PERF_RECORD_MISC_MMAP_BUILD_ID) &&
        rec.bytes.size() > 40 && rec.bytes[40] > 20) {
      const std::uint16_t misc = rec.misc & ~PERF_RECORD_MISC_MMAP_BUILD_ID;
      std::memcpy(img.data() + rec.file_offset + 4, &misc, 2);
      ++fixed;
    }
  }
  if (fixed == 0) return path;
  test::write_file(path + ".perf", img);
  return path + ".perf";
}

// Samples as perf itself decodes them (`perf report -D` prints one line per sample).
inline std::size_t perf_sample_count(const std::string& path) {
  auto r = run_perf({"report", "-D", "-i", perf_readable_copy(path)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::size_t n = 0;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line))
    if (line.find(" PERF_RECORD_SAMPLE(") != std::string::npos) ++n;
  return n;
}

}  // namespace prof::perf::pdtest

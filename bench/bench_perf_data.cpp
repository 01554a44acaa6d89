// Throughput of the perf.data reader and writer (prof/common/perf_data.h) on a generated
// capture shaped like `perf record -a -g`: frame-pointer callchains of 8..40 frames, with the
// COMM/MMAP2 side-band records a real capture has. Reports records/s and bytes/s.
#include <benchmark/benchmark.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "prof/common/perf_data.h"

namespace {

using namespace prof::perf;  // NOLINT(google-build-using-namespace)

constexpr int kSamples = 200000;

perf_event_attr bench_attr() {
  perf_event_attr a{};
  a.size = sizeof a;
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_CPU_CLOCK;
  a.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
                  PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN;
  a.sample_id_all = 1;
  return a;
}

// The records of the generated capture, built once.
const std::vector<std::vector<std::uint8_t>>& bench_records() {
  static const auto records = [] {
    std::vector<std::vector<std::uint8_t>> out;
    const auto attr = bench_attr();
    std::mt19937_64 rng(7);
    for (std::uint32_t pid = 100; pid < 200; ++pid) {
      out.push_back(make_comm(attr, pid, pid, "worker"));
      Mmap m;
      m.pid = m.tid = pid;
      m.start = 0x400000;
      m.len = 0x100000;
      m.filename = "/usr/bin/worker";
      out.push_back(make_mmap2(attr, m));
    }
    Sample s;
    for (int i = 0; i < kSamples; ++i) {
      s.pid = s.tid = 100 + static_cast<std::uint32_t>(rng() % 100);
      s.time = static_cast<std::uint64_t>(i) * 1000;
      s.cpu = static_cast<std::uint32_t>(i % 16);
      s.period = 1000000;
      s.id = 1 + (i % 16);
      s.ip = 0x400000 + rng() % 0x100000;
      s.callchain.assign(1, PERF_CONTEXT_USER);
      const int depth = 8 + static_cast<int>(rng() % 33);
      for (int d = 0; d < depth; ++d) s.callchain.push_back(0x400000 + rng() % 0x100000);
      out.push_back(*make_sample(attr, s));
      if (i % 1000 == 999) out.push_back({68, 0, 0, 0, 0, 0, 8, 0});  // FINISHED_ROUND
    }
    return out;
  }();
  return records;
}

std::string write_capture(bool pipe) {
  char tmpl[] = "/tmp/prof-bench-perfdata-XXXXXX";
  const int fd = mkstemp(tmpl);
  if (fd < 0) std::abort();
  close(fd);
  std::vector<std::uint64_t> ids;
  for (std::uint64_t id = 1; id <= 16; ++id) ids.push_back(id);
  PerfDataWriter::Options opt;
  opt.pipe_mode = pipe;
  auto w = PerfDataWriter::create(tmpl, {{bench_attr(), ids, "cpu-clock"}}, opt);
  if (!w) std::abort();
  for (const auto& r : bench_records())
    if (!(*w)->write(r)) std::abort();
  if (!(*w)->finish()) std::abort();
  return tmpl;
}

std::int64_t file_size(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// Walks every record (decoding samples when `decode`); returns the record count, -1 on error.
std::int64_t drain(PerfDataReader& r, bool decode, std::int64_t* samples = nullptr) {
  Record rec;
  static thread_local Sample s;
  std::int64_t n = 0;
  while (true) {
    auto more = r.next(rec);
    if (!more) return -1;
    if (!*more) return n;
    ++n;
    if (decode && rec.type == PERF_RECORD_SAMPLE) {
      if (!r.parse_sample(rec, s)) return -1;
      if (samples) ++*samples;
      benchmark::DoNotOptimize(s.callchain.data());
    }
  }
}

// next() only: the cost of walking records (what a consumer that filters by type pays).
void read_capture(benchmark::State& state, bool pipe, bool decode) {
  const std::string path = write_capture(pipe);
  std::int64_t records = 0;
  for (auto _ : state) {
    auto r = PerfDataReader::open(path);
    const auto n = r ? drain(**r, decode) : -1;
    if (n < 0) std::abort();
    records += n;
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(file_size(path) * static_cast<std::int64_t>(state.iterations()));
  std::remove(path.c_str());
}

void BM_PerfDataNextRecord(benchmark::State& state) { read_capture(state, false, false); }
void BM_PerfDataReadAndDecodeSamples(benchmark::State& state) { read_capture(state, false, true); }
void BM_PerfDataReadPipeModeFile(benchmark::State& state) { read_capture(state, true, true); }

// Reading a real pipe: blocks of read(2) instead of mmap.
void BM_PerfDataReadFromPipe(benchmark::State& state) {
  const std::string path = write_capture(true);
  std::int64_t records = 0;
  for (auto _ : state) {
    FILE* in = popen(("cat " + path).c_str(), "r");
    if (!in) std::abort();
    auto r = PerfDataReader::open("/dev/fd/" + std::to_string(fileno(in)));
    const auto n = r ? drain(**r, true) : -1;
    if (n < 0) std::abort();
    records += n;
    pclose(in);
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(file_size(path) * static_cast<std::int64_t>(state.iterations()));
  std::remove(path.c_str());
}

void BM_PerfDataWrite(benchmark::State& state) {
  std::int64_t bytes = 0;
  std::int64_t records = 0;
  for (auto _ : state) {
    const std::string path = write_capture(false);
    bytes += file_size(path);
    records += static_cast<std::int64_t>(bench_records().size());
    std::remove(path.c_str());
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(bytes);
}

// A real capture named by $PROF_BENCH_PERF_DATA (bench/compare_perf_data.sh sets it), read and
// decoded as the symbolizer does.
void BM_PerfDataReadGivenFile(benchmark::State& state, std::string path) {
  std::int64_t records = 0, samples = 0;
  for (auto _ : state) {
    auto r = PerfDataReader::open(path);
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    const auto n = drain(**r, true, &samples);
    if (n < 0) {
      state.SkipWithError("the file does not decode");
      return;
    }
    records += n;
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(file_size(path) * static_cast<std::int64_t>(state.iterations()));
  state.counters["samples"] =
      static_cast<double>(samples / std::max<std::int64_t>(1, state.iterations()));
}

const bool kGivenFileRegistered = [] {
  if (const char* p = std::getenv("PROF_BENCH_PERF_DATA"))
    benchmark::RegisterBenchmark("BM_PerfDataReadGivenFile", BM_PerfDataReadGivenFile, p)
        ->Unit(benchmark::kMillisecond);
  return true;
}();

BENCHMARK(BM_PerfDataNextRecord)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PerfDataReadAndDecodeSamples)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PerfDataReadPipeModeFile)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PerfDataReadFromPipe)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PerfDataWrite)->Unit(benchmark::kMillisecond);

}  // namespace

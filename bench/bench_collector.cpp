// Throughput of the collector's consumer path, which runs on the sampled machine and must cost
// less than perf's: draining a ring (records/s, bytes/s, wrap-around included), draining into the
// perf.data writer, and the /proc snapshot taken at the start of every capture.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "prof/collector/collector.h"
#include "prof/collector/proc_snapshot.h"
#include "prof/collector/ring_buffer.h"
#include "prof/common/perf_data.h"

namespace {

constexpr std::uint64_t kRingBytes = 512 * 1024;  // the default 128-page ring
// A -g sample of a 12-frame stack: header + id, ip, pid/tid, time, cpu, period, nr + 12 + 2 ctx.
constexpr std::uint16_t kSampleBytes = 8 + 8 * 6 + 8 + 8 * 14;

// Plays the kernel: refills the whole ring with samples between drains. The record boundaries
// drift across the end, so some records wrap, as in a real capture.
struct FakeRing {
  perf_event_mmap_page page{};
  std::vector<std::uint8_t> data = std::vector<std::uint8_t>(kRingBytes);
  std::vector<std::uint8_t> sample = std::vector<std::uint8_t>(kSampleBytes, 0x5a);
  FakeRing() {
    perf_event_header h{PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER, kSampleBytes};
    std::memcpy(sample.data(), &h, sizeof h);
  }
  std::uint64_t fill() {
    std::uint64_t n = 0;
    while (page.data_head + kSampleBytes - page.data_tail <= kRingBytes) {
      std::uint64_t at = page.data_head % kRingBytes;
      std::uint64_t first = std::min<std::uint64_t>(kSampleBytes, kRingBytes - at);
      std::memcpy(data.data() + at, sample.data(), first);
      std::memcpy(data.data(), sample.data() + first, kSampleBytes - first);
      page.data_head += kSampleBytes;
      ++n;
    }
    return n;
  }
};

void BM_RingDrain(benchmark::State& state) {
  FakeRing k;
  prof::collector::RingBuffer rb(&k.page, k.data.data(), kRingBytes);
  std::uint64_t records = 0, sum = 0;
  for (auto _ : state) {
    state.PauseTiming();
    k.fill();
    state.ResumeTiming();
    auto n = rb.drain([&](std::span<const std::uint8_t> rec) -> prof::Result<void> {
      sum += rec[8];
      return prof::ok();
    });
    records += *n;
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<std::int64_t>(records));
  state.SetBytesProcessed(static_cast<std::int64_t>(records * kSampleBytes));
}
BENCHMARK(BM_RingDrain);

// The whole record path of `profile record`: ring -> PerfDataSink -> writer -> file.
void BM_RingDrainToPerfData(benchmark::State& state) {
  FakeRing k;
  prof::collector::RingBuffer rb(&k.page, k.data.data(), kRingBytes);
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
                     PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN;
  attr.sample_id_all = 1;
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  auto w = prof::perf::PerfDataWriter::create_fd(fd, "/dev/null", {{attr, {1}, "cpu-clock"}},
                                                 {true, {}});
  prof::collector::PerfDataSink sink(**w);
  std::uint64_t records = 0;
  for (auto _ : state) {
    state.PauseTiming();
    k.fill();
    state.ResumeTiming();
    auto n = rb.drain([&](std::span<const std::uint8_t> rec) { return sink.on_record(rec); });
    records += *n;
    (void)sink.on_round_end();
  }
  (void)(*w)->finish();
  close(fd);
  state.SetItemsProcessed(static_cast<std::int64_t>(records));
  state.SetBytesProcessed(static_cast<std::int64_t>(records * kSampleBytes));
}
BENCHMARK(BM_RingDrainToPerfData);

// Every process on this machine: the start-up cost of a system-wide capture.
void BM_ProcSnapshot(benchmark::State& state) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU;
  attr.sample_id_all = 1;
  std::uint64_t records = 0;
  for (auto _ : state) {
    auto st = prof::collector::synthesize_processes(
        attr, {}, [&](std::span<const std::uint8_t>) -> prof::Result<void> {
          ++records;
          return prof::ok();
        });
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(records));
}
BENCHMARK(BM_ProcSnapshot)->Unit(benchmark::kMillisecond);

void BM_ParseMapsLine(benchmark::State& state) {
  const std::string line =
      "7f1c2a600000-7f1c2a628000 r-xp 00028000 fe:01 1312456                    "
      "/usr/lib/x86_64-linux-gnu/libc.so.6";
  for (auto _ : state) benchmark::DoNotOptimize(prof::collector::parse_maps_line(line));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseMapsLine);

}  // namespace

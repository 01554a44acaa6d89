// Throughput of the shared input layer (plain and compressed reads), bytes/s.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "prof/common/input.h"

namespace {

std::string make_file(bool gzip) {
  char tmpl[] = "/tmp/prof-bench-XXXXXX";
  int fd = mkstemp(tmpl);
  std::string line =
      "java 1234/5678 [001] 1.234: 10101010 cpu-clock:\n\tffffffff81000000 foo+0x1 (bar)\n\n";
  std::string data;
  while (data.size() < (16u << 20)) data += line;
  if (write(fd, data.data(), data.size()) < 0) std::abort();
  close(fd);
  std::string path = tmpl;
  if (gzip) {
    if (std::system(("gzip -f " + path).c_str()) != 0) std::abort();
    path += ".gz";
  }
  return path;
}

void read_file(benchmark::State& state, bool gzip) {
  std::string path = make_file(gzip);
  std::string buf(1 << 16, '\0');
  std::int64_t bytes = 0;
  for (auto _ : state) {
    auto in = prof::InputFile::open(path);
    for (;;) {
      auto n = (*in)->read(buf.data(), buf.size());
      if (!n || *n == 0) break;
      bytes += static_cast<std::int64_t>(*n);
    }
  }
  state.SetBytesProcessed(bytes);
  std::remove(path.c_str());
}

void BM_ReadPlain(benchmark::State& state) { read_file(state, false); }
void BM_ReadGzip(benchmark::State& state) { read_file(state, true); }
BENCHMARK(BM_ReadPlain)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReadGzip)->Unit(benchmark::kMillisecond);

}  // namespace

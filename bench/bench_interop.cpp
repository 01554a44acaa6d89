// prof::interop throughput: pprof write (gzip and raw) and read, folded text of a Profile, the
// canonical merge, and speedscope, in samples per second; the sizes of pprof and of folded text
// + gzip for the same profile are reported as counters (bytes). The profile is capture-shaped:
// 100,000 samples, unmerged as the symbolizer stores them for speedscope, over 4,000 distinct
// 24-frame stacks of 600 functions in 3 objects, 16 threads on 4 CPUs, some inline lines with
// source lines; and the same merged (what `--format pprof` writes).
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "prof/common/profile.h"
#include "prof/interop/convert.h"
#include "prof/interop/pprof.h"
#include "prof/interop/speedscope.h"

namespace {

prof::Profile build(bool merged) {
  prof::Profile p(prof::Profile::Options{.merge_samples = merged});
  const prof::MappingId maps[] = {p.add_mapping("/usr/bin/server", "0123456789abcdef"),
                                  p.add_mapping("/usr/lib/x86_64-linux-gnu/libc.so.6", "fedcba98"),
                                  p.add_mapping("[kernel.kallsyms]")};
  std::vector<prof::LocationId> locs;
  for (int i = 0; i < 600; ++i) {
    const auto fn = p.add_function("ns::Class" + std::to_string(i % 97) + "::method" +
                                   std::to_string(i) + "()");
    const auto srcline =
        p.intern("src/file" + std::to_string(i % 41) + ".cc:" + std::to_string(10 + i));
    const prof::MappingId m = maps[i % 3];
    if (i % 5 == 0) {
      const auto inner = p.add_function("inlined_helper" + std::to_string(i));
      locs.push_back(p.add_location(0x400000 + static_cast<std::uint64_t>(i) * 64, m,
                                    {{.function = inner, .srcline = srcline, .inlined = true},
                                     {.function = fn, .symbol_offset = 12, .srcline = srcline}}));
    } else {
      locs.push_back(p.add_location(0x400000 + static_cast<std::uint64_t>(i) * 64, m,
                                    {{.function = fn, .symbol_offset = 4, .srcline = srcline}}));
    }
  }
  std::vector<prof::StackId> stacks;
  std::vector<prof::LocationId> st(24);
  for (int s = 0; s < 4000; ++s) {
    for (std::size_t d = 0; d < st.size(); ++d) st[d] = locs[(s * 13 + d * 31) % locs.size()];
    stacks.push_back(p.intern_stack(st));
  }
  const auto event = p.intern("cpu-clock");
  p.info().events = {{.name = event, .unit = p.intern("nanoseconds"), .frequency = 999}};
  p.info().start_unix_ns = 1765000000000000000ull;
  p.info().duration_ns = 30000000000ull;
  std::vector<prof::StringId> comms;
  for (int t = 0; t < 16; ++t) comms.push_back(p.intern("worker-" + std::to_string(t)));
  for (int s = 0; s < 100000; ++s) {
    const int tid = 1000 + s % 16;
    p.add_sample({.stack = stacks[static_cast<std::size_t>(s * 7919) % stacks.size()],
                  .period = 1001001,
                  .time_ns = 1000000ull * static_cast<std::uint64_t>(s),
                  .comm = comms[static_cast<std::size_t>(s % 16)],
                  .event = event,
                  .pid = 1000,
                  .tid = tid,
                  .cpu = s % 4});
  }
  return p;
}

const prof::Profile& unmerged() {
  static const prof::Profile p = build(false);
  return p;
}
const prof::Profile& merged() {
  static const prof::Profile p = build(true);
  return p;
}

void per_sample(benchmark::State& state, const prof::Profile& p) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * p.samples().size()));
}

std::string gzip(const std::string& s) {
  uLongf n = compressBound(static_cast<uLong>(s.size()));
  std::string out(n, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(s.data()),
            static_cast<uLong>(s.size()), 6);
  out.resize(n);
  return out;
}

// arg 0: the merged profile (what --format pprof writes); 1: every sample.
const prof::Profile& pick(const benchmark::State& state) {
  return state.range(0) ? unmerged() : merged();
}

void BM_PprofWrite(benchmark::State& state) {
  const prof::Profile& p = pick(state);
  std::size_t bytes = 0;
  for (auto _ : state) bytes = prof::interop::write_pprof(p)->size();
  per_sample(state, p);
  state.counters["pprof_gz_bytes"] = static_cast<double>(bytes);
  state.counters["samples"] = static_cast<double>(p.samples().size());
}
BENCHMARK(BM_PprofWrite)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_PprofWriteRaw(benchmark::State& state) {
  const prof::Profile& p = pick(state);
  std::size_t bytes = 0;
  for (auto _ : state) bytes = prof::interop::write_pprof(p, {.gzip = false})->size();
  per_sample(state, p);
  state.counters["pprof_raw_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PprofWriteRaw)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_PprofRead(benchmark::State& state) {
  const prof::Profile& p = pick(state);
  const std::string bytes = *prof::interop::write_pprof(p);
  for (auto _ : state) {
    auto back = prof::interop::read_pprof(bytes, {}, "bench");
    benchmark::DoNotOptimize(back->samples().size());
  }
  per_sample(state, p);
}
BENCHMARK(BM_PprofRead)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// The same profile as folded text, and that text gzip'd: the size pprof is compared with.
void BM_FoldedGzip(benchmark::State& state) {
  const prof::Profile& p = pick(state);
  std::size_t text = 0, gz = 0;
  for (auto _ : state) {
    const std::string folded = prof::interop::to_folded(p);
    text = folded.size();
    gz = gzip(folded).size();
  }
  per_sample(state, p);
  state.counters["folded_bytes"] = static_cast<double>(text);
  state.counters["folded_gz_bytes"] = static_cast<double>(gz);
}
BENCHMARK(BM_FoldedGzip)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_Merge(benchmark::State& state) {
  std::vector<prof::Profile> in;
  for (int i = 0; i < 4; ++i) in.push_back(build(true));
  for (auto _ : state) benchmark::DoNotOptimize(prof::interop::merge(in).samples().size());
  state.SetItemsProcessed(
      static_cast<std::int64_t>(state.iterations() * 4 * in[0].samples().size()));
}
BENCHMARK(BM_Merge)->Unit(benchmark::kMillisecond);

void BM_Speedscope(benchmark::State& state) {
  const prof::Profile& p = unmerged();
  std::size_t bytes = 0;
  for (auto _ : state) bytes = prof::interop::write_speedscope(p).size();
  per_sample(state, p);
  state.counters["json_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Speedscope)->Unit(benchmark::kMillisecond);

}  // namespace

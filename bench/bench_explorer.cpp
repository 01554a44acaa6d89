// The HTML explorer page for a large capture: write_explorer() on a synthetic 1,000,000-sample
// profile shaped like a busy system-wide capture (60 s, 8 CPUs, 40 processes x 3 threads,
// 3,000 distinct stacks 10-40 frames deep over 800 function names). With PROF_EXPLORER_OUT=FILE
// the page is also written there, for bench/viewer_load.py (the open time in headless
// Chromium; docs/PERFORMANCE.md has both figures and the commands).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "prof/renderer/explorer.h"

namespace {

prof::Profile synthetic(std::size_t samples) {
  prof::Profile p;
  std::mt19937_64 rng(42);
  std::vector<prof::LocationId> locs;
  for (int f = 0; f < 800; ++f) {
    auto fn = p.add_function("namespace_" + std::to_string(f % 17) + "::function_" +
                             std::to_string(f) + "(int, std::string const&)");
    locs.push_back(p.add_location(0x400000 + 16 * f, 0, {{.function = fn}}));
  }
  std::vector<prof::StackId> stacks;
  std::vector<prof::LocationId> st;
  for (int s = 0; s < 3000; ++s) {
    st.clear();
    const std::size_t depth = 10 + rng() % 31;
    // Shared roots (main, a few dispatchers) as real stacks have, then varied leaves.
    for (std::size_t d = 0; d < depth; ++d)
      st.push_back(locs[d < 3 ? d : d < 8 ? 3 + (s % 5) * 8 + d : rng() % locs.size()]);
    std::reverse(st.begin(), st.end());  // leaf first
    stacks.push_back(p.intern_stack(st));
  }
  std::vector<prof::StringId> comms;
  for (int c = 0; c < 40; ++c) comms.push_back(p.intern("proc-" + std::to_string(c)));
  const std::uint64_t t0 = 1'000'000'000'000;
  p.reserve_samples(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    const int proc = static_cast<int>(rng() % 40);
    p.add_sample({.stack = stacks[(rng() % 3000) * (rng() % 3000) / 3000],
                  .time_ns = t0 + i * 60'000'000'000ull / samples,
                  .comm = comms[proc],
                  .pid = 1000 + proc,
                  .tid = 1000 + proc * 10 + static_cast<int>(rng() % 3),
                  .cpu = static_cast<std::int32_t>(rng() % 8)});
  }
  return p;
}

void BM_ExplorerPage(benchmark::State& state) {
  const prof::Profile p = synthetic(static_cast<std::size_t>(state.range(0)));
  std::string html;
  for (auto _ : state) {
    html.clear();
    auto st = prof::renderer::write_explorer(
        p, {.title = "synthetic", .command = "", .count_name = "samples"}, html);
    if (!st) state.SkipWithError(st.error().message.c_str());
    benchmark::DoNotOptimize(html.data());
  }
  state.counters["page_MB"] = static_cast<double>(html.size()) / 1e6;
  if (const char* out = std::getenv("PROF_EXPLORER_OUT")) std::ofstream(out) << html;
}
BENCHMARK(BM_ExplorerPage)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

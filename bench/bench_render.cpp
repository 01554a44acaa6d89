// Renderer throughput: folded parsing, layout (flow merge + pruning) and SVG writing, on a
// deterministic synthetic profile shaped like a real one (deep stacks sharing prefixes).
//   build/bench/bench_render --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/folded.h"
#include "prof/renderer/renderer.h"

namespace {

std::string synthetic_folded(std::size_t lines) {
  static const char* kWords[] = {"alloc",    "parse",    "read",   "write",  "lookup",
                                 "hash",     "render",   "encode", "decode", "flush",
                                 "schedule", "dispatch", "visit"};
  std::mt19937_64 rng(42);
  std::string out;
  for (std::size_t i = 0; i < lines; ++i) {
    out += "proc-" + std::to_string(rng() % 64) + ";start_thread;main";
    std::size_t depth = 20 + rng() % 30;
    std::size_t k = rng() % 3;
    for (std::size_t d = 0; d < depth; ++d) {
      k = (k * 3 + rng() % (d < 10 ? 2 : 6)) % 97;
      out += ';';
      out += kWords[(d * 7 + k) % 13];
      out += "::";
      out += kWords[k % 13];
      out += '_' + std::to_string(k) + "<std::vector<int>>::run";
    }
    out += ' ' + std::to_string(1 + rng() % 200) + '\n';
  }
  return out;
}

const std::string& input() {
  static const std::string text = synthetic_folded(4000);
  return text;
}

void BM_ParseFolded(benchmark::State& state) {
  for (auto _ : state) {
    prof::FoldedData d = prof::parse_folded(input());
    benchmark::DoNotOptimize(d.lines.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input().size()));
}
BENCHMARK(BM_ParseFolded);

void BM_Layout(benchmark::State& state) {
  prof::FoldedData d = prof::parse_folded(input());
  prof::renderer::Options opt;
  opt.width = 1200;
  for (auto _ : state) {
    auto layout = prof::renderer::build_layout(d.lines, opt);
    benchmark::DoNotOptimize(layout->frames.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input().size()));
}
BENCHMARK(BM_Layout);

// Several folded files concatenated: each sorted on its own (as folders write them), the whole
// not. The runs are merged rather than sorted again.
const std::string& concatenated_runs() {
  static const std::string text = [] {
    std::string out;
    for (int r = 0; r < 8; ++r) {
      std::string run = synthetic_folded(500 + static_cast<std::size_t>(r));
      std::vector<std::string_view> lines;
      for (std::size_t p = 0, nl; p < run.size(); p = nl + 1) {
        nl = run.find('\n', p);
        lines.push_back(std::string_view(run).substr(p, nl - p));
      }
      std::sort(lines.begin(), lines.end());
      for (auto l : lines) (out += l) += '\n';
    }
    return out;
  }();
  return text;
}

void BM_LayoutSortedRuns(benchmark::State& state) {
  prof::FoldedData d = prof::parse_folded(concatenated_runs());
  prof::renderer::Options opt;
  opt.width = 1200;
  for (auto _ : state) {
    auto layout = prof::renderer::build_layout(d.lines, opt);
    benchmark::DoNotOptimize(layout->frames.data());
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * concatenated_runs().size()));
}
BENCHMARK(BM_LayoutSortedRuns);

void BM_WriteSvg(benchmark::State& state) {
  prof::FoldedData d = prof::parse_folded(input());
  prof::renderer::Options opt;
  opt.width = 1200;
  opt.min_width = 0;  // every frame drawn: measures the writer, not the pruning
  auto layout = prof::renderer::build_layout(d.lines, opt);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string out;
    prof::renderer::write_svg(*layout, opt, out);
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["frames"] = static_cast<double>(layout->frames.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * layout->frames.size()));
}
BENCHMARK(BM_WriteSvg);

}  // namespace

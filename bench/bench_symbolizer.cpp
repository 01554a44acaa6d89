// Throughput of the symbolizer's lookups: kallsyms, ELF symbol tables, DWARF inline chains and
// source lines, demangling, and whole batches through prof::symbolizer::Symbolizer.
// Inputs are files every Debian machine has (/proc/kallsyms, libc, libstdc++) and this
// benchmark's own binary (built with -g, so it has DWARF with inlined code).
//   build/bench/bench_symbolizer --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <random>

#include "prof/symbolizer/binary.h"
#include "prof/symbolizer/demangle.h"
#include "prof/symbolizer/kallsyms.h"
#include "prof/symbolizer/symbolizer.h"

namespace {

using namespace prof::symbolizer;

const char* kLibc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const char* kLibstdcxx = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

// Random addresses inside the [start, end) of `count` symbols of `bin` (one per symbol tried).
std::vector<ElfAddr> random_addresses(Binary& bin, ElfAddr lo, ElfAddr hi, std::size_t n) {
  std::mt19937_64 rng(7);
  std::vector<ElfAddr> out;
  for (std::size_t tries = 0; out.size() < n && tries < n * 100; ++tries) {
    ElfAddr a = lo + rng() % (hi - lo);
    if (bin.find_symbol(a)) out.push_back(a);
  }
  return out;
}

void BM_KallsymsParse(benchmark::State& state) {
  for (auto _ : state) {
    auto t = KallsymsTable::load("/proc/kallsyms");
    if (!t) {
      state.SkipWithError(t.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(t->size());
  }
}
BENCHMARK(BM_KallsymsParse)->Unit(benchmark::kMillisecond);

void BM_KallsymsLookup(benchmark::State& state) {
  auto t = KallsymsTable::load("/proc/kallsyms");
  if (!t) {
    state.SkipWithError(t.error().message.c_str());
    return;
  }
  std::mt19937_64 rng(1);
  std::vector<std::uint64_t> addrs(1 << 16);
  for (auto& a : addrs) a = t->lowest() + rng() % (64ull << 20);
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(t->find(addrs[i++ & 0xffff]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KallsymsLookup);

void BM_ElfSymbolTableBuild(benchmark::State& state) {
  for (auto _ : state) {
    auto b = Binary::open(state.range(0) ? kLibstdcxx : kLibc, {});
    if (!b) {
      state.SkipWithError(b.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize((*b)->symbol_count());
  }
}
BENCHMARK(BM_ElfSymbolTableBuild)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_ElfSymbolLookup(benchmark::State& state) {
  auto b = Binary::open(kLibc, {});
  if (!b) {
    state.SkipWithError(b.error().message.c_str());
    return;
  }
  auto addrs = random_addresses(**b, 0x20000, 0x180000, 1 << 14);
  std::size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize((*b)->find_symbol(addrs[i++ % addrs.size()]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ElfSymbolLookup);

// Full frames (symbol + inline chain + source line) for addresses in this binary's code:
// arg 0 = cold (a fresh Binary per batch of 4096 distinct addresses, DWARF loaded each time),
// arg 1 = warm.
void BM_DwarfInlineAndLine(benchmark::State& state) {
  std::string exe = self_exe();
  auto b = Binary::open(exe, {});
  if (!b || !(*b)->has_dwarf()) {
    state.SkipWithError("own binary has no DWARF (build with -g)");
    return;
  }
  auto addrs = random_addresses(**b, 0, 0x400000, 4096);
  std::vector<SymbolizedFrame> out;
  LookupOptions lo{.inline_frames = true, .srcline = true};
  for (auto _ : state) {
    if (state.range(0) == 0) {
      state.PauseTiming();
      b = Binary::open(exe, {});
      state.ResumeTiming();
    }
    for (auto a : addrs) {
      out.clear();
      (*b)->symbolize(a, lo, out);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(addrs.size()));
}
BENCHMARK(BM_DwarfInlineAndLine)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_Demangle(benchmark::State& state) {
  const char* names[] = {"_ZN2fx9run_twiceIlEEvRNS_11AccumulatorIT_EES2_",
                         "_ZNSt17_Function_handlerIFviEZ4mainEUliE0_E9_M_invokeERKSt9_Any_dataOi",
                         "_ZN4core3fmt5write17h0123456789abcdefE", "_RNvNtCs1234_7mycrate3foo3bar"};
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(demangle(names[i++ & 3]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Demangle);

// A whole batch: 20k samples of 8 frames over libc, libstdc++ and this binary, resolved and
// replayed (each distinct address resolved once). Arg: resolver threads.
void BM_SymbolizerBatch(benchmark::State& state) {
  std::vector<std::string> files{kLibc, kLibstdcxx, self_exe()};
  std::mt19937_64 rng(3);
  std::vector<std::vector<std::uint64_t>> chains(20000);
  for (auto& c : chains) {
    c.push_back(PERF_CONTEXT_USER);
    for (int f = 0; f < 8; ++f) {
      std::size_t file = rng() % files.size();
      c.push_back(0x100000000ull * (file + 1) + 0x1000 + rng() % 0x80000);
    }
  }
  for (auto _ : state) {
    Options o;
    o.kallsyms.clear();
    o.use_proc = false;
    o.threads = static_cast<unsigned>(state.range(0));
    Symbolizer sym(o);
    for (std::size_t i = 0; i < files.size(); ++i) {
      prof::perf::Mmap m;
      m.is_mmap2 = true;
      m.pid = m.tid = 1;
      m.start = 0x100000000ull * (i + 1);
      m.len = 0x100000;
      m.prot = 0x5;
      m.filename = files[i];
      sym.add_mmap(m);
    }
    for (const auto& c : chains) {
      prof::perf::Sample s;
      s.pid = s.tid = 1;
      s.callchain = c;
      sym.add_sample(s, "cpu-clock");
    }
    sym.resolve();
    std::size_t frames = 0;
    sym.for_each_sample([&](const prof::StackSampleView& v) { frames += v.frames.size(); });
    benchmark::DoNotOptimize(frames);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(chains.size()));
}
BENCHMARK(BM_SymbolizerBatch)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace

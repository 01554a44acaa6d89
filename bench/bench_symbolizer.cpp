// Throughput of the symbolizer's lookups: kallsyms, ELF symbol tables, DWARF inline chains and
// source lines, demangling, and whole batches through prof::symbolizer::Symbolizer.
// Inputs are files every Debian machine has (/proc/kallsyms, libc, libstdc++) and this
// benchmark's own binary (built with -g, so it has DWARF with inlined code).
//   build/bench/bench_symbolizer --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

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

// The whole fresh load: the kernel formatting /proc/kallsyms (most of it) plus our parse.
void BM_KallsymsParse(benchmark::State& state) {
  setenv("PROF_NO_KALLSYMS_CACHE", "1", 1);
  for (auto _ : state) {
    auto t = KallsymsTable::load("/proc/kallsyms");
    if (!t) {
      state.SkipWithError(t.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(t->size());
  }
  unsetenv("PROF_NO_KALLSYMS_CACHE");
}
BENCHMARK(BM_KallsymsParse)->Unit(benchmark::kMillisecond);

// Our parse alone, on text already in memory (the copy handed to parse_owned is made outside
// the timed region).
void BM_KallsymsParseOwned(benchmark::State& state) {
  std::ifstream in("/proc/kallsyms");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (auto _ : state) {
    state.PauseTiming();
    std::string copy = text;
    state.ResumeTiming();
    auto t = KallsymsTable::parse_owned(std::move(copy));
    benchmark::DoNotOptimize(t.size());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_KallsymsParseOwned)->Unit(benchmark::kMillisecond);

// load("/proc/kallsyms") once the cache is warm: map the file, check it, hand out the table.
// Arg 1: a cached table stays alive meanwhile, so the file's preferred address is taken and
// each load reads the file and moves every view instead (the fallback path).
void BM_KallsymsLoadCached(benchmark::State& state) {
  char dir[] = "/tmp/bench-kallsyms-cache-XXXXXX";
  if (!mkdtemp(dir)) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  setenv("PROF_CACHE_DIR", dir, 1);
  auto warm = KallsymsTable::load("/proc/kallsyms");
  auto holder = state.range(0) ? KallsymsTable::load("/proc/kallsyms") : std::move(warm);
  for (auto _ : state) {
    auto t = KallsymsTable::load("/proc/kallsyms");
    if (!t || !t->from_cache()) {
      state.SkipWithError(t ? "the cache was not used" : t.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(t->size());
  }
  unsetenv("PROF_CACHE_DIR");
  std::string file = std::string(dir) + "/kallsyms-" + std::to_string(geteuid()) + ".bin";
  std::remove(file.c_str());
  rmdir(dir);
}
BENCHMARK(BM_KallsymsLoadCached)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

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
  for (auto _ : state) benchmark::DoNotOptimize((*b)->find_symbol(addrs[i++ % addrs.size()]));
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

// Adding samples (translation against the maps and location interning, no resolution): 200k
// samples of 8 frames drawn from 64 distinct stacks. Arg 1: Options::aggregate (stored samples
// stay at the distinct count; the `stored` counter shows it).
void BM_SymbolizerAddSamples(benchmark::State& state) {
  std::mt19937_64 rng(5);
  std::vector<std::vector<std::uint64_t>> stacks(64);
  for (auto& c : stacks) {
    c.push_back(PERF_CONTEXT_USER);
    for (int f = 0; f < 8; ++f) c.push_back(0x100000000ull + 0x1000 + rng() % 0x80000);
  }
  std::vector<std::size_t> picks(200000);
  for (auto& p : picks) p = rng() % stacks.size();
  std::size_t stored = 0;
  for (auto _ : state) {
    Options o;
    o.kallsyms.clear();
    o.use_proc = false;
    o.aggregate = state.range(0) != 0;
    Symbolizer sym(o);
    prof::perf::Mmap m;
    m.is_mmap2 = true;
    m.pid = m.tid = 1;
    m.start = 0x100000000ull;
    m.len = 0x100000;
    m.prot = 0x5;
    m.filename = kLibc;
    sym.add_mmap(m);
    prof::perf::Sample s;
    s.pid = s.tid = 1;
    s.period = 1000;
    for (std::size_t p : picks) {
      s.callchain = stacks[p];
      sym.add_sample(s, "cpu-clock");
    }
    stored = sym.stored_samples();
  }
  state.counters["stored"] = static_cast<double>(stored);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(picks.size()));
}
BENCHMARK(BM_SymbolizerAddSamples)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// perf-script text for one sample of 16 frames (what `profile symbolize` prints per sample).
void BM_PerfScriptText(benchmark::State& state) {
  std::vector<prof::FrameView> frames(16);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    frames[i].address = 0x7f0000001000ull + i * 0x1234;
    frames[i].symbol = "std::vector<int, std::allocator<int> >::push_back";
    frames[i].symbol_offset = 0x40 + i;
    frames[i].module = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30";
  }
  prof::StackSampleView s;
  s.comm = "worker";
  s.pid = 4242;
  s.tid = 4243;
  s.cpu = 1;
  s.time_ns = 5900897196123ull;
  s.period = 1001001;
  s.event = "cpu-clock:pppH";
  s.frames = frames;
  std::string out;
  for (auto _ : state) {
    out.clear();
    append_perf_script(out, s, {});
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}
BENCHMARK(BM_PerfScriptText);

}  // namespace

// DWARF unwinding (issue 7): this thread's own stack, captured the way the kernel captures a
// --call-graph dwarf sample (user registers + an 8 KiB copy from sp), unwound through
// Symbolizer::add_sample with this process's executable maps. Items are samples unwound.
namespace {

struct CapturedStack {
  std::vector<std::uint64_t> regs;  // perf order, mask 0xff0fff
  std::vector<std::uint8_t> stack;
};

__attribute__((noinline)) CapturedStack capture_here() {
  std::uint64_t rip, rsp, rbp;
  asm volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
               : "=r"(rip), "=r"(rsp), "=r"(rbp));
  CapturedStack c;
  // AX BX CX DX SI DI BP SP IP FLAGS CS SS | R8..R15
  c.regs = {0, 0, 0, 0, 0, 0, rbp, rsp, rip, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const auto* p = reinterpret_cast<const std::uint8_t*>(rsp);
  c.stack.assign(p, p + 8192);
  return c;
}

__attribute__((noinline)) CapturedStack nest(int depth) {
  if (depth == 0) return capture_here();
  CapturedStack c = nest(depth - 1);
  asm volatile("" ::: "memory");
  return c;
}

void add_own_maps(Symbolizer& sym, std::uint32_t pid) {
  auto maps = std::ifstream("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::uint64_t start, end, off;
    char perms[5] = {};
    char path[4096] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s %lx %*s %*s %4095[^\n]", &start, &end, perms, &off,
                    path) < 4 ||
        perms[2] != 'x')
      continue;
    prof::perf::Mmap m;
    m.is_mmap2 = true;
    m.pid = m.tid = pid;
    m.start = start;
    m.len = end - start;
    m.pgoff = off;
    m.prot = 0x5;
    std::string p = path;
    p.erase(0, p.find_first_not_of(' '));
    m.filename = p;
    sym.add_mmap(m);
  }
}

void BM_DwarfUnwind(benchmark::State& state) {
  CapturedStack c = nest(static_cast<int>(state.range(0)));
  std::uint32_t pid = static_cast<std::uint32_t>(getpid());
  Options o;
  o.kallsyms.clear();
  o.use_proc = false;
  o.threads = static_cast<unsigned>(state.range(1));  // unwinding threads per batch
  o.unwind_cached_rules = state.range(2) != 0;        // 0: every step by libdwfl
  Symbolizer sym(o);
  add_own_maps(sym, pid);
  prof::perf::Sample s;
  s.pid = s.tid = pid;
  s.regs_user_abi = PERF_SAMPLE_REGS_ABI_64;
  s.regs_user = c.regs;
  s.stack_user = c.stack;
  s.stack_user_dyn_size = c.stack.size();
  s.ip = c.regs[8];
  std::size_t n = 0;
  for (auto _ : state) {
    sym.add_sample(s, "cpu-clock", 0xff0fff);
    if (++n % 4096 == 0) sym.clear_samples();
  }
  state.SetItemsProcessed(state.iterations());
  sym.flush();  // the last batch: summary() counts stored samples only
  auto sum = sym.summary();
  state.counters["early_stops"] = static_cast<double>(sum.unwind_early_stops);
  sym.resolve();
  std::size_t frames = 0;
  sym.for_each_sample([&](const prof::StackSampleView& v) { frames = v.frames.size(); });
  state.counters["frames"] = static_cast<double>(frames);
}
// Samples are unwound in batches of 4096 on `threads` threads: wall-clock throughput. The
// third argument: steps from cached CFI rules (1, the default) or all by libdwfl (0).
BENCHMARK(BM_DwarfUnwind)
    ->ArgNames({"frames", "threads", "cached_rules"})
    ->Args({5, 1, 1})
    ->Args({5, 2, 1})
    ->Args({40, 1, 1})
    ->Args({40, 2, 1})
    ->Args({5, 1, 0})
    ->Args({40, 1, 0})
    ->UseRealTime();

}  // namespace

#include "prof/symbolizer/symbolizer.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <cstdio>
#include <map>
#include <sstream>

#include "prof/common/event_name.h"
#include "sym_test_util.h"
#include "test_support.h"

namespace prof::symbolizer {
namespace {

using prof::test::fixture;

constexpr std::uint64_t kBase = 0x555555554000;

perf::Mmap mmap_of(std::uint32_t pid, std::uint64_t start, std::uint64_t len, std::uint64_t pgoff,
                   const std::string& file) {
  perf::Mmap m;
  m.is_mmap2 = true;
  m.misc = PERF_RECORD_MISC_USER;
  m.pid = m.tid = pid;
  m.start = start;
  m.len = len;
  m.pgoff = pgoff;
  m.prot = 0x5;  // PROT_READ | PROT_EXEC
  m.filename = file;
  return m;
}

perf::Comm comm_of(std::uint32_t pid, const std::string& name, bool exec = false) {
  perf::Comm c;
  c.pid = c.tid = pid;
  c.comm = name;
  c.exec = exec;
  return c;
}

perf::Sample sample_of(std::uint32_t pid, std::vector<std::uint64_t> chain,
                       std::uint64_t time = 1) {
  perf::Sample s;
  s.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
                  PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN;
  s.pid = s.tid = pid;
  s.time = time;
  s.cpu = 1;
  s.period = 1000;
  s.misc = PERF_RECORD_MISC_USER;
  s.ip = chain.empty() ? 0 : chain[0];
  s.callchain = std::move(chain);
  return s;
}

struct Frame {
  std::string symbol, module;
  std::uint64_t address, offset;
  bool inlined;
};

std::vector<std::vector<Frame>> collect(const Symbolizer& sym) {
  std::vector<std::vector<Frame>> out;
  sym.for_each_sample([&](const StackSampleView& s) {
    auto& v = out.emplace_back();
    for (const auto& f : s.frames)
      v.push_back(Frame{std::string(f.symbol), std::string(f.module), f.address, f.symbol_offset,
                        f.inlined});
  });
  return out;
}

std::uint64_t addr_of(const std::string& bin, const std::string& fn) {
  const auto s = test::nm_find(test::nm_functions(bin), fn);
  EXPECT_TRUE(s) << fn;
  return s ? s->address : 0;
}

Options offline() {
  Options o;
  o.kallsyms.clear();
  o.use_proc = false;
  return o;
}

TEST(Symbolizer, PieMappedWholeAndBySegment) {
  std::string bin = fixture("fx_sym_nested_fp");
  std::uint64_t l3 = addr_of(bin, "level3"), l2 = addr_of(bin, "level2");
  Symbolizer sym(offline());
  sym.add_mmap(mmap_of(100, kBase, 0x5000, 0, bin));
  // The same file in a second process, mapped as perf sees it: only the text segment, with
  // a non-zero pgoff (0x1000) at an address unrelated to the first.
  sym.add_mmap(mmap_of(200, 0x7f0000001000, 0x1000, 0x1000, bin));
  sym.add_sample(sample_of(100, {PERF_CONTEXT_USER, kBase + l3 + 2, kBase + l2 + 9}), "cpu-clock");
  sym.add_sample(sample_of(200, {PERF_CONTEXT_USER, 0x7f0000001000 + (l3 - 0x1000) + 2}),
                 "cpu-clock");
  sym.resolve();
  auto s = collect(sym);
  ASSERT_EQ(s.size(), 2u);
  ASSERT_EQ(s[0].size(), 2u);
  EXPECT_EQ(s[0][0].symbol, "level3");
  EXPECT_EQ(s[0][0].offset, 2u);
  EXPECT_EQ(s[0][0].address, l3 + 2);  // perf prints the file offset for mapped frames
  EXPECT_EQ(s[0][0].module, bin);
  EXPECT_EQ(s[0][1].symbol, "level2");
  ASSERT_EQ(s[1].size(), 1u);
  EXPECT_EQ(s[1][0].symbol, "level3");
  EXPECT_EQ(s[1][0].offset, 2u);
  EXPECT_EQ(sym.summary().objects, 1u);  // both mappings share one opened binary
}

TEST(Symbolizer, UnmappedMissingAndKernelFramesAreData) {
  prof::test::TempDir dir;
  prof::test::write_file(dir.file("kallsyms"),
                         "ffffffff81000000 T _text\nffffffff81000100 T do_syscall_64\n"
                         "ffffffff81000200 T entry_SYSCALL_64\n");
  Options o = offline();
  o.kallsyms = dir.file("kallsyms");
  WarningSink warnings;
  Symbolizer sym(o, &warnings);
  sym.add_mmap(mmap_of(7, 0x400000, 0x1000, 0, "/nonexistent/libgone.so"));
  sym.add_sample(sample_of(7, {PERF_CONTEXT_KERNEL, 0xffffffff81000104, 0xffffffff81000210,
                               PERF_CONTEXT_USER, 0x400123, 0x10, 0xffffffff81000105}),
                 "cpu-clock");
  sym.resolve();
  auto s = collect(sym);
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].size(), 5u);
  EXPECT_EQ(s[0][0].symbol, "do_syscall_64");
  EXPECT_EQ(s[0][0].offset, 4u);
  EXPECT_EQ(s[0][0].module, "[kernel.kallsyms]");
  EXPECT_EQ(s[0][1].symbol, "entry_SYSCALL_64");
  EXPECT_EQ(s[0][2].symbol, "");  // mapped, file gone
  EXPECT_EQ(s[0][2].module, "/nonexistent/libgone.so");
  EXPECT_EQ(s[0][2].address, 0x123u);
  EXPECT_EQ(s[0][3].symbol, "");  // nothing mapped there
  EXPECT_EQ(s[0][3].module, "[unknown]");
  EXPECT_EQ(s[0][3].address, 0x10u);
  // A kernel address in user context still resolves in the kernel (perf does the same).
  EXPECT_EQ(s[0][4].symbol, "do_syscall_64");
  Summary sum = sym.summary();
  EXPECT_EQ(sum.kernel_frames, 3u);
  EXPECT_EQ(sum.unresolved_frames, 1u);
  EXPECT_EQ(sum.unmapped_frames, 1u);
  EXPECT_EQ(sum.missing_objects, 1u);
  EXPECT_EQ(warnings.count("missing-object"), 1u);
}

TEST(Symbolizer, CorruptCallchainKeepsSoundPrefix) {
  std::string bin = fixture("fx_sym_nested_fp");
  std::uint64_t l3 = addr_of(bin, "level3"), l2 = addr_of(bin, "level2");
  Symbolizer sym(offline());
  sym.add_mmap(mmap_of(1, kBase, 0x5000, 0, bin));
  // Twice: the second is the same chain again (translated once, counted each time).
  for (int i = 0; i < 2; ++i)
    sym.add_sample(
        sample_of(1, {PERF_CONTEXT_USER, kBase + l3, kBase + l2, ~std::uint64_t{0}, kBase + l3}),
        "cpu-clock");
  sym.resolve();
  auto s = collect(sym);
  ASSERT_EQ(s.size(), 2u);
  for (const auto& stack : s) {
    ASSERT_EQ(stack.size(), 2u);
    EXPECT_EQ(stack[1].symbol, "level2");
  }
  EXPECT_EQ(sym.summary().corrupt_callchains, 2u);
}

TEST(Symbolizer, EachDistinctLocationResolvedOnce) {
  std::string bin = fixture("fx_sym_nested_fp");
  std::uint64_t l3 = addr_of(bin, "level3");
  Symbolizer sym(offline());
  sym.add_mmap(mmap_of(1, kBase, 0x5000, 0, bin));
  for (int i = 0; i < 1000; ++i)
    sym.add_sample(sample_of(1, {PERF_CONTEXT_USER, kBase + l3 + (i % 3)}), "cpu-clock");
  sym.resolve();
  EXPECT_EQ(sym.summary().locations, 3u);
  EXPECT_EQ(sym.summary().samples, 1000u);
  // More samples later: only the new location is resolved.
  sym.add_sample(sample_of(1, {PERF_CONTEXT_USER, kBase + l3 + 7}), "cpu-clock");
  sym.resolve();
  EXPECT_EQ(sym.summary().locations, 4u);
}

// Options::aggregate: what is stored grows with distinct (comm, pid, tid, cpu, event, stack),
// not with samples; the weight per stack is the same as without it.
TEST(Symbolizer, AggregateStoresDistinctStacksOnly) {
  std::string bin = fixture("fx_sym_nested_fp");
  std::uint64_t l3 = addr_of(bin, "level3"), l2 = addr_of(bin, "level2");
  auto feed = [&](Symbolizer& sym, int rounds) {
    sym.add_comm(comm_of(1, "app"));
    sym.add_comm(comm_of(2, "other"));
    sym.add_mmap(mmap_of(1, kBase, 0x5000, 0, bin));
    sym.add_mmap(mmap_of(2, kBase, 0x5000, 0, bin));
    for (int i = 0; i < rounds; ++i) {
      std::uint64_t t = 100 + static_cast<std::uint64_t>(i);
      sym.add_sample(sample_of(1, {PERF_CONTEXT_USER, kBase + l3 + 1, kBase + l2 + 9}, t),
                     "cpu-clock");
      sym.add_sample(sample_of(1, {PERF_CONTEXT_USER, kBase + l2 + 1}, t), "cpu-clock");
      sym.add_sample(sample_of(2, {PERF_CONTEXT_USER, kBase + l3 + 1, kBase + l2 + 9}, t),
                     "cpu-clock");
      auto other_cpu = sample_of(1, {PERF_CONTEXT_USER, kBase + l2 + 1}, t);
      other_cpu.cpu = 0;
      other_cpu.period = 0;  // weighs 1, as folding counts it
      sym.add_sample(other_cpu, "cpu-clock");
      sym.add_sample(sample_of(1, {PERF_CONTEXT_USER, kBase + l2 + 1}, t), "task-clock");
    }
    sym.resolve();
  };
  // stack text + comm/pid/cpu/event -> summed weight
  auto weights = [](const Symbolizer& sym) {
    std::map<std::string, std::uint64_t> w;
    sym.for_each_sample([&](const StackSampleView& s) {
      std::string key = std::string(s.comm) + " " + std::to_string(s.pid) + " " +
                        std::to_string(s.cpu) + " " + std::string(s.event);
      for (const auto& f : s.frames) key += ";" + std::string(f.symbol);
      w[key] += s.period == 0 ? 1 : s.period;
    });
    return w;
  };
  Options agg = offline();
  agg.aggregate = true;
  Symbolizer few(agg), many(agg), plain(offline());
  feed(few, 3);
  feed(many, 3000);
  feed(plain, 3000);
  EXPECT_EQ(few.stored_samples(), 5u);
  EXPECT_EQ(many.stored_samples(), 5u);  // 15 000 samples, 5 distinct
  EXPECT_EQ(plain.stored_samples(), 15000u);
  EXPECT_EQ(many.summary().samples, 15000u);
  EXPECT_EQ(many.summary().frames, plain.summary().frames);
  auto w = weights(many);
  EXPECT_EQ(w, weights(plain));
  EXPECT_EQ(w["app 1 1 cpu-clock;level3;level2"], 3000u * 1000u);
  EXPECT_EQ(w["app 1 0 cpu-clock;level2"], 3000u);
  // One representative time: the first sample's.
  std::vector<std::uint64_t> times;
  many.for_each_sample([&](const StackSampleView& s) { times.push_back(s.time_ns); });
  EXPECT_EQ(times, (std::vector<std::uint64_t>(5, 100)));
  // After clear_samples the same stack is a new entry again.
  many.clear_samples();
  many.add_sample(sample_of(1, {PERF_CONTEXT_USER, kBase + l2 + 1}, 7), "cpu-clock");
  many.add_sample(sample_of(1, {PERF_CONTEXT_USER, kBase + l2 + 1}, 8), "cpu-clock");
  EXPECT_EQ(many.stored_samples(), 1u);
  EXPECT_EQ(weights(many)["app 1 1 cpu-clock;level2"], 2000u);
}

TEST(Symbolizer, ForkCopiesMapsExecRenamesAndNewMapsReplace) {
  std::string bin = fixture("fx_sym_nested_fp");
  std::uint64_t l3 = addr_of(bin, "level3");
  Symbolizer sym(offline());
  sym.add_comm(comm_of(10, "parent"));
  sym.add_mmap(mmap_of(10, kBase, 0x5000, 0, bin));
  perf::Task fork;
  fork.pid = fork.tid = 11;
  fork.ppid = fork.ptid = 10;
  sym.add_fork(fork);
  sym.add_sample(sample_of(11, {PERF_CONTEXT_USER, kBase + l3}), "cpu-clock");
  // Inside execve, after the COMM: the user stack is still the old image's.
  sym.add_comm(comm_of(11, "child", true));
  sym.add_sample(sample_of(11, {PERF_CONTEXT_USER, kBase + l3}), "cpu-clock");
  // The new image maps over the old range.
  sym.add_mmap(mmap_of(11, kBase, 0x5000, 0, "/nonexistent/new-image"));
  sym.add_sample(sample_of(11, {PERF_CONTEXT_USER, kBase + l3}), "cpu-clock");
  sym.resolve();
  std::vector<std::string> comms, names, modules;
  sym.for_each_sample([&](const StackSampleView& s) {
    comms.emplace_back(s.comm);
    names.emplace_back(s.frames[0].symbol);
    modules.emplace_back(s.frames[0].module);
  });
  EXPECT_EQ(comms, (std::vector<std::string>{"parent", "child", "child"}));
  EXPECT_EQ(names, (std::vector<std::string>{"level3", "level3", ""}));
  EXPECT_EQ(modules.back(), "/nonexistent/new-image");
}

TEST(Symbolizer, OverlappingMmapReplacesOldRange) {
  std::string a = fixture("fx_sym_nested_fp"), b = fixture("fx_sym_nopie");
  Symbolizer sym(offline());
  sym.add_mmap(mmap_of(1, 0x10000, 0x4000, 0, a));
  sym.add_mmap(mmap_of(1, 0x11000, 0x1000, 0x1000, b));  // punches a hole in the middle
  sym.add_sample(sample_of(1, {PERF_CONTEXT_USER, 0x10010, 0x11010, 0x12010}), "cpu-clock");
  sym.resolve();
  auto s = collect(sym);
  ASSERT_EQ(s[0].size(), 3u);
  EXPECT_EQ(s[0][0].module, a);
  EXPECT_EQ(s[0][1].module, b);
  EXPECT_EQ(s[0][1].address, 0x1010u);
  EXPECT_EQ(s[0][2].module, a);
  EXPECT_EQ(s[0][2].address, 0x2010u);  // the tail keeps its own file offset
}

TEST(Symbolizer, PerfMapForAnonymousCode) {
  prof::test::TempDir dir;
  std::string tmp = dir.path() + "/tmp";
  ASSERT_EQ(prof::test::run({"mkdir", "-p", tmp}).exit_code, 0);
  prof::test::write_file(tmp + "/perf-4242.map", "7f0000010000 100 JIT:hot_loop\n");
  Options o = offline();
  o.symfs = dir.path();
  Symbolizer sym(o);
  sym.add_mmap(mmap_of(4242, 0x7f0000000000, 0x100000, 0, "//anon"));
  sym.add_sample(sample_of(4242, {PERF_CONTEXT_USER, 0x7f0000010010, 0x7f0000020000}), "cpu-clock");
  sym.resolve();
  auto s = collect(sym);
  ASSERT_EQ(s[0].size(), 2u);
  EXPECT_EQ(s[0][0].symbol, "JIT:hot_loop");
  EXPECT_EQ(s[0][0].offset, 0x10u);
  EXPECT_EQ(s[0][0].module, "/tmp/perf-4242.map");
  EXPECT_EQ(s[0][0].address, 0x7f0000010010u);
  EXPECT_EQ(s[0][1].symbol, "");
}

TEST(Symbolizer, InlineFramesExpandInnermostFirst) {
  std::string bin = fixture("fx_sym_inline");
  const auto outer = test::nm_find(test::nm_functions(bin), "outer");
  ASSERT_TRUE(outer);
  Options o = offline();
  o.inline_frames = true;
  Symbolizer sym(o);
  sym.add_mmap(mmap_of(1, kBase, 0x5000, 0, bin));
  for (std::uint64_t a = outer->address; a < outer->address + outer->size; ++a)
    sym.add_sample(sample_of(1, {PERF_CONTEXT_USER, kBase + a}), "cpu-clock");
  sym.resolve();
  bool saw_chain = false;
  sym.for_each_sample([&](const StackSampleView& s) {
    if (s.frames.size() == 3 && s.frames[0].symbol == "leaf" && s.frames[0].inlined &&
        s.frames[1].symbol == "mid" && s.frames[2].symbol == "outer" && !s.frames[2].inlined)
      saw_chain = true;
  });
  EXPECT_TRUE(saw_chain);
  EXPECT_GT(sym.summary().inlined_frames, 0u);
}

// Offline options on `threads` threads, with inline frames and source lines when `dwarf`.
Options with_dwarf(unsigned threads, bool dwarf) {
  Options o = offline();
  o.threads = threads;
  o.inline_frames = dwarf;
  o.srcline = dwarf;
  return o;
}

// Maps each fixture binary whole into `pid`, the i-th at 0x100000000 * (i + 1).
void map_fixtures(Symbolizer& sym, std::uint32_t pid, const std::vector<std::string>& bins) {
  for (std::size_t i = 0; i < bins.size(); ++i)
    sym.add_mmap(mmap_of(pid, 0x100000000ull * (i + 1), 0x5000, 0, bins[i]));
}

TEST(Symbolizer, ThreadCountDoesNotChangeOutput) {
  std::vector<std::string> bins{fixture("fx_sym_nested_fp"), fixture("fx_sym_cxx"),
                                fixture("fx_sym_inline"), fixture("libfxsym.so")};
  auto run_with = [&](unsigned threads) {
    Symbolizer sym(with_dwarf(threads, true));
    map_fixtures(sym, 1, bins);
    for (std::uint64_t a = 0x1000; a < 0x1400; a += 3) {
      std::vector<std::uint64_t> chain{PERF_CONTEXT_USER};
      for (std::size_t i = 0; i < bins.size(); ++i) chain.push_back(0x100000000ull * (i + 1) + a);
      sym.add_sample(sample_of(1, chain), "cpu-clock");
    }
    sym.resolve();
    std::string text;
    sym.for_each_sample(
        [&](const StackSampleView& s) { append_perf_script(text, s, {.srcline = true}); });
    return text;
  };
  std::string one = run_with(1);
  EXPECT_EQ(one, run_with(4));
  EXPECT_NE(one.find("level"), std::string::npos);
}

// write_perf_script formats each location once and chunks of samples on several threads; its
// text must be exactly the per-sample append_perf_script text, in order, for any thread count.
TEST(Symbolizer, WritePerfScriptEqualsPerSampleTextOnAnyThreadCount) {
  std::vector<std::string> bins{fixture("fx_sym_nested_fp"), fixture("fx_sym_inline")};
  for (bool srcline : {false, true}) {
    for (unsigned threads : {1u, 3u}) {
      Symbolizer sym(with_dwarf(threads, srcline));
      map_fixtures(sym, 7, bins);
      for (std::uint32_t k = 0; k < 5; ++k) {  // threads sharing one name
        perf::Comm c = comm_of(7, "fxworker");
        c.tid = 7 + 16 * k;
        sym.add_comm(c);
      }
      std::uint64_t t = 1;
      for (int rep = 0; rep < 20; ++rep)  // ~6800 samples: several 2048-sample chunks
        for (std::uint64_t a = 0x1000; a < 0x1400; a += 3) {
          auto s = sample_of(7,
                             {PERF_CONTEXT_USER, 0x100000000ull + a, 0x200000000ull + a,
                              0x300000000ull + a /* unmapped */},
                             t += 999'999);
          // Threads, CPUs, periods and events change between samples, as in a system-wide
          // capture: the header pieces kept from sample to sample must follow.
          s.cpu = static_cast<std::uint32_t>(rep % 4);
          s.tid = static_cast<std::uint32_t>(7 + 16 * (a % 5));
          s.period = 1000 + a % 3;
          sym.add_sample(s, rep % 2 ? "cpu-clock" : "task-clock");
        }
      sym.resolve();
      ScriptFormat fmt{.pid = threads == 1, .srcline = srcline};
      std::string expected;
      sym.for_each_sample([&](const StackSampleView& v) { append_perf_script(expected, v, fmt); });
      std::string got;
      std::size_t pieces = 0;
      EXPECT_TRUE(sym.write_perf_script(fmt, [&](std::string_view text) {
        got += text;
        ++pieces;
        return true;
      }));
      EXPECT_GT(pieces, 3u);
      // (Not EXPECT_EQ: a difference would print megabytes.)
      const auto diff = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end());
      EXPECT_TRUE(got == expected)
          << "threads " << threads << " srcline " << srcline << ": first difference at byte "
          << (diff.first - got.begin()) << ": got \""
          << got.substr(static_cast<std::size_t>(diff.first - got.begin()), 80) << "\"";
      EXPECT_NE(got.find("level"), std::string::npos);
      // A failing sink (a write error) stops it at once.
      std::size_t calls = 0;
      EXPECT_FALSE(sym.write_perf_script(fmt, [&](std::string_view) { return ++calls > 100; }));
      EXPECT_EQ(calls, 1u);
    }
  }
}

// The header fields are formatted without printf; they must read exactly as perf's printf
// conversions would, at every width boundary.
TEST(Symbolizer, PerfScriptHeaderMatchesPrintfConversions) {
  const std::int64_t ids[] = {-1, 0, 7, 12345, 123456, 4194304};
  const std::int32_t cpus[] = {0, 5, 99, 1234};
  const std::uint64_t times[] = {0, 999, 1'000'000'000, 5'900'897'196'123, 123'456'789'012'345'678};
  const std::uint64_t periods[] = {0, 1, 1001001, 12345678901ull, ~std::uint64_t{0}};
  FrameView frame;
  frame.address = 0xffffffff81000000ull;
  frame.symbol = "f";
  frame.module = "m";
  for (auto id : ids)
    for (auto cpu : cpus)
      for (auto t : times)
        for (auto p : periods)
          for (bool pid : {true, false}) {
            StackSampleView s;
            s.comm = "c";
            s.pid = id;
            s.tid = id + 1;
            s.cpu = cpu;
            s.time_ns = t;
            s.period = p;
            s.event = "e";
            s.frames = std::span(&frame, 1);
            char want[256];
            int n =
                pid ? std::snprintf(want, sizeof want, "c %5lld/%-5lld ",
                                    static_cast<long long>(id), static_cast<long long>(id + 1))
                    : std::snprintf(want, sizeof want, "c %5lld ", static_cast<long long>(id + 1));
            n += std::snprintf(want + n, sizeof want - static_cast<std::size_t>(n),
                               "[%03d] %5llu.%06llu: %10llu e: \n\tffffffff81000000 f+0x0 (m)\n\n",
                               cpu, static_cast<unsigned long long>(t / 1000000000),
                               static_cast<unsigned long long>(t % 1000000000 / 1000),
                               static_cast<unsigned long long>(p));
            std::string got;
            append_perf_script(got, s, {.pid = pid});
            ASSERT_EQ(got, std::string(want, static_cast<std::size_t>(n)));
          }
}

TEST(Symbolizer, PerfScriptTextFormat) {
  FrameView frames[3];
  frames[0] = {.address = 0x116a,
               .symbol = "leaf",
               .symbol_offset = 0x1a,
               .module = "/bin/x",
               .srcline = "x.c:3",
               .inlined = true};
  frames[1] = {.address = 0x116a,
               .symbol = "outer",
               .symbol_offset = 0x1a,
               .module = "/bin/x",
               .srcline = "x.c:5"};
  frames[2].address = 0x7f64398fc8a8;
  frames[2].module = "[unknown]";
  StackSampleView s;
  s.comm = "inl";
  s.pid = 8804;
  s.tid = 8805;
  s.cpu = 1;
  s.time_ns = 596643961123;
  s.period = 250000;
  s.event = "cpu-clock:pppH";
  s.frames = frames;
  std::ostringstream out;
  write_perf_script(out, s, {});
  EXPECT_EQ(out.str(),
            "inl  8804/8805  [001]   596.643961:     250000 cpu-clock:pppH: \n"
            "\t            116a leaf+0x1a (inlined)\n"
            "\t            116a outer+0x1a (/bin/x)\n"
            "\t    7f64398fc8a8 [unknown] ([unknown])\n\n");
  std::string text;
  s.cpu = -1;
  append_perf_script(text, s, {.pid = false, .srcline = true});
  EXPECT_EQ(text,
            "inl  8805   596.643961:     250000 cpu-clock:pppH: \n"
            "\t            116a leaf+0x1a (inlined)\n  x.c:3\n"
            "\t            116a outer+0x1a (/bin/x)\n  x.c:5\n"
            "\t    7f64398fc8a8 [unknown] ([unknown])\n  [unknown][7f64398fc8a8]\n\n");
}

TEST(Symbolizer, EventNamesForUnnamedAttrs) {
  // One naming for the whole project (prof::perf::event_name, issue 15), perf's own: checked
  // against perf 6.1's `perf script -F event` on captures without names. The symbolizer's old
  // copy had perf's host/guest rule inverted: perf prints ":HG" for an attr that counts guest
  // and host alike, and "H" once a privilege exclusion makes "guest excluded" the default.
  perf_event_attr a{};
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_CPU_CLOCK;
  EXPECT_EQ(perf::event_name(a), "cpu-clock:HG");
  a.type = PERF_TYPE_HARDWARE;
  a.config = PERF_COUNT_HW_CPU_CYCLES;
  EXPECT_EQ(perf::event_name(a), "cycles:HG");
  // perf record's default attr: precise_ip 3, guest excluded.
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_CPU_CLOCK;
  a.precise_ip = 3;
  a.exclude_guest = 1;
  EXPECT_EQ(perf::event_name(a), "cpu-clock:pppH");
  a.exclude_kernel = 1;
  a.exclude_hv = 1;  // what `-e cpu-clock:u` sets
  a.precise_ip = 0;
  EXPECT_EQ(perf::event_name(a), "cpu-clock:uH");
}

}  // namespace
}  // namespace prof::symbolizer

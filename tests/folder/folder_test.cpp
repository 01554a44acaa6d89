// prof::folder library: the reference's rules one by one, the divergences, the typed path's
// identity with the text path, streaming, warnings and bounded memory.
#include "prof/folder/folder.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cinttypes>
#include <cstdio>
#include <random>

#include "folder_test_util.h"
#include "test_support.h"

namespace prof::folder {
namespace {

using test::fold_text;

Options with(void (*set)(Options&)) {
  Options o;
  set(o);
  return o;
}

TEST(Fold, BasicSampleRootFirstWithPeriod) {
  EXPECT_EQ(fold_text("app 42 [001] 1.5: 250000 cpu-clock:\n"
                      "\t  4011 leaf+0x1f (/bin/app)\n"
                      "\t  4022 mid (/bin/app)\n"
                      "\t  4033 main (/bin/app)\n\n"),
            "app;main;mid;leaf 250000\n");
}

TEST(Fold, SumsPeriodsAndSortsByteWise) {
  std::string s =
      "bb 1 [000] 1.0: 5 cpu-clock:\n\t1 f (m)\n\n"
      "BB 1 [000] 1.0: 7 cpu-clock:\n\t1 f (m)\n\n"
      "bb 1 [000] 1.0: 5 cpu-clock:\n\t1 f (m)\n\n"
      "\xc3\xa9t\xc3\xa9 1 [000] 1.0: 1 cpu-clock:\n\t1 f (m)\n\n";
  EXPECT_EQ(fold_text(s), "BB;f 7\nbb;f 10\n\xc3\xa9t\xc3\xa9;f 1\n");
}

TEST(Fold, MissingOrZeroPeriodCountsOne) {
  EXPECT_EQ(fold_text("a1 5 [000] 1.0: cpu-clock:\n\t1 f (m)\n\n"
                      "a1 5 [000] 1.0: 0 cpu-clock:\n\t1 f (m)\n\n"
                      "a1 5 cpu-clock:\n\t1 f (m)\n\n"),
            "a1;f 3\n");
}

TEST(Fold, HeaderCommAndPidRules) {
  auto tid = with([](Options& o) { o.include_tid = true; });
  // Shortest comm of >= 2 chars followed by a number: a comm with spaces stays whole, unless it
  // holds a whitespace-separated number itself (the reference's quirk).
  EXPECT_EQ(fold_text("V8 WorkerThread 25607/25610 [000] 1.0: cpu-clock:\n\t1 f (m)\n\n", tid),
            "V8_WorkerThread-25607/25610;f 1\n");
  EXPECT_EQ(fold_text("Web Content 2 1234/1240 [000] 1.0: cpu-clock:\n\t1 f (m)\n\n", tid),
            "Web_Content-?/2;f 1\n");
  // One number, or TID 0, means PID unknown.
  EXPECT_EQ(fold_text("swapper 0/0 [000] 1.0: cpu-clock:\n\t1 f (m)\n\n", tid),
            "swapper-?/0;f 1\n");
  EXPECT_EQ(fold_text("perf 5 [000] 1.0: cpu-clock:\n\t1 f (m)\n\n", tid), "perf-?/5;f 1\n");
  EXPECT_EQ(fold_text("perf 5/6 [000] 1.0: cpu-clock:\n\t1 f (m)\n\n",
                      with([](Options& o) { o.include_pid = true; })),
            "perf-5;f 1\n");
}

TEST(Fold, OneCharCommIsReadAsTheReferenceReadsIt) {
  // COMM needs two characters, so `a 123 [000] 1.000:` is the comm and 1 the pid.
  EXPECT_EQ(fold_text("a 123 [000] 1.000: 1 cycles:\n\t1 f (m)\n\n"), "a_123_[000]_1.000:;f 1\n");
}

TEST(Fold, HeadersWithoutBlankLineMergeIntoOneSample) {
  // Reference quirk kept: the second header's name and period win, the frames pile up.
  EXPECT_EQ(fold_text("aa 1 [000] 1.0: 3 cpu-clock:\n\t1 f (m)\n"
                      "bb 2 [000] 1.0: 4 cpu-clock:\n\t2 g (m)\n\n"),
            "bb;g;f 4\n");
}

TEST(Fold, SampleWithoutFramesIsTheProcessAlone) {
  EXPECT_EQ(fold_text("perf 1 [000] 1.0: 1 cpu-clock:\n\n"), "perf 1\n");
}

TEST(Fold, LastSampleWithoutBlankLineCounts) {
  // Divergence "last sample" (docs/folding.md).
  EXPECT_EQ(fold_text("app 1 [000] 1.0: 1 cpu-clock:\n\t1 f (m)"), "app;f 1\n");
}

TEST(Fold, DefaultEventFilterIsTheFirstEventSeen) {
  std::string s =
      "app 1 [000] 1.0: 1 instructions:\n\t1 f (m)\n\n"
      "app 1 [000] 1.0: 1 cycles:\n\t1 g (m)\n\n"
      "app 1 cycles:\n\t1 h (m)\n\n"  // no timestamp: no event parsed, never filtered
      "app 1 [000] 1.0: 1 instructions:\n\t1 f (m)\n\n";
  WarningSink sink;
  EXPECT_EQ(fold_text(s, {}, std::string_view::npos, &sink), "app;f 2\napp;h 1\n");
  EXPECT_EQ(sink.count(kWarnEventFilter), 1u);
  auto explicit_filter = with([](Options& o) { o.event_filter = "cycles"; });
  EXPECT_EQ(fold_text(s, explicit_filter), "app;g 1\napp;h 1\n");
}

TEST(Fold, EventNamesKeepModifiers) {
  auto filter = with([](Options& o) { o.event_filter = "cycles:u"; });
  EXPECT_EQ(fold_text("app 1 [000] 1.0: 9 cycles:u:\n\t1 f (m)\n\n"
                      "app 1 [000] 1.0: 9 cycles:ppp:\n\t1 g (m)\n\n",
                      filter),
            "app;f 9\n");
}

TEST(Fold, FrameNameTidying) {
  std::string s =
      "app 1 [000] 1.0: cpu-clock:\n"
      "\t1 a;b+0xabc (m)\n"                           // ';' -> ':', offset gone
      "\t2 kfunc+0xABC (m)\n"                         // uppercase offset stays
      "\t3 foo(int, char) (m)\n"                      // argument list gone
      "\t4 (anonymous namespace)::bar(int) (m)\n"     // starts with '(': dropped
      "\t5 x::(anonymous namespace)::baz(int) (m)\n"  // kept up to the argument list
      "\t6 net/http.(*Client).Do (m)\n"               // Go method kept whole
      "\t7 RegExp:[&<>\\\"'] (m)\n"                   // quotes removed
      "\t8 [unknown] (/usr/lib/libc.so.6)\n"          // module basename
      "\t9 [unknown] ([unknown])\n\n";
  EXPECT_EQ(fold_text(s),
            "app;[unknown];[libc.so.6];RegExp:[&<>\\];net/http.(*Client).Do;"
            "x::(anonymous namespace)::baz;foo;kfunc+0xABC;a:b 1\n");
  auto addrs = with([](Options& o) { o.include_addrs = true; });
  EXPECT_EQ(fold_text("app 1 [000] 1.0: cpu-clock:\n\t8a [unknown] (/lib/x.so)\n"
                      "\t9b [unknown] ([unknown])\n\n",
                      addrs),
            "app;[unknown <9b>];[x.so <8a>] 1\n");
}

TEST(Fold, TemplateArgumentsKeepTheirParentheses) {
  // Divergence "templates": the reference gives `std::function<void ` here.
  EXPECT_EQ(fold_text("app 1 [000] 1.0: cpu-clock:\n"
                      "\t1 std::function<void (int)>::operator()(int) const (m)\n"
                      "\t2 main::{lambda(int)#1}::operator()(int) const (m)\n"
                      "\t3 std::ostream::operator<<(int) (m)\n"
                      "\t4 broken<(int) (m)\n\n"),
            "app;broken<;std::ostream::operator<<;main::{lambda(int)#1}::operator;"
            "std::function<void (int)>::operator 1\n");
}

TEST(Fold, JavaRules) {
  std::string s =
      "java 1/2 [000] 1.0: cpu-clock:\n"
      "\t1 Ljava/lang/Thread;::run (/tmp/perf-1.map)\n"
      "\t2 LBusy;::main (/tmp/perf-1.map)\n"
      "\t3 Lorg/a/B;::outer->Lorg/a/C;::inner->leaf (/tmp/perf-1.map)\n\n";
  // Pieces of a `->` chain run outer first; the inner ones get _[i]; JIT frames _[j].
  auto jit_tid = with([](Options& o) {
    o.annotate_jit = true;
    o.include_tid = true;
  });
  EXPECT_EQ(fold_text(s, jit_tid),
            "java-1/2;org/a/B:::outer_[j];org/a/C:::inner_[i];leaf_[i];LBusy:::main_[j];"
            "java/lang/Thread:::run_[j] 1\n");
  // Not a Java process name: the L stays.
  std::string other = s;
  other.replace(0, 4, "node");
  EXPECT_EQ(fold_text(other),
            "node;Lorg/a/B:::outer;Lorg/a/C:::inner_[i];leaf_[i];LBusy:::main;"
            "Ljava/lang/Thread:::run 1\n");
}

TEST(Fold, KernelAnnotation) {
  auto kernel = with([](Options& o) { o.annotate_kernel = true; });
  EXPECT_EQ(fold_text("app 1 [000] 1.0: cpu-clock:\n"
                      "\t1 a ([kernel.kallsyms])\n"
                      "\t2 b (/lib/modules/4.1/build/vmlinux)\n"
                      "\t3 c (/usr/lib/debug/boot/vmlinux-5.4.14)\n"    // divergence
                      "\t4 d (/lib/modules/5.4/kernel/mlx5_core.ko)\n"  // divergence
                      "\t5 e ([unknown])\n"
                      "\t6 f (/bin/app)\n\n",
                      kernel),
            "app;f;e;d_[k];c_[k];b_[k];a_[k] 1\n");
}

TEST(Fold, PerCpuRootFrame) {
  auto per_cpu = with([](Options& o) { o.per_cpu = true; });
  EXPECT_EQ(fold_text("app 1 [003] 1.0: cpu-clock:\n\t1 f (m)\n\n"
                      "app 1 [012] 1.0: cpu-clock:\n\t1 f (m)\n\n"
                      "app 1 1.0: cpu-clock:\n\t1 f (m)\n\n",
                      per_cpu),
            "cpu-12;app;f 1\ncpu-3;app;f 1\ncpu-?;app;f 1\n");
}

TEST(Fold, SkipAfterDropsRootwardFrames) {
  auto skip = with([](Options& o) { o.skip_after = {"mid"}; });
  EXPECT_EQ(fold_text("app 1 [000] 1.0: cpu-clock:\n\t1 leaf (m)\n\t2 mid(int) (m)\n"
                      "\t3 main (m)\n\n"
                      "app 1 [000] 1.0: cpu-clock:\n\t1 other (m)\n\t3 main (m)\n\n",
                      skip),
            "app;main;other 1\nmid;leaf 1\n");
}

TEST(Fold, CrlfReadsLikeLf) {
  EXPECT_EQ(fold_text("app 1 [000] 1.0: 2 cpu-clock:\r\n\t1 f (m)\r\n\r\n"
                      "app 1 [000] 1.0: 2 cpu-clock:\r\n\t1 f (m)\r\n\r\n"),
            "app;f 4\n");
}

TEST(Fold, SingleLineSamplesWithoutCallGraphs) {
  // Divergence "single-line samples": perf script without -g pads the comm and prints the
  // frame on the header line.
  EXPECT_EQ(fold_text("           false 39654 19115.489713:          3 cycles:u:  ffff9b2 "
                      "[unknown] ([unknown])\n"
                      "           false 39654 19115.489719:          1 cycles:      7fa6 "
                      "_dl_start+0x4 (/usr/lib/ld-2.31.so)\n"),
            "false;[unknown] 3\nfalse;_dl_start 1\n");
}

TEST(Fold, ChunkBoundariesDoNotMatter) {
  std::string s =
      "# comment\napp 1 [000] 1.0: 3 cpu-clock:\n\t1 f (m)\n\t2 g (m)\n\n"
      "java 2/3 [001] 2.0: 4 cpu-clock:\n\t1 Lx/Y;::z (m)\n\n";
  std::string whole = fold_text(s, test::options_for("tid"));
  for (std::size_t chunk : {1, 2, 3, 7, 16})
    EXPECT_EQ(fold_text(s, test::options_for("tid"), chunk), whole) << chunk;
}

TEST(Fold, HostileBytesDoNotCrash) {
  std::string nul("app 1 [000] 1.0: 1 cpu-clock:\n\t1 f\0g (m)\n\n", 42);
  EXPECT_EQ(fold_text(nul), std::string("app;f\0g 1\n", 10));
  std::string invalid_utf8 = "app 1 [000] 1.0: 1 cpu-clock:\n\t1 \xff\xfe\xc3 (m)\n\n";
  EXPECT_EQ(fold_text(invalid_utf8), "app;\xff\xfe\xc3 1\n");
  std::string huge = "app 1 [000] 1.0: 1 cpu-clock:\n\t1 " + std::string(1 << 20, 'x') + " (m)\n\n";
  EXPECT_EQ(fold_text(huge, {}, 4096), "app;" + std::string(1 << 20, 'x') + " 1\n");
  WarningSink sink;
  EXPECT_EQ(fold_text(std::string(1 << 20, '@') + "\n", {}, 1000, &sink), "");
  EXPECT_EQ(sink.count(kWarnWeirdLine), 1u);
  EXPECT_LT(sink.kinds().front().first_message.size(), 400u);  // the line is shown cut short
}

TEST(Fold, WeirdLinesAreCountedWithTheFirstLineNumber) {
  WarningSink sink;
  Options opt;
  opt.input_name = "in.txt";
  std::string s =
      "app 1 [000] 1.0: 1 cpu-clock:\n\t1 f (m)\n\tnot a frame\n\n"
      "garbage here\n   \napp 1 [000] 1.0: 1 cpu-clock:\n\t1 f (m)\n\tnope\n\n";
  EXPECT_EQ(fold_text(s, opt, std::string_view::npos, &sink), "app;f 2\n");
  EXPECT_EQ(sink.count(kWarnWeirdStackLine), 3u);  // two frames and the blank-looking line
  EXPECT_EQ(sink.count(kWarnWeirdLine), 1u);
  auto kinds = sink.kinds();
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(kinds[0].first_message.rfind("'in.txt': line 3: ", 0), 0u) << kinds[0].first_message;
  EXPECT_EQ(kinds[1].first_message.rfind("'in.txt': line 5: ", 0), 0u) << kinds[1].first_message;
}

TEST(Fold, StrictMakesTheFirstWeirdLineAnError) {
  Options opt;
  opt.strict = true;
  opt.input_name = "in.txt";
  Folder folder(opt);
  ASSERT_TRUE(folder.feed("app 1 [000] 1.0: 1 cpu-clock:\n\t1 f (m)\n"));
  auto r = folder.feed("\tbroken\n\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kParse);
  EXPECT_EQ(r.error().message.rfind("'in.txt': line 3: ", 0), 0u) << r.error().message;
}

// The typed path and the text path give the same folded bytes for the same samples.
TEST(Fold, TypedSamplesFoldLikeTheirPerfScriptText) {
  std::mt19937 rng(7);
  const char* symbols[] = {"main",
                           "std::function<void (int)>::operator()(int)",
                           "",
                           "Ljava/lang/Thread;::run",
                           "foo(int)",
                           "a;b",
                           "q\"uote'",
                           "(anonymous namespace)::x",
                           "x::(anonymous namespace)::y()",
                           "net/http.(*Client).Do",
                           "kfunc"};
  const char* modules[] = {"/bin/app", "[kernel.kallsyms]",        "/tmp/perf-12.map",
                           "",         "/lib/modules/5.4/vmlinux", "/usr/lib/libc.so.6"};
  const char* comms[] = {"app", "java", "V8 Worker", "swapper", "javac"};
  const char* events[] = {"cpu-clock", "cycles"};
  for (const char* flag : {"", "pid", "tid", "all", "addrs"}) {
    SCOPED_TRACE(flag);
    Options opt = test::options_for(flag);
    opt.per_cpu = true;
    Folder typed(opt);
    std::string text;
    std::vector<FrameView> frames;
    for (int i = 0; i < 300; ++i) {
      StackSampleView s;
      s.comm = comms[rng() % 5];
      s.pid = rng() % 3 == 0 ? kUnknownPid : static_cast<std::int64_t>(rng() % 50);
      s.tid = rng() % 4 == 0 ? 0 : static_cast<std::int64_t>(rng() % 50 + 1);
      s.cpu = static_cast<std::int32_t>(rng() % 12);
      s.period = rng() % 5;
      s.event = events[rng() % 8 == 0 ? 1 : 0];
      frames.clear();
      for (unsigned d = 0, n = rng() % 8; d < n; ++d) {
        FrameView f;
        f.address = rng() % 3 == 0 ? 0 : 0x400000 + rng() % 4096;
        f.symbol = symbols[rng() % 11];
        f.symbol_offset = rng() % 64;
        f.module = modules[rng() % 6];
        frames.push_back(f);
      }
      s.frames = frames;
      typed.add(s);
      // What `perf script -F comm,pid,tid,cpu,time,period,event,ip,sym,symoff,dso` prints.
      char head[160];
      if (s.pid == kUnknownPid)
        std::snprintf(head, sizeof head, "%s %5" PRId64 " [%03d] 1.5: %10" PRIu64 " %s:\n",
                      std::string(s.comm).c_str(), s.tid, s.cpu, s.period,
                      std::string(s.event).c_str());
      else
        std::snprintf(head, sizeof head,
                      "%s %5" PRId64 "/%-5" PRId64 " [%03d] 1.5: %10" PRIu64 " %s:\n",
                      std::string(s.comm).c_str(), s.pid, s.tid, s.cpu, s.period,
                      std::string(s.event).c_str());
      text += head;
      for (const auto& f : frames) {
        char line[400];
        std::string sym = f.symbol.empty() ? "[unknown]" : std::string(f.symbol);
        if (!f.symbol.empty()) sym += "+0x" + std::to_string(f.symbol_offset);
        std::snprintf(line, sizeof line, "\t%16" PRIx64 " %s (%s)\n", f.address, sym.c_str(),
                      f.module.empty() ? "[unknown]" : std::string(f.module).c_str());
        text += line;
      }
      text += '\n';
    }
    ASSERT_TRUE(typed.finish());
    EXPECT_EQ(typed.counts().to_string(), fold_text(text, opt));
    EXPECT_GT(typed.counts().size(), 20u);
  }
}

// perf script without call graphs prints no empty lines, so -j cannot cut such input at sample
// boundaries; past 16 MiB the reading thread folds the rest itself. Same bytes, same warnings.
TEST(Fold, ThreadsHandleInputWithoutEmptyLines) {
  std::string text;
  for (int i = 0; text.size() < (18u << 20); ++i) {
    char line[200];
    std::snprintf(line, sizeof line,
                  "            sh %5d [%03d] 19115.%06d:     250000 cpu-clock:  ffffffff9b2%05x "
                  "fn%d+0x13 ([kernel.kallsyms])\n",
                  i % 50, i % 4, i % 1000000, i % 4096, i % 97);
    text += line;
    if (i == 5 || i == 150000) text += "a weird line\n";
  }
  ::prof::test::TempDir dir;
  ::prof::test::write_file(dir.file("single.txt"), text);
  Options opt;
  opt.per_cpu = true;
  std::string first;
  std::vector<WarningSink::Kind> first_warnings;
  for (unsigned threads : {1u, 2u, 3u}) {
    SCOPED_TRACE(threads);
    auto in = InputFile::open(dir.file("single.txt"));
    ASSERT_TRUE(in);
    WarningSink sink;
    auto counts = fold_input(**in, opt, &sink, threads);
    ASSERT_TRUE(counts) << counts.error().message;
    if (threads == 1) {
      first = counts->to_string();
      first_warnings = sink.kinds();
      EXPECT_EQ(counts->size(), 4u * 97u);
      ASSERT_EQ(first_warnings.size(), 1u);
      EXPECT_EQ(first_warnings[0].count, 2u);
      continue;
    }
    EXPECT_EQ(counts->to_string(), first);
    ASSERT_EQ(sink.kinds().size(), 1u);
    EXPECT_EQ(sink.kinds()[0].first_message, first_warnings[0].first_message);
    EXPECT_EQ(sink.kinds()[0].count, 2u);
  }
}

TEST(FoldedCounts, MapAndStreamAgree) {
  FoldedCounts c;
  EXPECT_TRUE(c.add("b;c", 2));
  EXPECT_TRUE(c.add("a", 1));
  EXPECT_TRUE(c.add("b;c", 3));
  EXPECT_EQ(c.count("b;c"), 5u);
  auto m = c.to_map();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.at("a"), 1u);
  std::ostringstream out;
  ASSERT_TRUE(c.write(out));
  EXPECT_EQ(out.str(), "a 1\nb;c 5\n");
  EXPECT_EQ(c.to_string(), out.str());
  EXPECT_FALSE(c.add("a", ~std::uint64_t{0}));  // saturates instead of wrapping
  EXPECT_EQ(c.count("a"), ~std::uint64_t{0});
}

long max_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Memory grows with the distinct stacks, not with the input: 192 MiB of samples with 64
// distinct stacks, streamed in 1 MiB chunks, must not raise the peak RSS by more than 32 MiB.
TEST(Fold, MemoryIsBoundedByTheOutputNotTheInput) {
  std::string block;
  for (int i = 0; i < 64; ++i) {
    block += "app 1 [000] 1.0: 1 cpu-clock:\n";
    for (int d = 0; d < 20; ++d)
      block += "\t" + std::to_string(0x400000 + d * 64 + i) + " frame_" + std::to_string(d) + "_" +
               std::to_string(i % 64) + "+0x10 (/usr/lib/libsomething.so)\n";
    block += "\n";
  }
  std::string chunk;
  while (chunk.size() < (1u << 20)) chunk += block;
  long before = max_rss_kb();
  Folder folder;
  std::uint64_t fed = 0;
  for (; fed < (192ull << 20); fed += chunk.size()) ASSERT_TRUE(folder.feed(chunk));
  ASSERT_TRUE(folder.finish());
  EXPECT_EQ(folder.counts().size(), 64u);
  EXPECT_LT(max_rss_kb() - before, 32 * 1024) << "fed " << (fed >> 20) << " MiB";
}

}  // namespace
}  // namespace prof::folder

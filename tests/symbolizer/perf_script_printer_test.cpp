#include "perf_script_printer.h"

#include <gtest/gtest.h>

#include <string>

namespace prof::symbolizer::detail {
namespace {

// A profile of `n` samples over two threads and a few stacks, with an inline chain, an
// unresolved frame and an unmapped one.
Profile sample_profile(std::size_t n) {
  Profile p;
  const MappingId app = p.add_mapping("/usr/bin/app");
  const MappingId unknown = p.add_mapping("[unknown]");
  const LocationId leaf =
      p.add_location(0x1136, app,
                     {{.function = p.add_function("inner"), .symbol_offset = 6, .inlined = true},
                      {.function = p.add_function("main"), .symbol_offset = 0x26}});
  const LocationId unresolved = p.add_location(0x2000, app, {{.function = 0}});
  const LocationId unmapped = p.add_location(0x10, unknown, {{.function = 0}});
  const LocationId no_mapping = p.add_location(0x20, 0, {{.function = 0}});
  const LocationId a[] = {leaf, unresolved, unmapped};
  const LocationId b[] = {no_mapping, leaf};
  const StackId sa = p.intern_stack(a), sb = p.intern_stack(b);
  for (std::size_t i = 0; i < n; ++i) {
    Sample s;
    s.stack = i % 3 ? sa : sb;
    s.period = 1000 + i % 2;
    s.time_ns = 1000000000ull * (i / 1000) + i * 1000;
    s.comm = p.intern(i % 5 ? "app" : "worker");
    s.event = p.intern(i % 7 ? "cpu-clock" : "task-clock");
    s.pid = 42;
    s.tid = 42 + static_cast<std::int64_t>(i % 5 == 0);
    s.cpu = static_cast<std::int32_t>(i % 4);
    p.add_sample(s);
  }
  return p;
}

std::string expected_text(const Profile& p, const ScriptFormat& fmt) {
  std::string text;
  std::vector<FrameView> scratch;
  for (const Sample& s : p.samples()) append_perf_script(text, p.view(s, scratch), fmt);
  return text;
}

// The chunked, threaded printer writes exactly the per-sample text, for any thread count.
TEST(PerfScriptPrinter, SameTextAsPerSampleFormatting) {
  const Profile p = sample_profile(9000);
  for (const ScriptFormat fmt : {ScriptFormat{}, ScriptFormat{.pid = false, .srcline = true}}) {
    const std::string expected = expected_text(p, fmt);
    ThreadPool pool(3, nullptr);
    for (ThreadPool* use : {static_cast<ThreadPool*>(nullptr), &pool}) {
      std::string got;
      EXPECT_TRUE(write_perf_script(p, fmt, use, [&](std::string_view t) {
        got += t;
        return true;
      }));
      EXPECT_EQ(got, expected);
    }
  }
}

TEST(PerfScriptPrinter, StopsWhenTheSinkFails) {
  const Profile p = sample_profile(20000);
  ThreadPool pool(2, nullptr);
  int calls = 0;
  EXPECT_FALSE(write_perf_script(p, {}, &pool, [&](std::string_view) { return ++calls < 2; }));
  EXPECT_EQ(calls, 2);
  std::string got;
  EXPECT_TRUE(write_perf_script(Profile{}, {}, &pool, [&](std::string_view t) {
    got += t;
    return true;
  }));
  EXPECT_EQ(got, "");
}

}  // namespace
}  // namespace prof::symbolizer::detail

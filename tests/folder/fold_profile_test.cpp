// fold_profile() must fold a typed Profile exactly as adding each of its samples' views one by one
// (the existing typed path) does: same folded lines, stats and warnings, for every option set.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "prof/common/profile.h"
#include "prof/folder/folder.h"

namespace prof::folder {
namespace {

// A profile that exercises every naming rule: processes with and without pid/tid (tid 0, unknown
// pid), Java, CPUs known and not, two events and none, kernel, JIT and unresolved frames, inline
// chains, signatures, and many repeats of each stack so that the per-stack caching matters.
Profile sample_profile() {
  Profile p;
  const MappingId app = p.add_mapping("/usr/bin/app");
  const MappingId kernel = p.add_mapping("[kernel.kallsyms]");
  const MappingId jit = p.add_mapping("/tmp/perf-4242.map");
  const MappingId none = 0;
  auto loc = [&](std::uint64_t addr, MappingId m, std::string_view fn, bool inlined_chain = false) {
    const FunctionId f = fn.empty() ? 0 : p.add_function(fn);
    if (!inlined_chain) return p.add_location(addr, m, {{.function = f, .symbol_offset = 4}});
    const FunctionId inner = p.add_function("inlined_helper(int)");
    return p.add_location(addr, m, {{.function = inner, .inlined = true}, {.function = f}});
  };
  const LocationId main_ = loc(0x401000, app, "main");
  const LocationId work = loc(0x401100, app, "ns::work(int, char const*)");
  const LocationId hot = loc(0x401200, app, "hot_loop", true);
  const LocationId sys = loc(0xffffffff81000010, kernel, "do_syscall_64");
  const LocationId jitted = loc(0x7f0000001000, jit, "Lorg/app/Main;::run");
  const LocationId chain = loc(0x7f0000002000, jit, "outer->inner->leaf");
  const LocationId unknown1 = loc(0x7f00deadbeef, app, "");
  const LocationId unknown2 = loc(0x7f00deadbf00, none, "");
  const LocationId anon = loc(0x401300, app, "(anonymous)");
  const LocationId semi = loc(0x401400, app, "a;b \"quoted\"");

  std::vector<StackId> stacks = {
      p.intern_stack(std::vector<LocationId>{hot, work, main_}),
      p.intern_stack(std::vector<LocationId>{sys, hot, work, main_}),
      p.intern_stack(std::vector<LocationId>{unknown1, work, main_}),
      p.intern_stack(std::vector<LocationId>{unknown2, unknown1, main_}),
      p.intern_stack(std::vector<LocationId>{chain, jitted, main_}),
      p.intern_stack(std::vector<LocationId>{anon, semi, main_}),
      p.intern_stack(std::vector<LocationId>{}),
  };
  struct Proc {
    std::string_view comm;
    std::int64_t pid, tid;
  };
  const std::vector<Proc> procs = {{"app", 42, 43},
                                   {"java", 4242, 4250},
                                   {"swapper", 0, 0},
                                   {"", kUnknownPid, 7},
                                   {"my app", 42, 42}};
  const StringId cycles = p.intern("cycles"), clock = p.intern("cpu-clock");
  const std::vector<StringId> events = {cycles, cycles, clock, 0};
  for (int i = 0; i < 400; ++i) {
    const Proc& pr = procs[static_cast<std::size_t>(i * 7) % procs.size()];
    Sample s;
    s.stack = stacks[static_cast<std::size_t>(i * 3) % stacks.size()];
    s.period = static_cast<std::uint64_t>(i % 5) * 1000;  // 0 counts as 1
    s.time_ns = static_cast<std::uint64_t>(i);
    s.comm = p.intern(pr.comm);
    s.pid = pr.pid;
    s.tid = pr.tid;
    s.cpu = i % 4 == 3 ? -1 : i % 3;
    s.event = events[static_cast<std::size_t>(i / 50) % events.size()];
    p.add_sample(s);
  }
  return p;
}

struct Folded {
  std::string text;
  FoldStats stats;
  std::vector<WarningSink::Kind> warnings;
};

Folded by_views(const Profile& p, const Options& opt) {
  WarningSink sink;
  Folder f(opt, &sink);
  std::vector<FrameView> scratch;
  for (const Sample& s : p.samples()) f.add(p.view(s, scratch));
  return {f.counts().to_string(), f.stats(), sink.kinds()};
}

Folded by_profile(const Profile& p, const Options& opt) {
  WarningSink sink;
  FoldStats stats;
  FoldedCounts counts = fold_profile(p, opt, &sink, &stats);
  return {counts.to_string(), stats, sink.kinds()};
}

void expect_same(const Profile& p, const Options& opt, const std::string& what) {
  SCOPED_TRACE(what);
  Folded a = by_views(p, opt), b = by_profile(p, opt);
  EXPECT_FALSE(a.text.empty());
  EXPECT_EQ(b.text, a.text);
  EXPECT_EQ(b.stats.samples, a.stats.samples);
  EXPECT_EQ(b.stats.filtered_samples, a.stats.filtered_samples);
  EXPECT_EQ(b.stats.event, a.stats.event);
  ASSERT_EQ(b.warnings.size(), a.warnings.size());
  for (std::size_t i = 0; i < a.warnings.size(); ++i) {
    EXPECT_EQ(b.warnings[i].kind, a.warnings[i].kind);
    EXPECT_EQ(b.warnings[i].first_message, a.warnings[i].first_message);
    EXPECT_EQ(b.warnings[i].count, a.warnings[i].count);
  }
}

TEST(FoldProfile, SameAsAddingEachSampleView) {
  const Profile p = sample_profile();
  std::vector<std::pair<std::string, Options>> sets;
  sets.emplace_back("defaults", Options{});
  Options o;
  o.include_pid = true;
  sets.emplace_back("pid", o);
  o.include_tid = true;
  sets.emplace_back("tid", o);
  o = {};
  o.annotate_kernel = true;
  sets.emplace_back("kernel", o);
  o = {};
  o.annotate_jit = true;
  sets.emplace_back("jit", o);
  o = {};
  o.include_addrs = true;
  sets.emplace_back("addrs", o);
  o = {};
  o.per_cpu = true;
  sets.emplace_back("per-cpu", o);
  o = {};
  o.per_event = true;
  sets.emplace_back("per-event", o);
  o.event_filter = "cpu-clock";
  sets.emplace_back("per-event filtered", o);
  o = {};
  o.event_filter = "cpu-clock";
  sets.emplace_back("event filter", o);
  o = {};
  o.skip_after = {"ns::work"};
  sets.emplace_back("skip-after", o);
  o.skip_after = {"inlined_helper"};
  o.per_cpu = true;
  sets.emplace_back("skip-after inline, per-cpu", o);
  o = {};
  o.include_tid = o.annotate_kernel = o.annotate_jit = o.include_addrs = o.per_cpu = true;
  o.per_event = true;
  o.skip_after = {"inner"};
  sets.emplace_back("everything", o);
  for (const auto& [name, opt] : sets) expect_same(p, opt, name);
}

TEST(FoldProfile, FolderAddProfileAppendsToEarlierInput) {
  const Profile p = sample_profile();
  Options opt;
  opt.per_cpu = true;
  Folder twice(opt);
  twice.add(p);
  twice.add(p);
  Folder views(opt);
  std::vector<FrameView> scratch;
  for (int round = 0; round < 2; ++round)
    for (const Sample& s : p.samples()) views.add(p.view(s, scratch));
  EXPECT_EQ(twice.counts().to_string(), views.counts().to_string());
  EXPECT_EQ(twice.stats().samples, views.stats().samples);
  EXPECT_EQ(twice.stats().filtered_samples, views.stats().filtered_samples);
}

TEST(FoldProfile, EmptyProfileFoldsToNothing) { EXPECT_TRUE(fold_profile(Profile{}, {}).empty()); }

}  // namespace
}  // namespace prof::folder

// pprof write/read: a hand-built Profile goes out and comes back sample for sample (values,
// event columns, labels with zero values, inline chains, source lines, build-ids); the bytes are
// deterministic; sample types and --sample-index choose columns; bad input is a one-line error
// naming the input and what is wrong. Go's own client is exercised in clients_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "prof/common/profile.h"
#include "prof/interop/convert.h"
#include "prof/interop/pprof.h"

namespace prof::interop {
namespace {

// Two events, inline lines with source lines, an unresolved frame in a library, cpu/pid 0.
Profile sample_profile() {
  Profile p;
  auto exe = p.add_mapping("/usr/bin/app", "00112233445566778899aabbccddeeff00112233");
  auto libc = p.add_mapping("/usr/lib/libc.so.6");
  auto fmain = p.add_function("main");
  auto falpha = p.add_function("alpha");
  auto fburn = p.add_function("burn");
  auto lmain =
      p.add_location(0x401000, exe, {{.function = fmain, .srcline = p.intern("app.c:30")}});
  auto lalpha = p.add_location(
      0x401100, exe,
      {{.function = fburn, .symbol_offset = 4, .srcline = p.intern("app.c:12"), .inlined = true},
       {.function = falpha, .symbol_offset = 4, .srcline = p.intern("app.c:20")}});
  auto lunk = p.add_location(0x7f0000001234, libc, {{}});
  const LocationId s1[] = {lalpha, lmain};
  const LocationId s2[] = {lunk, lmain};
  auto st1 = p.intern_stack(s1);
  auto st2 = p.intern_stack(s2);
  const auto clock = p.intern("cpu-clock"), faults = p.intern("page-faults");
  p.info().events = {{.name = clock, .unit = p.intern("nanoseconds"), .frequency = 99},
                     {.name = faults, .unit = p.intern("count"), .period = 1}};
  p.info().start_unix_ns = 1700000000123456789ull;
  p.info().duration_ns = 5000000000ull;
  const Label extra[] = {{.key = p.intern("span"), .str = p.intern("GET /")}};
  p.add_sample({.stack = st1,
                .count = 3,
                .period = 30303030,
                .comm = p.intern("app"),
                .event = clock,
                .pid = 0,
                .tid = 0,
                .cpu = 0,
                .cgroup = 77,
                .labels = p.intern_labels(extra)});
  p.add_sample({.stack = st2,
                .count = 1,
                .period = 10101010,
                .comm = p.intern("app"),
                .event = clock,
                .pid = 42,
                .tid = 43,
                .cpu = 1});
  p.add_sample({.stack = st2,
                .count = 2,
                .period = 2,
                .comm = p.intern("app"),
                .event = faults,
                .pid = 42,
                .tid = 43,
                .cpu = 1});
  return p;
}

TEST(Pprof, RoundTripKeepsEverySampleAndLabel) {
  const Profile in = sample_profile();
  auto bytes = write_pprof(in);
  ASSERT_TRUE(bytes) << bytes.error().message;
  auto back = read_pprof(*bytes, {}, "x.pb.gz");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->samples().size(), 3u);
  EXPECT_EQ(to_folded(*back), to_folded(in));
  const Sample& a = back->samples()[0];
  EXPECT_EQ(a.count, 3u);
  EXPECT_EQ(a.period, 30303030u);
  EXPECT_EQ(back->str(a.event), "cpu-clock");
  EXPECT_EQ(back->str(a.comm), "app");
  // Zero-valued numeric labels survive (proto3 leaves zeros off the wire; pprof drops a label
  // with nothing but its key).
  EXPECT_EQ(a.cpu, 0);
  EXPECT_EQ(a.pid, 0);
  EXPECT_EQ(a.tid, 0);
  EXPECT_EQ(a.cgroup, 77u);
  ASSERT_EQ(back->labels(a.labels).size(), 1u);
  EXPECT_EQ(back->str(back->labels(a.labels)[0].key), "span");
  EXPECT_EQ(back->str(back->labels(a.labels)[0].str), "GET /");
  const Sample& c = back->samples()[2];
  EXPECT_EQ(back->str(c.event), "page-faults");
  EXPECT_EQ(c.count, 2u);
  EXPECT_EQ(c.period, 2u);
  EXPECT_EQ(c.pid, 42);
  EXPECT_EQ(c.tid, 43);
  EXPECT_EQ(c.cpu, 1);
  // Inline chain: one location, two lines, innermost first, with source lines and addresses.
  auto stack = back->stack(a.stack);
  ASSERT_EQ(stack.size(), 2u);
  const Location& leaf = back->locations()[stack[0]];
  EXPECT_EQ(leaf.address, 0x401100u);
  auto lines = back->lines(leaf);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(back->str(back->functions()[lines[0].function].name), "burn");
  EXPECT_TRUE(lines[0].inlined);
  EXPECT_EQ(back->str(lines[0].srcline), "app.c:12");
  EXPECT_EQ(back->str(back->functions()[lines[1].function].name), "alpha");
  EXPECT_FALSE(lines[1].inlined);
  EXPECT_EQ(back->str(back->mappings()[leaf.mapping].path), "/usr/bin/app");
  EXPECT_EQ(back->str(back->mappings()[leaf.mapping].build_id),
            "00112233445566778899aabbccddeeff00112233");
  // The unresolved frame is named by its file, as the folder names it.
  // Two events: a root frame each, as the folder draws several events.
  EXPECT_EQ(to_folded(*back),
            "[cpu-clock];app;main;[libc.so.6] 10101010\n"
            "[cpu-clock];app;main;alpha;burn 30303030\n"
            "[page-faults];app;main;[libc.so.6] 2\n");
  // Info: start, duration, events with units and the clock's period from its frequency.
  EXPECT_EQ(back->info().start_unix_ns, 1700000000123456789ull);
  EXPECT_EQ(back->info().duration_ns, 5000000000ull);
  ASSERT_EQ(back->info().events.size(), 2u);
  EXPECT_EQ(back->str(back->info().events[0].name), "cpu-clock");
  EXPECT_EQ(back->str(back->info().events[0].unit), "nanoseconds");
  EXPECT_EQ(back->info().events[0].period, 1000000000u / 99);
  EXPECT_EQ(back->str(back->info().events[1].name), "page-faults");
}

TEST(Pprof, OutputIsDeterministicAndGzipWithoutTimestamp) {
  auto a = write_pprof(sample_profile());
  auto b = write_pprof(sample_profile());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  ASSERT_GE(a->size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>((*a)[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>((*a)[1]), 0x8b);
  EXPECT_EQ(a->substr(4, 4), std::string(4, '\0'));  // MTIME 0
  // Raw protobuf reads the same.
  auto raw = write_pprof(sample_profile(), {.gzip = false});
  ASSERT_TRUE(raw);
  EXPECT_NE(static_cast<unsigned char>((*raw)[0]), 0x1f);
  auto back = read_pprof(*raw, {}, "raw.pb");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_folded(*back), to_folded(sample_profile()));
}

TEST(Pprof, SampleIndexChoosesOneColumn) {
  auto bytes = write_pprof(sample_profile());
  ASSERT_TRUE(bytes);
  // Columns: samples/count, cpu/nanoseconds, page_faults/count.
  auto cpu = read_pprof(*bytes, {.sample_index = "cpu"}, "x");
  ASSERT_TRUE(cpu) << cpu.error().message;
  EXPECT_EQ(to_folded(*cpu), "app;main;[libc.so.6] 10101010\napp;main;alpha;burn 30303030\n");
  auto by_number = read_pprof(*bytes, {.sample_index = "1"}, "x");
  ASSERT_TRUE(by_number);
  EXPECT_EQ(to_folded(*by_number), to_folded(*cpu));
  auto faults = read_pprof(*bytes, {.sample_index = "page_faults"}, "x");
  ASSERT_TRUE(faults);
  EXPECT_EQ(to_folded(*faults), "app;main;[libc.so.6] 2\n");
  auto samples = read_pprof(*bytes, {.sample_index = "samples"}, "x");
  ASSERT_TRUE(samples);
  EXPECT_EQ(to_folded(*samples), "app;main;[libc.so.6] 3\napp;main;alpha;burn 3\n");
  auto bad = read_pprof(*bytes, {.sample_index = "cycles"}, "x.pb.gz");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "'x.pb.gz': --sample-index cycles: no such sample type (the profile has samples, "
            "cpu, page_faults)");
  auto past = read_pprof(*bytes, {.sample_index = "3"}, "x.pb.gz");
  ASSERT_FALSE(past);
  EXPECT_NE(past.error().message.find("has 3 sample types"), std::string::npos);
}

TEST(Pprof, BadInputIsOneLineErrorNamingTheInput) {
  auto bytes = write_pprof(sample_profile());
  ASSERT_TRUE(bytes);
  auto truncated = read_pprof(bytes->substr(0, bytes->size() / 2), {}, "cut.pb.gz");
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().message.rfind("'cut.pb.gz': truncated gzip data near byte ", 0), 0u)
      << truncated.error().message;
  auto garbage = read_pprof(std::string("\x0a\xff\xff\xff\xff\x0f", 6), {}, "junk");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().message.rfind("'junk': not a pprof profile", 0), 0u)
      << garbage.error().message;
  EXPECT_FALSE(looks_like_pprof("main;alpha 3\n"));
  EXPECT_TRUE(looks_like_pprof(*bytes));
  for (const Error& e : {truncated.error(), garbage.error()})
    EXPECT_EQ(e.message.find('\n'), std::string::npos);
}

// Mapping ids are 1, 2, 3... in the order written, the main program first (pprof's "File:");
// Parca refuses profiles whose ids are not.
TEST(Pprof, MappingIdsAreSequentialWithTheProgramFirst) {
  Profile p;
  auto lib = p.add_mapping("/usr/lib/libc.so.6");
  auto exe = p.add_mapping("/usr/bin/app");
  auto f = p.add_function("main"), g = p.add_function("memcpy");
  auto lm = p.add_location(0x10, exe, {{.function = f}});
  auto lg = p.add_location(0x20, lib, {{.function = g}});
  const LocationId st[] = {lg, lm};
  p.add_sample({.stack = p.intern_stack(st), .comm = p.intern("app")});
  auto bytes = write_pprof(p, {.gzip = false});
  ASSERT_TRUE(bytes);
  auto back = read_pprof(*bytes, {}, "x");
  ASSERT_TRUE(back);
  // Read back in file order: the first mapping is the program.
  ASSERT_GE(back->mappings().size(), 3u);
  EXPECT_EQ(back->str(back->mappings()[1].path), "/usr/bin/app");
  EXPECT_EQ(back->str(back->mappings()[2].path), "/usr/lib/libc.so.6");
  EXPECT_EQ(to_folded(*back), "app;main;memcpy 1\n");
}

// Names are bytes: a symbol or path that is not UTF-8 goes out and comes back as it was (a proto3
// `string` would refuse it on parse, and protobuf would print to stderr).
TEST(Pprof, NamesNeedNotBeUtf8) {
  Profile p;
  auto f = p.add_function("caf\xe9_latin1");
  auto l = p.add_location(0x10, p.add_mapping("/opt/\xff/app"), {{.function = f}});
  p.add_sample({.stack = p.intern_stack(std::span(&l, 1))});
  auto bytes = write_pprof(p);
  ASSERT_TRUE(bytes);
  auto back = read_pprof(*bytes, {}, "x");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_folded(*back), "caf\xe9_latin1 1\n");
  EXPECT_EQ(back->str(back->mappings()[1].path), "/opt/\xff/app");
}

TEST(Pprof, EventsNameTheirColumns) {
  EXPECT_EQ(pprof_type_of_event("cpu-clock"), "cpu");
  EXPECT_EQ(pprof_type_of_event("page-faults"), "page_faults");
  EXPECT_EQ(pprof_type_of_event("task-clock"), "cpu");
  EXPECT_EQ(pprof_type_of_event("sched:sched_switch"), "sched_sched_switch");
  EXPECT_EQ(unit_of_event("cpu-clock"), "nanoseconds");
  EXPECT_EQ(unit_of_event("task-clock:u"), "nanoseconds");
  EXPECT_EQ(unit_of_event("cycles"), "count");
}

}  // namespace
}  // namespace prof::interop

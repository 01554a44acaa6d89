#include "prof/collector/proc_snapshot.h"

#include <gtest/gtest.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "test_support.h"

using prof::collector::parse_maps_line;

TEST(ParseMapsLine, ProcFiveFields) {
  auto m = parse_maps_line(
      "7f1c2a600000-7f1c2a628000 r-xp 00028000 fe:01 1312456                    "
      "/usr/lib/x86_64-linux-gnu/libc.so.6");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->start, 0x7f1c2a600000u);
  EXPECT_EQ(m->end, 0x7f1c2a628000u);
  EXPECT_EQ(m->pgoff, 0x28000u);
  EXPECT_EQ(m->major, 0xfeu);
  EXPECT_EQ(m->minor, 1u);
  EXPECT_EQ(m->inode, 1312456u);
  EXPECT_EQ(m->prot, static_cast<std::uint32_t>(PROT_READ | PROT_EXEC));
  EXPECT_EQ(m->flags, static_cast<std::uint32_t>(MAP_PRIVATE));
  EXPECT_EQ(m->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

TEST(ParseMapsLine, AnonymousSpecialAndSpacesInPath) {
  auto anon = parse_maps_line("7ffd1000-7ffd2000 rw-s 00000000 00:00 0 ");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->path, "");
  EXPECT_EQ(anon->flags, static_cast<std::uint32_t>(MAP_SHARED));
  auto vdso = parse_maps_line("7ffd3000-7ffd5000 r-xp 00000000 00:00 0   [vdso]");
  ASSERT_TRUE(vdso);
  EXPECT_EQ(vdso->path, "[vdso]");
  auto del = parse_maps_line("400000-401000 r-xp 00001000 08:02 42 /tmp/my prog (deleted)");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->path, "/tmp/my prog (deleted)");
}

TEST(ParseMapsLine, RejectsMalformed) {
  EXPECT_FALSE(parse_maps_line(""));
  EXPECT_FALSE(parse_maps_line("garbage"));
  EXPECT_FALSE(parse_maps_line("2000-1000 r-xp 0 00:00 0"));
  EXPECT_FALSE(parse_maps_line("1000-2000 r-xp zz 00:00 0"));
  EXPECT_FALSE(parse_maps_line("1000-2000 r 0 00:00 0"));
}

TEST(ReadElfBuildId, MatchesReadelf) {
  std::string fx = prof::test::fixture("fx_spin");
  prof::test::RunResult r = prof::test::run({"readelf", "-n", fx});
  auto at = r.out.find("Build ID: ");
  ASSERT_NE(at, std::string::npos) << "the fixture has no build-id note";
  std::string hex = r.out.substr(at + 10, r.out.find('\n', at) - at - 10);
  auto id = prof::collector::read_elf_build_id(fx);
  ASSERT_TRUE(id);
  std::string got;
  char buf[3];
  for (auto b : *id) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    got += buf;
  }
  EXPECT_EQ(got, hex);
  EXPECT_FALSE(prof::collector::read_elf_build_id("/proc/self/status"));
  EXPECT_FALSE(prof::collector::read_elf_build_id("/nonexistent"));
}

TEST(SynthesizeProcesses, OwnProcessWithBuildIds) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
  attr.sample_id_all = 1;
  attr.build_id = 1;
  std::size_t comms = 0, mmaps = 0, files = 0, with_id = 0;
  auto st = prof::collector::synthesize_processes(
      attr, {getpid()}, [&](std::span<const std::uint8_t> rec) -> prof::Result<void> {
        perf_event_header h;
        std::memcpy(&h, rec.data(), sizeof h);
        EXPECT_EQ(h.size, rec.size());
        EXPECT_EQ(h.size % 8, 0u);
        if (h.type == PERF_RECORD_COMM) ++comms;
        if (h.type == PERF_RECORD_MMAP2) {
          ++mmaps;
          // perf_event_open(2): the filename follows 72 bytes of fixed MMAP2 fields.
          const char* name = reinterpret_cast<const char*>(rec.data() + 72);
          if (name[0] == '/') ++files;
          if (h.misc & PERF_RECORD_MISC_MMAP_BUILD_ID) ++with_id;
        }
        return prof::ok();
      });
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->processes, 1u);
  EXPECT_GE(comms, 1u);
  EXPECT_EQ(mmaps, st->mappings);
  EXPECT_GT(mmaps, 2u) << "the test binary, libc and the loader at least";
  // As root every file-backed mapping is readable through map_files ([vdso] and [vsyscall]
  // have no file and no id).
  if (geteuid() == 0) {
    EXPECT_EQ(with_id, files);
  }
}

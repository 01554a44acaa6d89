#include "prof/collector/proc_snapshot.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

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

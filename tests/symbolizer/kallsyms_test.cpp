#include "prof/symbolizer/kallsyms.h"

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "test_support.h"

namespace prof::symbolizer {
namespace {

TEST(Kallsyms, ParsesSortsAndKeepsTextSymbolsOnly) {
  auto t = KallsymsTable::parse(
      "ffffffff81000200 T second\n"
      "ffffffff81000100 t first\n"
      "ffffffff82000000 D some_data\n"
      "not a line\n"
      "ffffffff81000300 T third\n");
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.skipped_lines(), 1u);
  ASSERT_NE(t.find(0xffffffff81000150), nullptr);
  EXPECT_EQ(t.find(0xffffffff81000150)->name, "first");
  EXPECT_EQ(t.find(0xffffffff81000200)->name, "second");
  EXPECT_EQ(t.find(0xffffffff810001ff)->name, "first");  // ends where the next starts
  EXPECT_EQ(t.find(0xffffffff810000ff), nullptr);
  // The last symbol extends to the page after its start, rounded up (perf's fixup_end).
  EXPECT_EQ(t.find(0xffffffff81001fff)->name, "third");
  EXPECT_EQ(t.find(0xffffffff81002000), nullptr);
}

// perf 6.1 prints the last of several names at one address (seen on this kernel: memcpy,
// __memcpy, __pi_memcpy -> __pi_memcpy in perf script).
TEST(Kallsyms, AliasesResolveAsPerfChooses) {
  auto t = KallsymsTable::parse(
      "ffffffff81000100 T memcpy\n"
      "ffffffff81000100 T __memcpy\n"
      "ffffffff81000100 T __pi_memcpy\n"
      "ffffffff81000200 T __x64_sys_read\n"
      "ffffffff81000200 t __do_sys_read\n");
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.find(0xffffffff81000104)->name, "__pi_memcpy");
  EXPECT_EQ(t.find(0xffffffff81000200)->name, "__do_sys_read");
}

TEST(Kallsyms, ModulesAreNamedAndBounded) {
  auto t = KallsymsTable::parse(
      "ffffffff81000000 T _text\n"
      "ffffffffc0001000 t nft_do_chain\t[nf_tables]\n"
      "ffffffffc0001100 t nft_other\t[nf_tables]\n");
  const auto* s = t.find(0xffffffffc0001010);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "nft_do_chain");
  EXPECT_EQ(s->module, "nf_tables");
  // The kernel's last symbol does not swallow the gap up to the modules.
  EXPECT_EQ(t.find(0xffffffff90000000), nullptr);
}

// Names are views into the table's text: a copy or a move must keep them valid after the
// original is gone, even for a text short enough to live inside a std::string (SSO).
TEST(Kallsyms, NamesOutliveTheTableTheyWereCopiedFrom) {
  std::optional<KallsymsTable> copy, moved;
  {
    std::string text = "1 T a\n";
    auto t = KallsymsTable::parse(text);
    text.assign(text.size(), 'x');
    copy = t;
    moved = std::move(t);
  }
  ASSERT_NE(copy->find(1), nullptr);
  EXPECT_EQ(copy->find(1)->name, "a");
  ASSERT_NE(moved->find(1), nullptr);
  EXPECT_EQ(moved->find(1)->name, "a");
}

TEST(Kallsyms, RestrictedTableIsAnError) {
  prof::test::TempDir dir;
  prof::test::write_file(dir.file("k"), "0000000000000000 T _text\n0000000000000000 T foo\n");
  auto t = KallsymsTable::load(dir.file("k"));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::kPermission);
  EXPECT_NE(t.error().message.find("kptr_restrict"), std::string::npos);
  EXPECT_FALSE(KallsymsTable::load(dir.file("missing")));
}

// The live table: every text symbol listed resolves to itself or to the alias perf prefers.
TEST(Kallsyms, LiveProcKallsymsResolvesItsOwnSymbols) {
  auto t = KallsymsTable::load("/proc/kallsyms");
  if (!t) PROF_SKIP_UNLESS_REQUIRED(t.error().message);
  EXPECT_GT(t->size(), 1000u);
  std::istringstream in(prof::test::read_file("/proc/kallsyms"));
  std::string addr, type, name;
  std::size_t checked = 0, found = 0;
  std::string line;
  while (std::getline(in, line) && checked < 20000) {
    std::istringstream ls(line);
    if (!(ls >> addr >> type >> name) || (type != "t" && type != "T")) continue;
    std::uint64_t a = std::stoull(addr, nullptr, 16);
    const KernelSymbol* s = t->find(a);
    ++checked;
    if (s && s->start == a) ++found;
  }
  EXPECT_EQ(found, checked);
}

}  // namespace
}  // namespace prof::symbolizer

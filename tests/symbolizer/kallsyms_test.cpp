#include "prof/symbolizer/kallsyms.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <random>
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

// Aliases split by an out-of-order stretch still resolve to the last listed.
TEST(Kallsyms, UnsortedInputKeepsTheLastListedAlias) {
  auto t = KallsymsTable::parse(
      "ffffffff81000200 T b\n"
      "ffffffff81000100 T a1\n"
      "ffffffff81000100 T a2\n"
      "ffffffff81000300 T c\n"
      "ffffffff81000100 T a3\n");
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.find(0xffffffff81000100)->name, "a3");
  EXPECT_EQ(t.find(0xffffffff81000100)->end, 0xffffffff81000200u);
}

// The rules in their plainest form, line by line (the parser before it was made fast), to
// hold the fast one to them on garbled input: short and long addresses, upper case, missing
// fields, stray tabs and newlines, no final newline.
std::vector<KernelSymbol> reference_parse(std::string_view text, std::size_t& skipped) {
  std::vector<KernelSymbol> out;
  skipped = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp + 3 > line.size() || line[sp + 2] != ' ' || sp == 0 ||
        sp > 16 ||
        line.substr(0, sp).find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
      ++skipped;
      continue;
    }
    std::uint64_t addr = std::stoull(std::string(line.substr(0, sp)), nullptr, 16);
    char type = line[sp + 1];
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;
    std::string_view name = line.substr(sp + 3), module;
    if (std::size_t tab = name.find('\t'); tab != std::string_view::npos) {
      module = name.substr(tab + 1);
      name = name.substr(0, tab);
      if (module.size() >= 2 && module.front() == '[' && module.back() == ']')
        module = module.substr(1, module.size() - 2);
    }
    if (name.empty()) {
      ++skipped;
      continue;
    }
    out.push_back(KernelSymbol{addr, addr, name, module});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const KernelSymbol& a, const KernelSymbol& b) { return a.start < b.start; });
  std::vector<KernelSymbol> last;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (i + 1 == out.size() || out[i + 1].start != out[i].start) last.push_back(out[i]);
  if (!last.empty() && last.back().start == 0) last.clear();
  for (std::size_t i = 0; i < last.size(); ++i) {
    bool last_of_image = i + 1 == last.size() || last[i + 1].module != last[i].module;
    last[i].end =
        last_of_image ? ((last[i].start + 4095) & ~std::uint64_t{4095}) + 4096 : last[i + 1].start;
  }
  return last;
}

TEST(Kallsyms, FastParseFollowsThePlainRulesOnGarbledInput) {
  const std::string base =
      "ffffffff81000000 T _text\n"
      "ffffffff81000000 T startup_64\n"
      "FFFFFFFF81000100 t upper_case\n"
      "ffffffff81000180 W weak_one\n"
      "ffffffff81000200 D data_sym\n"
      "1000 T short_address\n"
      "ffffffffc0a01000 t nft_do_chain\t[nf_tables]\n"
      "ffffffffc0a00400 t nft_init\t[nf_tables]\n"
      "ffffffffc0300000 t bpf_prog_6deef7357e7b4530_sd_fw_egress\t[bpf]\n"
      "0ffffffff81000300 T seventeen_digits\n"
      "ffffffff8100040g T bad_digit\n"
      "ffffffff81000500 T\n"
      "ffffffff81000600 T \n"
      "ffffffff81000700  T two_spaces\n";
  std::mt19937 rng(11);
  const std::string alphabet = " \t\n0fFgT[]x";
  for (int round = 0; round < 3000; ++round) {
    std::string text = base;
    int edits = round == 0 ? 0 : 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      std::size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text.erase(at, 1 + rng() % 3); break;
        case 1: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        default: text[at] = alphabet[rng() % alphabet.size()]; break;
      }
    }
    if (round % 5 == 0) text.pop_back();  // no final newline
    std::size_t skipped = 0;
    auto expected = reference_parse(text, skipped);
    auto t = KallsymsTable::parse(text);
    ASSERT_EQ(t.size(), expected.size()) << text;
    ASSERT_EQ(t.skipped_lines(), skipped) << text;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const KernelSymbol& a = t.symbols()[i];
      ASSERT_TRUE(a.start == expected[i].start && a.end == expected[i].end &&
                  a.name == expected[i].name && a.module == expected[i].module)
          << i << ": " << a.name << " vs " << expected[i].name << " in\n"
          << text;
    }
  }
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

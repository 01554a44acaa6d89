#include "prof/symbolizer/binary.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "prof/symbolizer/demangle.h"
#include "sym_test_util.h"
#include "symbol_cache.h"
#include "test_support.h"

namespace prof::symbolizer {
namespace {

using prof::test::fixture;

std::unique_ptr<Binary> open_or_die(const std::string& path) {
  auto b = Binary::open(path, {});
  EXPECT_TRUE(b) << (b ? "" : b.error().message);
  return b ? std::move(*b) : nullptr;
}

std::string name_at(Binary& bin, ElfAddr a) {
  std::vector<SymbolizedFrame> f;
  bin.symbolize(a, {}, f);
  return f.empty() ? "<none>" : f.back().symbol;
}

// Every function nm lists (with a size) is found by its start and middle address, under its own
// name or under the alias perf would print for that address.
void expect_names_match_nm(const std::string& path) {
  auto bin = open_or_die(path);
  ASSERT_TRUE(bin);
  auto syms = test::nm_functions(path);
  ASSERT_GE(syms.size(), 2u) << path;
  std::map<std::uint64_t, std::vector<std::string>> by_addr;
  for (const auto& s : syms) by_addr[s.address].push_back(s.name);
  for (const auto& s : syms) {
    if (s.size == 0) continue;
    for (std::uint64_t a : {s.address, s.address + s.size / 2, s.address + s.size - 1}) {
      const std::optional<ElfSymbol> found = bin->find_symbol(a);
      ASSERT_TRUE(found) << path << ": " << s.name << " at 0x" << std::hex << a;
      EXPECT_EQ(found->start, s.address) << s.name;
      const auto& aliases = by_addr[s.address];
      EXPECT_NE(std::find(aliases.begin(), aliases.end(), found->name), aliases.end())
          << path << ": 0x" << std::hex << a << " gave " << found->name << ", nm says " << s.name;
    }
  }
}

TEST(Binary, NamesMatchNmForEveryFixture) {
  for (const char* f : {"fx_sym_nested_fp", "fx_sym_nested_nofp", "fx_sym_nopie", "fx_sym_inline",
                        "fx_sym_cxx", "libfxsym.so", "fx_sym_uselib"})
    expect_names_match_nm(fixture(f));
}

TEST(Binary, ChosenAddressesGiveExactNames) {
  auto bin = open_or_die(fixture("fx_sym_nested_fp"));
  ASSERT_TRUE(bin);
  auto syms = test::nm_functions(fixture("fx_sym_nested_fp"));
  for (const char* fn : {"level1", "level2", "level3", "main"}) {
    const auto s = test::nm_find(syms, fn);
    ASSERT_TRUE(s) << fn;
    EXPECT_EQ(name_at(*bin, s->address + 1), fn);
    std::vector<SymbolizedFrame> frames;
    bin->symbolize(s->address + 1, {}, frames);
    EXPECT_EQ(frames.back().offset, 1u);
  }
  EXPECT_EQ(bin->build_id().size(), 40u);
}

TEST(Binary, NonPieSegmentsMapFileOffsets) {
  auto bin = open_or_die(fixture("fx_sym_nopie"));
  ASSERT_TRUE(bin);
  const auto s = test::nm_find(test::nm_functions(fixture("fx_sym_nopie")), "level3");
  ASSERT_TRUE(s);
  ASSERT_GE(s->address, 0x400000u);  // really non-PIE
  // The text segment of a GNU ld non-PIE binary: vaddr 0x401000 holds file offset 0x1000.
  auto elf = bin->file_offset_to_elf(s->address - 0x400000);
  ASSERT_TRUE(elf);
  EXPECT_EQ(*elf, s->address);
  EXPECT_EQ(name_at(*bin, *elf), "level3");
  EXPECT_FALSE(bin->file_offset_to_elf(0x7fffffff));
}

TEST(Binary, CxxNamesAsPerfPrintsThem) {
  auto bin = open_or_die(fixture("fx_sym_cxx"));
  ASSERT_TRUE(bin);
  std::map<std::string, std::string> seen;  // demangled -> mangled
  for (const auto& s : test::nm_functions(fixture("fx_sym_cxx"))) seen[demangle(s.name)] = s.name;
  for (const char* expected :
       {"fx::Accumulator<long>::add", "fx::run_twice<long>", "main::{lambda(long)#1}::operator()",
        "std::_Function_handler<void (int), main::{lambda(int)#2}>::_M_invoke"}) {
    ASSERT_TRUE(seen.count(expected)) << expected;
    const auto s = test::nm_find(test::nm_functions(fixture("fx_sym_cxx")), seen[expected]);
    ASSERT_TRUE(s);
    EXPECT_EQ(name_at(*bin, s->address), expected);
  }
  auto full =
      Binary::open(fixture("fx_sym_cxx"), {.symfs = "", .demangle = true, .demangle_params = true});
  ASSERT_TRUE(full);
  const auto add =
      test::nm_find(test::nm_functions(fixture("fx_sym_cxx")), "_ZN2fx11AccumulatorIlE3addEl");
  ASSERT_TRUE(add);
  EXPECT_EQ(name_at(**full, add->address), "fx::Accumulator<long>::add(long)");
}

TEST(Binary, StrippedBinaryUsesDebuglinkFile) {
  auto stripped = open_or_die(fixture("fx_sym_stripped"));
  ASSERT_TRUE(stripped);
  EXPECT_EQ(stripped->debug_file(), fixture("fx_sym_stripped.debug"));
  // The stripped object itself has no .symtab: the names come from the debug file.
  EXPECT_EQ(test::nm_functions(fixture("fx_sym_stripped")).size(), 0u);
  auto syms = test::nm_functions(fixture("fx_sym_nested_fp"));
  const auto s = test::nm_find(syms, "level3");
  ASSERT_TRUE(s);
  std::vector<SymbolizedFrame> frames;
  stripped->symbolize(s->address + 4, {.inline_frames = true, .srcline = true}, frames);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].symbol, "level3");
  EXPECT_EQ(frames[0].srcline.substr(0, 13), "sym_nested.c:") << frames[0].srcline;
  EXPECT_TRUE(stripped->has_dwarf());
}

struct Addr2lineFrame {
  std::string function, srcline;
};

// binutils addr2line -a -f -i: per address, the inline chain innermost first with lines.
std::map<std::uint64_t, std::vector<Addr2lineFrame>> addr2line(
    const std::string& bin, const std::vector<std::uint64_t>& addrs) {
  std::vector<std::string> argv{"addr2line", "-a", "-f", "-i", "-e", bin};
  for (auto a : addrs) {
    std::ostringstream h;
    h << "0x" << std::hex << a;
    argv.push_back(h.str());
  }
  auto r = prof::test::run(argv);
  std::map<std::uint64_t, std::vector<Addr2lineFrame>> out;
  std::istringstream in(r.out);
  std::string line;
  std::uint64_t cur = 0;
  while (std::getline(in, line)) {
    if (line.rfind("0x", 0) == 0) {
      cur = std::stoull(line, nullptr, 16);
      continue;
    }
    std::string where;
    std::getline(in, where);
    if (auto d = where.find(" (discriminator"); d != std::string::npos) where.resize(d);
    if (auto slash = where.rfind('/'); slash != std::string::npos) where = where.substr(slash + 1);
    out[cur].push_back({line, where});
  }
  return out;
}

TEST(Binary, InlineChainsMatchAddr2line) {
  std::string path = fixture("fx_sym_inline");
  auto bin = open_or_die(path);
  ASSERT_TRUE(bin);
  const auto outer = test::nm_find(test::nm_functions(path), "outer");
  ASSERT_TRUE(outer);
  std::vector<std::uint64_t> addrs;
  for (std::uint64_t a = outer->address; a < outer->address + outer->size; ++a) addrs.push_back(a);
  auto peer = addr2line(path, addrs);
  std::string src = test::fixture_source("sym_inline.c");
  std::string leaf_line =
      "sym_inline.c:" + std::to_string(test::line_of_marker(src, "FX_LEAF_BODY"));
  std::string mid_line =
      "sym_inline.c:" + std::to_string(test::line_of_marker(src, "FX_MID_CALLS_LEAF"));
  std::string outer_line =
      "sym_inline.c:" + std::to_string(test::line_of_marker(src, "FX_OUTER_CALLS_MID"));
  std::size_t same = 0, full_chain = 0;
  std::string diffs;
  for (auto a : addrs) {
    std::vector<SymbolizedFrame> ours;
    bin->symbolize(a, {.inline_frames = true, .srcline = true}, ours);
    const auto& theirs = peer[a];
    bool equal = ours.size() == theirs.size();
    for (std::size_t i = 0; equal && i < ours.size(); ++i)
      equal = ours[i].symbol == theirs[i].function && ours[i].srcline == theirs[i].srcline;
    if (equal) ++same;
    else if (diffs.size() < 1500) {
      std::ostringstream d;
      d << std::hex << "0x" << a << ": ours";
      for (auto& f : ours) d << " " << f.symbol << "@" << f.srcline;
      d << " | addr2line";
      for (auto& f : theirs) d << " " << f.function << "@" << f.srcline;
      diffs += d.str() + "\n";
    }
    if (ours.size() == 3 && ours[0].symbol == "leaf" && ours[0].inlined &&
        ours[0].srcline == leaf_line && ours[1].symbol == "mid" && ours[1].inlined &&
        ours[1].srcline == mid_line && ours[2].symbol == "outer" && !ours[2].inlined &&
        ours[2].srcline == outer_line && ours[2].offset == a - outer->address)
      ++full_chain;
  }
  EXPECT_GT(full_chain, 0u) << "no address showed leaf <- mid <- outer\n" << diffs;
  EXPECT_GE(same * 100, addrs.size() * 99) << same << "/" << addrs.size() << "\n" << diffs;
}

TEST(Binary, SharedLibrarySymbolsAndLines) {
  std::string path = fixture("libfxsym.so");
  auto bin = open_or_die(path);
  ASSERT_TRUE(bin);
  for (const char* fn : {"lib_inner", "lib_work"}) {
    const auto s = test::nm_find(test::nm_functions(path), fn);
    ASSERT_TRUE(s);
    for (std::uint64_t a = s->address; a < s->address + s->size; ++a) {
      std::vector<SymbolizedFrame> frames;
      bin->symbolize(a, {.srcline = true}, frames);
      ASSERT_EQ(frames.size(), 1u);
      EXPECT_EQ(frames[0].symbol, fn);
      auto peer = addr2line(path, {a});
      ASSERT_EQ(peer[a].size(), 1u);
      EXPECT_EQ(frames[0].srcline, peer[a][0].srcline) << std::hex << a;
      EXPECT_EQ(frames[0].srcline.substr(0, 10), "sym_lib.c:");
    }
  }
}

// PLT slots carry the name objdump gives them (it follows each slot's GOT jump too).
TEST(Binary, PltSlotsNamedAsObjdumpNamesThem) {
  for (std::string path :
       {fixture("fx_sym_nested_fp"), std::string("/usr/lib/x86_64-linux-gnu/libc.so.6")}) {
    auto bin = open_or_die(path);
    ASSERT_TRUE(bin);
    auto r = prof::test::run({"objdump", "-d", "-j", ".plt", "-j", ".plt.sec", path});
    std::istringstream in(r.out);
    std::string line;
    std::size_t checked = 0;
    while (std::getline(in, line)) {
      // "0000000000001040 <clock_gettime@plt>:"
      auto lt = line.find(" <"), gt = line.rfind(">:");
      if (lt != 16 || gt == std::string::npos || line.find("@plt>") == std::string::npos) continue;
      std::uint64_t addr = std::stoull(line.substr(0, 16), nullptr, 16);
      std::string name = line.substr(lt + 2, gt - lt - 2);
      const std::optional<ElfSymbol> s = bin->find_symbol(addr);
      ASSERT_TRUE(s) << path << " " << name;
      EXPECT_EQ(s->name, name) << path << std::hex << " 0x" << addr;
      ++checked;
    }
    EXPECT_GT(checked, 0u) << path;
  }
}

// Compressed DWARF: the first open writes an uncompressed copy, keyed by build-id, to the
// cache and later opens read that instead of inflating again. Every answer is the same with
// the cache off, cold, warm, and after the cache entry was damaged (it is replaced).
// Every address of `outer` in a fresh Binary of `path`, with inline frames and source lines,
// as one text; sets `build_id`.
std::string outer_answers(const std::string& path, const test::NmSymbol& outer,
                          std::string& build_id) {
  auto b = Binary::open(path, {});
  EXPECT_TRUE(b);
  if (!b) return std::string();
  build_id = (*b)->build_id();
  std::string text;
  for (std::uint64_t a = outer.address; a < outer.address + outer.size; ++a) {
    std::vector<SymbolizedFrame> f;
    (*b)->symbolize(a, {.inline_frames = true, .srcline = true}, f);
    for (const auto& x : f) text += x.symbol + "@" + x.srcline + (x.inlined ? "i " : " ");
    text += "\n";
  }
  return text;
}

// A cache test's setting: a fresh cache directory (PROF_CACHE_DIR, unset again at the end) and
// `outer`'s answers for the binary computed with caching off (PROF_NO_CACHE) first.
struct CacheCase {
  prof::test::TempDir dir;
  std::string path, build_id, uncached;
  std::optional<test::NmSymbol> outer;
  void start(const std::string& binary) {
    path = binary;
    outer = test::nm_find(test::nm_functions(path), "outer");
    ASSERT_TRUE(outer);
    ::setenv("PROF_CACHE_DIR", dir.path().c_str(), 1);
    ::setenv("PROF_NO_CACHE", "1", 1);
    uncached = answers();
    ASSERT_FALSE(build_id.empty());
  }
  std::string answers() { return outer_answers(path, *outer, build_id); }
  struct Refs {
    prof::test::TempDir& dir;
    const std::string& build_id;
    const std::string& uncached;
  } refs_{dir, build_id, uncached};
  Refs& refs() { return refs_; }
  ~CacheCase() {
    ::unsetenv("PROF_NO_CACHE");
    ::unsetenv("PROF_CACHE_DIR");
  }
};

TEST(Binary, CompressedDwarfIsCachedUncompressedWithTheSameAnswers) {
  const std::string path = fixture("fx_sym_inline_gz");
  auto debug_info_compressed = [](const std::string& file) {
    auto r = prof::test::run({"readelf", "-SW", file});
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
      if (line.find(".debug_info") != std::string::npos)
        return line.find(" C ") != std::string::npos;
    ADD_FAILURE() << "no .debug_info in " << file;
    return false;
  };
  ASSERT_TRUE(debug_info_compressed(path));
  CacheCase c;
  ASSERT_NO_FATAL_FAILURE(c.start(path));
  auto& [dir, build_id, uncached] = c.refs();
  auto answers = [&] { return c.answers(); };
  const std::string entry = dir.file("debug/" + build_id + ".debug");
  EXPECT_FALSE(std::ifstream(entry).good());
  EXPECT_NE(uncached.find("leaf@sym_inline.c:"), std::string::npos) << uncached;
  ::unsetenv("PROF_NO_CACHE");
  EXPECT_EQ(answers(), uncached);  // cold: inflates, writes the copy
  ASSERT_TRUE(std::ifstream(entry).good());
  EXPECT_FALSE(debug_info_compressed(entry));
  EXPECT_EQ(answers(), uncached);  // warm: reads the copy
  prof::test::write_file(entry, "not an ELF file at all");
  EXPECT_EQ(answers(), uncached);  // damaged: ignored and rewritten
  EXPECT_FALSE(debug_info_compressed(entry));
  ::unsetenv("PROF_CACHE_DIR");
}

// The CU address index is kept in the cache by build-id: the same answers built, loaded and
// after the entry is damaged (rebuilt); an entry that is well-formed is trusted, which shows
// that it is read (an empty index leaves only the symbol table's answers).
TEST(Binary, CuIndexIsCachedByBuildIdWithTheSameAnswers) {
  const std::string path = fixture("fx_sym_inline");
  CacheCase c;
  ASSERT_NO_FATAL_FAILURE(c.start(path));
  auto& [dir, build_id, uncached] = c.refs();
  auto answers = [&] { return c.answers(); };
  const auto& outer = c.outer;
  ASSERT_NE(uncached.find("i "), std::string::npos) << uncached;  // inline frames found
  ::unsetenv("PROF_NO_CACHE");
  {
    // First a damaged copy of the binary, which has the same build-id: its (empty) index must
    // not be taken for the original's.
    std::uint64_t off = 0, size = 0;
    ASSERT_TRUE(test::section_extent(path, ".debug_info", off, size));
    std::string bad = prof::test::read_file(path);
    for (std::uint64_t i = off + 11; i < off + size; ++i) bad[i] = '\xff';
    prof::test::write_file(dir.file("bad"), bad);
    auto b = Binary::open(dir.file("bad"), {});
    ASSERT_TRUE(b);
    std::vector<SymbolizedFrame> f;
    (*b)->symbolize(outer->address, {.inline_frames = true, .srcline = true}, f);
  }
  EXPECT_EQ(answers(), uncached);  // cold: builds the index, writes the entry
  // Named by build-id and the file's identity: two entries, the damaged copy's (no units)
  // and the original's.
  std::string entry;
  std::size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("dwarf-index"))) {
    if (e.path().filename().string().rfind(build_id + "-", 0) != 0) continue;
    ++entries;
    if (entry.empty() || e.file_size() > std::filesystem::file_size(entry))
      entry = e.path().string();
  }
  EXPECT_EQ(entries, 2u);
  ASSERT_FALSE(entry.empty());
  const std::string written = prof::test::read_file(entry);
  ASSERT_GT(written.size(), 32u);
  EXPECT_EQ(answers(), uncached);  // warm: reads it
  for (std::string damaged :
       {written.substr(0, written.size() / 2), written + "x", std::string("not an index")}) {
    prof::test::write_file(entry, damaged);
    EXPECT_EQ(answers(), uncached);  // damaged: ignored and rebuilt
    EXPECT_EQ(prof::test::read_file(entry), written);
  }
  std::string flipped = written;
  flipped[24] ^= 1;  // the first unit's offset: the checksum no longer matches
  prof::test::write_file(entry, flipped);
  EXPECT_EQ(answers(), uncached);
  // A well-formed index of no units: trusted, so no inline frames or source lines are found.
  std::string empty(written.substr(0, 8));
  empty.append(16, '\0');
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : empty) h = (h ^ ch) * 0x100000001b3ull;
  empty.append(reinterpret_cast<const char*>(&h), 8);
  prof::test::write_file(entry, empty);
  const std::string from_empty = answers();
  EXPECT_EQ(from_empty.find("i "), std::string::npos) << from_empty;
  EXPECT_NE(from_empty.find("outer@"), std::string::npos) << from_empty;
  ::unsetenv("PROF_CACHE_DIR");
}

// Every function symbol's lookup in `path` (start, end, name at its first and last byte), and
// the table's size: what a symbol table answers.
std::string symbol_answers(const std::string& path) {
  auto b = Binary::open(path, {});
  EXPECT_TRUE(b) << path;
  if (!b) return std::string();
  std::string text = std::to_string((*b)->symbol_count()) + " symbols\n";
  for (const auto& s : test::nm_functions(path)) {
    for (std::uint64_t a : {s.address, s.address + (s.size ? s.size - 1 : 0)}) {
      auto found = (*b)->find_symbol(a);
      text += found ? std::to_string(found->start) + "-" + std::to_string(found->end) + " " +
                          std::string(found->name)
                    : std::string("none");
      std::vector<SymbolizedFrame> f;
      (*b)->symbolize(a, {}, f);
      text += " " + f.back().symbol + "+" + std::to_string(f.back().offset) + "\n";
    }
  }
  return text;
}

// The entries of the symbol-table cache for `build_id`.
std::vector<std::string> symtab_entries(const prof::test::TempDir& dir, const std::string& id) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("symtab"), ec))
    if (e.path().filename().string().rfind(id + "-", 0) == 0) out.push_back(e.path().string());
  return out;
}

// Sorted symbol tables are kept in the cache by build-id and file identity: the same answers
// built (miss), loaded (hit) and after the entry is truncated, extended, garbled or has one
// flipped byte (rebuilt, and the entry rewritten as it was); a well-formed entry is trusted,
// which shows that it is what a hit reads.
TEST(Binary, SymbolTableIsCachedByBuildIdWithTheSameAnswers) {
  const std::string path = fixture("fx_sym_cxx");
  CacheCase c;
  ASSERT_NO_FATAL_FAILURE(c.start(fixture("fx_sym_inline")));
  ::setenv("PROF_NO_CACHE", "1", 1);
  const std::string uncached = symbol_answers(path);
  const std::string build_id = (*Binary::open(path, {}))->build_id();
  ASSERT_NE(uncached.find(" symbols\n"), std::string::npos);
  EXPECT_TRUE(symtab_entries(c.dir, build_id).empty());  // caching off: nothing written
  ::unsetenv("PROF_NO_CACHE");
  EXPECT_EQ(symbol_answers(path), uncached);  // cold: builds the table, writes the entry
  const auto entries = symtab_entries(c.dir, build_id);
  ASSERT_EQ(entries.size(), 1u);
  const std::string entry = entries[0];
  const std::string written = prof::test::read_file(entry);
  ASSERT_GT(written.size(), 32u);
  EXPECT_EQ(symbol_answers(path), uncached);  // warm: reads it
  std::string flipped = written;
  flipped[written.size() - 20] ^= 1;  // a name's byte: only the checksum notices
  std::string unsorted = written;
  std::swap_ranges(unsorted.begin() + 24, unsorted.begin() + 32, unsorted.begin() + 48);
  for (const std::string& damaged :
       {written.substr(0, written.size() / 2), written.substr(0, written.size() - 8),
        written + "12345678", std::string("not a symbol table"), std::string(), flipped,
        unsorted}) {
    prof::test::write_file(entry, damaged);
    EXPECT_EQ(symbol_answers(path), uncached);  // damaged: ignored and rebuilt
    EXPECT_EQ(prof::test::read_file(entry), written);
  }
  // A well-formed entry of one symbol is trusted: the binary's own table is not read.
  const auto outer = test::nm_find(test::nm_functions(path), "main");
  ASSERT_TRUE(outer);
  const ElfSymbol only{outer->address, outer->address + 1, "from_the_cache"};
  ASSERT_TRUE(detail::save_symbol_cache(entry, std::span<const ElfSymbol>(&only, 1)));
  auto b = Binary::open(path, {});
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)->symbol_count(), 1u);
  ASSERT_TRUE((*b)->find_symbol(outer->address));
  EXPECT_EQ((*b)->find_symbol(outer->address)->name, "from_the_cache");
  EXPECT_FALSE((*b)->find_symbol(outer->address + 1));
  ::unsetenv("PROF_CACHE_DIR");
}

// A binary rebuilt at the same path (another build-id, other symbols) and a copy with the same
// build-id but other bytes each get their own entry: neither is answered from the other's.
TEST(Binary, SymbolTableCacheNeverServesAnotherFile) {
  CacheCase c;
  ASSERT_NO_FATAL_FAILURE(c.start(fixture("fx_sym_inline")));
  const std::string first = fixture("fx_sym_inline"), second = fixture("fx_sym_cxx");
  const std::string first_answers = symbol_answers(first);
  ::unsetenv("PROF_NO_CACHE");
  const std::string prog = c.dir.file("prog");
  prof::test::write_file(prog, prof::test::read_file(first));
  const std::string id1 = (*Binary::open(prog, {}))->build_id();
  EXPECT_EQ(symtab_entries(c.dir, id1).size(), 1u);
  // Rebuilt in place: same path, another build-id.
  prof::test::write_file(prog, prof::test::read_file(second));
  auto b = Binary::open(prog, {});
  ASSERT_TRUE(b);
  const std::string id2 = (*b)->build_id();
  ASSERT_NE(id1, id2);
  EXPECT_EQ(symtab_entries(c.dir, id2).size(), 1u);
  const auto cxx_main = test::nm_find(test::nm_functions(second), "main");
  ASSERT_TRUE(cxx_main);
  ASSERT_TRUE((*b)->find_symbol(cxx_main->address));
  EXPECT_EQ((*b)->find_symbol(cxx_main->address)->name, "main");
  // The same build-id in a file with other bytes (here: a symbol renamed) is not the cached
  // object: its own table is read and kept under its own identity.
  std::string renamed = prof::test::read_file(first);
  // The last whole "outer" is .strtab's (it follows the DWARF strings).
  const auto at = renamed.rfind(std::string("\0outer\0", 7));
  ASSERT_NE(at, std::string::npos);
  renamed[at + 1] = 'O';
  prof::test::write_file(c.dir.file("renamed"), renamed);
  auto r = Binary::open(c.dir.file("renamed"), {});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->build_id(), id1);
  const auto outer = test::nm_find(test::nm_functions(first), "outer");
  ASSERT_TRUE(outer);
  ASSERT_TRUE((*r)->find_symbol(outer->address));
  EXPECT_EQ((*r)->find_symbol(outer->address)->name, "Outer");
  EXPECT_EQ(symtab_entries(c.dir, id1).size(), 2u);
  EXPECT_EQ(symbol_answers(first), first_answers);
  ::unsetenv("PROF_CACHE_DIR");
}

// Writing an entry bounds the directory: the oldest entries go beyond the entry limit.
TEST(Binary, SymbolTableCacheIsBounded) {
  prof::test::TempDir dir;
  std::filesystem::create_directories(dir.file("symtab"));
  const std::size_t extra = detail::kMaxSymbolCacheEntries + 10;
  for (std::size_t i = 0; i < extra; ++i) {
    const std::string old = dir.file("symtab/" + std::to_string(1000 + i) + "-0.sym");
    prof::test::write_file(old, "x");
    const struct timespec times[2] = {{static_cast<time_t>(1000 + i), 0},
                                      {static_cast<time_t>(1000 + i), 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, old.c_str(), times, 0), 0);
  }
  const ElfSymbol one{0x1000, 0x1010, "f"};
  const std::string entry = dir.file("symtab/abcdef0123456789-0.sym");
  ASSERT_TRUE(detail::save_symbol_cache(entry, std::span<const ElfSymbol>(&one, 1)));
  std::size_t left = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("symtab"))) {
    (void)e;
    ++left;
  }
  EXPECT_EQ(left, detail::kMaxSymbolCacheEntries);
  EXPECT_TRUE(std::filesystem::exists(entry));
  EXPECT_FALSE(std::filesystem::exists(dir.file("symtab/1000-0.sym")));  // the oldest went
  EXPECT_TRUE(
      std::filesystem::exists(dir.file("symtab/" + std::to_string(1000 + extra - 1) + "-0.sym")));
  auto loaded = detail::load_symbol_cache(entry);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->symbols.size(), 1u);
  EXPECT_EQ(loaded->at(0).name, "f");
  EXPECT_EQ(loaded->at(0).end, 0x1010u);
}

// Any one byte of an entry changed, or any length cut off, is a miss, never a table: the
// structure checks and the checksum between them leave nothing through.
TEST(Binary, SymbolTableCacheRefusesEveryDamagedByte) {
  prof::test::TempDir dir;
  const std::vector<ElfSymbol> table = {
      {0x1000, 0x1010, "_Z1fv"}, {0x1010, 0x1040, "main"}, {0x2000, 0x2008, "g@plt"}};
  const std::string entry = dir.file("e.sym");
  ASSERT_TRUE(detail::save_symbol_cache(entry, table));
  const std::string written = prof::test::read_file(entry);
  auto loaded = detail::load_symbol_cache(entry);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->symbols.size(), table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(loaded->at(i).start, table[i].start);
    EXPECT_EQ(loaded->at(i).end, table[i].end);
    EXPECT_EQ(loaded->at(i).name, table[i].name);
  }
  for (std::size_t at = 0; at < written.size(); ++at) {
    for (unsigned char bit : {0x01, 0x80}) {
      std::string bad = written;
      bad[at] = static_cast<char>(bad[at] ^ bit);
      prof::test::write_file(entry, bad);
      EXPECT_FALSE(detail::load_symbol_cache(entry)) << "byte " << at;
    }
  }
  for (std::size_t size = 0; size < written.size(); size += 4) {
    prof::test::write_file(entry, written.substr(0, size));
    EXPECT_FALSE(detail::load_symbol_cache(entry)) << "cut at " << size;
  }
}

TEST(Binary, MissingAndNonElfFilesAreErrors) {
  EXPECT_FALSE(Binary::open("/nonexistent/bin", {}));
  prof::test::TempDir dir;
  prof::test::write_file(dir.file("text"), "#!/bin/sh\necho not elf\n");
  auto r = Binary::open(dir.file("text"), {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not an ELF"), std::string::npos);
}

// Truncated copies of a fixture: opening may fail, but nothing crashes and lookups in what
// remains answer or say "unknown".
TEST(Binary, TruncatedElfNeverCrashes) {
  std::string data = prof::test::read_file(fixture("fx_sym_inline"));
  prof::test::TempDir dir;
  const auto outer = test::nm_find(test::nm_functions(fixture("fx_sym_inline")), "outer");
  ASSERT_TRUE(outer);
  for (std::size_t cut : {std::size_t{16}, std::size_t{64}, std::size_t{700}, data.size() / 4,
                          data.size() / 2, data.size() - 100}) {
    std::string p = dir.file("cut" + std::to_string(cut));
    prof::test::write_file(p, data.substr(0, cut));
    auto b = Binary::open(p, {});
    if (!b) continue;
    std::vector<SymbolizedFrame> f;
    for (std::uint64_t a = outer->address; a < outer->address + 32; ++a)
      (*b)->symbolize(a, {.inline_frames = true, .srcline = true}, f);
    EXPECT_FALSE(f.empty());
  }
}

// .debug_info overwritten with garbage: DWARF answers nothing, ELF names still come through.
TEST(Binary, CorruptDwarfFallsBackToElfNames) {
  std::string path = fixture("fx_sym_inline");
  std::uint64_t off = 0, size = 0;
  ASSERT_TRUE(test::section_extent(path, ".debug_info", off, size));
  std::string data = prof::test::read_file(path);
  ASSERT_LE(off + size, data.size());
  prof::test::TempDir dir;
  for (char fill : {'\xff', '\x01'}) {
    std::string bad = data;
    for (std::uint64_t i = off + 11; i < off + size; ++i)
      bad[i] = static_cast<char>(fill ^ (i & 0x3));
    std::string p = dir.file("bad");
    prof::test::write_file(p, bad);
    auto b = Binary::open(p, {});
    ASSERT_TRUE(b);
    const auto outer = test::nm_find(test::nm_functions(path), "outer");
    ASSERT_TRUE(outer);
    for (std::uint64_t a = outer->address; a < outer->address + outer->size; ++a) {
      std::vector<SymbolizedFrame> f;
      (*b)->symbolize(a, {.inline_frames = true, .srcline = true}, f);
      ASSERT_FALSE(f.empty());
      EXPECT_EQ(f.back().symbol, "outer");
    }
  }
}

}  // namespace
}  // namespace prof::symbolizer

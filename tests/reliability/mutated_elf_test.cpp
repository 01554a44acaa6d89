// Crashers found by the ELF fuzz target (tests/fuzz/fuzz_elf.cpp), rebuilt from a fixture so
// that no binary is committed.
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "prof/symbolizer/binary.h"
#include "test_support.h"

namespace {

using namespace prof::test;

// The address of `name` in an object's symbol table, from nm.
std::uint64_t nm_address(const std::string& path, const std::string& name) {
  RunResult r = run({"nm", path});
  std::istringstream in(r.out);
  for (std::string addr, type, sym; in >> addr >> type >> sym;) {
    if (sym == name) return std::stoull(addr, nullptr, 16);
  }
  return 0;
}

// fuzz_elf: a .debug_line_str whose last byte is not NUL made libdw 0.188's line-table reader
// run strlen() past the section (heap-buffer-overflow under ASan). Such DWARF is now refused
// and the ELF symbol still names the frame.
TEST(MutatedElf, UnterminatedDwarfStringSectionIsNotRead) {
  TempDir tmp;
  const std::string src = fixture("fx_sym_inline");
  const std::string sec = tmp.file("line_str");
  const std::string bad = tmp.file("bad");
  ASSERT_EQ(
      run({"objcopy", "--dump-section", ".debug_line_str=" + sec, src, tmp.file("x")}).exit_code,
      0);
  std::string bytes = read_file(sec);
  ASSERT_FALSE(bytes.empty());
  ASSERT_EQ(bytes.back(), '\0');
  bytes.back() = 'x';
  write_file(sec, bytes);
  RunResult patch = run({"objcopy", "--update-section", ".debug_line_str=" + sec, src, bad});
  ASSERT_EQ(patch.exit_code, 0) << patch.err;
  const std::uint64_t outer = nm_address(bad, "outer");
  ASSERT_NE(outer, 0u);

  auto bin = prof::symbolizer::Binary::open(bad, {});
  ASSERT_TRUE(bin) << bin.error().message;
  EXPECT_FALSE((*bin)->has_dwarf());
  std::vector<prof::symbolizer::SymbolizedFrame> frames;
  (*bin)->symbolize(outer + 4, {.inline_frames = true, .srcline = true}, frames);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().symbol, "outer");

  // The intact fixture still has its DWARF (the check refuses only what is broken).
  auto good = prof::symbolizer::Binary::open(src, {});
  ASSERT_TRUE(good);
  EXPECT_TRUE((*good)->has_dwarf());
}

}  // namespace

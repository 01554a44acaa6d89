// One ELF object (executable, shared library, vdso image) and everything the symbolizer learns
// from it: build-id, loadable segments, a sorted function-symbol table, and — loaded lazily on
// the first DWARF question — a per-CU address index with inline chains and line tables.
//
// Pipeline position: prof::symbolizer. A Binary answers in the object's own address space, the
// ELF virtual address (`ElfAddr`); the caller converts the sampled runtime address to a file
// offset with its mapping (runtime - map.start + map.pgoff) and then to an ElfAddr with
// file_offset_to_elf(). It is not thread-safe (libdw handles are not): one thread uses one Binary
// at a time; distinct Binaries may be used from different threads.
//
// Debug information is looked for, in order, in the object itself, then by build-id under
// SYMFS/usr/lib/debug/.build-id/xx/rest.debug, then by .gnu_debuglink next to the object, in its
// .debug/ folder and under SYMFS/usr/lib/debug/<dir>/ (gdb's and perf's search order).
//
//   auto bin = prof::symbolizer::Binary::open("/usr/bin/app", {});
//   auto elf = (*bin)->file_offset_to_elf(0x1135);
//   std::vector<prof::symbolizer::SymbolizedFrame> frames;
//   (*bin)->symbolize(*elf, {.inline_frames = true, .srcline = true}, frames);
//   // frames[0] is the innermost (inlined) function, frames.back() the ELF symbol
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/result.h"

namespace prof::symbolizer {

using ElfAddr = std::uint64_t;     // virtual address as in the ELF file's symbols and DWARF
using FileOffset = std::uint64_t;  // byte offset into the object file (MMAP2's pgoff space)

struct BinaryOptions {
  std::string symfs;             // root prefixed to debug-file search paths; default "" (= /)
  bool demangle = true;          // demangle C++/Rust names; default on
  bool demangle_params = false;  // keep C++ parameter lists (`f(int)`); default off, as perf
  // Read only the ELF header and segments (load_bias, file_offset_to_elf): no symbol table, no
  // debug-file search; default off.
  bool segments_only = false;
};

struct LookupOptions {
  bool inline_frames = false;      // expand DWARF inline chains into frames; default off
  bool srcline = false;            // fill SymbolizedFrame::srcline; default off
  bool srcline_full_path = false;  // "dir/file.c:12" instead of "file.c:12"; default off
  // perf's naming for DWARF-unwound frames (implies inline_frames): the containing function is
  // named from DWARF, and printed as inlined when that name differs from the ELF symbol's
  // (perf 6.1's new_inline_sym). Default off.
  bool perf_dwarf_names = false;
};

// One frame as resolved from a binary. For an address inside inlined code symbolize() returns
// the innermost inlined function first and the containing ELF function last.
struct SymbolizedFrame {
  std::string symbol;        // demangled; "" when no function symbol covers the address
  std::uint64_t offset = 0;  // address - start of the containing ELF function
  std::string srcline;       // "file.c:12" when requested and known
  bool inlined = false;
};

struct ElfSymbol {
  ElfAddr start = 0;
  ElfAddr end = 0;  // exclusive
  // As in the symbol table (mangled); points into the Binary's string table or its cached
  // table, valid while the Binary lives (a copy per symbol was a tenth of opening a large
  // object).
  std::string_view name;
};

class Binary {
 public:
  static Result<std::unique_ptr<Binary>> open(const std::string& path,
                                              const BinaryOptions& options);
  // An object held in memory (the vdso image); it has no DWARF.
  static Result<std::unique_ptr<Binary>> from_image(std::string image, std::string name,
                                                    const BinaryOptions& options);
  ~Binary();
  Binary(const Binary&) = delete;
  Binary& operator=(const Binary&) = delete;

  const std::string& path() const;
  const std::string& build_id() const;  // lower-case hex; "" when the object has none
  // The ELF header's e_machine (EM_X86_64, EM_AARCH64, ...): which architecture's registers and
  // kernel address layout samples in this object come with.
  std::uint16_t elf_machine() const;
  const std::string& debug_file() const;  // separate debug file used, "" when none
  bool has_dwarf();                       // loads DWARF on first call

  // Maps a file offset to the ELF address through the PT_LOAD segment that holds it.
  std::optional<ElfAddr> file_offset_to_elf(FileOffset offset) const;

  // The load bias (runtime address - ElfAddr) of a mapping of this object at `map_start` with
  // file offset `pgoff`, through the PT_LOAD that holds pgoff (page-aligned, as mmap maps it).
  std::optional<std::uint64_t> load_bias(std::uint64_t map_start, FileOffset pgoff) const;

  // The function symbol covering `address`; its name stays valid while the Binary lives.
  std::optional<ElfSymbol> find_symbol(ElfAddr address) const;
  std::size_t symbol_count() const;

  // Appends the frames for `address` (at least one; symbol "" when unresolved).
  void symbolize(ElfAddr address, const LookupOptions& options, std::vector<SymbolizedFrame>& out);

  // Counters for the summary: DWARF lookups that found no CU / no line.
  std::uint64_t dwarf_misses() const;

 private:
  struct Impl;
  explicit Binary(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace prof::symbolizer

// Sorted ELF symbol tables kept in the cache (cache_dir.h) by build-id, like the DWARF CU index
// and the parsed kallsyms.
//
// Building an object's table means reading its whole .symtab/.dynsym and string table, keeping
// the function symbols, sorting them and picking one name per address: for a large binary that
// is most of opening it (and fresh buffers faulted in page by page), and the answer is the same
// on every run. The first open writes the finished table to
// CACHE/symtab/<build-id>-<file id>.sym (temporary file + rename); later opens map that file
// and take the table as it is. The file id hashes the identity (device, inode, size,
// modification time) of the object and of the debug file found for it, so a rebuilt binary, a
// damaged copy with the same build-id or a debug file installed since is a miss, never a stale
// table. Every count, offset and the order of the starts are checked, with a checksum over the
// whole file; anything that does not hold is a miss (the table is built again and the file
// replaced). The directory is bounded: writing an entry evicts the oldest ones beyond
// kMaxSymbolCacheEntries files or kMaxSymbolCacheBytes bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "prof/common/unique_fd.h"
#include "prof/symbolizer/binary.h"

namespace prof::symbolizer::detail {

inline constexpr std::size_t kMaxSymbolCacheEntries = 512;
inline constexpr std::uint64_t kMaxSymbolCacheBytes = std::uint64_t{512} << 20;

// The cache file for an object with `build_id` read through `main_fd`, its debug file through
// `debug_fd` (-1: none); "" when the object has no build-id or caching is off.
std::string symbol_cache_path(const std::string& build_id, int main_fd, int debug_fd);

// One symbol as the cache stores it; its name is `name_size` bytes at `name_offset` of the names.
struct CachedSymbol {
  std::uint64_t start, end;
  std::uint32_t name_offset, name_size;
};

// A table read from the cache, used where it lies in the mapped file: no copy of the table is
// made, so a lookup touches only the pages it reads.
struct CachedSymbols {
  MemoryMap file;
  std::span<const CachedSymbol> symbols;  // in `file`, sorted by start
  const char* names = nullptr;            // in `file`, each name followed by a NUL

  ElfSymbol at(std::size_t i) const {
    const CachedSymbol& s = symbols[i];
    return ElfSymbol{s.start, s.end, std::string_view(names + s.name_offset, s.name_size)};
  }
};

// The table at `path`, or nothing when it is missing or fails any check.
std::optional<CachedSymbols> load_symbol_cache(const std::string& path);

// Writes `symbols` (sorted by start) to `path` atomically, then bounds the directory. Best
// effort: false when nothing was written.
bool save_symbol_cache(const std::string& path, std::span<const ElfSymbol> symbols);

}  // namespace prof::symbolizer::detail

// An uncompressed copy of compressed DWARF, kept in the cache (cache_dir.h) by build-id.
//
// Debian's -dbg packages (and `-gz` builds) ship zlib-compressed debug sections, and libdw
// inflates every one of them on each open (dwarf_begin_elf): libc's debug file costs tens of
// milliseconds, a compiler's seconds — on every run, and in every libdwfl handle that falls
// back to .debug_frame while unwinding. The first open writes the inflated file to
// CACHE/debug/<build-id>.debug (temporary file + rename); later opens, in this process or the
// next, read that. GNU .zdebug sections and dwz alternate files (.gnu_debugaltlink, found
// relative to the debug file) are left to libdw as they are.
#pragma once

#include <libelf.h>

#include <string>

namespace prof::symbolizer::detail {

// The GNU build-id note of `elf` as lower-case hex; "" when it has none.
std::string elf_build_id(Elf* elf);

// For a DWARF source `elf` whose build-id is `build_id`: the path of its uncompressed copy,
// written now if missing (which inflates `elf`'s debug sections in memory, as libdw would).
// "" when there is nothing to inflate, the cache is off, or the copy could not be written.
// Thread-safe: concurrent callers for one build-id wait for the first one's copy.
std::string uncompressed_debug_copy(Elf* elf, const std::string& build_id);

}  // namespace prof::symbolizer::detail

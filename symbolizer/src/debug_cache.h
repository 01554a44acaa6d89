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

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace prof::symbolizer::detail {

// Bytes as lower-case hex (how build-ids are named).
std::string to_hex(const std::uint8_t* bytes, std::size_t n);

// The GNU build-id note of `elf` as lower-case hex; "" when it has none.
std::string elf_build_id(Elf* elf);

// The path of an uncompressed copy of the DWARF whose build-id is `build_id`. A copy this
// process already checked (or a valid one in the cache) is returned without touching the
// original; otherwise `source()` is asked for the original (null: none) and, if it has
// compressed debug sections, they are inflated in memory (as libdw would) and written as the
// copy. "" when there is nothing to inflate, the cache is off, or the copy could not be
// written. Thread-safe: concurrent callers for one build-id wait for the first one's answer.
std::string uncompressed_debug_copy(const std::string& build_id,
                                    const std::function<Elf*()>& source);

}  // namespace prof::symbolizer::detail

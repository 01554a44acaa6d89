// The persistent cache behind KallsymsTable::load("/proc/kallsyms"): one binary file per user
// holding a parsed table, valid while the boot, the module list and the effective uid are the
// ones it was written under (the idea of perf's ~/.debug/[kernel.kallsyms]/<build-id>/kallsyms,
// in our own format, without the kernel formatting 120k lines each run).
//
// Pipeline position: private to prof::symbolizer (kallsyms.cpp); tests inject the identity.
//
//   detail::KallsymsCache cache("/tmp/k.bin",
//       detail::KallsymsIdentity::from(boot_id, proc_modules_text, geteuid()));
//   if (auto t = cache.read()) use(*t); else cache.write(freshly_parsed);
//
// File layout (native byte order; every offset from the file's start, 8-byte aligned):
//   Header | identity key | trusted ranges (u64 pairs) | KernelSymbol[] | names
// The KernelSymbol array is stored as the process uses it, its string_views pointing at
// Header::base + offset. Mapped at `base` (MAP_FIXED_NOREPLACE) it is used in place with no
// fix-up at all; where that address is taken the file is read into memory and each view is
// moved by (buffer - base). Either way every view is checked to lie inside the names block and
// the starts to ascend before the table is handed out, so a corrupt, truncated or foreign file
// is a cache miss, never a crash.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prof/symbolizer/kallsyms.h"

namespace prof::symbolizer::detail {

// What a cached table must have been written under to be used now.
struct KallsymsIdentity {
  std::string key;                        // compared byte for byte with the one in the file
  std::vector<std::string> module_names;  // from /proc/modules
  std::vector<std::pair<std::uint64_t, std::uint64_t>> module_ranges;  // [address, + size)
  bool settled = true;  // false while a module is Loading or Unloading: nothing is written

  // `boot_id`: /proc/sys/kernel/random/boot_id. `proc_modules`: /proc/modules, reduced to
  // (name, size, load address) per line, since refcounts and state change all the time.
  // `euid`: kptr_restrict makes the file differ per user.
  static KallsymsIdentity from(std::string_view boot_id, std::string_view proc_modules,
                               unsigned euid);
};

// The symbols of a cache file used where it is mapped, which read() has not walked: each is
// checked when find() hands it out, and all of them (views inside the names block, ranges
// non-empty, starts ascending) the first time anyone asks for the whole list.
struct UncheckedSymbols {
  std::uintptr_t lo = 0, hi = 0;  // the names block, where every view must lie

  bool entry_ok(const KernelSymbol& s) const;
  bool all_ok(std::span<const KernelSymbol> symbols);  // thread-safe; checks once

 private:
  std::once_flag once_;
  bool ok_ = false;
};

class KallsymsCache {
 public:
  // `file` "" (or no identity) turns the cache off: read() misses and write() does nothing.
  KallsymsCache(std::string file, std::optional<KallsymsIdentity> identity)
      : file_(std::move(file)), identity_(std::move(identity)) {}

  // This process's cache: the file from default_file() and the identity read from /proc now;
  // off when PROF_NO_KALLSYMS_CACHE or PROF_NO_CACHE is set (to anything but "0" or ""), when
  // no location can be created, or when boot_id cannot be read.
  static KallsymsCache for_this_process();
  // The cache directory (cache_dir.h: $PROF_CACHE_DIR, else $XDG_CACHE_HOME/profile, else
  // $HOME/.cache/profile) plus "/kallsyms-<euid>.bin"; "" when caching is off or there is none.
  static std::string default_file();

  // The cached table when the file exists, is ours, is intact and matches the identity.
  std::optional<KallsymsTable> read() const;
  // Writes `table` atomically (temporary file + rename). Refuses an empty table, one whose
  // addresses were hidden (all zero), or one read while a module was coming or going. False
  // when nothing was written.
  bool write(const KallsymsTable& table) const;

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::optional<KallsymsIdentity> identity_;
};

}  // namespace prof::symbolizer::detail

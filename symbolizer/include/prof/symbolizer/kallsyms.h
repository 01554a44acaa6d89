// Kernel symbol table from /proc/kallsyms (or a saved copy, for captures from another machine).
//
// Pipeline position: prof::symbolizer, resolves the kernel part of every callchain. Built once,
// sorted, looked up by binary search. Only text symbols (t/T/w/W) are kept, as perf does; where
// several share an address the last listed is kept, which is the one perf prints. A symbol
// ends where the next one starts; the last one of the kernel or of a module ends one page after
// its start rounded up (perf's symbols__fixup_end).
//
// Reading /proc/kallsyms makes the kernel format ~120k lines (tens of milliseconds of kernel
// CPU), so load("/proc/kallsyms") keeps the parsed table in a per-user cache file and, while the
// boot, the module list (/proc/modules: name, size, address) and the effective uid are the ones
// it was written under, maps that file instead (well under a millisecond). Only that exact path
// is cached; any other file is parsed every time. The cache lives in $PROF_CACHE_DIR, else
// $XDG_CACHE_HOME/profile, else $HOME/.cache/profile; PROF_NO_KALLSYMS_CACHE=1 turns it off.
// Where the directory cannot be created or written the table is simply read fresh.
//
// BPF programs and ftrace/kprobe trampolines come and go without a module change, so a cached
// table speaks for the core kernel image and the modules of /proc/modules only: trusted_at()
// says whether a lookup is covered by that promise; outside it, load_fresh() gives the truth.
//
//   auto t = prof::symbolizer::KallsymsTable::load("/proc/kallsyms");
//   std::uint64_t pc = 0xffffffff81b955cd;
//   if (t->from_cache() && !t->trusted_at(pc)) t = KallsymsTable::load_fresh("/proc/kallsyms");
//   if (const auto* s = t->find(pc)) std::cout << s->name << "+" << pc - s->start;
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prof/common/result.h"

namespace prof::symbolizer {

namespace detail {
struct KallsymsCacheAccess;  // the cache reader/writer (kallsyms_cache.cpp)
struct UncheckedSymbols;     // a mapped cache file's symbols, checked as they are used
}  // namespace detail

struct KernelSymbol {
  std::uint64_t start = 0;
  std::uint64_t end = 0;  // exclusive
  // Views into bytes the table shares among its copies (the kallsyms text, or the mapped cache
  // file): valid while the table, or a copy of it, lives. 120k names copied one by one were
  // most of the parsing time.
  std::string_view name;
  std::string_view module;  // "" for the kernel image, else the module name without brackets
};

class KallsymsTable {
 public:
  // Reads and parses a kallsyms file; "/proc/kallsyms" itself goes through the cache described
  // above. An empty or all-zero table (kptr_restrict) is an Error of kind kPermission with a
  // hint, since every kernel frame would be [unknown].
  static Result<KallsymsTable> load(const std::string& path);
  // The same without consulting the cache: reads `path` now. For "/proc/kallsyms" the cache is
  // rewritten with what was read (unless turned off), so later runs start from the new table.
  static Result<KallsymsTable> load_fresh(const std::string& path);
  // Parses kallsyms text; lines that do not parse are skipped and counted.
  static KallsymsTable parse(std::string_view text);
  // The same, keeping `text` itself instead of a copy.
  static KallsymsTable parse_owned(std::string text);

  const KernelSymbol* find(std::uint64_t address) const;
  std::size_t size() const { return symbols_.size(); }
  std::size_t skipped_lines() const { return skipped_; }
  bool empty() const { return symbols_.empty(); }
  // Start of the lowest symbol (the kernel image's or a module's), 0 when empty.
  std::uint64_t lowest() const { return symbols_.empty() ? 0 : symbols_.front().start; }
  // End of the highest symbol, 0 when empty.
  std::uint64_t highest_end() const { return symbols_.empty() ? 0 : symbols_.back().end; }
  // Every symbol, sorted by start. A table mapped from the cache checks its symbols on first
  // use (find() the one it returns, symbols() all of them, once): a damaged file then looks
  // like an empty table (or misses) instead of crashing, and a run that looks up a few hundred
  // kernel addresses does not touch the 6 MB of the others (first touches of pages are most of
  // a small capture's symbolizing time on a VM).
  std::span<const KernelSymbol> symbols() const;

  // True when the table came from the cache file rather than from reading the file now.
  bool from_cache() const { return from_cache_; }
  // Whether find(address) reflects the running kernel as far as this table can tell. Always
  // true for a table read now. For a cached table, true only inside the core kernel image and
  // the address ranges of the modules listed in /proc/modules, whose symbols cannot change
  // without invalidating the cache; elsewhere (BPF programs "[bpf]", ftrace/kprobe trampolines
  // "[__builtin__ftrace]", ...) a hit may be stale and a miss may be a newer symbol: the caller
  // should take load_fresh(path) once and ask that table instead. Addresses in the lower half
  // of a 64-bit address space, where an upper-half kernel has no symbols, are trusted too, and
  // so are those outside x86-64's kernel text window (-2 GB to the end of the module space) when
  // the table lies inside it.
  bool trusted_at(std::uint64_t address) const;

 private:
  friend struct detail::KallsymsCacheAccess;
  using Range = std::pair<std::uint64_t, std::uint64_t>;  // [first, second)
  struct ParsedStorage;
  static KallsymsTable parse_into(std::shared_ptr<ParsedStorage> storage);
  static Result<KallsymsTable> read_and_parse(const std::string& path);  // never the cache

  std::shared_ptr<const void> storage_;  // owns symbols_ and the bytes the names point into
  std::span<const KernelSymbol> symbols_;
  std::size_t skipped_ = 0;
  bool from_cache_ = false;
  std::vector<Range> trusted_;  // sorted, disjoint; only consulted when from_cache_
  std::shared_ptr<detail::UncheckedSymbols> unchecked_;  // set for a mapped cache file
};

}  // namespace prof::symbolizer

// Kernel symbol table from /proc/kallsyms (or a saved copy, for captures from another machine).
//
// Pipeline position: prof::symbolizer, resolves the kernel part of every callchain. Built once,
// sorted, looked up by binary search. Only text symbols (t/T/w/W) are kept, as perf does; where
// several share an address the last listed is kept, which is the one perf prints. A symbol
// ends where the next one starts; the last one of the kernel or of a module ends one page after
// its start rounded up (perf's symbols__fixup_end).
//
//   auto t = prof::symbolizer::KallsymsTable::load("/proc/kallsyms");
//   if (const auto* s = t->find(0xffffffff81b955cd)) std::cout << s->name << "+" << ...;
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/result.h"

namespace prof::symbolizer {

struct KernelSymbol {
  std::uint64_t start = 0;
  std::uint64_t end = 0;     // exclusive
  // Views into the table's copy of the kallsyms text: valid while the table (or a copy of it)
  // lives. 120k names copied one by one were most of the parsing time.
  std::string_view name;
  std::string_view module;   // "" for the kernel image, else the module name without brackets
};

class KallsymsTable {
 public:
  // Reads and parses a kallsyms file. An empty or all-zero table (kptr_restrict) is an Error
  // of kind kPermission with a hint, since every kernel frame would be [unknown].
  static Result<KallsymsTable> load(const std::string& path);
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

 private:
  std::shared_ptr<const std::string> text_;  // what the symbols' names point into
  std::vector<KernelSymbol> symbols_;
  std::size_t skipped_ = 0;
};

}  // namespace prof::symbolizer

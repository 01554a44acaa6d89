// Fuzz target: the kallsyms parser (a saved /proc/kallsyms from another machine is untrusted
// input) and lookups at addresses taken from the input, around every symbol boundary it built.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "prof/symbolizer/kallsyms.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto table = prof::symbolizer::KallsymsTable::parse(text);
  // Probe the edges of the table and a few addresses read from the input's own bytes.
  (void)table.find(table.lowest());
  (void)table.find(table.highest_end());
  if (table.highest_end() > 0) (void)table.find(table.highest_end() - 1);
  (void)table.find(0);
  (void)table.find(~std::uint64_t{0});
  for (std::size_t i = 0; i + sizeof(std::uint64_t) <= size && i < 64; i += sizeof(std::uint64_t)) {
    std::uint64_t address;
    std::memcpy(&address, data + i, sizeof address);
    if (const auto* s = table.find(address)) {
      // A hit must lie inside the symbol it returned.
      if (address < s->start || address >= s->end) __builtin_trap();
    }
  }
  return 0;
}

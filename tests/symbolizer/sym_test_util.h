// Helpers for the symbolizer tests: reading fixtures' symbol tables with binutils (our peer for
// names and addresses) and building synthetic perf records.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace prof::symbolizer::test {

struct NmSymbol {
  std::uint64_t address = 0, size = 0;
  char type = 0;
  std::string name;  // as in the symbol table (mangled)
};

// `nm -S --defined-only FILE` (function symbols: types t/T/w/W/i).
std::vector<NmSymbol> nm_functions(const std::string& file);
std::optional<NmSymbol> nm_find(const std::vector<NmSymbol>& syms, const std::string& name);

// Byte offset and size of a section, from `readelf -SW`.
bool section_extent(const std::string& file, const std::string& section, std::uint64_t& offset,
                    std::uint64_t& size);

// The line number of the first line of `file` containing `marker` (1-based), 0 when absent.
int line_of_marker(const std::string& file, const std::string& marker);

std::string fixture_source(const std::string& name);  // tests/fixtures/NAME in the source tree

}  // namespace prof::symbolizer::test

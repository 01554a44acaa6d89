#include "sym_test_util.h"

#include <sstream>

#include "test_support.h"

namespace prof::symbolizer::test {

std::vector<NmSymbol> nm_functions(const std::string& file) {
  auto r = prof::test::run({"nm", "-S", "--defined-only", file});
  std::vector<NmSymbol> out;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string addr, size, type, name;
    if (!(ls >> addr >> size >> type >> name)) continue;  // symbols without size are skipped
    char t = type[0];
    if (t != 't' && t != 'T' && t != 'w' && t != 'W' && t != 'i') continue;
    out.push_back(
        NmSymbol{std::stoull(addr, nullptr, 16), std::stoull(size, nullptr, 16), t, name});
  }
  return out;
}

std::optional<NmSymbol> nm_find(const std::vector<NmSymbol>& syms, const std::string& name) {
  for (const auto& s : syms)
    if (s.name == name) return s;
  return std::nullopt;
}

bool section_extent(const std::string& file, const std::string& section, std::uint64_t& offset,
                    std::uint64_t& size) {
  auto r = prof::test::run({"readelf", "-SW", file});
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    auto pos = line.find(" " + section + " ");
    if (pos == std::string::npos) continue;
    std::istringstream ls(line.substr(pos + section.size() + 2));
    std::string type, addr, off, sz;
    if (!(ls >> type >> addr >> off >> sz)) return false;
    offset = std::stoull(off, nullptr, 16);
    size = std::stoull(sz, nullptr, 16);
    return true;
  }
  return false;
}

int line_of_marker(const std::string& file, const std::string& marker) {
  std::istringstream in(prof::test::read_file(file));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (line.find(marker) != std::string::npos) return n;
  return 0;
}

std::string fixture_source(const std::string& name) {
  return prof::test::source_dir() + "/tests/fixtures/" + name;
}

}  // namespace prof::symbolizer::test

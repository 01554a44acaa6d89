#include "prof/symbolizer/perf_map.h"

#include <algorithm>
#include <charconv>

#include "range_lookup.h"
#include "text_util.h"

namespace prof::symbolizer {

PerfMap PerfMap::parse(std::string_view text) {
  PerfMap m;
  struct Entry {
    PerfMapSymbol sym;
    std::size_t order;
  };
  std::vector<Entry> entries;
  while (!text.empty()) {
    std::string_view line = detail::next_line(text);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    std::uint64_t start = 0, size = 0;
    const char* p = line.data();
    const char* end = line.data() + line.size();
    if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) p += 2;
    auto r1 = std::from_chars(p, end, start, 16);
    if (r1.ec != std::errc() || r1.ptr == end || *r1.ptr != ' ') {
      ++m.skipped_;
      continue;
    }
    p = r1.ptr + 1;
    if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) p += 2;
    auto r2 = std::from_chars(p, end, size, 16);
    if (r2.ec != std::errc() || r2.ptr == end || *r2.ptr != ' ' || size == 0 ||
        start + size < start) {
      ++m.skipped_;
      continue;
    }
    entries.push_back(
        Entry{PerfMapSymbol{start, start + size, std::string(r2.ptr + 1, end)}, entries.size()});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.sym.start != b.sym.start ? a.sym.start < b.sym.start : a.order > b.order;
  });
  for (auto& e : entries) {
    if (!m.symbols_.empty() && m.symbols_.back().start == e.sym.start) continue;  // newest kept
    m.symbols_.push_back(std::move(e.sym));
  }
  return m;
}

Result<PerfMap> PerfMap::load(const std::string& path) {
  auto text = detail::read_whole_file(path);
  if (!text) return text.error();
  return parse(*text);
}

const PerfMapSymbol* PerfMap::find(std::uint64_t address) const {
  return detail::find_covering(symbols_, address);
}

}  // namespace prof::symbolizer

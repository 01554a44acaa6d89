#include "prof/symbolizer/kallsyms.h"

#include <algorithm>

#include "range_lookup.h"
#include "text_util.h"

namespace prof::symbolizer {
namespace {

bool parse_hex(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 16) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  out = v;
  return true;
}

struct Parsed {
  KernelSymbol sym;
};

}  // namespace

KallsymsTable KallsymsTable::parse(std::string_view text) {
  return parse_owned(std::string(text));
}

KallsymsTable KallsymsTable::parse_owned(std::string owned) {
  KallsymsTable t;
  t.text_ = std::make_shared<const std::string>(std::move(owned));
  std::string_view text = *t.text_;
  std::vector<Parsed> parsed;
  parsed.reserve(text.size() / 40);
  while (!text.empty()) {
    std::string_view line = detail::next_line(text);
    if (line.empty()) continue;
    // "ffffffff81000000 T _text" or "ffffffffc0a01000 t foo\t[module]"
    std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 + 3 > line.size() || line[sp1 + 2] != ' ') {
      ++t.skipped_;
      continue;
    }
    std::uint64_t addr;
    if (!parse_hex(line.substr(0, sp1), addr)) {
      ++t.skipped_;
      continue;
    }
    char type = line[sp1 + 1];
    // perf keeps only text symbols for the kernel map (map__process_kallsym_symbol).
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;
    std::string_view rest = line.substr(sp1 + 3);
    std::string_view module;
    if (std::size_t tab = rest.find('\t'); tab != std::string_view::npos) {
      module = rest.substr(tab + 1);
      rest = rest.substr(0, tab);
      if (module.size() >= 2 && module.front() == '[' && module.back() == ']')
        module = module.substr(1, module.size() - 2);
    }
    if (rest.empty()) {
      ++t.skipped_;
      continue;
    }
    parsed.push_back(Parsed{KernelSymbol{addr, addr, rest, module}});
  }
  // /proc/kallsyms is sorted already except for a few module lines; check before sorting.
  auto by_start = [](const Parsed& a, const Parsed& b) { return a.sym.start < b.sym.start; };
  if (!std::is_sorted(parsed.begin(), parsed.end(), by_start))
    std::stable_sort(parsed.begin(), parsed.end(), by_start);
  // Of several names at one address perf prints the last listed: it fixes up symbol ends
  // (every alias but the last gets length 0) before choosing among duplicates, and its first
  // rule prefers a non-zero length (symbols__fixup_end, then symbols__fixup_duplicate in
  // __dso__load_kallsyms). E.g. memcpy, __memcpy, __pi_memcpy -> __pi_memcpy.
  t.symbols_.reserve(parsed.size());
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (i + 1 < parsed.size() && parsed[i + 1].sym.start == parsed[i].sym.start) continue;
    t.symbols_.push_back(std::move(parsed[i].sym));
  }
  // Zero addresses mean kptr_restrict hid them: nothing can be resolved.
  if (!t.symbols_.empty() && t.symbols_.back().start == 0) t.symbols_.clear();
  for (std::size_t i = 0; i < t.symbols_.size(); ++i) {
    auto& s = t.symbols_[i];
    bool last_of_image =
        i + 1 == t.symbols_.size() || t.symbols_[i + 1].module != s.module;
    if (last_of_image)
      s.end = ((s.start + 4095) & ~std::uint64_t{4095}) + 4096;
    else
      s.end = t.symbols_[i + 1].start;
  }
  return t;
}

Result<KallsymsTable> KallsymsTable::load(const std::string& path) {
  auto text = detail::read_whole_file(path);
  if (!text) return text.error();
  KallsymsTable t = parse_owned(std::move(*text));
  if (t.empty())
    return Error{Errc::kPermission,
                 "'" + path + "': no kernel symbol addresses (all zero or none): kernel frames "
                              "would be [unknown]; run as root or set "
                              "/proc/sys/kernel/kptr_restrict to 0, or pass --kallsyms FILE"};
  return t;
}

const KernelSymbol* KallsymsTable::find(std::uint64_t address) const {
  return detail::find_covering(symbols_, address);
}

}  // namespace prof::symbolizer

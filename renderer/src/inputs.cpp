// Side inputs of the renderer: --nameattr and --cp files, and `profile diff` (difffolded.pl).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "prof/renderer/renderer.h"

namespace prof::renderer {
namespace {

template <typename F>
void for_each_line(std::string_view text, F&& f) {
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(line, ++line_no);
    pos = nl + 1;
  }
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// -s: "0x" followed by hex digits becomes "0x...".
std::string strip_hex(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s.substr(i, 2) == "0x" && i + 2 < s.size() && is_hex(s[i + 2])) {
      out += "0x...";
      i += 2;
      while (i < s.size() && is_hex(s[i])) ++i;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

}  // namespace

std::unordered_map<std::string, NameAttributes> parse_name_attributes(std::string_view text,
                                                                      WarningSink* warnings) {
  std::unordered_map<std::string, NameAttributes> out;
  for_each_line(text, [&](std::string_view line, std::size_t line_no) {
    if (line.empty()) return;
    std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      if (warnings)
        warnings->warn("nameattr-invalid-line",
                       "nameattr line " + std::to_string(line_no) + ": no TAB after the name");
      return;
    }
    NameAttributes& na = out[std::string(line.substr(0, tab))];
    std::size_t pos = tab + 1;
    while (pos <= line.size()) {
      std::size_t next = line.find('\t', pos);
      if (next == std::string_view::npos) next = line.size();
      std::string_view kv = line.substr(pos, next - pos);
      pos = next + 1;
      if (kv.empty()) continue;
      std::size_t eq = kv.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        if (warnings)
          warnings->warn("nameattr-invalid-attribute", "nameattr line " + std::to_string(line_no) +
                                                           ": invalid attribute '" +
                                                           std::string(kv) + "'");
        continue;
      }
      std::string key(kv.substr(0, eq));
      std::string value(kv.substr(eq + 1));
      auto it = std::find_if(na.attrs.begin(), na.attrs.end(),
                             [&](const auto& p) { return p.first == key; });
      if (it != na.attrs.end()) {
        if (warnings)
          warnings->warn("nameattr-duplicate-attribute",
                         "nameattr line " + std::to_string(line_no) + ": duplicate attribute '" +
                             key + "', the last one wins");
        it->second = std::move(value);
      } else {
        na.attrs.emplace_back(std::move(key), std::move(value));
      }
    }
  });
  return out;
}

std::map<std::string, std::string> parse_palette_map(std::string_view text, WarningSink* warnings) {
  std::map<std::string, std::string> out;
  std::uint64_t bad = 0;
  for_each_line(text, [&](std::string_view line, std::size_t) {
    if (line.empty()) return;
    std::size_t arrow = line.rfind("->");
    if (arrow == std::string_view::npos) {
      ++bad;
      return;
    }
    std::string value(line.substr(arrow + 2));
    int r, g, b, used = 0;
    if (std::sscanf(value.c_str(), "rgb(%d,%d,%d)%n", &r, &g, &b, &used) != 3 ||
        static_cast<std::size_t>(used) != value.size()) {
      ++bad;
      return;
    }
    out[std::string(line.substr(0, arrow))] = value;
  });
  if (bad && warnings)
    warnings->warn("palette-invalid-line",
                   "palette map: ignored " + std::to_string(bad) + " lines with invalid format");
  return out;
}

std::string format_palette_map(const std::map<std::string, std::string>& map) {
  std::string out;
  for (const auto& [name, rgb] : map) {
    out += name;
    out += "->";
    out += rgb;
    out.push_back('\n');
  }
  return out;
}

std::string diff_folded(const FoldedData& before, const FoldedData& after, const DiffOptions& opt) {
  struct Counts {
    double before = 0, after = 0;
  };
  std::map<std::string, Counts, std::less<>> stacks;
  double total1 = 0, total2 = 0;
  auto add = [&](const FoldedData& d, bool second) {
    for (const FoldedLine& l : d.lines) {
      std::string key = opt.strip_hex ? strip_hex(l.stack) : std::string(l.stack);
      Counts& c = stacks[key];
      (second ? c.after : c.before) += l.count();
      (second ? total2 : total1) += l.count();
    }
  };
  add(before, false);
  add(after, true);
  const bool scale = opt.normalize && total1 != total2 && total1 > 0;
  std::string out;
  for (const auto& [stack, c] : stacks) {
    double b = scale ? std::trunc(c.before * total2 / total1) : c.before;
    append_folded_line(out, stack, b, c.after);
  }
  return out;
}

}  // namespace prof::renderer

#include "color.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <vector>

#include "text.h"

namespace prof::renderer::detail {
namespace {

// Decodes code points leniently (a bad byte is one U+FFFD), as Perl's :encoding(UTF-8) does.
std::vector<std::uint32_t> code_points(std::string_view s) {
  std::vector<std::uint32_t> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = utf8_prefix_bytes(s.substr(i), 1);
    std::string_view one = s.substr(i, len);
    std::uint32_t sum = utf8_codepoint_sum(one);
    out.push_back(sum);
    i += len;
  }
  return out;
}

double hash_points(const std::vector<std::uint32_t>& cps) {
  double vector = 0, weight = 1, max = 1;
  unsigned mod = 10;
  for (std::uint32_t c : cps) {
    unsigned i = c % mod;
    vector += (static_cast<double>(i) / static_cast<double>(mod++ - 1)) * weight;
    max += 1 * weight;
    weight *= 0.70;
    if (mod > 12) break;
  }
  return 1 - vector / max;
}

// Perl: $name =~ s/.(.*?)`//  — drops a DTrace "module`" prefix (the backtick must not be first).
std::vector<std::uint32_t> hash_input(std::string_view name) {
  std::vector<std::uint32_t> cps = code_points(name);
  for (std::size_t i = 1; i < cps.size(); ++i) {
    if (cps[i] == '`') {
      cps.erase(cps.begin(), cps.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      break;
    }
  }
  return cps;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// The multi-language palettes pick a flat palette from the name (first matching rule wins).
Palette resolve(Palette p, std::string_view name) {
  switch (p) {
    case Palette::kJava: {
      if (ends_with(name, "_[j]")) return Palette::kGreen;
      if (ends_with(name, "_[i]")) return Palette::kAqua;
      std::string_view n = name;
      if (!n.empty() && n.front() == 'L') n.remove_prefix(1);
      // flamegraph.pl accepts only "pkg/" (JVM internal names); async-profiler writes "pkg.",
      // which inferno colours green too.
      for (std::string_view pkg : {"java", "javax", "jdk", "net", "org", "com", "io", "sun"}) {
        if (n.size() > pkg.size() && n.substr(0, pkg.size()) == pkg &&
            (n[pkg.size()] == '/' || n[pkg.size()] == '.'))
          return Palette::kGreen;
      }
      if (contains(name, ":::")) return Palette::kGreen;
      if (contains(name, "::")) return Palette::kYellow;
      if (ends_with(name, "_[k]")) return Palette::kOrange;
      return Palette::kRed;
    }
    case Palette::kPerl:
      if (contains(name, "::")) return Palette::kYellow;
      if (contains(name, "Perl") || contains(name, ".pl")) return Palette::kGreen;
      if (ends_with(name, "_[k]")) return Palette::kOrange;
      return Palette::kRed;
    case Palette::kJs: {
      if (ends_with(name, "_[j]")) return contains(name, "/") ? Palette::kGreen : Palette::kAqua;
      if (contains(name, "::")) return Palette::kYellow;
      std::size_t slash = name.find('/');
      if (slash != std::string_view::npos && name.find(".js", slash + 1) != std::string_view::npos)
        return Palette::kGreen;
      if (contains(name, ":")) return Palette::kAqua;
      if (name == " ") return Palette::kGreen;
      if (contains(name, "_[k]")) return Palette::kOrange;
      return Palette::kRed;
    }
    case Palette::kWakeup: return Palette::kAqua;
    case Palette::kChain: return contains(name, "_[w]") ? Palette::kAqua : Palette::kBlue;
    default: return p;
  }
}

}  // namespace

double name_seeded_rand(std::string_view name) {
  // Perl >= 5.20 implements rand() with its own drand48 on every platform:
  // srand(S) sets the 48-bit state to (S << 16) + 0x330E; one step is state*0x5DEECE66D + 0xB.
  constexpr std::uint64_t kMask = (std::uint64_t{1} << 48) - 1;
  std::uint64_t state = ((std::uint64_t{utf8_codepoint_sum(name)} << 16) + 0x330E) & kMask;
  state = (state * 0x5DEECE66DULL + 0xB) & kMask;
  return static_cast<double>(state) / static_cast<double>(std::uint64_t{1} << 48);
}

double name_hash(std::string_view name) { return hash_points(hash_input(name)); }

Rgb palette_color(Palette palette, ColorMode mode, std::string_view name, double (*random01)()) {
  double v1, v2, v3;
  if (mode == ColorMode::kHash) {
    v1 = name_hash(name);
    std::vector<std::uint32_t> cps = code_points(name);
    std::vector<std::uint32_t> rev(cps.rbegin(), cps.rend());
    // The backtick rule applies to the reversed string too (Perl hashes `scalar reverse $name`).
    for (std::size_t i = 1; i < rev.size(); ++i) {
      if (rev[i] == '`') {
        rev.erase(rev.begin(), rev.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        break;
      }
    }
    v2 = v3 = hash_points(rev);
  } else if (mode == ColorMode::kRandom) {
    v1 = random01();
    v2 = random01();
    v3 = random01();
  } else {
    v1 = v2 = v3 = name_seeded_rand(name);
  }
  auto I = [](double x) { return static_cast<int>(x); };
  switch (resolve(palette, name)) {
    case Palette::kHot: return {205 + I(50 * v3), I(230 * v1), I(55 * v2)};
    case Palette::kMem: return {0, 190 + I(50 * v2), I(210 * v1)};
    case Palette::kIo: return {80 + I(60 * v1), 80 + I(60 * v1), 190 + I(55 * v2)};
    case Palette::kRed: {
      int x = 50 + I(80 * v1);
      return {200 + I(55 * v1), x, x};
    }
    case Palette::kGreen: {
      int x = 50 + I(60 * v1);
      return {x, 200 + I(55 * v1), x};
    }
    case Palette::kBlue: {
      int x = 80 + I(60 * v1);
      return {x, x, 205 + I(50 * v1)};
    }
    case Palette::kYellow: {
      int x = 175 + I(55 * v1);
      return {x, x, 50 + I(20 * v1)};
    }
    case Palette::kPurple: {
      int x = 190 + I(65 * v1);
      return {x, 80 + I(60 * v1), x};
    }
    case Palette::kAqua: return {50 + I(60 * v1), 165 + I(55 * v1), 165 + I(55 * v1)};
    case Palette::kOrange: return {190 + I(65 * v1), 90 + I(65 * v1), 0};
    default: return {0, 0, 0};
  }
}

Rgb delta_color(double delta, double max_delta, bool negate) {
  if (negate) delta = -delta;
  // The root's inclusive delta may exceed the scale (which leaves the root out): saturate.
  delta = std::clamp(delta, -max_delta, max_delta);
  if (delta > 0) {
    int k = static_cast<int>(210 * (max_delta - delta) / max_delta);
    return {255, k, k};
  }
  if (delta < 0) {
    int k = static_cast<int>(210 * (max_delta + delta) / max_delta);
    return {k, k, 255};
  }
  return {255, 255, 255};
}

void append_rgb(std::string& out, Rgb c) {
  auto put = [&out](int v) {
    char b[16];
    auto r = std::to_chars(b, b + sizeof b, v);
    out.append(b, static_cast<std::size_t>(r.ptr - b));
  };
  out += "rgb(";
  put(c.r);
  out.push_back(',');
  put(c.g);
  out.push_back(',');
  put(c.b);
  out.push_back(')');
}

bool background_stops(std::string_view bg, Palette palette, std::string& top, std::string& bottom) {
  if (bg.empty()) {
    switch (palette) {
      case Palette::kMem: bg = "green"; break;
      case Palette::kIo:
      case Palette::kWakeup:
      case Palette::kChain: bg = "blue"; break;
      case Palette::kRed:
      case Palette::kGreen:
      case Palette::kBlue:
      case Palette::kAqua:
      case Palette::kYellow:
      case Palette::kPurple:
      case Palette::kOrange: bg = "grey"; break;
      default: bg = "yellow";
    }
  }
  if (bg == "yellow") {
    top = "#eeeeee", bottom = "#eeeeb0";
  } else if (bg == "blue") {
    top = "#eeeeee", bottom = "#e0e0ff";
  } else if (bg == "green") {
    top = "#eef2ee", bottom = "#e0ffe0";
  } else if (bg == "grey") {
    top = "#f8f8f8", bottom = "#e8e8e8";
  } else if (bg.size() == 7 && bg[0] == '#' &&
             bg.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string_view::npos) {
    top = bottom = std::string(bg);
  } else {
    return false;
  }
  return true;
}

}  // namespace prof::renderer::detail

namespace prof::renderer {

std::optional<Palette> parse_palette(std::string_view name) {
  static constexpr std::pair<std::string_view, Palette> kNames[] = {
      {"hot", Palette::kHot},       {"mem", Palette::kMem},       {"io", Palette::kIo},
      {"wakeup", Palette::kWakeup}, {"chain", Palette::kChain},   {"java", Palette::kJava},
      {"js", Palette::kJs},         {"perl", Palette::kPerl},     {"red", Palette::kRed},
      {"green", Palette::kGreen},   {"blue", Palette::kBlue},     {"aqua", Palette::kAqua},
      {"yellow", Palette::kYellow}, {"purple", Palette::kPurple}, {"orange", Palette::kOrange},
  };
  for (const auto& [n, p] : kNames)
    if (n == name) return p;
  return std::nullopt;
}

}  // namespace prof::renderer

#include "text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace prof::renderer::detail {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Decodes one UTF-8 sequence at s[i]. Returns its length and sets cp; returns 0 (with cp = -1)
// for an invalid byte, overlong form, surrogate or value beyond U+10FFFF.
std::size_t decode(std::string_view s, std::size_t i, std::int32_t& cp) {
  auto b0 = static_cast<unsigned char>(s[i]);
  cp = -1;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len;
  std::int32_t v;
  std::int32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, v = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, v = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, v = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  cp = v;
  return len;
}

bool xml_allowed(std::int32_t cp) {
  if (cp < 0x20) return cp == 0x9 || cp == 0xA || cp == 0xD;
  return cp != 0xFFFE && cp != 0xFFFF;
}

void append_u16(std::string& out, unsigned v) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[6] = {'\\',        'u', kHex[(v >> 12) & 15], kHex[(v >> 8) & 15], kHex[(v >> 4) & 15],
                 kHex[v & 15]};
  out.append(buf, 6);
}

}  // namespace

void append_xml(std::string& out, std::string_view s) {
  std::size_t i = 0;
  std::size_t clean_from = 0;
  auto flush = [&](std::size_t upto) { out.append(s.data() + clean_from, upto - clean_from); };
  while (i < s.size()) {
    char c = s[i];
    auto uc = static_cast<unsigned char>(c);
    // Fast path: printable ASCII that needs no entity.
    if (uc >= 0x20 && uc < 0x80 && c != '&' && c != '<' && c != '>' && c != '"' && c != '\'') {
      ++i;
      continue;
    }
    flush(i);
    std::size_t len = 1;
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: {
        std::int32_t cp;
        len = decode(s, i, cp);
        if (len == 0) {
          len = 1;
          out += kReplacement;
        } else if (!xml_allowed(cp)) {
          out += kReplacement;
        } else {
          out.append(s.data() + i, len);
        }
      }
    }
    i += len;
    clean_from = i;
  }
  flush(s.size());
}

void append_js_string(std::string& out, std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        (c != '\0' && std::strchr(" _.,:;+=*/()-", c) != nullptr)) {
      out.push_back(c);
      ++i;
      continue;
    }
    std::int32_t cp;
    std::size_t len = decode(s, i, cp);
    if (len == 0 || !xml_allowed(cp)) {
      len = len == 0 ? 1 : len;
      cp = 0xFFFD;
    }
    if (cp >= 0x10000) {
      unsigned v = static_cast<unsigned>(cp) - 0x10000;
      append_u16(out, 0xD800 + (v >> 10));
      append_u16(out, 0xDC00 + (v & 0x3FF));
    } else {
      append_u16(out, static_cast<unsigned>(cp));
    }
    i += len;
  }
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    std::int32_t cp;
    std::size_t len = decode(s, i, cp);
    i += len ? len : 1;
    ++n;
  }
  return n;
}

std::size_t utf8_prefix_bytes(std::string_view s, std::size_t n) {
  std::size_t i = 0;
  while (n > 0 && i < s.size()) {
    std::int32_t cp;
    std::size_t len = decode(s, i, cp);
    i += len ? len : 1;
    --n;
  }
  return i;
}

std::uint32_t utf8_codepoint_sum(std::string_view s) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < s.size();) {
    auto uc = static_cast<unsigned char>(s[i]);
    if (uc < 0x80) {
      sum += uc;
      ++i;
      continue;
    }
    std::int32_t cp;
    std::size_t len = decode(s, i, cp);
    // Perl's lenient decoding turns a bad byte into U+FFFD.
    sum += len ? static_cast<std::uint32_t>(cp) : 0xFFFDu;
    i += len ? len : 1;
  }
  return sum;
}

std::string_view strip_annotation(std::string_view name) {
  if (name.size() >= 4 && name.substr(name.size() - 4, 2) == "_[" && name.back() == ']') {
    char k = name[name.size() - 2];
    if (k == 'k' || k == 'w' || k == 'i' || k == 'j') return name.substr(0, name.size() - 4);
  }
  return name;
}

std::string fit_label(std::string_view name, std::size_t chars, bool keep_end) {
  if (chars < 3) return {};
  std::size_t len = utf8_length(name);
  if (len <= chars) return std::string(name);
  if (keep_end) {
    std::size_t skip = utf8_prefix_bytes(name, len - (chars - 2));
    return ".." + std::string(name.substr(skip));
  }
  return std::string(name.substr(0, utf8_prefix_bytes(name, chars - 2))) + "..";
}

void append_fixed(std::string& out, double v, int decimals) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  if (r.ec != std::errc()) {
    out += "0";
    return;
  }
  std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
  // printf prints -0.0 as "-0.0"; flamegraph.pl never produces negative coordinates, and a
  // rounded tiny negative should not show a sign.
  if (s.front() == '-' && s.find_first_not_of("-0.") == std::string_view::npos) s.remove_prefix(1);
  out.append(s);
}

void append_general(std::string& out, double v) {
  // Integers below 10^15 print the same under %.15g as plain integers, and integer formatting
  // is several times faster than precision formatting (counts and row y values usually are).
  if (v >= 0 && v < 1e15 && v == std::floor(v)) {
    char ibuf[24];
    auto r = std::to_chars(ibuf, ibuf + sizeof ibuf, static_cast<std::uint64_t>(v));
    out.append(ibuf, static_cast<std::size_t>(r.ptr - ibuf));
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 15);
  if (r.ec != std::errc()) {
    out += "0";
    return;
  }
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void append_count_commas(std::string& out, double v) {
  char buf[400];
  auto r = v >= 0 && v < 1e18 && v == std::floor(v)
               ? std::to_chars(buf, buf + sizeof buf, static_cast<std::uint64_t>(v))
               : std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 0);
  if (r.ec != std::errc()) {
    out += "0";
    return;
  }
  std::string_view digits(buf, static_cast<std::size_t>(r.ptr - buf));
  if (!digits.empty() && digits.front() == '-') {
    out.push_back('-');
    digits.remove_prefix(1);
  }
  std::size_t first = digits.size() % 3;
  if (first == 0) first = 3;
  out.append(digits.substr(0, first));
  for (std::size_t i = first; i < digits.size(); i += 3) {
    out.push_back(',');
    out.append(digits.substr(i, 3));
  }
}

double round_as_printed(double v, int decimals) {
  if (decimals == 0 && v == std::floor(v)) return v;  // an integer prints as itself
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  double back = 0;
  std::from_chars(buf, r.ptr, back);
  return back;
}

}  // namespace prof::renderer::detail

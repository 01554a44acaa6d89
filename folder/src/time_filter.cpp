#include "prof/folder/time_filter.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace prof::folder {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

// "12345.678901:" -> ns; perf prints 6 decimals (9 with --ns).
std::optional<std::uint64_t> time_token(std::string_view tok) {
  if (tok.size() < 4 || tok.back() != ':') return std::nullopt;
  tok.remove_suffix(1);
  const auto dot = tok.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == tok.size() || dot > 12 ||
      tok.size() - dot - 1 > 9)
    return std::nullopt;
  std::uint64_t sec = 0, frac = 0;
  for (std::size_t i = 0; i < tok.size(); ++i) {
    if (i == dot) continue;
    if (tok[i] < '0' || tok[i] > '9') return std::nullopt;
    if (i < dot) sec = sec * 10 + static_cast<std::uint64_t>(tok[i] - '0');
    else frac = frac * 10 + static_cast<std::uint64_t>(tok[i] - '0');
  }
  for (std::size_t d = tok.size() - dot - 1; d < 9; ++d) frac *= 10;
  return sec * 1000000000ull + frac;
}

}  // namespace

std::optional<std::uint64_t> header_time_ns(std::string_view line) {
  if (line.empty() || is_space(line.front()) || line.front() == '#') return std::nullopt;
  // The time is the first token of the form DIGITS.DIGITS: (the comm before it may hold spaces).
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    std::size_t j = i;
    while (j < line.size() && !is_space(line[j])) ++j;
    if (auto t = time_token(line.substr(i, j - i))) return t;
    i = j;
  }
  return std::nullopt;
}

Result<std::string> filter_time_range(std::string_view text, const TimeRange& range) {
  auto lines = [&](auto&& visit) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      std::size_t next = end == std::string_view::npos ? text.size() : end + 1;
      std::string_view l =
          text.substr(pos, (end == std::string_view::npos ? text.size() : end) - pos);
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      visit(l, text.substr(pos, next - pos));
      pos = next;
    }
  };
  std::uint64_t start = std::numeric_limits<std::uint64_t>::max(), last = 0;
  lines([&](std::string_view l, std::string_view) {
    if (auto t = header_time_ns(l)) {
      start = std::min(start, *t);
      last = std::max(last, *t);
    }
  });
  if (last == 0)
    return Error{Errc::kNoData, "--time-range " + range.text() +
                                    ": no sample header carries a time (run perf script with "
                                    "the time field, e.g. its default fields)"};
  std::string out;
  bool keep = true, seen_header = false, any = false;
  lines([&](std::string_view l, std::string_view raw) {
    if (l.empty()) {
      if (keep) out += raw;
      return;
    }
    if (!is_space(l.front()) && l.front() != '#') {
      auto t = header_time_ns(l);
      if (t || !seen_header) {
        keep = t ? in_time_range(*t, start, range) : true;
        seen_header = seen_header || t.has_value();
        any = any || (t && keep);
      }
    }
    if (keep) out += raw;
  });
  if (!any) {
    char span[64];
    std::snprintf(span, sizeof span, "%.6g", static_cast<double>(last - start) / 1e9);
    return Error{Errc::kNoData, "--time-range " + range.text() +
                                    ": no samples in it (the capture spans 0-" + span +
                                    " s from its first sample)"};
  }
  return out;
}

}  // namespace prof::folder

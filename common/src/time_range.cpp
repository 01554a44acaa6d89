#include "prof/common/time_range.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace prof {
namespace {

// A plain decimal number of seconds ("1", "0.25", ".5"): no sign, exponent, inf or nan.
bool parse_seconds(std::string_view s, double& out) {
  if (s.empty() || s.size() > 32) return false;
  bool digit = false, dot = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') digit = true;
    else if (c == '.' && !dot) dot = true;
    else return false;
  }
  if (!digit) return false;
  out = std::strtod(std::string(s).c_str(), nullptr);
  return std::isfinite(out);
}

std::string seconds_text(double s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", s);
  return buf;
}

}  // namespace

std::string TimeRange::text() const { return seconds_text(start_s) + "," + seconds_text(end_s); }

Result<TimeRange> parse_time_range(std::string_view text) {
  auto bad = [&](std::string why) {
    return Error{Errc::kUsage, "--time-range '" + std::string(text) + "': " + why +
                                   " (expected A,B: seconds from the capture's first sample, "
                                   "A < B, e.g. 0.2,1.6)"};
  };
  const auto comma = text.find(',');
  if (comma == std::string_view::npos) return bad("no comma");
  TimeRange r;
  if (!parse_seconds(text.substr(0, comma), r.start_s))
    return bad("'" + std::string(text.substr(0, comma)) + "' is not a number of seconds");
  if (!parse_seconds(text.substr(comma + 1), r.end_s))
    return bad("'" + std::string(text.substr(comma + 1)) + "' is not a number of seconds");
  if (!(r.end_s > r.start_s)) return bad("the end is not after the start");
  return r;
}

std::uint64_t capture_start_ns(const Profile& profile) {
  std::uint64_t start = std::numeric_limits<std::uint64_t>::max();
  for (const Sample& s : profile.samples())
    if (s.time_ns != 0) start = std::min(start, s.time_ns);
  return start == std::numeric_limits<std::uint64_t>::max() ? 0 : start;
}

Result<void> retain_time_range(Profile& profile, const TimeRange& range) {
  const std::uint64_t start = capture_start_ns(profile);
  if (start == 0)
    return Error{Errc::kNoData, "--time-range " + range.text() + ": the samples carry no times"};
  std::uint64_t last = start;
  for (const Sample& s : profile.samples()) last = std::max(last, s.time_ns);
  profile.retain_samples([&](Sample& s) { return in_time_range(s.time_ns, start, range); });
  if (profile.samples().empty())
    return Error{Errc::kNoData, "--time-range " + range.text() +
                                    ": no samples in it (the capture spans 0-" +
                                    seconds_text(static_cast<double>(last - start) / 1e9) +
                                    " s from its first sample)"};
  return ok();
}

}  // namespace prof

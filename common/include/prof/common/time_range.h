// --time-range A,B: a window of a capture in seconds from its start, shared by `fold` (perf
// script text), `report`, `top`, the all-in-one and the HTML explorer's selection, so that the
// page and the commands cut exactly the same samples.
//
// The capture's start is the time of its first sample (the smallest sample time). A sample is
// in the range when its offset from that start, in whole microseconds (truncated), is at least
// A·10⁶ and below B·10⁶: the explorer page stores the same microsecond offsets, so a range
// copied from it selects the same samples.
//
//   auto r = prof::parse_time_range("0.2,1.6");          // or an Error naming the text
//   std::uint64_t start = prof::capture_start_ns(profile);
//   if (prof::in_time_range(s.time_ns, start, *r)) ...
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "prof/common/profile.h"
#include "prof/common/result.h"

namespace prof {

struct TimeRange {
  double start_s = 0;        // inclusive
  double end_s = 0;          // exclusive, > start_s
  std::string text() const;  // "A,B" as given back to the user
};

// "A,B": two non-negative decimal numbers of seconds, A < B. Errors (kUsage) say what was wrong
// and what was expected.
Result<TimeRange> parse_time_range(std::string_view text);

// The smallest non-zero sample time of `profile`; 0 when no sample has a time.
std::uint64_t capture_start_ns(const Profile& profile);

inline bool in_time_range(std::uint64_t time_ns, std::uint64_t start_ns, const TimeRange& r) {
  const double us = static_cast<double>(time_ns > start_ns ? (time_ns - start_ns) / 1000 : 0);
  return us >= r.start_s * 1e6 && us < r.end_s * 1e6;
}

// Keeps the samples of `profile` in `range` (relative to capture_start_ns). Errors: kNoData when
// no sample has a time, or when none is in the range (the message gives the capture's span).
Result<void> retain_time_range(Profile& profile, const TimeRange& range);

}  // namespace prof

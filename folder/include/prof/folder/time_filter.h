// `profile fold --time-range A,B`: the samples of `perf script` text that lie in a window of the
// capture, before folding. perf script prints each sample's time on its header line
// (`comm PID/TID [CPU] 12345.678901: PERIOD EVENT:`); the capture's start is the smallest of
// those times, as prof::capture_start_ns() defines it for a typed Profile, so `fold`, `report`,
// `top` and the HTML explorer cut the same samples of one capture.
//
//   auto kept = prof::folder::filter_time_range(text, range);   // perf script text again
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "prof/common/result.h"
#include "prof/common/time_range.h"

namespace prof::folder {

// The sample time (ns) printed on a perf-script header line, if the line is a header with one.
std::optional<std::uint64_t> header_time_ns(std::string_view line);

// The text with only the samples (header line, stack lines, blank line) in `range`; lines before
// the first sample are kept. Errors (kNoData): no header line carries a time (perf script run
// without the time field), or no sample is in the range (the message gives the span).
Result<std::string> filter_time_range(std::string_view text, const TimeRange& range);

}  // namespace prof::folder

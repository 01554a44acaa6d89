// The perf-script printer: samples as `perf script` text, byte for byte as perf prints them.
//
// Pipeline position: the symbolizer's text output, at the process boundary (`profile
// symbolize`). It prints a prof::Profile — every sample, in order, with its stack's locations
// and their inline lines — and knows nothing of how the profile was made. Each location's text
// is formatted once (a capture has far fewer distinct locations than frames), and chunks of
// samples are formatted on a thread pool while the calling thread hands finished chunks to the
// sink in order.
//
//   bool ok = write_perf_script(profile, {.pid = true}, &pool,
//                               [&](std::string_view text) { return write(fd, text); });
#pragma once

#include <functional>
#include <string_view>

#include "prof/common/profile.h"
#include "prof/common/thread_pool.h"
#include "prof/symbolizer/symbolizer.h"

namespace prof::symbolizer::detail {

// The samples of `profile` as append_perf_script text, handed to `sink` in pieces, in order;
// formatted on `pool` too (null: on this thread). Stops and returns false as soon as the sink
// returns false. Every location a sample's stack names must be in the profile.
bool write_perf_script(const Profile& profile, const ScriptFormat& fmt, ThreadPool* pool,
                       const std::function<bool(std::string_view)>& sink);

}  // namespace prof::symbolizer::detail

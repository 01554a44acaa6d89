// Profiles out of the process in the ecosystem's formats (pprof, speedscope) and in from them:
// the glue between the capture/symbolizer side of cli/ and prof::interop.
//
//   CaptureInfo info = capture_info_of(attrs, names);     // + start and duration
//   fill_profile_info(sym.profile(), info);
//   auto bytes = interop::write_pprof(sym.profile());
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "prof/common/perf_data.h"
#include "prof/common/profile.h"
#include "prof/common/result.h"

namespace prof::app {

// What a capture says about itself, for ProfileInfo.
struct CaptureInfo {
  std::vector<std::string> event_names;  // by attr index
  std::vector<perf::EventAttr> attrs;
  std::uint64_t start_unix_ns = 0;  // 0 = unknown (then: end - duration)
  std::uint64_t end_unix_ns = 0;    // a file's: its modification time; 0 = unknown
  std::uint64_t duration_ns = 0;    // 0 = unknown: the span of the samples' times
};

// Events (name, unit, period or frequency from the attrs), start and duration into the profile
// (a duration not known is the span of the profile's sample times).
void fill_profile_info(Profile& profile, const CaptureInfo& info);

// A perf.data file's end and duration: HEADER_SAMPLE_TIME's first and last sample where the file
// has it, placed on the wall clock by the file's modification time (when perf finished writing
// it, which `perf report --header` prints as "captured on").
void file_times(const std::string& path, const perf::Features& features, CaptureInfo& info);

// `profile render`, `profile diff`: reads pprof input as folded text (installed at start-up;
// the renderer itself links only prof::common).
void install_pprof_input();

// `profile merge [--format folded|pprof|speedscope] FILE...`.
int merge_command(int argc, char** argv);

}  // namespace prof::app

// Shared between the pprof writer and reader (interop/src).
#pragma once

#include <cstdint>
#include <string_view>

namespace prof::interop {

// Label keys we write and read back into Sample's typed fields.
inline constexpr std::string_view kLabelCpu = "cpu";
inline constexpr std::string_view kLabelPid = "pid";
inline constexpr std::string_view kLabelTid = "tid";
inline constexpr std::string_view kLabelComm = "comm";
inline constexpr std::string_view kLabelEvent = "event";
inline constexpr std::string_view kLabelCgroup = "cgroup";
inline constexpr std::string_view kSamplesType = "samples";
inline constexpr std::string_view kCountUnit = "count";

// "file.c:12" -> ("file.c", 12); no ":N" suffix or "??" -> (srcline, 0).
struct SrcLine {
  std::string_view file;
  std::int64_t line = 0;
};
inline SrcLine split_srcline(std::string_view s) {
  SrcLine r{s, 0};
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= s.size()) return r;
  std::int64_t n = 0;
  for (std::size_t i = colon + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || n > (INT64_MAX - 9) / 10) return r;
    n = n * 10 + (s[i] - '0');
  }
  r.file = s.substr(0, colon);
  r.line = n;
  if (r.file == "??") r.file = {};
  return r;
}

}  // namespace prof::interop

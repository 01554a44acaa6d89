// default_event_name: the name perf prints for an attr recorded without one.
#include <algorithm>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>

#include "prof/symbolizer/symbolizer.h"

namespace prof::symbolizer {

std::string default_event_name(const perf_event_attr& attr) {
  static constexpr std::string_view kHw[] = {"cycles",
                                             "instructions",
                                             "cache-references",
                                             "cache-misses",
                                             "branches",
                                             "branch-misses",
                                             "bus-cycles",
                                             "stalled-cycles-frontend",
                                             "stalled-cycles-backend",
                                             "ref-cycles"};
  static constexpr std::string_view kSw[] = {
      "cpu-clock",        "task-clock",   "page-faults",  "context-switches",
      "cpu-migrations",   "minor-faults", "major-faults", "alignment-faults",
      "emulation-faults", "dummy",        "bpf-output",   "cgroup-switches"};
  std::string name;
  if (attr.type == PERF_TYPE_HARDWARE && attr.config < std::size(kHw)) {
    name = kHw[attr.config];
  } else if (attr.type == PERF_TYPE_SOFTWARE && attr.config < std::size(kSw)) {
    name = kSw[attr.config];
  } else {
    char buf[64];
    std::snprintf(buf, sizeof buf, "raw-%u-0x%llx", attr.type,
                  static_cast<unsigned long long>(attr.config));
    name = buf;
  }
  // Modifiers as perf derives them from the attr (evsel__add_modifiers): privilege levels
  // counted, precise_ip as p's, then host/guest when they differ from the default.
  std::string mods;
  bool exclude_guest_default = false;
  if (attr.exclude_kernel || attr.exclude_user || attr.exclude_hv) {
    if (!attr.exclude_kernel) mods += 'k';
    if (!attr.exclude_user) mods += 'u';
    if (!attr.exclude_hv) mods += 'h';
    exclude_guest_default = true;
  }
  mods.append(std::min<unsigned>(attr.precise_ip, 3), 'p');
  if (attr.exclude_host || attr.exclude_guest != exclude_guest_default) {
    if (!attr.exclude_host) mods += 'H';
    if (!attr.exclude_guest) mods += 'G';
  }
  return mods.empty() ? name : name + ":" + mods;
}

}  // namespace prof::symbolizer

// pprof: Go's profile format (gzip-compressed protobuf, profile.proto), as `go tool pprof`,
// Grafana Pyroscope and Parca read and write it.
//
// Pipeline position: prof::interop, a consumer and producer of prof::Profile beside the folder;
// used by the commands that write (`profile --format pprof`, report, symbolize, merge) and read
// (render, top, diff, merge) profiles.
//
// Writing: sample types are `samples/count` and one column per event (`cpu/nanoseconds` for
// cpu-clock and task-clock; otherwise the event's name made PromQL-safe, and its unit), each
// sample carrying its period in its event's column; the first event is the default type and the
// period type. Mappings (ids 1, 2, ... with the program first) keep file and build-id,
// locations their addresses and inline chains as several lines (innermost first), lines their
// source line where the profile has one. Labels: cpu, pid, tid (numbers), comm, event
// (strings), cgroup (number) where known, then the sample's own labels. The output is
// deterministic for a given Profile (gzip without a time stamp).
//
// Reading: gzip or raw protobuf, detected by content. Our own profiles and Go's (`samples/count`
// plus one event column) read back sample for sample; with other sample types the value is the
// column `sample_index` names (a type such as "alloc_space", or a 0-based index), by default
// the profile's default type or else its last, as pprof chooses.
//
//   auto bytes = prof::interop::write_pprof(profile);          // Result<std::string>
//   auto back = prof::interop::read_pprof(*bytes, {}, "x.pb.gz");  // Result<Profile>
#pragma once

#include <string>
#include <string_view>

#include "prof/common/profile.h"
#include "prof/common/result.h"

namespace prof::interop {

struct PprofWriteOptions {
  bool gzip = true;  // false: the raw protobuf
};
Result<std::string> write_pprof(const Profile& profile, const PprofWriteOptions& options = {});

struct PprofReadOptions {
  // The value column to read: a sample type ("cpu", "alloc_space") or a 0-based index; ""
  // reads each sample's own event column (see above).
  std::string sample_index;
};
// `name` names the input in errors ("'x.pb.gz': not a pprof profile: ...").
Result<Profile> read_pprof(std::string_view bytes, const PprofReadOptions& options,
                           std::string_view name);

// Whether `bytes` (gzip-compressed or not) parse as a pprof profile with at least one sample
// type or sample: content detection for inputs that may be folded text or pprof.
bool looks_like_pprof(std::string_view bytes);

// The pprof sample type of an event: "cpu" for cpu-clock and task-clock (as Go names CPU
// time), else the name with every character but [A-Za-z0-9_] made '_' ("page_faults").
std::string pprof_type_of_event(std::string_view event);
// The unit of an event's values: "nanoseconds" for the clock events and off-CPU time, else
// "count".
std::string unit_of_event(std::string_view event);

}  // namespace prof::interop

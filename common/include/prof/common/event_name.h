// The name perf gives an event from its attr alone (perf's evsel__name), for captures whose
// attrs come without a recorded name (no EVENT_DESC) and for the EVENT_DESC we write ourselves:
// one spelling everywhere, the one `perf script` and `perf evlist` print for the same attr.
//
//   perf_event_attr a{};
//   a.type = PERF_TYPE_HARDWARE;
//   a.config = PERF_COUNT_HW_BRANCH_INSTRUCTIONS;
//   a.exclude_guest = 1;                          // what `perf record -e branches` sets
//   prof::perf::event_name(a);                    // "branches"
//   a.exclude_kernel = a.exclude_hv = 1;
//   prof::perf::event_name(a);                    // "branches:uH"
//
// Pipeline position: prof::common (the perf.data writer; the symbolizer for unnamed attrs).
#pragma once

#include <linux/perf_event.h>

#include <string>

namespace prof::perf {

// Checked against perf 6.1 (`perf script -F event` on pipe-mode captures without names):
//   hardware   "cycles", "branches", ... ("unknown-hardware" past the table)
//   software   "cpu-clock", "page-faults", ... ("unknown-software")
//   cache      "L1-dcache-loads", "LLC-load-misses", ... ("invalid-cache", "unknown-ext-...")
//   raw        "raw 0x1c2"
//   breakpoint "mem:0x1000:rw"
//   tracepoint "unknown tracepoint" (the sys:name comes from tracing data, not the attr)
//   other PMUs "unknown attr type: 8"
// then, for all but the last two, the modifiers perf derives from the attr after a ':' —
// k/u/h for the privilege levels counted when any is excluded, one 'p' per precise_ip level,
// and H/G when the host/guest split differs from the default those imply ("cycles:uH",
// "cpu-clock:pppH", "cycles:HG").
std::string event_name(const perf_event_attr& attr);

}  // namespace prof::perf

// prof::collector — collector: samples with perf_event_open and writes perf.data.
// (Skeleton: the stage's public API lands with its issue.)
#pragma once

namespace prof::collector {

// Version of the stage library's API, bumped on incompatible changes.
inline constexpr int kApiVersion = 0;

}  // namespace prof::collector

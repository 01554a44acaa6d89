// prof::symbolizer — symbolizer: perf.data -> perf script text or folded stacks.
// (Skeleton: the stage's public API lands with its issue.)
#pragma once

namespace prof::symbolizer {

// Version of the stage library's API, bumped on incompatible changes.
inline constexpr int kApiVersion = 0;

}  // namespace prof::symbolizer

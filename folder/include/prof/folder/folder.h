// prof::folder — folder: perf script text -> folded stacks.
// (Skeleton: the stage's public API lands with its issue.)
#pragma once

namespace prof::folder {

// Version of the stage library's API, bumped on incompatible changes.
inline constexpr int kApiVersion = 0;

}  // namespace prof::folder

// prof::renderer — renderer: folded stacks -> interactive SVG flame graph.
// (Skeleton: the stage's public API lands with its issue.)
#pragma once

namespace prof::renderer {

// Version of the stage library's API, bumped on incompatible changes.
inline constexpr int kApiVersion = 0;

}  // namespace prof::renderer

// Private: the renderer's own JavaScript and CSS (renderer/assets/), embedded at build time by
// cmake/Embed.cmake into a generated .cpp.
#pragma once

#include <string_view>

namespace prof::renderer::detail {

extern const std::string_view kFlamegraphJs;   // assets/flamegraph.js
extern const std::string_view kFlamegraphCss;  // assets/flamegraph.css

}  // namespace prof::renderer::detail

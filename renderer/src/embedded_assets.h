// Private: the renderer's own JavaScript and CSS (renderer/assets/), embedded at build time by
// cmake/Embed.cmake into a generated .cpp.
#pragma once

#include <string_view>

namespace prof::renderer::detail {

extern const std::string_view kFlamegraphJs;   // assets/flamegraph.js
extern const std::string_view kFlamegraphCss;  // assets/flamegraph.css
extern const std::string_view kExplorerJs;     // assets/explorer.js
extern const std::string_view kExplorerCss;    // assets/explorer.css
extern const std::string_view kExplorerHtml;   // assets/explorer.html (the page's body)

}  // namespace prof::renderer::detail

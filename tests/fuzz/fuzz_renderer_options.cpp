// Fuzz target: the renderer's side files, --nameattr and the --cp palette.map, then a render
// that uses what they yielded (their values end up in the SVG and its script, so escaping is
// exercised too). The input is "NAMEATTR\0PALETTEMAP\0FOLDED".
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "prof/common/folded.h"
#include "prof/renderer/renderer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  std::string_view parts[3];
  for (int i = 0; i < 2; ++i) {
    const auto nul = all.find('\0');
    parts[i] = all.substr(0, nul);
    all = nul == std::string_view::npos ? std::string_view() : all.substr(nul + 1);
  }
  parts[2] = all;
  prof::WarningSink sink;
  prof::renderer::Options opt;
  opt.name_attributes = prof::renderer::parse_name_attributes(parts[0], &sink);
  auto palette = prof::renderer::parse_palette_map(parts[1], &sink);
  // Round trip: what we write we must read back unchanged.
  auto again =
      prof::renderer::parse_palette_map(prof::renderer::format_palette_map(palette), &sink);
  if (again != palette) __builtin_trap();
  opt.palette_map = &palette;
  auto folded = prof::parse_folded(std::string(parts[2]), &sink);
  std::string svg;
  (void)prof::renderer::render(folded.lines, opt, svg, &sink);
  return 0;
}

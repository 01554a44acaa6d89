// Fuzz target: the folded-stack parser and the renderer on whatever it accepts (layout + SVG
// writer), with a few option bits taken from the first byte.
#include <cstddef>
#include <cstdint>
#include <string>

#include "prof/common/folded.h"
#include "prof/renderer/renderer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  prof::WarningSink sink;
  auto folded =
      prof::parse_folded(std::string(reinterpret_cast<const char*>(data + 1), size - 1), &sink);
  prof::renderer::Options opt;
  opt.reverse = flags & 1;
  opt.inverted = flags & 2;
  opt.flamechart = flags & 4;
  opt.negate = flags & 8;
  opt.pretty = flags & 16;
  opt.javascript = flags & 32;
  if (flags & 64) opt.palette = prof::renderer::Palette::kChain;
  if (flags & 128) opt.width = 300;
  std::string svg;
  (void)prof::renderer::render(folded.lines, opt, svg, &sink);
  return 0;
}

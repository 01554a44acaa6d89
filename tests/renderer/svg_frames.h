// Test helper: extracts the frames of a flame-graph SVG (ours or a peer's) as comparable records.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace prof::test {

struct SvgFrame {
  std::string title;                        // unescaped tooltip text
  std::map<std::string, std::string> rect;  // the rect's attributes, values unescaped
  std::string label;                        // unescaped <text> content ("" when absent)
  std::string group_open;                   // the opening tag of the group (<g ...> / <a ...>)
};

// Frames inside the element with id="frames", in document order.
std::vector<SvgFrame> svg_frames(const std::string& svg);
std::string xml_unescape(const std::string& s);
// Runs `xmllint --noout` on the text; returns "" when well-formed, else its diagnostics.
std::string xml_wellformed_errors(const std::string& svg);

}  // namespace prof::test

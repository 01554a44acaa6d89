#include "svg_frames.h"

#include "test_support.h"

namespace prof::test {

std::string xml_unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    std::size_t semi = s.find(';', i);
    std::string ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") out += '&';
    else if (ent == "lt") out += '<';
    else if (ent == "gt") out += '>';
    else if (ent == "quot") out += '"';
    else if (ent == "apos") out += '\'';
    else if (!ent.empty() && ent[0] == '#') {
      unsigned long cp =
          ent[1] == 'x' ? std::stoul(ent.substr(2), nullptr, 16) : std::stoul(ent.substr(1));
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
    } else {
      out += "&" + ent + ";";
    }
    i = semi + 1;
  }
  return out;
}

std::vector<SvgFrame> svg_frames(const std::string& svg) {
  std::vector<SvgFrame> out;
  std::size_t pos = svg.find("id=\"frames\"");
  if (pos == std::string::npos) return out;
  for (;;) {
    std::size_t title = svg.find("<title>", pos);
    if (title == std::string::npos) break;
    SvgFrame f;
    std::size_t g = svg.rfind('<', title - 1);
    while (g != std::string::npos && svg.compare(g, 2, "<g") != 0 && svg.compare(g, 2, "<a") != 0)
      g = svg.rfind('<', g - 1);
    if (g != std::string::npos) f.group_open = svg.substr(g, svg.find('>', g) - g + 1);
    std::size_t title_end = svg.find("</title>", title);
    f.title = xml_unescape(svg.substr(title + 7, title_end - title - 7));
    std::size_t rect = svg.find("<rect", title_end);
    std::size_t rect_end = svg.find("/>", rect);
    std::string attrs = svg.substr(rect + 5, rect_end - rect - 5);
    // name="value" pairs (a hand scan: std::regex is slow on megabyte SVGs).
    for (std::size_t p = 0;;) {
      std::size_t eq = attrs.find("=\"", p);
      if (eq == std::string::npos) break;
      std::size_t name_begin = attrs.rfind(' ', eq) + 1;
      std::size_t value_end = attrs.find('"', eq + 2);
      f.rect[attrs.substr(name_begin, eq - name_begin)] =
          xml_unescape(attrs.substr(eq + 2, value_end - eq - 2));
      p = value_end + 1;
    }
    std::size_t close = svg.find("</g>", rect_end);
    std::size_t close_a = svg.find("</a>", rect_end);
    if (close_a < close) close = close_a;
    std::size_t text = svg.find("<text", rect_end);
    if (text < close) {
      std::size_t gt = svg.find('>', text);
      std::size_t text_end = svg.find("</text>", gt);
      f.label = xml_unescape(svg.substr(gt + 1, text_end - gt - 1));
    }
    out.push_back(std::move(f));
    pos = close;
  }
  return out;
}

std::string xml_wellformed_errors(const std::string& svg) {
  TempDir dir;
  write_file(dir.file("x.svg"), svg);
  RunResult r = run({"xmllint", "--noout", "--nonet", dir.file("x.svg")});
  if (r.exit_code == 0 && r.err.empty()) return "";
  return "xmllint exit " + std::to_string(r.exit_code) + ": " + r.err.substr(0, 2000);
}

}  // namespace prof::test

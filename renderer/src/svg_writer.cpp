// SVG output. Geometry and text follow flamegraph.pl (flamegraph-behaviour.md 2.4, 2.5, 2.7) so
// that conformance tests can compare frames; the markup is leaner (no empty <text>, rx/ry in CSS).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <random>

#include "color.h"
#include "embedded_assets.h"
#include "prof/renderer/renderer.h"
#include "text.h"

namespace prof::renderer {
namespace {

using detail::append_fixed;
using detail::append_general;
using detail::append_xml;

constexpr double kXpad = 10;
constexpr double kFramePad = 1;

struct Geometry {
  double image_width;
  double image_height;
  double ypad1, ypad2, ypad3;
  bool fluid;
};

Geometry geometry(const Layout& layout, const Options& opt) {
  Geometry g;
  g.fluid = !opt.width.has_value();
  g.image_width = opt.width ? *opt.width : 1200;  // fluid: labels fitted at 1200 (the viewer knows)
  g.ypad1 = opt.font_size * 3;
  g.ypad2 = opt.font_size * 2 + 10;
  g.ypad3 = opt.subtitle.empty() ? 0 : opt.font_size * 2;
  g.image_height = (layout.depth_max + 1.0) * opt.frame_height + g.ypad1 + g.ypad2 + g.ypad3;
  return g;
}

std::string_view default_title(const Options& opt) {
  if (!opt.title.empty()) return opt.title;
  if (opt.flamechart) return "Flame Chart";
  return opt.inverted ? "Icicle Graph" : "Flame Graph";
}

// Line structure: compact output puts a newline after each top-level element and each frame;
// --pretty indents every element on its own line.
class Writer {
 public:
  Writer(std::string& out, bool pretty) : out_(out), pretty_(pretty) {}
  void nl(int indent) {
    if (pretty_) {
      out_.push_back('\n');
      out_.append(static_cast<std::size_t>(indent) * 2, ' ');
    }
  }
  void line_end() { out_.push_back('\n'); }
  std::string& out() { return out_; }

 private:
  std::string& out_;
  bool pretty_;
};

void attr(std::string& out, std::string_view name, std::string_view value) {
  out.push_back(' ');
  out.append(name);
  out += "=\"";
  append_xml(out, value);
  out.push_back('"');
}
void attr_fixed(std::string& out, std::string_view name, double v, int decimals,
                std::string_view suffix = {}) {
  out.push_back(' ');
  out.append(name);
  out += "=\"";
  append_fixed(out, v, decimals);
  out.append(suffix);
  out.push_back('"');
}
void attr_general(std::string& out, std::string_view name, double v) {
  out.push_back(' ');
  out.append(name);
  out += "=\"";
  append_general(out, v);
  out.push_back('"');
}

bool is_xml_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

using AttrList = std::vector<std::pair<std::string_view, std::string_view>>;

// Sets an attribute, the last value of a name winning (so the output never repeats a name).
void set_attr(AttrList& list, std::string_view name, std::string_view value) {
  for (auto& [n, v] : list) {
    if (n == name) {
      v = value;
      return;
    }
  }
  list.emplace_back(name, value);
}

// --nameattr g_extra / a_extra hold raw attribute text (`stroke="green" rel="external"`);
// flamegraph.pl pastes it in verbatim. We parse it into name="value" pairs, escaped on output,
// so a nameattr file cannot break the document; like inferno, a later value of a name wins.
void parse_extra_attributes(std::string_view extra, AttrList& list) {
  std::size_t p = 0;
  while (p < extra.size()) {
    std::size_t eq = extra.find('=', p);
    if (eq == std::string_view::npos) break;
    std::string_view name = extra.substr(p, eq - p);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (eq + 1 >= extra.size()) break;
    char quote = extra[eq + 1];
    std::size_t vbegin, vend;
    if (quote == '"' || quote == '\'') {
      vbegin = eq + 2;
      vend = extra.find(quote, vbegin);
      if (vend == std::string_view::npos) vend = extra.size();
      p = vend + 1;
    } else {
      vbegin = eq + 1;
      vend = extra.find(' ', vbegin);
      if (vend == std::string_view::npos) vend = extra.size();
      p = vend;
    }
    bool reserved = name == "xmlns" || name.substr(0, 6) == "xmlns:";
    if (is_xml_name(name) && !reserved) set_attr(list, name, extra.substr(vbegin, vend - vbegin));
  }
}

bool is_generic_family(std::string_view f) {
  for (std::string_view g : {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui"})
    if (f == g) return true;
  return false;
}

// A CSS font-family value: a generic family as is, anything else as a quoted CSS string.
std::string css_font_family(std::string_view font) {
  if (is_generic_family(font)) return std::string(font);
  std::string s = "\"";
  for (char c : font) {
    if (c == '"' || c == '\\') {
      s.push_back('\\');
      s.push_back(c);
    } else if (c == '\n' || c == '\r') {
      s += "\\a ";
    } else {
      s.push_back(c);
    }
  }
  s += "\"";
  return s;
}

void write_style(Writer& w, const Options& opt) {
  std::string css = "text { font-family:";
  css += css_font_family(opt.font_type);
  css += "; font-size:";
  append_general(css, opt.font_size);
  css += "px; fill:rgb(0,0,0); }\n#title { text-anchor:middle; font-size:";
  append_general(css, opt.font_size + 5);
  css += "px; }\n";
  css.append(detail::kFlamegraphCss);
  auto& out = w.out();
  out += "<style type=\"text/css\">";
  append_xml(out, css);
  out += "</style>";
  w.line_end();
}

// The pruned frames' spans for the viewer's search: ["name", start, width, gap, width, ...]
// per name, each gap measured from the previous span's end (short numbers for sorted spans).
// Exact while that fits a budget of kPrunedBytesPerFrame per drawn frame (kPrunedBytesMin at
// least): a large unsorted input prunes millions of frames whose spans would be most of the SVG
// (23 MB of a 25 MB one). Beyond it the spans are snapped to the finest grid of 2^k cells that
// fits (fg_pruned_grid, in counts; spans then in cells): both ends round to the nearest line, so
// a span narrower than a cell survives as one cell with the chance of its width — unbiased, and
// over many spans the error of Matched stays far below its 0.1 % display. The viewer marks such
// a figure "≈".
constexpr std::size_t kPrunedBytesPerFrame = 20;
constexpr std::size_t kPrunedBytesMin = 128 * 1024;

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_pruned_name(std::string& out, const PrunedName& p) {
  if (out.back() != '[') out.push_back(',');
  out.push_back('"');
  detail::append_js_string(out, detail::strip_annotation(p.name));  // as in the tooltips
  out.push_back('"');
}

void write_pruned_exact(std::string& out, const Layout& layout) {
  for (const PrunedName& p : layout.pruned) {
    append_pruned_name(out, p);
    double prev = 0;
    for (const auto& [start, end] : p.spans) {
      out.push_back(',');
      append_general(out, start - prev);
      out.push_back(',');
      append_general(out, end - start);
      prev = end;
    }
  }
}

void write_pruned_grid(std::string& out, const Layout& layout, double cell) {
  for (const PrunedName& p : layout.pruned) {
    std::int64_t prev = 0, open_start = -1, open_end = -1;
    bool named = false;
    auto flush = [&] {
      if (open_end <= open_start) return;
      if (!named) append_pruned_name(out, p);
      named = true;
      out.push_back(',');
      append_int(out, open_start - prev);
      out.push_back(',');
      append_int(out, open_end - open_start);
      prev = open_end;
    };
    for (const auto& [start, end] : p.spans) {
      const auto a = static_cast<std::int64_t>(std::floor(start / cell + 0.5));
      const auto b = static_cast<std::int64_t>(std::floor(end / cell + 0.5));
      if (b <= a) continue;
      if (a <= open_end) {
        open_end = std::max(open_end, b);
      } else {
        flush();
        open_start = a;
        open_end = b;
      }
    }
    flush();
  }
}

void write_pruned(std::string& out, const Layout& layout) {
  if (layout.pruned.empty()) return;
  const std::size_t budget = std::max(kPrunedBytesMin, layout.frames.size() * kPrunedBytesPerFrame);
  std::string body = "[";
  write_pruned_exact(body, layout);
  if (body.size() > budget) {
    // The finest grid that fits (k = 8 if none does): the index shrinks as cells grow.
    auto cell = [&](int k) { return layout.time_max / std::ldexp(1.0, k); };
    int lo = 9, hi = 20, best = 8;
    std::string best_body;
    while (lo <= hi) {
      const int k = (lo + hi) / 2;
      std::string b = "[";
      write_pruned_grid(b, layout, cell(k));
      if (b.size() <= budget) {
        best = k;
        best_body = std::move(b);
        lo = k + 1;
      } else {
        hi = k - 1;
      }
    }
    if (best_body.empty()) {
      best_body = "[";
      write_pruned_grid(best_body, layout, cell(best));
    }
    body = std::move(best_body);
    out += "var fg_pruned_grid = ";
    append_general(out, cell(best));
    out += ";\n";
  }
  out += "var fg_pruned = ";
  out += body;
  out += "];\n";
}

void write_script(Writer& w, const Options& opt, const Geometry& g, const Layout& layout) {
  auto& out = w.out();
  out += "<script type=\"text/ecmascript\"><![CDATA[\nvar fg_config = {nametype: \"";
  detail::append_js_string(out, opt.name_type);
  out += "\", searchcolor: \"";
  detail::append_js_string(out, opt.search_color);
  out += "\", fontsize: ";
  append_general(out, opt.font_size);
  out += ", fontwidth: ";
  append_general(out, opt.font_width);
  out += ", xpad: 10, inverted: ";
  out += opt.inverted ? "true" : "false";
  out += ", fluid: ";
  out += g.fluid ? "true" : "false";
  out += ", truncate_left: ";
  out += opt.truncate_text_left ? "true" : "false";
  out += "};\n";
  if (opt.javascript) {
    write_pruned(out, layout);
    out.append(detail::kFlamegraphJs);
  }
  out += "]]></script>";
  w.line_end();
}

void write_text(Writer& w, std::string_view id, std::string_view x, double y,
                std::string_view content, std::string_view extra = {}) {
  auto& out = w.out();
  out += "<text id=\"";
  out.append(id);
  out += "\" x=\"";
  out.append(x);
  out += "\"";
  attr_general(out, "y", y);
  out.append(extra);
  out.push_back('>');
  append_xml(out, content);
  out += "</text>";
  w.line_end();
}

std::string fixed2(double v) {
  std::string s;
  append_fixed(s, v, 2);
  return s;
}

double random01() {
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(gen);
}

detail::Rgb frame_color(const Frame& f, const Layout& layout, const Options& opt,
                        std::string& scratch) {
  if (f.name == "--") return {160, 160, 160};
  if (f.name == "-") return {200, 200, 200};
  if (layout.differential && f.has_delta)
    return detail::delta_color(f.delta, layout.max_delta, opt.negate);
  if (opt.palette_map) {
    scratch.assign(f.name);
    auto it = opt.palette_map->find(scratch);
    if (it != opt.palette_map->end()) {
      detail::Rgb c;
      if (std::sscanf(it->second.c_str(), "rgb(%d,%d,%d)", &c.r, &c.g, &c.b) == 3) return c;
    }
    detail::Rgb c = detail::palette_color(opt.palette, opt.color_mode, f.name, random01);
    std::string v;
    detail::append_rgb(v, c);
    (*opt.palette_map)[scratch] = v;
    return c;
  }
  return detail::palette_color(opt.palette, opt.color_mode, f.name, random01);
}

}  // namespace

void write_error_svg(const Options& opt, std::string_view message, std::string& out) {
  double width = opt.width ? *opt.width : 1200;
  double height = opt.font_size * 5;
  Writer w(out, opt.pretty);
  out += "<?xml version=\"1.0\" standalone=\"no\"?>\n";
  out += "<svg version=\"1.1\"";
  attr_general(out, "width", width);
  attr_general(out, "height", height);
  out += " viewBox=\"0 0 ";
  append_general(out, width);
  out.push_back(' ');
  append_general(out, height);
  out += "\" xmlns=\"http://www.w3.org/2000/svg\">";
  w.line_end();
  out += "<text";
  attr_fixed(out, "x", std::floor(width / 2), 2);
  attr_general(out, "y", opt.font_size * 2);
  out += " text-anchor=\"middle\" font-family=\"";
  append_xml(out, opt.font_type);
  out += "\"";
  attr_general(out, "font-size", opt.font_size);
  out.push_back('>');
  append_xml(out, message);
  out += "</text>";
  w.line_end();
  out += "</svg>\n";
}

void write_svg(const Layout& layout, const Options& opt, std::string& out) {
  const Geometry g = geometry(layout, opt);
  Writer w(out, opt.pretty);
  std::size_t names = 0;
  for (const Frame& f : layout.frames) names += f.name.size();
  out.reserve(out.size() + 8192 + layout.frames.size() * 170 + names * 2);

  out +=
      "<?xml version=\"1.0\" standalone=\"no\"?>\n"
      "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
      "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n";
  out += "<svg version=\"1.1\"";
  if (g.fluid) {
    out += " width=\"100%\"";
  } else {
    attr_general(out, "width", g.image_width);
  }
  attr_general(out, "height", g.image_height);
  if (opt.javascript) out += " onload=\"init(evt)\"";
  if (!g.fluid) {
    out += " viewBox=\"0 0 ";
    append_general(out, g.image_width);
    out.push_back(' ');
    append_general(out, g.image_height);
    out += "\"";
  }
  out +=
      " xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\""
      " xmlns:fg=\"urn:x-profile:flamegraph\">";
  w.line_end();
  out += "<!-- Flame graph drawn by profile render: click a frame to zoom, Ctrl-F to search. -->";
  w.line_end();
  {
    // An XML comment may not contain "--" nor end with "-".
    std::string notes;
    append_xml(notes, opt.notes);
    for (std::size_t p; (p = notes.find("--")) != std::string::npos;) notes.replace(p, 2, "- -");
    out += "<!-- NOTES: ";
    out += notes;
    out += " -->";
    w.line_end();
  }
  std::string top, bottom;
  if (!detail::background_stops(opt.bg_colors, opt.palette, top, bottom)) {
    detail::background_stops("", opt.palette, top, bottom);
  }
  out +=
      "<defs><linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
      "<stop stop-color=\"";
  out += top;
  out += "\" offset=\"5%\"/><stop stop-color=\"";
  out += bottom;
  out += "\" offset=\"95%\"/></linearGradient></defs>";
  w.line_end();
  write_style(w, opt);
  write_script(w, opt, g, layout);

  out += "<rect x=\"0\" y=\"0\" width=\"100%\"";
  attr_general(out, "height", g.image_height);
  out += " fill=\"url(#background)\"/>";
  w.line_end();

  const double W = g.image_width;
  write_text(w, "title", g.fluid ? "50%" : fixed2(std::floor(W / 2)), opt.font_size * 2,
             default_title(opt));
  if (!opt.subtitle.empty())
    write_text(w, "subtitle", g.fluid ? "50%" : fixed2(std::floor(W / 2)), opt.font_size * 4,
               opt.subtitle);
  const double details_y = g.image_height - g.ypad2 / 2;
  write_text(w, "details", fixed2(kXpad), details_y, " ");
  write_text(w, "unzoom", fixed2(kXpad), opt.font_size * 2, "Reset Zoom", " class=\"hide\"");
  write_text(w, "search", fixed2(W - kXpad - 100), opt.font_size * 2, "Search");
  write_text(w, "ignorecase", fixed2(W - kXpad - 16), opt.font_size * 2, "ic");
  // Right-aligned (CSS text-anchor:end), so the viewer knows where the details line must stop.
  write_text(w, "matched", fixed2(W - kXpad), details_y, " ");

  if (g.fluid) {
    out += "<svg id=\"frames\" x=\"10\"";
    attr_general(out, "width", W - 2 * kXpad);
    out += " overflow=\"visible\">";
  } else {
    out += "<g id=\"frames\">";
  }
  w.line_end();

  const double width_per_time = (W - 2 * kXpad) / layout.time_max;
  const double char_px = opt.font_size * opt.font_width;
  const double total_scaled = layout.time_max * opt.factor;
  std::string scratch;
  std::string label;
  AttrList attrs;
  // Per-row attribute text (y, height, label y) is the same for every frame of a row.
  struct Row {
    std::string y, height, text_y;
  };
  std::vector<Row> rows(layout.depth_max + 1);
  for (std::uint32_t d = 0; d <= layout.depth_max; ++d) {
    double y1, y2;
    if (opt.inverted) {
      y1 = g.ypad1 + g.ypad3 + d * opt.frame_height;
      y2 = g.ypad1 + g.ypad3 + (d + 1.0) * opt.frame_height - kFramePad;
    } else {
      y1 = g.image_height - g.ypad2 - (d + 1.0) * opt.frame_height + kFramePad;
      y2 = g.image_height - g.ypad2 - d * opt.frame_height;
    }
    attr_general(rows[d].y, "y", y1);
    attr_fixed(rows[d].height, "height", y2 - y1, 1);
    attr_general(rows[d].text_y, "y", 3 + (y1 + y2) / 2);
  }
  // Towers (Options::towers): the depth-1 frames that start one, in drawing order. Frames are
  // sorted by depth, so every tower is known before the first frame inside it is drawn.
  struct TowerSpan {
    double start, end;
    const Tower* tower;
  };
  std::vector<TowerSpan> tower_spans;
  auto tower_of = [&](const Frame& f) -> const TowerSpan* {
    if (tower_spans.empty() || f.depth == 0) return nullptr;
    auto it = std::upper_bound(tower_spans.begin(), tower_spans.end(), f.start,
                               [](double x, const TowerSpan& t) { return x < t.start; });
    if (it == tower_spans.begin()) return nullptr;
    --it;
    return f.start < it->end ? &*it : nullptr;
  };
  for (const Frame& f : layout.frames) {
    const bool root = f.depth == 0;
    if (f.depth == 1 && !opt.towers.empty()) {
      for (const Tower& t : opt.towers)
        if (t.name == f.name) tower_spans.push_back({f.start, f.end, &t});
    }
    const TowerSpan* tower = tower_of(f);
    const Row& row = rows[f.depth];
    const double x1 = kXpad + f.start * width_per_time;
    const double x2 = kXpad + f.end * width_per_time;

    const NameAttributes* na = nullptr;
    if (!opt.name_attributes.empty()) {
      scratch.assign(f.name);
      auto it = opt.name_attributes.find(scratch);
      if (it != opt.name_attributes.end()) na = &it->second;
    }
    std::string_view href, title_override;
    bool has_title = false;
    if (na) {
      for (const auto& [k, v] : na->attrs) {
        if (k == "href") href = v;
        if (k == "title") title_override = v, has_title = true;
      }
    }

    // <g>, or <a> for --nameattr href. flamegraph.pl gives a link the group's attributes too.
    if (na) {
      attrs.clear();
      if (!href.empty()) {
        set_attr(attrs, "xlink:href", href);
        set_attr(attrs, "target", "_top");
      }
      for (const auto& [k, v] : na->attrs) {
        if (k == "id" || k == "class" || (k == "target" && !href.empty())) set_attr(attrs, k, v);
        if (k == "g_extra" || (k == "a_extra" && !href.empty())) parse_extra_attributes(v, attrs);
      }
      out += href.empty() ? "<g" : "<a";
      for (const auto& [k, v] : attrs) attr(out, k, v);
    } else {
      out += "<g";
    }
    out.push_back('>');

    w.nl(1);
    out += "<title>";
    if (has_title) {
      append_xml(out, title_override);
    } else if (tower) {
      // Within a tower: the raw count in the tower's unit and the share of that tower.
      const double width = f.end - f.start;
      append_xml(out, detail::strip_annotation(f.name));
      out += " (";
      detail::append_count_commas(out, width * tower->tower->raw_per_width * opt.factor);
      out.push_back(' ');
      append_xml(out, tower->tower->count_name);
      out += ", ";
      append_fixed(out, 100 * width / (tower->end - tower->start), 2);
      out += "% of ";
      append_xml(out, tower->tower->name);
      out += ")";
    } else if (root && !opt.towers.empty()) {
      out += "all (";
      out += std::to_string(opt.towers.size());
      out += " towers side by side, each 100% of its own count)";
    } else {
      const double count = (f.end - f.start) * opt.factor;
      const double shown = detail::round_as_printed(count, 0);
      if (root) {
        out += "all";
      } else {
        append_xml(out, detail::strip_annotation(f.name));
      }
      out += " (";
      detail::append_count_commas(out, count);
      out.push_back(' ');
      append_xml(out, opt.count_name);
      out += ", ";
      if (root) {
        out += "100";
      } else {
        append_fixed(out, 100 * shown / total_scaled, 2);
      }
      out += "%";
      if (!root && layout.differential && f.has_delta) {
        double d = opt.negate ? -f.delta : f.delta;
        out += "; ";
        if (d > 0) out.push_back('+');
        append_fixed(out, 100 * d / total_scaled, 2);
        out += "%";
      }
      out += ")";
    }
    out += "</title>";

    w.nl(1);
    out += "<rect";
    if (g.fluid) {
      attr_fixed(out, "x", 100 * f.start / layout.time_max, 4, "%");
    } else {
      attr_fixed(out, "x", x1, 1);
    }
    out += row.y;
    if (g.fluid) {
      attr_fixed(out, "width", 100 * (f.end - f.start) / layout.time_max, 4, "%");
    } else {
      attr_fixed(out, "width", detail::round_as_printed(x2, 1) - detail::round_as_printed(x1, 1),
                 1);
    }
    out += row.height;
    out += " fill=\"";
    detail::append_rgb(out, frame_color(f, layout, opt, scratch));
    out += "\"";
    attr_general(out, "fg:x", f.start);
    attr_general(out, "fg:w", f.end - f.start);
    out += "/>";

    {
      // The root reads "all", as its tooltip does (flamegraph.pl leaves it unlabelled).
      const double chars = std::floor((x2 - x1) / char_px);
      label = detail::fit_label(root ? std::string_view("all") : detail::strip_annotation(f.name),
                                chars > 0 ? static_cast<std::size_t>(chars) : 0,
                                opt.truncate_text_left);
      if (!label.empty()) {
        w.nl(1);
        out += "<text";
        if (g.fluid) {
          attr_fixed(out, "x", 100 * f.start / layout.time_max, 4, "%");
          out += " dx=\"3\"";
        } else {
          attr_fixed(out, "x", x1 + 3, 2);
        }
        out += row.text_y;
        out.push_back('>');
        append_xml(out, label);
        out += "</text>";
      }
    }
    w.nl(0);
    out += href.empty() ? "</g>" : "</a>";
    w.line_end();
  }
  out += g.fluid ? "</svg>" : "</g>";
  w.line_end();
  out += "</svg>\n";
}

Result<RenderStats> render(std::span<const FoldedLine> lines, const Options& options,
                           std::string& out, WarningSink* warnings) {
  auto layout = build_layout(lines, options, warnings);
  if (!layout) return layout.error();
  write_svg(*layout, options, out);
  RenderStats s;
  s.frames_drawn = layout->frames.size();
  s.frames_pruned = layout->frames_pruned;
  s.total = layout->total;
  return s;
}

namespace {

template <typename Map>
Result<RenderStats> render_map(const Map& stacks, const Options& options, std::string& out,
                               WarningSink* warnings) {
  // Lines are built directly (no text round trip), so a frame name that ends in " 123" or holds
  // a newline stays one frame. The sort key is the line flamegraph.pl would have read.
  std::size_t size = 0;
  for (const auto& [stack, count] : stacks) size += stack.size() + 32;
  std::string keys;
  keys.reserve(size);  // views into `keys` must not move
  std::vector<FoldedLine> lines;
  lines.reserve(stacks.size());
  for (const auto& [stack, count] : stacks) {
    std::size_t begin = keys.size();
    append_folded_line(keys, stack, static_cast<double>(count));
    keys.pop_back();  // the newline
    std::string_view text(keys.data() + begin, keys.size() - begin);
    const auto c = static_cast<double>(count);
    lines.push_back({text, text.substr(0, stack.size()), c, c, false});
  }
  return render(lines, options, out, warnings);
}

}  // namespace

Result<RenderStats> render(const std::unordered_map<std::string, double>& stacks,
                           const Options& options, std::string& out, WarningSink* warnings) {
  return render_map(stacks, options, out, warnings);
}

Result<RenderStats> render(const std::unordered_map<std::string, std::uint64_t>& stacks,
                           const Options& options, std::string& out, WarningSink* warnings) {
  return render_map(stacks, options, out, warnings);
}

}  // namespace prof::renderer

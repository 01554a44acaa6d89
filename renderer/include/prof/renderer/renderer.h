// prof::renderer — folded stacks -> interactive SVG flame graph (the last stage of the pipeline).
//
// Input is folded text (prof::FoldedData, see prof/common/folded.h) or, inside one process, an
// in-memory map stack -> count. Output is one self-contained SVG: geometry, colours and text follow
// flamegraph.pl (reference/flamegraph-behaviour.md section 2) so that the frames we draw — name,
// depth, x, width, count — are the ones flamegraph.pl draws with the same options; the embedded
// JavaScript/CSS (renderer/assets/) is our own. Differences from flamegraph.pl and inferno are
// listed in docs/rendering.md.
//
// Two steps, usable separately (benchmarks time them apart):
//   build_layout(lines, options)  -> Layout   merge stacks into frames ("flow"), prune narrow ones
//   write_svg(layout, options, out)            append the SVG document
// render() does both.
//
//   prof::renderer::Options opt;            // flamegraph.pl defaults, fluid width
//   opt.title = "CPU";
//   std::string svg;
//   auto stats = prof::renderer::render(folded_data.lines, opt, svg, &sink);
//   if (!stats) return stats.error();       // kNoData when there is nothing to draw
//
// Every string that reaches the SVG (frame names, title, subtitle, notes, count name, name type,
// nameattr values, font type) is escaped for XML and, where it enters the script, for JavaScript;
// invalid UTF-8 and XML-forbidden control characters become U+FFFD.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "prof/common/folded.h"
#include "prof/common/result.h"
#include "prof/common/warnings.h"

namespace prof::renderer {

// Version of the stage library's API, bumped on incompatible changes.
inline constexpr int kApiVersion = 1;

// flamegraph.pl's --colors names. kChain also rewrites stacks (see flamegraph-behaviour.md 2.6).
enum class Palette {
  kHot,
  kMem,
  kIo,
  kWakeup,
  kChain,
  kJava,
  kJs,
  kPerl,
  kRed,
  kGreen,
  kBlue,
  kAqua,
  kYellow,
  kPurple,
  kOrange,
};
// "hot" -> kHot ...; std::nullopt for an unknown name.
std::optional<Palette> parse_palette(std::string_view name);

enum class ColorMode {
  kNameSeeded,  // default: flamegraph.pl's rand() seeded with the name -> same name, same colour
  kHash,        // --hash: flamegraph.pl's name hash (first three characters weighted)
  kRandom,      // --random: unseeded; the only mode whose output differs between runs
};

// How two-column (differential) input is coloured.
enum class DiffColoring {
  kInclusive,  // default: every frame by its own delta (after - before, children included)
  kSelf,       // flamegraph.pl: only frames opened by a line get that line's delta, others white
};

// One --nameattr entry: attributes for every frame of that function.
struct NameAttributes {
  std::vector<std::pair<std::string, std::string>> attrs;  // title, id, class, href, target, ...
};

// A depth-1 frame whose subtree counts in its own unit (the all-in-one's `[EVENT]` roots when
// a capture has several events): the caller scales its stacks' counts to a common width, and
// tooltips under it show width × raw_per_width in `count_name` and the share of this tower, not
// of the whole graph.
struct Tower {
  std::string name;          // the depth-1 frame, e.g. "[page-faults]"
  double raw_per_width = 1;  // the tower's own count per unit of drawn width
  std::string count_name;    // e.g. "ns", "page-faults"
};

struct Options {
  std::string title;         // default "" = "Flame Graph" / "Icicle Graph" / "Flame Chart"
  std::string subtitle;      // default none
  std::optional<int> width;  // default nullopt = fluid (fills the window; 1200 for layout)
  int frame_height = 16;     // --height, px per row
  double min_width = 0.1;    // --minwidth: px, or percent of the total when min_width_percent
  bool min_width_percent = false;
  std::string font_type = "Verdana";    // --fonttype
  double font_size = 12;                // --fontsize
  double font_width = 0.59;             // --fontwidth: average glyph width / font size
  std::string count_name = "samples";   // --countname
  std::string name_type = "Function:";  // --nametype
  Palette palette = Palette::kHot;      // --colors
  std::string bg_colors;  // --bgcolors: yellow|blue|green|grey|#rrggbb; "" = by palette
  ColorMode color_mode = ColorMode::kNameSeeded;
  // --cp: consistent palette. When set, names found here keep their colour; new names are added.
  std::map<std::string, std::string>* palette_map = nullptr;
  bool reverse = false;         // --reverse: leaf becomes root
  bool inverted = false;        // --inverted: icicle graph
  bool flamechart = false;      // --flamechart: keep input order (time axis)
  bool negate = false;          // --negate: swap red/blue and the delta sign
  double factor = 1;            // --factor: scales displayed counts only
  std::string notes;            // --notes: XML comment (escaped)
  std::optional<double> total;  // --total: full-width count (used only if >= the real sum)
  std::unordered_map<std::string, NameAttributes> name_attributes;  // --nameattr
  std::string search_color = "rgb(230,0,230)";                      // --search-color
  bool truncate_text_left = false;  // default keeps the start of long names ("foo::ba..")
  bool javascript = true;           // --no-javascript turns the interactive script off
  bool pretty = false;              // --pretty: one element per line, indented
  DiffColoring diff_coloring = DiffColoring::kInclusive;
  std::vector<Tower> towers;  // default none: every frame counts in count_name
};

// Parses a --nameattr file body ("FUNC<TAB>key=value<TAB>..."). Bad lines are reported to the sink.
std::unordered_map<std::string, NameAttributes> parse_name_attributes(std::string_view text,
                                                                      WarningSink* warnings);
// Parses / formats a --cp palette.map body ("NAME->rgb(r,g,b)" lines, written sorted by name).
std::map<std::string, std::string> parse_palette_map(std::string_view text, WarningSink* warnings);
std::string format_palette_map(const std::map<std::string, std::string>& map);

// A merged frame: `name` views the input text or Layout::storage.
struct Frame {
  std::string_view name;
  std::uint32_t depth = 0;  // 0 = the root ("all")
  double start = 0;         // in counts from the left edge
  double end = 0;
  double delta = 0;  // differential input only (see DiffColoring)
  bool has_delta = false;
};

// The frames of one name that were pruned (narrower than min_width): the union of their
// [start, end) spans in counts, sorted and disjoint. With the drawn frames these give every
// name's exact coverage, so the viewer's "Matched" stays exact when frames are pruned.
struct PrunedName {
  std::string_view name;
  std::vector<std::pair<double, double>> spans;
};

struct Layout {
  std::vector<Frame> frames;       // surviving frames, sorted by (depth, start); root first
  std::vector<PrunedName> pruned;  // by name, in first-pruned order; only with javascript
  double total = 0;                // sum of counts (widths)
  double time_max = 0;             // max(total, Options::total)
  double max_delta = 1;            // differential colour scale
  std::uint32_t depth_max = 0;
  std::uint64_t frames_pruned = 0;  // narrower than min_width
  bool differential = false;
  std::vector<std::string> storage;  // rewritten stacks (--reverse, chain palette)
};

// Merges stacks into frames exactly as flamegraph.pl's flow does (sorted input lines; only
// adjacent lines share frames) and prunes frames narrower than min_width.
// Error kNoData when the lines hold no counts.
Result<Layout> build_layout(std::span<const FoldedLine> lines, const Options& options,
                            WarningSink* warnings = nullptr);

// Appends the SVG document for `layout`.
void write_svg(const Layout& layout, const Options& options, std::string& out);

// The placeholder SVG flamegraph.pl prints when there is nothing to draw.
void write_error_svg(const Options& options, std::string_view message, std::string& out);

struct RenderStats {
  std::uint64_t frames_drawn = 0;
  std::uint64_t frames_pruned = 0;
  double total = 0;
};

Result<RenderStats> render(std::span<const FoldedLine> lines, const Options& options,
                           std::string& out, WarningSink* warnings = nullptr);
// In-process entry points (the all-in-one pipeline): stack "a;b;c" -> count. Names are taken as
// they are (no text round trip), so any byte sequence is a frame name.
Result<RenderStats> render(const std::unordered_map<std::string, double>& stacks,
                           const Options& options, std::string& out,
                           WarningSink* warnings = nullptr);
Result<RenderStats> render(const std::unordered_map<std::string, std::uint64_t>& stacks,
                           const Options& options, std::string& out,
                           WarningSink* warnings = nullptr);

// `profile diff`: difffolded.pl. Counts are summed per stack in each input; the result has one
// line "STACK BEFORE AFTER" per stack seen in either input, sorted by stack (byte order).
struct DiffOptions {
  bool normalize = false;  // -n: scale BEFORE by total(after)/total(before), truncated
  bool strip_hex = false;  // -s: "0x1f3a" -> "0x..." so stacks differing by address merge
};
std::string diff_folded(const FoldedData& before, const FoldedData& after, const DiffOptions& opt);

}  // namespace prof::renderer

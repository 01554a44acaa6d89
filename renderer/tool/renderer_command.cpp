#include "renderer_command.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include "prof/cli/help.h"
#include "prof/cli/support.h"
#include "prof/common/folded.h"
#include "prof/common/input.h"
#include "prof/renderer/renderer.h"

namespace prof::renderer {
namespace {

namespace po = boost::program_options;

constexpr const char* kPaletteFile = "palette.map";  // --cp, in the current directory

// `'FILE': what went wrong`; InputFile's messages already start with "FILE: ".
Error file_error(const std::string& path, const Error& e) {
  std::string_view what = e.message;
  for (const std::string& prefix : {path + ": ", std::string("<stdin>: ")}) {
    if (what.substr(0, prefix.size()) == prefix) what.remove_prefix(prefix.size());
  }
  return Error{e.code, "'" + path + "': " + std::string(what)};
}

ForeignInput g_foreign_input = nullptr;

// Reads and concatenates the inputs (flamegraph.pl reads all files named, or stdin); an input
// that is a profile of another format (pprof) is read as its folded text.
Result<FoldedData> read_inputs(const std::vector<std::string>& files, WarningSink& sink,
                               const std::string& sample_index = {},
                               std::string* count_name = nullptr) {
  std::string text;
  std::string names;
  for (const std::string& f : files) {
    auto in = InputFile::open(f);
    if (!in) return file_error(f, in.error());
    auto head = (*in)->peek(kSniffBytes);
    if (!head) return file_error(f, head.error());
    std::optional<std::string> foreign;
    if (g_foreign_input && sniff_content(*head).kind == ContentKind::kBinary) {
      auto bytes = read_whole(**in);
      if (!bytes) return file_error(f, bytes.error());
      auto folded = g_foreign_input(*bytes, (*in)->name(), sample_index);
      if (!folded)
        return Error{Errc::kUnsupported, "'" + (*in)->name() +
                                             "' is binary data, neither folded "
                                             "stacks ('a;b;c COUNT' lines) nor pprof"};
      if (!*folded) return folded->error();
      foreign = std::move((*folded)->folded);
      if (count_name && !(*folded)->count_name.empty()) *count_name = (*folded)->count_name;
    } else {
      PROF_TRY(expect_text(**in, TextFormat::kFolded));
      if (files.size() == 1 && (*in)->compression() == Compression::kNone) {
        // One plain file: parsed where it lies.
        auto mapped = map_folded_file(f, &sink, (*in)->name());
        if (!mapped) return file_error(f, mapped.error());
        if (*mapped) return std::move(**mapped);
      }
    }
    auto body = foreign ? Result<std::string>(std::move(*foreign)) : read_whole(**in);
    if (!body) return file_error(f, body.error());
    if (text.empty()) {
      text = std::move(*body);
    } else {
      text += *body;
    }
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
    if (!names.empty()) names += ", ";
    names += (*in)->name();
  }
  return parse_folded(std::move(text), &sink, files.size() == 1 ? names : std::string("input"));
}

}  // namespace

void set_foreign_input(ForeignInput reader) { g_foreign_input = reader; }

namespace {

bool valid_color(const std::string& c) {
  static const std::regex re("#[0-9a-fA-F]{6}|rgb\\(\\d{1,3},\\d{1,3},\\d{1,3}\\)");
  return std::regex_match(c, re);
}

}  // namespace

void add_render_options(po::options_description& opts, bool short_names) {
  opts.add_options()("title", po::value<std::string>(),
                     "title text (default \"Flame Graph\", \"Icicle Graph\" "
                     "with --inverted, \"Flame Chart\" with --flamechart)")(
      "subtitle", po::value<std::string>(), "second title line (default none)")(
      "width", po::value<int>(), "image width in px (default: fluid, fills the browser window)")(
      "height", po::value<int>()->default_value(16), "frame height in px")(
      "minwidth", po::value<std::string>()->default_value("0.1"),
      "omit frames narrower than this many px, or percent of the total with a trailing %")(
      "fonttype", po::value<std::string>()->default_value("Verdana"), "font family")(
      "fontsize", po::value<double>()->default_value(12), "font size")(
      "fontwidth", po::value<double>()->default_value(0.59, "0.59"),
      "average glyph width / font size")(
      "countname", po::value<std::string>()->default_value("samples"), "count unit in tooltips")(
      "nametype", po::value<std::string>()->default_value("Function:"),
      "prefix of the details line")(
      short_names ? "colors,c" : "colors", po::value<std::string>()->default_value("hot"),
      "palette: hot mem io wakeup chain java js perl red green blue aqua yellow purple orange")(
      "bgcolors", po::value<std::string>(),
      "background: yellow blue green grey or #rrggbb (default by palette)")(
      "hash", "colour by name hash (flamegraph.pl --hash)")(
      "random", "random colours (output differs between runs)")(
      "cp", "consistent palette: read and update ./palette.map")(
      "reverse", "reverse each stack (leaf becomes root)")(short_names ? "inverted,i" : "inverted",
                                                           "icicle graph (root at the top)")(
      "flamechart", "keep input order as a time axis")(
      "negate", "swap the differential colours and delta sign")(
      "factor", po::value<double>()->default_value(1), "multiply displayed counts")(
      "notes", po::value<std::string>()->default_value(""), "text for an XML comment")(
      "total", po::value<double>(), "count of the full width (default: sum of counts)")(
      "nameattr", po::value<std::string>(), "file of per-function SVG attributes")(
      "search-color", po::value<std::string>()->default_value("rgb(230,0,230)"),
      "fill of search matches (#rrggbb or rgb(r,g,b))")(
      "truncate-text-right", "shorten long labels at the end, keeping the start (default)")(
      "truncate-text-left", "shorten long labels at the start, keeping the end")(
      "diff-self",
      "differential: colour only frames opened by a line, by that line's delta "
      "(flamegraph.pl); default colours every frame by its own inclusive delta")(
      "no-javascript", "leave out the interactive script")(
      "pretty", "one element per line, indented (for diffable output)");
}

Result<std::unique_ptr<RenderSetup>> render_setup_from(const po::variables_map& vm,
                                                       WarningSink& sink) {
  auto usage = [](std::string message) { return Error{Errc::kUsage, std::move(message)}; };
  auto setup = std::make_unique<RenderSetup>();
  Options& o = setup->options;
  if (vm.count("title")) o.title = vm["title"].as<std::string>();
  if (vm.count("subtitle")) o.subtitle = vm["subtitle"].as<std::string>();
  if (vm.count("width")) {
    int w = vm["width"].as<int>();
    if (w < 40 || w > 1000000) return usage("--width must be 40..1000000");
    o.width = w;
  }
  o.frame_height = vm["height"].as<int>();
  if (o.frame_height < 2 || o.frame_height > 1000) return usage("--height must be 2..1000");
  {
    std::string mw = vm["minwidth"].as<std::string>();
    static const std::regex re("[0-9.]+%?");
    if (!std::regex_match(mw, re)) return usage("--minwidth '" + mw + "': expected NUM or NUM%");
    o.min_width_percent = mw.back() == '%';
    if (o.min_width_percent) mw.pop_back();
    try {
      o.min_width = std::stod(mw);
    } catch (...) {
      return usage("--minwidth '" + mw + "': not a number");
    }
  }
  o.font_type = vm["fonttype"].as<std::string>();
  o.font_size = vm["fontsize"].as<double>();
  o.font_width = vm["fontwidth"].as<double>();
  if (!(o.font_size > 0 && o.font_size < 1000) || !(o.font_width > 0 && o.font_width < 100))
    return usage("--fontsize and --fontwidth must be positive");
  o.count_name = vm["countname"].as<std::string>();
  o.name_type = vm["nametype"].as<std::string>();
  auto palette = parse_palette(vm["colors"].as<std::string>());
  if (!palette) return usage("--colors '" + vm["colors"].as<std::string>() + "': unknown palette");
  o.palette = *palette;
  if (vm.count("bgcolors")) {
    o.bg_colors = vm["bgcolors"].as<std::string>();
    static const std::regex re("yellow|blue|green|grey|#[0-9a-fA-F]{6}");
    if (!std::regex_match(o.bg_colors, re))
      return usage("--bgcolors '" + o.bg_colors +
                   "': expected yellow, blue, green, grey or #rrggbb");
  }
  if (vm.count("hash") && vm.count("random"))
    return usage("--hash and --random exclude each other");
  if (vm.count("hash")) o.color_mode = ColorMode::kHash;
  if (vm.count("random")) o.color_mode = ColorMode::kRandom;
  o.reverse = vm.count("reverse") > 0;
  o.inverted = vm.count("inverted") > 0;
  o.flamechart = vm.count("flamechart") > 0;
  o.negate = vm.count("negate") > 0;
  o.factor = vm["factor"].as<double>();
  if (!(o.factor > 0)) return usage("--factor must be positive");
  o.notes = vm["notes"].as<std::string>();
  if (vm.count("total")) o.total = vm["total"].as<double>();
  o.search_color = vm["search-color"].as<std::string>();
  if (!valid_color(o.search_color))
    return usage("--search-color '" + o.search_color + "': expected #rrggbb or rgb(r,g,b)");
  if (vm.count("truncate-text-left") && vm.count("truncate-text-right"))
    return usage("--truncate-text-left and --truncate-text-right exclude each other");
  o.truncate_text_left = vm.count("truncate-text-left") > 0;
  o.javascript = vm.count("no-javascript") == 0;
  o.pretty = vm.count("pretty") > 0;
  if (vm.count("diff-self")) o.diff_coloring = DiffColoring::kSelf;

  if (vm.count("nameattr")) {
    std::string path = vm["nameattr"].as<std::string>();
    auto in = InputFile::open(path);
    if (!in) return file_error(path, in.error());
    auto body = read_whole(**in);
    if (!body) return file_error(path, body.error());
    o.name_attributes = parse_name_attributes(*body, &sink);
  }
  if (vm.count("cp")) {
    std::ifstream pf(kPaletteFile, std::ios::binary);
    if (pf) {
      std::stringstream ss;
      ss << pf.rdbuf();
      setup->palette_map = parse_palette_map(ss.str(), &sink);
    }
    o.palette_map = &setup->palette_map;
    setup->save_palette = true;
  }
  return setup;
}

Result<void> save_palette_map(const RenderSetup& setup) {
  if (!setup.save_palette) return ok();
  std::ofstream pf(kPaletteFile, std::ios::binary | std::ios::trunc);
  pf << format_palette_map(setup.palette_map);
  if (!pf) return Error{Errc::kIo, "'" + std::string(kPaletteFile) + "': cannot write palette"};
  return ok();
}

int render_command(int argc, char** argv) {
  po::options_description opts(
      "Usage: profile render [FILE|-]... [options] > out.svg\n\n"
      "Draws an interactive SVG flame graph from folded stacks (\"a;b;c 123\" lines; plain, gz,\n"
      "bz2, xz or zst) or pprof profiles (Go's, ours, Pyroscope's). Two count columns ('profile\n"
      "diff' output) draw a differential graph.\n\n"
      "Options (flamegraph.pl's names, meanings and defaults)");
  opts.add_options()("help,h", "show this help")(
      "output,o", po::value<std::string>()->value_name("FILE"), "write here (default: stdout)")(
      "sample-index", po::value<std::string>()->value_name("TYPE"),
      "pprof input: the sample type to draw, by name (cpu, alloc_space) or 0-based index "
      "(default: each sample's event, or the profile's default type)");
  add_render_options(opts);
  po::options_description all;
  all.add(opts).add_options()("input", po::value<std::vector<std::string>>(), "input");
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  if (auto rc = cli::parse(argc, argv, all, pos, vm, "render")) return *rc;
  const std::string out_path = vm.count("output") ? vm["output"].as<std::string>() : "-";
  if (vm.count("help")) return cli::print_help(opts, "render");
  WarningSink sink;
  auto setup = render_setup_from(vm, sink);
  if (!setup) {
    if (setup.error().code == Errc::kUsage)
      return cli::usage_error(setup.error().message, "render");
    return cli::report_error(setup.error());
  }
  if (auto t = cli::check_svg_destination(out_path); !t) return cli::report_error(t.error());
  Options& o = (*setup)->options;
  std::vector<std::string> files = vm.count("input") ? vm["input"].as<std::vector<std::string>>()
                                                     : std::vector<std::string>{"-"};
  const std::string sample_index =
      vm.count("sample-index") ? vm["sample-index"].as<std::string>() : std::string();
  std::string count_name;
  auto data = read_inputs(files, sink, sample_index, &count_name);
  if (!data) return cli::report_error(data.error());
  // pprof input: its unit names the counts unless --countname did.
  if (!count_name.empty() && vm["countname"].defaulted()) o.count_name = count_name;
  std::string svg;
  auto stats = render(data->lines, o, svg, &sink);
  cli::print_warning_summary(sink, cli::RepeatWording::kTimes);
  if (!stats) {
    std::string msg = "ERROR: No valid input provided to profile render.";
    write_error_svg(o, msg, svg);
    (void)cli::write_output(out_path, svg);
    std::string where = files.size() == 1 ? (files[0] == "-" ? "<stdin>" : files[0]) : "input";
    return cli::report_error(Error{stats.error().code, "'" + where + "': " + stats.error().message +
                                                           " (expected lines 'a;b;c COUNT')"});
  }
  if (auto saved = save_palette_map(**setup); !saved) return cli::report_error(saved.error());
  if (auto w = cli::write_output(out_path, svg); !w) return cli::report_error(w.error());
  return cli::kExitOk;
}

int diff_command(int argc, char** argv) {
  po::options_description opts(
      "Usage: profile diff [options] BEFORE AFTER > diff.folded\n\n"
      "Joins two folded (or pprof) files into \"STACK BEFORE AFTER\" lines (difffolded.pl),\n"
      "sorted by stack; "
      "'profile render' draws them red (grew) and blue (shrank).\n\nOptions");
  opts.add_options()("help,h", "show this help")(
      "normalize,n", "scale BEFORE counts to AFTER's total (default off)")(
      "strip-hex,s", "replace hex addresses (0x1f3a -> 0x...) so they merge (default off)")(
      "sample-index", po::value<std::string>()->value_name("TYPE"),
      "pprof input: the sample type to compare (as 'profile render --sample-index')");
  po::options_description all;
  all.add(opts).add_options()("input", po::value<std::vector<std::string>>(), "input");
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  if (auto rc = cli::parse(argc, argv, all, pos, vm, "diff")) return *rc;
  if (vm.count("help")) return cli::print_help(opts, "diff");
  std::vector<std::string> files =
      vm.count("input") ? vm["input"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (files.size() != 2) return cli::usage_error("expected two folded files: BEFORE AFTER", "diff");
  WarningSink sink;
  const std::string sample_index =
      vm.count("sample-index") ? vm["sample-index"].as<std::string>() : std::string();
  auto before = read_inputs({files[0]}, sink, sample_index);
  if (!before) return cli::report_error(before.error());
  auto after = read_inputs({files[1]}, sink, sample_index);
  if (!after) return cli::report_error(after.error());
  DiffOptions d;
  d.normalize = vm.count("normalize") > 0;
  d.strip_hex = vm.count("strip-hex") > 0;
  std::string out = diff_folded(*before, *after, d);
  cli::print_warning_summary(sink, cli::RepeatWording::kTimes);
  if (auto w = cli::write_output("-", out); !w) return cli::report_error(w.error());
  return cli::kExitOk;
}

}  // namespace prof::renderer

// `profile render` and `profile diff`: map command-line options onto prof::renderer. argv[0] is
// the subcommand name. The option helpers let other commands that end in a flame graph (the
// all-in-one `profile`, `profile report`) accept exactly `profile render`'s options:
//
//   po::options_description opts("profile report options");
//   prof::renderer::add_render_options(opts);
//   ... parse into vm ...
//   prof::WarningSink sink;
//   auto setup = prof::renderer::render_setup_from(vm, sink);   // Errc::kUsage for bad values
//   if (!setup) return ...;
//   prof::renderer::render(stacks, (*setup)->options, svg, &sink);
//   prof::renderer::save_palette_map(**setup);                  // --cp writes ./palette.map
#pragma once

#include <boost/program_options.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "prof/common/result.h"
#include "prof/common/warnings.h"
#include "prof/renderer/renderer.h"

namespace prof::renderer {

int render_command(int argc, char** argv);
int diff_command(int argc, char** argv);

// Another profile format read as folded text (pprof): installed by the `profile` executable,
// which knows the formats (this stage links only prof::common). Given an input that is not text
// (decompressed), its name and --sample-index, it returns the folded text and what its counts
// are ("ns", "samples"; "" = not known), an error, or nullopt when the input is no profile it
// knows (the usual "not folded stacks" error follows).
struct ForeignProfile {
  std::string folded;
  std::string count_name;
};
using ForeignInput = std::optional<Result<ForeignProfile>> (*)(const std::string& bytes,
                                                               const std::string& name,
                                                               const std::string& sample_index);
void set_foreign_input(ForeignInput reader);

// Adds flamegraph.pl's rendering options (--title, --width, --colors, ...; see
// docs/rendering.md) with their defaults to `opts`. `short_names` (default) adds -c/-i for
// --colors/--inverted; the all-in-one `profile` leaves them to `-c PERIOD` as perf does.
void add_render_options(boost::program_options::options_description& opts, bool short_names = true);

// Renderer options from parsed command-line values, with the files they name already read
// (--nameattr FILE, ./palette.map for --cp). Options::palette_map points into this object.
struct RenderSetup {
  Options options;
  std::map<std::string, std::string> palette_map;
  bool save_palette = false;  // --cp: write palette.map back after rendering
};
Result<std::unique_ptr<RenderSetup>> render_setup_from(
    const boost::program_options::variables_map& vm, WarningSink& sink);
// --cp: writes ./palette.map (sorted, with the names this rendering added). No-op without --cp.
Result<void> save_palette_map(const RenderSetup& setup);

}  // namespace prof::renderer

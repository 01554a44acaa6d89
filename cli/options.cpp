#include "options.h"

#include <string>
#include <vector>

#include "collector_command.h"
#include "continuous.h"
#include "folder_command.h"
#include "renderer_command.h"
#include "symbolizer_options.h"

namespace prof::app {

namespace po = boost::program_options;

namespace {

void add_output_options(po::options_description& d) {
  d.add_options()(
      "format", po::value<std::string>()->default_value("svg"),
      "svg, html (the explorer: heatmap, CPU lanes, flame/sandwich, table), folded, "
      "perf-script, pprof (gzipped protobuf for go tool pprof, Pyroscope, Parca) or speedscope "
      "(JSON)")("output,o", po::value<std::string>(), "write the result here (default: stdout)")(
      "quiet,q", "print nothing but errors")("verbose,v", "print every warning, not one per kind");
}

}  // namespace

// One spelling, one meaning: the all-in-one takes `profile record`'s sampling options with
// their short letters, and the other stages' options by long names that none of those use.
// docs/options.md has the table of every option of every subcommand.
CommandOptions pipeline_options() {
  po::options_description sampling(
      "Sampling (as 'profile record', but with frame-pointer call graphs unless "
      "--no-call-graph)");
  collector::add_sampling_options(sampling, /*call_graph_by_default=*/true);
  po::options_description symbolizing("Symbols");
  symbolizer::add_symbolizer_options(symbolizing, /*pipeline=*/true);
  po::options_description folding(
      "Stacks (as 'profile fold', whose --pid/--tid are --per-process/--per-thread here)");
  folder::add_folder_options(folding, /*pipeline=*/true);
  po::options_description rendering("Flame graph (as 'profile render'; no short forms here)");
  renderer::add_render_options(rendering, /*short_names=*/false);
  po::options_description general(
      "Usage: profile [options] [DURATION] [-- CMD ARGS...] > out.svg\n\n"
      "Samples with frame-pointer call graphs (default: every CPU, 99 Hz, until Ctrl-C or\n"
      "DURATION), symbolizes, folds and renders a flame graph in one process. DURATION: 60s,\n"
      "500ms, 2m, or seconds. With -- CMD and no -a/-C: only CMD and its children, until it\n"
      "exits. Exits with CMD's status (128+N for signal N); while the result goes to stdout,\n"
      "CMD's goes to stderr.\n\n"
      "Output");
  add_output_options(general);
  general.add_options()("help,h", "show this help")("save", po::value<std::string>(),
                                                    "also keep the capture as perf.data in FILE")(
      "no-buildid-cache,N",
      "with --save: do not copy the objects with samples into perf's build-id cache "
      "($HOME/.debug; default: copy them, as 'profile record' and perf record do)")(
      "off-cpu",
      "off-CPU time flame graph: record sched:sched_switch with stacks and weight each by "
      "the time its task stayed off the CPU (ns); not with -e");
  po::options_description continuous("Always-on (windows to files or a Pyroscope server)");
  add_continuous_options(continuous);
  CommandOptions c;
  c.visible.add(general).add(sampling).add(symbolizing).add(folding).add(rendering).add(continuous);
  c.all.add(c.visible).add_options()("duration", po::value<std::vector<std::string>>(), "duration");
  c.positional.add("duration", -1);
  return c;
}

CommandOptions report_options() {
  po::options_description symbolizing("Symbols (as 'profile symbolize')");
  symbolizer::add_symbolizer_options(symbolizing, /*pipeline=*/false);
  po::options_description folding("Stacks (as 'profile fold')");
  folder::add_folder_options(folding, /*pipeline=*/false);
  po::options_description rendering("Flame graph (as 'profile render')");
  renderer::add_render_options(rendering, /*short_names=*/false);
  po::options_description general(
      "Usage: profile report [perf.data] [options] > out.svg\n\n"
      "Symbolizes, folds and renders a perf.data file (from 'profile record' or 'perf record';\n"
      "default ./perf.data, '-' = pipe-mode data on stdin) in one process.\n\nOutput");
  add_output_options(general);
  general.add_options()("help,h", "show this help")(
      "off-cpu",
      "off-CPU time flame graph from a capture recorded with '-e sched:sched_switch -g' "
      "(ours or perf's; -a, or --switch-events for per-task captures): each stack weighted "
      "by the time its task stayed off the CPU (ns)");
  CommandOptions c;
  c.visible.add(general).add(symbolizing).add(folding).add(rendering);
  c.all.add(c.visible).add_options()("file", po::value<std::vector<std::string>>(), "perf.data");
  c.positional.add("file", -1);
  return c;
}

}  // namespace prof::app

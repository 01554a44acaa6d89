#include "folder_command.h"

#include <iostream>
#include <string>
#include <vector>

#include "prof/cli/help.h"
#include "prof/cli/support.h"
#include "prof/common/input.h"
#include "prof/common/warnings.h"
#include "prof/folder/folder.h"
#include "prof/folder/time_filter.h"

namespace prof::folder {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    "Usage: profile fold [FILE|-] [options]\n"
    "\n"
    "Folds 'perf script' text (plain, .gz, .bz2, .xz or .zst; stdin when FILE is '-' or\n"
    "missing) into stacks 'root;...;leaf COUNT', sorted byte-wise, as stackcollapse-perf.pl\n"
    "does. Counts are sums of sample periods. See docs/folding.md.\n"
    "\n"
    "Options";

}  // namespace

void add_folder_options(po::options_description& opts, bool pipeline) {
  // In the all-in-one `profile`, --pid/--tid select what to sample (-p, -t): there the process
  // frames go by their own names only. --all would sit beside -a/--all-cpus: fold and report only.
  // The descriptions are the same in both, so that a test can tell one meaning from another.
  opts.add_options()(
      pipeline ? "per-process" : "per-process,pid", po::bool_switch(),
      "process frame is comm-PID (default: comm); 'profile fold' and 'report' also take "
      "stackcollapse-perf.pl's name, --pid")(
      pipeline ? "per-thread" : "per-thread,tid", po::bool_switch(),
      "process frame is comm-PID/TID (default: comm); 'profile fold' and 'report' also take "
      "stackcollapse-perf.pl's name, --tid");
  opts.add_options()("kernel", po::bool_switch(), "add _[k] to kernel frames (default: off)")(
      "jit", po::bool_switch(), "add _[j] to JIT frames (default: off)");
  if (!pipeline) opts.add_options()("all", "same as --kernel --jit");
  opts.add_options()("addrs", po::bool_switch(),
                     "unresolved frames show their address: [module <addr>] (default: off)")(
      "event-filter", po::value<std::string>()->value_name("EVENT"),
      "keep only samples of EVENT (default: 'fold' keeps the first event seen, as "
      "stackcollapse-perf.pl; 'profile', 'report' and 'top' keep every event)")(
      "per-event", po::bool_switch(),
      "root frame [EVENT] from each sample's event, so several events fold side by side "
      "(default: off in 'fold'; 'profile', 'report' and 'top' do it when the capture has "
      "several events and no --event-filter)")(
      "per-cpu", po::bool_switch(), "root frame cpu-NNN from the sample's CPU (default: off)")(
      "skip-after", po::value<std::vector<std::string>>()->value_name("FUNC")->composing(),
      "drop the frames rootward of the leaf-most FUNC frame, process frame included; "
      "repeatable (default: none)")(
      "time-range", po::value<std::string>()->value_name("A,B"),
      "only the samples from A to B seconds after the capture's first sample (default: all; "
      "the HTML explorer shows this option for its selection)");
}

Result<Options> folder_options_from(const po::variables_map& vm) {
  Options opt;
  auto flag = [&](const char* name) { return vm.count(name) && vm[name].as<bool>(); };
  opt.include_pid = flag("per-process");
  opt.include_tid = flag("per-thread");
  opt.annotate_kernel = flag("kernel");
  opt.annotate_jit = flag("jit");
  opt.include_addrs = flag("addrs");
  opt.per_cpu = flag("per-cpu");
  opt.per_event = flag("per-event");
  if (vm.count("all")) opt.annotate_kernel = opt.annotate_jit = true;
  if (vm.count("skip-after")) opt.skip_after = vm["skip-after"].as<std::vector<std::string>>();
  if (vm.count("event-filter")) {
    const auto& event_filter = vm["event-filter"].as<std::string>();
    if (event_filter.empty()) return Error{Errc::kUsage, "--event-filter needs an event name"};
    opt.event_filter = event_filter;
  }
  if (vm.count("time-range")) {
    auto r = parse_time_range(vm["time-range"].as<std::string>());
    if (!r) return r.error();
    opt.time_range = *r;
  }
  return opt;
}

int fold_command(int argc, char** argv) {
  unsigned threads = 1;
  bool strict = false;
  po::options_description visible(kUsage);
  visible.add_options()("help,h", "show this help");
  add_folder_options(visible, /*pipeline=*/false);
  visible.add_options()("threads,j", po::value(&threads)->value_name("N")->default_value(1),
                        "fold on N threads; 0 = one per CPU. Output is identical for every N")(
      "output,o", po::value<std::string>()->value_name("FILE"), "write here (default: stdout)")(
      "strict", po::bool_switch(&strict),
      "a line that fits no rule is an error naming FILE and line (default: a warning)")(
      "quiet,q", "print no warnings")("verbose,v", "print every warning, not one per kind");
  po::options_description all;
  all.add(visible).add_options()("input", po::value<std::vector<std::string>>(), "input");
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  if (auto rc = cli::parse(argc, argv, all, pos, vm, "fold")) return *rc;
  if (vm.count("help")) return cli::print_help(visible, "fold");
  std::string path = "-";
  if (vm.count("input")) {
    const auto& in = vm["input"].as<std::vector<std::string>>();
    if (in.size() > 1) return cli::usage_error("'profile fold' takes one input file", "fold");
    path = in.front();
  }
  if (vm.count("quiet") && vm.count("verbose"))
    return cli::usage_error("--quiet and --verbose exclude each other", "fold");
  auto parsed = folder_options_from(vm);
  if (!parsed) return cli::usage_error(parsed.error().message, "fold");
  Options opt = std::move(*parsed);
  opt.strict = strict;
  std::string output = vm.count("output") ? vm["output"].as<std::string>() : "-";
  const bool quiet = vm.count("quiet") > 0, verbose = vm.count("verbose") > 0;
  opt.keep_all_warnings = verbose;

  auto input = InputFile::open(path);
  if (!input) return cli::report_error(input.error());
  if (auto text = expect_text(**input, TextFormat::kPerfScript); !text)
    return cli::report_error(text.error());
  opt.input_name = (*input)->name();

  WarningSink sink = verbose ? WarningSink([](std::string_view, std::string_view message) {
    cli::print_warning(message);
  })
                             : WarningSink();
  FoldStats stats;
  Result<FoldedCounts> counts = FoldedCounts{};
  if (opt.time_range) {
    // The capture's start is its smallest sample time, so the whole text is read first.
    auto text = (*input)->read_all();
    if (!text) return cli::report_error(text.error());
    auto kept = filter_time_range(*text, *opt.time_range);
    if (!kept) return cli::report_error(kept.error().with_context("'" + opt.input_name + "'"));
    Folder folder(opt, &sink);
    if (auto fed = folder.feed(*kept); !fed) return cli::report_error(fed.error());
    if (auto fin = folder.finish(); !fin) return cli::report_error(fin.error());
    stats = folder.stats();
    counts = folder.take_counts();
  } else {
    counts = fold_input(**input, opt, &sink, threads, &stats);
  }
  if (!counts) return cli::report_error(counts.error());
  if (stats.perf_data && counts->empty()) {
    return cli::report_error(Error{
        Errc::kUnsupported, "'" + opt.input_name +
                                "': this is a perf.data file, not 'perf script' text; run "
                                "'perf script -i FILE | profile fold' or 'profile report FILE'"});
  }
  if (!quiet && !verbose) cli::print_warning_summary(sink, cli::RepeatWording::kMoreLikeItSeeAll);
  if (counts->empty()) {
    std::string why = stats.lines == 0             ? "the input is empty"
                      : stats.filtered_samples > 0 ? "every sample was dropped by the event filter"
                                                   : "no line looked like 'perf script' output";
    return cli::report_error(
        Error{Errc::kNoData, "'" + opt.input_name + "': no stacks found (" + why +
                                 "; make it with 'perf script' or 'profile symbolize')"});
  }
  if (auto w = cli::write_output(output, counts->to_string()); !w)
    return cli::report_error(w.error());
  return cli::kExitOk;
}

}  // namespace prof::folder

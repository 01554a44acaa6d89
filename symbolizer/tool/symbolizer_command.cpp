#include "symbolizer_command.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "prof/cli/help.h"
#include "prof/cli/support.h"
#include "prof/common/perf_data.h"
#include "prof/common/warnings.h"
#include "prof/symbolizer/symbolizer.h"
#include "symbolizer_options.h"

namespace prof::symbolizer {
namespace {

namespace po = boost::program_options;

void print_summary(const Summary& s, std::ostream& err) {
  std::string line = "symbolized " + std::to_string(s.samples) + " samples, " +
                     std::to_string(s.frames) + " frames (" + std::to_string(s.locations) +
                     " distinct addresses, " + std::to_string(s.objects) + " objects)";
  if (s.unresolved_frames || s.unmapped_frames)
    line += "; unresolved: " + std::to_string(s.unresolved_frames) + " in a known module, " +
            std::to_string(s.unmapped_frames) + " unmapped";
  if (s.missing_objects) line += "; " + std::to_string(s.missing_objects) + " objects missing";
  if (s.lost_samples) line += "; " + std::to_string(s.lost_samples) + " samples lost in capture";
  if (s.bad_records) line += "; " + std::to_string(s.bad_records) + " corrupt records skipped";
  if (s.unwound_samples) {
    line += "; " + std::to_string(s.unwound_samples) + " user stacks unwound (DWARF), " +
            std::to_string(s.unwind_early_stops) + " stopped early";
    std::string reasons;
    for (const auto& [why, n] : s.unwind_stop_reasons)
      reasons += (reasons.empty() ? "" : ", ") + why + ": " + std::to_string(n);
    if (!reasons.empty()) line += " (" + reasons + ")";
  }
  if (s.corrupt_callchains)
    line += "; " + std::to_string(s.corrupt_callchains) + " callchains cut at a corrupt entry";
  cli::print_notice(line, err);
}

}  // namespace

int symbolize_command(int argc, char** argv) {
  po::options_description opts(
      "Usage: profile symbolize [options] [perf.data|-]\n\n"
      "Prints the samples of a perf.data capture (from `profile record` or `perf record`) as\n"
      "`perf script` text, for `profile fold` or stackcollapse-perf.pl. Default input: perf.data;\n"
      "'-' reads a pipe-mode capture from stdin.\n\nOptions");
  opts.add_options()("help,h", "show this help")("input,i", po::value<std::string>(),
                                                 "perf.data to read (default: perf.data)")(
      "folded", "print folded stacks instead (as 'profile report --format folded')")(
      "format", po::value<std::string>()->value_name("FMT"),
      "perf-script (default), folded, pprof or speedscope (the last three as 'profile report "
      "--format FMT')")("no-pid",
                        "header as `comm tid` (perf script's default) instead of `comm pid/tid`")(
      "quiet,q", "no summary or warnings on stderr")("verbose,v",
                                                     "print every warning, not one per kind");
  add_symbolizer_options(opts, /*pipeline=*/false);
  po::options_description all;
  all.add(opts).add_options()("positional", po::value<std::vector<std::string>>(), "input");
  po::positional_options_description pos;
  pos.add("positional", -1);
  po::variables_map vm;
  if (auto rc = cli::parse(argc, argv, all, pos, vm, "symbolize")) return *rc;
  if (vm.count("help")) return cli::print_help(opts, "symbolize");
  std::string input = "perf.data";
  if (vm.count("positional")) {
    const auto& p = vm["positional"].as<std::vector<std::string>>();
    if (p.size() > 1 || vm.count("input"))
      return cli::usage_error("expected one input file", "symbolize");
    input = p.front();
  } else if (vm.count("input")) {
    input = vm["input"].as<std::string>();
  }
  if (vm.count("format") && vm["format"].as<std::string>() != "perf-script")
    return cli::usage_error("--format " + vm["format"].as<std::string>() +
                                ": this stage writes perf-script text (the `profile` command "
                                "writes the others)",
                            "symbolize");
  auto parsed = symbolizer_options_from(vm);
  if (!parsed) return cli::usage_error(parsed.error().message, "symbolize");
  const Options& o = *parsed;
  bool quiet = vm.count("quiet") > 0, verbose = vm.count("verbose") > 0;

  WarningSink warnings([&](std::string_view, std::string_view msg) {
    if (verbose && !quiet) cli::print_warning(msg);
  });
  auto reader = perf::PerfDataReader::open(input, &warnings);
  if (!reader) return cli::report_error(reader.error());
  Symbolizer sym(o, &warnings);
  if (auto r = symbolize_perf_data(**reader, sym); !r) return cli::report_error(r.error());

  ScriptFormat fmt;
  fmt.pid = vm.count("no-pid") == 0;
  fmt.srcline = o.srcline;
  bool write_failed = !sym.write_perf_script(fmt, [](std::string_view text) {
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size();
  });
  if (std::fflush(stdout) != 0) write_failed = true;
  if (write_failed) return cli::report_error(Error{Errc::kIo, "'<stdout>': write failed"});
  if (!quiet) {
    if (!verbose) cli::print_warning_summary(warnings, cli::RepeatWording::kMore);
    print_summary(sym.summary(), std::cerr);
  }
  return cli::exit_now(cli::kExitOk);
}

}  // namespace prof::symbolizer

#include "commands.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>

#include "collector_command.h"
#include "continuous.h"
#include "explorer.h"
#include "export.h"
#include "folder_command.h"
#include "options.h"
#include "pipeline.h"
#include "prof/cli/help.h"
#include "prof/cli/support.h"
#include "prof/collector/advice.h"
#include "prof/common/event_name.h"
#include "prof/common/folded.h"
#include "prof/common/input.h"
#include "prof/interop/convert.h"
#include "prof/interop/pprof.h"
#include "prof/interop/speedscope.h"
#include "renderer_command.h"
#include "symbolizer_command.h"
#include "symbolizer_options.h"
#include "top.h"

namespace prof::app {
namespace {

namespace po = boost::program_options;

enum class Format { kSvg, kFolded, kPerfScript, kPprof, kSpeedscope, kHtml };

Result<Format> parse_format(const std::string& s) {
  if (s == "svg") return Format::kSvg;
  if (s == "folded") return Format::kFolded;
  if (s == "perf-script") return Format::kPerfScript;
  if (s == "pprof") return Format::kPprof;
  if (s == "speedscope") return Format::kSpeedscope;
  if (s == "html") return Format::kHtml;
  return Error{Errc::kUsage, "--format '" + s +
                                 "': expected svg, html, folded, perf-script, pprof or speedscope"};
}

bool is_export(Format f) { return f == Format::kPprof || f == Format::kSpeedscope; }

// Checks an export format against the other options and sets what it needs: pprof keeps inline
// frames as lines of a location and source lines (pprof's way), so those are resolved.
Result<void> prepare_export(Format f, bool off_cpu, symbolizer::Options& sopt,
                            const std::string& output) {
  if (!is_export(f)) return ok();
  (void)off_cpu;  // off-CPU samples are weighed in export_profile
  if (f == Format::kPprof) {
    sopt.inline_frames = true;
    sopt.srcline = true;
    return cli::check_not_terminal(output, "a pprof profile", "out.pb.gz");
  }
  return ok();
}

// The symbolized capture as pprof or speedscope. With `off_cpu`, only the sched_switch samples
// whose task ran again, each weighed by its time off the CPU (event "off-cpu", nanoseconds).
Result<std::string> export_profile(symbolizer::Symbolizer& sym, Format f, const CaptureInfo& info,
                                   const std::string& name, const OffCpuTracker* off_cpu) {
  Profile& p = sym.profile();
  fill_profile_info(p, info);
  if (off_cpu) {
    if (auto why = off_cpu->problem(); !why.empty()) return Error{Errc::kNoData, why};
    OffCpuStats st;
    std::vector<FrameView> scratch;
    const StringId event = p.intern("off-cpu");
    p.retain_samples([&](Sample& s) {
      auto ns = analysis::off_cpu_weight(p.view(s, scratch), *off_cpu, st);
      if (!ns) return false;
      s.period = *ns;
      s.event = event;
      return true;
    });
    p.info().events = {{.name = event, .unit = p.intern("nanoseconds")}};
    if (p.samples().empty())
      return Error{Errc::kNoData, "no off-CPU time found: " + std::to_string(st.switches) +
                                      " context switches, none of a task seen running again "
                                      "before the capture ended"};
  }
  if (p.samples().empty()) return Error{Errc::kNoData, "no samples were captured"};
  // Off-CPU samples were kept one by one for their own weights: merged for pprof.
  if (f == Format::kPprof && off_cpu) return interop::write_pprof(interop::merge({&p, 1}));
  if (f == Format::kPprof) return interop::write_pprof(p);
  return interop::write_speedscope(p, {.name = name, .exporter = "profile " PROF_VERSION});
}

// Warnings are collected and printed once per kind at the end (-q: none, -v: all as they come).
struct Reporter {
  bool quiet = false, verbose = false;
  WarningSink sink{[this](std::string_view, std::string_view m) {
    if (verbose) cli::print_warning(m);
  }};
  void summarize() {
    if (quiet || verbose) return;
    cli::print_warning_summary(sink, cli::RepeatWording::kMoreLikeIt);
  }
};

struct Outputs {
  Format format = Format::kSvg;
  std::string output;  // "" = stdout
  bool json = false;   // top
  std::size_t top_n = 20;
};

// Whether the symbolizer may merge identical samples (Options::aggregate): folded stacks, flame
// graphs and tables need one entry per distinct stack, not per sample. Not for perf-script
// text (every sample printed), nor for off-CPU time: each sched_switch sample is weighted by
// its own switch-out -> switch-in interval after symbolizing, and a merged sample keeps only
// the first one's time, so every further sleep of the same stack was lost (issue 14 item 3).
bool aggregate_samples(Format format, bool off_cpu) {
  // speedscope: every sample, in time order (its time-order view).
  // html: every sample with its own time, CPU and thread.
  return format != Format::kPerfScript && format != Format::kSpeedscope &&
         format != Format::kHtml && !off_cpu;
}

// --format html and --time-range need every sample with its own time (no merging); the page
// draws on-CPU samples only.
Result<void> check_html(Format format, bool off_cpu, const folder::Options& fopt,
                        symbolizer::Options& sopt, const std::string& output) {
  if (fopt.time_range) sopt.aggregate = false;
  if (format != Format::kHtml) return ok();
  if (off_cpu) return Error{Errc::kUsage, "--format html draws on-CPU samples: drop --off-cpu"};
  return cli::check_not_terminal(output, "an HTML page", "out.html");
}

// The command the explorer page shows for a selection: this one, named `profile`.
std::string page_command(std::vector<std::string> words) {
  if (!words.empty()) words[0] = "profile";
  return selection_command(words);
}

// Produces the requested output from symbolized samples.
Result<std::string> produce(const symbolizer::Symbolizer& sym, Format format, folder::Options fopt,
                            renderer::Options ropt, const std::vector<std::string>& event_names,
                            const OffCpuTracker* off_cpu, WarningSink* warnings) {
  std::string out;
  if (format == Format::kPerfScript) {
    symbolizer::ScriptFormat sf;
    sym.for_each_sample(
        [&](const StackSampleView& s) { symbolizer::append_perf_script(out, s, sf); });
    if (out.empty()) return Error{Errc::kNoData, "no samples were captured"};
    return out;
  }
  std::vector<std::string> drawn = event_names;
  if (!off_cpu) {
    auto chosen = choose_events(event_names, fopt);
    if (!chosen) return chosen.error();
    drawn = std::move(*chosen);
  }
  folder::FoldedCounts counts;
  if (off_cpu) {
    if (auto why = off_cpu->problem(); !why.empty()) return Error{Errc::kNoData, why};
    OffCpuStats st;
    counts = fold_off_cpu(sym, *off_cpu, fopt, warnings, &st);
    if (counts.empty())
      return Error{Errc::kNoData, "no off-CPU time found: " + std::to_string(st.switches) +
                                      " context switches, none of a task seen running again "
                                      "before the capture ended (a -p/-t/-- CMD capture "
                                      "needs --switch-events, or record with -a)"};
  } else {
    counts = fold_samples(sym, fopt, warnings);
  }
  if (counts.empty()) return Error{Errc::kNoData, "no stacks found in the capture"};
  if (format == Format::kFolded) return counts.to_string();
  auto labels = labels_for_events(drawn, off_cpu != nullptr);
  if (ropt.title.empty()) ropt.title = labels.title;
  if (ropt.subtitle.empty()) ropt.subtitle = labels.subtitle;
  if (ropt.count_name == "samples") ropt.count_name = labels.count_name;
  if (fopt.per_event) ropt.towers = event_towers(drawn);
  auto stats = render_counts(counts, ropt, out, warnings);
  if (!stats) return stats.error();
  return out;
}

// One line on a terminal, rewritten in place: time left (or elapsed), samples, lost.
collector::ProgressFn terminal_progress(std::optional<std::chrono::nanoseconds> duration) {
  if (!isatty(STDERR_FILENO)) return {};
  return [duration](const collector::Progress& p) {
    double el = std::chrono::duration<double>(p.elapsed).count();
    char line[160];
    if (duration) {
      double left = std::chrono::duration<double>(*duration).count() - el;
      std::snprintf(line, sizeof line,
                    "\rprofile: %5.1fs left, %llu samples, %llu lost (Ctrl-C ends early)   ",
                    left > 0 ? left : 0.0, static_cast<unsigned long long>(p.samples),
                    static_cast<unsigned long long>(p.lost));
    } else {
      std::snprintf(
          line, sizeof line, "\rprofile: %5.1fs, %llu samples, %llu lost (Ctrl-C ends)   ", el,
          static_cast<unsigned long long>(p.samples), static_cast<unsigned long long>(p.lost));
    }
    ssize_t ignored = ::write(STDERR_FILENO, line, std::strlen(line));
    (void)ignored;
  };
}

void clear_progress_line() {
  if (isatty(STDERR_FILENO)) {
    const char clear[] = "\r\033[K";
    ssize_t ignored = ::write(STDERR_FILENO, clear, sizeof clear - 1);
    (void)ignored;
  }
}

struct LiveCapture {
  std::unique_ptr<symbolizer::Symbolizer> sym;
  std::vector<std::string> event_names;
  collector::RunStats stats;
  CaptureInfo info;
};

// Records with `sampling` and symbolizes in memory; with `save`, also writes perf.data there
// and then, as `profile record` does, copies the objects hit into perf's build-id cache at
// `buildid_cache` ("" = not).
Result<LiveCapture> capture(const collector::SamplingRequest& sampling,
                            const symbolizer::Options& sopt, const std::string& save,
                            const std::string& buildid_cache,
                            const std::vector<std::string>& cmdline, Reporter& rep,
                            OffCpuTracker* off_cpu = nullptr) {
  collector::install_stop_signals();
  auto col = collector::Collector::open(sampling.options, &rep.sink);
  if (!col) return col.error();
  std::unique_ptr<perf::PerfDataWriter> writer;
  if (!save.empty()) {
    perf::PerfDataWriter::Options wopt;
    wopt.features.cmdline = cmdline;
    wopt.features.tracing_data = (*col)->tracing_data();
    auto w = perf::PerfDataWriter::create(save, (*col)->attrs(), wopt);
    if (!w) return w.error();
    writer = std::move(*w);
  }
  LiveCapture cap;
  cap.sym = std::make_unique<symbolizer::Symbolizer>(sopt, &rep.sink);
  CaptureSink sink(*cap.sym, writer.get(), off_cpu, (*col)->tracing_data());
  if (!buildid_cache.empty()) sink.keep_hit_files();
  collector::set_signal_target(col->get());
  timespec wall;
  ::clock_gettime(CLOCK_REALTIME, &wall);
  const auto started = std::chrono::steady_clock::now();
  auto stats =
      (*col)->run(sampling.stop, sink,
                  rep.quiet ? collector::ProgressFn{} : terminal_progress(sampling.stop.duration));
  collector::set_signal_target(nullptr);
  clear_progress_line();
  if (writer) {
    Result<void> ids = stats ? sink.add_build_ids() : ok();
    auto fin = writer->finish();
    if (!fin || !stats || !ids) {
      const Error& e = !stats ? stats.error() : !ids ? ids.error() : fin.error();
      if (writer->bytes_written() == 0) return e;
      return Error{e.code, e.message + " ('" + save +
                               "' is incomplete: it holds what was "
                               "captured up to here)"};
    }
    sink.cache_build_ids(buildid_cache, &rep.sink);
  }
  if (!stats) return stats.error();
  cap.stats = *stats;
  PROF_TRY(sink.finish());
  cap.event_names = sink.event_names();
  cap.info.event_names = cap.event_names;
  cap.info.attrs = (*col)->attrs();
  cap.info.start_unix_ns = static_cast<std::uint64_t>(wall.tv_sec) * 1000000000ull +
                           static_cast<std::uint64_t>(wall.tv_nsec);
  cap.info.duration_ns =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count());
  if (!rep.quiet) {
    if (auto hint = collector::lost_samples_hint(*stats); !hint.empty()) cli::print_warning(hint);
  }
  return cap;
}

// A capture that found no samples at all usually watched a program that hardly ran: it slept,
// waited for I/O or a lock, or ended before the first sample. Say where to look instead.
Error explain_no_samples(Error e, const collector::RunStats& stats,
                         const collector::SamplingRequest& req,
                         const std::vector<std::string>& command) {
  if (e.code != Errc::kNoData || stats.samples > 0) return e;
  std::string who = command.empty() ? "the target" : "'" + command.front() + "'";
  std::string rate = req.options.period ? "-c " + std::to_string(req.options.period)
                                        : std::to_string(req.options.frequency) + " Hz";
  return Error{Errc::kNoData,
               "no samples were captured: " + who + " used too little CPU to be sampled at " +
                   rate +
                   ". If it mostly waits (sleep, I/O, locks), --off-cpu draws where it "
                   "waited; for short CPU bursts raise -F or capture for longer"};
}

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

// argv[0] is the subcommand's name ("top"), or "profile" for the all-in-one.
std::vector<std::string> command_line(int argc, char** argv) {
  std::vector<std::string> v;
  if (argc == 0 || std::string_view(argv[0]) != "profile") v.emplace_back("profile");
  v.insert(v.end(), argv, argv + argc);
  return cli::command_line(std::move(v));
}

}  // namespace

int pipeline_command(int argc, char** argv) {
  const auto cmdline = command_line(argc, argv);
  std::vector<std::string> command = collector::split_command(argc, argv);
  auto opts = pipeline_options();
  po::variables_map vm;
  if (auto rc = cli::parse(argc, argv, opts.all, opts.positional, vm, "")) return *rc;
  if (vm.count("help")) return cli::print_help(opts.visible, "");
  Reporter rep;
  rep.quiet = vm.count("quiet") > 0;
  rep.verbose = vm.count("verbose") > 0;
  const bool windows = wants_continuous(vm);
  const std::string format_word =
      windows && vm["format"].defaulted() ? "pprof" : vm["format"].as<std::string>();
  auto format = parse_format(format_word);
  if (!format) return cli::usage_error(format.error().message, "");
  auto req = collector::sampling_from(vm, command, /*call_graph_by_default=*/true);
  if (!req) return cli::usage_error(req.error().message, "");
  const bool off_cpu = vm.count("off-cpu") > 0;
  if (off_cpu) {
    if (vm.count("event"))
      return cli::usage_error("--off-cpu records sched:sched_switch itself: drop -e", "");
    req->options.events = {"sched:sched_switch"};
    // Per-task and cgroup targets only see their tasks' switch-outs, and system-wide captures
    // on this 6.18 VM miss the idle task's sched_switch samples on some CPUs (the switch that
    // runs a woken task): switch records give every switch-in either way.
    req->options.switch_events = true;
  }
  auto sopt = symbolizer::symbolizer_options_from(vm);
  if (!sopt) return cli::usage_error(sopt.error().message, "");
  sopt->aggregate = aggregate_samples(*format, off_cpu);
  std::string output = vm.count("output") ? vm["output"].as<std::string>() : "";
  // (Windows go to files or a server, never to a terminal: no check of stdout for them.)
  if (auto e = prepare_export(*format, off_cpu, *sopt, output); !e && !windows)
    return cli::usage_error(e.error().message, "");
  auto fopt = folder::folder_options_from(vm);
  if (!fopt) return cli::usage_error(fopt.error().message, "");
  if (auto h = check_html(*format, off_cpu, *fopt, *sopt, output); !h)
    return cli::usage_error(h.error().message, "");
  auto ropt = renderer::render_setup_from(vm, rep.sink);
  if (!ropt) return cli::usage_error(ropt.error().message, "");
  if (*format == Format::kSvg && !windows) {
    if (auto t = cli::check_svg_destination(output); !t) return cli::report_error(t.error());
  }
  // Our result goes to stdout: the command's own output must not land in it.
  req->options.command_stdout_to_stderr = output.empty() || output == "-";

  if (windows) {
    // Always-on: one capture, one profile per window (continuous.h).
    WindowFormatter formatter = [&](symbolizer::Symbolizer& s, const CaptureInfo& info) {
      return is_export(*format) ? export_profile(s, *format, info, joined(cmdline), nullptr)
                                : produce(s, *format, *fopt, (*ropt)->options, info.event_names,
                                          nullptr, &rep.sink);
    };
    int rc = continuous_command(vm, {*req, *sopt, format_word, formatter, &rep.sink, rep.quiet});
    rep.summarize();
    return rc;
  }
  if (auto c = cli::check_output(output); !c) return cli::report_error(c.error());
  OffCpuTracker tracker;
  auto cap = capture(*req, *sopt, vm.count("save") ? vm["save"].as<std::string>() : "",
                     collector::buildid_cache_dir(vm), cmdline, rep, off_cpu ? &tracker : nullptr);
  if (!cap) return cli::report_error(cap.error());
  if (auto r = apply_time_range(cap->sym->profile(), fopt->time_range); !r)
    return cli::report_error(r.error());
  const std::string save = vm.count("save") ? vm["save"].as<std::string>() : "";
  auto result = *format == Format::kHtml
                    ? explorer_page(cap->sym->profile(), cap->event_names,
                                    save.empty() ? page_command(cmdline)
                                                 : selection_command({"profile", "report", save}))
                : is_export(*format)
                    ? export_profile(*cap->sym, *format, cap->info, joined(cmdline),
                                     off_cpu ? &tracker : nullptr)
                    : produce(*cap->sym, *format, *fopt, (*ropt)->options, cap->event_names,
                              off_cpu ? &tracker : nullptr, &rep.sink);
  if (!result && !off_cpu)
    return cli::report_error(explain_no_samples(result.error(), cap->stats, *req, command));
  if (!result) return cli::report_error(result.error());
  if (auto w = cli::write_output(output, *result); !w) return cli::report_error(w.error());
  if (auto saved = renderer::save_palette_map(**ropt); !saved)
    return cli::report_error(saved.error());
  rep.summarize();
  if (!rep.quiet) {
    auto s = cap->sym->summary();
    cli::print_notice("captured " + std::to_string(cap->stats.samples) + " samples" +
                      (cap->stats.lost ? ", lost " + std::to_string(cap->stats.lost) : "") + "; " +
                      std::to_string(s.locations) + " distinct addresses symbolized");
  }
  // Not exit_now(): the collector's teardown still has duties here (a workload it started).
  return collector::command_exit_status(cap->stats, rep.quiet);
}

namespace {
struct SymbolizedFile {
  std::unique_ptr<symbolizer::Symbolizer> first;  // the symbolized samples
  std::vector<std::string> second;                // event names by attr index
  CaptureInfo info;
};
}  // namespace

// perf.data -> symbolizer, shared by report, top and symbolize --folded.
static Result<SymbolizedFile> symbolize_file(const std::string& path,
                                             const symbolizer::Options& sopt, WarningSink* sink,
                                             OffCpuTracker* off_cpu = nullptr) {
  auto reader = perf::PerfDataReader::open(path, sink);
  if (!reader) return reader.error();
  auto sym = std::make_unique<symbolizer::Symbolizer>(sopt, sink);
  if (off_cpu) {
    // symbolize_perf_data's loop, with the off-CPU tracker shown every record on the way.
    symbolizer::RecordFeeder feeder((*reader)->decoder(), *sym, (*reader)->bytes_stable());
    perf::Record rec;
    for (;;) {
      auto more = (*reader)->next(rec);
      if (!more) return more.error();
      if (!*more) break;
      off_cpu->observe((*reader)->decoder(), rec);
      feeder.add(rec);
    }
    feeder.finish();
    sym->resolve();
  } else {
    auto r = symbolizer::symbolize_perf_data(**reader, *sym);
    if (!r) return r.error();
  }
  std::vector<std::string> names;
  for (const auto& a : (*reader)->attrs())
    names.push_back(a.name.empty() ? perf::event_name(a.attr) : a.name);
  SymbolizedFile out{std::move(sym), names, {}};
  out.info.event_names = std::move(names);
  out.info.attrs = (*reader)->attrs();
  file_times(path, (*reader)->features(), out.info);
  return out;
}

int report_command(int argc, char** argv) {
  auto opts = report_options();
  po::variables_map vm;
  if (auto rc = cli::parse(argc, argv, opts.all, opts.positional, vm, "report")) return *rc;
  if (vm.count("help")) return cli::print_help(opts.visible, "report");
  std::string path = "perf.data";
  if (vm.count("file")) {
    const auto& f = vm["file"].as<std::vector<std::string>>();
    if (f.size() > 1) return cli::usage_error("expected one perf.data file", "report");
    path = f[0];
  }
  Reporter rep;
  rep.quiet = vm.count("quiet") > 0;
  rep.verbose = vm.count("verbose") > 0;
  auto format = parse_format(vm["format"].as<std::string>());
  if (!format) return cli::usage_error(format.error().message, "report");
  auto sopt = symbolizer::symbolizer_options_from(vm);
  if (!sopt) return cli::usage_error(sopt.error().message, "report");
  const bool off_cpu = vm.count("off-cpu") > 0;
  sopt->aggregate = aggregate_samples(*format, off_cpu);
  std::string output = vm.count("output") ? vm["output"].as<std::string>() : "";
  if (auto e = prepare_export(*format, off_cpu, *sopt, output); !e)
    return cli::usage_error(e.error().message, "report");
  auto fopt = folder::folder_options_from(vm);
  if (!fopt) return cli::usage_error(fopt.error().message, "report");
  if (auto h = check_html(*format, off_cpu, *fopt, *sopt, output); !h)
    return cli::usage_error(h.error().message, "report");
  auto ropt = renderer::render_setup_from(vm, rep.sink);
  if (!ropt) return cli::usage_error(ropt.error().message, "report");
  if (*format == Format::kSvg) {
    if (auto t = cli::check_svg_destination(output); !t) return cli::report_error(t.error());
  }
  OffCpuTracker tracker;
  auto sym = symbolize_file(path, *sopt, &rep.sink, off_cpu ? &tracker : nullptr);
  if (!sym) return cli::report_error(sym.error());
  if (auto r = apply_time_range(sym->first->profile(), fopt->time_range); !r)
    return cli::report_error(r.error().with_context("'" + path + "'"));
  auto result =
      *format == Format::kHtml ? explorer_page(sym->first->profile(), sym->second,
                                               page_command(command_line(argc, argv)))
      : is_export(*format)
          ? export_profile(*sym->first, *format, sym->info, path, off_cpu ? &tracker : nullptr)
          : produce(*sym->first, *format, *fopt, (*ropt)->options, sym->second,
                    off_cpu ? &tracker : nullptr, &rep.sink);
  if (!result) return cli::report_error(result.error().with_context("'" + path + "'"));
  if (auto w = cli::write_output(output, *result); !w) return cli::report_error(w.error());
  if (auto saved = renderer::save_palette_map(**ropt); !saved)
    return cli::report_error(saved.error());
  rep.summarize();
  return cli::exit_now(cli::kExitOk);
}

int symbolize_command(int argc, char** argv) {
  // `--folded` and `--format folded|pprof|speedscope` join the folder or prof::interop, which
  // the symbolizer stage may not depend on: handled here, as `profile report`.
  std::string format;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      for (; i < argc; ++i) rest.push_back(argv[i]);
      break;
    }
    if (std::strcmp(argv[i], "--folded") == 0) {
      format = "folded";
      continue;
    }
    if (std::strcmp(argv[i], "--format") == 0 && i + 1 < argc &&
        std::strcmp(argv[i + 1], "perf-script") != 0) {
      format = argv[++i];
      continue;
    }
    if (std::strncmp(argv[i], "--format=", 9) == 0 && std::strcmp(argv[i] + 9, "perf-script")) {
      format = argv[i] + 9;
      continue;
    }
    // report takes the file as its positional word; --no-pid shapes only perf-script text.
    if (std::strcmp(argv[i], "--no-pid") == 0) continue;
    if ((std::strcmp(argv[i], "-i") == 0 || std::strcmp(argv[i], "--input") == 0) && i + 1 < argc)
      continue;
    if (std::strncmp(argv[i], "--input=", 8) == 0) {
      rest.push_back(argv[i] + 8);
      continue;
    }
    rest.push_back(argv[i]);
  }
  if (format.empty()) return symbolizer::symbolize_command(argc, argv);
  std::vector<char*> args{const_cast<char*>("report")};
  args.insert(args.end(), rest.begin() + 1, rest.end());
  std::string fmt = "--format=" + format;
  args.push_back(fmt.data());
  return report_command(static_cast<int>(args.size()), args.data());
}

// `profile top FILE` where FILE is a pprof profile or folded stacks (not perf.data): the tables
// from its stacks. nullopt when FILE is something else (perf.data, stdin), for the usual path.
static std::optional<int> top_of_profile_file(const std::string& file, const po::variables_map& vm,
                                              const folder::Options& fopt,
                                              const std::string& output, Reporter& rep) {
  const bool per_cpu = fopt.per_cpu;
  if (file == "-") return std::nullopt;
  auto in = InputFile::open(file);
  if (!in) return std::nullopt;  // the perf.data reader says why
  auto head = (*in)->peek(kSniffBytes);
  if (!head) return std::nullopt;
  const ContentKind kind = sniff_content(*head).kind;
  if (kind != ContentKind::kBinary && kind != ContentKind::kText) return std::nullopt;
  if (fopt.time_range)
    return cli::usage_error("--time-range needs sample times, which '" + file +
                                "' (pprof or folded stacks) does not keep: use perf.data",
                            "top");
  in->reset();
  interop::PprofReadOptions ropt;
  if (vm.count("sample-index")) ropt.sample_index = vm["sample-index"].as<std::string>();
  auto loaded = interop::load_profile(file, ropt, &rep.sink);
  if (!loaded) return cli::report_error(loaded.error());
  const Profile& p = loaded->profile;
  std::vector<StringId> events;
  bool all_comm = !p.samples().empty();
  for (const Sample& s : p.samples()) {
    if (std::find(events.begin(), events.end(), s.event) == events.end()) events.push_back(s.event);
    all_comm = all_comm && s.comm != 0;
  }
  if (events.size() > 1)
    return cli::usage_error("'" + file + "' holds samples of " + std::to_string(events.size()) +
                                " events: choose one with --sample-index",
                            "top");
  const std::string folded = interop::to_folded(p, {.comm = true, .per_cpu = per_cpu});
  FoldedData data = parse_folded(folded);
  if (data.lines.empty())
    return cli::report_error(Error{Errc::kNoData, "'" + file + "': no stacks"});
  std::vector<FoldedStack> stacks;
  for (const auto& l : data.lines) stacks.push_back(FoldedStack{std::string(l.stack), l.count()});
  TopOptions topt;
  topt.per_cpu = per_cpu;
  // Folded stacks start with the process name (stackcollapse-perf.pl's and ours).
  topt.has_process_frame = loaded->format == interop::InputFormat::kFolded || all_comm;
  topt.limit = vm["lines"].as<std::size_t>();
  auto tables = compute_top(stacks, topt);
  std::string count_name = "samples";
  if (!events.empty() && events[0] != 0) {
    const EventType* e = p.event_type(events[0]);
    std::string_view unit = e ? p.str(e->unit) : std::string_view();
    count_name = unit == "nanoseconds" ? "ns" : event_unit(std::string(p.str(events[0])));
  }
  std::ostringstream text;
  if (vm.count("json")) print_top_json(tables, count_name, text);
  else print_top_text(tables, count_name, text);
  if (auto w = cli::write_output(output, text.str()); !w) return cli::report_error(w.error());
  rep.summarize();
  return cli::kExitOk;
}

int top_command(int argc, char** argv) {
  const auto cmdline = command_line(argc, argv);
  std::vector<std::string> command = collector::split_command(argc, argv);
  po::options_description sampling("Live capture instead of a file (as 'profile record')");
  collector::add_sampling_options(sampling);
  po::options_description general(
      "Usage: profile top [perf.data] [options]\n"
      "       profile top -a DURATION [sampling options] [-- CMD]\n\n"
      "The hottest functions by self and total weight, overall and (--per-cpu) per CPU.\n"
      "Reads perf.data (default ./perf.data), a pprof profile or folded stacks, or captures\n"
      "live when a sampling option, a DURATION or -- CMD is given.\n\nOptions");
  general.add_options()("help,h", "show this help")("per-cpu", "also one table per CPU")(
      "lines,n", po::value<std::size_t>()->default_value(20), "rows per table (0 = all)")(
      "json", "machine-readable output")(
      "event-filter", po::value<std::string>()->value_name("EVENT"),
      "only samples of EVENT (default: every event; several get one set of tables each)")(
      "kallsyms", po::value<std::string>(),
      "kernel symbols from this file (default /proc/kallsyms)")(
      "inline", "count inlined functions as their own frames")(
      "time-range", po::value<std::string>()->value_name("A,B"),
      "only the samples from A to B seconds after the capture's first sample (default: all)")(
      "sample-index", po::value<std::string>()->value_name("TYPE"),
      "a pprof file: the sample type to rank by (as 'profile render --sample-index')")(
      "output,o", po::value<std::string>()->value_name("FILE"),
      "write the tables here (default: stdout)")("quiet,q", "print nothing but errors")(
      "verbose,v", "print every warning, not one per kind");
  po::options_description visible;
  visible.add(general).add(sampling);
  po::options_description all;
  all.add(visible).add_options()("positional", po::value<std::vector<std::string>>(), "");
  po::positional_options_description pos;
  pos.add("positional", -1);
  po::variables_map vm;
  if (auto rc = cli::parse(argc, argv, all, pos, vm, "top")) return *rc;
  if (vm.count("help")) return cli::print_help(visible, "top");
  Reporter rep;
  rep.quiet = vm.count("quiet") > 0;
  rep.verbose = vm.count("verbose") > 0;
  if (rep.quiet && rep.verbose)
    return cli::usage_error("--quiet and --verbose exclude each other", "top");
  const std::string output = vm.count("output") ? vm["output"].as<std::string>() : "";
  if (auto c = cli::check_output(output); !c) return cli::report_error(c.error());
  symbolizer::Options sopt;
  if (vm.count("kallsyms")) sopt.kallsyms = vm["kallsyms"].as<std::string>();
  sopt.inline_frames = vm.count("inline") > 0;
  folder::Options fopt;
  if (vm.count("time-range")) {
    auto r = parse_time_range(vm["time-range"].as<std::string>());
    if (!r) return cli::usage_error(r.error().message, "top");
    fopt.time_range = *r;
  }
  sopt.aggregate = !fopt.time_range;  // a merged sample keeps only its first time
  fopt.per_cpu = vm.count("per-cpu") > 0;
  if (vm.count("event-filter")) {
    fopt.event_filter = vm["event-filter"].as<std::string>();
    if (fopt.event_filter.empty())
      return cli::usage_error("--event-filter needs an event name", "top");
  }

  // A positional word that parses as a duration means live capture; otherwise a file.
  std::string file;
  bool live = !command.empty() || collector::has_sampling_option(vm);
  std::vector<std::string> words;
  if (vm.count("positional")) words = vm["positional"].as<std::vector<std::string>>();
  if (!live && !words.empty() && !collector::looks_like_duration(words[0])) {
    if (words.size() > 1) return cli::usage_error("expected one perf.data file", "top");
    file = words[0];
  } else if (!words.empty()) {
    live = true;
  }
  std::unique_ptr<symbolizer::Symbolizer> sym;
  std::vector<std::string> names;
  std::optional<collector::SamplingRequest> live_req;
  collector::RunStats live_stats;
  if (live) {
    po::variables_map live_vm = vm;
    if (!words.empty()) live_vm.insert_or_assign("duration", po::variable_value(words, false));
    auto req = collector::sampling_from(live_vm, command);
    if (!req) return cli::usage_error(req.error().message, "top");
    // The table goes to stdout unless -o: the command's own output must not land in it.
    req->options.command_stdout_to_stderr = output.empty() || output == "-";
    auto cap = capture(*req, sopt, "", "", cmdline, rep);
    if (!cap) return cli::report_error(cap.error());
    sym = std::move(cap->sym);
    names = cap->event_names;
    live_stats = cap->stats;
    live_req = std::move(*req);
  } else {
    if (file.empty()) file = "perf.data";
    if (auto profile = top_of_profile_file(file, vm, fopt, output, rep)) return *profile;
    auto s = symbolize_file(file, sopt, &rep.sink);
    if (!s) return cli::report_error(s.error());
    sym = std::move(s->first);
    names = s->second;
  }
  if (auto r = apply_time_range(sym->profile(), fopt.time_range); !r)
    return cli::report_error(r.error());
  auto drawn = choose_events(names, fopt);
  if (!drawn) return cli::report_error(drawn.error());
  auto counts = fold_samples(*sym, fopt, &rep.sink);
  if (counts.empty()) {
    Error none{Errc::kNoData, "no stacks found"};
    return cli::report_error(live_req ? explain_no_samples(none, live_stats, *live_req, command)
                                      : none);
  }
  std::vector<FoldedStack> stacks;
  for (const auto& [stack, n] : counts.sorted())
    stacks.push_back(FoldedStack{std::string(stack), static_cast<double>(n)});
  TopOptions topt;
  topt.per_cpu = fopt.per_cpu;
  topt.per_event = fopt.per_event;
  topt.limit = vm["lines"].as<std::size_t>();
  auto tables = compute_top(stacks, topt);
  auto labels = labels_for_events(*drawn, false);
  auto unit = [](const std::string& event) { return event_unit(event); };
  std::ostringstream text;
  if (vm.count("json")) print_top_json(tables, labels.count_name, text, unit);
  else print_top_text(tables, labels.count_name, text, unit);
  if (auto w = cli::write_output(output, text.str()); !w) return cli::report_error(w.error());
  rep.summarize();
  if (!std::cout) return cli::kExitRuntime;
  return live ? collector::command_exit_status(live_stats, rep.quiet) : cli::kExitOk;
}

}  // namespace prof::app

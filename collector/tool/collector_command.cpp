#include "collector_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "prof/cli/help.h"
#include "prof/cli/support.h"
#include "prof/collector/advice.h"
#include "prof/collector/collector.h"
#include "prof/collector/events.h"
#include "prof/collector/parse.h"
#include "prof/common/perf_data.h"
#include "prof/common/unique_fd.h"

namespace prof::collector {
namespace {

namespace po = boost::program_options;

// The signal handler's only way to the capture: request_stop() is async-signal-safe. A signal
// that arrives while the events are still being opened is remembered and honoured by run().
std::atomic<Collector*> g_active{nullptr};
std::atomic<bool> g_stop_early{false};

extern "C" void on_stop_signal(int) {
  if (Collector* c = g_active.load()) c->request_stop();
  else g_stop_early.store(true);
}

// SIGINT/SIGTERM end the capture cleanly; no SA_RESTART so epoll_wait wakes at once. SIGPIPE is
// ignored so that a closed pipe (`-o - | head`) is a write error we report, not a silent death.
void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

std::vector<std::string> split_command(int& argc, char** argv) {
  std::vector<std::string> cmd;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      for (int j = i + 1; j < argc; ++j) cmd.emplace_back(argv[j]);
      argc = i;
      break;
    }
  }
  return cmd;
}

namespace {

Result<void> parse_call_graph(const std::string& mode, Options& opt) {
  if (mode == "fp") {
    opt.call_graph = CallGraph::kFramePointer;
    return ok();
  }
  if (mode == "dwarf" || mode.rfind("dwarf,", 0) == 0) {
    opt.call_graph = CallGraph::kDwarf;
    if (mode.size() > 6) {
      std::string size = mode.substr(6);
      char* end = nullptr;
      unsigned long long v = std::strtoull(size.c_str(), &end, 10);
      if (size.empty() || *end != '\0' || v == 0 || v > 65528)
        return Error{Errc::kUsage,
                     "--call-graph dwarf," + size + ": the stack size must be 8 to 65528 bytes"};
      opt.dwarf_stack_size = static_cast<std::uint32_t>(v);
    }
    return ok();
  }
  return Error{Errc::kUsage, "--call-graph '" + mode + "': expected fp or dwarf[,SIZE]"};
}

// The writer fills hostname, release, arch and CPU counts from this system; the command line
// is ours to give.
perf::Features capture_features(int argc, char** argv) {
  perf::Features f;
  std::vector<std::string> words{"profile"};
  words.insert(words.end(), argv, argv + argc);
  f.cmdline = cli::command_line(std::move(words));
  return f;
}

std::string human_bytes(std::uint64_t b) {
  std::ostringstream ss;
  ss << std::fixed << std::setprecision(2);
  if (b >= (1u << 20)) ss << static_cast<double>(b) / (1 << 20) << " MB";
  else ss << static_cast<double>(b) / 1024 << " kB";
  return ss.str();
}

// The output: opened before any event is so an unwritable path fails fast; a regular file is
// removed again when the capture fails before writing anything useful. Devices (`-o /dev/null`,
// `/dev/full`) and pipes are never removed.
struct Output {
  std::string path;        // "-" = stdout
  int fd = -1;             // stdout, or owned's
  UniqueFd owned;          // what we opened
  bool removable = false;  // a regular file we created or truncated

  Result<void> open_file() {
    if (path == "-") {
      if (isatty(STDOUT_FILENO))
        return Error{Errc::kUsage,
                     "'-': refusing to write binary perf.data to a terminal; "
                     "redirect stdout or use -o FILE"};
      fd = STDOUT_FILENO;
      return ok();
    }
    owned.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    fd = owned.get();
    if (fd < 0) {
      int err = errno;
      return Error{Errc::kIo, "'" + path + "': cannot create the output: " + std::strerror(err) +
                                  (err == EMFILE ? " (raise the limit with 'ulimit -n')" : "")};
    }
    struct stat st {};
    removable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    return ok();
  }
  void close_fd() { owned.reset(); }
  void discard() {
    close_fd();
    if (removable) ::unlink(path.c_str());
    removable = false;
  }
};

}  // namespace

void add_sampling_options(po::options_description& opts, bool call_graph_by_default) {
  opts.add_options()("all-cpus,a", "sample every CPU (the default target)")(
      "cpu,C", po::value<std::string>()->value_name("LIST"), "only these CPUs, e.g. 0,2-3")(
      "pid,p", po::value<std::string>()->value_name("PID,..."),
      "these processes (with their threads and children)")(
      "tid,t", po::value<std::string>()->value_name("TID,..."), "these threads only")(
      "cgroup,G", po::value<std::string>()->value_name("PATH"),
      "tasks in this cgroup v2 directory (absolute, or relative to the cgroup2 mount)")(
      "freq,F", po::value<std::uint64_t>()->default_value(99)->value_name("HZ"),
      "samples per second per CPU")("count,c", po::value<std::uint64_t>()->value_name("N"),
                                    "sample every N events instead of -F")(
      "event,e", po::value<std::vector<std::string>>()->value_name("EVENT"),
      "event to sample, repeatable (default: cycles, or cpu-clock without a hardware PMU); "
      "see 'profile list'")(",g", "frame-pointer call graphs (kernel and user)")(
      "call-graph", po::value<std::string>()->value_name("MODE"),
      "fp, or dwarf[,SIZE]: user registers + SIZE bytes of stack (default 8192)");
  if (call_graph_by_default)
    opts.add_options()("no-call-graph",
                       "no call graphs: each sample is its leaf function alone (default here: "
                       "-g, as bcc's profile; 'profile record' keeps perf's default, none)");
  opts.add_options()("user-stacks,U", "user-space stacks only")("kernel-stacks,K",
                                                                "kernel stacks only")(
      "mmap-pages,m", po::value<std::size_t>()->value_name("PAGES"),
      "ring buffer pages per CPU, a power of two (default: sized for -F, 128 to 4096; 512 "
      "at least with dwarf; within kernel.perf_event_mlock_kb unless root)")(
      "buildid-mmap",
      "ask the kernel for build ids in MMAP2 records (default: off, as in perf: on Linux "
      "up to at least 6.18 the flag leaks into other sessions' MMAP2 records and crashes a "
      "concurrent 'perf record')")(
      "switch-events",
      "record when each task is switched in and out (PERF_RECORD_SWITCH, as perf record "
      "--switch-events; default off); 'profile report --off-cpu' needs it for -p/-t/-- CMD "
      "captures, whose sched_switch samples show only their tasks leaving the CPU");
}

void add_buildid_cache_option(po::options_description& opts) {
  opts.add_options()("no-buildid-cache,N",
                     "do not copy the objects with samples into perf's build-id cache "
                     "($HOME/.debug) at the end (default: copy them, as perf record does, so "
                     "that a binary rebuilt after the capture still reads as it was)");
}

std::string buildid_cache_dir(const po::variables_map& vm) {
  if (vm.count("no-buildid-cache")) return "";
  const char* home = std::getenv("HOME");
  return home && *home ? std::string(home) + "/.debug" : std::string();
}

int command_exit_status(const RunStats& stats, bool quiet) {
  // Ended by DURATION or by Ctrl-C/SIGTERM to us: the capture is what was asked for, and the
  // command's status (SIGTERM from us, or the terminal's SIGINT that reached it too) is ours.
  if (!stats.command_status || stats.command_stopped || stats.stopped_by_request)
    return cli::kExitOk;
  const int status = *stats.command_status;
  std::string what;
  int code = 0;
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    what = "the command was killed by signal " + std::to_string(sig) +
           (name ? std::string(" (SIG") + name + ")" : std::string());
    code = 128 + sig;
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    code = WEXITSTATUS(status);
    what = "the command exited with status " + std::to_string(code);
  }
  if (!quiet && code != 0) cli::print_notice(what + "; profile exits with " + std::to_string(code));
  return code;
}

bool has_sampling_option(const po::variables_map& vm) {
  for (const char* name : {"all-cpus", "cpu", "pid", "tid", "cgroup", "count", "event", "-g",
                           "call-graph", "user-stacks", "kernel-stacks", "mmap-pages"})
    if (vm.count(name)) return true;
  return !vm["freq"].defaulted();
}

bool looks_like_duration(std::string_view word) { return bool(parse_duration(word)); }

Result<SamplingRequest> sampling_from(const po::variables_map& vm,
                                      const std::vector<std::string>& command,
                                      bool call_graph_by_default) {
  auto usage = [](std::string m) { return Error{Errc::kUsage, std::move(m)}; };
  SamplingRequest req;
  Options& opt = req.options;
  if (vm.count("duration")) {
    const auto& words = vm["duration"].as<std::vector<std::string>>();
    if (words.size() > 1)
      return usage("unexpected argument '" + words[1] + "' (a command to profile goes after '--')");
    auto d = parse_duration(words[0]);
    if (!d) return usage(d.error().message);
    req.stop.duration = *d;
  }
  int targets =
      (vm.count("pid") ? 1 : 0) + (vm.count("tid") ? 1 : 0) + (vm.count("cgroup") ? 1 : 0);
  if (targets > 1) return usage("choose one target: -p, -t or -G");
  if (!command.empty() && (vm.count("pid") || vm.count("tid")))
    return usage("a command after '--' cannot be combined with -p or -t");
  if (vm.count("cpu")) {
    auto c = parse_cpu_list(vm["cpu"].as<std::string>());
    if (!c) return usage(c.error().message);
    opt.cpus = *c;
    opt.target = Target::kCpus;
  }
  if (vm.count("pid") || vm.count("tid")) {
    bool threads = vm.count("tid") > 0;
    auto p = parse_pid_list(vm[threads ? "tid" : "pid"].as<std::string>());
    if (!p) return usage(p.error().message);
    opt.pids = *p;
    opt.target = threads ? Target::kTids : Target::kPids;
  }
  if (vm.count("cgroup")) {
    opt.cgroup = vm["cgroup"].as<std::string>();
    opt.target = Target::kCgroup;
  }
  if (!command.empty()) {
    // With -a, -C or -G the command only bounds the capture, as in `perf record -a -- sleep 5`.
    opt.command = command;
    if (!vm.count("all-cpus") && !vm.count("cpu") && !vm.count("cgroup"))
      opt.target = Target::kCommand;
  }
  opt.frequency = vm["freq"].as<std::uint64_t>();
  if (vm.count("count")) {
    opt.period = vm["count"].as<std::uint64_t>();
    if (opt.period == 0) return usage("-c must be at least 1");
  }
  if (vm.count("event")) opt.events = vm["event"].as<std::vector<std::string>>();
  if (vm.count("no-call-graph") && (vm.count("-g") || vm.count("call-graph")))
    return usage("--no-call-graph excludes -g and --call-graph");
  if (vm.count("-g") || (call_graph_by_default && !vm.count("no-call-graph")))
    opt.call_graph = CallGraph::kFramePointer;
  if (vm.count("call-graph")) PROF_TRY(parse_call_graph(vm["call-graph"].as<std::string>(), opt));
  if (vm.count("user-stacks") && vm.count("kernel-stacks"))
    return usage("-U and -K exclude each other");
  if (vm.count("user-stacks")) opt.stack_scope = StackScope::kUserOnly;
  if (vm.count("kernel-stacks")) opt.stack_scope = StackScope::kKernelOnly;
  if (vm.count("mmap-pages")) {
    opt.mmap_pages = vm["mmap-pages"].as<std::size_t>();
    if (opt.mmap_pages == 0) return usage("-m must be a power of two, at least 1");
  }
  opt.build_ids = vm.count("buildid-mmap") > 0;
  opt.switch_events = vm.count("switch-events") > 0;
  return req;
}

void install_stop_signals() { install_signal_handlers(); }

void set_signal_target(Collector* collector) {
  g_active.store(collector);
  if (collector && g_stop_early.load()) collector->request_stop();
}

int record_command(int argc, char** argv) {
  const int full_argc = argc;  // for the CMDLINE feature, command included
  std::vector<std::string> command = split_command(argc, argv);
  po::options_description opts(
      "Usage: profile record [options] [DURATION] [-- CMD ARGS...]\n\n"
      "Samples with perf_event_open and writes perf.data (read it with 'profile report',\n"
      "'profile symbolize', 'perf script' or hotspot). DURATION: 60s, 500ms, 2m, or seconds;\n"
      "without it, until CMD exits or Ctrl-C. Default target: all CPUs; with -- CMD and no\n"
      "-a/-C/-G, only CMD and its children (with -a/-C/-G, CMD just bounds the capture).\n"
      "Exits with CMD's status (128+N for signal N); with -o -, CMD's stdout goes to stderr.\n\n"
      "Options");
  opts.add_options()("help,h", "show this help")(
      "output,o", po::value<std::string>()->default_value("perf.data")->value_name("FILE"),
      "output file; '-' writes pipe-mode perf.data to stdout")("quiet,q",
                                                               "print nothing but errors");
  add_buildid_cache_option(opts);
  add_sampling_options(opts);
  po::options_description all;
  all.add(opts).add_options()("duration", po::value<std::vector<std::string>>(), "duration");
  po::positional_options_description pos;
  pos.add("duration", -1);
  po::variables_map vm;
  if (auto rc = cli::parse(argc, argv, all, pos, vm, "record")) return *rc;
  if (vm.count("help")) return cli::print_help(opts, "record");
  const bool quiet = vm.count("quiet") > 0;
  auto req = sampling_from(vm, command);
  if (!req) return cli::usage_error(req.error().message, "record");
  // Pipe-mode perf.data on stdout: the command's own output must not land in it.
  req->options.command_stdout_to_stderr = vm["output"].as<std::string>() == "-";
  const Options& opt = req->options;
  const StopCondition& stop = req->stop;

  // Notices about the setup are printed at once; warnings that may repeat (one per unreadable
  // process) are summarized at the end, once per kind.
  WarningSink warnings([quiet](std::string_view kind, std::string_view message) {
    if (!quiet && (kind == "event-fallback" || kind == "frequency-clamped"))
      cli::print_notice(message);
  });
  auto print_deferred_warnings = [&] {
    if (quiet) return;
    cli::print_warning_summary(warnings, cli::RepeatWording::kMoreLikeIt,
                               {"event-fallback", "frequency-clamped"});
  };

  // Handlers first: a SIGINT/SIGTERM between creating the output and installing them would end
  // the process the default way and leave an empty file behind (found by the reliability
  // suite's Signals.InterruptAtRandomMomentsEndsCleanly). A signal before the capture runs is
  // remembered and ends it at once.
  install_signal_handlers();
  Output out;
  out.path = vm["output"].as<std::string>();
  if (auto r = out.open_file(); !r) return cli::report_error(r.error());

  auto collector = Collector::open(opt, &warnings);
  if (!collector) {
    out.discard();
    return cli::report_error(collector.error());
  }
  perf::PerfDataWriter::Options wopt;
  wopt.pipe_mode = out.path == "-";
  wopt.features = capture_features(full_argc, argv);
  wopt.features.tracing_data = (*collector)->tracing_data();
  auto writer = perf::PerfDataWriter::create_fd(out.fd, out.path, (*collector)->attrs(), wopt);
  if (!writer) {
    out.discard();
    return cli::report_error(writer.error());
  }

  set_signal_target(collector->get());
  PerfDataSink sink(**writer);
  const std::string cache_dir = buildid_cache_dir(vm);
  if (!cache_dir.empty()) sink.keep_hit_files();
  auto stats = (*collector)->run(stop, sink);
  set_signal_target(nullptr);
  // The build-ids of the objects hit, so that a binary rebuilt before the capture is read is
  // recognised (perf record's build-id pass).
  Result<void> ids = stats ? sink.add_build_ids() : ok();
  auto finished = (*writer)->finish();
  out.close_fd();
  if (!stats || !ids || !finished) {
    const Error& e = !stats ? stats.error() : !ids ? ids.error() : finished.error();
    std::string where = out.path == "-" ? "the output stream" : "'" + out.path + "'";
    if (!out.removable || (*writer)->bytes_written() == 0) {
      out.discard();
      return cli::report_error(e);
    }
    return cli::report_error(Error{e.code, e.message + " (" + where +
                                               " is incomplete: it holds "
                                               "what was captured up to here)"});
  }
  // After the file is complete: perf record's build-id cache pass. Its problems are warnings.
  sink.cache_build_ids(cache_dir, &warnings);
  print_deferred_warnings();
  if (!quiet) {
    if (auto hint = lost_samples_hint(*stats); !hint.empty()) cli::print_warning(hint);
    for (const auto& c : stats->per_cpu) {
      if (c.throttled > 0)
        cli::print_warning("CPU " + std::to_string(c.cpu) + ": the kernel throttled sampling " +
                           std::to_string(c.throttled) +
                           " times (kernel.perf_cpu_time_max_percent): lower -F");
    }
    std::string dest = out.path == "-" ? "stdout" : "'" + out.path + "'";
    cli::print_notice("captured " + std::to_string(stats->samples) + " samples (" +
                      human_bytes((*writer)->bytes_written()) + ") to " + dest);
  }
  return command_exit_status(*stats, quiet);
}

int list_command(int argc, char** argv) {
  po::options_description opts(
      "Usage: profile list [FILTER]\n\n"
      "Events for -e: what libpfm4 knows for the PMUs present here (marked by whether this\n"
      "kernel opens them) and the tracepoints tracefs offers. FILTER keeps names containing "
      "it.\n\nOptions");
  opts.add_options()("help,h", "show this help")(
      "all", "also list events this kernel cannot open (default: available ones only)");
  po::options_description all;
  all.add(opts).add_options()("filter", po::value<std::string>(), "filter");
  po::positional_options_description pos;
  pos.add("filter", 1);
  po::variables_map vm;
  if (auto rc = cli::parse(argc, argv, all, pos, vm, "list")) return *rc;
  if (vm.count("help")) return cli::print_help(opts, "list");
  auto events = list_events(vm.count("filter") ? vm["filter"].as<std::string>() : "");
  if (!events) return cli::report_error(events.error());
  const bool show_all = vm.count("all") > 0;
  std::string group;
  std::size_t hidden = 0;
  for (const auto& e : *events) {
    if (!e.available && !show_all) {
      ++hidden;
      continue;
    }
    if (e.pmu != group) {
      group = e.pmu;
      std::cout << (group == "tracepoint" ? "\nTracepoints (tracefs):\n"
                                          : "\n" + group + " (libpfm4):\n");
    }
    std::cout << "  " << std::left << std::setw(40) << e.name;
    if (!e.available) std::cout << " [not supported here]";
    if (!e.description.empty()) std::cout << ' ' << e.description;
    std::cout << '\n';
  }
  if (tracefs_events_dir().empty()) {
    if (auto look = find_tracefs(); !look.denied.empty())
      std::cout << "\nTracepoints: " << tracefs_denied_message(look.denied) << '\n';
    else
      std::cout << "\nTracepoints: tracefs is not mounted (mount -t tracefs nodev "
                   "/sys/kernel/tracing to use them)\n";
  }
  if (hidden > 0)
    std::cout << '\n'
              << hidden << " more events are known to libpfm4 but this kernel cannot "
              << "open them (no hardware PMU?); 'profile list --all' shows them\n";
  return cli::kExitOk;
}

}  // namespace prof::collector

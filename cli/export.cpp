#include "export.h"

#include <linux/perf_event.h>
#include <sys/stat.h>

#include <algorithm>
#include <iostream>

#include "explorer.h"
#include "prof/cli/help.h"
#include "prof/cli/support.h"
#include "prof/interop/convert.h"
#include "prof/interop/pprof.h"
#include "prof/interop/speedscope.h"
#include "renderer_command.h"

#ifndef PROF_VERSION
#define PROF_VERSION "0.0.0"
#endif

namespace prof::app {

namespace po = boost::program_options;

void fill_profile_info(Profile& profile, const CaptureInfo& info) {
  ProfileInfo& pi = profile.info();
  pi.events.clear();
  for (std::size_t i = 0; i < info.event_names.size(); ++i) {
    EventType e;
    e.name = profile.intern(info.event_names[i]);
    e.unit = profile.intern(interop::unit_of_event(info.event_names[i]));
    if (i < info.attrs.size()) {
      const perf_event_attr& a = info.attrs[i].attr;
      if (a.freq) e.frequency = a.sample_freq;
      else e.period = a.sample_period;
    }
    pi.events.push_back(e);
  }
  pi.duration_ns = info.duration_ns;
  if (pi.duration_ns == 0) {
    std::uint64_t first = UINT64_MAX, last = 0;
    for (const Sample& s : profile.samples()) {
      if (s.time_ns == 0) continue;
      first = std::min(first, s.time_ns);
      last = std::max(last, s.time_ns);
    }
    if (last > first) pi.duration_ns = last - first;
  }
  pi.start_unix_ns = info.start_unix_ns;
  if (pi.start_unix_ns == 0 && info.end_unix_ns > pi.duration_ns)
    pi.start_unix_ns = info.end_unix_ns - pi.duration_ns;
}

void file_times(const std::string& path, const perf::Features& features, CaptureInfo& info) {
  if (features.sample_time_first && features.sample_time_last &&
      *features.sample_time_last >= *features.sample_time_first)
    info.duration_ns = *features.sample_time_last - *features.sample_time_first;
  struct stat st;
  if (path == "-" || ::stat(path.c_str(), &st) != 0) return;
  const std::uint64_t mtime = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000ull +
                              static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
  info.end_unix_ns = mtime;
}

namespace {

// What the counts of a profile read from pprof are: "ns" for nanoseconds, the event for
// other counts, "samples" for the samples column; "" for several events.
std::string count_name_of(const Profile& p) {
  StringId event = 0;
  for (const Sample& s : p.samples()) {
    if (s.event && event && s.event != event) return "";
    if (s.event) event = s.event;
  }
  if (!event) return "samples";
  const EventType* e = p.event_type(event);
  const std::string_view unit = e ? p.str(e->unit) : std::string_view();
  if (unit == "nanoseconds") return "ns";
  if (p.str(event) == "samples") return "samples";
  return std::string(p.str(event));
}

std::optional<Result<renderer::ForeignProfile>> pprof_as_folded(const std::string& bytes,
                                                                const std::string& name,
                                                                const std::string& sample_index) {
  using R = Result<renderer::ForeignProfile>;
  auto p = interop::read_pprof(bytes, {.sample_index = sample_index}, name);
  if (!p) {
    // Not pprof at all: the renderer's "binary data, neither ..." (checked only on failure, so
    // a good profile is parsed once).
    if (!interop::looks_like_pprof(bytes)) return std::nullopt;
    return R(p.error());
  }
  return R(renderer::ForeignProfile{interop::to_folded(*p), count_name_of(*p)});
}

}  // namespace

void install_pprof_input() { renderer::set_foreign_input(&pprof_as_folded); }

int merge_command(int argc, char** argv) {
  po::options_description opts(
      "Usage: profile merge [options] FILE... > merged\n\n"
      "Merges profiles — folded stacks and pprof (gzip or not; ours, Go's, Pyroscope's), in\n"
      "any mix — into one, exactly: counts add as integers, equal stacks, frames and labels\n"
      "become one, and the output depends only on the inputs' contents, not their order or\n"
      "grouping. One input converts it. Output: folded when every input is folded, else pprof.\n\n"
      "Options");
  opts.add_options()("help,h", "show this help")(
      "format", po::value<std::string>()->value_name("FMT"),
      "folded, pprof, speedscope or html (the explorer page)")(
      "output,o", po::value<std::string>()->value_name("FILE"), "write here (default: stdout)")(
      "sample-index", po::value<std::string>()->value_name("TYPE"),
      "pprof input: the one sample type to keep, by name or 0-based index (default: every "
      "sample's own event; profiles with other value columns: the default type)")(
      "quiet,q", "print nothing but errors")("verbose,v", "print every warning");
  po::options_description all;
  all.add(opts).add_options()("input", po::value<std::vector<std::string>>(), "input");
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  if (auto rc = cli::parse(argc, argv, all, pos, vm, "merge")) return *rc;
  if (vm.count("help")) return cli::print_help(opts, "merge");
  if (!vm.count("input")) return cli::usage_error("expected one or more profiles", "merge");
  const auto files = vm["input"].as<std::vector<std::string>>();
  std::string format = vm.count("format") ? vm["format"].as<std::string>() : "";
  if (!format.empty() && format != "folded" && format != "pprof" && format != "speedscope" &&
      format != "html")
    return cli::usage_error("--format '" + format + "': expected folded, pprof, speedscope or html",
                            "merge");
  const std::string output = vm.count("output") ? vm["output"].as<std::string>() : "";
  if (auto c = cli::check_output(output); !c) return cli::report_error(c.error());
  WarningSink sink([&](std::string_view, std::string_view m) {
    if (vm.count("verbose")) cli::print_warning(m);
  });
  interop::PprofReadOptions ropt;
  if (vm.count("sample-index")) ropt.sample_index = vm["sample-index"].as<std::string>();
  std::vector<Profile> inputs;
  bool all_folded = true;
  for (const std::string& f : files) {
    auto loaded = interop::load_profile(f, ropt, &sink);
    if (!loaded) return cli::report_error(loaded.error());
    all_folded = all_folded && loaded->format == interop::InputFormat::kFolded;
    inputs.push_back(std::move(loaded->profile));
  }
  if (format.empty()) format = all_folded ? "folded" : "pprof";
  if (format == "html") {
    if (auto t = cli::check_not_terminal(output, "an HTML page", "out.html"); !t)
      return cli::usage_error(t.error().message, "merge");
  }
  if (format == "pprof") {
    if (auto t = cli::check_not_terminal(output, "a pprof profile", "out.pb.gz"); !t)
      return cli::usage_error(t.error().message, "merge");
  }
  Profile merged = interop::merge(inputs);
  inputs.clear();
  std::string out;
  if (format == "folded") {
    out = interop::to_folded(merged);
  } else if (format == "html") {
    // Inputs without sample times (pprof, folded, speedscope) give a page without a heatmap.
    std::vector<std::string> events;
    for (const EventType& e : merged.info().events) events.emplace_back(merged.str(e.name));
    auto page = explorer_page(merged, events, "");
    if (!page) return cli::report_error(page.error());
    out = std::move(*page);
  } else if (format == "pprof") {
    auto bytes = interop::write_pprof(merged);
    if (!bytes) return cli::report_error(bytes.error());
    out = std::move(*bytes);
  } else {
    out = interop::write_speedscope(merged, {.name = files.size() == 1 ? files[0] : "merged",
                                             .exporter = "profile " PROF_VERSION});
  }
  if (auto w = cli::write_output(output, out); !w) return cli::report_error(w.error());
  if (!vm.count("quiet") && !vm.count("verbose"))
    cli::print_warning_summary(sink, cli::RepeatWording::kTimes);
  return cli::kExitOk;
}

}  // namespace prof::app

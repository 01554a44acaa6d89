// The `profile` executable: dispatches to the stage commands, or runs the all-in-one pipeline
// when the first argument is not a subcommand (`profile -a -g 60s > out.svg`).
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string_view>

#include "collector_command.h"
#include "commands.h"
#include "docgen.h"
#include "doctor.h"
#include "export.h"
#include "folder_command.h"
#include "prof/cli/support.h"
#include "renderer_command.h"
#include "version.h"

#ifndef PROF_VERSION
#define PROF_VERSION "0.0.0"
#endif

namespace {

using prof::app::Subcommand;

constexpr Subcommand kSubcommands[] = {
    {"record", prof::collector::record_command, "sample with perf_event_open -> perf.data"},
    {"symbolize", prof::app::symbolize_command, "perf.data -> perf script text (or --folded)"},
    {"fold", prof::folder::fold_command, "perf script text -> folded stacks"},
    {"render", prof::renderer::render_command, "folded stacks -> interactive SVG flame graph"},
    {"report", prof::app::report_command, "perf.data -> SVG (symbolize + fold + render)"},
    {"diff", prof::renderer::diff_command, "two folded files -> differential folded file"},
    {"merge", prof::app::merge_command, "folded and pprof files -> one profile (exact)"},
    {"top", prof::app::top_command, "hottest functions, overall and per CPU"},
    {"list", prof::collector::list_command, "events available on this machine"},
    {"doctor", prof::app::doctor_command, "what works on this machine and what to change"},
};

void print_help(std::ostream& out) {
  out << "profile " PROF_VERSION
         " — a Linux CPU profiler and flame-graph toolkit\n\n"
         "Usage:\n"
         "  profile [record options] [DURATION] [-- CMD ARGS...] [render options] > out.svg\n"
         "  profile SUBCOMMAND [options]\n\n"
         "Examples:\n"
         "  profile -a 60s > out.svg             every CPU, call graphs, 60 seconds\n"
         "  profile -- ./myprog arg > out.svg    one command, until it exits\n"
         "  perf script | profile fold | profile render > out.svg\n\n"
         "Subcommands:\n";
  for (const auto& s : kSubcommands) {
    out << "  " << s.name;
    for (std::size_t i = std::strlen(s.name); i < 11; ++i) out << ' ';
    out << s.summary << '\n';
  }
  out << "\n'profile help SUBCOMMAND' (or 'profile SUBCOMMAND --help') describes each one; "
         "'profile --help-all' lists the options of the all-in-one command.\n";
}

// glibc's allocator, tuned for a short-lived process that builds tables of tens to hundreds of
// MB: a heap backed by transparent huge pages (the kernel's THP mode here is "madvise", which
// glibc asks for with glibc.malloc.hugetlb=1), grown 64 MB at a time, never trimmed, and large
// blocks taken from it instead of from mmap. Page faults on fresh memory were a third of
// symbolizing a small capture and of rendering a large input: with these, 3,300 faults become
// 450, and the CPU time drops 40 % and 30 %. Tunables are read when the process starts, so the
// process starts itself again once with them; the second start takes them out of the
// environment again, so a profiled command (`-- CMD`) sees the environment we were given. A
// GLIBC_TUNABLES of the user's, PROF_NO_MALLOC_TUNING=1, or a failing exec leave things as
// they are.
constexpr const char* kTunedMark = "PROF_MALLOC_TUNED";
constexpr const char* kMallocTunables =
    "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:"
    "glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864";

// Sanitizer builds bring their own allocator, which the tunables do not reach: a restart would
// only double their slow start (long enough for a 0.5 s `-t` target to exit before we attach).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kOwnAllocator = true;
#else
constexpr bool kOwnAllocator = false;
#endif

void tune_malloc(char** argv) {
  if (kOwnAllocator) return;
  if (std::getenv(kTunedMark)) {  // the second start
    ::unsetenv("GLIBC_TUNABLES");
    ::unsetenv(kTunedMark);
    return;
  }
  if (std::getenv("GLIBC_TUNABLES") || std::getenv("PROF_NO_MALLOC_TUNING")) return;
  if (::setenv("GLIBC_TUNABLES", kMallocTunables, 1) != 0 || ::setenv(kTunedMark, "1", 1) != 0)
    return;
  ::execv("/proc/self/exe", argv);
  ::unsetenv("GLIBC_TUNABLES");  // no /proc, or no exec: run as we are
  ::unsetenv(kTunedMark);
}

// Commands that print a page and end (help, version, the documentation generator, doctor): not
// worth a second start for the allocator.
bool needs_no_tuning(int argc, char** argv) {
  if (argc < 2) return false;
  std::string_view first = argv[1];
  return first == "--version" || first == "-V" || first == "--help" || first == "-h" ||
         first == "help" || first == "--help-all" || first == "doctor" ||
         first.starts_with("--help-format=");
}

}  // namespace

int main(int argc, char** argv) {
  if (!needs_no_tuning(argc, argv)) tune_malloc(argv);
  std::ios::sync_with_stdio(false);
  prof::cli::remember_command_line(argc, argv);
  prof::app::install_pprof_input();
  if (argc >= 2) {
    std::string_view first = argv[1];
    if (first == "help" && argc >= 3) {
      // `profile help CMD` is `profile CMD --help`.
      for (const auto& s : kSubcommands) {
        if (std::string_view(argv[2]) != s.name) continue;
        char help[] = "--help";
        char* args[] = {argv[2], help, nullptr};
        return s.run(2, args);
      }
      return prof::cli::usage_error("unknown subcommand '" + std::string(argv[2]) + "'", "");
    }
    if (first == "--help" || first == "-h" || first == "help") {
      print_help(std::cout);
      return prof::cli::kExitOk;
    }
    if (first == "--help-all") {
      char name[] = "profile", help[] = "--help";
      char* args[] = {name, help, nullptr};
      return prof::app::pipeline_command(2, args);
    }
    if (first == "--version" || first == "-V") {
      std::cout << "profile " PROF_VERSION " (git " << prof::app::git_revision() << ")\n";
      return prof::cli::kExitOk;
    }
    if (first.starts_with("--help-format=")) {  // for the build: man pages and completions
      return prof::app::help_format_command(first.substr(14), kSubcommands, argc - 2, argv + 2);
    }
    for (const auto& s : kSubcommands) {
      if (first == s.name) return s.run(argc - 1, argv + 1);
    }
    // Not a subcommand: options, a duration (`10s`, `500ms`, `5`) or `--` go to the pipeline.
    bool looks_like_duration = !first.empty() && first[0] >= '0' && first[0] <= '9';
    if (first[0] != '-' && !looks_like_duration) {
      return prof::cli::usage_error("unknown subcommand '" + std::string(first) + "'", "");
    }
  }
  return prof::app::pipeline_command(argc, argv);
}

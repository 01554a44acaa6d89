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
#include "malloc_tuning.h"
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

}  // namespace

int main(int argc, char** argv) {
  prof::app::tune_malloc();
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

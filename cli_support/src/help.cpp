#include "prof/cli/help.h"

#include <cstring>
#include <iostream>

#include "prof/cli/support.h"

namespace prof::cli {
namespace {

HelpCapture* g_capture = nullptr;

// Each command's examples, shown under its --help and in the EXAMPLES section of its man page.
constexpr Example kPipeline[] = {
    {"profile -a 30s > out.svg", "every CPU with call graphs for 30 seconds, as a flame graph"},
    {"profile -F 999 -- ./myprog arg > out.svg", "one command and its children at 999 Hz"},
    {"profile -p 1234 10s --format pprof -o cpu.pb.gz", "a running process, for go tool pprof"},
};
constexpr Example kRecord[] = {
    {"profile record -a -g 10s", "every CPU with call graphs for 10 s into ./perf.data"},
    {"profile record -g -o run.data -- ./myprog", "one command until it exits, into run.data"},
    {"profile record -o - -a 5s | profile report - > out.svg", "pipe mode, straight to a graph"},
};
constexpr Example kSymbolize[] = {
    {"profile symbolize perf.data > out.perf", "perf script text from a capture"},
    {"profile symbolize --folded perf.data > out.folded", "folded stacks in one step"},
    {"profile symbolize --format pprof perf.data > cpu.pb.gz", "a pprof profile"},
};
constexpr Example kFold[] = {
    {"perf script | profile fold > out.folded", "perf's samples as folded stacks"},
    {"profile fold --per-process out.perf.gz > out.folded", "one tower per process"},
    {"profile fold --per-cpu out.perf > cpus.folded", "a cpu-N root frame per sample"},
};
constexpr Example kRender[] = {
    {"profile render out.folded > out.svg", "a flame graph from folded stacks"},
    {"profile render --title 'build' --inverted out.folded > icicle.svg", "an icicle graph"},
    {"profile render cpu.pb.gz > cpu.svg", "a flame graph from a pprof profile"},
};
constexpr Example kReport[] = {
    {"profile report > out.svg", "./perf.data as a flame graph"},
    {"profile report --format folded run.data > out.folded", "folded stacks of run.data"},
    {"profile report --off-cpu sched.data > offcpu.svg", "off-CPU time of a sched_switch capture"},
};
constexpr Example kDiff[] = {
    {"profile diff before.folded after.folded | profile render > diff.svg",
     "what grew (red) and shrank (blue)"},
    {"profile diff -n before.folded after.folded > diff.folded", "scale BEFORE to AFTER's total"},
};
constexpr Example kMerge[] = {
    {"profile merge a.folded b.folded > all.folded", "add two folded profiles"},
    {"profile merge host1.pb.gz host2.pb.gz -o all.pb.gz", "one pprof profile from several"},
    {"profile merge --format speedscope cpu.pb.gz -o cpu.json", "convert pprof to speedscope"},
};
constexpr Example kTop[] = {
    {"profile top", "hottest functions of ./perf.data"},
    {"profile top -a -g 5s --per-cpu", "sample every CPU for 5 s, one table per CPU too"},
    {"profile top --json -n 0 cpu.pb.gz", "every function of a pprof profile, as JSON"},
};
constexpr Example kList[] = {
    {"profile list", "the events this machine can sample"},
    {"profile list cache", "only those with 'cache' in their name"},
    {"profile list --all sched", "also events this kernel cannot open"},
};
constexpr Example kDoctor[] = {
    {"profile doctor", "what works here and what to change, one line per check"},
    {"sudo -u nobody profile doctor", "the same for an unprivileged user"},
};

struct Entry {
  std::string_view name;
  std::span<const Example> examples;
};
constexpr Entry kExamples[] = {
    {"", kPipeline},     {"record", kRecord}, {"symbolize", kSymbolize}, {"fold", kFold},
    {"render", kRender}, {"report", kReport}, {"diff", kDiff},           {"merge", kMerge},
    {"top", kTop},       {"list", kList},     {"doctor", kDoctor},
};

}  // namespace

std::span<const Example> examples(std::string_view subcommand) {
  for (const auto& e : kExamples)
    if (e.name == subcommand) return e.examples;
  return {};
}

int print_help(const boost::program_options::options_description& visible,
               std::string_view subcommand, std::ostream& out) {
  if (g_capture) {
    g_capture->table_.emplace(visible);
    return kExitOk;
  }
  out << visible << '\n';
  auto ex = examples(subcommand);
  if (!ex.empty()) {
    out << "Examples:\n";
    for (const auto& e : ex) out << "  " << e.command << "\n      " << e.what << '\n';
  }
  return kExitOk;
}

int print_help(const boost::program_options::options_description& visible,
               std::string_view subcommand) {
  return print_help(visible, subcommand, std::cout);
}

HelpCapture::HelpCapture() { g_capture = this; }
HelpCapture::~HelpCapture() { g_capture = nullptr; }

}  // namespace prof::cli

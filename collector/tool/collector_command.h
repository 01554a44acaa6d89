// `profile record` and `profile list`: map command-line options onto prof::collector. argv[0] is
// the subcommand name. The helpers below let the commands that sample in-process (the
// all-in-one `profile`, `profile top -a`) take exactly `profile record`'s sampling options:
//
//   auto command = prof::collector::split_command(argc, argv);   // after "--"
//   po::options_description opts;
//   prof::collector::add_sampling_options(opts);
//   ... parse into vm (positional words under "duration") ...
//   auto req = prof::collector::sampling_from(vm, command);      // Errc::kUsage when bad
//   prof::collector::install_stop_signals();
//   auto c = prof::collector::Collector::open(req->options);
//   prof::collector::set_signal_target(c->get());
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "prof/collector/collector.h"
#include "prof/common/result.h"

namespace prof::collector {

int record_command(int argc, char** argv);
int list_command(int argc, char** argv);

// Splits argv at the first "--" (argc is cut there); returns the command after it.
std::vector<std::string> split_command(int& argc, char** argv);

// Targets, rate, events, call graphs and ring size: every `profile record` option but -o/-q.
// `call_graph_by_default` (the all-in-one, as bcc's profile): frame-pointer call graphs unless
// --no-call-graph, which it adds; `profile record` keeps perf's default, none unless -g.
void add_sampling_options(boost::program_options::options_description& opts,
                          bool call_graph_by_default = false);
// True when any sampling option was given explicitly (profile top: capture instead of a file).
bool has_sampling_option(const boost::program_options::variables_map& vm);
bool looks_like_duration(std::string_view word);

// -N/--no-buildid-cache (perf record's names), for the commands that write perf.data meant for
// later (`profile record`, the all-in-one's --save).
void add_buildid_cache_option(boost::program_options::options_description& opts);
// Where those commands add the hit objects at the end of the capture: perf's build-id cache,
// $HOME/.debug, as perf reads it (perf takes neither PERF_BUILDID_DIR, which it only sets for
// its child scripts, nor any other variable); "" with -N or without $HOME.
std::string buildid_cache_dir(const boost::program_options::variables_map& vm);

struct SamplingRequest {
  Options options;
  StopCondition stop;  // from the positional DURATION word ("duration" in vm)
};
Result<SamplingRequest> sampling_from(const boost::program_options::variables_map& vm,
                                      const std::vector<std::string>& command,
                                      bool call_graph_by_default = false);

// What a capture whose own work succeeded exits with, as `perf record` does for a command that
// ends by itself: its exit code, or 128 + N when signal N killed it (a shell's $?). 0 without a
// command, and when the capture ended first (DURATION over, or Ctrl-C/SIGTERM to profile, even
// where the terminal's SIGINT reached the command too). A nonzero status is announced on stderr
// unless `quiet` ("the command exited with status 3; profile exits with 3").
int command_exit_status(const RunStats& stats, bool quiet);

// SIGINT/SIGTERM end the capture cleanly (SIGPIPE becomes a write error). Install before
// Collector::open: a signal that arrives while events are being opened is remembered and stops
// the collector as soon as set_signal_target() names it. nullptr detaches.
void install_stop_signals();
void set_signal_target(Collector* collector);

}  // namespace prof::collector

// Command-line support shared by the stage commands (tool/<stage>_command.cpp) and cli/ — and
// by nothing else: exit codes, the one-line error format, Boost.program_options parsing that
// turns every option error into `profile: error: ...` with exit status 2, output files, and the
// end-of-run warning summary. The stage libraries return Result and report through WarningSink;
// only code linking this library prints or ends the process.
//
//   namespace po = boost::program_options;
//   po::options_description opts("profile fold options");
//   opts.add_options()("help,h", "show this help");
//   po::variables_map vm;
//   if (auto rc = prof::cli::parse(argc, argv, opts, pos, vm, "fold")) return *rc;
#pragma once

#include <boost/program_options.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/result.h"
#include "prof/common/warnings.h"

namespace prof::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

// Prints `profile: error: MESSAGE` and returns the exit status for the error's code.
int report_error(const Error& e, std::ostream& err = std::cerr);
// Prints `profile: error: MESSAGE (see 'profile SUBCOMMAND --help')` and returns 2.
int usage_error(std::string_view message, std::string_view subcommand,
                std::ostream& err = std::cerr);
// Prints `profile: warning: MESSAGE`.
void print_warning(std::string_view message, std::ostream& err = std::cerr);
void print_notice(std::string_view message, std::ostream& err = std::cerr);

// How the end-of-run summary says that a kind of warning came more than once (N times in all).
// The commands grew different wordings, and tests and docs pin them, so each keeps its own.
enum class RepeatWording {
  kMoreLikeIt,        // " (and N-1 more like it)": record, the all-in-one, report, top
  kMoreLikeItSeeAll,  // " (and N-1 more like it; -v lists all)": fold (tests/folder pins it)
  kMore,              // " (and N-1 more)": symbolize
  kTimes,             // " (N times)": render (docs/rendering.md shows it)
};
// The end-of-run summary: one `profile: warning: FIRST MESSAGE (...)` line per kind of warning
// in `sink`, in order of first occurrence, leaving out the kinds in `skip` (those a command
// already printed as they came).
void print_warning_summary(const WarningSink& sink, RepeatWording wording,
                           const std::vector<std::string_view>& skip = {},
                           std::ostream& err = std::cerr);

// Ends the process with `status` once its output is complete, without destroying what the
// command built: freeing a big symbolized capture (hash tables, sample stores, mapped files)
// piece by piece takes milliseconds the kernel does at once. Flushes stdout and stderr first;
// a failed flush makes the status kExitRuntime with a message. Under AddressSanitizer it
// returns the status instead, so that leak checking still sees every allocation freed.
int exit_now(int status);

// The command line as the user typed it, for perf.data's CMDLINE feature (perf writes its own
// argv the same way). main() remembers it once; a command run without main() (from a test)
// gets `fallback` instead, e.g. {"profile", "record", ...}.
void remember_command_line(int argc, char** argv);
std::vector<std::string> command_line(std::vector<std::string> fallback);

// Parses argv[1..] (argv[0], the subcommand name, is skipped). Returns an exit status when the
// caller should return at once (an option error -> 2 with a one-line message), std::nullopt to
// continue. Unknown options are errors; `--` ends option parsing (positional args after it are
// kept).
std::optional<int> parse(int argc, char** argv,
                         const boost::program_options::options_description& opts,
                         const boost::program_options::positional_options_description& pos,
                         boost::program_options::variables_map& vm, std::string_view subcommand);

// Ends the process quietly, killed by SIGPIPE (exit status 141 in a shell), as `perf script`
// does when its reader went away (`... | head`): nobody is left to read a message.
[[noreturn]] void end_by_broken_pipe();

// Writes a command's result to `path` ("" or "-" = stdout). A reader that closed stdout early
// (EPIPE) ends the process through end_by_broken_pipe(). A regular FILE is written through a
// temporary file renamed into place, so an existing FILE is replaced only by a complete new one
// and a failed run leaves nothing half-written; a device or FIFO (-o /dev/null) is written in
// place. Errors name the file.
Result<void> write_output(const std::string& path, std::string_view data);
// Checks before a long run that write_output(path, ...) can create its file: a missing
// directory or a read-only one fails here, not after a minute of capture. "" / "-" / an
// existing device always pass. Leaves nothing behind.
Result<void> check_output(const std::string& path);
// An SVG is thousands of lines of markup, useless on a terminal (gzip refuses the same way):
// when `path` means stdout ("" or "-") and stdout is a terminal, a usage Error that says to use
// -o or redirect. Call it before any long work.
Result<void> check_svg_destination(const std::string& path);
// The same for any output that is no use on a terminal; `what` names it ("a pprof profile").
Result<void> check_not_terminal(const std::string& path, std::string_view what,
                                std::string_view example);

}  // namespace prof::cli

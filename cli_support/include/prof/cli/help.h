// What `profile SUBCOMMAND --help` prints — the options table the command parses with, then a
// few examples — and the hook through which the man pages and shell completions are made from
// that same table (cli/docgen.cpp): while a HelpCapture is alive, print_help() keeps a copy of
// the table instead of printing it, so the generator runs each command's own --help path and
// documents exactly the options the command accepts. A new option shows up in --help, in its
// man page and in the completions at once.
//
//   if (vm.count("help")) return prof::cli::print_help(visible, "fold");
//
//   prof::cli::HelpCapture capture;             // in the generator
//   fold_command(2, argv_with_help);
//   const auto& table = capture.captured();     // the options 'profile fold --help' shows
#pragma once

#include <boost/program_options.hpp>
#include <iosfwd>
#include <optional>
#include <span>
#include <string_view>

namespace prof::cli {

struct Example {
  const char* command;  // as typed, e.g. "profile fold perf.txt > out.folded"
  const char* what;     // what it does, one line
};

// The examples of a subcommand ("" = the all-in-one `profile [options]`); empty if it has none.
std::span<const Example> examples(std::string_view subcommand);

// Prints `visible` and the subcommand's examples to `out` and returns kExitOk; inside a
// HelpCapture, records `visible` and `subcommand` instead and prints nothing.
int print_help(const boost::program_options::options_description& visible,
               std::string_view subcommand, std::ostream& out);
int print_help(const boost::program_options::options_description& visible,
               std::string_view subcommand);

// While alive, print_help() records instead of printing. One at a time; not thread-safe (the
// generator runs the commands one after another).
class HelpCapture {
 public:
  HelpCapture();
  ~HelpCapture();
  HelpCapture(const HelpCapture&) = delete;
  HelpCapture& operator=(const HelpCapture&) = delete;

  // The table the last print_help() saw, or nullopt if the command never reached it.
  const std::optional<boost::program_options::options_description>& captured() const {
    return table_;
  }

 private:
  friend int print_help(const boost::program_options::options_description&, std::string_view,
                        std::ostream&);
  std::optional<boost::program_options::options_description> table_;
};

}  // namespace prof::cli

// Man pages and shell completions made from the options tables that print --help, by running
// each command's own --help path under a prof::cli::HelpCapture (prof/cli/help.h). The build
// runs `profile --help-format=man DIR`, `--help-format=bash` and `--help-format=zsh` once the
// binary is linked (cli/CMakeLists.txt), so the installed pages and completions list exactly
// the options the binary accepts.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace prof::app {

struct Subcommand {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

// `profile --help-format=FORMAT [DIR|FILE]`: FORMAT man writes profile.1 and profile-SUB.1 for
// every subcommand into DIR (which must exist); bash and zsh write a completion script to FILE
// (default: stdout).
// argv holds the words after the format. Returns an exit status.
int help_format_command(std::string_view format, std::span<const Subcommand> subcommands, int argc,
                        char** argv);

}  // namespace prof::app

// `--format html` on the all-in-one, `report` and `merge`: the symbolized Profile as the HTML
// explorer page (prof::renderer::write_explorer), and `--time-range` cutting for the commands
// that hold a Profile.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "prof/common/profile.h"
#include "prof/common/result.h"
#include "prof/common/time_range.h"

namespace prof::app {

// The page for `profile`. `command` reproduces its data (the page adds --time-range A,B for a
// selection): see selection_command().
Result<std::string> explorer_page(const Profile& profile, const std::vector<std::string>& events,
                                  const std::string& command);

// `words` (a command line) without the options that choose the output (--format, -o/--output)
// or a time range, joined with shell quoting where a word needs it: the command the page shows.
std::string selection_command(const std::vector<std::string>& words);

// Cuts `profile` to `range` when there is one (prof::retain_time_range).
Result<void> apply_time_range(Profile& profile, const std::optional<TimeRange>& range);

}  // namespace prof::app

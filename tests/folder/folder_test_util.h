// Helpers shared by the folder test files.
#pragma once

#include <string>
#include <string_view>

#include "prof/folder/folder.h"

namespace prof::folder::test {

// Folds `text` through the streaming parser, fed in chunks of `chunk` bytes. Fails the test on
// an Error.
std::string fold_text(std::string_view text, const Options& opt = {},
                      std::size_t chunk = std::string_view::npos, WarningSink* sink = nullptr);

// `text` up to and including its last blank line: what stackcollapse-perf.pl counts of an input
// whose last sample has no blank line after it.
std::string_view through_last_blank_line(std::string_view text);

// The stackcollapse-perf.pl option name as an Options value ("pid", "tid", "kernel", ...).
Options options_for(std::string_view flag);

}  // namespace prof::folder::test

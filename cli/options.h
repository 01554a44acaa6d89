// The option sets of the commands that join stages: the all-in-one `profile` and `profile report`.
// Built here, apart from the commands, so that a test can walk every spelling they accept and
// check that none is registered twice or means something else than in the stage it comes from.
#pragma once

#include <boost/program_options.hpp>

namespace prof::app {

struct CommandOptions {
  boost::program_options::options_description visible;  // what --help prints
  boost::program_options::options_description all;      // visible + the positional words
  boost::program_options::positional_options_description positional;
};

// `profile [options] [DURATION] [-- CMD]`: positional words under "duration".
CommandOptions pipeline_options();
// `profile report [perf.data] [options]`: positional words under "file".
CommandOptions report_options();

}  // namespace prof::app

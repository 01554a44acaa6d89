// `profile fold`: maps command-line options onto prof::folder. argv[0] is "fold".
// The option helpers let the commands that fold in memory (`profile`, `profile report`) accept
// the same folding options:
//
//   po::options_description opts;
//   prof::folder::add_folder_options(opts, /*pipeline=*/false);
//   ... parse into vm ...
//   auto fopt = prof::folder::folder_options_from(vm);   // Errc::kUsage for bad values
#pragma once

#include <boost/program_options.hpp>

#include "prof/common/result.h"
#include "prof/folder/folder.h"

namespace prof::folder {

int fold_command(int argc, char** argv);

// --per-process --per-thread --kernel --jit --addrs --event-filter --per-cpu --skip-after, plus
// stackcollapse-perf.pl's names --pid/--tid (for --per-process/--per-thread) and --all unless
// `pipeline` (the all-in-one, where -p/--pid, -t/--tid and -a/--all-cpus choose targets).
void add_folder_options(boost::program_options::options_description& opts, bool pipeline);
Result<Options> folder_options_from(const boost::program_options::variables_map& vm);

}  // namespace prof::folder

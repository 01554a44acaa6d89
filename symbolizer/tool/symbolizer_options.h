// Symbol options shared by `profile symbolize` and the commands that symbolize in memory
// (`profile`, `profile report`): one option table, one mapping onto symbolizer::Options.
//
//   po::options_description opts;
//   prof::symbolizer::add_symbolizer_options(opts, /*pipeline=*/false);
//   ... parse into vm ...
//   auto o = prof::symbolizer::symbolizer_options_from(vm);   // Errc::kUsage for bad values
#pragma once

#include <boost/program_options.hpp>

#include "prof/common/result.h"
#include "prof/symbolizer/symbolizer.h"

namespace prof::symbolizer {

// --kallsyms --no-kernel-symbols --symfs --inline --srcline --full-source-path --no-demangle
// --full-signatures --no-proc --max-stack, plus -j/--threads unless `pipeline` (where -j is not
// ours to take).
void add_symbolizer_options(boost::program_options::options_description& opts, bool pipeline);
Result<Options> symbolizer_options_from(const boost::program_options::variables_map& vm);

}  // namespace prof::symbolizer

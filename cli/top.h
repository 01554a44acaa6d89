// `profile top`'s tables live in prof::analysis (prof/analysis/top.h); this header keeps the
// cli/ spelling (prof::app::compute_top, ...) for the commands.
#pragma once

#include "prof/analysis/top.h"

namespace prof::app {
using analysis::compute_top;
using analysis::CountNameFn;
using analysis::FoldedStack;
using analysis::print_top_json;
using analysis::print_top_text;
using analysis::TopOptions;
using analysis::TopRow;
using analysis::TopTable;
}  // namespace prof::app

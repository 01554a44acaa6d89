// Off-CPU time for the commands: the tracker and the weighting live in prof::analysis
// (prof/analysis/off_cpu.h); fold_off_cpu() joins them with the symbolizer and the folder, which
// only cli/ may do.
//
//   auto counts = fold_off_cpu(sym, off, folder_options, &warnings);   // counts in ns
#pragma once

#include "prof/analysis/off_cpu.h"
#include "prof/common/warnings.h"
#include "prof/folder/folder.h"
#include "prof/symbolizer/symbolizer.h"

namespace prof::app {

using analysis::OffCpuStats;
using analysis::OffCpuTracker;

// Folds the sched_switch samples of `sym` with their off-CPU time as the count (ns); samples of
// other events are left out. `stats` (may be null) receives the counts above.
folder::FoldedCounts fold_off_cpu(const symbolizer::Symbolizer& sym, const OffCpuTracker& tracker,
                                  const folder::Options& options, WarningSink* warnings,
                                  OffCpuStats* stats = nullptr);

}  // namespace prof::app

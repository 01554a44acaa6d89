#include "off_cpu.h"

namespace prof::app {

folder::FoldedCounts fold_off_cpu(const symbolizer::Symbolizer& sym, const OffCpuTracker& tracker,
                                  const folder::Options& options, WarningSink* warnings,
                                  OffCpuStats* stats) {
  OffCpuStats st;
  folder::Folder f(options, warnings);
  sym.for_each_sample([&](const StackSampleView& s) {
    auto ns = analysis::off_cpu_weight(s, tracker, st);
    if (!ns) return;
    StackSampleView weighted = s;
    weighted.period = *ns;
    f.add(weighted);
  });
  if (stats) *stats = st;
  return f.take_counts();
}

}  // namespace prof::app

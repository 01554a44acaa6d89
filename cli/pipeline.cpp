#include "pipeline.h"

#include <algorithm>

#include "prof/common/event_name.h"

namespace prof::app {

perf::RecordDecoder make_record_decoder(const std::vector<perf::EventAttr>& attrs,
                                        const std::string& tracing_data) {
  perf::Features features;
  features.tracing_data = tracing_data;
  return perf::RecordDecoder(attrs, std::move(features));
}

CaptureSink::CaptureSink(symbolizer::Symbolizer& sym, perf::PerfDataWriter* save,
                         OffCpuTracker* off_cpu, std::string tracing_data)
    : sym_(sym), off_cpu_(off_cpu), tracing_data_(std::move(tracing_data)) {
  if (save) save_.emplace(*save);
}
CaptureSink::~CaptureSink() = default;

Result<void> CaptureSink::on_start(const std::vector<perf::EventAttr>& attrs) {
  if (save_) PROF_TRY(save_->on_start(attrs));
  decoder_ = std::make_unique<perf::RecordDecoder>(make_record_decoder(attrs, tracing_data_));
  feeder_ = std::make_unique<symbolizer::RecordFeeder>(*decoder_, sym_);
  event_names_.clear();
  for (const auto& a : attrs)
    event_names_.push_back(a.name.empty() ? perf::event_name(a.attr) : a.name);
  return ok();
}

Result<void> CaptureSink::on_record(std::span<const std::uint8_t> record) {
  if (save_) PROF_TRY(save_->on_record(record));
  auto r = perf::record_of(record);
  if (!r) return ok();
  feeder_->add(*r);
  if (off_cpu_) off_cpu_->observe(*decoder_, *r);
  return ok();
}

Result<void> CaptureSink::on_round_end() {
  if (save_) PROF_TRY(save_->on_round_end());
  feeder_->round_end();
  return ok();
}

Result<void> CaptureSink::finish() {
  if (feeder_) feeder_->finish();
  sym_.resolve();
  return ok();
}

folder::FoldedCounts fold_samples(const symbolizer::Symbolizer& sym, const folder::Options& options,
                                  WarningSink* warnings) {
  // The typed model straight into the folder: each distinct stack is tidied once.
  return folder::fold_profile(sym.profile(), options, warnings);
}

Result<std::vector<std::string>> choose_events(const std::vector<std::string>& event_names,
                                               folder::Options& fopt) {
  std::vector<std::string> drawn;
  for (const auto& n : event_names)
    if (std::find(drawn.begin(), drawn.end(), n) == drawn.end()) drawn.push_back(n);
  if (!fopt.event_filter.empty()) {
    if (std::find(drawn.begin(), drawn.end(), fopt.event_filter) == drawn.end()) {
      std::string have;
      for (const auto& n : drawn) have += (have.empty() ? "" : ", ") + n;
      return Error{Errc::kNoData, "--event-filter '" + fopt.event_filter +
                                      "': the capture has no such event (it has " + have + ")"};
    }
    return std::vector<std::string>{fopt.event_filter};
  }
  if (drawn.size() > 1) fopt.per_event = true;
  return drawn;
}

namespace {
bool is_clock_event(const std::string& n) {
  return n.rfind("cpu-clock", 0) == 0 || n.rfind("task-clock", 0) == 0;
}
}  // namespace

std::string event_unit(const std::string& event) { return is_clock_event(event) ? "ns" : event; }

std::vector<renderer::Tower> event_towers(const std::vector<std::string>& drawn) {
  std::vector<renderer::Tower> towers;
  if (drawn.size() < 2) return towers;
  for (const auto& e : drawn) towers.push_back({"[" + e + "]", 1, event_unit(e)});
  return towers;
}

Result<renderer::RenderStats> render_counts(const folder::FoldedCounts& counts,
                                            const renderer::Options& options, std::string& svg,
                                            WarningSink* warnings) {
  auto sorted = counts.sorted();
  std::vector<FoldedLine> lines;
  lines.reserve(sorted.size());
  for (const auto& [stack, count] : sorted) {
    FoldedLine l;
    l.text = stack;
    l.stack = stack;
    l.count1 = l.count2 = static_cast<double>(count);
    lines.push_back(l);
  }
  if (options.towers.empty()) return renderer::render(lines, options, svg, warnings);
  // Equal widths: a nanosecond and a page fault have no common scale, so each tower is drawn
  // as wide as the widest one's count and the tooltips convert back (raw_per_width).
  renderer::Options scaled = options;
  std::vector<double> totals(scaled.towers.size(), 0);
  auto tower_index = [&](std::string_view stack) -> std::size_t {
    std::string_view root = stack.substr(0, stack.find(';'));
    for (std::size_t i = 0; i < scaled.towers.size(); ++i)
      if (scaled.towers[i].name == root) return i;
    return scaled.towers.size();
  };
  for (const auto& l : lines)
    if (auto i = tower_index(l.stack); i < totals.size()) totals[i] += l.count1;
  const double width = *std::max_element(totals.begin(), totals.end());
  for (std::size_t i = 0; i < totals.size(); ++i)
    scaled.towers[i].raw_per_width = totals[i] > 0 ? totals[i] / width : 1;
  for (auto& l : lines) {
    auto i = tower_index(l.stack);
    if (i < totals.size() && totals[i] > 0) l.count1 = l.count2 = l.count1 * width / totals[i];
  }
  return renderer::render(lines, scaled, svg, warnings);
}

CountLabels labels_for_events(const std::vector<std::string>& event_names, bool off_cpu) {
  if (off_cpu) return {"Off-CPU Time Flame Graph", "ns", ""};
  if (event_names.empty()) return {"Flame Graph", "samples", ""};
  std::string joined;
  for (const auto& n : event_names) joined += (joined.empty() ? "" : ", ") + n;
  if (event_names.size() == 1 && is_clock_event(event_names[0]))
    return {"CPU Flame Graph (" + joined + ")", "ns", ""};
  if (event_names.size() == 1) return {"Flame Graph: " + joined, event_names[0], ""};
  std::string units;
  for (const auto& n : event_names)
    units += (units.empty() ? "" : "; ") + n + (is_clock_event(n) ? ": ns" : ": count");
  return {"Flame Graph: " + joined + " (one tower per event)", "events",
          "Towers are drawn equally wide; within one, widths are shares of that event's count (" +
              units + ")"};
}

}  // namespace prof::app

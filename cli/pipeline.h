// The in-process pipeline: collector -> symbolizer -> folder -> renderer with typed records in
// memory (no perf.data or text between the stages), shared by the all-in-one `profile` command,
// `profile report` and `profile top`.
//
//   prof::app::CaptureSink sink(sym_options, &warnings);   // a collector::RecordSink
//   collector->run(stop, sink);
//   auto folded = sink.fold(folder_options);              // symbolize once, fold
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "off_cpu.h"
#include "prof/collector/collector.h"
#include "prof/common/perf_data.h"
#include "prof/common/record_decoder.h"
#include "prof/common/result.h"
#include "prof/common/warnings.h"
#include "prof/folder/folder.h"
#include "prof/renderer/renderer.h"
#include "prof/symbolizer/record_feeder.h"
#include "prof/symbolizer/symbolizer.h"

namespace prof::app {

// The decoder for raw records of a live capture of these events (the collector's attrs), the
// same that decodes a perf.data file's records. `tracing_data` (Collector::tracing_data())
// lands in its features().
perf::RecordDecoder make_record_decoder(const std::vector<perf::EventAttr>& attrs,
                                        const std::string& tracing_data = {});

// Receives a live capture: optionally saves it as perf.data (--save) and feeds the symbolizer in
// time order, round by round, so memory holds one round of raw records plus the interned stacks.
class CaptureSink final : public collector::RecordSink {
 public:
  // `off_cpu` (may be null) observes every record; `tracing_data` is the collector's.
  CaptureSink(symbolizer::Symbolizer& sym, perf::PerfDataWriter* save,
              OffCpuTracker* off_cpu = nullptr, std::string tracing_data = {});
  ~CaptureSink() override;
  Result<void> on_start(const std::vector<perf::EventAttr>& attrs) override;
  Result<void> on_record(std::span<const std::uint8_t> record) override;
  Result<void> on_round_end() override;
  // --save: the build-ids of the objects hit, into the saved file (before its finish()).
  Result<void> add_build_ids() { return save_ ? save_->add_build_ids() : ok(); }
  // --save: hold the hit objects' files from the start, and after the run copy them into
  // perf's build-id cache (collector::PerfDataSink's functions of those names).
  void keep_hit_files() {
    if (save_) save_->keep_hit_files();
  }
  void cache_build_ids(const std::string& cache_dir, WarningSink* warnings) {
    if (save_) save_->cache_build_ids(cache_dir, warnings);
  }
  // Flushes what is queued into the symbolizer and resolves. Call once after the run.
  Result<void> finish();
  // Event names by attr index, as the folder and titles use them.
  const std::vector<std::string>& event_names() const { return event_names_; }

 private:
  symbolizer::Symbolizer& sym_;
  // --save goes through the collector's own perf.data sink, so it flushes (and patches the
  // header's data size) as often as `profile record` does: a run killed or stopped by a full
  // disk leaves a file that perf and we read up to the last flush.
  std::optional<collector::PerfDataSink> save_;
  OffCpuTracker* off_cpu_;
  std::string tracing_data_;
  std::unique_ptr<perf::RecordDecoder> decoder_;
  std::unique_ptr<symbolizer::RecordFeeder> feeder_;
  std::vector<std::string> event_names_;
};

// Symbolized samples -> folded counts.
folder::FoldedCounts fold_samples(const symbolizer::Symbolizer& sym, const folder::Options& options,
                                  WarningSink* warnings);

// Which events a fold draws: every event of the capture, or the --event-filter one. With more
// than one, each gets its own root frame `[EVENT]` (sets `fopt.per_event`): counts of different
// events are in different units and never merge. Error when --event-filter names an event the
// capture does not have.
Result<std::vector<std::string>> choose_events(const std::vector<std::string>& event_names,
                                               folder::Options& fopt);

// The towers for `drawn` events when they were folded per event: one per `[EVENT]` root, each
// counting in that event's unit (see renderer::Tower). Empty for one event.
std::vector<renderer::Tower> event_towers(const std::vector<std::string>& drawn);

// Folded counts -> SVG. With options.towers, each tower's stacks are scaled so that every tower
// is drawn equally wide (the tooltips give the raw counts).
Result<renderer::RenderStats> render_counts(const folder::FoldedCounts& counts,
                                            const renderer::Options& options, std::string& svg,
                                            WarningSink* warnings);

// What was counted, for titles and count names: "cpu-clock" -> {"CPU", "ns"}.
struct CountLabels {
  std::string title;       // e.g. "CPU Flame Graph (cpu-clock)"
  std::string count_name;  // e.g. "ns", "page-faults"
  std::string subtitle;    // how to read the widths when several events are drawn, else ""
};
// The unit of one event's sample periods: "ns" for cpu-clock and task-clock (their periods
// are nanoseconds), else the event's own name ("page-faults").
std::string event_unit(const std::string& event);
CountLabels labels_for_events(const std::vector<std::string>& event_names, bool off_cpu);

}  // namespace prof::app

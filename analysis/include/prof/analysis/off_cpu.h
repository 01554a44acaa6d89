// Off-CPU time: turns sched:sched_switch samples (a task leaving its CPU, with the stack it
// blocked or was preempted in) into an off-CPU flame graph whose widths are nanoseconds spent
// off the CPU, as Brendan Gregg's offcputime does.
//
// Pipeline position: prof::analysis, beside the record source (live collector or perf.data
// reader) and before the folder. Every record is shown to observe() in any order; it collects
// when each task ran
// again: a sched_switch whose raw `next_pid` field is that task (offsets from the tracepoint's
// format in the capture's tracing data), or a PERF_RECORD_SWITCH switch-in (per-task captures,
// where the kernel records only the task's own switch-outs). off_cpu_weight() then weights each
// symbolized sched_switch sample of task T at time t by (first switch-in of T after t) - t.
// Samples whose task never ran again before the capture ended are dropped and counted.
// The samples must not be merged (no symbolizer::Options::aggregate): a merged sample keeps one
// time, so all the sleeps of one stack would be weighted as its first.
//
//   OffCpuTracker off;
//   while (reader->next(rec)) { feeder.add(rec); off.observe(*reader, rec); }
//   OffCpuStats st;
//   sym.for_each_sample([&](const StackSampleView& s) {
//     if (auto ns = off_cpu_weight(s, off, st)) { auto w = s; w.period = *ns; folder.add(w); }
//   });
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "prof/common/perf_data.h"
#include "prof/common/record_decoder.h"
#include "prof/common/stack.h"
#include "prof/common/tracing_data.h"

namespace prof::analysis {

struct OffCpuStats {
  std::uint64_t switches = 0;   // sched_switch samples seen by off_cpu_weight
  std::uint64_t weighted = 0;   // of those, folded with their off-CPU time
  std::uint64_t unmatched = 0;  // the task did not run again before the capture ended
  std::uint64_t idle = 0;       // the idle task (tid 0) leaving the CPU: not off-CPU time
};

class OffCpuTracker {
 public:
  // One record of the capture; `decoder` decodes it (its attrs, and the tracing data in its
  // features(), which give sched_switch's raw layout). Records may come in any order.
  void observe(const perf::RecordDecoder& decoder, const perf::Record& record);

  // Off-CPU nanoseconds of task `tid` switched out at `time`; nullopt when it never ran again.
  std::optional<std::uint64_t> off_cpu_ns(std::int64_t tid, std::uint64_t time) const;
  // The event name of the capture's sched_switch attr ("" until one was seen).
  const std::string& switch_event() const { return switch_event_; }
  // Why no sched_switch sample could be read (no such event, no RAW payload, no format in
  // the capture's tracing data); "" when they could.
  std::string problem() const;

 private:
  void setup(const perf::RecordDecoder& decoder);
  void add_switch_in(std::int64_t tid, std::uint64_t time);

  bool set_up_ = false;
  std::optional<std::size_t> switch_attr_;
  std::optional<perf::TracepointFormat> format_;
  std::string switch_event_;
  std::string problem_;
  perf::Sample sample_;  // reused decoding buffer
  // Switch-in times per task, appended in arrival order; sorted lazily.
  mutable std::unordered_map<std::int64_t, std::vector<std::uint64_t>> switch_ins_;
  mutable bool sorted_ = true;
};

// The off-CPU nanoseconds `sample` stands for, the weight to fold it with: nullopt for samples of
// other events (not counted), of the idle task, and of tasks that never ran again (or ran again at
// once: a zero-length interval would fold as 1). Adds what it saw to `stats`.
std::optional<std::uint64_t> off_cpu_weight(const StackSampleView& sample,
                                            const OffCpuTracker& tracker, OffCpuStats& stats);

}  // namespace prof::analysis

#include "prof/analysis/off_cpu.h"

#include <algorithm>
#include <string_view>

namespace prof::analysis {

namespace {

// PERF_RECORD_SWITCH / SWITCH_CPU_WIDE (perf_event_open(2), since Linux 4.3): misc carries
// PERF_RECORD_MISC_SWITCH_OUT for the switch-out half; the switch-in half is emitted in the
// context of the incoming task, so its sample_id names that task and the time it ran again.
bool is_switch_in(const perf::Record& r) {
  return (r.type == PERF_RECORD_SWITCH || r.type == PERF_RECORD_SWITCH_CPU_WIDE) &&
         !(r.misc & PERF_RECORD_MISC_SWITCH_OUT);
}

}  // namespace

void OffCpuTracker::setup(const perf::RecordDecoder& decoder) {
  set_up_ = true;
  const auto& attrs = decoder.attrs();
  std::optional<perf::TracingData> td;
  if (const auto& blob = decoder.features().tracing_data; !blob.empty()) {
    auto parsed = perf::parse_tracing_data(blob);
    if (!parsed) {
      problem_ = parsed.error().message;
      return;
    }
    td = std::move(*parsed);
  }
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    const auto& a = attrs[i].attr;
    if (a.type != PERF_TYPE_TRACEPOINT) continue;
    if (!td) continue;
    for (const auto& sys : td->systems) {
      if (sys.name != "sched") continue;
      for (const auto& text : sys.formats) {
        auto f = perf::parse_tracepoint_format(text);
        if (!f || f->name != "sched_switch" || f->id != a.config) continue;
        if (!(a.sample_type & PERF_SAMPLE_RAW)) {
          problem_ = "the sched:sched_switch samples carry no raw payload (PERF_SAMPLE_RAW)";
          return;
        }
        if (!f->field("next_pid")) {
          problem_ = "the sched_switch format in the capture has no next_pid field";
          return;
        }
        switch_attr_ = i;
        format_ = std::move(*f);
        switch_event_ = attrs[i].name.empty() ? "sched:sched_switch" : attrs[i].name;
        return;
      }
    }
  }
  problem_ = td ? "the capture has no sched:sched_switch event; record with "
                  "'-e sched:sched_switch -g'"
                : "the capture has no tracing data (tracepoint formats); record with "
                  "'-e sched:sched_switch -g' ('profile record' or 'perf record')";
}

std::string OffCpuTracker::problem() const {
  if (!set_up_)
    return "the capture has no samples, so no sched:sched_switch samples; record with "
           "'-e sched:sched_switch -g'";
  return problem_;
}

void OffCpuTracker::add_switch_in(std::int64_t tid, std::uint64_t time) {
  auto& v = switch_ins_[tid];
  if (!v.empty() && v.back() > time) sorted_ = false;
  v.push_back(time);
}

void OffCpuTracker::observe(const perf::RecordDecoder& decoder, const perf::Record& r) {
  if (r.type == PERF_RECORD_SAMPLE) {
    // Pipe mode delivers the tracing data before any sample: set up on the first one.
    if (!set_up_) setup(decoder);
    if (!switch_attr_ || decoder.attr_index_of(r) != *switch_attr_) return;
    if (!decoder.parse_sample(r, sample_)) return;
    const std::string_view raw(reinterpret_cast<const char*>(sample_.raw.data()),
                               sample_.raw.size());
    if (auto next = format_->read_int("next_pid", raw)) add_switch_in(*next, sample_.time);
    return;
  }
  if (is_switch_in(r)) {
    if (auto sid = decoder.parse_sample_id(r)) add_switch_in(sid->tid, sid->time);
  }
}

std::optional<std::uint64_t> OffCpuTracker::off_cpu_ns(std::int64_t tid, std::uint64_t time) const {
  if (!sorted_) {
    for (auto& [t, v] : switch_ins_) std::sort(v.begin(), v.end());
    sorted_ = true;
  }
  auto it = switch_ins_.find(tid);
  if (it == switch_ins_.end()) return std::nullopt;
  auto next = std::upper_bound(it->second.begin(), it->second.end(), time);
  if (next == it->second.end()) return std::nullopt;
  return *next - time;
}

std::optional<std::uint64_t> off_cpu_weight(const StackSampleView& s, const OffCpuTracker& tracker,
                                            OffCpuStats& st) {
  if (s.event != tracker.switch_event()) return std::nullopt;
  ++st.switches;
  if (s.tid == 0) {
    ++st.idle;
    return std::nullopt;
  }
  auto ns = tracker.off_cpu_ns(s.tid, s.time_ns);
  // A zero-length interval would count as 1 (the folder's floor for a period): drop it too.
  if (!ns || *ns == 0) {
    ++st.unmatched;
    return std::nullopt;
  }
  ++st.weighted;
  return ns;
}

}  // namespace prof::analysis

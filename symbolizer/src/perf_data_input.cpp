// Feeding a perf.data stream to the Symbolizer (kept apart from symbolizer.cpp so that users of
// the Symbolizer alone, such as the all-in-one pipeline fed from the collector, do not link the
// perf.data reader).
#include <algorithm>
#include <deque>
#include <variant>

#include "prof/symbolizer/symbolizer.h"

namespace prof::symbolizer {

Result<void> symbolize_perf_data(perf::PerfDataReader& reader, Symbolizer& symbolizer) {
  // perf script orders events by time across CPUs (ordered_events); the data section holds
  // them per ring buffer drain. We sort sideband and samples together by timestamp when every
  // record carries one (sample_id_all), else keep file order.
  using Event = std::variant<perf::Mmap, perf::Comm, perf::Task, perf::Sample>;
  struct Timed {
    std::uint64_t time;
    std::uint32_t type;
    Event ev;
  };
  std::vector<Timed> events;
  std::deque<std::vector<std::uint8_t>> stacks;  // owned stack copies (stable addresses)
  std::vector<std::string> event_names;
  perf::Record rec;
  while (true) {
    auto more = reader.next(rec);
    if (!more) return more.error();
    if (!*more) break;
    // Decoded records are queued with their timestamp; one that does not decode is counted.
    auto queue = [&](auto parsed, auto time_of) {
      if (!parsed) {
        symbolizer.add_bad_record();
        return;
      }
      std::uint64_t t = time_of(*parsed);
      events.push_back(Timed{t, rec.type, std::move(*parsed)});
    };
    switch (rec.type) {
      case PERF_RECORD_MMAP:
      case PERF_RECORD_MMAP2:
        queue(reader.parse_mmap(rec), [](const perf::Mmap& m) { return m.sid.time; });
        break;
      case PERF_RECORD_COMM:
        queue(reader.parse_comm(rec), [](const perf::Comm& c) { return c.sid.time; });
        break;
      case PERF_RECORD_FORK:
      case PERF_RECORD_EXIT:
        queue(reader.parse_task(rec), [](const perf::Task& t) { return t.time; });
        break;
      case PERF_RECORD_LOST: {
        auto l = reader.parse_lost(rec);
        if (l) symbolizer.add_lost(l->lost);
        else symbolizer.add_bad_record();
        break;
      }
      case PERF_RECORD_SAMPLE: {
        auto s = reader.parse_sample(rec);
        // The stack copy points into the reader's buffer, which the next record reuses.
        if (s && !s->stack_user.empty()) {
          stacks.emplace_back(s->stack_user.begin(), s->stack_user.end());
          s->stack_user = stacks.back();
        }
        queue(std::move(s), [](const perf::Sample& smp) { return smp.time; });
        break;
      }
      default:
        break;
    }
  }
  const auto& attrs = reader.attrs();
  bool all_timed = !attrs.empty();
  for (const auto& a : attrs)
    if (!a.attr.sample_id_all || !(a.attr.sample_type & PERF_SAMPLE_TIME)) all_timed = false;
  // Sort an index, not the events: moving variants that hold whole samples costs more than
  // the rest of the pass.
  std::vector<std::uint32_t> order(events.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  if (all_timed)
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return events[a].time < events[b].time;
    });
  for (const auto& a : attrs)
    event_names.push_back(a.name.empty() ? default_event_name(a.attr) : a.name);
  for (std::uint32_t idx : order) {
    Timed& e = events[idx];
    if (auto* m = std::get_if<perf::Mmap>(&e.ev)) {
      symbolizer.add_mmap(*m);
    } else if (auto* c = std::get_if<perf::Comm>(&e.ev)) {
      symbolizer.add_comm(*c);
    } else if (auto* t = std::get_if<perf::Task>(&e.ev)) {
      if (e.type == PERF_RECORD_FORK) symbolizer.add_fork(*t);
      else symbolizer.add_exit(*t);
    } else if (auto* s = std::get_if<perf::Sample>(&e.ev)) {
      std::string_view name =
          s->attr_index < event_names.size() ? std::string_view(event_names[s->attr_index]) : "";
      std::uint64_t mask = s->attr_index < attrs.size() ? attrs[s->attr_index].attr.sample_regs_user : 0;
      symbolizer.add_sample(*s, name, mask);
    }
  }
  symbolizer.resolve();
  return {};
}

}  // namespace prof::symbolizer

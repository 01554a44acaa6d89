#include "prof/symbolizer/record_feeder.h"

#include <algorithm>

#include "prof/common/event_name.h"

namespace prof::symbolizer {
namespace {

bool wanted(std::uint32_t type) {
  switch (type) {
    case PERF_RECORD_SAMPLE:
    case PERF_RECORD_MMAP:
    case PERF_RECORD_MMAP2:
    case PERF_RECORD_COMM:
    case PERF_RECORD_FORK:
    case PERF_RECORD_EXIT: return true;
    default: return false;
  }
}

}  // namespace

RecordFeeder::RecordFeeder(const perf::RecordDecoder& decoder, Symbolizer& symbolizer,
                           bool bytes_stay_valid)
    : decoder_(decoder), sym_(symbolizer), stable_(bytes_stay_valid) {
  // A file's build-id table is read with its header; a stream's arrives as records (finish()).
  sym_.set_recorded_build_ids(decoder_.features().build_ids);
}

bool RecordFeeder::timed() {
  // Pipe-mode readers learn attrs as HEADER_ATTR records arrive: look again when they grow.
  const auto& attrs = decoder_.attrs();
  if (attrs.size() != attrs_checked_) {
    attrs_checked_ = attrs.size();
    timed_ = !attrs.empty();
    for (const auto& a : attrs)
      if (!a.attr.sample_id_all || !(a.attr.sample_type & PERF_SAMPLE_TIME)) timed_ = false;
  }
  return timed_;
}

const std::string& RecordFeeder::event_name(std::size_t attr_index) {
  // Pipe-mode readers learn attrs as they go: name them lazily.
  const auto& attrs = decoder_.attrs();
  while (event_names_.size() < attrs.size()) {
    const auto& a = attrs[event_names_.size()];
    event_names_.push_back(a.name.empty() ? perf::event_name(a.attr) : a.name);
  }
  static const std::string kNone;
  return attr_index < event_names_.size() ? event_names_[attr_index] : kNone;
}

void RecordFeeder::add(const perf::Record& r) {
  if (r.type == perf::PERF_RECORD_FINISHED_ROUND) {
    round_end();
    return;
  }
  if (r.type == PERF_RECORD_LOST) {
    auto l = decoder_.parse_lost(r);
    if (l) sym_.add_lost(l->lost);
    else sym_.add_bad_record();
    return;
  }
  if (!wanted(r.type)) return;
  if (!timed()) {
    deliver(r.type, r.misc, r.bytes);
    return;
  }
  std::uint64_t time = 0;
  if (r.type == PERF_RECORD_SAMPLE) {
    // Only the time is needed to queue it; the full decode happens once, on delivery.
    auto t = decoder_.sample_time(r);
    if (!t) {
      sym_.add_bad_record();
      return;
    }
    time = *t;
  } else {
    auto sid = decoder_.parse_sample_id(r);
    if (!sid) {
      sym_.add_bad_record();
      return;
    }
    time = sid->time;
  }
  round_max_ = std::max(round_max_, time);
  if (stable_) {
    queue_.push_back(Queued{time, r.bytes.data(), 0, r.bytes.size(), r.type, r.misc});
  } else {
    queue_.push_back(Queued{time, nullptr, arena_.size(), r.bytes.size(), r.type, r.misc});
    arena_.insert(arena_.end(), r.bytes.begin(), r.bytes.end());
  }
}

void RecordFeeder::round_end() {
  flush_until(hold_ > 0 ? std::min(prev_round_max_, hold_ - 1) : 0);
  prev_round_max_ = round_max_;
}

void RecordFeeder::finish() {
  flush_until(UINT64_MAX);
  sym_.set_recorded_build_ids(decoder_.features().build_ids);
  arena_.clear();
  arena_.shrink_to_fit();
}

void RecordFeeder::sort_order() {
  // A round is a few runs already in time order: what was kept from the previous round, then
  // each CPU's ring-buffer drain. Merging the runs is linear per pass; a general sort (or
  // introsort's heap fallback, which interleaved runs provoke) costs several times more.
  runs_.clear();
  runs_.push_back(0);
  for (std::size_t i = 1; i < order_.size(); ++i)
    if (order_[i].first < order_[i - 1].first) runs_.push_back(i);
  if (runs_.size() == 1) return;
  if (runs_.size() > 64) {  // no structure to use
    std::sort(order_.begin(), order_.end());
    return;
  }
  runs_.push_back(order_.size());
  merged_.resize(order_.size());
  while (runs_.size() > 2) {
    std::size_t out = 1;
    for (std::size_t r = 0; r + 1 < runs_.size(); r += 2) {
      const std::size_t b = runs_[r], m = runs_[r + 1];
      const std::size_t e = r + 2 < runs_.size() ? runs_[r + 2] : m;
      std::merge(order_.begin() + b, order_.begin() + m, order_.begin() + m, order_.begin() + e,
                 merged_.begin() + b);
      runs_[out++] = e;
    }
    if (runs_[out - 1] != order_.size()) runs_[out++] = order_.size();
    runs_.resize(out);
    order_.swap(merged_);
  }
}

void RecordFeeder::flush_until(std::uint64_t limit) {
  if (queue_.empty()) return;
  // Sort (time, position) pairs rather than the records: half the bytes moved. Position order
  // is arrival order among records of equal time — what was kept from the previous round
  // stays sorted at the front — so this is the (time, arrival) order perf uses.
  order_.resize(queue_.size());
  for (std::size_t i = 0; i < queue_.size(); ++i) order_[i] = {queue_[i].time, i};
  sort_order();
  auto bytes_of = [&](const Queued& q) {
    return std::span<const std::uint8_t>(q.data ? q.data : arena_.data() + q.offset, q.size);
  };
  std::size_t n = 0;
  for (; n < order_.size() && order_[n].first <= limit; ++n) {
    const Queued& q = queue_[order_[n].second];
    deliver(q.type, q.misc, bytes_of(q));
  }
  // Keep the rest, sorted, for the next round (two vectors swapped: no allocation per round).
  kept_.clear();
  for (std::size_t i = n; i < order_.size(); ++i) kept_.push_back(queue_[order_[i].second]);
  queue_.swap(kept_);
  if (stable_) return;
  // Compact the arena to the records kept.
  std::vector<std::uint8_t> keep_arena;
  for (Queued& q : queue_) {
    auto b = std::span<const std::uint8_t>(arena_.data() + q.offset, q.size);
    q.offset = keep_arena.size();
    keep_arena.insert(keep_arena.end(), b.begin(), b.end());
  }
  arena_ = std::move(keep_arena);
}

void RecordFeeder::deliver(std::uint32_t type, std::uint16_t misc,
                           std::span<const std::uint8_t> bytes) {
  perf::Record r;
  r.type = type;
  r.misc = misc;
  r.bytes = bytes;
  switch (type) {
    case PERF_RECORD_SAMPLE: {
      if (!decoder_.parse_sample(r, sample_)) {
        sym_.add_bad_record();
        return;
      }
      const auto& attrs = decoder_.attrs();
      std::uint64_t regs_mask =
          sample_.attr_index < attrs.size() ? attrs[sample_.attr_index].attr.sample_regs_user : 0;
      sym_.add_sample(sample_, event_name(sample_.attr_index), regs_mask, stable_);
      return;
    }
    case PERF_RECORD_MMAP:
    case PERF_RECORD_MMAP2: {
      auto m = decoder_.parse_mmap(r);
      if (m) sym_.add_mmap(*m);
      else sym_.add_bad_record();
      return;
    }
    case PERF_RECORD_COMM: {
      auto c = decoder_.parse_comm(r);
      if (c) sym_.add_comm(*c);
      else sym_.add_bad_record();
      return;
    }
    case PERF_RECORD_FORK:
    case PERF_RECORD_EXIT: {
      auto t = decoder_.parse_task(r);
      if (!t) {
        sym_.add_bad_record();
        return;
      }
      if (type == PERF_RECORD_FORK) sym_.add_fork(*t);
      else sym_.add_exit(*t);
      return;
    }
    default: return;
  }
}

}  // namespace prof::symbolizer

// RecordFeeder: hands perf.data records to a Symbolizer in time order, the way perf's
// ordered_events does, without holding the whole capture.
//
// Pipeline position: between a record source (PerfDataReader::next, or a live collector's
// RecordSink) and the Symbolizer. Records from different CPUs' ring buffers arrive interleaved
// by drain, not by time; an MMAP must reach the symbolizer before the samples that fall in it.
// Records are queued per round (copied only when the reader's bytes do not stay valid); at each
// round end (PERF_RECORD_FINISHED_ROUND, or the collector's on_round_end) everything older than the
// newest record of the previous round is sorted and delivered — later rounds cannot hold anything
// older than that. Captures without timestamps (no PERF_SAMPLE_TIME / sample_id_all) are delivered
// in arrival order.
//
//   RecordFeeder feeder(reader->decoder(), symbolizer);  // decodes records by their attrs
//   while (reader->next(rec) yields a record) feeder.add(rec);
//   feeder.finish();                                    // delivers the rest
//   symbolizer.resolve();
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "prof/common/perf_data.h"
#include "prof/common/record_decoder.h"
#include "prof/symbolizer/symbolizer.h"

namespace prof::symbolizer {

class RecordFeeder {
 public:
  // `decoder` supplies attrs and the parse_* functions; both must outlive the feeder.
  // `bytes_stay_valid`: every record given to add() stays readable until the symbolizer's
  // resolve() — true for records from a reader's next() when its bytes_stable(), never for a
  // live collector's buffers. Then records (and DWARF stack copies) are queued by pointer
  // instead of copied. Default false.
  RecordFeeder(const perf::RecordDecoder& decoder, Symbolizer& symbolizer,
               bool bytes_stay_valid = false);

  // Queues one record (copied unless bytes_stay_valid). FINISHED_ROUND records act as round_end().
  // Record kinds the symbolizer does not use are ignored; LOST is counted at once.
  void add(const perf::Record& record);
  // End of a round: delivers what no later record can precede.
  void round_end();
  // Delivers everything still queued. The feeder can be reused afterwards.
  void finish();

  std::size_t queued() const { return queue_.size(); }

  // Windows (`profile --every`): round_end() delivers nothing at or after `time` until it is
  // raised again, so that a window's samples are all in the symbolizer, and no later ones, when
  // it is cut. UINT64_MAX (the default) holds nothing back. finish() delivers everything.
  void hold_from(std::uint64_t time) { hold_ = time; }
  // Delivers every queued record older than `time` (a window's end), whatever the rounds say.
  void deliver_before(std::uint64_t time) {
    if (time > 0) flush_until(time - 1);
  }

 private:
  struct Queued {
    std::uint64_t time;
    const std::uint8_t* data;  // the reader's stable bytes, or null: at `offset` in arena_
    std::size_t offset, size;
    std::uint32_t type;
    std::uint16_t misc;
  };
  bool timed();
  void sort_order();
  void flush_until(std::uint64_t limit);
  void deliver(std::uint32_t type, std::uint16_t misc, std::span<const std::uint8_t> bytes);
  const std::string& event_name(std::size_t attr_index);

  const perf::RecordDecoder& decoder_;
  Symbolizer& sym_;
  bool timed_ = false;
  bool stable_ = false;  // bytes_stay_valid: queue pointers, not copies
  std::size_t attrs_checked_ = SIZE_MAX;
  std::vector<std::uint8_t> arena_;
  std::vector<Queued> queue_, kept_;
  std::vector<std::pair<std::uint64_t, std::size_t>> order_, merged_;  // flush_until's sort buffers
  std::vector<std::size_t> runs_;
  std::uint64_t round_max_ = 0;       // newest timestamp seen so far
  std::uint64_t prev_round_max_ = 0;  // newest timestamp at the previous round end
  std::uint64_t hold_ = UINT64_MAX;   // hold_from()
  std::vector<std::string> event_names_;
  perf::Sample sample_;  // reused decoding buffer
};

}  // namespace prof::symbolizer

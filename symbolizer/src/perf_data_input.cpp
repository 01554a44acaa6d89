// Feeding a perf.data stream to the Symbolizer (kept apart from symbolizer.cpp so that users of
// the Symbolizer alone, such as the all-in-one pipeline fed from the collector, do not link the
// perf.data reader).
#include <algorithm>

#include "prof/symbolizer/record_feeder.h"
#include "prof/symbolizer/symbolizer.h"

namespace prof::symbolizer {

Result<void> symbolize_perf_data(perf::PerfDataReader& reader, Symbolizer& symbolizer) {
  // perf script orders events by time across CPUs (ordered_events); the data section holds them
  // per ring-buffer drain. The feeder sorts them round by round (FINISHED_ROUND), so memory holds
  // one round of records, not the capture.
  // Growing the sample store by doubling copied it and faulted in twice its pages: size it
  // from the data once. A sample record is at least ~64 bytes and each frame 8, so these
  // bound what the file can hold; the untouched rest is only address space.
  constexpr std::uint64_t kMaxReserve = std::uint64_t{1} << 22;
  const std::uint64_t bytes = reader.data_bytes();
  symbolizer.reserve(static_cast<std::size_t>(std::min(bytes / 64, kMaxReserve)),
                     static_cast<std::size_t>(std::min(bytes / 8, 8 * kMaxReserve)));
  RecordFeeder feeder(reader.decoder(), symbolizer, reader.bytes_stable());
  perf::Record rec;
  while (true) {
    auto more = reader.next(rec);
    if (!more) return more.error();
    if (!*more) break;
    feeder.add(rec);
  }
  feeder.finish();
  symbolizer.resolve();
  return {};
}

}  // namespace prof::symbolizer

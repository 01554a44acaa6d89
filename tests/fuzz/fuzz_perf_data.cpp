// Fuzz target: the perf.data reader (file and pipe mode are told apart by the header) and every
// record decoder on whatever records it yields.
#include <cstddef>
#include <cstdint>
#include <string>

#include "prof/common/perf_data.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  prof::WarningSink sink;
  auto reader = prof::perf::PerfDataReader::from_memory(
      std::string(reinterpret_cast<const char*>(data), size), "fuzz", &sink);
  if (!reader) return 0;
  prof::perf::Record rec;
  for (int i = 0; i < 100000; ++i) {
    auto more = (*reader)->next(rec);
    if (!more || !*more) break;
    switch (rec.type) {
      case PERF_RECORD_SAMPLE: (void)(*reader)->parse_sample(rec); break;
      case PERF_RECORD_MMAP:
      case PERF_RECORD_MMAP2: (void)(*reader)->parse_mmap(rec); break;
      case PERF_RECORD_COMM: (void)(*reader)->parse_comm(rec); break;
      case PERF_RECORD_FORK:
      case PERF_RECORD_EXIT: (void)(*reader)->parse_task(rec); break;
      case PERF_RECORD_LOST: (void)(*reader)->parse_lost(rec); break;
      default: (void)(*reader)->parse_sample_id(rec); break;
    }
  }
  return 0;
}

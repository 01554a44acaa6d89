// PerfDataSink (collector.h): the RecordSink of `profile record`.
#include "prof/collector/collector.h"

namespace prof::collector {

Result<void> PerfDataSink::on_start(const std::vector<perf::EventAttr>& attrs) {
  return build_ids_.start(attrs);
}

Result<void> PerfDataSink::on_record(std::span<const std::uint8_t> record) {
  build_ids_.observe(record);
  return writer_.write(record);
}

Result<void> PerfDataSink::add_build_ids() {
  for (const auto& e : build_ids_.entries()) PROF_TRY(writer_.add_build_id(e));
  return ok();
}

BuildIdCacheStats PerfDataSink::cache_build_ids(const std::string& cache_dir,
                                                WarningSink* warnings) {
  return add_to_build_id_cache(cache_dir, build_ids_.hit_files(), warnings);
}

Result<void> PerfDataSink::on_round_end() {
  PROF_TRY(writer_.finished_round());
  auto now = std::chrono::steady_clock::now();
  if (now - last_flush_ < flush_interval_) return ok();
  last_flush_ = now;
  return writer_.flush();
}

}  // namespace prof::collector

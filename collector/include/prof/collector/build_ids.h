// prof::collector — the build-ids of the objects a capture's samples hit, for perf.data's
// BUILD_ID table.
//
// Pipeline position: beside the perf.data writer (PerfDataSink). A symbolizer that reads the
// capture later checks each object it opens against this table, so that a binary rebuilt since
// is not named from its new code (perf record writes the same table, in a pass over its file at
// the end). The recorder watches the records as they are written — MMAP/MMAP2 and FORK build
// each process's executable maps, every sample's ip and callchain mark the objects they fall
// in — and reads an object's build-id at its first hit, while its process most likely still
// lives: through /proc/PID/map_files (the very file mapped, even if replaced or deleted since),
// else by path; an MMAP2 record that carries a build-id (--buildid-mmap) is taken as it is.
// Samples with a user stack copy (--call-graph dwarf) mark every executable map of their
// process, whose frames are only found when unwinding later. The kernel, when hit, is listed
// as [kernel.kallsyms] with the build-id from /sys/kernel/notes.
//
//   BuildIdRecorder ids;
//   ids.start(attrs);                 // RecordSink::on_start
//   ids.observe(record);              // every record, in any order of CPUs
//   for (auto& e : ids.entries()) writer.add_build_id(e);   // before writer.finish()
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "prof/common/perf_data.h"
#include "prof/common/result.h"

namespace prof::collector {

class BuildIdRecorder {
 public:
  BuildIdRecorder();
  ~BuildIdRecorder();
  BuildIdRecorder(const BuildIdRecorder&) = delete;
  BuildIdRecorder& operator=(const BuildIdRecorder&) = delete;

  // The capture's events (to decode its samples). Records seen before are ignored.
  Result<void> start(const std::vector<perf::EventAttr>& attrs);
  // One complete record, header included (RecordSink::on_record's span).
  void observe(std::span<const std::uint8_t> record);
  // One entry per object hit that has a build-id (pid -1, as perf writes them), the kernel's
  // first when it was hit. Objects whose build-id cannot be read are left out.
  std::vector<perf::BuildIdEntry> entries();

  // Keep each hit object's file open from its first hit until the recorder is destroyed
  // (default: off; up to 1024 files), for hit_files(): the build-id cache (build_id_cache.h)
  // then copies the file that was mapped even where the path was replaced since.
  void keep_files(bool keep);
  struct HitFile {
    std::string path;                    // as the MMAP record gave it
    std::vector<std::uint8_t> build_id;  // as recorded
    int fd = -1;  // the file the build-id was read from (kept open), or -1; owned by the recorder
  };
  // The user-space objects hit that have a build-id (the entries() without the kernel).
  std::vector<HitFile> hit_files();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace prof::collector

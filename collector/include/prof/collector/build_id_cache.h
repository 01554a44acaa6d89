// prof::collector — adding a capture's hit objects to perf's build-id cache, as `perf record`
// does at its end, so that a binary rebuilt after the capture is still read as it was.
//
// Pipeline position: after a capture that wrote perf.data (`profile record`, the all-in-one's
// --save), never during it. The BuildIdRecorder (build_ids.h) knows which user-space objects
// the samples hit, their build-ids, and (with keep_files) holds the very file each was read
// from; this copies each into the cache in perf's layout (tools/perf/util/build-id.c), which
// `perf report`/`perf script` and our symbolizer (docs/symbolizer.md, "Build-id check") read:
//
//   CACHE/<absolute path>/<build-id>/elf                 the object as it was mapped
//   CACHE/.build-id/<2 hex>/<38 hex> -> ../../<absolute path>/<build-id>   (a relative symlink)
//
// CACHE is $HOME/.debug (the caller passes it). An entry whose `elf` exists is left alone (perf
// does the same); a missing .build-id link beside it is added, as perf adds it. A copy is kept
// only when its own build-id equals the recorded one: a file changed since it was mapped is
// never cached under the old id. Objects without a path of their own (//anon, [vdso], memfd:,
// " (deleted)") are skipped. Problems are warnings (kind "buildid-cache"), never errors: the
// capture is complete without the cache.
//
//   BuildIdRecorder& ids = ...;   // ids.keep_files(true) before the capture
//   auto stats = add_to_build_id_cache(home + "/.debug", ids.hit_files(), &warnings);
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "prof/collector/build_ids.h"
#include "prof/common/warnings.h"

namespace prof::collector {

struct BuildIdCacheStats {
  std::size_t added = 0;    // copied into the cache
  std::size_t present = 0;  // already there (left alone)
  std::size_t skipped = 0;  // no path of its own, changed since mapped, or not readable
  bool failed = false;      // the cache could not be written (warned once; the rest not tried)
};

// A build-id as perf spells it in the cache's paths: lower-case hex.
std::string build_id_hex(const std::vector<std::uint8_t>& id);

// Adds `files` to perf's build-id cache rooted at `cache_dir` (nothing when it is empty).
BuildIdCacheStats add_to_build_id_cache(const std::string& cache_dir,
                                        std::span<const BuildIdRecorder::HitFile> files,
                                        WarningSink* warnings);

}  // namespace prof::collector

// Private to the symbolizer: checking that the object at a recorded path is still the one a
// capture sampled, by build-id, and finding the old one in perf's build-id cache when it is not.
//
// A binary rebuilt (or upgraded) after the capture sits at the same path with other code at the
// sampled offsets: named from it, frames would be confidently wrong. perf.data records the
// build-id of every object with samples (the BUILD_ID feature; pipe mode: HEADER_BUILD_ID
// records; MMAP2 records may carry one too). perf then reads a mismatching object from its
// cache, `~/.debug/.build-id/<2 hex>/<38 hex>/elf` (`perf record` and `perf buildid-cache -a`
// fill it), and otherwise leaves the frames `[unknown]`. We do the same, with a warning.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "prof/common/perf_data.h"

namespace prof::symbolizer::detail {

// The build-ids a capture recorded for user-space objects, by path (lower-case hex).
class RecordedBuildIds {
 public:
  // Takes the capture's whole table (perf's HEADER_BUILD_ID entries); true when it knows more
  // than before (a pipe-mode stream delivers them at its end).
  bool assign(const std::vector<perf::BuildIdEntry>& entries);
  // The recorded build-id of the object at `path` ("" when none was recorded). A " (deleted)"
  // suffix is ignored.
  std::string_view find(std::string_view path) const;

 private:
  std::unordered_map<std::string, std::string> by_path_;
};

// The build-id of the ELF file at `path` (lower-case hex; "" when it has none). `readable` says
// whether the file could be opened as ELF at all.
std::string file_build_id(const std::string& path, bool& readable);

// perf's build-id cache directory: `configured` when set, else $HOME/.debug ("" without HOME).
std::string build_id_cache_dir(const std::string& configured);

// The cached copy of the object with `build_id` in perf's cache under `cache_dir`, when one is
// there and really has that build-id; else "".
std::string cached_object(const std::string& cache_dir, const std::string& build_id);

struct BuildIdVerdict {
  // Where to read the object from: `open_path` when it matches (or cannot be read: the caller
  // reports the missing file), the cached copy, or "" when nothing there is the recorded object.
  std::string path;
  std::string warning;  // set with path "": what differs, for the one warning per object
};

// Checks the object at `open_path` (shown to the user as `name`) against the `expected`
// build-id recorded for it.
BuildIdVerdict check_build_id(const std::string& open_path, const std::string& name,
                              const std::string& expected, const std::string& cache_dir);

}  // namespace prof::symbolizer::detail

// Where the symbolizer keeps what it can reuse across runs (decompressed debug info, parsed
// /proc/kallsyms): $PROF_CACHE_DIR, else $XDG_CACHE_HOME/profile, else $HOME/.cache/profile,
// as perf keeps ~/.debug and debuginfod ~/.cache/debuginfod_client. PROF_NO_CACHE=1 turns
// every cache off. Everything in it is keyed so that a stale entry is never used (build-ids,
// boot ids) and written atomically (a temporary file renamed into place).
#pragma once

#include <string>
#include <string_view>

namespace prof::symbolizer::detail {

// The cache's sub-directory `name` (the cache directory itself for ""), created (mode 0700 for
// new directories) if needed; "" when caching is off or no directory can be made.
std::string cache_dir(std::string_view name);

// Writes `bytes` to `path` through a temporary file beside it renamed into place, so readers
// see the whole file or none. Best effort: false (and no temporary left) on any failure.
bool write_cache_file(const std::string& path, std::string_view bytes);

}  // namespace prof::symbolizer::detail

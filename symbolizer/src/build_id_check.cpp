#include "build_id_check.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstdlib>

#include "debug_cache.h"
#include "prof/common/unique_fd.h"

namespace prof::symbolizer::detail {
namespace {

constexpr std::string_view kDeleted = " (deleted)";

std::string_view without_deleted(std::string_view path) {
  if (path.size() > kDeleted.size() && path.ends_with(kDeleted))
    path.remove_suffix(kDeleted.size());
  return path;
}

}  // namespace

bool RecordedBuildIds::assign(const std::vector<perf::BuildIdEntry>& entries) {
  const std::size_t before = by_path_.size();
  for (const auto& e : entries) {
    // Kernel and guest entries name the kernel and its modules, which resolve through
    // kallsyms; an empty id is no claim.
    if (e.cpumode != PERF_RECORD_MISC_USER || e.build_id.empty() || e.filename.empty()) continue;
    by_path_.try_emplace(std::string(without_deleted(e.filename)),
                         to_hex(e.build_id.data(), e.build_id.size()));
  }
  return by_path_.size() != before;
}

std::string_view RecordedBuildIds::find(std::string_view path) const {
  auto it = by_path_.find(std::string(without_deleted(path)));
  return it == by_path_.end() ? std::string_view{} : std::string_view(it->second);
}

std::string file_build_id(const std::string& path, bool& readable) {
  readable = false;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  static const bool elf_ready = elf_version(EV_CURRENT) != EV_NONE;
  (void)elf_ready;
  Elf* elf = elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr);
  std::string id;
  if (elf && elf_kind(elf) == ELF_K_ELF) {
    readable = true;
    id = elf_build_id(elf);
  }
  if (elf) elf_end(elf);
  return id;
}

std::string build_id_cache_dir(const std::string& configured) {
  if (!configured.empty()) return configured;
  const char* home = std::getenv("HOME");
  return home && *home ? std::string(home) + "/.debug" : std::string();
}

std::string cached_object(const std::string& cache_dir, const std::string& build_id) {
  if (cache_dir.empty() || build_id.size() < 3) return "";
  // perf's layout (tools/perf/util/build-id.c): .build-id/<first 2 hex>/<rest> is a symlink to
  // the object's own directory <cache>/<path>/<build-id>/, which holds `elf` (the object as
  // it was) and, for objects with separate debug info, `debug`.
  const std::string dir =
      cache_dir + "/.build-id/" + build_id.substr(0, 2) + "/" + build_id.substr(2) + "/";
  for (const char* leaf : {"elf", "debug"}) {
    bool readable = false;
    const std::string path = dir + leaf;
    if (file_build_id(path, readable) == build_id && readable) return path;
  }
  return "";
}

BuildIdVerdict check_build_id(const std::string& open_path, const std::string& name,
                              const std::string& expected, const std::string& cache_dir) {
  bool readable = false;
  const std::string actual = file_build_id(open_path, readable);
  if (actual == expected) return {open_path, ""};
  if (std::string cached = cached_object(cache_dir, expected); !cached.empty())
    return {std::move(cached), ""};
  if (!readable) return {open_path, ""};  // missing or not ELF: reported as a missing object
  const std::string cache = cache_dir.empty() ? "no build-id cache ($HOME unset)"
                                              : "'" + cache_dir + "/.build-id' has no copy of it";
  return {"", "'" + name + "': build-id " + (actual.empty() ? "(none)" : actual) +
                  " differs from the recorded " + expected +
                  " (the file changed since the capture) and " + cache +
                  ": its frames print as [unknown]; 'profile record' (without -N) and 'perf "
                  "record' keep a copy there for next time, as does 'perf buildid-cache -a FILE'"};
}

}  // namespace prof::symbolizer::detail

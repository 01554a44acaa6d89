#include "prof/collector/build_id_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include "prof/collector/proc_snapshot.h"
#include "sys.h"

namespace prof::collector {

std::string build_id_hex(const std::vector<std::uint8_t>& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : id) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

namespace {

// A path the cache can hold: absolute, a file of its own (not "//anon", "/memfd:x (deleted)",
// "/SYSV0000 (deleted)"), and no "." or ".." component that would lead outside the cache.
bool cacheable(std::string_view path) {
  if (path.size() < 2 || path[0] != '/' || path[1] == '/') return false;
  if (path.ends_with(" (deleted)") || path.starts_with("/memfd:") || path.starts_with("/SYSV"))
    return false;
  std::size_t at = 1;
  while (at <= path.size()) {
    std::size_t end = path.find('/', at);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(at, end - at);
    if (part.empty() || part == "." || part == "..") return false;
    at = end + 1;
  }
  return true;
}

// mkdir -p with perf's mode (0755 before the umask). Returns errno, 0 when it exists.
int make_dirs(const std::string& dir) {
  for (std::size_t at = 1; at <= dir.size(); ++at) {
    if (at != dir.size() && dir[at] != '/') continue;
    const std::string part = dir.substr(0, at);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return errno;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return errno;
  return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

// Copies `from` (read with offsets: its file position is left alone) into `to`.
int copy_contents(int from, int to, std::uint64_t size) {
  off_t in = 0;
  while (static_cast<std::uint64_t>(in) < size) {
    ssize_t n = ::copy_file_range(from, &in, to, nullptr, size - static_cast<std::uint64_t>(in), 0);
    if (n > 0) continue;
    if (n == 0) return EIO;  // the file shrank under us
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return errno;
    // No in-kernel copy between these files: read and write.
    std::vector<char> buf(1 << 16);
    while (static_cast<std::uint64_t>(in) < size) {
      ssize_t r = ::pread(from, buf.data(), buf.size(), in);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return r == 0 ? EIO : errno;
      for (ssize_t done = 0; done < r;) {
        ssize_t w = ::write(to, buf.data() + done, static_cast<std::size_t>(r - done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w == 0 ? EIO : errno;
        done += w;
      }
      in += r;
    }
  }
  return 0;
}

class CacheWriter {
 public:
  CacheWriter(std::string cache_dir, WarningSink* warnings)
      : cache_(std::move(cache_dir)), warnings_(warnings) {}

  void add(const BuildIdRecorder::HitFile& f) {
    const std::string id = build_id_hex(f.build_id);
    if (!cacheable(f.path) || id.size() < 3) {
      ++stats_.skipped;
      return;
    }
    const std::string dir = cache_ + f.path + "/" + id;
    const std::string elf = dir + "/elf";
    struct stat st;
    if (::lstat(elf.c_str(), &st) == 0) {
      ++stats_.present;
    } else if (!copy_in(f, id, dir, elf)) {
      return;
    }
    link_by_id(f.path, id);
  }

  const BuildIdCacheStats& stats() const { return stats_; }

 private:
  // The object into DIR/elf, through a temporary file that is linked in only once its build-id
  // is checked: a reader never sees a partial or wrong copy, and a concurrent capture that
  // added it first wins.
  bool copy_in(const BuildIdRecorder::HitFile& f, const std::string& id, const std::string& dir,
               const std::string& elf) {
    UniqueFd opened;
    int src = f.fd;
    if (src < 0) {
      opened.reset(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
      src = opened.get();
    }
    struct stat st;
    if (src < 0 || ::fstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
      ++stats_.skipped;
      return false;
    }
    if (int err = make_dirs(dir)) return fail(dir, err);
    std::string tmp = dir + "/.elf.XXXXXX";
    UniqueFd out(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!out.valid()) return fail(dir, errno);
    int err = copy_contents(src, out.get(), static_cast<std::uint64_t>(st.st_size));
    // The source's permission bits, as perf's copy keeps them (never set-id bits).
    if (!err && ::fchmod(out.get(), st.st_mode & 0777) != 0) err = errno;
    if (err) {
      ::unlink(tmp.c_str());
      return fail(elf, err);
    }
    auto copied = read_elf_build_id(out.get());
    if (!copied || build_id_hex(*copied) != id) {
      ::unlink(tmp.c_str());
      ++stats_.skipped;
      warn("'" + f.path + "' changed since it was mapped (build-id " +
           (copied ? build_id_hex(*copied) : std::string("none")) + ", recorded " + id +
           "): not added to the build-id cache");
      return false;
    }
    if (::link(tmp.c_str(), elf.c_str()) != 0) {
      err = errno;
      ::unlink(tmp.c_str());
      if (err != EEXIST) return fail(elf, err);
      ++stats_.present;
      return true;
    }
    ::unlink(tmp.c_str());
    ++stats_.added;
    return true;
  }

  // .build-id/<2 hex>/<rest> -> ../../<path>/<id>, unless a link for this id is there already.
  void link_by_id(const std::string& path, const std::string& id) {
    const std::string dir = cache_ + "/.build-id/" + id.substr(0, 2);
    if (int err = make_dirs(dir)) {
      fail(dir, err);
      return;
    }
    const std::string link = dir + "/" + id.substr(2);
    const std::string target = "../.." + path + "/" + id;
    if (::symlink(target.c_str(), link.c_str()) != 0 && errno != EEXIST) fail(link, errno);
  }

  bool fail(const std::string& where, int err) {
    stats_.failed = true;
    warn("could not write perf's build-id cache: '" + where + "': " + std::strerror(err) +
         " (the capture is complete; a binary rebuilt before it is read will print as "
         "[unknown]; -N skips the cache)");
    return false;
  }

  void warn(const std::string& message) {
    if (warnings_) warnings_->warn("buildid-cache", message);
  }

  std::string cache_;
  WarningSink* warnings_;
  BuildIdCacheStats stats_;
};

}  // namespace

BuildIdCacheStats add_to_build_id_cache(const std::string& cache_dir,
                                        std::span<const BuildIdRecorder::HitFile> files,
                                        WarningSink* warnings) {
  CacheWriter writer(cache_dir, warnings);
  if (cache_dir.empty()) return writer.stats();
  for (const auto& f : files) {
    writer.add(f);
    // A cache that cannot be written (read-only $HOME, a full disk) fails alike for every
    // object: one warning says so.
    if (writer.stats().failed) break;
  }
  return writer.stats();
}

}  // namespace prof::collector

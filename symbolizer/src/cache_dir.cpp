#include "cache_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "prof/common/unique_fd.h"

namespace prof::symbolizer::detail {
namespace {

bool make_dirs(const std::string& path) {
  for (std::size_t at = 1; at <= path.size(); ++at) {
    if (at != path.size() && path[at] != '/') continue;
    std::string prefix = path.substr(0, at);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string cache_dir(std::string_view name) {
  const char* off = std::getenv("PROF_NO_CACHE");
  if (off && *off && std::string_view(off) != "0") return "";
  std::string root;
  if (const char* d = std::getenv("PROF_CACHE_DIR"); d && *d) root = d;
  else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/')
    root = std::string(x) + "/profile";
  else if (const char* h = std::getenv("HOME"); h && *h == '/')
    root = std::string(h) + "/.cache/profile";
  else return "";
  std::string dir = name.empty() ? root : root + "/" + std::string(name);
  return make_dirs(dir) ? dir : "";
}

bool write_cache_file(const std::string& path, std::string_view bytes) {
  std::string temp = path + ".XXXXXX";
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd) return false;
  bool ok = true;
  for (const char* p = bytes.data(); ok && p < bytes.data() + bytes.size();) {
    ssize_t n = ::write(fd.get(), p, static_cast<std::size_t>(bytes.data() + bytes.size() - p));
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) p += n;
  }
  ok = ::close(fd.release()) == 0 && ok;  // a written file's close can fail: checked
  if (ok) ok = ::rename(temp.c_str(), path.c_str()) == 0;
  if (!ok) ::unlink(temp.c_str());
  return ok;
}

}  // namespace prof::symbolizer::detail

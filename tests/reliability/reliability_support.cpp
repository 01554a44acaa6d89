#include "reliability_support.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "test_support.h"

namespace prof::test {

SmallTmpfs::SmallTmpfs(std::uint64_t bytes) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/prof-tmpfs-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    why_ = "mkdtemp failed";
    return;
  }
  dir_ = tmpl;
  std::string data = "size=" + std::to_string(bytes) + ",mode=0777";
  if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0) {
    why_ = std::string("mount tmpfs: ") + std::strerror(errno);
    return;
  }
  mounted_ = true;
}

SmallTmpfs::~SmallTmpfs() {
  if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  if (!dir_.empty()) ::rmdir(dir_.c_str());
}

void SmallTmpfs::fill(std::uint64_t keep_free) const {
  struct statvfs vfs {};
  if (::statvfs(dir_.c_str(), &vfs) != 0) return;
  const std::uint64_t avail = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (avail <= keep_free) return;
  int fd = ::open(file("filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::vector<char> block(4096, 'x');
  for (std::uint64_t left = avail - keep_free; left > 0;) {
    auto n = std::min<std::uint64_t>(left, block.size());
    ssize_t w = ::write(fd, block.data(), n);
    if (w <= 0) break;
    left -= static_cast<std::uint64_t>(w);
  }
  ::close(fd);
}

ScopedSysctl::ScopedSysctl(std::string path, const std::string& value) : path_(std::move(path)) {
  {
    std::ifstream in(path_);
    if (!in || !std::getline(in, old_)) return;
  }
  if (old_ == value) {
    ok_ = true;
    return;
  }
  std::ofstream out(path_);
  out << value << '\n';
  out.flush();
  ok_ = changed_ = static_cast<bool>(out);
}

ScopedSysctl::~ScopedSysctl() {
  if (!changed_) return;
  std::ofstream out(path_);
  out << old_ << '\n';
}

namespace {

Readback count_samples(const RunResult& r) {
  Readback b;
  b.ok = r.exit_code == 0;
  b.err = r.err;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ' && line[0] != '\t') ++b.samples;
  }
  return b;
}

}  // namespace

Readback read_with_profile(const std::string& path) {
  return count_samples(run_profile({"symbolize", path}));
}

Readback read_with_perf(const std::string& path) {
  return count_samples(run({"perf", "script", "-i", path}));
}

std::optional<std::uint64_t> header_data_size(const std::string& path) {
  // include/uapi/linux/perf_event.h has no struct for it; tools/perf/util/header.h:
  // perf_file_header { magic, size, attr_size, attrs{offset,size}, data{offset,size}, ... }.
  constexpr off_t kDataSizeOffset = 48;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::uint64_t size = 0;
  ssize_t n = ::pread(fd, &size, sizeof size, kDataSizeOffset);
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof size)) return std::nullopt;
  return size;
}

bool is_one_line_error(const std::string& err, const std::string& must_contain) {
  return err.rfind("profile: error: ", 0) == 0 && err.find(must_contain) != std::string::npos &&
         std::count(err.begin(), err.end(), '\n') == 1;
}

}  // namespace prof::test

// Helpers shared by the reliability suite: a small tmpfs mounted for one test, a sysctl set for
// one test and restored, and the checks that a capture on disk is readable by us and by perf.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace prof::test {

// A tmpfs of `bytes` mounted at a fresh directory; unmounted (lazily) on destruction. ok() is
// false where mount(2) is denied; why() says so.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(std::uint64_t bytes);
  ~SmallTmpfs();
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;
  bool ok() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::string& path() const { return dir_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  // Writes a filler file until the filesystem has at most `keep_free` bytes left.
  void fill(std::uint64_t keep_free) const;

 private:
  std::string dir_;
  std::string why_;
  bool mounted_ = false;
};

// Sets a /proc/sys file for the lifetime of the object and restores the old value.
class ScopedSysctl {
 public:
  ScopedSysctl(std::string path, const std::string& value);
  ~ScopedSysctl();
  ScopedSysctl(const ScopedSysctl&) = delete;
  ScopedSysctl& operator=(const ScopedSysctl&) = delete;
  bool ok() const { return ok_; }

 private:
  std::string path_;
  std::string old_;
  bool ok_ = false;
  bool changed_ = false;
};

// What a reader made of a capture file.
struct Readback {
  bool ok = false;          // the reader exited 0
  std::size_t samples = 0;  // sample headers in its perf-script output
  std::string err;          // its stderr
};
// `profile symbolize FILE`.
Readback read_with_profile(const std::string& path);
// `perf script -i FILE` (the real peer).
Readback read_with_perf(const std::string& path);

// The data size field of a perf.data file header (perf_file_header.data.size), or nullopt
// when the file is shorter than the header.
std::optional<std::uint64_t> header_data_size(const std::string& path);

// Polls (every 10 ms, up to timeout_ms) until pred() holds; true if it did.
template <typename Pred>
bool wait_until(Pred pred, int timeout_ms);

// One line on stderr starting "profile: error: ", containing `must_contain`.
bool is_one_line_error(const std::string& err, const std::string& must_contain);

}  // namespace prof::test

#include <chrono>
#include <thread>

template <typename Pred>
bool prof::test::wait_until(Pred pred, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Thin wrappers over the system calls the collector uses (perf_event_open(2) has no glibc
// wrapper) and small /proc readers. Private to prof::collector.
#pragma once

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <optional>
#include <string>

namespace prof::collector::sys {

// perf_event_open(2); returns the fd or -1 with errno set.
inline int perf_event_open(perf_event_attr& attr, pid_t pid, int cpu, int group_fd,
                           unsigned long flags) {
  return static_cast<int>(syscall(SYS_perf_event_open, &attr, pid, cpu, group_fd, flags));
}

// Closes on destruction; movable.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Whole small file (a /proc or /sys entry); nullopt when it cannot be opened.
std::optional<std::string> read_small_file(const std::string& path);

}  // namespace prof::collector::sys

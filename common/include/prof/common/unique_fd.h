// UniqueFd and MemoryMap: the one owning file-descriptor type and the one owning mmap(2) region
// type of the project. Every stage holds descriptors and mappings through these, so no code
// path can forget a close(2) or munmap(2).
//
// Pipeline position: prof::common, shared by all stages.
//
//   prof::UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
//   if (!fd) return prof::Error{prof::Errc::kIo, path + ": " + std::strerror(errno)};
//   auto map = prof::MemoryMap::map(fd.get(), size, PROT_READ, MAP_PRIVATE);
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <utility>

namespace prof {

// Closes on destruction; movable, not copyable. -1 = none.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  // Gives up ownership without closing.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  // Closes the held descriptor (if any) and holds `fd` instead.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// An owning mmap(2) region: unmapped on destruction; movable, not copyable.
class MemoryMap {
 public:
  MemoryMap() = default;
  // Adopts a region mmap(2) returned (MAP_FAILED or null = none).
  MemoryMap(void* addr, std::size_t size) noexcept
      : addr_(addr == MAP_FAILED ? nullptr : addr), size_(addr_ ? size : 0) {}
  // mmap(2) of `size` bytes of `fd` at `offset`; an empty map (errno set) on failure.
  static MemoryMap map(int fd, std::size_t size, int prot, int flags, off_t offset = 0,
                       void* hint = nullptr) noexcept {
    return MemoryMap(::mmap(hint, size, prot, flags, fd, offset), size);
  }
  MemoryMap(MemoryMap&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  MemoryMap& operator=(MemoryMap&& o) noexcept {
    if (this != &o) {
      reset();
      addr_ = std::exchange(o.addr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  MemoryMap(const MemoryMap&) = delete;
  MemoryMap& operator=(const MemoryMap&) = delete;
  ~MemoryMap() { reset(); }

  void* data() const noexcept { return addr_; }
  const unsigned char* bytes() const noexcept { return static_cast<const unsigned char*>(addr_); }
  std::size_t size() const noexcept { return size_; }
  bool valid() const noexcept { return addr_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }
  void reset() noexcept {
    if (addr_) ::munmap(addr_, size_);
    addr_ = nullptr;
    size_ = 0;
  }

 private:
  void* addr_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace prof

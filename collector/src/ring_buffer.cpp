#include "prof/collector/ring_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

namespace prof::collector {

namespace {
std::size_t floor_pow2(std::size_t n) {
  std::size_t p = 1;
  while (p <= n / 2) p *= 2;
  return p;
}
}  // namespace

std::size_t ring_pages_for_rate(std::uint64_t records_per_s, std::size_t record_bytes,
                                std::uint64_t hold_ms, std::size_t page_size, std::size_t min_pages,
                                std::size_t max_pages) {
  const std::size_t cap = floor_pow2(std::max<std::size_t>(max_pages, 1));
  const long double bytes = static_cast<long double>(records_per_s) *
                            static_cast<long double>(record_bytes) *
                            static_cast<long double>(hold_ms) / 1000.0L;
  const long double wanted = bytes / static_cast<long double>(std::max<std::size_t>(page_size, 1));
  std::size_t pages = std::max<std::size_t>(min_pages, 1);
  while (pages < cap && static_cast<long double>(pages) < wanted) pages *= 2;
  return std::min(pages, cap);
}

std::size_t mlock_ring_cap(std::uint64_t mlock_kb, std::size_t page_size, bool privileged,
                           std::size_t privileged_cap) {
  if (privileged) return privileged_cap;
  const std::uint64_t pages = mlock_kb * 1024 / std::max<std::size_t>(page_size, 1);
  if (pages < 2) return 0;  // the control page and at least one data page
  return floor_pow2(static_cast<std::size_t>(pages - 1));
}

Result<RingBuffer> RingBuffer::map(int fd, std::size_t data_pages) {
  if (data_pages == 0 || (data_pages & (data_pages - 1)) != 0)
    return Error{Errc::kUsage, "ring buffer size must be a power of two pages, not " +
                                   std::to_string(data_pages)};
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t len = (data_pages + 1) * page;
  MemoryMap m = MemoryMap::map(fd, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE);
  if (!m) {
    int err = errno;
    std::string msg =
        "cannot map a " + std::to_string(data_pages) + "-page ring buffer: " + std::strerror(err);
    if (err == EPERM || err == ENOMEM)
      msg +=
          " (beyond the locked-memory budget kernel.perf_event_mlock_kb for non-root users: "
          "use a smaller -m or run as root / with CAP_IPC_LOCK)";
    return Error{err == EPERM ? Errc::kPermission : Errc::kIo, msg};
  }
  RingBuffer rb;
  rb.control_ = static_cast<perf_event_mmap_page*>(m.data());
  // data_offset/data_size exist since Linux 4.1; before that the data follows the first page.
  std::uint64_t off = rb.control_->data_offset ? rb.control_->data_offset : page;
  rb.size_ = rb.control_->data_size ? rb.control_->data_size : data_pages * page;
  rb.data_ = static_cast<std::uint8_t*>(m.data()) + off;
  rb.mapping_ = std::move(m);
  return rb;
}

RingBuffer::RingBuffer(perf_event_mmap_page* control, std::uint8_t* data, std::uint64_t data_size)
    : control_(control), data_(data), size_(data_size) {}

RingBuffer::RingBuffer(RingBuffer&& other) noexcept { *this = std::move(other); }

RingBuffer& RingBuffer::operator=(RingBuffer&& other) noexcept {
  if (this == &other) return *this;
  control_ = std::exchange(other.control_, nullptr);
  data_ = std::exchange(other.data_, nullptr);
  size_ = std::exchange(other.size_, 0);
  mapping_ = std::move(other.mapping_);
  wrapped_ = std::exchange(other.wrapped_, 0);
  scratch_ = std::move(other.scratch_);
  return *this;
}

RingBuffer::~RingBuffer() = default;

std::span<const std::uint8_t> RingBuffer::unwrap(std::uint64_t offset, std::uint64_t size) {
  scratch_.resize(size);
  const std::uint64_t first = size_ - offset;
  std::memcpy(scratch_.data(), data_ + offset, first);
  std::memcpy(scratch_.data() + first, data_, size - first);
  ++wrapped_;
  return {scratch_.data(), static_cast<std::size_t>(size)};
}

Error RingBuffer::corrupt(std::uint64_t tail, std::uint64_t head, std::uint32_t size) {
  return Error{Errc::kInternal, "ring buffer record at position " + std::to_string(tail) +
                                    " claims " + std::to_string(size) + " bytes with " +
                                    std::to_string(head - tail) +
                                    " available; skipped the rest of the ring"};
}

}  // namespace prof::collector

// RingBuffer: the consumer side of one perf_event mmap ring (perf_event_open(2), "MMAP layout";
// the ordering rules are the comments on perf_event_mmap_page in <linux/perf_event.h>).
//
// Pipeline position: prof::collector. The Collector maps one ring per CPU and drains each with
// drain(); every complete record is handed on as one contiguous span, including records that
// wrap around the end of the data area (copied into a scratch buffer). The mapping is writable,
// so data_tail is honoured: the kernel never overwrites unread records and emits
// PERF_RECORD_LOST instead.
//
//   auto ring = prof::collector::RingBuffer::map(fd, 128);
//   auto n = ring->drain([&](std::span<const std::uint8_t> rec) -> prof::Result<void> {
//     return writer.write(rec);
//   });
#pragma once

#include <linux/perf_event.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "prof/common/result.h"
#include "prof/common/unique_fd.h"

namespace prof::collector {

// The ring the Collector maps per CPU when -m is not given: room for `hold_ms` of records
// arriving at `records_per_s` of about `record_bytes` each, as data pages (a power of two), at
// least `min_pages` and at most `max_pages` (rounded down to a power of two, never below 1).
// At -F 99 that is the 128-page default; at -F 100000 with call chains, thousands.
std::size_t ring_pages_for_rate(std::uint64_t records_per_s, std::size_t record_bytes,
                                std::uint64_t hold_ms, std::size_t page_size, std::size_t min_pages,
                                std::size_t max_pages);

// The largest ring (data pages, a power of two) one CPU may map within the kernel's
// locked-memory budget: a user without CAP_IPC_LOCK (and with perf_event_paranoid above -1)
// may lock kernel.perf_event_mlock_kb per online CPU, the control page included (perf_mmap in
// kernel/events/core.c); 0 when not even one data page fits. `privileged` users have no such
// limit: `privileged_cap` then.
std::size_t mlock_ring_cap(std::uint64_t mlock_kb, std::size_t page_size, bool privileged,
                           std::size_t privileged_cap);

class RingBuffer {
 public:
  // mmap(2)s one control page plus `data_pages` (a power of two) of perf event `fd`.
  static Result<RingBuffer> map(int fd, std::size_t data_pages);

  // Over memory the caller owns (tests play the kernel's part): `control->data_head` is the
  // producer position, `data` has `data_size` bytes (a power of two). Nothing is unmapped.
  RingBuffer(perf_event_mmap_page* control, std::uint8_t* data, std::uint64_t data_size);

  RingBuffer(RingBuffer&& other) noexcept;
  RingBuffer& operator=(RingBuffer&& other) noexcept;
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;
  ~RingBuffer();

  // Calls `on_record(std::span<const std::uint8_t>) -> Result<void>` for every complete record
  // between data_tail and data_head (the span lives until on_record returns), then publishes the
  // new data_tail. Returns the number of records. An error from on_record stops the drain after
  // that record; a record whose size is impossible (smaller than its header or past data_head)
  // is a kInternal error and the ring is skipped to data_head so that capture can go on.
  template <typename OnRecord>
  Result<std::uint64_t> drain(OnRecord&& on_record);

  std::uint64_t data_size() const { return size_; }
  // Records handed over so far that had wrapped around the end of the data area.
  std::uint64_t wrapped_records() const { return wrapped_; }

 private:
  RingBuffer() = default;
  // Copies the record at `offset` that wraps around the end into scratch_.
  std::span<const std::uint8_t> unwrap(std::uint64_t offset, std::uint64_t size);
  Error corrupt(std::uint64_t tail, std::uint64_t head, std::uint32_t size);

  perf_event_mmap_page* control_ = nullptr;
  std::uint8_t* data_ = nullptr;
  std::uint64_t size_ = 0;
  MemoryMap mapping_;  // valid when we own an mmap
  std::uint64_t wrapped_ = 0;
  std::vector<std::uint8_t> scratch_;
};

template <typename OnRecord>
Result<std::uint64_t> RingBuffer::drain(OnRecord&& on_record) {
  // Acquire pairs with the kernel's store of data_head: record bytes before head are visible.
  const std::uint64_t head = __atomic_load_n(&control_->data_head, __ATOMIC_ACQUIRE);
  std::uint64_t tail = control_->data_tail;
  std::uint64_t count = 0;
  const std::uint64_t mask = size_ - 1;
  auto publish = [&] {
    // Release: our reads of the records happen before the kernel may reuse their space.
    __atomic_store_n(&control_->data_tail, tail, __ATOMIC_RELEASE);
  };
  while (tail != head) {
    const std::uint64_t offset = tail & mask;
    perf_event_header hdr;
    // Records are 8-byte aligned, so the 8-byte header itself never wraps.
    std::memcpy(&hdr, data_ + offset, sizeof hdr);
    if (hdr.size < sizeof hdr || hdr.size > head - tail) {
      Error e = corrupt(tail, head, hdr.size);
      tail = head;
      publish();
      return e;
    }
    std::span<const std::uint8_t> rec =
        offset + hdr.size <= size_ ? std::span<const std::uint8_t>(data_ + offset, hdr.size)
                                   : unwrap(offset, hdr.size);
    Result<void> r = on_record(rec);
    tail += hdr.size;
    ++count;
    if (!r) {
      publish();
      return r.error();
    }
  }
  publish();
  return count;
}

}  // namespace prof::collector

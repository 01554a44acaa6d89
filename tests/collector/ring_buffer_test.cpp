// The ring protocol with this test as the kernel: records written at data_head, wrapping around
// the end of a small data area, must come out whole and in order, and data_tail must follow.
#include "prof/collector/ring_buffer.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <numeric>
#include <vector>

namespace {

using prof::collector::RingBuffer;

struct FakeKernel {
  explicit FakeKernel(std::size_t size) : data(size, 0xEE) { std::memset(&page, 0, sizeof page); }
  perf_event_mmap_page page;
  std::vector<std::uint8_t> data;

  // Writes one record of `size` bytes (8-aligned) whose payload bytes are `fill`.
  void produce(std::uint32_t type, std::uint16_t size, std::uint8_t fill) {
    std::array<std::uint8_t, 256> rec;
    rec.fill(fill);
    perf_event_header h{type, 0, size};
    std::memcpy(rec.data(), &h, sizeof h);
    std::uint64_t head = page.data_head;
    ASSERT_LE(head + size - page.data_tail, data.size()) << "test overfilled the ring";
    for (std::size_t i = 0; i < size; ++i) data[(head + i) % data.size()] = rec[i];
    page.data_head = head + size;
  }
};

struct Seen {
  std::uint32_t type;
  std::size_t size;
  bool payload_ok;
};

prof::Result<std::uint64_t> drain_into(RingBuffer& rb, std::vector<Seen>& seen) {
  return rb.drain([&](std::span<const std::uint8_t> rec) -> prof::Result<void> {
    perf_event_header h;
    std::memcpy(&h, rec.data(), sizeof h);
    bool ok = rec.size() == h.size;
    for (std::size_t i = sizeof h; i < rec.size(); ++i) ok = ok && rec[i] == rec.back();
    seen.push_back({h.type, rec.size(), ok});
    return prof::ok();
  });
}

TEST(RingBuffer, DeliversRecordsInOrderAndPublishesTail) {
  FakeKernel k(256);
  RingBuffer rb(&k.page, k.data.data(), k.data.size());
  k.produce(PERF_RECORD_SAMPLE, 24, 1);
  k.produce(PERF_RECORD_COMM, 40, 2);
  std::vector<Seen> seen;
  auto n = drain_into(rb, seen);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2u);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].type, PERF_RECORD_SAMPLE);
  EXPECT_EQ(seen[1].size, 40u);
  EXPECT_EQ(k.page.data_tail, 64u);
  EXPECT_EQ(rb.wrapped_records(), 0u);
  // Nothing new: nothing delivered, tail unchanged.
  seen.clear();
  EXPECT_EQ(*drain_into(rb, seen), 0u);
  EXPECT_EQ(k.page.data_tail, 64u);
}

TEST(RingBuffer, RecordsWrappingTheEndArriveWhole) {
  FakeKernel k(256);
  RingBuffer rb(&k.page, k.data.data(), k.data.size());
  std::vector<Seen> seen;
  std::uint64_t produced = 0, expected_wraps = 0;
  // Sizes that do not divide 128 walk the record boundaries across every offset of the end.
  const std::uint16_t sizes[] = {24, 40, 56, 16, 48, 32, 8, 72};
  for (int round = 0; round < 200; ++round) {
    std::uint16_t size = sizes[round % 8];
    std::uint64_t at = k.page.data_head % 256;
    if (at + size > 256) ++expected_wraps;
    k.produce(PERF_RECORD_SAMPLE, size, static_cast<std::uint8_t>(round + 1));
    ++produced;
    if (round % 3 == 2) {
      ASSERT_TRUE(drain_into(rb, seen));
    }
  }
  ASSERT_TRUE(drain_into(rb, seen));
  ASSERT_EQ(seen.size(), produced);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_TRUE(seen[i].payload_ok) << "record " << i;
    EXPECT_EQ(seen[i].size, sizes[i % 8]) << "record " << i;
  }
  EXPECT_GT(expected_wraps, 10u);
  EXPECT_EQ(rb.wrapped_records(), expected_wraps);
  EXPECT_EQ(k.page.data_tail, k.page.data_head);
}

TEST(RingBuffer, CorruptSizeIsAnErrorAndSkipsToHead) {
  FakeKernel k(128);
  RingBuffer rb(&k.page, k.data.data(), k.data.size());
  k.produce(PERF_RECORD_SAMPLE, 16, 3);
  // A header claiming more bytes than were produced.
  perf_event_header bad{PERF_RECORD_SAMPLE, 0, 100};
  std::memcpy(k.data.data() + 16, &bad, sizeof bad);
  k.page.data_head += 16;
  std::vector<Seen> seen;
  auto n = drain_into(rb, seen);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, prof::Errc::kInternal);
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(k.page.data_tail, k.page.data_head);
  // A zero size must not loop forever either.
  perf_event_header zero{PERF_RECORD_SAMPLE, 0, 0};
  std::memcpy(k.data.data() + 32, &zero, sizeof zero);
  k.page.data_head += 8;
  EXPECT_FALSE(drain_into(rb, seen));
  EXPECT_EQ(k.page.data_tail, k.page.data_head);
}

TEST(RingBuffer, SinkErrorStopsAfterThatRecord) {
  FakeKernel k(256);
  RingBuffer rb(&k.page, k.data.data(), k.data.size());
  for (int i = 0; i < 4; ++i) k.produce(PERF_RECORD_SAMPLE, 16, static_cast<std::uint8_t>(i));
  int calls = 0;
  auto n = rb.drain([&](std::span<const std::uint8_t>) -> prof::Result<void> {
    if (++calls == 2) return prof::Error{prof::Errc::kIo, "disk full"};
    return prof::ok();
  });
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message, "disk full");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(k.page.data_tail, 32u);  // the failed record counts as consumed
  std::vector<Seen> seen;
  EXPECT_EQ(*drain_into(rb, seen), 2u);
}

TEST(RingBuffer, MapRejectsSizesThatAreNotPowersOfTwo) {
  auto rb = RingBuffer::map(-1, 3);
  ASSERT_FALSE(rb);
  EXPECT_EQ(rb.error().code, prof::Errc::kUsage);
}

}  // namespace

namespace {

using prof::collector::mlock_ring_cap;
using prof::collector::ring_pages_for_rate;

// Fails before issue 19: every rate got the same 128-page ring, which at -F 100000 with call
// chains (about 5 MB/s per CPU here) holds a tenth of a second.
TEST(RingSizing, TheDefaultRingGrowsWithTheRate) {
  // 100 ms of 320-byte samples: at 99 Hz nothing beyond the 128-page floor.
  EXPECT_EQ(ring_pages_for_rate(99, 320, 100, 4096, 128, 4096), 128u);
  EXPECT_EQ(ring_pages_for_rate(4000, 320, 100, 4096, 128, 4096), 128u);
  // 100 kHz: 3.2 MB = 782 pages, rounded up to a power of two.
  EXPECT_EQ(ring_pages_for_rate(100000, 320, 100, 4096, 128, 4096), 1024u);
  // Never above the cap, which is rounded down to a power of two.
  EXPECT_EQ(ring_pages_for_rate(100000, 320, 100, 4096, 128, 300), 256u);
  EXPECT_EQ(ring_pages_for_rate(100000, 320, 100, 4096, 512, 4096), 1024u);
  EXPECT_EQ(ring_pages_for_rate(1'000'000'000, 65536, 1000, 4096, 128, 4096), 4096u);
  // The floor is kept even when the cap is below it only if the caller allows it.
  EXPECT_EQ(ring_pages_for_rate(0, 320, 100, 4096, 128, 4096), 128u);
}

TEST(RingSizing, AnUnprivilegedRingStaysWithinTheLockedMemoryBudget) {
  // kernel.perf_event_mlock_kb = 516 (the default): 129 pages per CPU with the control page.
  EXPECT_EQ(mlock_ring_cap(516, 4096, false, 4096), 128u);
  EXPECT_EQ(mlock_ring_cap(2048, 4096, false, 4096), 256u);  // 511 data pages -> 256
  EXPECT_EQ(mlock_ring_cap(8, 4096, false, 4096), 1u);
  EXPECT_EQ(mlock_ring_cap(4, 4096, false, 4096), 0u);  // not even one data page
  // Root / CAP_IPC_LOCK: only our own cap.
  EXPECT_EQ(mlock_ring_cap(516, 4096, true, 4096), 4096u);
  // Whatever the sizing asks for, the cap wins.
  EXPECT_EQ(
      ring_pages_for_rate(100000, 320, 100, 4096, 128, mlock_ring_cap(516, 4096, false, 4096)),
      128u);
}

}  // namespace

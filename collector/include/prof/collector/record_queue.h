// RecordQueue: the hand-over between the Collector's draining thread and the thread that feeds
// the RecordSink. Draining the rings is cheap (a copy); what the sink does with a record
// (write a file, decode and intern a stack) is not, and at the top sampling rate a reader that
// did both in turn left the rings full for long enough that the kernel dropped most samples.
// So one thread only copies each drain of every ring into a Round and queues it, and the
// consumer hands the rounds on in the order they were taken: perf's FINISHED_ROUND order
// (a round's records may be reordered by time among themselves, never across rounds) holds.
//
// Memory is bounded: rounds are queued while less than `budget_bytes` of buffers are held,
// spares included (a round is never split, so one round may exceed it). A drainer that finds the
// queue full waits for room and leaves the records in the rings, where the kernel counts what it
// has to drop (PERF_RECORD_LOST); full_waits() says that happened, so that the loss hint can blame
// the consumer rather than the ring size.
//
// Pipeline position: prof::collector, private to Collector::run but public for its tests.
//
//   prof::collector::RecordQueue q(64 << 20);
//   q.prime(8, ring_bytes);
//   // drainer:  Round r = q.spare(ring_bytes); ...fill...; q.push(std::move(r)); ... q.close();
//   // consumer: while (auto r = q.pop(250ms)) { for (auto& s : r->segments) ...; q.recycle(*r); }
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace prof::collector {

// One drain of every ring: the records of each ring, in ring order, back to back.
struct Round {
  struct Segment {
    std::size_t ring = 0;            // index of the ring the records came from
    std::size_t begin = 0, end = 0;  // [begin, end) in bytes
  };
  std::vector<std::uint8_t> bytes;
  std::vector<Segment> segments;

  bool empty() const { return bytes.empty(); }
  std::span<const std::uint8_t> segment(const Segment& s) const {
    return {bytes.data() + s.begin, s.end - s.begin};
  }
};

class RecordQueue {
 public:
  explicit RecordQueue(std::size_t budget_bytes) : budget_(budget_bytes) {}

  // `count` spare buffers of `bytes` each, written once so that their pages are present
  // before sampling starts: a page first touched under a storm of sampling interrupts costs
  // more than the copy into it. As many as the budget allows.
  void prime(std::size_t count, std::size_t bytes);
  // An empty round whose buffer holds at least `capacity` bytes: a spare when there is one,
  // else a new allocation.
  Round spare(std::size_t capacity);
  // A delivered round's buffer back for reuse (kept while there are fewer spares than were
  // primed, at least two): steady draining then allocates nothing.
  void recycle(Round round);

  // Queues `round` (an empty one is dropped). Never blocks: call wait_for_room() first.
  void push(Round round);
  // True when a round may be pushed (less than the budget held, spares included) or the
  // queue is closed; waits up to `timeout` for the consumer to make room. Counts a full wait.
  bool wait_for_room(std::chrono::milliseconds timeout);
  // The oldest round; waits up to `timeout`. nullopt on timeout or when closed and empty
  // (tell them apart with finished()).
  std::optional<Round> pop(std::chrono::milliseconds timeout);
  // No more pushes; pop() returns what is left, then nullopt.
  void close();
  bool finished() const;

  std::size_t held_bytes() const;  // buffer capacity queued or spare
  std::size_t peak_bytes() const;
  std::uint64_t full_waits() const;

 private:
  const std::size_t budget_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Round> rounds_;
  std::vector<Round> spares_;
  std::size_t keep_spares_ = 2;
  std::size_t held_ = 0, peak_ = 0;  // capacity of queued rounds and spares
  std::uint64_t full_waits_ = 0;
  bool closed_ = false;
};

}  // namespace prof::collector

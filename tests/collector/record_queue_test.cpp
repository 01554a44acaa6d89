// The hand-over between the Collector's draining thread and its sink: rounds come out in the
// order they were taken (perf's FINISHED_ROUND order), the budget stops the drainer instead of
// growing without bound, and buffers are reused rather than allocated per round.
#include "prof/collector/record_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using prof::collector::RecordQueue;
using prof::collector::Round;

Round round_of(std::size_t ring, std::uint64_t value, std::size_t bytes = 8) {
  Round r;
  r.bytes.resize(bytes);
  std::memcpy(r.bytes.data(), &value, sizeof value);
  r.segments.push_back({ring, 0, bytes});
  return r;
}

std::uint64_t value_of(const Round& r) {
  std::uint64_t v = 0;
  std::memcpy(&v, r.bytes.data(), sizeof v);
  return v;
}

TEST(RecordQueue, RoundsComeOutInTheOrderTheyWereTaken) {
  RecordQueue q(1 << 20);
  q.push(round_of(1, 10));
  q.push(Round{});  // an empty drain is no round
  q.push(round_of(0, 11));
  auto a = q.pop(0ms);
  ASSERT_TRUE(a);
  EXPECT_EQ(value_of(*a), 10u);
  ASSERT_EQ(a->segments.size(), 1u);
  EXPECT_EQ(a->segments[0].ring, 1u);
  EXPECT_EQ(a->segment(a->segments[0]).size(), 8u);
  auto b = q.pop(0ms);
  ASSERT_TRUE(b);
  EXPECT_EQ(value_of(*b), 11u);
  EXPECT_FALSE(q.pop(0ms));
  EXPECT_FALSE(q.finished());  // empty but open: more may come
  q.close();
  EXPECT_TRUE(q.finished());
}

TEST(RecordQueue, CloseStillHandsOverWhatIsQueued) {
  RecordQueue q(1 << 20);
  q.push(round_of(0, 1));
  q.push(round_of(0, 2));
  q.close();
  EXPECT_FALSE(q.finished());
  ASSERT_TRUE(q.pop(0ms));
  ASSERT_TRUE(q.pop(0ms));
  EXPECT_FALSE(q.pop(0ms));
  EXPECT_TRUE(q.finished());
}

TEST(RecordQueue, AFullBudgetHoldsTheDrainerUntilTheConsumerMakesRoom) {
  RecordQueue q(64);
  EXPECT_TRUE(q.wait_for_room(0ms));
  q.push(round_of(0, 1, 64));  // a round is never split: it may reach the budget
  EXPECT_FALSE(q.wait_for_room(0ms));
  EXPECT_EQ(q.full_waits(), 1u);
  EXPECT_GE(q.peak_bytes(), 64u);
  ASSERT_TRUE(q.pop(0ms));
  EXPECT_TRUE(q.wait_for_room(0ms));
  EXPECT_EQ(q.held_bytes(), 0u);
  q.push(round_of(0, 2, 64));
  q.close();  // closing ends any wait: the drainer must not hang on a consumer that left
  EXPECT_TRUE(q.wait_for_room(0ms));
}

TEST(RecordQueue, PrimedBuffersAreReusedAndCountAgainstTheBudget) {
  RecordQueue q(3 * 4096);
  q.prime(8, 4096);  // only three fit the budget
  EXPECT_EQ(q.held_bytes(), 3u * 4096u);
  Round r = q.spare(100);
  EXPECT_GE(r.bytes.capacity(), 4096u);
  EXPECT_TRUE(r.bytes.empty());
  const std::uint8_t* buffer = r.bytes.data();
  r.bytes.resize(16);
  r.segments.push_back({0, 0, 16});
  q.push(std::move(r));
  auto back = q.pop(0ms);
  ASSERT_TRUE(back);
  q.recycle(std::move(*back));
  EXPECT_EQ(q.held_bytes(), 3u * 4096u);
  // The last buffer given back is the next one handed out, empty.
  Round again = q.spare(100);
  EXPECT_EQ(again.bytes.data(), buffer);
  EXPECT_TRUE(again.bytes.empty());
  EXPECT_TRUE(again.segments.empty());
}

TEST(RecordQueue, AThreadedDrainerAndConsumerKeepTheOrder) {
  // Bounded: the drainer waits for room as the Collector's does, so at most a few rounds are
  // ever held, and every one arrives once, in order.
  RecordQueue q(4 * 64);
  constexpr std::uint64_t kRounds = 20000;
  std::thread drainer([&] {
    for (std::uint64_t i = 0; i < kRounds;) {
      if (!q.wait_for_room(10ms)) continue;
      Round r = q.spare(64);
      r.bytes.resize(64);
      std::memcpy(r.bytes.data(), &i, sizeof i);
      r.segments.push_back({static_cast<std::size_t>(i % 3), 0, 64});
      q.push(std::move(r));
      ++i;
    }
    q.close();
  });
  std::uint64_t next = 0;
  while (!q.finished()) {
    auto r = q.pop(100ms);
    if (!r) continue;
    EXPECT_EQ(value_of(*r), next);
    ++next;
    q.recycle(std::move(*r));
  }
  drainer.join();
  EXPECT_EQ(next, kRounds);
  EXPECT_LE(q.peak_bytes(), 8u * 64u);
}

}  // namespace

#include "prof/collector/record_queue.h"

#include <algorithm>
#include <utility>

namespace prof::collector {

void RecordQueue::prime(std::size_t count, std::size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  keep_spares_ = std::max<std::size_t>(keep_spares_, count);
  while (spares_.size() < count && held_ + bytes <= budget_) {
    Round r;
    r.bytes.resize(bytes);  // value-initialized: every page written
    r.bytes.clear();        // the capacity stays
    held_ += r.bytes.capacity();
    spares_.push_back(std::move(r));
  }
  peak_ = std::max(peak_, held_);
}

Round RecordQueue::spare(std::size_t capacity) {
  Round r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!spares_.empty()) {
      r = std::move(spares_.back());
      spares_.pop_back();
      held_ -= r.bytes.capacity();
    }
  }
  r.bytes.reserve(capacity);
  return r;
}

void RecordQueue::recycle(Round round) {
  round.bytes.clear();
  round.segments.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (spares_.size() >= keep_spares_ || held_ + round.bytes.capacity() > budget_) return;
    held_ += round.bytes.capacity();
    spares_.push_back(std::move(round));
  }
  changed_.notify_all();
}

void RecordQueue::push(Round round) {
  if (round.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_ += round.bytes.capacity();
    peak_ = std::max(peak_, held_);
    rounds_.push_back(std::move(round));
  }
  changed_.notify_all();
}

bool RecordQueue::wait_for_room(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  // Spares are room: the next round goes into one of them.
  auto room = [&] { return closed_ || !spares_.empty() || held_ < budget_; };
  if (room()) return true;
  ++full_waits_;
  return changed_.wait_for(lock, timeout, room);
}

std::optional<Round> RecordQueue::pop(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!changed_.wait_for(lock, timeout, [&] { return closed_ || !rounds_.empty(); }) ||
      rounds_.empty())
    return std::nullopt;
  Round r = std::move(rounds_.front());
  rounds_.pop_front();
  held_ -= r.bytes.capacity();
  lock.unlock();
  changed_.notify_all();
  return r;
}

void RecordQueue::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool RecordQueue::finished() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_ && rounds_.empty();
}

std::size_t RecordQueue::held_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

std::size_t RecordQueue::peak_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_;
}

std::uint64_t RecordQueue::full_waits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return full_waits_;
}

}  // namespace prof::collector

#include "prof/common/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <system_error>

namespace prof {

namespace {
std::atomic<void (*)()> worker_start_hook{nullptr};
}  // namespace

void ThreadPool::set_worker_start_hook(void (*hook)()) { worker_start_hook.store(hook); }

unsigned default_thread_count() { return std::max(1u, std::thread::hardware_concurrency()); }

ThreadPool::ThreadPool(unsigned threads, WarningSink* warnings) {
  threads = resolve_thread_count(threads);
  workers_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) {
    try {
      workers_.emplace_back([this] { worker_loop(); });
    } catch (const std::system_error& e) {
      if (warnings)
        warnings->warn("thread-create", "could not start thread " + std::to_string(i + 1) + " of " +
                                            std::to_string(threads) + " (" + e.what() +
                                            "); running with " + std::to_string(i) +
                                            (i == 1 ? " thread" : " threads") +
                                            (i == 0 ? ", on the calling thread" : ""));
      break;
    }
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::submit(std::function<void()> task) {
  if (workers_.empty()) {
    task();
    return;
  }
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::worker_loop() {
  if (auto hook = worker_start_hook.load()) hook();
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ThreadPool::parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (n == 0) return;
  if (n == 1 || workers_.empty()) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  // Shared by the helpers and the caller; helpers that start after every index is claimed
  // return at once. `done` counts finished calls; the caller waits for all n.
  struct State {
    std::atomic<std::size_t> next{0};
    std::size_t n;
    const std::function<void(std::size_t)>* fn;
    std::mutex mu;
    std::condition_variable cv;
    std::size_t done = 0;
  };
  auto st = std::make_shared<State>();
  st->n = n;
  st->fn = &fn;
  auto run = [](State& s) {
    std::size_t mine = 0;
    for (std::size_t i; (i = s.next.fetch_add(1, std::memory_order_relaxed)) < s.n; ++mine)
      (*s.fn)(i);
    if (mine == 0) return;
    std::lock_guard lock(s.mu);
    s.done += mine;
    if (s.done == s.n) s.cv.notify_all();
  };
  const std::size_t helpers = std::min<std::size_t>(workers_.size(), n - 1);
  for (std::size_t h = 0; h < helpers; ++h) submit([st, run] { run(*st); });
  run(*st);
  std::unique_lock lock(st->mu);
  st->cv.wait(lock, [&] { return st->done == st->n; });
}

}  // namespace prof

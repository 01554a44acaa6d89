// ThreadPool: the one executor every stage uses for parallel work (the symbolizer's resolver,
// unwinder, prefetcher and perf-script formatter; the folder's text folding).
//
// Pipeline position: prof::common, shared by all stages. A pool owns its worker threads for its
// lifetime; work is handed over as tasks. Creating a thread can fail (RLIMIT_NPROC, a container's
// pids.max, memory): the pool then runs with the threads it got, and with none runs every task on
// the calling thread, reporting one "thread-create" warning instead of terminating.
//
//   prof::ThreadPool pool(0, &warnings);                 // 0: one thread per online CPU
//   pool.parallel_for(items.size(), [&](std::size_t i) { work(items[i]); });
//   auto fut = pool.async([&] { return load(); });       // std::future<R>
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "prof/common/warnings.h"

namespace prof {

// The default degree of parallelism: the online CPUs (std::thread::hardware_concurrency), at
// least 1. Every "threads = 0 means default" option resolves through this one function.
unsigned default_thread_count();
// `requested`, or default_thread_count() when it is 0.
inline unsigned resolve_thread_count(unsigned requested) {
  return requested ? requested : default_thread_count();
}

class ThreadPool {
 public:
  // Starts `threads` workers (0 = default_thread_count()). Workers that cannot be created are
  // reported once through `warnings` (kind "thread-create"; may be null) and done without.
  explicit ThreadPool(unsigned threads = 0, WarningSink* warnings = nullptr);
  // Runs every task still queued, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Worker threads actually running (0: tasks run on the thread that submits or waits).
  unsigned size() const { return static_cast<unsigned>(workers_.size()); }
  // The parallelism parallel_for() uses: workers plus the calling thread's help, at least 1.
  unsigned concurrency() const { return size() ? size() : 1; }

  // Queues `task`. Without workers it runs at once, on the calling thread.
  void submit(std::function<void()> task);

  // Runs `fn` on the pool and returns its result as a future (an exception is stored in it).
  template <typename F>
  auto async(F&& fn) -> std::future<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
    auto fut = task->get_future();
    submit([task] { (*task)(); });
    return fut;
  }

  // Calls fn(i) for every i in [0, n), spread over the workers and the calling thread, and
  // returns when all calls have returned. Indexes are claimed one at a time, in increasing order,
  // so uneven items balance. fn must not throw. Safe to call from several threads at once, and
  // from inside a task (the caller then works through the items itself).
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn);

  // A function every worker runs first, before any task (the executable tunes the allocator
  // with it: cli/malloc_tuning.cpp). Set once, before the first pool starts; null: none.
  static void set_worker_start_hook(void (*hook)());

 private:
  void worker_loop();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
};

}  // namespace prof

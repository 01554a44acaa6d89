#include "prof/common/thread_pool.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

namespace prof {
namespace {

TEST(ThreadPool, DefaultThreadCountIsAtLeastOne) {
  EXPECT_GE(default_thread_count(), 1u);
  EXPECT_EQ(resolve_thread_count(0), default_thread_count());
  EXPECT_EQ(resolve_thread_count(3), 3u);
}

TEST(ThreadPool, SizeFollowsTheRequest) {
  EXPECT_EQ(ThreadPool(1).size(), 1u);
  EXPECT_EQ(ThreadPool(4).size(), 4u);
  EXPECT_EQ(ThreadPool(0).size(), default_thread_count());
  EXPECT_EQ(ThreadPool(4).concurrency(), 4u);
}

class ParallelFor : public testing::TestWithParam<std::tuple<unsigned, std::size_t>> {};

TEST_P(ParallelFor, CallsEveryIndexExactlyOnce) {
  const auto [threads, n] = GetParam();
  ThreadPool pool(threads);
  std::vector<std::atomic<int>> hits(n);
  pool.parallel_for(n, [&](std::size_t i) { hits[i].fetch_add(1, std::memory_order_relaxed); });
  // parallel_for returns only after every call returned, so plain reads must see every write.
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "index " << i;
}

INSTANTIATE_TEST_SUITE_P(ThreadsAndSizes, ParallelFor,
                         testing::Combine(testing::Values(0u, 1u, 4u),
                                          testing::Values(std::size_t{0}, std::size_t{1},
                                                          std::size_t{2}, std::size_t{1000})));

TEST(ThreadPool, ParallelForResultsAreVisibleToTheCaller) {
  // Non-atomic writes from workers: parallel_for's return must order them before our reads
  // (TSan checks this one in CI).
  ThreadPool pool(4);
  std::vector<std::size_t> out(5000);
  pool.parallel_for(out.size(), [&](std::size_t i) { out[i] = i * 2; });
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], i * 2);
}

TEST(ThreadPool, ParallelForFromSeveralThreadsAtOnce) {
  ThreadPool pool(2);
  std::atomic<std::size_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      pool.parallel_for(500, [&](std::size_t) { total.fetch_add(1, std::memory_order_relaxed); });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 2000u);
}

TEST(ThreadPool, NestedParallelForInsideTasksDoesNotDeadlock) {
  // Every worker is busy with an outer task that itself calls parallel_for on the same pool:
  // the inner calls must make progress on their own threads instead of waiting for a free worker.
  for (unsigned threads : {1u, 2u, 4u}) {
    ThreadPool pool(threads);
    std::atomic<std::size_t> inner{0};
    std::vector<std::future<void>> outer;
    for (unsigned t = 0; t < threads * 2; ++t)
      outer.push_back(
          pool.async([&] { pool.parallel_for(100, [&](std::size_t) { inner.fetch_add(1); }); }));
    for (auto& f : outer) {
      ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready)
          << "deadlock with " << threads << " threads";
      f.get();
    }
    EXPECT_EQ(inner.load(), threads * 2 * 100u);

    std::atomic<std::size_t> leaves{0};
    pool.parallel_for(
        8, [&](std::size_t) { pool.parallel_for(8, [&](std::size_t) { leaves.fetch_add(1); }); });
    EXPECT_EQ(leaves.load(), 64u);
  }
}

TEST(ThreadPool, AsyncReturnsValues) {
  ThreadPool pool(2);
  auto a = pool.async([] { return 42; });
  auto b = pool.async([] { return std::string("text"); });
  auto c = pool.async([] {});
  EXPECT_EQ(a.get(), 42);
  EXPECT_EQ(b.get(), "text");
  c.get();
}

TEST(ThreadPool, AsyncPropagatesExceptions) {
  for (unsigned threads : {0u, 2u}) {
    ThreadPool pool(threads);
    auto f = pool.async([]() -> int { throw std::runtime_error("boom"); });
    EXPECT_THROW(
        {
          try {
            f.get();
          } catch (const std::runtime_error& e) {
            EXPECT_STREQ(e.what(), "boom");
            throw;
          }
        },
        std::runtime_error);
    // The pool is still usable afterwards.
    EXPECT_EQ(pool.async([] { return 7; }).get(), 7);
  }
}

TEST(ThreadPool, DestructorRunsQueuedTasks) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(1);
    // Hold the only worker so that the rest stay queued until the destructor.
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    pool.submit([gate] { gate.wait(); });
    for (int i = 0; i < 100; ++i) pool.submit([&] { ran.fetch_add(1); });
    EXPECT_EQ(ran.load(), 0);
    release.set_value();
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(ThreadPool, WithWorkersSubmitRunsOnAWorker) {
  ThreadPool pool(1);
  std::promise<std::thread::id> where;
  auto fut = where.get_future();
  pool.submit([&] { where.set_value(std::this_thread::get_id()); });
  EXPECT_NE(fut.get(), std::this_thread::get_id());
}

// Exit codes of the creation-failure child.
constexpr int kChildOk = 0;
constexpr int kChildCannotLimit = 77;  // could not make thread creation fail here: skip
constexpr int kChildWrongSize = 10;
constexpr int kChildWrongWork = 11;
constexpr int kChildWrongWarning = 12;

int thread_creation_failure_child() {
  // RLIMIT_NPROC counts the real uid's processes and threads, and root ignores it: become an
  // unprivileged user first (also drops the capabilities), then allow no new task at all.
  if (geteuid() == 0 && setuid(65534) != 0) return kChildCannotLimit;
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_NPROC, &none) != 0) return kChildCannotLimit;
  try {
    std::thread probe([] {});
    probe.join();
    return kChildCannotLimit;  // e.g. CAP_SYS_RESOURCE kept: creation does not fail here
  } catch (const std::system_error&) {
  }

  WarningSink sink;
  ThreadPool pool(8, &sink);
  if (pool.size() != 0 || pool.concurrency() != 1) return kChildWrongSize;

  std::vector<int> hits(100, 0);
  pool.parallel_for(hits.size(), [&](std::size_t i) { ++hits[i]; });
  for (int h : hits)
    if (h != 1) return kChildWrongWork;
  int submitted = 0;
  pool.submit([&] { ++submitted; });  // runs at once, on this thread
  if (submitted != 1) return kChildWrongWork;
  if (pool.async([] { return 5; }).get() != 5) return kChildWrongWork;

  const auto kinds = sink.kinds();
  if (kinds.size() != 1 || kinds[0].kind != "thread-create" || kinds[0].count != 1 ||
      kinds[0].first_message.find("running with 0 threads") == std::string::npos)
    return kChildWrongWarning;
  return kChildOk;
}

TEST(ThreadPool, CreationFailureDegradesToTheCallingThreadWithAWarning) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(thread_creation_failure_child());  // _exit: no gtest teardown in the child
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died with signal " << WTERMSIG(status);
  if (WEXITSTATUS(status) == kChildCannotLimit)
    GTEST_SKIP() << "cannot make thread creation fail (setuid/RLIMIT_NPROC) in this environment";
  EXPECT_EQ(WEXITSTATUS(status), kChildOk)
      << "10: wrong size, 11: tasks not run exactly once, 12: no single thread-create warning";
}

}  // namespace
}  // namespace prof

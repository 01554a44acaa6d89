// UnwindBatcher: DWARF unwinding of `--call-graph dwarf` samples, in batches, on a thread pool.
//
// Pipeline position: inside the symbolizer, between add_sample and the profile. Unwinding is
// most of the cost of a --call-graph dwarf capture, and each sample's unwind depends only on
// its registers, its stack copy and its address space's modules. So samples are queued with a
// snapshot of their address space (ObjectRegistry::snapshot_for), and each batch is unwound on
// all threads: workers claim chunks of samples in order, each with its own libdwfl handle per
// process (libdw is not thread-safe; the handle and its CFI cache are reused while the
// process's maps do not change). The calling thread works too and then turns the results into
// locations in sample order, so the output does not depend on the thread count. Samples behind
// a queued one wait with it (queued without a job), so samples stay in the order added.
//
//   UnwindBatcher batcher(options, registry);
//   batcher.locations().push_back(kernel_frame);        // the sample's frames so far
//   batcher.add(sample, first, 1, &request);
//   if (batcher.full()) batcher.flush(pool, translator, summary, emit);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "callchain_translator.h"
#include "object_registry.h"
#include "prof/common/profile.h"
#include "prof/common/thread_pool.h"

namespace prof::symbolizer::detail {

// What unwinding one sample needs.
struct UnwindRequest {
  std::uint32_t pid = 0, tid = 0;
  const std::uint64_t (*regs)[17] = nullptr;  // DWARF registers (perf_regs_to_dwarf)
  std::span<const std::uint8_t> stack;        // the stack copy
  bool stack_stays_valid = false;             // the bytes stay readable until flush(): not copied
  std::size_t max_frames = 0;
};

class UnwindBatcher {
 public:
  // Gets the finished samples, in the order added, with all their locations (leaf first).
  using Emit = std::function<void(const Sample&, std::span<const std::uint32_t>)>;

  UnwindBatcher(const Options& options, ObjectRegistry& registry);
  ~UnwindBatcher();
  UnwindBatcher(const UnwindBatcher&) = delete;
  UnwindBatcher& operator=(const UnwindBatcher&) = delete;

  bool empty() const { return pending_.empty(); }
  // Where a queued sample's own frames go before add() (its first_loc is an index here).
  std::vector<std::uint32_t>& locations() { return pending_locs_; }
  // Queues `sample`, whose frames so far are locations()[first_loc, first_loc + loc_count);
  // `request` null: nothing to unwind (it waits behind the others).
  void add(const Sample& sample, std::uint32_t first_loc, std::uint32_t loc_count,
           const UnwindRequest* request);
  // A batch is ready to be unwound.
  bool full() const;
  // Unwinds the queued samples on `pool` (null: this thread) and hands every one to `emit`.
  // Counts unwound samples and early stops in `summary`.
  void flush(ThreadPool* pool, CallchainTranslator& translator, Summary& summary, const Emit& emit);

 private:
  struct Job {
    const AddressSpace* space;
    std::uint32_t tid;
    std::uint64_t regs[17];
    const std::uint8_t* stack;  // the caller's stable bytes, or null: at stack_offset in arena_
    std::size_t stack_offset, stack_size;
    std::size_t max_frames;
    // Filled by a worker: the unwound frames as location keys with their printed addresses.
    std::vector<KeyedAddress> frames;
    std::string stop_reason;  // libdwfl's text, as the summary prints it
    UnwindStop stop = UnwindStop::kOutermost;
  };
  struct Pending {
    Sample sample;
    std::uint32_t first_loc, loc_count;  // its own frames, in pending_locs_
    std::int32_t job = -1;               // index into jobs_, -1 when nothing is to be unwound
  };
  struct Worker {
    std::unordered_map<std::uint32_t, std::unique_ptr<ProcessUnwinder>> by_pid;
  };
  static constexpr std::size_t kBatch = 4096;            // samples
  static constexpr std::size_t kBatchBytes = 32u << 20;  // copied stack bytes
  static constexpr std::size_t kChunk = 16;              // samples claimed at once
  static constexpr std::size_t kMinPerThread = 64;       // below this, fewer threads

  void run_job(Worker& w, Job& j) const;
  void run_batch(ThreadPool* pool);

  const Options& options_;
  ObjectRegistry& registry_;
  std::vector<Pending> pending_;
  std::vector<std::uint32_t> pending_locs_;
  std::vector<Job> jobs_;
  std::vector<std::shared_ptr<const AddressSpace>> spaces_;  // keep the jobs' snapshots
  std::vector<std::uint8_t> arena_;  // stack copies of samples whose bytes go away
  std::vector<Worker> workers_;
  std::vector<std::uint32_t> locs_;  // scratch: one sample's locations
};

}  // namespace prof::symbolizer::detail

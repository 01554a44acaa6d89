#include "unwind_batcher.h"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace prof::symbolizer::detail {

UnwindBatcher::UnwindBatcher(const Options& options, ObjectRegistry& registry)
    : options_(options), registry_(registry) {}
UnwindBatcher::~UnwindBatcher() = default;

void UnwindBatcher::add(const Sample& sample, std::uint32_t first_loc, std::uint32_t loc_count,
                        const UnwindRequest* request) {
  std::int32_t job_index = -1;
  if (request) {
    const auto& space = registry_.snapshot_for(request->pid);
    if (spaces_.empty() || spaces_.back() != space) spaces_.push_back(space);
    Job job;
    job.space = space.get();
    job.tid = request->tid;
    std::memcpy(job.regs, *request->regs, sizeof job.regs);
    job.stack_size = request->stack.size();
    job.max_frames = request->max_frames;
    if (request->stack_stays_valid) {
      job.stack = request->stack.data();
      job.stack_offset = 0;
    } else {
      job.stack = nullptr;
      job.stack_offset = arena_.size();
      arena_.insert(arena_.end(), request->stack.begin(), request->stack.end());
    }
    job_index = static_cast<std::int32_t>(jobs_.size());
    jobs_.push_back(std::move(job));
  }
  pending_.push_back(Pending{sample, first_loc, loc_count, job_index});
}

bool UnwindBatcher::full() const { return jobs_.size() >= kBatch || arena_.size() >= kBatchBytes; }

void UnwindBatcher::run_job(Worker& w, Job& j) const {
  auto& u = w.by_pid[j.space->pid];
  if (!u) u = std::make_unique<ProcessUnwinder>(j.space->pid, options_.unwind_cached_rules);
  std::span<const std::uint8_t> stack(j.stack ? j.stack : arena_.data() + j.stack_offset,
                                      j.stack_size);
  auto r = u->unwind(j.space->unwind, j.tid, j.regs, stack, j.max_frames);
  j.frames.reserve(r.pcs.size());
  for (std::uint64_t pc : r.pcs) j.frames.push_back(registry_.unwound_key(*j.space, pc));
  j.stop_reason = std::move(r.stop_reason);
  j.stop = r.stop;
}

void UnwindBatcher::run_batch(ThreadPool* pool) {
  std::size_t n = pool ? pool->concurrency() : 1;
  n = std::max<std::size_t>(1, std::min(n, jobs_.size() / kMinPerThread));
  if (workers_.size() < n) workers_.resize(n);
  std::atomic<std::size_t> next{0};
  // Item t is one worker's loop with its own libdwfl handles (workers_[t]), run by one thread.
  auto work = [&](std::size_t t) {
    for (;;) {
      std::size_t b = next.fetch_add(kChunk);
      if (b >= jobs_.size()) return;
      std::size_t e = std::min(b + kChunk, jobs_.size());
      for (std::size_t i = b; i < e; ++i) run_job(workers_[t], jobs_[i]);
    }
  };
  if (pool && n > 1) pool->parallel_for(n, work);
  else work(0);
}

void UnwindBatcher::flush(ThreadPool* pool, CallchainTranslator& translator, Summary& summary,
                          const Emit& emit) {
  if (pending_.empty()) return;
  if (!jobs_.empty()) run_batch(pool);
  for (const Pending& ps : pending_) {
    auto own = pending_locs_.begin() + ps.first_loc;
    locs_.assign(own, own + ps.loc_count);
    if (ps.job >= 0) {
      const Job& j = jobs_[static_cast<std::size_t>(ps.job)];
      ++summary.unwound_samples;
      for (const auto& k : j.frames) {
        if (locs_.size() == options_.max_stack) break;
        locs_.push_back(translator.intern(k));
      }
      if (!j.stop_reason.empty()) {
        ++summary.unwind_early_stops;
        ++summary.unwind_stop_reasons[j.stop_reason];
        // A return address outside every module, or into code without CFI, is how most
        // stacks end (the outermost frames' are garbage or libc's start code); perf ends
        // there silently too. Anything else — a read past the stack copy, bad registers — is
        // an early stop the flame graph should show.
        if (locs_.size() < options_.max_stack && !is_expected_end(j.stop))
          locs_.push_back(translator.intern({{kNoObject, false, false, 0}, 0}));
      }
    }
    emit(ps.sample, locs_);
  }
  pending_.clear();
  pending_locs_.clear();
  jobs_.clear();
  spaces_.clear();
  arena_.clear();
}

}  // namespace prof::symbolizer::detail

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <memory>
#include <mutex>

#include "fold_engine.h"
#include "prof/common/thread_pool.h"
#include "prof/folder/folder.h"

namespace prof::folder {
namespace {

using detail::Diag;
using detail::FoldEngine;

std::string located(const std::string& name, std::uint64_t line, const std::string& text) {
  return "'" + name + "': line " + std::to_string(line) + ": " + text;
}

// Hands diagnostics to the sink, in input order, with absolute line numbers. `event_seen`
// keeps the event-filter note to one even when several threads each met a dropped event.
void replay(const std::vector<Diag>& diags, std::uint64_t line_base, const std::string& name,
            WarningSink* sink, bool& event_seen) {
  if (sink == nullptr) return;
  for (const Diag& d : diags) {
    if (d.kind == kWarnEventFilter) {
      if (event_seen) continue;
      event_seen = true;
    }
    std::string msg = located(name, line_base + d.line, d.text);
    for (std::uint64_t i = 0; i < d.count; ++i) sink->warn(d.kind, msg);
  }
}

Error strict_error(const Diag& d, std::uint64_t line_base, const std::string& name) {
  return Error{Errc::kParse, located(name, line_base + d.line, d.text) + " (--strict)"};
}

// Where the last blank line of `s` ends (a sample boundary), or npos; only blank lines ending at
// or after `from` are looked for, so bytes already searched are not searched again. A blank line
// is "\n\n" or, for CRLF input, "\n\r\n". (A plain byte loop: the scan stops at the first hit
// from the end, and memrchr over a whole block per step would cost more than it saves.)
std::size_t last_boundary(std::string_view s, std::size_t from) {
  std::size_t stop = std::max<std::size_t>(from, 2);
  for (std::size_t i = s.size(); i >= stop; --i) {
    if (s[i - 1] != '\n') continue;
    if (s[i - 2] == '\n') return i;
    if (s[i - 2] == '\r' && i >= 3 && s[i - 3] == '\n') return i;
  }
  return std::string_view::npos;
}

constexpr std::size_t kReadSize = 1 << 20;     // single thread: one read, one feed
constexpr std::size_t kBlockSize = 1 << 20;    // threads: bytes per block handed out
constexpr std::size_t kMaxUnsplit = 16 << 20;  // no empty line in this much: stop splitting

// Input bytes that end at a sample boundary. The buffers go back to a pool after use, so the
// reader neither zero-fills nor page-faults fresh memory for every block.
struct Buffer {
  std::unique_ptr<char[]> bytes;
  std::size_t capacity = 0;
  std::size_t size = 0;
  std::size_t searched = 0;  // bytes known to hold no sample boundary
  std::string_view view() const { return {bytes.get(), size}; }
  void reserve(std::size_t n) {
    if (n <= capacity) return;
    auto bigger = std::unique_ptr<char[]>(new char[n]);
    if (size > 0) std::memcpy(bigger.get(), bytes.get(), size);
    bytes = std::move(bigger);
    capacity = n;
  }
};

struct Block {
  std::uint64_t seq = 0;
  Buffer data;
  std::string event;  // the defaulted event filter, once known
};

struct BlockResult {
  std::uint64_t lines = 0;
  std::vector<Diag> diags;
  std::optional<Diag> error;

  // What `engine` saw since begin_block(); `good` is false after a strict error.
  static BlockResult of(FoldEngine& engine, bool good) {
    BlockResult r;
    r.lines = engine.block_lines();
    r.diags = engine.take_diags();
    if (!good) r.error = engine.strict_error();
    return r;
  }
};

Result<FoldedCounts> fold_single(InputFile& input, const Options& opt, WarningSink* sink,
                                 FoldStats* stats) {
  FoldEngine engine(opt);
  std::string buf(kReadSize, '\0');
  bool event_seen = false;
  for (;;) {
    auto n = input.read(buf.data(), buf.size());
    if (!n) return n.error();
    bool ok = *n == 0 ? engine.finish() : engine.feed(std::string_view(buf.data(), *n));
    if (!ok) return strict_error(*engine.strict_error(), 0, opt.input_name);
    replay(engine.take_diags(), 0, opt.input_name, sink, event_seen);
    if (*n == 0) break;
  }
  if (stats != nullptr) *stats = engine.stats();
  return engine.build_counts();
}

class ParallelFold {
 public:
  // `pool` has at least one worker: the reader runs on the calling thread while they fold.
  ParallelFold(const Options& opt, ThreadPool& pool)
      : opt_(opt), pool_(pool), threads_(pool.size()) {}

  Result<FoldedCounts> run(InputFile& input, WarningSink* sink, FoldStats* stats) {
    std::vector<std::future<void>> workers;
    std::vector<FoldEngine> engines;
    engines.reserve(threads_ + 1);  // the last one folds a tail without sample boundaries
    for (unsigned i = 0; i <= threads_; ++i) engines.emplace_back(opt_);
    for (unsigned i = 0; i < threads_; ++i)
      workers.push_back(pool_.async([this, &engines, i] { work(engines[i]); }));
    auto read = produce(input, engines.back());
    close();
    for (auto& w : workers) w.get();
    if (!read) return read.error();

    // Results in input order: line numbers, warnings and the first strict error are the same
    // for every thread count.
    std::uint64_t base = 0;
    bool event_seen = false;
    for (const BlockResult& r : results_) {
      if (r.error) return strict_error(*r.error, base, opt_.input_name);
      replay(r.diags, base, opt_.input_name, sink, event_seen);
      base += r.lines;
    }
    // Merge the id tables, not strings: each stack is built as text once, at the end.
    FoldStats all;
    bool saturated = false;
    for (auto& e : engines) {
      all.add(e.stats());
      if (&e != &engines.front()) saturated |= !engines.front().absorb(e);
    }
    if (saturated && sink != nullptr)
      sink->warn(kWarnCountOverflow, opt_.input_name + ": a stack's count passed 2^64-1");
    if (!event_.empty()) all.event = event_;
    if (stats != nullptr) *stats = all;
    return engines.front().build_counts();
  }

 private:
  Result<void> produce(InputFile& input, FoldEngine& tail) {
    Buffer carry;  // the bytes after the last boundary of the previous read
    std::uint64_t seq = 0;
    for (;;) {
      Buffer buf = take_buffer();
      buf.reserve(carry.size + kBlockSize);
      if (carry.size > 0) std::memcpy(buf.bytes.get(), carry.bytes.get(), carry.size);
      buf.size = carry.size;
      std::size_t searched = carry.searched;
      carry.size = 0;
      // Fill a whole block: pipes hand out 64 KiB at a time.
      bool eof = false;
      while (buf.size < buf.capacity) {
        auto n = input.read(buf.bytes.get() + buf.size, buf.capacity - buf.size);
        if (!n) return n.error();
        if (*n == 0) {
          eof = true;
          break;
        }
        buf.size += *n;
      }
      std::size_t cut = eof ? buf.size : last_boundary(buf.view(), searched);
      if (cut == std::string_view::npos) {
        // Input without empty lines (perf script without call graphs prints none) cannot be
        // cut into independent blocks: fold the rest here, in order, in bounded memory.
        if (buf.size >= kMaxUnsplit) return fold_tail(std::move(buf), input, tail);
        buf.searched = buf.size;
        carry = std::move(buf);  // one sample larger than a block: read on
        continue;
      }
      if (buf.size > cut) {
        carry.reserve(buf.size - cut);
        std::memcpy(carry.bytes.get(), buf.bytes.get() + cut, buf.size - cut);
        carry.size = buf.size - cut;
      }
      carry.searched = carry.size;  // holds no blank line
      buf.size = cut;
      Block b;
      b.seq = seq++;
      b.data = std::move(buf);
      if (opt_.event_filter.empty() && !opt_.per_event && event_.empty()) {
        if (auto ev = detail::first_event(b.data.view())) event_ = *ev;
      }
      b.event = event_;
      if (!push(std::move(b))) return ok();  // a worker hit a strict error
      if (eof) return ok();
    }
  }

  Result<void> fold_tail(Buffer buf, InputFile& input, FoldEngine& engine) {
    std::size_t index;
    {
      std::unique_lock lock(mu_);
      results_.emplace_back();
      index = results_.size() - 1;
    }
    if (!event_.empty()) engine.preset_event_filter(event_);
    engine.begin_block();
    bool good = engine.feed(buf.view());
    while (good) {
      auto n = input.read(buf.bytes.get(), buf.capacity);
      if (!n) return n.error();
      if (*n == 0) break;
      good = engine.feed(std::string_view(buf.bytes.get(), *n));
    }
    good = good && engine.finish();
    BlockResult r = BlockResult::of(engine, good);
    std::lock_guard lock(mu_);
    results_[index] = std::move(r);
    return ok();
  }

  Buffer take_buffer() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return {};
    Buffer b = std::move(free_.back());
    free_.pop_back();
    return b;
  }

  bool push(Block b) {
    std::unique_lock lock(mu_);
    can_push_.wait(lock, [&] { return queue_.size() < 2 * threads_ || stop_; });
    if (stop_) return false;
    results_.emplace_back();
    queue_.push_back(std::move(b));
    can_pop_.notify_one();
    return true;
  }

  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    can_pop_.notify_all();
  }

  void work(FoldEngine& engine) {
    for (;;) {
      Block b;
      {
        std::unique_lock lock(mu_);
        can_pop_.wait(lock, [&] { return !queue_.empty() || closed_ || stop_; });
        if (stop_ || queue_.empty()) return;
        b = std::move(queue_.front());
        queue_.pop_front();
        can_push_.notify_one();
      }
      if (!b.event.empty()) engine.preset_event_filter(b.event);
      engine.begin_block();
      bool ok = engine.feed(b.data.view()) && engine.finish();
      BlockResult r = BlockResult::of(engine, ok);
      std::lock_guard lock(mu_);
      results_[b.seq] = std::move(r);
      free_.push_back(std::move(b.data));
      if (!ok) {
        stop_ = true;
        can_push_.notify_all();
        can_pop_.notify_all();
        return;
      }
    }
  }

  const Options& opt_;
  ThreadPool& pool_;
  unsigned threads_;
  std::string event_;
  std::mutex mu_;
  std::condition_variable can_push_, can_pop_;
  std::deque<Block> queue_;
  std::deque<BlockResult> results_;
  std::vector<Buffer> free_;
  bool closed_ = false;
  bool stop_ = false;
};

}  // namespace

Folder::Folder(Options options, WarningSink* warnings)
    : engine_(std::make_unique<detail::FoldEngine>(options)),
      warnings_(warnings),
      name_(options.input_name) {}
Folder::~Folder() = default;
Folder::Folder(Folder&&) noexcept = default;
Folder& Folder::operator=(Folder&&) noexcept = default;

void Folder::add(const StackSampleView& sample) {
  engine_->add_sample(sample);
  flush();
}

void Folder::add(const Profile& profile) {
  engine_->add_profile(profile);
  flush();
}

Result<void> Folder::feed(std::string_view bytes) {
  if (!engine_->feed(bytes)) return strict_error(*engine_->strict_error(), 0, name_);
  flush();
  return ok();
}

Result<void> Folder::finish() {
  if (!engine_->finish()) return strict_error(*engine_->strict_error(), 0, name_);
  flush();
  return ok();
}

void Folder::flush() { replay(engine_->take_diags(), 0, name_, warnings_, event_seen_); }

FoldedCounts Folder::counts() const { return engine_->build_counts(); }
FoldedCounts Folder::take_counts() { return engine_->build_counts(); }
const FoldStats& Folder::stats() const { return engine_->stats(); }

FoldedCounts fold_profile(const Profile& profile, const Options& options, WarningSink* warnings,
                          FoldStats* stats) {
  Folder folder(options, warnings);
  folder.add(profile);
  if (stats != nullptr) *stats = folder.stats();
  return folder.take_counts();
}

Result<FoldedCounts> fold_input(InputFile& input, const Options& options, WarningSink* warnings,
                                unsigned threads, FoldStats* stats) {
  Options opt = options;
  if (opt.input_name.empty() || opt.input_name == "<input>") opt.input_name = input.name();
  threads = resolve_thread_count(threads);
  if (threads == 1) return fold_single(input, opt, warnings, stats);
  ThreadPool pool(threads, warnings);
  // No worker could be started (the pool warned): fold here, as one thread would.
  if (pool.size() == 0) return fold_single(input, opt, warnings, stats);
  return ParallelFold(opt, pool).run(input, warnings, stats);
}

}  // namespace prof::folder

// What the collector tells the user after a capture, computed here so that `profile record`,
// the all-in-one `profile` and `profile top` say it alike: the -m size that would have kept
// the samples a capture lost, and one line about the sampled processes whose memory maps
// could not be read at the start (the rest are no news: a system-wide capture always meets
// some, e.g. /proc/1/maps in a container).
//
// Pipeline position: prof::collector; the Collector fills an UnreadableMaps while it runs and
// warns "proc-unreadable" with its summary(); the commands print lost_samples_hint(stats).
//
//   auto stats = collector->run(stop, sink);
//   if (auto hint = prof::collector::lost_samples_hint(*stats); !hint.empty()) warn(hint);
//   // "lost 75% of samples (3000 of 4000): try -m 512 (now 128 pages per CPU) or a lower -F"
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>

#include "prof/collector/collector.h"

namespace prof::collector {

// The largest ring -m suggests: 16384 pages (64 MiB per CPU with 4 KiB pages). Past it, a
// lower rate (-F) is the remedy, not memory.
inline constexpr std::size_t kMaxSuggestedPages = 16384;

// The ring size (pages per CPU, a power of two) that would have kept what a CPU's ring of
// `current_pages` lost: the ring grows by (samples + lost) / samples — losing 75 % needs 4×
// — rounded up to a power of two, at least twice `current_pages`, at most
// kMaxSuggestedPages (or `current_pages` when that is already larger). With no sample kept
// (every record bigger than the ring, or the reader never ran), the cap.
std::size_t suggest_mmap_pages(std::uint64_t samples, std::uint64_t lost,
                               std::size_t current_pages);

// One line for a capture that lost samples, from its worst CPU, e.g.
// "lost 75% of samples (3000 of 4000): try -m 512 (now 128 pages per CPU) or a lower -F";
// "" when nothing was lost. Uses stats.mmap_pages as the current size.
std::string lost_samples_hint(const RunStats& stats);

// Processes whose /proc/PID/maps could not be read for the snapshot, and which of them had
// samples: only those have frames that end up [unknown] for it.
class UnreadableMaps {
 public:
  void add(pid_t pid, int err);  // err: the errno of the failed open
  bool empty() const { return failed_.empty(); }
  // Notes a sample's pid; cheap (one lookup) and a no-op for readable processes.
  void sampled(pid_t pid) {
    if (!failed_.empty() && failed_.count(pid)) sampled_.insert(pid);
  }
  // "cannot read the memory maps of 3 sampled processes (pids 1, 40, 41: Permission
  // denied): their user-space frames are [unknown]"; at most five pids are named. "" when
  // none of them had a sample.
  std::string summary() const;

 private:
  std::unordered_map<pid_t, int> failed_;
  std::set<pid_t> sampled_;
};

}  // namespace prof::collector

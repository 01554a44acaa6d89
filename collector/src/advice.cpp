#include "prof/collector/advice.h"

#include <algorithm>
#include <cstring>
#include <map>

namespace prof::collector {

std::size_t suggest_mmap_pages(std::uint64_t samples, std::uint64_t lost,
                               std::size_t current_pages) {
  const std::size_t current = std::max<std::size_t>(current_pages, 1);
  const std::size_t cap = std::max(kMaxSuggestedPages, current);
  if (samples == 0) return cap;
  // A ring that held `samples` of every (samples + lost) needs that ratio more room; long
  // double keeps the ratio exact enough for counts up to 2^64.
  const long double wanted = static_cast<long double>(current) *
                             (static_cast<long double>(samples) + static_cast<long double>(lost)) /
                             static_cast<long double>(samples);
  std::size_t pages = current * 2 > current ? current * 2 : current;
  while (pages < cap && static_cast<long double>(pages) < wanted) pages *= 2;
  return std::min(pages, cap);
}

std::string lost_samples_hint(const RunStats& stats) {
  std::uint64_t lost = 0, total = 0;
  const CpuStats* worst = nullptr;
  auto ratio = [](const CpuStats& c) {
    return static_cast<long double>(c.lost) / static_cast<long double>(c.lost + c.samples);
  };
  for (const CpuStats& c : stats.per_cpu) {
    lost += c.lost;
    total += c.lost + c.samples;
    if (c.lost > 0 && (!worst || ratio(c) > ratio(*worst))) worst = &c;
  }
  if (!worst) return {};
  const std::size_t now = stats.mmap_pages;
  const std::size_t pages = suggest_mmap_pages(worst->samples, worst->lost, now);
  const long double share =
      100.0L * static_cast<long double>(lost) / static_cast<long double>(total);
  // Whole percent, but never "0%" or "100%" for a part.
  long long pct = static_cast<long long>(share + 0.5L);
  if (pct == 0) pct = 1;
  if (pct == 100 && lost < total) pct = 99;
  std::string msg = "lost " + std::to_string(pct) + "% of samples (" + std::to_string(lost) +
                    " of " + std::to_string(total);
  if (stats.per_cpu.size() > 1)
    msg += "; most on CPU " + std::to_string(worst->cpu) + ", " + std::to_string(worst->lost) +
           " of " + std::to_string(worst->lost + worst->samples);
  const std::string size =
      "now " + std::to_string(now) + (now == 1 ? " page" : " pages") + " per CPU";
  // What the worst CPU needed; beyond the cap no ring we suggest would have held it.
  const bool enough =
      worst->samples > 0 && static_cast<long double>(now) *
                                    static_cast<long double>(worst->lost + worst->samples) /
                                    static_cast<long double>(worst->samples) <=
                                static_cast<long double>(pages);
  if (stats.reader_full > 0) {
    // The rings were drained only as fast as the sink took the records: more ring only
    // postpones the same stall.
    return msg + "): the records waiting for the sink filled the reader's buffer (" +
           std::to_string(stats.reader_peak_bytes >> 20) + " MiB), so the rings were left full; " +
           "lower -F, or write perf.data with 'profile record' and render it afterwards";
  }
  // Beyond the locked-memory budget of an unprivileged user the kernel refuses the mapping.
  std::string locked;
  if (stats.locked_pages_cap > 0 && pages > stats.locked_pages_cap)
    locked = "; more than " + std::to_string(stats.locked_pages_cap) +
             " pages per CPU needs root, CAP_IPC_LOCK or a larger kernel.perf_event_mlock_kb";
  if (pages <= now) return msg + "): lower -F (" + size + ", already the largest ring we suggest)";
  if (!enough)
    return msg + "): lower -F, or try -m " + std::to_string(pages) + " (" + size +
           "; the largest ring we suggest" + locked + ")";
  return msg + "): try -m " + std::to_string(pages) + " (" + size + locked + ") or a lower -F";
}

void UnreadableMaps::add(pid_t pid, int err) { failed_.emplace(pid, err); }

std::string UnreadableMaps::summary() const {
  if (sampled_.empty()) return {};
  constexpr std::size_t kNamed = 5;
  std::string pids;
  std::map<int, std::size_t> reasons;  // errno -> how many
  std::size_t named = 0;
  for (pid_t p : sampled_) {
    ++reasons[failed_.at(p)];
    if (named++ < kNamed) pids += (pids.empty() ? "" : ", ") + std::to_string(p);
  }
  if (sampled_.size() > kNamed) pids += ", ...";
  std::string why;
  for (const auto& [err, n] : reasons) {
    (void)n;
    why += (why.empty() ? "" : "; ") + std::string(err ? std::strerror(err) : "unreadable");
  }
  const std::size_t n = sampled_.size();
  return "cannot read the memory maps of " + std::to_string(n) + " sampled process" +
         (n == 1 ? "" : "es") + " (pid" + (n == 1 ? " " : "s ") + pids + ": " + why +
         "): their user-space frames are [unknown]";
}

}  // namespace prof::collector

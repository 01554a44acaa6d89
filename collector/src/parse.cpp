#include "prof/collector/parse.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace prof::collector {
namespace {

Error usage(std::string message) { return Error{Errc::kUsage, std::move(message)}; }

// Whole-word unsigned integer; from_chars rejects signs and spaces, which is what we want.
bool parse_uint(std::string_view s, long long& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

}  // namespace

Result<std::chrono::nanoseconds> parse_duration(std::string_view word) {
  std::string_view num = word;
  double unit_ns = 1e9;
  struct Suffix {
    std::string_view text;
    double ns;
  };
  // "ms" before "m" and "s": the longest suffix must win.
  static constexpr Suffix kSuffixes[] = {{"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  for (const auto& s : kSuffixes) {
    if (num.size() > s.text.size() && num.ends_with(s.text)) {
      num.remove_suffix(s.text.size());
      unit_ns = s.ns;
      break;
    }
  }
  const std::string bad = "invalid duration '" + std::string(word) +
                          "': expected a number of seconds or e.g. 60s, 500ms, 2m";
  if (num.empty() || !(std::isdigit(static_cast<unsigned char>(num.front())) || num.front() == '.'))
    return usage(bad);
  std::string copy(num);
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(copy.c_str(), &end);
  if (errno != 0 || end != copy.c_str() + copy.size() || !std::isfinite(value)) return usage(bad);
  double ns = value * unit_ns;
  // A year is far beyond any capture; the bound keeps the conversion below defined.
  if (ns < 1e6 || ns > 365.0 * 24 * 3600e9)
    return usage("duration '" + std::string(word) + "' is out of range (1ms to 365 days)");
  return std::chrono::nanoseconds(static_cast<long long>(ns));
}

Result<std::vector<int>> parse_cpu_list(std::string_view list) {
  constexpr long long kMaxCpus = 1 << 20;
  std::vector<int> cpus;
  std::vector<bool> present;
  if (list.empty()) return usage("empty CPU list: expected e.g. 0,2-3");
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (comma != std::string_view::npos && list.empty())
      return usage("invalid CPU list: trailing ','");
    long long lo = 0, hi = 0;
    auto dash = item.find('-');
    bool okay = dash == std::string_view::npos
                    ? parse_uint(item, lo) && (hi = lo, true)
                    : parse_uint(item.substr(0, dash), lo) && parse_uint(item.substr(dash + 1), hi);
    if (!okay)
      return usage("invalid CPU list entry '" + std::string(item) + "': expected N or N-M");
    if (lo > hi) return usage("invalid CPU range '" + std::string(item) + "': start is after end");
    if (hi >= kMaxCpus) return usage("CPU number in '" + std::string(item) + "' is too large");
    // Marked in a set rather than appended: "0-1048575,0-1048575,..." repeated would otherwise
    // grow the list by a million entries per item, unbounded memory from a 64 KiB argument.
    if (static_cast<std::size_t>(hi) >= present.size()) present.resize(hi + 1, false);
    for (long long c = lo; c <= hi; ++c) present[c] = true;
  }
  for (std::size_t c = 0; c < present.size(); ++c) {
    if (present[c]) cpus.push_back(static_cast<int>(c));
  }
  return cpus;
}

Result<std::vector<pid_t>> parse_pid_list(std::string_view list) {
  std::vector<pid_t> pids;
  if (list.empty()) return usage("empty PID list");
  while (true) {
    auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    long long v = 0;
    if (!parse_uint(item, v) || v == 0 || v > 0x3fffffff)
      return usage("invalid process/thread id '" + std::string(item) + "'");
    pids.push_back(static_cast<pid_t>(v));
    if (comma == std::string_view::npos) break;
    list = list.substr(comma + 1);
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

Result<std::vector<int>> online_cpus() {
  errno = 0;
  std::ifstream in("/sys/devices/system/cpu/online");
  std::string line;
  if (!in || !std::getline(in, line)) {
    int err = errno;
    std::string why = err ? std::strerror(err) : "empty";
    if (err == EMFILE || err == ENFILE) why += " (raise the limit with 'ulimit -n')";
    return Error{Errc::kIo,
                 "/sys/devices/system/cpu/online: cannot read the online CPU list: " + why};
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  auto cpus = parse_cpu_list(line);
  if (!cpus) return Error{Errc::kParse, "/sys/devices/system/cpu/online: " + cpus.error().message};
  return cpus;
}

}  // namespace prof::collector

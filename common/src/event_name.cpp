#include "prof/common/event_name.h"

#include <linux/hw_breakpoint.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace prof::perf {
namespace {

// perf's tables (tools/perf/util/evsel.c), in the kernel's enum order. perf 6.1's software
// table stops at "dummy" ("unknown-software" after it); later perfs name the last two, and so
// do we.
constexpr std::array<std::string_view, 10> kHardware = {"cycles",
                                                        "instructions",
                                                        "cache-references",
                                                        "cache-misses",
                                                        "branches",
                                                        "branch-misses",
                                                        "bus-cycles",
                                                        "stalled-cycles-frontend",
                                                        "stalled-cycles-backend",
                                                        "ref-cycles"};
constexpr std::array<std::string_view, 12> kSoftware = {
    "cpu-clock",        "task-clock",   "page-faults",  "context-switches",
    "cpu-migrations",   "minor-faults", "major-faults", "alignment-faults",
    "emulation-faults", "dummy",        "bpf-output",   "cgroup-switches"};
constexpr std::array<std::string_view, 7> kCache = {"L1-dcache", "L1-icache", "LLC", "dTLB",
                                                    "iTLB",      "branch",    "node"};
// An operation alone names the access count ("loads"); with a result it is singular.
constexpr std::array<std::string_view, 3> kCacheOp = {"load", "store", "prefetch"};
constexpr std::array<std::string_view, 3> kCacheOps = {"loads", "stores", "prefetches"};
constexpr std::array<std::string_view, 2> kCacheResult = {"refs", "misses"};
// Which operations each cache has (bit per op), as perf checks before naming.
constexpr std::array<std::uint8_t, 7> kCacheOpsValid = {0b111, 0b101, 0b111, 0b111,
                                                        0b001, 0b001, 0b111};

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string cache_name(std::uint64_t config) {
  const std::uint64_t type = config & 0xff, op = (config >> 8) & 0xff,
                      result = (config >> 16) & 0xff;
  if (type >= kCache.size()) return "unknown-ext-hardware-cache-type";
  if (op >= kCacheOp.size()) return "unknown-ext-hardware-cache-op";
  if (result >= kCacheResult.size()) return "unknown-ext-hardware-cache-result";
  if ((kCacheOpsValid[type] & (1u << op)) == 0) return "invalid-cache";
  std::string name(kCache[type]);
  name += '-';
  if (result == 0) return name.append(kCacheOps[op]);
  return name.append(kCacheOp[op]).append("-").append(kCacheResult[result]);
}

std::string breakpoint_name(const perf_event_attr& a) {
  std::string name = "mem:" + hex(a.bp_addr) + ":";
  if (a.bp_type & HW_BREAKPOINT_R) name += 'r';
  if (a.bp_type & HW_BREAKPOINT_W) name += 'w';
  if (a.bp_type & HW_BREAKPOINT_X) name += 'x';
  return name;
}

// perf 6.1's evsel__add_modifiers. Excluding a privilege level, or asking for precise samples,
// makes "guest excluded" the default, so H/G appear only when the attr departs from that
// default: a plain attr that counts the guest too reads "cycles:HG".
std::string modifiers(const perf_event_attr& a) {
  std::string mods;
  bool guest_excluded_by_default = false;
  if (a.exclude_kernel || a.exclude_user || a.exclude_hv) {
    if (!a.exclude_kernel) mods += 'k';
    if (!a.exclude_user) mods += 'u';
    if (!a.exclude_hv) mods += 'h';
    guest_excluded_by_default = true;
  }
  if (a.precise_ip) {
    mods.append(std::min<unsigned>(a.precise_ip, 3), 'p');
    guest_excluded_by_default = true;
  }
  if (a.exclude_host || static_cast<bool>(a.exclude_guest) == guest_excluded_by_default) {
    if (!a.exclude_host) mods += 'H';
    if (!a.exclude_guest) mods += 'G';
  }
  return mods;
}

}  // namespace

std::string event_name(const perf_event_attr& attr) {
  std::string name;
  switch (attr.type) {
    case PERF_TYPE_HARDWARE:
      name = attr.config < kHardware.size() ? kHardware[attr.config] : "unknown-hardware";
      break;
    case PERF_TYPE_SOFTWARE:
      name = attr.config < kSoftware.size() ? kSoftware[attr.config] : "unknown-software";
      break;
    case PERF_TYPE_HW_CACHE: name = cache_name(attr.config); break;
    case PERF_TYPE_RAW: name = "raw " + hex(attr.config); break;
    case PERF_TYPE_BREAKPOINT: name = breakpoint_name(attr); break;
    case PERF_TYPE_TRACEPOINT: return "unknown tracepoint";
    default: return "unknown attr type: " + std::to_string(attr.type);
  }
  const std::string mods = modifiers(attr);
  return mods.empty() ? name : name + ":" + mods;
}

}  // namespace prof::perf

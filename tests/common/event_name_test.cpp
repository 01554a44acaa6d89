// prof::perf::event_name against the names perf 6.1 prints for the same attrs (`perf script -F
// event` on pipe-mode captures written without EVENT_DESC names).
#include "prof/common/event_name.h"

#include <gtest/gtest.h>
#include <linux/hw_breakpoint.h>

namespace prof::perf {
namespace {

perf_event_attr attr(std::uint32_t type, std::uint64_t config) {
  perf_event_attr a{};
  a.type = type;
  a.config = config;
  a.exclude_guest = 1;  // what perf record sets for every event it parses
  return a;
}

TEST(EventName, Hardware) {
  EXPECT_EQ(event_name(attr(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES)), "cycles");
  EXPECT_EQ(event_name(attr(PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS)), "branches");
  EXPECT_EQ(event_name(attr(PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES)), "ref-cycles");
  EXPECT_EQ(event_name(attr(PERF_TYPE_HARDWARE, 99)), "unknown-hardware");
}

TEST(EventName, Software) {
  EXPECT_EQ(event_name(attr(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK)), "cpu-clock");
  EXPECT_EQ(event_name(attr(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS)), "page-faults");
  EXPECT_EQ(event_name(attr(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY)), "dummy");
  EXPECT_EQ(event_name(attr(PERF_TYPE_SOFTWARE, 11)), "cgroup-switches");
  EXPECT_EQ(event_name(attr(PERF_TYPE_SOFTWARE, 99)), "unknown-software");
}

TEST(EventName, Cache) {
  struct Case {
    std::uint64_t type, op, result;
    const char* name;
  };
  const Case cases[] = {
      {PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_READ, PERF_COUNT_HW_CACHE_RESULT_ACCESS,
       "L1-dcache-loads"},
      {PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_READ, PERF_COUNT_HW_CACHE_RESULT_MISS,
       "L1-dcache-load-misses"},
      {PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_WRITE, PERF_COUNT_HW_CACHE_RESULT_MISS,
       "LLC-store-misses"},
      {PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_PREFETCH, PERF_COUNT_HW_CACHE_RESULT_ACCESS,
       "L1-dcache-prefetches"},
      {PERF_COUNT_HW_CACHE_L1I, PERF_COUNT_HW_CACHE_OP_PREFETCH, PERF_COUNT_HW_CACHE_RESULT_MISS,
       "L1-icache-prefetch-misses"},
      {PERF_COUNT_HW_CACHE_BPU, PERF_COUNT_HW_CACHE_OP_READ, PERF_COUNT_HW_CACHE_RESULT_ACCESS,
       "branch-loads"},
      // An operation the cache does not have, and fields past perf's tables.
      {PERF_COUNT_HW_CACHE_BPU, PERF_COUNT_HW_CACHE_OP_WRITE, 0, "invalid-cache"},
      {7, 0, 0, "unknown-ext-hardware-cache-type"},
      {0, 3, 0, "unknown-ext-hardware-cache-op"},
      {0, 0, 2, "unknown-ext-hardware-cache-result"},
  };
  for (const Case& c : cases)
    EXPECT_EQ(event_name(attr(PERF_TYPE_HW_CACHE, c.type | c.op << 8 | c.result << 16)), c.name);
}

TEST(EventName, RawBreakpointTracepointAndOtherPmus) {
  EXPECT_EQ(event_name(attr(PERF_TYPE_RAW, 0x1c2)), "raw 0x1c2");
  perf_event_attr bp = attr(PERF_TYPE_BREAKPOINT, 0);
  bp.bp_type = HW_BREAKPOINT_RW;
  bp.bp_addr = 0x1000;
  EXPECT_EQ(event_name(bp), "mem:0x1000:rw");
  // The sys:name of a tracepoint comes from the capture's tracing data, not from the attr;
  // neither it nor another PMU's event takes modifiers.
  perf_event_attr tp = attr(PERF_TYPE_TRACEPOINT, 5);
  tp.exclude_kernel = tp.exclude_hv = 1;
  tp.precise_ip = 2;
  EXPECT_EQ(event_name(tp), "unknown tracepoint");
  perf_event_attr pmu = attr(8, 1);
  pmu.exclude_guest = 0;
  EXPECT_EQ(event_name(pmu), "unknown attr type: 8");
}

TEST(EventName, Modifiers) {
  perf_event_attr a = attr(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES);
  a.exclude_guest = 0;  // counting the guest too departs from no default: both shown
  EXPECT_EQ(event_name(a), "cycles:HG");
  a.exclude_kernel = a.exclude_hv = 1;  // ':u' with the guest counted: no H/G
  EXPECT_EQ(event_name(a), "cycles:u");
  a.exclude_guest = 1;  // what `-e cycles:u` sets
  EXPECT_EQ(event_name(a), "cycles:uH");
  a.exclude_kernel = a.exclude_user = a.exclude_hv = 1;  // nothing counted, guest excluded
  EXPECT_EQ(event_name(a), "cycles:H");

  perf_event_attr s = attr(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK);
  s.precise_ip = 3;  // perf record's default attr
  EXPECT_EQ(event_name(s), "cpu-clock:pppH");
  s.exclude_guest = 0;
  EXPECT_EQ(event_name(s), "cpu-clock:ppp");
  s.precise_ip = 0;
  s.exclude_host = 1;  // guest only
  EXPECT_EQ(event_name(s), "cpu-clock:G");

  perf_event_attr c =
      attr(PERF_TYPE_HW_CACHE, PERF_COUNT_HW_CACHE_ITLB | PERF_COUNT_HW_CACHE_RESULT_MISS << 16);
  c.exclude_kernel = c.exclude_hv = 1;
  EXPECT_EQ(event_name(c), "iTLB-load-misses:uH");
  perf_event_attr r = attr(PERF_TYPE_RAW, 0x1c2);
  r.precise_ip = 1;
  EXPECT_EQ(event_name(r), "raw 0x1c2:pH");
  perf_event_attr bp = attr(PERF_TYPE_BREAKPOINT, 0);
  bp.bp_type = HW_BREAKPOINT_X;
  bp.bp_addr = 0xffff0010;
  bp.exclude_kernel = bp.exclude_hv = 1;
  bp.exclude_guest = 0;
  EXPECT_EQ(event_name(bp), "mem:0xffff0010:x:u");
}

}  // namespace
}  // namespace prof::perf

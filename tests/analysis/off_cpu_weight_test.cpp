// off_cpu_weight() without a capture: the tracker has seen no sched_switch event, so only its
// sorting of samples into "other event", "idle" and "never ran again" shows. The weighting of
// real switches is covered end to end by tests/cli/off_cpu_test.cpp.
#include <gtest/gtest.h>

#include "prof/analysis/off_cpu.h"

namespace prof::analysis {
namespace {

TEST(OffCpuWeight, SortsSamplesItCannotWeigh) {
  OffCpuTracker tracker;  // no records: switch_event() is "" and no task ever ran again
  EXPECT_EQ(tracker.switch_event(), "");
  EXPECT_NE(tracker.problem(), "");
  OffCpuStats st;
  StackSampleView other;
  other.event = "cpu-clock";
  other.tid = 5;
  EXPECT_FALSE(off_cpu_weight(other, tracker, st));
  EXPECT_EQ(st.switches, 0u) << "samples of other events are not switches";

  StackSampleView idle;
  idle.tid = 0;
  EXPECT_FALSE(off_cpu_weight(idle, tracker, st));
  StackSampleView sleeper;
  sleeper.tid = 7;
  sleeper.time_ns = 100;
  EXPECT_FALSE(off_cpu_weight(sleeper, tracker, st));
  EXPECT_EQ(st.switches, 2u);
  EXPECT_EQ(st.idle, 1u);
  EXPECT_EQ(st.unmatched, 1u);
  EXPECT_EQ(st.weighted, 0u);
  EXPECT_FALSE(tracker.off_cpu_ns(7, 100));
}

}  // namespace
}  // namespace prof::analysis

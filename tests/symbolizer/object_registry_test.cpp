#include "object_registry.h"

#include <gtest/gtest.h>

#include "symbolizer_parts_util.h"

namespace prof::symbolizer::detail {
namespace {

using test::kPartsBase;
using test::parts_mmap;
using test::parts_offline;

TEST(ObjectRegistry, UserAddressBecomesFileOffsetOfItsObject) {
  Options o = parts_offline();
  ObjectRegistry reg(o, nullptr);
  reg.add_mmap(parts_mmap(1, kPartsBase, 0x5000, 0x1000, "/bin/app"));
  auto [key, print] = reg.translate_user(1, kPartsBase + 0x123, true);
  EXPECT_EQ(key.object, kFirstMapped);
  EXPECT_EQ(key.addr, 0x1123u);
  EXPECT_TRUE(key.caller);
  EXPECT_EQ(print, 0x1123u);  // perf prints the file offset for files
  EXPECT_EQ(reg.object(key.object).name, "/bin/app");
  // The same file in another process is the same object.
  reg.add_mmap(parts_mmap(2, 0x7f0000000000, 0x5000, 0x1000, "/bin/app"));
  EXPECT_EQ(reg.translate_user(2, 0x7f0000000123, false).first.object, kFirstMapped);
  EXPECT_EQ(reg.object_count(), 1u);
}

TEST(ObjectRegistry, UnmappedAddressesAreUnknownOrKernel) {
  Options o = parts_offline();
  ObjectRegistry reg(o, nullptr);
  EXPECT_EQ(reg.translate_user(9, 0x1234, false).first.object, kNoObject);
  EXPECT_EQ(reg.translate_user(9, 0xffffffff81000000, false).first.object, kKernelObject);
  EXPECT_EQ(reg.maps_generation(9), 0u);
}

TEST(ObjectRegistry, NewMapReplacesWhatItCoversAndForkCopies) {
  Options o = parts_offline();
  ObjectRegistry reg(o, nullptr);
  reg.add_mmap(parts_mmap(1, 0x400000, 0x3000, 0, "/bin/old"));
  const std::uint64_t before = reg.maps_generation(1);
  reg.add_mmap(parts_mmap(1, 0x401000, 0x1000, 0, "/bin/new"));
  EXPECT_NE(reg.maps_generation(1), before);
  auto head = reg.translate_user(1, 0x400010, false).first;
  auto middle = reg.translate_user(1, 0x401010, false).first;
  auto tail = reg.translate_user(1, 0x402010, false).first;
  EXPECT_EQ(reg.object(head.object).name, "/bin/old");
  EXPECT_EQ(reg.object(middle.object).name, "/bin/new");
  EXPECT_EQ(reg.object(tail.object).name, "/bin/old");
  EXPECT_EQ(tail.addr, 0x2010u);  // the tail keeps its file offset
  perf::Task fork;
  fork.pid = fork.tid = 2;
  fork.ppid = fork.ptid = 1;
  reg.add_fork(fork);
  EXPECT_EQ(reg.translate_user(2, 0x401010, false).first, middle);
}

TEST(ObjectRegistry, AnonymousMapsArePerfMapsAndSnapshotsFreezeMaps) {
  Options o = parts_offline();
  ObjectRegistry reg(o, nullptr);
  reg.add_mmap(parts_mmap(5, 0x10000, 0x1000, 0, "//anon"));
  auto [key, print] = reg.translate_user(5, 0x10010, false);
  EXPECT_EQ(reg.object(key.object).kind, ObjectKind::kPerfMap);
  EXPECT_EQ(reg.object(key.object).name, "/tmp/perf-5.map");
  EXPECT_EQ(key.addr, 0x10010u);  // runtime addresses for perf maps
  auto snap = reg.snapshot_for(5);
  EXPECT_EQ(reg.snapshot_for(5), snap);  // one per generation
  reg.add_mmap(parts_mmap(5, 0x20000, 0x1000, 0, "//anon"));
  EXPECT_NE(reg.snapshot_for(5), snap);
  EXPECT_EQ(snap->maps.size(), 1u);
  EXPECT_EQ(reg.unwound_key(*snap, 0x10010).first.object, key.object);
  EXPECT_EQ(reg.unwound_key(*snap, 0x20010).first.object, kNoObject);
}

TEST(CommTable, NamesAreSetInheritedAndForgotten) {
  CommTable comms;
  EXPECT_EQ(comms.find(3), CommTable::kNone);
  comms.set(3, 7);
  EXPECT_EQ(comms.find(3), 7u);
  comms.inherit(4, 3);
  EXPECT_EQ(comms.find(4), 7u);
  comms.set(3, 8);  // an exec renames: the cached answer is dropped
  EXPECT_EQ(comms.find(3), 8u);
  EXPECT_EQ(comms.find(4), 7u);
}

}  // namespace
}  // namespace prof::symbolizer::detail

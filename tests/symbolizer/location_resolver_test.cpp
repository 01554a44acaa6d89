#include "location_resolver.h"

#include <gtest/gtest.h>

#include "symbolizer_parts_util.h"
#include "test_support.h"

namespace prof::symbolizer::detail {
namespace {

using prof::test::fixture;
using test::kPartsBase;
using test::parts_addr_of;
using test::parts_mmap;
using test::parts_offline;

TEST(LocationTable, InternsDenselyInFirstSeenOrder) {
  LocationTable table;
  bool added = false;
  EXPECT_EQ(table.intern({kFirstMapped, false, false, 0x10}, 0x10, added), 0u);
  EXPECT_TRUE(added);
  EXPECT_EQ(table.intern({kKernelObject, false, false, 0x10}, 0x10, added), 1u);
  EXPECT_TRUE(added);
  EXPECT_EQ(table.intern({kFirstMapped, false, false, 0x10}, 0x10, added), 0u);
  EXPECT_FALSE(added);
  // A return address is another location than the same address sampled as a leaf.
  EXPECT_EQ(table.intern({kFirstMapped, true, false, 0x10}, 0x10, added), 2u);
  for (std::uint64_t a = 0; a < 5000; ++a) table.intern({kNoObject, false, false, a}, a, added);
  EXPECT_EQ(table.size(), 5003u);  // 0x10 is among them
  EXPECT_EQ(table.intern({kNoObject, false, false, 4999}, 4999, added), 5002u);
  EXPECT_EQ(table[5002].print_addr, 4999u);
}

// A batch of keys in, one ResolvedLocation per key out, in order, for any thread count.
TEST(LocationResolver, ResolvesABatchInOrder) {
  const std::string bin = fixture("fx_sym_nested_fp");
  const std::uint64_t l3 = parts_addr_of(bin, "level3"), l2 = parts_addr_of(bin, "level2");
  for (unsigned threads : {1u, 3u}) {
    Options o = parts_offline();
    ObjectRegistry reg(o, nullptr);
    reg.add_mmap(parts_mmap(1, kPartsBase, 0x5000, 0, bin));
    LocationResolver resolver(o, nullptr, reg);
    std::vector<LocationKey> keys = {
        reg.translate_user(1, kPartsBase + l3 + 2, false).first,
        {kNoObject, false, false, 0x42},
        reg.translate_user(1, kPartsBase + l2 + 9, true).first,
    };
    for (const auto& k : keys) resolver.prefetch(k);  // opened ahead; the answers are the same
    ThreadPool pool(threads, nullptr);
    ResolveCounts counts;
    auto out = resolver.resolve(keys, threads > 1 ? &pool : nullptr, counts);
    ASSERT_EQ(out.size(), 3u);
    ASSERT_FALSE(out[0].frames.empty());
    EXPECT_EQ(out[0].frames.back().symbol, "level3");
    EXPECT_EQ(out[0].frames.back().offset, 2u);
    EXPECT_EQ(out[0].module, bin);
    ASSERT_EQ(out[1].frames.size(), 1u);
    EXPECT_EQ(out[1].frames[0].symbol, "");
    EXPECT_EQ(out[1].module, "[unknown]");
    EXPECT_EQ(out[2].frames.back().symbol, "level2");
    EXPECT_EQ(counts.objects, 1u);
    EXPECT_EQ(counts.missing_objects, 0u);
  }
}

TEST(LocationResolver, MissingObjectIsCountedAndWarned) {
  Options o = parts_offline();
  WarningSink warnings;
  ObjectRegistry reg(o, &warnings);
  reg.add_mmap(parts_mmap(1, 0x400000, 0x1000, 0, "/nonexistent/libgone.so"));
  LocationResolver resolver(o, &warnings, reg);
  const LocationKey key = reg.translate_user(1, 0x400123, false).first;
  ResolveCounts counts;
  auto out = resolver.resolve(std::span(&key, 1), nullptr, counts);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].frames.size(), 1u);
  EXPECT_EQ(out[0].frames[0].symbol, "");
  EXPECT_EQ(out[0].module, "/nonexistent/libgone.so");
  EXPECT_EQ(counts.missing_objects, 1u);
}

}  // namespace
}  // namespace prof::symbolizer::detail

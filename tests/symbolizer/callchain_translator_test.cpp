#include "callchain_translator.h"

#include <gtest/gtest.h>

#include "symbolizer_parts_util.h"

namespace prof::symbolizer::detail {
namespace {

using test::parts_mmap;
using test::parts_offline;

struct Parts {
  explicit Parts(Options o) : options(std::move(o)) {}
  Options options;
  ObjectRegistry registry{options, nullptr};
  LocationTable table;
  LocationResolver resolver{options, nullptr, registry};
  CallchainTranslator translator{options, registry, table, resolver};
};

TEST(CallchainTranslator, SwitchesModesAtMarkersAndMarksCallers) {
  Parts p(parts_offline());
  p.registry.add_mmap(parts_mmap(1, 0x400000, 0x1000, 0, "/bin/app"));
  const std::vector<std::uint64_t> chain = {PERF_CONTEXT_KERNEL, 0xffffffff81000010,
                                            PERF_CONTEXT_USER, 0x400020, 0x400030};
  auto c = p.translator.translate_chain(chain, 1, false);
  ASSERT_EQ(c.locations.size(), 3u);
  EXPECT_FALSE(c.corrupt);
  const auto& kernel = p.table[c.locations[0]].key;
  const auto& leaf_user = p.table[c.locations[1]].key;
  const auto& caller = p.table[c.locations[2]].key;
  EXPECT_EQ(kernel.object, kKernelObject);
  EXPECT_FALSE(kernel.caller);
  EXPECT_EQ(leaf_user.object, kFirstMapped);
  EXPECT_TRUE(leaf_user.caller);  // not the sample's first frame: a return address
  EXPECT_EQ(caller.addr, 0x30u);
}

TEST(CallchainTranslator, SameChainIsTranslatedOnceAndKeepsTheCallersNote) {
  Parts p(parts_offline());
  p.registry.add_mmap(parts_mmap(1, 0x400000, 0x1000, 0, "/bin/app"));
  const std::vector<std::uint64_t> chain = {PERF_CONTEXT_USER, 0x400020, 0x400030};
  auto first = p.translator.translate_chain(chain, 1, false);
  EXPECT_EQ(*first.stack, CallchainTranslator::kNoStack);
  *first.stack = 42;
  auto again = p.translator.translate_chain(chain, 1, false);
  EXPECT_EQ(*again.stack, 42u);
  EXPECT_EQ(std::vector(again.locations.begin(), again.locations.end()),
            (std::vector<std::uint32_t>{0, 1}));
  // New maps: the same addresses may mean other objects, so the chain is translated again.
  p.registry.add_mmap(parts_mmap(1, 0x400000, 0x1000, 0, "/bin/other"));
  auto remapped = p.translator.translate_chain(chain, 1, false);
  EXPECT_EQ(*remapped.stack, CallchainTranslator::kNoStack);
  EXPECT_EQ(p.table.size(), 4u);
}

TEST(CallchainTranslator, CutsAtGarbageMarkerAndAtMaxStack) {
  Options o = parts_offline();
  o.max_stack = 2;
  Parts p(o);
  auto bad = p.translator.translate_chain(
      std::vector<std::uint64_t>{PERF_CONTEXT_USER, 0x10, ~std::uint64_t{0}, 0x20}, 1, false);
  EXPECT_TRUE(bad.corrupt);
  EXPECT_EQ(bad.locations.size(), 1u);
  auto again = p.translator.translate_chain(
      std::vector<std::uint64_t>{PERF_CONTEXT_USER, 0x10, ~std::uint64_t{0}, 0x20}, 1, false);
  EXPECT_TRUE(again.corrupt);  // counted on each hit
  auto deep = p.translator.translate_chain(
      std::vector<std::uint64_t>{PERF_CONTEXT_USER, 0x10, 0x20, 0x30, 0x40}, 1, false);
  EXPECT_EQ(deep.locations.size(), 2u);
}

}  // namespace
}  // namespace prof::symbolizer::detail

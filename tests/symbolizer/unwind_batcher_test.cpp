#include "unwind_batcher.h"

#include <gtest/gtest.h>

#include "symbolizer_parts_util.h"

namespace prof::symbolizer::detail {
namespace {

using test::parts_offline;

struct Parts {
  Options options = parts_offline();
  ObjectRegistry registry{options, nullptr};
  LocationTable table;
  LocationResolver resolver{options, nullptr, registry};
  CallchainTranslator translator{options, registry, table, resolver};
  UnwindBatcher batcher{options, registry};
};

// Samples come out in the order they went in, each with its own frames followed by what was
// unwound; a stack copy that cannot be unwound ends in an early stop.
TEST(UnwindBatcher, FlushesInOrderWithUnwoundFrames) {
  Parts p;
  std::uint64_t regs[17] = {};
  std::vector<std::uint8_t> stack(64, 0);
  auto queue = [&](std::int64_t pid, std::uint64_t ip, bool unwind) {
    auto& locs = p.batcher.locations();
    const auto first = static_cast<std::uint32_t>(locs.size());
    locs.push_back(p.translator.location(static_cast<std::uint32_t>(pid), ip, true, false));
    Sample s;
    s.pid = s.tid = pid;
    UnwindRequest req;
    req.pid = req.tid = static_cast<std::uint32_t>(pid);
    req.regs = &regs;
    req.stack = stack;
    req.max_frames = 8;
    p.batcher.add(s, first, 1, unwind ? &req : nullptr);
  };
  queue(1, 0xffffffff81000010, true);
  queue(2, 0xffffffff81000020, false);
  queue(3, 0xffffffff81000030, true);
  EXPECT_FALSE(p.batcher.empty());
  EXPECT_FALSE(p.batcher.full());
  ThreadPool pool(2, nullptr);
  Summary summary;
  std::vector<std::int64_t> pids;
  std::vector<std::size_t> sizes;
  p.batcher.flush(&pool, p.translator, summary,
                  [&](const Sample& s, std::span<const std::uint32_t> locs) {
                    pids.push_back(s.pid);
                    sizes.push_back(locs.size());
                    EXPECT_EQ(p.table[locs[0]].key.object, kKernelObject);
                  });
  EXPECT_EQ(pids, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(sizes[1], 1u);  // nothing to unwind
  EXPECT_EQ(summary.unwound_samples, 2u);
  EXPECT_TRUE(p.batcher.empty());
}

}  // namespace
}  // namespace prof::symbolizer::detail

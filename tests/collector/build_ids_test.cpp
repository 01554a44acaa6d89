// BuildIdRecorder on synthetic records: which objects count as hit (sample ip, user callchain
// entries, maps inherited over FORK, every map of a process whose samples carry a user stack
// copy), and that each listed build-id is the file's own.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "prof/collector/build_ids.h"
#include "prof/collector/proc_snapshot.h"
#include "prof/common/perf_data.h"
#include "test_support.h"

namespace prof::collector {
namespace {

using prof::test::fixture;

// Pids no process has here (above the kernel's largest pid_max): the recorder falls back from
// /proc/PID/map_files to the recorded path.
constexpr std::uint32_t kParent = 4200001, kChild = 4200002, kOther = 4200003;

class BuildIdRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    attr_.type = PERF_TYPE_SOFTWARE;
    attr_.config = PERF_COUNT_SW_CPU_CLOCK;
    attr_.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
                        PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_STACK_USER;
    attr_.sample_id_all = 1;
    perf::EventAttr ea;
    ea.attr = attr_;
    ASSERT_TRUE(rec_.start({ea}));
  }

  void mmap2(std::uint32_t pid, std::uint64_t start, const std::string& path) {
    perf::Mmap m;
    m.is_mmap2 = true;
    m.misc = PERF_RECORD_MISC_USER;
    m.pid = m.tid = pid;
    m.start = start;
    m.len = 0x1000;
    m.prot = 0x5;  // PROT_READ | PROT_EXEC
    m.filename = path;
    rec_.observe(perf::make_mmap2(attr_, m));
  }

  void sample(std::uint32_t pid, std::vector<std::uint64_t> callchain, bool stack = false) {
    perf::Sample s;
    s.pid = s.tid = pid;
    s.misc = PERF_RECORD_MISC_USER;
    s.ip = callchain.back();
    s.callchain = std::move(callchain);
    std::vector<std::uint8_t> bytes(stack ? 64 : 0, 0);
    s.stack_user = bytes;
    s.stack_user_dyn_size = bytes.size();
    auto r = perf::make_sample(attr_, s);
    ASSERT_TRUE(r);
    rec_.observe(*r);
  }

  // filename -> build-id (hex) of the entries.
  std::map<std::string, std::vector<std::uint8_t>> listed() {
    std::map<std::string, std::vector<std::uint8_t>> out;
    for (auto& e : rec_.entries()) out[e.filename] = e.build_id;
    return out;
  }

  perf_event_attr attr_{};
  BuildIdRecorder rec_;
};

TEST_F(BuildIdRecorderTest, ListsTheObjectsSamplesHitWithTheirOwnBuildIds) {
  const std::string a = fixture("fx_rebuilt_old"), b = fixture("fx_rebuilt_new"),
                    c = fixture("fx_spin"), d = fixture("fx_sym_nested_fp");
  mmap2(kParent, 0x10000, a);
  mmap2(kParent, 0x20000, b);
  perf::Task fork;
  fork.pid = fork.tid = kChild;
  fork.ppid = fork.ptid = kParent;
  rec_.observe(perf::make_task(attr_, PERF_RECORD_FORK, fork));
  mmap2(kChild, 0x30000, c);
  mmap2(kOther, 0x40000, d);
  mmap2(kOther, 0x50000, "/nonexistent/lib.so");
  mmap2(kOther, 0x60000, "//anon");

  sample(kParent, {PERF_CONTEXT_USER, 0x10010});
  // The child's b is inherited over FORK; kernel frames mark the kernel only.
  sample(kChild, {PERF_CONTEXT_KERNEL, 0xffffffff81000010ull, PERF_CONTEXT_USER, 0x20010, 0x30010});
  sample(kOther, {PERF_CONTEXT_USER, 0x50010});  // unreadable: left out
  auto got = listed();
  EXPECT_EQ(got.count(a), 1u);
  EXPECT_EQ(got.count(b), 1u);
  EXPECT_EQ(got.count(c), 1u);
  EXPECT_EQ(got.count(d), 0u) << "mapped but never hit";
  EXPECT_EQ(got.count("/nonexistent/lib.so"), 0u);
  EXPECT_EQ(got.count("//anon"), 0u);
  for (const auto& path : {a, b, c}) EXPECT_EQ(got[path], read_elf_build_id(path)) << path;
  if (auto notes = prof::test::read_file("/sys/kernel/notes"); !notes.empty()) {
    ASSERT_EQ(got.count("[kernel.kallsyms]"), 1u);
    EXPECT_EQ(got["[kernel.kallsyms]"].size(), 20u);
  }

  // A sample with a user stack copy is unwound later, through any of its process's objects.
  sample(kOther, {PERF_CONTEXT_USER, 0x50010}, /*stack=*/true);
  EXPECT_EQ(listed().count(d), 1u);
}

}  // namespace
}  // namespace prof::collector

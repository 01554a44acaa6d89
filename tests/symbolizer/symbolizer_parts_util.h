// Shared by the tests of the symbolizer's parts: records and options for offline use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "prof/common/perf_data.h"
#include "prof/symbolizer/symbolizer.h"
#include "sym_test_util.h"

namespace prof::symbolizer::test {

inline constexpr std::uint64_t kPartsBase = 0x555555554000;

inline perf::Mmap parts_mmap(std::uint32_t pid, std::uint64_t start, std::uint64_t len,
                             std::uint64_t pgoff, const std::string& file) {
  perf::Mmap m;
  m.is_mmap2 = true;
  m.misc = PERF_RECORD_MISC_USER;
  m.pid = m.tid = pid;
  m.start = start;
  m.len = len;
  m.pgoff = pgoff;
  m.prot = 0x5;  // PROT_READ | PROT_EXEC
  m.filename = file;
  return m;
}

inline Options parts_offline() {
  Options o;
  o.kallsyms.clear();
  o.use_proc = false;
  return o;
}

inline std::uint64_t parts_addr_of(const std::string& bin, const std::string& fn) {
  const auto s = nm_find(nm_functions(bin), fn);
  return s ? s->address : 0;
}

}  // namespace prof::symbolizer::test

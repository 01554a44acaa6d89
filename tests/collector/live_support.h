// Helpers for the collector's live tests: reading captures back with `perf script` (the peer
// that must accept our files) and with our own perf.data reader, and starting fixtures.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "test_support.h"

namespace prof::test::live {

// One sample as `perf script -F comm,pid,tid,cpu,event,ip,sym,dso` prints it.
struct ScriptFrame {
  std::uint64_t addr = 0;
  std::string sym, dso;
};
struct ScriptSample {
  std::string comm, event;
  pid_t pid = 0, tid = 0;
  int cpu = -1;
  std::vector<ScriptFrame> frames;  // leaf first
};

// Runs `perf script` on `file`; fails the test (via the returned exit code) when perf refuses it.
RunResult perf_script(const std::string& file);
std::vector<ScriptSample> parse_script(const std::string& text);

// What our reader (prof::perf::PerfDataReader) finds in a capture.
struct Census {
  std::string error;  // non-empty when the reader failed
  std::uint64_t samples = 0, lost = 0;
  std::uint64_t raw_samples = 0;                   // samples with a PERF_SAMPLE_RAW payload
  std::map<std::uint32_t, std::uint64_t> by_type;  // record type -> count
  std::map<std::string, std::uint64_t> samples_by_event;
  std::map<int, std::uint64_t> samples_by_cpu;
  std::map<pid_t, std::uint64_t> samples_by_pid;
  std::vector<std::string> comms, mmap_files;
};
Census census(const std::string& file);

// [start, end) of a function in an ELF file, from `nm -S`; {0,0} when absent.
std::pair<std::uint64_t, std::uint64_t> nm_range(const std::string& elf, const std::string& fn);

// Process helpers live in test_support.h (shared with the cli suite).
using prof::test::spawn;
using prof::test::spawn_execed;
using prof::test::wait_for;

}  // namespace prof::test::live

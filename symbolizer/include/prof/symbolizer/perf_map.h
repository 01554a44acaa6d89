// JIT symbol maps: /tmp/perf-PID.map as written by JITs (V8, the JVM agents, LuaJIT, ...).
// Format (perf's Documentation/jit-interface.txt): one "START SIZE name" line per symbol, START
// and SIZE in hex without 0x; the name runs to the end of the line.
//
// Pipeline position: prof::symbolizer, for frames in anonymous executable mappings. Inside a
// PID namespace the file is named after the process's inner pid (NStgid in /proc/PID/status)
// and lives under /proc/PID/root/tmp.
//
//   auto m = prof::symbolizer::PerfMap::load("/tmp/perf-4242.map");
//   if (const auto* s = m->find(0x7f00dead0010)) std::cout << s->name;
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/result.h"

namespace prof::symbolizer {

struct PerfMapSymbol {
  std::uint64_t start = 0, end = 0;
  std::string name;
};

class PerfMap {
 public:
  static Result<PerfMap> load(const std::string& path);
  static PerfMap parse(std::string_view text);
  // The latest-defined symbol covering `address` wins (JITs append when code moves).
  const PerfMapSymbol* find(std::uint64_t address) const;
  std::size_t size() const { return symbols_.size(); }
  std::size_t skipped_lines() const { return skipped_; }

 private:
  std::vector<PerfMapSymbol> symbols_;
  std::size_t skipped_ = 0;
};

}  // namespace prof::symbolizer

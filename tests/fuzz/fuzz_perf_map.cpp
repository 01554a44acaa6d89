// Fuzz target: the perf-PID.map parser (JIT symbol maps are written by whatever runs in the
// target process) and lookups at addresses taken from the input.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "prof/symbolizer/perf_map.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto map = prof::symbolizer::PerfMap::parse(text);
  (void)map.find(0);
  (void)map.find(~std::uint64_t{0});
  for (std::size_t i = 0; i + sizeof(std::uint64_t) <= size && i < 64; i += sizeof(std::uint64_t)) {
    std::uint64_t address;
    std::memcpy(&address, data + i, sizeof address);
    (void)map.find(address);
  }
  return 0;
}

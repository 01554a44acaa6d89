// Fuzz target: the pprof reader (raw protobuf; gzip when the input starts with its magic) and,
// on what it accepts, everything downstream: folded text, the canonical merge, pprof out again
// (which must read back), and speedscope. The first byte picks the sample index.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "prof/interop/convert.h"
#include "prof/interop/pprof.h"
#include "prof/interop/speedscope.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  prof::interop::PprofReadOptions opt;
  if (data[0] & 1) opt.sample_index = std::to_string(data[0] >> 1 & 3);
  auto p = prof::interop::read_pprof(bytes, opt, "fuzz");
  if (!p) return 0;
  (void)prof::interop::to_folded(*p, {.per_cpu = (data[0] & 8) != 0});
  std::vector<prof::Profile> in;
  in.push_back(std::move(*p));
  prof::Profile m = prof::interop::merge(in);
  auto out = prof::interop::write_pprof(m);
  if (!out) return 0;
  auto back = prof::interop::read_pprof(*out, {}, "fuzz-again");
  if (!back) std::abort();  // what we write must read back
  if (prof::interop::to_folded(*back) != prof::interop::to_folded(m)) std::abort();
  (void)prof::interop::write_speedscope(m);
  return 0;
}

// Fuzz target: the ELF/DWARF symbolization path on a mutated object. The bytes are written to a
// memfd and opened by its /proc/self/fd path, as Binary::open opens a mapped file, so libelf,
// libdw, our symbol-table builder, the segment mapping and DWARF (CU index, inline chains, line
// tables) all see the corrupt object. Lookups go to every symbol start, a few offsets inside the
// PT_LOAD segments, and addresses read from the input.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "prof/symbolizer/binary.h"

namespace {

int make_memfd() {
  static const int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = make_memfd();
  if (fd < 0) return 0;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  prof::symbolizer::BinaryOptions options;
  // A root that does not exist, so no separate debug file of this machine is picked up by a
  // build-id or debuglink the mutation happens to produce.
  options.symfs = "/nonexistent-fuzz-symfs";
  auto binary = prof::symbolizer::Binary::open("/proc/self/fd/" + std::to_string(fd), options);
  if (!binary) return 0;
  auto& bin = **binary;
  (void)bin.has_dwarf();
  prof::symbolizer::LookupOptions lookup{.inline_frames = true, .srcline = true};
  std::vector<prof::symbolizer::SymbolizedFrame> frames;
  std::vector<std::uint64_t> addresses;
  for (std::uint64_t offset : {0x0ull, 0x1000ull, 0x1040ull, 0x2000ull, 0x11ffull}) {
    if (auto elf = bin.file_offset_to_elf(offset)) addresses.push_back(*elf);
    (void)bin.load_bias(0x555555554000ull + offset, offset);
  }
  for (std::size_t i = 0; i + 8 <= size && i < 256; i += 64) {
    std::uint64_t address;
    std::memcpy(&address, data + i, sizeof address);
    addresses.push_back(address);
  }
  for (std::uint64_t address : addresses) {
    frames.clear();
    bin.symbolize(address, lookup, frames);
    if (frames.empty()) __builtin_trap();  // the contract: at least one frame
    if (const auto s = bin.find_symbol(address)) {
      frames.clear();
      bin.symbolize(s->start, lookup, frames);
    }
  }
  return 0;
}

// Address spaces as distinct types: a runtime address (as sampled, in a process's address space),
// a file offset (a byte position in a mapped file: what a mapping's pgoff counts in), and an ELF
// virtual address (st_value, p_vaddr, DWARF's addresses). Relocation bugs live in the
// conversions between them, so the conversions are the only way from one to another.
//
// Pipeline position: prof::common; used by the symbolizer (and anything that maps addresses).
//
//   prof::RuntimeAddress pc{0x7f12'3456'7000};
//   prof::FileOffset off = prof::to_file_offset(pc, map_start, map_pgoff);
//   prof::ElfAddress va = segment.to_elf(off);   // Binary's job: needs the program headers
#pragma once

#include <compare>
#include <cstdint>

namespace prof {

template <typename Tag>
class TypedAddress {
 public:
  constexpr TypedAddress() = default;
  constexpr explicit TypedAddress(std::uint64_t v) : v_(v) {}
  constexpr std::uint64_t value() const { return v_; }
  constexpr auto operator<=>(const TypedAddress&) const = default;
  // Moving within one space keeps the space.
  constexpr TypedAddress operator+(std::uint64_t d) const { return TypedAddress(v_ + d); }
  constexpr TypedAddress operator-(std::uint64_t d) const { return TypedAddress(v_ - d); }
  // The distance between two addresses of one space.
  constexpr std::uint64_t operator-(TypedAddress o) const { return v_ - o.v_; }

 private:
  std::uint64_t v_ = 0;
};

using RuntimeAddress = TypedAddress<struct RuntimeAddressTag>;  // as sampled
using FileOffset = TypedAddress<struct FileOffsetTag>;          // byte offset in the file
using ElfAddress = TypedAddress<struct ElfAddressTag>;          // ELF/DWARF virtual address

// A runtime address inside a file mapping [start, ...) that maps the file from `pgoff`.
constexpr FileOffset to_file_offset(RuntimeAddress a, RuntimeAddress map_start,
                                    FileOffset map_pgoff) {
  return map_pgoff + (a - map_start);
}
constexpr RuntimeAddress to_runtime(FileOffset off, RuntimeAddress map_start,
                                    FileOffset map_pgoff) {
  return map_start + (off - map_pgoff);
}

}  // namespace prof

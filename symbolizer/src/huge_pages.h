// huge_pages: advice for large buffers the symbolizer fills at once.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

namespace prof::symbolizer::detail {

// Asks for transparent huge pages over the 2 MB-aligned part of a large buffer about to be
// filled: one fault per 2 MB instead of one per 4 kB (a 60k-sample store is ~1,300 faults,
// milliseconds on a VM). Advice only: where THP is off or the range is small, nothing changes.
inline void huge_pages(const void* p, std::size_t bytes) {
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (p && end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

}  // namespace prof::symbolizer::detail

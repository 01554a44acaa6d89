// glibc's allocator, tuned in-process for a short-lived process that builds tables of tens to
// hundreds of MB. See malloc_tuning.h.
#include "malloc_tuning.h"

#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "prof/common/thread_pool.h"

namespace prof::app {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kHugePage = 2 * kMiB;

// Sanitizer builds bring their own allocator, which mallopt does not reach.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kOwnAllocator = true;
#else
constexpr bool kOwnAllocator = false;
#endif

// The first character of a small /proc/sys file, or '\0'.
char first_char_of(const char* path) {
  std::FILE* f = std::fopen(path, "re");
  if (!f) return '\0';
  int c = std::fgetc(f);
  std::fclose(f);
  return c == EOF ? '\0' : static_cast<char>(c);
}

// How much address space the heap may reserve ahead of need: 1 GB, less under a data-size
// limit (brk counts against it) or strict overcommit (where a reservation is a commitment).
std::size_t heap_reserve() {
  std::size_t reserve = 1024 * kMiB;
  if (first_char_of("/proc/sys/vm/overcommit_memory") == '2') reserve = 64 * kMiB;
  struct rlimit data {};
  if (::getrlimit(RLIMIT_DATA, &data) == 0 && data.rlim_cur != RLIM_INFINITY)
    reserve = std::min<std::size_t>(reserve, static_cast<std::size_t>(data.rlim_cur / 4));
  return reserve;
}

std::uintptr_t align_up(std::uintptr_t p, std::size_t to) { return (p + to - 1) & ~(to - 1); }

// The main heap's advised range; a block outside it belongs to a thread's arena.
std::uintptr_t heap_from = 0, heap_to = 0;

// A worker's first block comes from the arena glibc gives its thread: a 64 MB region aligned
// to its size (glibc's HEAP_MAX_SIZE on 64-bit; heap_for_ptr relies on that alignment), of
// which only the start is in use. Huge pages are asked for past what is written so far: a
// fresh kallsyms table parsed on a worker faulted in 20 MB in 4 kB pages there (0.08 s more
// for a small capture with cold caches).
void advise_thread_arena() {
  constexpr std::uintptr_t kArena = 64 * kMiB;
  void* volatile block = std::malloc(64);
  if (!block) return;
  const auto at = reinterpret_cast<std::uintptr_t>(block);
  std::free(block);
  if (at >= heap_from && at < heap_to) return;  // the main arena: advised already
  const std::uintptr_t arena = at & ~(kArena - 1);
  const std::uintptr_t from = align_up(at + 4096, kHugePage);
  if (arena + kArena > from)
    ::madvise(reinterpret_cast<void*>(from), arena + kArena - from, MADV_HUGEPAGE);
}

}  // namespace

void tune_malloc() {
  if (kOwnAllocator || std::getenv("PROF_NO_MALLOC_TUNING") || std::getenv("GLIBC_TUNABLES"))
    return;
  const std::size_t reserve = heap_reserve();
  if (reserve < 16 * kMiB) return;
  // Large blocks from the heap too (mmap'ed blocks are zeroed and faulted in afresh each time),
  // and the heap never handed back while we run.
  ::mallopt(M_MMAP_THRESHOLD, 32 * kMiB);
  ::mallopt(M_TRIM_THRESHOLD, -1);  // never: the top is kept at the reservation, not above it
  ::mallopt(M_TOP_PAD, static_cast<int>(reserve));
  // Grow the heap now, by the reservation, and ask for transparent huge pages on it: one VMA,
  // so one madvise covers every later allocation up to the reservation. A 2 MB range touched
  // before the advice keeps 4 kB pages for good (its page table exists), and a first touch of
  // a 4 kB page costs 13-40 us on this VM against under 1.5 us per 4 kB of a huge page: so the
  // block that makes the heap grow is just larger than the free top (glibc writes a header at
  // its end), and the advice starts past everything written so far.
  auto* before = static_cast<char*>(::sbrk(0));
  const std::size_t probe_size = ::mallinfo2().keepcost + 4096;
  void* volatile probe = std::malloc(probe_size);
  if (!probe) {  // the reservation was refused: back to glibc's defaults
    ::mallopt(M_TOP_PAD, 128 * 1024);
    return;
  }
  std::free(probe);
  auto* after = static_cast<char*>(::sbrk(0));
  if (before == reinterpret_cast<char*>(-1) || after == reinterpret_cast<char*>(-1) ||
      after < before + static_cast<std::ptrdiff_t>(reserve / 2))
    return;  // the heap did not grow by brk (glibc fell back to mmap): nothing to advise
  const std::uintptr_t from =
      align_up(reinterpret_cast<std::uintptr_t>(before) + probe_size + 4096, kHugePage);
  const std::uintptr_t to = reinterpret_cast<std::uintptr_t>(after) & ~(kHugePage - 1);
  if (to > from && ::madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE) == 0) {
    heap_from = from;
    heap_to = to;
    ThreadPool::set_worker_start_hook(advise_thread_arena);
  }
}

}  // namespace prof::app

// What a first touch of fresh anonymous memory costs on this machine, per 4 kB page: plain
// 4 kB pages, populated ahead (MADV_POPULATE_WRITE, MAP_POPULATE), and transparent huge pages
// (MADV_HUGEPAGE). On the project's VM a first touch of a 4 kB page costs 13-40 us and one
// of a huge page's 4 kB under 1.5 us (docs/PERFORMANCE.md, "the cost of a fresh page").
//   cc -O2 -o /tmp/page_touch bench/page_touch.c && /tmp/page_touch [MB]
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  const size_t huge = 2u << 20;
  const size_t n = (size_t)(argc > 1 ? atoi(argv[1]) : 16) << 20;
  const char* names[] = {"4 kB pages", "MADV_POPULATE_WRITE first", "MAP_POPULATE",
                         "MADV_HUGEPAGE"};
  for (int mode = 0; mode < 4; ++mode) {
    char* raw = mmap(NULL, n + huge, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | (mode == 2 ? MAP_POPULATE : 0), -1, 0);
    if (raw == MAP_FAILED) return 1;
    char* p = (char*)(((unsigned long)raw + huge - 1) & ~(huge - 1));
    if (mode == 3) madvise(p, n, MADV_HUGEPAGE);
    const double t0 = now_ms();
    if (mode == 1) madvise(p, n, MADV_POPULATE_WRITE);
    const double t1 = now_ms();
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    const double t2 = now_ms();
    printf("%-26s prepare %6.2f ms, first touch %7.2f ms = %6.2f us per 4 kB\n", names[mode],
           t1 - t0, t2 - t1, (t2 - t1) * 1000 / (double)(n / 4096));
    munmap(raw, n + huge);
  }
  return 0;
}

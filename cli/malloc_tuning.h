// glibc's allocator, tuned for a short-lived process that builds tables of tens to hundreds of
// MB (cli/main.cpp calls this first thing):
//  - the heap reserves 1 GB of address space ahead of need (less under RLIMIT_DATA or strict
//    overcommit) and asks for transparent huge pages on it (the kernel's THP mode is often
//    "madvise", where nothing gets huge pages unasked),
//  - blocks up to 32 MB come from the heap instead of a fresh mmap each,
//  - the heap is never trimmed while we run.
// Page faults on fresh memory were a third of symbolizing a small capture and of rendering a
// large input (docs/PERFORMANCE.md). Done with mallopt and madvise in this process: glibc's
// tunables would need a second exec, which on this VM costs as much as the faults it saves
// on a small input. PROF_NO_MALLOC_TUNING=1 or a GLIBC_TUNABLES of the user's leave glibc's
// defaults; sanitizer builds have their own allocator and are left alone.
#pragma once

namespace prof::app {

void tune_malloc();

}  // namespace prof::app

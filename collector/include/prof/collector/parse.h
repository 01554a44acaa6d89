// Parsers for the collector's command-line words: durations (`60s`, `500ms`, `2m`, `5`), CPU
// lists (`0,2-3`) and PID/TID lists (`123,456`).
//
// Pipeline position: prof::collector, used by `profile record` and the all-in-one `profile`
// command; pure functions, no system access except online_cpus().
//
//   auto d = prof::collector::parse_duration("500ms");   // 500 ms
//   auto c = prof::collector::parse_cpu_list("0,2-3");   // {0, 2, 3}
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string_view>
#include <vector>

#include "prof/common/result.h"

namespace prof::collector {

// `N` (seconds), `Ns`, `Nms`, `Nm`, `Nh`; N may have a fraction (`1.5s`). Must be > 0.
Result<std::chrono::nanoseconds> parse_duration(std::string_view word);

// `0,2-3` -> {0,2,3}: sorted, without duplicates. Empty lists and reversed ranges are errors.
// Uses the kernel's list syntax (Documentation/admin-guide/cputopology.rst), which is also what
// /sys/devices/system/cpu/online contains.
Result<std::vector<int>> parse_cpu_list(std::string_view list);

// `123,456` -> {123,456}. Every entry must be a positive integer.
Result<std::vector<pid_t>> parse_pid_list(std::string_view list);

// CPUs the kernel has online (/sys/devices/system/cpu/online).
Result<std::vector<int>> online_cpus();

}  // namespace prof::collector

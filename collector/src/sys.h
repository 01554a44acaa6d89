// Thin wrappers over the system calls the collector uses (perf_event_open(2) has no glibc
// wrapper) and small /proc readers. Private to prof::collector. Descriptors are held in
// prof::UniqueFd (prof/common/unique_fd.h), included here for every user of these calls.
#pragma once

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "prof/common/unique_fd.h"

namespace prof::collector::sys {

// perf_event_open(2); returns the fd or -1 with errno set.
inline int perf_event_open(perf_event_attr& attr, pid_t pid, int cpu, int group_fd,
                           unsigned long flags) {
  return static_cast<int>(syscall(SYS_perf_event_open, &attr, pid, cpu, group_fd, flags));
}

// Whole small file (a /proc or /sys entry); nullopt when it cannot be opened.
std::optional<std::string> read_small_file(const std::string& path);

}  // namespace prof::collector::sys

// The /proc snapshot: records for what existed before the capture started. The kernel only
// reports changes (new mmaps, forks, execs), so processes that were already running are
// described from /proc — one COMM per thread, a FORK for every non-leader thread (so readers
// join threads to their process), one MMAP2 per executable mapping from /proc/PID/maps — and the
// kernel image by one MMAP for `[kernel.kallsyms]_text` starting at `_text` from /proc/kallsyms,
// which is what perf script needs to name kernel frames (see
// ../shared/docs/reference/kernel-and-libdw.md sections 1 and 2).
//
// Pipeline position: prof::collector; the Collector calls these at the start of a capture and
// hands the records to its RecordSink before any sampled record.
//
//   auto st = prof::collector::synthesize_processes(attr, {}, [&](auto rec) {
//     return writer.write(rec);
//   });
#pragma once

#include <linux/perf_event.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prof/common/result.h"
#include "prof/common/warnings.h"

namespace prof::collector {

using RecordFn = std::function<Result<void>(std::span<const std::uint8_t>)>;

// One line of /proc/PID/maps (proc(5)): `start-end perms offset major:minor inode  path`.
struct MapsLine {
  std::uint64_t start = 0, end = 0, pgoff = 0, inode = 0;
  std::uint32_t major = 0, minor = 0;
  std::uint32_t prot = 0;   // PROT_READ|PROT_WRITE|PROT_EXEC from "rwx"
  std::uint32_t flags = 0;  // MAP_PRIVATE ('p') or MAP_SHARED ('s')
  std::string path;         // "" for anonymous mappings; "[vdso]", "/usr/lib/...", "... (deleted)"
};
std::optional<MapsLine> parse_maps_line(std::string_view line);

// The GNU build-id note (NT_GNU_BUILD_ID, elf(5)) of an ELF file, read from its PT_NOTE
// segments; nullopt when the file is not ELF or has none.
std::optional<std::vector<std::uint8_t>> read_elf_build_id(const std::string& path);
// The same, from an open file (read with pread: the file offset is left alone).
std::optional<std::vector<std::uint8_t>> read_elf_build_id(int fd);
// The GNU build-id among ELF notes (a PT_NOTE segment's bytes, or /sys/kernel/notes).
std::optional<std::vector<std::uint8_t>> build_id_in_notes(std::span<const std::uint8_t> notes);

struct SnapshotStats {
  std::uint64_t processes = 0, threads = 0, mappings = 0;
  // Processes whose maps could not be read (pid, errno): their frames will be [unknown]. Not
  // warned about here: only those that turn out to have samples are news (see advice.h).
  std::vector<std::pair<pid_t, int>> unreadable_maps;
};

// Synthesizes COMM/FORK/MMAP2 records (trailer laid out per `attr`, which must be the attr of
// the event that carries sideband records) for the processes in `pids`, or for every process
// when `pids` is empty. Executable mappings only, unless attr.mmap_data is set (DWARF mode: the
// unwinder reads .eh_frame_hdr from read-only segments), as the kernel does. With attr.build_id
// the MMAP2 records carry the file's build-id (PERF_RECORD_MISC_MMAP_BUILD_ID), like the ones
// the kernel writes, read once per file through /proc/PID/map_files. Processes that exit
// while being read are skipped silently; those whose maps are unreadable are listed in
// SnapshotStats::unreadable_maps (an unlistable /proc is warned as "proc-unreadable").
Result<SnapshotStats> synthesize_processes(const perf_event_attr& attr,
                                           const std::vector<pid_t>& pids, const RecordFn& emit,
                                           WarningSink* warnings = nullptr);

// The kernel MMAP record (pid -1, start = pgoff = `_text`). When /proc/kallsyms hides addresses
// (kernel.kptr_restrict) nothing is emitted and "kernel-symbols-hidden" is warned.
Result<void> synthesize_kernel_mmap(const perf_event_attr& attr, const RecordFn& emit,
                                    WarningSink* warnings = nullptr);

}  // namespace prof::collector

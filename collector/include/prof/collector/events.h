// Event names -> perf_event_attr: what `-e EVENT` means and what `profile list` prints.
//
// Pipeline position: prof::collector, first step of a capture. Names go through libpfm4
// (`cycles`, `instructions:u`, `perf::cpu-clock`, raw `r003c`, `:period=`/`:freq=` modifiers);
// tracepoints (`sched:sched_switch`) are resolved from tracefs `events/<sys>/<name>/id`,
// because libpfm4 only looks for them under a debugfs mount (see
// ../shared/docs/reference/kernel-and-libdw.md section 3). Whether the kernel accepts an event is
// only known when it is opened: the collector does that and falls back from `cycles` to
// cpu-clock / task-clock where there is no hardware PMU, as perf does (util/evsel.c
// evsel__fallback).
//
//   auto ev = prof::collector::resolve_event("instructions:u");
//   if (!ev) die(ev.error().message);        // names the event and says to run 'profile list'
//   // ev->attr.type == PERF_TYPE_HARDWARE, ev->attr.exclude_kernel == 1
#pragma once

#include <linux/perf_event.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/result.h"
#include "prof/common/tracing_data.h"

namespace prof::collector {

struct ResolvedEvent {
  std::string name;         // as written by the user; stored as the event name in perf.data
  perf_event_attr attr{};   // type, config*, exclude_* (and sample_period/freq when the name
                            // carried `:period=`/`:freq=`); sampling fields otherwise unset
  bool tracepoint = false;  // PERF_TYPE_TRACEPOINT: sampled every hit (period 1) by default
  bool own_rate = false;    // the name set its own period or frequency
  // Tracepoints: the system ("sched") and the whole tracefs events/<sys>/<name>/format file,
  // read when the event was resolved (it gives the raw payload's field offsets: prev_pid...).
  std::string tracepoint_system;
  std::string tracepoint_format;
  // PERF_TYPE_HARDWARE / PERF_COUNT_HW_CPU_CYCLES: may fall back to a software clock.
  bool is_cycles() const {
    return attr.type == PERF_TYPE_HARDWARE && attr.config == PERF_COUNT_HW_CPU_CYCLES;
  }
};

// Resolves one `-e` word. Errors are kNotFound and tell the user to run `profile list`.
Result<ResolvedEvent> resolve_event(std::string_view name);

// The tracefs `events` directory (e.g. /sys/kernel/tracing/events), or "" when tracefs is not
// mounted anywhere we look (/sys/kernel/tracing, /sys/kernel/debug/tracing, /proc/mounts).
// When tracefs is mounted nowhere and we are root, it is mounted at /sys/kernel/tracing inside a
// mount namespace private to this process (unshare(2) CLONE_NEWNS, then `mount --make-rprivate
// /`): the system's mounts are left as they were, and the mount goes away with the process and
// its children (a command started by the collector sees the same mounts, but mounts it makes
// do not reach the system). resolve_event() does this only for a `sys:name` libpfm4 does not
// know. That needs a single-threaded process; otherwise, or without privilege, "" stays.
std::string tracefs_events_dir();

// Where tracefs is, without mounting anything: the first of root/sys/kernel/tracing,
// root/sys/kernel/debug/tracing and the tracefs mounts in root/proc/mounts (each prefixed by
// `root`) whose events/ directory this process can see. `root` is "" for this system; tests
// pass a directory tree of their own.
struct TracefsLookup {
  std::string events_dir;  // e.g. /sys/kernel/tracing/events; "" when none could be seen
  std::string denied;      // when none: the first candidate this user may not search (EACCES,
                           // e.g. tracefs mounted with its default mode 0700), else ""
};
TracefsLookup find_tracefs(const std::string& root = "");

// The error text for tracefs (or a file in it) that this user may not read: names `path`,
// says "Permission denied", which `tracepoint` (or "tracepoints" when empty) cannot be used,
// and what would allow it (root; or read access to tracefs and CAP_PERFMON).
std::string tracefs_denied_message(const std::string& path, std::string_view tracepoint = {});

// perf's tracing data (prof/common/tracing_data.h) for the tracepoints among `events`: their
// format files (as resolved), plus header_page, header_event, printk_formats and saved_cmdlines
// from tracefs. Without tracepoints: nullopt. Errc::kNotFound when tracefs is gone.
Result<std::optional<perf::TracingData>> tracing_data_for(const std::vector<ResolvedEvent>& events);

struct ListedEvent {
  std::string pmu;   // libpfm4 PMU name ("perf", "perf_raw", "amd64_fam19h_zen3"...),
                     // or "tracepoint"
  std::string name;  // what to pass to -e
  std::string description;
  bool available = false;  // the kernel opened it as a counter on this process just now
};

// What libpfm4 knows for the PMUs present here, each checked against the kernel, followed by
// the tracepoints tracefs offers (those are not opened: there are thousands). `filter` keeps only
// names that contain it.
Result<std::vector<ListedEvent>> list_events(std::string_view filter = {});

}  // namespace prof::collector

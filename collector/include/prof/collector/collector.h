// prof::collector — the sampler: opens perf_event_open(2) events for a target (all CPUs, a CPU
// list, processes, threads, a command it starts, a cgroup), drains one mmap ring per CPU through
// epoll, and hands every raw kernel record — plus a synthesized /proc snapshot and the kernel
// MMAP — to a RecordSink. `profile record` plugs in a PerfDataSink (perf.data file or pipe); the
// all-in-one `profile` command plugs in its own sink that interns stacks while sampling.
//
// Pipeline position: first stage. Kernel facts it relies on (no-PMU fallback, inherit + mmap,
// ring protocol, sample_stack_user limits) are in ../shared/docs/reference/kernel-and-libdw.md
// sections 2 and 3.
//
//   prof::collector::Options opt;
//   opt.target = prof::collector::Target::kAllCpus;
//   opt.call_graph = prof::collector::CallGraph::kFramePointer;
//   prof::WarningSink warnings;
//   auto c = prof::collector::Collector::open(opt, &warnings);
//   if (!c) die(c.error().message);                  // says what to do (paranoid, ulimit -n...)
//   auto w = prof::perf::PerfDataWriter::create("perf.data", (*c)->attrs(), {});
//   prof::collector::PerfDataSink sink(**w);
//   prof::collector::StopCondition stop;
//   stop.duration = std::chrono::seconds(10);
//   auto stats = (*c)->run(stop, sink);               // (*c)->request_stop() ends it early
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "prof/collector/build_id_cache.h"
#include "prof/collector/build_ids.h"
#include "prof/collector/events.h"
#include "prof/common/perf_data.h"
#include "prof/common/result.h"
#include "prof/common/warnings.h"

namespace prof::collector {

// Version of the stage library's API, bumped on incompatible changes.
inline constexpr int kApiVersion = 1;

enum class Target {
  kAllCpus,  // -a: every online CPU, every task (the default)
  kCpus,     // -C LIST: only Options::cpus
  kPids,     // -p PID,...: these processes, their threads and future children
  kTids,     // -t TID,...: these threads only
  kCommand,  // -- CMD ARGS: a child started by the collector, enabled at exec, children followed
  kCgroup,   // -G PATH: tasks in one cgroup v2 directory, on every (or Options::cpus) CPU
};

enum class CallGraph {
  kNone,          // samples carry only the IP
  kFramePointer,  // -g: kernel-walked frame-pointer callchains (kernel and user)
  kDwarf,         // --call-graph dwarf: kernel callchain + user registers and a stack copy
};

enum class StackScope {
  kBoth,        // default
  kUserOnly,    // -U: exclude_callchain_kernel
  kKernelOnly,  // -K: exclude_callchain_user (and no user stack copy)
};

struct Options {
  Target target = Target::kAllCpus;
  std::vector<int> cpus;    // kCpus: required; other targets: restricts CPUs if given
  std::vector<pid_t> pids;  // kPids / kTids
  // kCommand: the profiled command's argv (looked up in PATH). With kAllCpus, kCpus or kCgroup
  // a command is the workload: started when sampling starts, its exit ends the capture
  // (`perf record -a -- sleep 5`). Not allowed with kPids/kTids. Default: none.
  std::vector<std::string> command;
  // The command's stdout goes to our stderr instead (dup2 before exec), as perf does when its
  // own output is stdout: set it when the caller writes its result (an SVG, pipe-mode perf.data)
  // to stdout, so that nothing the workload prints lands in it. Default off: the command keeps
  // the stdout it inherits.
  bool command_stdout_to_stderr = false;
  std::string cgroup;  // kCgroup: absolute path or relative to the cgroup2 mount
  // -e words; empty = the default event, `cycles`, which quietly falls back to a software clock
  // where there is no hardware PMU (an explicit `-e cycles` falls back with a notice).
  std::vector<std::string> events;
  std::uint64_t frequency = 99;  // -F: samples per second per CPU (ignored if period set)
  std::uint64_t period = 0;      // -c: events per sample; 0 = use frequency
  CallGraph call_graph = CallGraph::kNone;
  std::uint32_t dwarf_stack_size = 8192;  // bytes of user stack per sample (rounded up to 8;
                                          // at most 65528: the record size field is 16 bits)
  StackScope stack_scope = StackScope::kBoth;
  // -m: data pages per CPU ring (power of two); 0 = sized for the rate: room for 100 ms of
  // samples at -F (about 320 bytes a sample with call chains), at least 128 pages (512 KiB,
  // perf's default) or 512 with kDwarf, at most what the locked-memory budget allows
  // (kernel.perf_event_mlock_kb per CPU without CAP_IPC_LOCK) and 4096 pages (16 MiB).
  std::size_t mmap_pages = 0;
  // Bytes of drained records the reader may hold for a sink that falls behind (run() drains
  // the rings on a thread of its own, see record_queue.h); 0 = 256 MiB. When it is full the
  // records stay in the rings and the kernel counts what it drops (RunStats::reader_full).
  std::size_t reader_buffer_bytes = 0;
  // Ask the kernel to put build ids in MMAP2 (Linux 5.12+; silently off where refused).
  // Default off, as in perf: the kernel ORs the build-id flag into a shared MMAP2 header and
  // never clears it, so other sessions (a concurrent `perf record`) get records whose maj/min
  // are flagged as a build id, which crashes perf 6.1.
  bool build_ids = false;
  bool synthesize = true;  // emit the /proc snapshot and kernel MMAP at start
  // PERF_RECORD_SWITCH records (attr.context_switch, perf's --switch-events): when each
  // sampled task is switched in and out. Default off. Off-CPU analysis of per-task targets
  // needs the switch-ins, which a per-task sched_switch tracepoint never sees.
  bool switch_events = false;
  // perf's -k: the clock of the records' timestamps (attr.use_clockid, e.g. CLOCK_MONOTONIC),
  // so that they compare with clock_gettime (cutting a capture into windows by time). Default
  // -1: the kernel's perf clock (perf's default).
  int clockid = -1;
};

// When run() stops. It always also stops on request_stop() (e.g. from SIGINT), when the command
// (Options::command) exits, and for kPids/kTids when every target has exited.
struct StopCondition {
  std::optional<std::chrono::nanoseconds> duration;  // none = until request_stop()/target exit
};

// Receives the capture. Called only from the thread that called run() (the rings are drained
// on another, which only copies: record_queue.h), in the order the records were drained.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // Once, before any record: the events as they will be written (kernel ids filled in).
  virtual Result<void> on_start(const std::vector<perf::EventAttr>& attrs) {
    (void)attrs;
    return ok();
  }
  // One complete record, header included, exactly as the kernel wrote it (or as synthesized).
  // The span is valid only during the call. Its PERF_RECORD_* type is in the header.
  virtual Result<void> on_record(std::span<const std::uint8_t> record) = 0;
  // After each full drain of all rings (perf's FINISHED_ROUND: no reordering across it).
  virtual Result<void> on_round_end() { return ok(); }
};

// A RecordSink that writes perf.data through PerfDataWriter: records, a FINISHED_ROUND per
// drain, and a flush at least every `flush_interval` (default 1 s) so that a capture killed
// outright still leaves a file readable up to then. It also learns which objects the samples
// hit (BuildIdRecorder); add_build_ids() puts their build-ids into the writer's BUILD_ID
// table. The caller calls add_build_ids(), then the writer's finish().
class PerfDataSink : public RecordSink {
 public:
  explicit PerfDataSink(perf::PerfDataWriter& writer,
                        std::chrono::milliseconds flush_interval = std::chrono::seconds(1))
      : writer_(writer), flush_interval_(flush_interval) {}
  Result<void> on_start(const std::vector<perf::EventAttr>& attrs) override;
  Result<void> on_record(std::span<const std::uint8_t> record) override;
  Result<void> on_round_end() override;
  // After the run: the build-ids of the objects hit, for the file's BUILD_ID table (file mode)
  // or as HEADER_BUILD_ID records (pipe mode), as perf record writes them.
  Result<void> add_build_ids();
  // Before the run: hold each hit object's file open (BuildIdRecorder::keep_files), for
  // cache_build_ids() after it.
  void keep_hit_files() { build_ids_.keep_files(true); }
  // After the run: the hit objects into perf's build-id cache under `cache_dir`
  // (build_id_cache.h), as perf record does; problems are warnings.
  BuildIdCacheStats cache_build_ids(const std::string& cache_dir, WarningSink* warnings);

 private:
  perf::PerfDataWriter& writer_;
  BuildIdRecorder build_ids_;
  std::chrono::milliseconds flush_interval_;
  std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
};

struct CpuStats {
  int cpu = 0;
  std::uint64_t samples = 0;    // PERF_RECORD_SAMPLE received from this CPU's ring
  std::uint64_t lost = 0;       // samples the kernel dropped for a full ring (PERF_RECORD_LOST,
                                // or its own count where larger: RunStats::lost_unreported)
  std::uint64_t throttled = 0;  // PERF_RECORD_THROTTLE: the kernel lowered the rate
};

struct RunStats {
  std::vector<CpuStats> per_cpu;
  std::uint64_t samples = 0, lost = 0, throttled = 0;
  std::uint64_t records = 0;          // everything handed to the sink, synthesized included
  std::uint64_t wrapped_records = 0;  // records that wrapped the end of a ring
  std::optional<int> command_status;  // a command's wait status (waitpid(2)), once reaped
  bool command_stopped = false;       // run() ended the command itself (SIGTERM at DURATION
                                      // or request_stop()); command_status then says so
  bool stopped_by_request = false;    // request_stop() ended the capture
  std::size_t mmap_pages = 0;         // data pages per CPU ring used (Options::mmap_pages
                                      // resolved), for the -m hint (advice.h)
  std::size_t locked_pages_cap = 0;   // the largest ring this user may map per CPU within
                                      // kernel.perf_event_mlock_kb; 0 = no such limit
  std::uint64_t reader_full = 0;      // times the reader's buffer was full (the sink fell
                                      // behind by Options::reader_buffer_bytes)
  std::size_t reader_peak_bytes = 0;  // the most drained bytes waiting for the sink at once
  std::uint64_t lost_unreported = 0;  // of `lost`: counted by the kernel (PERF_FORMAT_LOST,
                                      // Linux 6.0+) with no PERF_RECORD_LOST written, because
                                      // a ring was still full when sampling stopped
};

// Progress for a terminal countdown; called from run() about every 250 ms.
struct Progress {
  std::chrono::nanoseconds elapsed{0};
  std::uint64_t samples = 0, lost = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

class Collector {
 public:
  // Resolves events, starts the command (held before exec) and opens every event and ring.
  // Errors say what to do: kPermission names kernel.perf_event_paranoid and CAP_PERFMON, EMFILE
  // names `ulimit -n`, a missing PID or an unknown event say so. Soft news goes to `warnings`:
  // "event-fallback" (cycles became cpu-clock/task-clock without a PMU; an unprivileged user at
  // perf_event_paranoid >= 2 samples its own command in user space only, as perf does) and
  // "frequency-clamped" (-F above kernel.perf_event_max_sample_rate).
  static Result<std::unique_ptr<Collector>> open(const Options& options,
                                                 WarningSink* warnings = nullptr);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // The events as written to perf.data: attr (sample_type etc.), kernel ids, the user's name.
  const std::vector<perf::EventAttr>& attrs() const;
  // The resolved events, index for index with attrs(): for tracepoints, their tracefs format
  // (raw field offsets) in tracepoint_format.
  const std::vector<ResolvedEvent>& events() const;
  // perf's tracing data for the tracepoints recorded (encode_tracing_data), for the writer's
  // Features::tracing_data; "" when no tracepoint is recorded.
  const std::string& tracing_data() const;
  // CPUs that have a ring, in ring order.
  const std::vector<int>& cpus() const;
  // Target::kCommand: the child's pid (it waits for run() before exec), else -1.
  pid_t command_pid() const;

  // Enables the events (releases the command), emits the /proc snapshot, then drains the rings
  // into `sink` until `stop` is met; then disables the events and drains what is left. An error
  // from the sink ends the capture and is returned. Call once.
  Result<RunStats> run(const StopCondition& stop, RecordSink& sink, ProgressFn progress = {});

  // Bytes taken from the rings so far by run()'s draining thread; any thread may ask.
  std::uint64_t drained_bytes() const;

  // Ends run() soon after. Async-signal-safe (writes to an eventfd); may be called before run().
  void request_stop() noexcept;

 private:
  Collector();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace prof::collector

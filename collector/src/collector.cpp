#include "prof/collector/collector.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "prof/collector/advice.h"
#include "prof/collector/events.h"
#include "prof/collector/parse.h"
#include "prof/collector/proc_snapshot.h"
#include "prof/collector/record_queue.h"
#include "prof/collector/ring_buffer.h"
#include "sys.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL  // include/uapi/linux/pidfd.h (Linux 6.9)
#endif

namespace prof::collector {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kDefaultPages = 128;       // 512 KiB per CPU, perf's default for root
constexpr std::size_t kDefaultDwarfPages = 512;  // stack copies are ~8 KiB per sample
// Sizing for the rate (Options::mmap_pages = 0): a ring holds this long of samples, so that a
// reader woken at a quarter of it (the watermark) has three quarters of that to come.
constexpr std::uint64_t kHoldMs = 100;
constexpr std::size_t kMaxAutoPages = 4096;                // 16 MiB per CPU
constexpr std::uint64_t kMaxAutoRingBytes = 512ULL << 20;  // over all CPUs
constexpr std::size_t kDefaultReaderBytes = 256ULL << 20;  // Options::reader_buffer_bytes
constexpr int kDrainerNice = -10;  // the draining thread's nice value, where allowed
// Round buffers made ready before sampling starts: about this many bytes, 2 to 8 buffers.
constexpr std::uint64_t kPrimeBytes = 64ULL << 20;
constexpr std::size_t kMaxPrimed = 8;
constexpr auto kRoomWait = std::chrono::milliseconds(20);  // a full reader buffer's re-check
constexpr std::uint32_t kMaxStackUser = 65528;  // u16 record size minus header and fields
constexpr auto kPollInterval = std::chrono::milliseconds(250);

// epoll tags: ring indexes are small; these sit far above them.
constexpr std::uint64_t kStopTag = 1ULL << 62;
constexpr std::uint64_t kChildTag = kStopTag + 1;
constexpr std::uint64_t kTargetTag = 1ULL << 61;

// Registers perf copies for DWARF unwinding (tools/perf/arch/*/include/perf_regs.h).
#if defined(__x86_64__)
constexpr std::uint64_t kUserRegsMask = 0xff0fff;  // AX..SS minus segment regs, R8..R15
#elif defined(__aarch64__)
constexpr std::uint64_t kUserRegsMask = (1ULL << 33) - 1;  // X0..X30, SP, PC
#else
constexpr std::uint64_t kUserRegsMask = 0;
#endif

std::string errno_text(int err) { return std::strerror(err); }

std::string read_sysctl(const char* path) {
  auto v = sys::read_small_file(path);
  if (!v) return "?";
  while (!v->empty() && (v->back() == '\n' || v->back() == ' ')) v->pop_back();
  return *v;
}

// EMFILE/ENFILE: what to do about it, with the limit we ran into.
std::string fd_limit_hint() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  return " — out of file descriptors (one per event, CPU and thread; the limit is " +
         std::to_string(rl.rlim_cur) + "): raise it with 'ulimit -n' or profile fewer CPUs/threads";
}

// strerror, plus the fd-limit hint where that is the cause.
std::string errno_with_hint(int err) {
  return errno_text(err) + (err == EMFILE || err == ENFILE ? fd_limit_hint() : std::string());
}

// Turns a failed perf_event_open into a message that says what to do. task: the task the
// event was for, -1 for CPU-wide events.
Error open_error(int err, const std::string& event, const std::string& where, pid_t task) {
  std::string head = "cannot open event '" + event + "' " + where + ": " + errno_text(err);
  switch (err) {
    case EACCES:
    case EPERM:
      // The kernel lets a per-task event on someone else's process through only with ptrace
      // read access to it (perf_event_open(2): "the caller must have ptrace access"): no
      // paranoid level changes that, so blaming perf_event_paranoid sent users the wrong way.
      if (struct stat st{}; task > 0 && ::geteuid() != 0 &&
                            ::stat(("/proc/" + std::to_string(task)).c_str(), &st) == 0 &&
                            st.st_uid != ::geteuid()) {
        return Error{Errc::kPermission,
                     head + " — task " + std::to_string(task) + " belongs to another user (uid " +
                         std::to_string(st.st_uid) +
                         "): sampling it needs ptrace access to it; run as that user, as root, "
                         "or with CAP_SYS_PTRACE"};
      }
      return Error{Errc::kPermission,
                   head + " — kernel.perf_event_paranoid is " +
                       read_sysctl("/proc/sys/kernel/perf_event_paranoid") +
                       ": run as root, give the binary CAP_PERFMON (setcap cap_perfmon+ep), or "
                       "lower it (sysctl kernel.perf_event_paranoid=-1)"};
    case EMFILE:
    case ENFILE: return Error{Errc::kIo, head + fd_limit_hint()};
    case ESRCH: return Error{Errc::kNotFound, head + " — the process is gone"};
    case ENOENT:
    case ENODEV:
    case ENXIO:
    case EOPNOTSUPP:
      return Error{Errc::kNotFound, head +
                                        " — this machine does not support the event (no "
                                        "hardware PMU in a VM?): run 'profile list' to see "
                                        "the events available here"};
    case EOVERFLOW:
      return Error{Errc::kUsage, head + " — callchain deeper than kernel.perf_event_max_stack (" +
                                     read_sysctl("/proc/sys/kernel/perf_event_max_stack") + ")"};
    case EBUSY: return Error{Errc::kIo, head + " — the PMU is in use by another tool"};
    case EINVAL:
      return Error{Errc::kUsage, head +
                                     " — the kernel refused these settings (sampling rate above "
                                     "kernel.perf_event_max_sample_rate=" +
                                     read_sysctl("/proc/sys/kernel/perf_event_max_sample_rate") +
                                     "? an option this kernel lacks?)"};
    default: return Error{Errc::kIo, head};
  }
}

// The cgroup v2 mount point (from /proc/mounts), or "".
std::string cgroup2_root() {
  std::ifstream mounts("/proc/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
    if (type == "cgroup2") return dir;
  }
  return "";
}

std::vector<pid_t> threads_of(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    pid_t t = static_cast<pid_t>(std::atoi(e.path().filename().c_str()));
    if (t > 0) out.push_back(t);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The thread-group id of `tid` (from /proc/TID/status "Tgid:"), or -1.
pid_t tgid_of(pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Tgid:", 0) == 0) return static_cast<pid_t>(std::atoi(line.c_str() + 5));
  }
  return -1;
}

int pidfd_open(pid_t pid, unsigned flags) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, flags));
}

// Bytes a sample takes in the ring, roughly: header and the fixed fields (IDENTIFIER, IP, TID,
// TIME, CPU, PERIOD), plus a 32-deep call chain or the DWARF registers and stack copy.
std::size_t sample_bytes_estimate(CallGraph cg, std::uint32_t dwarf_stack) {
  constexpr std::size_t kFixed = 8 + 6 * 8, kChain = 8 + 32 * 8;
  switch (cg) {
    case CallGraph::kNone: return kFixed;
    case CallGraph::kFramePointer: return kFixed + kChain;
    case CallGraph::kDwarf: return kFixed + kChain + 8 + 8 * 24 + 16 + dwarf_stack;
  }
  return kFixed;
}

// Whether the kernel's locked-memory budget for perf rings (kernel.perf_event_mlock_kb per
// CPU) binds us: not with CAP_IPC_LOCK, nor at perf_event_paranoid -1.
bool beyond_mlock_budget_allowed() {
  if (std::atoi(read_sysctl("/proc/sys/kernel/perf_event_paranoid").c_str()) < 0) return true;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      const unsigned long long caps = std::strtoull(line.c_str() + 7, nullptr, 16);
      return (caps >> 14) & 1;  // CAP_IPC_LOCK
    }
  }
  return ::geteuid() == 0;
}

// One opened event fd.
struct EventFd {
  UniqueFd fd;
  std::size_t event = 0;
  std::size_t ring = 0;  // the ring its records go to
};

struct Ring {
  int cpu = 0;
  int fd = -1;  // the fd whose mapping this is (others SET_OUTPUT into it)
  RingBuffer buffer;
  CpuStats stats;
  explicit Ring(RingBuffer b) : buffer(std::move(b)) {}
};

}  // namespace

struct Collector::Impl {
  Options options;
  WarningSink* warnings = nullptr;
  std::vector<ResolvedEvent> events;
  std::vector<perf::EventAttr> attrs;
  std::string tracing_data;
  std::vector<int> cpus;
  std::vector<pid_t> tasks;  // pid argument per fd (-1 = all tasks on the CPU)
  std::vector<EventFd> fds;
  std::vector<Ring> rings;
  UniqueFd epoll, stop_fd, cgroup_fd;
  std::vector<UniqueFd> target_pidfds;
  pid_t child = -1;
  UniqueFd child_go, child_err, child_pidfd;
  bool child_reaped = false;
  int child_status = 0;
  bool ran = false;
  UnreadableMaps unreadable_maps;  // from the /proc snapshot; warned about if sampled
  bool auto_pages = false;         // mmap_pages was sized for the rate (may shrink to map)
  std::size_t locked_pages_cap = 0;
  std::atomic<std::uint64_t> drained{0};   // bytes taken from the rings
  std::size_t round_bytes = 0;             // a round buffer's capacity
  std::vector<std::string> corrupt_notes;  // ring-corrupt news from the draining thread
  std::vector<std::uint64_t> kernel_lost;  // per ring, from read(2) after the last drain

  ~Impl() {
    if (child > 0 && !child_reaped) {
      // Never released (open failed, or run() was not called): it must not exec.
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
    }
  }

  void warn(std::string_view kind, const std::string& msg) {
    if (warnings) warnings->warn(kind, msg);
  }

  bool per_task() const {
    return options.target == Target::kPids || options.target == Target::kTids ||
           options.target == Target::kCommand;
  }

  Result<void> check_options();
  Result<void> start_command();
  Result<void> resolve_tasks();
  Result<void> build_attrs();
  Result<void> open_all();
  // false: the task exited before it could be opened (ESRCH).
  Result<bool> open_one(std::size_t ev, int cpu, pid_t task, std::size_t& ring_index);
  // The draining side: every ring's new records, copied into one round.
  Round take_round(RecordQueue& queue);
  // Until the stop condition: drain into `queue` while it has room, watch stop/child/targets;
  // then disable the events, queue the rest and close the queue. Runs on its own thread;
  // with `direct` (no thread could be started) each round goes to it instead, at once.
  Result<void> drain_loop(Clock::time_point deadline, RecordQueue& queue, bool& stopped_by_request,
                          const std::function<Result<void>(const Round&)>& direct = {});
  // The consuming side: a round's records to the sink, counted per ring, then a round end.
  Result<void> deliver(const Round& round, RecordSink& sink, RunStats& stats);
  void reap_child(int wait_options);
  // kernel_lost from each event's PERF_FORMAT_LOST count, summed per ring.
  void read_kernel_lost();
};

Result<void> Collector::Impl::check_options() {
  auto online = online_cpus();
  if (!online) return online.error();
  if (options.target == Target::kCpus && options.cpus.empty())
    return Error{Errc::kUsage, "empty CPU list: name at least one CPU (e.g. -C 0,2-3)"};
  if (options.cpus.empty()) {
    cpus = *online;
  } else {
    for (int c : options.cpus) {
      if (!std::binary_search(online->begin(), online->end(), c))
        return Error{Errc::kUsage, "CPU " + std::to_string(c) + " is not online (online: " +
                                       read_sysctl("/sys/devices/system/cpu/online") + ")"};
    }
    cpus = options.cpus;
    std::sort(cpus.begin(), cpus.end());
    cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  }
  if ((options.target == Target::kPids || options.target == Target::kTids) && options.pids.empty())
    return Error{Errc::kUsage, "no process or thread id given"};
  if (options.target == Target::kCommand && options.command.empty())
    return Error{Errc::kUsage, "no command given after '--'"};
  if ((options.target == Target::kPids || options.target == Target::kTids) &&
      !options.command.empty())
    return Error{Errc::kUsage, "a command cannot be combined with -p or -t"};
  if (options.period == 0 && options.frequency == 0)
    return Error{Errc::kUsage, "the sampling frequency must be at least 1 Hz"};
  if (options.period == 0) {
    std::string max_s = read_sysctl("/proc/sys/kernel/perf_event_max_sample_rate");
    std::uint64_t max_rate = std::strtoull(max_s.c_str(), nullptr, 10);
    if (max_rate > 0 && options.frequency > max_rate) {
      warn("frequency-clamped", "-F " + std::to_string(options.frequency) +
                                    " is above kernel.perf_event_max_sample_rate; using " +
                                    std::to_string(max_rate) + " Hz");
      options.frequency = max_rate;
    }
  }
  if (options.call_graph == CallGraph::kDwarf) {
    if (kUserRegsMask == 0)
      return Error{Errc::kUnsupported, "--call-graph dwarf is not supported on this architecture"};
    std::uint64_t size = (std::uint64_t{options.dwarf_stack_size} + 7) & ~std::uint64_t{7};
    if (size == 0 || size > kMaxStackUser)
      return Error{Errc::kUsage, "dwarf stack size " + std::to_string(options.dwarf_stack_size) +
                                     " is out of range (8 to 65528 bytes)"};
    options.dwarf_stack_size = static_cast<std::uint32_t>(size);
  }
  std::size_t pages = options.mmap_pages;
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::uint64_t mlock_kb =
      std::strtoull(read_sysctl("/proc/sys/kernel/perf_event_mlock_kb").c_str(), nullptr, 10);
  const bool unbound = beyond_mlock_budget_allowed();
  // For the -m hint too, whoever chose the size.
  locked_pages_cap = unbound ? 0 : mlock_ring_cap(mlock_kb, page, false, 0);
  if (pages == 0) {
    pages = options.call_graph == CallGraph::kDwarf ? kDefaultDwarfPages : kDefaultPages;
    const std::size_t total_cap = static_cast<std::size_t>(
        kMaxAutoRingBytes / (page * std::max<std::size_t>(cpus.size(), 1)));
    const std::size_t cap =
        std::min(mlock_ring_cap(mlock_kb, page, unbound, kMaxAutoPages), total_cap);
    if (options.period == 0 && cap > pages) {
      const std::uint64_t rate =
          options.frequency * std::max<std::size_t>(options.events.size(), 1);
      pages = ring_pages_for_rate(
          rate, sample_bytes_estimate(options.call_graph, options.dwarf_stack_size), kHoldMs, page,
          pages, cap);
    }
    auto_pages = true;
  }
  if ((pages & (pages - 1)) != 0)
    return Error{Errc::kUsage, "-m " + std::to_string(pages) +
                                   ": the ring size must be a power of two pages (e.g. 128)"};
  options.mmap_pages = pages;
  return ok();
}

// Forks the command held on a pipe: events are opened on its pid with enable_on_exec, then
// run() lets it exec, so the capture starts exactly at exec (perf's workload does the same).
Result<void> Collector::Impl::start_command() {
  // Owned from the start: a failure at the second pipe2, or at fork, closes the first pipe.
  UniqueFd go_read, go_write, err_read, err_write;
  auto make_pipe = [](UniqueFd& read_end, UniqueFd& write_end) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return false;
    read_end.reset(p[0]);
    write_end.reset(p[1]);
    return true;
  };
  if (!make_pipe(go_read, go_write) || !make_pipe(err_read, err_write))
    return Error{Errc::kIo, "pipe: " + errno_with_hint(errno)};
  std::vector<char*> argv;
  for (auto& a : options.command) argv.push_back(a.data());
  argv.push_back(nullptr);
  const bool stdout_to_stderr = options.command_stdout_to_stderr;
  const int go = go_read.get(), err = err_write.get();
  pid_t pid = fork();
  if (pid < 0) return Error{Errc::kIo, "fork: " + errno_with_hint(errno)};
  if (pid == 0) {
    // Only async-signal-safe calls from here on (no destructors: the child leaves by _exit).
    close(go_write.get());
    close(err_read.get());
    char byte = 0;
    if (read(go, &byte, 1) != 1) _exit(127);  // the collector gave up before run()
    // perf's workload does the same dup2 when perf writes to a pipe (evlist__prepare_workload).
    if (!stdout_to_stderr || dup2(STDERR_FILENO, STDOUT_FILENO) >= 0) execvp(argv[0], argv.data());
    int e = errno;
    ssize_t w = write(err, &e, sizeof e);
    (void)w;
    _exit(127);
  }
  child = pid;
  child_go = std::move(go_write);
  child_err = std::move(err_read);
  child_pidfd.reset(pidfd_open(pid, 0));
  if (options.target == Target::kCommand) tasks = {pid};
  return ok();
}

Result<void> Collector::Impl::resolve_tasks() {
  // With -a, -C or -G a command is only the workload that bounds the capture.
  if (options.target != Target::kCommand && !options.command.empty()) PROF_TRY(start_command());
  switch (options.target) {
    case Target::kAllCpus:
    case Target::kCpus: tasks = {-1}; return ok();
    case Target::kCgroup: {
      std::string path = options.cgroup;
      if (path.empty()) return Error{Errc::kUsage, "-G needs a cgroup path"};
      if (path.front() != '/' || !std::filesystem::is_directory(path)) {
        std::string root = cgroup2_root();
        if (root.empty())
          return Error{Errc::kNotFound,
                       "'" + options.cgroup + "': no cgroup v2 hierarchy is mounted"};
        std::string rel = path.front() == '/' ? path.substr(1) : path;
        path = root + "/" + rel;
      }
      int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        return Error{Errc::kNotFound,
                     "cgroup '" + options.cgroup + "' (" + path + "): " + errno_text(errno)};
      cgroup_fd.reset(fd);
      tasks = {fd};
      return ok();
    }
    case Target::kPids:
      for (pid_t p : options.pids) {
        auto t = threads_of(p);
        if (t.empty())
          return Error{Errc::kNotFound, "process " + std::to_string(p) +
                                            " does not exist (no /proc/" + std::to_string(p) + ")"};
        tasks.insert(tasks.end(), t.begin(), t.end());
        int pfd = pidfd_open(p, 0);
        if (pfd >= 0) target_pidfds.emplace_back(pfd);
      }
      return ok();
    case Target::kTids:
      for (pid_t t : options.pids) {
        if (tgid_of(t) < 0)
          return Error{Errc::kNotFound, "thread " + std::to_string(t) + " does not exist"};
        tasks.push_back(t);
        int pfd = pidfd_open(t, PIDFD_THREAD);
        if (pfd >= 0) target_pidfds.emplace_back(pfd);
      }
      return ok();
    case Target::kCommand: return start_command();
  }
  return ok();
}

Result<void> Collector::Impl::build_attrs() {
  std::vector<std::string> names = options.events;
  bool default_event = names.empty();
  if (default_event) names = {"cycles"};
  for (const auto& n : names) {
    auto ev = resolve_event(n);
    if (!ev) return ev.error();
    events.push_back(std::move(*ev));
  }
  const std::uint64_t ring_bytes =
      options.mmap_pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  for (std::size_t i = 0; i < events.size(); ++i) {
    perf_event_attr& a = events[i].attr;
    a.size = sizeof(perf_event_attr);
    a.disabled = 1;
    a.sample_id_all = 1;
    if (options.clockid >= 0) {
      a.use_clockid = 1;
      a.clockid = options.clockid;
    }
    // IDENTIFIER always: readers map every record to its event without guessing, and several
    // events (or a later one) need it anyway (perf refuses mixed files without it).
    a.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
                    PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD;
    if (options.call_graph != CallGraph::kNone) a.sample_type |= PERF_SAMPLE_CALLCHAIN;
    // A tracepoint's payload (prev/next task of sched_switch...) is what it is sampled for.
    if (events[i].tracepoint) a.sample_type |= PERF_SAMPLE_RAW;
    if (options.stack_scope == StackScope::kUserOnly) a.exclude_callchain_kernel = 1;
    if (options.stack_scope == StackScope::kKernelOnly) a.exclude_callchain_user = 1;
    if (options.call_graph == CallGraph::kDwarf) {
      // The kernel walks only its own frames; user frames come from the stack copy.
      a.exclude_callchain_user = 1;
      if (options.stack_scope != StackScope::kKernelOnly) {
        a.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
        a.sample_regs_user = kUserRegsMask;
        a.sample_stack_user = options.dwarf_stack_size;
      }
      if (options.stack_scope == StackScope::kUserOnly) a.sample_type &= ~PERF_SAMPLE_CALLCHAIN;
    }
    if (options.period != 0) {
      a.freq = 0;
      a.sample_period = options.period;
    } else if (events[i].tracepoint) {
      a.freq = 0;
      a.sample_period = 1;  // every hit, as perf samples tracepoints
    } else if (!events[i].own_rate) {
      a.freq = 1;
      a.sample_freq = options.frequency;
    }
    a.inherit = options.target == Target::kPids || options.target == Target::kCommand;
    a.enable_on_exec = options.target == Target::kCommand;
    // Wake us when a quarter of the ring is full; run() also drains every kPollInterval.
    a.watermark = 1;
    // read(2) gives the kernel's own count of what it could not write (Linux 6.0+): a ring
    // still full when the events are disabled never gets its PERF_RECORD_LOST.
    a.read_format = PERF_FORMAT_LOST;
    a.wakeup_watermark = static_cast<std::uint32_t>(ring_bytes / 4);
    if (i == 0) {
      // Sideband (mmaps, comm, fork/exit) rides on the first event's fds only.
      a.mmap = 1;
      a.mmap2 = 1;
      a.comm = 1;
      a.comm_exec = 1;
      a.task = 1;
      a.context_switch = options.switch_events ? 1 : 0;
      a.build_id = options.build_ids ? 1 : 0;
      // DWARF unwinders read .eh_frame_hdr from non-executable segments: record those too,
      // as perf does in this mode.
      a.mmap_data = options.call_graph == CallGraph::kDwarf ? 1 : 0;
    }
    perf::EventAttr ea;
    ea.attr = a;
    ea.name = events[i].name;
    attrs.push_back(std::move(ea));
  }
  return ok();
}

Result<bool> Collector::Impl::open_one(std::size_t ev, int cpu, pid_t task,
                                       std::size_t& ring_index) {
  unsigned long flags = PERF_FLAG_FD_CLOEXEC;
  if (options.target == Target::kCgroup) flags |= PERF_FLAG_PID_CGROUP;
  std::string where = "on CPU " + std::to_string(cpu);
  if (per_task()) where += " for task " + std::to_string(task);
  while (true) {
    perf_event_attr& a = attrs[ev].attr;
    int fd = sys::perf_event_open(a, task, cpu, -1, flags);
    if (fd >= 0) {
      EventFd efd{UniqueFd(fd), ev, ring_index};
      if (ring_index == rings.size()) {
        auto rb = RingBuffer::map(fd, options.mmap_pages);
        // A ring sized for the rate that the locked-memory budget (shared with the user's
        // other perf sessions) refuses: the default size, as before sizing for the rate.
        const std::size_t fallback =
            options.call_graph == CallGraph::kDwarf ? kDefaultDwarfPages : kDefaultPages;
        if (!rb && auto_pages && options.mmap_pages > fallback) {
          options.mmap_pages = fallback;
          rb = RingBuffer::map(fd, options.mmap_pages);
        }
        if (!rb) return rb.error().with_context("CPU " + std::to_string(cpu));
        rings.emplace_back(std::move(*rb));
        rings.back().cpu = cpu;
        rings.back().fd = fd;
        rings.back().stats.cpu = cpu;
      } else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, rings[ring_index].fd) != 0) {
        return Error{Errc::kIo, "PERF_EVENT_IOC_SET_OUTPUT " + where + ": " + errno_text(errno)};
      }
      std::uint64_t id = 0;
      if (ioctl(fd, PERF_EVENT_IOC_ID, &id) != 0)
        return Error{Errc::kIo, "PERF_EVENT_IOC_ID " + where + ": " + errno_text(errno)};
      attrs[ev].ids.push_back(id);
      fds.push_back(std::move(efd));
      return true;
    }
    int err = errno;
    // Kernels before 5.12 do not know attr.build_id; plain MMAP2 (maj/min/ino) is still fine.
    if (err == EINVAL && a.build_id) {
      a.build_id = 0;
      continue;
    }
    // Nor PERF_FORMAT_LOST before 6.0: then only PERF_RECORD_LOST counts losses.
    if (err == EINVAL && (a.read_format & PERF_FORMAT_LOST)) {
      a.read_format &= ~static_cast<std::uint64_t>(PERF_FORMAT_LOST);
      continue;
    }
    // No hardware PMU (VMs): cycles becomes the matching software clock, as perf does
    // (util/evsel.c evsel__fallback).
    if ((err == ENOENT || err == ENXIO || err == ENODEV || err == EOPNOTSUPP) &&
        events[ev].is_cycles()) {
      const bool task_clock = per_task();
      a.type = PERF_TYPE_SOFTWARE;
      a.config = task_clock ? PERF_COUNT_SW_TASK_CLOCK : PERF_COUNT_SW_CPU_CLOCK;
      std::string fallback = task_clock ? "task-clock" : "cpu-clock";
      if (!options.events.empty())
        warn("event-fallback", "'" + events[ev].name +
                                   "' is not available here (no hardware "
                                   "PMU): sampling " +
                                   fallback + " instead");
      events[ev].name = attrs[ev].name = fallback;
      events[ev].attr = a;
      continue;
    }
    // kernel.perf_event_paranoid >= 2 keeps unprivileged users out of the kernel, but still
    // lets them sample their own processes in user space: do that, as perf does (evsel__fallback).
    if ((err == EACCES || err == EPERM) && per_task() && !a.exclude_kernel &&
        std::atoi(read_sysctl("/proc/sys/kernel/perf_event_paranoid").c_str()) >= 2) {
      a.exclude_kernel = 1;
      a.exclude_hv = 1;
      warn("event-fallback",
           "kernel.perf_event_paranoid=" + read_sysctl("/proc/sys/kernel/perf_event_paranoid") +
               " hides the kernel from this user: sampling '" + events[ev].name +
               "' in user space only");
      events[ev].attr = a;
      continue;
    }
    if (err == ESRCH && options.target == Target::kPids) return false;
    return open_error(err, events[ev].name, where, per_task() ? task : -1);
  }
}

Result<void> Collector::Impl::open_all() {
  // perf raises the soft fd limit when it runs out; one fd per event x CPU x thread adds up.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  for (int cpu : cpus) {
    std::size_t ring_index = rings.size();
    for (std::size_t ev = 0; ev < attrs.size(); ++ev) {
      std::size_t opened = 0;
      for (pid_t task : tasks) {
        auto r = open_one(ev, cpu, task, ring_index);
        if (!r) return r.error();
        // A thread of a -p target may exit between listing and opening.
        if (*r) ++opened;
      }
      if (opened == 0)
        return Error{Errc::kNotFound, "every target process exited before it could be opened"};
    }
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return Error{Errc::kIo, "epoll_create1: " + errno_with_hint(errno)};
  epoll.reset(ep);
  stop_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd.valid()) return Error{Errc::kIo, "eventfd: " + errno_with_hint(errno)};
  auto add = [&](int fd, std::uint64_t tag) -> Result<void> {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = tag;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0)
      return Error{Errc::kIo, "epoll_ctl: " + errno_text(errno)};
    return ok();
  };
  for (std::size_t i = 0; i < rings.size(); ++i) PROF_TRY(add(rings[i].fd, i));
  PROF_TRY(add(stop_fd.get(), kStopTag));
  if (child_pidfd.valid()) PROF_TRY(add(child_pidfd.get(), kChildTag));
  for (std::size_t i = 0; i < target_pidfds.size(); ++i)
    PROF_TRY(add(target_pidfds[i].get(), kTargetTag + i));
  return ok();
}

Round Collector::Impl::take_round(RecordQueue& queue) {
  // Each ring gives at most its size, so a buffer of all rings' bytes (up to a limit for
  // machines with many CPUs) never grows.
  Round round = queue.spare(round_bytes);
  for (std::size_t i = 0; i < rings.size(); ++i) {
    Ring& ring = rings[i];
    const std::size_t begin = round.bytes.size();
    auto n = ring.buffer.drain([&](std::span<const std::uint8_t> rec) -> Result<void> {
      round.bytes.insert(round.bytes.end(), rec.begin(), rec.end());
      return ok();
    });
    if (!n) corrupt_notes.push_back("CPU " + std::to_string(ring.cpu) + ": " + n.error().message);
    if (round.bytes.size() > begin) round.segments.push_back({i, begin, round.bytes.size()});
  }
  drained.fetch_add(round.bytes.size(), std::memory_order_relaxed);
  return round;
}

void Collector::Impl::reap_child(int wait_options) {
  if (child <= 0 || child_reaped) return;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(child, &status, wait_options);
  } while (r < 0 && errno == EINTR);
  if (r == child) {
    child_reaped = true;
    child_status = status;
  }
}

Result<void> Collector::Impl::drain_loop(Clock::time_point deadline, RecordQueue& queue,
                                         bool& stopped_by_request,
                                         const std::function<Result<void>(const Round&)>& direct) {
  std::size_t targets_left = target_pidfds.size();
  bool done = false;
  epoll_event evs[32];
  Result<void> result = ok();
  while (!done) {
    auto now = Clock::now();
    if (now >= deadline) break;
    auto wait = std::min<Clock::duration>(kPollInterval, deadline - now);
    int timeout_ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
    int n = epoll_wait(epoll.get(), evs, 32, timeout_ms);
    if (n < 0 && errno != EINTR) {
      result = Error{Errc::kIo, "epoll_wait: " + errno_text(errno)};
      break;
    }
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = evs[i].data.u64;
      if (tag == kStopTag) {
        stopped_by_request = true;
        done = true;
      } else if (tag == kChildTag) {
        reap_child(WNOHANG);
        done = true;
      } else if (tag >= kTargetTag) {
        int fd = target_pidfds[tag - kTargetTag].get();
        epoll_ctl(epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
        if (--targets_left == 0) done = true;
      } else if (evs[i].events & (EPOLLHUP | EPOLLERR)) {
        // Every task of a per-task ring is gone; its last records are drained below.
        epoll_ctl(epoll.get(), EPOLL_CTL_DEL, rings[tag].fd, nullptr);
      }
    }
    if (direct) {
      Round r = take_round(queue);
      result = direct(r);
      queue.recycle(std::move(r));
      if (!result) break;
    } else if (queue.wait_for_room(kRoomWait)) {
      // A full buffer leaves the records in the rings (the kernel counts what it must drop);
      // the rings stay readable, so epoll answers at once and this wait paces the loop.
      queue.push(take_round(queue));
    }
  }
  for (auto& f : fds) ioctl(f.fd.get(), PERF_EVENT_IOC_DISABLE, 0);
  // The last round whatever the budget: it is bounded by the rings.
  if (!direct) queue.push(take_round(queue));
  else if (result) result = direct(take_round(queue));
  read_kernel_lost();
  queue.close();
  return result;
}

void Collector::Impl::read_kernel_lost() {
  kernel_lost.assign(rings.size(), 0);
  for (const auto& f : fds) {
    if (!(attrs[f.event].attr.read_format & PERF_FORMAT_LOST)) continue;
    std::uint64_t values[2] = {0, 0};  // { value; lost } (perf_event_open(2), read_format)
    if (read(f.fd.get(), values, sizeof values) == static_cast<ssize_t>(sizeof values))
      kernel_lost[f.ring] += values[1];
  }
}

Result<void> Collector::Impl::deliver(const Round& round, RecordSink& sink, RunStats& stats) {
  std::uint64_t total = 0;
  for (const Round::Segment& seg : round.segments) {
    Ring& ring = rings[seg.ring];
    std::span<const std::uint8_t> bytes = round.segment(seg);
    // The drain checked every size against the ring: the records tile the segment exactly.
    for (std::size_t at = 0; at < bytes.size();) {
      perf_event_header h;
      std::memcpy(&h, bytes.data() + at, sizeof h);
      std::span<const std::uint8_t> rec = bytes.subspan(at, h.size);
      at += h.size;
      switch (h.type) {
        case PERF_RECORD_SAMPLE:
          ++ring.stats.samples;
          // Every attr here samples IDENTIFIER | IP | TID first: the pid follows two u64s.
          if (!unreadable_maps.empty() && rec.size() >= sizeof h + 20) {
            std::uint32_t pid = 0;
            std::memcpy(&pid, rec.data() + sizeof h + 16, sizeof pid);
            unreadable_maps.sampled(static_cast<pid_t>(pid));
          }
          break;
        case PERF_RECORD_LOST:
          // struct { header; u64 id; u64 lost; sample_id } (perf_event_open(2)).
          if (rec.size() >= sizeof h + 16) {
            std::uint64_t lost = 0;
            std::memcpy(&lost, rec.data() + sizeof h + 8, sizeof lost);
            ring.stats.lost += lost;
          }
          break;
        case PERF_RECORD_THROTTLE: ++ring.stats.throttled; break;
        default: break;
      }
      PROF_TRY(sink.on_record(rec));
      ++total;
    }
  }
  stats.records += total;
  if (total == 0) return ok();
  return sink.on_round_end();
}

Collector::Collector() : impl_(std::make_unique<Impl>()) {}
Collector::~Collector() = default;

Result<std::unique_ptr<Collector>> Collector::open(const Options& options, WarningSink* warnings) {
  std::unique_ptr<Collector> c(new Collector());
  Impl& m = *c->impl_;
  m.options = options;
  m.warnings = warnings;
  PROF_TRY(m.check_options());
  PROF_TRY(m.build_attrs());  // before any fork: a bad event must not start the command
  auto td = tracing_data_for(m.events);
  if (!td) return td.error();
  if (*td) m.tracing_data = perf::encode_tracing_data(**td);
  PROF_TRY(m.resolve_tasks());
  PROF_TRY(m.open_all());
  return c;
}

const std::vector<perf::EventAttr>& Collector::attrs() const { return impl_->attrs; }
const std::vector<ResolvedEvent>& Collector::events() const { return impl_->events; }
const std::string& Collector::tracing_data() const { return impl_->tracing_data; }
const std::vector<int>& Collector::cpus() const { return impl_->cpus; }
pid_t Collector::command_pid() const { return impl_->child; }

void Collector::request_stop() noexcept {
  if (!impl_->stop_fd.valid()) return;
  std::uint64_t one = 1;
  ssize_t w = write(impl_->stop_fd.get(), &one, sizeof one);
  (void)w;
}

std::uint64_t Collector::drained_bytes() const {
  return impl_->drained.load(std::memory_order_relaxed);
}

Result<RunStats> Collector::run(const StopCondition& stop, RecordSink& sink, ProgressFn progress) {
  Impl& m = *impl_;
  if (m.ran) return Error{Errc::kInternal, "Collector::run called twice"};
  m.ran = true;
  RunStats stats;
  PROF_TRY(sink.on_start(m.attrs));

  // The rings are drained on a thread of their own (below), into buffers made ready now.
  RecordQueue queue(m.options.reader_buffer_bytes ? m.options.reader_buffer_bytes
                                                  : kDefaultReaderBytes);
  std::uint64_t ring_bytes = 0;
  for (const auto& r : m.rings) ring_bytes += r.buffer.data_size();
  m.round_bytes = static_cast<std::size_t>(std::min(ring_bytes, kPrimeBytes / 2));
  queue.prime(
      std::clamp<std::size_t>(kPrimeBytes / std::max<std::size_t>(m.round_bytes, 1), 2, kMaxPrimed),
      m.round_bytes);

  if (m.options.target != Target::kCommand) {
    for (auto& f : m.fds) {
      if (ioctl(f.fd.get(), PERF_EVENT_IOC_ENABLE, 0) != 0)
        return Error{Errc::kIo, "PERF_EVENT_IOC_ENABLE: " + errno_text(errno)};
    }
  }
  if (m.child > 0) {
    char go = 1;
    if (write(m.child_go.get(), &go, 1) != 1)
      return Error{Errc::kIo, "cannot start the command: " + errno_text(errno)};
    m.child_go.reset();
    // The error pipe closes on a successful exec (O_CLOEXEC) or carries execvp's errno.
    int child_errno = 0;
    ssize_t got;
    do {
      got = read(m.child_err.get(), &child_errno, sizeof child_errno);
    } while (got < 0 && errno == EINTR);
    m.child_err.reset();
    if (got == static_cast<ssize_t>(sizeof child_errno)) {
      m.reap_child(0);
      return Error{child_errno == ENOENT ? Errc::kNotFound : Errc::kIo,
                   "cannot run '" + m.options.command[0] + "': " + errno_text(child_errno)};
    }
  }
  const auto start = Clock::now();
  const auto deadline = stop.duration ? start + *stop.duration : Clock::time_point::max();

  // The rings are drained on a thread of their own from here on, so that neither the /proc
  // snapshot (slow on a CPU starved by sampling interrupts) nor the sink holds them up.
  bool stopped_by_request = false;
  Result<void> drained = ok();
  std::thread drainer;
  try {
    drainer = std::thread([&] {
      // Ahead of the sink's threads and the workload when we may (root, CAP_SYS_NICE): the
      // draining is short, and every moment it waits the rings fill.
      setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kDrainerNice);
      drained = m.drain_loop(deadline, queue, stopped_by_request);
    });
  } catch (const std::system_error& e) {
    m.warn("threads", std::string("cannot start the ring-draining thread (") + e.what() +
                          "): draining between the sink's rounds instead");
  }
  // Ends and joins the draining thread on every way out (a sink error included).
  struct Joiner {
    Collector& c;
    std::thread& t;
    RecordQueue& q;
    ~Joiner() {
      if (!t.joinable()) return;
      c.request_stop();
      while (!q.finished()) q.pop(kPollInterval);  // make room for the last round
      t.join();
    }
  } joiner{*this, drainer, queue};

  if (m.options.synthesize) {
    // Enabled first, then the snapshot: a mapping made meanwhile is in both, never in neither.
    const perf_event_attr& side = m.attrs[0].attr;
    RecordFn emit = [&](std::span<const std::uint8_t> rec) {
      ++stats.records;
      return sink.on_record(rec);
    };
    if (!side.exclude_kernel) PROF_TRY(synthesize_kernel_mmap(side, emit, m.warnings));
    std::vector<pid_t> pids;
    bool want = true;
    switch (m.options.target) {
      case Target::kPids: pids = m.options.pids; break;
      case Target::kTids:
        for (pid_t t : m.options.pids) {
          pid_t g = tgid_of(t);
          if (g > 0) pids.push_back(g);
        }
        want = !pids.empty();
        break;
      case Target::kCommand:
        want = false;  // it exec'd under our events: the kernel reports its COMM and mmaps
        break;
      default: break;  // everything
    }
    if (want) {
      auto st = synthesize_processes(side, pids, emit, m.warnings);
      if (!st) return st.error();
      for (const auto& [pid, err] : st->unreadable_maps) m.unreadable_maps.add(pid, err);
    }
    PROF_TRY(sink.on_round_end());
  }

  // Without a draining thread, drain here in turn with the sink (as before there was one).
  if (!drainer.joinable()) {
    drained = m.drain_loop(deadline, queue, stopped_by_request,
                           [&](const Round& r) { return m.deliver(r, sink, stats); });
  }

  auto last_progress = start;
  auto report = [&] {
    if (!progress || Clock::now() - last_progress < kPollInterval) return;
    last_progress = Clock::now();
    Progress p;
    p.elapsed = last_progress - start;
    for (const auto& r : m.rings) {
      p.samples += r.stats.samples;
      p.lost += r.stats.lost;
    }
    progress(p);
  };
  while (!queue.finished()) {
    if (auto round = queue.pop(kPollInterval)) {
      PROF_TRY(m.deliver(*round, sink, stats));
      queue.recycle(std::move(*round));
    }
    report();
  }
  if (drainer.joinable()) drainer.join();
  PROF_TRY(std::move(drained));
  for (const auto& note : m.corrupt_notes) m.warn("ring-corrupt", note);
  stats.stopped_by_request = stopped_by_request;
  // A command that ended on its own (e.g. by a Ctrl-C that reached it too) keeps its status.
  m.reap_child(WNOHANG);
  if (m.child > 0 && !m.child_reaped) {
    // Duration over or stopped by request: end the command as perf ends its workload.
    kill(m.child, SIGTERM);
    m.reap_child(0);
    stats.command_stopped = true;
  }
  if (m.child_reaped) stats.command_status = m.child_status;
  if (auto news = m.unreadable_maps.summary(); !news.empty()) m.warn("proc-unreadable", news);
  stats.mmap_pages = m.options.mmap_pages;
  stats.locked_pages_cap = m.locked_pages_cap;
  stats.reader_full = queue.full_waits();
  stats.reader_peak_bytes = queue.peak_bytes();
  for (std::size_t i = 0; i < m.rings.size(); ++i) {
    // What the kernel counted beyond the PERF_RECORD_LOST it wrote: the ring was full when
    // sampling stopped. (An inherited event counts its children's losses only in them.)
    CpuStats& c = m.rings[i].stats;
    if (i < m.kernel_lost.size() && m.kernel_lost[i] > c.lost) {
      stats.lost_unreported += m.kernel_lost[i] - c.lost;
      c.lost = m.kernel_lost[i];
    }
  }
  for (const auto& r : m.rings) {
    stats.per_cpu.push_back(r.stats);
    stats.samples += r.stats.samples;
    stats.lost += r.stats.lost;
    stats.throttled += r.stats.throttled;
    stats.wrapped_records += r.buffer.wrapped_records();
  }
  return stats;
}

}  // namespace prof::collector

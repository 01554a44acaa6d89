#include "doctor.h"

#include <elf.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "prof/cli/help.h"
#include "prof/cli/support.h"
#include "prof/collector/build_id_cache.h"
#include "prof/collector/collector.h"
#include "prof/collector/events.h"
#include "prof/collector/parse.h"
#include "prof/collector/proc_snapshot.h"
#include "prof/collector/ring_buffer.h"
#include "prof/common/unique_fd.h"

namespace prof::app {
namespace {

namespace po = boost::program_options;

// capability(7) numbers, as in <linux/capability.h> (CAP_PERFMON is newer than some headers).
constexpr int kCapIpcLock = 14, kCapSysAdmin = 21, kCapSyslog = 34, kCapPerfmon = 38;
// The inode numbers of the initial namespaces (PROC_USER_INIT_INO, PROC_PID_INIT_INO in the
// kernel's include/linux/proc_ns.h): a process whose /proc/self/ns links show others is in a
// container or sandbox of some kind.
constexpr unsigned long kInitUserNs = 0xEFFFFFFDu, kInitPidNs = 0xEFFFFFFCu;
// The ring the all-in-one maps per CPU at its default rate (collector.h, Options::mmap_pages).
constexpr std::size_t kDefaultRingPages = 128;

struct Line {
  const char* status;  // "ok", "warn" or "fail"
  std::string check, found, fix;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::optional<long long> read_number(const std::string& path) {
  std::string s = read_text(path);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (end == s.c_str()) return std::nullopt;
  return v;
}

// A field of /proc/self/status ("CapEff", "Seccomp"), as text.
std::string status_field(const std::string& name) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0) {
      auto v = line.substr(name.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "";
}

struct Who {
  uid_t euid = 0;
  std::uint64_t caps = 0;  // effective capabilities
  bool cap(int n) const { return (caps >> n) & 1; }
  bool perfmon() const { return cap(kCapPerfmon) || cap(kCapSysAdmin); }
};

std::string self_path() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "profile";
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string sysctl_fix(const std::string& name, const std::string& value) {
  return "sudo sysctl " + name + "=" + value;
}

// ---- the checks ----

Line check_paranoid(const Who& who, std::optional<long long> paranoid) {
  Line l{"ok", "perf_event_paranoid", "", ""};
  if (!paranoid) {
    return {"fail", "perf_event_paranoid",
            "/proc/sys/kernel/perf_event_paranoid is missing: this kernel has no perf events "
            "(CONFIG_PERF_EVENTS) or /proc is not mounted",
            "mount -t proc proc /proc, or boot a kernel built with CONFIG_PERF_EVENTS=y"};
  }
  const std::string v = std::to_string(*paranoid);
  if (who.perfmon()) {
    l.found = "kernel.perf_event_paranoid=" + v + ", which does not bind this user (" +
              (who.cap(kCapSysAdmin) ? "CAP_SYS_ADMIN" : "CAP_PERFMON") + ")";
  } else if (*paranoid <= 0) {
    l.found = "kernel.perf_event_paranoid=" + v + ": unprivileged users may sample every CPU" +
              (*paranoid < 0 ? " and read raw tracepoints" : " (not raw tracepoints: -1)");
  } else {
    l.status = "fail";
    l.found = "kernel.perf_event_paranoid=" + v + " and this user lacks CAP_PERFMON: " +
              (*paranoid == 1   ? "only its own processes, no system-wide (-a) capture"
               : *paranoid == 2 ? "only its own processes, user space only, no "
                                  "system-wide (-a) capture"
                                : "no sampling at all (Debian's level 3)");
    l.fix = sysctl_fix("kernel.perf_event_paranoid", "-1") + " (or run as root, or: sudo setcap " +
            "cap_perfmon,cap_ipc_lock,cap_syslog+ep " + self_path() + ")";
  }
  return l;
}

Line check_capabilities(const Who& who) {
  std::vector<std::string> have, lack;
  for (auto [n, name] : {std::pair{kCapPerfmon, "CAP_PERFMON"},
                         {kCapSysAdmin, "CAP_SYS_ADMIN"},
                         {kCapIpcLock, "CAP_IPC_LOCK"},
                         {kCapSyslog, "CAP_SYSLOG"}})
    (who.cap(n) ? have : lack).push_back(name);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? std::string("none") : s;
  };
  std::string found = "uid " + std::to_string(who.euid) + ", effective: " + join(have) +
                      (lack.empty() ? "" : "; lacking: " + join(lack));
  if (who.perfmon()) return {"ok", "capabilities", found, ""};
  return {"warn", "capabilities", found,
          "sudo setcap cap_perfmon,cap_ipc_lock,cap_syslog+ep " + self_path() +
              " (lets any user of this binary sample every CPU)"};
}

// What `profile -a` opens: the default event on every CPU with frame-pointer call graphs, its
// rings mapped. The same code path, so its verdict is the command's.
Line check_system_wide(const Who& who, std::optional<long long> paranoid, bool& works) {
  collector::Options opt;
  opt.target = collector::Target::kAllCpus;
  opt.call_graph = collector::CallGraph::kFramePointer;
  WarningSink sink;
  auto c = collector::Collector::open(opt, &sink);
  works = c.has_value();
  if (!c) {
    std::string fix;
    if (c.error().code == Errc::kPermission && !who.perfmon() && paranoid && *paranoid > 0)
      fix = sysctl_fix("kernel.perf_event_paranoid", "-1") +
            " (or run as root, or: sudo setcap cap_perfmon,cap_ipc_lock,cap_syslog+ep " +
            self_path() + ")";
    return {"fail", "system-wide sampling", "'profile -a' fails: " + c.error().message, fix};
  }
  const auto& attrs = (*c)->attrs();
  std::string event = attrs.empty() ? "?" : attrs[0].name;
  if (event.empty() && !attrs.empty())
    event = attrs[0].attr.type == PERF_TYPE_HARDWARE ? "cycles" : "cpu-clock";
  return {"ok", "system-wide sampling",
          "'profile -a' works: opened " + event + " with call graphs on " +
              std::to_string((*c)->cpus().size()) + " CPUs and mapped their rings",
          ""};
}

// Whether the hardware counts cycles: the default event opened on this process (what
// `profile -- CMD` does); where even that is refused, the PMUs sysfs lists.
Line check_pmu() {
  collector::Options opt;
  opt.target = collector::Target::kTids;
  opt.pids = {static_cast<pid_t>(::gettid())};
  opt.synthesize = false;
  auto c = collector::Collector::open(opt);
  const std::string fix_vm =
      "give the VM a virtual PMU (KVM/libvirt: <cpu mode='host-passthrough'/> or -cpu host; "
      "VMware: 'Virtualize CPU performance counters'), or use cpu-clock as is";
  if (c && !(*c)->attrs().empty()) {
    if ((*c)->attrs()[0].attr.type == PERF_TYPE_HARDWARE)
      return {"ok", "hardware PMU", "cycles counts in hardware (the default event)", ""};
    return {"warn", "hardware PMU",
            "no hardware PMU (a VM?): cycles falls back to the cpu-clock timer; -e cycles, "
            "instructions, cache-misses are unavailable",
            fix_vm};
  }
  for (const char* pmu : {"cpu", "cpu_core", "cpu_atom", "armv8_pmuv3_0", "armv8_pmuv3"}) {
    struct stat st {};
    if (::stat(("/sys/bus/event_source/devices/" + std::string(pmu)).c_str(), &st) == 0)
      return {"ok", "hardware PMU",
              std::string("/sys/bus/event_source/devices/") + pmu +
                  " is present (not opened: this user may not sample)",
              ""};
  }
  return {"warn", "hardware PMU",
          "no CPU PMU under /sys/bus/event_source/devices (a VM?): the cpu-clock timer samples "
          "instead",
          fix_vm};
}

Line check_kallsyms(const Who& who, std::optional<long long> kptr,
                    std::optional<long long> paranoid) {
  std::ifstream in("/proc/kallsyms");
  if (!in) return {"warn", "kernel symbols", "/proc/kallsyms cannot be read", ""};
  bool nonzero = false;
  std::string line;
  for (int i = 0; i < 64 && std::getline(in, line); ++i) {
    auto sp = line.find(' ');
    if (line.substr(0, sp).find_first_not_of('0') != std::string::npos) nonzero = true;
  }
  const std::string k = kptr ? std::to_string(*kptr) : "?";
  if (nonzero)
    return {
        "ok", "kernel symbols",
        "/proc/kallsyms shows addresses (kernel.kptr_restrict=" + k + "): kernel frames get names",
        ""};
  std::string fix;
  if (kptr && *kptr >= 2) {
    fix = sysctl_fix("kernel.kptr_restrict", "1") + (who.euid == 0 ? "" : ", then run as root");
  } else if (who.cap(kCapSyslog) || who.euid == 0) {
    fix = sysctl_fix("kernel.kptr_restrict", "0");
  } else {
    // kptr_restrict 0 shows addresses to users perf lets see the kernel (paranoid <= 1);
    // 1 only to CAP_SYSLOG (kallsyms_show_value in kernel/ksyms_common.c).
    if (kptr && *kptr != 0) fix = sysctl_fix("kernel.kptr_restrict", "0");
    if (paranoid && *paranoid > 1)
      fix += (fix.empty() ? "" : " && ") + sysctl_fix("kernel.perf_event_paranoid", "1");
    fix += std::string(fix.empty() ? "" : " (or: ") + "sudo setcap cap_syslog,cap_perfmon+ep " +
           self_path() + (fix.empty() ? "" : ")");
  }
  return {"warn", "kernel symbols",
          "/proc/kallsyms shows zero addresses to this user (kernel.kptr_restrict=" + k +
              "): kernel frames are [unknown]",
          fix};
}

Line check_tracefs(const Who& who, std::optional<long long> paranoid) {
  auto t = collector::find_tracefs();
  if (!t.events_dir.empty()) {
    if (!who.perfmon() && (!paranoid || *paranoid > -1))
      return {"warn", "tracefs",
              t.events_dir +
                  " is readable, but tracepoint samples (--off-cpu, -e sched:...) "
                  "need CAP_PERFMON or kernel.perf_event_paranoid=-1",
              sysctl_fix("kernel.perf_event_paranoid", "-1")};
    return {"ok", "tracefs",
            t.events_dir + " is readable: tracepoints (-e sched:sched_switch, --off-cpu) work", ""};
  }
  if (!t.denied.empty()) {
    std::string mount = t.denied.substr(0, t.denied.rfind("/events"));
    return {"warn", "tracefs",
            t.denied + " is not readable by this user: --off-cpu and tracepoint events fail",
            "sudo mount -o remount,mode=755 " + mount + " (or run as root)"};
  }
  if (who.euid == 0)
    return {"ok", "tracefs",
            "not mounted; profile mounts it in a private namespace when a tracepoint needs it", ""};
  return {"warn", "tracefs", "tracefs is not mounted: --off-cpu and tracepoint events fail",
          "sudo mount -t tracefs nodev /sys/kernel/tracing"};
}

Line check_sample_rate() {
  auto rate = read_number("/proc/sys/kernel/perf_event_max_sample_rate");
  if (!rate) return {"warn", "max sample rate", "kernel.perf_event_max_sample_rate is missing", ""};
  const std::string r = std::to_string(*rate);
  if (*rate < 1000)
    return {"warn", "max sample rate",
            "kernel.perf_event_max_sample_rate=" + r +
                " (the kernel lowers it when sampling interrupts run long): -F above it is "
                "clamped",
            sysctl_fix("kernel.perf_event_max_sample_rate", "100000")};
  return {"ok", "max sample rate",
          "kernel.perf_event_max_sample_rate=" + r + ": -F up to " + r + " Hz per CPU", ""};
}

Line check_mlock(const Who& who, std::optional<long long> paranoid) {
  struct rlimit rl {};
  ::getrlimit(RLIMIT_MEMLOCK, &rl);
  std::string limit = rl.rlim_cur == RLIM_INFINITY ? std::string("unlimited")
                                                   : std::to_string(rl.rlim_cur / 1024) + " KiB";
  auto mlock_kb = read_number("/proc/sys/kernel/perf_event_mlock_kb");
  const std::string kb = mlock_kb ? std::to_string(*mlock_kb) : "?";
  if (who.cap(kCapIpcLock) || (paranoid && *paranoid < 0))
    return {"ok", "locked memory",
            std::string("perf rings are not bound by kernel.perf_event_mlock_kb=") + kb + " (" +
                (who.cap(kCapIpcLock) ? "CAP_IPC_LOCK" : "perf_event_paranoid -1") +
                "); RLIMIT_MEMLOCK " + limit,
            ""};
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::size_t cap = collector::mlock_ring_cap(mlock_kb ? static_cast<std::uint64_t>(*mlock_kb) : 0,
                                              page, false, 0);
  std::string found = "kernel.perf_event_mlock_kb=" + kb + " allows rings of " +
                      std::to_string(cap) + " pages per CPU (default " +
                      std::to_string(kDefaultRingPages) + "); RLIMIT_MEMLOCK " + limit;
  if (cap >= kDefaultRingPages) return {"ok", "locked memory", found, ""};
  const std::uint64_t need = (kDefaultRingPages + 1) * page / 1024;
  return {"warn", "locked memory", found + ": a busy capture loses samples",
          sysctl_fix("kernel.perf_event_mlock_kb", std::to_string(need * 4))};
}

// ---- libc: frame pointers, unwind tables, build-id, debug info ----

// The C library this process runs with, from /proc/self/maps.
std::string libc_path() {
  std::ifstream in("/proc/self/maps");
  for (std::string line; std::getline(in, line);) {
    auto m = collector::parse_maps_line(line);
    if (!m) continue;
    auto slash = m->path.rfind('/');
    std::string base = m->path.substr(slash == std::string::npos ? 0 : slash + 1);
    if (base.rfind("libc.so", 0) == 0 || base.rfind("libc-", 0) == 0) return m->path;
  }
  return "";
}

struct FramePointerScan {
  std::size_t functions = 0, with_frame = 0;
  bool eh_frame = false;
  std::string error;  // why nothing was scanned
};

// A heuristic, not a proof: counts the exported functions of `path` (.dynsym, 32 bytes or
// more) whose first instruction — after an endbr64 (x86-64) or bti/paciasp (arm64) — sets up
// a frame pointer: `push %rbp` then `mov %rsp,%rbp` on x86-64, `stp x29, x30, [sp, #-N]!` on
// arm64. A library built with -fno-omit-frame-pointer has that in nearly every function; one
// built without (Debian 12's libc) in almost none. Hand-written assembly (memcpy, strlen) has
// none either way, and a compiler may place the prologue later (shrink-wrapping), so the
// verdict comes from the share, not from any one function.
FramePointerScan scan_frame_pointers(const std::string& path) {
  FramePointerScan r;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    r.error = std::strerror(errno);
    return r;
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size < sizeof(Elf64_Ehdr)) {
    r.error = "not an ELF file";
    return r;
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (map == MAP_FAILED) {
    r.error = std::strerror(errno);
    return r;
  }
  const auto* base = static_cast<const std::uint8_t*>(map);
  auto in_file = [&](std::uint64_t off, std::uint64_t len) {
    return off <= size && len <= size - off;
  };
  Elf64_Ehdr eh;
  std::memcpy(&eh, base, sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_shentsize != sizeof(Elf64_Shdr) ||
      !in_file(eh.e_shoff, std::uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr)) ||
      eh.e_shstrndx >= eh.e_shnum) {
    ::munmap(map, size);
    r.error = "not a 64-bit ELF file with section headers";
    return r;
  }
  if (eh.e_machine != EM_X86_64 && eh.e_machine != EM_AARCH64) {
    ::munmap(map, size);
    r.error = "the heuristic knows x86-64 and arm64 prologues only";
    return r;
  }
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  std::memcpy(sh.data(), base + eh.e_shoff, sh.size() * sizeof(Elf64_Shdr));
  const Elf64_Shdr& names = sh[eh.e_shstrndx];
  auto section_name = [&](const Elf64_Shdr& s) -> std::string {
    if (!in_file(names.sh_offset, names.sh_size) || s.sh_name >= names.sh_size) return "";
    const char* p = reinterpret_cast<const char*>(base + names.sh_offset + s.sh_name);
    return std::string(p, strnlen(p, names.sh_size - s.sh_name));
  };
  for (const auto& s : sh)
    if (section_name(s) == ".eh_frame" && s.sh_size > 0) r.eh_frame = true;
  std::set<std::uint64_t> seen;
  for (const auto& s : sh) {
    if (s.sh_type != SHT_DYNSYM || s.sh_entsize != sizeof(Elf64_Sym) ||
        !in_file(s.sh_offset, s.sh_size))
      continue;
    for (std::uint64_t off = 0; off + sizeof(Elf64_Sym) <= s.sh_size; off += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      std::memcpy(&sym, base + s.sh_offset + off, sizeof sym);
      if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_size < 32 || sym.st_shndx == SHN_UNDEF ||
          sym.st_shndx >= sh.size() || !seen.insert(sym.st_value).second)
        continue;
      const Elf64_Shdr& text = sh[sym.st_shndx];
      if (text.sh_type != SHT_PROGBITS || sym.st_value < text.sh_addr) continue;
      const std::uint64_t at = text.sh_offset + (sym.st_value - text.sh_addr);
      if (!in_file(at, 16)) continue;
      const std::uint8_t* code = base + at;
      bool frame = false;
      if (eh.e_machine == EM_X86_64) {
        if (std::memcmp(code, "\xf3\x0f\x1e\xfa", 4) == 0) code += 4;  // endbr64
        frame = std::memcmp(code, "\x55\x48\x89\xe5", 4) == 0;         // push rbp; mov rsp,rbp
      } else {
        for (int i = 0; i < 2; ++i) {
          std::uint32_t insn;
          std::memcpy(&insn, code, 4);
          if (insn == 0xd503245fu || insn == 0xd503233fu) {  // bti c, paciasp
            code += 4;
            continue;
          }
          frame = (insn & 0xffc07fffu) == 0xa9807bfdu;  // stp x29, x30, [sp, #-N]!
          break;
        }
      }
      ++r.functions;
      if (frame) ++r.with_frame;
    }
  }
  ::munmap(map, size);
  if (r.functions == 0) r.error = "no exported functions found";
  return r;
}

Line check_frame_pointers(const std::string& libc) {
  if (libc.empty()) return {"warn", "libc frame pointers", "libc not found in /proc/self/maps", ""};
  auto scan = scan_frame_pointers(libc);
  if (!scan.error.empty())
    return {"warn", "libc frame pointers", libc + ": not checked: " + scan.error, ""};
  const std::string share = std::to_string(scan.with_frame) + " of " +
                            std::to_string(scan.functions) + " exported functions";
  const std::string dwarf = scan.eh_frame ? " (it has .eh_frame, so --call-graph dwarf unwinds it)"
                                          : " and it has no .eh_frame either";
  if (scan.with_frame * 2 >= scan.functions)
    return {"ok", "libc frame pointers",
            libc + " keeps frame pointers (" + share + " set one up, by their prologues)", ""};
  return {"warn", "libc frame pointers",
          libc + " is built without frame pointers (" + share +
              " set one up, by their prologues): a frame-pointer stack sampled in libc loses "
              "its caller" +
              dwarf,
          "profile --call-graph dwarf ..."};
}

Line check_debug_info(const std::string& libc) {
  if (libc.empty()) return {"warn", "debug info", "libc not found in /proc/self/maps", ""};
  auto id = collector::read_elf_build_id(libc);
  if (!id || id->empty())
    return {"warn", "debug info",
            libc +
                " has no build-id: captures cannot name its exact version, and its debug "
                "file cannot be found by one",
            ""};
  const std::string hex = collector::build_id_hex(*id);
  const std::string debug =
      "/usr/lib/debug/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
  struct stat st {};
  if (::stat(debug.c_str(), &st) == 0)
    return {"ok", "debug info", libc + " has build-id " + hex + " and its debug file " + debug, ""};
  return {"warn", "debug info",
          libc + " has build-id " + hex + " but no debug file (" + debug +
              "): its inlined frames and source lines are missing",
          "sudo apt install libc6-dbg (other libraries: their -dbgsym packages from the "
          "debian-debug archive)"};
}

Line check_seccomp(bool system_wide_works) {
  const std::string mode = status_field("Seccomp");
  if (mode.empty() || mode == "0")
    return {"ok", "seccomp", "no seccomp filter on this process", ""};
  if (system_wide_works)
    return {
        "ok", "seccomp",
        "a seccomp filter is active (Seccomp: " + mode + "), and it lets perf_event_open through",
        ""};
  return {"warn", "seccomp",
          "a seccomp filter is active (Seccomp: " + mode +
              "; a container?): it may be what refuses perf_event_open",
          "docker/podman run --security-opt seccomp=unconfined --cap-add PERFMON ..."};
}

unsigned long ns_inode(const char* which) {
  char buf[64];
  ssize_t n = ::readlink((std::string("/proc/self/ns/") + which).c_str(), buf, sizeof buf - 1);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char* open = std::strchr(buf, '[');
  return open ? std::strtoul(open + 1, nullptr, 10) : 0;
}

Line check_namespaces() {
  const unsigned long user = ns_inode("user"), pid = ns_inode("pid");
  if (user == 0 || pid == 0) return {"warn", "namespaces", "/proc/self/ns cannot be read", ""};
  std::vector<std::string> notes;
  if (user != kInitUserNs)
    notes.push_back(
        "in a user namespace (a rootless container?): capabilities held there do not count for "
        "perf_event_open");
  if (pid != kInitPidNs)
    notes.push_back(
        "in a pid namespace (a container?): a system-wide capture sees the host's tasks, whose "
        "pids mean nothing here");
  if (notes.empty()) return {"ok", "namespaces", "the host's user and pid namespaces", ""};
  std::string found;
  for (const auto& n : notes) found += (found.empty() ? "" : "; ") + n;
  return {"warn", "namespaces", found,
          "profile from the host, or run the container with --pid=host and --cap-add PERFMON"};
}

void print(const Line& l) {
  std::string out = l.status;
  out.resize(6, ' ');
  out += l.check + ": " + l.found;
  if (!l.fix.empty()) out += "; fix: " + l.fix;
  std::cout << out << '\n';
}

}  // namespace

int doctor_command(int argc, char** argv) {
  po::options_description opts(
      "Usage: profile doctor\n\n"
      "Checks what this machine lets this user profile and prints one line per check: ok,\n"
      "warn or fail, what was found, and the command that changes it. Covers\n"
      "perf_event_paranoid and capabilities, system-wide sampling (what 'profile -a' opens),\n"
      "the hardware PMU, kernel symbols (kptr_restrict), tracefs, the sample-rate and\n"
      "locked-memory limits, frame pointers and debug info of libc, seccomp and namespaces.\n"
      "Exit status 0 when 'profile -a' would work, 1 when it would not.\n\nOptions");
  opts.add_options()("help,h", "show this help");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = cli::parse(argc, argv, opts, pos, vm, "doctor")) return *rc;
  if (vm.count("help")) return cli::print_help(opts, "doctor");

  Who who;
  who.euid = ::geteuid();
  who.caps = std::strtoull(status_field("CapEff").c_str(), nullptr, 16);
  const auto paranoid = read_number("/proc/sys/kernel/perf_event_paranoid");
  const auto kptr = read_number("/proc/sys/kernel/kptr_restrict");
  const std::string libc = libc_path();

  bool system_wide = false;
  Line wide = check_system_wide(who, paranoid, system_wide);
  for (const Line& l : {check_paranoid(who, paranoid), check_capabilities(who), wide, check_pmu(),
                        check_kallsyms(who, kptr, paranoid), check_tracefs(who, paranoid),
                        check_sample_rate(), check_mlock(who, paranoid), check_frame_pointers(libc),
                        check_debug_info(libc), check_seccomp(system_wide), check_namespaces()})
    print(l);
  return cli::exit_now(system_wide ? cli::kExitOk : cli::kExitRuntime);
}

}  // namespace prof::app

#include "prof/collector/proc_snapshot.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <tuple>

#include "prof/common/perf_data.h"
#include "sys.h"

namespace prof::collector {
namespace {

template <typename T>
bool parse_num(std::string_view s, T& out, int base) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits off the next space-separated field.
std::string_view next_field(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  auto sp = s.find(' ');
  std::string_view f = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view() : s.substr(sp);
  return f;
}

// Numeric entries of a /proc directory (processes in /proc, threads in /proc/PID/task).
std::vector<pid_t> numeric_entries(const std::string& dir) {
  std::vector<pid_t> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    pid_t v = 0;
    std::string_view name = e->d_name;
    if (!name.empty() && parse_num(name, v, 10)) out.push_back(v);
  }
  closedir(d);
  return out;
}

std::string read_comm(const std::string& path) {
  auto c = sys::read_small_file(path);
  if (!c) return {};
  while (!c->empty() && c->back() == '\n') c->pop_back();
  return *c;
}

// Reads exactly `len` bytes at `off`.
bool pread_all(int fd, void* buf, std::size_t len, std::uint64_t off) {
  auto* p = static_cast<std::uint8_t*>(buf);
  while (len > 0) {
    ssize_t n = ::pread(fd, p, len, static_cast<off_t>(off));
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
    off += static_cast<std::uint64_t>(n);
  }
  return true;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> build_id_in_notes(std::span<const std::uint8_t> notes) {
  // Notes: {namesz, descsz, type, name (4-aligned), desc (4-aligned)} (elf(5)).
  std::size_t at = 0;
  while (at + sizeof(Elf64_Nhdr) <= notes.size()) {
    Elf64_Nhdr nh;
    std::memcpy(&nh, notes.data() + at, sizeof nh);
    std::size_t name_at = at + sizeof nh;
    std::size_t desc_at = name_at + ((nh.n_namesz + 3u) & ~3u);
    std::size_t next = desc_at + ((nh.n_descsz + 3u) & ~3u);
    if (next > notes.size() || desc_at + nh.n_descsz > notes.size()) break;
    if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
        std::memcmp(notes.data() + name_at, "GNU", 4) == 0 && nh.n_descsz > 0 && nh.n_descsz <= 20)
      return std::vector<std::uint8_t>(notes.begin() + static_cast<long>(desc_at),
                                       notes.begin() + static_cast<long>(desc_at + nh.n_descsz));
    at = next;
  }
  return std::nullopt;
}

std::optional<std::vector<std::uint8_t>> read_elf_build_id(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  return read_elf_build_id(fd.get());
}

std::optional<std::vector<std::uint8_t>> read_elf_build_id(int fd) {
  Elf64_Ehdr eh;
  // 64-bit, native byte order only: the processes sampled on this machine.
  if (!pread_all(fd, &eh, sizeof eh, 0) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
      eh.e_phnum > 256)
    return std::nullopt;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!pread_all(fd, &ph, sizeof ph, eh.e_phoff + i * sizeof ph)) return std::nullopt;
    if (ph.p_type != PT_NOTE || ph.p_filesz > (1u << 16)) continue;
    std::vector<std::uint8_t> notes(ph.p_filesz);
    if (!pread_all(fd, notes.data(), notes.size(), ph.p_offset)) continue;
    if (auto id = build_id_in_notes(notes)) return id;
  }
  return std::nullopt;
}

std::optional<MapsLine> parse_maps_line(std::string_view line) {
  MapsLine m;
  std::string_view range = next_field(line), perms = next_field(line), offset = next_field(line),
                   dev = next_field(line), inode = next_field(line);
  auto dash = range.find('-');
  auto colon = dev.find(':');
  if (dash == std::string_view::npos || colon == std::string_view::npos || perms.size() < 4)
    return std::nullopt;
  if (!parse_num(range.substr(0, dash), m.start, 16) ||
      !parse_num(range.substr(dash + 1), m.end, 16) || !parse_num(offset, m.pgoff, 16) ||
      !parse_num(dev.substr(0, colon), m.major, 16) ||
      !parse_num(dev.substr(colon + 1), m.minor, 16) || !parse_num(inode, m.inode, 10) ||
      m.end < m.start)
    return std::nullopt;
  if (perms[0] == 'r') m.prot |= PROT_READ;
  if (perms[1] == 'w') m.prot |= PROT_WRITE;
  if (perms[2] == 'x') m.prot |= PROT_EXEC;
  m.flags = perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE;
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  m.path = std::string(line);  // paths may contain spaces: the rest of the line
  return m;
}

Result<SnapshotStats> synthesize_processes(const perf_event_attr& attr,
                                           const std::vector<pid_t>& pids, const RecordFn& emit,
                                           WarningSink* warnings) {
  SnapshotStats st;
  errno = 0;
  std::vector<pid_t> all = pids.empty() ? numeric_entries("/proc") : pids;
  if (all.empty()) {
    const int err = errno;
    if (warnings)
      warnings->warn("proc-unreadable",
                     "cannot list /proc: " + std::string(err ? std::strerror(err) : "empty") +
                         "; processes that existed before the capture will be [unknown]");
    return st;
  }
  // Build-ids by file identity (device, inode): each shared library is read once.
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint64_t>,
           std::optional<std::vector<std::uint8_t>>>
      build_ids;
  for (pid_t pid : all) {
    const std::string base = "/proc/" + std::to_string(pid);
    std::vector<pid_t> tids = numeric_entries(base + "/task");
    if (tids.empty()) continue;  // exited meanwhile
    std::string comm = read_comm(base + "/comm");
    ++st.processes;
    PROF_TRY(emit(perf::make_comm(attr, static_cast<std::uint32_t>(pid),
                                  static_cast<std::uint32_t>(pid), comm)));
    for (pid_t tid : tids) {
      if (tid == pid) continue;
      ++st.threads;
      perf::Task t;
      t.pid = t.ppid = static_cast<std::uint32_t>(pid);
      t.tid = static_cast<std::uint32_t>(tid);
      t.ptid = static_cast<std::uint32_t>(pid);
      t.sid.pid = t.pid;
      t.sid.tid = t.tid;
      PROF_TRY(emit(perf::make_task(attr, PERF_RECORD_FORK, t)));
      std::string tcomm = read_comm(base + "/task/" + std::to_string(tid) + "/comm");
      PROF_TRY(
          emit(perf::make_comm(attr, static_cast<std::uint32_t>(pid),
                               static_cast<std::uint32_t>(tid), tcomm.empty() ? comm : tcomm)));
    }
    errno = 0;
    std::ifstream maps(base + "/maps");
    if (!maps) {
      const int err = errno;
      // ENOENT: the process exited meanwhile, which is no news.
      if (err != ENOENT && err != ESRCH) st.unreadable_maps.emplace_back(pid, err);
      continue;
    }
    std::string line;
    while (std::getline(maps, line)) {
      auto m = parse_maps_line(line);
      // As the kernel reports them: executable mappings, and the rest with attr.mmap_data.
      if (!m || (!(m->prot & PROT_EXEC) && !attr.mmap_data)) continue;
      perf::Mmap mm;
      mm.is_mmap2 = true;
      mm.misc = PERF_RECORD_MISC_USER;
      mm.pid = mm.tid = static_cast<std::uint32_t>(pid);
      mm.start = m->start;
      mm.len = m->end - m->start;
      mm.pgoff = m->pgoff;
      mm.maj = m->major;
      mm.min = m->minor;
      mm.ino = m->inode;
      mm.prot = m->prot;
      mm.flags = m->flags;
      // perf names anonymous executable memory (JIT code) "//anon".
      mm.filename = m->path.empty() ? "//anon" : m->path;
      mm.sid.pid = mm.pid;
      mm.sid.tid = mm.tid;
      if (attr.build_id && m->inode != 0) {
        auto key = std::make_tuple(m->major, m->minor, m->inode);
        auto it = build_ids.find(key);
        if (it == build_ids.end()) {
          // map_files opens the very file mapped, also inside containers or when deleted.
          char range[64];
          std::snprintf(range, sizeof range, "/map_files/%llx-%llx",
                        static_cast<unsigned long long>(m->start),
                        static_cast<unsigned long long>(m->end));
          it = build_ids.emplace(key, read_elf_build_id(base + range)).first;
        }
        if (it->second) {
          mm.misc |= PERF_RECORD_MISC_MMAP_BUILD_ID;
          mm.build_id = *it->second;
        }
      }
      ++st.mappings;
      PROF_TRY(emit(perf::make_mmap2(attr, mm)));
    }
  }
  return st;
}

Result<void> synthesize_kernel_mmap(const perf_event_attr& attr, const RecordFn& emit,
                                    WarningSink* warnings) {
  errno = 0;
  std::ifstream in("/proc/kallsyms");
  if (!in) {
    const int err = errno;
    if (warnings)
      warnings->warn("kernel-symbols-unreadable",
                     "/proc/kallsyms: " + std::string(err ? std::strerror(err) : "unreadable") +
                         "; kernel frames will be [unknown]");
    return ok();
  }
  std::string addr, type, name;
  std::uint64_t text = 0;
  while (in >> addr >> type >> name) {
    in.ignore(1 << 20, '\n');  // module-name column on some lines
    if (name == "_text" || name == "_stext") {
      parse_num(std::string_view(addr), text, 16);
      if (name == "_text") break;
    }
  }
  if (text == 0) {
    if (warnings)
      warnings->warn("kernel-symbols-hidden",
                     "/proc/kallsyms hides kernel addresses (kernel.kptr_restrict): kernel frames "
                     "will be [unknown]; run as root or set kernel.kptr_restrict=0");
    return ok();
  }
  // The map runs to the top of the address space so that module addresses fall inside it too.
  return emit(perf::make_kernel_mmap(attr, text, ~0ULL - text, text));
}

}  // namespace prof::collector

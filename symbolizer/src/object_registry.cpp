#include "object_registry.h"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "debug_cache.h"
#include "text_util.h"

namespace prof::symbolizer::detail {
namespace {

bool is_anon_name(std::string_view n) {
  return n.substr(0, 6) == "//anon" || n.substr(0, 6) == "[anon:" ||
         n.substr(0, 9) == "/dev/zero" || n.substr(0, 10) == "/tmp/perf-" || n.empty();
}

std::uint64_t inode_of(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

bool other_mount_namespace(std::uint32_t pid) {
  static const std::uint64_t self = inode_of("/proc/self/ns/mnt");
  std::uint64_t theirs = inode_of("/proc/" + std::to_string(pid) + "/ns/mnt");
  return theirs != 0 && self != 0 && theirs != self;
}

// The pid a process sees for itself (last NStgid entry): JITs in a container name their map
// file after it.
std::optional<std::uint32_t> namespaced_pid(std::uint32_t pid) {
  auto text = read_whole_file("/proc/" + std::to_string(pid) + "/status");
  if (!text) return std::nullopt;
  std::string_view t = *text;
  while (!t.empty()) {
    std::string_view line = next_line(t);
    if (line.substr(0, 7) != "NStgid:") continue;
    auto last = line.find_last_of(" \t");
    if (last == std::string_view::npos) return std::nullopt;
    std::uint32_t v = 0;
    for (char c : line.substr(last + 1)) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> own_vdso_image() {
  auto base = getauxval(AT_SYSINFO_EHDR);
  if (!base) return std::nullopt;
  auto maps = read_whole_file("/proc/self/maps");
  if (!maps) return std::nullopt;
  std::string_view t = *maps;
  while (!t.empty()) {
    std::string_view line = next_line(t);
    if (line.find("[vdso]") == std::string_view::npos) continue;
    std::uint64_t start = 0, end = 0;
    if (std::sscanf(std::string(line).c_str(), "%" SCNx64 "-%" SCNx64, &start, &end) != 2 ||
        start != base || end <= start)
      return std::nullopt;
    return std::string(reinterpret_cast<const char*>(base), end - start);
  }
  return std::nullopt;
}

void ObjectRegistry::set_recorded_build_ids(const std::vector<perf::BuildIdEntry>& entries) {
  if (!recorded_build_ids_.assign(entries)) return;
  for (auto& o : objects_)  // checked before the table arrived (pipe mode): check again
    if (o.build_id.empty() && o.checked_path && o.mismatch.empty()) o.checked_path.reset();
}

const std::string& ObjectRegistry::checked_path(MappedObject& o) {
  if (!o.checked_path) {
    const std::string expected =
        o.build_id.empty() ? std::string(recorded_build_ids_.find(o.name)) : o.build_id;
    if (o.kind != ObjectKind::kFile || expected.empty()) {
      o.checked_path = o.open_path;
    } else {
      auto v =
          check_build_id(o.open_path, o.name, expected, build_id_cache_dir(options_.build_id_dir));
      o.checked_path = std::move(v.path);
      if (!v.warning.empty()) {
        warn("build-id-mismatch", v.warning);
        o.mismatch = std::move(v.warning);
      }
    }
  }
  return *o.checked_path;
}

// libdwfl reads modules from files; the vdso exists only in memory, so it gets a memfd.
std::string ObjectRegistry::vdso_path() {
  if (!vdso_fd_) {
    vdso_fd_.emplace();
    if (auto image = own_vdso_image()) {
      UniqueFd fd(memfd_create("prof-vdso", MFD_CLOEXEC));
      if (fd &&
          ::write(fd.get(), image->data(), image->size()) == static_cast<ssize_t>(image->size()))
        *vdso_fd_ = std::move(fd);
    }
  }
  return vdso_fd_->valid() ? "/proc/self/fd/" + std::to_string(vdso_fd_->get()) : "";
}

const std::shared_ptr<const AddressSpace>& ObjectRegistry::snapshot_for(std::uint32_t pid) {
  Process& p = processes_[pid];
  if (p.snapshot && p.snapshot->unwind.generation == p.generation) return p.snapshot;
  auto a = std::make_shared<AddressSpace>();
  a->pid = pid;
  a->unwind.generation = p.generation;
  a->maps.reserve(p.maps.size());
  // One module per (object, bias): the same file can be mapped twice (after an exec the old
  // image's maps stay until overwritten, and the new libc lands elsewhere).
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::uint32_t> module_ids;
  // Only the segments are needed here (for the load bias): symbols are the resolver's.
  BinaryOptions bo{options_.symfs, false, false, /*segments_only=*/true};
  for (const auto& [start, e] : p.maps) {
    a->maps.push_back(e);
    MappedObject& o = object(e.object);
    if (o.kind != ObjectKind::kFile && o.kind != ObjectKind::kVdso) continue;
    // A file that is no longer the sampled object would unwind with the wrong CFI.
    std::string path = o.kind == ObjectKind::kVdso ? vdso_path() : checked_path(o);
    if (path.empty()) continue;
    auto& bin = unwind_binaries_[e.object];
    if (!bin) {
      auto b = Binary::open(path, bo);
      if (!b) continue;
      bin = std::move(*b);
    }
    auto bias = bin->load_bias(e.start, e.pgoff);
    if (!bias) continue;
    auto [it, added] = module_ids.try_emplace({e.object, *bias},
                                              static_cast<std::uint32_t>(a->unwind.modules.size()));
    if (added) a->unwind.modules.push_back(UnwindModule{o.name, path, *bias});
    a->unwind.ranges.push_back({e.start, e.end, it->second});
  }
  p.snapshot = std::move(a);
  return p.snapshot;
}

std::uint32_t ObjectRegistry::object_for(const perf::Mmap& m, ObjectKind kind, std::string name) {
  auto key =
      std::make_tuple(name, m.maj, m.min, m.ino, std::string(m.build_id.begin(), m.build_id.end()),
                      kind == ObjectKind::kPerfMap ? m.pid : 0u);
  auto it = object_ids_.find(key);
  if (it != object_ids_.end()) return it->second;
  MappedObject o;
  o.kind = kind;
  o.name = std::move(name);
  o.pid = m.pid;
  o.maj = m.maj;
  o.min = m.min;
  o.ino = m.ino;
  o.has_ino = m.is_mmap2 && !(m.misc & PERF_RECORD_MISC_MMAP_BUILD_ID);
  if (m.misc & PERF_RECORD_MISC_MMAP_BUILD_ID)
    o.build_id = to_hex(m.build_id.data(), m.build_id.size());
  locate(o, m);
  auto id = static_cast<std::uint32_t>(objects_.size() + kFirstMapped);
  objects_.push_back(std::move(o));
  object_ids_.emplace(std::move(key), id);
  return id;
}

// Decides where an object's bytes will be read from. While the process lives its own view of
// the file system is authoritative (containers: /proc/PID/root; deleted or replaced files:
// /proc/PID/map_files); we keep an fd so the answer survives the process.
void ObjectRegistry::locate(MappedObject& o, const perf::Mmap& m) {
  if (o.kind == ObjectKind::kPerfMap) {
    std::uint32_t nspid = o.pid;
    std::string root;
    if (options_.use_proc && options_.symfs.empty()) {
      if (auto ns = namespaced_pid(o.pid)) nspid = *ns;
      if (other_mount_namespace(o.pid)) root = "/proc/" + std::to_string(o.pid) + "/root";
    }
    o.open_path =
        (root.empty() ? options_.symfs : root) + "/tmp/perf-" + std::to_string(nspid) + ".map";
    return;
  }
  if (o.kind != ObjectKind::kFile) return;
  std::string path = o.name;
  constexpr std::string_view kDeleted = " (deleted)";
  bool deleted = path.size() > kDeleted.size() &&
                 path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0;
  if (deleted) path.resize(path.size() - kDeleted.size());
  o.open_path = options_.symfs + path;
  if (!options_.use_proc || !options_.symfs.empty() || m.pid == 0 ||
      m.pid == static_cast<std::uint32_t>(-1))
    return;
  std::string proc = "/proc/" + std::to_string(m.pid);
  std::string candidate;
  if (deleted) {
    char range[64];
    std::snprintf(range, sizeof range, "/map_files/%" PRIx64 "-%" PRIx64, m.start, m.start + m.len);
    candidate = proc + range;
  } else if (other_mount_namespace(m.pid)) {
    candidate = proc + "/root" + path;
  }
  if (candidate.empty()) return;
  UniqueFd fd(::open(candidate.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd) {
    o.open_path = "/proc/self/fd/" + std::to_string(fd.get());
    o.fd = std::move(fd);
  }
}

void ObjectRegistry::add_mmap(const perf::Mmap& m) {
  if (m.len == 0 || m.start + m.len < m.start) return;
  std::uint32_t cpumode = m.misc & PERF_RECORD_MISC_CPUMODE_MASK;
  // Kernel image and module maps: kernel addresses resolve through kallsyms instead.
  if (cpumode == PERF_RECORD_MISC_KERNEL || m.pid == static_cast<std::uint32_t>(-1)) return;
  // Data mappings (perf record -d) carry no code.
  if (m.is_mmap2 && m.prot != 0 && !(m.prot & 0x4 /*PROT_EXEC*/)) return;
  ObjectKind kind = ObjectKind::kFile;
  std::string name = m.filename;
  if (name == "[vdso]") {
    kind = ObjectKind::kVdso;
  } else if (is_anon_name(name)) {
    kind = ObjectKind::kPerfMap;
    name = "/tmp/perf-" + std::to_string(m.pid) + ".map";  // what perf prints as the module
  } else if (name.front() == '[') {
    kind = ObjectKind::kSpecial;  // [vsyscall], [stack], [heap]: nothing to read
  }
  std::uint32_t obj = object_for(m, kind, std::move(name));
  tcache_ = {};  // a new process node, or maps changing under the cached entry
  auto& maps = processes_[m.pid].maps;
  std::uint64_t start = m.start, end = m.start + m.len;
  // Remove or trim what the new mapping covers (mmap over an existing range replaces it).
  auto it = maps.lower_bound(start);
  if (it != maps.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > start) {
      MapEntry tail = prev->second;
      prev->second.end = start;
      if (tail.end > end) {
        tail.pgoff += end - tail.start;
        tail.start = end;
        maps.emplace(end, tail);
      }
    }
  }
  for (it = maps.lower_bound(start); it != maps.end() && it->first < end;) {
    if (it->second.end > end) {
      MapEntry tail = it->second;
      tail.pgoff += end - tail.start;
      tail.start = end;
      it = maps.erase(it);
      maps.emplace(end, tail);
      break;
    }
    it = maps.erase(it);
  }
  maps.emplace(start, MapEntry{start, end, m.pgoff, obj});
  processes_[m.pid].generation = ++generation_counter_;
}

void ObjectRegistry::add_fork(const perf::Task& t) {
  if (t.pid == t.ppid) return;  // a new thread shares its process's maps
  auto parent = processes_.find(t.ppid);
  Process child;
  if (parent != processes_.end()) child.maps = parent->second.maps;
  child.generation = ++generation_counter_;
  processes_[t.pid] = std::move(child);
  tcache_ = {};
}

KeyedAddress ObjectRegistry::user_key(const MapEntry& e, std::uint64_t ip, bool caller,
                                      bool unwound) const {
  const MappedObject& o = object(e.object);
  if (o.kind == ObjectKind::kPerfMap || o.kind == ObjectKind::kSpecial)
    return {{e.object, false, false, ip}, ip};
  std::uint64_t off = ip - e.start + e.pgoff;
  return {{e.object, caller, unwound, off}, off};
}

void ObjectRegistry::forget_process(std::uint32_t pid) {
  if (processes_.erase(pid) == 0) return;
  tcache_ = {};
  process_cache_.fill(ProcessSlot{});
}

void ObjectRegistry::select_process(std::uint32_t pid) {
  if (tcache_.process && tcache_.pid == pid) return;
  ProcessSlot& slot = process_cache_[pid & 63];
  Process* found = slot.process && slot.pid == pid ? slot.process : nullptr;
  if (!found) {
    auto p = processes_.find(pid);
    if (p != processes_.end()) {
      found = &p->second;
      slot = {pid, found};
    }
  }
  tcache_ = {pid, found, 0, nullptr};
}

KeyedAddress ObjectRegistry::translate_user(std::uint32_t pid, std::uint64_t ip, bool caller) {
  select_process(pid);
  if (Process* proc = tcache_.process) {
    const MapEntry* e = tcache_.entry;
    if (!e || tcache_.generation != proc->generation || ip < e->start || ip >= e->end) {
      e = nullptr;
      auto it = proc->maps.upper_bound(ip);
      if (it != proc->maps.begin() && ip < std::prev(it)->second.end) e = &std::prev(it)->second;
      if (e) {
        tcache_.entry = e;
        tcache_.generation = proc->generation;
      }
    }
    if (e) return user_key(*e, ip, caller, false);
  }
  return unmapped_key(ip);
}

KeyedAddress ObjectRegistry::unwound_key(const AddressSpace& a, std::uint64_t pc) const {
  auto it = std::upper_bound(a.maps.begin(), a.maps.end(), pc,
                             [](std::uint64_t v, const MapEntry& e) { return v < e.start; });
  if (it != a.maps.begin() && pc < std::prev(it)->end)
    return user_key(*std::prev(it), pc, false, true);
  return unmapped_key(pc);
}

}  // namespace prof::symbolizer::detail

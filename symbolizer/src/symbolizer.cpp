#include "prof/symbolizer/symbolizer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "build_id_check.h"
#include "debug_cache.h"
#include "prof/symbolizer/binary.h"
#include "prof/symbolizer/demangle.h"
#include "prof/symbolizer/kallsyms.h"
#include "prof/symbolizer/perf_map.h"
#include "text_util.h"
#include "unwinder.h"

namespace prof::symbolizer {
namespace {

constexpr std::string_view kUnknown = "[unknown]";
constexpr std::string_view kKernelModule = "[kernel.kallsyms]";

// Asks for transparent huge pages over the 2 MB-aligned part of a large buffer about to be
// filled: one fault per 2 MB instead of one per 4 kB (a 60k-sample store is ~1,300 faults,
// milliseconds on a VM). Advice only: where THP is off or the range is small, nothing changes.
void huge_pages(const void* p, std::size_t bytes) {
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (p && end > begin)
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

// Interned strings: views into node-based storage stay valid as the set grows.
class StringPool {
 public:
  std::string_view intern(std::string_view s) {
    auto it = set_.find(s);
    if (it != set_.end()) return *it;
    return *set_.emplace(s).first;
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, Hash, std::equal_to<>> set_;
};

// What a runtime address was mapped to when it was sampled.
enum class ObjectKind : std::uint8_t { kFile, kVdso, kPerfMap, kSpecial };

struct MappedObject {
  ObjectKind kind = ObjectKind::kFile;
  std::string name;          // as recorded (what perf prints as the module)
  std::uint32_t pid = 0;     // the process it was first seen in (for /proc lookups)
  std::string open_path;     // path to open, decided when the map was added
  int fd = -1;               // kept open for files of live processes in other namespaces
  std::uint32_t maj = 0, min = 0;
  std::uint64_t ino = 0;
  bool has_ino = false;
  std::string build_id;      // from MMAP2 with PERF_RECORD_MISC_MMAP_BUILD_ID
  // Where its bytes are read from once checked against the recorded build-id (checked_path()):
  // open_path, a copy in perf's build-id cache, or "" when the file is no longer the object.
  std::optional<std::string> checked_path;
  std::string mismatch;      // the warning for checked_path "" (given once)
};

struct MapEntry {
  std::uint64_t start = 0, end = 0, pgoff = 0;
  std::uint32_t object = 0;
};

// A process's maps frozen at one generation, for unwinding after more records have arrived:
// DWARF samples are unwound in batches on worker threads, each against the maps (and the
// libdwfl modules) of its own moment.
struct AddressSpace {
  std::uint32_t pid = 0;
  std::vector<MapEntry> maps;  // sorted by start
  detail::UnwindSpace unwind;  // the modules libdwfl may be given, where they are mapped, and
                               // the maps generation this snapshot is of
};

struct Process {
  std::map<std::uint64_t, MapEntry> maps;  // keyed by start; non-overlapping
  std::uint64_t generation = 0;            // changes whenever maps change (new snapshot)
  std::shared_ptr<const AddressSpace> snapshot;  // of `maps` at snapshot->unwind.generation
};

// A location is what we resolve once: object 0 = unmapped, 1 = kernel, else MappedObject+2.
constexpr std::uint32_t kNoObject = 0;
constexpr std::uint32_t kKernelObject = 1;
constexpr std::uint32_t kFirstMapped = 2;

struct LocationKey {
  std::uint32_t object;
  bool caller;          // a return address: DWARF questions use address - 1
  bool unwound = false; // from the DWARF unwinder: named as perf names unwound frames
  std::uint64_t addr;   // file offset for files, runtime address otherwise
  bool operator==(const LocationKey&) const = default;
};
struct LocationKeyHash {
  // Mixed down to the low bits: the location table indexes with a power-of-two mask.
  std::size_t operator()(const LocationKey& k) const {
    std::uint64_t h = k.addr ^ (std::uint64_t{k.object} << 40) ^
                      (std::uint64_t{k.caller} << 63) ^ (std::uint64_t{k.unwound} << 62);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return static_cast<std::size_t>(h ^ (h >> 31));
  }
};

struct Location {
  LocationKey key;
  std::uint64_t print_addr;  // what perf prints in the address column
  std::uint32_t first_frame = 0, frame_count = 0;  // into frames_ once resolved
  bool resolved = false;
};

// A sample whose user stack is still to be unwound (see Impl::flush_unwinds).
struct UnwindJob {
  const AddressSpace* space;
  std::uint32_t tid;
  std::uint64_t regs[17];
  const std::uint8_t* stack;  // the caller's stable bytes, or null: at stack_offset in the arena
  std::size_t stack_offset, stack_size;
  std::size_t max_frames;
  // Filled by a worker: the unwound frames as location keys with their printed addresses.
  std::vector<std::pair<LocationKey, std::uint64_t>> frames;
  std::string stop_reason;
};

struct StoredSample {
  std::string_view comm, event;
  std::int64_t pid, tid;
  std::int32_t cpu;
  std::uint64_t time, period;
  std::uint32_t first_loc, loc_count;
  std::uint64_t count = 1;  // samples merged into this one (Options::aggregate)
};

bool is_anon_name(std::string_view n) {
  return n.substr(0, 6) == "//anon" || n.substr(0, 6) == "[anon:" || n.substr(0, 9) == "/dev/zero" ||
         n.substr(0, 10) == "/tmp/perf-" || n.empty();
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
  auto text = detail::read_whole_file("/proc/" + std::to_string(pid) + "/status");
  if (!text) return std::nullopt;
  std::string_view t = *text;
  while (!t.empty()) {
    std::string_view line = detail::next_line(t);
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

// This machine's vdso as an ELF image (perf dumps its own the same way: the vdso of a capture
// on this kernel is the same object).
std::optional<std::string> own_vdso_image() {
  auto base = getauxval(AT_SYSINFO_EHDR);
  if (!base) return std::nullopt;
  auto maps = detail::read_whole_file("/proc/self/maps");
  if (!maps) return std::nullopt;
  std::string_view t = *maps;
  while (!t.empty()) {
    std::string_view line = detail::next_line(t);
    if (line.find("[vdso]") == std::string_view::npos) continue;
    std::uint64_t start = 0, end = 0;
    if (std::sscanf(std::string(line).c_str(), "%" SCNx64 "-%" SCNx64, &start, &end) != 2 ||
        start != base || end <= start)
      return std::nullopt;
    return std::string(reinterpret_cast<const char*>(base), end - start);
  }
  return std::nullopt;
}

std::string basename_of(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

struct Symbolizer::Impl {
  Options options;
  WarningSink* warnings;
  StringPool strings;
  std::vector<MappedObject> objects;
  std::map<std::tuple<std::string, std::uint32_t, std::uint32_t, std::uint64_t, std::string,
                      std::uint32_t>,
           std::uint32_t>
      object_ids;
  std::unordered_map<std::uint32_t, Process> processes;
  std::unordered_map<std::uint32_t, std::string_view> comms;  // by tid

  std::vector<Location> locations;
  // Location ids by key, open addressing over `locations` (whose entries hold the keys): every
  // frame of every sample is looked up here, and a node-based map's pointer chase per lookup
  // was a tenth of `profile symbolize`'s time.
  std::vector<std::uint32_t> location_slots;  // kNoLocation or an index into `locations`
  static constexpr std::uint32_t kNoLocation = ~std::uint32_t{0};
  std::size_t first_unresolved = 0;
  std::vector<FrameView> frames;

  std::vector<StoredSample> samples;
  std::vector<std::uint32_t> sample_locs;
  Summary summary;

  // Options::aggregate: the stored samples, by identity. Strings are interned, so comm and
  // event compare by address.
  struct SampleHash {
    const Impl* impl;
    std::size_t operator()(std::uint32_t i) const {
      const StoredSample& s = impl->samples[i];
      std::uint64_t h = reinterpret_cast<std::uintptr_t>(s.comm.data());
      auto mix = [&h](std::uint64_t v) { h = (h ^ v) * 0x100000001b3ull + (h >> 29); };
      mix(reinterpret_cast<std::uintptr_t>(s.event.data()));
      mix(static_cast<std::uint64_t>(s.pid));
      mix(static_cast<std::uint64_t>(s.tid));
      mix(static_cast<std::uint64_t>(static_cast<std::uint32_t>(s.cpu)));
      for (std::uint32_t k = 0; k < s.loc_count; ++k) mix(impl->sample_locs[s.first_loc + k]);
      return static_cast<std::size_t>(h ^ (h >> 32));
    }
  };
  struct SampleEq {
    const Impl* impl;
    bool operator()(std::uint32_t a, std::uint32_t b) const {
      const StoredSample& x = impl->samples[a];
      const StoredSample& y = impl->samples[b];
      if (x.comm.data() != y.comm.data() || x.event.data() != y.event.data() || x.pid != y.pid ||
          x.tid != y.tid || x.cpu != y.cpu || x.loc_count != y.loc_count)
        return false;
      auto locs = impl->sample_locs.begin();
      return std::equal(locs + x.first_loc, locs + x.first_loc + x.loc_count,
                        locs + y.first_loc);
    }
  };
  std::unordered_set<std::uint32_t, SampleHash, SampleEq> sample_index{
      0, SampleHash{this}, SampleEq{this}};

  std::optional<KallsymsTable> kallsyms;
  bool kallsyms_tried = false;
  // Reading /proc/kallsyms costs tens of milliseconds, mostly in the kernel formatting it; it
  // starts at the first kernel address, so it overlaps reading the rest of the capture.
  std::future<Result<KallsymsTable>> kallsyms_loading;
  std::uint64_t generation_counter = 0;
  // For unwinding: objects opened to learn their segments (bias), by object id.
  std::unordered_map<std::uint32_t, std::unique_ptr<Binary>> unwind_binaries;
  int vdso_fd = -2;  // memfd holding this machine's vdso for libdwfl; -1 when unavailable
  std::unordered_map<std::size_t, std::string_view> module_override;  // by location index
  detail::RecordedBuildIds recorded_build_ids;  // the capture's build-id table, by path

  void set_recorded_build_ids(const std::vector<perf::BuildIdEntry>& entries) {
    if (!recorded_build_ids.assign(entries)) return;
    for (auto& o : objects)  // checked before the table arrived (pipe mode): check again
      if (o.build_id.empty() && o.checked_path && o.mismatch.empty()) o.checked_path.reset();
  }

  // The path to read `o` from, after checking it against the build-id the capture recorded
  // for it (MMAP2's own, else the BUILD_ID table's). Feeding thread only.
  const std::string& checked_path(MappedObject& o) {
    if (!o.checked_path) {
      const std::string expected =
          o.build_id.empty() ? std::string(recorded_build_ids.find(o.name)) : o.build_id;
      if (o.kind != ObjectKind::kFile || expected.empty()) {
        o.checked_path = o.open_path;
      } else {
        auto v = detail::check_build_id(o.open_path, o.name, expected,
                                        detail::build_id_cache_dir(options.build_id_dir));
        o.checked_path = std::move(v.path);
        if (!v.warning.empty()) {
          warn("build-id-mismatch", v.warning);
          o.mismatch = std::move(v.warning);
        }
      }
    }
    return *o.checked_path;
  }

  ~Impl() {
    stop_prefetch();
    for (auto& o : objects)
      if (o.fd >= 0) ::close(o.fd);
    if (vdso_fd >= 0) ::close(vdso_fd);
  }

  // libdwfl reads modules from files; the vdso exists only in memory, so it gets a memfd.
  std::string vdso_path() {
    if (vdso_fd == -2) {
      vdso_fd = -1;
      if (auto image = own_vdso_image()) {
        int fd = memfd_create("prof-vdso", MFD_CLOEXEC);
        if (fd >= 0 && ::write(fd, image->data(), image->size()) ==
                           static_cast<ssize_t>(image->size()))
          vdso_fd = fd;
        else if (fd >= 0)
          ::close(fd);
      }
    }
    return vdso_fd >= 0 ? "/proc/self/fd/" + std::to_string(vdso_fd) : "";
  }

  // The address space of `pid` as it is now, frozen for unwinding later; one per generation.
  const std::shared_ptr<const AddressSpace>& snapshot_for(std::uint32_t pid) {
    Process& p = processes[pid];
    if (p.snapshot && p.snapshot->unwind.generation == p.generation) return p.snapshot;
    auto a = std::make_shared<AddressSpace>();
    a->pid = pid;
    a->unwind.generation = p.generation;
    a->maps.reserve(p.maps.size());
    // One module per (object, bias): the same file can be mapped twice (after an exec the old
    // image's maps stay until overwritten, and the new libc lands elsewhere).
    std::map<std::pair<std::uint32_t, std::uint64_t>, std::uint32_t> module_ids;
    // Only the segments are needed here (for the load bias): symbols are the resolver's.
    BinaryOptions bo{options.symfs, false, false, /*segments_only=*/true};
    for (const auto& [start, e] : p.maps) {
      a->maps.push_back(e);
      MappedObject& o = objects[e.object - kFirstMapped];
      if (o.kind != ObjectKind::kFile && o.kind != ObjectKind::kVdso) continue;
      // A file that is no longer the sampled object would unwind with the wrong CFI.
      std::string path = o.kind == ObjectKind::kVdso ? vdso_path() : checked_path(o);
      if (path.empty()) continue;
      auto& bin = unwind_binaries[e.object];
      if (!bin) {
        auto b = Binary::open(path, bo);
        if (!b) continue;
        bin = std::move(*b);
      }
      auto bias = bin->load_bias(e.start, e.pgoff);
      if (!bias) continue;
      auto [it, added] = module_ids.try_emplace(
          {e.object, *bias}, static_cast<std::uint32_t>(a->unwind.modules.size()));
      if (added) a->unwind.modules.push_back(detail::UnwindModule{o.name, path, *bias});
      a->unwind.ranges.push_back({e.start, e.end, it->second});
    }
    p.snapshot = std::move(a);
    return p.snapshot;
  }

  void warn(std::string_view kind, const std::string& msg) {
    if (warnings) warnings->warn(kind, msg);
  }

  std::uint32_t object_for(const perf::Mmap& m, ObjectKind kind, std::string name) {
    auto key = std::make_tuple(name, m.maj, m.min, m.ino, std::string(m.build_id.begin(),
                                                                      m.build_id.end()),
                               kind == ObjectKind::kPerfMap ? m.pid : 0u);
    auto it = object_ids.find(key);
    if (it != object_ids.end()) return it->second;
    MappedObject o;
    o.kind = kind;
    o.name = std::move(name);
    o.pid = m.pid;
    o.maj = m.maj;
    o.min = m.min;
    o.ino = m.ino;
    o.has_ino = m.is_mmap2 && !(m.misc & PERF_RECORD_MISC_MMAP_BUILD_ID);
    if (m.misc & PERF_RECORD_MISC_MMAP_BUILD_ID)
      o.build_id = detail::to_hex(m.build_id.data(), m.build_id.size());
    locate(o, m);
    auto id = static_cast<std::uint32_t>(objects.size() + kFirstMapped);
    objects.push_back(std::move(o));
    object_ids.emplace(std::move(key), id);
    return id;
  }

  // Decides where an object's bytes will be read from. While the process lives its own view of
  // the file system is authoritative (containers: /proc/PID/root; deleted or replaced files:
  // /proc/PID/map_files); we keep an fd so the answer survives the process.
  void locate(MappedObject& o, const perf::Mmap& m) {
    if (o.kind == ObjectKind::kPerfMap) {
      std::uint32_t nspid = o.pid;
      std::string root;
      if (options.use_proc && options.symfs.empty()) {
        if (auto ns = namespaced_pid(o.pid)) nspid = *ns;
        if (other_mount_namespace(o.pid)) root = "/proc/" + std::to_string(o.pid) + "/root";
      }
      o.open_path = (root.empty() ? options.symfs : root) + "/tmp/perf-" +
                    std::to_string(nspid) + ".map";
      return;
    }
    if (o.kind != ObjectKind::kFile) return;
    std::string path = o.name;
    constexpr std::string_view kDeleted = " (deleted)";
    bool deleted = path.size() > kDeleted.size() &&
                   path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0;
    if (deleted) path.resize(path.size() - kDeleted.size());
    o.open_path = options.symfs + path;
    if (!options.use_proc || !options.symfs.empty() || m.pid == 0 ||
        m.pid == static_cast<std::uint32_t>(-1))
      return;
    std::string proc = "/proc/" + std::to_string(m.pid);
    std::string candidate;
    if (deleted) {
      char range[64];
      std::snprintf(range, sizeof range, "/map_files/%" PRIx64 "-%" PRIx64, m.start,
                    m.start + m.len);
      candidate = proc + range;
    } else if (other_mount_namespace(m.pid)) {
      candidate = proc + "/root" + path;
    }
    if (candidate.empty()) return;
    int fd = ::open(candidate.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      o.fd = fd;
      o.open_path = "/proc/self/fd/" + std::to_string(fd);
    }
  }

  void add_mmap(const perf::Mmap& m) {
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
    tcache = {};  // a new process node, or maps changing under the cached entry
    auto& maps = processes[m.pid].maps;
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
    processes[m.pid].generation = ++generation_counter;
  }

  struct CommSlot {
    bool valid = false;
    std::uint32_t tid = 0;
    std::string_view comm;
  };
  static constexpr std::size_t kCommCacheSize = 64;
  std::array<CommSlot, kCommCacheSize> comm_cache{};
  void forget_comms() { comm_cache.fill(CommSlot{}); }

  void add_comm(const perf::Comm& c) {
    forget_comms();
    // An exec's new image arrives as MMAPs that replace what they overlap; the old maps are
    // not dropped at the COMM, because samples taken inside execve (after the COMM record) still
    // carry the old image's user stack. perf keeps them the same way.
    comms[c.tid] = strings.intern(c.comm);
  }

  void add_fork(const perf::Task& t) {
    forget_comms();
    if (auto it = comms.find(t.ptid); it != comms.end()) comms[t.tid] = it->second;
    if (t.pid == t.ppid) return;  // a new thread shares its process's maps
    auto parent = processes.find(t.ppid);
    Process child;
    if (parent != processes.end()) child.maps = parent->second.maps;
    child.generation = ++generation_counter;
    processes[t.pid] = std::move(child);
    tcache = {};
  }

  std::uint32_t intern_location(const LocationKey& key, std::uint64_t print_addr) {
    // Kept at most half full, so probes stay short and always end at an empty slot.
    if ((locations.size() + 1) * 2 > location_slots.size()) grow_location_slots();
    std::size_t mask = location_slots.size() - 1;
    for (std::size_t i = LocationKeyHash{}(key) & mask;; i = (i + 1) & mask) {
      std::uint32_t id = location_slots[i];
      if (id == kNoLocation) {
        id = static_cast<std::uint32_t>(locations.size());
        location_slots[i] = id;
        locations.push_back(Location{key, print_addr});
        if (key.object == kKernelObject) start_kallsyms();
        else if (key.object >= kFirstMapped) prefetch(key.object, key.unwound);
        return id;
      }
      if (locations[id].key == key) return id;
    }
  }

  void grow_location_slots() {
    std::vector<std::uint32_t> slots(std::max<std::size_t>(1024, location_slots.size() * 2),
                                     kNoLocation);
    std::size_t mask = slots.size() - 1;
    for (std::uint32_t id = 0; id < locations.size(); ++id) {
      std::size_t i = LocationKeyHash{}(locations[id].key) & mask;
      while (slots[i] != kNoLocation) i = (i + 1) & mask;
      slots[i] = id;
    }
    location_slots = std::move(slots);
  }

  void start_kallsyms() {
    if (kallsyms_loading.valid() || kallsyms_tried || options.kallsyms.empty()) return;
    try {
      kallsyms_loading = std::async(std::launch::async, [path = options.kallsyms] {
        return KallsymsTable::load(path);
      });
    } catch (const std::system_error&) {
      // No thread to spare: resolve_kernel loads it in line.
    }
  }

  static bool is_kernel_address(std::uint64_t addr) { return addr >= 0xffff800000000000ull; }

  using KeyedAddress = std::pair<LocationKey, std::uint64_t>;  // location, printed address

  // User address `ip` inside map entry `e`, which covers it.
  KeyedAddress user_key(const MapEntry& e, std::uint64_t ip, bool caller, bool unwound) const {
    const MappedObject& o = objects[e.object - kFirstMapped];
    if (o.kind == ObjectKind::kPerfMap || o.kind == ObjectKind::kSpecial)
      return {{e.object, false, false, ip}, ip};
    std::uint64_t off = ip - e.start + e.pgoff;
    return {{e.object, caller, unwound, off}, off};
  }

  // A user-mode address no map covers. perf also tries the kernel for these
  // (thread__find_map's kernel fallback), e.g. the first entry of a syscall's stack.
  static KeyedAddress unmapped_key(std::uint64_t ip) {
    if (!is_kernel_address(ip)) return {{kNoObject, false, false, ip}, ip};
    return {{kKernelObject, false, false, ip}, ip};
  }

  // Every user frame of every sample is looked up here; consecutive frames mostly share a
  // process and a mapping, so the last answer is checked first. Process nodes never move
  // (unordered_map) and are never erased; a mapping is reused only while its process's maps
  // keep their generation.
  std::string_view last_event;  // add_sample's last interned event name

  struct TranslateCache {
    std::uint32_t pid = 0;
    Process* process = nullptr;
    std::uint64_t generation = 0;
    const MapEntry* entry = nullptr;
  } tcache;

  // Points tcache at `pid`'s process (null when it has no maps yet). Process nodes never move
  // and are never erased, so a pid found once stays found: the last few are kept, since the
  // samples of a system-wide capture alternate between CPUs' processes.
  struct ProcessSlot {
    std::uint32_t pid = 0;
    Process* process = nullptr;
  };
  std::array<ProcessSlot, 64> process_cache{};

  void select_process(std::uint32_t pid) {
    if (tcache.process && tcache.pid == pid) return;
    ProcessSlot& slot = process_cache[pid & 63];
    Process* found = slot.process && slot.pid == pid ? slot.process : nullptr;
    if (!found) {
      auto p = processes.find(pid);
      if (p != processes.end()) {
        found = &p->second;
        slot = {pid, found};
      }
    }
    tcache = {pid, found, 0, nullptr};
  }

  std::uint32_t translate(std::uint32_t pid, std::uint64_t ip, bool kernel, bool caller) {
    if (!kernel) {
      select_process(pid);
      if (Process* proc = tcache.process) {
        const MapEntry* e = tcache.entry;
        if (!e || tcache.generation != proc->generation || ip < e->start || ip >= e->end) {
          e = nullptr;
          auto it = proc->maps.upper_bound(ip);
          if (it != proc->maps.begin() && ip < std::prev(it)->second.end) e = &std::prev(it)->second;
          if (e) {
            tcache.entry = e;
            tcache.generation = proc->generation;
          }
        }
        if (e) {
          auto [key, print] = user_key(*e, ip, caller, false);
          return intern_location(key, print);
        }
      }
      auto [key, print] = unmapped_key(ip);
      return intern_location(key, print);
    }
    return intern_location({kKernelObject, false, false, ip}, ip);
  }

  // An unwound pc against a snapshot: the same answer translate() gives for a user address.
  // Const and lock-free: unwinding workers call it while the feeding thread waits.
  KeyedAddress unwound_key(const AddressSpace& a, std::uint64_t pc) const {
    auto it = std::upper_bound(a.maps.begin(), a.maps.end(), pc,
                               [](std::uint64_t v, const MapEntry& e) { return v < e.start; });
    if (it != a.maps.begin() && pc < std::prev(it)->end)
      return user_key(*std::prev(it), pc, false, true);
    return unmapped_key(pc);
  }

  // ---- callchain cache ----
  // A CPU-bound capture repeats a few thousand stacks tens of thousands of times, and a
  // frame-pointer callchain's locations depend only on its addresses, the sample's starting
  // mode and its process's maps at the time (pid and maps generation; generations are unique
  // across processes, 0 meaning no maps). So each distinct chain is translated once and its
  // location ids copied after that.
  struct ChainEntry {
    std::uint64_t hash;
    std::uint64_t generation;
    std::uint32_t pid;
    bool kernel;   // the sample started in kernel mode
    bool corrupt;  // cut at a value that is no context marker (counted again on each hit)
    std::uint32_t chain_first, chain_len;  // in chain_words
    std::uint32_t locs_first, loc_count;   // in chain_locs
  };
  static constexpr std::size_t kChainWordsMax = std::size_t{1} << 22;  // 32 MB, then start over
  std::vector<ChainEntry> chain_entries;
  std::vector<std::uint32_t> chain_slots;  // open addressing: entry index + 1, 0 = empty
  std::vector<std::uint64_t> chain_words;
  std::vector<std::uint32_t> chain_locs;

  std::uint64_t maps_generation(std::uint32_t pid) {
    select_process(pid);
    return tcache.process ? tcache.process->generation : 0;
  }

  static std::uint64_t chain_hash(std::span<const std::uint64_t> chain, std::uint32_t pid,
                                  std::uint64_t generation, bool kernel) {
    std::uint64_t h = (generation * 0x9e3779b97f4a7c15ull) ^ (std::uint64_t{pid} << 1) ^ kernel;
    for (std::uint64_t w : chain) {
      h ^= w;
      h *= 0xff51afd7ed558ccdull;
      h ^= h >> 29;
    }
    return h ^ (h >> 32);
  }

  const ChainEntry* find_chain(std::span<const std::uint64_t> chain, std::uint32_t pid,
                               std::uint64_t generation, bool kernel, std::uint64_t hash) const {
    if (chain_slots.empty()) return nullptr;
    const std::size_t mask = chain_slots.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const std::uint32_t slot = chain_slots[i];
      if (slot == 0) return nullptr;
      const ChainEntry& e = chain_entries[slot - 1];
      if (e.hash == hash && e.pid == pid && e.generation == generation && e.kernel == kernel &&
          e.chain_len == chain.size() &&
          std::equal(chain.begin(), chain.end(), chain_words.begin() + e.chain_first))
        return &e;
    }
  }

  void remember_chain(std::span<const std::uint64_t> chain, std::uint32_t pid,
                      std::uint64_t generation, bool kernel, std::uint64_t hash,
                      std::span<const std::uint32_t> locs, bool corrupt) {
    if (chain_words.size() + chain.size() > kChainWordsMax) {
      chain_entries.clear();
      chain_slots.clear();
      chain_words.clear();
      chain_locs.clear();
    }
    if ((chain_entries.size() + 1) * 2 > chain_slots.size()) {
      chain_slots.assign(std::max<std::size_t>(1024, chain_slots.size() * 2), 0);
      const std::size_t mask = chain_slots.size() - 1;
      for (std::size_t k = 0; k < chain_entries.size(); ++k) {
        std::size_t i = chain_entries[k].hash & mask;
        while (chain_slots[i] != 0) i = (i + 1) & mask;
        chain_slots[i] = static_cast<std::uint32_t>(k + 1);
      }
    }
    ChainEntry e{hash, generation, pid, kernel, corrupt,
                 static_cast<std::uint32_t>(chain_words.size()),
                 static_cast<std::uint32_t>(chain.size()),
                 static_cast<std::uint32_t>(chain_locs.size()),
                 static_cast<std::uint32_t>(locs.size())};
    chain_words.insert(chain_words.end(), chain.begin(), chain.end());
    chain_locs.insert(chain_locs.end(), locs.begin(), locs.end());
    chain_entries.push_back(e);
    const std::size_t mask = chain_slots.size() - 1;
    std::size_t i = hash & mask;
    while (chain_slots[i] != 0) i = (i + 1) & mask;
    chain_slots[i] = static_cast<std::uint32_t>(chain_entries.size());
  }

  void add_sample(const perf::Sample& s, std::string_view event, std::uint64_t regs_mask,
                  bool stack_stays_valid) {
    StoredSample st;
    // Consecutive samples of one CPU mostly come from one thread: the last few answers are
    // kept (forgotten whenever a COMM or FORK changes the names).
    CommSlot& slot = comm_cache[s.tid & (kCommCacheSize - 1)];
    if (slot.valid && slot.tid == s.tid) {
      st.comm = slot.comm;
    } else {
      auto c = comms.find(s.tid);
      // perf names the idle task "swapper" without a COMM record (machine__init); others ":TID".
      st.comm = c != comms.end() ? c->second
                : s.tid == 0     ? strings.intern("swapper")
                                 : strings.intern(":" + std::to_string(s.tid));
      slot = {true, s.tid, st.comm};
    }
    // Consecutive samples mostly share their event: compare before hashing.
    if (last_event.data() == nullptr || event != last_event) last_event = strings.intern(event);
    st.event = last_event;
    st.pid = s.pid;
    st.tid = s.tid;
    st.cpu = (s.sample_type & PERF_SAMPLE_CPU) ? static_cast<std::int32_t>(s.cpu) : -1;
    st.time = s.time;
    st.period = s.period;
    std::uint32_t cpumode = s.misc & PERF_RECORD_MISC_CPUMODE_MASK;
    bool kernel = cpumode == PERF_RECORD_MISC_KERNEL || cpumode == PERF_RECORD_MISC_GUEST_KERNEL;
    std::size_t n = 0;
    UnwindJob job;
    const bool dwarf = options.unwind_dwarf && regs_mask &&
                       s.regs_user_abi != PERF_SAMPLE_REGS_ABI_NONE &&
                       detail::perf_regs_to_dwarf(regs_mask, s.regs_user, job.regs);
    // Samples wait for unwinding in batches; any sample behind a waiting one waits too, so
    // samples stay in the order they were added.
    const bool defer = dwarf || !pending.empty();
    std::vector<std::uint32_t>& locs = defer ? pending_locs : sample_locs;
    st.first_loc = static_cast<std::uint32_t>(locs.size());
    bool unwind = false;
    if (dwarf) {
      // --call-graph dwarf: the kernel part from the callchain, the user part unwound.
      for (std::uint64_t ip : s.callchain) {
        if (ip >= PERF_CONTEXT_MAX) {
          if (ip == PERF_CONTEXT_KERNEL) {
            kernel = true;
            continue;
          }
          break;
        }
        if (!kernel || n == options.max_stack) break;
        locs.push_back(translate(s.pid, ip, true, n > 0));
        ++n;
      }
      unwind = n < options.max_stack;
    } else if (!s.callchain.empty()) {
      const std::uint64_t generation = maps_generation(s.pid);
      const std::uint64_t hash = chain_hash(s.callchain, s.pid, generation, kernel);
      if (const ChainEntry* hit = find_chain(s.callchain, s.pid, generation, kernel, hash)) {
        locs.insert(locs.end(), chain_locs.begin() + hit->locs_first,
                    chain_locs.begin() + hit->locs_first + hit->loc_count);
        n = hit->loc_count;
        if (hit->corrupt) ++summary.corrupt_callchains;
      } else {
        const std::uint64_t corrupt_before = summary.corrupt_callchains;
        const bool kernel_first = kernel;
        for (std::uint64_t ip : s.callchain) {
          if (ip >= PERF_CONTEXT_MAX) {
            if (ip == PERF_CONTEXT_KERNEL || ip == PERF_CONTEXT_GUEST_KERNEL) {
              kernel = true;
            } else if (ip == PERF_CONTEXT_USER || ip == PERF_CONTEXT_GUEST_USER ||
                       ip == PERF_CONTEXT_HV || ip == PERF_CONTEXT_GUEST) {
              kernel = false;
            } else {
              // Not a marker the kernel writes: a frame-pointer walk through garbage (-1 is
              // common). perf discards the whole stack ("invalid callchain context"); we keep
              // the frames before it, which are sound, and count the sample.
              ++summary.corrupt_callchains;
              break;
            }
            continue;
          }
          if (n == options.max_stack) break;
          locs.push_back(translate(s.pid, ip, kernel, n > 0));
          ++n;
        }
        remember_chain(s.callchain, s.pid, generation, kernel_first, hash,
                       std::span(locs).subspan(st.first_loc, n),
                       summary.corrupt_callchains != corrupt_before);
      }
    } else {
      locs.push_back(translate(s.pid, s.ip, kernel, false));
      n = 1;
    }
    st.loc_count = static_cast<std::uint32_t>(n);
    ++summary.samples;
    if (!defer) {
      samples.push_back(st);
      if (options.aggregate) merge_last_sample();
      return;
    }
    std::int32_t job_index = -1;
    if (unwind) {
      const auto& space = snapshot_for(s.pid);
      if (batch_spaces.empty() || batch_spaces.back() != space) batch_spaces.push_back(space);
      job.space = space.get();
      job.tid = s.tid;
      job.stack_size = std::min<std::size_t>(s.stack_user.size(), s.stack_user_dyn_size);
      job.max_frames = options.max_stack - n;
      if (stack_stays_valid) {
        job.stack = s.stack_user.data();
        job.stack_offset = 0;
      } else {
        job.stack = nullptr;
        job.stack_offset = stack_arena.size();
        stack_arena.insert(stack_arena.end(), s.stack_user.begin(),
                           s.stack_user.begin() + static_cast<std::ptrdiff_t>(job.stack_size));
      }
      job_index = static_cast<std::int32_t>(unwind_jobs.size());
      unwind_jobs.push_back(std::move(job));
    }
    pending.push_back(PendingSample{st, job_index});
    if (unwind_jobs.size() >= kUnwindBatch || stack_arena.size() >= kUnwindBatchBytes) flush_unwinds();
  }

  // ---- deferred DWARF unwinding ----
  //
  // Unwinding is most of the cost of a --call-graph dwarf capture, and each sample's unwind
  // depends only on its registers, its stack copy and its address space's modules. So samples
  // are queued with a snapshot of their address space, and each batch is unwound on all
  // threads: workers claim chunks of samples in order, each with its own libdwfl handle per
  // process (libdw is not thread-safe; the handle and its CFI cache are reused while the
  // process's maps do not change). The feeding thread works too and then turns the results
  // into locations in sample order, so the output does not depend on the thread count.

  struct PendingSample {
    StoredSample st;          // first_loc/loc_count: its kernel frames, in pending_locs
    std::int32_t job = -1;    // index into unwind_jobs, -1 when nothing is to be unwound
  };
  struct UnwindWorker {
    std::unordered_map<std::uint32_t, std::unique_ptr<detail::ProcessUnwinder>> by_pid;
  };
  static constexpr std::size_t kUnwindBatch = 4096;             // samples
  static constexpr std::size_t kUnwindBatchBytes = 32u << 20;   // copied stack bytes
  static constexpr std::size_t kUnwindChunk = 16;               // samples claimed at once
  static constexpr std::size_t kUnwindMinPerThread = 64;        // below this, fewer threads
  std::vector<PendingSample> pending;
  std::vector<std::uint32_t> pending_locs;
  std::vector<UnwindJob> unwind_jobs;
  std::vector<std::shared_ptr<const AddressSpace>> batch_spaces;  // keep the unwind_jobs' snapshots
  std::vector<std::uint8_t> stack_arena;  // stack copies of samples whose bytes go away
  std::vector<UnwindWorker> unwind_workers;

  void run_job(UnwindWorker& w, UnwindJob& j) const {
    auto& u = w.by_pid[j.space->pid];
    if (!u)
      u = std::make_unique<detail::ProcessUnwinder>(j.space->pid, options.unwind_cached_rules);
    std::span<const std::uint8_t> stack(j.stack ? j.stack : stack_arena.data() + j.stack_offset,
                                        j.stack_size);
    auto r = u->unwind(j.space->unwind, j.tid, j.regs, stack, j.max_frames);
    j.frames.reserve(r.pcs.size());
    for (std::uint64_t pc : r.pcs) j.frames.push_back(unwound_key(*j.space, pc));
    j.stop_reason = std::move(r.stop_reason);
  }

  void run_unwind_batch() {
    std::size_t n = options.threads ? options.threads
                                    : std::max(1u, std::thread::hardware_concurrency());
    n = std::max<std::size_t>(1, std::min(n, unwind_jobs.size() / kUnwindMinPerThread));
    if (unwind_workers.size() < n) unwind_workers.resize(n);
    std::atomic<std::size_t> next{0};
    auto work = [&](UnwindWorker& w) {
      for (;;) {
        std::size_t b = next.fetch_add(kUnwindChunk);
        if (b >= unwind_jobs.size()) return;
        std::size_t e = std::min(b + kUnwindChunk, unwind_jobs.size());
        for (std::size_t i = b; i < e; ++i) run_job(w, unwind_jobs[i]);
      }
    };
    std::vector<std::thread> threads;
    for (std::size_t t = 1; t < n; ++t) {
      try {
        threads.emplace_back(work, std::ref(unwind_workers[t]));
      } catch (const std::system_error&) {
        break;  // no thread to spare: the others share the batch
      }
    }
    work(unwind_workers[0]);
    for (auto& t : threads) t.join();
  }

  void flush_unwinds() {
    if (pending.empty()) return;
    if (!unwind_jobs.empty()) run_unwind_batch();
    for (const PendingSample& ps : pending) {
      StoredSample st = ps.st;
      st.first_loc = static_cast<std::uint32_t>(sample_locs.size());
      auto kernel_begin = pending_locs.begin() + ps.st.first_loc;
      sample_locs.insert(sample_locs.end(), kernel_begin, kernel_begin + ps.st.loc_count);
      std::size_t n = ps.st.loc_count;
      if (ps.job >= 0) {
        const UnwindJob& j = unwind_jobs[static_cast<std::size_t>(ps.job)];
        ++summary.unwound_samples;
        for (const auto& [key, print] : j.frames) {
          if (n == options.max_stack) break;
          sample_locs.push_back(intern_location(key, print));
          ++n;
        }
        if (!j.stop_reason.empty()) {
          ++summary.unwind_early_stops;
          ++summary.unwind_stop_reasons[j.stop_reason];
          // A return address outside every module, or into code without CFI, is how most
          // stacks end (the outermost frames' are garbage or libc's start code); perf ends
          // there silently too. Anything else — a read past the stack copy, bad registers — is
          // an early stop the flame graph should show.
          if (n < options.max_stack && j.stop_reason != "no matching address range" &&
              j.stop_reason != "No DWARF information found") {
            sample_locs.push_back(intern_location({kNoObject, false, false, 0}, 0));
            ++n;
          }
        }
      }
      st.loc_count = static_cast<std::uint32_t>(n);
      samples.push_back(st);
      if (options.aggregate) merge_last_sample();
    }
    pending.clear();
    pending_locs.clear();
    unwind_jobs.clear();
    batch_spaces.clear();
    stack_arena.clear();
  }

  // Folds the sample just stored into an earlier identical one, if there is one.
  void merge_last_sample() {
    auto last = static_cast<std::uint32_t>(samples.size() - 1);
    auto [it, inserted] = sample_index.insert(last);
    if (inserted) return;
    // A period of 0 (no PERF_SAMPLE_PERIOD) weighs 1 when folded; the sum keeps that weight.
    auto weight = [](std::uint64_t p) { return p == 0 ? std::uint64_t{1} : p; };
    StoredSample& kept = samples[*it];
    std::uint64_t a = weight(kept.period), b = weight(samples.back().period);
    kept.period = a + b < a ? std::numeric_limits<std::uint64_t>::max() : a + b;
    ++kept.count;
    sample_locs.resize(samples.back().first_loc);
    samples.pop_back();
  }

  // ---- object prefetch ----
  //
  // Opening an object — its symbol table, and its DWARF when inline frames, source lines or
  // perf's naming of unwound frames need it (decompressing libc's debug info alone takes tens
  // of milliseconds) — does not depend on the samples. So each file object is opened on a
  // background thread as soon as a first location in it is seen, while records are still
  // being read; resolve() takes what is ready and opens the rest in parallel itself.

  struct OpenedObject {
    std::unique_ptr<Binary> bin;
    std::string failure;  // why it could not be opened; "" when it was
  };
  struct PrefetchItem {
    std::uint32_t object;
    std::string path;
    bool dwarf;
  };
  std::mutex prefetch_mu;
  std::condition_variable prefetch_cv;
  std::deque<PrefetchItem> prefetch_queue;
  std::unordered_map<std::uint32_t, OpenedObject> prefetched;  // guarded by prefetch_mu
  std::unordered_set<std::uint32_t> prefetch_requested;        // feeding thread only
  bool prefetch_busy = false, prefetch_stop = false, prefetch_failed = false;
  std::thread prefetch_thread;

  bool wants_dwarf(bool unwound) const {
    return options.inline_frames || options.srcline || unwound;
  }

  OpenedObject open_object(const std::string& path, bool dwarf) const {
    OpenedObject o;
    auto b = Binary::open(path, BinaryOptions{options.symfs, options.demangle,
                                              options.demangle_params});
    if (!b) {
      o.failure = b.error().message;
      return o;
    }
    o.bin = std::move(*b);
    if (dwarf) o.bin->has_dwarf();  // loads it
    return o;
  }

  void prefetch(std::uint32_t obj, bool unwound) {
    if (prefetch_failed || !prefetch_requested.insert(obj).second) return;
    const MappedObject& o = objects[obj - kFirstMapped];
    if (o.kind != ObjectKind::kFile) return;
    if (!prefetch_thread.joinable()) {
      try {
        prefetch_thread = std::thread([this] { prefetch_loop(); });
      } catch (const std::system_error&) {
        prefetch_failed = true;  // resolve() opens everything itself
        return;
      }
    }
    std::lock_guard lock(prefetch_mu);
    prefetch_queue.push_back(PrefetchItem{obj, o.open_path, wants_dwarf(unwound)});
    prefetch_cv.notify_all();
  }

  void prefetch_loop() {
    std::unique_lock lock(prefetch_mu);
    for (;;) {
      prefetch_cv.wait(lock, [&] { return prefetch_stop || !prefetch_queue.empty(); });
      if (prefetch_stop) return;
      PrefetchItem item = std::move(prefetch_queue.front());
      prefetch_queue.pop_front();
      prefetch_busy = true;
      lock.unlock();
      OpenedObject opened = open_object(item.path, item.dwarf);
      lock.lock();
      prefetched[item.object] = std::move(opened);
      prefetch_busy = false;
      prefetch_cv.notify_all();
    }
  }

  // What the prefetcher has opened; what it has not started is dropped (resolve opens those in
  // parallel). Waits for the object being opened now.
  std::unordered_map<std::uint32_t, OpenedObject> take_prefetched() {
    std::unique_lock lock(prefetch_mu);
    for (const auto& item : prefetch_queue) prefetch_requested.erase(item.object);
    prefetch_queue.clear();
    prefetch_cv.wait(lock, [&] { return !prefetch_busy; });
    return std::exchange(prefetched, {});
  }

  void stop_prefetch() {
    {
      std::lock_guard lock(prefetch_mu);
      prefetch_stop = true;
      prefetch_cv.notify_all();
    }
    if (prefetch_thread.joinable()) prefetch_thread.join();
  }

  // ---- resolution ----

  struct Resolved {
    std::vector<SymbolizedFrame> frames;
  };

  void resolve() {
    flush_unwinds();
    std::size_t begin = first_unresolved, end = locations.size();
    if (begin == end) return;
    std::vector<std::vector<SymbolizedFrame>> out(end - begin);
    // Group new locations by object.
    std::map<std::uint32_t, std::vector<std::size_t>> by_object;
    for (std::size_t i = begin; i < end; ++i) by_object[locations[i].key.object].push_back(i);

    std::vector<std::pair<std::uint32_t, std::vector<std::size_t>>> work;
    for (auto& [obj, locs] : by_object) {
      if (obj == kNoObject) {
        for (std::size_t i : locs) out[i - begin].push_back(SymbolizedFrame{});
      } else if (obj == kKernelObject) {
        resolve_kernel(locs, out, begin);
      } else {
        work.emplace_back(obj, std::move(locs));
      }
    }
    resolve_objects(work, out, begin);
    // Merge: intern strings, fill the frame pool.
    for (std::size_t i = begin; i < end; ++i) {
      Location& loc = locations[i];
      loc.first_frame = static_cast<std::uint32_t>(frames.size());
      auto mo = module_override.find(i);
      std::string_view module = mo != module_override.end() ? mo->second : module_of(loc.key.object);
      for (auto& f : out[i - begin]) {
        FrameView v;
        v.address = loc.print_addr;
        v.symbol = strings.intern(f.symbol);
        v.symbol_offset = f.offset;
        v.module = module;
        v.srcline = strings.intern(f.srcline);
        v.inlined = f.inlined;
        frames.push_back(v);
      }
      loc.frame_count = static_cast<std::uint32_t>(frames.size()) - loc.first_frame;
      loc.resolved = true;
    }
    summary.locations += end - begin;
    first_unresolved = end;
  }

  std::string_view module_of(std::uint32_t obj) {
    if (obj == kNoObject) return kUnknown;
    if (obj == kKernelObject) return kKernelModule;
    return strings.intern(objects[obj - kFirstMapped].name);
  }

  void resolve_kernel(const std::vector<std::size_t>& locs,
                      std::vector<std::vector<SymbolizedFrame>>& out, std::size_t begin) {
    if (!kallsyms_tried) {
      kallsyms_tried = true;
      if (!options.kallsyms.empty()) {
        auto t = kallsyms_loading.valid() ? kallsyms_loading.get()
                                          : KallsymsTable::load(options.kallsyms);
        if (t) kallsyms = std::move(*t);
        else warn("kallsyms", t.error().message);
      }
    }
    // A cached table vouches only for the kernel image and the modules it was made with; an
    // address elsewhere (a BPF program, a trampoline) may have come or gone since: read the
    // kernel's current table instead (once).
    if (kallsyms && kallsyms->from_cache() &&
        std::any_of(locs.begin(), locs.end(),
                    [&](std::size_t i) { return !kallsyms->trusted_at(locations[i].key.addr); }))
      if (auto fresh = KallsymsTable::load_fresh(options.kallsyms)) kallsyms = std::move(*fresh);
    for (std::size_t i : locs) {
      SymbolizedFrame f;
      std::uint64_t addr = locations[i].key.addr;
      if (kallsyms) {
        if (const KernelSymbol* s = kallsyms->find(addr)) {
          f.symbol = std::string(s->name);
          f.offset = addr - s->start;
          if (!s->module.empty()) module_override[i] = strings.intern("[" + std::string(s->module) + "]");
        } else if (addr < kallsyms->lowest() || addr >= kallsyms->highest_end()) {
          // Outside the kernel image and modules (BPF programs, trampolines, garbage): no
          // map covers it, and perf prints [unknown] for the module too.
          module_override[i] = kUnknown;
        }
      }
      out[i - begin].push_back(std::move(f));
    }
  }

  // One Binary per distinct file, resolved by one worker thread: libdw handles are never
  // shared between threads.
  void resolve_objects(std::vector<std::pair<std::uint32_t, std::vector<std::size_t>>>& work,
                       std::vector<std::vector<SymbolizedFrame>>& out, std::size_t begin) {
    // Objects naming the same file (same identity) share one Binary: group them first.
    std::map<std::string, std::vector<std::size_t>> groups;  // identity -> indexes into work
    for (std::size_t w = 0; w < work.size(); ++w) {
      MappedObject& o = objects[work[w].first - kFirstMapped];
      std::string id;
      struct stat st;
      if (o.kind == ObjectKind::kFile && ::stat(checked_path(o).c_str(), &st) == 0) {
        id = "f:" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
             std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + ":" +
             std::to_string(st.st_mtim.tv_nsec);
      } else {
        id = "o:" + std::to_string(work[w].first);
      }
      groups[id].push_back(w);
    }
    std::vector<std::vector<std::size_t>> jobs;
    for (auto& [id, ws] : groups) jobs.push_back(std::move(ws));
    summary.objects += jobs.size();
    // Objects the prefetcher opened already, by job (each worker takes only its own).
    auto ready = take_prefetched();
    std::vector<OpenedObject*> opened(jobs.size(), nullptr);
    for (std::size_t j = 0; j < jobs.size(); ++j)
      if (auto it = ready.find(work[jobs[j].front()].first); it != ready.end())
        opened[j] = &it->second;

    std::atomic<std::size_t> next{0};
    std::atomic<std::uint64_t> missing{0};
    std::mutex warn_mu;
    auto worker = [&] {
      LookupOptions lo{options.inline_frames, options.srcline, options.srcline_full_path, false};
      BinaryOptions bo{options.symfs, options.demangle, options.demangle_params};
      for (std::size_t j; (j = next.fetch_add(1)) < jobs.size();) {
        const MappedObject& first = objects[work[jobs[j].front()].first - kFirstMapped];
        std::unique_ptr<Binary> bin;
        std::optional<PerfMap> perf_map;
        std::string failure;
        if (first.kind == ObjectKind::kFile && first.checked_path->empty()) {
          // Not the recorded object, and no copy of that: [unknown], as warned in checked_path().
        } else if (first.kind == ObjectKind::kFile) {
          const std::string& path = *first.checked_path;
          OpenedObject o = opened[j] && path == first.open_path ? std::move(*opened[j])
                                                                : open_object(path, false);
          bin = std::move(o.bin);
          failure = std::move(o.failure);
        } else if (first.kind == ObjectKind::kVdso) {
          auto image = options.symfs.empty() ? own_vdso_image() : std::nullopt;
          if (image) {
            auto b = Binary::from_image(std::move(*image), "[vdso]", bo);
            if (b) bin = std::move(*b);
          }
        } else if (first.kind == ObjectKind::kPerfMap) {
          auto m = PerfMap::load(first.open_path);
          if (m) perf_map = std::move(*m);
        }
        if (!failure.empty()) {
          ++missing;
          std::lock_guard lock(warn_mu);
          warn("missing-object", failure + ": frames in it print as [unknown] (" + first.name + ")");
        }
        for (std::size_t w : jobs[j]) {
          for (std::size_t i : work[w].second) {
            auto& result = out[i - begin];
            const LocationKey& key = locations[i].key;
            if (bin) {
              auto elf = bin->file_offset_to_elf(key.addr);
              if (elf) {
                if (key.unwound) {
                  LookupOptions ulo = lo;
                  ulo.perf_dwarf_names = true;
                  bin->symbolize(*elf, ulo, result);
                } else {
                  bin->symbolize(*elf, lo, result);
                }
                // Return addresses: the call sits just before; DWARF answers for the call.
                if (key.caller && (lo.inline_frames || lo.srcline) && *elf > 0)
                  recheck_caller(*bin, *elf, lo, result);
              }
            } else if (perf_map) {
              if (const PerfMapSymbol* s = perf_map->find(key.addr)) {
                SymbolizedFrame f;
                f.symbol = options.demangle ? demangle(s->name, options.demangle_params) : s->name;
                f.offset = key.addr - s->start;
                result.push_back(std::move(f));
              }
            }
            if (result.empty()) result.push_back(SymbolizedFrame{});
          }
        }
      }
    };
    unsigned n = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    n = static_cast<unsigned>(std::min<std::size_t>(n, jobs.size()));
    if (n <= 1) {
      worker();
    } else {
      std::vector<std::thread> threads;
      for (unsigned t = 0; t < n; ++t) threads.emplace_back(worker);
      for (auto& t : threads) t.join();
    }
    summary.missing_objects += missing.load();
  }

  // For a return address the symbol is that of the address itself (as perf prints it), but the
  // inline chain and line are those of the call instruction, at address - 1.
  static void recheck_caller(Binary& bin, ElfAddr elf, const LookupOptions& lo,
                             std::vector<SymbolizedFrame>& result) {
    if (result.empty() || result.back().symbol.empty()) return;
    SymbolizedFrame base = result.back();
    std::vector<SymbolizedFrame> at_call;
    bin.symbolize(elf - 1, lo, at_call);
    if (at_call.empty() || at_call.back().symbol != base.symbol) return;
    for (auto& f : at_call) f.offset = base.offset;
    result = std::move(at_call);
  }
};

Symbolizer::Symbolizer(Options options, WarningSink* warnings) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->warnings = warnings;
}
Symbolizer::~Symbolizer() = default;

void Symbolizer::add_mmap(const perf::Mmap& m) { impl_->add_mmap(m); }
void Symbolizer::add_comm(const perf::Comm& c) { impl_->add_comm(c); }
void Symbolizer::add_fork(const perf::Task& t) { impl_->add_fork(t); }
void Symbolizer::add_exit(const perf::Task&) {
  // The maps stay: samples recorded just before EXIT are flushed after it, and a reused pid
  // arrives with a FORK that replaces them.
}
void Symbolizer::set_recorded_build_ids(const std::vector<perf::BuildIdEntry>& entries) {
  impl_->set_recorded_build_ids(entries);
}
void Symbolizer::add_lost(std::uint64_t lost) { impl_->summary.lost_samples += lost; }
void Symbolizer::add_bad_record() { ++impl_->summary.bad_records; }
void Symbolizer::add_sample(const perf::Sample& s, std::string_view event,
                            std::uint64_t sample_regs_user, bool stack_stays_valid) {
  impl_->add_sample(s, event, sample_regs_user, stack_stays_valid);
}
void Symbolizer::reserve(std::size_t samples, std::size_t frames) {
  if (impl_->options.aggregate) return;  // stores distinct stacks only: nothing to foresee
  impl_->samples.reserve(impl_->samples.size() + samples);
  impl_->sample_locs.reserve(impl_->sample_locs.size() + frames);
  huge_pages(impl_->samples.data(), impl_->samples.capacity() * sizeof(StoredSample));
  huge_pages(impl_->sample_locs.data(), impl_->sample_locs.capacity() * sizeof(std::uint32_t));
}
void Symbolizer::resolve() { impl_->resolve(); }
void Symbolizer::clear_samples() {
  impl_->flush_unwinds();  // their locations stay, like those of the samples dropped here
  impl_->sample_index.clear();
  impl_->samples.clear();
  impl_->sample_locs.clear();
}
std::size_t Symbolizer::stored_samples() const {
  impl_->flush_unwinds();
  return impl_->samples.size();
}

void Symbolizer::for_each_sample(const std::function<void(const StackSampleView&)>& visit) const {
  std::vector<FrameView> buf;
  for (const StoredSample& s : impl_->samples) {
    buf.clear();
    for (std::uint32_t i = 0; i < s.loc_count; ++i) {
      const Location& loc = impl_->locations[impl_->sample_locs[s.first_loc + i]];
      if (!loc.resolved) {
        FrameView v;
        v.address = loc.print_addr;
        buf.push_back(v);
        continue;
      }
      buf.insert(buf.end(), impl_->frames.begin() + loc.first_frame,
                 impl_->frames.begin() + loc.first_frame + loc.frame_count);
    }
    StackSampleView v;
    v.comm = s.comm;
    v.pid = s.pid;
    v.tid = s.tid;
    v.cpu = s.cpu;
    v.time_ns = s.time;
    v.period = s.period;
    v.event = s.event;
    v.frames = buf;
    visit(v);
  }
}

Summary Symbolizer::summary() const {
  impl_->flush_unwinds();
  Summary s = impl_->summary;
  // Frame counts follow what the samples print, inline expansion included.
  for (const StoredSample& st : impl_->samples) {
    for (std::uint32_t i = 0; i < st.loc_count; ++i) {
      const Location& loc = impl_->locations[impl_->sample_locs[st.first_loc + i]];
      if (!loc.resolved) continue;
      for (std::uint32_t f = 0; f < loc.frame_count; ++f) {
        const FrameView& v = impl_->frames[loc.first_frame + f];
        s.frames += st.count;
        if (loc.key.object == kKernelObject) s.kernel_frames += st.count;
        if (v.inlined) s.inlined_frames += st.count;
        if (v.symbol.empty()) {
          if (loc.key.object == kNoObject) s.unmapped_frames += st.count;
          else s.unresolved_frames += st.count;
        }
      }
    }
  }
  return s;
}

std::string default_event_name(const perf_event_attr& attr) {
  static constexpr std::string_view kHw[] = {"cycles", "instructions", "cache-references",
                                             "cache-misses", "branches", "branch-misses",
                                             "bus-cycles", "stalled-cycles-frontend",
                                             "stalled-cycles-backend", "ref-cycles"};
  static constexpr std::string_view kSw[] = {"cpu-clock", "task-clock", "page-faults",
                                             "context-switches", "cpu-migrations",
                                             "minor-faults", "major-faults",
                                             "alignment-faults", "emulation-faults", "dummy",
                                             "bpf-output", "cgroup-switches"};
  std::string name;
  if (attr.type == PERF_TYPE_HARDWARE && attr.config < std::size(kHw)) {
    name = kHw[attr.config];
  } else if (attr.type == PERF_TYPE_SOFTWARE && attr.config < std::size(kSw)) {
    name = kSw[attr.config];
  } else {
    char buf[64];
    std::snprintf(buf, sizeof buf, "raw-%u-0x%llx", attr.type,
                  static_cast<unsigned long long>(attr.config));
    name = buf;
  }
  // Modifiers as perf derives them from the attr (evsel__add_modifiers): privilege levels
  // counted, precise_ip as p's, then host/guest when they differ from the default.
  std::string mods;
  bool exclude_guest_default = false;
  if (attr.exclude_kernel || attr.exclude_user || attr.exclude_hv) {
    if (!attr.exclude_kernel) mods += 'k';
    if (!attr.exclude_user) mods += 'u';
    if (!attr.exclude_hv) mods += 'h';
    exclude_guest_default = true;
  }
  mods.append(std::min<unsigned>(attr.precise_ip, 3), 'p');
  if (attr.exclude_host || attr.exclude_guest != exclude_guest_default) {
    if (!attr.exclude_host) mods += 'H';
    if (!attr.exclude_guest) mods += 'G';
  }
  return mods.empty() ? name : name + ":" + mods;
}

namespace {

// The printf conversions perf script uses, without printf: formatting every sample's header and
// frames through vsnprintf was a tenth of `profile symbolize`'s time.

// "%*lx" (width <= 16).
void append_hex(std::string& out, std::uint64_t v, int width) {
  char buf[32];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  while (end - p < width) *--p = ' ';
  out.append(p, static_cast<std::size_t>(end - p));
}

enum class Pad { kLeftSpaces, kRightSpaces, kZeros };

// "%*d", "%-*d" and "%0*d" (width <= 20) written at `p`; returns the end. Needs width + 21
// bytes of room.
template <typename Int>
char* put_int(char* p, Int v, int width, Pad pad) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  auto len = static_cast<std::size_t>(r.ptr - buf);
  auto fill = static_cast<std::size_t>(std::max(0, width - static_cast<int>(len)));
  if (pad == Pad::kZeros && v < 0) {
    *p++ = '-';
    std::memset(p, '0', fill);
    std::memcpy(p + fill, buf + 1, len - 1);
    return p + fill + len - 1;
  }
  if (pad != Pad::kRightSpaces) {
    std::memset(p, pad == Pad::kZeros ? '0' : ' ', fill);
    p += fill;
  }
  std::memcpy(p, buf, len);
  p += len;
  if (pad == Pad::kRightSpaces) {
    std::memset(p, ' ', fill);
    p += fill;
  }
  return p;
}

}  // namespace

namespace {

// perf script's sample header (builtin-script.c perf_sample__fprintf_start) in three pieces,
// so that the pieces which repeat from sample to sample can be kept: "comm pid/tid [cpu] "
// (comm unpadded when a callchain follows, "%5d/%-5d", "[%03d]"), the time "%5lu.%06lu: ", and
// "%10lu event: \n" (period, event).
char* put_header_prefix(char* p, std::string_view comm, std::int64_t pid, std::int64_t tid,
                        std::int32_t cpu, const ScriptFormat& fmt) {
  std::memcpy(p, comm.data(), comm.size());
  p += comm.size();
  *p++ = ' ';
  if (fmt.pid) {
    p = put_int(p, pid, 5, Pad::kLeftSpaces);
    *p++ = '/';
    p = put_int(p, tid, 5, Pad::kRightSpaces);
  } else {
    p = put_int(p, tid, 5, Pad::kLeftSpaces);
  }
  *p++ = ' ';
  if (cpu >= 0) {
    *p++ = '[';
    p = put_int(p, cpu, 3, Pad::kZeros);
    *p++ = ']';
    *p++ = ' ';
  }
  return p;
}
constexpr std::size_t kHeaderPrefixRoom = 3 * 26 + 8;  // besides the comm

// The seconds change once a second: `secs` keeps the last ones formatted.
struct HeaderSeconds {
  std::uint64_t value = ~std::uint64_t{0};
  std::size_t len = 0;
  char text[32];
};

char* put_header_time(char* p, std::uint64_t time_ns, HeaderSeconds& secs) {
  const std::uint64_t s = time_ns / std::uint64_t{1000000000};
  if (s != secs.value) {
    secs.value = s;
    secs.len = static_cast<std::size_t>(put_int(secs.text, s, 5, Pad::kLeftSpaces) - secs.text);
  }
  std::memcpy(p, secs.text, secs.len);
  p += secs.len;
  *p++ = '.';
  std::uint64_t us = (time_ns % std::uint64_t{1000000000}) / 1000;
  for (int i = 5; i >= 0; --i, us /= 10) p[i] = static_cast<char>('0' + us % 10);
  p += 6;
  *p++ = ':';
  *p++ = ' ';
  return p;
}

char* put_header_time(char* p, std::uint64_t time_ns) {
  HeaderSeconds secs;
  return put_header_time(p, time_ns, secs);
}
constexpr std::size_t kHeaderTimeRoom = 26 + 10;

char* put_header_suffix(char* p, std::uint64_t period, std::string_view event) {
  p = put_int(p, period, 10, Pad::kLeftSpaces);
  *p++ = ' ';
  std::memcpy(p, event.data(), event.size());
  p += event.size();
  std::memcpy(p, ": \n", 3);
  return p + 3;
}
constexpr std::size_t kHeaderSuffixRoom = 26 + 4;  // besides the event

void append_script_header(std::string& out, std::string_view comm, std::int64_t pid,
                          std::int64_t tid, std::int32_t cpu, std::uint64_t time_ns,
                          std::uint64_t period, std::string_view event, const ScriptFormat& fmt) {
  const std::size_t at = out.size();
  out.resize(at + comm.size() + event.size() + kHeaderPrefixRoom + kHeaderTimeRoom +
             kHeaderSuffixRoom);
  char* p = out.data() + at;
  p = put_header_prefix(p, comm, pid, tid, cpu, fmt);
  p = put_header_time(p, time_ns);
  p = put_header_suffix(p, period, event);
  out.resize(static_cast<std::size_t>(p - out.data()));
}

void append_frame_line(std::string& out, const FrameView& f, const ScriptFormat& fmt) {
  out += '\t';
  append_hex(out, f.address, 16);
  out += ' ';
  if (f.symbol.empty()) {
    out += kUnknown;
  } else {
    out += f.symbol;
    out += "+0x";
    append_hex(out, f.symbol_offset, 0);
  }
  if (f.inlined) {
    out += " (inlined)";
  } else {
    out += " (";
    out += f.module.empty() ? kUnknown : f.module;
    out += ')';
  }
  if (fmt.srcline) {
    out += "\n  ";
    if (!f.srcline.empty()) {
      out += f.srcline;
    } else {
      out += basename_of(f.module.empty() ? kUnknown : f.module);
      out += '[';
      append_hex(out, f.address, 0);
      out += ']';
    }
  }
  out += '\n';
}

}  // namespace

void append_perf_script(std::string& out, const StackSampleView& s, const ScriptFormat& fmt) {
  append_script_header(out, s.comm, s.pid, s.tid, s.cpu, s.time_ns, s.period, s.event, fmt);
  for (const FrameView& f : s.frames) append_frame_line(out, f, fmt);
  out += '\n';
}

bool Symbolizer::write_perf_script(const ScriptFormat& fmt,
                                   const std::function<bool(std::string_view)>& sink) const {
  const Impl& im = *impl_;
  // Every sample prints its locations' lines, and a capture has far fewer distinct locations
  // than frames: format each location once.
  std::string loc_text;
  std::vector<std::size_t> loc_at(im.locations.size() + 1);
  for (std::size_t i = 0; i < im.locations.size(); ++i) {
    loc_at[i] = loc_text.size();
    const Location& loc = im.locations[i];
    if (!loc.resolved) {
      FrameView v;
      v.address = loc.print_addr;
      append_frame_line(loc_text, v, fmt);
      continue;
    }
    for (std::uint32_t f = 0; f < loc.frame_count; ++f)
      append_frame_line(loc_text, im.frames[loc.first_frame + f], fmt);
  }
  loc_at.back() = loc_text.size();
  // A chunk's text, written through a raw pointer: a sample is a header and a few location
  // texts, and per-piece std::string appends were most of the formatting time.
  // Buffers start at 4 MB (a chunk's text is ~1-2 MB), 2 MB-aligned with huge pages asked
  // for: a handful of page faults per buffer instead of hundreds, and no regrowth copy.
  struct FreeAligned {
    void operator()(char* p) const { std::free(p); }
  };
  struct Chunk {
    std::unique_ptr<char[], FreeAligned> data;
    std::size_t cap = 0, len = 0;
    char* room(std::size_t n) {  // at least n bytes free at the end
      if (cap - len < n) {
        constexpr std::size_t kHuge = std::size_t{2} << 20;
        std::size_t want = std::max({cap * 2, len + n, 2 * kHuge});
        want = (want + kHuge - 1) & ~(kHuge - 1);
        char* bigger = static_cast<char*>(std::aligned_alloc(kHuge, want));
        if (!bigger) throw std::bad_alloc();
        huge_pages(bigger, want);
        if (len) std::memcpy(bigger, data.get(), len);
        data.reset(bigger);
        cap = want;
      }
      return data.get() + len;
    }
    std::string_view text() const { return {data.get(), len}; }
  };
  auto format = [&](std::size_t begin, std::size_t end, Chunk& out) {
    out.len = 0;
    // Samples repeat their thread and CPU (a system-wide capture interleaves a few of them),
    // and their period and event: those header pieces are kept, the "comm pid/tid [cpu] "
    // of the last few threads by tid and CPU, and formatted again only when they change.
    struct Prefix {
      const StoredSample* of = nullptr;  // the sample it was made for
      std::size_t len = 0;
      char text[128];
    };
    std::array<Prefix, 16> prefixes;
    char suffix[512];
    std::size_t suffix_len = 0;
    HeaderSeconds seconds;
    const StoredSample* last = nullptr;
    for (std::size_t i = begin; i < end; ++i) {
      const StoredSample& s = im.samples[i];
      Prefix& pre = prefixes[(static_cast<std::size_t>(s.tid) * 7 + static_cast<std::size_t>(s.cpu)) & 15];
      if (!pre.of || s.comm.data() != pre.of->comm.data() || s.comm.size() != pre.of->comm.size() ||
          s.pid != pre.of->pid || s.tid != pre.of->tid || s.cpu != pre.of->cpu) {
        pre.of = &s;
        pre.len = 0;
        if (s.comm.size() + kHeaderPrefixRoom <= sizeof pre.text)
          pre.len = static_cast<std::size_t>(
              put_header_prefix(pre.text, s.comm, s.pid, s.tid, s.cpu, fmt) - pre.text);
      }
      const std::size_t prefix_len = pre.len;
      const char* prefix = pre.text;
      if (!last || s.period != last->period || s.event.data() != last->event.data() ||
          s.event.size() != last->event.size()) {
        suffix_len = 0;
        if (s.event.size() + kHeaderSuffixRoom <= sizeof suffix)
          suffix_len =
              static_cast<std::size_t>(put_header_suffix(suffix, s.period, s.event) - suffix);
      }
      last = &s;
      char* p = out.room(s.comm.size() + s.event.size() + kHeaderPrefixRoom + kHeaderTimeRoom +
                         kHeaderSuffixRoom);
      if (prefix_len) {
        std::memcpy(p, prefix, prefix_len);
        p += prefix_len;
      } else {
        p = put_header_prefix(p, s.comm, s.pid, s.tid, s.cpu, fmt);
      }
      p = put_header_time(p, s.time, seconds);
      if (suffix_len) {
        std::memcpy(p, suffix, suffix_len);
        p += suffix_len;
      } else {
        p = put_header_suffix(p, s.period, s.event);
      }
      out.len = static_cast<std::size_t>(p - out.data.get());
      for (std::uint32_t k = 0; k < s.loc_count; ++k) {
        const std::uint32_t id = im.sample_locs[s.first_loc + k];
        const std::size_t n = loc_at[id + 1] - loc_at[id];
        std::memcpy(out.room(n), loc_text.data() + loc_at[id], n);
        out.len += n;
      }
      *out.room(1) = '\n';
      ++out.len;
    }
  };
  // Chunks of samples are formatted on helper threads while this thread hands finished ones
  // to the sink in order (writing 25 MB to a file is a third of the time formatting takes, and
  // overlaps it), formatting itself when the next chunk is not ready. A chunk's buffer is
  // reused once it has been written: at most `slots` chunks are ahead of the sink.
  constexpr std::size_t kChunk = 2048;
  const std::size_t total = im.samples.size();
  const std::size_t chunks = (total + kChunk - 1) / kChunk;
  std::size_t threads = im.options.threads ? im.options.threads
                                           : std::max(1u, std::thread::hardware_concurrency());
  threads = std::max<std::size_t>(1, std::min(threads, chunks));
  auto chunk_range = [&](std::size_t c) {
    return std::pair{c * kChunk, std::min(total, (c + 1) * kChunk)};
  };
  // One thread alone formats a chunk, writes it, and reuses its one buffer.
  const std::size_t slots = threads == 1 ? 1 : 2 * threads;
  std::vector<Chunk> bufs(slots);
  std::vector<char> done(chunks, 0);
  std::mutex m;
  std::condition_variable changed;
  std::size_t next = 0;     // the next chunk to claim
  std::size_t written = 0;  // chunks handed to the sink
  bool stop = false;
  // Claims and formats one chunk if one may be claimed; the lock is held on entry and exit.
  auto format_one = [&](std::unique_lock<std::mutex>& lock) {
    if (stop || next >= chunks || next >= written + slots) return false;
    const std::size_t c = next++;
    lock.unlock();
    auto [b, e] = chunk_range(c);
    format(b, e, bufs[c % slots]);
    lock.lock();
    done[c] = 1;
    changed.notify_all();
    return true;
  };
  auto helper = [&] {
    std::unique_lock lock(m);
    for (;;) {
      if (stop || next >= chunks) return;
      if (!format_one(lock)) changed.wait(lock);
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back(helper);
    } catch (const std::system_error&) {
      break;  // this thread formats what no helper takes
    }
  }
  bool ok = true;
  {
    std::unique_lock lock(m);
    for (std::size_t c = 0; c < chunks && ok; ++c) {
      while (!done[c])
        if (!format_one(lock)) changed.wait(lock);
      lock.unlock();
      ok = sink(bufs[c % slots].text());
      lock.lock();
      written = c + 1;
      if (!ok) stop = true;
      changed.notify_all();
    }
    stop = true;
    changed.notify_all();
  }
  for (auto& h : helpers) h.join();
  return ok;
}

void write_perf_script(std::ostream& out, const StackSampleView& sample, const ScriptFormat& fmt) {
  std::string text;
  append_perf_script(text, sample, fmt);
  out << text;
}

}  // namespace prof::symbolizer

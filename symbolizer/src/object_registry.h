// ObjectRegistry: the address spaces of the captured processes and the objects mapped in them.
//
// Pipeline position: inside the symbolizer, fed MMAP/MMAP2, COMM and FORK records in time order.
// It keeps one map per process (start -> MapEntry), gives every distinct mapped object an id
// (MappedObject: where its bytes are read from, decided when the map is added, and checked
// against the build-id the capture recorded), names threads, and answers "what was at this
// address in this process now" — as a LocationKey — for the callchain translator, and the same
// question against a frozen snapshot for the DWARF unwinders.
//
//   ObjectRegistry reg(options, &warnings);
//   reg.add_mmap(mmap);
//   auto [key, print] = reg.translate_user(pid, ip, /*caller=*/false);
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "build_id_check.h"
#include "prof/common/perf_data.h"
#include "prof/common/unique_fd.h"
#include "prof/common/warnings.h"
#include "prof/symbolizer/binary.h"
#include "prof/symbolizer/symbolizer.h"
#include "target_arch.h"
#include "unwinder.h"

namespace prof::symbolizer::detail {

inline constexpr std::string_view kUnknown = "[unknown]";
inline constexpr std::string_view kKernelModule = "[kernel.kallsyms]";

// What a runtime address was mapped to when it was sampled.
enum class ObjectKind : std::uint8_t { kFile, kVdso, kPerfMap, kSpecial };

struct MappedObject {
  ObjectKind kind = ObjectKind::kFile;
  std::string name;       // as recorded (what perf prints as the module)
  std::uint32_t pid = 0;  // the process it was first seen in (for /proc lookups)
  std::string open_path;  // path to open, decided when the map was added
  UniqueFd fd;            // kept open for files of live processes in other namespaces
  std::uint32_t maj = 0, min = 0;
  std::uint64_t ino = 0;
  bool has_ino = false;
  std::string build_id;  // from MMAP2 with PERF_RECORD_MISC_MMAP_BUILD_ID
  // Where its bytes are read from once checked against the recorded build-id (checked_path()):
  // open_path, a copy in perf's build-id cache, or "" when the file is no longer the object.
  std::optional<std::string> checked_path;
  std::string mismatch;  // the warning for checked_path "" (given once)
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
  UnwindSpace unwind;          // the modules libdwfl may be given, where they are mapped, and
                               // the maps generation this snapshot is of
};

struct Process {
  std::map<std::uint64_t, MapEntry> maps;        // keyed by start; non-overlapping
  std::uint64_t generation = 0;                  // changes whenever maps change (new snapshot)
  std::shared_ptr<const AddressSpace> snapshot;  // of `maps` at snapshot->unwind.generation
};

// A location is what is resolved once: object 0 = unmapped, 1 = kernel, else MappedObject+2.
inline constexpr std::uint32_t kNoObject = 0;
inline constexpr std::uint32_t kKernelObject = 1;
inline constexpr std::uint32_t kFirstMapped = 2;

struct LocationKey {
  std::uint32_t object;
  bool caller;           // a return address: DWARF questions use address - 1
  bool unwound = false;  // from the DWARF unwinder: named as perf names unwound frames
  std::uint64_t addr;    // file offset for files, runtime address otherwise
  bool operator==(const LocationKey&) const = default;
};

using KeyedAddress = std::pair<LocationKey, std::uint64_t>;  // location, printed address

// Live captures are of this machine's architecture; the kernel's half of the address space is
// where the architecture's table says it starts.
inline bool is_kernel_address(std::uint64_t addr, TargetArch arch = host_arch()) {
  return arch_info(arch).is_kernel_address(addr);
}

// A user-mode address no map covers. perf also tries the kernel for these
// (thread__find_map's kernel fallback), e.g. the first entry of a syscall's stack.
inline KeyedAddress unmapped_key(std::uint64_t ip) {
  if (!is_kernel_address(ip)) return {{kNoObject, false, false, ip}, ip};
  return {{kKernelObject, false, false, ip}, ip};
}

// This machine's vdso as an ELF image (perf dumps its own the same way: the vdso of a capture
// on this kernel is the same object).
std::optional<std::string> own_vdso_image();

class ObjectRegistry {
 public:
  ObjectRegistry(const Options& options, WarningSink* warnings)
      : options_(options), warnings_(warnings) {}
  ObjectRegistry(const ObjectRegistry&) = delete;
  ObjectRegistry& operator=(const ObjectRegistry&) = delete;

  void set_recorded_build_ids(const std::vector<perf::BuildIdEntry>& entries);
  void add_mmap(const perf::Mmap& m);
  // A new process starts with a copy of its parent's maps.
  void add_fork(const perf::Task& t);
  // Drops `pid`'s maps (it has exited and its samples are stored): long captures of many
  // short processes keep only the living ones'. A reused pid starts again with its FORK.
  void forget_process(std::uint32_t pid);

  // The object of id `obj` (>= kFirstMapped).
  MappedObject& object(std::uint32_t obj) { return objects_[obj - kFirstMapped]; }
  const MappedObject& object(std::uint32_t obj) const { return objects_[obj - kFirstMapped]; }
  std::size_t object_count() const { return objects_.size(); }

  // The path to read `o` from, after checking it against the build-id the capture recorded
  // for it (MMAP2's own, else the BUILD_ID table's). Feeding thread only.
  const std::string& checked_path(MappedObject& o);

  // User address `ip` of process `pid` as it is mapped now. Consecutive frames mostly share a
  // process and a mapping, so the last answer is checked first.
  KeyedAddress translate_user(std::uint32_t pid, std::uint64_t ip, bool caller);
  // The generation of `pid`'s maps (0: no maps): generations are unique across processes.
  std::uint64_t maps_generation(std::uint32_t pid) {
    select_process(pid);
    return tcache_.process ? tcache_.process->generation : 0;
  }
  // An unwound pc against a snapshot: the answer translate_user() gives for a user address.
  // Const and lock-free: unwinding workers call it while the feeding thread waits.
  KeyedAddress unwound_key(const AddressSpace& a, std::uint64_t pc) const;
  // The address space of `pid` as it is now, frozen for unwinding later; one per generation.
  const std::shared_ptr<const AddressSpace>& snapshot_for(std::uint32_t pid);

 private:
  std::uint32_t object_for(const perf::Mmap& m, ObjectKind kind, std::string name);
  void locate(MappedObject& o, const perf::Mmap& m);
  std::string vdso_path();
  KeyedAddress user_key(const MapEntry& e, std::uint64_t ip, bool caller, bool unwound) const;
  void select_process(std::uint32_t pid);
  void warn(std::string_view kind, const std::string& msg) {
    if (warnings_) warnings_->warn(kind, msg);
  }

  const Options& options_;
  WarningSink* warnings_;
  std::vector<MappedObject> objects_;
  std::map<std::tuple<std::string, std::uint32_t, std::uint32_t, std::uint64_t, std::string,
                      std::uint32_t>,
           std::uint32_t>
      object_ids_;
  std::unordered_map<std::uint32_t, Process> processes_;
  std::uint64_t generation_counter_ = 0;
  RecordedBuildIds recorded_build_ids_;  // the capture's build-id table, by path
  // For unwinding: objects opened to learn their segments (bias), by object id.
  std::unordered_map<std::uint32_t, std::unique_ptr<Binary>> unwind_binaries_;
  std::optional<UniqueFd> vdso_fd_;  // memfd holding this machine's vdso for libdwfl

  // Process nodes never move (unordered_map); forget_process() clears both caches below when
  // it erases one. A mapping is reused only while its process's maps keep their generation.
  struct TranslateCache {
    std::uint32_t pid = 0;
    Process* process = nullptr;
    std::uint64_t generation = 0;
    const MapEntry* entry = nullptr;
  } tcache_;
  // The last few processes found, since the samples of a system-wide capture alternate
  // between CPUs' processes.
  struct ProcessSlot {
    std::uint32_t pid = 0;
    Process* process = nullptr;
  };
  std::array<ProcessSlot, 64> process_cache_{};
};

// Thread names by tid, as perf names them.
class CommTable {
 public:
  // Names are the caller's ids (the profile's strings).
  void set(std::uint32_t tid, std::uint32_t name) {
    forget();
    comms_[tid] = name;
  }
  void inherit(std::uint32_t tid, std::uint32_t parent) {
    forget();
    if (auto it = comms_.find(parent); it != comms_.end()) comms_[tid] = it->second;
  }
  // The name of `tid`, or ~0u when it has none (the caller names it).
  std::uint32_t find(std::uint32_t tid) {
    // Consecutive samples of one CPU mostly come from one thread: the last few answers are
    // kept (forgotten whenever a COMM or FORK changes the names).
    Slot& slot = cache_[tid & (kCacheSize - 1)];
    if (slot.valid && slot.tid == tid) return slot.name;
    auto c = comms_.find(tid);
    if (c == comms_.end()) return kNone;
    remember(tid, c->second);
    return c->second;
  }
  void erase(std::uint32_t tid) {
    forget();
    comms_.erase(tid);
  }
  void remember(std::uint32_t tid, std::uint32_t name) {
    cache_[tid & (kCacheSize - 1)] = {true, tid, name};
  }
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};

 private:
  void forget() { cache_.fill(Slot{}); }
  struct Slot {
    bool valid = false;
    std::uint32_t tid = 0;
    std::uint32_t name = 0;
  };
  static constexpr std::size_t kCacheSize = 64;
  std::array<Slot, kCacheSize> cache_{};
  std::unordered_map<std::uint32_t, std::uint32_t> comms_;
};

}  // namespace prof::symbolizer::detail

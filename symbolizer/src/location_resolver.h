// LocationTable and LocationResolver: the distinct locations of a capture, and their names.
//
// Pipeline position: inside the symbolizer. Every frame of every sample becomes a LocationKey
// (object, address) interned in the LocationTable, so a location seen a million times is one
// entry. The LocationResolver turns a batch of keys into frames — the inline chain of each,
// innermost first, and the module it prints — in parallel over objects (one libdw handle per
// object and thread: libdw is not thread-safe), as blazesym's and LLVM Symbolize's batch APIs
// do. Objects are opened ahead, on a background thread, as soon as a first location in them is
// seen (prefetch), and kallsyms is read the same way at the first kernel location.
//
//   LocationResolver resolver(options, &warnings, registry);
//   resolver.prefetch(key);                       // while records are still being read
//   auto frames = resolver.resolve(keys, &pool);  // one ResolvedLocation per key
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "object_registry.h"
#include "prof/common/flat_index.h"
#include "prof/common/thread_pool.h"
#include "prof/symbolizer/binary.h"
#include "prof/symbolizer/kallsyms.h"

namespace prof::symbolizer::detail {

struct LocationKeyHash {
  // Mixed down to the low bits: the location table indexes with a power-of-two mask.
  std::size_t operator()(const LocationKey& k) const {
    std::uint64_t h = k.addr ^ (std::uint64_t{k.object} << 40) ^ (std::uint64_t{k.caller} << 63) ^
                      (std::uint64_t{k.unwound} << 62);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return static_cast<std::size_t>(h ^ (h >> 31));
  }
};

// Location ids by key, dense in the order first seen, indexed by a FlatIndex: every frame of
// every sample is looked up here, and a node-based map's pointer chase per lookup was a tenth of
// `profile symbolize`'s time.
class LocationTable {
 public:
  struct Entry {
    LocationKey key;
    std::uint64_t print_addr;  // what perf prints in the address column
  };

  // The id of `key`; `added` tells whether it is new.
  std::uint32_t intern(const LocationKey& key, std::uint64_t print_addr, bool& added) {
    const std::uint64_t h = FlatIndex::tag(LocationKeyHash{}(key));
    if (const auto* id = index_.find(h, [&](std::uint32_t v) { return entries_[v].key == key; })) {
      added = false;
      return *id;
    }
    const auto id = static_cast<std::uint32_t>(entries_.size());
    entries_.push_back(Entry{key, print_addr});
    index_.insert(h, id);
    added = true;
    return id;
  }
  std::size_t size() const { return entries_.size(); }
  const Entry& operator[](std::size_t id) const { return entries_[id]; }

 private:
  std::vector<Entry> entries_;
  FlatIndex index_;  // ids of entries_ by key hash
};

// One location's names: at least one frame ("" symbol = unresolved), and its module as printed.
struct ResolvedLocation {
  std::vector<SymbolizedFrame> frames;
  // Points into the registry's object names or the resolver's kernel module names: valid, and
  // the same pointer for the same module, until objects are added or the resolver goes.
  std::string_view module;
  std::string build_id;  // of the file the frames were read from (lower-case hex), or ""
};

struct ResolveCounts {
  std::uint64_t objects = 0;          // distinct objects opened
  std::uint64_t missing_objects = 0;  // of those, ones that could not be opened
};

class LocationResolver {
 public:
  LocationResolver(const Options& options, WarningSink* warnings, ObjectRegistry& registry);
  ~LocationResolver();
  LocationResolver(const LocationResolver&) = delete;
  LocationResolver& operator=(const LocationResolver&) = delete;

  // A location seen for the first time: starts reading what resolving it will need (kallsyms,
  // the object's symbols and DWARF) in the background. Feeding thread only.
  void prefetch(const LocationKey& key);

  // Names `keys`, one ResolvedLocation each, in order; objects are resolved in parallel on
  // `pool` (null: on this thread). Counts what was opened into `counts`.
  std::vector<ResolvedLocation> resolve(std::span<const LocationKey> keys, ThreadPool* pool,
                                        ResolveCounts& counts);

 private:
  struct OpenedObject {
    std::unique_ptr<Binary> bin;
    std::string failure;  // why it could not be opened; "" when it was
  };
  struct PrefetchItem {
    std::uint32_t object;
    std::string path;
    bool dwarf;
  };
  using Work = std::vector<std::pair<std::uint32_t, std::vector<std::size_t>>>;

  ThreadPool* background();
  void start_kallsyms();
  bool wants_dwarf(bool unwound) const {
    return options_.inline_frames || options_.srcline || unwound;
  }
  OpenedObject open_object(const std::string& path, bool dwarf) const;
  void drain_prefetch();
  std::unordered_map<std::uint32_t, OpenedObject> take_prefetched();
  void resolve_kernel(std::span<const LocationKey> keys, const std::vector<std::size_t>& locs,
                      std::vector<ResolvedLocation>& out);
  void resolve_objects(std::span<const LocationKey> keys, Work& work,
                       std::vector<ResolvedLocation>& out, ThreadPool* pool, ResolveCounts& counts);
  void resolve_job(std::span<const LocationKey> keys, const Work& work,
                   const std::vector<std::size_t>& job, const std::string& identity,
                   OpenedObject* opened, std::vector<ResolvedLocation>& out, std::uint64_t& missing,
                   std::mutex& warn_mu);
  // Options::kept_objects: opened objects by file identity, most recently used last.
  std::unique_ptr<Binary> take_kept(const std::string& identity);
  void keep(const std::string& identity, std::unique_ptr<Binary> bin);
  std::mutex kept_mu_;
  std::vector<std::pair<std::string, std::unique_ptr<Binary>>> kept_;
  void warn(std::string_view kind, const std::string& msg) {
    if (warnings_) warnings_->warn(kind, msg);
  }

  const Options& options_;
  WarningSink* warnings_;
  ObjectRegistry& registry_;

  std::optional<KallsymsTable> kallsyms_;
  std::set<std::string, std::less<>> kernel_modules_;  // "[module]" names, stable storage
  bool kallsyms_tried_ = false;
  // Reading /proc/kallsyms costs tens of milliseconds, mostly in the kernel formatting it; it
  // starts at the first kernel address, so it overlaps reading the rest of the capture.
  std::future<Result<KallsymsTable>> kallsyms_loading_;

  std::mutex prefetch_mu_;
  std::condition_variable prefetch_cv_;
  std::deque<PrefetchItem> prefetch_queue_;                     // guarded by prefetch_mu_
  std::unordered_map<std::uint32_t, OpenedObject> prefetched_;  // guarded by prefetch_mu_
  bool prefetch_busy_ = false;                                  // guarded by prefetch_mu_
  std::unordered_set<std::uint32_t> prefetch_requested_;        // feeding thread only
  bool prefetch_failed_ = false;
  // Declared last, destroyed first: its tasks use the members above.
  std::unique_ptr<ThreadPool> background_;  // kallsyms and prefetch: two threads
};

}  // namespace prof::symbolizer::detail

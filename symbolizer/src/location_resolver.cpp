#include "location_resolver.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "prof/symbolizer/demangle.h"
#include "prof/symbolizer/perf_map.h"

namespace prof::symbolizer::detail {

LocationResolver::LocationResolver(const Options& options, WarningSink* warnings,
                                   ObjectRegistry& registry)
    : options_(options), warnings_(warnings), registry_(registry) {}

LocationResolver::~LocationResolver() {
  // What the prefetcher has not started is dropped; the pool then finishes the object being
  // opened and joins.
  std::lock_guard lock(prefetch_mu_);
  prefetch_queue_.clear();
}

ThreadPool* LocationResolver::background() {
  if (!background_) background_ = std::make_unique<ThreadPool>(2, warnings_);
  return background_->size() ? background_.get() : nullptr;
}

void LocationResolver::start_kallsyms() {
  if (kallsyms_loading_.valid() || kallsyms_tried_ || options_.kallsyms.empty()) return;
  // No thread to spare: resolve_kernel loads it in line.
  if (ThreadPool* pool = background())
    kallsyms_loading_ =
        pool->async([path = options_.kallsyms] { return KallsymsTable::load(path); });
}

// ---- object prefetch ----
//
// Opening an object — its symbol table, and its DWARF when inline frames, source lines or
// perf's naming of unwound frames need it (decompressing libc's debug info alone takes tens
// of milliseconds) — does not depend on the samples. So each file object is opened in the
// background, one at a time, as soon as a first location in it is seen, while records are still
// being read; resolve() takes what is ready and opens the rest in parallel itself.

void LocationResolver::prefetch(const LocationKey& key) {
  if (key.object == kKernelObject) return start_kallsyms();
  if (key.object < kFirstMapped) return;
  if (prefetch_failed_ || !prefetch_requested_.insert(key.object).second) return;
  const MappedObject& o = registry_.object(key.object);
  if (o.kind != ObjectKind::kFile) return;
  ThreadPool* pool = background();
  if (!pool) {
    prefetch_failed_ = true;  // resolve() opens everything itself
    return;
  }
  std::lock_guard lock(prefetch_mu_);
  prefetch_queue_.push_back(PrefetchItem{key.object, o.open_path, wants_dwarf(key.unwound)});
  if (!prefetch_busy_) {
    prefetch_busy_ = true;
    pool->submit([this] { drain_prefetch(); });
  }
}

void LocationResolver::drain_prefetch() {
  std::unique_lock lock(prefetch_mu_);
  while (!prefetch_queue_.empty()) {
    PrefetchItem item = std::move(prefetch_queue_.front());
    prefetch_queue_.pop_front();
    lock.unlock();
    OpenedObject opened = open_object(item.path, item.dwarf);
    lock.lock();
    prefetched_[item.object] = std::move(opened);
  }
  prefetch_busy_ = false;
  prefetch_cv_.notify_all();
}

// What the prefetcher has opened; what it has not started is dropped (resolve opens those in
// parallel). Waits for the object being opened now.
std::unordered_map<std::uint32_t, LocationResolver::OpenedObject>
LocationResolver::take_prefetched() {
  std::unique_lock lock(prefetch_mu_);
  for (const auto& item : prefetch_queue_) prefetch_requested_.erase(item.object);
  prefetch_queue_.clear();
  prefetch_cv_.wait(lock, [&] { return !prefetch_busy_; });
  return std::exchange(prefetched_, {});
}

LocationResolver::OpenedObject LocationResolver::open_object(const std::string& path,
                                                             bool dwarf) const {
  OpenedObject o;
  auto b = Binary::open(path,
                        BinaryOptions{options_.symfs, options_.demangle, options_.demangle_params});
  if (!b) {
    o.failure = b.error().message;
    return o;
  }
  o.bin = std::move(*b);
  if (dwarf) o.bin->has_dwarf();  // loads it
  return o;
}

// ---- resolution ----

std::vector<ResolvedLocation> LocationResolver::resolve(std::span<const LocationKey> keys,
                                                        ThreadPool* pool, ResolveCounts& counts) {
  std::vector<ResolvedLocation> out(keys.size());
  // Group the locations by object.
  std::map<std::uint32_t, std::vector<std::size_t>> by_object;
  for (std::size_t i = 0; i < keys.size(); ++i) by_object[keys[i].object].push_back(i);
  Work work;
  for (auto& [obj, locs] : by_object) {
    if (obj == kNoObject) {
      for (std::size_t i : locs) {
        out[i].frames.emplace_back();
        out[i].module = kUnknown;
      }
    } else if (obj == kKernelObject) {
      resolve_kernel(keys, locs, out);
    } else {
      for (std::size_t i : locs) out[i].module = registry_.object(obj).name;
      work.emplace_back(obj, std::move(locs));
    }
  }
  resolve_objects(keys, work, out, pool, counts);
  return out;
}

void LocationResolver::resolve_kernel(std::span<const LocationKey> keys,
                                      const std::vector<std::size_t>& locs,
                                      std::vector<ResolvedLocation>& out) {
  if (!kallsyms_tried_) {
    kallsyms_tried_ = true;
    if (!options_.kallsyms.empty()) {
      auto t = kallsyms_loading_.valid() ? kallsyms_loading_.get()
                                         : KallsymsTable::load(options_.kallsyms);
      if (t) kallsyms_ = std::move(*t);
      else warn("kallsyms", t.error().message);
    }
  }
  // A cached table vouches only for the kernel image and the modules it was made with; an
  // address elsewhere (a BPF program, a trampoline) may have come or gone since: read the
  // kernel's current table instead (once).
  if (kallsyms_ && kallsyms_->from_cache() &&
      std::any_of(locs.begin(), locs.end(),
                  [&](std::size_t i) { return !kallsyms_->trusted_at(keys[i].addr); }))
    if (auto fresh = KallsymsTable::load_fresh(options_.kallsyms)) kallsyms_ = std::move(*fresh);
  for (std::size_t i : locs) {
    SymbolizedFrame f;
    std::uint64_t addr = keys[i].addr;
    out[i].module = kKernelModule;
    if (kallsyms_) {
      if (const KernelSymbol* s = kallsyms_->find(addr)) {
        f.symbol = std::string(s->name);
        f.offset = addr - s->start;
        if (!s->module.empty())
          out[i].module = *kernel_modules_.insert("[" + std::string(s->module) + "]").first;
      } else if (addr < kallsyms_->lowest() || addr >= kallsyms_->highest_end()) {
        // Outside the kernel image and modules (BPF programs, trampolines, garbage): no
        // map covers it, and perf prints [unknown] for the module too.
        out[i].module = kUnknown;
      }
    }
    out[i].frames.push_back(std::move(f));
  }
}

namespace {

// For a return address the symbol is that of the address itself (as perf prints it), but the
// inline chain and line are those of the call instruction, at address - 1.
void recheck_caller(Binary& bin, ElfAddr elf, const LookupOptions& lo,
                    std::vector<SymbolizedFrame>& result) {
  if (result.empty() || result.back().symbol.empty()) return;
  SymbolizedFrame base = result.back();
  std::vector<SymbolizedFrame> at_call;
  bin.symbolize(elf - 1, lo, at_call);
  if (at_call.empty() || at_call.back().symbol != base.symbol) return;
  for (auto& f : at_call) f.offset = base.offset;
  result = std::move(at_call);
}

}  // namespace

// One Binary per distinct file, resolved by one thread: libdw handles are never shared
// between threads.
void LocationResolver::resolve_objects(std::span<const LocationKey> keys, Work& work,
                                       std::vector<ResolvedLocation>& out, ThreadPool* pool,
                                       ResolveCounts& counts) {
  // Objects naming the same file (same identity) share one Binary: group them first.
  std::map<std::string, std::vector<std::size_t>> groups;  // identity -> indexes into work
  for (std::size_t w = 0; w < work.size(); ++w) {
    MappedObject& o = registry_.object(work[w].first);
    std::string id;
    struct stat st;
    if (o.kind == ObjectKind::kFile && ::stat(registry_.checked_path(o).c_str(), &st) == 0) {
      id = "f:" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
           std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + ":" +
           std::to_string(st.st_mtim.tv_nsec);
    } else {
      id = "o:" + std::to_string(work[w].first);
    }
    groups[id].push_back(w);
  }
  std::vector<std::vector<std::size_t>> jobs;
  std::vector<std::string> identities;
  for (auto& [id, ws] : groups) {
    jobs.push_back(std::move(ws));
    identities.push_back(id);
  }
  counts.objects += jobs.size();
  // Objects the prefetcher opened already, by job (each job takes only its own).
  auto ready = take_prefetched();
  std::vector<OpenedObject*> opened(jobs.size(), nullptr);
  for (std::size_t j = 0; j < jobs.size(); ++j)
    if (auto it = ready.find(work[jobs[j].front()].first); it != ready.end())
      opened[j] = &it->second;

  std::vector<std::uint64_t> missing(jobs.size(), 0);
  std::mutex warn_mu;
  auto run = [&](std::size_t j) {
    resolve_job(keys, work, jobs[j], identities[j], opened[j], out, missing[j], warn_mu);
  };
  if (pool && jobs.size() > 1) {
    pool->parallel_for(jobs.size(), run);
  } else {
    for (std::size_t j = 0; j < jobs.size(); ++j) run(j);
  }
  for (std::uint64_t m : missing) counts.missing_objects += m;
}

std::unique_ptr<Binary> LocationResolver::take_kept(const std::string& identity) {
  if (options_.kept_objects == 0 || identity.rfind("f:", 0) != 0) return nullptr;
  std::lock_guard lock(kept_mu_);
  for (auto it = kept_.begin(); it != kept_.end(); ++it) {
    if (it->first != identity) continue;
    std::unique_ptr<Binary> bin = std::move(it->second);
    kept_.erase(it);
    return bin;
  }
  return nullptr;
}

void LocationResolver::keep(const std::string& identity, std::unique_ptr<Binary> bin) {
  if (options_.kept_objects == 0 || !bin || identity.rfind("f:", 0) != 0) return;
  std::lock_guard lock(kept_mu_);
  kept_.emplace_back(identity, std::move(bin));
  if (kept_.size() > options_.kept_objects) kept_.erase(kept_.begin());
}

void LocationResolver::resolve_job(std::span<const LocationKey> keys, const Work& work,
                                   const std::vector<std::size_t>& job, const std::string& identity,
                                   OpenedObject* opened, std::vector<ResolvedLocation>& out,
                                   std::uint64_t& missing, std::mutex& warn_mu) {
  const LookupOptions lo{options_.inline_frames, options_.srcline, options_.srcline_full_path,
                         false};
  const BinaryOptions bo{options_.symfs, options_.demangle, options_.demangle_params};
  const MappedObject& first = registry_.object(work[job.front()].first);
  std::unique_ptr<Binary> bin;
  std::optional<PerfMap> perf_map;
  std::string failure;
  if (first.kind == ObjectKind::kFile && first.checked_path->empty()) {
    // Not the recorded object, and no copy of that: [unknown], as warned in checked_path().
  } else if (first.kind == ObjectKind::kFile) {
    const std::string& path = *first.checked_path;
    bin = take_kept(identity);  // (a prefetched copy, if any, is then simply dropped)
    if (!bin) {
      OpenedObject o =
          opened && path == first.open_path ? std::move(*opened) : open_object(path, false);
      bin = std::move(o.bin);
      failure = std::move(o.failure);
    }
  } else if (first.kind == ObjectKind::kVdso) {
    auto image = options_.symfs.empty() ? own_vdso_image() : std::nullopt;
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
  for (std::size_t w : job) {
    for (std::size_t i : work[w].second) {
      auto& result = out[i].frames;
      const LocationKey& key = keys[i];
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
          f.symbol = options_.demangle ? demangle(s->name, options_.demangle_params) : s->name;
          f.offset = key.addr - s->start;
          result.push_back(std::move(f));
        }
      }
      if (result.empty()) result.push_back(SymbolizedFrame{});
      if (bin) out[i].build_id = bin->build_id();
    }
  }
  if (first.kind == ObjectKind::kFile) keep(identity, std::move(bin));
}

}  // namespace prof::symbolizer::detail

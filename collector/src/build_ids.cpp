#include "prof/collector/build_ids.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "prof/collector/proc_snapshot.h"
#include "prof/common/record_decoder.h"
#include "prof/common/unique_fd.h"
#include "sys.h"

namespace prof::collector {
namespace {

struct HitObject {
  std::string name;  // the path as the MMAP record gave it
  std::vector<std::uint8_t> build_id;
  bool hit = false;
  bool looked = false;  // build-id taken from the record or read (or tried)
  UniqueFd file;        // the file the build-id was read from, when kept (keep_files)
};

// Files kept open for the build-id cache at most: each holds a descriptor until the end of the
// capture, and a system-wide capture may hit thousands of objects. Beyond this many (or a
// quarter of RLIMIT_NOFILE, so that the capture's own opens never run short), the cache copies
// from the path and keeps only a file whose build-id still matches.
constexpr std::size_t kMaxKeptFiles = 1024;

std::size_t kept_files_limit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return kMaxKeptFiles;
  return std::min<std::size_t>(kMaxKeptFiles, static_cast<std::size_t>(rl.rlim_cur / 4));
}

struct ExecMap {
  std::uint64_t end = 0;
  std::uint32_t object = 0;
};

}  // namespace

struct BuildIdRecorder::Impl {
  // The live capture's attrs, from start().
  std::optional<perf::RecordDecoder> decoder;
  perf::Sample sample;  // reused decoding buffer
  std::vector<HitObject> objects;
  std::unordered_map<std::string, std::uint32_t> object_ids;  // by name
  // Executable file maps per pid, by start. Overlaps are not trimmed: a stale entry can only
  // mark an object that really was mapped there.
  std::unordered_map<std::uint32_t, std::map<std::uint64_t, ExecMap>> maps;
  std::unordered_set<std::uint32_t> unwound_pids;  // samples with a user stack copy
  bool kernel_hit = false;
  bool keep_files = false;
  std::size_t kept_files = 0, max_kept_files = 0;  // the limit, taken at the first file kept
  // The last map hit: a callchain's frames mostly fall in the object of the frame before.
  std::uint32_t last_pid = 0;
  std::uint64_t last_start = 0, last_end = 0;

  void add_mmap(const perf::Mmap& m) {
    if ((m.misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_KERNEL ||
        m.pid == static_cast<std::uint32_t>(-1) || m.len == 0)
      return;
    if (m.is_mmap2 && m.prot != 0 && !(m.prot & PROT_EXEC)) return;
    // Files only: "//anon", "[vdso]", "[heap]" have no build-id to record.
    if (m.filename.size() < 2 || m.filename[0] != '/' || m.filename[1] == '/') return;
    auto [it, added] =
        object_ids.try_emplace(m.filename, static_cast<std::uint32_t>(objects.size()));
    if (added) objects.push_back(HitObject{m.filename, {}, false, false, {}});
    HitObject& o = objects[it->second];
    if (!o.looked && (m.misc & PERF_RECORD_MISC_MMAP_BUILD_ID) && !m.build_id.empty() &&
        m.build_id.size() <= 20) {
      o.build_id = m.build_id;
      o.looked = true;
    }
    maps[m.pid][m.start] = ExecMap{m.start + m.len, it->second};
    if (m.pid == last_pid) last_end = 0;
  }

  void add_fork(const perf::Task& t) {
    if (t.pid == t.ppid) return;  // a thread shares its process's maps
    auto parent = maps.find(t.ppid);
    if (parent == maps.end()) return;
    auto copy = parent->second;
    maps[t.pid] = std::move(copy);
    if (t.pid == last_pid) last_end = 0;
  }

  void mark(std::uint32_t pid, std::uint64_t addr) {
    if (pid == last_pid && addr >= last_start && addr < last_end) return;  // marked already
    auto p = maps.find(pid);
    if (p == maps.end()) return;
    auto it = p->second.upper_bound(addr);
    if (it == p->second.begin()) return;
    --it;
    if (addr >= it->second.end) return;
    last_pid = pid;
    last_start = it->first;
    last_end = it->second.end;
    HitObject& o = objects[it->second.object];
    o.hit = true;
    if (!o.looked) read_build_id(o, pid, it->first, it->second.end);
  }

  // Once per object, at its first hit: the build-id of the very file mapped, through
  // /proc/PID/map_files while the process lives, else by path. With keep_files the file stays
  // open, so that the build-id cache later copies that file even if the path was replaced.
  void read_build_id(HitObject& o, std::uint32_t pid, std::uint64_t start, std::uint64_t end) {
    o.looked = true;
    char range[96];
    std::snprintf(range, sizeof range, "/proc/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64, pid,
                  start, end);
    for (const char* path : {static_cast<const char*>(range), o.name.c_str()}) {
      UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
      if (!fd.valid()) continue;
      auto id = read_elf_build_id(fd.get());
      if (!id) continue;
      o.build_id = std::move(*id);
      if (keep_files && kept_files == 0) max_kept_files = kept_files_limit();
      if (keep_files && kept_files < max_kept_files) {
        o.file = std::move(fd);
        ++kept_files;
      }
      return;
    }
  }

  // Samples with a user stack copy hit objects only found by unwinding later: all of their
  // process's executable maps count as hit (idempotent).
  void mark_unwound() {
    for (std::uint32_t pid : unwound_pids) {
      auto p = maps.find(pid);
      if (p == maps.end()) continue;
      for (const auto& [start, m] : p->second) {
        HitObject& o = objects[m.object];
        o.hit = true;
        if (!o.looked) read_build_id(o, pid, start, m.end);
      }
    }
  }

  void add_sample(const perf::Record& r) {
    if (!decoder->parse_sample(r, sample)) return;
    const std::uint32_t pid = sample.pid;
    if (!sample.stack_user.empty()) unwound_pids.insert(pid);
    bool user = (sample.misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_USER;
    if (sample.callchain.empty()) {
      if (user) mark(pid, sample.ip);
      else kernel_hit = true;
      return;
    }
    for (std::uint64_t a : sample.callchain) {
      if (a >= PERF_CONTEXT_MAX) {
        user = a == PERF_CONTEXT_USER;
        if (a == PERF_CONTEXT_KERNEL) kernel_hit = true;
        continue;
      }
      if (user) mark(pid, a);
    }
  }
};

BuildIdRecorder::BuildIdRecorder() : impl_(std::make_unique<Impl>()) {}
BuildIdRecorder::~BuildIdRecorder() = default;

Result<void> BuildIdRecorder::start(const std::vector<perf::EventAttr>& attrs) {
  impl_->decoder.emplace(attrs);
  return ok();
}

void BuildIdRecorder::observe(std::span<const std::uint8_t> record) {
  auto r = perf::record_of(record);
  if (!impl_->decoder || !r) return;
  switch (r->type) {
    case PERF_RECORD_SAMPLE: impl_->add_sample(*r); break;
    case PERF_RECORD_MMAP:
    case PERF_RECORD_MMAP2:
      if (auto m = impl_->decoder->parse_mmap(*r)) impl_->add_mmap(*m);
      break;
    case PERF_RECORD_FORK:
      if (auto t = impl_->decoder->parse_task(*r)) impl_->add_fork(*t);
      break;
    default: break;
  }
}

void BuildIdRecorder::keep_files(bool keep) { impl_->keep_files = keep; }

std::vector<BuildIdRecorder::HitFile> BuildIdRecorder::hit_files() {
  impl_->mark_unwound();
  std::vector<HitFile> out;
  for (const HitObject& o : impl_->objects)
    if (o.hit && !o.build_id.empty()) out.push_back(HitFile{o.name, o.build_id, o.file.get()});
  return out;
}

std::vector<perf::BuildIdEntry> BuildIdRecorder::entries() {
  Impl& im = *impl_;
  im.mark_unwound();
  std::vector<perf::BuildIdEntry> out;
  if (im.kernel_hit) {
    auto notes = sys::read_small_file("/sys/kernel/notes");
    const auto* bytes = notes ? reinterpret_cast<const std::uint8_t*>(notes->data()) : nullptr;
    if (auto id = notes ? build_id_in_notes({bytes, notes->size()}) : std::nullopt) {
      perf::BuildIdEntry e;
      e.cpumode = PERF_RECORD_MISC_KERNEL;
      e.build_id = std::move(*id);
      e.filename = "[kernel.kallsyms]";
      out.push_back(std::move(e));
    }
  }
  for (const HitObject& o : im.objects) {
    if (!o.hit || o.build_id.empty()) continue;
    perf::BuildIdEntry e;
    e.build_id = o.build_id;
    e.filename = o.name;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace prof::collector

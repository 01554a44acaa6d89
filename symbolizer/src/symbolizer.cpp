// The Symbolizer facade: wires the parts (see symbolizer.h) and builds the profile.
#include "prof/symbolizer/symbolizer.h"

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <unordered_map>

#include "callchain_translator.h"
#include "huge_pages.h"
#include "location_resolver.h"
#include "object_registry.h"
#include "perf_script_printer.h"
#include "prof/common/thread_pool.h"
#include "unwind_batcher.h"
#include "unwinder.h"

namespace prof::symbolizer {

using detail::CallchainTranslator;

struct Symbolizer::Impl {
  Impl(Options opts, WarningSink* sink)
      : options(std::move(opts)),
        warnings(sink),
        profile(Profile::Options{.merge_samples = options.aggregate}),
        registry(options, warnings),
        resolver(options, warnings, registry),
        translator(options, registry, locations, resolver),
        unwinder(options, registry) {
    const unsigned n = resolve_thread_count(options.threads);
    // The calling thread works too: n threads in all.
    if (n > 1) pool = std::make_unique<ThreadPool>(n - 1, warnings);
  }

  void add_sample(const perf::Sample& s, std::string_view event, std::uint64_t regs_mask,
                  bool stack_stays_valid);
  void store(Sample st, std::span<const std::uint32_t> locs) {
    st.stack = profile.intern_stack(locs);
    profile.add_sample(st);
  }
  void flush() {
    unwinder.flush(
        pool.get(), translator, summary,
        [this](const Sample& st, std::span<const std::uint32_t> locs) { store(st, locs); });
  }
  void resolve();
  StringId comm_of(std::uint32_t tid) {
    StringId id = comms.find(tid);
    if (id != detail::CommTable::kNone) return id;
    // perf names the idle task "swapper" without a COMM record (machine__init); others ":TID".
    id = profile.intern(tid == 0 ? std::string("swapper") : ":" + std::to_string(tid));
    comms.remember(tid, id);
    return id;
  }

  Options options;
  WarningSink* warnings;
  Profile profile;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> exited;  // (pid, tid) since forget_exited
  Summary summary;
  detail::ObjectRegistry registry;
  detail::CommTable comms;
  detail::LocationTable locations;
  detail::LocationResolver resolver;
  CallchainTranslator translator;
  detail::UnwindBatcher unwinder;
  std::string_view last_event;  // add_sample's last event name, and its id
  StringId last_event_id = 0;
  // Resolver, unwinding and formatting threads. Declared last, destroyed first.
  std::unique_ptr<ThreadPool> pool;
};

void Symbolizer::Impl::add_sample(const perf::Sample& s, std::string_view event,
                                  std::uint64_t regs_mask, bool stack_stays_valid) {
  Sample st;
  st.comm = comm_of(s.tid);
  // Consecutive samples mostly share their event: compare before hashing.
  if (last_event.data() == nullptr || event != last_event) {
    last_event_id = profile.intern(event);
    last_event = profile.str(last_event_id);
  }
  st.event = last_event_id;
  st.pid = s.pid;
  st.tid = s.tid;
  st.cpu = (s.sample_type & PERF_SAMPLE_CPU) ? static_cast<std::int32_t>(s.cpu) : -1;
  st.time_ns = s.time;
  st.period = s.period;
  ++summary.samples;
  const std::uint32_t cpumode = s.misc & PERF_RECORD_MISC_CPUMODE_MASK;
  bool kernel = cpumode == PERF_RECORD_MISC_KERNEL || cpumode == PERF_RECORD_MISC_GUEST_KERNEL;
  std::uint64_t regs[17];
  const bool dwarf = options.unwind_dwarf && regs_mask &&
                     s.regs_user_abi != PERF_SAMPLE_REGS_ABI_NONE &&
                     detail::perf_regs_to_dwarf(regs_mask, s.regs_user, regs);
  // Samples wait for unwinding in batches; any sample behind a waiting one waits too, so
  // samples stay in the order they were added.
  const bool defer = dwarf || !unwinder.empty();
  std::vector<std::uint32_t>& queued = unwinder.locations();
  const auto first = static_cast<std::uint32_t>(queued.size());
  if (dwarf) {
    // --call-graph dwarf: the kernel part from the callchain, the user part unwound.
    std::size_t n = 0;
    for (std::uint64_t ip : s.callchain) {
      if (ip >= PERF_CONTEXT_MAX) {
        if (ip == PERF_CONTEXT_KERNEL) {
          kernel = true;
          continue;
        }
        break;
      }
      if (!kernel || n == options.max_stack) break;
      queued.push_back(translator.location(s.pid, ip, true, n > 0));
      ++n;
    }
    detail::UnwindRequest req;
    req.pid = s.pid;
    req.tid = s.tid;
    req.regs = &regs;
    req.stack =
        s.stack_user.first(std::min<std::size_t>(s.stack_user.size(), s.stack_user_dyn_size));
    req.stack_stays_valid = stack_stays_valid;
    req.max_frames = options.max_stack - n;
    unwinder.add(st, first, static_cast<std::uint32_t>(n), n < options.max_stack ? &req : nullptr);
  } else if (!s.callchain.empty()) {
    auto chain = translator.translate_chain(s.callchain, s.pid, kernel);
    if (chain.corrupt) ++summary.corrupt_callchains;
    if (!defer) {
      // The same chain makes the same stack: interned once.
      if (*chain.stack == CallchainTranslator::kNoStack)
        *chain.stack = profile.intern_stack(chain.locations);
      st.stack = *chain.stack;
      profile.add_sample(st);
      return;
    }
    queued.insert(queued.end(), chain.locations.begin(), chain.locations.end());
    unwinder.add(st, first, static_cast<std::uint32_t>(chain.locations.size()), nullptr);
  } else {
    const std::uint32_t loc = translator.location(s.pid, s.ip, kernel, false);
    if (!defer) return store(st, std::span(&loc, 1));
    queued.push_back(loc);
    unwinder.add(st, first, 1, nullptr);
  }
  if (unwinder.full()) flush();
}

void Symbolizer::Impl::resolve() {
  flush();
  const std::size_t begin = profile.locations().size(), end = locations.size();
  if (begin == end) return;
  std::vector<detail::LocationKey> keys;
  keys.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) keys.push_back(locations[i].key);
  detail::ResolveCounts counts;
  auto resolved = resolver.resolve(keys, pool.get(), counts);
  summary.objects += counts.objects;
  summary.missing_objects += counts.missing_objects;
  // Into the profile, in location id order: the profile's location ids are the table's.
  std::vector<Line> lines;
  // Module names are the same views for the same module: one add_mapping per module.
  std::unordered_map<const char*, MappingId> mapping_of;
  for (std::size_t i = begin; i < end; ++i) {
    const detail::ResolvedLocation& r = resolved[i - begin];
    auto [m, added] = mapping_of.try_emplace(r.module.data(), 0);
    if (added) m->second = profile.add_mapping(r.module, r.build_id);
    lines.clear();
    for (const SymbolizedFrame& f : r.frames) {
      Line l;
      l.function = f.symbol.empty() ? 0 : profile.add_function(f.symbol);
      l.symbol_offset = f.offset;
      l.srcline = profile.intern(f.srcline);
      l.inlined = f.inlined;
      lines.push_back(l);
    }
    profile.add_location(locations[i].print_addr, m->second, lines);
  }
  summary.locations += end - begin;
}

Symbolizer::Symbolizer(Options options, WarningSink* warnings)
    : impl_(std::make_unique<Impl>(std::move(options), warnings)) {}
Symbolizer::~Symbolizer() = default;

void Symbolizer::add_mmap(const perf::Mmap& m) { impl_->registry.add_mmap(m); }
void Symbolizer::add_comm(const perf::Comm& c) {
  // An exec's new image arrives as MMAPs that replace what they overlap; the old maps are
  // not dropped at the COMM, because samples taken inside execve (after the COMM record) still
  // carry the old image's user stack. perf keeps them the same way.
  impl_->comms.set(c.tid, impl_->profile.intern(c.comm));
}
void Symbolizer::add_fork(const perf::Task& t) {
  impl_->comms.inherit(t.tid, t.ptid);
  impl_->registry.add_fork(t);
}
void Symbolizer::add_exit(const perf::Task& t) {
  // The maps stay: samples recorded just before EXIT are flushed after it, and a reused pid
  // arrives with a FORK that replaces them. forget_exited() lets them go when the caller knows
  // the samples are in.
  impl_->exited.push_back({t.pid, t.tid});
}
void Symbolizer::forget_exited() {
  impl_->flush();  // the queued DWARF samples hold snapshots of their maps, not the maps
  for (const auto& [pid, tid] : impl_->exited) {
    impl_->comms.erase(tid);
    if (pid == tid) impl_->registry.forget_process(pid);
  }
  impl_->exited.clear();
}
void Symbolizer::set_recorded_build_ids(const std::vector<perf::BuildIdEntry>& entries) {
  impl_->registry.set_recorded_build_ids(entries);
}
void Symbolizer::add_lost(std::uint64_t lost) { impl_->summary.lost_samples += lost; }
void Symbolizer::add_bad_record() { ++impl_->summary.bad_records; }
void Symbolizer::add_sample(const perf::Sample& s, std::string_view event,
                            std::uint64_t sample_regs_user, bool stack_stays_valid) {
  impl_->add_sample(s, event, sample_regs_user, stack_stays_valid);
}
void Symbolizer::reserve(std::size_t samples, std::size_t frames) {
  impl_->translator.reserve(frames);
  if (impl_->options.aggregate) return;  // stores distinct stacks only: nothing to foresee
  Profile& p = impl_->profile;
  p.reserve_samples(p.samples().size() + samples);
  detail::huge_pages(p.samples().data(), p.samples().capacity() * sizeof(Sample));
}
void Symbolizer::flush() { impl_->flush(); }
void Symbolizer::resolve() { impl_->resolve(); }
const Profile& Symbolizer::profile() const { return impl_->profile; }
Profile& Symbolizer::profile() { return impl_->profile; }
void Symbolizer::clear_samples() {
  impl_->flush();  // their locations stay, like those of the samples dropped here
  impl_->profile.clear_samples();
}
void Symbolizer::clear_samples_and_stacks() {
  impl_->flush();
  impl_->profile.clear_stacks();
  impl_->translator.forget_stacks();
}
std::size_t Symbolizer::stored_samples() const { return impl_->profile.samples().size(); }

void Symbolizer::for_each_sample(const std::function<void(const StackSampleView&)>& visit) const {
  const Profile& p = impl_->profile;
  std::vector<FrameView> buf;
  if (p.locations().size() == impl_->locations.size()) {
    for (const Sample& s : p.samples()) visit(p.view(s, buf));
    return;
  }
  // Samples added since resolve(): their new locations print as unresolved addresses.
  for (const Sample& s : p.samples()) {
    buf.clear();
    for (LocationId loc : p.stack(s.stack)) {
      if (loc < p.locations().size()) {
        p.append_frames(loc, buf);
      } else {
        FrameView v;
        v.address = impl_->locations[loc].print_addr;
        buf.push_back(v);
      }
    }
    StackSampleView v;
    v.comm = p.str(s.comm);
    v.pid = s.pid;
    v.tid = s.tid;
    v.cpu = s.cpu;
    v.time_ns = s.time_ns;
    v.period = s.period;
    v.event = p.str(s.event);
    v.frames = buf;
    visit(v);
  }
}

Summary Symbolizer::summary() const {
  const Profile& p = impl_->profile;
  Summary s = impl_->summary;
  // Frame counts follow what the samples print, inline expansion included. Samples share
  // stacks (a few thousand distinct among tens of thousands of samples): counted per stack.
  std::vector<std::uint64_t> per_stack(p.stacks().size(), 0);
  for (const Sample& st : p.samples()) per_stack[st.stack] += st.count;
  for (StackId stack = 0; stack < per_stack.size(); ++stack) {
    const std::uint64_t count = per_stack[stack];
    if (count == 0) continue;
    for (LocationId id : p.stack(stack)) {
      if (id >= p.locations().size()) continue;  // not resolved yet
      const std::uint32_t object = impl_->locations[id].key.object;
      for (const Line& l : p.lines(p.locations()[id])) {
        s.frames += count;
        if (object == detail::kKernelObject) s.kernel_frames += count;
        if (l.inlined) s.inlined_frames += count;
        if (l.function == 0) {
          if (object == detail::kNoObject) s.unmapped_frames += count;
          else s.unresolved_frames += count;
        }
      }
    }
  }
  return s;
}

bool Symbolizer::write_perf_script(const ScriptFormat& fmt,
                                   const std::function<bool(std::string_view)>& sink) const {
  return detail::write_perf_script(impl_->profile, fmt, impl_->pool.get(), sink);
}

}  // namespace prof::symbolizer

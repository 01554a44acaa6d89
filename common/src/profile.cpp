#include "prof/common/profile.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>
#include <unordered_map>

namespace prof {
namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}
std::uint64_t finish(std::uint64_t h) {
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}
constexpr FunctionId kNoFunction = ~FunctionId{0};

struct Passthrough {
  std::size_t operator()(std::uint64_t h) const noexcept { return static_cast<std::size_t>(h); }
};

}  // namespace

// --- StringTable ------------------------------------------------------------------------------

struct StringTable::Index {
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string_view, StringId, Hash, std::equal_to<>> ids;
};

StringTable::StringTable() : index_(std::make_unique<Index>()) {
  views_.emplace_back();
  index_->ids.emplace(std::string_view{}, 0);
}
StringTable::~StringTable() = default;
StringTable::StringTable(StringTable&&) noexcept = default;
StringTable& StringTable::operator=(StringTable&&) noexcept = default;

StringId StringTable::intern(std::string_view s) {
  if (s.empty()) return 0;
  auto it = index_->ids.find(s);
  if (it != index_->ids.end()) return it->second;
  const std::string& stored = storage_.emplace_back(s);  // deque: views stay valid
  auto id = static_cast<StringId>(views_.size());
  views_.emplace_back(stored);
  index_->ids.emplace(std::string_view(stored), id);
  return id;
}

// --- Profile ----------------------------------------------------------------------------------

struct Profile::Indexes {
  std::unordered_map<std::uint64_t, FunctionId, Passthrough> functions;  // (name, file) -> id
  // Functions without a file (what the symbolizer makes), by name id: no hashing at all.
  std::vector<FunctionId> by_name;
  std::unordered_map<std::uint64_t, MappingId, Passthrough> mappings;   // (path, build-id) -> id
  std::unordered_multimap<std::uint64_t, StackId, Passthrough> stacks;  // hash -> candidates
  std::unordered_multimap<std::uint64_t, std::uint32_t, Passthrough> samples;  // merge_samples
  std::unordered_multimap<std::uint64_t, LabelSetId, Passthrough> label_sets;
};

Profile::Profile() : Profile(Options{}) {}
Profile::Profile(Options options) : options_(options), idx_(std::make_unique<Indexes>()) {
  functions_.push_back({});  // 0: unknown, also what add_function("") gives
  idx_->functions.emplace(0, 0);
  idx_->by_name.push_back(0);
  mappings_.push_back({});    // 0: none
  label_sets_.push_back({});  // 0: no labels
}
Profile::~Profile() = default;
Profile::Profile(Profile&&) noexcept = default;
Profile& Profile::operator=(Profile&&) noexcept = default;

FunctionId Profile::add_function(std::string_view name, std::string_view filename) {
  const StringId n = intern(name), f = intern(filename);
  if (f == 0) {
    if (n >= idx_->by_name.size()) idx_->by_name.resize(strings_.size(), kNoFunction);
    FunctionId& id = idx_->by_name[n];
    if (id == kNoFunction) {
      id = static_cast<FunctionId>(functions_.size());
      functions_.push_back({n, 0});
    }
    return id;
  }
  const std::uint64_t key = std::uint64_t{n} << 32 | f;
  auto [it, inserted] =
      idx_->functions.try_emplace(key, static_cast<FunctionId>(functions_.size()));
  if (inserted) functions_.push_back({n, f});
  return it->second;
}

MappingId Profile::add_mapping(std::string_view path, std::string_view build_id) {
  const StringId p = intern(path), b = intern(build_id);
  const std::uint64_t key = std::uint64_t{p} << 32 | b;
  auto [it, inserted] = idx_->mappings.try_emplace(key, static_cast<MappingId>(mappings_.size()));
  if (inserted) mappings_.push_back({p, b});
  return it->second;
}

LocationId Profile::add_location(std::uint64_t address, MappingId mapping,
                                 std::span<const Line> lines) {
  assert(!lines.empty());
  Location loc;
  loc.address = address;
  loc.mapping = mapping;
  loc.first_line = static_cast<std::uint32_t>(lines_.size());
  loc.line_count = static_cast<std::uint32_t>(lines.size());
  lines_.insert(lines_.end(), lines.begin(), lines.end());
  locations_.push_back(loc);
  return static_cast<LocationId>(locations_.size() - 1);
}

StackId Profile::intern_stack(std::span<const LocationId> locations) {
  std::uint64_t h = locations.size();
  for (LocationId l : locations) h = mix(h, l);
  h = finish(h);
  auto [lo, hi] = idx_->stacks.equal_range(h);
  for (auto it = lo; it != hi; ++it) {
    auto existing = stack(it->second);
    if (existing.size() == locations.size() &&
        std::equal(existing.begin(), existing.end(), locations.begin()))
      return it->second;
  }
  Stack s;
  s.first = static_cast<std::uint32_t>(stack_locations_.size());
  s.size = static_cast<std::uint32_t>(locations.size());
  stack_locations_.insert(stack_locations_.end(), locations.begin(), locations.end());
  stacks_.push_back(s);
  auto id = static_cast<StackId>(stacks_.size() - 1);
  idx_->stacks.emplace(h, id);
  return id;
}

LabelSetId Profile::intern_labels(std::span<const Label> labels) {
  if (labels.empty()) return 0;
  std::uint64_t h = labels.size();
  for (const Label& l : labels) {
    h = mix(h, l.key);
    h = mix(h, l.str);
    h = mix(h, static_cast<std::uint64_t>(l.num));
    h = mix(h, l.unit);
  }
  h = finish(h);
  auto [lo, hi] = idx_->label_sets.equal_range(h);
  for (auto it = lo; it != hi; ++it) {
    auto existing = this->labels(it->second);
    if (existing.size() == labels.size() &&
        std::equal(existing.begin(), existing.end(), labels.begin()))
      return it->second;
  }
  Stack r;
  r.first = static_cast<std::uint32_t>(labels_.size());
  r.size = static_cast<std::uint32_t>(labels.size());
  labels_.insert(labels_.end(), labels.begin(), labels.end());
  label_sets_.push_back(r);
  auto id = static_cast<LabelSetId>(label_sets_.size() - 1);
  idx_->label_sets.emplace(h, id);
  return id;
}

const EventType* Profile::event_type(StringId name) const {
  for (const EventType& e : info_.events)
    if (e.name == name) return &e;
  return nullptr;
}

std::size_t Profile::add_sample(const Sample& s) {
  if (!options_.merge_samples) {
    samples_.push_back(s);
    return samples_.size() - 1;
  }
  std::uint64_t h = s.stack;
  h = mix(h, s.comm);
  h = mix(h, s.event);
  h = mix(h, static_cast<std::uint64_t>(s.pid));
  h = mix(h, static_cast<std::uint64_t>(s.tid));
  h = mix(h, static_cast<std::uint32_t>(s.cpu));
  h = mix(h, s.cgroup);
  h = mix(h, s.labels);
  h = finish(h);
  auto [lo, hi] = idx_->samples.equal_range(h);
  for (auto it = lo; it != hi; ++it) {
    Sample& t = samples_[it->second];
    if (t.stack == s.stack && t.comm == s.comm && t.event == s.event && t.pid == s.pid &&
        t.tid == s.tid && t.cpu == s.cpu && t.cgroup == s.cgroup && t.labels == s.labels) {
      // A period of 0 counts as 1, as folding counts it; saturate rather than wrap.
      auto add = [](std::uint64_t& a, std::uint64_t b) {
        a = (b > std::numeric_limits<std::uint64_t>::max() - a)
                ? std::numeric_limits<std::uint64_t>::max()
                : a + b;
      };
      if (t.period == 0) t.period = 1;
      add(t.period, s.period ? s.period : 1);
      add(t.count, s.count);
      return it->second;
    }
  }
  samples_.push_back(s);
  idx_->samples.emplace(h, static_cast<std::uint32_t>(samples_.size() - 1));
  return samples_.size() - 1;
}

void Profile::clear_samples() {
  samples_.clear();
  idx_->samples.clear();
}

void Profile::clear_stacks() {
  clear_samples();
  stacks_.clear();
  stack_locations_.clear();
  idx_->stacks.clear();
}

void Profile::forget_sample_index() {
  // Indexes into samples_ that moved: merging starts afresh from here.
  idx_->samples.clear();
  options_.merge_samples = false;
}

void Profile::append_frames(LocationId id, std::vector<FrameView>& out) const {
  const Location& loc = locations_[id];
  const std::string_view module = str(mappings_[loc.mapping].path);
  for (const Line& l : lines(loc)) {
    FrameView f;
    f.address = loc.address;
    f.symbol = str(functions_[l.function].name);
    f.symbol_offset = l.symbol_offset;
    f.module = module;
    f.srcline = str(l.srcline);
    f.inlined = l.inlined;
    out.push_back(f);
  }
}

StackSampleView Profile::view(const Sample& s, std::vector<FrameView>& scratch) const {
  scratch.clear();
  for (LocationId l : stack(s.stack)) append_frames(l, scratch);
  StackSampleView v;
  v.comm = str(s.comm);
  v.pid = s.pid;
  v.tid = s.tid;
  v.cpu = s.cpu;
  v.time_ns = s.time_ns;
  v.period = s.period;
  v.event = str(s.event);
  v.frames = scratch;
  return v;
}

std::size_t Profile::frame_count(StackId id) const {
  std::size_t n = 0;
  for (LocationId l : stack(id)) n += locations_[l].line_count;
  return n;
}

}  // namespace prof

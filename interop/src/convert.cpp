// Folded text <-> Profile, input detection, and the canonical merge.
#include "prof/interop/convert.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "prof/common/input.h"

namespace prof::interop {

namespace {

std::string_view basename(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The count at the end of a folded line, exactly (the parser's double loses digits past 2^53).
Result<std::uint64_t> whole_count(const FoldedLine& l, std::string_view name) {
  if (l.differential)
    return Error{Errc::kUnsupported, "'" + std::string(name) + "': '" + std::string(l.text) +
                                         "' has two counts (a 'profile diff' file): a profile "
                                         "holds one count per stack"};
  std::string_view t = l.text;
  while (!t.empty() && (t.back() == '\r' || t.back() == ' ' || t.back() == '\t'))
    t.remove_suffix(1);
  auto sp = t.find_last_of(" \t");
  std::string_view digits = sp == std::string_view::npos ? t : t.substr(sp + 1);
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec == std::errc() && end == digits.data() + digits.size()) return n;
  if (ec == std::errc::result_out_of_range)
    return Error{Errc::kUnsupported,
                 "'" + std::string(name) + "': count " + std::string(digits) + " is over 2^64"};
  return Error{Errc::kUnsupported, "'" + std::string(name) + "': count " + std::string(digits) +
                                       " is fractional: a profile holds whole counts"};
}

void append_frame(std::string& out, std::string_view name) {
  for (char c : name) {
    if (c == ';') c = ':';
    if (c == '\n' || c == '\r') c = ' ';
    out.push_back(c);
  }
}

}  // namespace

std::string frame_name(const Profile& p, const Location& loc, const Line& line) {
  if (line.function != 0) {
    std::string_view name = p.str(p.functions()[line.function].name);
    if (!name.empty()) return std::string(name);
  }
  std::string_view module = p.str(p.mappings()[loc.mapping].path);
  if (module.empty() || module == "[unknown]") return "[unknown]";
  return "[" + std::string(basename(module)) + "]";
}

Result<Profile> profile_from_folded(const FoldedData& data, std::string_view name) {
  Profile p;
  std::unordered_map<FunctionId, LocationId> location_of;
  std::vector<std::string_view> frames;
  std::vector<LocationId> stack;
  for (const FoldedLine& l : data.lines) {
    auto count = whole_count(l, name);
    if (!count) return count.error();
    split_folded_stack(l.stack, frames, TrailingEmptyFrames::kDrop);
    stack.clear();
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      FunctionId f = p.add_function(*it);
      auto [pos, inserted] = location_of.try_emplace(f, 0);
      if (inserted) pos->second = p.add_location(0, 0, {Line{.function = f}});
      stack.push_back(pos->second);
    }
    Sample s;
    s.stack = p.intern_stack(stack);
    s.count = *count;
    s.period = *count;
    p.add_sample(s);
  }
  return p;
}

std::string to_folded(const Profile& p, const FoldOptions& options) {
  // Samples of several events get a root frame "[EVENT]" each, as the folder folds them:
  // their weights are in different units and never add up.
  // (Folded input has no event: it goes with any.)
  bool per_event = false;
  StringId seen = 0;
  for (const Sample& s : p.samples()) {
    if (s.event && seen && s.event != seen) per_event = true;
    if (s.event) seen = s.event;
  }
  // Each stack's text once (stacks are interned), then sums per text.
  std::vector<std::string> stack_text(p.stacks().size());
  std::vector<bool> done(p.stacks().size(), false);
  std::unordered_map<std::string, std::uint64_t> sums;
  std::string key;
  for (const Sample& s : p.samples()) {
    if (!done[s.stack]) {
      std::string& t = stack_text[s.stack];
      auto locs = p.stack(s.stack);
      bool first = true;
      for (auto it = locs.rbegin(); it != locs.rend(); ++it) {
        const Location& loc = p.locations()[*it];
        auto lines = p.lines(loc);
        for (auto ln = lines.rbegin(); ln != lines.rend(); ++ln) {
          if (!first) t.push_back(';');
          first = false;
          append_frame(t, frame_name(p, loc, *ln));
        }
      }
      done[s.stack] = true;
    }
    key.clear();
    if (per_event && s.event) {
      key.push_back('[');
      append_frame(key, p.str(s.event));
      key += "];";
    }
    if (options.per_cpu && s.cpu >= 0) {
      key += "cpu-";
      key += std::to_string(s.cpu);
      key.push_back(';');
    }
    if (options.comm && s.comm) {
      append_frame(key, p.str(s.comm));
      if (!stack_text[s.stack].empty()) key.push_back(';');
    }
    key += stack_text[s.stack];
    std::uint64_t& sum = sums[key];
    const std::uint64_t v = s.period ? s.period : s.count;
    sum = v > UINT64_MAX - sum ? UINT64_MAX : sum + v;
  }
  std::vector<std::pair<std::string_view, std::uint64_t>> lines(sums.begin(), sums.end());
  std::sort(lines.begin(), lines.end());
  std::string out;
  char buf[24];
  for (const auto& [stack, n] : lines) {
    out += stack;
    out.push_back(' ');
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
    out.push_back('\n');
  }
  return out;
}

Result<LoadedProfile> parse_profile(std::string bytes, std::string_view name,
                                    const PprofReadOptions& pprof, WarningSink* warnings) {
  const Content c = sniff_content(std::string_view(bytes).substr(0, kSniffBytes));
  LoadedProfile out;
  // (load_profile hands over decompressed bytes; a caller with a gzipped pprof in hand may not.)
  if (c.kind == ContentKind::kBinary ||
      (c.kind == ContentKind::kCompressed && c.format == "gzip")) {
    auto p = read_pprof(bytes, pprof, name);
    if (!p) return p.error();
    out.profile = std::move(*p);
    out.format = InputFormat::kPprof;
    return out;
  }
  if (c.kind != ContentKind::kText)
    return Error{Errc::kUnsupported,
                 "'" + std::string(name) + "' is neither folded stacks nor a pprof profile"};
  // A small protobuf can pass for text (few control bytes); folded text has none but
  // whitespace, so one that has some gets a look as pprof.
  const bool controls = std::any_of(bytes.begin(), bytes.end(), [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u < 0x20 && u != '\n' && u != '\r' && u != '\t';
  });
  if (controls && looks_like_pprof(bytes)) {
    auto p = read_pprof(bytes, pprof, name);
    if (!p) return p.error();
    out.profile = std::move(*p);
    out.format = InputFormat::kPprof;
    return out;
  }
  FoldedData data = parse_folded(std::move(bytes), warnings, name);
  auto p = profile_from_folded(data, name);
  if (!p) return p.error();
  out.profile = std::move(*p);
  out.format = InputFormat::kFolded;
  return out;
}

Result<LoadedProfile> load_profile(const std::string& path, const PprofReadOptions& pprof,
                                   WarningSink* warnings) {
  auto in = InputFile::open(path);
  if (!in) return in.error();
  auto head = (*in)->peek(kSniffBytes);
  if (!head) return head.error();
  const Content c = sniff_content(*head);
  if (c.kind != ContentKind::kText && c.kind != ContentKind::kBinary) {
    auto why = expect_text(**in, TextFormat::kFolded);
    if (!why) return why.error();
  }
  auto body = read_whole(**in);
  if (!body) return body.error();
  return parse_profile(std::move(*body), (*in)->name(), pprof, warnings);
}

// --- merge ----------------------------------------------------------------------------------

namespace {

struct LineKey {
  std::uint32_t function;
  std::uint64_t offset;
  std::string_view srcline;
  bool inlined;
  auto tie() const { return std::tie(function, offset, srcline, inlined); }
  bool operator<(const LineKey& o) const { return tie() < o.tie(); }
  bool operator==(const LineKey& o) const { return tie() == o.tie(); }
};
struct LocKey {
  std::uint32_t mapping;
  std::uint64_t address;
  std::vector<LineKey> lines;
  auto tie() const { return std::tie(mapping, address, lines); }
  bool operator<(const LocKey& o) const { return tie() < o.tie(); }
  bool operator==(const LocKey& o) const { return tie() == o.tie(); }
};
struct LabelKey {
  std::string_view key, str;
  std::int64_t num;
  std::string_view unit;
  auto tie() const { return std::tie(key, str, num, unit); }
  bool operator<(const LabelKey& o) const { return tie() < o.tie(); }
  bool operator==(const LabelKey& o) const { return tie() == o.tie(); }
};
struct SampleKey {
  std::vector<std::uint32_t> stack;
  std::string_view comm, event;
  std::int64_t pid, tid;
  std::int32_t cpu;
  std::uint64_t cgroup;
  std::vector<LabelKey> labels;
  auto tie() const { return std::tie(stack, comm, event, pid, tid, cpu, cgroup, labels); }
  bool operator<(const SampleKey& o) const { return tie() < o.tie(); }
};
struct SampleSum {
  std::uint64_t count = 0, period = 0, time = UINT64_MAX;
};

std::uint64_t add_sat(std::uint64_t a, std::uint64_t b) {
  return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

// Sorted, unique keys and each input's ids mapped to their index.
template <typename Key>
std::vector<Key> sort_unique(std::vector<Key> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}
template <typename Key>
std::uint32_t index_of(const std::vector<Key>& sorted, const Key& k) {
  return static_cast<std::uint32_t>(std::lower_bound(sorted.begin(), sorted.end(), k) -
                                    sorted.begin());
}

}  // namespace

Profile merge(std::span<const Profile> inputs) {
  using StrPair = std::pair<std::string_view, std::string_view>;
  // Mappings and functions by their strings; index 0 is ("", ""): none / unknown.
  std::vector<StrPair> maps{{"", ""}}, funcs{{"", ""}};
  for (const Profile& p : inputs) {
    for (const Mapping& m : p.mappings()) maps.emplace_back(p.str(m.path), p.str(m.build_id));
    for (const Function& f : p.functions()) funcs.emplace_back(p.str(f.name), p.str(f.filename));
  }
  maps = sort_unique(std::move(maps));
  funcs = sort_unique(std::move(funcs));
  std::vector<std::vector<std::uint32_t>> map_ids(inputs.size()), func_ids(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Profile& p = inputs[i];
    for (const Mapping& m : p.mappings())
      map_ids[i].push_back(index_of(maps, StrPair{p.str(m.path), p.str(m.build_id)}));
    for (const Function& f : p.functions())
      func_ids[i].push_back(index_of(funcs, StrPair{p.str(f.name), p.str(f.filename)}));
  }
  // Locations by content.
  std::vector<std::vector<LocKey>> loc_keys(inputs.size());
  std::vector<LocKey> locs;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Profile& p = inputs[i];
    for (const Location& l : p.locations()) {
      LocKey k{map_ids[i][l.mapping], l.address, {}};
      for (const Line& ln : p.lines(l))
        k.lines.push_back(
            {func_ids[i][ln.function], ln.symbol_offset, p.str(ln.srcline), ln.inlined});
      loc_keys[i].push_back(k);
      locs.push_back(std::move(k));
    }
  }
  locs = sort_unique(std::move(locs));
  // Samples by content, summed.
  std::map<SampleKey, SampleSum> samples;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Profile& p = inputs[i];
    std::vector<std::uint32_t> loc_ids;
    loc_ids.reserve(p.locations().size());
    for (const LocKey& k : loc_keys[i]) loc_ids.push_back(index_of(locs, k));
    for (const Sample& s : p.samples()) {
      SampleKey k;
      for (LocationId l : p.stack(s.stack)) k.stack.push_back(loc_ids[l]);
      k.comm = p.str(s.comm);
      k.event = p.str(s.event);
      k.pid = s.pid;
      k.tid = s.tid;
      k.cpu = s.cpu;
      k.cgroup = s.cgroup;
      for (const Label& l : p.labels(s.labels))
        k.labels.push_back({p.str(l.key), p.str(l.str), l.num, p.str(l.unit)});
      std::sort(k.labels.begin(), k.labels.end());
      SampleSum& sum = samples[std::move(k)];
      sum.count = add_sat(sum.count, s.count);
      sum.period = add_sat(sum.period, s.period ? s.period : 1);
      sum.time = std::min(sum.time, s.time_ns);
    }
  }

  // The output, built in canonical order so that its ids and strings are too.
  Profile out;
  for (std::size_t m = 1; m < maps.size(); ++m) out.add_mapping(maps[m].first, maps[m].second);
  for (std::size_t f = 1; f < funcs.size(); ++f) out.add_function(funcs[f].first, funcs[f].second);
  std::vector<Line> lines;
  for (const LocKey& k : locs) {
    lines.clear();
    for (const LineKey& lk : k.lines)
      lines.push_back({.function = lk.function,
                       .symbol_offset = lk.offset,
                       .srcline = out.intern(lk.srcline),
                       .inlined = lk.inlined});
    out.add_location(k.address, k.mapping, lines);
  }
  std::vector<LocationId> stack;
  std::vector<Label> labels;
  for (const auto& [k, sum] : samples) {
    stack.assign(k.stack.begin(), k.stack.end());
    labels.clear();
    for (const LabelKey& l : k.labels)
      labels.push_back({out.intern(l.key), out.intern(l.str), l.num, out.intern(l.unit)});
    Sample s;
    s.stack = out.intern_stack(stack);
    s.count = sum.count;
    s.period = sum.period;
    s.time_ns = sum.time;
    s.comm = out.intern(k.comm);
    s.event = out.intern(k.event);
    s.pid = k.pid;
    s.tid = k.tid;
    s.cpu = k.cpu;
    s.cgroup = k.cgroup;
    s.labels = out.intern_labels(labels);
    out.add_sample(s);
  }

  // Info: earliest start, span to the latest end (inputs without a start add no time), events
  // by name (the larger period or frequency where they differ), comments sorted and unique.
  ProfileInfo& info = out.info();
  std::uint64_t start = 0, end = 0, bare_duration = 0;
  std::map<std::string_view, std::tuple<std::string_view, std::uint64_t, std::uint64_t>> events;
  std::vector<std::string_view> comments;
  for (const Profile& p : inputs) {
    const ProfileInfo& in = p.info();
    if (in.start_unix_ns) {
      start = start ? std::min(start, in.start_unix_ns) : in.start_unix_ns;
      end = std::max(end, add_sat(in.start_unix_ns, in.duration_ns));
    } else {
      bare_duration = std::max(bare_duration, in.duration_ns);
    }
    for (const EventType& e : in.events) {
      auto [it, inserted] = events.try_emplace(p.str(e.name), p.str(e.unit), e.period, e.frequency);
      if (!inserted) {
        auto& [unit, period, freq] = it->second;
        unit = std::min(unit, p.str(e.unit));
        period = std::max(period, e.period);
        freq = std::max(freq, e.frequency);
      }
    }
    for (StringId c : in.comments) comments.push_back(p.str(c));
  }
  info.start_unix_ns = start;
  info.duration_ns = start ? end - start : bare_duration;
  for (const auto& [name, v] : events)
    info.events.push_back(
        {out.intern(name), out.intern(std::get<0>(v)), std::get<1>(v), std::get<2>(v)});
  comments = sort_unique(std::move(comments));
  for (std::string_view c : comments) info.comments.push_back(out.intern(c));
  return out;
}

}  // namespace prof::interop

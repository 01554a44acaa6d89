// pprof (gzip or raw profile.proto) -> Profile.
#include <charconv>
#include <string>
#include <unordered_map>
#include <vector>

#include "gzip.h"
#include "pprof_common.h"
#include "prof/interop/pprof.h"
#include "profile.pb.h"

namespace prof::interop {
namespace pp = perftools::profiles;

namespace {

// protobuf's own limit on a message is 2 GiB; a larger decompressed input cannot parse.
constexpr std::size_t kMaxDecompressed = std::size_t{2} << 30;

Result<pp::Profile> parse_message(std::string_view bytes) {
  std::string raw;
  if (is_gzip(bytes)) {
    auto r = gzip_decompress(bytes, kMaxDecompressed);
    if (!r) return r.error();
    raw = std::move(*r);
    bytes = raw;
  }
  pp::Profile p;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
      !p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Error{Errc::kParse, "not a pprof profile (the protobuf does not parse)"};
  if (p.string_table_size() == 0 || !p.string_table(0).empty())
    return Error{Errc::kParse, "not a pprof profile (string table does not start with \"\")"};
  if (p.sample_type_size() == 0)
    return Error{Errc::kParse, "not a pprof profile (no sample types)"};
  return p;
}

class Reader {
 public:
  Reader(const pp::Profile& in, Profile& out) : in_(in), out_(out) {}

  Result<std::string_view> str(std::int64_t i, const char* what) const {
    if (i < 0 || i >= in_.string_table_size())
      return Error{Errc::kParse, std::string(what) + " names string " + std::to_string(i) +
                                     ", past the string table (" +
                                     std::to_string(in_.string_table_size()) + " strings)"};
    return std::string_view(in_.string_table(static_cast<int>(i)));
  }

  Result<void> read_tables() {
    for (const auto& m : in_.mapping()) {
      auto file_r = str(m.filename(), "a mapping");
      if (!file_r) return file_r.error();
      std::string_view file = *file_r;
      auto build_r = str(m.build_id(), "a mapping");
      if (!build_r) return build_r.error();
      std::string_view build = *build_r;
      mappings_[m.id()] = out_.add_mapping(file, build);
    }
    for (const auto& f : in_.function()) {
      auto name_r = str(f.name(), "a function");
      if (!name_r) return name_r.error();
      std::string_view name = *name_r;
      auto file_r = str(f.filename(), "a function");
      if (!file_r) return file_r.error();
      std::string_view file = *file_r;
      functions_[f.id()] = {name, file};
    }
    std::vector<Line> lines;
    std::string srcline;
    for (const auto& l : in_.location()) {
      MappingId m = 0;
      if (l.mapping_id() != 0) {
        auto it = mappings_.find(l.mapping_id());
        if (it == mappings_.end())
          return Error{Errc::kParse, "location " + std::to_string(l.id()) + " names mapping " +
                                         std::to_string(l.mapping_id()) +
                                         ", which the profile does not have"};
        m = it->second;
      }
      lines.clear();
      for (int i = 0; i < l.line_size(); ++i) {
        const auto& pl = l.line(i);
        auto it = functions_.find(pl.function_id());
        if (it == functions_.end())
          return Error{Errc::kParse, "location " + std::to_string(l.id()) + " names function " +
                                         std::to_string(pl.function_id()) +
                                         ", which the profile does not have"};
        Line line;
        line.function = out_.add_function(it->second.first, it->second.second);
        if (pl.line() > 0 && !it->second.second.empty()) {
          srcline.assign(it->second.second);
          srcline += ':';
          srcline += std::to_string(pl.line());
          line.srcline = out_.intern(srcline);
        }
        line.inlined = i + 1 < l.line_size();
        lines.push_back(line);
      }
      if (lines.empty()) lines.push_back(Line{});
      locations_[l.id()] = out_.add_location(l.address(), m, lines);
    }
    return ok();
  }

  const std::unordered_map<std::uint64_t, LocationId>& locations() const { return locations_; }

 private:
  const pp::Profile& in_;
  Profile& out_;
  std::unordered_map<std::uint64_t, MappingId> mappings_;
  std::unordered_map<std::uint64_t, std::pair<std::string_view, std::string_view>> functions_;
  std::unordered_map<std::uint64_t, LocationId> locations_;
};

}  // namespace

bool looks_like_pprof(std::string_view bytes) { return parse_message(bytes).has_value(); }

Result<Profile> read_pprof(std::string_view bytes, const PprofReadOptions& options,
                           std::string_view name) {
  auto where = [&](const Error& e) {
    return Error{e.code, "'" + std::string(name) + "': " + e.message};
  };
  auto msg = parse_message(bytes);
  if (!msg) return where(msg.error());
  const pp::Profile& in = *msg;
  Profile out;
  Reader r(in, out);
  if (auto t = r.read_tables(); !t) return where(t.error());

  // The value columns.
  struct Col {
    std::string_view type, unit;
  };
  std::vector<Col> cols;
  for (const auto& vt : in.sample_type()) {
    auto t = r.str(vt.type(), "a sample type");
    auto u = r.str(vt.unit(), "a sample type");
    if (!t) return where(t.error());
    if (!u) return where(u.error());
    cols.push_back({*t, *u});
  }
  const bool samples_first = cols[0].type == kSamplesType && cols[0].unit == kCountUnit;
  // One column chosen for every sample (sample_index, or a profile not shaped samples+events),
  // or each sample's own non-zero event column.
  std::ptrdiff_t chosen = -1;
  if (!options.sample_index.empty()) {
    const std::string& want = options.sample_index;
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(want.data(), want.data() + want.size(), n);
    if (ec == std::errc() && end == want.data() + want.size()) {
      if (n >= cols.size())
        return where(Error{Errc::kUsage, "--sample-index " + want + ": the profile has " +
                                             std::to_string(cols.size()) + " sample types"});
      chosen = static_cast<std::ptrdiff_t>(n);
    } else {
      std::string names;
      for (std::size_t i = 0; i < cols.size(); ++i) {
        if (cols[i].type == want) chosen = static_cast<std::ptrdiff_t>(i);
        names += (i ? ", " : "") + std::string(cols[i].type);
      }
      if (chosen < 0)
        return where(Error{
            Errc::kUsage,
            "--sample-index " + want + ": no such sample type (the profile has " + names + ")"});
    }
  } else if (!samples_first) {
    chosen = static_cast<std::ptrdiff_t>(cols.size()) - 1;
    if (in.default_sample_type() != 0) {
      for (std::size_t i = 0; i < cols.size(); ++i)
        if (in.sample_type(static_cast<int>(i)).type() == in.default_sample_type())
          chosen = static_cast<std::ptrdiff_t>(i);
    }
  }

  // Events: the chosen column, or every column but samples/count. A column's event is named by
  // its samples' "event" label when they carry one (our own profiles: cpu-clock for "cpu").
  std::vector<StringId> column_event(cols.size(), 0);
  std::vector<bool> column_named(cols.size(), false);
  // (A column without a type name is named by its index: an event needs a name.)
  auto event_of_column = [&](std::size_t c) {
    return cols[c].type.empty() ? out.intern("value" + std::to_string(c))
                                : out.intern(cols[c].type);
  };

  std::vector<LocationId> stack;
  std::vector<Label> extra;
  const auto& locs = r.locations();
  std::size_t index = 0;
  for (const auto& ps : in.sample()) {
    ++index;
    if (ps.value_size() != static_cast<int>(cols.size()))
      return where(Error{Errc::kParse, "sample " + std::to_string(index) + " has " +
                                           std::to_string(ps.value_size()) + " values for " +
                                           std::to_string(cols.size()) + " sample types"});
    for (int i = 0; i < ps.value_size(); ++i)
      if (ps.value(i) < 0)
        return where(
            Error{Errc::kUnsupported, "sample " + std::to_string(index) +
                                          " has a negative value (" + std::to_string(ps.value(i)) +
                                          "; a difference profile?): only counts can be read"});
    Sample s;
    std::size_t col = 0;
    if (chosen >= 0) {
      col = static_cast<std::size_t>(chosen);
      if (ps.value(static_cast<int>(col)) == 0) continue;
      s.period = static_cast<std::uint64_t>(ps.value(static_cast<int>(col)));
      s.count = samples_first ? static_cast<std::uint64_t>(ps.value(0)) : s.period;
    } else {
      s.count = static_cast<std::uint64_t>(ps.value(0));
      for (int i = 1; i < ps.value_size() && col == 0; ++i)
        if (ps.value(i) != 0) col = static_cast<std::size_t>(i);
      s.period = col ? static_cast<std::uint64_t>(ps.value(static_cast<int>(col))) : s.count;
      if (s.count == 0 && s.period == 0) continue;
    }
    stack.clear();
    for (std::uint64_t id : ps.location_id()) {
      auto it = locs.find(id);
      if (it == locs.end())
        return where(Error{Errc::kParse, "sample " + std::to_string(index) + " names location " +
                                             std::to_string(id) +
                                             ", which the profile does not have"});
      stack.push_back(it->second);
    }
    s.stack = out.intern_stack(stack);
    extra.clear();
    StringId event_label = 0;
    for (const auto& l : ps.label()) {
      auto key = r.str(l.key(), "a label");
      auto sv = r.str(l.str(), "a label");
      auto unit = r.str(l.num_unit(), "a label");
      if (!key) return where(key.error());
      if (!sv) return where(sv.error());
      if (!unit) return where(unit.error());
      const bool is_str = l.str() != 0;
      if (*key == kLabelCpu && !is_str && l.num() >= 0 && l.num() <= INT32_MAX) {
        s.cpu = static_cast<std::int32_t>(l.num());
      } else if (*key == kLabelPid && !is_str) {
        s.pid = l.num();
      } else if (*key == kLabelTid && !is_str) {
        s.tid = l.num();
      } else if (*key == kLabelComm && is_str) {
        s.comm = out.intern(*sv);
      } else if (*key == kLabelEvent && is_str) {
        event_label = out.intern(*sv);
      } else if (*key == kLabelCgroup && !is_str && l.num() > 0) {
        s.cgroup = static_cast<std::uint64_t>(l.num());
      } else {
        Label x;
        x.key = out.intern(*key);
        x.str = is_str ? out.intern(*sv) : 0;
        x.num = is_str ? 0 : l.num();
        x.unit = out.intern(*unit);
        extra.push_back(x);
      }
    }
    s.labels = out.intern_labels(extra);
    // The "event" label names the sample's event where it belongs to this column (our own
    // profiles: cpu-clock in "cpu"); the samples column, or another's label, is the column's.
    if (event_label && pprof_type_of_event(out.str(event_label)) != cols[col].type) event_label = 0;
    if (col != 0 || chosen >= 0) {
      if (!column_named[col]) {
        column_event[col] = event_label ? event_label : event_of_column(col);
        column_named[col] = true;
      }
      // One chosen column is one event for every sample (the first one's name for it).
      s.event = chosen >= 0 ? column_event[col] : event_label ? event_label : event_of_column(col);
    }
    out.add_sample(s);
  }

  ProfileInfo& info = out.info();
  info.start_unix_ns = in.time_nanos() > 0 ? static_cast<std::uint64_t>(in.time_nanos()) : 0;
  info.duration_ns = in.duration_nanos() > 0 ? static_cast<std::uint64_t>(in.duration_nanos()) : 0;
  for (std::size_t c = 0; c < cols.size(); ++c) {
    const bool wanted = chosen >= 0 ? c == static_cast<std::size_t>(chosen) : c != 0;
    if (!wanted || (c == 0 && samples_first)) continue;
    EventType e;
    e.name = column_named[c] ? column_event[c] : event_of_column(c);
    e.unit = out.intern(cols[c].unit);
    if (in.has_period_type() &&
        in.period_type().type() == in.sample_type(static_cast<int>(c)).type())
      e.period = in.period() > 0 ? static_cast<std::uint64_t>(in.period()) : 0;
    info.events.push_back(e);
  }
  for (std::int64_t c : in.comment()) {
    auto t = r.str(c, "a comment");
    if (!t) return where(t.error());
    info.comments.push_back(out.intern(*t));
  }
  return out;
}

}  // namespace prof::interop

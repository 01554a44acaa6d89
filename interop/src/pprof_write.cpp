// Profile -> pprof (profile.proto via protobuf lite), gzip-compressed.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "gzip.h"
#include "pprof_common.h"
#include "prof/interop/convert.h"
#include "prof/interop/pprof.h"
#include "profile.pb.h"

namespace prof::interop {
namespace pp = perftools::profiles;

std::string pprof_type_of_event(std::string_view event) {
  // CPU time, as Go names it (task-clock is the same clock counted per task); other names with
  // '-' or ':' get '_' (page-faults -> page_faults): Parca takes sample types as PromQL names.
  if (event == "cpu-clock" || event == "task-clock") return "cpu";
  std::string t(event);
  for (char& c : t)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      c = '_';
  return t;
}

std::string unit_of_event(std::string_view event) {
  auto base = event.substr(0, event.find(':'));  // "cpu-clock:u" names cpu-clock too
  if (base == "cpu-clock" || base == "task-clock" || base == "cpu" || base == "off-cpu" ||
      base == "wall")
    return "nanoseconds";
  return std::string(kCountUnit);
}

namespace {

// pprof's string table: every string once, "" first, in order of first use.
class Strings {
 public:
  explicit Strings(pp::Profile& p) : p_(p) { id(""); }
  std::int64_t id(std::string_view s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    p_.add_string_table(std::string(s));
    auto n = static_cast<std::int64_t>(p_.string_table_size() - 1);
    ids_.emplace(std::string(s), n);
    return n;
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  pp::Profile& p_;
  std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> ids_;
};

struct Column {
  std::string type, unit;
};

// A numeric label of value 0 has only its key on the wire (proto3 leaves defaults out), and pprof
// then drops it: cpu 0 and pid 0 would vanish. A unit keeps it.
void add_num_label(pp::Sample* s, Strings& st, std::string_view key, std::int64_t v,
                   std::string_view unit) {
  auto* l = s->add_label();
  l->set_key(st.id(key));
  l->set_num(v);
  l->set_num_unit(st.id(unit));
}
void add_str_label(pp::Sample* s, Strings& st, std::string_view key, std::string_view v) {
  auto* l = s->add_label();
  l->set_key(st.id(key));
  l->set_str(st.id(v));
}

std::int64_t clamp64(std::uint64_t v) {
  return v > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(v);
}

}  // namespace

Result<std::string> write_pprof(const Profile& p, const PprofWriteOptions& options) {
  pp::Profile out;
  Strings st(out);

  // Value columns: samples/count, then one per event (events of info first, in their order).
  std::vector<Column> columns{{std::string(kSamplesType), std::string(kCountUnit)}};
  std::unordered_map<StringId, std::size_t> column_of_event;  // event name id -> column
  auto column_for = [&](StringId event, StringId unit_id) -> std::size_t {
    if (event == 0) return 0;
    auto it = column_of_event.find(event);
    if (it != column_of_event.end()) return it->second;
    Column c{pprof_type_of_event(p.str(event)),
             unit_id ? std::string(p.str(unit_id)) : unit_of_event(p.str(event))};
    std::size_t idx = 0;
    for (std::size_t i = 1; i < columns.size(); ++i)
      if (columns[i].type == c.type) idx = i;
    if (idx == 0) {
      columns.push_back(std::move(c));
      idx = columns.size() - 1;
    }
    column_of_event.emplace(event, idx);
    return idx;
  };
  for (const EventType& e : p.info().events) column_for(e.name, e.unit);
  for (const Sample& s : p.samples()) column_for(s.event, 0);
  for (const Column& c : columns) {
    auto* vt = out.add_sample_type();
    vt->set_type(st.id(c.type));
    vt->set_unit(st.id(c.unit));
  }
  const Column& main = columns.size() > 1 ? columns[1] : columns[0];
  out.set_default_sample_type(st.id(main.type));
  out.mutable_period_type()->set_type(st.id(main.type));
  out.mutable_period_type()->set_unit(st.id(main.unit));
  if (!p.info().events.empty()) {
    const EventType& e = p.info().events.front();
    std::uint64_t period = e.period;
    if (period == 0 && e.frequency != 0 && main.unit == "nanoseconds")
      period = 1000000000ull / e.frequency;
    out.set_period(clamp64(period));
  }
  out.set_time_nanos(clamp64(p.info().start_unix_ns));
  out.set_duration_nanos(clamp64(p.info().duration_ns));
  for (StringId c : p.info().comments) out.add_comment(st.id(p.str(c)));

  // Mappings: pprof id = our id (0, "no mapping", is not written).
  bool any_file = false, any_line = false, any_inline = false;
  for (const Line& l : p.lines()) {
    if (l.srcline) any_line = true;
    if (l.inlined) any_inline = true;
    if (l.function && p.functions()[l.function].filename) any_file = true;
  }
  // pprof takes the first mapping for the main binary ("File:" in its reports): the program
  // file of most samples — a file named like the sample's comm (which is at most 15 bytes of
  // it), else the file its outermost frame lies in (not [kernel.kallsyms] or [vdso]).
  std::vector<std::uint64_t> named(p.mappings().size(), 0), outermost(named);
  for (const Sample& s : p.samples()) {
    auto locs = p.stack(s.stack);
    const std::string_view comm = p.str(s.comm);
    bool outer_found = false;
    for (auto it = locs.rbegin(); it != locs.rend(); ++it) {
      const MappingId m = p.locations()[*it].mapping;
      const std::string_view path = p.str(p.mappings()[m].path);
      if (m == 0 || path.empty() || path.front() == '[') continue;
      if (!outer_found) outermost[m] += s.count;
      outer_found = true;
      const std::string_view base = path.substr(path.rfind('/') + 1);
      if (!comm.empty() && base.substr(0, comm.size()) == comm) {
        named[m] += s.count;
        break;
      }
    }
  }
  const bool any_named = std::any_of(named.begin(), named.end(), [](auto n) { return n > 0; });
  const std::vector<std::uint64_t>& weight = any_named ? named : outermost;
  std::vector<MappingId> order;
  for (MappingId m = 1; m < p.mappings().size(); ++m) order.push_back(m);
  auto main_it = std::max_element(order.begin(), order.end(),
                                  [&](MappingId a, MappingId b) { return weight[a] < weight[b]; });
  if (main_it != order.end()) std::rotate(order.begin(), main_it, main_it + 1);
  // Ids 1, 2, 3... in the order written (Parca refuses others); 0 stays "no mapping".
  std::vector<std::uint64_t> mapping_id(p.mappings().size(), 0);
  for (MappingId m : order) {
    auto* pm = out.add_mapping();
    mapping_id[m] = static_cast<std::uint64_t>(out.mapping_size());
    pm->set_id(mapping_id[m]);
    pm->set_filename(st.id(p.str(p.mappings()[m].path)));
    pm->set_build_id(st.id(p.str(p.mappings()[m].build_id)));
    pm->set_has_functions(true);
    pm->set_has_filenames(any_file || any_line);
    pm->set_has_line_numbers(any_line);
    pm->set_has_inline_frames(any_inline);
  }

  // Functions by (shown name, file), created as locations use them.
  std::unordered_map<std::string, std::uint64_t> function_ids;
  std::string key;
  auto function_for = [&](const Location& loc, const Line& l, std::string_view file) {
    std::string name = frame_name(p, loc, l);
    if (file.empty() && l.function) file = p.str(p.functions()[l.function].filename);
    key.assign(name);
    key.push_back('\0');
    key.append(file);
    auto [it, inserted] = function_ids.try_emplace(key, function_ids.size() + 1);
    if (inserted) {
      auto* f = out.add_function();
      f->set_id(it->second);
      f->set_name(st.id(name));
      f->set_system_name(st.id(name));
      f->set_filename(st.id(file));
    }
    return it->second;
  };

  // Locations: pprof id = our id + 1.
  for (LocationId id = 0; id < p.locations().size(); ++id) {
    const Location& loc = p.locations()[id];
    auto* pl = out.add_location();
    pl->set_id(std::uint64_t{id} + 1);
    pl->set_mapping_id(mapping_id[loc.mapping]);
    pl->set_address(loc.address);
    for (const Line& l : p.lines(loc)) {
      SrcLine sl = split_srcline(p.str(l.srcline));
      auto* line = pl->add_line();
      line->set_function_id(function_for(loc, l, sl.file));
      line->set_line(sl.line);
    }
  }

  // Samples.
  const std::size_t ncol = columns.size();
  for (const Sample& s : p.samples()) {
    auto* ps = out.add_sample();
    for (LocationId l : p.stack(s.stack)) ps->add_location_id(std::uint64_t{l} + 1);
    const std::size_t col = column_for(s.event, 0);
    for (std::size_t i = 0; i < ncol; ++i) {
      std::int64_t v = 0;
      if (i == 0) v = clamp64(s.count);
      if (i == col && i != 0) v = clamp64(s.period ? s.period : 1);
      ps->add_value(v);
    }
    if (s.cpu >= 0) add_num_label(ps, st, kLabelCpu, s.cpu, kLabelCpu);
    if (s.pid != kUnknownPid) add_num_label(ps, st, kLabelPid, s.pid, kLabelPid);
    if (s.tid != kUnknownPid) add_num_label(ps, st, kLabelTid, s.tid, kLabelTid);
    if (s.comm) add_str_label(ps, st, kLabelComm, p.str(s.comm));
    if (s.event) add_str_label(ps, st, kLabelEvent, p.str(s.event));
    if (s.cgroup != kNoCgroup) add_num_label(ps, st, kLabelCgroup, clamp64(s.cgroup), kLabelCgroup);
    for (const Label& l : p.labels(s.labels)) {
      auto* pl = ps->add_label();
      pl->set_key(st.id(p.str(l.key)));
      if (l.str) {
        pl->set_str(st.id(p.str(l.str)));
      } else {
        pl->set_num(l.num);
        if (l.unit) pl->set_num_unit(st.id(p.str(l.unit)));
      }
    }
  }

  std::string raw;
  if (!out.SerializeToString(&raw))
    return Error{Errc::kInternal, "pprof: the profile does not serialize (over 2 GiB?)"};
  if (!options.gzip) return raw;
  return gzip_compress(raw);
}

}  // namespace prof::interop

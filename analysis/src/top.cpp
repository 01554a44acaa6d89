#include "prof/analysis/top.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "prof/common/folded.h"

namespace prof::analysis {
namespace {

struct Acc {
  double weight = 0;
  std::unordered_map<std::string_view, TopRow> rows;
};

void add(Acc& acc, std::span<const std::string_view> frames, double count,
         std::unordered_set<std::string_view>& seen) {
  acc.weight += count;
  if (frames.empty()) return;
  seen.clear();
  for (auto f : frames) {
    if (!seen.insert(f).second) continue;  // recursion: count a function once per stack
    auto& row = acc.rows[f];
    row.total += count;
  }
  acc.rows[frames.back()].self += count;
}

TopTable finish(std::string scope, Acc& acc, std::size_t limit) {
  TopTable t{{}, std::move(scope), acc.weight, {}};
  t.rows.reserve(acc.rows.size());
  for (auto& [name, row] : acc.rows) {
    row.function = std::string(name);
    t.rows.push_back(std::move(row));
  }
  std::sort(t.rows.begin(), t.rows.end(), [](const TopRow& a, const TopRow& b) {
    if (a.self != b.self) return a.self > b.self;
    if (a.total != b.total) return a.total > b.total;
    return a.function < b.function;
  });
  if (limit && t.rows.size() > limit) t.rows.resize(limit);
  return t;
}

std::string json_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o;
}

double pct(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

// Natural order for "cpu-N" scopes so cpu-10 follows cpu-9.
bool scope_less(const std::string& a, const std::string& b) {
  auto num = [](const std::string& s) {
    return s.size() > 4 ? std::strtoll(s.c_str() + 4, nullptr, 10) : -1;
  };
  long long na = num(a), nb = num(b);
  if (na != nb) return na < nb;
  return a < b;
}

// Tables of one event (or of all stacks without per_event).
struct Group {
  Acc overall;
  std::map<std::string, Acc, decltype(&scope_less)> per_cpu{&scope_less};
};

bool is_event_frame(std::string_view f) {
  return f.size() > 2 && f.front() == '[' && f.back() == ']';
}

}  // namespace

std::vector<TopTable> compute_top(const std::vector<FoldedStack>& stacks, const TopOptions& opts) {
  // Events in the order of their first stack; the "" group holds stacks without an event frame.
  std::vector<std::pair<std::string, Group>> groups;
  auto group_of = [&](std::string_view event) -> Group& {
    for (auto& [e, g] : groups)
      if (e == event) return g;
    return groups.emplace_back(std::string(event), Group{}).second;
  };
  std::vector<std::string_view> frames;
  std::unordered_set<std::string_view> seen;
  for (const auto& s : stacks) {
    split_folded_stack(s.stack, frames, TrailingEmptyFrames::kKeep);
    std::span<const std::string_view> fs(frames);
    std::string_view event;
    if (opts.per_event && !fs.empty() && is_event_frame(fs[0])) {
      event = fs[0].substr(1, fs[0].size() - 2);
      fs = fs.subspan(1);
    }
    Group& g = group_of(event);
    std::string_view cpu;
    if (opts.per_cpu && !fs.empty() && fs[0].substr(0, 4) == "cpu-") {
      cpu = fs[0];
      fs = fs.subspan(1);
    }
    if (opts.has_process_frame && !fs.empty()) fs = fs.subspan(1);
    add(g.overall, fs, s.count, seen);
    if (!cpu.empty()) add(g.per_cpu[std::string(cpu)], fs, s.count, seen);
  }
  if (groups.empty()) groups.emplace_back(std::string(), Group{});
  std::vector<TopTable> out;
  for (auto& [event, g] : groups) {
    out.push_back(finish("all CPUs", g.overall, opts.limit));
    out.back().event = event;
    for (auto& [cpu, acc] : g.per_cpu) {
      out.push_back(finish(cpu, acc, opts.limit));
      out.back().event = event;
    }
  }
  return out;
}

namespace {

// A weight as JSON: integral values (folded counts, summed exactly in a double up to 2^53) as
// integers, fractional ones (folded input may carry them) with up to 6 decimals, never in
// exponent form.
std::string json_number(double v) {
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e18) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.6f", v);
    std::string s(buf);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
  }
  return buf;
}

// Percentages: two decimals, as the text table and the SVG print them.
std::string json_pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string unit_for(const TopTable& t, std::string_view count_name, CountNameFn per_event) {
  return per_event && !t.event.empty() ? per_event(t.event) : std::string(count_name);
}

}  // namespace

void print_top_text(const std::vector<TopTable>& tables, std::string_view count_name,
                    std::ostream& out, CountNameFn per_event_name) {
  char line[64];
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const auto& t = tables[i];
    if (i) out << '\n';
    std::snprintf(line, sizeof line, "%.0f", t.weight);
    out << "# ";
    if (!t.event.empty()) out << t.event << ", ";
    out << t.scope << ": " << line << ' ' << unit_for(t, count_name, per_event_name) << '\n';
    out << "   self%  total%  function\n";
    for (const auto& r : t.rows) {
      std::snprintf(line, sizeof line, "%8.2f %7.2f  ", pct(r.self, t.weight),
                    pct(r.total, t.weight));
      out << line << r.function << '\n';
    }
  }
}

void print_top_json(const std::vector<TopTable>& tables, std::string_view count_name,
                    std::ostream& out, CountNameFn per_event_name) {
  out << "{\"count_name\":\"" << json_escape(count_name) << "\",\"tables\":[";
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const auto& t = tables[i];
    out << (i ? "," : "") << "{";
    if (!t.event.empty())
      out << "\"event\":\"" << json_escape(t.event) << "\",\"count_name\":\""
          << json_escape(unit_for(t, count_name, per_event_name)) << "\",";
    out << "\"scope\":\"" << json_escape(t.scope) << "\",\"weight\":" << json_number(t.weight)
        << ",\"rows\":[";
    for (std::size_t j = 0; j < t.rows.size(); ++j) {
      const auto& r = t.rows[j];
      out << (j ? "," : "") << "{\"function\":\"" << json_escape(r.function)
          << "\",\"self\":" << json_number(r.self) << ",\"total\":" << json_number(r.total)
          << ",\"self_pct\":" << json_pct(pct(r.self, t.weight))
          << ",\"total_pct\":" << json_pct(pct(r.total, t.weight)) << '}';
    }
    out << "]}";
  }
  out << "]}\n";
}

}  // namespace prof::analysis

#include "top.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <span>
#include <unordered_map>
#include <unordered_set>

namespace prof::app {
namespace {

struct Acc {
  double weight = 0;
  std::unordered_map<std::string_view, TopRow> rows;
};

void split_frames(std::string_view stack, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t start = 0;
  while (start <= stack.size()) {
    std::size_t semi = stack.find(';', start);
    if (semi == std::string_view::npos) semi = stack.size();
    out.push_back(stack.substr(start, semi - start));
    start = semi + 1;
  }
}

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
  TopTable t{std::move(scope), acc.weight, {}};
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

}  // namespace

std::vector<TopTable> compute_top(const std::vector<FoldedStack>& stacks, const TopOptions& opts) {
  Acc overall;
  std::map<std::string, Acc, decltype(&scope_less)> per_cpu(&scope_less);
  std::vector<std::string_view> frames;
  std::unordered_set<std::string_view> seen;
  for (const auto& s : stacks) {
    split_frames(s.stack, frames);
    std::span<const std::string_view> fs(frames);
    std::string_view cpu;
    if (opts.per_cpu && !fs.empty() && fs[0].substr(0, 4) == "cpu-") {
      cpu = fs[0];
      fs = fs.subspan(1);
    }
    if (opts.has_process_frame && !fs.empty()) fs = fs.subspan(1);
    add(overall, fs, s.count, seen);
    if (!cpu.empty()) add(per_cpu[std::string(cpu)], fs, s.count, seen);
  }
  std::vector<TopTable> out;
  out.push_back(finish("all CPUs", overall, opts.limit));
  for (auto& [cpu, acc] : per_cpu) out.push_back(finish(cpu, acc, opts.limit));
  return out;
}

void print_top_text(const std::vector<TopTable>& tables, std::string_view count_name,
                    std::ostream& out) {
  char line[64];
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const auto& t = tables[i];
    if (i) out << '\n';
    std::snprintf(line, sizeof line, "%.0f", t.weight);
    out << "# " << t.scope << ": " << line << ' ' << count_name << '\n';
    out << "   self%  total%  function\n";
    for (const auto& r : t.rows) {
      std::snprintf(line, sizeof line, "%8.2f %7.2f  ", pct(r.self, t.weight),
                    pct(r.total, t.weight));
      out << line << r.function << '\n';
    }
  }
}

void print_top_json(const std::vector<TopTable>& tables, std::string_view count_name,
                    std::ostream& out) {
  char num[64];
  auto n = [&](double v) {
    std::snprintf(num, sizeof num, "%.6g", v);
    return std::string(num);
  };
  out << "{\"count_name\":\"" << json_escape(count_name) << "\",\"tables\":[";
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const auto& t = tables[i];
    out << (i ? "," : "") << "{\"scope\":\"" << json_escape(t.scope)
        << "\",\"weight\":" << n(t.weight) << ",\"rows\":[";
    for (std::size_t j = 0; j < t.rows.size(); ++j) {
      const auto& r = t.rows[j];
      out << (j ? "," : "") << "{\"function\":\"" << json_escape(r.function)
          << "\",\"self\":" << n(r.self) << ",\"total\":" << n(r.total)
          << ",\"self_pct\":" << n(pct(r.self, t.weight))
          << ",\"total_pct\":" << n(pct(r.total, t.weight)) << '}';
    }
    out << "]}";
  }
  out << "]}\n";
}

}  // namespace prof::app

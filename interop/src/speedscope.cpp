// speedscope's JSON file format: shared frames, one sampled profile per thread (and event).
//
// A frame is a line of a location's inline chain, named by frame_name() and identified by name,
// file and line (from Line::srcline, else the function's file). Stacks are written root first:
// locations reversed, and each location's lines outermost first. Profiles are ordered by pid,
// tid and event name, named "comm pid/tid" (the thread's latest comm, plus the event when the
// capture has several); samples in time order (stable for equal times), weighed by their period
// (their count when they have none). Strings are escaped so that any JSON parser accepts them:
// bytes that are not UTF-8 become U+FFFD. The text is built with appends, each stack's text once.
#include "prof/interop/speedscope.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "pprof_common.h"
#include "prof/interop/convert.h"

namespace prof::interop {
namespace {

constexpr std::string_view kSchema = "https://www.speedscope.app/file-format-schema.json";

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Length of the valid UTF-8 sequence at s[i], or 0 (Unicode table 3-7: no overlong forms, no
// surrogates, nothing above U+10FFFF).
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  if (c < 0xC2 || c > 0xF4 || i + n > s.size()) return 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c == 0xE0) lo = 0xA0;
  if (c == 0xED) hi = 0x9F;
  if (c == 0xF0) lo = 0x90;
  if (c == 0xF4) hi = 0x8F;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

// `s` as a JSON string: quotes, backslashes and control characters escaped, bytes that are not
// valid UTF-8 replaced by U+FFFD, so that every parser accepts the file.
void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = c >= 0x80 ? utf8_length(s, i) : 0;
    if (n != 0) {
      i += n;
      continue;
    }
    out.append(s.data() + run, i - run);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += "\\ufffd";
    }
    run = ++i;
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

// The speedscope unit of an event's values.
std::string_view unit_of(const Profile& p, StringId event) {
  std::string_view unit;
  if (const EventType* t = p.event_type(event)) unit = p.str(t->unit);
  if (unit.empty()) {
    std::string_view name = p.str(event);
    if (name == "cpu-clock" || name == "task-clock" || name == "off-cpu") return "nanoseconds";
  }
  for (std::string_view u : {"nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"})
    if (unit == u) return u;
  return "none";
}

class FrameTable {
 public:
  explicit FrameTable(const Profile& p) : p_(p), by_line_(p.lines().size(), kNone) {
    out_ = "{\"$schema\":";
    append_string(out_, kSchema);
    out_ += ",\"shared\":{\"frames\":[";
  }

  // The stack's frames, root first, as JSON text ("[1,2,3]"); computed once per stack.
  std::string_view stack_json(StackId id) {
    if (id >= stack_text_.size()) stack_text_.resize(p_.stacks().size());
    std::string& text = stack_text_[id];
    if (!text.empty()) return text;
    text = "[";
    auto locs = p_.stack(id);
    for (auto it = locs.rbegin(); it != locs.rend(); ++it) {
      const Location& loc = p_.locations()[*it];
      for (std::uint32_t k = loc.line_count; k-- > 0;) {
        if (text.size() > 1) text += ',';
        append_number(text, frame_of(loc, loc.first_line + k));
      }
    }
    text += ']';
    return text;
  }

  // The file's opening text up to and including the frames array.
  std::string take() {
    out_ += "]}";
    return std::move(out_);
  }

 private:
  static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

  std::uint32_t frame_of(const Location& loc, std::uint32_t line_index) {
    std::uint32_t& cached = by_line_[line_index];
    if (cached != kNone) return cached;
    const Line& line = p_.lines()[line_index];
    std::string name = frame_name(p_, loc, line);
    SrcLine src{};
    if (line.srcline != 0) src = split_srcline(p_.str(line.srcline));
    if (src.file.empty() && line.function != 0)
      src.file = p_.str(p_.functions()[line.function].filename);
    // Identity: name, file and line (sized, so that no byte in a name can fake a boundary).
    std::string key = std::to_string(name.size()) + ':' + name + std::to_string(src.file.size()) +
                      ':' + std::string(src.file) + std::to_string(src.line);
    auto [it, added] = ids_.try_emplace(std::move(key), static_cast<std::uint32_t>(ids_.size()));
    if (added) {
      if (it->second != 0) out_ += ',';
      out_ += "{\"name\":";
      append_string(out_, name);
      if (!src.file.empty()) {
        out_ += ",\"file\":";
        append_string(out_, src.file);
      }
      if (src.line > 0) {
        out_ += ",\"line\":";
        append_number(out_, static_cast<std::uint64_t>(src.line));
      }
      out_ += '}';
    }
    return cached = it->second;
  }

  const Profile& p_;
  std::string out_;
  std::vector<std::uint32_t> by_line_;  // line index -> frame id
  std::vector<std::string> stack_text_;
  std::unordered_map<std::string, std::uint32_t> ids_;  // frame key -> id
};

}  // namespace

std::string write_speedscope(const Profile& profile, const SpeedscopeOptions& options) {
  const auto& samples = profile.samples();
  // Events ranked by name, so that the profiles' order depends only on the contents.
  std::vector<StringId> events;
  for (const Sample& s : samples) events.push_back(s.event);
  std::sort(events.begin(), events.end());
  events.erase(std::unique(events.begin(), events.end()), events.end());
  std::sort(events.begin(), events.end(),
            [&](StringId a, StringId b) { return profile.str(a) < profile.str(b); });
  std::vector<std::uint32_t> rank(profile.strings().size());
  for (std::size_t i = 0; i < events.size(); ++i) rank[events[i]] = static_cast<std::uint32_t>(i);

  std::vector<std::uint32_t> order(samples.size());
  std::iota(order.begin(), order.end(), 0u);
  auto key = [&](std::uint32_t i) {
    const Sample& s = samples[i];
    return std::tuple(s.pid, s.tid, rank[s.event], s.time_ns);
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return key(a) < key(b); });

  FrameTable frames(profile);
  std::string body;  // the profiles array
  body.reserve(samples.size() * 16);
  std::size_t profile_count = 0, active = 0;
  std::uint64_t heaviest = 0;
  for (std::size_t begin = 0, end; begin < order.size(); begin = end) {
    const Sample& first = samples[order[begin]];
    end = begin + 1;
    while (end < order.size() && samples[order[end]].pid == first.pid &&
           samples[order[end]].tid == first.tid && samples[order[end]].event == first.event)
      ++end;
    // Named by the thread's latest comm (a thread renamed by exec is known by its new name).
    std::string_view comm;
    for (std::size_t k = begin; k < end; ++k)
      if (samples[order[k]].comm != 0) comm = profile.str(samples[order[k]].comm);
    std::string name(comm);
    if (first.pid != kUnknownPid || first.tid != kUnknownPid) {
      if (!name.empty()) name += ' ';
      name += std::to_string(first.pid) + '/' + std::to_string(first.tid);
    }
    if (name.empty()) name = "samples";
    if (events.size() > 1) name += ' ' + std::string(profile.str(first.event));

    if (!body.empty()) body += ',';
    body += "{\"type\":\"sampled\",\"name\":";
    append_string(body, name);
    body += ",\"unit\":\"";
    body += unit_of(profile, first.event);
    body += "\",\"startValue\":0,\"endValue\":";
    std::string weights = "[";
    std::uint64_t total = 0;
    for (std::size_t k = begin; k < end; ++k) {
      // A sample without a period (one read from a count-only pprof) weighs its count.
      const Sample& s = samples[order[k]];
      std::uint64_t w = s.period ? s.period : s.count ? s.count : 1;
      total = total > UINT64_MAX - w ? UINT64_MAX : total + w;
      if (k != begin) weights += ',';
      append_number(weights, w);
    }
    weights += ']';
    if (total > heaviest) {
      heaviest = total;
      active = profile_count;
    }
    ++profile_count;
    append_number(body, total);
    body += ",\"samples\":[";
    for (std::size_t k = begin; k < end; ++k) {
      if (k != begin) body += ',';
      body += frames.stack_json(samples[order[k]].stack);
    }
    body += "],\"weights\":";
    body += weights;
    body += '}';
  }

  std::string out = frames.take();
  out += ",\"profiles\":[";
  out += body;
  out += "],\"name\":";
  append_string(out, options.name.empty() ? std::string_view("profile") : options.name);
  // speedscope opens the heaviest thread (not the first, which may be a shell that ran it).
  out += ",\"activeProfileIndex\":";
  append_number(out, active);
  out += ",\"exporter\":";
  append_string(out, options.exporter.empty() ? std::string_view("profile") : options.exporter);
  out += "}\n";
  return out;
}

}  // namespace prof::interop

#include "prof/renderer/explorer.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "embedded_assets.h"

namespace prof::renderer {
namespace {

void append_base64(std::string& out, const std::vector<unsigned char>& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.reserve(out.size() + (bytes.size() + 2) / 3 * 4 + 2);
  out += '"';
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = bytes[i] << 16 | bytes[i + 1] << 8 | bytes[i + 2];
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t n = bytes[i] << 16;
    if (i + 1 < bytes.size()) n |= bytes[i + 1] << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  out += '"';
}

// `{"width":W,"data":"BASE64"}`: the values as a little-endian array of the narrowest unsigned
// type (1, 2 or 4 bytes) that holds the largest. The page reads it with Uint8Array, Uint16Array
// or Uint32Array, which use the platform's order: little-endian wherever a browser runs today.
void append_column(std::string& out, const std::vector<std::uint32_t>& values) {
  std::uint32_t max = 0;
  for (auto v : values) max = std::max(max, v);
  const std::size_t width = max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
  std::vector<unsigned char> bytes(values.size() * width);
  for (std::size_t i = 0; i < values.size(); ++i)
    for (std::size_t b = 0; b < width; ++b)
      bytes[i * width + b] = static_cast<unsigned char>(values[i] >> (8 * b));
  out += "{\"width\":" + std::to_string(width) + ",\"data\":";
  append_base64(out, bytes);
  out += '}';
}

// Sample times as the differences from the previous sample's, zigzag-signed (samples from
// several CPUs are not quite in time order) and LEB128 variable-length: most take one byte.
void append_time_deltas(std::string& out, const std::vector<std::uint32_t>& times) {
  std::vector<unsigned char> bytes;
  bytes.reserve(times.size() * 2);
  std::int64_t prev = 0;
  for (auto t : times) {
    const std::int64_t d = static_cast<std::int64_t>(t) - prev;
    prev = t;
    auto z = static_cast<std::uint64_t>(d < 0 ? -2 * d - 1 : 2 * d);
    do {
      unsigned char b = z & 0x7F;
      z >>= 7;
      bytes.push_back(z ? b | 0x80 : b);
    } while (z);
  }
  append_base64(out, bytes);
}

// Length of the valid UTF-8 sequence at s[i], 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}

// A JSON string that is also safe inside <script>: '<' is escaped, so no "</script>" or "<!--"
// can end the element; invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (std::size_t n = utf8_length(s, i)) {
        out.append(s.data() + i, n);
        i += n;
      } else {
        out += "\\ufffd";
        ++i;
      }
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

void append_html_text(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
}

struct ThreadKey {
  std::int64_t pid, tid;
  StringId comm;
  bool operator==(const ThreadKey&) const = default;
};
struct ThreadKeyHash {
  std::size_t operator()(const ThreadKey& k) const noexcept {
    return std::hash<std::uint64_t>()(static_cast<std::uint64_t>(k.pid) * 1000003u +
                                      static_cast<std::uint64_t>(k.tid)) ^
           (std::size_t{k.comm} << 1);
  }
};

}  // namespace

std::string explorer_frame_name(const Profile& profile, const Location& loc, const Line& line) {
  if (line.function != 0) {
    std::string_view name = profile.str(profile.functions()[line.function].name);
    if (!name.empty()) return std::string(name);
  }
  std::string_view path = loc.mapping ? profile.str(profile.mappings()[loc.mapping].path) : "";
  if (path.empty()) return "[unknown]";
  if (path.front() == '[') return std::string(path);
  const auto slash = path.rfind('/');
  return "[" + std::string(slash == std::string_view::npos ? path : path.substr(slash + 1)) + "]";
}

Result<ExplorerStats> write_explorer(const Profile& profile, const ExplorerOptions& options,
                                     std::string& out) {
  const auto& samples = profile.samples();
  if (samples.empty()) return Error{Errc::kNoData, "no samples to show"};

  // Frame names, interned.
  std::vector<std::string> names;
  std::unordered_map<std::string, std::uint32_t> name_ids;
  auto name_id = [&](std::string n) {
    auto [it, fresh] = name_ids.try_emplace(n, static_cast<std::uint32_t>(names.size()));
    if (fresh) names.push_back(std::move(n));
    return it->second;
  };
  // Frame name of each location's lines (leaf-most first), computed once per location.
  std::vector<std::vector<std::uint32_t>> loc_frames(profile.locations().size());
  std::vector<bool> loc_done(profile.locations().size());

  // Stack prefix tree: node 0 is the root; a child always gets a larger id than its parent.
  std::vector<std::uint32_t> node_parent{0};  // parent + 1; 0 for the root
  std::vector<std::uint32_t> node_frame{0};
  std::unordered_map<std::uint64_t, std::uint32_t> children;
  constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> stack_node(profile.stacks().size(), kNone);
  auto node_of_stack = [&](StackId id) {
    if (stack_node[id] != kNone) return stack_node[id];
    std::uint32_t node = 0;
    auto locs = profile.stack(id);
    for (auto it = locs.rbegin(); it != locs.rend(); ++it) {
      const Location& loc = profile.locations()[*it];
      if (!loc_done[*it]) {
        for (const Line& l : profile.lines(loc))
          loc_frames[*it].push_back(name_id(explorer_frame_name(profile, loc, l)));
        loc_done[*it] = true;
      }
      const auto& fr = loc_frames[*it];
      for (auto f = fr.rbegin(); f != fr.rend(); ++f) {
        const std::uint64_t key = std::uint64_t{node} << 32 | *f;
        auto [c, fresh] = children.try_emplace(key, static_cast<std::uint32_t>(node_parent.size()));
        if (fresh) {
          node_parent.push_back(node + 1);
          node_frame.push_back(*f);
        }
        node = c->second;
      }
    }
    return stack_node[id] = node;
  };

  std::uint64_t start = std::numeric_limits<std::uint64_t>::max(), end = 0;
  for (const Sample& s : samples) {
    if (s.time_ns == 0) continue;
    start = std::min(start, s.time_ns);
    end = std::max(end, s.time_ns);
  }
  const bool has_time = end != 0;
  if (!has_time) start = end = 0;

  const std::size_t n = samples.size();
  std::vector<std::uint32_t> time_us(n), sample_node(n), sample_thread(n), weight(n), cpu(n);
  bool weighted = false;
  std::vector<ThreadKey> threads;
  std::unordered_map<ThreadKey, std::uint32_t, ThreadKeyHash> thread_ids;
  for (std::size_t i = 0; i < n; ++i) {
    const Sample& s = samples[i];
    const std::uint64_t t = s.time_ns > start ? (s.time_ns - start) / 1000 : 0;
    time_us[i] = static_cast<std::uint32_t>(std::min<std::uint64_t>(t, UINT32_MAX));
    sample_node[i] = node_of_stack(s.stack);
    cpu[i] = static_cast<std::uint32_t>(std::clamp<std::int32_t>(s.cpu, -1, INT16_MAX) + 1);
    ThreadKey key{s.pid, s.tid, s.comm};
    auto [it, fresh] = thread_ids.try_emplace(key, static_cast<std::uint32_t>(threads.size()));
    if (fresh) threads.push_back(key);
    sample_thread[i] = it->second;
    weight[i] = static_cast<std::uint32_t>(std::min<std::uint64_t>(s.count, UINT32_MAX));
    weighted = weighted || weight[i] != 1;
  }

  // The data, as JSON inside a non-executed <script> (parsed once by the page).
  std::string data;
  data += "{\"version\":1,\"title\":";
  append_json_string(data, options.title);
  data += ",\"command\":";
  append_json_string(data, options.command);
  data += ",\"countName\":";
  append_json_string(data, options.count_name);
  data += ",\"hasTime\":";
  data += has_time ? "true" : "false";
  data += ",\"durationUs\":" + std::to_string(has_time ? (end - start) / 1000 : 0);
  data += ",\"frames\":[";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) data += ',';
    append_json_string(data, names[i]);
  }
  data += "],\"threads\":[";
  for (std::size_t i = 0; i < threads.size(); ++i) {
    if (i) data += ',';
    data += '[' + std::to_string(threads[i].pid) + ',' + std::to_string(threads[i].tid) + ',';
    append_json_string(data, profile.str(threads[i].comm));
    data += ']';
  }
  data += "],\"nodeParent\":";
  append_column(data, node_parent);
  data += ",\"nodeFrame\":";
  append_column(data, node_frame);
  data += ",\"samples\":" + std::to_string(n) + ",\"timeDeltas\":";
  append_time_deltas(data, time_us);
  data += ",\"cpu\":";  // CPU + 1, 0 = unknown
  append_column(data, cpu);
  data += ",\"thread\":";
  append_column(data, sample_thread);
  data += ",\"node\":";
  append_column(data, sample_node);
  data += ",\"weight\":";
  if (weighted) append_column(data, weight);
  else data += "null";
  data += '}';

  out.reserve(out.size() + data.size() + detail::kExplorerJs.size() + 8192);
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      // Nothing may leave the file: no fetch, no image, no font, no frame.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
  append_html_text(out, options.title);
  out += "</title>\n<style>\n";
  out += detail::kExplorerCss;
  out += "</style></head>\n<body>\n";
  out += detail::kExplorerHtml;
  out += "<script type=\"application/json\" id=\"profile-data\">";
  out += data;
  out += "</script>\n<script>\n";
  out += detail::kExplorerJs;
  out += "</script>\n</body></html>\n";
  return ExplorerStats{n, node_parent.size(), names.size(), has_time};
}

}  // namespace prof::renderer

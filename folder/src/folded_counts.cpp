#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>

#include "fold_engine.h"
#include "prof/folder/folder.h"

namespace prof::folder {
namespace {

void append_entry(std::string& out, std::string_view stack, std::uint64_t n) {
  out += stack;
  out += ' ';
  char num[24];
  auto r = std::to_chars(num, num + sizeof num, n);
  out.append(num, r.ptr);
  out += '\n';
}

}  // namespace

void FoldStats::add(const FoldStats& o) {
  lines += o.lines;
  samples += o.samples;
  filtered_samples += o.filtered_samples;
  weird_lines += o.weird_lines;
  if (event.empty()) event = o.event;
  perf_data = perf_data || o.perf_data;
}

std::size_t FoldedCounts::Hash::operator()(std::string_view s) const noexcept {
  return detail::hash_bytes(s);
}

bool FoldedCounts::add(std::string_view stack, std::uint64_t weight) {
  auto it = map_.find(stack);
  if (it == map_.end()) {
    map_.emplace(std::string(stack), weight);
    return true;
  }
  // Saturate rather than wrap: a wrapped count would silently shrink a frame.
  if (__builtin_add_overflow(it->second, weight, &it->second)) {
    it->second = std::numeric_limits<std::uint64_t>::max();
    return false;
  }
  return true;
}

bool FoldedCounts::merge(FoldedCounts&& other) {
  bool ok = true;
  if (map_.empty()) {
    map_ = std::move(other.map_);
    other.map_.clear();
    return ok;
  }
  while (!other.map_.empty()) {
    auto node = other.map_.extract(other.map_.begin());
    auto it = map_.find(node.key());
    if (it == map_.end()) {
      map_.insert(std::move(node));
    } else if (__builtin_add_overflow(it->second, node.mapped(), &it->second)) {
      it->second = std::numeric_limits<std::uint64_t>::max();
      ok = false;
    }
  }
  return ok;
}

std::uint64_t FoldedCounts::count(std::string_view stack) const {
  auto it = map_.find(stack);
  return it == map_.end() ? 0 : it->second;
}

std::vector<std::pair<std::string_view, std::uint64_t>> FoldedCounts::sorted() const {
  std::vector<std::pair<std::string_view, std::uint64_t>> v;
  v.reserve(map_.size());
  for (const auto& [k, n] : map_) v.emplace_back(k, n);
  // string_view compares with char_traits<char>::compare, i.e. memcmp: byte-wise, unsigned,
  // as Perl's `cmp` without a locale.
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return v;
}

std::map<std::string, std::uint64_t, std::less<>> FoldedCounts::to_map() const {
  return {map_.begin(), map_.end()};
}

std::string FoldedCounts::to_string() const {
  std::string out;
  for (const auto& [k, n] : sorted()) append_entry(out, k, n);
  return out;
}

Result<void> FoldedCounts::write(std::ostream& out) const {
  std::string buf;
  constexpr std::size_t kFlushAt = 1 << 20;
  for (const auto& [k, n] : sorted()) {
    append_entry(buf, k, n);
    if (buf.size() >= kFlushAt) {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
      if (!out) break;
    }
  }
  if (out) out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out.flush();
  if (!out) return Error{Errc::kIo, "write failed"};
  return ok();
}

}  // namespace prof::folder

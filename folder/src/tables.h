// Private: the hash tables of the folding hot path. Open addressing over flat arrays, keys in
// arenas: no allocation per line or per sample, one probe sequence per lookup.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/flat_index.h"

namespace prof::folder::detail {

using prof::FlatIndex;
using prof::hash_bytes;

// Frame names (and process frames) -> dense ids. Never shrinks: every name in it is part of a
// counted stack, so its size is bounded by the output.
class Interner {
 public:
  std::uint32_t intern(std::string_view s) {
    std::uint64_t h = FlatIndex::tag(hash_bytes(s));
    if (const auto* id = index_.find(h, [&](std::uint32_t v) { return name(v) == s; })) return *id;
    auto id = static_cast<std::uint32_t>(names_.size());
    names_.push_back({arena_.size(), s.size()});
    arena_.append(s);
    index_.insert(h, id);
    return id;
  }
  std::size_t size() const { return names_.size(); }
  std::string_view name(std::uint32_t id) const {
    return std::string_view(arena_).substr(names_[id].first, names_[id].second);
  }

 private:
  FlatIndex index_;
  std::string arena_;
  std::vector<std::pair<std::size_t, std::size_t>> names_;
};

// Stacks as id sequences (root first) -> summed weight.
class StackTable {
 public:
  // Returns false when the sum saturated at UINT64_MAX.
  bool add(std::span<const std::uint32_t> ids, std::uint64_t weight) {
    const char* bytes = reinterpret_cast<const char*>(ids.data());
    std::uint64_t h = FlatIndex::tag(hash_bytes(bytes, ids.size_bytes()));
    auto same = [&](std::uint32_t e) {
      const Entry& en = entries_[e];
      return en.len == ids.size() &&
             std::memcmp(ids_.data() + en.offset, ids.data(), ids.size_bytes()) == 0;
    };
    if (const auto* e = index_.find(h, same)) {
      Entry& en = entries_[*e];
      if (__builtin_add_overflow(en.count, weight, &en.count)) {
        en.count = ~std::uint64_t{0};
        return false;
      }
      return true;
    }
    index_.insert(h, static_cast<std::uint32_t>(entries_.size()));
    entries_.push_back({ids_.size(), ids.size(), weight});
    ids_.insert(ids_.end(), ids.begin(), ids.end());
    return true;
  }
  std::size_t size() const { return entries_.size(); }
  template <typename Fn>  // fn(std::span<const uint32_t> ids, uint64_t count)
  void for_each(Fn fn) const {
    for (const Entry& e : entries_)
      fn(std::span<const std::uint32_t>(ids_.data() + e.offset, e.len), e.count);
  }

 private:
  struct Entry {
    std::size_t offset;
    std::size_t len;
    std::uint64_t count;
  };
  FlatIndex index_;
  std::vector<std::uint32_t> ids_;
  std::vector<Entry> entries_;
};

}  // namespace prof::folder::detail

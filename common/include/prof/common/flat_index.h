// FlatIndex: the one open-addressing hash index of the project — 32-bit ids under 64-bit hashes,
// with the keys kept by the caller (in its own dense arrays) and compared through a predicate.
// The folder's frame and stack tables and the symbolizer's location table and callchain cache
// use it: a node-based map's pointer chase per lookup was a tenth of their time. hash_bytes is
// the byte-string hash those tables (and the renderer's pruned-name index) feed it.
//
// Pipeline position: prof::common, shared by the stages' hot tables.
//
//   prof::FlatIndex index;
//   std::uint64_t h = prof::FlatIndex::tag(hash_of(key));
//   if (auto* id = index.find(h, [&](std::uint32_t v) { return keys[v] == key; })) return *id;
//   keys.push_back(key);
//   index.insert(h, keys.size() - 1);
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace prof {

// A fast hash for byte strings: four independent 8-byte lanes, then one lane for the tail.
inline std::uint64_t hash_bytes(const char* p, std::size_t n) {
  constexpr std::uint64_t k1 = 0x9e3779b97f4a7c15ULL, k2 = 0xbf58476d1ce4e5b9ULL,
                          k3 = 0x94d049bb133111ebULL;
  auto load = [](const char* q) {
    std::uint64_t v;
    std::memcpy(&v, q, 8);
    return v;
  };
  auto mix = [](std::uint64_t h, std::uint64_t v) {
    h = (h ^ v) * k2;
    return h ^ (h >> 32);
  };
  auto rotl = [](std::uint64_t v, int r) { return (v << r) | (v >> (64 - r)); };
  std::uint64_t h = k1 ^ n;
  if (n >= 32) {
    std::uint64_t a = h, b = k2, c = k3, d = k1 + k3;
    do {
      a = mix(a, load(p));
      b = mix(b, load(p + 8));
      c = mix(c, load(p + 16));
      d = mix(d, load(p + 24));
      p += 32;
      n -= 32;
    } while (n >= 32);
    h = a ^ rotl(b, 17) ^ rotl(c, 31) ^ rotl(d, 47);
  }
  while (n >= 8) {
    h = mix(h, load(p));
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = mix(h, v ^ (static_cast<std::uint64_t>(n) << 59));
  }
  h ^= h >> 31;
  h *= k3;
  return h ^ (h >> 29);
}

inline std::uint64_t hash_bytes(std::string_view s) { return hash_bytes(s.data(), s.size()); }

// hash -> 32-bit value; the caller compares keys. Hash 0 marks a free slot, so stored hashes
// have their low bit set.
class FlatIndex {
 public:
  // A hash as the index stores it: never 0, which marks an empty slot.
  static std::uint64_t tag(std::uint64_t h) { return h | 1; }

  // The value stored under a hash for which eq(value) holds, or null.
  template <typename Eq>
  const std::uint32_t* find(std::uint64_t h, Eq eq) const {
    if (slots_.empty()) return nullptr;
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(h, mask);; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.hash == 0) return nullptr;
      if (s.hash == h && eq(s.value)) return &s.value;
    }
  }
  void insert(std::uint64_t h, std::uint32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(h, value);
    ++size_;
  }
  void clear() {
    slots_.clear();
    size_ = 0;
  }
  std::size_t size() const { return size_; }

 private:
  // The first slot to probe: the tag's low bit is always set, so the bits above it choose.
  static std::size_t home(std::uint64_t h, std::size_t mask) {
    return static_cast<std::size_t>(h >> 1) & mask;
  }
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t value = 0;
  };
  void place(std::uint64_t h, std::uint32_t value) {
    std::size_t mask = slots_.size() - 1;
    std::size_t i = home(h, mask);
    while (slots_[i].hash != 0) i = (i + 1) & mask;
    slots_[i] = Slot{h, value};
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    for (const Slot& s : old)
      if (s.hash != 0) place(s.hash, s.value);
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace prof

// The one lookup every symbol table here needs: the entry whose [start, end) covers an address,
// in a sequence sorted by start (kallsyms, ELF symbols, perf maps).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace prof::symbolizer::detail {

template <typename T>
const T* find_covering(std::span<const T> sorted, std::uint64_t address) {
  auto it = std::upper_bound(sorted.begin(), sorted.end(), address,
                             [](std::uint64_t a, const T& s) { return a < s.start; });
  if (it == sorted.begin()) return nullptr;
  --it;
  return address < it->end ? &*it : nullptr;
}

// The index of that entry.
template <typename T>
std::optional<std::size_t> find_covering_index(std::span<const T> sorted, std::uint64_t address) {
  if (const T* e = find_covering(sorted, address))
    return static_cast<std::size_t>(e - sorted.data());
  return std::nullopt;
}

template <typename T>
const T* find_covering(const std::vector<T>& sorted, std::uint64_t address) {
  return find_covering(std::span<const T>(sorted), address);
}

}  // namespace prof::symbolizer::detail

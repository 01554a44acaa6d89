#include "callchain_translator.h"

#include <algorithm>

namespace prof::symbolizer::detail {
namespace {

std::uint64_t chain_hash(std::span<const std::uint64_t> chain, std::uint32_t pid,
                         std::uint64_t generation, bool kernel) {
  std::uint64_t h = (generation * 0x9e3779b97f4a7c15ull) ^ (std::uint64_t{pid} << 1) ^ kernel;
  for (std::uint64_t w : chain) {
    h ^= w;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  return h ^ (h >> 32);
}

}  // namespace

CallchainTranslator::Chain CallchainTranslator::translate_chain(
    std::span<const std::uint64_t> chain, std::uint32_t pid, bool kernel) {
  const std::uint64_t generation = registry_.maps_generation(pid);
  const std::uint64_t hash = chain_hash(chain, pid, generation, kernel);
  if (Entry* hit = find(chain, pid, generation, kernel, hash)) return chain_of(*hit);
  const bool kernel_first = kernel;
  bool corrupt = false;
  scratch_.clear();
  for (std::uint64_t ip : chain) {
    if (ip >= PERF_CONTEXT_MAX) {
      if (ip == PERF_CONTEXT_KERNEL || ip == PERF_CONTEXT_GUEST_KERNEL) {
        kernel = true;
      } else if (ip == PERF_CONTEXT_USER || ip == PERF_CONTEXT_GUEST_USER ||
                 ip == PERF_CONTEXT_HV || ip == PERF_CONTEXT_GUEST) {
        kernel = false;
      } else {
        // Not a marker the kernel writes: a frame-pointer walk through garbage (-1 is
        // common). perf discards the whole stack ("invalid callchain context"); we keep
        // the frames before it, which are sound, and count the sample.
        corrupt = true;
        break;
      }
      continue;
    }
    if (scratch_.size() == options_.max_stack) break;
    scratch_.push_back(location(pid, ip, kernel, !scratch_.empty()));
  }
  return chain_of(remember(chain, pid, generation, kernel_first, hash, corrupt));
}

CallchainTranslator::Entry* CallchainTranslator::find(std::span<const std::uint64_t> chain,
                                                      std::uint32_t pid, std::uint64_t generation,
                                                      bool kernel, std::uint64_t hash) {
  if (slots_.empty()) return nullptr;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const std::uint32_t slot = slots_[i];
    if (slot == 0) return nullptr;
    Entry& e = entries_[slot - 1];
    if (e.hash == hash && e.pid == pid && e.generation == generation && e.kernel == kernel &&
        e.chain_len == chain.size() &&
        std::equal(chain.begin(), chain.end(), words_.begin() + e.chain_first))
      return &e;
  }
}

CallchainTranslator::Entry& CallchainTranslator::remember(std::span<const std::uint64_t> chain,
                                                          std::uint32_t pid,
                                                          std::uint64_t generation, bool kernel,
                                                          std::uint64_t hash, bool corrupt) {
  if (words_.size() + chain.size() > kWordsMax) {
    entries_.clear();
    slots_.clear();
    words_.clear();
    locs_.clear();
  }
  if ((entries_.size() + 1) * 2 > slots_.size()) {
    slots_.assign(std::max<std::size_t>(1024, slots_.size() * 2), 0);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t k = 0; k < entries_.size(); ++k) {
      std::size_t i = entries_[k].hash & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = static_cast<std::uint32_t>(k + 1);
    }
  }
  Entry e{hash,
          generation,
          pid,
          kernel,
          corrupt,
          static_cast<std::uint32_t>(words_.size()),
          static_cast<std::uint32_t>(chain.size()),
          static_cast<std::uint32_t>(locs_.size()),
          static_cast<std::uint32_t>(scratch_.size())};
  words_.insert(words_.end(), chain.begin(), chain.end());
  locs_.insert(locs_.end(), scratch_.begin(), scratch_.end());
  entries_.push_back(e);
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = hash & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = static_cast<std::uint32_t>(entries_.size());
  return entries_.back();
}

}  // namespace prof::symbolizer::detail

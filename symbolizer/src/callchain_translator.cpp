#include "callchain_translator.h"

#include <algorithm>

#include "huge_pages.h"

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

void CallchainTranslator::reserve(std::size_t frames) {
  const std::size_t n = std::min(frames, kWordsMax);
  if (n <= words_.capacity()) return;
  words_.reserve(n);
  locs_.reserve(n);
  huge_pages(words_.data(), words_.capacity() * sizeof(std::uint64_t));
  huge_pages(locs_.data(), locs_.capacity() * sizeof(std::uint32_t));
}

CallchainTranslator::Entry* CallchainTranslator::find(std::span<const std::uint64_t> chain,
                                                      std::uint32_t pid, std::uint64_t generation,
                                                      bool kernel, std::uint64_t hash) {
  const auto* id = index_.find(FlatIndex::tag(hash), [&](std::uint32_t v) {
    const Entry& e = entries_[v];
    return e.hash == hash && e.pid == pid && e.generation == generation && e.kernel == kernel &&
           e.chain_len == chain.size() &&
           std::equal(chain.begin(), chain.end(), words_.begin() + e.chain_first);
  });
  return id ? &entries_[*id] : nullptr;
}

CallchainTranslator::Entry& CallchainTranslator::remember(std::span<const std::uint64_t> chain,
                                                          std::uint32_t pid,
                                                          std::uint64_t generation, bool kernel,
                                                          std::uint64_t hash, bool corrupt) {
  if (words_.size() + chain.size() > kWordsMax) {
    entries_.clear();
    index_.clear();
    words_.clear();
    locs_.clear();
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
  index_.insert(FlatIndex::tag(hash), static_cast<std::uint32_t>(entries_.size() - 1));
  return entries_.back();
}

}  // namespace prof::symbolizer::detail

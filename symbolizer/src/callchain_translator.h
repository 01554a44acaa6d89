// CallchainTranslator: a sample's frame-pointer callchain (or one address) into location ids.
//
// Pipeline position: inside the symbolizer, between the records and the LocationTable. Each
// address is looked up in its process's maps of that moment (ObjectRegistry) and interned as a
// location; a location seen for the first time is handed to the LocationResolver's prefetch.
// A CPU-bound capture repeats a few thousand stacks tens of thousands of times, and a
// frame-pointer callchain's locations depend only on its addresses, the sample's starting mode
// and its process's maps at the time (pid and maps generation; generations are unique across
// processes, 0 meaning no maps). So each distinct chain is translated once and remembered,
// with a slot where the caller keeps what it made of it (the profile's stack id).
//
//   CallchainTranslator tr(options, registry, table, resolver);
//   auto chain = tr.translate_chain(sample.callchain, pid, kernel);
//   if (chain.corrupt) ++corrupt;  // chain.locations: leaf first
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "location_resolver.h"
#include "object_registry.h"
#include "prof/common/flat_index.h"

namespace prof::symbolizer::detail {

class CallchainTranslator {
 public:
  static constexpr std::uint32_t kNoStack = ~std::uint32_t{0};

  struct Chain {
    std::span<const std::uint32_t> locations;  // valid until the next translate_chain
    bool corrupt = false;                      // cut at a value that is no context marker
    std::uint32_t* stack;  // the caller's note for this chain (kNoStack at first)
  };

  CallchainTranslator(const Options& options, ObjectRegistry& registry, LocationTable& table,
                      LocationResolver& resolver)
      : options_(options), registry_(registry), table_(table), resolver_(resolver) {}

  // The location of `ip`, sampled in `pid` in kernel or user mode; `caller`: a return address.
  std::uint32_t location(std::uint32_t pid, std::uint64_t ip, bool kernel, bool caller) {
    if (kernel) return intern({{kKernelObject, false, false, ip}, ip});
    return intern(registry_.translate_user(pid, ip, caller));
  }
  std::uint32_t intern(const KeyedAddress& k) {
    bool added = false;
    const std::uint32_t id = table_.intern(k.first, k.second, added);
    if (added) resolver_.prefetch(k.first);
    return id;
  }

  // Room for the words and locations of `frames` frames of distinct chains (a hint, bounded by
  // what is kept before starting over): grown by doubling, they were copied and faulted in
  // twice, a tenth of a busy capture's run. Untouched room costs address space only.
  void reserve(std::size_t frames);

  // The frames of a frame-pointer callchain, at most Options::max_stack; `kernel`: the sample
  // started in kernel mode.
  Chain translate_chain(std::span<const std::uint64_t> chain, std::uint32_t pid, bool kernel);
  // The profile's stacks were dropped: every chain's noted stack id is void.
  void forget_stacks() {
    for (Entry& e : entries_) e.stack = kNoStack;
  }

 private:
  struct Entry {
    std::uint64_t hash;
    std::uint64_t generation;
    std::uint32_t pid;
    bool kernel;   // the sample started in kernel mode
    bool corrupt;  // cut at a value that is no context marker (counted again on each hit)
    std::uint32_t chain_first, chain_len;  // in words_
    std::uint32_t locs_first, loc_count;   // in locs_
    std::uint32_t stack = kNoStack;
  };
  static constexpr std::size_t kWordsMax = std::size_t{1} << 22;  // 32 MB, then start over

  Entry* find(std::span<const std::uint64_t> chain, std::uint32_t pid, std::uint64_t generation,
              bool kernel, std::uint64_t hash);
  Entry& remember(std::span<const std::uint64_t> chain, std::uint32_t pid, std::uint64_t generation,
                  bool kernel, std::uint64_t hash, bool corrupt);
  Chain chain_of(Entry& e) {
    return {std::span(locs_).subspan(e.locs_first, e.loc_count), e.corrupt, &e.stack};
  }

  const Options& options_;
  ObjectRegistry& registry_;
  LocationTable& table_;
  LocationResolver& resolver_;
  std::vector<Entry> entries_;
  FlatIndex index_;  // entries_ by chain hash
  std::vector<std::uint64_t> words_;
  std::vector<std::uint32_t> locs_;
  std::vector<std::uint32_t> scratch_;
};

}  // namespace prof::symbolizer::detail

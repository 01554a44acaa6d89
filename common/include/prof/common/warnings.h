// WarningSink: how libraries report soft problems (an unparsable line, an unresolved address,
// lost samples) without printing. Pipeline position: shared by all stages.
//
// Each warning has a `kind` (a short stable key such as "weird-stack-line"); the sink counts
// every kind and remembers the first occurrence, so a CLI can print one warning per kind
// (default), all of them (-v), or none (-q).
//
//   prof::WarningSink sink;
//   sink.warn("weird-stack-line", "in.txt:12: expected 'ADDR SYMBOL (MODULE)'");
//   for (const auto& k : sink.kinds()) std::cerr << k.first_message << " (" << k.count << "x)\n";
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace prof {

class WarningSink {
 public:
  struct Kind {
    std::string kind;
    std::string first_message;
    std::uint64_t count = 0;
  };
  // Called for every warning as it happens (optional), e.g. to print all of them with -v.
  using Callback = std::function<void(std::string_view kind, std::string_view message)>;

  WarningSink() = default;
  explicit WarningSink(Callback on_each) : on_each_(std::move(on_each)) {}

  // Thread-safe.
  void warn(std::string_view kind, std::string_view message);

  // Kinds in order of first occurrence.
  std::vector<Kind> kinds() const;
  std::uint64_t count(std::string_view kind) const;
  std::uint64_t total() const;

 private:
  mutable std::mutex mu_;
  std::vector<Kind> kinds_;
  Callback on_each_;
};

}  // namespace prof

#include "prof/common/warnings.h"

namespace prof {

void WarningSink::warn(std::string_view kind, std::string_view message) {
  {
    std::lock_guard lock(mu_);
    bool found = false;
    for (auto& k : kinds_) {
      if (k.kind == kind) {
        ++k.count;
        found = true;
        break;
      }
    }
    if (!found) kinds_.push_back(Kind{std::string(kind), std::string(message), 1});
  }
  if (on_each_) on_each_(kind, message);
}

std::vector<WarningSink::Kind> WarningSink::kinds() const {
  std::lock_guard lock(mu_);
  return kinds_;
}

std::uint64_t WarningSink::count(std::string_view kind) const {
  std::lock_guard lock(mu_);
  for (const auto& k : kinds_)
    if (k.kind == kind) return k.count;
  return 0;
}

std::uint64_t WarningSink::total() const {
  std::lock_guard lock(mu_);
  std::uint64_t n = 0;
  for (const auto& k : kinds_) n += k.count;
  return n;
}

}  // namespace prof

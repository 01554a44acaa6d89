// Which of several symbols at one address is printed. perf keeps exactly one per address
// (symbols__fixup_duplicate + choose_best_symbol in tools/perf/util/symbol.c); we follow the
// same preference order so our names agree with `perf script` for aliased functions
// (glibc's `__GI_memcpy`/`memcpy`, the kernel's `__x64_sys_*`/`__do_sys_*`, ...).
#pragma once

#include <cstdint>
#include <string_view>

namespace prof::symbolizer::detail {

enum class Binding { kLocal, kGlobal, kWeak };

struct SymbolTraits {
  std::string_view name;
  std::uint64_t size = 0;
  Binding binding = Binding::kLocal;
};

// True when `a` should be kept over `b` (an earlier symbol at the same address wins ties).
inline bool prefer_symbol(const SymbolTraits& a, const SymbolTraits& b) {
  if ((a.size == 0) != (b.size == 0)) return a.size != 0;
  if ((a.binding == Binding::kWeak) != (b.binding == Binding::kWeak))
    return a.binding != Binding::kWeak;
  if ((a.binding == Binding::kGlobal) != (b.binding == Binding::kGlobal))
    return a.binding == Binding::kGlobal;
  auto underscores = [](std::string_view n) {
    std::size_t i = 0;
    while (i < n.size() && n[i] == '_') ++i;
    return i;
  };
  if (underscores(a.name) != underscores(b.name)) return underscores(a.name) < underscores(b.name);
  auto sys_alias = [](std::string_view n) {
    return n.substr(0, 3) == "SyS" || n.substr(0, 10) == "compat_SyS";
  };
  if (sys_alias(a.name) != sys_alias(b.name)) return !sys_alias(a.name);
  return a.name.size() >= b.name.size();
}

}  // namespace prof::symbolizer::detail

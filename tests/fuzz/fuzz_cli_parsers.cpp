// Fuzz target: the command-line value parsers of `profile record` / `profile`: durations
// ("30s", "1m30s", "500ms"), CPU lists ("0-3,8") and PID lists ("1,2,3"). The first byte picks
// the parser. A list that parses must come back sorted, without repeats and in range, and however
// many ranges it names ("0-1048575,0-1048575,...") its size stays bounded by the range limit.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "prof/collector/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view word(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto d = prof::collector::parse_duration(word);
      if (d && d->count() < 0) __builtin_trap();
      break;
    }
    case 1: {
      auto cpus = prof::collector::parse_cpu_list(word);
      if (cpus) {
        if (cpus->empty() || cpus->size() > (1u << 20)) __builtin_trap();
        for (std::size_t i = 0; i < cpus->size(); ++i) {
          if ((*cpus)[i] < 0 || (i > 0 && (*cpus)[i] <= (*cpus)[i - 1])) __builtin_trap();
        }
      }
      break;
    }
    default: {
      auto pids = prof::collector::parse_pid_list(word);
      if (pids) {
        if (pids->empty()) __builtin_trap();
        for (std::size_t i = 0; i < pids->size(); ++i) {
          if ((*pids)[i] <= 0 || (i > 0 && (*pids)[i] <= (*pids)[i - 1])) __builtin_trap();
        }
      }
      break;
    }
  }
  return 0;
}

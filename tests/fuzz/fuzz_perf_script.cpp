// Fuzz target: the folder's perf-script text parser, fed in two chunks split at a byte chosen by
// the input (chunk boundaries must not matter), with every option combination it can reach.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "prof/folder/folder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t split = data[1] % (size - 1);
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  prof::folder::Options opt;
  opt.include_pid = flags & 1;
  opt.include_tid = flags & 2;
  opt.annotate_kernel = flags & 4;
  opt.annotate_jit = flags & 8;
  opt.include_addrs = flags & 16;
  opt.per_cpu = flags & 32;
  if (flags & 64) opt.skip_after = {"main"};
  opt.strict = flags & 128;
  prof::WarningSink sink;
  prof::folder::Folder folder(opt, &sink);
  auto a = folder.feed(text.substr(0, split));
  if (a) {
    auto b = folder.feed(text.substr(split));
    if (b) (void)folder.finish();
  }
  (void)folder.counts().to_string();
  return 0;
}

// Fuzz target: the kallsyms cache reader. A cache file lives in a user-writable directory and
// may be truncated, garbled or written by another build: reading it must be a miss or a table
// whose every view lies in the file, never a crash. Structure-aware: the input edits a valid
// cache file (byte flips at chosen offsets, then a truncation or an extension), so the fuzzer
// starts past the magic and identity checks instead of having to discover them.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

// Private header of prof::symbolizer: the cache takes its identity as a parameter here.
#include "../../symbolizer/src/kallsyms_cache.h"

namespace {

using prof::symbolizer::KallsymsTable;
using prof::symbolizer::KernelSymbol;
using prof::symbolizer::detail::KallsymsCache;
using prof::symbolizer::detail::KallsymsIdentity;

const char* kText =
    "ffffffff81000000 T _text\n"
    "ffffffff81000100 T memcpy\n"
    "ffffffff81000100 T __pi_memcpy\n"
    "ffffffffc0a01000 t nft_do_chain\t[nf_tables]\n"
    "ffffffffc0300000 t bpf_prog_1_x\t[bpf]\n";

std::string temp_file() {
  char path[] = "/tmp/fuzz-kallsyms-cache-XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string file = temp_file();
  static const KallsymsCache cache(
      file, KallsymsIdentity::from("boot", "nf_tables 4096 0 - Live 0xffffffffc0a00000\n", 0));
  static const std::string valid = [] {
    cache.write(KallsymsTable::parse(kText));
    std::string bytes;
    if (FILE* f = std::fopen(file.c_str(), "rb")) {
      char buf[4096];
      std::size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
      std::fclose(f);
    }
    return bytes;
  }();
  if (valid.empty()) return 0;
  // Input: a length word, then (offset word, xor byte) triples.
  std::string bytes = valid;
  std::size_t i = 0;
  if (size >= 2) {
    std::size_t length = (std::size_t{data[0]} << 8 | data[1]) % (valid.size() + 64);
    bytes.resize(length, '\0');
    i = 2;
  }
  for (; i + 3 <= size && !bytes.empty(); i += 3)
    bytes[(std::size_t{data[i]} << 8 | data[i + 1]) % bytes.size()] ^=
        static_cast<char>(data[i + 2]);
  if (FILE* f = std::fopen(file.c_str(), "wb")) {
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  if (auto t = cache.read()) {
    for (const KernelSymbol& s : t->symbols()) {
      if (t->find(s.start) != &s) __builtin_trap();
      volatile char sink = 0;  // every view must be readable (ASan reports the rest)
      for (char c : s.name) sink = static_cast<char>(sink ^ c);
      for (char c : s.module) sink = static_cast<char>(sink ^ c);
      (void)t->trusted_at(s.start);
    }
  }
  return 0;
}

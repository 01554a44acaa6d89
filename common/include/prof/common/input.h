// InputFile: reads a file or stdin ("-") as bytes, transparently decompressing gzip, bzip2,
// xz and zstd. The format is detected from the magic bytes, not the file name, so
// `profile fold capture.txt.gz`, `... < capture.zst` and a misnamed file all work.
// Pipeline position: shared input layer for the folder (perf script text) and renderer (folded).
//
//   auto in = prof::InputFile::open("perf.txt.xz");
//   if (!in) return in.error();                // "perf.txt.xz: No such file or directory"
//   char buf[1 << 16];
//   for (;;) {
//     auto n = in->read(buf, sizeof buf);       // 0 at end of input
//     if (!n) return n.error();                 // "perf.txt.xz: corrupt xz data near byte 4096"
//     if (*n == 0) break;
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "prof/common/result.h"

namespace prof {

enum class Compression { kNone, kGzip, kBzip2, kXz, kZstd };

// Identifies compression from the first bytes of a file (needs up to 6 bytes).
Compression detect_compression(std::string_view head);
std::string_view compression_name(Compression c);

class InputFile {
 public:
  // path "-" means standard input. Fails if the file cannot be opened.
  static Result<std::unique_ptr<InputFile>> open(const std::string& path);
  virtual ~InputFile() = default;

  // Reads up to n decompressed bytes; 0 means end of input. A read or decompression failure is
  // an Error naming the file and the (compressed) byte offset reached.
  virtual Result<std::size_t> read(char* buf, std::size_t n) = 0;

  // Reads everything that is left (convenience for small inputs and tests).
  Result<std::string> read_all();

  const std::string& name() const { return name_; }  // "<stdin>" for "-"
  Compression compression() const { return compression_; }

 protected:
  InputFile(std::string name, Compression c) : name_(std::move(name)), compression_(c) {}

 private:
  std::string name_;
  Compression compression_;
};

}  // namespace prof

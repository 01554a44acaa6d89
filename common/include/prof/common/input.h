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

// What an input's first bytes say it is. Text commands (fold, render, diff) refuse the rest
// with a message that says what to run instead (expect_text below); the perf.data reader uses
// it to say what it got instead of perf.data.
enum class ContentKind {
  kText,
  kPerfData,    // "PERFILE2" (file and pipe mode), either byte order
  kElf,         // an executable, library or core file
  kCompressed,  // a compressed or archive format (Content::format names it)
  kBinary,      // anything else with NUL bytes or mostly control characters
};
struct Content {
  ContentKind kind = ContentKind::kText;
  std::string_view format;  // kCompressed: "gzip", "bzip2", "xz", "zstd", "lz4", "zip", "7z"
};
// Looks at up to kSniffBytes of `head` (fewer is fine).
inline constexpr std::size_t kSniffBytes = 4096;
Content sniff_content(std::string_view head);

class InputFile {
 public:
  // path "-" means standard input. Fails if the file cannot be opened.
  static Result<std::unique_ptr<InputFile>> open(const std::string& path);
  virtual ~InputFile() = default;

  // Reads up to n decompressed bytes; 0 means end of input. A read or decompression failure is
  // an Error naming the file and the (compressed) byte offset reached.
  Result<std::size_t> read(char* buf, std::size_t n);

  // The first (up to) n decompressed bytes, without consuming them: read() returns them
  // again. Shorter only at end of input.
  Result<std::string_view> peek(std::size_t n);

  // Reads everything that is left (convenience for small inputs and tests).
  Result<std::string> read_all();

  const std::string& name() const { return name_; }  // "<stdin>" for "-"
  Compression compression() const { return compression_; }

 protected:
  InputFile(std::string name, Compression c) : name_(std::move(name)), compression_(c) {}
  // read() without the peeked bytes.
  virtual Result<std::size_t> read_some(char* buf, std::size_t n) = 0;

 private:
  std::string name_;
  Compression compression_;
  std::string peeked_;
  std::size_t peeked_pos_ = 0;
};

// What a text command expects, for the advice expect_text() gives.
enum class TextFormat {
  kPerfScript,  // `profile fold`: 'perf script' text
  kFolded,      // `profile render`, `profile diff`: folded stacks
};
// Peeks at the start of `in` (call it before reading): ok() for text; otherwise an Error
// (kUnsupported) naming the file, what it is and what to run instead, e.g. "'x.data' is a
// perf.data file, not folded stacks ('a;b;c COUNT' lines): use 'profile report x.data' ...".
Result<void> expect_text(InputFile& in, TextFormat want);

}  // namespace prof

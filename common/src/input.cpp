#include "prof/common/input.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/iostreams/categories.hpp>
#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filter/lzma.hpp>
#include <boost/iostreams/filter/zstd.hpp>
#include <boost/iostreams/filtering_stream.hpp>
#include <cerrno>
#include <cstring>
#include <exception>

#include "prof/common/unique_fd.h"

namespace prof {
namespace {

namespace bio = boost::iostreams;

Compression detect(std::string_view h) {
  auto starts = [&](std::string_view m) { return h.substr(0, m.size()) == m; };
  if (starts("\x1f\x8b")) return Compression::kGzip;
  if (starts("BZh")) return Compression::kBzip2;
  if (starts(std::string_view("\xfd"
                              "7zXZ\0",
                              6)))
    return Compression::kXz;
  if (starts("\x28\xb5\x2f\xfd")) return Compression::kZstd;
  return Compression::kNone;
}

// Reads a file descriptor, first replaying the bytes already consumed to sniff the magic.
class FdReader {
 public:
  // `owned` is `fd` when the reader opened it (closed with the reader), else empty (stdin).
  FdReader(int fd, UniqueFd owned, std::string prefix)
      : fd_(fd), owned_(std::move(owned)), prefix_(std::move(prefix)) {}

  // Returns bytes read, 0 at EOF, -1 with errno on failure.
  ssize_t read(char* buf, std::size_t n) {
    if (pos_ < prefix_.size()) {
      std::size_t k = std::min(n, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, k);
      pos_ += k;
      offset_ += k;
      return static_cast<ssize_t>(k);
    }
    for (;;) {
      ssize_t r = ::read(fd_, buf, n);
      if (r < 0 && errno == EINTR) continue;
      if (r > 0) offset_ += static_cast<std::uint64_t>(r);
      return r;
    }
  }
  std::uint64_t offset() const { return offset_; }

 private:
  int fd_;
  UniqueFd owned_;
  std::string prefix_;
  std::size_t pos_ = 0;
  std::uint64_t offset_ = 0;
};

// Boost.iostreams source over FdReader (a non-owning handle; copies are cheap).
class FdSource {
 public:
  using char_type = char;
  using category = bio::source_tag;
  explicit FdSource(FdReader* r) : r_(r) {}
  std::streamsize read(char* s, std::streamsize n) {
    ssize_t k = r_->read(s, static_cast<std::size_t>(n));
    if (k < 0) throw std::ios_base::failure(std::strerror(errno));
    return k == 0 ? -1 : static_cast<std::streamsize>(k);
  }

 private:
  FdReader* r_;
};

class PlainInput final : public InputFile {
 public:
  PlainInput(std::string name, std::unique_ptr<FdReader> r)
      : InputFile(std::move(name), Compression::kNone), r_(std::move(r)) {}

 protected:
  Result<std::size_t> read_some(char* buf, std::size_t n) override {
    ssize_t k = r_->read(buf, n);
    if (k < 0) return Error{Errc::kIo, name() + ": read failed: " + std::strerror(errno)};
    return static_cast<std::size_t>(k);
  }

 private:
  std::unique_ptr<FdReader> r_;
};

class CompressedInput final : public InputFile {
 public:
  CompressedInput(std::string name, Compression c, std::unique_ptr<FdReader> r)
      : InputFile(std::move(name), c), r_(std::move(r)) {
    switch (c) {
      case Compression::kGzip: in_.push(bio::gzip_decompressor()); break;
      case Compression::kBzip2: in_.push(bio::bzip2_decompressor()); break;
      case Compression::kXz: in_.push(bio::lzma_decompressor()); break;
      case Compression::kZstd: in_.push(bio::zstd_decompressor()); break;
      case Compression::kNone: break;
    }
    in_.push(FdSource(r_.get()));
    in_.exceptions(std::ios_base::badbit);
  }

 protected:
  Result<std::size_t> read_some(char* buf, std::size_t n) override {
    if (done_) return std::size_t{0};
    try {
      in_.read(buf, static_cast<std::streamsize>(n));
      std::streamsize got = in_.gcount();
      if (in_.eof()) done_ = true;
      return static_cast<std::size_t>(got);
    } catch (const std::exception& e) {
      done_ = true;
      return Error{Errc::kParse, name() + ": corrupt or truncated " +
                                     std::string(compression_name(compression())) +
                                     " data near compressed byte " + std::to_string(r_->offset()) +
                                     " (" + e.what() + ")"};
    }
  }

 private:
  std::unique_ptr<FdReader> r_;
  bio::filtering_istream in_;
  bool done_ = false;
};

}  // namespace

Compression detect_compression(std::string_view head) { return detect(head); }

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kNone: return "plain";
    case Compression::kGzip: return "gzip";
    case Compression::kBzip2: return "bzip2";
    case Compression::kXz: return "xz";
    case Compression::kZstd: return "zstd";
  }
  return "?";
}

Result<std::unique_ptr<InputFile>> InputFile::open(const std::string& path) {
  int fd = 0;
  UniqueFd owned;
  std::string name = "<stdin>";
  if (path != "-") {
    name = path;
    owned.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned) return Error{Errc::kIo, path + ": " + std::strerror(errno)};
    fd = owned.get();
  }
  // Sniff up to 6 bytes (a short read from a pipe is retried until EOF or 6 bytes).
  std::string head(6, '\0');
  std::size_t got = 0;
  while (got < head.size()) {
    ssize_t r = ::read(fd, head.data() + got, head.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      return Error{Errc::kIo, name + ": read failed: " + std::strerror(errno)};
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  head.resize(got);
  Compression c = detect(head);
  auto reader = std::make_unique<FdReader>(fd, std::move(owned), std::move(head));
  std::unique_ptr<InputFile> in;
  if (c == Compression::kNone)
    in = std::make_unique<PlainInput>(std::move(name), std::move(reader));
  else in = std::make_unique<CompressedInput>(std::move(name), c, std::move(reader));
  return in;
}

Result<std::size_t> InputFile::read(char* buf, std::size_t n) {
  if (peeked_pos_ < peeked_.size()) {
    std::size_t k = std::min(n, peeked_.size() - peeked_pos_);
    std::memcpy(buf, peeked_.data() + peeked_pos_, k);
    peeked_pos_ += k;
    if (peeked_pos_ == peeked_.size()) {
      peeked_.clear();
      peeked_.shrink_to_fit();
      peeked_pos_ = 0;
    }
    return k;
  }
  return read_some(buf, n);
}

Result<std::string_view> InputFile::peek(std::size_t n) {
  // Only before the first read(): the peeked bytes are the input's start.
  while (peeked_.size() < n) {
    std::size_t have = peeked_.size();
    peeked_.resize(n);
    auto got = read_some(peeked_.data() + have, n - have);
    if (!got) {
      peeked_.resize(have);
      return got.error();
    }
    peeked_.resize(have + *got);
    if (*got == 0) break;
  }
  return std::string_view(peeked_).substr(0, n);
}

Result<std::string> InputFile::read_all() {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    auto n = read(buf, sizeof buf);
    if (!n) return n.error();
    if (*n == 0) break;
    out.append(buf, *n);
  }
  return out;
}

}  // namespace prof

namespace prof {

Content sniff_content(std::string_view head) {
  head = head.substr(0, kSniffBytes);
  auto starts = [&](std::string_view m) { return head.substr(0, m.size()) == m; };
  if (starts("PERFILE2") || starts("2ELIFREP")) return {ContentKind::kPerfData, {}};
  if (starts("\x7f"
             "ELF"))
    return {ContentKind::kElf, {}};
  if (Compression c = detect(head); c != Compression::kNone)
    return {ContentKind::kCompressed, compression_name(c)};
  if (starts("\x04\x22\x4d\x18")) return {ContentKind::kCompressed, "lz4"};
  if (starts("PK\x03\x04")) return {ContentKind::kCompressed, "zip"};
  if (starts("7z\xbc\xaf\x27\x1c")) return {ContentKind::kCompressed, "7z"};
  // As grep decides: a NUL byte is binary; so is text that is mostly control characters.
  std::size_t controls = 0;
  for (unsigned char c : head) {
    if (c == 0) return {ContentKind::kBinary, {}};
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') || c == 0x7f)
      ++controls;
  }
  if (controls * 10 > head.size()) return {ContentKind::kBinary, {}};
  return {ContentKind::kText, {}};
}

Result<void> expect_text(InputFile& in, TextFormat want) {
  auto head = in.peek(kSniffBytes);
  if (!head) return head.error();
  const Content c = sniff_content(*head);
  if (c.kind == ContentKind::kText) return ok();
  const bool stdin_input = in.name() == "<stdin>";
  const std::string& name = in.name();
  const std::string file = stdin_input ? std::string("FILE") : name;
  const std::string what = want == TextFormat::kPerfScript ? "'perf script' text"
                                                           : "folded stacks ('a;b;c COUNT' lines)";
  std::string msg = "'" + name + "' is ";
  switch (c.kind) {
    case ContentKind::kPerfData:
      msg += "a perf.data file, not " + what + ": use ";
      msg += want == TextFormat::kPerfScript
                 ? "'profile symbolize --folded " + file + "' (folded stacks) or 'profile report " +
                       file + "' (a flame graph)"
                 : "'profile report " + file + "' (or 'profile symbolize --folded " + file +
                       "' for folded stacks)";
      break;
    case ContentKind::kElf:
      msg += "an ELF file (a program or library), not " + what +
             ": to profile a program, run 'profile -- " + file + " > out.svg'";
      break;
    case ContentKind::kCompressed:
      msg += std::string(c.format) + " data";
      if (in.compression() != Compression::kNone)
        msg += " inside " + std::string(compression_name(in.compression())) + " data";
      msg += ", not " + what + ": unpack it first";
      break;
    default: msg += "binary data, not " + what; break;
  }
  return Error{Errc::kUnsupported, std::move(msg)};
}

}  // namespace prof

// Small helpers shared by the symbolizer's text-file parsers (kallsyms, perf maps).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "prof/common/result.h"
#include "prof/common/unique_fd.h"

namespace prof::symbolizer::detail {

// A file's bytes in a buffer that was never zero-filled.
struct RawFile {
  std::unique_ptr<char[]> data;
  std::size_t size = 0;
};

// procfs files report st_size 0 and fill each read() from a seq_file, so the file is read in
// big chunks straight into one buffer: no stream buffer, no zero-fill, no copy. Pages of
// `first_chunk` that the file does not reach are never touched, so a generous guess is free.
inline Result<RawFile> read_whole_file_raw(const std::string& path,
                                           std::size_t first_chunk = 64u << 10) {
  UniqueFd owned(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!owned) return Error{Errc::kIo, "'" + path + "': " + std::strerror(errno)};
  const int fd = owned.get();
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0)
    first_chunk = static_cast<std::size_t>(st.st_size) + 1;  // +1: meet EOF without regrowing
  RawFile f;
  std::size_t capacity = std::max<std::size_t>(first_chunk, 1);
  f.data.reset(new char[capacity]);
  for (;;) {
    if (f.size == capacity) {
      std::unique_ptr<char[]> bigger(new char[capacity * 2]);
      std::memcpy(bigger.get(), f.data.get(), f.size);
      f.data = std::move(bigger);
      capacity *= 2;
    }
    ssize_t n = ::read(fd, f.data.get() + f.size, capacity - f.size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Error{Errc::kIo, "'" + path + "': " + std::strerror(errno)};
    }
    if (n == 0) break;
    f.size += static_cast<std::size_t>(n);
  }
  return f;
}

inline Result<std::string> read_whole_file(const std::string& path) {
  auto f = read_whole_file_raw(path);
  if (!f) return f.error();
  return std::string(f->data.get(), f->size);
}

// Pops the next line (without its '\n') off the front of `text`.
inline std::string_view next_line(std::string_view& text) {
  std::size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  return line;
}

}  // namespace prof::symbolizer::detail

// Small helpers shared by the symbolizer's text-file parsers (kallsyms, perf maps).
#pragma once

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "prof/common/result.h"

namespace prof::symbolizer::detail {

inline Result<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{Errc::kIo, "'" + path + "': " + std::strerror(errno)};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Pops the next line (without its '\n') off the front of `text`.
inline std::string_view next_line(std::string_view& text) {
  std::size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  return line;
}

}  // namespace prof::symbolizer::detail

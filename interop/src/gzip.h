// gzip in memory (zlib), for pprof files: deterministic output (no name, no time stamp).
#pragma once

#include <string>
#include <string_view>

#include "prof/common/result.h"

namespace prof::interop {

bool is_gzip(std::string_view bytes);
std::string gzip_compress(std::string_view raw, int level = 6);
// Fails on corrupt or truncated data, naming the byte offset reached. Concatenated members
// are read one after another, as gzip(1) does. `limit` bounds the output (a bomb is an error).
Result<std::string> gzip_decompress(std::string_view gz, std::size_t limit);

}  // namespace prof::interop

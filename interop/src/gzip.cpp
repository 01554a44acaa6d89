#include "gzip.h"

#include <zlib.h>

#include <cstring>

namespace prof::interop {

bool is_gzip(std::string_view b) {
  return b.size() >= 2 && static_cast<unsigned char>(b[0]) == 0x1f &&
         static_cast<unsigned char>(b[1]) == 0x8b;
}

std::string gzip_compress(std::string_view raw, int level) {
  z_stream z;
  std::memset(&z, 0, sizeof z);
  // 15 window bits + 16: a gzip wrapper with a zero time stamp and no name.
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(raw.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  while (rc == Z_OK || rc == Z_BUF_ERROR) {  // (deflateBound is an upper bound; not reached)
    std::size_t used = out.size() - z.avail_out;
    out.resize(out.size() * 2);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(out.size() - used);
    rc = deflate(&z, Z_FINISH);
  }
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

Result<std::string> gzip_decompress(std::string_view gz, std::size_t limit) {
  std::string out;
  std::size_t pos = 0;
  char buf[1 << 16];
  while (pos < gz.size()) {
    if (!is_gzip(gz.substr(pos))) break;  // trailing garbage after a member: ignored as gzip does
    z_stream z;
    std::memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) return Error{Errc::kInternal, "zlib init failed"};
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data() + pos));
    z.avail_in = static_cast<uInt>(gz.size() - pos);
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        const std::size_t at = pos + (gz.size() - pos - z.avail_in);
        inflateEnd(&z);
        return Error{Errc::kParse, (rc == Z_BUF_ERROR ? std::string("truncated gzip data")
                                                      : std::string("corrupt gzip data")) +
                                       " near byte " + std::to_string(at)};
      }
      out.append(buf, sizeof buf - z.avail_out);
      if (out.size() > limit) {
        inflateEnd(&z);
        return Error{Errc::kUnsupported,
                     "decompresses to more than " + std::to_string(limit >> 20) + " MiB"};
      }
    }
    pos += gz.size() - pos - z.avail_in;
    inflateEnd(&z);
  }
  return out;
}

}  // namespace prof::interop

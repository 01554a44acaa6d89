// Private to prof::common: byte-level helpers and layout facts shared by the perf.data reader
// (perf_data_reader.cpp, perf_data_features.cpp), the record decoder
// (record_decoder.cpp) and the writer (perf_data_writer.cpp). Layouts follow
// tools/perf/Documentation/perf.data-file-format.txt and `man 2 perf_event_open`.
#pragma once

#include <linux/perf_event.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prof/common/perf_data.h"

// PD_TRY_ASSIGN(decl, expr): evaluates a Result-yielding expr, returns its Error, else assigns
// the value to `decl` (a declaration or an existing variable).
#define PD_CONCAT_INNER_(a, b) a##b
#define PD_CONCAT_(a, b) PD_CONCAT_INNER_(a, b)
#define PD_TRY_ASSIGN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                         \
  if (!tmp) return tmp.error();              \
  decl = std::move(*tmp)
#define PD_TRY_ASSIGN(decl, expr) PD_TRY_ASSIGN_IMPL_(PD_CONCAT_(pd_try_, __LINE__), decl, expr)

namespace prof::perf::internal {

// "PERFILE2" read as a little/big-endian u64 (tools/perf/util/header.c, __perf_magic2 / _sw).
inline constexpr std::uint64_t kMagic = 0x32454c4946524550ULL;
inline constexpr std::uint64_t kMagicSwapped = 0x50455246494c4532ULL;
inline constexpr std::string_view kMagicV1 = "PERFFILE";

// struct perf_file_header: magic, size, attr_size, attrs{off,size}, data{off,size},
// event_types{off,size}, adds_features[4].
inline constexpr std::size_t kFileHeaderSize = 104;
inline constexpr std::size_t kPipeHeaderSize = 16;
inline constexpr std::size_t kOffAttrSize = 16;
inline constexpr std::size_t kOffAttrs = 24;
inline constexpr std::size_t kOffData = 40;
inline constexpr std::size_t kOffDataSize = 48;
inline constexpr std::size_t kOffFeatures = 72;
inline constexpr std::size_t kFileSectionSize = 16;  // struct perf_file_section

inline constexpr std::size_t kRecordHeaderSize = sizeof(perf_event_header);
inline constexpr std::size_t kMaxRecordSize = 0xffff;  // perf_event_header.size is a u16

// PERF_RECORD_COMPRESSED2 (perf >= 6.15): also zstd; rejected like COMPRESSED.
inline constexpr std::uint32_t kRecordCompressed2 = 83;
// perf's PERF_RECORD_MISC_BUILD_ID_SIZE (tools/perf/util/event.h): the size byte of a build-id
// entry is valid (else the id is 20 bytes).
inline constexpr std::uint16_t kMiscBuildIdSize = 1 << 15;
// struct perf_record_header_build_id: header, pid, build_id[24] (20 bytes + size byte + pad),
// then the NUL-padded filename.
inline constexpr std::size_t kBuildIdFilenameAt = 36;
// PERF_RECORD_EVENT_UPDATE type carrying an event name (tools/lib/perf/include/perf/event.h).
inline constexpr std::uint64_t kEventUpdateName = 2;

template <typename T>
inline T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// `n` u64s from a possibly unaligned place into `out` (keeping its capacity).
inline void load_u64s(std::vector<std::uint64_t>& out, const std::uint8_t* p, std::size_t n) {
  out.resize(n);
  if (n != 0) std::memcpy(out.data(), p, n * 8);
}

inline std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v));
  return b;
}

// Reads fixed-size fields from a byte range with bounds checks. `base` is the range's offset
// in the file so that errors can name where the bad byte is.
class Cursor {
 public:
  Cursor(const std::uint8_t* p, std::size_t n, std::uint64_t base) : p_(p), n_(n), base_(base) {}

  std::size_t pos() const { return pos_; }
  std::size_t left() const { return n_ - pos_; }
  std::uint64_t offset() const { return base_ + pos_; }
  const std::uint8_t* here() const { return p_ + pos_; }

  template <typename T>
  bool get(T& v) {
    if (left() < sizeof(T)) return false;
    v = load<T>(p_ + pos_);
    pos_ += sizeof(T);
    return true;
  }
  bool skip(std::uint64_t n) {
    if (left() < n) return false;
    pos_ += static_cast<std::size_t>(n);
    return true;
  }
  // `count` items of `each` bytes, overflow-safe.
  bool fits(std::uint64_t count, std::size_t each) const { return count <= left() / each; }
  // perf's feature string: u32 length, then that many bytes, NUL-padded.
  bool get_string(std::string& s) {
    std::uint32_t len = 0;
    if (!get(len) || left() < len) return false;
    const auto* b = reinterpret_cast<const char*>(p_ + pos_);
    s.assign(b, strnlen(b, len));
    pos_ += len;
    return true;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
  std::uint64_t base_;
  std::size_t pos_ = 0;
};

template <typename T>
inline void store(std::uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

template <typename T>
inline void append(std::vector<std::uint8_t>& out, T v) {
  const auto at = out.size();
  out.resize(at + sizeof v);
  std::memcpy(out.data() + at, &v, sizeof v);
}

inline void append_bytes(std::vector<std::uint8_t>& out, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}

inline void pad_to(std::vector<std::uint8_t>& out, std::size_t align) {
  out.resize((out.size() + align - 1) / align * align, 0);
}

// Bytes of the sample_id_all trailer of non-sample records for this attr (0 if not enabled):
// { pid, tid } TID, { time } TIME, { id } ID, { stream_id } STREAM_ID, { cpu, res } CPU,
// { id } IDENTIFIER — each 8 bytes.
inline std::size_t sample_id_size(const perf_event_attr& attr) {
  if (!attr.sample_id_all) return 0;
  constexpr std::uint64_t kBits = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ID |
                                  PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU | PERF_SAMPLE_IDENTIFIER;
  return 8 * static_cast<std::size_t>(std::popcount(attr.sample_type & kBits));
}

// Appends the sample_id_all trailer for `attr` (nothing when sample_id_all is off).
inline void append_sample_id(std::vector<std::uint8_t>& out, const perf_event_attr& attr,
                             const SampleId& sid) {
  if (!attr.sample_id_all) return;
  const auto t = attr.sample_type;
  if (t & PERF_SAMPLE_TID) {
    append<std::uint32_t>(out, sid.pid);
    append<std::uint32_t>(out, sid.tid);
  }
  if (t & PERF_SAMPLE_TIME) append<std::uint64_t>(out, sid.time);
  if (t & PERF_SAMPLE_ID) append<std::uint64_t>(out, sid.id);
  if (t & PERF_SAMPLE_STREAM_ID) append<std::uint64_t>(out, sid.stream_id);
  if (t & PERF_SAMPLE_CPU) {
    append<std::uint32_t>(out, sid.cpu);
    append<std::uint32_t>(out, 0);
  }
  if (t & PERF_SAMPLE_IDENTIFIER) append<std::uint64_t>(out, sid.id);
}

// perf's evsel id_pos: index (in u64s after the header) of the sample id in a SAMPLE record,
// or -1 when the attr carries no id.
inline int sample_id_pos(std::uint64_t sample_type) {
  if (sample_type & PERF_SAMPLE_IDENTIFIER) return 0;
  if (!(sample_type & PERF_SAMPLE_ID)) return -1;
  int idx = 0;
  for (auto bit : {PERF_SAMPLE_IP, PERF_SAMPLE_TID, PERF_SAMPLE_TIME, PERF_SAMPLE_ADDR})
    if (sample_type & bit) ++idx;
  return idx;
}

// perf's evsel is_pos: the id's position counted in u64s from the end of a non-sample record's
// sample_id_all trailer (1 = last u64), or -1.
inline int trailer_id_pos(std::uint64_t sample_type) {
  if (sample_type & PERF_SAMPLE_IDENTIFIER) return 1;
  if (!(sample_type & PERF_SAMPLE_ID)) return -1;
  int idx = 1;
  if (sample_type & PERF_SAMPLE_CPU) ++idx;
  if (sample_type & PERF_SAMPLE_STREAM_ID) ++idx;
  return idx;
}

}  // namespace prof::perf::internal

// perf.data reader: file mode (mmap'd) and pipe mode (mmap'd when a regular file, else read in
// large blocks). Layouts: tools/perf/Documentation/perf.data-file-format.txt, `man 2
// perf_event_open`; what perf 6.1 writes in practice: reference/kernel-and-libdw.md section 1.
//
// Every field is fetched with memcpy and every length checked against the bytes that exist,
// because pipe-mode perf output is not 8-aligned and because the input may be truncated or
// damaged: errors name the byte offset, truncation of the final record is a warning. The records
// themselves are decoded by the reader's RecordDecoder (record_decoder.cpp).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>

#include "perf_data_internal.h"
#include "prof/common/input.h"
#include "prof/common/perf_data.h"
#include "prof/common/record_decoder.h"
#include "prof/common/unique_fd.h"

namespace prof::perf {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own byte helpers

namespace {

constexpr std::uint64_t kNoEnd = std::numeric_limits<std::uint64_t>::max();
constexpr std::size_t kStreamBuffer = std::size_t{4} << 20;
static_assert(kStreamBuffer > 2 * kMaxRecordSize);

}  // namespace

struct PerfDataReader::Impl {
  std::string name;
  WarningSink* warnings = nullptr;

  // Image source: the whole input in memory (mmap or an owned string).
  std::string owned;
  MemoryMap map;
  const std::uint8_t* img = nullptr;
  std::uint64_t img_size = 0;

  // Stream source (a pipe): a window [sbase, sbase + sbuf.size()) of the stream.
  int fd = -1;
  UniqueFd owned_fd;
  bool stream = false;
  std::vector<std::uint8_t> sbuf;  // fixed size (kStreamBuffer): larger than any record
  std::size_t slen = 0;            // valid bytes in sbuf
  std::uint64_t sbase = 0;
  bool seof = false;

  bool pipe = false;
  std::uint64_t data_begin = 0, data_end = kNoEnd, pos = 0;
  bool done = false;

  // Attrs and features as they are learnt; decodes the records.
  RecordDecoder dec;

  Error parse_error(std::uint64_t offset, const std::string& what) const {
    return Error{Errc::kParse,
                 "'" + name + "': byte offset " + std::to_string(offset) + ": " + what};
  }
  Error unsupported(const std::string& what) const {
    return Error{Errc::kUnsupported, "'" + name + "': " + what};
  }
  void warn(std::string_view kind, const std::string& what) const {
    if (warnings) warnings->warn(kind, "'" + name + "': " + what);
  }

  // Pointer to `n` bytes at stream offset `off` (>= every earlier request's offset in stream
  // mode), or nullptr with `*avail` set to how many exist when the input ends first.
  Result<const std::uint8_t*> fetch(std::uint64_t off, std::size_t n, std::size_t* avail) {
    if (!stream) {
      const std::uint64_t have = off <= img_size ? img_size - off : 0;
      if (have < n) {
        *avail = static_cast<std::size_t>(have);
        return static_cast<const std::uint8_t*>(nullptr);
      }
      return img + off;
    }
    if (off < sbase) return Error{Errc::kInternal, "'" + name + "': stream read went backwards"};
    if (off + n > sbase + slen) {
      // Keep only what is still needed (at most one partial record), then refill with read(2)
      // straight into the buffer: no per-record copies beyond this one move.
      const std::size_t drop = static_cast<std::size_t>(std::min<std::uint64_t>(off - sbase, slen));
      std::memmove(sbuf.data(), sbuf.data() + drop, slen - drop);
      slen -= drop;
      sbase += drop;
      while (!seof && off + n > sbase + slen) {
        // Only a tracing-data blob can exceed the block. Grow by doubling as bytes arrive, so
        // a size field that lies costs memory only for input that really exists.
        if (slen == sbuf.size()) sbuf.resize(sbuf.size() * 2);
        const ssize_t got = ::read(fd, sbuf.data() + slen, sbuf.size() - slen);
        if (got < 0) {
          if (errno == EINTR) continue;
          return Error{Errc::kIo, "'" + name + "': read failed: " + std::strerror(errno)};
        }
        if (got == 0) seof = true;
        slen += static_cast<std::size_t>(got);
      }
      if (off + n > sbase + slen) {
        *avail = static_cast<std::size_t>(sbase + slen - std::min(off, sbase + slen));
        return static_cast<const std::uint8_t*>(nullptr);
      }
    }
    return sbuf.data() + (off - sbase);
  }

  void check_id_layout(bool consistent) const {
    if (!consistent)
      warn("perf-data-id-layout",
           "events disagree on where the sample id is (no PERF_SAMPLE_IDENTIFIER): records "
           "may be attributed to the wrong event");
  }

  // One feature body (file section or pipe HEADER_FEATURE payload). Formats: header.c
  // write_*/process_* functions.
  Result<void> parse_feature(int feat, const std::uint8_t* p, std::size_t n, std::uint64_t offset) {
    Features& features = dec.mutable_features();
    Cursor c(p, n, offset);
    auto bad = [&](const char* what) {
      return parse_error(c.offset(), std::string("feature ") + std::to_string(feat) + " (" + what +
                                         ") is cut short");
    };
    auto string_feature = [&](std::optional<std::string>& dst, const char* what) -> Result<void> {
      std::string s;
      if (!c.get_string(s)) return bad(what);
      dst = std::move(s);
      return ok();
    };
    switch (feat) {
      case HEADER_HOSTNAME: return string_feature(features.hostname, "HOSTNAME");
      case HEADER_OSRELEASE: return string_feature(features.osrelease, "OSRELEASE");
      case HEADER_VERSION: return string_feature(features.version, "VERSION");
      case HEADER_ARCH: return string_feature(features.arch, "ARCH");
      case HEADER_CPUDESC: return string_feature(features.cpudesc, "CPUDESC");
      case HEADER_NRCPUS: {
        std::uint32_t avail = 0, online = 0;
        if (!c.get(avail) || !c.get(online)) return bad("NRCPUS");
        features.nr_cpus_available = avail;
        features.nr_cpus_online = online;
        return ok();
      }
      case HEADER_CMDLINE: {
        std::uint32_t nr = 0;
        if (!c.get(nr) || !c.fits(nr, 4)) return bad("CMDLINE");
        std::vector<std::string> args(nr);
        for (auto& a : args)
          if (!c.get_string(a)) return bad("CMDLINE");
        features.cmdline = std::move(args);
        return ok();
      }
      case HEADER_SAMPLE_TIME: {
        std::uint64_t first = 0, last = 0;
        if (!c.get(first) || !c.get(last)) return bad("SAMPLE_TIME");
        features.sample_time_first = first;
        features.sample_time_last = last;
        return ok();
      }
      case HEADER_EVENT_DESC: {
        std::uint32_t nr = 0, attr_size = 0;
        if (!c.get(nr) || !c.get(attr_size)) return bad("EVENT_DESC");
        for (std::uint32_t i = 0; i < nr; ++i) {
          std::uint32_t nr_ids = 0;
          std::string event_name;
          if (!c.skip(attr_size) || !c.get(nr_ids) || !c.get_string(event_name) ||
              !c.fits(nr_ids, 8))
            return bad("EVENT_DESC");
          std::vector<std::uint64_t> ids(nr_ids);
          for (auto& id : ids) c.get(id);
          dec.name_event(i, ids, std::move(event_name));
        }
        return ok();
      }
      case HEADER_TRACING_DATA:
        features.tracing_data.assign(reinterpret_cast<const char*>(p), n);
        return ok();
      case HEADER_BUILD_ID:
        while (c.left() > 0) {
          if (c.left() < kRecordHeaderSize) return bad("BUILD_ID");
          const auto size = load<std::uint16_t>(c.here() + 6);
          if (size > c.left() || !take_build_id(c.here(), size)) return bad("BUILD_ID");
          c.skip(size);
        }
        return ok();
      default: return ok();  // features we do not use are skipped
    }
  }

  // One perf_record_header_build_id (feature entry or pipe record) of `n` bytes.
  bool take_build_id(const std::uint8_t* p, std::size_t n) {
    if (n < kBuildIdFilenameAt) return false;
    const auto misc = load<std::uint16_t>(p + 4);
    BuildIdEntry e;
    e.cpumode = misc & PERF_RECORD_MISC_CPUMODE_MASK;
    e.pid = load<std::int32_t>(p + 8);
    const std::size_t len = (misc & kMiscBuildIdSize) ? std::min<std::size_t>(p[32], 20) : 20;
    e.build_id.assign(p + 12, p + 12 + len);
    const auto* file = reinterpret_cast<const char*>(p + kBuildIdFilenameAt);
    e.filename.assign(file, strnlen(file, n - kBuildIdFilenameAt));
    dec.mutable_features().build_ids.push_back(std::move(e));
    return true;
  }

  // Reads one attr of `attr_bytes` bytes (>= PERF_ATTR_SIZE_VER0), zero-extending older ones.
  static perf_event_attr load_attr(const std::uint8_t* p, std::size_t attr_bytes) {
    perf_event_attr a{};
    std::memcpy(&a, p, std::min(attr_bytes, sizeof a));
    return a;
  }

  Result<void> check_magic(const std::uint8_t* p) const {
    const auto magic = load<std::uint64_t>(p);
    if (magic == kMagic) return ok();
    if (magic == kMagicSwapped)
      return unsupported("perf.data from a machine of the other byte order is not supported");
    if (std::memcmp(p, kMagicV1.data(), kMagicV1.size()) == 0)
      return unsupported("legacy (version 1, 'PERFFILE') perf.data is not supported");
    if (auto advice =
            not_perf_data(std::string_view(reinterpret_cast<const char*>(p), kPipeHeaderSize));
        !advice.empty())
      return Error{Errc::kUnsupported, "'" + name + "' " + advice};
    return parse_error(0, "not a perf.data file (bad magic " + hex(magic) + ")");
  }

  // What to do with an input that is something else we know (its first 16 bytes).
  std::string not_perf_data(std::string_view head) const {
    const Content c = sniff_content(head);
    const std::string file = name == "-" ? "FILE" : name;
    switch (c.kind) {
      case ContentKind::kCompressed: {
        std::string tool = c.format == "zip"  ? "unzip " + file
                           : c.format == "7z" ? "7z x " + file
                           : c.format == "zstd" || c.format == "lz4"
                               ? std::string(c.format) + " -d " + file
                               : std::string(c.format) + " -dk " + file;
        return "is " + std::string(c.format) +
               "-compressed, not a perf.data file: decompress "
               "it first ('" +
               tool + "')";
      }
      case ContentKind::kElf:
        return "is an ELF file (a program or library), not a perf.data file: record it with "
               "'profile record -- " +
               file + "'";
      case ContentKind::kText:
        return "is text, not a perf.data file: for 'perf script' text use 'profile fold " + file +
               "', for folded stacks 'profile render " + file + "'";
      default: return {};
    }
  }

  Result<void> open_file_mode() {
    if (img_size < kFileHeaderSize)
      return parse_error(img_size, "file is " + std::to_string(img_size) +
                                       " bytes, shorter than the 104-byte perf.data header");
    const std::uint8_t* h = img;
    const auto attr_entry = load<std::uint64_t>(h + kOffAttrSize);
    const auto attrs_off = load<std::uint64_t>(h + kOffAttrs);
    const auto attrs_size = load<std::uint64_t>(h + kOffAttrs + 8);
    const auto data_off = load<std::uint64_t>(h + kOffData);
    const auto data_size = load<std::uint64_t>(h + kOffDataSize);
    std::uint64_t feat_bits[4];
    std::memcpy(feat_bits, h + kOffFeatures, sizeof feat_bits);
    auto has_feat = [&](int f) { return (feat_bits[f / 64] >> (f % 64)) & 1; };

    if (has_feat(HEADER_DIR_FORMAT))
      return unsupported(
          "directory-format perf.data (perf record --threads) is not supported: convert it "
          "with 'perf inject -i DIR -o FILE'");
    if (has_feat(HEADER_COMPRESSED))
      return unsupported(
          "compressed perf.data (perf record -z) is not supported: decompress it with "
          "'perf inject -i IN -o OUT' or record without -z");
    if (attr_entry < PERF_ATTR_SIZE_VER0 + kFileSectionSize || attr_entry > 65536)
      return parse_error(kOffAttrSize, "attr entry size " + std::to_string(attr_entry) +
                                           " is not a valid perf_event_attr size");
    auto in_file = [&](std::uint64_t off, std::uint64_t size) {
      return off <= img_size && size <= img_size - off;
    };
    if (!in_file(attrs_off, attrs_size))
      return parse_error(kOffAttrs, "attrs section [" + std::to_string(attrs_off) + ", +" +
                                        std::to_string(attrs_size) + ") lies outside the " +
                                        std::to_string(img_size) + "-byte file");
    if (attrs_size % attr_entry != 0)
      warn("perf-data-attrs", "attrs section size is not a multiple of the attr entry size");
    const std::size_t attr_bytes = static_cast<std::size_t>(attr_entry - kFileSectionSize);
    std::vector<EventAttr> attrs;
    for (std::uint64_t i = 0; i < attrs_size / attr_entry; ++i) {
      const std::uint64_t at = attrs_off + i * attr_entry;
      EventAttr ea;
      ea.attr = load_attr(img + at, attr_bytes);
      const auto ids_off = load<std::uint64_t>(img + at + attr_bytes);
      const auto ids_size = load<std::uint64_t>(img + at + attr_bytes + 8);
      if (!in_file(ids_off, ids_size) || ids_size % 8 != 0)
        return parse_error(at + attr_bytes, "id array of event " + std::to_string(i) +
                                                " lies outside the file or is misaligned");
      load_u64s(ea.ids, img + ids_off, static_cast<std::size_t>(ids_size / 8));
      attrs.push_back(std::move(ea));
    }
    if (attrs.empty()) return parse_error(kOffAttrs, "file has no event attrs");
    check_id_layout(dec.set_attrs(std::move(attrs)));

    if (data_off > img_size)
      return parse_error(kOffData, "data section starts at byte " + std::to_string(data_off) +
                                       ", past the end of the " + std::to_string(img_size) +
                                       "-byte file");
    data_begin = data_off;
    if (data_size == 0) {
      // perf record patches data.size only at exit: a capture whose writer died reads 0 here.
      warn("perf-data-unfinished",
           "header data size is 0 (the writer did not finish); reading records up to the end "
           "of the file");
      data_end = img_size;
    } else if (data_size > img_size - data_off) {
      warn("perf-data-truncated", "header says the data ends at byte " +
                                      std::to_string(data_off + data_size) + " but the file has " +
                                      std::to_string(img_size) +
                                      " bytes (truncated?): reading what is there");
      data_end = img_size;
    } else {
      data_end = data_off + data_size;
      read_feature_table(feat_bits);
    }
    return ok();
  }

  // File mode: the feature section table sits right after the data, one {offset, size} per
  // set bit in ascending order (perf_header__process_sections).
  void read_feature_table(const std::uint64_t (&bits)[4]) {
    std::uint64_t at = data_end;
    for (int f = 1; f < 256; ++f) {
      if (!((bits[f / 64] >> (f % 64)) & 1)) continue;
      if (img_size - at < kFileSectionSize) {
        warn("perf-data-features", "feature table at byte " + std::to_string(at) +
                                       " is cut short: header features ignored");
        return;
      }
      const auto off = load<std::uint64_t>(img + at);
      const auto size = load<std::uint64_t>(img + at + 8);
      if (off > img_size || size > img_size - off) {
        warn("perf-data-features", "feature " + std::to_string(f) + " (table entry at byte " +
                                       std::to_string(at) + ") lies outside the file");
      } else if (auto r = parse_feature(f, img + off, static_cast<std::size_t>(size), off); !r) {
        warn("perf-data-features", r.error().message);
      }
      at += kFileSectionSize;
    }
  }

  Result<void> open() {
    std::size_t avail = 0;
    PD_TRY_ASSIGN(const std::uint8_t* h, fetch(0, kPipeHeaderSize, &avail));
    if (!h)
      return parse_error(avail,
                         "input is " + std::to_string(avail) + " bytes, too short to be perf.data");
    PROF_TRY(check_magic(h));
    const auto header_size = load<std::uint64_t>(h + 8);
    if (header_size == kPipeHeaderSize) {
      pipe = true;
      data_begin = kPipeHeaderSize;
      data_end = stream ? kNoEnd : img_size;
    } else if (header_size < kFileHeaderSize) {
      return parse_error(8, "header size " + std::to_string(header_size) +
                                " is neither 16 (pipe mode) nor 104 (file mode)");
    } else if (stream) {
      return unsupported(
          "file-mode perf.data cannot be read from a pipe: pass the file name instead");
    } else {
      PROF_TRY(open_file_mode());
    }
    pos = data_begin;
    return ok();
  }

  // Pipe mode HEADER_ATTR: perf_event_header, attr (attr.size bytes), then the u64 ids.
  Result<void> take_header_attr(const Record& r) {
    Cursor c(r.bytes.data(), r.bytes.size(), r.file_offset);
    c.skip(kRecordHeaderSize);
    std::uint32_t attr_size = 0;
    if (c.left() >= 8) attr_size = load<std::uint32_t>(c.here() + 4);  // perf_event_attr.size
    if (attr_size == 0) attr_size = PERF_ATTR_SIZE_VER0;
    if (attr_size < PERF_ATTR_SIZE_VER0 || !c.fits(1, attr_size))
      return parse_error(r.file_offset, "HEADER_ATTR record of " + std::to_string(r.bytes.size()) +
                                            " bytes holds no valid attr (size " +
                                            std::to_string(attr_size) + ")");
    EventAttr ea;
    ea.attr = load_attr(c.here(), attr_size);
    c.skip(attr_size);
    ea.ids.resize(c.left() / 8);
    for (auto& id : ea.ids) c.get(id);
    check_id_layout(dec.add_attr(std::move(ea)));
    return ok();
  }

  // PERF_RECORD_HEADER_TRACING_DATA: u32 size after the header; the blob follows the record
  // outside its header.size (see the writer's tracing_data_record), so it is consumed here.
  Result<void> take_tracing_data(const Record& r) {
    if (r.bytes.size() < kRecordHeaderSize + 4) {
      done = true;
      return parse_error(r.file_offset, "HEADER_TRACING_DATA record is too short");
    }
    const auto size = load<std::uint32_t>(r.bytes.data() + kRecordHeaderSize);
    std::size_t avail = 0;
    const std::uint8_t* blob = nullptr;
    if (size <= data_end - pos) {
      PD_TRY_ASSIGN(blob, fetch(pos, size, &avail));
    }
    if (!blob) {
      done = true;
      warn("perf-data-truncated", "tracing data of " + std::to_string(size) + " bytes at byte " +
                                      std::to_string(pos) + " is cut short: read stops there");
      return ok();
    }
    dec.mutable_features().tracing_data.assign(reinterpret_cast<const char*>(blob), size);
    pos += size;
    return ok();
  }

  void take_header_feature(const Record& r) {
    if (r.bytes.size() < kRecordHeaderSize + 8) {
      warn("perf-data-features",
           "HEADER_FEATURE record at byte " + std::to_string(r.file_offset) + " is too short");
      return;
    }
    const auto feat = load<std::uint64_t>(r.bytes.data() + kRecordHeaderSize);
    const std::size_t body = kRecordHeaderSize + 8;
    if (feat == HEADER_COMPRESSED) return;  // the COMPRESSED records themselves are refused
    if (feat >= 256) return;
    if (auto res = parse_feature(static_cast<int>(feat), r.bytes.data() + body,
                                 r.bytes.size() - body, r.file_offset + body);
        !res)
      warn("perf-data-features", res.error().message);
  }

  // PERF_RECORD_EVENT_UPDATE: u64 type, u64 id, then for NAME a NUL-terminated string.
  void take_event_update(const Record& r) {
    Cursor c(r.bytes.data(), r.bytes.size(), r.file_offset);
    std::uint64_t type = 0, id = 0;
    if (!c.skip(kRecordHeaderSize) || !c.get(type) || !c.get(id) || type != kEventUpdateName)
      return;
    const auto* s = reinterpret_cast<const char*>(c.here());
    dec.name_event(dec.attrs().size(), {id}, std::string(s, strnlen(s, c.left())));
  }

  Result<bool> next(Record& out) {
    if (done) return false;
    while (true) {
      if (pos >= data_end) {
        done = true;
        return false;
      }
      std::size_t avail = 0;
      PD_TRY_ASSIGN(const std::uint8_t* h, fetch(pos, kRecordHeaderSize, &avail));
      if (!h) {
        done = true;
        if (avail > 0)
          warn("perf-data-truncated", "input ends inside a record header at byte " +
                                          std::to_string(pos) + ": read stops there");
        return false;
      }
      const auto type = load<std::uint32_t>(h);
      const auto misc = load<std::uint16_t>(h + 4);
      const auto size = load<std::uint16_t>(h + 6);
      if (size < kRecordHeaderSize) {
        done = true;
        return parse_error(pos, "record (type " + std::to_string(type) + ") has size " +
                                    std::to_string(size) +
                                    ", less than its 8-byte header: the data is corrupt");
      }
      const std::uint64_t room = data_end - pos;
      const std::uint8_t* rec = nullptr;
      if (size <= room) {
        PD_TRY_ASSIGN(rec, fetch(pos, size, &avail));
      }
      if (!rec) {
        done = true;
        warn("perf-data-truncated", "record (type " + std::to_string(type) + ", " +
                                        std::to_string(size) + " bytes) at byte " +
                                        std::to_string(pos) +
                                        " is cut short by the end of the data: read stops there");
        return false;
      }
      out.type = type;
      out.misc = misc;
      out.file_offset = pos;
      out.bytes = {rec, size};
      pos += size;
      switch (type) {
        case PERF_RECORD_COMPRESSED:
        case kRecordCompressed2:
          done = true;
          return Error{Errc::kUnsupported,
                       "'" + name + "': byte offset " + std::to_string(out.file_offset) +
                           ": compressed records (perf record -z) are not supported: decompress "
                           "with 'perf inject -i IN -o OUT' or record without -z"};
        case PERF_RECORD_HEADER_ATTR: PROF_TRY(take_header_attr(out)); break;
        case PERF_RECORD_HEADER_FEATURE: take_header_feature(out); break;
        case PERF_RECORD_EVENT_UPDATE: take_event_update(out); break;
        case PERF_RECORD_HEADER_TRACING_DATA: PROF_TRY(take_tracing_data(out)); break;
        case PERF_RECORD_HEADER_BUILD_ID:
          if (!take_build_id(out.bytes.data(), out.bytes.size()))
            warn("perf-data-features", "HEADER_BUILD_ID record at byte " +
                                           std::to_string(out.file_offset) + " is too short");
          break;
        default: break;
      }
      return true;
    }
  }
};

// ---- PerfDataReader ----

PerfDataReader::~PerfDataReader() = default;

Result<std::unique_ptr<PerfDataReader>> PerfDataReader::open(const std::string& path,
                                                             WarningSink* warnings) {
  std::unique_ptr<PerfDataReader> r(new PerfDataReader());
  r->impl_ = std::make_unique<Impl>();
  auto& im = *r->impl_;
  im.name = path;
  im.dec.set_name(path);
  im.warnings = warnings;
  if (path == "-") {
    im.fd = STDIN_FILENO;
  } else {
    im.owned_fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!im.owned_fd)
      return Error{errno == ENOENT ? Errc::kNotFound : Errc::kIo,
                   "'" + path + "': cannot open: " + std::strerror(errno)};
    im.fd = im.owned_fd.get();
  }
  struct stat st {};
  if (::fstat(im.fd, &st) != 0)
    return Error{Errc::kIo, "'" + path + "': cannot stat: " + std::strerror(errno)};
  if (S_ISDIR(st.st_mode))
    return im.unsupported(
        "is a directory: directory-format perf.data (perf record --threads) is not supported; "
        "convert it with 'perf inject -i DIR -o FILE'");
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    // Every page is read, in order. Up to 256 MB the mapping is populated at once: a page
    // faulted in by its first read costs several times more on a VM (docs/PERFORMANCE.md);
    // a larger file is faulted in as it is read, so the first records need not wait for all.
    const auto size = static_cast<std::size_t>(st.st_size);
    constexpr std::size_t kPopulateUpTo = std::size_t{256} << 20;
    im.map = MemoryMap::map(im.fd, size, PROT_READ,
                            MAP_PRIVATE | (size <= kPopulateUpTo ? MAP_POPULATE : 0));
    if (!im.map) return Error{Errc::kIo, "'" + path + "': cannot map: " + std::strerror(errno)};
    ::madvise(im.map.data(), im.map.size(), MADV_SEQUENTIAL);
    im.img = im.map.bytes();
    im.img_size = im.map.size();
  } else if (S_ISREG(st.st_mode)) {
    im.img = reinterpret_cast<const std::uint8_t*>(im.owned.data());
    im.img_size = 0;
  } else {
    im.stream = true;
    im.sbuf.resize(kStreamBuffer);
  }
  PROF_TRY(im.open());
  return r;
}

Result<std::unique_ptr<PerfDataReader>> PerfDataReader::from_memory(std::string data,
                                                                    std::string name,
                                                                    WarningSink* warnings) {
  std::unique_ptr<PerfDataReader> r(new PerfDataReader());
  r->impl_ = std::make_unique<Impl>();
  auto& im = *r->impl_;
  im.dec.set_name(name);
  im.name = std::move(name);
  im.warnings = warnings;
  im.owned = std::move(data);
  im.img = reinterpret_cast<const std::uint8_t*>(im.owned.data());
  im.img_size = im.owned.size();
  PROF_TRY(im.open());
  return r;
}

bool PerfDataReader::pipe_mode() const { return impl_->pipe; }
const RecordDecoder& PerfDataReader::decoder() const { return impl_->dec; }
const std::vector<EventAttr>& PerfDataReader::attrs() const { return impl_->dec.attrs(); }
const Features& PerfDataReader::features() const { return impl_->dec.features(); }
std::uint64_t PerfDataReader::data_offset() const { return impl_->data_begin; }
Result<bool> PerfDataReader::next(Record& out) { return impl_->next(out); }
bool PerfDataReader::bytes_stable() const { return !impl_->stream; }

std::uint64_t PerfDataReader::data_bytes() const {
  const auto& im = *impl_;
  if (im.stream || im.data_begin >= im.img_size) return 0;
  return std::min(im.data_end, im.img_size) - im.data_begin;
}

// The decoding API of the reader is its decoder's, so that files and live captures share it.
std::size_t PerfDataReader::attr_index_of(const Record& r) const {
  return impl_->dec.attr_index_of(r);
}
std::optional<std::uint64_t> PerfDataReader::sample_time(const Record& r) const {
  return impl_->dec.sample_time(r);
}
Result<void> PerfDataReader::parse_sample(const Record& r, Sample& out) const {
  return impl_->dec.parse_sample(r, out);
}
Result<Sample> PerfDataReader::parse_sample(const Record& r) const {
  return impl_->dec.parse_sample(r);
}
Result<SampleId> PerfDataReader::parse_sample_id(const Record& r) const {
  return impl_->dec.parse_sample_id(r);
}
Result<Mmap> PerfDataReader::parse_mmap(const Record& r) const { return impl_->dec.parse_mmap(r); }
Result<Comm> PerfDataReader::parse_comm(const Record& r) const { return impl_->dec.parse_comm(r); }
Result<Task> PerfDataReader::parse_task(const Record& r) const { return impl_->dec.parse_task(r); }
Result<Lost> PerfDataReader::parse_lost(const Record& r) const { return impl_->dec.parse_lost(r); }

}  // namespace prof::perf

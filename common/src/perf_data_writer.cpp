// perf.data writer: file mode and pipe mode. See perf_data.h for the contract and
// ../shared/docs/reference/kernel-and-libdw.md section 1 for what perf 6.1 and hotspot require.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>

#include "perf_data_internal.h"
#include "prof/common/event_name.h"
#include "prof/common/perf_data.h"
#include "prof/common/unique_fd.h"

namespace prof::perf {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own byte helpers

namespace {

Error io_error(const std::string& name, std::string_view what, int err) {
  return Error{Errc::kIo, "'" + name + "': " + std::string(what) + ": " + std::strerror(err)};
}

// Writes all of [p, p+n) at `offset` (pwrite) or at the current position (offset < 0, pipes).
// Short writes are retried; EINTR is not an error.
Result<void> write_all(int fd, const std::string& name, const std::uint8_t* p, std::size_t n,
                       off_t offset) {
  while (n > 0) {
    const ssize_t w = offset >= 0 ? ::pwrite(fd, p, n, offset) : ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error(name, "write failed", errno);
    }
    if (w == 0) return io_error(name, "write failed", EIO);
    p += w;
    n -= static_cast<std::size_t>(w);
    if (offset >= 0) offset += w;
  }
  return ok();
}

// perf's do_write_string: u32 length (NUL included, padded to 64), then the bytes.
void append_feature_string(std::vector<std::uint8_t>& out, std::string_view s) {
  constexpr std::size_t kAlign = 64;
  const std::size_t len = (s.size() + 1 + kAlign - 1) / kAlign * kAlign;
  append<std::uint32_t>(out, static_cast<std::uint32_t>(len));
  append_bytes(out, s.data(), s.size());
  out.resize(out.size() + (len - s.size()), 0);
}

// The attr as written: the first 128 bytes of ours, size field set to what we write.
std::array<std::uint8_t, kWriteAttrSize> attr_bytes(const perf_event_attr& a) {
  std::array<std::uint8_t, kWriteAttrSize> out{};
  perf_event_attr copy = a;
  copy.size = kWriteAttrSize;
  std::memcpy(out.data(), &copy, std::min(sizeof copy, out.size()));
  return out;
}

std::vector<std::uint8_t> record_header(std::uint32_t type, std::uint16_t misc) {
  std::vector<std::uint8_t> r;
  append<std::uint32_t>(r, type);
  append<std::uint16_t>(r, misc);
  append<std::uint16_t>(r, 0);  // size, set by finish_record
  return r;
}

// Pads to 8 and stores the size; the caller guarantees it fits in the u16.
void finish_record(std::vector<std::uint8_t>& r) {
  pad_to(r, 8);
  store<std::uint16_t>(r.data() + 6, static_cast<std::uint16_t>(r.size()));
}

// Filenames and comms are NUL-terminated and padded to 8 (kernel perf_event_mmap_output).
void append_c_string(std::vector<std::uint8_t>& r, std::string_view s) {
  append_bytes(r, s.data(), s.size());
  r.push_back(0);
  pad_to(r, 8);
}

// perf's build-id table entry (tools/perf/util/build-id.c write_buildid): misc says the size
// byte is valid; the filename is NUL-padded to 64 (NAME_ALIGN).
std::vector<std::uint8_t> build_id_record(const BuildIdEntry& e) {
  auto r = record_header(
      PERF_RECORD_HEADER_BUILD_ID,
      static_cast<std::uint16_t>((e.cpumode & PERF_RECORD_MISC_CPUMODE_MASK) | kMiscBuildIdSize));
  append<std::int32_t>(r, e.pid);
  std::array<std::uint8_t, 24> id{};
  const std::size_t n = std::min<std::size_t>(e.build_id.size(), 20);
  std::copy_n(e.build_id.begin(), n, id.begin());
  id[20] = static_cast<std::uint8_t>(n);
  append_bytes(r, id.data(), id.size());
  const auto name = std::string_view(e.filename).substr(0, 4096);
  append_bytes(r, name.data(), name.size());
  r.resize(r.size() + (name.size() + 1 + 63) / 64 * 64 - name.size(), 0);
  finish_record(r);
  return r;
}

// perf's pipe-mode tracing data (tools/perf/util/synthetic-events.c
// perf_event__synthesize_tracing_data): a record of header + u32 size + u32 pad whose size
// covers only itself, then `size` bytes of blob padded to 8 that the reader consumes straight
// from the stream. Newer perf declares the pad; perf 6.1 reads whatever header.size says.
std::vector<std::uint8_t> tracing_data_record(std::string_view blob) {
  auto r = record_header(PERF_RECORD_HEADER_TRACING_DATA, 0);
  const std::size_t padded = (blob.size() + 7) / 8 * 8;
  append<std::uint32_t>(r, static_cast<std::uint32_t>(padded));
  append<std::uint32_t>(r, 0);
  finish_record(r);
  append_bytes(r, blob.data(), blob.size());
  r.resize(r.size() + (padded - blob.size()), 0);
  return r;
}

// Body of each feature we write, in ascending feature-bit order (the order of the file
// section table and of pipe-mode HEADER_FEATURE records). Formats: header.c write_* functions.
std::vector<std::pair<int, std::vector<std::uint8_t>>> feature_bodies(
    const Features& f, const std::vector<EventAttr>& attrs, bool pipe) {
  std::vector<std::pair<int, std::vector<std::uint8_t>>> out;
  if (!pipe && !f.tracing_data.empty()) {  // pipe mode: tracing_data_record()
    out.emplace_back(HEADER_TRACING_DATA,
                     std::vector<std::uint8_t>(f.tracing_data.begin(), f.tracing_data.end()));
  }
  if (!pipe && !f.build_ids.empty()) {  // pipe mode sends them as HEADER_BUILD_ID records
    std::vector<std::uint8_t> b;
    for (const auto& e : f.build_ids) {
      auto r = build_id_record(e);
      b.insert(b.end(), r.begin(), r.end());
    }
    out.emplace_back(HEADER_BUILD_ID, std::move(b));
  }
  auto add_string = [&](int feat, const std::optional<std::string>& v) {
    if (!v) return;
    std::vector<std::uint8_t> b;
    append_feature_string(b, *v);
    out.emplace_back(feat, std::move(b));
  };
  add_string(HEADER_HOSTNAME, f.hostname);
  add_string(HEADER_OSRELEASE, f.osrelease);
  add_string(HEADER_VERSION, f.version);
  add_string(HEADER_ARCH, f.arch);
  if (f.nr_cpus_available || f.nr_cpus_online) {
    std::vector<std::uint8_t> b;
    const std::uint32_t online = f.nr_cpus_online.value_or(f.nr_cpus_available.value_or(0));
    append<std::uint32_t>(b, f.nr_cpus_available.value_or(online));  // nr_cpus_avail first
    append<std::uint32_t>(b, online);
    out.emplace_back(HEADER_NRCPUS, std::move(b));
  }
  add_string(HEADER_CPUDESC, f.cpudesc);
  {
    std::vector<std::uint8_t> b;
    append<std::uint32_t>(b, static_cast<std::uint32_t>(f.cmdline.size()));
    for (const auto& arg : f.cmdline) append_feature_string(b, arg);
    out.emplace_back(HEADER_CMDLINE, std::move(b));
  }
  {
    std::vector<std::uint8_t> b;
    append<std::uint32_t>(b, static_cast<std::uint32_t>(attrs.size()));
    append<std::uint32_t>(b, kWriteAttrSize);
    for (const auto& ea : attrs) {
      const auto ab = attr_bytes(ea.attr);
      append_bytes(b, ab.data(), ab.size());
      append<std::uint32_t>(b, static_cast<std::uint32_t>(ea.ids.size()));
      append_feature_string(b, ea.name.empty() ? event_name(ea.attr) : ea.name);
      for (auto id : ea.ids) append<std::uint64_t>(b, id);
    }
    out.emplace_back(HEADER_EVENT_DESC, std::move(b));
  }
  if (f.sample_time_first && f.sample_time_last) {
    std::vector<std::uint8_t> b;
    append<std::uint64_t>(b, *f.sample_time_first);
    append<std::uint64_t>(b, *f.sample_time_last);
    out.emplace_back(HEADER_SAMPLE_TIME, std::move(b));
  }
  return out;
}

}  // namespace

Features with_system_features(Features f) {
  struct utsname u {};
  if (::uname(&u) == 0) {
    if (!f.hostname) f.hostname = u.nodename;
    if (!f.osrelease) f.osrelease = u.release;
    if (!f.arch) f.arch = u.machine;
  }
  if (!f.hostname) f.hostname = "";  // hotspot's endianness check needs the HOSTNAME bit
  if (!f.version) f.version = "profile " PROF_VERSION_STRING;
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  const long conf = ::sysconf(_SC_NPROCESSORS_CONF);
  if (!f.nr_cpus_online && online > 0) f.nr_cpus_online = static_cast<std::uint32_t>(online);
  if (!f.nr_cpus_available && conf > 0) f.nr_cpus_available = static_cast<std::uint32_t>(conf);
  return f;
}

struct PerfDataWriter::Impl {
  int fd = -1;
  UniqueFd owned_fd;  // fd, when create() opened it
  std::string name;
  bool pipe = false;
  std::vector<EventAttr> attrs;
  Features features;
  std::size_t buffer_bytes = 0;
  std::vector<std::uint8_t> buf;
  std::uint64_t data_offset = 0;   // file mode: where records start
  std::uint64_t data_flushed = 0;  // record bytes on disk (file mode: data.size as patched)
  std::uint64_t stream_bytes = 0;  // everything written, headers included
  bool finished = false;
  std::optional<Error> failed;  // sticky: after a failed write nothing more is written

  std::array<std::uint8_t, kFileHeaderSize> file_header(std::uint64_t data_size,
                                                        std::uint64_t feature_bits) const {
    std::array<std::uint8_t, kFileHeaderSize> h{};
    store<std::uint64_t>(h.data(), kMagic);
    store<std::uint64_t>(h.data() + 8, kFileHeaderSize);
    store<std::uint64_t>(h.data() + kOffAttrSize, kWriteAttrSize + kFileSectionSize);
    store<std::uint64_t>(h.data() + kOffAttrs,
                         data_offset - attrs.size() * (kWriteAttrSize + kFileSectionSize));
    store<std::uint64_t>(h.data() + kOffAttrs + 8,
                         attrs.size() * (kWriteAttrSize + kFileSectionSize));
    store<std::uint64_t>(h.data() + kOffData, data_offset);
    store<std::uint64_t>(h.data() + kOffDataSize, data_size);
    store<std::uint64_t>(h.data() + kOffFeatures, feature_bits);  // all our bits are < 64
    return h;
  }

  Result<void> put(const std::uint8_t* p, std::size_t n, off_t offset) {
    if (failed) return *failed;
    auto r = write_all(fd, name, p, n, pipe ? -1 : offset);
    if (!r) {
      failed = r.error();
      return r;
    }
    stream_bytes += n;
    return ok();
  }

  Result<void> start() {
    if (pipe) {
      std::vector<std::uint8_t> out;
      append<std::uint64_t>(out, kMagic);
      append<std::uint64_t>(out, kPipeHeaderSize);
      for (const auto& ea : attrs) {
        auto r = record_header(PERF_RECORD_HEADER_ATTR, 0);
        const auto ab = attr_bytes(ea.attr);
        append_bytes(r, ab.data(), ab.size());
        for (auto id : ea.ids) append<std::uint64_t>(r, id);
        if (r.size() > kMaxRecordSize)
          return Error{Errc::kUsage, "'" + name + "': too many ids for one HEADER_ATTR record"};
        finish_record(r);
        out.insert(out.end(), r.begin(), r.end());
      }
      if (!features.tracing_data.empty()) {
        if (features.tracing_data.size() > 0xffffffffu - 8)
          return Error{Errc::kUsage, "'" + name + "': tracing data too large"};
        const auto r = tracing_data_record(features.tracing_data);
        out.insert(out.end(), r.begin(), r.end());
      }
      // Pipe-mode features are records carrying a u64 feature id before the body; perf itself
      // leaves them unpadded, we keep records 8-aligned.
      for (const auto& e : features.build_ids) {
        const auto r = build_id_record(e);
        out.insert(out.end(), r.begin(), r.end());
      }
      for (auto& [feat, body] : feature_bodies(features, attrs, true)) {
        auto r = record_header(PERF_RECORD_HEADER_FEATURE, 0);
        append<std::uint64_t>(r, static_cast<std::uint64_t>(feat));
        r.insert(r.end(), body.begin(), body.end());
        if (r.size() > kMaxRecordSize) continue;  // a huge cmdline: the feature is optional
        finish_record(r);
        out.insert(out.end(), r.begin(), r.end());
      }
      return put(out.data(), out.size(), -1);
    }
    // File mode layout (as perf record): header, each attr's id array, the attrs, the data.
    std::vector<std::uint8_t> out(kFileHeaderSize, 0);
    std::vector<std::uint64_t> id_offsets;
    for (const auto& ea : attrs) {
      id_offsets.push_back(out.size());
      for (auto id : ea.ids) append<std::uint64_t>(out, id);
    }
    for (std::size_t i = 0; i < attrs.size(); ++i) {
      const auto ab = attr_bytes(attrs[i].attr);
      append_bytes(out, ab.data(), ab.size());
      append<std::uint64_t>(out, id_offsets[i]);
      append<std::uint64_t>(out, attrs[i].ids.size() * 8);
    }
    data_offset = out.size();
    const auto h = file_header(0, 0);
    std::copy(h.begin(), h.end(), out.begin());
    return put(out.data(), out.size(), 0);
  }

  Result<void> flush() {
    if (failed) return *failed;
    if (!buf.empty()) {
      PROF_TRY(put(buf.data(), buf.size(), static_cast<off_t>(data_offset + data_flushed)));
      data_flushed += buf.size();
      buf.clear();
    }
    if (!pipe) {
      // The point of this writer: the header always describes what is on disk, so a capture
      // whose writer is killed stays readable (perf only patches data.size at exit).
      std::array<std::uint8_t, 8> sz{};
      store<std::uint64_t>(sz.data(), data_flushed);
      auto r = write_all(fd, name, sz.data(), sz.size(), kOffDataSize);
      if (!r) {
        failed = r.error();
        return r;
      }
    }
    return ok();
  }

  Result<void> finish() {
    if (finished) return failed ? Result<void>(*failed) : ok();
    finished = true;
    PROF_TRY(flush());
    if (pipe) return ok();
    // Feature section: table of {offset, size} per set bit at data end, bodies after it.
    auto bodies = feature_bodies(features, attrs, false);
    const std::uint64_t table_at = data_offset + data_flushed;
    std::vector<std::uint8_t> out(bodies.size() * kFileSectionSize, 0);
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      const auto& [feat, body] = bodies[i];
      bits |= std::uint64_t{1} << feat;
      store<std::uint64_t>(out.data() + i * kFileSectionSize, table_at + out.size());
      store<std::uint64_t>(out.data() + i * kFileSectionSize + 8, body.size());
      out.insert(out.end(), body.begin(), body.end());
    }
    PROF_TRY(put(out.data(), out.size(), static_cast<off_t>(table_at)));
    const auto h = file_header(data_flushed, bits);
    PROF_TRY(put(h.data(), h.size(), 0));
    // Drop anything past the feature section (an earlier, longer file at the same fd).
    if (::ftruncate(fd, static_cast<off_t>(table_at + out.size())) != 0 && errno != EINVAL)
      return io_error(name, "truncate failed", errno);
    return ok();
  }
};

Result<std::unique_ptr<PerfDataWriter>> PerfDataWriter::create(const std::string& path,
                                                               std::vector<EventAttr> attrs,
                                                               Options options) {
  if (path == "-") {
    if (::lseek(STDOUT_FILENO, 0, SEEK_CUR) < 0) options.pipe_mode = true;
    return create_fd(STDOUT_FILENO, "-", std::move(attrs), std::move(options));
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return io_error(path, "cannot create", errno);
  auto w = create_fd(fd.get(), path, std::move(attrs), std::move(options));
  if (!w) {
    // A header that could not be written (a full disk) leaves nothing readable: remove the
    // empty file rather than leave a broken capture behind. Devices stay.
    struct stat st {};
    const bool regular = ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode);
    fd.reset();
    if (regular) ::unlink(path.c_str());
    return w;
  }
  (*w)->impl_->owned_fd = std::move(fd);
  return w;
}

Result<std::unique_ptr<PerfDataWriter>> PerfDataWriter::create_fd(int fd, std::string name,
                                                                  std::vector<EventAttr> attrs,
                                                                  Options options) {
  if (attrs.empty())
    return Error{Errc::kUsage, "'" + name + "': perf.data needs at least one event attr"};
  if (attrs.size() > 1) {
    for (std::size_t i = 0; i < attrs.size(); ++i) {
      if (!(attrs[i].attr.sample_type & PERF_SAMPLE_IDENTIFIER))
        return Error{Errc::kUsage,
                     "'" + name + "': event " + std::to_string(i) +
                         " lacks PERF_SAMPLE_IDENTIFIER in sample_type; perf cannot tell the " +
                         std::to_string(attrs.size()) + " events' samples apart without it"};
    }
  }
  std::unique_ptr<PerfDataWriter> w(new PerfDataWriter());
  w->impl_ = std::make_unique<Impl>();
  auto& im = *w->impl_;
  im.fd = fd;
  im.name = std::move(name);
  im.pipe = options.pipe_mode;
  im.attrs = std::move(attrs);
  im.features = with_system_features(std::move(options.features));
  im.buffer_bytes = std::max<std::size_t>(options.buffer_bytes, 1);
  im.buf.reserve(std::min<std::size_t>(im.buffer_bytes, std::size_t{16} << 20) + kMaxRecordSize);
  PROF_TRY(im.start());
  return w;
}

PerfDataWriter::~PerfDataWriter() {
  if (impl_) (void)impl_->finish();
}

Result<void> PerfDataWriter::write(std::span<const std::uint8_t> record) {
  return write(record, {});
}

Result<void> PerfDataWriter::write(std::span<const std::uint8_t> first,
                                   std::span<const std::uint8_t> second) {
  auto& im = *impl_;
  if (im.failed) return *im.failed;
  if (im.finished) return Error{Errc::kInternal, "'" + im.name + "': write after finish()"};
  const std::size_t total = first.size() + second.size();
  if (first.size() < kRecordHeaderSize || load<std::uint16_t>(first.data() + 6) != total)
    return Error{Errc::kInternal, "'" + im.name + "': record of " + std::to_string(total) +
                                      " bytes does not match its header size"};
  im.buf.insert(im.buf.end(), first.begin(), first.end());
  im.buf.insert(im.buf.end(), second.begin(), second.end());
  if (im.buf.size() >= im.buffer_bytes) return im.flush();
  return ok();
}

Result<void> PerfDataWriter::add_build_id(const BuildIdEntry& entry) {
  if (!impl_->pipe) {
    if (impl_->finished)
      return Error{Errc::kInternal, "'" + impl_->name + "': add_build_id after finish()"};
    impl_->features.build_ids.push_back(entry);
    return ok();
  }
  return write(build_id_record(entry));
}

Result<void> PerfDataWriter::finished_round() {
  std::array<std::uint8_t, kRecordHeaderSize> r{};
  store<std::uint32_t>(r.data(), PERF_RECORD_FINISHED_ROUND);
  store<std::uint16_t>(r.data() + 6, kRecordHeaderSize);
  return write(r);
}

Result<void> PerfDataWriter::flush() { return impl_->flush(); }
Result<void> PerfDataWriter::finish() { return impl_->finish(); }
std::uint64_t PerfDataWriter::bytes_written() const { return impl_->stream_bytes; }

// ---- record builders (layouts: `man 2 perf_event_open`, "MMAP events" etc.) ----

std::vector<std::uint8_t> make_comm(const perf_event_attr& attr, std::uint32_t pid,
                                    std::uint32_t tid, std::string_view comm, bool exec) {
  auto r = record_header(PERF_RECORD_COMM, exec ? PERF_RECORD_MISC_COMM_EXEC : 0);
  append<std::uint32_t>(r, pid);
  append<std::uint32_t>(r, tid);
  append_c_string(r, comm.substr(0, 15));  // TASK_COMM_LEN 16 with the NUL
  SampleId sid;
  sid.pid = pid;
  sid.tid = tid;
  append_sample_id(r, attr, sid);
  finish_record(r);
  return r;
}

std::vector<std::uint8_t> make_mmap2(const perf_event_attr& attr, const Mmap& m) {
  auto r = record_header(PERF_RECORD_MMAP2, m.misc);
  append<std::uint32_t>(r, m.pid);
  append<std::uint32_t>(r, m.tid);
  append<std::uint64_t>(r, m.start);
  append<std::uint64_t>(r, m.len);
  append<std::uint64_t>(r, m.pgoff);
  if (m.misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
    const std::size_t n = std::min<std::size_t>(m.build_id.size(), 20);
    r.push_back(static_cast<std::uint8_t>(n));
    r.push_back(0);
    append<std::uint16_t>(r, 0);
    std::array<std::uint8_t, 20> id{};
    std::copy_n(m.build_id.begin(), n, id.begin());
    append_bytes(r, id.data(), id.size());
  } else {
    append<std::uint32_t>(r, m.maj);
    append<std::uint32_t>(r, m.min);
    append<std::uint64_t>(r, m.ino);
    append<std::uint64_t>(r, m.ino_generation);
  }
  append<std::uint32_t>(r, m.prot);
  append<std::uint32_t>(r, m.flags);
  // PATH_MAX bounds real names; clamp so the record always fits its u16 size.
  append_c_string(r, std::string_view(m.filename).substr(0, 4096));
  append_sample_id(r, attr, m.sid);
  finish_record(r);
  return r;
}

std::vector<std::uint8_t> make_task(const perf_event_attr& attr, std::uint32_t type,
                                    const Task& t) {
  auto r = record_header(type, 0);
  append<std::uint32_t>(r, t.pid);
  append<std::uint32_t>(r, t.ppid);
  append<std::uint32_t>(r, t.tid);
  append<std::uint32_t>(r, t.ptid);
  append<std::uint64_t>(r, t.time);
  append_sample_id(r, attr, t.sid);
  finish_record(r);
  return r;
}

std::vector<std::uint8_t> make_kernel_mmap(const perf_event_attr& attr, std::uint64_t start,
                                           std::uint64_t len, std::uint64_t pgoff,
                                           std::string_view filename) {
  // perf's synthesized kernel map: PERF_RECORD_MMAP, pid -1, misc KERNEL (perf
  // machine__process_kernel_mmap_event keys on the "[kernel.kallsyms]" name prefix).
  auto r = record_header(PERF_RECORD_MMAP, PERF_RECORD_MISC_KERNEL);
  append<std::uint32_t>(r, static_cast<std::uint32_t>(-1));
  append<std::uint32_t>(r, 0);
  append<std::uint64_t>(r, start);
  append<std::uint64_t>(r, len);
  append<std::uint64_t>(r, pgoff);
  append_c_string(r, filename.substr(0, 4096));
  SampleId sid;
  sid.pid = static_cast<std::uint32_t>(-1);
  append_sample_id(r, attr, sid);
  finish_record(r);
  return r;
}

std::vector<std::uint8_t> make_lost(const perf_event_attr& attr, const Lost& l) {
  auto r = record_header(PERF_RECORD_LOST, 0);
  append<std::uint64_t>(r, l.id);
  append<std::uint64_t>(r, l.lost);
  append_sample_id(r, attr, l.sid);
  finish_record(r);
  return r;
}

Result<std::vector<std::uint8_t>> make_sample(const perf_event_attr& attr, const Sample& s) {
  const auto t = attr.sample_type;
  auto r = record_header(PERF_RECORD_SAMPLE, s.misc);
  if (t & PERF_SAMPLE_IDENTIFIER) append<std::uint64_t>(r, s.id);
  if (t & PERF_SAMPLE_IP) append<std::uint64_t>(r, s.ip);
  if (t & PERF_SAMPLE_TID) {
    append<std::uint32_t>(r, s.pid);
    append<std::uint32_t>(r, s.tid);
  }
  if (t & PERF_SAMPLE_TIME) append<std::uint64_t>(r, s.time);
  if (t & PERF_SAMPLE_ADDR) append<std::uint64_t>(r, s.addr);
  if (t & PERF_SAMPLE_ID) append<std::uint64_t>(r, s.id);
  if (t & PERF_SAMPLE_STREAM_ID) append<std::uint64_t>(r, s.stream_id);
  if (t & PERF_SAMPLE_CPU) {
    append<std::uint32_t>(r, s.cpu);
    append<std::uint32_t>(r, 0);
  }
  if (t & PERF_SAMPLE_PERIOD) append<std::uint64_t>(r, s.period);
  if (t & PERF_SAMPLE_READ) {
    const auto f = attr.read_format;
    const int extras =
        std::popcount(f & (PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING));
    if (f & PERF_FORMAT_GROUP) {
      append<std::uint64_t>(r, 0);  // nr = 0 values
      for (int i = 0; i < extras; ++i) append<std::uint64_t>(r, 0);
    } else {
      const int n = 1 + extras + std::popcount(f & (PERF_FORMAT_ID | PERF_FORMAT_LOST));
      for (int i = 0; i < n; ++i) append<std::uint64_t>(r, 0);
    }
  }
  if (t & PERF_SAMPLE_CALLCHAIN) {
    append<std::uint64_t>(r, s.callchain.size());
    for (auto ip : s.callchain) append<std::uint64_t>(r, ip);
  }
  if (t & PERF_SAMPLE_RAW) {
    // The kernel pads u32 size + data to 8 and counts the padding in size.
    const std::size_t padded = (4 + s.raw.size() + 7) / 8 * 8 - 4;
    if (padded > kMaxRecordSize)
      return Error{Errc::kUsage, "sample RAW payload too large for a record"};
    append<std::uint32_t>(r, static_cast<std::uint32_t>(padded));
    append_bytes(r, s.raw.data(), s.raw.size());
    r.resize(r.size() + (padded - s.raw.size()), 0);
  }
  if (t & PERF_SAMPLE_BRANCH_STACK) {
    append<std::uint64_t>(r, 0);
    if (attr.branch_sample_type & PERF_SAMPLE_BRANCH_HW_INDEX) append<std::uint64_t>(r, 0);
  }
  if (t & PERF_SAMPLE_REGS_USER) {
    append<std::uint64_t>(r, s.regs_user_abi);
    if (s.regs_user_abi != 0) {
      if (s.regs_user.size() != static_cast<std::size_t>(std::popcount(attr.sample_regs_user)))
        return Error{Errc::kUsage, "sample has " + std::to_string(s.regs_user.size()) +
                                       " user registers, attr.sample_regs_user names " +
                                       std::to_string(std::popcount(attr.sample_regs_user))};
      for (auto v : s.regs_user) append<std::uint64_t>(r, v);
    }
  }
  if (t & PERF_SAMPLE_STACK_USER) {
    const std::size_t n = s.stack_user.size() / 8 * 8;
    append<std::uint64_t>(r, n);
    if (n > kMaxRecordSize) return Error{Errc::kUsage, "sample user stack too large"};
    append_bytes(r, s.stack_user.data(), n);
    if (n != 0) append<std::uint64_t>(r, s.stack_user_dyn_size);
  }
  if (t & (PERF_SAMPLE_WEIGHT | PERF_SAMPLE_WEIGHT_STRUCT)) append<std::uint64_t>(r, s.weight);
  if (t & PERF_SAMPLE_DATA_SRC) append<std::uint64_t>(r, s.data_src);
  if (t & PERF_SAMPLE_TRANSACTION) append<std::uint64_t>(r, 0);
  if (t & PERF_SAMPLE_REGS_INTR) append<std::uint64_t>(r, 0);  // abi NONE: no registers
  if (t & PERF_SAMPLE_PHYS_ADDR) append<std::uint64_t>(r, s.phys_addr);
  if (t & PERF_SAMPLE_CGROUP) append<std::uint64_t>(r, s.cgroup);
  if (t & PERF_SAMPLE_DATA_PAGE_SIZE) append<std::uint64_t>(r, 0);
  if (t & PERF_SAMPLE_CODE_PAGE_SIZE) append<std::uint64_t>(r, 0);
  if (t & PERF_SAMPLE_AUX) append<std::uint64_t>(r, 0);
  if (r.size() > kMaxRecordSize)
    return Error{Errc::kUsage, "sample of " + std::to_string(r.size()) +
                                   " bytes exceeds the 64 KiB a perf record can hold"};
  finish_record(r);
  return r;
}

}  // namespace prof::perf

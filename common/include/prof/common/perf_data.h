// perf.data: the capture format between the collector and the symbolizer, shared with perf,
// hotspot and anything else that reads `perf record` output.
//
// Follows the kernel ABI (<linux/perf_event.h>, `man 2 perf_event_open`) and perf's
// tools/perf/Documentation/perf.data-file-format.txt; facts measured against perf 6.1 are in
// ../shared/docs/reference/kernel-and-libdw.md (section 1).
//
// Pipeline position: prof::common. The collector writes with PerfDataWriter; the symbolizer and
// `profile symbolize` read with PerfDataReader, which decodes records with a RecordDecoder
// (record_decoder.h): the same one that decodes a live capture's records in memory. Both file
// mode (seekable, header + attrs + data + feature table) and pipe mode (`-o -`, everything as
// records) are supported.
//
//   auto r = prof::perf::PerfDataReader::open("perf.data");
//   if (!r) die(r.error().message);
//   prof::perf::Record rec;
//   prof::perf::Sample s;                      // reused: no allocation per sample once warm
//   while (true) {
//     auto more = (*r)->next(rec);
//     if (!more) die(more.error().message);   // names the byte offset of the bad record
//     if (!*more) break;
//     if (rec.type == PERF_RECORD_SAMPLE) {
//       auto ok = (*r)->parse_sample(rec, s); // decoded with the record's own attr
//       ...
//     }
//   }
//
//   // Writing (the collector): attrs first, then raw records as they come off the rings.
//   auto w = prof::perf::PerfDataWriter::create("perf.data", {{attr, ids, "cpu-clock"}}, {});
//   (*w)->write(prof::perf::make_comm(attr, pid, tid, "myprog"));
//   (*w)->flush();     // the file is now readable by perf up to here, even if we die
//   (*w)->finish();    // feature section + final header
#pragma once

#include <linux/perf_event.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/result.h"
#include "prof/common/warnings.h"

namespace prof::perf {

// perf's user-space record types (tools/lib/perf/include/perf/event.h), numbered from 64.
enum UserRecordType : std::uint32_t {
  PERF_RECORD_HEADER_ATTR = 64,
  PERF_RECORD_HEADER_EVENT_TYPE = 65,
  PERF_RECORD_HEADER_TRACING_DATA = 66,
  PERF_RECORD_HEADER_BUILD_ID = 67,
  PERF_RECORD_FINISHED_ROUND = 68,
  PERF_RECORD_ID_INDEX = 69,
  PERF_RECORD_AUXTRACE_INFO = 70,
  PERF_RECORD_AUXTRACE = 71,
  PERF_RECORD_AUXTRACE_ERROR = 72,
  PERF_RECORD_THREAD_MAP = 73,
  PERF_RECORD_CPU_MAP = 74,
  PERF_RECORD_STAT_CONFIG = 75,
  PERF_RECORD_STAT = 76,
  PERF_RECORD_STAT_ROUND = 77,
  PERF_RECORD_EVENT_UPDATE = 78,
  PERF_RECORD_TIME_CONV = 79,
  PERF_RECORD_HEADER_FEATURE = 80,
  PERF_RECORD_COMPRESSED = 81,
  PERF_RECORD_FINISHED_INIT = 82,
};

// perf.data feature bits (tools/perf/util/header.h, HEADER_*).
enum Feature : int {
  HEADER_TRACING_DATA = 1,
  HEADER_BUILD_ID = 2,
  HEADER_HOSTNAME = 3,
  HEADER_OSRELEASE = 4,
  HEADER_VERSION = 5,
  HEADER_ARCH = 6,
  HEADER_NRCPUS = 7,
  HEADER_CPUDESC = 8,
  HEADER_CPUID = 9,
  HEADER_TOTAL_MEM = 10,
  HEADER_CMDLINE = 11,
  HEADER_EVENT_DESC = 12,
  HEADER_SAMPLE_TIME = 21,
  HEADER_COMPRESSED = 27,
  HEADER_DIR_FORMAT = 24,
  HEADER_LAST_FEATURE = 32,
};

// The largest attr we write (PERF_ATTR_SIZE_VER7): perf 6.1 refuses larger ones.
inline constexpr std::uint32_t kWriteAttrSize = 128;

// One event of the capture: its attr, the kernel ids of its fds (PERF_EVENT_IOC_ID), its name.
struct EventAttr {
  perf_event_attr attr{};  // zero-extended if the file's attr was shorter
  std::vector<std::uint64_t> ids;
  std::string name;  // from EVENT_DESC / HEADER_EVENT_DESC if present, else ""
};

// One entry of perf's build-id table (HEADER_BUILD_ID feature; pipe mode:
// PERF_RECORD_HEADER_BUILD_ID records): the build-id of a DSO that samples hit.
struct BuildIdEntry {
  std::int32_t pid = -1;  // -1 for the host (perf writes HOST_KERNEL_ID / -1)
  std::uint16_t cpumode = PERF_RECORD_MISC_USER;  // PERF_RECORD_MISC_{KERNEL,USER,GUEST_*}
  std::vector<std::uint8_t> build_id;             // up to 20 bytes
  std::string filename;
};

// Header-level metadata (file header + features, or pipe-mode HEADER_* records).
struct Features {
  std::optional<std::string> hostname, osrelease, version, arch, cpudesc;
  std::optional<std::uint32_t> nr_cpus_online, nr_cpus_available;
  std::vector<std::string> cmdline;
  std::optional<std::uint64_t> sample_time_first, sample_time_last;
  std::vector<BuildIdEntry> build_ids;
  // perf's tracing-data blob (tracing_data.h: encode_tracing_data / parse_tracing_data), which
  // perf script needs to decode tracepoint samples. Written as the HEADER_TRACING_DATA feature
  // (file mode) or a PERF_RECORD_HEADER_TRACING_DATA record followed by the blob (pipe mode).
  // Default empty: not written. Read back from pipe mode it carries perf's padding to 8 bytes.
  std::string tracing_data;
};

// Fills the features the writer always records (hostname, osrelease, version, arch from
// uname(2); NRCPUS from sysconf) where `f` leaves them unset. cmdline is left as given.
Features with_system_features(Features f);

// A record as stored: header fields plus its bytes (header included). `bytes` points into the
// reader's buffer and stays valid until the next call to next().
struct Record {
  std::uint32_t type = 0;
  std::uint16_t misc = 0;
  std::uint64_t file_offset = 0;        // byte offset of the record in the file/stream
  std::span<const std::uint8_t> bytes;  // whole record, header included
};

// A Record over one complete record's bytes, header included (a live capture's, as a
// collector hands them over); nullopt when they are shorter than the header.
inline std::optional<Record> record_of(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < sizeof(perf_event_header)) return std::nullopt;
  perf_event_header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  return Record{h.type, h.misc, 0, bytes};
}

// The sample_id_all trailer / identifying fields of a non-sample record.
struct SampleId {
  std::uint32_t pid = 0, tid = 0;
  std::uint64_t time = 0, id = 0, stream_id = 0;
  std::uint32_t cpu = 0;
};

// A decoded PERF_RECORD_SAMPLE. Spans point into the Record's bytes.
struct Sample {
  std::size_t attr_index = 0;     // index into PerfDataReader::attrs()
  std::uint64_t sample_type = 0;  // what is present
  std::uint64_t ip = 0, time = 0, addr = 0, id = 0, stream_id = 0, period = 1;
  std::uint32_t pid = 0, tid = 0, cpu = 0;
  std::uint16_t misc = 0;                    // PERF_RECORD_MISC_* (cpumode)
  std::vector<std::uint64_t> callchain;      // includes PERF_CONTEXT_* markers, as the kernel wrote
  std::uint64_t regs_user_abi = 0;           // PERF_SAMPLE_REGS_ABI_*; 0 = none
  std::vector<std::uint64_t> regs_user;      // in bit order of attr.sample_regs_user
  std::span<const std::uint8_t> stack_user;  // the copied bytes (size), of which dyn_size valid
  std::uint64_t stack_user_dyn_size = 0;
  std::span<const std::uint8_t> raw;  // PERF_SAMPLE_RAW (tracepoint payload, padded)
  std::uint64_t weight = 0;           // PERF_SAMPLE_WEIGHT / WEIGHT_STRUCT (raw u64)
  std::uint64_t data_src = 0, phys_addr = 0, cgroup = 0;
};

// PERF_RECORD_MMAP / MMAP2.
struct Mmap {
  bool is_mmap2 = false;
  std::uint16_t misc = 0;
  std::uint32_t pid = 0, tid = 0;
  std::uint64_t start = 0, len = 0, pgoff = 0;
  std::uint32_t maj = 0, min = 0, prot = 0, flags = 0;
  std::uint64_t ino = 0, ino_generation = 0;
  std::vector<std::uint8_t> build_id;  // when misc has PERF_RECORD_MISC_MMAP_BUILD_ID
  std::string filename;
  SampleId sid;
};

struct Comm {
  std::uint32_t pid = 0, tid = 0;
  std::string comm;
  bool exec = false;  // PERF_RECORD_MISC_COMM_EXEC
  SampleId sid;
};

// PERF_RECORD_FORK / EXIT.
struct Task {
  std::uint32_t pid = 0, ppid = 0, tid = 0, ptid = 0;
  std::uint64_t time = 0;
  SampleId sid;
};

struct Lost {
  std::uint64_t id = 0, lost = 0;
  SampleId sid;
};

class RecordDecoder;  // record_decoder.h

class PerfDataReader {
 public:
  // path "-" reads stdin. Regular files are mmap'd; pipes are read in 4 MiB blocks (pipe mode
  // only: a file-mode capture needs seeking). Rejects byte-swapped, legacy 'PERFFILE',
  // compressed (perf -z) and directory-format (perf --threads) captures with a message that
  // says so (Errc::kUnsupported); a damaged header is Errc::kParse naming the byte offset.
  // Soft problems (unreadable feature sections, truncation) go to `warnings` (may be null).
  static Result<std::unique_ptr<PerfDataReader>> open(const std::string& path,
                                                      WarningSink* warnings = nullptr);
  // Reads from an in-memory image (tests, fuzzing). `name` is used in messages.
  static Result<std::unique_ptr<PerfDataReader>> from_memory(std::string data, std::string name,
                                                             WarningSink* warnings = nullptr);
  virtual ~PerfDataReader();

  bool pipe_mode() const;
  const std::vector<EventAttr>& attrs() const;  // in pipe mode grows as HEADER_ATTRs arrive
  const Features& features() const;             // in pipe mode filled as HEADER_FEATUREs arrive

  // Next record in file order; false at the end. Unknown record types are returned as they are
  // (skip them by type). A corrupt record (size below its header, a HEADER_ATTR without an
  // attr) or a compressed one is an Error naming its byte offset; input that ends inside a
  // record (truncated file, killed writer) ends the read with a "perf-data-truncated" warning.
  // A file-mode header with data.size 0 (perf killed before it patched it) is read to the end
  // of the file with a "perf-data-unfinished" warning.
  // HEADER_ATTR / HEADER_FEATURE / EVENT_UPDATE(name) records are consumed into attrs() /
  // features() and also returned.
  Result<bool> next(Record& out);

  // What decodes this capture's records: attrs(), features() and the parse_* functions below
  // are its own (the reader only forwards), so files and live captures share one decoder.
  const RecordDecoder& decoder() const;

  // decoder()'s functions of these names (record_decoder.h), for callers that hold a reader.
  Result<Sample> parse_sample(const Record& r) const;
  Result<void> parse_sample(const Record& r, Sample& out) const;
  Result<SampleId> parse_sample_id(const Record& r) const;
  Result<Mmap> parse_mmap(const Record& r) const;
  Result<Comm> parse_comm(const Record& r) const;
  Result<Task> parse_task(const Record& r) const;
  Result<Lost> parse_lost(const Record& r) const;
  std::size_t attr_index_of(const Record& r) const;
  std::optional<std::uint64_t> sample_time(const Record& r) const;

  // Byte offset where the records start (after the file header / pipe header).
  std::uint64_t data_offset() const;
  // Bytes of records the input holds, when known up front (a mapped or in-memory input);
  // 0 for a stream. A sizing hint, e.g. for how many samples to expect.
  std::uint64_t data_bytes() const;

  // True when Record::bytes stay valid for the reader's lifetime, not just until the next
  // next() (the input is mapped or held whole; false for pipes read block by block).
  bool bytes_stable() const;

 protected:
  PerfDataReader() = default;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  friend struct ReaderAccess;
};

// Writes perf.data. In file mode the data size in the header is updated on every flush(), so a
// writer that dies mid-capture leaves a file readable up to its last flush (perf does not do this).
class PerfDataWriter {
 public:
  struct Options {
    bool pipe_mode = false;  // default off: header of 16 bytes, attrs/features as records
    // Written as HOSTNAME, OSRELEASE, VERSION, ARCH, NRCPUS, CPUDESC, CMDLINE, SAMPLE_TIME,
    // BUILD_ID (+ EVENT_DESC from the attrs); unset ones among HOSTNAME..NRCPUS are filled from
    // this system (with_system_features). Default: all unset.
    Features features;
    // Buffered bytes that trigger an automatic flush (default 1 MiB).
    std::size_t buffer_bytes = std::size_t{1} << 20;
  };
  // With more than one attr every attr must have PERF_SAMPLE_IDENTIFIER in sample_type (perf
  // refuses the file otherwise): create() returns an Errc::kUsage error. Attrs are written
  // with size 128 (kWriteAttrSize).
  // Creates/truncates `path` ("-" = stdout, which forces pipe mode if stdout is not seekable).
  static Result<std::unique_ptr<PerfDataWriter>> create(const std::string& path,
                                                        std::vector<EventAttr> attrs,
                                                        Options options);
  // Writes to an already-open fd (not closed by the writer).
  static Result<std::unique_ptr<PerfDataWriter>> create_fd(int fd, std::string name,
                                                           std::vector<EventAttr> attrs,
                                                           Options options);
  // Calls finish() if it was not called (errors are lost then: call finish() yourself).
  virtual ~PerfDataWriter();

  // Appends one record (header included, size as in its header). Buffered.
  Result<void> write(std::span<const std::uint8_t> record);
  // The same for a record that wraps the end of a ring buffer: `first` (holding the whole
  // 8-byte header) then `second`, copied once, straight into the write buffer.
  Result<void> write(std::span<const std::uint8_t> first, std::span<const std::uint8_t> second);
  // Records the build-id of a DSO the capture hit (perf report checks it against the file it
  // opens). File mode: written in the BUILD_ID feature at finish(); pipe mode: written now as
  // a PERF_RECORD_HEADER_BUILD_ID record.
  Result<void> add_build_id(const BuildIdEntry& entry);
  // Writes a PERF_RECORD_FINISHED_ROUND (call after each full drain of all ring buffers).
  Result<void> finished_round();
  // Pushes buffered bytes to the file and, in file mode, patches the header's data size.
  Result<void> flush();
  // Flushes, writes the feature section (incl. EVENT_DESC) and the final header. Idempotent.
  Result<void> finish();

  std::uint64_t bytes_written() const;

 protected:
  PerfDataWriter() = default;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Builders for records the collector synthesizes from /proc (sample_id_all trailer appended
// according to `attr` when attr.sample_id_all is set). Output is a complete, 8-aligned record.
std::vector<std::uint8_t> make_comm(const perf_event_attr& attr, std::uint32_t pid,
                                    std::uint32_t tid, std::string_view comm, bool exec = false);
std::vector<std::uint8_t> make_mmap2(const perf_event_attr& attr, const Mmap& m);
std::vector<std::uint8_t> make_task(const perf_event_attr& attr, std::uint32_t type /*FORK|EXIT*/,
                                    const Task& t);
std::vector<std::uint8_t> make_kernel_mmap(const perf_event_attr& attr, std::uint64_t start,
                                           std::uint64_t len, std::uint64_t pgoff,
                                           std::string_view filename = "[kernel.kallsyms]_text");
std::vector<std::uint8_t> make_lost(const perf_event_attr& attr, const Lost& l);
// Encodes `s` as the kernel would for attr.sample_type (perf_event_open(2) order). Fields the
// Sample does not carry (READ, BRANCH_STACK, TRANSACTION, REGS_INTR, page sizes, AUX) are
// written empty/zero. Errors when the record would exceed the 64 KiB a record size can express
// or regs_user does not match attr.sample_regs_user.
Result<std::vector<std::uint8_t>> make_sample(const perf_event_attr& attr, const Sample& s);

}  // namespace prof::perf

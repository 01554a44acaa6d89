// perf's "tracing data": the tracefs metadata a tracepoint capture carries so that a reader can
// decode the raw payload (PERF_SAMPLE_RAW) of each tracepoint sample on any machine.
//
// perf stores it in the HEADER_TRACING_DATA feature (file mode) or after a
// PERF_RECORD_HEADER_TRACING_DATA record (pipe mode); `perf script` refuses a tracepoint capture
// without it ("broken or missing trace data"). Layout, as perf 6.1 writes and reads it
// (tools/perf/util/trace-event-info.c, trace-event-read.c), all integers in host byte order:
//
//   "\x17\x08\x44tracing" (10 bytes), version "0.6\0", u8 big_endian, u8 sizeof(long),
//   u32 page_size,
//   "header_page\0"  u64 size + events/header_page,
//   "header_event\0" u64 size + events/header_event,
//   u32 count, count × (u64 size + events/ftrace/<event>/format),
//   u32 systems, per system: name "\0", u32 count, count × (u64 size + events/<sys>/<ev>/format),
//   u32 size + /proc/kallsyms (perf writes 0), u32 size + printk_formats,
//   u64 size + saved_cmdlines (version 0.6).
//
// Pipeline position: prof::common. The collector fills a TracingData from tracefs for the
// tracepoints it records and hands encode_tracing_data() to the perf.data writer
// (Features::tracing_data); readers get the blob back in PerfDataReader::features() and decode
// it with parse_tracing_data() / parse_tracepoint_format().
//
//   prof::perf::TracingData td;
//   td.header_page = read("events/header_page"); td.header_event = read("events/header_event");
//   td.systems.push_back({"sched", {read("events/sched/sched_switch/format")}});
//   features.tracing_data = prof::perf::encode_tracing_data(td);
//   ...
//   auto fmt = prof::perf::parse_tracepoint_format(td.systems[0].formats[0]);
//   const auto* prev_pid = fmt->field("prev_pid");   // offset 24, size 4, signed
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/result.h"

namespace prof::perf {

struct TracingSystem {
  std::string name;                  // "sched"
  std::vector<std::string> formats;  // each a whole events/<sys>/<event>/format file
};

struct TracingData {
  bool big_endian = false;  // default: little-endian (what we write on x86/arm64)
  std::uint8_t long_size = sizeof(long);
  std::uint32_t page_size = 4096;  // default 4096; the collector writes sysconf(_SC_PAGESIZE)
  std::string header_page, header_event;    // events/header_page, events/header_event
  std::vector<std::string> ftrace_formats;  // events/ftrace/*/format (perf: those recorded)
  std::vector<TracingSystem> systems;       // every other system with a recorded tracepoint
  std::string kallsyms;                     // default empty, as perf 6.1 writes it
  std::string printk_formats;               // tracefs printk_formats
  std::string saved_cmdlines;               // tracefs saved_cmdlines
};

// The blob, ready for Features::tracing_data.
std::string encode_tracing_data(const TracingData& data);
// Decodes a blob (ours or perf's, version 0.5 or 0.6, host byte order only). Errc::kParse
// names the byte offset where it is cut short or malformed.
Result<TracingData> parse_tracing_data(std::string_view blob);

// One `field:` line of a tracepoint format file.
struct TracepointField {
  std::string name;          // "prev_pid"
  std::string type;          // "pid_t"
  std::uint32_t offset = 0;  // into the raw payload (PERF_SAMPLE_RAW data)
  std::uint32_t size = 0;
  bool is_signed = false;
};

// A parsed events/<sys>/<event>/format file.
struct TracepointFormat {
  std::string name;                     // "sched_switch"
  std::uint64_t id = 0;                 // the tracepoint id (perf_event_attr.config)
  std::vector<TracepointField> fields;  // common_* fields first, as in the file

  const TracepointField* field(std::string_view field_name) const;
  // Reads an integer field (1, 2, 4 or 8 bytes, sign-extended when signed) from a raw payload;
  // nullopt when the field is absent or outside `raw`.
  std::optional<std::int64_t> read_int(std::string_view field_name, std::string_view raw) const;
};

// Errc::kParse when there is no "name:" or "ID:" line or a field line is malformed.
Result<TracepointFormat> parse_tracepoint_format(std::string_view text);

}  // namespace prof::perf

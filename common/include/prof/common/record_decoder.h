// RecordDecoder: decodes the kernel records of a capture (PERF_RECORD_SAMPLE, MMAP/MMAP2, COMM,
// FORK/EXIT, LOST and the sample_id_all trailer) given the capture's event attrs. It is the one
// decoding path: PerfDataReader decodes the records it reads with one, and a live capture's
// records, handed over in memory by the collector, are decoded with one built from the attrs the
// collector opened — no perf.data header is needed for that.
//
// Pipeline position: prof::common, used by the symbolizer (RecordFeeder), the collector
// (build-id recording) and the all-in-one pipeline.
//
//   prof::perf::RecordDecoder decoder(collector_attrs);   // + Features{.tracing_data} if any
//   prof::perf::Sample s;                                  // reused: no allocation once warm
//   auto rec = prof::perf::record_of(bytes);
//   if (rec && rec->type == PERF_RECORD_SAMPLE && decoder.parse_sample(*rec, s)) use(s);
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "prof/common/perf_data.h"
#include "prof/common/result.h"

namespace prof::perf {

class RecordDecoder {
 public:
  // `features` carries what decoding beyond the kernel layout needs (tracing_data for
  // tracepoint payloads) and what consumers want from the capture header (build_ids).
  // `name` prefixes error messages ("'NAME': byte offset N: ...").
  explicit RecordDecoder(std::vector<EventAttr> attrs = {}, Features features = {},
                         std::string name = "<capture>");

  const std::vector<EventAttr>& attrs() const { return attrs_; }
  const Features& features() const { return features_; }
  const std::string& name() const { return name_; }

  // Each checks every length against the record size; errors name the record's byte offset.
  Result<Sample> parse_sample(const Record& r) const;
  // Same, into `out`, reusing its vectors' capacity (the fast path for large captures).
  Result<void> parse_sample(const Record& r, Sample& out) const;
  // The sample_id_all trailer of a non-sample kernel record (zeros where absent).
  Result<SampleId> parse_sample_id(const Record& r) const;
  Result<Mmap> parse_mmap(const Record& r) const;  // MMAP or MMAP2
  Result<Comm> parse_comm(const Record& r) const;
  Result<Task> parse_task(const Record& r) const;  // FORK or EXIT
  Result<Lost> parse_lost(const Record& r) const;
  // Which attr a record belongs to (via IDENTIFIER/ID); 0 when there is only one attr, and for
  // an id no attr claims (perf gives synthesized records id 0 and treats them the same way).
  std::size_t attr_index_of(const Record& r) const;
  // The timestamp of a PERF_RECORD_SAMPLE without decoding the rest (time ordering looks at
  // every sample); nullopt when its attr has no PERF_SAMPLE_TIME or the record is too short.
  std::optional<std::uint64_t> sample_time(const Record& r) const;

  // ---- For readers that learn the capture while reading it (pipe-mode HEADER_* records) ----
  // Appends an event. False when the events now disagree on where the sample id sits (no
  // PERF_SAMPLE_IDENTIFIER): records may then be attributed to the wrong event.
  bool add_attr(EventAttr attr);
  // Replaces every event; same result as add_attr.
  bool set_attrs(std::vector<EventAttr> attrs);
  // Names an event (EVENT_DESC / EVENT_UPDATE): the one owning ids.front() when some event
  // does, else the one at `index` (if any).
  void name_event(std::size_t index, const std::vector<std::uint64_t>& ids, std::string name);
  Features& mutable_features() { return features_; }
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  bool rebuild_id_index();
  Result<const perf_event_attr*> attr_for(const Record& r) const;
  Error parse_error(std::uint64_t offset, const std::string& what) const;
  Error wrong_type(const Record& r, const char* want) const;
  // The sample_id_all trailer of a kernel record and where the record's body ends.
  struct Trailer {
    SampleId sid;
    std::size_t body_end = 0;
  };
  Result<Trailer> trailer(const Record& r, std::size_t min_body, const char* what) const;

  std::string name_;
  std::vector<EventAttr> attrs_;
  Features features_;
  // (id, attr index) sorted by id, first attr wins: every sample looks its id up (twice with
  // time ordering), and a capture has a few ids per CPU, where a binary search of a flat array
  // beats hashing.
  std::vector<std::pair<std::uint64_t, std::size_t>> id_list_;
  int id_pos_ = -1;  // see internal::sample_id_pos
  int is_pos_ = -1;  // see internal::trailer_id_pos
};

}  // namespace prof::perf

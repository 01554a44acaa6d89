// RecordDecoder (prof/common/record_decoder.h): a decoder built from the attrs alone decodes a
// live capture's records exactly as the reader decodes the same records from a file, and the
// reader's own parse_* functions are its decoder's.
#include "prof/common/record_decoder.h"

#include "perf_data_test_support.h"

namespace prof::perf {
namespace {

using namespace pdtest;  // NOLINT(google-build-using-namespace): the suite's shared helpers
using test::TempDir;

// Two events told apart by PERF_SAMPLE_IDENTIFIER, as the collector opens them.
std::vector<EventAttr> two_events() {
  auto a = clock_attr(PERF_SAMPLE_IDENTIFIER);
  auto b = clock_attr(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_RAW);
  b.config = PERF_COUNT_SW_PAGE_FAULTS;
  return {{a, {11, 12}, "cpu-clock"}, {b, {21, 22}, "page-faults"}};
}

// A record as a collector hands it over: its bytes only.
Record live(const std::vector<std::uint8_t>& bytes) {
  auto r = record_of(bytes);
  EXPECT_TRUE(r.has_value());
  return r.value_or(Record{});
}

TEST(RecordDecoder, DecodesLiveRecordsLikeTheReaderDecodesTheFile) {
  const auto events = two_events();
  Sample s;
  s.ip = 0x401000;
  s.pid = s.tid = 7;
  s.time = 5000;
  s.cpu = 1;
  s.id = 22;
  s.period = 3;
  s.callchain = {PERF_CONTEXT_USER, 0x401000, 0x402000};
  static const std::uint8_t kPayload[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  s.raw = {kPayload, 4};
  const auto second = *make_sample(events[1].attr, s);
  s.id = 11;
  s.raw = {};
  const auto first = *make_sample(events[0].attr, s);
  const auto comm = make_comm(events[0].attr, 7, 7, "worker", true);
  Mmap m;
  m.pid = m.tid = 7;
  m.start = 0x400000;
  m.len = 0x10000;
  m.filename = "/usr/bin/worker";
  m.sid.id = 12;
  m.sid.time = 4000;
  const auto mmap = make_mmap2(events[0].attr, m);
  const std::vector<std::vector<std::uint8_t>> records = {comm, mmap, first, second};

  TempDir dir;
  const auto path = dir.file("live.data");
  {
    auto w = PerfDataWriter::create(path, events, {});
    ASSERT_TRUE(w) << w.error().message;
    for (const auto& r : records) ASSERT_TRUE((*w)->write(r));
    ASSERT_TRUE((*w)->finish());
  }
  auto reader = PerfDataReader::open(path);
  ASSERT_TRUE(reader) << reader.error().message;

  Features features;
  features.tracing_data = "blob";
  const RecordDecoder decoder(events, features);
  EXPECT_EQ(decoder.features().tracing_data, "blob");
  ASSERT_EQ(decoder.attrs().size(), 2u);
  Record rec;
  for (const auto& bytes : records) {
    auto more = (*reader)->next(rec);
    ASSERT_TRUE(more && *more);
    const Record mine = live(bytes);
    EXPECT_EQ(decoder.attr_index_of(mine), (*reader)->attr_index_of(rec));
    EXPECT_EQ(decoder.sample_time(mine), (*reader)->sample_time(rec));
    if (rec.type == PERF_RECORD_SAMPLE) {
      auto from_file = (*reader)->parse_sample(rec);
      auto from_live = decoder.parse_sample(mine);
      ASSERT_TRUE(from_file && from_live) << from_live.error().message;
      EXPECT_EQ(from_live->attr_index, from_file->attr_index);
      EXPECT_EQ(from_live->id, from_file->id);
      EXPECT_EQ(from_live->callchain, from_file->callchain);
      EXPECT_EQ(from_live->raw.size(), from_file->raw.size());
      EXPECT_EQ(from_live->time, from_file->time);
    } else if (rec.type == PERF_RECORD_MMAP2) {
      auto a = decoder.parse_mmap(mine);
      auto b = (*reader)->parse_mmap(rec);
      ASSERT_TRUE(a && b);
      EXPECT_EQ(a->filename, b->filename);
      expect_sid_eq(a->sid, b->sid);
    } else if (rec.type == PERF_RECORD_COMM) {
      auto a = decoder.parse_comm(mine);
      ASSERT_TRUE(a);
      EXPECT_EQ(a->comm, "worker");
      EXPECT_TRUE(a->exec);
    }
  }
  // The second sample is the page-faults event's (id 22), the MMAP2 the clock's (id 12).
  EXPECT_EQ(decoder.attr_index_of(live(second)), 1u);
  EXPECT_EQ(decoder.attr_index_of(live(mmap)), 0u);
  EXPECT_EQ(&(*reader)->decoder().attrs(), &(*reader)->attrs());
}

TEST(RecordDecoder, ErrorsNameTheDecoderAndTheRecord) {
  const RecordDecoder decoder(two_events());
  const auto comm = make_comm(decoder.attrs()[0].attr, 1, 1, "x");
  auto wrong = decoder.parse_sample(live(comm));
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("'<capture>'"), std::string::npos) << wrong.error().message;
  auto cut = live(comm);
  cut.type = PERF_RECORD_MMAP2;
  auto short_mmap = decoder.parse_mmap(cut);
  ASSERT_FALSE(short_mmap);
  EXPECT_EQ(short_mmap.error().code, Errc::kParse);

  const RecordDecoder empty;
  auto none = empty.parse_comm(live(comm));
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("before any event attr"), std::string::npos);
  EXPECT_EQ(empty.sample_time(live(comm)), std::nullopt);
}

TEST(RecordDecoder, LearnsEventsAndNamesAsTheyArrive) {
  RecordDecoder decoder;
  auto events = two_events();
  EXPECT_TRUE(decoder.add_attr(events[0]));
  EXPECT_TRUE(decoder.add_attr(events[1]));
  decoder.name_event(0, {21}, "faults");  // by id: the second event
  decoder.name_event(0, {99}, "clock");   // no such id: by index
  EXPECT_EQ(decoder.attrs()[1].name, "faults");
  EXPECT_EQ(decoder.attrs()[0].name, "clock");
  // An event whose id sits elsewhere makes attribution unreliable: add_attr says so.
  auto odd = clock_attr(PERF_SAMPLE_ID);
  EXPECT_FALSE(decoder.add_attr({odd, {31}, ""}));
}

}  // namespace
}  // namespace prof::perf

// Tests for perf's tracing-data blob (prof/common/tracing_data.h) and its place in perf.data:
// round trips, every truncation of a blob, tracefs format files, and the real `perf script`
// decoding a tracepoint capture we wrote (file and pipe mode) from the blob alone.
#include "prof/common/tracing_data.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "prof/common/perf_data.h"
#include "test_support.h"

namespace prof::perf {
namespace {

using test::TempDir;

// A sched_switch format as tracefs prints it (kernel/trace/trace_events.c f_show), with an ID
// no kernel here uses: perf must take the layout from our blob, not from this machine.
constexpr std::uint64_t kSwitchId = 9001;
const std::string kSwitchFormat =
    "name: sched_switch\n"
    "ID: 9001\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
    "\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
    "\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n"
    "\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n"
    "\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n"
    "\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n"
    "\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n"
    "\n"
    "print fmt: \"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%ld ==> next_comm=%s "
    "next_pid=%d next_prio=%d\", REC->prev_comm, REC->prev_pid, REC->prev_prio, "
    "REC->prev_state, REC->next_comm, REC->next_pid, REC->next_prio\n";

const std::string kHeaderPage =
    "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
    "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
    "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
    "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";
const std::string kHeaderEvent =
    "# compressed entry header\n\ttype_len    :    5 bits\n\ttime_delta  :   27 bits\n"
    "\tarray       :   32 bits\n\n\tpadding     : type == 29\n\ttime_extend : type == 30\n"
    "\ttime_stamp : type == 31\n\tdata max type_len  == 28\n";

TracingData sample_tracing_data() {
  TracingData td;
  td.header_page = kHeaderPage;
  td.header_event = kHeaderEvent;
  td.systems.push_back({"sched", {kSwitchFormat}});
  td.printk_formats = "0xffffffff82000000 : \"hello\"\n";
  td.saved_cmdlines = "4242 sleeper\n";
  return td;
}

TEST(TracingData, RoundTrips) {
  TracingData td = sample_tracing_data();
  td.ftrace_formats.push_back("name: function\nID: 1\nformat:\n");
  const std::string blob = encode_tracing_data(td);
  ASSERT_EQ(blob.substr(0, 10), std::string("\x17\x08\x44tracing", 10));
  auto back = parse_tracing_data(blob);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->header_page, td.header_page);
  EXPECT_EQ(back->header_event, td.header_event);
  EXPECT_EQ(back->ftrace_formats, td.ftrace_formats);
  ASSERT_EQ(back->systems.size(), 1u);
  EXPECT_EQ(back->systems[0].name, "sched");
  EXPECT_EQ(back->systems[0].formats, td.systems[0].formats);
  EXPECT_EQ(back->printk_formats, td.printk_formats);
  EXPECT_EQ(back->saved_cmdlines, td.saved_cmdlines);
  EXPECT_EQ(back->long_size, sizeof(long));
}

TEST(TracingData, EveryTruncationIsAnErrorNotACrash) {
  const std::string blob = encode_tracing_data(sample_tracing_data());
  for (std::size_t n = 0; n < blob.size(); ++n) {
    auto r = parse_tracing_data(std::string_view(blob).substr(0, n));
    ASSERT_FALSE(r) << "a blob cut to " << n << " of " << blob.size() << " bytes parsed";
    EXPECT_EQ(r.error().code, Errc::kParse);
  }
}

TEST(TracepointFormatFile, GivesFieldOffsetsAndReadsRawPayloads) {
  auto f = parse_tracepoint_format(kSwitchFormat);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->name, "sched_switch");
  EXPECT_EQ(f->id, kSwitchId);
  ASSERT_EQ(f->fields.size(), 11u);
  const auto* comm = f->field("prev_comm");
  ASSERT_NE(comm, nullptr);
  EXPECT_EQ(comm->offset, 8u);
  EXPECT_EQ(comm->size, 16u);
  EXPECT_EQ(comm->type, "char");
  const auto* state = f->field("prev_state");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->offset, 32u);
  EXPECT_TRUE(state->is_signed);
  EXPECT_EQ(f->field("no_such_field"), nullptr);

  std::string raw(64, '\0');
  const std::int32_t prev_pid = 4242, next_pid = -7;
  const std::int64_t prev_state = 2;
  std::memcpy(raw.data() + 24, &prev_pid, 4);
  std::memcpy(raw.data() + 32, &prev_state, 8);
  std::memcpy(raw.data() + 56, &next_pid, 4);
  EXPECT_EQ(f->read_int("prev_pid", raw), 4242);
  EXPECT_EQ(f->read_int("prev_state", raw), 2);
  EXPECT_EQ(f->read_int("next_pid", raw), -7);
  EXPECT_EQ(f->read_int("next_pid", std::string_view(raw).substr(0, 59)), std::nullopt);
  EXPECT_EQ(f->read_int("prev_comm", raw), std::nullopt) << "16 bytes is no integer";
}

TEST(TracepointFormatFile, MalformedInputIsAnError) {
  EXPECT_FALSE(parse_tracepoint_format(""));
  EXPECT_FALSE(parse_tracepoint_format("name: x\nformat:\n"));  // no ID
  EXPECT_FALSE(parse_tracepoint_format("name: x\nID: 12z\n"));
  EXPECT_FALSE(parse_tracepoint_format("name: x\nID: 1\n\tfield:int a;\toffset:x;\tsize:4;\n"));
  EXPECT_FALSE(parse_tracepoint_format("name: x\nID: 1\n\tfield:int a\n"));
}

perf_event_attr switch_attr() {
  perf_event_attr a{};
  a.size = sizeof a;
  a.type = PERF_TYPE_TRACEPOINT;
  a.config = kSwitchId;
  a.sample_period = 1;
  a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
                  PERF_SAMPLE_PERIOD | PERF_SAMPLE_RAW;
  a.sample_id_all = 1;
  return a;
}

std::string switch_payload() {
  std::string raw(64, '\0');
  const std::uint16_t type = kSwitchId;
  const std::int32_t pid = 4242, prio = 120, next_pid = 0;
  const std::int64_t state = 1;
  std::memcpy(raw.data(), &type, 2);
  std::memcpy(raw.data() + 4, &pid, 4);
  std::memcpy(raw.data() + 8, "sleeper", 7);
  std::memcpy(raw.data() + 24, &pid, 4);
  std::memcpy(raw.data() + 28, &prio, 4);
  std::memcpy(raw.data() + 32, &state, 8);
  std::memcpy(raw.data() + 40, "swapper/0", 9);
  std::memcpy(raw.data() + 56, &next_pid, 4);
  std::memcpy(raw.data() + 60, &prio, 4);
  return raw;
}

// Writes one sched_switch sample after the tracing data and returns the file's path.
std::string write_switch_capture(TempDir& tmp, bool pipe, const std::string& blob) {
  const std::string path = tmp.file(pipe ? "pipe.data" : "file.data");
  PerfDataWriter::Options opt;
  opt.pipe_mode = pipe;
  opt.features.tracing_data = blob;
  auto w = PerfDataWriter::create(path, {{switch_attr(), {}, "sched:sched_switch"}}, opt);
  EXPECT_TRUE(w) << w.error().message;
  if (!w) return path;
  EXPECT_TRUE((*w)->write(make_comm(switch_attr(), 4242, 4242, "sleeper")));
  const std::string raw = switch_payload();
  Sample s;
  s.pid = s.tid = 4242;
  s.time = 1'000'000'000;
  s.ip = 0xffffffff81000000;
  s.raw = {reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()};
  auto rec = make_sample(switch_attr(), s);
  EXPECT_TRUE(rec);
  if (rec) {
    EXPECT_TRUE((*w)->write(*rec));
  }
  EXPECT_TRUE((*w)->finish());
  return path;
}

// Pipe mode pads the blob to 8 bytes (perf does the same) and the padding is read back with
// it; parse_tracing_data ignores it.
void expect_same_blob(const std::string& got, const std::string& want, bool pipe) {
  const std::size_t size = pipe ? (want.size() + 7) / 8 * 8 : want.size();
  ASSERT_EQ(got.size(), size);
  EXPECT_TRUE(got.compare(0, want.size(), want) == 0);
  EXPECT_EQ(got.find_first_not_of('\0', want.size()), std::string::npos);
  EXPECT_TRUE(parse_tracing_data(got));
}

class TracingDataInPerfData : public ::testing::TestWithParam<bool> {};

TEST_P(TracingDataInPerfData, OurReaderGetsTheBlobAndTheRecordsAfterIt) {
  TempDir tmp;
  const std::string blob = encode_tracing_data(sample_tracing_data());
  const std::string path = write_switch_capture(tmp, GetParam(), blob);
  auto r = PerfDataReader::open(path);
  ASSERT_TRUE(r) << r.error().message;
  Record rec;
  std::size_t samples = 0;
  for (;;) {
    auto more = (*r)->next(rec);
    ASSERT_TRUE(more) << more.error().message;
    if (!*more) break;
    if (rec.type != PERF_RECORD_SAMPLE) continue;
    auto s = (*r)->parse_sample(rec);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->pid, 4242u);
    EXPECT_GE(s->raw.size(), 64u);
    ++samples;
  }
  EXPECT_EQ(samples, 1u) << "the sample after the tracing data was lost";
  expect_same_blob((*r)->features().tracing_data, blob, GetParam());
}

TEST_P(TracingDataInPerfData, PerfScriptDecodesTheFieldsFromOurBlob) {
  TempDir tmp;
  const std::string path =
      write_switch_capture(tmp, GetParam(), encode_tracing_data(sample_tracing_data()));
  auto r = test::run({"perf", "script", "-i", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sched:sched_switch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("prev_comm=sleeper prev_pid=4242 prev_prio=120 prev_state=1 ==> "
                       "next_comm=swapper/0 next_pid=0 next_prio=120"),
            std::string::npos)
      << r.out << r.err;
}

TEST_P(TracingDataInPerfData, WithoutItPerfScriptRefusesTheCapture) {
  // The check above is only meaningful if perf needs the blob: without it, it refuses.
  TempDir tmp;
  const std::string path = write_switch_capture(tmp, GetParam(), "");
  auto r = test::run({"perf", "script", "-i", path});
  EXPECT_EQ(r.out.find("prev_comm=sleeper"), std::string::npos) << r.out;
}

// Streamed through a real pipe, a blob larger than the reader's 4 MiB read block still
// arrives whole, and the records after it are read.
TEST(TracingDataInAPipe, ABlobLargerThanTheReadBlockStreams) {
  TracingData td = sample_tracing_data();
  td.saved_cmdlines.assign(std::size_t{9} << 20, 'c');
  const std::string blob = encode_tracing_data(td);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    PerfDataWriter::Options opt;
    opt.pipe_mode = true;
    opt.features.tracing_data = blob;
    auto w = PerfDataWriter::create_fd(fds[1], "pipe", {{switch_attr(), {}, "sw"}}, opt);
    if (w) {
      (void)(*w)->write(make_comm(switch_attr(), 4242, 4242, "after"));
      (void)(*w)->finish();
    }
    ::close(fds[1]);
  });
  auto r = PerfDataReader::open("/dev/fd/" + std::to_string(fds[0]));
  ASSERT_TRUE(r) << r.error().message;
  Record rec;
  bool comm_after = false;
  for (;;) {
    auto more = (*r)->next(rec);
    ASSERT_TRUE(more) << more.error().message;
    if (!*more) break;
    if (rec.type == PERF_RECORD_COMM) comm_after = (*r)->parse_comm(rec)->comm == "after";
  }
  writer.join();
  ::close(fds[0]);
  EXPECT_TRUE(comm_after);
  expect_same_blob((*r)->features().tracing_data, blob, true);
}

// A HEADER_TRACING_DATA record whose size promises more than the stream holds ends the read
// with a truncation warning: no error, no giant allocation, no hang.
TEST(TracingDataInAPipe, ASizeThatLiesIsATruncation) {
  TempDir tmp;
  const std::string path =
      write_switch_capture(tmp, true, encode_tracing_data(sample_tracing_data()));
  std::string image = test::read_file(path);
  // Walk the records after the 16-byte pipe header to PERF_RECORD_HEADER_TRACING_DATA.
  std::size_t at = 16;
  while (at + 8 <= image.size()) {
    std::uint32_t type = 0;
    std::uint16_t size = 0;
    std::memcpy(&type, image.data() + at, 4);
    std::memcpy(&size, image.data() + at + 6, 2);
    if (type == PERF_RECORD_HEADER_TRACING_DATA || size == 0) break;
    at += size;
  }
  ASSERT_LT(at + 16, image.size());
  const std::uint32_t lie = 0xfffffff0u;
  std::memcpy(image.data() + at + 8, &lie, 4);
  std::vector<std::string> warnings;
  WarningSink sink([&](std::string_view kind, std::string_view) { warnings.emplace_back(kind); });
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    std::size_t done = 0;
    while (done < image.size()) {
      const ssize_t w = ::write(fds[1], image.data() + done, image.size() - done);
      if (w <= 0) break;
      done += static_cast<std::size_t>(w);
    }
    ::close(fds[1]);
  });
  auto r = PerfDataReader::open("/dev/fd/" + std::to_string(fds[0]), &sink);
  ASSERT_TRUE(r) << r.error().message;
  Record rec;
  for (;;) {
    auto more = (*r)->next(rec);
    ASSERT_TRUE(more) << more.error().message;
    if (!*more) break;
  }
  writer.join();
  ::close(fds[0]);
  EXPECT_NE(std::find(warnings.begin(), warnings.end(), "perf-data-truncated"), warnings.end());
  EXPECT_TRUE((*r)->features().tracing_data.empty());
}

INSTANTIATE_TEST_SUITE_P(Modes, TracingDataInPerfData, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Pipe" : "File"; });

}  // namespace
}  // namespace prof::perf

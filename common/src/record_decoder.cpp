// RecordDecoder: the kernel record layouts of `man 2 perf_event_open` (PERF_RECORD_SAMPLE in
// sample_type order, the sample_id_all trailer, MMAP/MMAP2, COMM, FORK/EXIT, LOST).
//
// Every field is fetched with memcpy and every length checked against the record's size,
// because pipe-mode perf output is not 8-aligned and because the input may be damaged.
#include "prof/common/record_decoder.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "perf_data_internal.h"

namespace prof::perf {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own byte helpers

namespace {

// A NUL-terminated name in [from, to) of the record (kernel pads it to 8 with NULs).
std::string c_string(const Record& r, std::size_t from, std::size_t to) {
  const auto* s = reinterpret_cast<const char*>(r.bytes.data() + from);
  return std::string(s, strnlen(s, to - from));
}

}  // namespace

RecordDecoder::RecordDecoder(std::vector<EventAttr> attrs, Features features, std::string name)
    : name_(std::move(name)), attrs_(std::move(attrs)), features_(std::move(features)) {
  rebuild_id_index();
}

bool RecordDecoder::add_attr(EventAttr attr) {
  attrs_.push_back(std::move(attr));
  return rebuild_id_index();
}

bool RecordDecoder::set_attrs(std::vector<EventAttr> attrs) {
  attrs_ = std::move(attrs);
  return rebuild_id_index();
}

bool RecordDecoder::rebuild_id_index() {
  id_list_.clear();
  for (std::size_t i = 0; i < attrs_.size(); ++i)
    for (auto id : attrs_[i].ids) id_list_.emplace_back(id, i);
  // By id, and for an id two events claim, the first event's entry first: it is the one kept.
  std::sort(id_list_.begin(), id_list_.end());
  id_list_.erase(std::unique(id_list_.begin(), id_list_.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 id_list_.end());
  if (attrs_.empty()) return true;
  const auto t0 = attrs_[0].attr.sample_type;
  id_pos_ = sample_id_pos(t0);
  is_pos_ = trailer_id_pos(t0);
  for (const auto& ea : attrs_)
    if (sample_id_pos(ea.attr.sample_type) != id_pos_ ||
        trailer_id_pos(ea.attr.sample_type) != is_pos_)
      return false;
  return true;
}

void RecordDecoder::name_event(std::size_t index, const std::vector<std::uint64_t>& ids,
                               std::string name) {
  if (!ids.empty()) {
    auto it = std::lower_bound(id_list_.begin(), id_list_.end(), ids.front(),
                               [](const auto& e, std::uint64_t v) { return e.first < v; });
    if (it != id_list_.end() && it->first == ids.front()) {
      attrs_[it->second].name = std::move(name);
      return;
    }
  }
  if (index < attrs_.size()) attrs_[index].name = std::move(name);
}

Error RecordDecoder::parse_error(std::uint64_t offset, const std::string& what) const {
  return Error{Errc::kParse,
               "'" + name_ + "': byte offset " + std::to_string(offset) + ": " + what};
}

Error RecordDecoder::wrong_type(const Record& r, const char* want) const {
  return Error{Errc::kInternal, "'" + name_ + "': byte offset " + std::to_string(r.file_offset) +
                                    ": record of type " + std::to_string(r.type) + " is not " +
                                    want};
}

std::size_t RecordDecoder::attr_index_of(const Record& r) const {
  if (attrs_.size() <= 1) return 0;
  std::size_t at = 0;
  if (r.type == PERF_RECORD_SAMPLE) {
    if (id_pos_ < 0) return 0;
    at = kRecordHeaderSize + 8 * static_cast<std::size_t>(id_pos_);
    if (at + 8 > r.bytes.size()) return 0;
  } else if (r.type < PERF_RECORD_HEADER_ATTR && attrs_[0].attr.sample_id_all) {
    if (is_pos_ < 0 || r.bytes.size() < kRecordHeaderSize + 8 * static_cast<std::size_t>(is_pos_))
      return 0;
    at = r.bytes.size() - 8 * static_cast<std::size_t>(is_pos_);
  } else {
    return 0;
  }
  const std::uint64_t id = load<std::uint64_t>(r.bytes.data() + at);
  auto it = std::lower_bound(id_list_.begin(), id_list_.end(), id,
                             [](const auto& e, std::uint64_t v) { return e.first < v; });
  return it != id_list_.end() && it->first == id ? it->second : 0;
}

Result<const perf_event_attr*> RecordDecoder::attr_for(const Record& r) const {
  if (attrs_.empty())
    return parse_error(r.file_offset, "record before any event attr (HEADER_ATTR) was seen");
  return &attrs_[attr_index_of(r)].attr;
}

std::optional<std::uint64_t> RecordDecoder::sample_time(const Record& r) const {
  if (r.type != PERF_RECORD_SAMPLE || attrs_.empty()) return std::nullopt;
  const auto t = attrs_[attr_index_of(r)].attr.sample_type;
  if (!(t & PERF_SAMPLE_TIME)) return std::nullopt;
  // IDENTIFIER, IP and TID (pid + tid, 8 bytes) are the only fields before TIME.
  const std::size_t at =
      kRecordHeaderSize + 8 * static_cast<std::size_t>(std::popcount(
                                  t & (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID)));
  if (at + 8 > r.bytes.size()) return std::nullopt;
  return load<std::uint64_t>(r.bytes.data() + at);
}

Result<void> RecordDecoder::parse_sample(const Record& r, Sample& s) const {
  if (r.type != PERF_RECORD_SAMPLE) return wrong_type(r, "SAMPLE");
  if (attrs_.empty())
    return parse_error(r.file_offset, "sample before any event attr (HEADER_ATTR) was seen");
  const std::size_t index = attr_index_of(r);
  const perf_event_attr* attr = &attrs_[index].attr;
  const auto t = attr->sample_type;
  s.attr_index = index;
  s.sample_type = t;
  s.misc = r.misc;
  s.ip = s.time = s.addr = s.id = s.stream_id = 0;
  s.period = 1;
  s.pid = s.tid = s.cpu = 0;
  s.callchain.clear();
  s.regs_user_abi = 0;
  s.regs_user.clear();
  s.stack_user = {};
  s.stack_user_dyn_size = 0;
  s.raw = {};
  s.weight = s.data_src = s.phys_addr = s.cgroup = 0;

  Cursor c(r.bytes.data(), r.bytes.size(), r.file_offset);
  c.skip(kRecordHeaderSize);
  auto cut = [&](const char* field) {
    return parse_error(c.offset(), "sample record of " + std::to_string(r.bytes.size()) +
                                       " bytes at byte " + std::to_string(r.file_offset) +
                                       " is too short for " + field);
  };
  std::uint32_t u32_pad = 0;
  std::uint64_t skipped = 0;
  if ((t & PERF_SAMPLE_IDENTIFIER) && !c.get(s.id)) return cut("IDENTIFIER");
  if ((t & PERF_SAMPLE_IP) && !c.get(s.ip)) return cut("IP");
  if ((t & PERF_SAMPLE_TID) && !(c.get(s.pid) && c.get(s.tid))) return cut("TID");
  if ((t & PERF_SAMPLE_TIME) && !c.get(s.time)) return cut("TIME");
  if ((t & PERF_SAMPLE_ADDR) && !c.get(s.addr)) return cut("ADDR");
  if ((t & PERF_SAMPLE_ID) && !c.get(s.id)) return cut("ID");
  if ((t & PERF_SAMPLE_STREAM_ID) && !c.get(s.stream_id)) return cut("STREAM_ID");
  if ((t & PERF_SAMPLE_CPU) && !(c.get(s.cpu) && c.get(u32_pad))) return cut("CPU");
  if ((t & PERF_SAMPLE_PERIOD) && !c.get(s.period)) return cut("PERIOD");
  if (t & PERF_SAMPLE_READ) {
    const auto f = attr->read_format;
    const int times =
        std::popcount(f & (PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING));
    const int per_value = 1 + std::popcount(f & (PERF_FORMAT_ID | PERF_FORMAT_LOST));
    if (f & PERF_FORMAT_GROUP) {
      std::uint64_t nr = 0;
      if (!c.get(nr) || !c.skip(8 * static_cast<std::uint64_t>(times)) ||
          !c.fits(nr, 8 * static_cast<std::size_t>(per_value)) ||
          !c.skip(nr * 8 * static_cast<std::uint64_t>(per_value)))
        return cut("READ (group)");
    } else if (!c.skip(8 * static_cast<std::uint64_t>(per_value + times))) {
      return cut("READ");
    }
  }
  if (t & PERF_SAMPLE_CALLCHAIN) {
    std::uint64_t nr = 0;
    if (!c.get(nr) || !c.fits(nr, 8)) return cut("CALLCHAIN");
    load_u64s(s.callchain, c.here(), static_cast<std::size_t>(nr));
    c.skip(nr * 8);
  }
  if (t & PERF_SAMPLE_RAW) {
    std::uint32_t size = 0;
    if (!c.get(size) || c.left() < size) return cut("RAW");
    s.raw = {c.here(), size};
    c.skip(size);
  }
  if (t & PERF_SAMPLE_BRANCH_STACK) {
    // { u64 nr; [u64 hw_idx]; { u64 from, to, flags } lbr[nr] }
    std::uint64_t nr = 0;
    if (!c.get(nr)) return cut("BRANCH_STACK");
    if ((attr->branch_sample_type & PERF_SAMPLE_BRANCH_HW_INDEX) && !c.skip(8))
      return cut("BRANCH_STACK");
    if (!c.fits(nr, 24) || !c.skip(nr * 24)) return cut("BRANCH_STACK");
  }
  if (t & PERF_SAMPLE_REGS_USER) {
    if (!c.get(s.regs_user_abi)) return cut("REGS_USER");
    if (s.regs_user_abi != 0) {
      const auto n = static_cast<std::size_t>(std::popcount(attr->sample_regs_user));
      if (!c.fits(n, 8)) return cut("REGS_USER");
      load_u64s(s.regs_user, c.here(), n);
      c.skip(n * 8);
    }
  }
  if (t & PERF_SAMPLE_STACK_USER) {
    std::uint64_t size = 0;
    if (!c.get(size) || c.left() < size) return cut("STACK_USER");
    s.stack_user = {c.here(), static_cast<std::size_t>(size)};
    c.skip(size);
    if (size != 0) {
      if (!c.get(s.stack_user_dyn_size)) return cut("STACK_USER dyn_size");
      // Consumers index stack_user with dyn_size: never let it exceed the copied bytes.
      s.stack_user_dyn_size = std::min(s.stack_user_dyn_size, size);
    }
  }
  if ((t & (PERF_SAMPLE_WEIGHT | PERF_SAMPLE_WEIGHT_STRUCT)) && !c.get(s.weight))
    return cut("WEIGHT");
  if ((t & PERF_SAMPLE_DATA_SRC) && !c.get(s.data_src)) return cut("DATA_SRC");
  if ((t & PERF_SAMPLE_TRANSACTION) && !c.get(skipped)) return cut("TRANSACTION");
  if (t & PERF_SAMPLE_REGS_INTR) {
    std::uint64_t abi = 0;
    if (!c.get(abi)) return cut("REGS_INTR");
    if (abi != 0 && !c.skip(8 * static_cast<std::uint64_t>(std::popcount(attr->sample_regs_intr))))
      return cut("REGS_INTR");
  }
  if ((t & PERF_SAMPLE_PHYS_ADDR) && !c.get(s.phys_addr)) return cut("PHYS_ADDR");
  if ((t & PERF_SAMPLE_CGROUP) && !c.get(s.cgroup)) return cut("CGROUP");
  if ((t & PERF_SAMPLE_DATA_PAGE_SIZE) && !c.get(skipped)) return cut("DATA_PAGE_SIZE");
  if ((t & PERF_SAMPLE_CODE_PAGE_SIZE) && !c.get(skipped)) return cut("CODE_PAGE_SIZE");
  if (t & PERF_SAMPLE_AUX) {
    std::uint64_t size = 0;
    if (!c.get(size) || !c.skip(size)) return cut("AUX");
  }
  return ok();
}

Result<Sample> RecordDecoder::parse_sample(const Record& r) const {
  Sample s;
  PROF_TRY(parse_sample(r, s));
  return s;
}

Result<RecordDecoder::Trailer> RecordDecoder::trailer(const Record& r, std::size_t min_body,
                                                      const char* what) const {
  PD_TRY_ASSIGN(const perf_event_attr* attr, attr_for(r));
  Trailer out;
  const std::size_t tsize = sample_id_size(*attr);
  if (r.bytes.size() < min_body + tsize)
    return parse_error(r.file_offset, std::string(what) + " record of " +
                                          std::to_string(r.bytes.size()) +
                                          " bytes is too short for its fields");
  out.body_end = r.bytes.size() - tsize;
  if (tsize == 0) return out;
  Cursor c(r.bytes.data() + out.body_end, tsize, r.file_offset + out.body_end);
  const auto t = attr->sample_type;
  std::uint32_t pad = 0;
  if (t & PERF_SAMPLE_TID) {
    c.get(out.sid.pid);
    c.get(out.sid.tid);
  }
  if (t & PERF_SAMPLE_TIME) c.get(out.sid.time);
  if (t & PERF_SAMPLE_ID) c.get(out.sid.id);
  if (t & PERF_SAMPLE_STREAM_ID) c.get(out.sid.stream_id);
  if (t & PERF_SAMPLE_CPU) {
    c.get(out.sid.cpu);
    c.get(pad);
  }
  if (t & PERF_SAMPLE_IDENTIFIER) c.get(out.sid.id);
  return out;
}

Result<SampleId> RecordDecoder::parse_sample_id(const Record& r) const {
  if (r.type == PERF_RECORD_SAMPLE || r.type >= PERF_RECORD_HEADER_ATTR)
    return wrong_type(r, "a kernel side-band record");
  PD_TRY_ASSIGN(auto t, trailer(r, kRecordHeaderSize, "side-band"));
  return t.sid;
}

Result<Mmap> RecordDecoder::parse_mmap(const Record& r) const {
  if (r.type != PERF_RECORD_MMAP && r.type != PERF_RECORD_MMAP2)
    return wrong_type(r, "MMAP or MMAP2");
  Mmap m;
  m.is_mmap2 = r.type == PERF_RECORD_MMAP2;
  m.misc = r.misc;
  // MMAP: pid, tid, addr, len, pgoff, filename. MMAP2 adds maj/min/ino/ino_generation (or
  // build_id_size + build_id[20] with PERF_RECORD_MISC_MMAP_BUILD_ID), prot and flags.
  const std::size_t name_at = m.is_mmap2 ? 72 : 40;
  PD_TRY_ASSIGN(auto t, trailer(r, name_at, m.is_mmap2 ? "MMAP2" : "MMAP"));
  const std::uint8_t* p = r.bytes.data();
  m.pid = load<std::uint32_t>(p + 8);
  m.tid = load<std::uint32_t>(p + 12);
  m.start = load<std::uint64_t>(p + 16);
  m.len = load<std::uint64_t>(p + 24);
  m.pgoff = load<std::uint64_t>(p + 32);
  if (m.is_mmap2) {
    // A build-id is at most 20 bytes. A larger size byte means the record really holds
    // maj/min/ino: kernels have been seen (6.18) setting MISC_MMAP_BUILD_ID on the MMAP2 of an
    // event without attr.build_id while another perf session with build_id=1 was running
    // (perf 6.1 then overflows a 20-byte buffer and aborts). Decode it as maj/min/ino and drop
    // the flag.
    if ((m.misc & PERF_RECORD_MISC_MMAP_BUILD_ID) && p[40] <= 20) {
      m.build_id.assign(p + 44, p + 44 + p[40]);
    } else {
      m.misc &= static_cast<std::uint16_t>(~PERF_RECORD_MISC_MMAP_BUILD_ID);
      m.maj = load<std::uint32_t>(p + 40);
      m.min = load<std::uint32_t>(p + 44);
      m.ino = load<std::uint64_t>(p + 48);
      m.ino_generation = load<std::uint64_t>(p + 56);
    }
    m.prot = load<std::uint32_t>(p + 64);
    m.flags = load<std::uint32_t>(p + 68);
  }
  m.filename = c_string(r, name_at, t.body_end);
  m.sid = t.sid;
  return m;
}

Result<Comm> RecordDecoder::parse_comm(const Record& r) const {
  if (r.type != PERF_RECORD_COMM) return wrong_type(r, "COMM");
  PD_TRY_ASSIGN(auto t, trailer(r, 16, "COMM"));
  Comm c;
  c.pid = load<std::uint32_t>(r.bytes.data() + 8);
  c.tid = load<std::uint32_t>(r.bytes.data() + 12);
  c.comm = c_string(r, 16, t.body_end);
  c.exec = (r.misc & PERF_RECORD_MISC_COMM_EXEC) != 0;
  c.sid = t.sid;
  return c;
}

Result<Task> RecordDecoder::parse_task(const Record& r) const {
  if (r.type != PERF_RECORD_FORK && r.type != PERF_RECORD_EXIT)
    return wrong_type(r, "FORK or EXIT");
  PD_TRY_ASSIGN(auto t, trailer(r, 32, "FORK/EXIT"));
  const std::uint8_t* p = r.bytes.data();
  Task k;
  k.pid = load<std::uint32_t>(p + 8);
  k.ppid = load<std::uint32_t>(p + 12);
  k.tid = load<std::uint32_t>(p + 16);
  k.ptid = load<std::uint32_t>(p + 20);
  k.time = load<std::uint64_t>(p + 24);
  k.sid = t.sid;
  return k;
}

Result<Lost> RecordDecoder::parse_lost(const Record& r) const {
  if (r.type != PERF_RECORD_LOST) return wrong_type(r, "LOST");
  PD_TRY_ASSIGN(auto t, trailer(r, 24, "LOST"));
  Lost l;
  l.id = load<std::uint64_t>(r.bytes.data() + 8);
  l.lost = load<std::uint64_t>(r.bytes.data() + 16);
  l.sid = t.sid;
  return l;
}

}  // namespace prof::perf

// perf's tracing-data blob and tracefs format files. See tracing_data.h for the layout.
#include "prof/common/tracing_data.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>

namespace prof::perf {

namespace {

constexpr std::string_view kMagic{"\x17\x08\x44tracing", 10};
constexpr std::string_view kVersion = "0.6";

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  out.append(b, sizeof v);
}

// perf's record_file(): a size of `SizeT` bytes, then the contents.
template <typename SizeT>
void put_file(std::string& out, std::string_view contents) {
  put<SizeT>(out, static_cast<SizeT>(contents.size()));
  out.append(contents);
}

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  std::size_t at() const { return at_; }
  void skip(std::size_t n) { at_ += std::min(n, b_.size() - at_); }
  template <typename T>
  bool get(T& v) {
    if (b_.size() - at_ < sizeof v) return false;
    std::memcpy(&v, b_.data() + at_, sizeof v);
    at_ += sizeof v;
    return true;
  }
  bool get_cstr(std::string& s) {
    const auto end = b_.find('\0', at_);
    if (end == std::string_view::npos) return false;
    s.assign(b_.substr(at_, end - at_));
    at_ = end + 1;
    return true;
  }
  template <typename SizeT>
  bool get_file(std::string& s) {
    SizeT n = 0;
    if (!get(n) || b_.size() - at_ < n) return false;
    s.assign(b_.substr(at_, static_cast<std::size_t>(n)));
    at_ += static_cast<std::size_t>(n);
    return true;
  }

 private:
  std::string_view b_;
  std::size_t at_ = 0;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

template <typename T>
bool to_number(std::string_view s, T& v) {
  s = trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// "offset:24;" style attribute of a field line; empty when absent.
std::string_view attribute(std::string_view line, std::string_view key) {
  std::size_t at = 0;
  while ((at = line.find(key, at)) != std::string_view::npos) {
    if ((at == 0 || line[at - 1] == '\t' || line[at - 1] == ' ' || line[at - 1] == ';') &&
        at + key.size() < line.size() && line[at + key.size()] == ':') {
      const auto start = at + key.size() + 1;
      const auto end = line.find(';', start);
      return line.substr(start, end == std::string_view::npos ? line.size() - start : end - start);
    }
    at += key.size();
  }
  return {};
}

}  // namespace

std::string encode_tracing_data(const TracingData& d) {
  std::string out;
  out.append(kMagic);
  out.append(kVersion);
  out.push_back('\0');
  out.push_back(d.big_endian ? 1 : 0);
  out.push_back(static_cast<char>(d.long_size));
  put<std::uint32_t>(out, d.page_size);
  out.append("header_page", 12);  // the names are written with their NUL
  put_file<std::uint64_t>(out, d.header_page);
  out.append("header_event", 13);
  put_file<std::uint64_t>(out, d.header_event);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(d.ftrace_formats.size()));
  for (const auto& f : d.ftrace_formats) put_file<std::uint64_t>(out, f);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(d.systems.size()));
  for (const auto& s : d.systems) {
    out.append(s.name);
    out.push_back('\0');
    put<std::uint32_t>(out, static_cast<std::uint32_t>(s.formats.size()));
    for (const auto& f : s.formats) put_file<std::uint64_t>(out, f);
  }
  put_file<std::uint32_t>(out, d.kallsyms);
  put_file<std::uint32_t>(out, d.printk_formats);
  put_file<std::uint64_t>(out, d.saved_cmdlines);
  return out;
}

Result<TracingData> parse_tracing_data(std::string_view blob) {
  Reader r(blob);
  auto bad = [&](std::string_view what) {
    return Error{Errc::kParse,
                 "tracing data: " + std::string(what) + " at byte " + std::to_string(r.at())};
  };
  if (blob.substr(0, kMagic.size()) != kMagic) return bad("no tracing-data magic");
  r.skip(kMagic.size());
  std::string version;
  TracingData d;
  std::uint8_t endian = 0;
  if (!r.get_cstr(version) || !r.get(endian) || !r.get(d.long_size) || !r.get(d.page_size))
    return bad("header cut short");
  if (version != "0.5" && version != "0.6") return bad("unknown version '" + version + "'");
  d.big_endian = endian != 0;
  if (d.big_endian != (std::endian::native == std::endian::big))
    return bad("byte order differs from this machine's");
  std::string name;
  if (!r.get_cstr(name) || name != "header_page" || !r.get_file<std::uint64_t>(d.header_page))
    return bad("header_page missing");
  if (!r.get_cstr(name) || name != "header_event" || !r.get_file<std::uint64_t>(d.header_event))
    return bad("header_event missing");
  std::uint32_t n = 0;
  if (!r.get(n)) return bad("ftrace count missing");
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string f;
    if (!r.get_file<std::uint64_t>(f)) return bad("ftrace format cut short");
    d.ftrace_formats.push_back(std::move(f));
  }
  if (!r.get(n)) return bad("system count missing");
  for (std::uint32_t i = 0; i < n; ++i) {
    TracingSystem s;
    std::uint32_t count = 0;
    if (!r.get_cstr(s.name) || !r.get(count)) return bad("event system cut short");
    for (std::uint32_t j = 0; j < count; ++j) {
      std::string f;
      if (!r.get_file<std::uint64_t>(f)) return bad("event format cut short");
      s.formats.push_back(std::move(f));
    }
    d.systems.push_back(std::move(s));
  }
  if (!r.get_file<std::uint32_t>(d.kallsyms)) return bad("kallsyms cut short");
  if (!r.get_file<std::uint32_t>(d.printk_formats)) return bad("printk formats cut short");
  if (version == "0.6" && !r.get_file<std::uint64_t>(d.saved_cmdlines))
    return bad("saved cmdlines cut short");
  return d;
}

const TracepointField* TracepointFormat::field(std::string_view field_name) const {
  for (const auto& f : fields)
    if (f.name == field_name) return &f;
  return nullptr;
}

std::optional<std::int64_t> TracepointFormat::read_int(std::string_view field_name,
                                                       std::string_view raw) const {
  const auto* f = field(field_name);
  if (!f || f->offset > raw.size() || raw.size() - f->offset < f->size) return std::nullopt;
  const char* p = raw.data() + f->offset;
  auto load = [&](auto v) {
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  switch (f->size) {
    case 1: return f->is_signed ? load(std::int8_t{}) : load(std::uint8_t{});
    case 2: return f->is_signed ? load(std::int16_t{}) : load(std::uint16_t{});
    case 4:
      return f->is_signed ? std::int64_t{load(std::int32_t{})}
                          : std::int64_t{load(std::uint32_t{})};
    case 8: return static_cast<std::int64_t>(load(std::uint64_t{}));
    default: return std::nullopt;
  }
}

// The format file as tracefs writes it (kernel/trace/trace_events.c f_show):
//   name: sched_switch
//   ID: 372
//   format:
//   \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
//   ...
//   print fmt: "prev_comm=%s ..."
Result<TracepointFormat> parse_tracepoint_format(std::string_view text) {
  TracepointFormat f;
  bool have_id = false;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    const auto t = trim(line);
    auto bad = [&] {
      return Error{Errc::kParse, "tracepoint format line " + std::to_string(line_no) + ": '" +
                                     std::string(t) + "'"};
    };
    if (t.starts_with("name:")) {
      f.name = std::string(trim(t.substr(5)));
    } else if (t.starts_with("ID:")) {
      if (!to_number(t.substr(3), f.id)) return bad();
      have_id = true;
    } else if (t.starts_with("field:")) {
      const auto decl_end = t.find(';');
      if (decl_end == std::string_view::npos) return bad();
      auto decl = trim(t.substr(6, decl_end - 6));
      // "char prev_comm[16]" / "pid_t prev_pid" / "__data_loc char[] name": the last word,
      // without an array suffix, is the name.
      auto name = decl;
      if (const auto br = name.find('[');
          br != std::string_view::npos && name.find_last_of(" \t") < br)
        name = name.substr(0, br);
      const auto sp = name.find_last_of(" \t*");
      if (sp == std::string_view::npos) return bad();
      TracepointField field;
      field.name = std::string(name.substr(sp + 1));
      field.type = std::string(trim(decl.substr(0, sp + 1)));
      int is_signed = 0;
      if (!to_number(attribute(t, "offset"), field.offset) ||
          !to_number(attribute(t, "size"), field.size))
        return bad();
      if (const auto s = attribute(t, "signed"); !s.empty() && !to_number(s, is_signed))
        return bad();
      field.is_signed = is_signed != 0;
      f.fields.push_back(std::move(field));
    }
  }
  if (f.name.empty() || !have_id)
    return Error{Errc::kParse, "tracepoint format has no name: or ID: line"};
  return f;
}

}  // namespace prof::perf

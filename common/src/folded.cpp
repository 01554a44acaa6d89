#include "prof/common/folded.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "prof/common/unique_fd.h"

namespace prof {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
// Perl's \s (without the Unicode extras; folded files are ASCII-delimited).
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Matches `<ws>\d+(\.\d*)?` at the end of s. On success returns the count and sets `rest` to what
// precedes the whitespace character.
bool take_trailing_count(std::string_view s, std::string_view& rest, double& count) {
  std::size_t end = s.size();
  std::size_t i = end;
  while (i > 0 && is_digit(s[i - 1])) --i;
  std::size_t num_begin = i;
  if (i > 0 && s[i - 1] == '.') {
    // "12.5" or "12.": digits must precede the dot.
    std::size_t j = i - 1;
    std::size_t k = j;
    while (k > 0 && is_digit(s[k - 1])) --k;
    if (k == j) {
      // ".5" is not a count; but "x.5" leaves "5" preceded by '.', which is not whitespace.
      return false;
    }
    num_begin = k;
  } else if (i == end) {
    return false;
  }
  if (num_begin == 0 || !is_space(s[num_begin - 1])) return false;
  std::string_view num = s.substr(num_begin);
  // from_chars rejects a trailing lone '.', which Perl's pattern allows ("12.").
  if (num.back() == '.') num.remove_suffix(1);
  double v = 0;
  auto r = std::from_chars(num.data(), num.data() + num.size(), v);
  if (r.ec != std::errc() && r.ec != std::errc::result_out_of_range) return false;
  count = v;
  rest = s.substr(0, num_begin - 1);
  return true;
}

}  // namespace

bool is_folded_comment(std::string_view line) { return line == "#" || line.substr(0, 2) == "# "; }

std::optional<FoldedLine> parse_folded_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  FoldedLine out;
  out.text = line;
  std::string_view rest;
  double c2 = 0;
  if (!take_trailing_count(line, rest, c2)) return std::nullopt;
  std::string_view rest1;
  double c1 = 0;
  if (take_trailing_count(rest, rest1, c1)) {
    out.stack = rest1;
    out.count1 = c1;
    out.count2 = c2;
    out.differential = true;
  } else {
    out.stack = rest;
    out.count1 = out.count2 = c2;
  }
  return out;
}

FoldedData parse_folded(std::string text, WarningSink* warnings, std::string_view source) {
  auto owned = std::make_shared<const std::string>(std::move(text));
  std::string_view all(*owned);
  return parse_folded(std::move(owned), all, warnings, source);
}

Result<std::optional<FoldedData>> map_folded_file(const std::string& path, WarningSink* warnings,
                                                  std::string_view source) {
  if (path == "-") return std::optional<FoldedData>();
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error{Errc::kIo, path + ": " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error{Errc::kIo, path + ": " + std::strerror(errno)};
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) return std::optional<FoldedData>();
  const auto size = static_cast<std::size_t>(st.st_size);
  auto map = std::make_shared<MemoryMap>(
      MemoryMap::map(fd.get(), size, PROT_READ, MAP_PRIVATE | MAP_POPULATE));
  if (!map->valid()) return std::optional<FoldedData>();  // read it instead
  std::string_view text(reinterpret_cast<const char*>(map->bytes()), size);
  if (detect_compression(text.substr(0, 8)) != Compression::kNone)
    return std::optional<FoldedData>();
  return std::optional<FoldedData>(parse_folded(std::move(map), text, warnings, source));
}

FoldedData parse_folded(std::shared_ptr<const void> storage, std::string_view all,
                        WarningSink* warnings, std::string_view source) {
  FoldedData d;
  d.storage = std::move(storage);
  std::uint64_t line_no = 0;
  std::size_t pos = 0;
  d.lines.reserve(all.size() / 64 + 1);
  while (pos < all.size()) {
    std::size_t nl = all.find('\n', pos);
    if (nl == std::string_view::npos) nl = all.size();
    std::string_view line = all.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (is_folded_comment(line)) {
      ++d.comment_lines;
      continue;
    }
    auto parsed = parse_folded_line(line);
    if (!parsed) {
      if (warnings && d.invalid_lines == 0) {
        std::string msg(source.empty() ? std::string_view("input") : source);
        msg += ":" + std::to_string(line_no) + ": not a folded line (STACK COUNT): '";
        msg.append(line.substr(0, 120));
        msg += "'";
        warnings->warn("folded-invalid-line", msg);
      } else if (warnings) {
        warnings->warn("folded-invalid-line", {});
      }
      ++d.invalid_lines;
      continue;
    }
    if (parsed->differential) d.any_differential = true;
    // (floor, not an integer cast: counts beyond 2^64 must not overflow a conversion)
    if (parsed->count1 != std::floor(parsed->count1) ||
        parsed->count2 != std::floor(parsed->count2))
      d.any_fractional = true;
    d.lines.push_back(*parsed);
  }
  return d;
}

Result<std::string> read_whole(InputFile& in) {
  // Reads straight into the growing string (no bounce buffer): folded files reach 100s of MB.
  std::string text;
  std::size_t used = 0;
  text.resize(std::size_t{1} << 20);
  for (;;) {
    if (used == text.size()) text.resize(text.size() * 2);
    auto n = in.read(text.data() + used, text.size() - used);
    if (!n) return n.error();
    if (*n == 0) break;
    used += *n;
  }
  text.resize(used);
  return text;
}

Result<FoldedData> read_folded(InputFile& in, WarningSink* warnings) {
  auto text = read_whole(in);
  if (!text) return text.error();
  return parse_folded(std::move(*text), warnings, in.name());
}

void append_count(std::string& out, double count) {
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%.15g", count);
  out.append(buf, static_cast<std::size_t>(n));
}

void append_folded_line(std::string& out, std::string_view stack, double count) {
  out.append(stack);
  out.push_back(' ');
  append_count(out, count);
  out.push_back('\n');
}

void append_folded_line(std::string& out, std::string_view stack, double count1, double count2) {
  out.append(stack);
  out.push_back(' ');
  append_count(out, count1);
  out.push_back(' ');
  append_count(out, count2);
  out.push_back('\n');
}

void split_folded_stack(std::string_view stack, std::vector<std::string_view>& out,
                        TrailingEmptyFrames trailing) {
  out.clear();
  std::size_t start = 0;
  while (start <= stack.size()) {
    std::size_t semi = stack.find(';', start);
    if (semi == std::string_view::npos) semi = stack.size();
    out.push_back(stack.substr(start, semi - start));
    start = semi + 1;
  }
  if (trailing == TrailingEmptyFrames::kDrop)
    while (!out.empty() && out.back().empty()) out.pop_back();
}

}  // namespace prof

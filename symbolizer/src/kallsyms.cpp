#include "prof/symbolizer/kallsyms.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "kallsyms_cache.h"
#include "range_lookup.h"
#include "text_util.h"

namespace prof::symbolizer {

// What a parsed table's names point into: the caller's string, or the raw buffer the file was
// read into.
struct KallsymsTable::ParsedStorage {
  std::string text;
  detail::RawFile raw;
  std::vector<KernelSymbol> symbols;
};

namespace {

// 0..15 for a hex digit, 0x80 for anything else: the decode loop ORs every entry into one flag
// instead of branching per character.
constexpr std::array<std::uint8_t, 256> kHexValue = [] {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 0x80;
  for (int c = '0'; c <= '9'; ++c)
    t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c)
    t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c)
    t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'A' + 10);
  return t;
}();

// /proc/kallsyms is ~5.4 MB on a 6.x kernel with ~120k symbols; the buffer's untouched tail
// costs nothing.
constexpr std::size_t kKallsymsReadChunk = 16u << 20;

// Eight hex digits, the first the most significant, as 32 bits; false unless all are digits.
// SWAR: every byte is range-checked and converted in the same few word operations.
[[gnu::always_inline]] inline bool decode_hex8(const char* s, std::uint32_t& out) {
  if constexpr (std::endian::native != std::endian::little) return false;
  constexpr std::uint64_t kOnes = 0x0101010101010101, kHigh = 0x8080808080808080;
  std::uint64_t x;
  std::memcpy(&x, s, sizeof x);
  // Adding 0x80 - c sets a byte's top bit exactly when it is >= c (bytes below 0x80 never carry
  // into their neighbour).
  const std::uint64_t lower = x | (kOnes * 0x20);
  const std::uint64_t digit = (x + kOnes * (0x80 - '0')) & ~(x + kOnes * (0x80 - '9' - 1));
  const std::uint64_t letter = (lower + kOnes * (0x80 - 'a')) & ~(lower + kOnes * (0x80 - 'f' - 1));
  if ((x & kHigh) != 0 || ((digit | letter) & kHigh) != kHigh) return false;
  // '0'-'9' -> low nibble; 'a'-'f' and 'A'-'F' have bit 6 set and low nibble 1-6: + 9.
  std::uint64_t v = (x & (kOnes * 0x0f)) + 9 * ((x >> 6) & kOnes);
  // Pack: byte pairs into bytes, then 16-bit lanes, then 32 bits (first digit highest).
  v = ((v << 4) | (v >> 8)) & 0x00ff00ff00ff00ff;
  v = ((v << 8) | (v >> 16)) & 0x0000ffff0000ffff;
  v = ((v << 16) | (v >> 32)) & 0xffffffff;
  out = static_cast<std::uint32_t>(v);
  return true;
}

// The first '\t' or '\n' at or after `s`, or `end`: eight bytes at a time (a zero byte in
// w ^ pattern marks a match; the lowest flagged byte is always a real one), because the two
// memchr calls per line this replaces cost more in call overhead than in scanning.
const char* find_tab_or_newline(const char* s, const char* end) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t kOnes = 0x0101010101010101, kHigh = 0x8080808080808080;
    while (end - s >= 8) {
      std::uint64_t w;
      std::memcpy(&w, s, sizeof w);
      std::uint64_t nl = w ^ (kOnes * '\n'), tab = w ^ (kOnes * '\t');
      std::uint64_t hit = (((nl - kOnes) & ~nl) | ((tab - kOnes) & ~tab)) & kHigh;
      if (hit) return s + (__builtin_ctzll(hit) >> 3);
      s += sizeof w;
    }
  }
  while (s < end && *s != '\n' && *s != '\t') ++s;
  return s;
}

bool cache_applies(const std::string& path) { return path == "/proc/kallsyms"; }

Error restricted_error(const std::string& path) {
  return Error{Errc::kPermission,
               "'" + path +
                   "': no kernel symbol addresses (all zero or none): kernel frames "
                   "would be [unknown]; run as root or set "
                   "/proc/sys/kernel/kptr_restrict to 0, or pass --kallsyms FILE"};
}

}  // namespace

Result<KallsymsTable> KallsymsTable::read_and_parse(const std::string& path) {
  auto raw = detail::read_whole_file_raw(path, kKallsymsReadChunk);
  if (!raw) return raw.error();
  auto storage = std::make_shared<ParsedStorage>();
  storage->raw = std::move(*raw);
  KallsymsTable t = parse_into(std::move(storage));
  if (t.empty()) return restricted_error(path);
  return t;
}

KallsymsTable KallsymsTable::parse(std::string_view text) { return parse_owned(std::string(text)); }

KallsymsTable KallsymsTable::parse_owned(std::string owned) {
  auto storage = std::make_shared<ParsedStorage>();
  storage->text = std::move(owned);
  return parse_into(std::move(storage));
}

KallsymsTable KallsymsTable::parse_into(std::shared_ptr<ParsedStorage> storage) {
  KallsymsTable t;
  std::vector<KernelSymbol>& syms = storage->symbols;
  const char* p = storage->raw.data ? storage->raw.data.get() : storage->text.data();
  const char* const end = p + (storage->raw.data ? storage->raw.size : storage->text.size());
  // Real lines are ~44 bytes; pages the estimate reserves but no symbol reaches are never
  // touched, so erring high is free.
  syms.reserve(static_cast<std::size_t>(end - p) / 24 + 16);
  bool sorted = true;
  while (p < end) {
    const char* line = p;
    if (*line == '\n') {
      ++p;
      continue;
    }
    // "ffffffff81000000 T _text" or "ffffffffc0a01000 t foo\t[module]". The kernel prints
    // addresses with %px, 16 digits on 64-bit: decoded eight at a time without a dependency
    // from digit to digit. Anything else takes the general loop.
    std::uint64_t addr = 0;
    unsigned bad = 0x80;
    const char* q = line + 16;
    if (end - line > 16 && line[16] == ' ') {
      std::uint32_t high, low;
      if (decode_hex8(line, high) && decode_hex8(line + 8, low)) {
        addr = (std::uint64_t{high} << 32) | low;
        bad = 0;
      }
    }
    if (bad & 0x80) {
      addr = 0;
      bad = 0;
      for (q = line; q < end && *q != ' ' && *q != '\n'; ++q) {
        std::uint8_t d = kHexValue[static_cast<unsigned char>(*q)];
        bad |= d;
        addr = (addr << 4) | (d & 0x0f);
      }
    }
    const std::size_t digits = static_cast<std::size_t>(q - line);
    if (end - q < 3 || *q != ' ' || q[1] == '\n' || q[2] != ' ' || digits == 0 || digits > 16 ||
        (bad & 0x80)) {
      ++t.skipped_;
      const char* nl =
          static_cast<const char*>(std::memchr(q, '\n', static_cast<std::size_t>(end - q)));
      p = nl ? nl + 1 : end;
      continue;
    }
    const char type = q[1];
    const char* name = q + 3;
    const char* name_end = find_tab_or_newline(name, end);
    const char* nl = name_end;
    std::string_view module;
    if (name_end < end && *name_end == '\t') {
      nl = static_cast<const char*>(
          std::memchr(name_end, '\n', static_cast<std::size_t>(end - name_end)));
      if (!nl) nl = end;
      module = std::string_view(name_end + 1, static_cast<std::size_t>(nl - name_end - 1));
      if (module.size() >= 2 && module.front() == '[' && module.back() == ']')
        module = module.substr(1, module.size() - 2);
    }
    p = nl < end ? nl + 1 : end;
    // perf keeps only text symbols for the kernel map (map__process_kallsym_symbol).
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;
    if (name == name_end) {
      ++t.skipped_;
      continue;
    }
    KernelSymbol s{addr, addr, std::string_view(name, static_cast<std::size_t>(name_end - name)),
                   module};
    // Of several names at one address perf prints the last listed: it fixes up symbol ends
    // (every alias but the last gets length 0) before choosing among duplicates, and its first
    // rule prefers a non-zero length (symbols__fixup_end, then symbols__fixup_duplicate in
    // __dso__load_kallsyms). E.g. memcpy, __memcpy, __pi_memcpy -> __pi_memcpy. Aliases are
    // adjacent in /proc/kallsyms, so the newer simply replaces the older here.
    if (!syms.empty() && syms.back().start >= addr) {
      if (syms.back().start == addr) {
        syms.back() = s;
        continue;
      }
      sorted = false;
    }
    syms.push_back(s);
  }
  // /proc/kallsyms is sorted except, on some kernels, for a few module lines.
  if (!sorted) {
    auto by_start = [](const KernelSymbol& a, const KernelSymbol& b) { return a.start < b.start; };
    std::stable_sort(syms.begin(), syms.end(), by_start);
    // Keep the last listed of each run of equal starts (stable order = file order).
    std::size_t out = 0;
    for (std::size_t i = 0; i < syms.size(); ++i) {
      if (i + 1 < syms.size() && syms[i + 1].start == syms[i].start) continue;
      syms[out++] = syms[i];
    }
    syms.resize(out);
  }
  // Zero addresses mean kptr_restrict hid them: nothing can be resolved.
  if (!syms.empty() && syms.back().start == 0) syms.clear();
  for (std::size_t i = 0; i < syms.size(); ++i) {
    auto& s = syms[i];
    bool last_of_image = i + 1 == syms.size() || syms[i + 1].module != s.module;
    if (last_of_image) s.end = ((s.start + 4095) & ~std::uint64_t{4095}) + 4096;
    else s.end = syms[i + 1].start;
  }
  t.symbols_ = syms;
  t.storage_ = std::move(storage);
  return t;
}

Result<KallsymsTable> KallsymsTable::load(const std::string& path) {
  if (!cache_applies(path)) return read_and_parse(path);
  detail::KallsymsCache cache = detail::KallsymsCache::for_this_process();
  if (auto cached = cache.read()) return std::move(*cached);
  // Identity first, table second: a module loaded in between leaves a cache that the next run
  // finds out of date, never a stale table that looks current.
  auto t = read_and_parse(path);
  if (t) cache.write(*t);
  return t;
}

Result<KallsymsTable> KallsymsTable::load_fresh(const std::string& path) {
  if (!cache_applies(path)) return read_and_parse(path);
  detail::KallsymsCache cache = detail::KallsymsCache::for_this_process();
  auto t = read_and_parse(path);
  if (t) cache.write(*t);
  return t;
}

const KernelSymbol* KallsymsTable::find(std::uint64_t address) const {
  const KernelSymbol* s = detail::find_covering(symbols_, address);
  if (s && unchecked_ && !unchecked_->entry_ok(*s)) return nullptr;
  return s;
}

std::span<const KernelSymbol> KallsymsTable::symbols() const {
  if (unchecked_ && !unchecked_->all_ok(symbols_)) return {};
  return symbols_;
}

bool KallsymsTable::trusted_at(std::uint64_t address) const {
  if (!from_cache_) return true;
  // A kernel in the upper half of a 64-bit address space (x86-64, arm64, ...) has no symbol in
  // the lower half, new or old: a miss there is as true as a fresh table's, and garbage or user
  // addresses in a kernel callchain need not cost a fresh read.
  constexpr std::uint64_t kUpperHalf = std::uint64_t{1} << 63;
  if (lowest() >= kUpperHalf && address < kUpperHalf) return true;
  // x86-64 keeps all kernel text (the image, modules, BPF programs, ftrace and kprobe
  // trampolines) between the kernel text mapping at -2 GB and the end of the module space
  // (Documentation/arch/x86/x86_64/mm.rst: ffffffff80000000 to fffffffffeffffff). A table that
  // lies in that window has no symbol outside it, new or old: the upper-half garbage of corrupt
  // callchains (ffffffff00000005, fffffd40e8f78948) is a miss a fresh read would repeat, and
  // reading /proc/kallsyms again for it was most of a small capture's time.
  constexpr std::uint64_t kX86TextStart = 0xffffffff80000000, kX86TextEnd = 0xffffffffff000000;
  if (lowest() >= kX86TextStart && highest_end() <= kX86TextEnd &&
      (address < kX86TextStart || address >= kX86TextEnd))
    return true;
  auto it = std::upper_bound(trusted_.begin(), trusted_.end(), address,
                             [](std::uint64_t a, const Range& r) { return a < r.first; });
  return it != trusted_.begin() && address < std::prev(it)->second;
}

}  // namespace prof::symbolizer

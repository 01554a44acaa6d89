#include "kallsyms_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "cache_dir.h"
#include "prof/common/unique_fd.h"
#include "text_util.h"

namespace prof::symbolizer::detail {

struct KallsymsCacheAccess {
  static KallsymsTable make(std::shared_ptr<const void> storage,
                            std::span<const KernelSymbol> symbols, std::size_t skipped,
                            std::vector<KallsymsTable::Range> trusted,
                            std::shared_ptr<UncheckedSymbols> unchecked) {
    KallsymsTable t;
    t.unchecked_ = std::move(unchecked);
    t.storage_ = std::move(storage);
    t.symbols_ = symbols;
    t.skipped_ = skipped;
    t.from_cache_ = true;
    t.trusted_ = std::move(trusted);
    return t;
  }
  static std::size_t skipped(const KallsymsTable& t) { return t.skipped_; }
};

namespace {

using Range = std::pair<std::uint64_t, std::uint64_t>;

constexpr char kMagic[8] = {'P', 'R', 'O', 'F', 'K', 'S', 'Y', 'M'};
constexpr std::uint64_t kVersion = 1;
// Where the file asks to be mapped so that the views stored in it are valid as they are. An
// address in the middle of the lower half of the user address space, far from the executable,
// the heap, the mmap area under ASLR and ASan's shadow and allocator regions; if something is
// there anyway, the file is read and relocated instead.
constexpr std::uint64_t kPreferredBase = 0x3f4b00000000;
constexpr std::uint64_t kMaxFileSize = std::uint64_t{1} << 30;

struct Header {
  char magic[8];
  std::uint64_t version;
  std::uint64_t file_size;
  std::uint64_t base;
  std::uint64_t symbol_size;
  // The bytes of string_view(base + 1, 2): refuses a file written by a build whose string_view
  // lays out pointer and size differently (libc++ vs libstdc++).
  unsigned char view_probe[sizeof(std::string_view)];
  std::uint64_t identity_offset, identity_size;
  std::uint64_t ranges_offset, range_count;
  std::uint64_t symbols_offset, symbol_count;
  std::uint64_t names_offset, names_size;
  std::uint64_t skipped_lines;
};
static_assert(sizeof(Header) % 8 == 0);
static_assert(sizeof(KernelSymbol) % 8 == 0);

std::string_view fake_view(std::uint64_t address, std::size_t size) {
  // A view that is only ever stored, never read: its pointer is where the bytes will be once
  // the file is mapped at its base.
  return {reinterpret_cast<const char*>(static_cast<std::uintptr_t>(address)), size};
}

void view_probe(std::uint64_t base, unsigned char (&out)[sizeof(std::string_view)]) {
  std::string_view v = fake_view(base + 1, 2);
  std::memcpy(out, &v, sizeof v);
}

std::uint64_t align8(std::uint64_t n) { return (n + 7) & ~std::uint64_t{7}; }

bool section_fits(std::uint64_t offset, std::uint64_t size, std::uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

bool view_inside(std::string_view v, std::uintptr_t lo, std::uintptr_t hi) {
  auto p = reinterpret_cast<std::uintptr_t>(v.data());
  return p >= lo && p <= hi && v.size() <= hi - p;
}

// Integer arithmetic: the stored pointer is not a pointer into anything until it is moved.
std::string_view moved(std::string_view v, std::uintptr_t delta) {
  return {reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(v.data()) + delta),
          v.size()};
}

// Checks every stored symbol (views inside [lo, hi] as stored, starts ascending, non-empty
// ranges) and, when kRelocate, moves its views by `delta` in place. The symbols are read where
// they lie: copying each one out first (memcpy of 48 bytes) made this loop 10x slower.
template <bool kRelocate>
bool check_symbols(unsigned char* at, std::uint64_t count, std::uintptr_t lo, std::uintptr_t hi,
                   std::uintptr_t delta) {
  auto* symbols = reinterpret_cast<KernelSymbol*>(at);
  std::uint64_t previous_start = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    KernelSymbol& s = symbols[i];
    if (!view_inside(s.name, lo, hi) || !view_inside(s.module, lo, hi) || s.start >= s.end ||
        (i > 0 && s.start <= previous_start))
      return false;
    previous_start = s.start;
    if constexpr (kRelocate) {
      s.name = moved(s.name, delta);
      s.module = moved(s.module, delta);
    }
  }
  return true;
}

bool pread_all(int fd, void* out, std::size_t size, std::uint64_t offset) {
  auto* p = static_cast<unsigned char*>(out);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::uint64_t parse_number(std::string_view s, int base) {
  if (base == 16 && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  std::uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9'                 ? c - '0'
            : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
            : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
    if (d < 0) return 0;
    v = v * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
  }
  return v;
}

// The ranges a cached table can speak for: the core kernel image, each module of /proc/modules
// (its symbols' span and the range /proc/modules gives), merged.
std::vector<Range> trusted_ranges(const KallsymsTable& table, const KallsymsIdentity& identity) {
  std::set<std::string_view> real_modules(identity.module_names.begin(),
                                          identity.module_names.end());
  std::map<std::string_view, Range> spans;
  // A module's symbols are one run in address order: one map lookup per run, not per symbol.
  Range* span = nullptr;
  std::string_view span_module;
  for (const KernelSymbol& s : table.symbols()) {
    if (!span || s.module != span_module) {
      span_module = s.module;
      span = nullptr;
      if (!s.module.empty() && !real_modules.count(s.module)) continue;  // [bpf], [__builtin__*]
      auto [it, fresh] = spans.try_emplace(s.module, s.start, s.end);
      span = &it->second;
    }
    span->first = std::min(span->first, s.start);
    span->second = std::max(span->second, s.end);
  }
  std::vector<Range> ranges;
  for (const auto& [name, module_span] : spans) ranges.push_back(module_span);
  for (const Range& r : identity.module_ranges) ranges.push_back(r);
  std::sort(ranges.begin(), ranges.end());
  std::vector<Range> merged;
  for (const Range& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, r.second);
    else merged.push_back(r);
  }
  return merged;
}

}  // namespace

KallsymsIdentity KallsymsIdentity::from(std::string_view boot_id, std::string_view proc_modules,
                                        unsigned euid) {
  KallsymsIdentity id;
  id.key = "boot_id ";
  id.key += trim(boot_id);
  id.key += "\neuid " + std::to_string(euid) + "\n";
  // "nf_tables 344064 0 - Live 0xffffffffc0a00000": name, size, refcount, users, state,
  // address (proc(5), kernel/module/procfs.c m_show). Only name, size and address identify
  // the symbol set.
  while (!proc_modules.empty()) {
    std::string_view line = next_line(proc_modules);
    auto f = split_fields(line);
    if (f.empty()) continue;
    if (f.size() < 6) {  // not the known layout: keep it whole, so any change invalidates
      id.key.append(line).push_back('\n');
      continue;
    }
    id.key.append(f[0]).append(" ").append(f[1]).append(" ").append(f[5]).push_back('\n');
    id.module_names.emplace_back(f[0]);
    // A module still loading lists its init symbols, which go away when it turns Live.
    if (f[4] != "Live") id.settled = false;
    std::uint64_t size = parse_number(f[1], 10), address = parse_number(f[5], 16);
    if (address != 0 && size != 0 && address + size > address)
      id.module_ranges.emplace_back(address, address + size);
  }
  return id;
}

std::string KallsymsCache::default_file() {
  std::string dir = cache_dir("");  // honours PROF_CACHE_DIR and PROF_NO_CACHE
  if (dir.empty()) return "";
  return dir + "/kallsyms-" + std::to_string(::geteuid()) + ".bin";
}

KallsymsCache KallsymsCache::for_this_process() {
  if (env_set("PROF_NO_KALLSYMS_CACHE")) return KallsymsCache("", std::nullopt);
  auto boot_id = read_whole_file("/proc/sys/kernel/random/boot_id");
  if (!boot_id || trim(*boot_id).empty()) return KallsymsCache("", std::nullopt);
  // A kernel without module support has no /proc/modules: no modules, nothing to compare.
  auto modules = read_whole_file("/proc/modules");
  std::string file = default_file();
  if (file.empty()) return KallsymsCache("", std::nullopt);
  return KallsymsCache(std::move(file),
                       KallsymsIdentity::from(*boot_id, modules ? *modules : "", ::geteuid()));
}

std::optional<KallsymsTable> KallsymsCache::read() const {
  if (file_.empty() || !identity_) return std::nullopt;
  UniqueFd fd(::open(file_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  // Another user's file (a shared PROF_CACHE_DIR) could say anything about this kernel.
  if (st.st_uid != ::geteuid()) return std::nullopt;
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  Header h;
  if (file_size < sizeof h || file_size > kMaxFileSize || !pread_all(fd.get(), &h, sizeof h, 0))
    return std::nullopt;
  unsigned char probe[sizeof(std::string_view)];
  view_probe(h.base, probe);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kVersion ||
      h.file_size != file_size || h.symbol_size != sizeof(KernelSymbol) ||
      std::memcmp(h.view_probe, probe, sizeof probe) != 0 || h.base % 4096 != 0 ||
      h.base > UINTPTR_MAX - file_size || h.identity_size != identity_->key.size() ||
      !section_fits(h.identity_offset, h.identity_size, file_size) ||
      h.range_count > file_size / 16 ||
      !section_fits(h.ranges_offset, h.range_count * 16, file_size) ||
      h.symbol_count > file_size / sizeof(KernelSymbol) ||
      !section_fits(h.symbols_offset, h.symbol_count * sizeof(KernelSymbol), file_size) ||
      !section_fits(h.names_offset, h.names_size, file_size) || h.ranges_offset % 8 != 0 ||
      h.symbols_offset % 8 != 0 || h.symbol_count == 0)
    return std::nullopt;
  // The identity decides before the bulk of the file is touched.
  std::string key(h.identity_size, '\0');
  if (!pread_all(fd.get(), key.data(), key.size(), h.identity_offset) || key != identity_->key)
    return std::nullopt;

  std::shared_ptr<const void> storage;
  unsigned char* bytes = nullptr;
  bool relocate = false;
#if defined(__SANITIZE_THREAD__)
  // GCC 12's TSan mmap interceptor drops a hint inside its shadow range but keeps
  // MAP_FIXED_NOREPLACE, so the kernel maps at address 0 (root may) and TSan aborts: relocate.
  MemoryMap m;
#else
  auto m = MemoryMap::map(fd.get(), file_size, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, 0,
                          reinterpret_cast<void*>(static_cast<std::uintptr_t>(h.base)));
#endif
  if (m && reinterpret_cast<std::uintptr_t>(m.data()) == h.base) {
    bytes = static_cast<unsigned char*>(m.data());
    storage = std::make_shared<MemoryMap>(std::move(m));
  } else {
    // Taken (a second table alive in this process, or a sanitizer's layout): read and move.
    m.reset();
    std::shared_ptr<std::uint64_t[]> buffer(new std::uint64_t[(file_size + 7) / 8]);
    bytes = reinterpret_cast<unsigned char*>(buffer.get());
    if (!pread_all(fd.get(), bytes, file_size, 0)) return std::nullopt;
    storage = std::move(buffer);
    relocate = true;
  }
  const std::uintptr_t lo = static_cast<std::uintptr_t>(h.base + h.names_offset);
  const std::uintptr_t hi = lo + static_cast<std::uintptr_t>(h.names_size);
  const std::uintptr_t delta =
      reinterpret_cast<std::uintptr_t>(bytes) - static_cast<std::uintptr_t>(h.base);
  unsigned char* symbols_at = bytes + h.symbols_offset;
  std::span<const KernelSymbol> symbols(reinterpret_cast<const KernelSymbol*>(symbols_at),
                                        h.symbol_count);
  std::shared_ptr<UncheckedSymbols> unchecked;
  if (relocate) {
    // Every view is moved anyway: check them all now.
    if (!check_symbols<true>(symbols_at, h.symbol_count, lo, hi, delta)) return std::nullopt;
  } else {
    // Used where it lies: checked as used. The first and last entries are read now (the
    // table's bounds), so they are checked now.
    unchecked = std::make_shared<UncheckedSymbols>();
    unchecked->lo = lo;
    unchecked->hi = hi;
    if (!unchecked->entry_ok(symbols.front()) || !unchecked->entry_ok(symbols.back()) ||
        (symbols.size() > 1 && symbols.front().start >= symbols.back().start))
      return std::nullopt;
  }
  std::vector<Range> trusted(h.range_count);
  for (std::size_t i = 0; i < trusted.size(); ++i) {
    std::uint64_t pair[2];
    std::memcpy(pair, bytes + h.ranges_offset + i * sizeof pair, sizeof pair);
    trusted[i] = {pair[0], pair[1]};
  }
  for (std::size_t i = 0; i < trusted.size(); ++i)
    if (trusted[i].first >= trusted[i].second ||
        (i > 0 && trusted[i].first < trusted[i - 1].second))
      return std::nullopt;
  return KallsymsCacheAccess::make(std::move(storage), symbols, h.skipped_lines, std::move(trusted),
                                   std::move(unchecked));
}

bool UncheckedSymbols::entry_ok(const KernelSymbol& s) const {
  return view_inside(s.name, lo, hi) && view_inside(s.module, lo, hi) && s.start < s.end;
}

bool UncheckedSymbols::all_ok(std::span<const KernelSymbol> symbols) {
  std::call_once(once_, [&] {
    // check_symbols<false> only reads, whatever its parameter's constness says.
    ok_ = check_symbols<false>(
        reinterpret_cast<unsigned char*>(const_cast<KernelSymbol*>(symbols.data())), symbols.size(),
        lo, hi, 0);
  });
  return ok_;
}

bool KallsymsCache::write(const KallsymsTable& table) const {
  if (file_.empty() || !identity_) return false;
  // kptr_restrict zeroes every address for unprivileged readers: such a table must never be
  // handed to a later run that could have seen the real one.
  if (table.empty() || table.symbols().back().start == 0 || !identity_->settled) return false;
  std::vector<Range> trusted = trusted_ranges(table, *identity_);
  auto symbols = table.symbols();

  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.base = kPreferredBase;
  h.symbol_size = sizeof(KernelSymbol);
  view_probe(h.base, h.view_probe);
  h.identity_offset = sizeof h;
  h.identity_size = identity_->key.size();
  h.ranges_offset = align8(h.identity_offset + h.identity_size);
  h.range_count = trusted.size();
  h.symbols_offset = h.ranges_offset + h.range_count * 16;
  h.symbol_count = symbols.size();
  h.names_offset = h.symbols_offset + h.symbol_count * sizeof(KernelSymbol);
  // Names one after another; the few module names once each (looked up once per run of
  // symbols of one module, not once per symbol: that was most of the writing time).
  std::map<std::string_view, std::uint64_t> module_at;
  std::uint64_t names_size = 0;
  std::string_view previous_module;
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    const KernelSymbol& s = symbols[i];
    names_size += s.name.size();
    if ((i == 0 || s.module != previous_module) && module_at.try_emplace(s.module, 0).second)
      names_size += s.module.size();
    previous_module = s.module;
  }
  h.names_size = names_size;
  h.file_size = h.names_offset + names_size;
  h.skipped_lines = KallsymsCacheAccess::skipped(table);

  std::unique_ptr<char[]> out(new char[h.file_size]);
  std::memset(out.get(), 0, h.names_offset);  // header padding and alignment gaps
  std::memcpy(out.get(), &h, sizeof h);
  std::memcpy(out.get() + h.identity_offset, identity_->key.data(), h.identity_size);
  for (std::size_t i = 0; i < trusted.size(); ++i) {
    std::uint64_t pair[2] = {trusted[i].first, trusted[i].second};
    std::memcpy(out.get() + h.ranges_offset + i * sizeof pair, pair, sizeof pair);
  }
  std::uint64_t name_at = h.names_offset;
  for (auto& [module, at] : module_at) {
    at = name_at;
    if (!module.empty()) std::memcpy(out.get() + name_at, module.data(), module.size());
    name_at += module.size();
  }
  char* symbol_out = out.get() + h.symbols_offset;
  std::uint64_t module_offset = 0;
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    const KernelSymbol& s = symbols[i];
    if (i == 0 || s.module != symbols[i - 1].module) module_offset = module_at[s.module];
    std::memcpy(out.get() + name_at, s.name.data(), s.name.size());
    KernelSymbol stored{s.start, s.end, fake_view(h.base + name_at, s.name.size()),
                        fake_view(h.base + module_offset, s.module.size())};
    std::memcpy(symbol_out, &stored, sizeof stored);
    symbol_out += sizeof stored;
    name_at += s.name.size();
  }

  return write_cache_file(file_, std::string_view(out.get(), h.file_size));
}

}  // namespace prof::symbolizer::detail

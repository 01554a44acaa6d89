#include "symbol_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>

#include "cache_dir.h"
#include "prof/common/flat_index.h"

namespace prof::symbolizer::detail {
namespace {

// Layout: magic, symbol count, names size; per symbol (start, end, name offset, name length)
// as 8+8+4+4 bytes; the names, each followed by a NUL, padded to 8 bytes; then a checksum of
// everything before it.
constexpr char kMagic[8] = {'P', 'R', 'O', 'F', 'S', 'Y', 'M', '2'};
constexpr std::size_t kHeader = 24, kEntry = 24;

using Entry = CachedSymbol;
static_assert(sizeof(Entry) == kEntry && alignof(Entry) <= 8);

std::uint64_t align8(std::uint64_t n) { return (n + 7) & ~std::uint64_t{7}; }

// prof::hash_bytes (four independent lanes, so not one multiply chain per word as FNV is): it
// catches a damaged or foreign file (any changed word changes its lane and so the sum) and
// reads a table of megabytes in a fraction of a millisecond.
std::uint64_t checksum(const unsigned char* p, std::size_t n) {
  return hash_bytes(reinterpret_cast<const char*>(p), n);
}

std::uint64_t u64_at(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Removes the oldest entries (by modification time) while the directory holds more than the
// bounds allow. `keep` (the entry just written) is never removed. Returns what is left.
std::pair<std::size_t, std::uint64_t> bound_directory(const std::string& dir,
                                                      const std::string& keep) {
  struct Item {
    std::int64_t mtime_ns;
    std::uint64_t size;
    std::string name;
  };
  std::vector<Item> items;
  std::uint64_t total = 0;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (!name.ends_with(".sym")) continue;
      struct stat st;
      std::string path = dir + "/" + std::string(name);
      if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      items.push_back(Item{st.st_mtim.tv_sec * 1'000'000'000ll + st.st_mtim.tv_nsec,
                           static_cast<std::uint64_t>(st.st_size), std::string(name)});
      total += static_cast<std::uint64_t>(st.st_size);
    }
    ::closedir(d);
  }
  if (items.size() <= kMaxSymbolCacheEntries && total <= kMaxSymbolCacheBytes)
    return {items.size(), total};
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.mtime_ns < b.mtime_ns; });
  std::size_t count = items.size();
  for (const Item& it : items) {
    if (count <= kMaxSymbolCacheEntries && total <= kMaxSymbolCacheBytes) break;
    if (dir + "/" + it.name == keep) continue;
    if (::unlink((dir + "/" + it.name).c_str()) == 0) {
      --count;
      total -= it.size;
    }
  }
  return {count, total};
}

// The directory is listed on a process's first write only (a cold run writes dozens of
// entries); later writes add to what that found, and list it again only when a bound is
// passed. Another process writing meanwhile is noticed at its own first write, or ours.
void bound_after_write(const std::string& path, std::uint64_t bytes) {
  static std::mutex mu;
  static std::map<std::string, std::pair<std::size_t, std::uint64_t>> known;  // by directory
  const std::string dir = path.substr(0, path.rfind('/'));
  std::lock_guard lock(mu);
  auto it = known.find(dir);
  if (it != known.end()) {
    it->second.first += 1;
    it->second.second += bytes;
    if (it->second.first <= kMaxSymbolCacheEntries && it->second.second <= kMaxSymbolCacheBytes)
      return;
  }
  known[dir] = bound_directory(dir, path);
}

}  // namespace

std::string symbol_cache_path(const std::string& build_id, int main_fd, int debug_fd) {
  if (build_id.size() < 8 || main_fd < 0) return "";
  std::uint64_t id[10] = {};
  for (int k = 0; k < 2; ++k) {
    const int fd = k == 0 ? main_fd : debug_fd;
    if (fd < 0) continue;
    struct stat st;
    if (::fstat(fd, &st) != 0) return "";
    const std::uint64_t one[5] = {
        static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
        static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_mtim.tv_sec),
        static_cast<std::uint64_t>(st.st_mtim.tv_nsec)};
    std::memcpy(id + k * 5, one, sizeof one);
  }
  std::string dir = cache_dir("symtab");
  if (dir.empty()) return "";
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "-%016llx.sym",
                static_cast<unsigned long long>(
                    checksum(reinterpret_cast<const unsigned char*>(id), sizeof id)));
  return dir + "/" + build_id + suffix;
}

std::optional<CachedSymbols> load_symbol_cache(const std::string& path) {
  if (path.empty()) return std::nullopt;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid())
    return std::nullopt;
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size < kHeader + 8 || size % 8 != 0) return std::nullopt;
  // Mapped: entries are only ever renamed into place whole, never rewritten.
  CachedSymbols out;
  out.file = MemoryMap::map(fd.get(), size, PROT_READ, MAP_PRIVATE | MAP_POPULATE);
  if (!out.file) return std::nullopt;
  const unsigned char* p = out.file.bytes();
  if (std::memcmp(p, kMagic, 8) != 0) return std::nullopt;
  const std::uint64_t count = u64_at(p + 8), names_size = u64_at(p + 16);
  if (count > size / kEntry || names_size > size ||
      size != kHeader + count * kEntry + align8(names_size) + 8 ||
      checksum(p, size - 8) != u64_at(p + size - 8))
    return std::nullopt;
  // The entries start 8-aligned (after the header) in a page-aligned mapping.
  out.names = reinterpret_cast<const char*>(p + kHeader + count * kEntry);
  out.symbols = std::span<const Entry>(reinterpret_cast<const Entry*>(p + kHeader),
                                       static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < out.symbols.size(); ++i) {
    const Entry& e = out.symbols[i];
    if (std::uint64_t{e.name_offset} + e.name_size >= names_size ||
        out.names[e.name_offset + e.name_size] != '\0' || e.end < e.start ||
        (i > 0 && e.start < out.symbols[i - 1].start))
      return std::nullopt;
  }
  return out;
}

bool save_symbol_cache(const std::string& path, std::span<const ElfSymbol> symbols) {
  if (path.empty()) return false;
  std::uint64_t names_size = 0;
  for (const ElfSymbol& s : symbols) names_size += s.name.size() + 1;
  if (names_size > 0xffffffffu) return false;
  const std::uint64_t size = kHeader + symbols.size() * kEntry + align8(names_size) + 8;
  if (size > kMaxSymbolCacheBytes / 4) return false;  // one table may not crowd out the rest
  std::string bytes(static_cast<std::size_t>(size), '\0');
  auto* p = reinterpret_cast<unsigned char*>(bytes.data());
  std::memcpy(p, kMagic, 8);
  const std::uint64_t count = symbols.size();
  std::memcpy(p + 8, &count, 8);
  std::memcpy(p + 16, &names_size, 8);
  char* names = bytes.data() + kHeader + count * kEntry;
  std::uint32_t at = 0;
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    const ElfSymbol& s = symbols[i];
    Entry e{s.start, s.end, at, static_cast<std::uint32_t>(s.name.size())};
    std::memcpy(p + kHeader + i * kEntry, &e, kEntry);
    std::memcpy(names + at, s.name.data(), s.name.size());
    at += static_cast<std::uint32_t>(s.name.size()) + 1;  // the NUL is already there
  }
  const std::uint64_t sum = checksum(p, static_cast<std::size_t>(size) - 8);
  std::memcpy(p + size - 8, &sum, 8);
  if (!write_cache_file(path, bytes)) return false;
  bound_after_write(path, size);
  return true;
}

}  // namespace prof::symbolizer::detail

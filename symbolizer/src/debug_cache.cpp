#include "debug_cache.h"

#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <string_view>

#include "cache_dir.h"
#include "prof/common/unique_fd.h"

namespace prof::symbolizer::detail {
namespace {

enum class Compression { kNone, kCacheable, kOther };

Compression debug_compression(Elf* elf) {
  std::size_t shstrndx;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return Compression::kOther;
  Compression c = Compression::kNone;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) return Compression::kOther;
    const char* n = elf_strptr(elf, shstrndx, sh.sh_name);
    if (!n) continue;
    std::string_view name(n);
    // GNU .zdebug sections and dwz's alternate files (found relative to the debug file) are
    // left to libdw as they are.
    if (name.starts_with(".zdebug") || name == ".gnu_debugaltlink") return Compression::kOther;
    if (name.starts_with(".debug_") && (sh.sh_flags & SHF_COMPRESSED)) c = Compression::kCacheable;
  }
  return c;
}

// Inflates the SHF_COMPRESSED debug sections in memory, as dwarf_begin_elf would; false if
// one fails (a corrupt section: libdw then reports it). Returns their inflated size in `bytes`.
bool inflate_debug_sections(Elf* elf, std::uint64_t& bytes) {
  std::size_t shstrndx;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return false;
  bytes = 0;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) return false;
    const char* n = elf_strptr(elf, shstrndx, sh.sh_name);
    if (!n || !std::string_view(n).starts_with(".debug_")) continue;
    if (sh.sh_flags & SHF_COMPRESSED) {
      if (elf_compress(scn, 0, 0) < 0 || !gelf_getshdr(scn, &sh)) return false;
    }
    bytes += sh.sh_type == SHT_NOBITS ? 0 : sh.sh_size;
  }
  return true;
}

// Writes `in` (its debug sections inflated) as a new ELF file at `path`: a temporary file
// renamed into place, so readers see a whole file or none. Best effort: false on any failure.
bool write_elf_copy(Elf* in, const std::string& path) {
  GElf_Ehdr eh;
  std::size_t phnum = 0, shstrndx = 0;
  if (!gelf_getehdr(in, &eh) || elf_getphdrnum(in, &phnum) != 0 ||
      elf_getshdrstrndx(in, &shstrndx) != 0 || shstrndx >= SHN_LORESERVE)
    return false;
  std::string tmp = path + ".XXXXXX";
  UniqueFd fd(::mkstemp(tmp.data()));
  if (!fd) return false;
  bool ok = false;
  Elf* out = elf_begin(fd.get(), ELF_C_WRITE, nullptr);
  if (out && gelf_newehdr(out, gelf_getclass(in)) && (phnum == 0 || gelf_newphdr(out, phnum))) {
    ok = true;
    GElf_Ehdr oh = eh;
    ok = ok && gelf_update_ehdr(out, &oh);
    for (std::size_t i = 0; ok && i < phnum; ++i) {
      GElf_Phdr ph;
      ok = gelf_getphdr(in, static_cast<int>(i), &ph) &&
           gelf_update_phdr(out, static_cast<int>(i), &ph);
    }
    for (Elf_Scn* scn = nullptr; ok && (scn = elf_nextscn(in, scn)) != nullptr;) {
      GElf_Shdr sh;
      Elf_Scn* o = elf_newscn(out);
      ok = o && gelf_getshdr(scn, &sh) && gelf_update_shdr(o, &sh);
      if (!ok || sh.sh_type == SHT_NOBITS) continue;
      for (Elf_Data* d = nullptr; ok && (d = elf_getdata(scn, d)) != nullptr;) {
        Elf_Data* od = elf_newdata(o);
        if (!od) ok = false;
        else *od = *d;  // the bytes stay in `in`, which outlives elf_update
      }
    }
    ok = ok && elf_update(out, ELF_C_WRITE) >= 0;
  }
  if (out) elf_end(out);
  ok = ::close(fd.release()) == 0 && ok;  // a written file's close can fail: checked
  if (ok && ::rename(tmp.c_str(), path.c_str()) == 0) return true;
  ::unlink(tmp.c_str());
  return false;
}

// A cached copy is used only if it is an ELF file with this build-id and nothing compressed.
bool valid_copy(const std::string& path, const std::string& build_id) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  Elf* elf = elf_begin(fd.get(), ELF_C_READ, nullptr);
  bool ok = elf && elf_kind(elf) == ELF_K_ELF && elf_build_id(elf) == build_id &&
            debug_compression(elf) == Compression::kNone;
  if (elf) elf_end(elf);
  return ok;
}

constexpr std::uint64_t kMaxCachedDebugBytes = std::uint64_t{1} << 30;

}  // namespace

std::string to_hex(const std::uint8_t* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

std::string elf_build_id(Elf* elf) {
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf) continue;
    std::size_t off = 0, name_off, desc_off;
    GElf_Nhdr nh;
    while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
      const char* base = static_cast<const char*>(data->d_buf);
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
          std::memcmp(base + name_off, "GNU", 4) == 0 && nh.n_descsz > 0)
        return to_hex(reinterpret_cast<const std::uint8_t*>(base + desc_off), nh.n_descsz);
    }
  }
  return "";
}

std::string uncompressed_debug_copy(const std::string& build_id,
                                    const std::function<Elf*()>& source) {
  if (build_id.empty() || build_id.find('/') != std::string::npos) return "";
  std::string dir = cache_dir("debug");
  if (dir.empty()) return "";
  const std::string file = dir + "/" + build_id + ".debug";
  // One answer per cache file and process: the first caller checks or writes the copy, others
  // wait for it (unwinding workers and resolvers ask for the same files at the same time).
  static std::mutex mu;
  static std::map<std::string, std::shared_future<std::string>> answers;
  std::promise<std::string> mine;
  std::shared_future<std::string> answer;
  {
    std::lock_guard lock(mu);
    auto [it, inserted] = answers.try_emplace(file);
    if (inserted) it->second = mine.get_future().share();
    else answer = it->second;
  }
  if (answer.valid()) {
    // A copy this process saw valid may have been removed or damaged since: check again.
    std::string known = answer.get();
    if (known.empty() || valid_copy(known, build_id)) return known;
  }
  std::string result;
  if (valid_copy(file, build_id)) {
    result = file;
  } else if (Elf* elf = source(); elf && debug_compression(elf) == Compression::kCacheable) {
    ::unlink(file.c_str());  // foreign or damaged: replaced
    std::uint64_t bytes = 0;
    if (inflate_debug_sections(elf, bytes) && bytes <= kMaxCachedDebugBytes &&
        write_elf_copy(elf, file))
      result = file;
  }
  if (answer.valid()) return result;  // a re-check: the first answer stays as it was
  mine.set_value(result);
  return result;
}

}  // namespace prof::symbolizer::detail

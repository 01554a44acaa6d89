#include "prof/symbolizer/binary.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "cache_dir.h"
#include "debug_cache.h"
#include "prof/common/address.h"
#include "prof/common/unique_fd.h"
#include "prof/symbolizer/demangle.h"
#include "range_lookup.h"
#include "symbol_cache.h"
#include "symbol_choice.h"
#include "text_util.h"

namespace prof::symbolizer {
namespace {

void init_libelf() {
  static std::once_flag once;
  std::call_once(once, [] { elf_version(EV_CURRENT); });
}

// An open ELF: the fd must outlive the Elf handle (libelf reads lazily from it).
struct ElfFile {
  UniqueFd fd;
  Elf* elf = nullptr;
  std::string image;  // backing store for in-memory objects

  ElfFile() = default;
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;
  ~ElfFile() {
    if (elf) elf_end(elf);
  }
};

// `mapped`: only for files of our own cache, which are never rewritten in place (only renamed
// in whole), so mapping them saves reading megabytes of DWARF through read().
Result<std::unique_ptr<ElfFile>> open_elf(const std::string& path, bool mapped = false) {
  init_libelf();
  auto f = std::make_unique<ElfFile>();
  f->fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f->fd) return Error{Errc::kIo, "'" + path + "': " + std::strerror(errno)};
  // ELF_C_READ (not _MMAP) for everything else: a file truncated or rewritten under us must
  // not SIGBUS.
  f->elf = elf_begin(f->fd.get(), mapped ? ELF_C_READ_MMAP : ELF_C_READ, nullptr);
  if (!f->elf || elf_kind(f->elf) != ELF_K_ELF)
    return Error{Errc::kParse, "'" + path + "': not an ELF file (" + elf_errmsg(-1) + ")"};
  GElf_Ehdr eh;
  if (!gelf_getehdr(f->elf, &eh))
    return Error{Errc::kParse, "'" + path + "': bad ELF header (" + elf_errmsg(-1) + ")"};
  return f;
}

std::uint16_t read_elf_machine(Elf* elf) {
  GElf_Ehdr eh;
  return gelf_getehdr(elf, &eh) ? eh.e_machine : EM_NONE;
}

Elf_Scn* find_section(Elf* elf, std::string_view name, GElf_Shdr& shdr_out) {
  std::size_t shstrndx;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return nullptr;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* n = elf_strptr(elf, shstrndx, sh.sh_name);
    if (n && name == n) {
      shdr_out = sh;
      return scn;
    }
  }
  return nullptr;
}

Elf_Scn* find_section_type(Elf* elf, std::uint32_t type, GElf_Shdr& shdr_out) {
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) && sh.sh_type == type) {
      shdr_out = sh;
      return scn;
    }
  }
  return nullptr;
}

using detail::elf_build_id;

std::string read_debuglink(Elf* elf) {
  GElf_Shdr sh;
  Elf_Scn* scn = find_section(elf, ".gnu_debuglink", sh);
  if (!scn) return "";
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || !data->d_buf || data->d_size == 0) return "";
  const char* p = static_cast<const char*>(data->d_buf);
  return std::string(p, strnlen(p, data->d_size));
}

bool has_section(Elf* elf, std::string_view name) {
  GElf_Shdr sh;
  Elf_Scn* scn = find_section(elf, name, sh);
  return scn && sh.sh_type != SHT_NOBITS && sh.sh_size > 0;
}

// libdw 0.188 reads DW_FORM_strp / DW_FORM_line_strp strings with strlen() and trusts the
// string sections to end in a NUL: an object whose .debug_str or .debug_line_str does not makes
// it read past the section (fuzz_elf found this with a flipped last byte). Such DWARF is not
// used; the symbol table still names the frames.
bool dwarf_strings_terminated(Elf* elf) {
  for (std::string_view name :
       {".debug_str", ".debug_line_str", ".zdebug_str", ".zdebug_line_str"}) {
    GElf_Shdr sh;
    Elf_Scn* scn = find_section(elf, name, sh);
    if (!scn || sh.sh_type == SHT_NOBITS || sh.sh_size == 0) continue;
    // Decompressed in place, as libdw itself would on first use.
    if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0) return false;
    if (name.starts_with(".z") && elf_compress_gnu(scn, 0, 0) < 0) return false;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf || data->d_size == 0) return false;
    if (static_cast<const char*>(data->d_buf)[data->d_size - 1] != '\0') return false;
  }
  return true;
}

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string basename_of(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// Strips the --symfs root from a path we opened, so debug directories are derived from the
// path the object had on the recording machine.
std::string logical_path(const std::string& path, const std::string& symfs) {
  if (!symfs.empty() && path.compare(0, symfs.size(), symfs) == 0) return path.substr(symfs.size());
  return path;
}

// A PT_LOAD: where file offsets become ELF addresses. The public API speaks plain integers
// (ElfAddr, FileOffset); the conversion itself is done in the strong types, so that an offset
// cannot be used as an address by accident.
struct Segment {
  prof::FileOffset offset;
  std::uint64_t filesz;
  prof::ElfAddress vaddr;

  bool holds(prof::FileOffset o) const { return o >= offset && o < offset + filesz; }
  prof::ElfAddress to_elf(prof::FileOffset o) const { return vaddr + (o - offset); }
  // Whether a mapping at file offset `pgoff` (page-aligned, as mmap maps it) maps this segment.
  bool mapped_from(prof::FileOffset pgoff) const {
    return pgoff >= prof::FileOffset(offset.value() & ~std::uint64_t{4095}) &&
           pgoff < offset + filesz;
  }
  // The load bias (runtime - ELF address) of a mapping of this segment at `start` from `pgoff`.
  std::uint64_t bias(prof::RuntimeAddress start, prof::FileOffset pgoff) const {
    // The runtime address of `vaddr`, in wrapping arithmetic (pgoff may lie past offset).
    const prof::RuntimeAddress at_vaddr = prof::to_runtime(offset, start, pgoff);
    return at_vaddr.value() - vaddr.value();
  }
};

struct CuRange {
  ElfAddr lo, hi;
  std::size_t cu;
};

struct SubRange {
  ElfAddr lo, hi;
  Dwarf_Die die;
};

struct CuInfo {
  Dwarf_Off offset = 0;  // of the unit's DIE in .debug_info
  bool die_ready = false;
  Dwarf_Die die{};  // made from `offset` on first use when the index came from the cache
  bool subs_loaded = false;
  std::vector<SubRange> subs;
};

// The CU address index of one DWARF file, kept in the cache (dwarf-index/<build-id>-<file
// id>.cus, see cu_index_path): walking every unit's ranges is most of opening a big debug file
// (libc's has thousands of units) and gives the same index every time. Layout: magic, unit count,
// range count, unit DIE offsets, (lo, hi, unit) triples, then an FNV-1a checksum of everything
// before it.
constexpr char kCuIndexMagic[8] = {'P', 'R', 'O', 'F', 'C', 'U', '0', '1'};

std::uint64_t fnv1a(const std::uint8_t* p, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

// Keyed by build-id and by the identity of the file the DWARF is read from (device, inode, size,
// modification time): a damaged or edited copy of a binary keeps its build-id but not its index.
std::string cu_index_path(const std::string& build_id, int fd) {
  struct stat st;
  if (build_id.size() < 8 || fd < 0 || ::fstat(fd, &st) != 0) return "";
  std::string dir = detail::cache_dir("dwarf-index");
  if (dir.empty()) return "";
  const std::uint64_t id[] = {
      static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
      static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_mtim.tv_sec),
      static_cast<std::uint64_t>(st.st_mtim.tv_nsec)};
  const std::uint64_t h = fnv1a(reinterpret_cast<const std::uint8_t*>(id), sizeof id);
  char suffix[20];
  std::snprintf(suffix, sizeof suffix, "-%016llx", static_cast<unsigned long long>(h));
  return dir + "/" + build_id + suffix + ".cus";
}

bool load_cu_index(const std::string& path, std::vector<CuInfo>& cus,
                   std::vector<CuRange>& ranges) {
  auto file = detail::read_whole_file_raw(path);
  if (!file || file->size < 32 || std::memcmp(file->data.get(), kCuIndexMagic, 8) != 0)
    return false;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(file->data.get());
  const std::size_t size = file->size;
  auto u64 = [&](std::size_t at) {
    std::uint64_t v;
    std::memcpy(&v, bytes + at, 8);
    return v;
  };
  const std::uint64_t units = u64(8), nranges = u64(16);
  if (units > size / 8 || nranges > size / 24 || size != 24 + units * 8 + nranges * 24 + 8 ||
      fnv1a(bytes, size - 8) != u64(size - 8))
    return false;
  cus.resize(static_cast<std::size_t>(units));
  for (std::size_t i = 0; i < units; ++i) cus[i].offset = u64(24 + i * 8);
  ranges.resize(static_cast<std::size_t>(nranges));
  const std::size_t base = 24 + static_cast<std::size_t>(units) * 8;
  for (std::size_t i = 0; i < nranges; ++i) {
    ranges[i] = CuRange{u64(base + i * 24), u64(base + i * 24 + 8), u64(base + i * 24 + 16)};
    if (ranges[i].cu >= units) return false;
  }
  return true;
}

void save_cu_index(const std::string& path, const std::vector<CuInfo>& cus,
                   const std::vector<CuRange>& ranges) {
  std::vector<std::uint8_t> bytes(kCuIndexMagic, kCuIndexMagic + 8);
  auto put = [&](std::uint64_t v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + 8);
  };
  put(cus.size());
  put(ranges.size());
  for (const CuInfo& c : cus) put(c.offset);
  for (const CuRange& r : ranges) {
    put(r.lo);
    put(r.hi);
    put(r.cu);
  }
  put(fnv1a(bytes.data(), bytes.size()));
  detail::write_cache_file(
      path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

bool die_has_pc_attrs(Dwarf_Die* die) {
  return dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges);
}

template <typename F>
void for_each_range(Dwarf_Die* die, F&& f) {
  Dwarf_Addr base, lo, hi;
  for (ptrdiff_t off = 0; (off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0;)
    if (hi > lo) f(lo, hi);
}

}  // namespace

struct Binary::Impl {
  std::string path;
  BinaryOptions options;
  std::unique_ptr<ElfFile> main;
  std::unique_ptr<ElfFile> debug;  // separate debug file, when found
  std::string debug_path;
  std::string build_id;
  std::uint16_t machine = EM_NONE;  // e_machine
  std::vector<Segment> segments;
  std::vector<ElfSymbol> symbols;             // the table as built here, sorted by start
  std::deque<std::string> synthesized_names;  // storage for names no string table holds (@plt)
  std::optional<detail::CachedSymbols> cached_symbols;  // or the table as found in the cache

  bool dwarf_tried = false;
  std::unique_ptr<ElfFile> dwarf_copy;  // the cache's uncompressed copy, when DWARF is read from it
  Dwarf* dwarf = nullptr;
  std::vector<CuInfo> cus;
  std::vector<CuRange> cu_ranges;
  std::uint64_t dwarf_misses = 0;

  ~Impl() {
    if (dwarf) dwarf_end(dwarf);
  }

  void load_segments() {
    std::size_t n = 0;
    if (elf_getphdrnum(main->elf, &n) != 0) return;
    for (std::size_t i = 0; i < n; ++i) {
      GElf_Phdr ph;
      if (!gelf_getphdr(main->elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD) continue;
      segments.push_back(
          Segment{prof::FileOffset(ph.p_offset), ph.p_filesz, prof::ElfAddress(ph.p_vaddr)});
    }
  }

  // The separate debug file, by build-id first, then by .gnu_debuglink; it must carry the
  // same build-id as the object when both have one (a stale debug file gives wrong answers).
  void find_debug_file(const std::string& debuglink) {
    const std::string& symfs = options.symfs;
    std::vector<std::string> candidates;
    if (build_id.size() > 2)
      candidates.push_back(symfs + "/usr/lib/debug/.build-id/" + build_id.substr(0, 2) + "/" +
                           build_id.substr(2) + ".debug");
    if (!debuglink.empty()) {
      std::string dir = dir_of(path);
      std::string logical_dir = dir_of(logical_path(path, symfs));
      candidates.push_back(dir + "/" + debuglink);
      candidates.push_back(dir + "/.debug/" + debuglink);
      candidates.push_back(symfs + "/usr/lib/debug" + logical_dir + "/" + debuglink);
    }
    for (const auto& c : candidates) {
      if (c == path || !file_exists(c)) continue;
      auto f = open_elf(c);
      if (!f) continue;
      std::string id = elf_build_id((*f)->elf);
      if (!build_id.empty() && !id.empty() && id != build_id) continue;
      debug = std::move(*f);
      debug_path = c;
      return;
    }
  }

  void load_symbols_from(Elf* elf, std::uint32_t type) {
    GElf_Shdr symsh;
    Elf_Scn* symscn = find_section_type(elf, type, symsh);
    if (!symscn) return;
    Elf_Data* data = elf_getdata(symscn, nullptr);
    if (!data || symsh.sh_entsize == 0) return;
    std::size_t count = symsh.sh_size / symsh.sh_entsize;
    struct Candidate {
      ElfSymbol sym;
      std::uint64_t size;
      detail::Binding binding;
    };
    std::vector<Candidate> cands;
    cands.reserve(count);
    std::vector<int> exec_cache;  // per section index: -1 unknown, 0 no, 1 yes
    for (std::size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym)) break;
      int t = GELF_ST_TYPE(sym.st_info);
      // Functions, and untyped labels in code (assembly entry points such as ld.so's _start):
      // perf's elf_sym__filter / elf_sym__is_label.
      if ((t != STT_FUNC && t != STT_GNU_IFUNC && t != STT_NOTYPE) || sym.st_name == 0 ||
          sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE)
        continue;
      // perf keeps functions of executable sections only (elf_sec__filter).
      if (sym.st_shndx >= exec_cache.size()) exec_cache.resize(sym.st_shndx + 1, -1);
      int& ex = exec_cache[sym.st_shndx];
      if (ex < 0) {
        GElf_Shdr sh;
        Elf_Scn* scn = elf_getscn(elf, sym.st_shndx);
        ex = (scn && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_EXECINSTR)) ? 1 : 0;
      }
      if (!ex) continue;
      const char* name = elf_strptr(elf, symsh.sh_link, sym.st_name);
      if (!name || !*name) continue;
      int b = GELF_ST_BIND(sym.st_info);
      cands.push_back(Candidate{ElfSymbol{sym.st_value, sym.st_value + sym.st_size, name},
                                sym.st_size,
                                b == STB_WEAK     ? detail::Binding::kWeak
                                : b == STB_GLOBAL ? detail::Binding::kGlobal
                                                  : detail::Binding::kLocal});
    }
    std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
      return a.sym.start < b.sym.start;
    });
    symbols.reserve(cands.size());
    for (std::size_t i = 0; i < cands.size();) {
      std::size_t best = i, j = i + 1;
      for (; j < cands.size() && cands[j].sym.start == cands[i].sym.start; ++j) {
        const auto& b = cands[best];
        const auto& c = cands[j];
        if (!detail::prefer_symbol({b.sym.name, b.size, b.binding},
                                   {c.sym.name, c.size, c.binding}))
          best = j;
      }
      symbols.push_back(std::move(cands[best].sym));
      i = j;
    }
    // Zero-sized symbols (hand-written assembly) extend to the next one (perf's fixup_end).
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      auto& s = symbols[i];
      if (s.end == s.start)
        s.end = i + 1 < symbols.size() ? symbols[i + 1].start
                                       : ((s.start + 4095) & ~ElfAddr{4095}) + 4096;
    }
  }

  // PLT slots have no symbols; they are named `func@plt` after the GOT entry they jump
  // through, as objdump does: each x86-64 slot holds `jmp *disp32(%rip)` (after an optional
  // endbr64 / bnd prefix), and .rela.plt says which symbol that GOT entry is for. Slot order
  // need not follow .rela.plt (libc's does not), so going by the jump is the reliable way.
  // perf 6.1 goes by position and knows only .plt (docs/symbolizer.md).
  void synthesize_plt_symbols(std::vector<ElfSymbol>& out) {
    Elf* elf = main->elf;
    GElf_Shdr rela_sh;
    Elf_Scn* rela = find_section(elf, ".rela.plt", rela_sh);
    if (!rela || rela_sh.sh_type != SHT_RELA || rela_sh.sh_entsize == 0) return;
    Elf_Data* data = elf_getdata(rela, nullptr);
    Elf_Scn* dynsym = elf_getscn(elf, rela_sh.sh_link);
    GElf_Shdr dynsym_sh;
    if (!data || !dynsym || !gelf_getshdr(dynsym, &dynsym_sh)) return;
    Elf_Data* symdata = elf_getdata(dynsym, nullptr);
    if (!symdata) return;
    std::unordered_map<std::uint64_t, std::string> by_got;  // GOT address -> name
    std::size_t n = rela_sh.sh_size / rela_sh.sh_entsize;
    for (std::size_t i = 0; i < n; ++i) {
      GElf_Rela r;
      GElf_Sym sym;
      if (!gelf_getrela(data, static_cast<int>(i), &r)) break;
      std::size_t idx = GELF_R_SYM(r.r_info);
      if (idx == 0) {  // IRELATIVE: an IFUNC resolved at load time
        char buf[48];
        std::snprintf(buf, sizeof buf, "*ABS*+0x%llx", static_cast<unsigned long long>(r.r_addend));
        by_got[r.r_offset] = buf;
        continue;
      }
      if (!gelf_getsym(symdata, static_cast<int>(idx), &sym)) continue;
      const char* name = elf_strptr(elf, dynsym_sh.sh_link, sym.st_name);
      if (name && *name) by_got[r.r_offset] = name;
    }
    constexpr std::uint64_t kEntry = 16;
    for (auto [section, header] :
         {std::pair<const char*, std::uint64_t>{".plt", 16}, {".plt.sec", 0}}) {
      GElf_Shdr plt_sh;
      Elf_Scn* plt = find_section(elf, section, plt_sh);
      if (!plt || plt_sh.sh_type == SHT_NOBITS) continue;
      Elf_Data* code = elf_getdata(plt, nullptr);
      if (!code || !code->d_buf || code->d_size < plt_sh.sh_size) continue;
      const auto* bytes = static_cast<const std::uint8_t*>(code->d_buf);
      for (std::uint64_t off = header; off + kEntry <= plt_sh.sh_size; off += kEntry) {
        const std::uint8_t* slot = bytes + off;
        std::size_t at = 0;
        if (slot[0] == 0xf3 && slot[1] == 0x0f && slot[2] == 0x1e && slot[3] == 0xfa) at = 4;
        if (slot[at] == 0xf2) ++at;  // bnd
        if (at + 6 > kEntry || slot[at] != 0xff || slot[at + 1] != 0x25) continue;
        std::int32_t disp;
        std::memcpy(&disp, slot + at + 2, 4);
        std::uint64_t got = plt_sh.sh_addr + off + at + 6 + static_cast<std::int64_t>(disp);
        auto it = by_got.find(got);
        if (it == by_got.end()) continue;
        ElfAddr start = plt_sh.sh_addr + off;
        out.push_back(
            ElfSymbol{start, start + kEntry, synthesized_names.emplace_back(it->second + "@plt")});
      }
    }
  }

  void load_symbols() {
    // .symtab from the object, else from its debug file, else the dynamic symbols: perf's
    // preference too (dso__load picks the first source with a full symbol table).
    if (find_symtab(main->elf)) {
      load_symbols_from(main->elf, SHT_SYMTAB);
    } else if (debug && find_symtab(debug->elf)) {
      load_symbols_from(debug->elf, SHT_SYMTAB);
    }
    if (symbols.empty()) load_symbols_from(main->elf, SHT_DYNSYM);
    std::vector<ElfSymbol> plt;
    synthesize_plt_symbols(plt);
    if (!plt.empty()) {
      // PLT slots lie in their own section, so they only shorten zero-sized neighbours that
      // were stretched over them (e.g. _init before .plt).
      for (auto& p : plt) symbols.push_back(std::move(p));
      std::stable_sort(symbols.begin(), symbols.end(),
                       [](const ElfSymbol& a, const ElfSymbol& b) { return a.start < b.start; });
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
        if (symbols[i].end > symbols[i + 1].start && symbols[i + 1].name.ends_with("@plt"))
          symbols[i].end = symbols[i + 1].start;
    }
  }

  // The table from the cache when it holds this object's (and debug file's) table, else built
  // and written there (symbol_cache.h): a hit reads no symbol or string table of the ELF.
  void load_symbols_cached() {
    const std::string entry =
        detail::symbol_cache_path(build_id, main->fd.get(), debug ? debug->fd.get() : -1);
    if ((cached_symbols = detail::load_symbol_cache(entry))) return;
    load_symbols();
    detail::save_symbol_cache(entry, symbols);
  }

  std::size_t symbol_count() const {
    return cached_symbols ? cached_symbols->symbols.size() : symbols.size();
  }
  ElfSymbol symbol_at(std::size_t i) const {
    return cached_symbols ? cached_symbols->at(i) : symbols[i];
  }
  // The index of the symbol covering `address`.
  std::optional<std::size_t> find_symbol(ElfAddr address) const {
    return cached_symbols
               ? detail::find_covering_index(cached_symbols->symbols, address)
               : detail::find_covering_index(std::span<const ElfSymbol>(symbols), address);
  }

  static bool find_symtab(Elf* elf) {
    GElf_Shdr sh;
    return find_section_type(elf, SHT_SYMTAB, sh) != nullptr;
  }

  // Where to read DWARF from: `src` itself, or its uncompressed copy in the cache (written on
  // the first open of compressed DWARF with a build-id; see debug_cache.h).
  Elf* uncompressed_source(Elf* src) {
    if (build_id.empty()) return src;
    std::string copy = detail::uncompressed_debug_copy(build_id, [src] { return src; });
    if (copy.empty()) return src;
    auto f = open_elf(copy, /*mapped=*/true);
    if (!f) return src;
    dwarf_copy = std::move(*f);
    return dwarf_copy->elf;
  }

  void load_dwarf() {
    dwarf_tried = true;
    Elf* src = nullptr;
    int src_fd = -1;
    if (main->fd && has_section(main->elf, ".debug_info")) {
      src = main->elf;
      src_fd = main->fd.get();
    } else if (debug && has_section(debug->elf, ".debug_info")) {
      src = debug->elf;
      src_fd = debug->fd.get();
    }
    if (!src) return;
    src = uncompressed_source(src);
    if (dwarf_copy && src == dwarf_copy->elf) src_fd = dwarf_copy->fd.get();
    if (!dwarf_strings_terminated(src)) return;
    dwarf = dwarf_begin_elf(src, DWARF_C_READ, nullptr);
    if (!dwarf) return;
    // Our own CU range index: libdw 0.188's dwarf_addrdie needs .debug_aranges, which clang
    // does not emit (reference/kernel-and-libdw.md section 4). Kept in the cache by build-id.
    const std::string cached = cu_index_path(build_id, src_fd);
    if (!cached.empty() && load_cu_index(cached, cus, cu_ranges)) return;
    cus.clear();
    cu_ranges.clear();
    Dwarf_CU* cu = nullptr;
    Dwarf_Die cudie, subdie;
    std::uint8_t unit_type;
    Dwarf_Half version;
    bool split = false;  // split DWARF: the unit DIE lives in a .dwo, not at an offset here
    while (dwarf_get_units(dwarf, cu, &cu, &version, &unit_type, &cudie, &subdie) == 0) {
      Dwarf_Die die;
      if (unit_type == DW_UT_compile || unit_type == DW_UT_partial) {
        die = cudie;
      } else if (unit_type == DW_UT_skeleton && dwarf_tag(&subdie) == DW_TAG_compile_unit) {
        die = subdie;
        split = true;
      } else {
        continue;
      }
      std::size_t index = cus.size();
      cus.push_back(CuInfo{dwarf_dieoffset(&die), true, die, false, {}});
      for_each_range(&cudie, [&](ElfAddr lo, ElfAddr hi) {
        cu_ranges.push_back(CuRange{lo, hi, index});
      });
    }
    std::sort(cu_ranges.begin(), cu_ranges.end(),
              [](const CuRange& a, const CuRange& b) { return a.lo < b.lo; });
    if (!cached.empty() && !split) save_cu_index(cached, cus, cu_ranges);
  }

  CuInfo* find_cu(ElfAddr addr) {
    if (!dwarf_tried) load_dwarf();
    auto it = std::upper_bound(cu_ranges.begin(), cu_ranges.end(), addr,
                               [](ElfAddr a, const CuRange& r) { return a < r.lo; });
    // Ranges of different CUs do not overlap in practice, but a CU's own ranges may be
    // interleaved with others', so look back a little.
    for (int n = 0; it != cu_ranges.begin() && n < 8; ++n) {
      --it;
      if (addr >= it->lo && addr < it->hi) {
        CuInfo& c = cus[it->cu];
        if (!c.die_ready) {
          c.die_ready = true;
          // From the cache: it must still name a unit DIE.
          if (!dwarf_offdie(dwarf, c.offset, &c.die) ||
              (dwarf_tag(&c.die) != DW_TAG_compile_unit &&
               dwarf_tag(&c.die) != DW_TAG_partial_unit)) {
            c.die = Dwarf_Die{};
            return nullptr;
          }
        }
        return c.die.addr ? &c : nullptr;
      }
    }
    return nullptr;
  }

  static void collect_subprograms(Dwarf_Die* parent, std::vector<SubRange>& out, int depth) {
    if (depth > 64) return;
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0) return;
    do {
      int tag = dwarf_tag(&child);
      switch (tag) {
        case DW_TAG_subprogram:
          for_each_range(&child, [&](ElfAddr lo, ElfAddr hi) {
            out.push_back(SubRange{lo, hi, child});
          });
          collect_subprograms(&child, out, depth + 1);  // nested functions
          break;
        case DW_TAG_namespace:
        case DW_TAG_class_type:
        case DW_TAG_structure_type:
        case DW_TAG_union_type:
        case DW_TAG_module: collect_subprograms(&child, out, depth + 1); break;
        default: break;
      }
    } while (dwarf_siblingof(&child, &child) == 0);
  }

  const SubRange* find_subprogram(CuInfo& cu, ElfAddr addr) {
    if (!cu.subs_loaded) {
      cu.subs_loaded = true;
      collect_subprograms(&cu.die, cu.subs, 0);
      std::sort(cu.subs.begin(), cu.subs.end(),
                [](const SubRange& a, const SubRange& b) { return a.lo < b.lo; });
    }
    auto it = std::upper_bound(cu.subs.begin(), cu.subs.end(), addr,
                               [](ElfAddr a, const SubRange& r) { return a < r.lo; });
    // The innermost (latest-starting) range that contains addr: nested functions lie inside
    // their parent's range.
    for (int n = 0; it != cu.subs.begin() && n < 16; ++n) {
      --it;
      if (addr >= it->lo && addr < it->hi) return &*it;
    }
    return nullptr;
  }

  // Descends from a subprogram to the innermost inlined call containing addr. Blocks without
  // pc attributes may still hold inlined calls (GCC emits such), so they are searched too.
  static bool inline_chain(Dwarf_Die* parent, ElfAddr addr, std::vector<Dwarf_Die>& chain,
                           int depth) {
    if (depth > 128) return false;
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0) return false;
    do {
      int tag = dwarf_tag(&child);
      if (tag == DW_TAG_inlined_subroutine) {
        if (dwarf_haspc(&child, addr) > 0) {
          chain.push_back(child);
          inline_chain(&child, addr, chain, depth + 1);
          return true;
        }
      } else if (tag == DW_TAG_lexical_block || tag == DW_TAG_try_block ||
                 tag == DW_TAG_catch_block) {
        if (dwarf_haspc(&child, addr) > 0) {
          inline_chain(&child, addr, chain, depth + 1);
          return true;
        }
        if (!die_has_pc_attrs(&child) && inline_chain(&child, addr, chain, depth + 1)) return true;
      }
    } while (dwarf_siblingof(&child, &child) == 0);
    return false;
  }

  // Demangled once per symbol: profiles hit many addresses of the same function. A map, not a
  // slot per symbol: a capture names a few hundred of a large binary's 100,000 symbols, and a
  // zeroed slot array was fresh memory faulted in page by page.
  std::unordered_map<std::size_t, std::string> display_names;
  const std::string& display_name(std::size_t index) {
    auto [it, added] = display_names.try_emplace(index);
    if (added) {
      const std::string_view name = symbol_at(index).name;
      it->second = options.demangle ? demangle(name, options.demangle_params) : std::string(name);
    }
    return it->second;
  }

  // perf compares addr2line's function name with the ELF symbol's. For C++ a DIE without a
  // linkage name carries only the unqualified name ("operator()"), which binutils qualifies
  // and we do not: comparing it would mark every such function inlined, so we do not.
  static bool names_comparable(Dwarf_Die* cu, Dwarf_Die* die) {
    int lang = dwarf_srclang(cu);
    bool cxx = lang == DW_LANG_C_plus_plus || lang == DW_LANG_C_plus_plus_03 ||
               lang == DW_LANG_C_plus_plus_11 || lang == DW_LANG_C_plus_plus_14;
    if (!cxx) return true;
    Dwarf_Attribute attr;
    return dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) != nullptr ||
           dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr) != nullptr;
  }

  // Names of inlined functions repeat across addresses; demangle each DIE's once.
  std::unordered_map<Dwarf_Off, std::string> die_names;
  const std::string& die_name(Dwarf_Die* die) {
    auto [it, inserted] = die_names.try_emplace(dwarf_dieoffset(die));
    if (inserted) it->second = compute_die_name(die);
    return it->second;
  }

  std::string compute_die_name(Dwarf_Die* die) const {
    Dwarf_Attribute attr;
    for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
      if (dwarf_attr_integrate(die, at, &attr)) {
        if (const char* s = dwarf_formstring(&attr))
          return options.demangle ? demangle(s, options.demangle_params) : std::string(s);
      }
    }
    if (dwarf_attr_integrate(die, DW_AT_name, &attr))
      if (const char* s = dwarf_formstring(&attr)) return s;
    return "";
  }

  std::string format_srcline(const char* file, int line, const LookupOptions& o) const {
    if (!file || line <= 0) return "";
    std::string f = o.srcline_full_path ? std::string(file) : basename_of(file);
    return f + ":" + std::to_string(line);
  }

  std::string call_site(CuInfo& cu, Dwarf_Die* inlined, const LookupOptions& o) {
    Dwarf_Attribute attr;
    Dwarf_Word file_idx = 0, line = 0;
    if (!dwarf_attr(inlined, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &file_idx) != 0)
      return "";
    if (!dwarf_attr(inlined, DW_AT_call_line, &attr) || dwarf_formudata(&attr, &line) != 0)
      return "";
    Dwarf_Files* files;
    std::size_t nfiles;
    if (dwarf_getsrcfiles(&cu.die, &files, &nfiles) != 0 || file_idx >= nfiles) return "";
    return format_srcline(dwarf_filesrc(files, file_idx, nullptr, nullptr), static_cast<int>(line),
                          o);
  }

  std::string line_of(CuInfo& cu, ElfAddr addr, const LookupOptions& o) {
    Dwarf_Line* l = dwarf_getsrc_die(&cu.die, addr);
    if (!l) {
      ++dwarf_misses;
      return "";
    }
    int lineno = 0;
    dwarf_lineno(l, &lineno);
    return format_srcline(dwarf_linesrc(l, nullptr, nullptr), lineno, o);
  }
};

Binary::Binary(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Binary::~Binary() = default;

Result<std::unique_ptr<Binary>> Binary::open(const std::string& path,
                                             const BinaryOptions& options) {
  auto f = open_elf(path);
  if (!f) return f.error();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->main = std::move(*f);
  impl->build_id = elf_build_id(impl->main->elf);
  impl->machine = read_elf_machine(impl->main->elf);
  impl->load_segments();
  if (!options.segments_only) {
    impl->find_debug_file(read_debuglink(impl->main->elf));
    impl->load_symbols_cached();
  }
  return std::unique_ptr<Binary>(new Binary(std::move(impl)));
}

Result<std::unique_ptr<Binary>> Binary::from_image(std::string image, std::string name,
                                                   const BinaryOptions& options) {
  init_libelf();
  auto impl = std::make_unique<Impl>();
  impl->path = std::move(name);
  impl->options = options;
  impl->main = std::make_unique<ElfFile>();
  impl->main->image = std::move(image);
  impl->main->elf = elf_memory(impl->main->image.data(), impl->main->image.size());
  GElf_Ehdr eh;
  if (!impl->main->elf || elf_kind(impl->main->elf) != ELF_K_ELF ||
      !gelf_getehdr(impl->main->elf, &eh))
    return Error{Errc::kParse, "'" + impl->path + "': not an ELF image"};
  impl->build_id = elf_build_id(impl->main->elf);
  impl->machine = read_elf_machine(impl->main->elf);
  impl->load_segments();
  impl->load_symbols();
  impl->dwarf_tried = true;  // the vdso ships no DWARF
  return std::unique_ptr<Binary>(new Binary(std::move(impl)));
}

const std::string& Binary::path() const { return impl_->path; }
const std::string& Binary::build_id() const { return impl_->build_id; }
std::uint16_t Binary::elf_machine() const { return impl_->machine; }
const std::string& Binary::debug_file() const { return impl_->debug_path; }
std::size_t Binary::symbol_count() const { return impl_->symbol_count(); }
std::uint64_t Binary::dwarf_misses() const { return impl_->dwarf_misses; }

bool Binary::has_dwarf() {
  if (!impl_->dwarf_tried) impl_->load_dwarf();
  return impl_->dwarf != nullptr;
}

std::optional<ElfAddr> Binary::file_offset_to_elf(FileOffset offset) const {
  const prof::FileOffset o(offset);
  for (const auto& s : impl_->segments)
    if (s.holds(o)) return s.to_elf(o).value();
  return std::nullopt;
}

std::optional<std::uint64_t> Binary::load_bias(std::uint64_t map_start, FileOffset pgoff) const {
  const prof::FileOffset p(pgoff);
  for (const auto& s : impl_->segments)
    if (s.mapped_from(p)) return s.bias(prof::RuntimeAddress(map_start), p);
  return std::nullopt;
}

std::optional<ElfSymbol> Binary::find_symbol(ElfAddr address) const {
  if (auto i = impl_->find_symbol(address)) return impl_->symbol_at(*i);
  return std::nullopt;
}

void Binary::symbolize(ElfAddr address, const LookupOptions& options,
                       std::vector<SymbolizedFrame>& out) {
  SymbolizedFrame base;
  if (auto i = impl_->find_symbol(address)) {
    base.symbol = impl_->display_name(*i);
    base.offset = address - impl_->symbol_at(*i).start;
  }
  if (!options.inline_frames && !options.srcline && !options.perf_dwarf_names) {
    out.push_back(std::move(base));
    return;
  }
  CuInfo* cu = impl_->find_cu(address);
  if (!cu) {
    if (impl_->dwarf) ++impl_->dwarf_misses;
    out.push_back(std::move(base));
    return;
  }
  std::vector<Dwarf_Die> chain;
  if (options.inline_frames || options.perf_dwarf_names) {
    if (const auto* sub = impl_->find_subprogram(*cu, address)) {
      Dwarf_Die d = sub->die;
      Impl::inline_chain(&d, address, chain, 0);
      if (options.perf_dwarf_names && Impl::names_comparable(&cu->die, &d)) {
        std::string dwarf_name = impl_->die_name(&d);
        if (!dwarf_name.empty() && dwarf_name != base.symbol) {
          base.symbol = std::move(dwarf_name);
          base.inlined = true;
        }
      }
    }
  }
  if (chain.empty()) {
    if (options.srcline) base.srcline = impl_->line_of(*cu, address, options);
    out.push_back(std::move(base));
    return;
  }
  // Innermost first, as perf script prints a callchain; each inlined frame's source line is
  // where the next-inner call sits, the innermost one's is the address's own line.
  for (std::size_t i = chain.size(); i-- > 0;) {
    SymbolizedFrame f;
    f.symbol = impl_->die_name(&chain[i]);
    f.offset = base.offset;
    f.inlined = true;
    if (options.srcline)
      f.srcline = i + 1 == chain.size() ? impl_->line_of(*cu, address, options)
                                        : impl_->call_site(*cu, &chain[i + 1], options);
    out.push_back(std::move(f));
  }
  if (options.srcline) base.srcline = impl_->call_site(*cu, &chain[0], options);
  out.push_back(std::move(base));
}

}  // namespace prof::symbolizer

// The kallsyms cache: a cached table is the parsed one, symbol for symbol; it is used only under
// the identity it was written under; broken files are misses; hidden addresses are never cached.
#include "kallsyms_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>

#include "prof/symbolizer/kallsyms.h"
#include "test_support.h"

namespace prof::symbolizer {
namespace {

using detail::KallsymsCache;
using detail::KallsymsIdentity;

// Sets (or with nullptr unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

constexpr const char* kModules =
    "nf_tables 344064 2 nft_ct, Live 0xffffffffc0a00000\n"
    "e1000 155648 0 - Live 0xffffffffc0800000 (O)\n";

// Core kernel, a real module, a BPF program and an ftrace trampoline, with aliases and a
// module line out of order.
constexpr const char* kText =
    "ffffffff81000000 T _text\n"
    "ffffffff81000000 T startup_64\n"
    "ffffffff81000100 T memcpy\n"
    "ffffffff81000100 T __pi_memcpy\n"
    "ffffffff81000200 t do_syscall_64\n"
    "ffffffff82000000 D some_data\n"
    "ffffffffc0a01000 t nft_do_chain\t[nf_tables]\n"
    "ffffffffc0a00400 t nft_init\t[nf_tables]\n"
    "ffffffffc0201000 t ftrace_trampoline\t[__builtin__ftrace]\n"
    "ffffffffc0300000 t bpf_prog_6deef7357e7b4530_sd_fw_egress\t[bpf]\n";

KallsymsIdentity identity(const char* boot_id = "0b1d-boot", const char* modules = kModules,
                          unsigned uid = 0) {
  return KallsymsIdentity::from(boot_id, modules, uid);
}

void expect_same_symbols(const KallsymsTable& a, const KallsymsTable& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.skipped_lines(), b.skipped_lines());
  auto x = a.symbols(), y = b.symbols();
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    bool same = x[i].start == y[i].start && x[i].end == y[i].end && x[i].name == y[i].name &&
                x[i].module == y[i].module;
    if (!same && ++mismatches <= 5)
      ADD_FAILURE() << "symbol " << i << ": " << x[i].name << " [" << x[i].module << "] vs "
                    << y[i].name << " [" << y[i].module << "]";
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(KallsymsCache, RoundTripsEverySymbolMappedAndRelocated) {
  prof::test::TempDir dir;
  auto parsed = KallsymsTable::parse(kText);
  KallsymsCache cache(dir.file("k.bin"), identity());
  ASSERT_TRUE(cache.write(parsed));
  auto mapped = cache.read();
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->from_cache());
  expect_same_symbols(parsed, *mapped);
  // While the first table holds the file's preferred address, a second one is read and moved.
  auto relocated = cache.read();
  ASSERT_TRUE(relocated);
  expect_same_symbols(parsed, *relocated);
  EXPECT_NE(mapped->symbols().data(), relocated->symbols().data());
  // Lookups, names outliving the table they were copied from.
  KallsymsTable copy = *relocated;
  relocated.reset();
  mapped.reset();
  ASSERT_NE(copy.find(0xffffffff81000104), nullptr);
  EXPECT_EQ(copy.find(0xffffffff81000104)->name, "__pi_memcpy");
  EXPECT_EQ(copy.find(0xffffffffc0a01010)->module, "nf_tables");
}

TEST(KallsymsCache, TrustsOnlyTheCoreImageAndRealModules) {
  prof::test::TempDir dir;
  auto parsed = KallsymsTable::parse(kText);
  EXPECT_FALSE(parsed.from_cache());
  EXPECT_TRUE(parsed.trusted_at(0xffffffffc0300000));  // read now: the truth
  KallsymsCache cache(dir.file("k.bin"), identity());
  ASSERT_TRUE(cache.write(parsed));
  auto t = cache.read();
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->trusted_at(0xffffffff81000000));
  EXPECT_TRUE(t->trusted_at(0xffffffff81000204));
  EXPECT_TRUE(t->trusted_at(0xffffffffc0a01010));
  // /proc/modules' range for nf_tables reaches past its last symbol; e1000 has none listed.
  EXPECT_TRUE(t->trusted_at(0xffffffffc0a00000 + 344064 - 1));
  EXPECT_FALSE(t->trusted_at(0xffffffffc0a00000 + 344064));
  EXPECT_TRUE(t->trusted_at(0xffffffffc0800010));
  // BPF programs and trampolines come and go without a module change.
  EXPECT_FALSE(t->trusted_at(0xffffffffc0300000));
  EXPECT_FALSE(t->trusted_at(0xffffffffc0201000));
  EXPECT_FALSE(t->trusted_at(0xffffffffc0400000));  // a newer BPF program, maybe
  // Above the lowest kernel symbol but below the modules: could be a trampoline.
  EXPECT_FALSE(t->trusted_at(0xffffffff90000000));
  // The lower half (user addresses, garbage in a callchain) never holds a kernel symbol here.
  EXPECT_TRUE(t->trusted_at(0x1000));
  EXPECT_TRUE(t->trusted_at(0x7fffffffffff));
  // Nor does the upper half outside x86-64's kernel text window (-2 GB to the module space's
  // end): corrupt callchains carry such words, and a fresh read would miss them too.
  EXPECT_TRUE(t->trusted_at(0xffffffff00000005));
  EXPECT_TRUE(t->trusted_at(0xfffffd40e8f78948));
  EXPECT_TRUE(t->trusted_at(0xffffffff7fffffff));
  EXPECT_TRUE(t->trusted_at(0xffffffffff000000));
  EXPECT_TRUE(t->trusted_at(0xffffffffffffffff));
  EXPECT_FALSE(t->trusted_at(0xfffffffffeffffff));  // the end of the module space
}

TEST(KallsymsCache, InvalidatedByBootModulesOrUid) {
  prof::test::TempDir dir;
  auto parsed = KallsymsTable::parse(kText);
  ASSERT_TRUE(KallsymsCache(dir.file("k.bin"), identity()).write(parsed));
  auto hit = [&](const KallsymsIdentity& id) {
    return KallsymsCache(dir.file("k.bin"), id).read().has_value();
  };
  EXPECT_TRUE(hit(identity()));
  EXPECT_TRUE(hit(identity("0b1d-boot\n")));  // as read from /proc, with its newline
  EXPECT_FALSE(hit(identity("another-boot")));
  EXPECT_FALSE(hit(identity("0b1d-boot", kModules, 1000)));
  // Refcounts, users and state change all the time: not a new symbol set.
  EXPECT_TRUE(hit(identity("0b1d-boot",
                           "nf_tables 344064 7 nft_ct,nft_nat, Loading 0xffffffffc0a00000\n"
                           "e1000 155648 1 - Live 0xffffffffc0800000 (O)\n")));
  // A module loaded, unloaded, resized or moved is.
  EXPECT_FALSE(hit(identity("0b1d-boot", "e1000 155648 0 - Live 0xffffffffc0800000 (O)\n")));
  EXPECT_FALSE(hit(identity("0b1d-boot",
                            "nf_tables 344064 2 nft_ct, Live 0xffffffffc0a00000\n"
                            "e1000 155648 0 - Live 0xffffffffc0800000 (O)\n"
                            "dummy 16384 0 - Live 0xffffffffc0900000\n")));
  EXPECT_FALSE(hit(identity("0b1d-boot",
                            "nf_tables 344064 2 nft_ct, Live 0xffffffffc0b00000\n"
                            "e1000 155648 0 - Live 0xffffffffc0800000 (O)\n")));
  EXPECT_FALSE(hit(identity("0b1d-boot",
                            "nf_tables 348160 2 nft_ct, Live 0xffffffffc0a00000\n"
                            "e1000 155648 0 - Live 0xffffffffc0800000 (O)\n")));
  EXPECT_FALSE(KallsymsCache("", identity()).read());
  EXPECT_FALSE(KallsymsCache(dir.file("k.bin"), std::nullopt).read());
}

TEST(KallsymsCache, HiddenAddressesAndLoadingModulesAreNeverCached) {
  prof::test::TempDir dir;
  KallsymsCache cache(dir.file("k.bin"), identity());
  auto hidden = KallsymsTable::parse("0000000000000000 T _text\n0000000000000000 T foo\n");
  EXPECT_FALSE(cache.write(hidden));
  EXPECT_FALSE(cache.write(KallsymsTable::parse("")));
  // Nor a table read while a module was still loading (its init symbols are about to go).
  KallsymsCache loading(dir.file("k.bin"),
                        identity("0b1d-boot", "nf_tables 344064 0 - Loading 0xffffffffc0a00000\n"));
  EXPECT_FALSE(loading.write(KallsymsTable::parse(kText)));
  struct stat st {};
  EXPECT_NE(stat(dir.file("k.bin").c_str(), &st), 0);
}

// A table used where the file is mapped is not walked when it is read (first touches of its
// pages were most of a small capture's symbolizing time): a damaged entry is found out when it
// is looked up (a miss) or when the whole list is asked for (empty), never handed out.
TEST(KallsymsCache, ADamagedEntryOfAMappedTableIsNeverHandedOut) {
  prof::test::TempDir dir;
  const std::string file = dir.file("k.bin");
  KallsymsCache cache(file, identity());
  ASSERT_TRUE(cache.write(KallsymsTable::parse(kText)));
  std::string bytes = prof::test::read_file(file);
  // __pi_memcpy's entry: its start, its end (do_syscall_64's start), then its name's view; the
  // view's size is made to reach far past the file.
  const std::uint64_t range[2] = {0xffffffff81000100, 0xffffffff81000200};
  const std::size_t at =
      bytes.find(std::string(reinterpret_cast<const char*>(range), sizeof range));
  ASSERT_NE(at, std::string::npos);
  std::string_view name;
  std::memcpy(&name, bytes.data() + at + offsetof(KernelSymbol, name), sizeof name);
  std::string_view damaged(name.data(), std::size_t{1} << 40);
  std::memcpy(bytes.data() + at + offsetof(KernelSymbol, name), &damaged, sizeof damaged);
  prof::test::write_file(file, bytes);

#if defined(__SANITIZE_THREAD__)
  // TSan builds always read and relocate the file (kallsyms_cache.cpp), checking every entry.
  EXPECT_FALSE(cache.read());
  return;
#endif
  auto t = cache.read();  // mapped at its preferred address, as in the round trip above
  ASSERT_TRUE(t);
  EXPECT_EQ(t->find(0xffffffff81000104), nullptr);
  ASSERT_NE(t->find(0xffffffff81000204), nullptr);  // its neighbours are fine
  EXPECT_EQ(t->find(0xffffffff81000204)->name, "do_syscall_64");
  EXPECT_TRUE(t->symbols().empty());
  // The relocated copy (the address is now taken) checks everything as it reads: a miss.
  EXPECT_FALSE(cache.read());
}

// Every prefix, every single-byte change in the header and sampled ones everywhere else,
// random bytes, an empty file: a miss, or a table that still finds each of its own symbols.
TEST(KallsymsCache, BrokenFilesAreMissesNeverCrashes) {
  prof::test::TempDir dir;
  const std::string file = dir.file("k.bin");
  KallsymsCache cache(file, identity());
  ASSERT_TRUE(cache.write(KallsymsTable::parse(kText)));
  const std::string good = prof::test::read_file(file);
  auto check = [&](const std::string& bytes) {
    prof::test::write_file(file, bytes);
    auto t = cache.read();
    if (!t) return false;
    for (const KernelSymbol& s : t->symbols()) {
      const KernelSymbol* f = t->find(s.start);
      if (f != &s || s.name.size() > good.size()) return false;
      volatile char sink = 0;  // every view must be readable (ASan catches the rest)
      for (char c : s.name) sink = static_cast<char>(sink ^ c);
      for (char c : s.module) sink = static_cast<char>(sink ^ c);
    }
    return true;
  };
  EXPECT_TRUE(check(good));
  for (std::size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(check(good.substr(0, n))) << n;
  std::mt19937 rng(6);
  for (std::size_t i = 0; i < good.size(); ++i) {
    if (i >= 256 && rng() % 8 != 0) continue;
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (rng() % 8)));
    (void)check(bad);  // a flipped name byte is still a valid file; the rest must be misses
  }
  std::string noise(good.size(), '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  EXPECT_FALSE(check(noise));
  EXPECT_FALSE(check(""));
  EXPECT_FALSE(check(good + "trailing"));
}

TEST(KallsymsCache, AnotherUsersFileIsIgnored) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the file away";
  prof::test::TempDir dir;
  KallsymsCache cache(dir.file("k.bin"), identity());
  ASSERT_TRUE(cache.write(KallsymsTable::parse(kText)));
  ASSERT_TRUE(cache.read());
  ASSERT_EQ(chown(dir.file("k.bin").c_str(), 65534, 65534), 0);
  EXPECT_FALSE(cache.read());
}

TEST(KallsymsCache, LocationAndSwitch) {
  prof::test::TempDir dir;
  std::string uid = std::to_string(geteuid());
  {
    ScopedEnv cache_dir("PROF_CACHE_DIR", (dir.path() + "/a/b").c_str());
    EXPECT_EQ(KallsymsCache::default_file(), dir.path() + "/a/b/kallsyms-" + uid + ".bin");
    struct stat st {};
    EXPECT_EQ(stat((dir.path() + "/a/b").c_str(), &st), 0);
  }
  {
    ScopedEnv cache_dir("PROF_CACHE_DIR", nullptr);
    ScopedEnv xdg("XDG_CACHE_HOME", (dir.path() + "/xdg").c_str());
    EXPECT_EQ(KallsymsCache::default_file(), dir.path() + "/xdg/profile/kallsyms-" + uid + ".bin");
  }
  {
    ScopedEnv cache_dir("PROF_CACHE_DIR", nullptr);
    ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
    ScopedEnv home("HOME", (dir.path() + "/home").c_str());
    EXPECT_EQ(KallsymsCache::default_file(),
              dir.path() + "/home/.cache/profile/kallsyms-" + uid + ".bin");
  }
  {
    // A location that cannot be created: no cache, silently.
    prof::test::write_file(dir.file("plain"), "x");
    ScopedEnv cache_dir("PROF_CACHE_DIR", dir.file("plain/sub").c_str());
    EXPECT_EQ(KallsymsCache::default_file(), "");
    EXPECT_EQ(KallsymsCache::for_this_process().file(), "");
  }
  {
    ScopedEnv cache_dir("PROF_CACHE_DIR", dir.path().c_str());
    ScopedEnv off("PROF_NO_KALLSYMS_CACHE", "1");
    EXPECT_EQ(KallsymsCache::for_this_process().file(), "");
  }
}

// The live table through load(): a cold run writes the cache, a warm one maps it, and the two
// agree on every symbol with a parse of the file made now; a garbled cache is replaced.
TEST(KallsymsCache, LiveLoadUsesAndRefreshesTheCache) {
  prof::test::TempDir dir;
  ScopedEnv cache_dir("PROF_CACHE_DIR", dir.path().c_str());
  ScopedEnv on("PROF_NO_KALLSYMS_CACHE", nullptr);
  auto cold = KallsymsTable::load("/proc/kallsyms");
  if (!cold) PROF_SKIP_UNLESS_REQUIRED(cold.error().message);
  EXPECT_FALSE(cold->from_cache());
  auto warm = KallsymsTable::load("/proc/kallsyms");
  ASSERT_TRUE(warm);
  EXPECT_TRUE(warm->from_cache());
  // BPF programs may come or go between two reads of /proc/kallsyms; the cache must equal the
  // table it was written from exactly.
  expect_same_symbols(*cold, *warm);
  EXPECT_GT(warm->size(), 1000u);
  std::size_t untrusted_core = 0;
  for (const KernelSymbol& s : warm->symbols())
    untrusted_core += s.module.empty() && !warm->trusted_at(s.start);
  EXPECT_EQ(untrusted_core, 0u);

  std::string file = KallsymsCache::default_file();
  prof::test::write_file(file, "PROFKSYM garbage");
  auto after_garbage = KallsymsTable::load("/proc/kallsyms");
  ASSERT_TRUE(after_garbage);
  EXPECT_FALSE(after_garbage->from_cache());
  EXPECT_TRUE(KallsymsTable::load("/proc/kallsyms")->from_cache());

  auto fresh = KallsymsTable::load_fresh("/proc/kallsyms");
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->from_cache());
  {
    ScopedEnv off("PROF_NO_KALLSYMS_CACHE", "1");
    EXPECT_FALSE(KallsymsTable::load("/proc/kallsyms")->from_cache());
  }
  // Any other path is parsed every time.
  prof::test::write_file(dir.file("saved"), kText);
  auto saved = KallsymsTable::load(dir.file("saved"));
  ASSERT_TRUE(saved);
  EXPECT_FALSE(saved->from_cache());
  EXPECT_FALSE(KallsymsTable::load(dir.file("saved"))->from_cache());
}

}  // namespace
}  // namespace prof::symbolizer

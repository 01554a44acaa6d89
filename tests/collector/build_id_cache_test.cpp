// perf's build-id cache as `profile record` fills it (build_id_cache.h), without sampling: the
// hit objects are handed over as the recorder would. The live end-to-end checks (against perf
// buildid-cache's own entries, perf script after a rebuild) are RebuiltBinary.* in the cli suite.
#include "prof/collector/build_id_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "prof/collector/proc_snapshot.h"
#include "test_support.h"

namespace prof::collector {
namespace {

namespace fs = std::filesystem;
using test::fixture;
using test::TempDir;

constexpr auto hex = build_id_hex;

class BuildIdCache : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = tmp_.file("app");
    fs::copy_file(fixture("fx_rebuilt_old"), old_);
    auto id = read_elf_build_id(old_);
    ASSERT_TRUE(id);
    old_id_ = *id;
    cache_ = tmp_.file("home/.debug");
  }
  std::string entry(const std::string& path, const std::vector<std::uint8_t>& id) const {
    return cache_ + path + "/" + hex(id) + "/elf";
  }

  TempDir tmp_;
  std::string old_, cache_;
  std::vector<std::uint8_t> old_id_;
};

// fails on 61552ae: there was no build-id cache writer (this file did not compile).
TEST_F(BuildIdCache, CopiesIntoPerfsLayoutOnceAndLinksByBuildId) {
  WarningSink w;
  std::vector<BuildIdRecorder::HitFile> files{{old_, old_id_, -1}};
  auto s = add_to_build_id_cache(cache_, files, &w);
  EXPECT_EQ(s.added, 1u);
  EXPECT_EQ(w.total(), 0u);
  const std::string elf = entry(old_, old_id_), id = hex(old_id_);
  EXPECT_EQ(read_elf_build_id(elf), old_id_);
  EXPECT_EQ(fs::file_size(elf), fs::file_size(old_));
  EXPECT_EQ(fs::status(elf).permissions(), fs::status(old_).permissions());
  const std::string link = cache_ + "/.build-id/" + id.substr(0, 2) + "/" + id.substr(2);
  EXPECT_EQ(fs::read_symlink(link), fs::path("../.." + old_ + "/" + id));
  EXPECT_TRUE(fs::equivalent(link + "/elf", elf));
  // Nothing else in the entry's directory (no temporary file left).
  EXPECT_EQ(
      std::distance(fs::directory_iterator(fs::path(elf).parent_path()), fs::directory_iterator()),
      1);
  // Again: already there, left alone.
  s = add_to_build_id_cache(cache_, files, &w);
  EXPECT_EQ(s.added, 0u);
  EXPECT_EQ(s.present, 1u);
}

// The file handed over (the one kept open since the first hit) is what gets copied, not what
// the path holds now; and a file whose build-id is not the recorded one is never cached.
TEST_F(BuildIdCache, CopiesTheKeptFileAndNeverAWrongOne) {
  int fd = ::open(old_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  fs::copy_file(fixture("fx_rebuilt_new"), tmp_.file("new"));
  ASSERT_EQ(std::rename(tmp_.file("new").c_str(), old_.c_str()), 0);
  WarningSink w;
  std::vector<BuildIdRecorder::HitFile> kept{{old_, old_id_, fd}};
  EXPECT_EQ(add_to_build_id_cache(cache_, kept, &w).added, 1u);
  EXPECT_EQ(read_elf_build_id(entry(old_, old_id_)), old_id_);
  ::close(fd);

  // By path now: the new build, whose build-id differs from the recorded one.
  const std::string other = tmp_.file("other");
  fs::copy_file(old_, other);
  std::vector<BuildIdRecorder::HitFile> wrong{{other, old_id_, -1}};
  auto s = add_to_build_id_cache(cache_, wrong, &w);
  EXPECT_EQ(s.added, 0u);
  EXPECT_EQ(s.skipped, 1u);
  EXPECT_FALSE(fs::exists(fs::path(entry(other, old_id_)).parent_path() / "elf"));
  ASSERT_EQ(w.count("buildid-cache"), 1u);
  EXPECT_NE(w.kinds()[0].first_message.find("changed since it was mapped"), std::string::npos);
}

TEST_F(BuildIdCache, SkipsObjectsWithoutAPathOfTheirOwn) {
  WarningSink w;
  std::vector<BuildIdRecorder::HitFile> files{{"//anon", old_id_, -1},
                                              {"/memfd:jit (deleted)", old_id_, -1},
                                              {old_ + " (deleted)", old_id_, -1},
                                              {"/tmp/../" + old_, old_id_, -1},
                                              {"[vdso]", old_id_, -1}};
  auto s = add_to_build_id_cache(cache_, files, &w);
  EXPECT_EQ(s.skipped, files.size());
  EXPECT_FALSE(fs::exists(cache_));
  EXPECT_EQ(w.total(), 0u);
}

// One warning when the cache cannot be written; the rest is not tried.
TEST_F(BuildIdCache, AnUnwritableCacheIsOneWarning) {
  test::write_file(tmp_.file("home-file"), "not a directory");
  fs::copy_file(old_, tmp_.file("second"));
  WarningSink w;
  std::vector<BuildIdRecorder::HitFile> files{{old_, old_id_, -1},
                                              {tmp_.file("second"), old_id_, -1}};
  auto s = add_to_build_id_cache(tmp_.file("home-file") + "/.debug", files, &w);
  EXPECT_TRUE(s.failed);
  EXPECT_EQ(w.count("buildid-cache"), 1u);
  EXPECT_EQ(add_to_build_id_cache("", files, &w).added, 0u);  // no $HOME: nothing
}

}  // namespace
}  // namespace prof::collector

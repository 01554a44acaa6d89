#include "prof/common/input.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace prof {
namespace {

using test::TempDir;

std::string sample_text() {
  std::string s;
  for (int i = 0; i < 5000; ++i) s += "main;foo;bar " + std::to_string(i) + "\n";
  return s;
}

TEST(Input, DetectsCompressionByMagic) {
  EXPECT_EQ(detect_compression("\x1f\x8b\x08"), Compression::kGzip);
  EXPECT_EQ(detect_compression("BZh91"), Compression::kBzip2);
  EXPECT_EQ(detect_compression(std::string_view("\xfd"
                                                "7zXZ\0",
                                                6)),
            Compression::kXz);
  EXPECT_EQ(detect_compression("\x28\xb5\x2f\xfd"), Compression::kZstd);
  EXPECT_EQ(detect_compression("java 1234"), Compression::kNone);
  EXPECT_EQ(detect_compression(""), Compression::kNone);
}

// Compresses with the real command-line tools so the test checks interoperability.
class CompressedInput : public ::testing::TestWithParam<std::pair<const char*, Compression>> {};

TEST_P(CompressedInput, ReadsBackWhatTheToolWrote) {
  auto [tool, kind] = GetParam();
  TempDir dir;
  std::string plain = dir.file("in.txt");
  test::write_file(plain, sample_text());
  auto r = test::run({tool, "-k", "-f", plain});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string ext = kind == Compression::kGzip    ? ".gz"
                    : kind == Compression::kBzip2 ? ".bz2"
                    : kind == Compression::kXz    ? ".xz"
                                                  : ".zst";
  // Renamed to prove detection does not rely on the extension.
  std::string misnamed = dir.file("capture.data");
  ASSERT_EQ(std::rename((plain + ext).c_str(), misnamed.c_str()), 0);
  auto in = InputFile::open(misnamed);
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ((*in)->compression(), kind);
  auto all = (*in)->read_all();
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(*all, sample_text());
}

INSTANTIATE_TEST_SUITE_P(Tools, CompressedInput,
                         ::testing::Values(std::pair{"gzip", Compression::kGzip},
                                           std::pair{"bzip2", Compression::kBzip2},
                                           std::pair{"xz", Compression::kXz},
                                           std::pair{"zstd", Compression::kZstd}));

TEST(Input, TruncatedCompressedFileIsAnErrorNotACrash) {
  TempDir dir;
  std::string plain = dir.file("in.txt");
  test::write_file(plain, sample_text());
  ASSERT_EQ(test::run({"gzip", "-f", plain}).exit_code, 0);
  std::string gz = test::read_file(plain + ".gz");
  test::write_file(dir.file("cut.gz"), gz.substr(0, gz.size() / 2));
  auto in = InputFile::open(dir.file("cut.gz"));
  ASSERT_TRUE(in);
  auto all = (*in)->read_all();
  ASSERT_FALSE(all);
  EXPECT_NE(all.error().message.find("cut.gz"), std::string::npos) << all.error().message;
  EXPECT_NE(all.error().message.find("gzip"), std::string::npos) << all.error().message;
}

TEST(Input, GarbageAfterMagicIsAnError) {
  TempDir dir;
  test::write_file(dir.file("bad.zst"), std::string("\x28\xb5\x2f\xfd") + std::string(100, 'x'));
  auto in = InputFile::open(dir.file("bad.zst"));
  ASSERT_TRUE(in);
  EXPECT_FALSE((*in)->read_all());
}

TEST(Input, MissingFileNamesIt) {
  auto in = InputFile::open("/nonexistent/perf.txt");
  ASSERT_FALSE(in);
  EXPECT_EQ(in.error().code, Errc::kIo);
  EXPECT_NE(in.error().message.find("/nonexistent/perf.txt"), std::string::npos);
}

TEST(Input, ShortPlainFile) {
  TempDir dir;
  test::write_file(dir.file("a"), "ab");
  auto in = InputFile::open(dir.file("a"));
  ASSERT_TRUE(in);
  EXPECT_EQ(*(*in)->read_all(), "ab");
}

}  // namespace
}  // namespace prof

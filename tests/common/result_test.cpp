#include "prof/common/result.h"

#include <gtest/gtest.h>

namespace prof {
namespace {

Result<int> half(int x) {
  if (x % 2) return Error{Errc::kParse, "odd: " + std::to_string(x)};
  return x / 2;
}

Result<int> quarter(int x) {
  auto h = half(x);
  PROF_TRY(h);
  return half(*h);
}

TEST(Result, CarriesValueOrError) {
  auto a = half(8);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 4);
  auto b = half(3);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, Errc::kParse);
  EXPECT_EQ(b.error().message, "odd: 3");
}

TEST(Result, TryPropagatesFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "odd: 3");
  EXPECT_EQ(quarter(5).error().message, "odd: 5");
}

TEST(Result, ErrorContextPrefixes) {
  Error e{Errc::kIo, "No such file"};
  EXPECT_EQ(e.with_context("x.txt").message, "x.txt: No such file");
  EXPECT_EQ(e.with_context("x.txt").code, Errc::kIo);
}

TEST(Result, VoidResult) {
  Result<void> good = ok();
  EXPECT_TRUE(good);
  Result<void> bad = Error{Errc::kNoData, "nothing"};
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "nothing");
}

}  // namespace
}  // namespace prof

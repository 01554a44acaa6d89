// The explorer page's embedded data (the browser test drives the page itself).
#include <gtest/gtest.h>

#include "prof/renderer/explorer.h"

namespace prof::renderer {
namespace {

std::string between(const std::string& s, const std::string& a, const std::string& b) {
  auto i = s.find(a);
  if (i == std::string::npos) return "";
  i += a.size();
  return s.substr(i, s.find(b, i) - i);
}

TEST(Explorer, EmbedsInternedStacksAndPerSampleColumns) {
  Profile p;
  auto map = p.add_mapping("/usr/lib/libc.so.6");
  auto main_loc = p.add_location(0x10, 0, {{.function = p.add_function("main")}});
  auto evil = p.add_location(0x20, 0, {{.function = p.add_function("f</script><b>")}});
  auto libc = p.add_location(0x30, map, {{.function = 0}});
  LocationId a[] = {evil, main_loc}, b[] = {libc, main_loc};
  auto sa = p.intern_stack(a), sb = p.intern_stack(b);
  p.add_sample({.stack = sa, .time_ns = 1'000'000'000, .pid = 1, .tid = 1, .cpu = 0});
  p.add_sample({.stack = sb, .time_ns = 1'500'000'000, .pid = 1, .tid = 2, .cpu = 3});
  p.add_sample({.stack = sa, .time_ns = 3'000'000'000, .pid = 1, .tid = 1, .cpu = 0});
  std::string html;
  auto st = write_explorer(p, {.title = "T<1>", .command = "profile report x"}, html);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->samples, 3u);
  EXPECT_EQ(st->nodes, 4u);  // root, main, f..., [libc.so.6]
  EXPECT_EQ(st->frames, 3u);
  EXPECT_TRUE(st->has_time);
  // One </script> per script element: a name cannot end the data early.
  std::size_t ends = 0;
  for (auto i = html.find("</script>"); i != std::string::npos; i = html.find("</script>", i + 1))
    ++ends;
  EXPECT_EQ(ends, 2u);
  EXPECT_NE(html.find("\"f\\u003c/script\\u003e\\u003cb\\u003e\""), std::string::npos);
  EXPECT_NE(html.find("\"[libc.so.6]\""), std::string::npos);
  EXPECT_NE(html.find("<title>T&lt;1&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  EXPECT_NE(html.find("<table id=\"functions\">"), std::string::npos);
  EXPECT_NE(html.find("id=\"heatmap\""), std::string::npos);
  EXPECT_EQ(between(html, "\"durationUs\":", ","), "2000000");
  // Microseconds 0, 500000, 2000000 as zigzag LEB128 differences (0, 1000000, 3000000), base64.
  EXPECT_EQ(between(html, "\"timeDeltas\":\"", "\""), "AMCEPcCNtwE=");
  // CPU + 1 in one byte each: 1, 4, 1.
  EXPECT_EQ(between(html, "\"cpu\":", "}"), "{\"width\":1,\"data\":\"AQQB\"");
  EXPECT_EQ(between(html, "\"weight\":", "}"), "null");
  EXPECT_EQ(html.find("://"), std::string::npos) << "no URL in the page";
}

TEST(Explorer, UntimedProfilesHaveNoHeatmapDataAndEmptyOnesAreAnError) {
  Profile p;
  auto loc = p.add_location(0x10, 0, {{.function = p.add_function("main")}});
  auto st = p.intern_stack(std::span(&loc, 1));
  p.add_sample({.stack = st, .count = 5});
  std::string html;
  auto r = write_explorer(p, {}, html);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_time);
  EXPECT_NE(html.find("\"hasTime\":false"), std::string::npos);
  EXPECT_NE(between(html, "\"weight\":", "}"), "null");  // the count of 5 is kept

  Profile empty;
  std::string out;
  auto e = write_explorer(empty, {}, out);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::kNoData);
}

}  // namespace
}  // namespace prof::renderer

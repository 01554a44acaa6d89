#include "folder_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace prof::folder::test {

std::string fold_text(std::string_view text, const Options& opt, std::size_t chunk,
                      WarningSink* sink) {
  Folder folder(opt, sink);
  chunk = std::max<std::size_t>(chunk, 1);
  for (std::size_t i = 0; i < text.size(); i += chunk) {
    auto r = folder.feed(text.substr(i, chunk));
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return {};
  }
  auto r = folder.finish();
  EXPECT_TRUE(r) << r.error().message;
  return folder.counts().to_string();
}

std::string_view through_last_blank_line(std::string_view text) {
  auto pos = text.rfind("\n\n");
  return pos == std::string_view::npos ? std::string_view{} : text.substr(0, pos + 2);
}

Options options_for(std::string_view flag) {
  Options o;
  if (flag == "pid") o.include_pid = true;
  if (flag == "tid") o.include_tid = true;
  if (flag == "kernel" || flag == "all") o.annotate_kernel = true;
  if (flag == "jit" || flag == "all") o.annotate_jit = true;
  if (flag == "addrs") o.include_addrs = true;
  return o;
}

}  // namespace prof::folder::test

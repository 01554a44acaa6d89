// Frames in deleted and memfd objects (issue 14 item 11): perf prints them as
// `[unknown] (/memfd:name (deleted))`; folded, they are one whole bracketed name,
// `[memfd:name (deleted)]`, from text and from typed samples alike, and from a live capture of
// a JIT-like program through every path (all-in-one, perf script | fold, symbolize | fold).
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "folder_test_util.h"
#include "test_support.h"

namespace prof::folder {
namespace {

using ::prof::test::fixture;
using ::prof::test::run;
using ::prof::test::run_profile;
using ::prof::test::TempDir;

// Fails on e91aebd: "app;main;[memfd:jit " and "app;main;[fx_jit_code.Ab12 ".
TEST(DeletedModule, TextFrameIsOneWholeBracketedName) {
  EXPECT_EQ(test::fold_text("app 42 [001] 1.5: 1 cpu-clock:\n"
                            "\t  7f0005 [unknown] (/memfd:jit (deleted))\n"
                            "\t  401000 main (/bin/app)\n\n"
                            "app 42 [001] 1.6: 1 cpu-clock:\n"
                            "\t  7f1005 [unknown] (/tmp/fx_jit_code.Ab12 (deleted))\n"
                            "\t  401000 main (/bin/app)\n\n"),
            "app;main;[fx_jit_code.Ab12 (deleted)] 1\napp;main;[memfd:jit (deleted)] 1\n");
  Options addrs;
  addrs.include_addrs = true;
  EXPECT_EQ(test::fold_text("app 42 [001] 1.5: 1 cpu-clock:\n"
                            "\t  7f0005 [unknown] (/memfd:jit (deleted))\n\n",
                            addrs),
            "app;[memfd:jit (deleted) <7f0005>] 1\n");
}

TEST(DeletedModule, TypedFrameIsNamedAsTheTextOne) {
  Folder folder;
  FrameView frames[2];
  frames[0].address = 0x7f0005;
  frames[0].module = "/memfd:jit (deleted)";
  frames[1].address = 0x401000;
  frames[1].symbol = "main";
  frames[1].module = "/bin/app";
  StackSampleView s;
  s.comm = "app";
  s.pid = s.tid = 42;
  s.frames = std::span<const FrameView>(frames, 2);
  folder.add(s);
  EXPECT_EQ(folder.counts().to_string(), "app;main;[memfd:jit (deleted)] 1\n");
}

// The frames of a folded file that name the fixture's code objects. The memfd's name always
// ends in " (deleted)"; the file was unlinked after its MMAP2 record, which keeps the plain path.
std::set<std::string> deleted_frames(const std::string& folded) {
  std::set<std::string> out;
  std::istringstream in(folded);
  for (std::string line; std::getline(in, line);) {
    std::string stack = line.substr(0, line.rfind(' '));
    std::stringstream frames(stack);
    for (std::string f; std::getline(frames, f, ';');)
      if (f.find("fxjit") != std::string::npos || f.find("fx_jit_code") != std::string::npos)
        out.insert(f);
  }
  return out;
}

void expect_whole_names(const std::set<std::string>& frames, const std::string& where) {
  ASSERT_FALSE(frames.empty()) << where;
  bool memfd = false, file = false;
  for (const auto& f : frames) {
    EXPECT_TRUE(std::regex_match(f, std::regex(R"(\[[^\[\] ]+( \(deleted\))?\])")))
        << where << ": '" << f << "'";
    memfd = memfd || f == "[memfd:fxjit (deleted)]";
    file = file || f.rfind("[fx_jit_code.", 0) == 0;
  }
  EXPECT_TRUE(memfd) << where;
  EXPECT_TRUE(file) << where;
}

// Fails on e91aebd: "[memfd:fxjit " in every path.
TEST(DeletedModule, LiveJitLikeProgramFoldsAlikeOnEveryPath) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  auto all = run_profile({"-F", "999", "-g", "--format", "folded", "--save", tmp.file("x.data"),
                          "-o", tmp.file("all.folded"), "--", fixture("fx_jit_memfd"), "600"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  expect_whole_names(deleted_frames(::prof::test::read_file(tmp.file("all.folded"))), "all-in-one");
  auto sym = run({"sh", "-c",
                  "'" + ::prof::test::profile_binary() + "' symbolize '" + tmp.file("x.data") +
                      "' | '" + ::prof::test::profile_binary() + "' fold"});
  ASSERT_EQ(sym.exit_code, 0) << sym.err;
  expect_whole_names(deleted_frames(sym.out), "symbolize | fold");
  auto perf = run({"sh", "-c",
                   "perf script -i '" + tmp.file("x.data") + "' | '" +
                       ::prof::test::profile_binary() + "' fold"});
  ASSERT_EQ(perf.exit_code, 0) << perf.err;
  expect_whole_names(deleted_frames(perf.out), "perf script | fold");
}

}  // namespace
}  // namespace prof::folder

// End-to-end tests of the `profile` binary's command line.
#include <gtest/gtest.h>

#include "test_support.h"

namespace prof {
namespace {

using test::run_profile;

TEST(Cli, HelpListsEverySubcommand) {
  auto r = run_profile({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* s : {"record", "symbolize", "fold", "render", "report", "diff", "top"})
    EXPECT_NE(r.out.find(std::string("  ") + s), std::string::npos) << s;
}

TEST(Cli, Version) {
  auto r = run_profile({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("profile ", 0), 0u) << r.out;
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const char* s : {"record", "symbolize", "fold", "render", "report", "diff", "top", "list"}) {
    auto r = run_profile({s, "--help"});
    EXPECT_EQ(r.exit_code, 0) << s << ": " << r.err;
    EXPECT_NE(r.out.find(std::string("profile ") + s), std::string::npos) << s << ": " << r.out;
  }
}

TEST(Cli, UnknownSubcommandIsUsageError) {
  auto r = run_profile({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("profile: error: unknown subcommand 'frobnicate'"), std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Cli, UnknownOptionIsOneLineUsageError) {
  for (const char* s : {"record", "symbolize", "fold", "render", "report", "diff", "top"}) {
    auto r = run_profile({s, "--no-such-option"});
    EXPECT_EQ(r.exit_code, 2) << s << ": " << r.err;
    EXPECT_EQ(r.err.rfind("profile: error: ", 0), 0u) << s << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << s << ": " << r.err;
  }
}

}  // namespace
}  // namespace prof

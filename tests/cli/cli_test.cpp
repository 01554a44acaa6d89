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

// Issue 14 item 12. Fails on e91aebd: the help read "--fontwidth arg (=0.58999999999999997)".
TEST(Cli, HelpPrintsDefaultsAsWritten) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"render", "--help"}, {"report", "--help"}, {"--help-all"}}) {
    auto r = run_profile(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    EXPECT_NE(r.out.find("--fontwidth arg (=0.59)"), std::string::npos) << args[0] << r.out;
    EXPECT_EQ(r.out.find("999999"), std::string::npos) << args[0] << r.out;
  }
}

// Issue 14 item 12. Fails on e91aebd: `profile help record` printed the general help.
TEST(Cli, HelpCommandPrintsThatCommandsHelp) {
  for (const char* s : {"record", "symbolize", "fold", "render", "report", "diff", "top", "list"}) {
    auto help = run_profile({"help", s});
    auto own = run_profile({s, "--help"});
    EXPECT_EQ(help.exit_code, 0) << s << ": " << help.err;
    EXPECT_EQ(help.out, own.out) << s;
  }
  EXPECT_EQ(run_profile({"help"}).out, run_profile({"--help"}).out);
  auto bad = run_profile({"help", "frobnicate"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown subcommand 'frobnicate'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace prof

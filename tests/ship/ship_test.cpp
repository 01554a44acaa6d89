// Shipping the tool: --version's git revision, what `cmake --install` puts where, man pages that
// render without a warning and list every option --help prints, bash and zsh completion that
// complete the real subcommands and options, and the .deb's contents and Depends.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace prof {
namespace {

namespace fs = std::filesystem;
using test::run;
using test::run_profile;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The subcommands `profile --help` lists, read from its "Subcommands:" table.
std::vector<std::string> subcommands() {
  auto r = run_profile({"--help"});
  std::vector<std::string> subs;
  bool in_table = false;
  for (const auto& l : lines_of(r.out)) {
    if (l == "Subcommands:") {
      in_table = true;
    } else if (in_table && l.rfind("  ", 0) == 0) {
      subs.push_back(l.substr(2, l.find(' ', 2) - 2));
    } else if (in_table) {
      break;
    }
  }
  return subs;
}

// The long options a --help prints ("  -o [ --output ] FILE ...", "  --per-cpu ...").
std::set<std::string> long_options(const std::vector<std::string>& help_args) {
  static const std::regex option(R"(^  (?:-\S \[ )?--([A-Za-z0-9][A-Za-z0-9-]*))");
  std::set<std::string> out;
  for (const auto& l : lines_of(run_profile(help_args).out)) {
    std::smatch m;
    if (std::regex_search(l, m, option)) out.insert(m[1]);
  }
  return out;
}

TEST(Ship, SubcommandsAreListed) {
  auto subs = subcommands();
  for (const char* s : {"record", "fold", "render", "report", "doctor"})
    EXPECT_NE(std::find(subs.begin(), subs.end(), s), subs.end()) << s;
}

// What `git describe` says of the source tree, as cmake/GitRevision.cmake asks it; "unknown"
// outside a git checkout.
TEST(Ship, VersionNamesTheGitRevision) {
  auto v = run_profile({"--version"});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  std::string expected = "unknown";
  auto top = run({"git", "-C", test::source_dir(), "rev-parse", "--show-toplevel"});
  if (top.exit_code == 0 &&
      fs::equivalent(fs::path(lines_of(top.out).at(0)), fs::path(test::source_dir()))) {
    auto d =
        run({"git", "-C", test::source_dir(), "describe", "--always", "--dirty", "--abbrev=12"});
    ASSERT_EQ(d.exit_code, 0) << d.err;
    expected = lines_of(d.out).at(0);
  }
  EXPECT_TRUE(std::regex_match(v.out, std::regex(R"(profile \d+\.\d+\.\d+ \(git .+\)\n)")))
      << v.out;
  EXPECT_NE(v.out.find("(git " + expected + ")"), std::string::npos) << v.out;
}

// libpfm4 (events) and libcurl (--push, with its TLS, Kerberos and LDAP libraries) are opened
// on first use: linked, every run loaded them at its start (libcurl's 28 libraries took a small
// capture's symbolize from 19 to 33 ms). So the package names them by hand (Package test).
TEST(Ship, OptionalLibrariesAreNotLoadedAtStart) {
  auto r = run({"ldd", test::profile_binary()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("libdw.so"), std::string::npos) << r.out;  // ldd does list libraries
  EXPECT_EQ(r.out.find("libcurl"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("libpfm"), std::string::npos) << r.out;
}

TEST(Ship, EveryHelpHasExamples) {
  for (const auto& s : subcommands()) {
    auto r = run_profile({s, "--help"});
    ASSERT_EQ(r.exit_code, 0) << s;
    auto at = r.out.find("\nExamples:\n");
    ASSERT_NE(at, std::string::npos) << s << ": " << r.out;
    EXPECT_NE(r.out.find("  profile " + s, at), std::string::npos) << s;
  }
  auto all = run_profile({"--help-all"});
  EXPECT_NE(all.out.find("\nExamples:\n  profile "), std::string::npos) << all.out;
}

TEST(Ship, HelpFormatRejectsAnUnknownFormat) {
  auto r = run_profile({"--help-format=html"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("expected man, bash or zsh"), std::string::npos) << r.err;
}

// One install into a temporary prefix, shared by the tests that read it.
class Installed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    auto r = run({env_or_empty("PROF_CMAKE"), "--install", env_or_empty("PROF_BUILD_DIR"),
                  "--prefix", dir_->path()});
    install_log_ = r.out + r.err;
    install_rc_ = r.exit_code;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(install_rc_, 0) << install_log_; }
  static std::string prefix() { return dir_->path(); }

  static test::TempDir* dir_;
  static std::string install_log_;
  static int install_rc_;
};
test::TempDir* Installed::dir_ = nullptr;
std::string Installed::install_log_;
int Installed::install_rc_ = -1;

TEST_F(Installed, BinaryManPagesCompletionsAndDocs) {
  auto v = run({prefix() + "/bin/profile", "--version"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out, run_profile({"--version"}).out);
  EXPECT_TRUE(fs::exists(prefix() + "/share/man/man1/profile.1"));
  for (const auto& s : subcommands())
    EXPECT_TRUE(fs::exists(prefix() + "/share/man/man1/profile-" + s + ".1")) << s;
  EXPECT_TRUE(fs::exists(prefix() + "/share/bash-completion/completions/profile"));
  EXPECT_TRUE(fs::exists(prefix() + "/share/zsh/site-functions/_profile"));
  EXPECT_TRUE(fs::exists(prefix() + "/share/doc/profile/README.md"));
  EXPECT_TRUE(fs::exists(prefix() + "/share/doc/profile/options.md"));
}

// Rendered as lintian checks pages (groff warnings on, UTF-8, 80 columns), all in one man run.
// And every option --help prints is in the page: both come from the same table.
TEST_F(Installed, EveryManPageRendersWithoutWarningAndListsEveryOption) {
  std::vector<std::pair<std::string, std::vector<std::string>>> pages = {
      {"profile", {"--help-all"}}};
  for (const auto& s : subcommands()) pages.push_back({"profile-" + s, {s, "--help"}});
  std::vector<std::string> man = {"env", "LC_ALL=C.UTF-8", "MANROFFSEQ=", "MANWIDTH=80",
                                  "man", "--warnings",     "-E",          "UTF-8",
                                  "-l",  "-Tutf8",         "-Z"};
  for (const auto& p : pages) man.push_back(prefix() + "/share/man/man1/" + p.first + ".1");
  auto r = run(man);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_GT(r.out.size(), 10000u);  // -Z: groff's intermediate output of every page
  for (const auto& [page, help] : pages) {
    const std::string roff = test::read_file(prefix() + "/share/man/man1/" + page + ".1");
    EXPECT_NE(roff.find(".SH EXAMPLES"), std::string::npos) << page;
    for (const auto& o : long_options(help)) {
      std::string escaped = "\\-\\-";  // roff's \-\-name
      for (char c : o) escaped += c == '-' ? std::string("\\-") : std::string(1, c);
      EXPECT_NE(roff.find("\\fB" + escaped + "\\fR"), std::string::npos)
          << page << " lacks --" << o;
    }
  }
}

// Completes as bash does: COMP_WORDS/COMP_CWORD set, the function `complete -p` names called.
std::vector<std::string> bash_complete(const std::string& script, const std::string& line,
                                       const std::string& cwd = ".") {
  const std::string program = "source '" + script +
                              "' || exit 9\n"
                              "spec=$(complete -p profile) || exit 8\n"
                              "fn=${spec#*-F }; fn=${fn%% *}\n"
                              "cd '" +
                              cwd +
                              "' || exit 7\n"
                              "read -ra COMP_WORDS <<< \"$LINE\"\n"
                              "[[ $LINE == *' ' ]] && COMP_WORDS+=('')\n"
                              "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
                              "$fn profile\n"
                              "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
  auto r = run({"env", "LINE=" + line, "bash", "--norc", "--noprofile", "-c", program});
  EXPECT_EQ(r.exit_code, 0) << line << ": " << r.err;
  auto out = lines_of(r.out);
  out.erase(std::remove(out.begin(), out.end(), ""), out.end());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(Installed, BashCompletionCompletesSubcommandsAndOptions) {
  const std::string script = prefix() + "/share/bash-completion/completions/profile";
  std::vector<std::string> re;
  for (const auto& s : subcommands())
    if (s.rfind("re", 0) == 0) re.push_back(s);
  std::sort(re.begin(), re.end());
  ASSERT_FALSE(re.empty());
  EXPECT_EQ(bash_complete(script, "profile re"), re);

  std::vector<std::string> per;
  for (const auto& o : long_options({"fold", "--help"}))
    if (o.rfind("per-", 0) == 0) per.push_back("--" + o);
  ASSERT_FALSE(per.empty());
  EXPECT_EQ(bash_complete(script, "profile fold --per-"), per);
  // The all-in-one's options where no subcommand is named.
  EXPECT_EQ(bash_complete(script, "profile --all-cp"), std::vector<std::string>{"--all-cpus"});
  EXPECT_EQ(bash_complete(script, "profile help fo"), std::vector<std::string>{"fold"});

  // After an option that takes a value: files, not options.
  test::TempDir d;
  test::write_file(d.file("run.data"), "");
  EXPECT_EQ(bash_complete(script, "profile record -o ru", d.path()),
            std::vector<std::string>{"run.data"});
}

TEST_F(Installed, ZshCompletionIsValidZsh) {
  if (run({"sh", "-c", "command -v zsh"}).exit_code != 0)
    PROF_SKIP_UNLESS_REQUIRED("zsh is not installed (scripts/setup.sh installs it)");
  const std::string script = prefix() + "/share/zsh/site-functions/_profile";
  auto r = run({"zsh", "-n", script});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::read_file(script).rfind("#compdef profile\n", 0), 0u);
  // Loads under compinit from the installed directory and binds _profile to `profile`.
  auto bound = run({"zsh", "-fc",
                    "fpath=('" + prefix() +
                        "/share/zsh/site-functions' $fpath); autoload -U compinit; "
                        "compinit -u -D; print -r -- ${_comps[profile]}"});
  EXPECT_EQ(bound.exit_code, 0) << bound.err;
  EXPECT_EQ(bound.out, "_profile\n") << bound.err;
}

// The .deb, built by CPack from this build (the normal build only: PROF_CPACK is unset under
// the sanitizers).
TEST(Package, DebHasTheToolItsPagesAndShlibdepsPlusLibpfm4) {
  const std::string cpack = env_or_empty("PROF_CPACK");
  if (cpack.empty()) GTEST_SKIP() << "the .deb is built and checked in the normal build only";
  test::TempDir d;
  auto r = run({cpack, "-G", "DEB", "--config",
                env_or_empty("PROF_BUILD_DIR") + "/CPackConfig.cmake", "-B", d.path()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string deb;
  for (const auto& e : fs::directory_iterator(d.path()))
    if (e.path().extension() == ".deb") deb = e.path();
  ASSERT_FALSE(deb.empty()) << r.out;

  auto depends = run({"dpkg-deb", "-f", deb, "Depends"});
  ASSERT_EQ(depends.exit_code, 0) << depends.err;
  for (const char* lib : {"libdw1", "libpfm4", "libcurl4", "libboost-program-options",
                          "libboost-iostreams", "libc6", "libstdc++6"})
    EXPECT_NE(depends.out.find(lib), std::string::npos) << lib << " not in: " << depends.out;

  auto contents = run({"dpkg-deb", "-c", deb});
  for (const char* f :
       {"./usr/bin/profile", "./usr/share/man/man1/profile.1.gz",
        "./usr/share/man/man1/profile-doctor.1.gz",
        "./usr/share/bash-completion/completions/profile",
        "./usr/share/zsh/vendor-completions/_profile", "./usr/share/doc/profile/README.md"})
    EXPECT_NE(contents.out.find(std::string(f) + "\n"), std::string::npos) << f;

  // The packaged (stripped) binary runs.
  test::TempDir root;
  ASSERT_EQ(run({"dpkg-deb", "-x", deb, root.path()}).exit_code, 0);
  auto v = run({root.path() + "/usr/bin/profile", "--version"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out, run_profile({"--version"}).out);
}

}  // namespace
}  // namespace prof

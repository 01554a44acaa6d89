// Issue 14 item 7 and part of item 12: every option of the all-in-one `profile` means one thing,
// the folding choices have names of their own there, call graphs are its default, and
// docs/options.md lists every option of every subcommand.
#include <boost/program_options.hpp>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "collector_command.h"
#include "folder_command.h"
#include "options.h"
#include "renderer_command.h"
#include "symbolizer_options.h"
#include "test_support.h"

namespace prof {
namespace {

namespace po = boost::program_options;
using test::fixture;
using test::run_profile;

// Every spelling a parser accepts ("--long", "-s"), with the options that answer to it.
std::map<std::string, std::vector<const po::option_description*>> spellings(
    const po::options_description& d) {
  std::map<std::string, std::vector<const po::option_description*>> m;
  for (const auto& o : d.options()) {
    auto [names, n] = o->long_names();
    for (std::size_t i = 0; i < n; ++i)
      if (!names[i].empty()) m["--" + names[i]].push_back(o.get());
    std::string s = o->canonical_display_name(po::command_line_style::allow_dash_for_short);
    if (s.size() == 2 && s[0] == '-') m[s].push_back(o.get());
  }
  return m;
}

// The options the all-in-one and `profile report` take from the stages, as each stage's own
// command registers them.
std::map<std::string, po::options_description> stage_options() {
  std::map<std::string, po::options_description> m;
  collector::add_sampling_options(m["record"]);
  folder::add_folder_options(m["fold"], /*pipeline=*/false);
  renderer::add_render_options(m["render"], /*short_names=*/true);
  symbolizer::add_symbolizer_options(m["symbolize"], /*pipeline=*/false);
  return m;
}

// The same description means the same option: each comes from one add_*_options function.
bool same_meaning(const po::option_description& a, const po::option_description& b) {
  return a.description() == b.description();
}

void expect_one_meaning_per_spelling(const char* command, const po::options_description& opts,
                                     const std::set<std::string>& stages) {
  auto mine = spellings(opts);
  for (const auto& [spelling, options] : mine)
    EXPECT_EQ(options.size(), 1u) << command << ": " << spelling << " is registered "
                                  << options.size() << " times";
  // A spelling this command shares with a stage means what it means there, unless the stage's
  // option is one this command offers under another of the stage's spellings (render's -c is
  // --colors, which the all-in-one offers without -c: there -c is perf's sample count).
  for (const auto& [stage, stage_opts] : stage_options()) {
    if (!stages.count(stage)) continue;
    auto theirs = spellings(stage_opts);
    for (const auto& [spelling, options] : mine) {
      auto it = theirs.find(spelling);
      if (it == theirs.end()) continue;
      const po::option_description& other = *it->second.front();
      if (same_meaning(*options.front(), other)) continue;
      bool offered_otherwise = false;
      for (const auto& [s, o] : theirs)
        if (o.front() == &other && mine.count(s) && same_meaning(*mine[s].front(), other))
          offered_otherwise = true;
      EXPECT_TRUE(offered_otherwise)
          << command << ": " << spelling << " means \"" << options.front()->description()
          << "\" but in 'profile " << stage << "' \"" << other.description()
          << "\", which has no other name here";
    }
  }
}

// Fails on e91aebd: --pid/--tid chose the processes to sample in the all-in-one but meant
// comm-PID process frames in 'profile fold', and that folding choice had no name there at all.
TEST(Options, EverySpellingOfTheAllInOneMeansOneThing) {
  // spellings() keeps pointers into the options: they must outlive it (ASan caught a temporary).
  const auto opts = app::pipeline_options();
  expect_one_meaning_per_spelling("profile", opts.all, {"record", "fold", "render", "symbolize"});
  auto all_in_one = spellings(opts.all);
  for (const char* s : {"--per-process", "--per-thread", "--pid", "--tid", "-c", "--colors",
                        "--no-call-graph", "-g"})
    EXPECT_EQ(all_in_one.count(s), 1u) << s;
  EXPECT_NE(all_in_one["--pid"].front()->description(),
            all_in_one["--per-process"].front()->description());
}

// report selects no targets (it takes no 'profile record' options): it keeps fold's --pid/--tid
// and takes the all-in-one's names too. Fails on e91aebd: --per-process was unknown there.
TEST(Options, ReportTakesBothNamesOfTheFoldingChoices) {
  auto opts = app::report_options();
  expect_one_meaning_per_spelling("profile report", opts.all, {"fold", "render", "symbolize"});
  auto m = spellings(opts.all);
  ASSERT_EQ(
      m.count("--pid") + m.count("--per-process") + m.count("--tid") + m.count("--per-thread"), 4u);
  EXPECT_EQ(m["--pid"].front(), m["--per-process"].front());
  EXPECT_EQ(m["--tid"].front(), m["--per-thread"].front());
  for (std::string arg : {"--pid", "--per-process", "--tid", "--per-thread"}) {
    const char* argv[] = {"report", arg.c_str()};
    po::variables_map vm;
    po::store(po::command_line_parser(2, argv).options(opts.all).run(), vm);
    po::notify(vm);
    auto fopt = folder::folder_options_from(vm);
    ASSERT_TRUE(fopt) << arg;
    EXPECT_TRUE(fopt->include_pid || fopt->include_tid) << arg;
    EXPECT_EQ(fopt->include_tid, arg == "--tid" || arg == "--per-thread") << arg;
  }
}

// The long option names each command's --help prints.
std::set<std::string> help_options(const std::vector<std::string>& args) {
  auto r = run_profile(args);
  EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
  static const std::regex line(R"(^  (-[a-zA-Z] \[ )?(--[a-z][a-z0-9-]*|-[a-zA-Z])\b)");
  std::set<std::string> names;
  std::istringstream in(r.out);
  std::string l;
  std::smatch m;
  while (std::getline(in, l))
    if (std::regex_search(l, m, line)) names.insert(m[2]);
  return names;
}

// Fails on e91aebd: there was no docs/options.md.
TEST(Options, DocsTableListsEveryOptionOfEveryCommand) {
  std::string table = test::read_file(test::source_dir() + "/docs/options.md");
  ASSERT_FALSE(table.empty());
  std::vector<std::vector<std::string>> commands{{"--help-all"}};
  for (const char* s :
       {"record", "symbolize", "fold", "render", "report", "diff", "top", "merge", "list"})
    commands.push_back({s, "--help"});
  for (const auto& args : commands) {
    auto names = help_options(args);
    EXPECT_GT(names.size(), 1u) << args[0];
    for (const auto& n : names)
      EXPECT_NE(table.find("`" + n), std::string::npos) << args[0] << ": " << n;
  }
}

// Frame lines of a folded capture: (stack without the count, count).
std::vector<std::string> stacks_of(const std::string& folded) {
  std::vector<std::string> v;
  std::istringstream in(folded);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.rfind(' ');
    if (sp != std::string::npos) v.push_back(line.substr(0, sp));
  }
  return v;
}

bool leaf_is(const std::string& stack, const std::string& name) {
  return stack.size() > name.size() &&
         stack.compare(stack.size() - name.size() - 1, std::string::npos, ";" + name) == 0;
}

// Item 12. Fails on e91aebd: without -g every stack was one frame under the comm
// ("fx_alphabeta;alpha"), with no word said.
TEST(Options, AllInOneSamplesCallGraphsByDefault) {
  PROF_REQUIRE_LIVE();
  auto r = run_profile({"-F", "999", "--format", "folded", "--", fixture("fx_alphabeta"), "500"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int leaves = 0;
  for (const auto& s : stacks_of(r.out)) {
    if (!leaf_is(s, "alpha") && !leaf_is(s, "beta")) continue;
    ++leaves;
    EXPECT_NE(s.find(";main;"), std::string::npos) << s;
  }
  EXPECT_GT(leaves, 0) << r.out;
}

// Item 12. Fails on e91aebd: --no-call-graph was an unknown option.
TEST(Options, NoCallGraphGivesLeafOnlyStacks) {
  PROF_REQUIRE_LIVE();
  auto r = run_profile(
      {"--no-call-graph", "-F", "999", "--format", "folded", "--", fixture("fx_alphabeta"), "500"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto stacks = stacks_of(r.out);
  ASSERT_FALSE(stacks.empty());
  for (const auto& s : stacks) EXPECT_EQ(std::count(s.begin(), s.end(), ';'), 1) << s;
  auto both = run_profile({"--no-call-graph", "-g", "--", fixture("fx_alphabeta"), "10"});
  EXPECT_EQ(both.exit_code, 2) << both.err;
}

// Item 7. Fails on e91aebd: --per-process/--per-thread were unknown options, and the all-in-one
// had no way to ask for comm-PID process frames.
TEST(Options, PerProcessAndPerThreadAddPidFramesInTheAllInOne) {
  PROF_REQUIRE_LIVE();
  test::TempDir tmp;
  auto p = run_profile({"--per-process", "--format", "folded", "--save", tmp.file("cap.data"), "--",
                        fixture("fx_alphabeta"), "300"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  static const std::regex pid_frame(R"(^fx_alphabeta-[0-9]+;.*)");
  auto stacks = stacks_of(p.out);
  ASSERT_FALSE(stacks.empty());
  for (const auto& s : stacks) EXPECT_TRUE(std::regex_match(s, pid_frame)) << s;
  // report reads the saved capture the same way under either name.
  auto rp = run_profile({"report", tmp.file("cap.data"), "--format", "folded", "--pid"});
  auto rpp = run_profile({"report", tmp.file("cap.data"), "--format", "folded", "--per-process"});
  ASSERT_EQ(rp.exit_code, 0) << rp.err;
  EXPECT_EQ(rp.out, rpp.out);
  EXPECT_EQ(stacks_of(rp.out).front().rfind("fx_alphabeta-", 0), 0u) << rp.out;

  auto t =
      run_profile({"--per-thread", "--format", "folded", "--", fixture("fx_alphabeta"), "300"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  static const std::regex tid_frame(R"(^fx_alphabeta-([0-9]+)/\1;.*)");
  stacks = stacks_of(t.out);
  ASSERT_FALSE(stacks.empty());
  for (const auto& s : stacks) EXPECT_TRUE(std::regex_match(s, tid_frame)) << s;
}

}  // namespace
}  // namespace prof

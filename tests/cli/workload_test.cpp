// End-to-end tests of how `profile` treats the command it runs (issue 14, items 1 and 2):
// the workload's stdout never mixes into our output on stdout, and the command's exit status
// becomes ours once the capture itself succeeded. They sample for real: CI runs them as root,
// where PROF_REQUIRE_LIVE turns a skip into a failure.
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "test_support.h"

namespace prof {
namespace {

using test::fixture;
using test::read_file;
using test::run;
using test::run_profile;
using test::TempDir;

// A workload that writes a line to its stdout, then spins for a while in spin_here().
std::vector<std::string> chatty_workload() {
  return {"sh", "-c", "echo hi; exec \"$0\" 300", fixture("fx_spin")};
}

std::vector<std::string> with_command(std::vector<std::string> args,
                                      const std::vector<std::string>& command) {
  args.push_back("--");
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

bool has_line(const std::string& text, const std::string& wanted) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line == wanted) return true;
  return false;
}

void expect_well_formed_xml(const std::string& path) {
  auto r = run({"xmllint", "--noout", "--huge", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Fails on e91aebd: stdout began "hi\n<?xml", so the SVG did not parse, and "hi" was not on
// stderr.
TEST(Workload, StdoutOfTheCommandGoesToStderrWhenTheSvgGoesToStdout) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  auto r = run_profile(with_command({"-g", "-F", "999"}, chatty_workload()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("<?xml", 0), 0u) << r.out.substr(0, 80);
  EXPECT_TRUE(has_line(r.err, "hi")) << r.err;
  test::write_file(tmp.file("out.svg"), r.out);
  expect_well_formed_xml(tmp.file("out.svg"));
  EXPECT_NE(r.out.find("<title>spin_here ("), std::string::npos);
}

// Fails on e91aebd: the folded output's first line was "hi"; likewise perf-script text.
TEST(Workload, FoldedAndPerfScriptOnStdoutHoldNothingOfTheCommand) {
  PROF_REQUIRE_LIVE();
  auto f = run_profile(with_command({"-g", "-F", "999", "--format", "folded"}, chatty_workload()));
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_FALSE(has_line(f.out, "hi")) << f.out;
  EXPECT_TRUE(has_line(f.err, "hi")) << f.err;
  EXPECT_NE(f.out.find(";spin_here "), std::string::npos) << f.out;
  // `fold` reads every line of what the pipeline printed as perf-script text.
  auto ps =
      run_profile(with_command({"-g", "-F", "999", "--format", "perf-script"}, chatty_workload()));
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_FALSE(has_line(ps.out, "hi")) << ps.out.substr(0, 200);
  EXPECT_TRUE(has_line(ps.err, "hi")) << ps.err;
  auto fold = run_profile({"fold"}, ps.out);
  ASSERT_EQ(fold.exit_code, 0) << fold.err;
  EXPECT_NE(fold.out.find(";spin_here "), std::string::npos) << fold.out;
}

// Written to a file, the graph leaves the command its own stdout.
TEST(Workload, StdoutOfTheCommandStaysStdoutWhenOurOutputIsAFile) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  auto r =
      run_profile(with_command({"-g", "-F", "999", "-o", tmp.file("out.svg")}, chatty_workload()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_FALSE(has_line(r.err, "hi")) << r.err;
  expect_well_formed_xml(tmp.file("out.svg"));

  auto rec = run_profile(
      with_command({"record", "-g", "-q", "-o", tmp.file("cap.data")}, chatty_workload()));
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  EXPECT_EQ(rec.out, "hi\n");
}

// Fails on e91aebd: "hi" went into the pipe ahead of the pipe-mode header, and report said
// "no stacks found" (or that the input is not perf.data).
TEST(Workload, RecordToStdoutPipedIntoReport) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  // $0 profile, $1 fixture, $2 temp dir; the pipeline's status is report's.
  auto r = run({"sh", "-c",
                "\"$0\" record -g -F 999 -o - -- sh -c 'echo hi; exec \"$0\" 300' \"$1\" "
                "2>\"$2/rec.err\""
                " | \"$0\" report - -o \"$2/out.svg\"",
                test::profile_binary(), fixture("fx_spin"), tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err << read_file(tmp.file("rec.err"));
  EXPECT_TRUE(has_line(read_file(tmp.file("rec.err")), "hi")) << read_file(tmp.file("rec.err"));
  expect_well_formed_xml(tmp.file("out.svg"));
  EXPECT_NE(read_file(tmp.file("out.svg")).find("<title>spin_here ("), std::string::npos);
}

// perf moves its workload's stdout to stderr when it writes to a pipe; report reads the result.
TEST(Workload, ReportOfPerfsPipeCaptureOfAChattyCommand) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  auto r = run({"sh", "-c",
                "perf record -q -g -F 999 -o - -- sh -c 'echo hi; exec \"$0\" 300' \"$0\" "
                "2>\"$1/rec.err\" | \"$2\" report - -o \"$1/out.svg\"",
                fixture("fx_spin"), tmp.path(), test::profile_binary()});
  ASSERT_EQ(r.exit_code, 0) << r.err << read_file(tmp.file("rec.err"));
  EXPECT_TRUE(has_line(read_file(tmp.file("rec.err")), "hi"));
  expect_well_formed_xml(tmp.file("out.svg"));
  EXPECT_NE(read_file(tmp.file("out.svg")).find("<title>spin_here ("), std::string::npos);
}

// Fails on e91aebd: top's table was preceded by the command's "hi".
TEST(Workload, TopWithACommandPrintsOnlyItsTable) {
  PROF_REQUIRE_LIVE();
  auto r = run_profile(with_command({"top", "-g", "-F", "999", "-n", "3"}, chatty_workload()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(has_line(r.out, "hi")) << r.out;
  EXPECT_TRUE(has_line(r.err, "hi")) << r.err;
  EXPECT_NE(r.out.find(" spin_here\n"), std::string::npos) << r.out;
}

// ---- Exit status: the command's, as perf reports it (128 + N for signal N) ----

// A command that spins, then ends with `tail` (`exit 3`, `kill -SEGV $$`).
std::vector<std::string> spin_then(const std::string& tail) {
  return {"sh", "-c", "\"$0\" 200; " + tail, fixture("fx_spin")};
}

// Fails on e91aebd: every one of these exited 0.
TEST(Workload, ExitStatusIsTheCommands) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  auto svg =
      run_profile(with_command({"-g", "-q", "-o", tmp.file("out.svg")}, spin_then("exit 3")));
  EXPECT_EQ(svg.exit_code, 3) << svg.err;
  expect_well_formed_xml(tmp.file("out.svg"));  // the graph is written all the same

  auto rec = run_profile(
      with_command({"record", "-g", "-q", "-o", tmp.file("cap.data")}, spin_then("exit 3")));
  EXPECT_EQ(rec.exit_code, 3) << rec.err;
  auto rep = run_profile({"report", tmp.file("cap.data"), "-o", tmp.file("rep.svg")});
  EXPECT_EQ(rep.exit_code, 0) << rep.err;

  auto top = run_profile(with_command({"top", "-q", "-n", "1"}, spin_then("exit 4")));
  EXPECT_EQ(top.exit_code, 4) << top.err;

  // Killed by a signal: 128 + N, as a shell reports it.
  auto segv = run_profile(
      with_command({"-g", "-q", "-o", tmp.file("segv.svg")}, spin_then("kill -SEGV $$")));
  EXPECT_EQ(segv.exit_code, 128 + 11) << segv.err;
  auto rec_segv = run_profile(
      with_command({"record", "-q", "-o", tmp.file("segv.data")}, spin_then("kill -SEGV $$")));
  EXPECT_EQ(rec_segv.exit_code, 128 + 11) << rec_segv.err;

  // Stays 0 for a command that succeeds, and for one that profile ended itself at DURATION.
  auto ok = run_profile(with_command({"-q", "-o", tmp.file("ok.svg")}, spin_then("exit 0")));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto timed =
      run_profile({"-q", "-o", tmp.file("timed.svg"), "500ms", "--", fixture("fx_spin"), "30000"});
  EXPECT_EQ(timed.exit_code, 0) << timed.err;
}

// Our own failure wins over the command's status.
TEST(Workload, OurFailureStillExitsOne) {
  PROF_REQUIRE_LIVE();
  // The capture succeeds and the command exits 3, but the graph cannot be written.
  auto full = run_profile(with_command({"-g", "-o", "/dev/full"}, spin_then("exit 3")));
  EXPECT_EQ(full.exit_code, 1) << full.err;
  EXPECT_NE(full.err.find("profile: error: "), std::string::npos) << full.err;
  auto rec = run_profile(with_command({"record", "-o", "/dev/full"}, spin_then("exit 3")));
  EXPECT_EQ(rec.exit_code, 1) << rec.err;
  EXPECT_NE(rec.err.find("profile: error: "), std::string::npos) << rec.err;
}

// profile tunes its allocator (cli/malloc_tuning.cpp); the command it profiles must see the
// environment profile was given: none of ours, and a user's GLIBC_TUNABLES unchanged. And
// profile keeps its name: started again through /proc/self/exe (as it once did for glibc's
// tunables), `ps`, `top` and its own captures showed it as "exe".
TEST(Workload, TheCommandSeesTheEnvironmentWeWereGiven) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  const std::string plain = tmp.file("plain.env"), user = tmp.file("user.env");
  auto r = run_profile({"record", "-o", tmp.file("a.data"), "--", "sh", "-c",
                        "env > '" + plain + "'; exec \"$0\" 100", fixture("fx_spin")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string env = read_file(plain);
  EXPECT_EQ(env.find("GLIBC_TUNABLES"), std::string::npos) << env;
  const std::string parent = tmp.file("parent.comm");
  r = run_profile({"record", "-o", tmp.file("c.data"), "--", "sh", "-c",
                   "cat /proc/$PPID/comm > '" + parent + "'; exec \"$0\" 100", fixture("fx_spin")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(parent), "profile\n");
  EXPECT_EQ(env.find("PROF_MALLOC_TUNED"), std::string::npos) << env;
  r = run({"env", "GLIBC_TUNABLES=glibc.malloc.check=0", test::profile_binary(), "record", "-o",
           tmp.file("b.data"), "--", "sh", "-c", "env > '" + user + "'; exec \"$0\" 100",
           fixture("fx_spin")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_file(user).find("GLIBC_TUNABLES=glibc.malloc.check=0\n"), std::string::npos);
}

}  // namespace
}  // namespace prof

// Rough edges a new user hits (issue 14 items 10 and 12): binary input given to a text command,
// control bytes in warnings, an SVG written to a terminal, a reader that closes the pipe early,
// and the command line recorded in perf.data.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace prof {
namespace {

using test::fixture;
using test::profile_binary;
using test::read_file;
using test::run;
using test::run_profile;
using test::TempDir;
using test::write_file;

std::string u64le(std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }

// The starts of a file-mode and a pipe-mode perf.data (magic, header size): all a reader needs
// to know what it is.
std::string file_mode_perf_data() { return "PERFILE2" + u64le(104) + std::string(200, '\0'); }
std::string pipe_mode_perf_data() { return "PERFILE2" + u64le(16) + std::string(64, '\x01'); }

bool all_printable(const std::string& s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\n' && c != '\r') || c == 0x7f) return false;
  return true;
}

struct Inputs {
  TempDir tmp;
  std::string perf_data, perf_data_gz, elf, binary, lz4, text;
  Inputs() {
    perf_data = tmp.file("x.data");
    write_file(perf_data, file_mode_perf_data());
    perf_data_gz = tmp.file("x.data.gz");
    EXPECT_EQ(run({"sh", "-c", "gzip -c '" + perf_data + "' > '" + perf_data_gz + "'"}).exit_code,
              0);
    elf = fixture("fx_spin");
    binary = tmp.file("random.bin");
    std::string junk;
    for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131 + 7) % 256));
    write_file(binary, junk);
    lz4 = tmp.file("x.lz4");
    write_file(lz4, std::string("\x04\x22\x4d\x18", 4) + std::string(100, '\x11'));
    text = tmp.file("x.folded");
    write_file(text, "main;work 10\nmain;rest 5\n");
  }
};

// One line, exit 1, nothing on stdout, no raw bytes anywhere, and the words expected.
void expect_refused(const test::RunResult& r, const std::vector<std::string>& words,
                    const std::string& what) {
  EXPECT_EQ(r.exit_code, 1) << what << ": " << r.err;
  EXPECT_EQ(r.out, "") << what;
  EXPECT_TRUE(all_printable(r.err)) << what << ": " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << ": " << r.err;
  for (const auto& w : words) EXPECT_NE(r.err.find(w), std::string::npos) << what << ": " << r.err;
}

// Fails on e91aebd: render and diff read the bytes as folded lines (warnings with raw bytes,
// then "no valid input"); fold said nothing useful for ELF, gzip'd perf.data or binary data.
TEST(BinaryInput, TextCommandsSayWhatTheInputIsAndWhatToRun) {
  Inputs in;
  for (std::string cmd : {"fold", "render", "diff"}) {
    auto args = [&](const std::string& f) {
      return cmd == "diff" ? std::vector<std::string>{cmd, in.text, f}
                           : std::vector<std::string>{cmd, f};
    };
    expect_refused(run_profile(args(in.perf_data)),
                   {"'" + in.perf_data + "' is a perf.data file", "profile report " + in.perf_data},
                   cmd + " perf.data");
    expect_refused(run_profile(args(in.perf_data_gz)), {"is a perf.data file", "profile report"},
                   cmd + " perf.data.gz");
    expect_refused(run_profile(args("-"), pipe_mode_perf_data()),
                   {"'<stdin>' is a perf.data file", "profile report"}, cmd + " pipe-mode stdin");
    expect_refused(run_profile(args(in.elf)), {"is an ELF file", "profile -- " + in.elf},
                   cmd + " ELF");
    expect_refused(run_profile(args(in.binary)), {"is binary data"}, cmd + " binary");
    expect_refused(run_profile(args(in.lz4)), {"is lz4 data", "unpack it first"}, cmd + " lz4");
  }
}

// Fails on e91aebd: "not a perf.data file (bad magic 0x...)" for all three.
TEST(BinaryInput, PerfDataCommandsSayWhatTheInputIsAndWhatToRun) {
  Inputs in;
  for (std::string cmd : {"report", "symbolize", "top"}) {
    std::vector<std::string> a{cmd, in.perf_data_gz};
    if (cmd == "report") a.insert(a.end(), {"-o", in.tmp.file("out.svg")});
    expect_refused(run_profile(a), {"is gzip-compressed", "gzip -dk " + in.perf_data_gz},
                   cmd + " gz");
    a[1] = in.text;
    if (cmd == "top") {
      // Issue 16: top reads folded stacks (and pprof) as well as perf.data.
      auto t = run_profile(a);
      EXPECT_EQ(t.exit_code, 0) << t.err;
      EXPECT_NE(t.out.find("work"), std::string::npos) << t.out;
    } else {
      expect_refused(run_profile(a), {"is text", "profile render " + in.text}, cmd + " text");
    }
    a[1] = in.elf;
    expect_refused(run_profile(a), {"is an ELF file", "profile record -- " + in.elf}, cmd + " ELF");
  }
}

// Fails on e91aebd: the control bytes of the line reached the terminal as they were.
TEST(BinaryInput, WarningsEscapeControlBytes) {
  auto r = run_profile({"fold", "-"},
                       "app 1 [000] 1.0: 1 cpu-clock:\n"
                       "\t\x1b[31mjunk\x01\xff\n"
                       "\t1 main (/bin/app)\n\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(all_printable(r.err)) << r.err;
  EXPECT_NE(r.err.find("\\x1b[31mjunk\\x01\\xff"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "app;main 1\n");
  // Well-formed UTF-8 is text, not escaped.
  auto u = run_profile({"fold", "-"}, "app 1 [000] 1.0: 1 cpu-clock:\n\t\xc3\xa9t\xc3\xa9\n\n");
  EXPECT_NE(u.err.find("\xc3\xa9t\xc3\xa9"), std::string::npos) << u.err;
}

// Runs `script` so that the command's stdout is a terminal.
test::RunResult run_on_terminal(const std::vector<std::string>& args) {
  std::string cmd = "'" + profile_binary() + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  return run({"script", "-qec", cmd, "/dev/null"});
}

// Fails on e91aebd: a notice, then the whole SVG on the terminal, exit 0.
TEST(SvgToTerminal, IsRefusedBeforeAnyWork) {
  Inputs in;
  auto r = run_on_terminal({"render", in.text});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("profile: error: refusing to write an SVG to a terminal: use -o FILE or "
                       "redirect"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("<svg"), std::string::npos);
  // report and the all-in-one refuse before reading or capturing anything.
  auto rep = run_on_terminal({"report", in.tmp.file("missing.data")});
  EXPECT_EQ(rep.exit_code, 2) << rep.out;
  EXPECT_NE(rep.out.find("refusing to write an SVG"), std::string::npos) << rep.out;
  auto all = run_on_terminal({"-F", "99", "--", "true"});
  EXPECT_EQ(all.exit_code, 2) << all.out;
  EXPECT_NE(all.out.find("refusing to write an SVG"), std::string::npos) << all.out;
  EXPECT_EQ(all.out.find("captured"), std::string::npos) << all.out;
  // Other formats, and -o, are fine on a terminal.
  auto folded = run_on_terminal({"fold", "--help"});
  EXPECT_EQ(folded.exit_code, 0) << folded.out;
  auto to_file = run_on_terminal({"render", in.text, "-o", in.tmp.file("out.svg")});
  EXPECT_EQ(to_file.exit_code, 0) << to_file.out;
}

// Runs argv with stdout a pipe whose reader has already gone; returns the wait status.
int run_into_closed_pipe(const std::vector<std::string>& argv, const std::string& err_path,
                         bool ignore_sigpipe) {
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], STDOUT_FILENO);
    close(p[0]);
    close(p[1]);
    int e = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(e, STDERR_FILENO);
    // As a shell with `trap '' PIPE` (or a parent that ignores it) leaves it.
    signal(SIGPIPE, ignore_sigpipe ? SIG_IGN : SIG_DFL);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(p[0]);
  close(p[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// Fails on e91aebd: "profile: error: writing to stdout failed: Broken pipe", exit 1.
TEST(BrokenPipe, EndsQuietlyAsPerfScriptDoes) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  int st = run_into_closed_pipe({profile_binary(), "-F", "999", "-g", "--format", "perf-script",
                                 "--save", tmp.file("x.data"), "--", fixture("fx_spin"), "200"},
                                tmp.file("err"), false);
  std::string err = read_file(tmp.file("err"));
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE) << "status " << st << ": " << err;
  EXPECT_EQ(err.find("Broken pipe"), std::string::npos) << err;
  EXPECT_EQ(err.find("error"), std::string::npos) << err;
  // The same for report, even when SIGPIPE came in ignored.
  st = run_into_closed_pipe(
      {profile_binary(), "report", tmp.file("x.data"), "--format", "perf-script"}, tmp.file("err2"),
      true);
  err = read_file(tmp.file("err2"));
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE) << "status " << st << ": " << err;
  EXPECT_EQ(err.find("Broken pipe"), std::string::npos) << err;
}

// The CMDLINE header feature as perf shows it.
std::string perf_cmdline(const std::string& data) {
  auto r = run({"perf", "report", "--header-only", "-i", data});
  auto at = r.out.find("# cmdline : ");
  if (at == std::string::npos) return "(none) " + r.err;
  at += 12;
  std::string line = r.out.substr(at, r.out.find('\n', at) - at);
  while (!line.empty() && line.back() == ' ') line.pop_back();  // perf ends it with a space
  return line;
}

// Fails on e91aebd: "profile /path/to/profile -F 999 ..." (the name twice).
TEST(CommandLine, PerfDataRecordsTheRealArgvOnce) {
  PROF_REQUIRE_LIVE();
  TempDir tmp;
  auto r = run_profile({"-F", "999", "--save", tmp.file("a.data"), "-o", tmp.file("a.svg"), "--",
                        fixture("fx_spin"), "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(perf_cmdline(tmp.file("a.data")), profile_binary() + " -F 999 --save " +
                                                  tmp.file("a.data") + " -o " + tmp.file("a.svg") +
                                                  " -- " + fixture("fx_spin") + " 100");
  r = run_profile(
      {"record", "-F", "999", "-o", tmp.file("r.data"), "--", fixture("fx_spin"), "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(perf_cmdline(tmp.file("r.data")), profile_binary() + " record -F 999 -o " +
                                                  tmp.file("r.data") + " -- " + fixture("fx_spin") +
                                                  " 100");
}

}  // namespace
}  // namespace prof

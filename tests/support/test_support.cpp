#include "test_support.h"

#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace prof::test {
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

bool env_flag(const char* name) {
  std::string v = env_or_empty(name);
  return v == "1" || v == "true" || v == "yes" || v == "TRUE" || v == "on";
}

std::string profile_binary() { return env_or_empty("PROF_BINARY"); }
std::string source_dir() { return env_or_empty("PROF_SOURCE_DIR"); }
std::string fixture_dir() { return env_or_empty("PROF_FIXTURE_DIR"); }
std::string fixture(const std::string& name) { return fixture_dir() + "/" + name; }

std::string peer_dir() {
  std::string d = env_or_empty("PROF_PEER_DIR");
  if (d.empty() || !std::filesystem::is_directory(d + "/flamegraph-tests")) return "";
  return d;
}

bool live_sampling_available(std::string* why) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.disabled = 1;
  long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  if (fd < 0) {
    if (why) *why = std::string("perf_event_open: ") + std::strerror(errno);
    return false;
  }
  close(static_cast<int>(fd));
  // System-wide (-a) needs more privilege than per-task.
  attr.disabled = 1;
  fd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, 0);
  if (fd < 0) {
    if (why) *why = std::string("system-wide perf_event_open: ") + std::strerror(errno);
    return false;
  }
  close(static_cast<int>(fd));
  return true;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << data;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/prof-test-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

RunResult run(const std::vector<std::string>& argv, const std::string& input) {
  TempDir tmp;
  std::string in_path = tmp.file("stdin"), out_path = tmp.file("stdout"),
              err_path = tmp.file("stderr");
  write_file(in_path, input);
  pid_t pid = spawn(argv, out_path, err_path, in_path);
  if (pid < 0) throw std::runtime_error("fork failed");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  return r;
}

RunResult run_profile(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv{profile_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, input);
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path,
            const std::string& err_path, const std::string& in_path) {
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    close(in);
    close(out);
    close(err);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

pid_t spawn_execed(const std::vector<std::string>& argv) {
  pid_t pid = spawn(argv);
  const std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  for (int i = 0; i < 5000; ++i) {
    std::error_code ec;
    if (std::filesystem::read_symlink(exe, ec) == argv[0]) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pid;
}

int wait_for(pid_t pid, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1000;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace prof::test

#include "prof/cli/support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "prof/common/unique_fd.h"

namespace prof::cli {
namespace {

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629), 0 if there is none.
std::size_t utf8_length(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  std::size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
  if (n == 0 || n > s.size()) return 0;
  for (std::size_t i = 1; i < n; ++i)
    if ((b(i) & 0xc0) != 0x80) return 0;
  // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
  if ((c == 0xe0 && b(1) < 0xa0) || (c == 0xed && b(1) > 0x9f) || (c == 0xf0 && b(1) < 0x90) ||
      (c == 0xf4 && b(1) > 0x8f))
    return 0;
  return n;
}

// A message as it may reach a terminal: control bytes (escape sequences, a stray NUL from a
// binary input) and bytes that are not UTF-8 become \xNN; well-formed UTF-8 stays.
std::string printable(std::string_view m) {
  std::string out;
  out.reserve(m.size());
  for (std::size_t i = 0; i < m.size();) {
    const auto c = static_cast<unsigned char>(m[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(m[i++]);
      continue;
    }
    if (c >= 0x80) {
      if (std::size_t n = utf8_length(m.substr(i)); n > 0) {
        out.append(m.substr(i, n));
        i += n;
        continue;
      }
    }
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
    ++i;
  }
  return out;
}
std::vector<std::string>& remembered_command_line() {
  static std::vector<std::string> words;
  return words;
}
}  // namespace

void remember_command_line(int argc, char** argv) {
  remembered_command_line().assign(argv, argv + argc);
}

std::vector<std::string> command_line(std::vector<std::string> fallback) {
  const auto& words = remembered_command_line();
  return words.empty() ? fallback : words;
}

int report_error(const Error& e, std::ostream& err) {
  err << "profile: error: " << printable(e.message) << '\n';
  return e.code == Errc::kUsage ? kExitUsage : kExitRuntime;
}

int exit_now(int status) {
  std::cout.flush();
  std::cerr.flush();
  if (!std::cout || std::fflush(stdout) != 0) {
    status = report_error(Error{Errc::kIo, "'<stdout>': write failed"});
  }
  std::fflush(stderr);
#if defined(__SANITIZE_ADDRESS__)
  return status;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return status;
#else
  std::_Exit(status);
#endif
#else
  std::_Exit(status);
#endif
}

int usage_error(std::string_view message, std::string_view subcommand, std::ostream& err) {
  err << "profile: error: " << printable(message) << " (see 'profile";
  if (!subcommand.empty()) err << ' ' << subcommand;
  err << " --help')\n";
  return kExitUsage;
}

void print_warning(std::string_view message, std::ostream& err) {
  err << "profile: warning: " << printable(message) << '\n';
}

void print_notice(std::string_view message, std::ostream& err) {
  err << "profile: " << printable(message) << '\n';
}

void print_warning_summary(const WarningSink& sink, RepeatWording wording,
                           const std::vector<std::string_view>& skip, std::ostream& err) {
  for (const auto& k : sink.kinds()) {
    if (std::find(skip.begin(), skip.end(), k.kind) != skip.end()) continue;
    std::string msg = k.first_message;
    if (k.count > 1) {
      const std::string more = std::to_string(k.count - 1);
      switch (wording) {
        case RepeatWording::kMoreLikeIt: msg += " (and " + more + " more like it)"; break;
        case RepeatWording::kMoreLikeItSeeAll:
          msg += " (and " + more + " more like it; -v lists all)";
          break;
        case RepeatWording::kMore: msg += " (and " + more + " more)"; break;
        case RepeatWording::kTimes: msg += " (" + std::to_string(k.count) + " times)"; break;
      }
    }
    print_warning(msg, err);
  }
}

std::optional<int> parse(int argc, char** argv,
                         const boost::program_options::options_description& opts,
                         const boost::program_options::positional_options_description& pos,
                         boost::program_options::variables_map& vm, std::string_view subcommand) {
  namespace po = boost::program_options;
  try {
    auto style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).style(style).run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what(), subcommand);
  }
  return std::nullopt;
}

// Writes the result: to stdout, or to FILE through a temporary file renamed into place, so an
// existing FILE is replaced only by a complete new one.
Result<void> check_output(const std::string& path) {
  if (path.empty() || path == "-") return ok();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return ok();
  // The same temporary name write_output() uses, so the probe needs the same permissions.
  std::string tmp = path + ".tmp-profile";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno == EEXIST) return ok();  // another run's leftover: write_output truncates it
    return Error{Errc::kIo, "'" + path + "': cannot write the output here: " +
                                std::string(std::strerror(errno))};
  }
  fd.reset();
  ::unlink(tmp.c_str());
  return ok();
}

[[noreturn]] void end_by_broken_pipe() {
  std::fflush(stderr);
  // The capture commands ignore SIGPIPE (to finish their files), and a parent may have left it
  // ignored or blocked: restore it, then die of it, as `perf script | head` does.
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(SIGPIPE);
  std::_Exit(128 + SIGPIPE);
}

Result<void> check_svg_destination(const std::string& path) {
  return check_not_terminal(path, "an SVG", "out.svg");
}

Result<void> check_not_terminal(const std::string& path, std::string_view what,
                                std::string_view example) {
  if ((path.empty() || path == "-") && ::isatty(STDOUT_FILENO))
    return Error{Errc::kUsage, "refusing to write " + std::string(what) +
                                   " to a terminal: use -o FILE or redirect (> " +
                                   std::string(example) + ")"};
  return ok();
}

Result<void> write_output(const std::string& path, std::string_view data) {
  auto write_all = [](int fd, std::string_view d) -> bool {
    while (!d.empty()) {
      ssize_t n = ::write(fd, d.data(), d.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      d.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  };
  if (path.empty() || path == "-") {
    if (!write_all(STDOUT_FILENO, data)) {
      if (errno == EPIPE) end_by_broken_pipe();
      return Error{Errc::kIo, "writing to stdout failed: " + std::string(std::strerror(errno))};
    }
    return ok();
  }
  // A device, pipe or other special file (-o /dev/null) is written in place: renaming a
  // temporary file over it would replace the device node.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return Error{Errc::kIo, "'" + path + "': " + std::strerror(errno)};
    bool good = write_all(fd.get(), data);
    int err = errno;
    fd.reset();
    if (!good) return Error{Errc::kIo, "'" + path + "': write failed: " + std::strerror(err)};
    return ok();
  }
  std::string tmp = path + ".tmp-profile";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return Error{Errc::kIo, "'" + path + "': " + std::strerror(errno)};
  bool good = write_all(fd.get(), data);
  int err = errno;
  // close(2) reports a delayed write error (NFS, a full disk): it decides whether to rename.
  good = (::close(fd.release()) == 0) && good;
  if (!good || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (good) err = errno;
    ::unlink(tmp.c_str());
    return Error{Errc::kIo, "'" + path + "': write failed: " + std::strerror(err)};
  }
  return ok();
}

}  // namespace prof::cli

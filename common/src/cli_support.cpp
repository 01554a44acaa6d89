#include "prof/common/cli_support.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace prof::cli {

int report_error(const Error& e, std::ostream& err) {
  err << "profile: error: " << e.message << '\n';
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
  err << "profile: error: " << message << " (see 'profile";
  if (!subcommand.empty()) err << ' ' << subcommand;
  err << " --help')\n";
  return kExitUsage;
}

void print_warning(std::string_view message, std::ostream& err) {
  err << "profile: warning: " << message << '\n';
}

void print_notice(std::string_view message, std::ostream& err) {
  err << "profile: " << message << '\n';
}

std::optional<int> parse(int argc, char** argv,
                         const boost::program_options::options_description& opts,
                         const boost::program_options::positional_options_description& pos,
                         boost::program_options::variables_map& vm, std::string_view subcommand) {
  namespace po = boost::program_options;
  try {
    auto style = po::command_line_style::default_style &
                 ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(argc, argv)
                  .options(opts)
                  .positional(pos)
                  .style(style)
                  .run(),
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
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return ok();  // another run's leftover: write_output truncates it
    return Error{Errc::kIo, "'" + path + "': cannot write the output here: " +
                                std::string(std::strerror(errno))};
  }
  ::close(fd);
  ::unlink(tmp.c_str());
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
    if (!write_all(STDOUT_FILENO, data))
      return Error{Errc::kIo, "writing to stdout failed: " + std::string(std::strerror(errno))};
    return ok();
  }
  // A device, pipe or other special file (-o /dev/null) is written in place: renaming a
  // temporary file over it would replace the device node.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Error{Errc::kIo, "'" + path + "': " + std::strerror(errno)};
    bool good = write_all(fd, data);
    int err = errno;
    ::close(fd);
    if (!good) return Error{Errc::kIo, "'" + path + "': write failed: " + std::strerror(err)};
    return ok();
  }
  std::string tmp = path + ".tmp-profile";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error{Errc::kIo, "'" + path + "': " + std::strerror(errno)};
  bool good = write_all(fd, data);
  int err = errno;
  good = (::close(fd) == 0) && good;
  if (!good || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (good) err = errno;
    ::unlink(tmp.c_str());
    return Error{Errc::kIo, "'" + path + "': write failed: " + std::strerror(err)};
  }
  return ok();
}

}  // namespace prof::cli

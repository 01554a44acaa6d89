// The collector gives back every descriptor when opening fails part-way: here the second pipe2
// of a command target (the first pipe once leaked). The failure is real, not mocked:
// RLIMIT_NOFILE is lowered so that exactly one pipe's two descriptors still fit.
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "prof/collector/collector.h"
#include "test_support.h"

namespace {

using prof::collector::Collector;
using prof::collector::Options;
using prof::collector::Target;

std::vector<int> open_fds() {
  std::vector<int> out;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return out;
  const int own = dirfd(d);
  while (const dirent* e = readdir(d))
    if (e->d_name[0] != '.' && std::stoi(e->d_name) != own) out.push_back(std::stoi(e->d_name));
  closedir(d);
  return out;
}

TEST(CollectorFds, SecondPipeFailureClosesTheFirstPipe) {
  const auto before = open_fds();
  ASSERT_FALSE(before.empty());
  int top = 0;
  for (int fd : before) top = std::max(top, fd);
  // Every descriptor below `limit` in use, so the next ones allocated are limit and limit + 1.
  const int limit = top + 1;
  std::vector<int> fillers;
  for (;;) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    if (fd >= limit) {
      ::close(fd);
      break;
    }
    fillers.push_back(fd);
  }
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit tight = old;
  tight.rlim_cur = static_cast<rlim_t>(limit + 2);  // room for one pipe, not two
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);

  Options opt;
  opt.target = Target::kCommand;
  opt.command = {"true"};
  prof::WarningSink warnings;
  auto c = Collector::open(opt, &warnings);

  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  for (int fd : fillers) ::close(fd);
  ASSERT_FALSE(c) << "opening needed more descriptors than the limit allows";
  // Something before the pipes may have failed first; then this run says nothing about them.
  if (c.error().message.find("pipe") == std::string::npos)
    GTEST_SKIP() << "failed before the pipes: " << c.error().message;
  EXPECT_EQ(open_fds(), before) << c.error().message;
}

}  // namespace

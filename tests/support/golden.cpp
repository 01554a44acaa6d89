#include "golden.h"

#include <filesystem>
#include <sstream>

namespace prof::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> read_args(const fs::path& path, GoldenArgs how) {
  std::vector<std::string> args;
  if (!fs::exists(path)) return args;
  std::istringstream in(read_file(path.string()));
  if (how == GoldenArgs::kLines) {
    for (std::string l; std::getline(in, l);) args.push_back(l);
  } else {
    for (std::string a; in >> a;) args.push_back(a);
  }
  return args;
}

}  // namespace

int run_golden_cases(const GoldenSuite& suite) {
  const fs::path dir = fs::path(source_dir()) / "tests/golden" / suite.dir;
  int cases = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".in") continue;
    ++cases;
    fs::path base = e.path();
    base.replace_extension();
    const std::string name = base.filename().string();
    SCOPED_TRACE(name);
    std::vector<std::string> args = suite.command;
    for (auto& a : read_args(base.string() + ".args", suite.args)) args.push_back(a);
    args.push_back(e.path().string());
    RunResult r = run_profile(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (suite.check) suite.check(r);
    const std::string expected_path = base.string() + ".expected";
    if (env_flag("PROF_UPDATE_GOLDEN")) {
      write_file(expected_path, r.out);
      continue;
    }
    const std::string expected = fs::exists(expected_path) ? read_file(expected_path) : "";
    if (r.out != expected) {
      write_file(name + ".actual", r.out);
      ADD_FAILURE() << "output differs from " << expected_path << "; see "
                    << fs::absolute(name + ".actual").string();
    }
  }
  return cases;
}

}  // namespace prof::test
